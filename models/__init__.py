"""Bundled model files, model cards and the score rubric (data only, no code)."""

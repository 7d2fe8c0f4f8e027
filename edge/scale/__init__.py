"""Scaling out: the Triton model repository, server and Python model, and scoring on Ray Data."""

"""Models and engines: cards, the zoo, the engines, adapters, post-processing, the pipeline."""

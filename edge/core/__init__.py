"""The bottom layer: the vocabulary, errors, paths and the data types every layer passes on."""

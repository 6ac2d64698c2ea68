"""Preprocessing: reference (TSS, filter, windows, splits), binning, datasets, normalization."""

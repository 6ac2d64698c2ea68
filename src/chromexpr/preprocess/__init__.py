"""Preprocessing: geometry, reference (TSS, filter, windows, splits), binning, normalization."""

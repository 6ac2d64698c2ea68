"""Trained single-cell runs applied to new samples (``chromexpr predict`` in the workflow): each sample's reads or
bigWigs binned with the run's geometry and transformed as its ``model.pt`` says; no expression data needed."""

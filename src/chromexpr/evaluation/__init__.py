"""Evaluation: metrics, dataset summaries and model comparisons."""

"""Team Jamaica's regression experiment: continuous expression from the marks, genes x cells pooled; an ensemble
of CNN sub-models over cell-type folds, a classifier-weighted variant, and scikit-learn baselines."""

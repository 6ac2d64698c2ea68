"""DeepChrome 2.0's cross-cell experiments (Figs. 3, 5, 6, 7, 9): groups of training cells chosen by their
expression correlation with a target, Inclusive or Exclusive of it, and Test-on-Rest."""

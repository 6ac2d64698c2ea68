"""DeepDiff's differential experiment (Table 1, Figs. 4-5): per pair of cells, the log fold change of raw RNA-seq
counts from both cells' marks at TSS +/- 10 kb, by the seven DeepDiff variants and four baselines."""

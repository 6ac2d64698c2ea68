"""The single-cell experiment (DeepChrome, AttentiveChrome, ConvChrome, TransferChrome Table 2, DeepChrome 2.0):
every model card trained on every cell, train split trains, valid split selects, test split scored once."""

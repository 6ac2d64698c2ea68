"""TransferChrome's cross-cell transfer (Table 3, Fig. 4): a source cell's models scored on each target cell,
without (``uncross``) and with (``cross``) the gradient-reversal domain classifier, beside the target's own
single-cell run (``origin``)."""

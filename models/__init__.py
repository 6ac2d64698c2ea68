"""The model cards, one YAML file per card (``<name>.yaml``): class, hyperparameters, input, training defaults,
how reports show the model (``display``), published numbers, citation and every deviation from the paper.

This folder is the package ``chromexpr.cards`` (``setup.py`` maps it), so an installed wheel carries the cards as
package data and finds them as a checkout does (``chromexpr.shipped.cards_dir``).
"""

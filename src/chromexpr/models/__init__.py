"""Models: one module per family, built from model cards through one registry.

Contract of every torch model: ``forward(x)`` with ``x`` ``(batch, marks, bins)`` float returns a
dict with ``"logits"`` ``(batch,)``, the log-odds of class 1 (train with ``BCEWithLogitsLoss``).
Extra keys where the model has them: ``"class_logits"`` ``(batch, 2)`` for architectures with two
class scores, ``"attention"`` (a dict of tensors, always returned), ``"features"`` and
``"domain_logits"`` (TransferChrome). ``framework: sklearn`` cards build scikit-learn pipelines.

Differential models (``task: differential``: DeepDiff, AttentiveChromeDiff) take two cells,
``forward(x_a, x_b)``, and return ``"prediction"`` ``(batch,)``, the log fold change
``log2((count_B + 1) / (count_A + 1))``, plus ``"attention"`` and, per variant, ``"prediction_a"``,
``"prediction_b"``, ``"embedding_a"``, ``"embedding_b"`` (see ``chromexpr.models.deepdiff``).
Regression models (``task: regression``: ``JamaicaCNN``) return ``"prediction"`` ``(batch,)`` and
``"features"``; its cell-type classifier returns ``"cell_logits"`` ``(batch, cell types)`` instead; the
scikit-learn regression baselines are in ``chromexpr.models.regression_baselines``.
``load_reference_weights`` loads checkpoints of the authors' AttentiveChrome / DeepDiff code.
"""

from __future__ import annotations

# The registry (cards, validation, building) imports neither torch nor scikit-learn; the model
# classes below load on first access (PEP 562), so that reading and checking cards, which the
# Snakefile does for every DAG build, stays light. ``build_model`` imports a family when it builds one.
from chromexpr.lazy import lazy_exports
from chromexpr.models.registry import (
    BUILTIN_CLASSES,
    DOCUMENTATION_KEYS,
    ENV_MODELS_DIR,
    REGISTRY,
    build_model,
    card_digest,
    card_part,
    cards_dirs,
    count_parameters,
    known_classes,
    list_cards,
    load_card,
    register_model,
    registry_entry,
    resolve_hyperparameters,
    validate_card,
)

_LAZY = {
    "AttentiveChrome": "attentivechrome",
    "AttentiveChromeRegressor": "attentivechrome",
    "BinLevelEncoder": "attentivechrome",
    "MarkLevelEncoder": "attentivechrome",
    "MarkMeans": "classical",
    "ConvChromeCNN1D": "convchrome",
    "DeepChrome": "deepchrome",
    "AttentiveChromeDiff": "deepdiff",
    "DeepDiff": "deepdiff",
    "JamaicaCNN": "jamaica",
    "layer_plan": "jamaica",
    "GradientReversal": "layers",
    "grad_reverse": "layers",
    "MarkMeanLinear": "linear",
    "load_reference_weights": "reference_weights",
    "to_reference_names": "reference_weights",
    "Flatten": "regression_baselines",
    "TopCorrelatedFeatures": "regression_baselines",
    "TransferChrome": "transferchrome",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "BUILTIN_CLASSES",
    "DOCUMENTATION_KEYS",
    "ENV_MODELS_DIR",
    "REGISTRY",
    "AttentiveChrome",
    "AttentiveChromeDiff",
    "AttentiveChromeRegressor",
    "BinLevelEncoder",
    "ConvChromeCNN1D",
    "DeepChrome",
    "DeepDiff",
    "Flatten",
    "GradientReversal",
    "JamaicaCNN",
    "MarkLevelEncoder",
    "MarkMeanLinear",
    "MarkMeans",
    "TopCorrelatedFeatures",
    "TransferChrome",
    "build_model",
    "card_digest",
    "card_part",
    "cards_dirs",
    "count_parameters",
    "grad_reverse",
    "known_classes",
    "layer_plan",
    "list_cards",
    "load_card",
    "load_reference_weights",
    "register_model",
    "registry_entry",
    "resolve_hyperparameters",
    "to_reference_names",
    "validate_card",
]

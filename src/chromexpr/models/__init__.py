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

from chromexpr.models import (  # noqa: F401 - importing registers each family
    attentivechrome,
    classical,
    convchrome,
    deepchrome,
    deepdiff,
    diff_baselines,
    jamaica,
    linear,
    regression_baselines,
    transferchrome,
)
from chromexpr.models.attentivechrome import AttentiveChrome, BinLevelEncoder, MarkLevelEncoder
from chromexpr.models.classical import MarkMeans
from chromexpr.models.convchrome import ConvChromeCNN1D
from chromexpr.models.deepchrome import DeepChrome
from chromexpr.models.deepdiff import AttentiveChromeDiff, DeepDiff
from chromexpr.models.jamaica import JamaicaCNN, layer_plan
from chromexpr.models.layers import GradientReversal, grad_reverse
from chromexpr.models.linear import MarkMeanLinear
from chromexpr.models.reference_weights import load_reference_weights, to_reference_names
from chromexpr.models.registry import (
    ENV_MODELS_DIR,
    REGISTRY,
    build_model,
    cards_dirs,
    count_parameters,
    list_cards,
    load_card,
    register_model,
    resolve_hyperparameters,
    validate_card,
)
from chromexpr.models.regression_baselines import Flatten, TopCorrelatedFeatures
from chromexpr.models.transferchrome import TransferChrome

__all__ = [
    "ENV_MODELS_DIR",
    "REGISTRY",
    "AttentiveChrome",
    "AttentiveChromeDiff",
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
    "cards_dirs",
    "count_parameters",
    "grad_reverse",
    "layer_plan",
    "list_cards",
    "load_card",
    "load_reference_weights",
    "register_model",
    "resolve_hyperparameters",
    "to_reference_names",
    "validate_card",
]

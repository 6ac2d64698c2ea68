"""Model cards and the registry that turns a card into a model.

A card (``models/<name>.yaml`` in the repository, the package data ``chromexpr.cards``) names a registered class and its
hyperparameters, the input it expects, training defaults, the citation and every deviation from the
paper. ``build_model(card)`` is the one way the pipeline makes a model::

    from chromexpr.models import build_model, load_card
    card = load_card("deepchrome")               # or a path, or a dict
    model = build_model(card)                    # torch.nn.Module, forward(x) -> {"logits": ...}
    model = build_model("transferchrome", overrides={"domain_head": True})

Bare card names are looked up, in order, in: the ``cards_dir`` argument, the directories in
``$CHROMEXPR_MODELS_DIR`` (``os.pathsep``-separated) and the cards shipped in the package
(``chromexpr.shipped.cards_dir()``), so an installed wheel finds them as a checkout does.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import inspect
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from chromexpr.errors import InputError
from chromexpr.shipped import cards_dir as shipped_cards_dir

log = logging.getLogger(__name__)

ENV_MODELS_DIR = "CHROMEXPR_MODELS_DIR"

FRAMEWORKS = ("torch", "sklearn")
TASKS = ("classification", "regression", "differential")
VALUE_KINDS = ("counts", "signal")
TRANSFORMS = ("none", "log1p")
REQUIRED_KEYS = (
    "name",
    "class",
    "framework",
    "hyperparameters",
    "input",
    "outputs",
    "task",
    "training",
    "expected_parameters",
    "citation",
    "deviations",
)
REQUIRED_TRAINING_KEYS = (
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "batch_size",
    "max_epochs",
    "patience",
    "selection_metric",
    "grad_clip",
    "scheduler",
)


@dataclass(frozen=True)
class RegistryEntry:
    """One buildable model class.

    Args:
        name: registry key, written as ``class:`` in cards.
        factory: class or function called with ``n_marks``, ``n_bins`` and the hyperparameters.
        framework: ``torch`` (an ``nn.Module``) or ``sklearn`` (an estimator).
    """

    name: str
    factory: Callable[..., Any]
    framework: str


REGISTRY: dict[str, RegistryEntry] = {}

#: the shipped model classes: registry key -> (the module whose import registers it, framework).
#: Cards are validated against this table without importing torch or scikit-learn (the Snakefile
#: validates every card while it builds the DAG); ``registry_entry`` imports the module on first use.
#: ``test_models`` checks that each module registers exactly these names and frameworks.
BUILTIN_CLASSES: dict[str, tuple[str, str]] = {
    "AttentiveChrome": ("chromexpr.models.attentivechrome", "torch"),
    "AttentiveChromeDiff": ("chromexpr.models.deepdiff", "torch"),
    "AttentiveChromeRegressor": ("chromexpr.models.attentivechrome", "torch"),
    "ConvChromeCNN1D": ("chromexpr.models.convchrome", "torch"),
    "CorrelatedBinsRandomForest": ("chromexpr.models.regression_baselines", "sklearn"),
    "DeepChrome": ("chromexpr.models.deepchrome", "torch"),
    "DeepDiff": ("chromexpr.models.deepdiff", "torch"),
    "FlatLinearRegression": ("chromexpr.models.regression_baselines", "sklearn"),
    "FlatRandomForestRegressor": ("chromexpr.models.regression_baselines", "sklearn"),
    "JamaicaCNN": ("chromexpr.models.jamaica", "torch"),
    "MarkMeanLinear": ("chromexpr.models.linear", "torch"),
    "MarkMeanLogisticRegression": ("chromexpr.models.classical", "sklearn"),
    "MarkMeanRandomForest": ("chromexpr.models.classical", "sklearn"),
    "ReliefFRandomForest": ("chromexpr.models.diff_baselines", "sklearn"),
    "SVRBestBin": ("chromexpr.models.diff_baselines", "sklearn"),
    "SVRTwoLayer": ("chromexpr.models.diff_baselines", "sklearn"),
    "TransferChrome": ("chromexpr.models.transferchrome", "torch"),
}


def register_model(name: str, *, framework: str = "torch") -> Callable:
    """Class/function decorator adding a model to the registry under ``name``."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")

    def decorator(factory: Callable) -> Callable:
        if name in REGISTRY and REGISTRY[name].factory is not factory:
            raise ValueError(f"model class '{name}' is registered twice")
        REGISTRY[name] = RegistryEntry(name=name, factory=factory, framework=framework)
        return factory

    return decorator


def known_classes() -> dict[str, str]:
    """Every class a card may name (registered or shipped), mapped to its framework."""
    known = {name: framework for name, (_, framework) in BUILTIN_CLASSES.items()}
    known.update({name: entry.framework for name, entry in REGISTRY.items()})
    return known


def registry_entry(name: str) -> RegistryEntry:
    """The registry entry of class ``name``, importing its shipped module on first use.

    Raises:
        KeyError: when no such class is registered or shipped.
    """
    if name not in REGISTRY and name in BUILTIN_CLASSES:
        importlib.import_module(BUILTIN_CLASSES[name][0])
    return REGISTRY[name]


# --- cards ---------------------------------------------------------------------------------------


def cards_dirs(cards_dir: str | Path | None = None) -> list[Path]:
    """Directories searched for ``<name>.yaml``, first match wins (see the module docstring)."""
    dirs: list[Path] = []
    if cards_dir is not None:
        dirs.append(Path(cards_dir))
    env = os.environ.get(ENV_MODELS_DIR)
    if env:
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    dirs.append(shipped_cards_dir())
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def list_cards(cards_dir: str | Path | None = None) -> list[str]:
    """Names of every card found in the search path (sorted, first directory wins on clashes)."""
    names: set[str] = set()
    for d in cards_dirs(cards_dir):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.yaml"))
    return sorted(names)


def card_path(name_or_path: str | Path, cards_dir: str | Path | None = None) -> Path:
    """The YAML file ``load_card`` reads for a bare card name or a path.

    Raises:
        InputError: when no such card exists (listing the available ones).
    """
    path = Path(name_or_path)
    looks_like_path = path.suffix in (".yaml", ".yml") or len(path.parts) > 1
    if looks_like_path:
        if path.is_file():
            return path
        raise InputError(
            "model card not found",
            path=path,
            hint="give an existing .yaml path, or a bare card name such as 'deepchrome'",
        )
    searched = cards_dirs(cards_dir)
    for d in searched:
        candidate = d / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    available = ", ".join(list_cards(cards_dir)) or "none"
    raise InputError(
        f"no model card named '{name_or_path}' in {', '.join(str(d) for d in searched)}",
        hint=f"available cards: {available}; or set ${ENV_MODELS_DIR} to the directory of your cards",
    )


def load_card(card: str | Path | Mapping[str, Any], *, cards_dir: str | Path | None = None) -> dict[str, Any]:
    """Read and validate a model card.

    Args:
        card: a path to a YAML card, a bare card name (``"deepchrome"``) or an already loaded dict.
        cards_dir: extra directory searched first for bare names.

    Returns:
        The card as a new dict (the caller may modify it freely).

    Raises:
        InputError: naming the file and key when the card is missing or malformed.
    """
    if isinstance(card, Mapping):
        data = copy.deepcopy(dict(card))
        validate_card(data, source=None)
        return data
    path = card_path(card, cards_dir)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        raise InputError(
            f"not valid YAML: {err}",
            path=path,
            line=None if line is None else line + 1,
            hint="fix the YAML syntax (indentation, colons, quotes)",
        ) from err
    if not isinstance(data, dict):
        raise InputError("a model card must be a YAML mapping", path=path)
    validate_card(data, source=path)
    if data["name"] != path.stem:
        raise InputError(
            f"card name '{data['name']}' differs from its file name '{path.stem}'",
            path=path,
            key="name",
            hint="name the file <name>.yaml so bare-name lookup finds it",
        )
    return data


#: what a card says about a model for readers (the report's name, order and colour, the paper's numbers, the
#: citation, the deviations): none of it changes what trains, so none of it is in ``card_digest(card, "training")``
DOCUMENTATION_KEYS = ("description", "display", "published", "citation", "deviations")
CARD_PARTS = ("training", "documentation")


def card_part(card: Mapping[str, Any], part: str = "training") -> dict[str, Any]:
    """The ``training`` part of a card (everything that builds and trains the model: every key but
    ``DOCUMENTATION_KEYS``) or its ``documentation`` part (those keys, with its name)."""
    if part not in CARD_PARTS:
        raise ValueError(f"part must be one of {', '.join(CARD_PARTS)}, not {part!r}")
    if part == "training":
        return {k: copy.deepcopy(v) for k, v in card.items() if k not in DOCUMENTATION_KEYS}
    return {"name": card.get("name"), **{k: copy.deepcopy(card[k]) for k in DOCUMENTATION_KEYS if k in card}}


def card_digest(card: Mapping[str, Any], part: str = "training") -> str:
    """16 hex digits of sha256 over ``card_part(card, part)`` as canonical JSON (sorted keys): a training job's
    param is the training digest of its card (editing a card's display name, published numbers, citation or
    deviations re-runs no training), a report job's the documentation digest of the cards it shows."""
    text = json.dumps(card_part(card, part), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def validate_card(card: Mapping[str, Any], *, source: str | Path | None = None) -> None:
    """Check the keys and value kinds every card needs; raise ``InputError`` naming the key."""

    def fail(message: str, key: str, hint: str | None = None) -> None:
        raise InputError(message, path=source, key=key, hint=hint)

    for key in REQUIRED_KEYS:
        if key not in card:
            fail(
                f"missing required key '{key}'",
                key,
                "see the shipped card deepchrome.yaml (models/ in the repository) for a full card",
            )
    known = known_classes()
    if card["class"] not in known:
        fail(
            f"unknown model class '{card['class']}'",
            "class",
            f"registered classes: {', '.join(sorted(known))}",
        )
    framework = known[card["class"]]
    if card["framework"] != framework:
        fail(
            f"framework '{card['framework']}' but class '{card['class']}' is a {framework} model",
            "framework",
        )
    if not isinstance(card["hyperparameters"], Mapping):
        fail("hyperparameters must be a mapping", "hyperparameters")
    spec = card["input"]
    if not isinstance(spec, Mapping):
        fail("input must be a mapping with values, transform, marks, bins", "input")
    for key in ("values", "transform", "marks", "bins"):
        if key not in spec:
            fail(f"missing required key '{key}'", f"input.{key}")
    if spec["values"] not in VALUE_KINDS:
        fail(f"input.values must be one of {VALUE_KINDS}, got {spec['values']!r}", "input.values")
    if spec["transform"] not in TRANSFORMS:
        fail(
            f"input.transform must be one of {TRANSFORMS}, got {spec['transform']!r}",
            "input.transform",
        )
    marks = spec["marks"]
    if not isinstance(marks, list) or not marks or not all(isinstance(m, str) for m in marks):
        fail("input.marks must be a non-empty list of mark names", "input.marks")
    if len(set(marks)) != len(marks):
        fail("input.marks lists a mark twice", "input.marks")
    if not isinstance(spec["bins"], int) or spec["bins"] <= 0:
        fail(f"input.bins must be a positive integer, got {spec['bins']!r}", "input.bins")
    if card["task"] not in TASKS:
        fail(f"task must be one of {TASKS}, got {card['task']!r}", "task")
    outputs = card["outputs"]
    if not isinstance(outputs, list) or not outputs:
        fail("outputs must be a non-empty list", "outputs")
    if framework == "torch" and not any(k in outputs for k in ("logits", "prediction", "cell_logits")):
        fail(
            "outputs must list the forward() keys, including 'logits', 'prediction' or 'cell_logits' "
            "(a classifier over cell types)",
            "outputs",
        )
    training = card["training"]
    if not isinstance(training, Mapping):
        fail("training must be a mapping", "training")
    for key in REQUIRED_TRAINING_KEYS:
        if key not in training:
            fail(f"missing required key '{key}' (null when not applicable)", f"training.{key}")
    _validate_loss_keys(training, fail)
    expected = card["expected_parameters"]
    if expected is not None and (not isinstance(expected, int) or expected <= 0):
        fail("expected_parameters must be a positive integer or null", "expected_parameters")
    deviations = card["deviations"]
    if not isinstance(deviations, list) or not all(isinstance(d, str) for d in deviations):
        fail("deviations must be a list of sentences", "deviations")
    if "display" in card:
        _validate_display(card["display"], fail)
    if "published" in card:
        _validate_published(card["published"], fail)
    if "domain_adaptation" in card:
        da = card["domain_adaptation"]
        if not isinstance(da, Mapping) or not isinstance(da.get("override"), Mapping):
            fail(
                "domain_adaptation must hold an 'override' mapping of hyperparameters",
                "domain_adaptation.override",
            )


DISPLAY_KEYS = ("name", "order", "color", "published_as")


def _validate_display(display: Any, fail: Callable[..., None]) -> None:
    """The optional ``display`` block (``chromexpr.models.display``): name, order, color, published_as."""
    if not isinstance(display, Mapping):
        fail("display must be a mapping with name, order and optionally color, published_as", "display")
    unknown = sorted(set(display) - set(DISPLAY_KEYS))
    if unknown:
        fail(f"unknown display key(s) {', '.join(unknown)}", "display", f"use {', '.join(DISPLAY_KEYS)}")
    name = display.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        fail("display.name must be a non-empty string", "display.name")
    order = display.get("order")
    if order is not None and (not isinstance(order, int) or isinstance(order, bool)):
        fail(f"display.order must be an integer, got {order!r}", "display.order")
    color = display.get("color")
    hexdigits = set("0123456789abcdefABCDEF")
    if color is not None and not (
        isinstance(color, str) and len(color) == 7 and color[0] == "#" and set(color[1:]) <= hexdigits
    ):
        fail(f"display.color must be a #rrggbb colour, got {color!r}", "display.color")
    names = display.get("published_as")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        fail("display.published_as must be a list of names", "display.published_as")


def _validate_published(published: Any, fail: Callable[..., None]) -> None:
    """The optional ``published`` list (``chromexpr.published``): mappings with a source and a metric."""
    if not isinstance(published, list):
        fail("published must be a list of {source, metric, ...} mappings", "published")
    for i, entry in enumerate(published):
        if not isinstance(entry, Mapping) or not entry.get("source") or not entry.get("metric"):
            fail("each published entry needs a source and a metric", f"published[{i}]")


#: optional ``training`` keys of differential cards and the names each may hold
LOSS_WEIGHT_KEYS = ("lfc", "aux", "contrastive")
CONTRASTIVE_KEYS = ("margin", "threshold")


def _validate_loss_keys(training: Mapping[str, Any], fail: Callable[..., None]) -> None:
    """``training.loss_weights`` (``{lfc, aux, contrastive}``: numbers >= 0, not all 0) and
    ``training.contrastive`` (``{margin, threshold}``: numbers > 0 and >= 0), when present."""

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if "loss_weights" in training:
        weights = training["loss_weights"]
        if not isinstance(weights, Mapping):
            fail("loss_weights must be a mapping of loss term to weight", "training.loss_weights")
        for name, value in weights.items():
            if name not in LOSS_WEIGHT_KEYS:
                fail(
                    f"unknown loss term '{name}'",
                    f"training.loss_weights.{name}",
                    f"loss terms: {', '.join(LOSS_WEIGHT_KEYS)}",
                )
            if not number(value) or value < 0:
                fail(f"a loss weight must be a number >= 0, got {value!r}", f"training.loss_weights.{name}")
        if not any(weights.values()):
            fail("every loss weight is 0: nothing would be trained", "training.loss_weights")
    if "contrastive" in training:
        contrastive = training["contrastive"]
        if not isinstance(contrastive, Mapping):
            fail("contrastive must be a mapping with margin and threshold", "training.contrastive")
        for name in CONTRASTIVE_KEYS:
            if name not in contrastive:
                fail(f"missing required key '{name}'", f"training.contrastive.{name}")
        for name, value in contrastive.items():
            if name not in CONTRASTIVE_KEYS:
                fail(
                    f"unknown key '{name}'",
                    f"training.contrastive.{name}",
                    f"contrastive takes: {', '.join(CONTRASTIVE_KEYS)}",
                )
            if not number(value) or not (value > 0 if name == "margin" else value >= 0):
                bound = "> 0" if name == "margin" else ">= 0"
                fail(f"{name} must be a number {bound}, got {value!r}", f"training.contrastive.{name}")


# --- building ------------------------------------------------------------------------------------


def with_marks(card: Mapping[str, Any], marks: Sequence[str]) -> dict[str, Any]:
    """``card`` built on ``marks`` (in that order) instead of its own (``train.input_marks: config``): a copy with
    ``input.marks`` replaced. Models size themselves by the marks (``n_marks``), so the parameter count follows;
    the card's ``expected_parameters`` (the paper's count) is kept only when ``marks`` are its own in any order,
    and a ``deviations`` line says which marks it was built on."""
    out = copy.deepcopy(dict(card))
    own = [str(m) for m in card["input"]["marks"]]
    marks = [str(m) for m in marks]
    out["input"] = {**out["input"], "marks": marks}
    if sorted(own) != sorted(marks):
        out["expected_parameters"] = None
        if isinstance(out.get("domain_adaptation"), dict):  # the domain head's count is for the paper's marks too
            out["domain_adaptation"] = {**out["domain_adaptation"], "expected_parameters": None}
        out["deviations"] = [
            *out.get("deviations", []),
            f"Built on the configured marks ({', '.join(marks)}) instead of the card's ({', '.join(own)}) "
            "(train.input_marks: config): the parameter count follows the number of marks.",
        ]
    return out


def resolve_hyperparameters(card: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments the card's class is called with: geometry from ``input``, then the
    card's ``hyperparameters``, then ``overrides``."""
    kwargs: dict[str, Any] = {
        "n_marks": len(card["input"]["marks"]),
        "n_bins": int(card["input"]["bins"]),
    }
    kwargs.update(card["hyperparameters"] or {})
    kwargs.update(overrides or {})
    return kwargs


def build_model(
    card: str | Path | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    cards_dir: str | Path | None = None,
) -> Any:
    """Build the model a card describes, at its real size.

    Args:
        card: a card path, bare card name or dict (see ``load_card``).
        overrides: hyperparameters replacing the card's, e.g. ``{"domain_head": True}`` for a
            cross-cell TransferChrome run or ``{"random_state": seed}`` for a scikit-learn model.
        cards_dir: extra directory searched first for bare names.

    Returns:
        A ``torch.nn.Module`` whose ``forward(x)`` takes ``(batch, marks, bins)`` floats and returns
        a dict with ``"logits"`` ``(batch,)`` (log-odds of class 1) plus, per model,
        ``"class_logits"``, ``"attention"``, ``"features"``, ``"domain_logits"``; or, for
        ``framework: sklearn`` cards, an unfitted scikit-learn estimator taking
        ``(n, marks * bins)`` rows (see ``chromexpr.models.classical``).
        Parameter initialisation draws from torch's global RNG: seed it first for reproducibility.
    """
    data = load_card(card, cards_dir=cards_dir)
    entry = registry_entry(data["class"])
    kwargs = resolve_hyperparameters(data, overrides)
    signature = inspect.signature(entry.factory)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    if not accepts_any:
        unknown = sorted(set(kwargs) - set(signature.parameters))
        if unknown:
            accepted = sorted(set(signature.parameters) - {"n_marks", "n_bins"})
            raise InputError(
                f"card '{data['name']}': {entry.name} has no hyperparameter(s) {', '.join(unknown)}",
                key=f"hyperparameters.{unknown[0]}",
                hint=f"{entry.name} accepts: {', '.join(accepted)}",
            )
    model = entry.factory(**kwargs)
    expected = data["expected_parameters"]
    if entry.framework == "torch" and not overrides and expected is not None:
        n = count_parameters(model)
        if n != expected:
            log.warning(
                "card '%s' expects %d parameters but the model has %d; update expected_parameters",
                data["name"],
                expected,
                n,
            )
    return model


def count_parameters(model: Any) -> int | None:
    """Learned parameters: every tensor of a torch model; ``coef_`` + ``intercept_`` of a fitted
    linear scikit-learn model; ``None`` where the idea does not apply (unfitted, trees)."""
    try:
        import torch

        if isinstance(model, torch.nn.Module):
            return sum(p.numel() for p in model.parameters())
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if hasattr(final, "coef_"):
        intercept = getattr(final, "intercept_", None)
        return int(np.size(final.coef_) + (0 if intercept is None else np.size(intercept)))
    return None

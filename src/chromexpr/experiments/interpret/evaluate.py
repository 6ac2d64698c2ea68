"""The interpretation experiment of one trained run: what a single-cell classifier learned, as arrays.

``interpret_run`` scores the run's **test** genes (the split the run never trained or selected on) with
every method that applies to its model and writes one ``interpret.npz``:

=================================  ==================================================================================
array                              content
=================================  ==================================================================================
``marks`` / ``gene_ids`` / ``labels``  the model's marks; the test genes in dataset order; their 0/1 labels
``probability``                    ``(genes,)`` float32: the model's probability of *expressed*
``saliency_{expressed,not_expressed,all}``  ``(marks, bins)`` float64: mean signed gradient of the logit over the
                                   expressed / not-expressed / all test genes (captum ``Saliency``, ``abs=False``)
``ig_{expressed,not_expressed,all}``  the same for integrated gradients of the logit, zero baseline
``ig_delta_max``                   the largest completeness gap ``|sum(IG) - (F(x) - F(0))|`` over genes
``attention_bin`` / ``attention_mark`` / ``inputs``  models with attention (AttentiveChrome): ``(genes, marks,
                                   bins)`` and ``(genes, marks)`` float32, and each gene's input signal
``classopt_{expressed,not_expressed}`` / ``classopt_loss_*``  class optimization (DeepChrome): ``(marks, bins)`` maps
                                   in ``[0, 1]`` and their ``(steps,)`` losses, for models named in its settings
``linear_weight`` / ``linear_bias``  the 12-parameter linear model: ``(2, marks)`` and ``(2,)``
``meta``                           JSON: model, cell, seed, card, ig_steps, n_test, bins_bp (bin starts from the TSS)
=================================  ==================================================================================

``gan_run`` trains the DeepChrome 2.0 GAN on the run's **training** inputs and writes ``gan.npz`` (the Monte-Carlo
profiles of Fig. 4 and the sanity Table 1; ``chromexpr.experiments.interpret.gan``).

``read_interpret`` and ``read_gan`` read the two files back, checked (the report section and ``figures.redraw``);
``has_arrays``, ``class_mean`` and ``linear_runs`` are what the section's tables and figures take from them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chromexpr.errors import InputError
from chromexpr.experiments.interpret.plan import PUBLISHED_CARD, PUBLISHED_METRIC
from chromexpr.published import card_published

__all__ = [
    "ATTENTION_KEYS",
    "CLASSOPT_KEYS",
    "GAN_REQUIRED",
    "INTERPRET_REQUIRED",
    "LINEAR_KEYS",
    "SANITY_SOURCES",
    "class_mean",
    "gan_run",
    "has_arrays",
    "interpret_run",
    "linear_runs",
    "load_run_model",
    "published_sanity",
    "read_gan",
    "read_interpret",
]

#: the arrays every ``interpret.npz`` holds
INTERPRET_REQUIRED = (
    "marks",
    "gene_ids",
    "labels",
    "saliency_expressed",
    "saliency_not_expressed",
    "saliency_all",
    "ig_expressed",
    "ig_not_expressed",
    "ig_all",
    "ig_delta_max",
    "meta",
)
#: the arrays of a run with attention (AttentiveChrome), of class optimization, of the linear model
ATTENTION_KEYS = ("attention_bin", "attention_mark", "inputs", "probability")
CLASSOPT_KEYS = ("classopt_expressed", "classopt_not_expressed")
LINEAR_KEYS = ("linear_weight", "linear_bias")
#: the arrays every ``gan.npz`` holds
GAN_REQUIRED = (
    "marks",
    "profile_expressed",
    "profile_not_expressed",
    "n_samples",
    "top_k",
    "sanity_source",
    "sanity_positive",
    "sanity_negative",
    "published_positive",
    "published_negative",
    "architecture",
    "meta",
)

Key = tuple[str, str]


def load_run_model(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The torch model of a finished run (``model.pt`` loaded with ``weights_only=True``, in eval mode) and the
    resolved card it records."""
    from chromexpr.models import build_model
    from chromexpr.training.model_file import load_model_file

    path = Path(run_dir) / "model.pt"
    if not path.is_file():
        raise InputError("model file not found", path=path, hint="run the training job first")
    loaded = load_model_file(path)
    if loaded.meta is None:
        raise InputError(
            "this model file records no card (a bare state dict)", path=path, hint="re-run its training job"
        )
    card = loaded.meta["card"]
    if card["framework"] != "torch":
        raise InputError(f"{card['name']} is not a torch model", path=path, hint="interpret torch runs only")
    model = build_model(card)
    model.load_state_dict(loaded.state_dict)
    return model.eval(), card


def _test_inputs(card: Mapping[str, Any], dataset: str | Path, split: str = "test"):
    from chromexpr.dataset import load_dataset
    from chromexpr.training.data import model_inputs

    ds = load_dataset(dataset)
    data = model_inputs(ds, card, source=dataset)
    mask = data.mask(split)
    geometry = ds.meta.get("geometry") or {}
    return data, mask, geometry


def _bins_bp(geometry: Mapping[str, Any], bins: int) -> list[int]:
    window, size = geometry.get("window_bp"), geometry.get("bin_bp")
    if window and size:
        return [int(-window + k * size) for k in range(bins)]
    return list(range(bins))


def _probability(model: Any, x: np.ndarray) -> np.ndarray:
    import torch

    from chromexpr.training.tasks import predict_logits

    logits = predict_logits(model, torch.from_numpy(np.ascontiguousarray(x)))
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


def _has_attention(model: Any, x: np.ndarray) -> bool:
    import torch

    with torch.no_grad():
        out = model(torch.from_numpy(np.ascontiguousarray(x[:1])))  # (1, marks, bins)
    return isinstance(out.get("attention"), Mapping)


def interpret_run(
    run_dir: str | Path,
    dataset: str | Path,
    out: str | Path,
    *,
    cell: str,
    seed: int,
    ig_steps: int = 50,
    class_optimization: Mapping[str, Any] | None = None,
) -> Path:
    """Every interpretation of one run's test genes, written to ``out`` (``interpret.npz``, the table above).

    Args:
        run_dir: a finished single-cell torch run (``model.pt`` with its card).
        dataset: the cell's dataset the run trained on (its test split is scored).
        out: the ``.npz`` to write (atomically).
        cell, seed: recorded in ``meta``; ``seed`` also seeds class optimization's starting point.
        ig_steps: integrated-gradients steps (captum ``n_steps``, Gauss-Legendre).
        class_optimization: ``{steps, lr, l2}`` to run DeepChrome's class optimization for both classes,
            or None to skip it.
    """
    from chromexpr.evaluation.attribution import input_gradients
    from chromexpr.experiments.interpret.methods import (
        attention_maps,
        class_means,
        integrated_gradients_with_delta,
        linear_weights,
    )
    from chromexpr.experiments.interpret.methods import class_optimization as optimize
    from chromexpr.io.npz import write_npz
    from chromexpr.models.linear import MarkMeanLinear

    model, card = load_run_model(run_dir)
    data, mask, geometry = _test_inputs(card, dataset)
    x, labels = data.x[mask], data.y[mask].astype(np.int8)  # (genes, marks, bins), (genes,)
    if x.shape[0] == 0:
        raise InputError("the dataset has no test genes to interpret", path=dataset)
    arrays: dict[str, np.ndarray] = {
        "marks": np.array(data.marks),
        "gene_ids": np.asarray(data.gene_ids[mask]).astype(str),
        "labels": labels,
        "probability": _probability(model, x),
    }
    saliency = input_gradients(model, x, key="logits")  # (genes, marks, bins)
    ig, delta = integrated_gradients_with_delta(model, x, key="logits", n_steps=ig_steps)
    for name, attr in (("saliency", saliency), ("ig", ig)):
        means = class_means(attr, labels)
        arrays[f"{name}_expressed"] = means["expressed"]
        arrays[f"{name}_not_expressed"] = means["not_expressed"]
        arrays[f"{name}_all"] = attr.astype(np.float64).mean(axis=0)
    arrays["ig_delta_max"] = np.float64(np.abs(delta).max())
    if _has_attention(model, x):
        maps = attention_maps(model, x)
        arrays |= {"attention_bin": maps["bin"], "attention_mark": maps["mark"], "inputs": x.astype(np.float32)}
    if class_optimization is not None:
        marks, bins = x.shape[1], x.shape[2]
        for target, name in ((1, "expressed"), (0, "not_expressed")):
            result = optimize(
                model,
                target=target,
                marks=marks,
                bins=bins,
                steps=int(class_optimization["steps"]),
                lr=float(class_optimization["lr"]),
                l2=float(class_optimization["l2"]),
                seed=seed,
            )
            arrays[f"classopt_{name}"] = result.map
            arrays[f"classopt_loss_{name}"] = result.losses
    if isinstance(model, MarkMeanLinear):
        weights = linear_weights(model)
        arrays["linear_weight"], arrays["linear_bias"] = weights["weight"], weights["bias"]
    meta = {
        "model": card["name"],
        "cell": cell,
        "seed": int(seed),
        "card": card["name"],
        "ig_steps": int(ig_steps),
        "n_test": int(x.shape[0]),
        "bins_bp": _bins_bp(geometry, x.shape[2]),
    }
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    return write_npz(out, arrays)


def gan_run(
    run_dir: str | Path,
    dataset: str | Path,
    out: str | Path,
    *,
    cell: str,
    seed: int,
    epochs: int,
    n_samples: int,
    top_k: int,
    sanity_n: int,
) -> Path:
    """DeepChrome 2.0's GAN Monte-Carlo of one run, written to ``out`` (``gan.npz``).

    The GAN learns the run's training inputs; ``n_samples`` GAN inputs are scored by the run's classifier,
    the ``top_k`` most confident of each class are averaged over bins and normalized per mark (Fig. 4); the
    sanity table scores ``sanity_n`` real training inputs, GAN samples and random inputs (Table 1).
    """
    from chromexpr.experiments.interpret import gan as gan_lib
    from chromexpr.io.npz import write_npz

    model, card = load_run_model(run_dir)
    data, _, _ = _test_inputs(card, dataset)
    x_train = data.x[data.mask("train")]  # (genes, marks, bins)

    def classify(x: np.ndarray) -> np.ndarray:
        return _probability(model, x.astype(np.float32, copy=False)).astype(np.float64)

    trained = gan_lib.train_gan(x_train, epochs=epochs, seed=seed)
    mc = gan_lib.monte_carlo(classify, trained, n_samples=n_samples, top_k=top_k, seed=seed)
    rows = gan_lib.sanity_table(classify, x_train, trained, n=sanity_n, seed=seed)
    arrays = {
        "marks": np.array(data.marks),
        "profile_expressed": np.asarray(mc["expressed"], dtype=np.float64),
        "profile_not_expressed": np.asarray(mc["not_expressed"], dtype=np.float64),
        "maps_expressed": np.asarray(mc["expressed_maps"], dtype=np.float64),
        "maps_not_expressed": np.asarray(mc["not_expressed_maps"], dtype=np.float64),
        "n_samples": np.int64(n_samples),
        "top_k": np.int64(top_k),
        "sanity_source": np.array([row["input"] for row in rows]),
        "sanity_n": np.array([row["n"] for row in rows], dtype=np.int64),
        "sanity_positive": np.array([row["mean_positive"] for row in rows], dtype=np.float64),
        "sanity_negative": np.array([row["mean_negative"] for row in rows], dtype=np.float64),
        "published_positive": np.array([row["published_positive"] for row in rows], dtype=np.float64),
        "published_negative": np.array([row["published_negative"] for row in rows], dtype=np.float64),
        "g_loss": np.asarray(trained.g_loss, dtype=np.float64),
        "d_loss": np.asarray(trained.d_loss, dtype=np.float64),
        "architecture": np.array(gan_lib.ARCHITECTURE),
        "meta": np.array(
            json.dumps(
                {
                    "model": card["name"],
                    "cell": cell,
                    "seed": int(seed),
                    "epochs": int(epochs),
                    "transform": trained.transform,
                    "n_train": int(x_train.shape[0]),
                },
                sort_keys=True,
            )
        ),
    }
    return write_npz(out, arrays)


# --- reading -------------------------------------------------------------------------------------------------


def _load_npz(path: str | Path, required: tuple[str, ...], hint: str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputError("interpretation file not found", path=path, hint=hint)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
    except (OSError, ValueError) as err:
        raise InputError(f"not a readable .npz ({err})", path=path, hint=hint) from err
    missing = [k for k in required if k not in arrays]
    if missing:
        raise InputError(f"missing array(s) {', '.join(missing)}", path=path, hint=hint)
    try:
        meta = json.loads(str(arrays["meta"][()]))
    except json.JSONDecodeError as err:
        raise InputError(f"meta is not JSON ({err})", path=path) from err
    arrays["meta"] = meta if isinstance(meta, dict) else {}
    arrays["marks"] = [str(m) for m in arrays["marks"]]
    arrays["path"] = path
    return arrays


def read_interpret(path: str | Path) -> dict[str, Any]:
    """One run's ``interpret.npz``: its arrays (``marks`` and ``gene_ids`` as lists of str, ``meta`` a dict)."""
    data = _load_npz(path, INTERPRET_REQUIRED, "run the interpret rule")
    data["gene_ids"] = [str(g) for g in data["gene_ids"]]
    n_marks = len(data["marks"])
    for name in ("saliency_expressed", "saliency_not_expressed", "saliency_all", "ig_expressed", "ig_not_expressed"):
        if data[name].ndim != 2 or data[name].shape[0] != n_marks:
            raise InputError(f"{name} must be (marks, bins) with {n_marks} marks, got {data[name].shape}", path=path)
    if data["ig_all"].shape != data["ig_expressed"].shape:
        raise InputError(
            f"ig_all has shape {data['ig_all'].shape}, ig_expressed {data['ig_expressed'].shape}", path=path
        )
    return data


def read_gan(path: str | Path) -> dict[str, Any]:
    """One ``gan.npz``: its arrays (``marks`` and ``sanity_source`` as lists of str, ``meta`` a dict)."""
    data = _load_npz(path, GAN_REQUIRED, "run the interpret_gan rule")
    data["sanity_source"] = [str(s) for s in data["sanity_source"]]
    data["architecture"] = str(data["architecture"][()])
    return data


def has_arrays(data: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    """Whether a run's arrays hold every one of ``keys`` (e.g. ``ATTENTION_KEYS``)."""
    return all(k in data for k in keys)


def class_mean(values: np.ndarray, labels: np.ndarray, label: int) -> np.ndarray:
    """The mean of ``values`` (genes first) over the genes of ``label``; NaN where the class has no gene."""
    chosen = labels == label
    if not chosen.any():
        return np.full(values.shape[1:], np.nan)
    return np.asarray(values, dtype=np.float64)[chosen].mean(axis=0)


def linear_runs(runs: Mapping[Key, Mapping[str, Any]]) -> dict[Key, Mapping[str, Any]]:
    """The runs with the linear model's weights (``LINEAR_KEYS``), at most one per cell."""
    chosen = {k: d for k, d in runs.items() if has_arrays(d, LINEAR_KEYS)}
    cells = [cell for _, cell in chosen]
    twice = sorted({c for c in cells if cells.count(c) > 1})
    if twice:
        raise InputError(
            f"linear weights from more than one model for cell(s) {', '.join(twice)}",
            hint="only the linear model (linear12) writes linear_weight",
        )
    return chosen


#: the inputs of DeepChrome 2.0 Table 1, in its order
SANITY_SOURCES = ("real", "gan", "random")


def published_sanity() -> dict[str, tuple[float, float]]:
    """DeepChrome 2.0 Table 1, from the card of :data:`PUBLISHED_CARD` (its :data:`PUBLISHED_METRIC` entry): per
    input of :data:`SANITY_SOURCES`, the mean (positive, negative) class probability over 10k inputs."""
    entries = card_published(PUBLISHED_CARD, PUBLISHED_METRIC)
    if not entries:
        raise InputError(
            f"the card {PUBLISHED_CARD} has no published entry of metric {PUBLISHED_METRIC}",
            key="published",
            hint="DeepChrome 2.0 Table 1 is read from it: restore the entry",
        )
    entry = entries[0]
    table = {}
    for source in SANITY_SOURCES:
        pair = entry.get(source)
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InputError(
                f"the {PUBLISHED_METRIC} entry of card {PUBLISHED_CARD} needs {source}: [positive, negative]",
                key=f"published.{source}",
            )
        table[source] = (float(pair[0]), float(pair[1]))
    return table

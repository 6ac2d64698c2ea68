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
profiles of Fig. 4 and the sanity Table 1; ``chromexpr.evaluation.gan``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chromexpr.errors import InputError

__all__ = ["gan_run", "interpret_run", "load_run_model"]


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
    from chromexpr.evaluation.interpret import (
        attention_maps,
        class_means,
        integrated_gradients_with_delta,
        linear_weights,
    )
    from chromexpr.evaluation.interpret import class_optimization as optimize
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
    from chromexpr.evaluation import gan as gan_lib
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

"""``model.pt``: a trained model's weights together with what it takes to apply it to a new sample.

A run's ``model.pt`` is ``torch.save`` of one plain dictionary (loadable with
``torch.load(..., weights_only=True)``, so reading it never runs code)::

    {"format": "chromexpr-model/1",
     "state_dict": {name: tensor, ...},
     "meta": {"card": the resolved card the model was built from (hyperparameters as trained; its display,
                      published numbers and citation as they were then: editing those re-runs no training),
              "task": "classification" | "domain_adaptation" | "regression" | ...,
              "cells": the training cells, "marks": the card's marks (input axis 1),
              "bins": input axis 2, "geometry": {window_bp, bin_bp, orient_by_strand} of the dataset,
              "input": the card's {values, transform},
              "normalization": {log1p, fit_on, zscore_mean, zscore_std} of the training datasets for
                               the card's marks (how their ``signal`` was made),
              "depth": {"mean_per_bin": per card mark, the training datasets' mean count per bin over
                        all their genes (the reference a new sample's counts can be scaled to),
                        "reads_per_chrom": per card mark, the training datasets' reads per chromosome
                        (``chromexpr.io.reads.chrom_key`` spelling, the mean over the cells), or None
                        where a mark was not binned from reads (its sequencing depth)},
              "dataset_sha256": the training datasets' checksums}}

A checkpoint imported from the authors' code (``imported_meta``) records no training cells,
normalization or depth (``None``) and names its sources in ``imported_from``.

Differential runs (two cells per gene) write ``{"task": "differential", "card": ...}`` only: one
sample cannot be scored by them.

Files written before this format (a bare ``state_dict``) still load: ``meta`` is then ``None`` and
only what needs no metadata (re-scoring inside the workflow) works with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chromexpr.errors import InputError
from chromexpr.io.atomic import save_torch
from chromexpr.io.jsonio import to_jsonable
from chromexpr.io.weights_only import refusal

MODEL_FORMAT = "chromexpr-model/1"

__all__ = ["MODEL_FORMAT", "ModelFile", "imported_meta", "load_model_file", "model_meta", "save_model_file"]


@dataclass(frozen=True)
class ModelFile:
    """A loaded ``model.pt``: the weights and, for files of this format, their metadata."""

    state_dict: dict[str, Any]
    meta: dict[str, Any] | None
    path: Path


def model_meta(
    card: Mapping[str, Any],
    datasets: Sequence[Any],
    *,
    task: str,
    dataset_sha256: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """The ``meta`` of a model trained with ``card`` on ``datasets`` (``chromexpr.dataset.Dataset``,
    one per training cell; the geometry and normalization settings are the first one's, as every cell
    of a run shares them).

    The z-score statistics and the depth reference are taken for the card's marks, in its order; with
    several training cells each is the mean over the cells (each cell was normalized on its own).
    """
    if not datasets:
        raise ValueError("a model is trained on at least one dataset")
    marks = list(card["input"]["marks"])
    means, sds, depths = [], [], []
    for dataset in datasets:
        available = [str(m) for m in dataset.marks]
        index = [available.index(m) for m in marks]
        means.append(np.asarray(dataset.zscore_mean, dtype=np.float64)[index])
        sds.append(np.asarray(dataset.zscore_std, dtype=np.float64)[index])
        counts = np.asarray(dataset.counts, dtype=np.float64)[:, index, :]  # (genes, card marks, bins)
        depths.append(counts.mean(axis=(0, 2)))
    first = datasets[0]
    normalization = dict(first.meta.get("normalization") or {})
    return to_jsonable(
        {
            "card": dict(card),
            "task": task,
            "cells": [str(d.meta.get("cell")) for d in datasets],
            "marks": marks,
            "bins": int(card["input"]["bins"]),
            "geometry": dict(first.meta.get("geometry") or {}),
            "input": {"values": card["input"]["values"], "transform": card["input"]["transform"]},
            "normalization": {
                "log1p": bool(normalization.get("log1p", False)),
                "fit_on": normalization.get("fit_on", "all"),
                "zscore_mean": np.mean(means, axis=0).tolist(),
                "zscore_std": np.mean(sds, axis=0).tolist(),
            },
            "depth": {
                "mean_per_bin": np.mean(depths, axis=0).tolist(),
                "reads_per_chrom": _reads_per_chrom(datasets, marks),
            },
            "dataset_sha256": list(dataset_sha256) if dataset_sha256 is not None else None,
        }
    )


def _reads_per_chrom(datasets: Sequence[Any], marks: Sequence[str]) -> list[dict[str, float]] | None:
    """Per mark, the datasets' reads per chromosome (their binning records, ``chrom_key`` spelling; the mean
    over the datasets), or None when a mark of a dataset was not binned from reads (a bigWig, a released
    dataset)."""
    from chromexpr.io.reads import chrom_key

    per_mark: list[dict[str, float]] = []
    for mark in marks:
        totals: dict[str, float] = {}
        for dataset in datasets:
            record = ((dataset.meta.get("provenance") or {}).get("marks") or {}).get(mark) or {}
            reads = (record.get("stats") or {}).get("reads_per_chrom")
            if not reads:
                return None
            for chrom, n in reads.items():
                totals[chrom_key(chrom)] = totals.get(chrom_key(chrom), 0.0) + float(n) / len(datasets)
        per_mark.append(totals)
    return per_mark


def imported_meta(
    card: Mapping[str, Any], *, marks: Sequence[str], bins: int, sources: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The ``meta`` of a checkpoint imported from the authors' code (``chromexpr import-weights``).

    The card's task, ``marks`` (the checkpoint's encoder order) and ``bins``; the geometry is the
    card's ``bin_bp`` with the window the bins span (``bins * bin_bp / 2`` each side, 100 x 100 bp
    -> +/- 5 kb, the reference data's). What the reference was trained on is not in its file: no
    training cells, no normalization statistics, no depth reference (``depth: None``), so a new sample
    is given as counts unscaled (``predict --depth none``).
    """
    data = dict(card)
    data["input"] = {**dict(card["input"]), "marks": list(marks), "bins": int(bins)}
    bin_bp = int(data["input"].get("bin_bp", 100))
    span = int(bins) * bin_bp
    if span % 2:
        raise ValueError(f"{bins} bins of {bin_bp} bp do not centre on the TSS")
    return to_jsonable(
        {
            "card": data,
            "task": str(card.get("task", "classification")),
            "cells": [],
            "marks": list(marks),
            "bins": int(bins),
            "geometry": {"window_bp": span // 2, "bin_bp": bin_bp, "orient_by_strand": True},
            "input": {"values": data["input"]["values"], "transform": data["input"]["transform"]},
            "normalization": None,
            "depth": None,
            "dataset_sha256": None,
            "imported_from": [dict(s) for s in sources],
        }
    )


def save_model_file(path: str | Path, state_dict: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``model.pt`` atomically: the format above with ``meta``, or a bare state dict without."""

    path = Path(path)
    payload: dict[str, Any] = dict(state_dict)
    if meta is not None:
        payload = {"format": MODEL_FORMAT, "state_dict": dict(state_dict), "meta": dict(meta)}
    return save_torch(payload, path)


def load_model_file(path: str | Path) -> ModelFile:
    """Read a ``model.pt`` with ``torch.load(weights_only=True)`` (on the CPU).

    Raises:
        InputError: the file is missing, unreadable, or neither this format nor a bare state dict.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", path=path, hint="train the run first, or give its model.pt")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch.load's errors differ by version and cause
        raise InputError(
            f"not a chromexpr model file ({refusal(err)})",
            path=path,
            hint="give a run's model.pt (results/runs/.../model.pt) or a file written by 'chromexpr import-weights'",
        ) from err
    if not isinstance(data, Mapping):
        raise InputError(f"not a chromexpr model file: it holds a {type(data).__name__}", path=path)
    if "format" in data:
        if data["format"] != MODEL_FORMAT:
            raise InputError(
                f"model file format {data['format']!r}, this chromexpr reads {MODEL_FORMAT!r}",
                path=path,
                hint="re-train the run, or upgrade chromexpr",
            )
        _check_layout(data, path)
        loaded = ModelFile(state_dict=dict(data["state_dict"]), meta=dict(data["meta"]), path=path)
        _check_run_card(loaded)
        return loaded
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()):
        raise InputError("not a chromexpr model file: neither its format nor a state dict of tensors", path=path)
    return ModelFile(state_dict=dict(data), meta=None, path=path)


def check_marks(meta: Mapping[str, Any], given: Sequence[str], *, path: str | Path | None = None) -> None:
    """Raise naming every mark the model needs that ``given`` lacks (and any it does not know)."""
    needed = list(meta["marks"])
    missing = [m for m in needed if m not in given]
    extra = [m for m in given if m not in needed]
    if missing:
        raise InputError(
            f"the model needs mark(s) {', '.join(missing)}; given {', '.join(given) or 'none'}",
            path=path,
            hint=f"give one file per mark: {' '.join(f'{m}=FILE' for m in needed)}",
        )
    if extra:
        raise InputError(
            f"mark(s) {', '.join(extra)} are not inputs of this model (it takes {', '.join(needed)})",
            path=path,
            hint="leave them out, or check the spelling",
        )


def _check_layout(data: Mapping[str, Any], path: Path) -> None:
    """A file of this format holds a state dict of tensors and a meta mapping with the task and the card.

    Raises:
        InputError: naming what is missing or of the wrong kind.
    """
    import torch

    hint = "give a run's model.pt (results/runs/.../model.pt) or a file written by 'chromexpr import-weights'"
    state, meta = data.get("state_dict"), data.get("meta")
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError("the model file's state_dict is not a mapping of tensors", path=path, hint=hint)
    if not isinstance(meta, Mapping):
        raise InputError(f"the model file's meta is a {type(meta).__name__}, not a mapping", path=path, hint=hint)
    missing = [key for key in ("task", "card") if key not in meta]
    if missing:
        raise InputError(f"the model file's meta lacks {', '.join(missing)}", path=path, hint=hint)
    if not isinstance(meta["task"], str) or not isinstance(meta["card"], Mapping) or "class" not in meta["card"]:
        raise InputError("the model file's meta has no task name or no card with a model class", path=path, hint=hint)


def _check_run_card(loaded: ModelFile) -> None:
    """In a run folder (a ``metrics.json`` beside the file), the card the model file records must be the run's
    card: a ``model.pt`` copied in from another run would otherwise be applied under this run's name.

    Raises:
        InputError: naming both cards.
    """
    metrics = loaded.path.with_name("metrics.json")
    if loaded.meta is None or not metrics.is_file():
        return
    from chromexpr.io.jsonio import read_json

    try:
        card = read_json(metrics).get("card")
    except Exception:  # noqa: BLE001 - an unreadable metrics.json is the run's own problem, reported where read
        return
    expected = card.get("name") if isinstance(card, Mapping) else None
    found = (loaded.meta.get("card") or {}).get("name")
    if expected and found and expected != found:
        raise InputError(
            f"this model file was trained from card {found!r}, but its run folder is a run of card {expected!r} "
            f"({metrics.name} says so)",
            path=loaded.path,
            hint="the file was copied from another run: re-train this run (delete its folder and run the "
            "workflow again), or give the file with --model",
        )

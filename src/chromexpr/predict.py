"""Apply a trained model to a new sample: its reads or bigWigs per mark and a TSS table in, one row
per gene out, no expression data needed (``chromexpr predict``).

Everything the sample needs to become model input travels in the run's ``model.pt``
(``chromexpr.training.model_file``): the card, its marks and bins, the bin geometry, the input
values and transform, and the training cell's normalization and depth. The sample goes through the
same steps as a training cell:

1. bin each mark's reads (or summarise its bigWig with ``stat``) around every TSS with the model's
   geometry; genes whose window leaves the chromosome are left out (as in ``bin-reads``);
2. ``values: counts`` cards: the counts, scaled per mark by ``depth``; ``values: signal`` cards:
   the per-mark z-score (after ``log1p`` where the training dataset took it);
3. the card's ``transform`` (``log1p``), then the model.

``depth`` (the sample's sequencing depth against the training cell's):

==========  =========================================================================================
``match``   (default) counts cards: each mark's counts x (training cell's mean count per bin / the
            sample's), so a sample sequenced deeper or shallower reads as the training cell did;
            signal cards: z-scored with the sample's own statistics, as each training cell was
``none``    counts as they are; signal cards: z-scored with the training cell's statistics
==========  =========================================================================================

Both agree with the run's own predictions when the sample is the training cell's own files binned on
the training dataset's genes (a test checks to 1e-6).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.preprocess.geometry import BinGeometry, window_bounds

__all__ = ["DEPTH_MODES", "Prediction", "predict_sample", "resolve_model_path", "sample_input", "write_prediction"]

log = logging.getLogger("chromexpr.predict")

DEPTH_MODES = ("match", "none")
#: tasks whose model scores one cell's genes (differential models take two cells)
CLASSIFICATION_TASKS = ("classification", "domain_adaptation")
REGRESSION_TASKS = ("regression",)


@dataclass
class Prediction:
    """``table``: ``gene_id probability logit`` (classification) or ``gene_id prediction``
    (regression), in the TSS table's order; ``info``: what was done (the sidecar JSON)."""

    table: pd.DataFrame
    info: dict[str, Any]


def resolve_model_path(run: str | Path | None = None, model: str | Path | None = None) -> Path:
    """The ``model.pt`` of ``--run DIR`` or ``--model FILE`` (exactly one)."""
    if (run is None) == (model is None):
        raise InputError("give exactly one of --run DIR and --model FILE")
    if model is not None:
        return Path(model)
    run = Path(run)
    if not run.is_dir():
        raise InputError("run folder not found", path=run, hint="give a run folder such as results/runs/...")
    if (run / "model.skops").is_file() and not (run / "model.pt").is_file():
        raise InputError(
            "this run is a scikit-learn model (model.skops): predict applies torch runs only, whose model.pt "
            "carries the marks, geometry and normalization a new sample needs",
            path=run / "model.skops",
            hint="apply a torch run (deepchrome, attentivechrome, ...), or score it inside the workflow",
        )
    if not (run / "model.pt").is_file() and (run / "metrics.json").is_file():
        from chromexpr.io.jsonio import read_json

        metrics = read_json(run / "metrics.json")
        if isinstance(metrics, dict) and metrics.get("framework") == "ensemble":
            raise InputError(
                f"this run is the {metrics.get('model', 'ensemble')} of the regression experiment: it combines its "
                "members' predictions and has no model of its own",
                path=run,
                hint="apply one member run, e.g. results/runs/regression/jamaica_cnn/cell_<CELL>/seed0",
            )
    return run / "model.pt"


def _depth_ratio(counts: np.ndarray, meta: Mapping[str, Any], depth: str) -> np.ndarray | None:
    """``(marks,)``: the training cell's mean count per bin over the sample's, per mark, for ``counts``
    ``(genes, marks, bins)``; ``None`` where the model records no depth and ``depth`` is ``none``."""
    if not meta.get("depth"):
        if depth == "none":
            return None
        raise InputError(
            "this model records no training depth to scale the sample to (a checkpoint imported from "
            "the authors' code)",
            hint="give --depth none: the counts are used as they are, as the reference code does",
        )
    reference = np.asarray(meta["depth"]["mean_per_bin"], dtype=np.float64)
    sample = counts.mean(axis=(0, 2))
    empty = [m for m, v in zip(meta["marks"], sample, strict=True) if v <= 0]
    if empty and depth == "match":
        raise InputError(
            f"no signal at all for mark(s) {', '.join(empty)} near these genes: nothing to scale to the "
            "training cell's depth",
            hint="check the file of that mark (right assembly, right chromosome names), or use --depth none",
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((reference > 0) & (sample > 0), reference / np.where(sample > 0, sample, 1.0), 1.0)


def sample_input(counts: np.ndarray, meta: Mapping[str, Any], *, depth: str = "match") -> tuple[np.ndarray, dict]:
    """Model input ``(genes, marks, bins)`` float32 from a sample's binned ``counts`` (the model's
    marks, in its order), and what was applied."""
    from chromexpr.preprocess.normalization import zscore_marks

    if depth not in DEPTH_MODES:
        raise InputError(f"depth {depth!r} is not one of {', '.join(DEPTH_MODES)}", hint="--depth match or none")
    values = np.asarray(counts, dtype=np.float64)
    spec = meta["input"]
    norm = meta["normalization"]
    applied: dict[str, Any] = {"values": spec["values"], "transform": spec["transform"], "depth": depth}
    if spec["values"] == "counts":
        ratio = _depth_ratio(values, meta, depth)
        if ratio is not None:  # how much shallower (> 1) or deeper (< 1) the sample is, per mark
            applied["depth_ratio"] = dict(zip(meta["marks"], ratio.tolist(), strict=True))
        scale = ratio if depth == "match" and ratio is not None else np.ones(values.shape[1])
        applied["depth_scale"] = dict(zip(meta["marks"], scale.tolist(), strict=True))
        values = values * scale[None, :, None]
    else:
        if depth == "match":
            signal, mean, sd = zscore_marks(values, log1p=bool((norm or {}).get("log1p", False)))
            values = signal.astype(np.float64)
            applied["zscore"] = "the sample's own statistics"
        else:
            if not norm:
                raise InputError("this model records no training statistics to z-score with", hint="give --depth match")
            x = np.log1p(values) if norm["log1p"] else values
            mean = np.asarray(norm["zscore_mean"], dtype=np.float64)
            sd = np.asarray(norm["zscore_std"], dtype=np.float64)
            values = ((x - mean[None, :, None]) / sd[None, :, None]).astype(np.float32).astype(np.float64)
            applied["zscore"] = f"the training cell's ({', '.join(meta['cells'])}) statistics"
        applied["zscore_mean"] = dict(zip(meta["marks"], np.asarray(mean, dtype=float).tolist(), strict=True))
        applied["zscore_std"] = dict(zip(meta["marks"], np.asarray(sd, dtype=float).tolist(), strict=True))
    x = values.astype(np.float32)  # (genes, marks, bins), as model_inputs makes it
    if spec["transform"] == "log1p":
        if (x < 0).any():
            raise InputError("input transform log1p met negative values", hint="check the sample's files")
        x = np.log1p(x)
    if not np.isfinite(x).all():
        raise InputError("the sample's input holds NaN or infinite values", hint="check the sample's files")
    return x, applied


def _bin_sample(
    files: Mapping[str, tuple[str, Path]],
    genes: pd.DataFrame,
    geometry: BinGeometry,
    marks: list[str],
    *,
    stat: str,
    engine: str,
) -> np.ndarray:
    """``(genes, marks, bins)`` float64: each mark's file binned (reads) or summarised (bigWig)."""
    from chromexpr.preprocess.binning import bin_bigwig, bin_reads

    layers = []
    for mark in marks:
        kind, path = files[mark]
        if not Path(path).is_file():
            raise InputError(f"file of mark {mark} not found", path=path)
        if kind == "bigwig":
            counts, _ = bin_bigwig(path, genes, geometry, stat=stat, missing_chromosomes="warn")
        else:
            counts, _ = bin_reads(path, genes, geometry, engine=engine)
        layers.append(np.asarray(counts, dtype=np.float64))
    return np.stack(layers, axis=1)  # (genes, marks, bins)


def predict_sample(
    model_path: str | Path,
    files: Mapping[str, tuple[str, str | Path]],
    tss: str | Path,
    *,
    stat: str = "mean",
    depth: str = "match",
    engine: str = "native",
) -> Prediction:
    """Predict every gene of ``tss`` for the sample ``files`` (mark -> ``("reads" | "bigwig", path)``).

    Raises:
        InputError: the model file lacks its metadata or belongs to another task, a mark is missing or
            unknown, the TSS table is bad or leaves no gene, or a file cannot be binned.
    """
    import torch

    from chromexpr.io.tables import read_tss
    from chromexpr.models import build_model
    from chromexpr.training.model_file import check_marks, load_model_file
    from chromexpr.training.tasks import predict_logits, predict_output

    loaded = load_model_file(model_path)
    meta = loaded.meta
    if meta is None:
        raise InputError(
            "this model file holds weights only (written before chromexpr stored a model's card, marks and "
            "normalization with it)",
            path=loaded.path,
            hint="re-run its training job (snakemake re-trains it), then predict with the new model.pt",
        )
    task = meta["task"]
    if task not in CLASSIFICATION_TASKS + REGRESSION_TASKS:
        raise InputError(
            f"a {task} run cannot score one sample"
            + (" (a differential model takes two cells)" if task == "differential" else ""),
            path=loaded.path,
            hint="give a single-cell classification run or a regression run",
        )
    files = {m: (kind, Path(p)) for m, (kind, p) in files.items()}
    check_marks(meta, list(files), path=None)
    marks = list(meta["marks"])
    recorded = meta["geometry"]
    if not {"window_bp", "bin_bp"} <= set(recorded):
        raise InputError(
            "the model's training dataset records no bin geometry (window_bp, bin_bp)",
            path=loaded.path,
            hint="train on a dataset built by the workflow, or by 'chromexpr dataset' from bin-reads TSVs (their header names the bins)",
        )
    geometry = BinGeometry(
        window_bp=int(recorded["window_bp"]),
        bin_bp=int(recorded["bin_bp"]),
        orient_by_strand=bool(recorded.get("orient_by_strand", True)),
    )
    if geometry.n_bins != int(meta["bins"]):
        raise InputError(
            f"the model takes {meta['bins']} bins but its geometry gives {geometry.n_bins}", path=loaded.path
        )

    # the weights must fit the card the file records: checked before any binning
    model = build_model(meta["card"])
    try:
        model.load_state_dict(loaded.state_dict)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(
            f"the weights do not fit the card the file records ({meta['card'].get('name')!r}): {first}",
            path=loaded.path,
            hint="the file's metadata and weights come from different models: use the run's own model.pt",
        ) from None
    model.eval()

    genes = read_tss(tss)
    unknown = genes["strand"] == "."
    if unknown.any():
        log.warning("%d genes without strand are treated as '+'", int(unknown.sum()))
        genes.loc[unknown, "strand"] = "+"
    inside = window_bounds(genes["tss"].to_numpy(), genes["strand"].to_numpy(), geometry)[0] >= 0
    if not inside.any():
        raise InputError(
            f"no gene of the TSS table has its whole window (TSS +/- {geometry.window_bp:,} bp) on its chromosome",
            path=tss,
        )
    if (~inside).any():
        log.warning("%s: %d genes whose window leaves the chromosome are left out", tss, int((~inside).sum()))
        genes = genes[inside].reset_index(drop=True)

    counts = _bin_sample(files, genes, geometry, marks, stat=stat, engine=engine)  # (genes, marks, bins)
    x, applied = sample_input(counts, meta, depth=depth)

    with torch.no_grad():
        xt = torch.from_numpy(x)  # (genes, marks, bins)
        if task in REGRESSION_TASKS:
            prediction = predict_output(model, xt, key="prediction").astype(np.float64)
            table = pd.DataFrame({"gene_id": genes["gene_id"].to_numpy(), "prediction": prediction})
        else:
            logit = predict_logits(model, xt, amp=False).astype(np.float64)
            probability = 1.0 / (1.0 + np.exp(-logit))
            table = pd.DataFrame({"gene_id": genes["gene_id"].to_numpy(), "probability": probability, "logit": logit})
    info = {
        "model": str(loaded.path),
        "card": meta["card"].get("name"),
        "task": task,
        "trained_on": ", ".join(meta["cells"]) or "not recorded (an imported checkpoint)",
        "marks": {m: {"kind": files[m][0], "path": str(files[m][1])} for m in marks},
        "tss": str(tss),
        "genes": int(len(table)),
        "genes_left_out": int((~inside).sum()),
        "geometry": meta["geometry"],
        "bigwig_stat": stat if any(kind == "bigwig" for kind, _ in files.values()) else None,
        "input": applied,
    }
    return Prediction(table=table, info=info)


def write_prediction(result: Prediction, out: str | Path) -> Path:
    """Write ``result.table`` to the TSV ``out`` and ``result.info`` to its sidecar ``<out stem>.json``,
    each atomically (a killed job leaves neither under its final name); returns the sidecar's path."""
    from chromexpr.io.atomic import atomic_path
    from chromexpr.io.jsonio import write_json

    out = Path(out)
    sidecar = out.parent / f"{out.stem}.json"
    if sidecar == out:
        raise InputError("the predictions must not be written to a .json file (the sidecar is <stem>.json)", path=out)
    with atomic_path(out) as tmp:
        result.table.to_csv(tmp, sep="\t", index=False, float_format="%.9g", lineterminator="\n")
    write_json(sidecar, result.info)
    return sidecar

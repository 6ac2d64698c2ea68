"""Apply a trained model to a new sample: its reads or bigWigs per mark and a TSS table in, one row
per gene out, no expression data needed (``chromexpr predict``).

Everything the sample needs to become model input travels in the run's ``model.pt``
(``chromexpr.training.model_file``): the card, its marks and bins, the bin geometry, the input
values and transform, and the training cell's normalization and depth. The sample goes through the
same steps as a training cell:

1. bin each mark's reads (or summarise its bigWig with ``stat``) around every TSS with the model's
   geometry; genes without data are left out and listed in the sidecar with the reason: a window that
   leaves its chromosome (the chromosome sizes, a bigWig's own; without sizes, a window past the last read of
   every mark on its chromosome), a chromosome a mark's file has nothing on;
2. ``values: counts`` cards: the counts, scaled per mark by ``depth``; ``values: signal`` cards:
   the per-mark z-score (after ``log1p`` where the training dataset took it);
3. the card's ``transform`` (``log1p``), then the model.

``depth`` (the sample's sequencing depth against the training cell's):

==========  =========================================================================================
``match``   (default) counts cards: each mark's counts x (training cell's reads / the sample's, on the
            chromosomes both have reads on), so a sample sequenced deeper or shallower reads as the
            training cell did, whatever genes the TSS table lists; where the model or the sample has no
            reads to count (a bigWig, an imported checkpoint), x (training cell's mean count per bin / the
            sample's over the table's genes with data); signal cards: z-scored with the sample's own
            statistics over the table's genes with data, as each training cell was
``none``    counts as they are; signal cards: z-scored with the training cell's statistics
==========  =========================================================================================

Both agree with the run's own predictions when the sample is the training cell's own files binned on
the training dataset's genes (a test checks to 1e-6).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
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
_DAMAGED = (
    "the file was damaged or edited: use the run's own model.pt (snakemake re-trains a run whose model.pt is gone)"
)
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
    if not (run / "model.pt").is_file() and not (run / "metrics.json").is_file():
        runs = sorted(p.parent.name for p in run.glob("*/metrics.json"))
        if runs:
            raise InputError(
                f"this folder holds runs ({', '.join(runs[:5])}{' ...' if len(runs) > 5 else ''}), not one run",
                path=run,
                hint=f"give one of them: --run {run / runs[0]}",
            )
    return run / "model.pt"


def _depth_ratio(
    counts: np.ndarray, meta: Mapping[str, Any], depth: str, reads: Sequence[Mapping[str, int]] | None = None
) -> tuple[np.ndarray | None, str | None]:
    """``(marks,)``: how much shallower (> 1) or deeper (< 1) the sample is than the training cell, per mark,
    and on what that rests; ``(None, None)`` where the model records no depth and ``depth`` is ``none``.

    Where the model records its training reads per chromosome and every mark of the sample is reads
    (``reads``: per mark, its reads per chromosome), the ratio is the training reads over the sample's on the
    chromosomes both have reads on: the sequencing depth, whatever genes the TSS table lists. Otherwise it is
    the training cell's mean count per bin over the sample's, over ``counts`` ``(genes, marks, bins)``: the
    genes with data of this TSS table."""
    from chromexpr.io.reads import chrom_key

    if not meta.get("depth"):
        if depth == "none":
            return None, None
        raise InputError(
            "this model records no training depth to scale the sample to (a checkpoint imported from "
            "the authors' code)",
            hint="give --depth none: the counts are used as they are, as the reference code does",
        )
    trained = meta["depth"].get("reads_per_chrom")
    if trained and reads is not None:
        ratio = []
        for mark, train_reads, sample_reads in zip(meta["marks"], trained, reads, strict=True):
            sample_keys = {chrom_key(c): int(n) for c, n in sample_reads.items() if int(n) > 0}
            shared = sorted(c for c in sample_keys if float(train_reads.get(c, 0)) > 0)
            if not shared:
                raise InputError(
                    f"the sample's reads of {mark} lie on no chromosome the model's training reads do "
                    f"({', '.join(list(sample_keys)[:5])} vs {', '.join(list(train_reads)[:5])})",
                    hint="use files of the training cell's assembly and organism, or --depth none",
                )
            ratio.append(sum(float(train_reads[c]) for c in shared) / sum(sample_keys[c] for c in shared))
        return np.asarray(ratio, dtype=np.float64), "reads per chromosome (the chromosomes with reads in both)"
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
        ratio = np.where((reference > 0) & (sample > 0), reference / np.where(sample > 0, sample, 1.0), 1.0)
    basis = "mean count per bin over this TSS table's genes with data" + (
        "" if trained else " (the model records no training reads per chromosome)"
    )
    return ratio, basis


def sample_input(
    counts: np.ndarray,
    meta: Mapping[str, Any],
    *,
    depth: str = "match",
    reads: Sequence[Mapping[str, int]] | None = None,
) -> tuple[np.ndarray, dict]:
    """Model input ``(genes, marks, bins)`` float32 from a sample's binned ``counts`` (the model's
    marks, in its order; genes with data only), and what was applied. ``reads``: per mark, the sample's reads
    per chromosome, where every mark is reads (the depth of a counts card then rests on them)."""
    from chromexpr.preprocess.normalization import zscore_marks

    if depth not in DEPTH_MODES:
        raise InputError(f"depth {depth!r} is not one of {', '.join(DEPTH_MODES)}", hint="--depth match or none")
    values = np.asarray(counts, dtype=np.float64)
    spec = meta["input"]
    norm = meta["normalization"]
    applied: dict[str, Any] = {"values": spec["values"], "transform": spec["transform"], "depth": depth}
    if spec["values"] == "counts":
        ratio, basis = _depth_ratio(values, meta, depth, reads)
        if ratio is not None:  # how much shallower (> 1) or deeper (< 1) the sample is, per mark
            applied["depth_ratio"] = dict(zip(meta["marks"], ratio.tolist(), strict=True))
            applied["depth_from"] = basis
        scale = ratio if depth == "match" and ratio is not None else np.ones(values.shape[1])
        applied["depth_scale"] = dict(zip(meta["marks"], scale.tolist(), strict=True))
        values = values * scale[None, :, None]
    else:
        if depth == "match":
            signal, mean, sd = zscore_marks(values, log1p=bool((norm or {}).get("log1p", False)))
            values = signal.astype(np.float64)
            applied["zscore"] = "the sample's own statistics over this TSS table's genes with data"
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


def _bigwig_sizes(path: Path, mark: str) -> dict[str, int]:
    """The chromosome sizes a bigWig lists, by ``chrom_key``."""
    from chromexpr.io.bigwig import BigWig
    from chromexpr.io.reads import chrom_key

    if not path.is_file():
        raise InputError(f"file of mark {mark} not found", path=path)
    with BigWig(path) as bw:
        return {chrom_key(c): int(n) for c, n in bw.chrom_sizes.items()}


def _without_data(
    genes: pd.DataFrame,
    geometry: BinGeometry,
    files: Mapping[str, tuple[str, Path]],
    marks: list[str],
    chrom_sizes: Mapping[str, int] | None,
) -> np.ndarray:
    """``(genes,)`` object: why each gene has no data before any read is binned ('' where it may have): its
    window leaves its chromosome (``chrom_sizes``, or the bigWig's own sizes), or its chromosome is not in a
    bigWig of the sample."""
    from chromexpr.io.reads import chrom_key

    reason = np.full(len(genes), "", dtype=object)
    chroms = genes["chrom"].astype(str).to_numpy()
    keys = np.array([chrom_key(c) for c in chroms], dtype=object)
    start, end = window_bounds(genes["tss"].to_numpy(), genes["strand"].to_numpy(), geometry)

    def flag(mask: np.ndarray, text: Any) -> None:
        for g in np.flatnonzero(mask & (reason == "")):
            reason[g] = text(g) if callable(text) else text

    flag(start < 0, lambda g: f"window starts before the start of {chroms[g]}")
    limits = (
        [] if chrom_sizes is None else [("the chromosome sizes", {chrom_key(c): n for c, n in chrom_sizes.items()})]
    )
    limits += [(f"the bigWig of {m}", _bigwig_sizes(files[m][1], m)) for m in marks if files[m][0] == "bigwig"]
    for source, sizes in limits:
        size = np.array([sizes.get(k, -1) for k in keys], dtype=np.int64)
        flag(size < 0, lambda g, source=source: f"{chroms[g]} is not in {source}")
        flag(
            end > size,
            lambda g, source=source, size=size: f"window passes the end of {chroms[g]} ({size[g]:,} bp in {source})",
        )
    return reason


def _without_reads(
    genes: pd.DataFrame,
    geometry: BinGeometry,
    reads: Mapping[str, Mapping[str, Any]],
    past_last_read: bool,
) -> np.ndarray:
    """``(genes,)`` object: why each gene has no data once the reads are binned ('' where it has): a mark's
    file has no read on its chromosome, or (``past_last_read``: no chromosome sizes to tell) its whole window
    lies past the last read of every mark on its chromosome (past the chromosome's end)."""
    from chromexpr.io.reads import chrom_key

    reason = np.full(len(genes), "", dtype=object)
    chroms = genes["chrom"].astype(str).to_numpy()
    keys = [chrom_key(c) for c in chroms]
    start, _ = window_bounds(genes["tss"].to_numpy(), genes["strand"].to_numpy(), geometry)
    per_mark = {m: {chrom_key(c): int(n) for c, n in st["reads_per_chrom"].items()} for m, st in reads.items()}
    last: dict[str, int] = {}
    for st in reads.values():
        for c, e in st.get("last_read_end_per_chrom", {}).items():
            last[chrom_key(c)] = max(last.get(chrom_key(c), 0), int(e))
    for g, key in enumerate(keys):
        lacking = [m for m, n in per_mark.items() if n.get(key, 0) == 0]
        if lacking:
            reason[g] = f"no read of {', '.join(lacking)} on {chroms[g]}"
        elif past_last_read and reads and start[g] >= last.get(key, 0):
            reason[g] = (
                f"window past the last read of every mark on {chroms[g]} (at {last.get(key, 0):,}): past the "
                "chromosome's end?"
            )
    return reason


def _bin_sample(
    files: Mapping[str, tuple[str, Path]],
    genes: pd.DataFrame,
    geometry: BinGeometry,
    marks: list[str],
    *,
    stat: str,
    engine: str,
) -> tuple[np.ndarray, dict[str, dict[str, Any]]]:
    """``(genes, marks, bins)`` float64: each mark's file binned (reads) or summarised (bigWig); and the
    binning statistics of each reads mark."""
    from chromexpr.preprocess.binning import bin_bigwig, bin_reads

    layers, reads = [], {}
    for mark in marks:
        kind, path = files[mark]
        if not Path(path).is_file():
            raise InputError(f"file of mark {mark} not found", path=path)
        if kind == "bigwig":
            counts, _ = bin_bigwig(path, genes, geometry, stat=stat)
        else:
            counts, reads[mark] = bin_reads(path, genes, geometry, engine=engine)
        layers.append(np.asarray(counts, dtype=np.float64))
    return np.stack(layers, axis=1), reads  # (genes, marks, bins)


def predict_sample(
    model_path: str | Path,
    files: Mapping[str, tuple[str, str | Path]],
    tss: str | Path,
    *,
    stat: str = "mean",
    depth: str = "match",
    engine: str = "native",
    chrom_sizes: str | Path | None = None,
) -> Prediction:
    """Predict every gene of ``tss`` with data for the sample ``files`` (mark -> ``("reads" | "bigwig", path)``).

    A gene has no data, and is left out (listed with its reason in ``info["left_out"]``), when its window
    leaves its chromosome (``chrom_sizes`` of the assembly, a bigWig's own sizes; without either, a window past
    the last read of every mark on its chromosome), or a mark's file has nothing on its chromosome (a bigWig
    that does not list it, reads without one read on it).

    Raises:
        InputError: the model file lacks its metadata or belongs to another task, a mark is missing or
            unknown, the TSS table is bad or leaves no gene, or a file cannot be binned.
    """
    import torch

    from chromexpr.io.tables import read_chrom_sizes, read_tss
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
    try:
        geometry = BinGeometry(
            window_bp=int(recorded["window_bp"]),
            bin_bp=int(recorded["bin_bp"]),
            orient_by_strand=bool(recorded.get("orient_by_strand", True)),
        )
    except (InputError, TypeError, ValueError) as err:
        raise InputError(
            f"the model file records a bin geometry no dataset has ({recorded}): {getattr(err, 'message', err)}",
            path=loaded.path,
            hint=_DAMAGED,
        ) from None
    if geometry.n_bins != int(meta["bins"]):
        raise InputError(
            f"the model takes {meta['bins']} bins but its geometry gives {geometry.n_bins}", path=loaded.path
        )

    # the weights must fit the card the file records: checked before any binning
    try:
        model = build_model(meta["card"])
    except InputError as err:
        raise InputError(
            f"the model file's card cannot be built: {err.message}", path=loaded.path, hint=_DAMAGED
        ) from None
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
    # genes without data are left out, each with its reason: first what the sizes tell, then the reads
    sizes = read_chrom_sizes(chrom_sizes) if chrom_sizes is not None else None
    reason = _without_data(genes, geometry, files, marks, sizes)
    kept = np.flatnonzero(reason == "")
    counts, reads = np.zeros((0, len(marks), geometry.n_bins)), {}
    if kept.size:
        counts, reads = _bin_sample(
            files, genes.iloc[kept].reset_index(drop=True), geometry, marks, stat=stat, engine=engine
        )  # (kept genes, marks, bins)
        later = _without_reads(genes.iloc[kept], geometry, reads, past_last_read=sizes is None)
        reason[kept] = later
        counts = counts[later == ""]
    left_out = _left_out(genes, reason)
    if len(left_out) == len(genes):
        raise InputError(
            f"no gene of the TSS table has data in every mark of the sample: {_reasons_text(left_out)}",
            path=tss,
            hint="check that the TSS table and the sample's files"
            + (" (and the chromosome sizes)" if chrom_sizes is not None else "")
            + " are of one assembly, and the TSS positions (0-based, inside their chromosome)",
        )
    if len(left_out):
        log.warning("%s: %d genes without data are left out: %s", tss, len(left_out), _reasons_text(left_out))
    genes = genes[reason == ""].reset_index(drop=True)
    all_reads = len(reads) == len(marks)
    x, applied = sample_input(
        counts, meta, depth=depth, reads=[reads[m]["reads_per_chrom"] for m in marks] if all_reads else None
    )

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
        "genes_left_out": len(left_out),
        "left_out_reasons": _reason_counts(left_out),
        "left_out": left_out.to_dict(orient="records"),
        "chrom_sizes": None if chrom_sizes is None else str(chrom_sizes),
        "geometry": meta["geometry"],
        "bigwig_stat": stat if any(kind == "bigwig" for kind, _ in files.values()) else None,
        "input": applied,
    }
    return Prediction(table=table, info=info)


def _left_out(genes: pd.DataFrame, reason: np.ndarray) -> pd.DataFrame:
    """The genes left out: ``gene_id chrom tss reason``, in the TSS table's order."""
    out = genes.loc[reason != "", ["gene_id", "chrom", "tss"]].copy()
    out["reason"] = reason[reason != ""].astype(str)
    out["tss"] = out["tss"].astype(int)
    return out.reset_index(drop=True)


def _reason_kind(reason: str) -> str:
    """A reason without its gene's numbers (``window passes the end of chr17 (... bp in X)`` -> ``window passes
    the end of chr17``), to count reasons."""
    return reason.split(" (")[0]


def _reason_counts(left_out: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(n) for k, n in left_out["reason"].map(_reason_kind).value_counts(sort=True).items()}


def _reasons_text(left_out: pd.DataFrame) -> str:
    counts = _reason_counts(left_out)
    shown = "; ".join(f"{n:,} genes: {k}" for k, n in list(counts.items())[:4])
    return shown + (f"; and {len(counts) - 4} more reasons" if len(counts) > 4 else "")


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

"""The per-cell dataset container: counts -> labels, normalized signal, provenance; one ``.npz`` per cell.

The ``.npz`` holds only plain arrays (no pickles) so any numpy can read it:

================  ==========================  =============================================
key               shape / dtype               meaning
================  ==========================  =============================================
counts            (genes, marks, bins)        raw reads per bin (int32) or bigWig signal
signal            (genes, marks, bins) f32    normalized signal (optional log1p, z-score)
expression        (genes,) float64            expression value (RPKM or raw counts)
label             (genes,) int8               1 when expression >= the cell's median
split             (genes,) str                train / valid / test (one manifest for all cells)
gene_ids          (genes,) str
marks             (marks,) str
zscore_mean/std   (marks,) float64            statistics used for the z-score
meta              () str                      JSON: cell, geometry, normalization, provenance
================  ==========================  =============================================

The file is written byte-reproducibly (:func:`chromexpr.io.npz.write_npz`: fixed zip member dates,
fixed member order, sorted JSON keys) and holds no wall-clock values, so two identical builds give
the same sha256. Timings are logged, not stored.
"""

from __future__ import annotations

import codecs
import json
import logging
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import chromexpr
from chromexpr.errors import InputError
from chromexpr.io.atomic import sha256sum
from chromexpr.io.jsonio import dumps_json, read_json
from chromexpr.io.magic import GZIP_MAGIC, NPY_MAGIC, ZIP_MAGICS
from chromexpr.io.npz import write_npz
from chromexpr.io.tables import SPLITS, read_expression, read_splits, read_tss_table
from chromexpr.preprocess.geometry import BinGeometry, crop_bins
from chromexpr.preprocess.normalization import label_by_median, zscore_marks

__all__ = [
    "CANONICAL_MARKS",
    "SPLITS",
    "Dataset",
    "assemble_dataset",
    "build_dataset",
    "describe_gene_set",
    "load_dataset",
    "save_dataset",
]

log = logging.getLogger("chromexpr.dataset")

#: chromexpr's order of the five core REMC marks (axis 1 of a dataset built from a release).
CANONICAL_MARKS: tuple[str, ...] = ("H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3")
_DATASET_KEYS = (
    "counts",
    "signal",
    "expression",
    "label",
    "split",
    "gene_ids",
    "marks",
    "zscore_mean",
    "zscore_std",
    "meta",
)
_REBUILD_HINT = "rebuild it with 'snakemake results/datasets/<cell>.npz'"
_NOT_A_DATASET_HINT = (
    "give the .npz that 'chromexpr dataset' or 'chromexpr ingest' writes (in the workflow: "
    "results/datasets/<cell>.npz); to make one from released CSVs run 'chromexpr ingest', from "
    "count matrices 'chromexpr dataset'"
)


@dataclass
class Dataset:
    """One cell's dataset in memory (see the module docstring for the meaning of fields)."""

    counts: np.ndarray
    signal: np.ndarray
    expression: np.ndarray
    label: np.ndarray
    split: np.ndarray
    gene_ids: np.ndarray
    marks: np.ndarray
    zscore_mean: np.ndarray
    zscore_std: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_genes(self) -> int:
        """Number of genes."""
        return int(self.counts.shape[0])

    def subset(self, split: str) -> np.ndarray:
        """Boolean mask of the genes in ``split``."""
        return self.split == split


def build_dataset(
    counts: np.ndarray,
    gene_ids: np.ndarray | list[str],
    marks: list[str],
    expression: np.ndarray,
    split: np.ndarray | list[str],
    *,
    cell: str,
    geometry: dict[str, Any],
    provenance: dict[str, Any] | None = None,
    log1p: bool = False,
    fit_on: str = "train",
    labels: np.ndarray | None = None,
    median_over: tuple[np.ndarray, str] | None = None,
) -> Dataset:
    """Assemble a dataset: median labels, z-scored signal and metadata.

    Args:
        counts: ``(genes, marks, bins)``; row ``g`` belongs to ``gene_ids[g]``.
        gene_ids: gene identifiers, unique.
        marks: mark names, in the order of ``counts`` axis 1.
        expression: per-gene expression, aligned with ``gene_ids``.
        split: per-gene ``train``/``valid``/``test``.
        cell: cell (epigenome) identifier.
        geometry: bin geometry (``BinGeometry.as_dict()``).
        provenance: inputs with checksums, parameters, versions.
        log1p: apply ``log1p`` before the z-score.
        fit_on: ``all`` or ``train``: genes the z-score statistics come from.
        labels: labels given by the source (e.g. a released DeepChrome CSV). When given they are
            kept as they are instead of being recomputed from ``expression`` (which may be NaN).
        median_over: the expression the label median is taken over, and its name for the meta: every gene
            of the cell in its expression matrix (``MEDIAN_OVER`` ``cell``, the papers' labels), not only the
            genes the dataset keeps; None: the dataset's genes.
    """
    counts = np.asarray(counts)
    gene_ids = np.asarray(gene_ids, dtype=str)
    split = np.asarray(split, dtype=str)
    expression = np.asarray(expression, dtype=np.float64)
    n = counts.shape[0]
    if counts.ndim != 3 or counts.shape[1] != len(marks):
        raise InputError(f"counts shape {counts.shape} does not match {len(marks)} marks")
    for name, arr in (("gene_ids", gene_ids), ("expression", expression), ("split", split)):
        if arr.shape != (n,):
            raise InputError(f"{name} has shape {arr.shape}, expected ({n},)")
    if len(np.unique(gene_ids)) != n:
        raise InputError("gene ids are not unique in the dataset")
    bad = ~np.isin(split, SPLITS)
    if bad.any():
        raise InputError(f"unknown split {split[bad][0]!r}; expected one of {SPLITS}")
    if fit_on not in ("all", "train"):
        raise InputError(f"fit_on must be 'all' or 'train', got {fit_on!r}", key="normalize.fit_on")
    if labels is None:
        over, over_name = median_over if median_over is not None else (None, f"the dataset's {n:,} genes")
        label, median = label_by_median(expression, over)
        label_meta = {"rule": "expression >= median", "median": median, "median_over": over_name}
    else:
        label = np.asarray(labels).astype(np.int8)
        if label.shape != (n,) or not np.isin(label, (0, 1)).all():
            raise InputError("given labels must be 0/1, one per gene")
        label_meta = {"rule": "given by the source"}
    fit_mask = split == "train" if fit_on == "train" else None
    signal, mean, sd = zscore_marks(counts, log1p=log1p, fit_mask=fit_mask)
    meta = {
        "cell": cell,
        "geometry": geometry,
        "normalization": {"log1p": bool(log1p), "zscore": True, "fit_on": fit_on},
        "label": label_meta,
        "provenance": provenance or {},
    }
    return Dataset(
        counts=counts,
        signal=signal,
        expression=expression,
        label=label,
        split=split,
        gene_ids=gene_ids,
        marks=np.asarray(marks, dtype=str),
        zscore_mean=mean,
        zscore_std=sd,
        meta=meta,
    )


def save_dataset(dataset: Dataset, path: str | Path) -> Path:
    """Write ``dataset`` to ``path`` (``.npz``, compressed) atomically and byte-reproducibly."""
    arrays = {
        "counts": dataset.counts,
        "signal": dataset.signal,
        "expression": dataset.expression,
        "label": dataset.label,
        "split": dataset.split,
        "gene_ids": dataset.gene_ids,
        "marks": dataset.marks,
        "zscore_mean": dataset.zscore_mean,
        "zscore_std": dataset.zscore_std,
        "meta": np.array(dumps_json(dataset.meta, indent=None, sort_keys=True)),
    }
    return write_npz(path, arrays)


def _not_an_npz(path: Path) -> InputError | None:
    """The error for a file that is not a zip archive at all (``None`` when it starts like one)."""
    with open(path, "rb") as fh:
        start = fh.read(512)
    if start[:4] in ZIP_MAGICS:
        return None
    if not start:
        what = "the file is empty"
    elif start.startswith(NPY_MAGIC):
        what = "it is a single .npy array, not an .npz archive"
    elif start.startswith(GZIP_MAGIC):
        what = "it is gzip-compressed, not an .npz archive"
    else:
        try:  # incremental: a character cut at the end of the sample is no error
            codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
        except UnicodeDecodeError:
            what = "it is not an .npz archive"
        else:
            kind = "TSV" if b"\t" in start else "CSV" if b"," in start else "text"
            what = f"it is a text file (it looks like {kind}), not an .npz archive"
    return InputError(f"not a chromexpr dataset: {what}", path=path, hint=_NOT_A_DATASET_HINT)


def load_dataset(path: str | Path) -> Dataset:
    """Read a dataset written by :func:`save_dataset`.

    Raises:
        InputError: naming the file, when it is missing, is not an ``.npz`` at all (a table given by
            mistake: says what it is and what to give instead), is damaged, or is an ``.npz`` that
            is not a chromexpr dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("dataset file not found", path=path, hint=_REBUILD_HINT)
    error = _not_an_npz(path)
    if error is not None:
        raise error
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a readable chromexpr dataset ({exc})", path=path, hint=_REBUILD_HINT) from exc
    missing = [k for k in _DATASET_KEYS if k not in arrays]
    if missing:
        raise InputError(f"not a chromexpr dataset: missing {', '.join(missing)}", path=path, hint=_NOT_A_DATASET_HINT)
    meta = _meta_from(path, arrays["meta"])
    return Dataset(meta=meta, **{k: arrays[k] for k in _DATASET_KEYS if k != "meta"})


def _meta_from(path: Path, meta: np.ndarray) -> dict[str, Any]:
    """The ``meta`` member of a dataset file as a dict."""
    try:
        value = json.loads(str(meta))
    except json.JSONDecodeError as exc:
        raise InputError(f"the dataset's meta is not JSON ({exc.msg})", path=path, hint=_REBUILD_HINT) from None
    if not isinstance(value, dict):
        raise InputError("the dataset's meta is not a JSON object", path=path, hint=_REBUILD_HINT)
    return value


#: Keys of the binning stats that hold wall-clock measurements: logged, never stored in a dataset.
_TIMING_KEYS = frozenset({"seconds", "wall_seconds", "elapsed_seconds"})


def _without_timings(value: Any, found: dict[str, Any], where: str = "") -> Any:
    """``value`` without the :data:`_TIMING_KEYS` at any depth; what was dropped goes to ``found``."""
    if isinstance(value, Mapping):
        kept = {}
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if key in _TIMING_KEYS:
                found[name] = item
            else:
                kept[key] = _without_timings(item, found, name)
        return kept
    if isinstance(value, list):
        return [_without_timings(v, found, where) for v in value]
    return value


def _read_counts_matrix(path: str | Path, n_genes: int) -> np.ndarray:
    """One mark's ``(genes, bins)`` count matrix (``.npy``), checked against the TSS table."""
    hint = "re-run the binning step for this cell and mark"
    try:
        mat = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"not a readable counts matrix ({exc})", path=path, hint=hint) from exc
    if not isinstance(mat, np.ndarray) or mat.ndim != 2:
        shape = getattr(mat, "shape", "an archive")
        raise InputError(f"counts must be (genes, bins), got shape {shape}", path=path, hint=hint)
    if mat.shape[0] != n_genes:
        raise InputError(f"{mat.shape[0]} rows but the TSS table has {n_genes} genes", path=path, hint=hint)
    return mat


def assemble_dataset(
    counts: dict[str, str | Path],
    tss: str | Path,
    splits: str | Path,
    expression: str | Path,
    out: str | Path,
    *,
    cell: str,
    log1p: bool = False,
    fit_on: str = "train",
    expression_duplicates: str = "error",
    inputs: dict[str, str | Path] | None = None,
    parameters: dict[str, Any] | None = None,
    crop: tuple[BinGeometry, BinGeometry] | None = None,
    median_over: str = "cell",
    gene_set: Mapping[str, Any] | None = None,
) -> Dataset:
    """Build ``results/datasets/{cell}.npz`` from per-mark count matrices.

    Args:
        counts: mark -> ``.npy`` of shape ``(genes, bins)``, rows in the order of ``tss``.
            A sidecar ``.json`` beside each (written by the binning step) is folded into the
            provenance (raw input file and its checksum, read statistics); its wall-clock timings
            are logged instead, so that identical builds give identical files.
        tss: the reference TSS table (``gene_id chrom tss strand``).
        splits: the split manifest.
        expression: expression matrix with a column for ``cell``.
        out: the ``.npz`` to write.
        cell: the cell (epigenome) id.
        log1p, fit_on: normalization (see :func:`chromexpr.preprocess.normalization.zscore_marks`).
        expression_duplicates: ``error`` or ``first`` (see :func:`chromexpr.io.tables.read_expression`).
        inputs: extra input files to record in the provenance with their checksums.
        parameters: the parameters to record (geometry, engine, ...).
        crop: ``(binned, wanted)``: the counts were binned with the wider ``binned`` geometry (the
            widest any experiment asks for); the dataset keeps the bins of ``wanted``
            (:func:`chromexpr.preprocess.geometry.crop_bins`, equal to binning with it directly).
        median_over: ``cell`` (default): labels are expression >= the median over every gene of the cell in
            ``expression`` (the papers' labels); ``dataset``: over the genes the dataset keeps.
        gene_set: the gene set ``splits`` is the manifest of (``chromexpr.experiments.gene_sets``: ``name``,
            ``min_tss_distance``, ``chromosomes``, ``split``): the dataset keeps the manifest's genes, which must
            all be in ``tss`` (the genes binned), and records the set in its meta. None: every gene
            of ``tss`` must have a split, and all are kept.
    """
    genes = read_tss_table(tss)
    all_ids = genes["gene_id"].to_numpy(dtype=str)
    split_map = read_splits(splits)
    listed = split_map.index.to_numpy(dtype=str)
    if gene_set is None:
        missing = np.setdiff1d(all_ids, listed)
        if missing.size:
            raise InputError(
                f"{missing.size} genes of the TSS table have no split (e.g. {missing[0]})",
                path=splits,
                hint="rebuild the reference: results/reference/splits.tsv",
            )
        rows = np.arange(len(all_ids))
    else:
        unbinned = np.setdiff1d(listed, all_ids)
        if unbinned.size:
            raise InputError(
                f"{unbinned.size} genes of gene set '{gene_set.get('name')}' are not in the TSS table (e.g. "
                f"{unbinned[0]})",
                path=splits,
                hint=f"rebuild the reference: its manifests and {Path(tss).name} are made together",
            )
        rows = np.flatnonzero(np.isin(all_ids, listed))  # the set's genes, in TSS table order
    gene_ids = all_ids[rows]
    expr = read_expression(expression, [cell], duplicates=expression_duplicates)[cell]
    absent = np.setdiff1d(gene_ids, expr.index.to_numpy(dtype=str))
    if absent.size:
        raise InputError(
            f"{absent.size} genes have no expression for {cell} (e.g. {absent[0]})",
            path=expression,
            hint="the reference must be built from this expression matrix",
        )
    marks = list(counts)
    mats = []
    provenance: dict[str, Any] = {"chromexpr_version": chromexpr.__version__, "marks": {}, "inputs": {}}
    for mark in marks:
        matrix = _read_counts_matrix(counts[mark], len(all_ids))[rows]
        if crop is not None:
            matrix = crop_bins(matrix, wide=crop[0], narrow=crop[1])
        mats.append(matrix)
        sidecar = Path(counts[mark]).with_suffix(".json")
        if sidecar.exists():
            timings: dict[str, Any] = {}
            provenance["marks"][mark] = _without_timings(read_json(sidecar), timings)
            for key, value in timings.items():
                log.info("%s %s: %s %s s (not stored in the dataset)", cell, mark, key, value)
    n_bins = {m.shape[1] for m in mats}
    if len(n_bins) != 1:
        raise InputError(
            f"marks of {cell} have different bin counts {sorted(n_bins)}",
            hint="bin every mark with the same window and bin size",
        )
    stacked = np.stack(mats, axis=1)  # (genes, marks, bins)
    for name, path in {"tss": tss, "splits": splits, "expression": expression, **(inputs or {})}.items():
        provenance["inputs"][name] = {"path": str(path), "sha256": sha256sum(path)}
    provenance["parameters"] = parameters or {}
    geometry = (parameters or {}).get("geometry", {"n_bins": int(stacked.shape[2])})
    dataset = build_dataset(
        stacked,
        gene_ids,
        marks,
        expr.loc[gene_ids].to_numpy(),
        split_map.loc[gene_ids].to_numpy(dtype=str),
        cell=cell,
        geometry=geometry,
        provenance=provenance,
        log1p=log1p,
        fit_on=fit_on,
        median_over=cell_median(expr, median_over, expression),
    )
    if gene_set is not None:
        per_split = {name: int((dataset.split == name).sum()) for name in SPLITS}
        dataset.meta["gene_set"] = {**dict(gene_set), "genes": int(len(gene_ids)), "genes_per_split": per_split}
    save_dataset(dataset, out)
    return dataset


def describe_gene_set(record: Mapping[str, Any] | None) -> str:
    """A dataset's gene set (its ``meta["gene_set"]``: ``chromexpr.experiments.gene_sets``) in words, e.g. ``gene set 'transferchrome': TSS
    filter 5,000 bp, chr1-chr22 and chrX, blocks split (train / valid / test 5,853 / 5,853 / 5,853 genes)``."""
    if not record:
        return "genes and split as the source gives them"
    distance = int(record.get("min_tss_distance") or 0)
    parts = [f"TSS filter {distance:,} bp" if distance else "no TSS filter"]
    chromosomes = list(record.get("chromosomes") or [])
    parts.append(_chromosomes(chromosomes) if chromosomes else "every chromosome")
    split = record.get("split") or {}
    counts = record.get("genes_per_split") or {}
    numbers = " / ".join(f"{int(counts.get(s, 0)):,}" for s in ("train", "valid", "test"))
    parts.append(f"{split.get('method', '?')} split (train / valid / test {numbers} genes)")
    return f"gene set '{record.get('name', 'default')}': " + ", ".join(parts)


def _chromosomes(names: Sequence[str]) -> str:
    """``chr1``..``chr22`` runs written as ``chr1-chr22``."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) > 2:
            out.append(f"{run[0]}-{run[-1]}")
        else:
            out.extend(run)
        run.clear()

    for name in names:
        number, last = name.removeprefix("chr"), run[-1].removeprefix("chr") if run else ""
        if number.isdigit() and last.isdigit() and int(number) == int(last) + 1:
            run.append(name)
            continue
        flush()
        run.append(name)
    flush()
    return ", ".join(out)


#: what ``median_over`` may be: the cell's genes in its expression matrix, or the dataset's genes
MEDIAN_OVER = ("cell", "dataset")


def cell_median(expr: Any, median_over: str, path: str | Path) -> tuple[np.ndarray, str] | None:
    """``build_dataset``'s ``median_over`` for the choice ``median_over``: the cell's every gene in the expression
    matrix ``expr`` (read from ``path``), or None (the dataset's genes)."""
    if median_over not in MEDIAN_OVER:
        raise InputError(
            f"unknown median_over {median_over!r}", key="expression.median_over", hint="use cell or dataset"
        )
    if median_over == "dataset":
        return None
    return expr.to_numpy(dtype=np.float64), f"the cell's {len(expr):,} genes in {Path(path).name}"

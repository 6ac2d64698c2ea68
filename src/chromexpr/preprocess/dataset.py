"""Per-cell datasets: counts -> labels, normalized signal, provenance, one ``.npz`` per cell.

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
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path

SPLITS = ("train", "valid", "test")
_DATASET_KEYS = ("counts", "signal", "expression", "label", "split", "gene_ids", "marks",
                 "zscore_mean", "zscore_std", "meta")


def label_by_median(expression: np.ndarray) -> tuple[np.ndarray, float]:
    """Binary labels: expression >= the median over these genes -> 1, else 0.

    The median itself is labelled 1 (DESIGN.md section 4). Returns ``(labels, median)``.
    """
    expression = np.asarray(expression, dtype=np.float64)
    if expression.size == 0:
        raise InputError("cannot label an empty set of genes")
    if not np.all(np.isfinite(expression)):
        raise InputError("expression contains NaN or infinite values; clean the expression table")
    median = float(np.median(expression))
    return (expression >= median).astype(np.int8), median


def zscore_marks(
    counts: np.ndarray, *, log1p: bool = False, fit_mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-score each mark with mean and sd over all genes x bins of that mark (paper Eq. 1).

    Args:
        counts: ``(genes, marks, bins)`` raw values.
        log1p: apply ``log(1 + x)`` before standardising.
        fit_mask: boolean ``(genes,)``; statistics are computed on these genes only
            (``fit_on: train``), then applied to every gene. ``None`` uses all genes.

    Returns:
        ``(signal float32, mean per mark, sd per mark)``. A mark with zero variance keeps
        sd 1 so that its signal is all zeros rather than NaN.
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 3:
        raise InputError(f"counts must be (genes, marks, bins), got shape {x.shape}")
    if log1p:
        if (x < 0).any():
            raise InputError("log1p needs non-negative values; disable normalize.log1p")
        x = np.log1p(x)
    fit = x if fit_mask is None else x[np.asarray(fit_mask, dtype=bool)]
    if fit.shape[0] == 0:
        raise InputError("no genes to fit the z-score on", key="normalize.fit_on")
    mean = fit.mean(axis=(0, 2))
    sd = fit.std(axis=(0, 2))
    sd = np.where(sd > 0, sd, 1.0)
    signal = (x - mean[None, :, None]) / sd[None, :, None]
    return signal.astype(np.float32), mean, sd


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
    fit_on: str = "all",
    labels: np.ndarray | None = None,
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
        label, median = label_by_median(expression)
        label_meta = {"rule": "expression >= median", "median": median}
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
    """Write ``dataset`` to ``path`` (``.npz``, compressed) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                counts=dataset.counts,
                signal=dataset.signal,
                expression=dataset.expression,
                label=dataset.label,
                split=dataset.split,
                gene_ids=dataset.gene_ids,
                marks=dataset.marks,
                zscore_mean=dataset.zscore_mean,
                zscore_std=dataset.zscore_std,
                meta=np.array(json.dumps(dataset.meta, sort_keys=True)),
            )
    return path


def load_dataset(path: str | Path) -> Dataset:
    """Read a dataset written by :func:`save_dataset`."""
    path = Path(path)
    hint = "rebuild it with 'snakemake results/datasets/<cell>.npz'"
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a readable chromexpr dataset ({exc})", path=path, hint=hint) from exc
    missing = [k for k in _DATASET_KEYS if k not in arrays]
    if missing:
        raise InputError(f"not a chromexpr dataset: missing {', '.join(missing)}", path=path, hint=hint)
    meta = json.loads(str(arrays.pop("meta")))
    return Dataset(meta=meta, **arrays)


def assemble_dataset(
    counts: dict[str, str | Path],
    tss: str | Path,
    splits: str | Path,
    expression: str | Path,
    out: str | Path,
    *,
    cell: str,
    log1p: bool = False,
    fit_on: str = "all",
    expression_duplicates: str = "error",
    inputs: dict[str, str | Path] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Dataset:
    """Build ``results/datasets/{cell}.npz`` from per-mark count matrices.

    Args:
        counts: mark -> ``.npy`` of shape ``(genes, bins)``, rows in the order of ``tss``.
            A sidecar ``.json`` beside each (written by the binning step) is folded into the
            provenance (raw input file and its checksum, read statistics).
        tss: the reference TSS table (``gene_id chrom tss strand``).
        splits: the split manifest.
        expression: expression matrix with a column for ``cell``.
        out: the ``.npz`` to write.
        cell: the cell (epigenome) id.
        log1p, fit_on: normalization (see :func:`zscore_marks`).
        expression_duplicates: ``error`` or ``first`` (see ``read_expression``).
        inputs: extra input files to record in the provenance with their checksums.
        parameters: the parameters to record (geometry, engine, ...).
    """
    import chromexpr
    from chromexpr.io.atomic import sha256sum
    from chromexpr.io.tables import read_expression, read_tss_table
    from chromexpr.preprocess.reference import read_splits

    genes = read_tss_table(tss)
    gene_ids = genes["gene_id"].to_numpy(dtype=str)
    split_map = read_splits(splits)
    missing = np.setdiff1d(gene_ids, split_map.index.to_numpy(dtype=str))
    if missing.size:
        raise InputError(f"{missing.size} genes of the TSS table have no split (e.g. {missing[0]})",
                         path=splits, hint="rebuild the reference: results/reference/splits.tsv")
    expr = read_expression(expression, [cell], duplicates=expression_duplicates)[cell]
    absent = np.setdiff1d(gene_ids, expr.index.to_numpy(dtype=str))
    if absent.size:
        raise InputError(f"{absent.size} genes have no expression for {cell} (e.g. {absent[0]})",
                         path=expression, hint="the reference must be built from this expression matrix")
    marks = list(counts)
    mats = []
    provenance: dict[str, Any] = {"chromexpr_version": chromexpr.__version__, "marks": {}, "inputs": {}}
    for mark in marks:
        try:
            mat = np.load(counts[mark], allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise InputError(f"not a readable counts matrix ({exc})", path=counts[mark],
                             hint="re-run the binning step for this cell and mark") from exc
        if mat.ndim != 2:
            raise InputError(f"counts must be (genes, bins), got shape {mat.shape}", path=counts[mark],
                             hint="re-run the binning step for this cell and mark")
        if mat.shape[0] != len(gene_ids):
            raise InputError(f"{mat.shape[0]} rows but the TSS table has {len(gene_ids)} genes",
                             path=counts[mark], hint="re-run the binning step for this cell and mark")
        mats.append(mat)
        sidecar = Path(counts[mark]).with_suffix(".json")
        if sidecar.exists():
            provenance["marks"][mark] = json.loads(sidecar.read_text())
    n_bins = {m.shape[1] for m in mats}
    if len(n_bins) != 1:
        raise InputError(f"marks of {cell} have different bin counts {sorted(n_bins)}",
                         hint="bin every mark with the same window and bin size")
    stacked = np.stack(mats, axis=1)  # (genes, marks, bins)
    for name, path in {"tss": tss, "splits": splits, "expression": expression, **(inputs or {})}.items():
        provenance["inputs"][name] = {"path": str(path), "sha256": sha256sum(path)}
    provenance["parameters"] = parameters or {}
    geometry = (parameters or {}).get("geometry", {"n_bins": int(stacked.shape[2])})
    dataset = build_dataset(
        stacked, gene_ids, marks, expr.loc[gene_ids].to_numpy(), split_map.loc[gene_ids].to_numpy(dtype=str),
        cell=cell, geometry=geometry, provenance=provenance, log1p=log1p, fit_on=fit_on,
    )
    save_dataset(dataset, out)
    return dataset

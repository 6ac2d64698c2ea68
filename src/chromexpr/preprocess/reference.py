"""Reference: one TSS per gene -> TSS filter -> windows -> split manifest."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path
from chromexpr.io.jsonio import write_json
from chromexpr.io.tables import (
    SPLITS,
    TSS_COLUMNS,
    read_annotation,
    read_chrom_sizes,
    read_expression,
    read_tss_table,
    write_splits,
)
from chromexpr.preprocess.geometry import BinGeometry, window_bounds

log = logging.getLogger("chromexpr.reference")

SPLIT_METHODS = ("blocks", "random", "chromosome", "deepdiff")
#: DeepDiff's split (its release, positions among the Ensembl ids sorted): test, train, valid blocks in this order
DEEPDIFF_BLOCKS = (("test", 6100), ("train", 10000), ("valid", 2360))
#: Default ``reference.min_tss_distance``: bases a kept TSS must lie downstream of the last kept one.
MIN_TSS_DISTANCE = 5000


def filter_tss(genes: pd.DataFrame, min_tss_distance: int = MIN_TSS_DISTANCE) -> pd.DataFrame:
    """Keep TSSs at least ``min_tss_distance`` apart.

    Per chromosome, genes are sorted by TSS (ties by gene id); the first is kept, and a gene
    is dropped when its TSS lies less than ``min_tss_distance`` downstream of the last KEPT TSS.
    Returns the kept rows sorted by (chrom, tss, gene_id).
    """
    if min_tss_distance < 0:
        raise InputError(
            f"min_tss_distance must be >= 0, got {min_tss_distance}",
            key="reference.min_tss_distance",
            hint="use 0 to keep every TSS, or e.g. 5000 (DeepChrome)",
        )
    ordered = genes.sort_values(["chrom", "tss", "gene_id"], kind="mergesort")
    keep = np.zeros(len(ordered), dtype=bool)
    chrom = ordered["chrom"].to_numpy()
    tss = ordered["tss"].to_numpy(dtype=np.int64)
    last_chrom, last_kept = None, 0
    for i in range(len(ordered)):
        if chrom[i] != last_chrom or tss[i] - last_kept >= min_tss_distance:
            keep[i] = True
            last_chrom, last_kept = chrom[i], tss[i]
    return ordered[keep].reset_index(drop=True)


def check_chrom_naming(
    genes: pd.DataFrame,
    chrom_sizes: dict[str, int],
    *,
    genes_path: str | Path | None = None,
    sizes_path: str | Path | None = None,
    chromosomes: list[str] | None = None,
) -> None:
    """Refuse TSS chromosomes that miss the chromosome sizes only by their spelling (``17`` vs ``chr17``).

    Genes on such a chromosome would otherwise be dropped as "without size" or "window outside
    the chromosome". Only chromosomes whose sizes spelling is in ``chromosomes`` (when given)
    count. ``genes_path`` / ``sizes_path`` name the files in the message; the line is that of the
    first gene on the chromosome when ``genes`` has the readers' ``_line`` column.

    Raises:
        InputError: ``TSS chromosomes use '17', chromosome sizes use 'chr17': a naming mismatch``.
    """
    from chromexpr.io.reads import normalize_chrom_names

    sizes = set(chrom_sizes)
    chroms = [str(c) for c in pd.unique(genes["chrom"].astype(str))]
    absent = [c for c in chroms if c not in sizes]
    if not absent:
        return
    wanted = set(chromosomes) if chromosomes else sizes
    renamed = normalize_chrom_names(absent, sizes)
    for name, target in renamed.items():
        if target == name or target not in wanted:
            continue
        line = None
        if "_line" in genes.columns:
            line = int(genes.loc[genes["chrom"].astype(str) == name, "_line"].iloc[0])
        sizes_named = f" ({sizes_path})" if sizes_path is not None else ""
        n_affected = sum(1 for c in absent if renamed[c] != c)
        raise InputError(
            f"TSS chromosomes use '{name}', chromosome sizes{sizes_named} use '{target}': a naming "
            f"mismatch (UCSC 'chr' prefix vs Ensembl) on {n_affected} of {len(chroms)} chromosomes",
            path=genes_path,
            line=line,
            hint="rename one of them so that both spell chromosomes alike: `sed 's/^chr//'` drops the "
            "prefix, `sed 's/^/chr/'` adds it (on the chromosome sizes, or on the annotation's chrom column)",
        )


def inside_chromosome(genes: pd.DataFrame, chrom_sizes: dict[str, int], geometry: BinGeometry) -> np.ndarray:
    """Boolean mask of genes whose whole window lies inside their chromosome."""
    start, end = window_bounds(genes["tss"].to_numpy(), genes["strand"].to_numpy(), geometry)
    size = genes["chrom"].map(chrom_sizes).to_numpy(dtype=np.float64)
    return (start >= 0) & (end <= size)


def make_splits(
    genes: pd.DataFrame,
    method: str = "blocks",
    *,
    seed: int = 0,
    fractions: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3),
    valid_chromosomes: list[str] | None = None,
    test_chromosomes: list[str] | None = None,
) -> pd.Series:
    """Assign every gene to train / valid / test; one manifest shared by all cells.

    * ``blocks``: genes sorted by id, cut into consecutive thirds, the larger blocks first
      (DeepChrome: 19,802 genes -> 6601 / 6601 / 6600).
    * ``random``: a seeded permutation cut at ``fractions``.
    * ``chromosome``: genes on ``valid_chromosomes`` / ``test_chromosomes`` are held out.
    * ``deepdiff``: genes sorted by id, then consecutive blocks of 6,100 test, 10,000 train and the rest valid
      (2,360 of the paper's 18,460 genes; the genes past 18,460, which the paper's split does not place, are
      valid too); with fewer than 18,460 genes the three blocks are scaled to the number of genes. The released
      DeepDiff sample's test, train and valid genes sit at positions 0-207, 6,248-6,453 and 16,597-16,812 of
      the 19,795 REMC genes sorted.

    Returns a Series of split names indexed by gene id.
    """
    ids = genes["gene_id"].to_numpy(dtype=str)
    split = np.empty(len(ids), dtype=object)
    if method == "blocks":
        order = np.argsort(ids, kind="mergesort")
        for name, block in zip(SPLITS, np.array_split(order, 3), strict=True):
            split[block] = name
    elif method == "deepdiff":
        order = np.argsort(ids, kind="mergesort")
        scale = min(1.0, len(ids) / sum(n for _, n in DEEPDIFF_BLOCKS))
        cuts = np.cumsum([round(n * scale) for _, n in DEEPDIFF_BLOCKS[:2]])  # the last block takes the rest
        for (name, _), block in zip(DEEPDIFF_BLOCKS, np.split(order, cuts), strict=True):
            split[block] = name
    elif method == "random":
        fr = np.asarray(fractions, dtype=np.float64)
        if fr.shape != (3,) or (fr < 0).any() or not np.isclose(fr.sum(), 1.0):
            raise InputError(
                f"fractions {list(fractions)} must be three non-negative numbers summing to 1", key="split.fractions"
            )
        # sort first so that the result does not depend on the input row order
        order = np.argsort(ids, kind="mergesort")
        perm = order[np.random.default_rng(seed).permutation(len(ids))]
        cuts = np.round(np.cumsum(fr)[:2] * len(ids)).astype(int)
        for name, block in zip(SPLITS, np.split(perm, cuts), strict=True):
            split[block] = name
    elif method == "chromosome":
        valid = set(valid_chromosomes or [])
        test = set(test_chromosomes or [])
        if not valid or not test:
            raise InputError(
                "the chromosome split needs split.valid_chromosomes and split.test_chromosomes",
                key="split.test_chromosomes",
            )
        if valid & test:
            raise InputError(
                f"chromosomes {sorted(valid & test)} are both valid and test", key="split.valid_chromosomes"
            )
        chrom = genes["chrom"].to_numpy(dtype=str)
        split[:] = "train"
        split[np.isin(chrom, list(valid))] = "valid"
        split[np.isin(chrom, list(test))] = "test"
    else:
        raise InputError(
            f"unknown split method '{method}'", key="split.method", hint=f"use one of {', '.join(SPLIT_METHODS)}"
        )
    out = pd.Series(split.astype(str), index=pd.Index(ids, name="gene_id"), name="split")
    for name in SPLITS:
        if not (out == name).any():
            raise InputError(
                f"the {method} split leaves no gene in '{name}'",
                key="split",
                hint="check the split settings against the genes kept",
            )
    return out


@dataclass
class ReferenceResult:
    """Genes kept (``gene_id chrom tss strand``), their splits, and the count at every step."""

    genes: pd.DataFrame
    splits: pd.Series
    counts: dict[str, Any] = field(default_factory=dict)


def select_reference(
    annotation: pd.DataFrame,
    expression_genes: pd.Index | list[str] | None,
    chrom_sizes: dict[str, int],
    geometry: BinGeometry,
    *,
    min_tss_distance: int = MIN_TSS_DISTANCE,
    unknown_strand: str = "plus",
    chromosomes: list[str] | None = None,
    split: dict[str, Any] | None = None,
) -> ReferenceResult:
    """Apply the reference steps in order and count what each step removes.

    1. keep genes with expression (when ``expression_genes`` is given);
    2. keep genes on ``chromosomes`` (all chromosomes of ``chrom_sizes`` when empty);
    3. resolve unknown strands: ``plus`` (treat as ``+``, genomic order, as the published data) or ``drop``;
    4. TSS filter (:func:`filter_tss`);
    5. drop genes whose window leaves the chromosome;
    6. assign splits (:func:`make_splits`).
    """
    genes = annotation[list(TSS_COLUMNS)].copy()
    counts: dict[str, Any] = {"annotation": int(len(genes))}
    if expression_genes is not None:
        has = genes["gene_id"].isin(pd.Index(expression_genes))
        counts["no_expression"] = int((~has).sum())
        counts["expression_not_annotated"] = int(len(set(expression_genes) - set(genes["gene_id"])))
        genes = genes[has]
    allowed = set(chromosomes) if chromosomes else set(chrom_sizes)
    unknown_chroms = sorted(set(genes["chrom"]) - set(chrom_sizes))
    if chromosomes:
        missing = sorted(set(chromosomes) - set(chrom_sizes))
        if missing:
            raise InputError(
                f"chromosomes {missing} are not in the chromosome sizes file",
                key="reference.chromosomes",
                hint="use names as in the chrom sizes file",
            )
    on = genes["chrom"].isin(allowed)
    counts["other_chromosomes"] = int((~on).sum())
    counts["chromosomes_without_size"] = unknown_chroms
    genes = genes[on]
    unknown = genes["strand"] == "."
    counts["unknown_strand"] = int(unknown.sum())
    if unknown_strand == "plus":
        genes.loc[unknown, "strand"] = "+"
    elif unknown_strand == "drop":
        genes = genes[~unknown]
    else:
        raise InputError(f"unknown value '{unknown_strand}'", key="reference.unknown_strand", hint="use plus or drop")
    if genes.empty:
        raise InputError(
            "no gene is left before the TSS filter",
            key="reference",
            hint="check that annotation, expression and chromosome names agree (chr1 vs 1)",
        )
    before = len(genes)
    genes = filter_tss(genes, min_tss_distance)
    counts["tss_filter_dropped"] = int(before - len(genes))
    inside = inside_chromosome(genes, chrom_sizes, geometry)
    counts["window_outside_chromosome"] = int((~inside).sum())
    genes = genes[inside].reset_index(drop=True)
    counts["kept"] = int(len(genes))
    split = dict(split or {})
    splits = make_splits(
        genes,
        split.get("method", "blocks"),
        seed=int(split.get("seed", 0)),
        fractions=tuple(split.get("fractions", (1 / 3, 1 / 3, 1 / 3))),
        valid_chromosomes=split.get("valid_chromosomes"),
        test_chromosomes=split.get("test_chromosomes"),
    )
    counts["split"] = {k: int(v) for k, v in splits.value_counts().sort_index().items()}
    return ReferenceResult(genes=genes, splits=splits, counts=counts)


def write_tss(genes: pd.DataFrame, path: str | Path) -> None:
    """Write the TSS table (``gene_id chrom tss strand``) atomically."""
    with atomic_path(path) as tmp:
        genes[list(TSS_COLUMNS)].to_csv(tmp, sep="\t", index=False)


def write_windows_bed(genes: pd.DataFrame, geometry: BinGeometry, path: str | Path) -> None:
    """Write the gene windows as BED6 (``chrom start end gene_id 0 strand``), atomically."""
    start, end = window_bounds(genes["tss"].to_numpy(), genes["strand"].to_numpy(), geometry)
    bed = pd.DataFrame(
        {
            "chrom": genes["chrom"],
            "start": start,
            "end": end,
            "name": genes["gene_id"],
            "score": 0,
            "strand": genes["strand"],
        }
    )
    with atomic_path(path) as tmp:
        bed.to_csv(tmp, sep="\t", index=False, header=False)


def _select_from_files(
    annotation: str | Path,
    chrom_sizes: str | Path,
    geometry: BinGeometry,
    *,
    annotation_format: str,
    gene_types: list[str] | None,
    expression: str | Path | None,
    expression_duplicates: str,
    min_tss_distance: int,
    unknown_strand: str,
    chromosomes: list[str] | None,
    split: dict[str, Any] | None,
) -> ReferenceResult:
    """:func:`select_reference` on the files: the annotation (its chromosome naming checked against the sizes), the
    sizes and the expression matrix's genes; a GTF's gene-type counts lead the step counts."""
    ann = read_annotation(annotation, annotation_format, gene_types)
    sizes = read_chrom_sizes(chrom_sizes)
    check_chrom_naming(ann, sizes, genes_path=annotation, sizes_path=chrom_sizes, chromosomes=chromosomes)
    expr_genes = None
    if expression is not None:
        expr_genes = read_expression(expression, cells=[], duplicates=expression_duplicates).index
    result = select_reference(
        ann,
        expr_genes,
        sizes,
        geometry,
        min_tss_distance=min_tss_distance,
        unknown_strand=unknown_strand,
        chromosomes=chromosomes,
        split=split,
    )
    if "gene_types_dropped" in ann.attrs:  # a GTF: the genes its gene_type filter left out, and the types kept
        result.counts = {
            "gene_type_dropped": ann.attrs["gene_types_dropped"],
            "gene_type_kept": ann.attrs["gene_types_kept"],
            **result.counts,
        }
    return result


def prepare_reference(
    annotation: str | Path,
    chrom_sizes: str | Path,
    out_tss: str | Path,
    out_windows: str | Path,
    out_splits: str | Path,
    *,
    annotation_format: str = "tss_table",
    expression: str | Path | None = None,
    expression_duplicates: str = "error",
    gene_types: list[str] | None = None,
    geometry: BinGeometry | None = None,
    min_tss_distance: int = MIN_TSS_DISTANCE,
    unknown_strand: str = "plus",
    chromosomes: list[str] | None = None,
    split: dict[str, Any] | None = None,
    out_summary: str | Path | None = None,
) -> dict[str, Any]:
    """Build ``tss.tsv``, ``windows.bed`` and ``splits.tsv`` of one gene set from an annotation and expression matrix
    (``chromexpr reference``): the genes :func:`select_reference` keeps, and their split.

    Every step's drop count goes to the log and, with ``out_summary``, to a JSON file.
    """
    geometry = geometry or BinGeometry()
    result = _select_from_files(
        annotation,
        chrom_sizes,
        geometry,
        annotation_format=annotation_format,
        gene_types=gene_types,
        expression=expression,
        expression_duplicates=expression_duplicates,
        unknown_strand=unknown_strand,
        chromosomes=chromosomes,
        min_tss_distance=min_tss_distance,
        split=split,
    )
    for key, value in result.counts.items():
        log.info("reference %s: %s", key, value)
    write_tss(result.genes, out_tss)
    write_windows_bed(result.genes, geometry, out_windows)
    write_splits(result.splits, out_splits)
    summary = {
        "counts": result.counts,
        "geometry": geometry.as_dict(),
        "min_tss_distance": min_tss_distance,
        "unknown_strand": unknown_strand,
    }
    if out_summary is not None:
        write_json(out_summary, summary)
    return summary


def prepare_binned_genes(
    annotation: str | Path,
    chrom_sizes: str | Path,
    out_tss: str | Path,
    out_windows: str | Path,
    *,
    annotation_format: str = "tss_table",
    expression: str | Path | None = None,
    expression_duplicates: str = "error",
    gene_types: list[str] | None = None,
    geometry: BinGeometry | None = None,
    unknown_strand: str = "plus",
    chromosomes: list[str] | None = None,
    out_summary: str | Path | None = None,
) -> dict[str, Any]:
    """The genes the workflow bins (``results/reference/tss.tsv``): every gene with expression on ``chromosomes``
    whose ``geometry`` window fits its chromosome, with no TSS filter, so that every gene set (each its own filter,
    chromosomes among these and split: :func:`prepare_gene_set`) is a subset, and editing or adding a gene set bins
    nothing again. Counts of each step (``select_reference``'s, no filter, no split) go to ``out_summary``."""
    geometry = geometry or BinGeometry()
    result = _select_from_files(
        annotation,
        chrom_sizes,
        geometry,
        annotation_format=annotation_format,
        gene_types=gene_types,
        expression=expression,
        expression_duplicates=expression_duplicates,
        unknown_strand=unknown_strand,
        chromosomes=chromosomes,
        min_tss_distance=0,
        split=None,
    )
    counts = {k: v for k, v in result.counts.items() if k != "split"}
    for key, value in counts.items():
        log.info("binned genes %s: %s", key, value)
    write_tss(result.genes, out_tss)
    write_windows_bed(result.genes, geometry, out_windows)
    summary = {"counts": counts, "geometry": geometry.as_dict(), "unknown_strand": unknown_strand}
    if out_summary is not None:
        write_json(out_summary, summary)
    return summary


def prepare_gene_set(
    annotation: str | Path,
    chrom_sizes: str | Path,
    binned_tss: str | Path,
    out_manifest: str | Path,
    *,
    name: str,
    annotation_format: str = "tss_table",
    expression: str | Path | None = None,
    expression_duplicates: str = "error",
    gene_types: list[str] | None = None,
    geometry: BinGeometry | None = None,
    min_tss_distance: int = MIN_TSS_DISTANCE,
    unknown_strand: str = "plus",
    chromosomes: list[str] | None = None,
    split: dict[str, Any] | None = None,
    out_summary: str | Path | None = None,
) -> dict[str, Any]:
    """One gene set's split manifest (``gene_id split``): the genes :func:`select_reference` keeps from the annotation
    with the set's TSS filter, chromosomes and split, exactly as ``prepare_reference`` would, all of them among the
    binned genes ``binned_tss`` (``prepare_binned_genes``). Errors name the set's config keys."""
    geometry = geometry or BinGeometry()
    try:
        result = _select_from_files(
            annotation,
            chrom_sizes,
            geometry,
            annotation_format=annotation_format,
            gene_types=gene_types,
            expression=expression,
            expression_duplicates=expression_duplicates,
            unknown_strand=unknown_strand,
            chromosomes=chromosomes,
            min_tss_distance=min_tss_distance,
            split=split,
        )
    except InputError as err:  # name the set's own key: gene_sets.<name>.split.method, not split.method
        if name == "default" or err.key is None or not err.key.startswith(("split", "reference.")):
            raise
        own = f"gene_sets.{name}.{err.key.removeprefix('reference.')}"
        raise InputError(err.message, path=err.path, line=err.line, key=own, hint=err.hint) from err
    binned = set(read_tss_table(binned_tss)["gene_id"].astype(str))
    outside = sorted(set(result.splits.index.astype(str)) - binned)
    if outside:
        raise InputError(
            f"gene set '{name}' keeps {len(outside)} gene(s) the binned genes lack (e.g. {outside[0]})",
            path=binned_tss,
            hint="rebuild the reference (its chromosomes are the union of every gene set's)",
        )
    for k, value in result.counts.items():
        log.info("gene set %s %s: %s", name, k, value)
    write_splits(result.splits, out_manifest)
    summary = {
        "name": name,
        "counts": result.counts,
        "min_tss_distance": min_tss_distance,
        "chromosomes": list(chromosomes or []),
        "split": dict(split or {}),
    }
    if out_summary is not None:
        write_json(out_summary, summary)
    return summary


__all__ = [
    "check_chrom_naming",
    "filter_tss",
    "inside_chromosome",
    "make_splits",
    "select_reference",
    "prepare_binned_genes",
    "prepare_gene_set",
    "prepare_reference",
    "read_tss_table",
    "write_tss",
    "write_windows_bed",
]

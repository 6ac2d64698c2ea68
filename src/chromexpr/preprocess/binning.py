"""Reads (or bigWig signal) per bin around each TSS: the genes x bins matrix of one cell and mark.

Counting semantics: a read counts in every bin it overlaps by at least 1 bp,
exactly what ``bedtools intersect -c -a bins.bed -b reads`` reports. Bins come from
:func:`~chromexpr.preprocess.geometry.bin_starts`, so columns are in transcription order.

Two engines give identical counts:

``native`` (default)
    numpy, streaming, memory bounded. A read ``[s, e)`` overlaps bin ``[a, b)`` iff ``s < b`` and
    ``e > a``, and since ``e > s``, reads with ``e <= a`` are a subset of those with ``s < b``, so::

        count([a, b)) = #(starts < b) - #(ends <= a)

    Both terms are additive over chunks of reads, so the file is streamed: each chunk's reads are
    first dropped when their span touches no window (a 1 kb-block coverage mask; most reads of a
    ChIP-seq file lie outside the 10 kb windows), the kept ones are buffered, and a buffer is
    folded in by sorting its starts and ends and locating every bin edge with ``searchsorted``.
    Chromosomes are laid end to end with a gap of 2**40 bases, so one sorted array serves all of
    them: a read on another chromosome is either before both edges of a bin (and counted in both
    terms, cancelling) or after both (in neither).

``bedtools``
    The reference: writes the bins as BED and runs ``bedtools intersect -c`` through pybedtools.
    When the reads spell chromosomes the other way (``1`` vs ``chr1``) or are a BAM with secondary
    alignments (which bedtools would count, and the native engine does not), it is given a renamed
    or filtered BED copy of the reads.

Both engines validate the reads the same way and return the same statistics.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path
from chromexpr.io.bigwig import BigWig
from chromexpr.io.reads import (
    DEFAULT_CHUNK_READS,
    Parser,
    ReadChunk,
    iter_read_chunks,
    normalize_chrom_names,
    uses_strict_parser,
)
from chromexpr.preprocess.geometry import BinGeometry, bin_starts, window_bounds
from chromexpr.progress import progress_bar

Engine = Literal["native", "bedtools"]
BigWigStat = Literal["mean", "sum", "max"]
#: What to do with genes on chromosomes a bigWig does not list: refuse, or keep them as zeros.
MissingChromosomes = Literal["error", "warn"]
MISSING_CHROMOSOMES: tuple[str, ...] = ("error", "warn")

log = logging.getLogger("chromexpr.binning")

TSS_COLUMNS = ("gene_id", "chrom", "tss", "strand")

# Chromosome c occupies global coordinates [c * 2**40, (c + 1) * 2**40): far beyond any genome, and
# 24 chromosomes still fit in int64 many thousand times over.
_CHROM_SHIFT = 1 << 40
# Reads are screened against windows in blocks of 2**10 bases: 3M blocks for a human genome (12 MB).
_BLOCK_BITS = 12
#: Characters that make pandas quote a field of a tab-separated file.
_NEEDS_QUOTES = re.compile(r'[\t"\n\r]')
# Kept reads buffered before they are sorted and folded in: 8M reads = 128 MB of int64 pairs.
_BUFFER_READS = 8_000_000


# ----------------------------------------------------------------------------------------------
# Genes
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Genes:
    """The TSS table turned into arrays, with every window checked."""

    gene_ids: np.ndarray  # (G,) object
    chroms: list[str]  # distinct chromosomes of the table, in order of first appearance
    chrom_index: np.ndarray  # (G,) int64 index into chroms
    window_start: np.ndarray  # (G,) int64
    window_end: np.ndarray  # (G,) int64
    bin_start: np.ndarray  # (G, n_bins) int64, genomic start of each bin, transcription order
    genomic_col: np.ndarray  # (G, n_bins) int64, genomic bin index of each transcription column


def _where(tss: pd.DataFrame, row: int | None = None) -> dict:
    """``path`` and ``line`` of a TSS table row for an InputError, as far as the table knows them.

    :func:`chromexpr.io.tables.read_tss_table` records its file in ``attrs["path"]`` and each
    gene's line in the ``_line`` column.
    """
    where: dict = {"path": tss.attrs.get("path")}
    if row is not None and "_line" in tss.columns:
        where["line"] = int(tss["_line"].iloc[row])
    return where


def _prepare_genes(tss: pd.DataFrame, geometry: BinGeometry) -> _Genes:
    """Validate the TSS table and compute windows and bins; windows are checked against 0 here."""
    missing = [c for c in TSS_COLUMNS if c not in tss.columns]
    if missing:
        raise InputError(
            f"the TSS table lacks column(s) {missing}; it has {list(tss.columns)}",
            hint=f"pass the table written by the reference step (columns {', '.join(TSS_COLUMNS)})",
            **_where(tss),
        )
    if len(tss) == 0:
        raise InputError("the TSS table has no genes", hint="check the reference step's filters", **_where(tss))
    position = pd.to_numeric(tss["tss"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(position) | (position % 1 != 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"TSS of gene {tss['gene_id'].iloc[row]!r} (row {row}) is not an integer: {tss['tss'].iloc[row]!r}",
            hint="TSS positions are 0-based integers",
            **_where(tss, row),
        )
    tss_pos = position.astype(np.int64)
    strand = tss["strand"].astype(str).to_numpy()
    # factorize keeps the table's order of chromosomes, nicer in stats and messages than sorted.
    chrom_index, chroms = pd.factorize(tss["chrom"].astype(str))
    start, end = window_bounds(tss_pos, strand, geometry)
    starts = bin_starts(tss_pos, strand, geometry)
    genes = _Genes(
        gene_ids=tss["gene_id"].astype(str).to_numpy(dtype=object),
        chroms=[str(c) for c in chroms],
        chrom_index=np.asarray(chrom_index, dtype=np.int64),
        window_start=start,
        window_end=end,
        bin_start=starts,
        genomic_col=(starts - start[:, None]) // geometry.bin_bp,
    )
    _check_windows(tss, genes, None, "")
    return genes


def _check_windows(tss: pd.DataFrame, genes: _Genes, sizes: Mapping[str, int] | None, source: str) -> None:
    """Refuse windows that start before 0 or, where ``sizes`` knows the chromosome, end past it."""
    size_of = np.array([sizes.get(c, -1) if sizes is not None else -1 for c in genes.chroms], dtype=np.int64)[
        genes.chrom_index
    ]
    size_of[size_of < 0] = np.iinfo(np.int64).max
    outside = (genes.window_start < 0) | (genes.window_end > size_of)
    if not outside.any():
        return
    rows = np.flatnonzero(outside)
    g = int(rows[0])
    limit = "position 0" if genes.window_start[g] < 0 else f"chromosome size {int(size_of[g]):,}{source}"
    raise InputError(
        f"{len(rows)} gene(s) have a window that leaves the chromosome, first "
        f"{genes.gene_ids[g]!r} (row {g}) on {genes.chroms[genes.chrom_index[g]]} with TSS "
        f"{tss['tss'].iloc[g]} ({tss['strand'].iloc[g]}): window "
        f"[{genes.window_start[g]}, {genes.window_end[g]}) vs {limit}",
        hint="the reference step drops genes whose window leaves the chromosome; bin its TSS "
        "table (results/reference/tss.tsv) rather than the raw annotation",
        **_where(tss, g),
    )


def _table_sizes(chrom_sizes: Mapping[str, int], genes: _Genes) -> dict[str, int]:
    """Chromosome sizes keyed by the TSS table's spelling (other names kept as they are)."""
    rename = normalize_chrom_names(chrom_sizes, genes.chroms)
    sizes = {rename[name]: int(size) for name, size in chrom_sizes.items()}
    lacking = [c for c in genes.chroms if c not in sizes]
    if lacking:
        raise InputError(
            f"the chromosome sizes lack {lacking[:5]} (chromosomes of the TSS table)",
            hint="use the chrom.sizes file of the same assembly as the gene annotation",
        )
    return sizes


# ----------------------------------------------------------------------------------------------
# Reading with validation and statistics (shared by both engines)
# ----------------------------------------------------------------------------------------------


def _new_stats(engine: str, genes: _Genes, geometry: BinGeometry) -> dict:
    return {
        "engine": engine,
        "genes": int(len(genes.gene_ids)),
        "bins": geometry.n_bins,
        "reads_total": 0,
        "reads_on_tss_chroms": 0,
        "reads_off_tss_chroms": 0,
        "reads_per_chrom": {},  # as spelled in the reads file
        "last_read_end_per_chrom": {},  # where each chromosome's reads stop (a window past it has no data)
        "reads_off_tss_chroms_by_chrom": {},  # counted, reported, not binned
        "chrom_renamed": {},  # reads spelling -> TSS table spelling, where they differ
        "alignments_skipped": {},  # BAM records that are not reads (unmapped, secondary, ...)
    }


def _scan_reads(
    reads_path: Path,
    genes: _Genes,
    chrom_sizes: Mapping[str, int] | None,
    chunk_reads: int,
    stats: dict,
    parser: Parser = "auto",
) -> Iterator[tuple[ReadChunk, np.ndarray]]:
    """Yield each chunk with the TSS-chromosome index of each read (-1: not in the table).

    Fills ``stats`` on the way, checks reads against the chromosome sizes, and after the last chunk
    refuses a file without a single read on the table's chromosomes.
    """
    table_index = {name: i for i, name in enumerate(genes.chroms)}
    no_size = np.iinfo(np.int64).max
    known: dict[str, tuple[int, int, str]] = {}  # reads name -> (table index, size, table name)

    bar = progress_bar(desc=reads_path.name, unit=" reads", unit_scale=True)  # shown on a terminal only
    for chunk in iter_read_chunks(reads_path, chunk_reads, parser=parser):
        bar.update(len(chunk))
        for reason, n in chunk.skipped.items():
            stats["alignments_skipped"][reason] = stats["alignments_skipped"].get(reason, 0) + n
        if len(chunk) == 0:
            continue
        names = [str(n) for n in chunk.chroms]
        new = [n for n in names if n not in known]
        if new:
            for name, target in normalize_chrom_names(new, genes.chroms).items():
                size = no_size
                if chrom_sizes is not None:  # keyed by the table's spelling (see _table_sizes)
                    size = int(chrom_sizes.get(target, no_size))
                known[name] = (table_index.get(target, -1), size, target)
        lut_table = np.array([known[n][0] for n in names], dtype=np.int32)

        per_code = np.bincount(chunk.codes, minlength=len(names))
        last_end = np.zeros(len(names), dtype=np.int64)
        np.maximum.at(last_end, chunk.codes, chunk.ends)
        for code in np.flatnonzero(per_code):
            name, n = names[code], int(per_code[code])
            stats["reads_per_chrom"][name] = stats["reads_per_chrom"].get(name, 0) + n
            ends = stats["last_read_end_per_chrom"]
            ends[name] = max(ends.get(name, 0), int(last_end[code]))
            table, _, target = known[name]
            if table < 0:
                off = stats["reads_off_tss_chroms_by_chrom"]
                off[name] = off.get(name, 0) + n
                stats["reads_off_tss_chroms"] += n
            else:
                stats["reads_on_tss_chroms"] += n
                if target != name:
                    stats["chrom_renamed"][name] = target
        stats["reads_total"] += len(chunk)

        if chrom_sizes is not None:
            lut_size = np.array([known[n][1] for n in names], dtype=np.int64)
            beyond = chunk.ends > lut_size[chunk.codes]
            if beyond.any():
                i = int(np.argmax(beyond))
                name = names[chunk.codes[i]]
                raise InputError(
                    f"read {name}:{chunk.starts[i]}-{chunk.ends[i]} ends beyond the end of "
                    f"{known[name][2]} ({known[name][1]:,} bp in the chromosome sizes)",
                    path=reads_path,
                    line=chunk.line_of(i),
                    hint="wrong assembly? the reads seem aligned to another genome build than the "
                    "gene annotation (e.g. hg38 reads with hg19 genes); use files of one assembly",
                )
        yield chunk, lut_table[chunk.codes]
    bar.close()

    if stats["reads_on_tss_chroms"] == 0:
        seen = list(stats["reads_per_chrom"])
        raise InputError(
            f"no read lies on a chromosome of the TSS table: the reads name {seen[:6]}, "
            f"the genes are on {genes.chroms[:6]}",
            path=reads_path,
            hint="check that this is the right file for this cell and mark, and that reads and "
            "annotation come from the same organism and assembly",
        )


# ----------------------------------------------------------------------------------------------
# Native engine
# ----------------------------------------------------------------------------------------------


class _EdgeCounter:
    """Accumulates ``#(starts < edge)`` and ``#(ends <= edge)`` for every bin edge of every gene."""

    def __init__(self, genes: _Genes, geometry: BinGeometry, buffer_reads: int | None = None) -> None:
        n, width = geometry.n_bins, geometry.bin_bp
        offset = genes.chrom_index * _CHROM_SHIFT
        # Genomic-order edges of every gene: (G, n + 1); bin j of gene g is [edge[g, j], edge[g, j+1]).
        edges = (offset + genes.window_start)[:, None] + width * np.arange(n + 1, dtype=np.int64)
        flat = edges.ravel()
        self._order = np.argsort(flat)
        self._edges = flat[self._order]  # sorted: locating sorted edges in sorted reads is cache friendly
        self._shape = edges.shape
        self._below_start = np.zeros(flat.size, dtype=np.int64)  # #(starts < edge)
        self._upto_end = np.zeros(flat.size, dtype=np.int64)  # #(ends <= edge)
        self._genes = genes
        self._buffer: list[tuple[np.ndarray, np.ndarray]] = []
        self._buffered = 0
        self._buffer_reads = _BUFFER_READS if buffer_reads is None else buffer_reads
        self.reads_kept = 0
        self._build_screen()

    def _build_screen(self) -> None:
        """Prefix sums of a per-block 'some window touches this block' mask, chromosomes end to end.

        Each chromosome gets the blocks up to its last window plus one empty sentinel block, where
        reads further along the chromosome land.
        """
        g = self._genes
        n_chroms = len(g.chroms)
        last_end = np.zeros(n_chroms, dtype=np.int64)
        np.maximum.at(last_end, g.chrom_index, g.window_end)
        self._n_blocks = ((last_end - 1) >> _BLOCK_BITS) + 1
        self._base = np.concatenate([[0], np.cumsum(self._n_blocks + 1)[:-1]]).astype(np.int64)
        total = int(self._base[-1] + self._n_blocks[-1] + 1)
        first = self._base[g.chrom_index] + (g.window_start >> _BLOCK_BITS)
        last = self._base[g.chrom_index] + ((g.window_end - 1) >> _BLOCK_BITS)
        diff = np.zeros(total + 1, dtype=np.int64)
        np.add.at(diff, first, 1)
        np.add.at(diff, last + 1, -1)
        touched = np.cumsum(diff[:-1]) > 0
        self._touched_cum = np.concatenate([[0], np.cumsum(touched)]).astype(np.int32)

    def add(self, table_index: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        """Add reads (TSS-chromosome index, start, end); reads off the table have index -1."""
        if table_index.size and table_index.min() < 0:
            on = table_index >= 0
            table_index, starts, ends = table_index[on], starts[on], ends[on]
        if table_index.size == 0:
            return
        n_blocks = self._n_blocks[table_index]
        base = self._base[table_index]
        first = base + np.minimum(starts >> _BLOCK_BITS, n_blocks)
        last = base + np.minimum((ends - 1) >> _BLOCK_BITS, n_blocks)
        keep = self._touched_cum[last + 1] > self._touched_cum[first]
        if not keep.any():
            return
        offset = table_index[keep].astype(np.int64) * _CHROM_SHIFT
        kept_starts = offset + starts[keep]
        kept_ends = ends[keep]
        if kept_ends.max() >= _CHROM_SHIFT:
            # Absurdly long reads: clamping keeps them past every edge of their chromosome.
            kept_ends = np.minimum(kept_ends, _CHROM_SHIFT - 1)
        self._keep(kept_starts, offset + kept_ends)

    def _keep(self, kept_starts: np.ndarray, kept_ends: np.ndarray) -> None:
        """Buffer screened reads in global coordinates; fold the buffer in when it is full."""
        self._buffer.append((kept_starts, kept_ends))
        self._buffered += kept_starts.size
        self.reads_kept += kept_starts.size
        if self._buffered >= self._buffer_reads:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        starts = np.sort(np.concatenate([b[0] for b in self._buffer]))
        ends = np.sort(np.concatenate([b[1] for b in self._buffer]))
        self._buffer, self._buffered = [], 0
        self._below_start += np.searchsorted(starts, self._edges, side="left")
        self._upto_end += np.searchsorted(ends, self._edges, side="right")

    def counts(self) -> np.ndarray:
        """``(G, n_bins) int32`` counts, columns in transcription order."""
        self._flush()
        below_start = np.empty_like(self._below_start)
        below_start[self._order] = self._below_start
        upto_end = np.empty_like(self._upto_end)
        upto_end[self._order] = self._upto_end
        below_start = below_start.reshape(self._shape)
        upto_end = upto_end.reshape(self._shape)
        genomic = below_start[:, 1:] - upto_end[:, :-1]  # bin j = [edge j, edge j+1)
        ordered = np.take_along_axis(genomic, self._genes.genomic_col, axis=1)
        return ordered.astype(np.int32)


class _BlockCounter:
    """The compiled counterpart of :class:`_EdgeCounter` (same counts, same screen): each read is
    counted straight into the bins of the windows on its blocks by :func:`chromexpr.kernels.count_reads`,
    with no buffer and no sort. Faster (2.5x on 20M reads) because a read touches a few small tables.
    """

    def __init__(self, genes: _Genes, geometry: BinGeometry) -> None:
        from chromexpr.kernels import BLOCK_BITS, count_reads  # numba: imported on first use

        assert BLOCK_BITS == _BLOCK_BITS
        self._kernel = count_reads
        self._genes = genes
        self._bin_bp = geometry.bin_bp
        n_chroms = len(genes.chroms)
        last_end = np.zeros(n_chroms, dtype=np.int64)
        np.maximum.at(last_end, genes.chrom_index, genes.window_end)
        # Blocks of each chromosome up to its last window, plus an empty sentinel (as _EdgeCounter).
        self._n_blocks = ((last_end - 1) >> _BLOCK_BITS) + 1
        self._base = np.concatenate([[0], np.cumsum(self._n_blocks + 1)[:-1]]).astype(np.int64)
        total = int(self._base[-1] + self._n_blocks[-1] + 1)
        first = self._base[genes.chrom_index] + (genes.window_start >> _BLOCK_BITS)  # (G,)
        last = self._base[genes.chrom_index] + ((genes.window_end - 1) >> _BLOCK_BITS)  # (G,)
        span = last - first + 1
        gene = np.repeat(np.arange(len(first), dtype=np.int32), span)  # (sum span,) gene of each entry
        block = np.repeat(first, span) + (np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span))
        order = np.argsort(block, kind="stable")
        self._block_genes = gene[order]  # genes touching each block, block by block
        self._block_ptr = np.concatenate([[0], np.cumsum(np.bincount(block, minlength=total))]).astype(np.int32)
        self._gene_first_block = first
        self._counts = np.zeros((len(first), geometry.n_bins), dtype=np.int32)  # (G, n_bins) genomic order
        self.reads_kept = 0

    def add(self, table_index: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        """Count reads (TSS-chromosome index, start, end); reads off the table have index -1."""
        g = self._genes
        self.reads_kept += self._kernel(
            table_index,
            starts,
            ends,
            self._n_blocks,
            self._base,
            self._block_ptr,
            self._block_genes,
            self._gene_first_block,
            g.window_start,
            g.window_end,
            self._bin_bp,
            self._counts,
        )

    def counts(self) -> np.ndarray:
        """``(G, n_bins) int32`` counts, columns in transcription order."""
        return np.take_along_axis(self._counts, self._genes.genomic_col, axis=1).astype(np.int32)


def _bin_native(
    reads_path: Path,
    genes: _Genes,
    geometry: BinGeometry,
    chrom_sizes: Mapping[str, int] | None,
    chunk_reads: int,
    stats: dict,
    parser: Parser = "auto",
) -> np.ndarray:
    compiled = uses_strict_parser(reads_path, parser)  # numba is loaded for the parser anyway
    counter = _BlockCounter(genes, geometry) if compiled else _EdgeCounter(genes, geometry)
    for chunk, table_index in _scan_reads(reads_path, genes, chrom_sizes, chunk_reads, stats, parser):
        counter.add(table_index, chunk.starts, chunk.ends)
    stats["reads_near_windows"] = counter.reads_kept
    return counter.counts()


# ----------------------------------------------------------------------------------------------
# bedtools engine (reference)
# ----------------------------------------------------------------------------------------------


def _write_tsv_noquote(table: object, path: Path, append: bool = False) -> None:
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    if append:
        with open(path, "ab") as fh:
            pacsv.write_csv(table, fh, write_options=options)
    else:
        pacsv.write_csv(table, str(path), write_options=options)


def _write_bins_bed(genes: _Genes, geometry: BinGeometry, path: Path) -> None:
    """One BED line per bin, named by its flat index ``gene * n_bins + column`` (transcription order)."""
    import pyarrow as pa

    n = geometry.n_bins
    starts = genes.bin_start.ravel()
    chrom = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(genes.chrom_index, n).astype(np.int32)), pa.array(genes.chroms)
    )
    table = pa.table(
        {
            "chrom": chrom.cast(pa.string()),
            "start": starts,
            "end": starts + geometry.bin_bp,
            "name": np.arange(starts.size, dtype=np.int64),
        }
    )
    _write_tsv_noquote(table, path)


def _write_reads_bed(reads_path: Path, rename: Mapping[str, str], path: Path, chunk_reads: int) -> None:
    """A BED3 copy of the reads as chromexpr reads them, chromosomes renamed to the table's spelling."""
    import pyarrow as pa

    path.write_bytes(b"")
    for chunk in iter_read_chunks(reads_path, chunk_reads):
        if len(chunk) == 0:
            continue
        names = pa.array([rename.get(str(n), str(n)) for n in chunk.chroms])
        chrom = pa.DictionaryArray.from_arrays(pa.array(chunk.codes), names).cast(pa.string())
        _write_tsv_noquote(pa.table({"c": chrom, "s": chunk.starts, "e": chunk.ends}), path, append=True)


def _bin_bedtools(
    reads_path: Path,
    genes: _Genes,
    geometry: BinGeometry,
    chrom_sizes: Mapping[str, int] | None,
    chunk_reads: int,
    stats: dict,
    parser: Parser = "auto",
) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pybedtools

    # Same validation and statistics as the native engine; bedtools' own messages are cryptic.
    for _ in _scan_reads(reads_path, genes, chrom_sizes, chunk_reads, stats, parser):
        pass
    skipped = stats["alignments_skipped"]
    needs_copy = bool(stats["chrom_renamed"]) or skipped.get("secondary", 0) or skipped.get("no_cigar", 0)

    n = geometry.n_bins
    counts = np.zeros(len(genes.gene_ids) * n, dtype=np.int64)
    with tempfile.TemporaryDirectory(prefix="chromexpr-bedtools-") as tmp:
        tmpdir = Path(tmp)
        bins = tmpdir / "bins.bed"
        _write_bins_bed(genes, geometry, bins)
        reads_for_bedtools = reads_path
        if needs_copy:
            reads_for_bedtools = tmpdir / "reads.bed"
            _write_reads_bed(reads_path, stats["chrom_renamed"], reads_for_bedtools, chunk_reads)
        out = tmpdir / "counts.bed"
        pybedtools.BedTool(str(bins)).intersect(b=str(reads_for_bedtools), c=True, output=str(out))
        table = pacsv.read_csv(
            out,
            read_options=pacsv.ReadOptions(column_names=["chrom", "start", "end", "name", "count"]),
            parse_options=pacsv.ParseOptions(delimiter="\t"),
            convert_options=pacsv.ConvertOptions(
                include_columns=["name", "count"], column_types={"name": pa.int64(), "count": pa.int64()}
            ),
        )
    counts[table.column("name").to_numpy()] = table.column("count").to_numpy()
    return counts.reshape(len(genes.gene_ids), n).astype(np.int32)


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


def bin_reads(
    reads_path: str | Path,
    tss: pd.DataFrame,
    geometry: BinGeometry,
    *,
    engine: Engine = "native",
    chrom_sizes: Mapping[str, int] | None = None,
    chunk_reads: int = DEFAULT_CHUNK_READS,
    parser: Parser = "auto",
) -> tuple[np.ndarray, dict]:
    """Count reads per bin around each TSS.

    Args:
        reads_path: tagAlign/BED (plain or gzip) or BAM; see :func:`chromexpr.io.reads.iter_read_chunks`.
            Chromosome names may use the other convention than the TSS table (``1`` vs ``chr1``).
        tss: one row per gene with columns ``gene_id``, ``chrom``, ``tss`` (0-based) and ``strand``
            (``+``/``-``), e.g. the reference step's ``tss.tsv``.
        geometry: window and bin sizes.
        engine: ``"native"`` (numpy, fast, bounded memory) or ``"bedtools"`` (the reference,
            ``bedtools intersect -c``); both return identical counts.
        chrom_sizes: chromosome sizes of the assembly (TSS-table spelling). When given, windows
            must end inside their chromosome and reads must not run past a chromosome's end.
        chunk_reads: reads per streamed chunk (memory vs. per-chunk overhead).
        parser: text parser (:func:`chromexpr.io.reads.iter_read_chunks`); with the strict one
            (``auto`` picks it for large files) the native engine also screens reads with a
            compiled kernel. Counts are the same with every parser.

    Returns:
        ``(counts, stats)``: ``counts`` is ``(len(tss), geometry.n_bins) int32``, row ``i`` for
        ``tss`` row ``i``, columns in transcription order (column ``geometry.tss_bin`` starts at
        the TSS). A read counts in every bin it overlaps by at least 1 bp. ``stats`` holds
        ``reads_total``, ``reads_on_tss_chroms``, ``reads_off_tss_chroms`` (and by chromosome:
        counted and reported, not binned), ``reads_per_chrom``, ``last_read_end_per_chrom`` (the
        largest read end on each chromosome), ``chrom_renamed``,
        ``alignments_skipped`` (BAM), ``engine``, ``genes``, ``bins`` and ``seconds``; the native
        engine adds ``reads_near_windows`` (reads that passed the window screen).

    Raises:
        InputError: a window leaves its chromosome (the reference step drops such genes), a read
            is malformed or runs past its chromosome's end (with file and line), or no read lies on
            any chromosome of the TSS table.
    """
    started = time.perf_counter()
    reads_path = Path(reads_path)
    genes = _prepare_genes(tss, geometry)
    if chrom_sizes is not None:
        chrom_sizes = _table_sizes(chrom_sizes, genes)
        _check_windows(tss, genes, chrom_sizes, " (chrom_sizes)")
    stats = _new_stats(engine, genes, geometry)
    if engine == "native":
        counts = _bin_native(reads_path, genes, geometry, chrom_sizes, chunk_reads, stats, parser)
    elif engine == "bedtools":
        counts = _bin_bedtools(reads_path, genes, geometry, chrom_sizes, chunk_reads, stats, parser)
    else:
        raise InputError(f"unknown binning engine {engine!r}", key="binning.engine", hint="use native or bedtools")
    stats["seconds"] = round(time.perf_counter() - started, 3)
    return counts, stats


def check_missing_chromosomes(value: object, *, key: str = "binning.missing_chromosomes") -> None:
    """Refuse a ``missing_chromosomes`` setting other than ``error`` or ``warn``, naming ``key``."""
    if value not in MISSING_CHROMOSOMES:
        raise InputError(
            f"unknown value {value!r} for genes on chromosomes a bigWig lacks",
            key=key,
            hint="use error (refuse such a bigWig) or warn (keep those genes as zeros)",
        )


def _missing_chromosomes_text(missing: Mapping[str, int], bigwig_chroms: list[str], n_genes: int) -> str:
    names = list(missing)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    listed = ", ".join(bigwig_chroms[:5])
    if len(bigwig_chroms) > 5:
        listed += f", ... ({len(bigwig_chroms)} in all)"
    genes = sum(missing.values())
    return (
        f"the bigWig lacks {len(names)} chromosome(s) of the TSS table ({shown}): {genes:,} of "
        f"{n_genes:,} genes lie on them and would be all zeros (the bigWig lists {listed})"
    )


def bin_bigwig(
    path: str | Path,
    tss: pd.DataFrame,
    geometry: BinGeometry,
    stat: BigWigStat = "mean",
    *,
    missing_chromosomes: MissingChromosomes = "error",
) -> tuple[np.ndarray, dict]:
    """Summarise a bigWig track per bin around each TSS.

    Bases without data (gaps between the bigWig's intervals, or a chromosome it does not list)
    count as 0. So ``mean`` is the bin's sum over its ``bin_bp`` bases divided by ``bin_bp`` (not
    the mean over covered bases only, which would inflate sparsely covered bins), ``sum`` is the
    sum, and ``max`` is the largest value with uncovered bases as 0 (a bin of only negative
    values next to a gap has max 0).

    Chromosome names may use the other convention than the TSS table (``17`` vs ``chr17``), as
    for reads (:func:`chromexpr.io.reads.normalize_chrom_names`); an exact match is preferred.

    Args:
        path: local bigWig file.
        tss: TSS table as for :func:`bin_reads`.
        geometry: window and bin sizes.
        stat: ``"mean"``, ``"sum"`` or ``"max"``.
        missing_chromosomes: genes on chromosomes the bigWig does not list: ``"error"`` (the
            default) refuses the file, ``"warn"`` logs a warning and leaves their rows 0.

    Returns:
        ``(values, stats)``: ``(len(tss), n_bins) float32``, columns in transcription order;
        ``stats["missing_chromosomes"]`` is ``{"names": [...], "genes": n}`` for the chromosomes
        of the TSS table the bigWig lacks (their genes' rows are 0) and
        ``stats["genes_on_chroms_missing_from_bigwig"]`` the genes per such chromosome.

    Raises:
        InputError: not a readable bigWig, a window leaves its chromosome, no gene lies on a
            chromosome of the bigWig, or (with ``missing_chromosomes="error"``) some genes do not.
    """
    if stat not in ("mean", "sum", "max"):
        raise InputError(f"unknown bigWig statistic {stat!r}", key="binning.stat", hint="use mean, sum or max")
    check_missing_chromosomes(missing_chromosomes)
    started = time.perf_counter()
    path = Path(path)
    genes = _prepare_genes(tss, geometry)
    n, width = geometry.n_bins, geometry.bin_bp
    with BigWig(path) as bw:
        to_table = normalize_chrom_names(bw.chrom_sizes, genes.chroms)
        to_bigwig: dict[str, str] = {}
        for name, target in to_table.items():  # a name spelled as in the table wins over a renamed one
            if target not in to_bigwig or name == target:
                to_bigwig[target] = name
        sizes = {c: bw.chrom_sizes[to_bigwig[c]] for c in genes.chroms if c in to_bigwig}
        present = np.array([c in sizes for c in genes.chroms])[genes.chrom_index]
        if not present.any():
            raise InputError(
                f"no gene lies on a chromosome of the bigWig: it lists {list(bw.chrom_sizes)[:6]}, "
                f"the genes are on {genes.chroms[:6]}",
                path=path,
                hint="check that the bigWig and the annotation use the same organism and assembly",
            )
        missing: dict[str, int] = {}
        for g in np.flatnonzero(~present):
            chrom = genes.chroms[genes.chrom_index[g]]
            missing[chrom] = missing.get(chrom, 0) + 1
        if missing:
            text = _missing_chromosomes_text(missing, list(bw.chrom_sizes), len(genes.gene_ids))
            if missing_chromosomes == "error":
                raise InputError(
                    text,
                    path=path,
                    hint="check that the bigWig is of the same assembly as the annotation and names "
                    "chromosomes like the TSS table ('chr1' and '1' are matched; other aliases are "
                    "not); or keep those genes as zeros with the config key "
                    "binning.missing_chromosomes: warn (command line: --missing-chromosomes warn)",
                )
            log.warning("%s: %s; kept as zeros (missing_chromosomes: warn)", path, text)
        _check_windows(tss, genes, sizes, " (in the bigWig)")
        genomic = np.zeros((len(genes.gene_ids), n), dtype=np.float64)
        for g in progress_bar(np.flatnonzero(present), desc=path.name, unit=" genes"):  # on a terminal only
            chrom = to_bigwig[genes.chroms[genes.chrom_index[g]]]
            per_base = bw.values(chrom, genes.window_start[g], genes.window_end[g]).reshape(n, width)
            if stat == "max":
                genomic[g] = per_base.max(axis=1)
            else:
                genomic[g] = per_base.sum(axis=1)
    if stat == "mean":
        genomic /= width
    values = np.take_along_axis(genomic, genes.genomic_col, axis=1).astype(np.float32)
    stats = {
        "stat": stat,
        "genes": int(len(genes.gene_ids)),
        "bins": n,
        "missing_chromosomes": {"names": list(missing), "genes": int(sum(missing.values()))},
        "genes_on_chroms_missing_from_bigwig": missing,
        "chrom_renamed": {k: v for k, v in to_table.items() if k != v and v in sizes},
        "seconds": round(time.perf_counter() - started, 3),
    }
    return values, stats


def bin_columns(geometry: BinGeometry) -> list[str]:
    """Column names of a bins TSV: each bin's start in bp relative to the TSS.

    Offsets are in transcription order (``bin_-5000`` ... ``bin_4900`` for 5 kb windows of 100 bp
    bins; ``bin_0`` starts at the TSS); without strand orientation they are genomic offsets of ``+`` genes.
    """
    return [f"bin_{-geometry.window_bp + j * geometry.bin_bp}" for j in range(geometry.n_bins)]


def geometry_from_columns(names: list[str], *, orient_by_strand: bool = True) -> BinGeometry | None:
    """The geometry whose ``bin_columns`` are ``names`` (a bins TSV's header after ``gene_id``), or
    ``None`` when they are not TSS offsets of equal, centred bins (e.g. ``bin_0 ... bin_{n-1}``).
    The header does not say whether bins were strand-oriented: that is ``orient_by_strand``."""
    try:
        offsets = [int(name.removeprefix("bin_")) for name in names if name.startswith("bin_")]
    except ValueError:
        return None
    if len(offsets) != len(names) or len(offsets) < 2 or offsets[0] >= 0:
        return None
    bin_bp = offsets[1] - offsets[0]
    if bin_bp <= 0 or (-offsets[0]) % bin_bp or offsets != list(range(offsets[0], -offsets[0], bin_bp)):
        return None
    return BinGeometry(window_bp=-offsets[0], bin_bp=bin_bp, orient_by_strand=orient_by_strand)


def write_counts_tsv(
    counts: np.ndarray, gene_ids: np.ndarray | list[str], out: str | Path, geometry: BinGeometry | None = None
) -> Path:
    """Write a genes x bins matrix as TSV, atomically: header ``gene_id`` and one column per bin, named by
    its offset from the TSS (``bin_columns(geometry)``), or ``bin_0 ... bin_{n-1}`` without a geometry.

    Integer matrices are written as integers, float matrices with 6 significant digits. A ``.gz``
    name gives a gzip file.
    """
    counts = np.asarray(counts)
    gene_ids = np.asarray(gene_ids, dtype=object)
    if counts.ndim != 2 or counts.shape[0] != gene_ids.shape[0]:
        raise ValueError(f"counts {counts.shape} do not match {gene_ids.shape[0]} gene ids")
    if geometry is not None and geometry.n_bins != counts.shape[1]:
        raise ValueError(f"counts have {counts.shape[1]} bins, the geometry {geometry.n_bins}")
    names = bin_columns(geometry) if geometry is not None else [f"bin_{j}" for j in range(counts.shape[1])]
    out = Path(out)
    if _plain_ints(counts, gene_ids, out):
        # pyarrow writes the same bytes as pandas below for integers and ids that need no quotes, 3x faster
        import pyarrow as pa

        columns = {"gene_id": pa.array(gene_ids.tolist(), type=pa.string())}
        columns.update({name: counts[:, j] for j, name in enumerate(names)})
        with atomic_path(out) as tmp:
            Path(tmp).write_text("\t".join(["gene_id", *names]) + "\n")
            _write_tsv_noquote(pa.table(columns), Path(tmp), append=True)
        return out
    frame = pd.DataFrame(counts, columns=names)
    frame.insert(0, "gene_id", gene_ids)
    with atomic_path(out) as tmp:
        frame.to_csv(
            tmp,
            sep="\t",
            index=False,
            float_format=None if np.issubdtype(counts.dtype, np.integer) else "%.6g",
            lineterminator="\n",
        )
    return out


def _plain_ints(counts: np.ndarray, gene_ids: np.ndarray, out: Path) -> bool:
    """Whether :func:`write_counts_tsv` may take its pyarrow path: an integer matrix, an uncompressed
    file, and gene ids that are strings pandas would write unquoted (no tab, quote or line break)."""
    if not np.issubdtype(counts.dtype, np.integer) or out.suffix == ".gz" or counts.shape[1] == 0:
        return False
    return all(isinstance(g, str) and not _NEEDS_QUOTES.search(g) for g in gene_ids.tolist())

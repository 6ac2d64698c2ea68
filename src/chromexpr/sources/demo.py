"""The ``demo`` source: real genes and expression, ChIP-seq reads simulated from them.

The demo ships real REMC gene coordinates and real RPKM for a few cells and chromosomes
(``data/demo/``, see its README). This module turns them into genuine ``{cell}-{mark}.tagAlign.gz``
files, so that every later rule runs on the demo exactly as on downloaded REMC data.

Model. For each cell, every gene gets a latent *activity*

    z = SLOPE * (log2(rpkm + 0.1) - median over the cell's genes) + NOISE_SD * e,   p = sigmoid(z)

with ``e`` a standard normal drawn per (seed, cell, gene). The noise term is shared by all five marks
of that cell: it stands for everything real chromatin does that RNA-seq does not see (post-
transcriptional regulation, measurement noise), and it is what keeps expression learnable but not
trivially so. Marks are then placed from ``p`` as biology places them:

* H3K4me3: a sharp peak just downstream of active TSSs (the +1 nucleosome side);
* H3K36me3: over the bodies of active genes, downstream of the TSS, rising toward the 3' end
  (gene length log-uniform 2-60 kb, fixed per gene);
* H3K27me3: broad domains over silent polycomb targets (a fixed subset of genes), weak elsewhere;
* H3K4me1: enhancers 1-4 kb up- and downstream of moderately active genes;
* H3K9me3: heterochromatin domains along each chromosome, partly placed over silent genes of the cell,
  hence weakly anti-correlated with expression;
* every mark: uniform background over each chromosome.

"Downstream" follows the gene's strand; an unknown strand is treated as ``+``, the same default the
reference step uses (``reference.unknown_strand: plus``).

Determinism: every random draw comes from ``numpy.random.SeedSequence`` keyed by the seed and
``zlib.crc32`` of names (cell, mark, chromosome), or from a BLAKE2 hash of (seed, key, gene id) for
per-gene values, never from Python's salted ``hash()``. Per-gene properties therefore do not depend
on which other genes are simulated, and the same inputs give byte-identical reads.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from isal import igzip

from chromexpr.dataset import CANONICAL_MARKS
from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path

#: The cells whose real RPKM the demo tables carry.
DEMO_CELLS: tuple[str, ...] = ("E003", "E066", "E085", "E116", "E123")

# --- latent activity -------------------------------------------------------------------------------
PSEUDO_RPKM = 0.1  # keeps log2 finite for the many genes with RPKM 0
SLOPE = 1.0  # activity logit per log2 unit of expression above the cell's median
NOISE_SD = 3.2  # shared per-gene noise, in logit units; tuned so per-mark-mean LR AUROC is ~0.8

# --- per-mark rates at depth 1.0 (reads) -----------------------------------------------------------
# Background reads per Mb of chromosome: broad marks come with more diffuse signal, as in REMC.
BACKGROUND_PER_MB: dict[str, float] = {
    "H3K4me3": 150.0,
    "H3K36me3": 250.0,
    "H3K27me3": 300.0,
    "H3K4me1": 300.0,
    "H3K9me3": 350.0,
    "H3K27ac": 200.0,
}
#: the marks the demo simulates: the papers' five, and H3K27ac (active promoters and enhancers), a sixth mark for
#: trying a mark the paper cards do not take (train.input_marks)
SIMULATED_MARKS: tuple[str, ...] = (*CANONICAL_MARKS, "H3K27ac")
K27AC_PEAK_READS = 40.0  # reads around the TSS of a fully active gene (broader than H3K4me3's peak)
K27AC_SD_BP = 1_000.0
K27AC_ENHANCER_READS = 15.0  # per enhancer of a fully active gene (the H3K4me1 enhancers, acetylated when active)
K4ME3_PEAK_READS = 70.0  # reads in the promoter peak of a fully active gene
K4ME3_OFFSET_BP, K4ME3_SD_BP = 300.0, 600.0  # peak centre downstream of the TSS, and its spread
K36ME3_READS_PER_KB = 5.0  # over the body of a fully active gene
K36ME3_SHAPE = 1.7  # position density ~ (fraction of body)^(SHAPE-1): rises toward the 3' end
GENE_LENGTH_BP = (2_000.0, 60_000.0)  # log-uniform
K27ME3_TARGET_FRACTION = 0.3  # polycomb targets among genes
K27ME3_READS_PER_KB = 8.0  # inside the domain of a fully silent target
K27ME3_WEAK_READS_PER_KB = 0.5  # around silent non-targets
K27ME3_DOMAIN_BP = (5_000.0, 40_000.0)  # log-uniform width
K4ME1_ENHANCER_READS = 25.0  # per enhancer at the most favourable activity
K4ME1_ENHANCER_OFFSET_BP = (1_000.0, 4_000.0)
K4ME1_SD_BP = 400.0
K4ME1_BEST_LOGIT, K4ME1_WIDTH_LOGIT = 1.0, 1.5  # "moderately active": bell over the activity logit
K9ME3_READS_PER_KB = 3.0  # inside a heterochromatin domain
K9ME3_SHARED_DOMAIN_EVERY_BP = 1_500_000.0  # one shared domain per this many bases
K9ME3_SHARED_DOMAIN_BP = (20_000.0, 300_000.0)  # log-uniform
K9ME3_SILENT_FRACTION = 0.15  # share of the cell's silent genes that sit in a cell-specific domain
K9ME3_SILENT_DOMAIN_BP = (10_000.0, 100_000.0)
FRAGMENT_HALF_BP = (80, 120)  # reads sit one half-fragment 5' of the nucleosome they come from


# --- deterministic randomness ----------------------------------------------------------------------
def _rng(seed: int, *names: str) -> np.random.Generator:
    """A generator keyed by the seed and names, stable across Python processes and platforms."""
    keys = [int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF]
    keys += [zlib.crc32(name.encode()) for name in names]
    return np.random.default_rng(np.random.SeedSequence(keys))


def _gene_uniforms(gene_ids: Sequence[str], seed: int, key: str, n: int = 1) -> np.ndarray:
    """``(genes, n)`` uniforms in [0, 1) that depend only on (seed, key, gene id).

    Hashing each id (rather than drawing in table order) makes a gene's length, polycomb status or
    noise the same whichever subset of genes is simulated.
    """
    prefix = f"{int(seed)}|{key}|".encode()
    raw = b"".join(hashlib.blake2b(prefix + str(g).encode(), digest_size=8 * n).digest() for g in gene_ids)
    words = np.frombuffer(raw, dtype="<u8").reshape(len(gene_ids), n)
    return (words >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _gene_normals(gene_ids: Sequence[str], seed: int, key: str) -> np.ndarray:
    """One standard normal per gene via Box-Muller on two hashed uniforms."""
    u = _gene_uniforms(gene_ids, seed, key, n=2)
    return np.sqrt(-2.0 * np.log1p(-u[:, 0])) * np.cos(2.0 * np.pi * u[:, 1])


def _log_uniform(u: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    return np.exp(lo + (hi - lo) * u)


# --- inputs ----------------------------------------------------------------------------------------
def _strand_sign(strand: pd.Series) -> tuple[np.ndarray, int]:
    """+1 / -1 per gene (unknown -> +1, the reference step's default) and the number unknown."""
    s = strand.astype("string").fillna("").str.strip()
    bad = ~s.isin(["+", "-", "", "."])
    if bad.any():
        raise InputError(
            f"strand must be '+', '-' or empty (unknown), got {s[bad].iloc[0]!r} ({int(bad.sum())} genes)",
            hint="fix the gene table's strand column",
        )
    sign = np.where(s.to_numpy(dtype=str) == "-", -1, 1).astype(np.int64)
    return sign, int((~s.isin(["+", "-"])).sum())


def _check_genes(genes: pd.DataFrame, chrom_sizes: Mapping[str, int]) -> pd.DataFrame:
    missing = [c for c in ("gene_id", "chrom", "tss") if c not in genes.columns]
    if missing:
        raise InputError(
            f"gene table lacks column(s) {missing}",
            hint="expected columns gene_id, symbol, chrom, tss, strand (see data/demo/genes.tsv)",
        )
    out = pd.DataFrame(
        {
            "gene_id": genes["gene_id"].astype("string"),
            "chrom": genes["chrom"].astype("string"),
            "strand": genes["strand"] if "strand" in genes.columns else pd.Series("", index=genes.index),
        }
    )
    dup = out["gene_id"].duplicated()
    if dup.any():
        raise InputError(
            f"gene id {out['gene_id'][dup].iloc[0]} appears more than once ({int(dup.sum())} repeats)",
            hint="keep one row per gene in the gene table",
        )
    tss = pd.to_numeric(genes["tss"], errors="coerce")
    if tss.isna().any() or (tss % 1 != 0).any():
        raise InputError("tss must be whole numbers", hint="fix the gene table's tss column")
    out["tss"] = tss.astype("int64")
    unknown = ~out["chrom"].isin(list(chrom_sizes))
    if unknown.any():
        raise InputError(
            f"chromosome {out['chrom'][unknown].iloc[0]!r} of gene {out['gene_id'][unknown].iloc[0]} "
            "is not in the chromosome sizes",
            hint="use the same naming (chr1 vs 1) in the gene table and chrom.sizes",
        )
    size = out["chrom"].map({str(k): int(v) for k, v in chrom_sizes.items()}).astype("int64")
    outside = (out["tss"] < 0) | (out["tss"] >= size)
    if outside.any():
        raise InputError(
            f"TSS of gene {out['gene_id'][outside].iloc[0]} lies outside its chromosome",
            hint="check that the gene table and chrom.sizes are the same assembly (hg19)",
        )
    return out


def latent_activity(gene_ids: Sequence[str], expression: pd.Series, cell: str, seed: int = 0) -> np.ndarray:
    """Activity logit ``z`` per gene for one cell (NaN where the gene has no expression value).

    ``z = SLOPE * (log2(rpkm + 0.1) - median) + NOISE_SD * e`` with the median over the given genes
    and ``e`` a standard normal keyed by (seed, cell, gene id). All marks of a cell use this same
    ``z``, so a gene whose chromatin "disagrees" with its RNA does so consistently across marks.
    """
    gene_ids = [str(g) for g in gene_ids]
    expr = pd.to_numeric(expression, errors="coerce")
    expr.index = expr.index.astype(str)
    if expr.index.duplicated().any():
        raise InputError(f"expression for cell {cell} lists a gene id twice", hint="keep one row per gene")
    bad = expr.isna() & expression.notna() | (expr < 0) | np.isinf(expr)
    if bad.any():
        raise InputError(
            f"expression of cell {cell} for gene {expr.index[bad.to_numpy()][0]} is not a non-negative number",
            hint="expression values must be RPKM/counts >= 0",
        )
    values = expr.reindex(gene_ids).to_numpy(dtype=np.float64, na_value=np.nan)
    log_expr = np.log2(values + PSEUDO_RPKM)
    known = np.isfinite(log_expr)
    if not known.any():
        raise InputError(f"no expression value for any gene of cell {cell}", hint="check gene ids")
    centred = log_expr - np.median(log_expr[known])
    return SLOPE * centred + NOISE_SD * _gene_normals(gene_ids, seed, f"activity|{cell}")


# --- marks -----------------------------------------------------------------------------------------
def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _positions_near(
    rng: np.random.Generator, centre: np.ndarray, chrom: np.ndarray, mean_reads: np.ndarray, sd: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clouds of reads: Poisson(mean_reads[i]) reads around centre[i]."""
    n = rng.poisson(np.clip(mean_reads, 0.0, None))
    pos = np.repeat(centre, n) + rng.normal(0.0, sd, int(n.sum()))
    return np.repeat(chrom, n), pos


def _positions_in(
    rng: np.random.Generator, start: np.ndarray, length: np.ndarray, chrom: np.ndarray, mean_reads: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Reads uniform over intervals ``[start, start + length)``, Poisson(mean_reads[i]) each."""
    n = rng.poisson(np.clip(mean_reads, 0.0, None))
    pos = np.repeat(start, n) + np.repeat(length, n) * rng.random(int(n.sum()))
    return np.repeat(chrom, n), pos


def _gene_marks(
    mark: str,
    rng: np.random.Generator,
    genes: pd.DataFrame,
    chrom_idx: np.ndarray,
    sign: np.ndarray,
    z: np.ndarray,
    seed: int,
    cell: str,
    depth: float,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Gene-driven read centres of one mark, as a list of (chromosome index, position) arrays."""
    ids = genes["gene_id"].tolist()
    tss = genes["tss"].to_numpy(dtype=np.float64)
    p = _sigmoid(z)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    if mark == "H3K4me3":
        # Promoter strength varies by gene (CpG content) but not by cell.
        strength = np.exp(0.4 * _gene_normals(ids, seed, "k4me3_strength"))
        centre = tss + sign * K4ME3_OFFSET_BP
        parts.append(_positions_near(rng, centre, chrom_idx, depth * K4ME3_PEAK_READS * strength * p, K4ME3_SD_BP))
    elif mark == "H3K36me3":
        length = _log_uniform(_gene_uniforms(ids, seed, "gene_length")[:, 0], GENE_LENGTH_BP)
        n = rng.poisson(depth * K36ME3_READS_PER_KB * length / 1000.0 * p**1.5)
        # Fraction along the body with density ~ f^(SHAPE-1): low at the 5' end, high at the 3' end.
        frac = rng.random(int(n.sum())) ** (1.0 / K36ME3_SHAPE)
        pos = np.repeat(tss, n) + np.repeat(sign, n) * np.repeat(length, n) * frac
        parts.append((np.repeat(chrom_idx, n), pos))
    elif mark == "H3K27me3":
        u = _gene_uniforms(ids, seed, "polycomb", n=3)
        target = u[:, 0] < K27ME3_TARGET_FRACTION
        width = _log_uniform(u[:, 1], K27ME3_DOMAIN_BP)
        # Domains cover the TSS but are not centred on it: shift by up to a third of the width.
        start = tss - width / 2.0 + (u[:, 2] - 0.5) * width / 1.5
        silence = (1.0 - p) ** 2
        per_kb = np.where(target, K27ME3_READS_PER_KB, K27ME3_WEAK_READS_PER_KB)
        parts.append(_positions_in(rng, start, width, chrom_idx, depth * per_kb * width / 1000.0 * silence))
    elif mark == "H3K4me1":
        u = _gene_uniforms(ids, seed, "enhancers", n=2)
        bell = np.exp(-0.5 * ((z - K4ME1_BEST_LOGIT) / K4ME1_WIDTH_LOGIT) ** 2)
        bell = np.nan_to_num(bell, nan=0.0)
        for side, col in ((-1.0, 0), (1.0, 1)):  # one enhancer upstream, one downstream
            offset = (
                K4ME1_ENHANCER_OFFSET_BP[0] + (K4ME1_ENHANCER_OFFSET_BP[1] - K4ME1_ENHANCER_OFFSET_BP[0]) * u[:, col]
            )
            centre = tss + side * sign * offset
            parts.append(_positions_near(rng, centre, chrom_idx, depth * K4ME1_ENHANCER_READS * bell, K4ME1_SD_BP))
    elif mark == "H3K9me3":
        # Cell-specific heterochromatin over a random share of the cell's silent genes; the shared,
        # expression-blind domains are added per chromosome by the caller.
        cell_rng = _rng(seed, "k9me3_silent", cell)
        silent = np.nan_to_num(p, nan=1.0) < 0.2
        pick = silent & (cell_rng.random(len(ids)) < K9ME3_SILENT_FRACTION)
        width = _log_uniform(cell_rng.random(len(ids)), K9ME3_SILENT_DOMAIN_BP)
        start = tss - width * cell_rng.random(len(ids))
        mean = np.where(pick, depth * K9ME3_READS_PER_KB * width / 1000.0, 0.0)
        parts.append(_positions_in(rng, start, width, chrom_idx, mean))
    elif mark == "H3K27ac":
        # Active promoters (a peak over the TSS, growing faster than linearly with activity) and the gene's two
        # H3K4me1 enhancers, acetylated in proportion to activity.
        parts.append(_positions_near(rng, tss, chrom_idx, depth * K27AC_PEAK_READS * p**1.5, K27AC_SD_BP))
        u = _gene_uniforms(ids, seed, "enhancers", n=2)
        for side, col in ((-1.0, 0), (1.0, 1)):
            offset = (
                K4ME1_ENHANCER_OFFSET_BP[0] + (K4ME1_ENHANCER_OFFSET_BP[1] - K4ME1_ENHANCER_OFFSET_BP[0]) * u[:, col]
            )
            centre = tss + side * sign * offset
            parts.append(_positions_near(rng, centre, chrom_idx, depth * K27AC_ENHANCER_READS * p, K4ME1_SD_BP))
    else:  # pragma: no cover - guarded by the caller
        raise AssertionError(mark)
    return [(c, np.nan_to_num(pos, nan=0.0)) for c, pos in parts]


def _format_tagalign(
    chrom_names: Sequence[str], chrom_idx: np.ndarray, start: np.ndarray, end: np.ndarray, minus: np.ndarray
) -> bytes:
    """Six-column tagAlign text, built with numpy string ufuncs (no per-read Python code)."""
    text = np.dtypes.StringDType()
    names = np.asarray(list(chrom_names), dtype=text)
    lines = np.strings.add(names[chrom_idx], "\t")
    lines = np.strings.add(lines, start.astype(text))
    lines = np.strings.add(lines, "\t")
    lines = np.strings.add(lines, end.astype(text))
    lines = np.strings.add(lines, np.where(minus, "\tN\t1000\t-", "\tN\t1000\t+").astype(text))
    if lines.size == 0:
        return b""
    return ("\n".join(lines.tolist()) + "\n").encode("ascii")


def simulate_reads(
    genes: pd.DataFrame,
    expression: pd.Series,
    chrom_sizes: Mapping[str, int],
    cell: str,
    mark: str,
    out: str | Path,
    *,
    seed: int = 0,
    depth: float = 1.0,
    read_length: int = 36,
) -> dict:
    """Simulate one ``{cell}-{mark}.tagAlign.gz`` from real genes and expression.

    Args:
        genes: gene table with ``gene_id``, ``chrom``, ``tss`` (0-based) and ``strand``
            (``+``, ``-``, or empty / NaN / ``.`` for unknown, simulated as ``+``).
        expression: expression of this cell, indexed by gene id (RPKM or counts, >= 0). Genes
            without a value get background reads only and are counted in the stats.
        chrom_sizes: chromosome -> length; background covers each of these chromosomes.
        cell: cell id; keys the latent activity shared by all marks of the cell.
        mark: one of :data:`SIMULATED_MARKS` (the five core marks, and H3K27ac).
        out: output path (gzip, written atomically).
        seed: master seed; identical inputs and seed give byte-identical reads.
        depth: multiplies every read rate (1.0 gives ~150k-400k reads on the demo chromosomes).
        read_length: length of every read in bases.

    Returns:
        Stats: path, cell, mark, seed, depth, read_length, reads, signal_reads, background_reads,
        genes, genes_without_expression, unknown_strand.
    """
    if mark not in SIMULATED_MARKS:
        raise InputError(
            f"cannot simulate mark {mark!r}", key="marks", hint=f"the demo simulates {', '.join(SIMULATED_MARKS)}"
        )
    if not depth > 0:
        raise InputError(f"depth must be positive, got {depth}", key="source.depth", hint="use e.g. 1.0")
    sizes = {str(k): int(v) for k, v in chrom_sizes.items()}
    if not sizes or min(sizes.values()) <= read_length or read_length <= 0:
        raise InputError(
            f"read_length {read_length} must be positive and shorter than every chromosome",
            key="source.read_length",
            hint="use e.g. 36 with a non-empty chrom.sizes",
        )
    table = _check_genes(genes, sizes)
    chrom_names = list(sizes)
    chrom_len = np.array([sizes[c] for c in chrom_names], dtype=np.int64)
    chrom_idx = table["chrom"].map({c: i for i, c in enumerate(chrom_names)}).to_numpy(dtype=np.int64)
    sign, n_unknown = _strand_sign(table["strand"])

    z = latent_activity(table["gene_id"].tolist(), expression, cell, seed)
    has_expr = np.isfinite(z)
    rng = _rng(seed, "reads", cell, mark)
    parts = _gene_marks(mark, rng, table[has_expr], chrom_idx[has_expr], sign[has_expr], z[has_expr], seed, cell, depth)
    n_signal = sum(len(c) for c, _ in parts)

    # Uniform background, and for H3K9me3 the expression-blind domains, chromosome by chromosome.
    n_background = 0
    for i, (name, length) in enumerate(zip(chrom_names, chrom_len, strict=True)):
        n_bg = rng.poisson(depth * BACKGROUND_PER_MB[mark] * length / 1e6)
        parts.append((np.full(n_bg, i, dtype=np.int64), rng.random(n_bg) * length))
        n_background += n_bg
        if mark == "H3K9me3":
            dom_rng = _rng(seed, "k9me3_domains", name)
            n_dom = dom_rng.poisson(length / K9ME3_SHARED_DOMAIN_EVERY_BP)
            width = _log_uniform(dom_rng.random(n_dom), K9ME3_SHARED_DOMAIN_BP)
            start = dom_rng.random(n_dom) * (length - width)
            mean = depth * K9ME3_READS_PER_KB * width / 1000.0
            c, pos = _positions_in(rng, start, width, np.full(n_dom, i, dtype=np.int64), mean)
            parts.append((c, pos))
            n_signal += len(c)

    chrom_of = np.concatenate([c for c, _ in parts]).astype(np.int64)
    centre = np.concatenate([pos for _, pos in parts])
    n = len(centre)
    # A read starts half a fragment 5' of the nucleosome it was sequenced from, on either strand.
    minus = rng.random(n) < 0.5
    half = rng.integers(FRAGMENT_HALF_BP[0], FRAGMENT_HALF_BP[1] + 1, n)
    start = np.where(minus, np.floor(centre) + half - read_length, np.floor(centre) - half).astype(np.int64)
    start = np.clip(start, 0, chrom_len[chrom_of] - read_length)
    # Real tagAlign files are not sorted; a seeded shuffle keeps readers honest about that.
    order = rng.permutation(n)
    data = _format_tagalign(chrom_names, chrom_of[order], start[order], start[order] + read_length, minus[order])

    out = Path(out)
    with atomic_path(out) as tmp:
        # mtime=0 and no file name in the header: byte-identical files for identical inputs.
        with (
            open(tmp, "wb") as raw,
            igzip.GzipFile(fileobj=raw, mode="wb", compresslevel=2, mtime=0, filename="") as gz,
        ):
            gz.write(data)
    return {
        "path": str(out),
        "cell": cell,
        "mark": mark,
        "seed": int(seed),
        "depth": float(depth),
        "read_length": int(read_length),
        "reads": int(n),
        "signal_reads": int(n_signal),
        "background_reads": int(n_background),
        "genes": int(len(table)),
        "genes_without_expression": int((~has_expr).sum()),
        "unknown_strand": n_unknown,
    }


def simulate_cell(
    genes: pd.DataFrame,
    expression: pd.DataFrame,
    chrom_sizes: Mapping[str, int],
    cell: str,
    marks: Iterable[str],
    out_dir: str | Path,
    *,
    seed: int = 0,
    depth: float = 1.0,
    read_length: int = 36,
) -> list[dict]:
    """Simulate ``{out_dir}/{cell}-{mark}.tagAlign.gz`` for each mark; returns their stats.

    ``expression`` is a table with one column per cell, indexed by gene id or with a ``gene_id``
    column (the layout of ``data/demo/expression.tsv``).
    """
    table = expression.set_index("gene_id") if "gene_id" in expression.columns else expression
    if cell not in table.columns:
        raise InputError(
            f"no expression column for cell {cell}",
            hint=f"the expression table has {', '.join(map(str, table.columns))}",
        )
    return [
        simulate_reads(
            genes,
            table[cell],
            chrom_sizes,
            cell,
            mark,
            Path(out_dir) / f"{cell}-{mark}.tagAlign.gz",
            seed=seed,
            depth=depth,
            read_length=read_length,
        )
        for mark in marks
    ]


def read_demo_tables(directory: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Read ``genes.tsv``, ``expression.tsv`` and ``chrom.sizes`` from a demo directory.

    Returns ``(genes, expression indexed by gene_id, chrom sizes)``. An empty strand stays an empty
    string (unknown), never NaN.
    """
    directory = Path(directory)
    genes = pd.read_csv(
        directory / "genes.tsv",
        sep="\t",
        dtype={
            "gene_id": "string",
            "symbol": "string",
            "chrom": "string",
            "tss": "int64",
            "strand": "string",
        },
        keep_default_na=False,
    )
    header = pd.read_csv(directory / "expression.tsv", sep="\t", nrows=0).columns
    expression = pd.read_csv(
        directory / "expression.tsv",
        sep="\t",
        dtype={c: ("string" if c == "gene_id" else "float64") for c in header},
    ).set_index("gene_id")
    sizes = pd.read_csv(
        directory / "chrom.sizes",
        sep="\t",
        header=None,
        names=["chrom", "size"],
        dtype={"chrom": "string", "size": "int64"},
    )
    return genes, expression, dict(zip(sizes["chrom"].tolist(), sizes["size"].tolist(), strict=True))

"""The ``chromexpr`` command line: the library steps, usable outside Snakemake.

Examples::

    chromexpr bin-reads --reads E003-H3K4me3.tagAlign.gz --tss tss.tsv --out counts.tsv
    chromexpr bin-reads --reads H3K4me3=E003-H3K4me3.tagAlign.gz --reads H3K27me3=E003-H3K27me3.tagAlign.gz \
        --tss tss.tsv --out-dir counts/ --threads 2
    chromexpr bin-reads --bigwig E003-H3K4me3.bigwig --stat mean --tss genes.bed --out signal.tsv
    chromexpr dataset --counts H3K4me3=counts/H3K4me3.tsv H3K27me3=counts/H3K27me3.tsv --tss tss.tsv ...
    chromexpr reference --annotation genes.tsv --chrom-sizes hg19.chrom.sizes --expression rpkm.tsv --out-dir ref/
    chromexpr ingest --format deepdiff --train E003.train.csv.gz --valid ... --test ... --cell E003 --out E003.npz
    chromexpr import-weights --card attentivechrome --reference Cell1_attchrome_R2_model.pt \
        --marks H3K4me1,H3K4me3,H3K9me3,H3K27me3,H3K36me3 --bins 200 --out model.pt
    chromexpr train --card deepchrome --dataset results/datasets/E003.npz --out runs/deepchrome_E003 --epochs 20
    chromexpr score --run runs/deepchrome_E003 --dataset results/datasets/E123.npz
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr import __version__
from chromexpr.dataset import CANONICAL_MARKS
from chromexpr.errors import ChromexprError, InputError
from chromexpr.io.magic import NPY_MAGIC
from chromexpr.io.tables import SPLITS, is_bed6, read_bed6_tss, read_tss
from chromexpr.preprocess.geometry import CLI_NAMES, BinGeometry
from chromexpr.preprocess.reference import MIN_TSS_DISTANCE
from chromexpr.progress import around_bars, close_all, on_terminal


def _geometry(args: argparse.Namespace) -> BinGeometry:
    # errors name --window-bp / --bin-bp, not the config keys the workflow uses
    return BinGeometry.checked(args.window_bp, args.bin_bp, orient_by_strand=not args.genomic_order, names=CLI_NAMES)


def _add_geometry(p: argparse.ArgumentParser) -> None:
    default = BinGeometry()
    p.add_argument(
        "--window-bp",
        type=int,
        default=default.window_bp,
        help=f"bases each side of the TSS (default {default.window_bp})",
    )
    p.add_argument("--bin-bp", type=int, default=default.bin_bp, help=f"bin width (default {default.bin_bp})")
    p.add_argument(
        "--genomic-order",
        action="store_true",
        help="keep '-' genes' bins in genomic order (default: transcription order)",
    )


# ----------------------------------------------------------------------------------------------
# TSS tables: the reference step's TSV, or BED6
# ----------------------------------------------------------------------------------------------

_TSS_HELP = (
    "genes: a TSV with header 'gene_id chrom tss strand' (0-based TSS, as the reference command writes), "
    "or BED6 'chrom start end name score strand' (TSS = start for '+', end - 1 for '-'; name = gene id)"
)


@contextlib.contextmanager
def _tss_table_path(path: str | Path):
    """``path`` as a TSS table file: as it is, or a BED6 file converted to a temporary TSS table."""
    if not is_bed6(path):
        yield Path(path)
        return
    genes = read_bed6_tss(path)
    with tempfile.TemporaryDirectory(prefix="chromexpr-tss-") as tmp:
        table = Path(tmp) / f"{Path(path).name}.tss.tsv"
        genes[["gene_id", "chrom", "tss", "strand"]].replace({"strand": {".": ""}}).to_csv(
            table, sep="\t", index=False, lineterminator="\n"
        )
        yield table


# ----------------------------------------------------------------------------------------------
# bin-reads
# ----------------------------------------------------------------------------------------------

#: Suffixes dropped from an input's file name to name its output in --out-dir (when no MARK= is given).
_INPUT_SUFFIXES = (".gz", ".tagAlign", ".tagalign", ".bed", ".bam", ".bw", ".bigwig", ".bigWig", ".BigWig")


@dataclass(frozen=True)
class _Input:
    kind: str  # "reads" or "bigwig"
    name: str | None  # the MARK of MARK=FILE, or None
    path: Path

    def label(self) -> str:
        stem = self.path.name
        while stem.endswith(_INPUT_SUFFIXES):
            stem = stem[: stem.rindex(".")]
        return self.name or stem


def _input_spec(kind: str, spec: str) -> _Input:
    """``FILE`` or ``MARK=FILE`` (a file whose name holds '=' is taken whole when it exists)."""
    mark, eq, path = spec.partition("=")
    if eq and mark and path and "/" not in mark and not Path(spec).exists():
        return _Input(kind, mark, Path(path))
    return _Input(kind, None, Path(spec))


def write_bins(counts: np.ndarray, gene_ids: np.ndarray, geometry: BinGeometry, out: Path, fmt: str) -> None:
    """Write one mark's genes x bins matrix as a TSV (``gene_id bin_<offset> ...``) or a ``.npy``, atomically."""
    from chromexpr.io.atomic import atomic_path
    from chromexpr.preprocess.binning import write_counts_tsv

    if fmt == "npy":
        with atomic_path(out, suffix=".npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, counts)
        return
    write_counts_tsv(counts, gene_ids, out, geometry)


def _summary(item: _Input, counts: np.ndarray, stats: dict, seconds: float, out: Path) -> str:
    """One human line per input: genes x bins, reads (near windows), time, output."""
    parts = [f"{counts.shape[0]:,} genes x {counts.shape[1]} bins"]
    if item.kind == "reads":
        total = int(stats.get("reads_total", 0))
        parts.append(f"{total:,} reads")
        off = int(stats.get("reads_off_tss_chroms", 0))
        if off:
            parts.append(f"{off:,} on chromosomes without genes")
        near = stats.get("reads_near_windows")
        if near is not None:
            share = f" ({100 * near / total:.1f}%)" if total else ""
            parts.append(f"{int(near):,} near windows{share}")
    else:
        parts.append(f"{stats.get('stat', 'mean')} per bin")
        missing = stats.get("missing_chromosomes", {}).get("genes", 0)
        if missing:
            parts.append(f"{missing:,} genes on chromosomes the bigWig lacks (zeros)")
    parts.append(f"{seconds:.1f} s")
    return f"{item.path.name}: {', '.join(parts)} -> {out}"


def cmd_bin_reads(args: argparse.Namespace) -> int:
    """Count reads (or summarise a bigWig) per bin around each TSS; write a gene x bin TSV (or .npy) per input."""
    from chromexpr.io.tables import read_chrom_sizes
    from chromexpr.preprocess.binning import bin_bigwig, bin_reads
    from chromexpr.preprocess.geometry import window_bounds
    from chromexpr.preprocess.reference import check_chrom_naming, inside_chromosome

    inputs = [_input_spec("reads", s) for s in args.reads or []] + [_input_spec("bigwig", s) for s in args.bigwig or []]
    if not inputs:
        raise InputError("no input file given", hint="give --reads FILE (or MARK=FILE) or --bigwig FILE")
    if args.threads < 1:
        raise InputError(f"--threads {args.threads} must be at least 1", hint="e.g. --threads 4")
    if args.out and args.out_dir:
        raise InputError("give --out (one input) or --out-dir (one file per input), not both")
    if args.out:
        if len(inputs) > 1:
            raise InputError(
                f"--out names one output file, but {len(inputs)} inputs are given",
                hint="write one file per mark into a folder with --out-dir DIR (and --reads MARK=FILE ...)",
            )
        fmt = args.format or ("npy" if Path(args.out).suffix == ".npy" else "tsv")
        outs = [Path(args.out)]
    elif args.out_dir:
        fmt = args.format or "tsv"
        labels = [item.label() for item in inputs]
        twice = sorted({name for name in labels if labels.count(name) > 1})
        if twice:
            raise InputError(
                f"two inputs would write the same output in --out-dir: {', '.join(twice)}",
                hint="name each input: --reads MARK=FILE",
            )
        outs = [Path(args.out_dir) / f"{name}.{fmt}" for name in labels]
    else:
        raise InputError("no output given", hint="give --out FILE (one input) or --out-dir DIR (one file per input)")

    geometry = _geometry(args)
    genes = read_tss(args.tss)
    unknown = genes["strand"] == "."
    if unknown.any():
        logging.warning("%d genes without strand are treated as '+'", int(unknown.sum()))
        genes.loc[unknown, "strand"] = "+"
    sizes = read_chrom_sizes(args.chrom_sizes) if args.chrom_sizes else None
    inside = window_bounds(genes["tss"].to_numpy(), genes["strand"].to_numpy(), geometry)[0] >= 0
    keep = inside
    if sizes is not None:
        check_chrom_naming(genes, sizes, genes_path=args.tss, sizes_path=args.chrom_sizes)
        sized = genes["chrom"].isin(list(sizes)).to_numpy()
        if (~sized).any():
            absent = list(dict.fromkeys(genes.loc[~sized, "chrom"]))
            logging.warning(
                "%s: %d genes on chromosomes without a size in %s (%s) are left out",
                args.tss,
                int((~sized).sum()),
                args.chrom_sizes,
                ", ".join(absent[:5]),
            )
        inside = inside_chromosome(genes, sizes, geometry)
        keep = inside & sized
        inside |= ~sized  # counted above, not as windows outside their chromosome
    if (~inside).any():
        logging.warning(
            "%s: %d genes whose window (+/- %d bp) leaves the chromosome are left out",
            args.tss,
            int((~inside).sum()),
            geometry.window_bp,
        )
    if not keep.any():
        raise InputError(
            f"none of the {len(genes)} genes is left to bin: every window (TSS +/- {geometry.window_bp:,} bp) "
            "leaves its chromosome" + (f" or lies on a chromosome {args.chrom_sizes} lacks" if sizes else ""),
            path=args.tss,
            hint="check --window-bp, and that --chrom-sizes belongs to the assembly of the TSS table",
        )
    if (~keep).any():
        genes = genes[keep].reset_index(drop=True)
    gene_ids = genes["gene_id"].to_numpy()

    def one(i: int) -> str:
        item, out = inputs[i], outs[i]
        mark = f" ({item.name})" if item.name else ""
        with around_bars():
            print(f"chromexpr bin-reads: [{i + 1}/{len(inputs)}] binning {item.path}{mark} -> {out}", file=sys.stderr)
        started = time.perf_counter()
        if item.kind == "bigwig":
            counts, stats = bin_bigwig(
                item.path, genes, geometry, stat=args.stat, missing_chromosomes=args.missing_chromosomes
            )
        else:
            counts, stats = bin_reads(item.path, genes, geometry, engine=args.engine, chrom_sizes=sizes)
        write_bins(counts, gene_ids, geometry, out, fmt)
        return _summary(item, counts, stats, time.perf_counter() - started, out)

    if args.threads == 1 or len(inputs) == 1:
        summaries = [one(i) for i in range(len(inputs))]
    else:
        with ThreadPoolExecutor(max_workers=min(args.threads, len(inputs))) as pool:
            futures = [pool.submit(one, i) for i in range(len(inputs))]
            try:
                summaries = [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    for line in summaries:
        print(line)
    return 0


def cmd_reference(args: argparse.Namespace) -> int:
    """Build tss.tsv, windows.bed, splits.tsv from an annotation: one TSS per gene, the TSS distance filter, splits."""
    from chromexpr.preprocess.reference import prepare_reference

    out = Path(args.out_dir)
    split = {
        "method": args.split,
        "seed": args.seed,
        "valid_chromosomes": args.valid_chromosomes,
        "test_chromosomes": args.test_chromosomes,
    }
    summary = prepare_reference(
        args.annotation,
        args.chrom_sizes,
        out / "tss.tsv",
        out / "windows.bed",
        out / "splits.tsv",
        annotation_format=args.annotation_format,
        expression=args.expression,
        expression_duplicates=args.duplicates,
        gene_types=args.gene_types,
        geometry=_geometry(args),
        min_tss_distance=args.min_tss_distance,
        unknown_strand=args.unknown_strand,
        chromosomes=args.chromosomes,
        split=split,
        out_summary=out / "summary.json",
    )
    split_counts = summary["counts"]["split"]
    shares = ", ".join(f"{int(split_counts.get(name, 0)):,} {name}" for name in SPLITS)
    dropped = summary["counts"].get("gene_type_dropped") or {}
    types = f"; left out by gene type: {sum(dropped.values()):,}" if dropped else ""
    print(f"{out}: kept {int(summary['counts']['kept']):,} genes; split {shares}{types}")
    return 0


def _is_npy(path: str | Path) -> bool:
    """True when ``path`` starts with the ``.npy`` magic (told by content, whatever its name)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(NPY_MAGIC)) == NPY_MAGIC
    except (FileNotFoundError, IsADirectoryError):
        return False  # the reader below names the problem


def read_bins_tsv(path: str | Path, gene_ids: np.ndarray) -> np.ndarray:
    """One mark's genes x bins matrix from a bin-reads TSV, its gene ids checked against ``gene_ids``.

    Integer columns give ``int32`` (as bin-reads counts them), others ``float32``.

    Raises:
        InputError: naming the file (and line): not a bin-reads TSV, a value that is not a number,
            or gene ids that differ from the TSS table's (both in the same order).
    """
    from chromexpr.io.text import open_text, readable

    hint = "give the TSV that `chromexpr bin-reads` wrote with this --tss (same genes, same order)"
    with readable(path), open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        if header[0] != "gene_id" or len(header) < 2:
            raise InputError(
                f"neither a .npy array nor a bin-reads TSV: the first line starts {header[0][:40]!r}, not 'gene_id'",
                path=path,
                line=1,
                hint=hint,
            )
        frame = pd.read_csv(fh, sep="\t", header=None, names=header, dtype={"gene_id": str}, na_filter=False)
    ids = frame["gene_id"].to_numpy(dtype=str)
    expected = np.asarray(gene_ids, dtype=str)
    n = min(len(ids), len(expected))
    differ = np.flatnonzero(ids[:n] != expected[:n])
    if differ.size:
        row = int(differ[0])
        raise InputError(
            f"gene '{ids[row]}' where the TSS table has '{expected[row]}' (gene {row + 1:,} of {len(expected):,}): "
            "the rows must be the TSS table's genes in its order",
            path=path,
            line=row + 2,
            hint=hint,
        )
    if len(ids) != len(expected):
        line = n + 2 if len(ids) > len(expected) else None
        raise InputError(
            f"{len(ids):,} genes but the TSS table has {len(expected):,}",
            path=path,
            line=line,
            hint=hint + "; bin-reads leaves out genes whose window leaves the chromosome (--chrom-sizes)",
        )
    values = frame.drop(columns="gene_id")
    for column in values.columns:
        if not pd.api.types.is_numeric_dtype(values[column]):
            numbers = pd.to_numeric(values[column], errors="coerce")
            row = int(np.flatnonzero(numbers.isna().to_numpy())[0])
            raise InputError(
                f"column {column}: {values[column].iloc[row]!r} is not a number", path=path, line=row + 2, hint=hint
            )
    matrix = values.to_numpy()
    return matrix.astype(np.int32 if np.issubdtype(matrix.dtype, np.integer) else np.float32)


def _tsv_geometry(tsvs: dict[str, str | Path]) -> BinGeometry | None:
    """The bin geometry the bin-reads TSVs' headers name (``bin_-5000 ... bin_4900``), for the dataset's
    metadata (``chromexpr predict`` bins a new sample with it); ``None`` without TSVs or with
    headers that are not TSS offsets. The headers do not record ``--genomic-order``: strand-oriented
    bins (bin-reads' default) are assumed.

    Raises:
        InputError: two TSVs name different geometries.
    """
    from chromexpr.io.text import open_text
    from chromexpr.preprocess.binning import geometry_from_columns

    found: dict[str, BinGeometry | None] = {}
    for mark, path in tsvs.items():
        with open_text(path) as fh:
            found[mark] = geometry_from_columns(fh.readline().rstrip("\r\n").split("\t")[1:])
    kinds = set(found.values())
    if len(kinds) > 1:
        raise InputError(
            "the marks' bin-reads TSVs were binned with different windows or bins: "
            + "; ".join(f"{m}: {g.window_bp if g else '?'} bp / {g.bin_bp if g else '?'} bp" for m, g in found.items()),
            hint="bin every mark with the same --window-bp and --bin-bp",
        )
    return next(iter(kinds)) if kinds else None


def cmd_dataset(args: argparse.Namespace) -> int:
    """Assemble a dataset .npz from per-mark bin matrices: bin-reads TSVs or .npy files (told by content)."""
    from chromexpr.dataset import assemble_dataset

    counts: dict[str, str | Path] = {}
    for item in args.counts:
        mark, _, path = item.partition("=")
        if not path or not mark:
            raise InputError(f"--counts takes MARK=FILE, got {item!r}", hint="e.g. --counts H3K4me3=counts/H3K4me3.tsv")
        if mark in counts:
            raise InputError(f"--counts names mark {mark} twice", hint="give each mark once")
        counts[mark] = path
    with contextlib.ExitStack() as stack:
        tss = stack.enter_context(_tss_table_path(args.tss))
        text = {mark: path for mark, path in counts.items() if not _is_npy(path) and Path(path).is_file()}
        if text:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chromexpr-dataset-")))
            gene_ids = read_tss(tss)["gene_id"].to_numpy()
            for mark, path in text.items():
                matrix = read_bins_tsv(path, gene_ids)
                counts[mark] = tmp / f"{mark}.npy"
                np.save(counts[mark], matrix)
        geometry = _tsv_geometry(text)
        ds = assemble_dataset(
            counts,
            tss,
            args.splits,
            args.expression,
            args.out,
            cell=args.cell,
            log1p=args.log1p,
            fit_on=args.fit_on,
            expression_duplicates=args.duplicates,
            median_over=args.median_over,
            inputs={f"counts.{mark}": path for mark, path in text.items()}
            | ({"tss_bed": args.tss} if Path(tss) != Path(args.tss) else {}),
            parameters={"geometry": geometry.as_dict()} if geometry is not None else None,
        )
    print(f"{args.out}: {ds.counts.shape[0]} genes x {ds.counts.shape[1]} marks x {ds.counts.shape[2]} bins")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest released processed CSVs (DeepChrome/AttentiveChrome or DeepDiff) into a dataset .npz."""
    from chromexpr.sources.processed import ingest_processed

    inputs = {s: getattr(args, s) for s in SPLITS if getattr(args, s)}
    if not inputs:
        raise InputError(
            "no input file given", hint="give the release's split files with --train, --valid and/or --test"
        )
    ingest_processed(
        args.format,
        inputs,
        args.cell,
        args.out,
        expression=args.expression,
        log1p=args.log1p,
        fit_on=args.fit_on,
        window_bp=args.window_bp,
        expression_duplicates=args.duplicates,
        median_over=args.median_over,
    )
    print(f"wrote {args.out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a dataset .npz to the DeepChrome CSV format."""
    from chromexpr.sources.processed import export_deepchrome_csv

    export_deepchrome_csv(args.dataset, args.out)
    print(f"wrote {args.out}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate demo tagAlign.gz files for cells and marks from genes and expression."""
    from chromexpr.io.tables import read_chrom_sizes, read_expression
    from chromexpr.sources.demo import simulate_reads

    genes = read_tss(args.genes)
    sizes = read_chrom_sizes(args.chrom_sizes)
    expr = read_expression(args.expression, args.cells)
    for cell in args.cells:
        for mark in args.marks:
            out = Path(args.out_dir) / f"{cell}-{mark}.tagAlign.gz"
            simulate_reads(genes, expr[cell], sizes, cell, mark, out, seed=args.seed, depth=args.depth)
            print(f"wrote {out}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    """Download a file with resume, retries with back-off and verification."""
    from chromexpr.io.download import download

    if args.retries < 0:
        raise InputError(f"--retries {args.retries} must be 0 or more", hint="e.g. --retries 5 (0: one attempt)")
    if args.size is not None and args.size < 0:
        raise InputError(f"--size {args.size} must be 0 or more", hint="give the file's size in bytes, or leave it out")
    download(
        args.url,
        args.out,
        expected_size=args.size,
        sha256=args.sha256,
        retries=args.retries,
        log=logging.getLogger("chromexpr.download"),
    )
    print(f"wrote {args.out}")
    return 0


def cmd_import_weights(args: argparse.Namespace) -> int:
    """Import a checkpoint of the authors' AttentiveChrome (kipoi) or DeepDiff code: write a run-style
    model.pt (the state dict in chromexpr's names) and a JSON sidecar next to it (card, marks, bins,
    source checksums, parameter count)."""
    from chromexpr.io.atomic import sha256sum
    from chromexpr.io.jsonio import write_json
    from chromexpr.models import count_parameters, load_reference_weights
    from chromexpr.training.outputs import save_torch_model
    from chromexpr.training.runtime import resolve_card

    marks = [m.strip() for m in args.marks.split(",")]
    if not all(marks):
        raise InputError(f"--marks {args.marks!r} has an empty name", hint="give names separated by commas: M1,M2,...")
    twice = sorted({m for m in marks if marks.count(m) > 1})
    if twice:
        raise InputError(
            f"--marks {args.marks!r} names {', '.join(twice)} more than once",
            hint="give each mark once, in the checkpoint's encoder order",
        )
    out = Path(args.out)
    sidecar = out.parent / f"{out.stem}.json"
    if sidecar == out:
        raise InputError("--out must not end in .json (the sidecar is <out stem>.json)", path=out)
    card, card_ref = resolve_card(args.card)
    if args.bins is not None and (args.bins < 2 or args.bins % 2):
        bin_bp = int(card["input"].get("bin_bp", 100))
        raise InputError(
            f"--bins {args.bins}: the bins must be a positive even number, half on each side of the TSS "
            f"({args.bins} bins of {bin_bp} bp would span {args.bins * bin_bp / 2:g} bp each side, which is not "
            "a whole number of bins, and no command could bin a sample for it)",
            hint=f"give the bins the checkpoint was trained on, e.g. --bins {card['input']['bins']}",
        )
    model = load_reference_weights(card, args.reference, marks=marks, bins=args.bins)
    bins = int(args.bins if args.bins is not None else card["input"]["bins"])
    sources = [{"path": str(Path(p)), "sha256": sha256sum(p)} for p in args.reference]
    from chromexpr.training.model_file import imported_meta

    meta = imported_meta(card, marks=marks, bins=bins, sources=sources)
    save_torch_model(out, model.state_dict(), meta)
    write_json(
        sidecar,
        {
            "card": card_ref["name"],
            "card_path": card_ref["path"],
            "card_sha256": card_ref["sha256"],
            "class": card["class"],
            "hyperparameters": card["hyperparameters"],
            "marks": marks,
            "bins": bins,
            "sources": sources,
            "parameters": count_parameters(model),
            "model": out.name,
        },
    )
    print(f"wrote {out} ({count_parameters(model)} parameters, marks {','.join(marks)}, {bins} bins) and {sidecar}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Apply a trained run to a new sample: each mark's reads or bigWig and a TSS table in, a TSV
    'gene_id probability logit' (classification) or 'gene_id prediction' (regression) out, one row per
    gene with data in the TSS table's order, with a JSON sidecar saying how the sample was scaled and which
    genes were left out, and why. No expression data needed."""
    from chromexpr.predict import predict_sample, resolve_model_path, write_prediction

    inputs = [_input_spec("reads", s) for s in args.reads or []] + [_input_spec("bigwig", s) for s in args.bigwig or []]
    if not inputs:
        raise InputError("no sample file given", hint="give --reads MARK=FILE (or --bigwig MARK=FILE) once per mark")
    unnamed = [str(item.path) for item in inputs if item.name is None]
    if unnamed:
        raise InputError(
            f"name the mark of every file: {', '.join(unnamed)}",
            hint="write --reads MARK=FILE, e.g. H3K4me3=a.tagAlign.gz",
        )
    files: dict[str, tuple[str, Path]] = {}
    for item in inputs:
        if item.name in files:
            raise InputError(f"mark {item.name} is given twice", hint="give one file per mark")
        files[item.name] = (item.kind, item.path)
    out = Path(args.out)
    sidecar = out.parent / f"{out.stem}.json"
    if sidecar == out:
        raise InputError("--out must not end in .json (the sidecar is <out stem>.json)", path=out)
    model = resolve_model_path(args.run, args.model)
    result = predict_sample(
        model, files, args.tss, stat=args.stat, depth=args.depth, engine=args.engine, chrom_sizes=args.chrom_sizes
    )
    write_prediction(result, out)
    scale = result.info["input"].get("depth_scale")
    how = (
        f"depth {args.depth}" + (f" (x {', '.join(f'{m} {v:.3g}' for m, v in scale.items())})" if scale else "")
        if result.info["input"]["values"] == "counts"
        else f"z-scored with {result.info['input']['zscore']}"
    )
    left = result.info["genes_left_out"]
    print(
        f"wrote {out}: {len(result.table):,} genes, {result.info['card']} trained on {result.info['trained_on']}, {how}"
        + (f"; {left:,} genes without data left out (listed with the reason in the sidecar)" if left else "")
        + f"; {sidecar}"
    )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train one model card on one cell's dataset (a workflow dataset, or one from 'chromexpr dataset' / 'chromexpr
    ingest') through the workflow's run shell: the train genes train, the valid genes select the epoch, the test
    genes are scored once. Writes model.pt (or model.skops), metrics.json, predictions.tsv.gz and history.tsv to
    --out. A classification card (the single-cell models) trains on the labels, a regression card on the
    expression; a differential card needs a pair of cells (the workflow's differential experiment)."""
    from chromexpr.dataset import load_dataset
    from chromexpr.models import load_card

    card = load_card(args.card)
    if args.threads < 1:
        raise InputError(f"--threads {args.threads} must be 1 or more")
    common = {
        "seed": args.seed,
        "device": args.device,
        "max_epochs": args.epochs,
        "patience": args.patience,
        "threads": args.threads,
        "log": logging.getLogger("chromexpr.training").info if args.verbose else None,
    }
    if card["task"] == "classification":
        from chromexpr.training.run import train_model

        metrics = train_model(card, args.dataset, args.out, **common)
        score = f"test AUROC {metrics['test_auroc']:.4f} on {metrics['n_test']:,} test genes of {metrics['cell']}"
    elif card["task"] == "regression":
        from chromexpr.training.regression import train_regression

        cell = str(load_dataset(args.dataset).meta.get("cell"))
        metrics = train_regression(
            card, {cell: args.dataset}, args.out, train_cells=[cell], valid_cells=[cell], test_cells=[cell], **common
        )
        score = f"test MSE {metrics['test_mse']:.4f}, Pearson r {metrics['test_pearson']:.4f} on {cell}'s test genes"
    else:
        raise InputError(
            f"'{card['name']}' is a {card['task']} card: it trains on two cells, not one dataset",
            hint="run the workflow's differential experiment, or chromexpr.training.train_differential",
        )
    epochs = f"{metrics['epochs_run']} epochs, kept {metrics['best_epoch']}" if card["framework"] == "torch" else "fit"
    print(f"wrote {args.out}: {card['name']} (seed {args.seed}), {score}; {epochs}; {metrics['wall_seconds']:.1f} s")
    return 0


def _run_card(run: Path) -> dict:
    """The card a finished run was trained from: the one its model.pt records (hyperparameters as trained), or,
    for a scikit-learn run, the card its metrics.json names."""
    from chromexpr.io.jsonio import read_json
    from chromexpr.models import load_card
    from chromexpr.models.registry import with_marks
    from chromexpr.training.model_file import load_model_file

    metrics = run / "metrics.json"
    if not metrics.is_file():
        raise InputError(
            "not a finished run: it has no metrics.json",
            path=run,
            hint="give a run folder, e.g. results/runs/.../seed0",
        )
    if (run / "model.pt").is_file():
        meta = load_model_file(run / "model.pt").meta
        if meta and isinstance(meta.get("card"), dict):
            return dict(meta["card"])
    record = read_json(metrics)
    card = load_card(record["model"])
    marks = (record.get("input") or {}).get("marks")
    return with_marks(card, marks) if marks and list(marks) != list(card["input"]["marks"]) else card


def cmd_score(args: argparse.Namespace) -> int:
    """Score a finished run's model on another dataset without training: its test genes (or all its genes), the
    same metrics as the run's own test, written as a run folder of its own (metrics.json with trained_in,
    predictions.tsv.gz, model and history copies)."""
    from chromexpr.training.genes import GeneSet
    from chromexpr.training.inference import score_run
    from chromexpr.training.runtime import torch_threads

    run = Path(args.run)
    card = _run_card(run)
    if card["task"] not in ("classification", "domain_adaptation"):
        raise InputError(f"'{card['name']}' is a {card['task']} run: score scores classification runs", path=run)
    out = Path(args.out) if args.out else run / "scored" / Path(args.dataset).name.removesuffix(".npz")
    splits = ("train", "valid", "test") if args.genes == "all" else ("test",)
    if args.threads < 1:
        raise InputError(f"--threads {args.threads} must be 1 or more")
    with torch_threads(args.threads):
        metrics = score_run(card, run, args.dataset, out, test=GeneSet(args.dataset, splits))
    print(
        f"wrote {out}: {card['name']} of {run}, AUROC {metrics['test_auroc']:.4f} on {metrics['n_test']:,} "
        f"{args.genes} genes of {metrics['cell']} (no training)"
    )
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Check workflow config files before a run, as the Snakefile does while it builds the DAG: YAML syntax (file
    and line), every key against the schema, the rules between keys (marks the model cards need, window vs bin,
    every experiment's), and the files and tables the config names (run it where you run snakemake: paths are read
    from there, else from the checkout)."""
    from chromexpr.dag import check_config_files

    schema = args.schema or _workflow_schema(args.configs)
    config = check_config_files(args.configs, schema)
    print(
        f"{' + '.join(str(c) for c in args.configs)}: valid ({config['source']['kind']} source, "
        f"{len(config['cells'])} cells, {len(config['marks'])} marks, {len(config['train']['models'])} models)"
    )
    return 0


def _workflow_schema(configs: list[str]) -> Path:
    """The workflow's config schema: ``config/schemas/config.schema.yaml`` of the working directory, else of the
    checkout a config file lies in (``<checkout>/config/...``)."""
    tried = [Path("config/schemas/config.schema.yaml")]
    for config in configs:
        for parent in Path(config).resolve().parents:
            tried.append(parent / "config" / "schemas" / "config.schema.yaml")
    found = next((p for p in tried if p.is_file()), None)
    if found is None:
        raise InputError(
            "no workflow config schema found (config/schemas/config.schema.yaml)",
            hint="run it in the chromexpr checkout, or give --schema CHECKOUT/config/schemas/config.schema.yaml",
        )
    return found


def _add_normalization(p: argparse.ArgumentParser) -> None:
    """The flags shared by the commands that build a dataset: normalization and duplicate genes."""
    p.add_argument("--log1p", action="store_true", help="log1p the values before the per-mark z-score")
    p.add_argument(
        "--fit-on",
        choices=["all", "train"],
        default="train",
        help="fit the z-score on the train split only (default: no test gene in any input) or on all genes",
    )
    p.add_argument(
        "--duplicates",
        choices=["error", "first"],
        default="error",
        help="a gene listed twice in --expression: stop (default) or keep its first row",
    )
    p.add_argument(
        "--median-over",
        choices=["cell", "dataset"],
        default="cell",
        help="labels are expression >= the median over every gene of the cell in --expression (cell, default: "
        "the papers' labels) or over the dataset's genes only (dataset)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``chromexpr`` command."""
    parser = argparse.ArgumentParser(prog="chromexpr", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"chromexpr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("bin-reads", help=cmd_bin_reads.__doc__, description=cmd_bin_reads.__doc__)
    p.add_argument(
        "--reads",
        action="append",
        metavar="[MARK=]FILE",
        help="tagAlign/BED (.gz or plain) or BAM file; repeat as MARK=FILE for several marks (with --out-dir)",
    )
    p.add_argument(
        "--bigwig",
        action="append",
        metavar="[MARK=]FILE",
        help="bigWig file (per-bin statistic, see --stat); repeat as MARK=FILE for several marks (with --out-dir)",
    )
    p.add_argument("--tss", required=True, metavar="FILE", help=_TSS_HELP)
    p.add_argument(
        "--out",
        metavar="FILE",
        help="output file for a single input: TSV 'gene_id bin_-5000 ... bin_4900' (columns named by each bin's "
        "start in bp from the TSS, transcription order; these for the default 5 kb / 100 bp), or .npy (see --format)",
    )
    p.add_argument(
        "--out-dir",
        metavar="DIR",
        help="output folder for one or more inputs: one file per input, MARK.tsv (or MARK.npy), MARK from "
        "MARK=FILE or else the input's file name",
    )
    p.add_argument(
        "--format",
        choices=["tsv", "npy"],
        default=None,
        help="output format: tsv (default; 'chromexpr dataset' reads it) or npy (genes x bins array, rows in "
        "--tss order); with --out, a .npy name means npy",
    )
    p.add_argument("--threads", type=int, default=1, metavar="N", help="inputs binned at once (default 1)")
    p.add_argument(
        "--engine",
        choices=["native", "bedtools"],
        default="native",
        help="native (numpy, fast) or bedtools (reference); reads only",
    )
    p.add_argument(
        "--stat", choices=["mean", "sum", "max"], default="mean", help="bigWig statistic per bin (default mean)"
    )
    p.add_argument("--chrom-sizes", help="chromosome sizes: genes whose window leaves a chromosome are left out")
    p.add_argument(
        "--missing-chromosomes",
        choices=["error", "warn"],
        default="error",
        help="bigWig only: genes on chromosomes the bigWig lacks are an error (default), or "
        "with 'warn' are kept as zeros (config key binning.missing_chromosomes)",
    )
    _add_geometry(p)
    p.set_defaults(func=cmd_bin_reads)

    p = sub.add_parser("reference", help=cmd_reference.__doc__, description=cmd_reference.__doc__)
    p.add_argument("--annotation", required=True, help="gene annotation (format: --annotation-format)")
    p.add_argument(
        "--annotation-format",
        choices=["tss_table", "gene_info", "gtf"],
        default="tss_table",
        help="tss_table: TSV 'gene_id chrom tss strand' (default); gene_info: a gene-info table; gtf: a GTF file",
    )
    p.add_argument("--chrom-sizes", required=True, help="chromosome sizes of the assembly ('chrom size' per line)")
    p.add_argument("--expression", help="keep genes with expression in this matrix")
    p.add_argument(
        "--duplicates",
        choices=["error", "first"],
        default="error",
        help="a gene listed twice in --expression: stop (default) or keep its first row",
    )
    p.add_argument("--out-dir", required=True, help="folder for tss.tsv, windows.bed, splits.tsv and summary.json")
    p.add_argument(
        "--min-tss-distance",
        type=int,
        default=MIN_TSS_DISTANCE,
        help=f"keep TSSs at least this many bp apart (default {MIN_TSS_DISTANCE})",
    )
    p.add_argument(
        "--unknown-strand",
        choices=["plus", "drop"],
        default="plus",
        help="genes without strand: treat as '+' (default) or leave out",
    )
    p.add_argument("--chromosomes", nargs="*", default=None, help="keep genes on these chromosomes only")
    p.add_argument(
        "--gene-types",
        nargs="*",
        default=["protein_coding"],
        help="GTF only: keep genes of these types (GENCODE gene_type); none given = every gene (default: "
        "protein_coding; the genes left out are counted per type in summary.json)",
    )
    p.add_argument(
        "--split",
        choices=["blocks", "random", "chromosome", "deepdiff"],
        default="blocks",
        help="how genes are split into train/valid/test (default blocks: sorted ids in thirds, DeepChrome; deepdiff: "
        "sorted ids in blocks of 6,100 test, 10,000 train, the rest valid)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the blocks/random split (default 0)")
    p.add_argument("--valid-chromosomes", nargs="*", default=None, help="chromosome split: the valid chromosomes")
    p.add_argument("--test-chromosomes", nargs="*", default=None, help="chromosome split: the test chromosomes")
    _add_geometry(p)
    p.set_defaults(func=cmd_reference)

    p = sub.add_parser("dataset", help=cmd_dataset.__doc__, description=cmd_dataset.__doc__)
    p.add_argument(
        "--counts",
        nargs="+",
        required=True,
        metavar="MARK=FILE",
        help="one bin matrix per mark: the TSV of 'chromexpr bin-reads' or a .npy (genes x bins), rows "
        "the --tss genes in order",
    )
    p.add_argument("--tss", required=True, help=_TSS_HELP)
    p.add_argument("--splits", required=True, help="split manifest (splits.tsv of 'chromexpr reference')")
    p.add_argument("--expression", required=True, help="expression matrix with a column for --cell")
    p.add_argument("--cell", required=True, help="the cell (epigenome) id, e.g. E003")
    p.add_argument("--out", required=True, help="dataset .npz to write")
    _add_normalization(p)
    p.set_defaults(func=cmd_dataset)

    p = sub.add_parser("ingest", help=cmd_ingest.__doc__, description=cmd_ingest.__doc__)
    p.add_argument(
        "--format", choices=["deepchrome", "deepdiff"], required=True, help="which release's CSV layout the files have"
    )
    p.add_argument("--train", help="the release's train split file")
    p.add_argument("--valid", help="the release's valid split file")
    p.add_argument("--test", help="the release's test split file")
    p.add_argument("--cell", required=True, help="the cell (epigenome) id, e.g. E003")
    p.add_argument("--expression", help="expression matrix (labels by median; needed for deepdiff)")
    p.add_argument("--out", required=True, help="dataset .npz")
    p.add_argument("--window-bp", type=int, help="keep only the central bins of TSS +/- this many bases")
    _add_normalization(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("export", help=cmd_export.__doc__, description=cmd_export.__doc__)
    p.add_argument("--dataset", required=True, help="dataset .npz (of 'chromexpr dataset' or 'chromexpr ingest')")
    p.add_argument("--out", required=True, help="CSV (.gz to compress)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("simulate", help=cmd_simulate.__doc__, description=cmd_simulate.__doc__)
    p.add_argument("--genes", required=True, help=_TSS_HELP)
    p.add_argument("--expression", required=True, help="expression matrix with a column per --cells")
    p.add_argument("--chrom-sizes", required=True, help="chromosome sizes ('chrom size' per line)")
    p.add_argument("--cells", nargs="+", required=True, help="cells (columns of --expression) to simulate")
    p.add_argument(
        "--marks",
        nargs="+",
        default=list(CANONICAL_MARKS),
        help=f"marks to simulate (default {' '.join(CANONICAL_MARKS)})",
    )
    p.add_argument("--out-dir", required=True, help="folder for CELL-MARK.tagAlign.gz files")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--depth", type=float, default=1.0, help="read depth factor (default 1.0)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("import-weights", help=cmd_import_weights.__doc__, description=cmd_import_weights.__doc__)
    p.add_argument("--card", required=True, help="model card name or path (attentivechrome, deepdiff_*, ...)")
    p.add_argument(
        "--reference",
        required=True,
        action="append",
        metavar="FILE",
        help="the reference's state-dict file, read without running code; give it twice (cell A, then B) "
        "for attentivechrome_diff",
    )
    p.add_argument(
        "--marks",
        required=True,
        help="comma-separated marks in the order of the checkpoint's encoders (its training data's columns)",
    )
    p.add_argument("--bins", type=int, help="bins per gene of the inputs (default: the card's)")
    p.add_argument(
        "--out", required=True, help="model.pt to write (state dict in chromexpr names); sidecar <stem>.json"
    )
    p.set_defaults(func=cmd_import_weights)

    p = sub.add_parser("predict", help=cmd_predict.__doc__, description=cmd_predict.__doc__)
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--run", metavar="DIR", help="a run folder of the workflow (results/runs/.../seed0): its model.pt"
    )
    model.add_argument("--model", metavar="FILE", help="a model.pt (a run's, copied anywhere)")
    p.add_argument(
        "--reads",
        action="append",
        metavar="MARK=FILE",
        help="the sample's tagAlign/BED/BAM reads of one mark; repeat per mark",
    )
    p.add_argument(
        "--bigwig", action="append", metavar="MARK=FILE", help="the sample's bigWig of one mark; repeat per mark"
    )
    p.add_argument(
        "--stat", choices=["mean", "sum", "max"], default="mean", help="bigWig statistic per bin (default mean)"
    )
    p.add_argument(
        "--depth",
        choices=["match", "none"],
        default="match",
        help="match (default): counts models scale each mark to the training cell's mean count per bin, signal "
        "models z-score with the sample's own statistics; none: counts as they are, z-score with the training "
        "cell's statistics",
    )
    p.add_argument("--tss", required=True, metavar="FILE", help=_TSS_HELP)
    p.add_argument(
        "--chrom-sizes",
        metavar="FILE",
        help="chromosome sizes of the assembly (chrom<TAB>size): a gene whose window leaves its chromosome is "
        "left out; without it, reads tell where a chromosome ends (a window past the last read of every mark)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the TSV to write; the sidecar <stem>.json beside it")
    p.add_argument(
        "--engine", choices=["native", "bedtools"], default="native", help="reads binning engine (default native)"
    )
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("train", help=cmd_train.__doc__, description=cmd_train.__doc__)
    p.add_argument("--card", required=True, help="a model card: a shipped name (deepchrome, ...) or a card YAML path")
    p.add_argument("--dataset", required=True, metavar="NPZ", help="one cell's dataset (.npz)")
    p.add_argument("--out", required=True, metavar="DIR", help="the run folder to write")
    p.add_argument("--seed", type=int, default=0, help="weights, dropout and batch order (default 0)")
    p.add_argument("--epochs", type=int, default=None, help="at most this many epochs (default: the card's)")
    p.add_argument("--patience", type=int, default=None, help="early-stopping patience (default: the card's)")
    p.add_argument(
        "--threads", type=int, default=1, help="CPU threads for torch (default 1: several jobs side by side)"
    )
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("score", help=cmd_score.__doc__, description=cmd_score.__doc__)
    p.add_argument("--run", required=True, metavar="DIR", help="a finished run folder (results/runs/.../seed0)")
    p.add_argument("--dataset", required=True, metavar="NPZ", help="the dataset to score it on (.npz)")
    p.add_argument("--out", metavar="DIR", help="the folder to write (default: RUN/scored/<dataset name without .npz>)")
    p.add_argument(
        "--genes",
        choices=["test", "all"],
        default="test",
        help="the dataset's test genes (default) or all its genes (then genes the run trained on count too, if "
        "the dataset is of its own cell)",
    )
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("check-config", help=cmd_check_config.__doc__, description=cmd_check_config.__doc__)
    p.add_argument(
        "configs",
        nargs="+",
        metavar="CONFIG",
        help="config YAML files, layered in order as Snakemake layers its --configfile files (give config/config.yaml "
        "to check the demo)",
    )
    p.add_argument(
        "--schema",
        default=None,
        help="the workflow's config schema (default: config/schemas/config.schema.yaml of the working directory, "
        "else of the checkout the config files are in); its checkout is where configured paths are read from "
        "when they are not in the working directory",
    )
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("download", help=cmd_download.__doc__, description=cmd_download.__doc__)
    p.add_argument("--url", required=True, help="http://, https:// or file:// URL")
    p.add_argument(
        "--out", required=True, help="destination file (bytes gather in OUT.part, so an interrupted download resumes)"
    )
    p.add_argument("--size", type=int, help="expected size in bytes (checked)")
    p.add_argument("--sha256", help="expected SHA-256 checksum (checked)")
    p.add_argument("--retries", type=int, default=5, help="failed attempts in a row retried, with back-off (default 5)")
    p.set_defaults(func=cmd_download)
    for command in sub.choices.values():  # the flags of each command, to name them in errors
        command.set_defaults(known_flags=frozenset(o for a in command._actions for o in a.option_strings))
    return parser


def _logs_around_bars() -> contextlib.AbstractContextManager:
    """On a terminal, log lines are written around the progress bars (not through them)."""
    if not on_terminal():
        return contextlib.nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``chromexpr`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="chromexpr: %(message)s", stream=sys.stderr
    )
    try:
        with _logs_around_bars():
            return int(args.func(args) or 0)
    except ChromexprError as exc:
        close_all()
        if isinstance(exc, InputError):
            exc = _for_command_line(exc, args.known_flags)
        print(f"chromexpr {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file system refusing (permissions, full disk, a file where a folder goes)
        close_all()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"chromexpr {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


def run() -> int:
    """The ``chromexpr`` console script: :func:`main`, then its objects are left to the operating system.

    ``gc.freeze()`` keeps the interpreter's shutdown from walking the object graphs of numba, pandas
    and scipy one by one: that walk took 0.3 s of every command (measured on bin-reads); atexit
    handlers, stream flushes and finalizers still run. :func:`main` does not do this, so that tests and
    library callers that call it in their own process keep a working garbage collector.
    """
    status = main()
    gc.freeze()
    return status


#: Config keys of the workflow and the flags that set the same thing on the command line.
CONFIG_FLAGS: dict[str, str] = {
    "bins.window_bp": "--window-bp",
    "bins.bin_bp": "--bin-bp",
    "window_bp": "--window-bp",
    "binning.engine": "--engine",
    "binning.stat": "--stat",
    "binning.missing_chromosomes": "--missing-chromosomes",
    "reference.annotation_format": "--annotation-format",
    "reference.min_tss_distance": "--min-tss-distance",
    "reference.unknown_strand": "--unknown-strand",
    "reference.chromosomes": "--chromosomes",
    "split": "--split",
    "split.method": "--split",
    "split.valid_chromosomes": "--valid-chromosomes",
    "split.test_chromosomes": "--test-chromosomes",
    "expression.duplicates": "--duplicates",
    "normalize.fit_on": "--fit-on",
    "cells": "--cell",
}


def _for_command_line(exc: InputError, flags: frozenset[str]) -> InputError:
    """``exc`` with the config keys it names replaced by the flags of this command (when it has them).

    The library names config keys, as the workflow needs; on the command line the user set a flag.
    An error whose key this command has no flag for is returned as it is.
    """
    flag_of = {key: flag for key, flag in CONFIG_FLAGS.items() if flag in flags}
    if exc.key == "cells" and "--cells" in flags:
        flag_of["cells"] = "--cells"
    flag = flag_of.get(exc.key or "")
    if flag is None:
        return exc
    # dotted keys are unambiguous in prose ('split' alone is not: "the blocks split leaves ...")
    dotted = sorted((k for k in flag_of if "." in k), key=len, reverse=True)
    pattern = re.compile("|".join(rf"(?<![\w.]){re.escape(k)}(?!\w)" for k in dotted)) if dotted else None

    def swap(text: str) -> str:
        if pattern is not None:
            text = pattern.sub(lambda m: flag_of[m.group(0)], text)
            text = re.sub(r"(--[a-z-]+): ", r"\1 ", text)  # "key: value" -> "--flag value"
        return text.replace(" in the config", "")

    message = swap(exc.message)
    if flag not in message:
        message = f"{flag}: {message}"
    return InputError(message, path=exc.path, line=exc.line, hint=swap(exc.hint) if exc.hint else None)


if __name__ == "__main__":
    sys.exit(run())

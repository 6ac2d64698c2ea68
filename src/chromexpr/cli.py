"""The ``chromexpr`` command line: the library steps, usable outside Snakemake.

Examples::

    chromexpr bin-reads --reads E003-H3K4me3.tagAlign.gz --tss tss.tsv --out counts.tsv
    chromexpr bin-reads --bigwig E003-H3K4me3.bigwig --stat mean --tss tss.tsv --out signal.tsv
    chromexpr reference --annotation genes.tsv --chrom-sizes hg19.chrom.sizes --expression rpkm.tsv --out-dir ref/
    chromexpr ingest --format deepdiff --train E003.train.csv.gz --valid ... --test ... --cell E003 --out E003.npz
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from chromexpr import __version__
from chromexpr.dataset import CANONICAL_MARKS
from chromexpr.errors import ChromexprError, InputError
from chromexpr.io.tables import SPLITS
from chromexpr.preprocess.geometry import CLI_NAMES, BinGeometry
from chromexpr.preprocess.reference import MIN_TSS_DISTANCE


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


def cmd_bin_reads(args: argparse.Namespace) -> int:
    """Count reads (or summarise a bigWig) per bin around each TSS; write a gene x bin TSV."""
    from chromexpr.io.tables import read_chrom_sizes, read_tss_table
    from chromexpr.preprocess.binning import bin_bigwig, bin_reads, write_counts_tsv
    from chromexpr.preprocess.geometry import window_bounds
    from chromexpr.preprocess.reference import check_chrom_naming, inside_chromosome

    geometry = _geometry(args)
    genes = read_tss_table(args.tss)
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
    if args.bigwig:
        counts, stats = bin_bigwig(
            args.bigwig, genes, geometry, stat=args.stat, missing_chromosomes=args.missing_chromosomes
        )
    else:
        counts, stats = bin_reads(args.reads, genes, geometry, engine=args.engine, chrom_sizes=sizes)
    write_counts_tsv(counts, genes["gene_id"].to_numpy(), args.out)
    logging.info("wrote %s: %d genes x %d bins (%s)", args.out, counts.shape[0], counts.shape[1], stats)
    return 0


def cmd_reference(args: argparse.Namespace) -> int:
    """Build tss.tsv, windows.bed, splits.tsv from an annotation (DESIGN.md section 4)."""
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
        geometry=_geometry(args),
        min_tss_distance=args.min_tss_distance,
        unknown_strand=args.unknown_strand,
        chromosomes=args.chromosomes,
        split=split,
        out_summary=out / "summary.json",
    )
    print(f"kept {summary['counts']['kept']} genes; split {summary['counts']['split']}")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    """Assemble a dataset .npz from per-mark count .npy files."""
    from chromexpr.dataset import assemble_dataset

    counts = {}
    for item in args.counts:
        mark, _, path = item.partition("=")
        if not path:
            raise ChromexprError(f"--counts takes MARK=PATH, got {item!r}")
        counts[mark] = path
    ds = assemble_dataset(
        counts,
        args.tss,
        args.splits,
        args.expression,
        args.out,
        cell=args.cell,
        log1p=args.log1p,
        fit_on=args.fit_on,
        expression_duplicates=args.duplicates,
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
    from chromexpr.io.tables import read_chrom_sizes, read_expression, read_tss_table
    from chromexpr.sources.demo import simulate_reads

    genes = read_tss_table(args.genes)
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


def cmd_check_config(args: argparse.Namespace) -> int:
    """Check workflow config files before a run: YAML syntax (file and line), every key against the
    schema, and the rules between keys (marks the model cards need, window vs bin, ...)."""
    from chromexpr.dag import check_config_files

    config = check_config_files(args.configs, args.schema)
    print(
        f"{' + '.join(str(c) for c in args.configs)}: valid ({config['source']['kind']} source, "
        f"{len(config['cells'])} cells, {len(config['marks'])} marks, {len(config['train']['models'])} models)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``chromexpr`` command."""
    parser = argparse.ArgumentParser(prog="chromexpr", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"chromexpr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("bin-reads", help=cmd_bin_reads.__doc__, description=cmd_bin_reads.__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--reads", help="tagAlign/BED (.gz or plain) or BAM file")
    src.add_argument("--bigwig", help="bigWig file (per-bin statistic, see --stat)")
    p.add_argument("--tss", required=True, help="TSV with header 'gene_id chrom tss strand' (0-based TSS)")
    p.add_argument("--out", required=True, help="output TSV: 'gene_id bin_0 ... bin_{n-1}', transcription order")
    p.add_argument(
        "--engine",
        choices=["native", "bedtools"],
        default="native",
        help="native (numpy, fast) or bedtools (reference); reads only",
    )
    p.add_argument("--stat", choices=["mean", "sum", "max"], default="mean", help="bigWig statistic per bin")
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
    p.add_argument("--annotation", required=True)
    p.add_argument("--annotation-format", choices=["tss_table", "gene_info", "gtf"], default="tss_table")
    p.add_argument("--chrom-sizes", required=True)
    p.add_argument("--expression", help="keep genes with expression in this matrix")
    p.add_argument("--duplicates", choices=["error", "first"], default="error")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--min-tss-distance", type=int, default=MIN_TSS_DISTANCE)
    p.add_argument("--unknown-strand", choices=["plus", "drop"], default="plus")
    p.add_argument("--chromosomes", nargs="*", default=None)
    p.add_argument("--split", choices=["blocks", "random", "chromosome"], default="blocks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--valid-chromosomes", nargs="*", default=None)
    p.add_argument("--test-chromosomes", nargs="*", default=None)
    _add_geometry(p)
    p.set_defaults(func=cmd_reference)

    p = sub.add_parser("dataset", help=cmd_dataset.__doc__, description=cmd_dataset.__doc__)
    p.add_argument("--counts", nargs="+", required=True, metavar="MARK=NPY")
    p.add_argument("--tss", required=True)
    p.add_argument("--splits", required=True)
    p.add_argument("--expression", required=True)
    p.add_argument("--cell", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--log1p", action="store_true")
    p.add_argument("--fit-on", choices=["all", "train"], default="all")
    p.add_argument("--duplicates", choices=["error", "first"], default="error")
    p.set_defaults(func=cmd_dataset)

    p = sub.add_parser("ingest", help=cmd_ingest.__doc__, description=cmd_ingest.__doc__)
    p.add_argument("--format", choices=["deepchrome", "deepdiff"], required=True)
    p.add_argument("--train", help="the release's train split file")
    p.add_argument("--valid", help="the release's valid split file")
    p.add_argument("--test", help="the release's test split file")
    p.add_argument("--cell", required=True)
    p.add_argument("--expression", help="expression matrix (labels by median; needed for deepdiff)")
    p.add_argument("--out", required=True, help="dataset .npz")
    p.add_argument("--window-bp", type=int, help="keep only the central bins of TSS +/- this many bases")
    p.add_argument("--log1p", action="store_true")
    p.add_argument("--fit-on", choices=["all", "train"], default="all")
    p.add_argument(
        "--duplicates",
        choices=["error", "first"],
        default="error",
        help="a gene listed twice in --expression: stop (default) or keep its first row",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("export", help=cmd_export.__doc__, description=cmd_export.__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="CSV (.gz to compress)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("simulate", help=cmd_simulate.__doc__, description=cmd_simulate.__doc__)
    p.add_argument("--genes", required=True)
    p.add_argument("--expression", required=True)
    p.add_argument("--chrom-sizes", required=True)
    p.add_argument("--cells", nargs="+", required=True)
    p.add_argument("--marks", nargs="+", default=list(CANONICAL_MARKS))
    p.add_argument("--out-dir", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--depth", type=float, default=1.0)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("check-config", help=cmd_check_config.__doc__, description=cmd_check_config.__doc__)
    p.add_argument(
        "configs",
        nargs="+",
        metavar="CONFIG",
        help="config YAML files, layered in order as Snakemake layers config/config.yaml and each --configfile",
    )
    p.add_argument(
        "--schema",
        default="config/schemas/config.schema.yaml",
        help="the workflow's config schema (default: config/schemas/config.schema.yaml of the working directory)",
    )
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("download", help=cmd_download.__doc__, description=cmd_download.__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int)
    p.add_argument("--sha256")
    p.add_argument("--retries", type=int, default=5)
    p.set_defaults(func=cmd_download)
    for command in sub.choices.values():  # the flags of each command, to name them in errors
        command.set_defaults(known_flags=frozenset(o for a in command._actions for o in a.option_strings))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``chromexpr`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="chromexpr: %(message)s", stream=sys.stderr
    )
    try:
        return int(args.func(args) or 0)
    except ChromexprError as exc:
        if isinstance(exc, InputError):
            exc = _for_command_line(exc, args.known_flags)
        print(f"chromexpr {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file system refusing (permissions, full disk, a file where a folder goes)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"chromexpr {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


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
    sys.exit(main())

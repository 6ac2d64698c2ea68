#!/usr/bin/env python
"""Benchmark: chromexpr's native read binning against the decompression floor and bedtools.

Generates (once, cached in bench/out/) an UNSORTED tagAlign.gz of simulated reads over the hg19
chromosomes and a TSS table of random genes, then runs, each in its own child process:

* floor:     decompressing the file alone, as the native engine does (isal in 4 MB reads, output
             discarded), and ``igzip -dc`` when that binary exists;
* native:    ``bin_reads(reads, tss, geometry, engine="native")`` (``--parser`` picks the parser;
             ``auto`` uses the compiled strict one for files this large);
* cli:       ``chromexpr bin-reads --reads ... --tss ... --out counts.tsv``, the whole command a user
             runs (start-up, imports, the TSS table, binning, the TSV), wall to the floor's wall;
* bedtools:  ``bedtools intersect -c -a bins.bed -b reads.tagAlign.gz`` (what most pipelines do);
* sorted:    ``bedtools sort`` of the reads, then ``bedtools intersect -sorted -c`` against the
             bins sorted the same way (what a careful user does; sorting the bins is not timed,
             it is done once for all files).

It prints wall time, CPU time and peak resident memory of each (from ``wait4``'s rusage of that
child alone), the native engine's ratio to the floor (in-process seconds of both, so interpreter
start-up and imports count in neither, and wall to wall), the in-process seconds of binning a second
file in the same process (numba imported and the kernels loaded: the steady state per read), the
speed-ups over bedtools, and whether the counts of every bedtools run equal the native ones bin by
bin. Exit status 1 when they do not.

    python bench/binning.py                   # 20M reads, 20,000 genes x 100 bins
    python bench/binning.py --reads 2000000   # quicker
    python bench/binning.py --skip-bedtools   # floor and native only

Writing the bins BED and the TSS table is not timed (every engine gets its input ready-made).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"

# UCSC hg19 primary chromosomes, used when src/chromexpr/data/hg19.chrom.sizes is absent.
HG19_SIZES = {
    "chr1": 249250621, "chr2": 243199373, "chr3": 198022430, "chr4": 191154276,
    "chr5": 180915260, "chr6": 171115067, "chr7": 159138663, "chr8": 146364022,
    "chr9": 141213431, "chr10": 135534747, "chr11": 135006516, "chr12": 133851895,
    "chr13": 115169878, "chr14": 107349540, "chr15": 102531392, "chr16": 90354753,
    "chr17": 81195210, "chr18": 78077248, "chr19": 59128983, "chr20": 63025520,
    "chr21": 48129895, "chr22": 51304566, "chrX": 155270560, "chrY": 59373566,
}  # fmt: skip

READ_LENGTH = 36  # REMC consolidated tagAlign reads are 36 bp


def chrom_sizes() -> dict[str, int]:
    """hg19 sizes from src/chromexpr/data/hg19.chrom.sizes if present, else the embedded table."""
    path = ROOT / "src" / "chromexpr" / "data" / "hg19.chrom.sizes"
    if path.is_file():
        sizes = {}
        for line in path.read_text().splitlines():
            if line.strip():
                name, size = line.split()[:2]
                sizes[name] = int(size)
        return sizes
    return dict(HG19_SIZES)


def make_genes(n_genes: int, window_bp: int, sizes: dict[str, int], seed: int, path: Path) -> None:
    """Random TSSs, chromosomes drawn by size, strands at random, windows inside the chromosome."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = list(sizes)
    size = np.array([sizes[c] for c in names], dtype=np.int64)
    chrom = rng.choice(len(names), size=n_genes, p=size / size.sum())
    tss = window_bp + (rng.random(n_genes) * (size[chrom] - 2 * window_bp - 1)).astype(np.int64)
    frame = pd.DataFrame(
        {
            "gene_id": [f"BENCH{i:06d}" for i in range(n_genes)],
            "chrom": np.array(names, dtype=object)[chrom],
            "tss": tss,
            "strand": np.where(rng.random(n_genes) < 0.5, "+", "-"),
        }
    )
    frame.to_csv(path, sep="\t", index=False)


def make_reads(n_reads: int, tss_path: Path, sizes: dict[str, int], near_tss: float, seed: int, path: Path) -> None:
    """Unsorted tagAlign.gz: a fraction of reads around TSSs (ChIP-like), the rest uniform."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    from isal import igzip

    rng = np.random.default_rng(seed + 1)
    genes = pd.read_csv(tss_path, sep="\t")
    names = list(sizes)
    size = np.array([sizes[c] for c in names], dtype=np.int64)
    gene_chrom = np.array([names.index(c) for c in genes["chrom"]])
    gene_tss = genes["tss"].to_numpy(np.int64)
    chrom_names = pa.array(names)
    tmp = path.with_suffix(".part")
    with igzip.open(tmp, "wb", compresslevel=1) as fh:
        for lo in range(0, n_reads, 1_000_000):
            m = min(1_000_000, n_reads - lo)
            chrom = rng.choice(len(names), size=m, p=size / size.sum())
            start = (rng.random(m) * (size[chrom] - READ_LENGTH)).astype(np.int64)
            near = rng.random(m) < near_tss
            pick = rng.integers(0, len(gene_tss), int(near.sum()))
            chrom[near] = gene_chrom[pick]
            start[near] = np.clip(
                gene_tss[pick] + rng.normal(0, 2500, pick.size).astype(np.int64),
                0,
                size[chrom[near]] - READ_LENGTH,
            )
            strand = pa.array(np.where(rng.random(m) < 0.5, "+", "-"))
            line = pc.binary_join_element_wise(
                chrom_names.take(pa.array(chrom)),
                pc.cast(pa.array(start), pa.string()),
                pc.cast(pa.array(start + READ_LENGTH), pa.string()),
                "N",
                "1000",
                strand,
                "\t",
            )
            line = pc.binary_join_element_wise(line, "\n", "")
            offsets = np.frombuffer(line.buffers()[1], dtype=np.int32)[line.offset : line.offset + len(line) + 1]
            fh.write(memoryview(line.buffers()[2])[offsets[0] : offsets[-1]])
    tmp.replace(path)


def write_bins(tss_path: Path, window_bp: int, bin_bp: int, path: Path) -> None:
    """bins.bed for bedtools: one line per bin, named by its flat index gene * n_bins + column."""
    import pandas as pd

    from chromexpr.preprocess.geometry import BinGeometry, bin_starts

    genes = pd.read_csv(tss_path, sep="\t")
    geometry = BinGeometry(window_bp=window_bp, bin_bp=bin_bp)
    starts = bin_starts(genes["tss"].to_numpy(), genes["strand"].to_numpy(), geometry).ravel()
    frame = pd.DataFrame(
        {
            "chrom": np.repeat(genes["chrom"].to_numpy(), geometry.n_bins),
            "start": starts,
            "end": starts + bin_bp,
            "name": np.arange(starts.size),
        }
    )
    frame.to_csv(path, sep="\t", header=False, index=False)


def run_child(cmd: list[str], stdout: Path | None = None) -> dict:
    """Run ``cmd``; wall seconds, CPU seconds and peak RSS (MB) of that process alone."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout:
            out.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit status {proc.returncode}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
    }


def native_child(args: argparse.Namespace) -> None:
    """Child-process entry: bin with the native engine, save counts as .npy, stats as JSON."""
    import pandas as pd

    from chromexpr.preprocess.binning import bin_reads
    from chromexpr.preprocess.geometry import BinGeometry

    tss = pd.read_csv(args.tss, sep="\t", dtype={"gene_id": "string", "chrom": "string", "strand": "string"})
    geometry = BinGeometry(window_bp=args.window_bp, bin_bp=args.bin_bp)
    counts, stats = bin_reads(args.reads_file, tss, geometry, engine="native", parser=args.parser)
    if args.twice:  # the steady state: a second file in a process that has loaded the kernels
        again, stats = bin_reads(args.reads_file, tss, geometry, engine="native", parser=args.parser)
        assert np.array_equal(again, counts)
    np.save(args.counts, counts)
    Path(args.counts).with_suffix(".json").write_text(json.dumps(stats, indent=1))


def floor_child(args: argparse.Namespace) -> None:
    """Child-process entry: decompress the reads as the native engine reads them; seconds as JSON."""
    from isal import igzip

    started = time.perf_counter()
    total = 0
    with igzip.open(args.reads_file, "rb") as fh:
        while data := fh.read(4 << 20):
            total += len(data)
    Path(args.out_json).write_text(json.dumps({"seconds": time.perf_counter() - started, "bytes": total}))


def bedtools_counts(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Counts from bedtools' output, back in (gene, column) order via the bin names."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=["chrom", "start", "end", "name", "count"]),
        parse_options=pacsv.ParseOptions(delimiter="\t"),
        convert_options=pacsv.ConvertOptions(
            include_columns=["name", "count"], column_types={"name": pa.int64(), "count": pa.int64()}
        ),
    )
    counts = np.full(shape[0] * shape[1], -1, dtype=np.int64)
    counts[table.column("name").to_numpy()] = table.column("count").to_numpy()
    return counts.reshape(shape)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=20_000_000, help="simulated reads (default 20M)")
    parser.add_argument("--genes", type=int, default=20_000, help="genes (default 20,000)")
    parser.add_argument("--window-bp", type=int, default=5000)
    parser.add_argument("--bin-bp", type=int, default=100)
    parser.add_argument("--near-tss", type=float, default=0.3, help="fraction of reads drawn near TSSs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT, help="cache and output folder (bench/out)")
    parser.add_argument("--skip-bedtools", action="store_true", help="time the floor and the native engine only")
    parser.add_argument("--parser", default="auto", choices=["auto", "strict", "general"], help="text parser")
    sub = parser.add_subparsers(dest="child")
    child = sub.add_parser("_native", help=argparse.SUPPRESS)
    child.add_argument("--tss", required=True)
    child.add_argument("--reads-file", required=True)
    child.add_argument("--counts", required=True)
    child.add_argument("--twice", action="store_true", help="bin twice, report the second run")
    floor = sub.add_parser("_floor", help=argparse.SUPPRESS)
    floor.add_argument("--reads-file", required=True)
    floor.add_argument("--out-json", required=True)
    args = parser.parse_args()
    if args.child == "_native":
        native_child(args)
        return 0
    if args.child == "_floor":
        floor_child(args)
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    sizes = chrom_sizes()
    tag = f"g{args.genes}_w{args.window_bp}_s{args.seed}"
    tss_path = args.out / f"tss_{tag}.tsv"
    reads_path = args.out / f"reads_{args.reads}_{tag}_n{args.near_tss}.tagAlign.gz"
    bins_path = args.out / f"bins_{tag}_b{args.bin_bp}.bed"
    if not tss_path.exists():
        make_genes(args.genes, args.window_bp, sizes, args.seed, tss_path)
    if not reads_path.exists():
        print(f"generating {args.reads:,} unsorted reads -> {reads_path} (cached for later runs)")
        started = time.perf_counter()
        make_reads(args.reads, tss_path, sizes, args.near_tss, args.seed, reads_path)
        print(f"  {time.perf_counter() - started:.1f} s, {reads_path.stat().st_size / 1e6:.0f} MB")
    if not bins_path.exists():
        write_bins(tss_path, args.window_bp, args.bin_bp, bins_path)
    n_bins = 2 * args.window_bp // args.bin_bp
    shape = (args.genes, n_bins)

    native_npy = args.out / "native_counts.npy"
    print(f"{args.reads:,} reads, {args.genes:,} genes x {n_bins} bins, {os.cpu_count()} CPUs, parser {args.parser}")
    floor_json = args.out / "floor.json"
    floor = run_child(
        [sys.executable, __file__, "_floor", "--reads-file", str(reads_path), "--out-json", str(floor_json)]
    )
    floor_in = json.loads(floor_json.read_text())
    print(
        f"floor     wall {floor['wall_s']:7.2f} s  cpu {floor['cpu_s']:7.2f} s  peak {floor['peak_mb']:7.0f} MB  "
        f"(in-process {floor_in['seconds']:.2f} s: isal decompression alone, {floor_in['bytes'] / 1e6:,.0f} MB of text)"
    )
    if shutil.which("igzip"):
        igzip = run_child(["igzip", "-dc", str(reads_path)])
        print(f"igzip -dc wall {igzip['wall_s']:7.2f} s  cpu {igzip['cpu_s']:7.2f} s  peak {igzip['peak_mb']:7.0f} MB")
    native_cmd = [
        sys.executable, __file__, "--window-bp", str(args.window_bp), "--bin-bp", str(args.bin_bp),
        "--parser", args.parser, "_native", "--tss", str(tss_path), "--reads-file", str(reads_path),
    ]  # fmt: skip
    native = run_child([*native_cmd, "--counts", str(native_npy)])
    counts_native = np.load(native_npy)
    stats = json.loads(native_npy.with_suffix(".json").read_text())
    print(
        f"native    wall {native['wall_s']:7.2f} s  cpu {native['cpu_s']:7.2f} s  "
        f"peak {native['peak_mb']:7.0f} MB  (in-process {stats['seconds']:.2f} s, "
        f"{stats['reads_near_windows']:,} reads near windows)"
    )
    print(
        f"native / floor: in-process {stats['seconds'] / floor_in['seconds']:.2f}x, "
        f"wall {native['wall_s'] / floor['wall_s']:.2f}x  (target: at most 2x on 2 cores)"
    )
    twice_npy = args.out / "native_twice_counts.npy"
    run_child([*native_cmd, "--counts", str(twice_npy), "--twice"])
    again = json.loads(twice_npy.with_suffix(".json").read_text())
    print(
        f"native, a second file in the same process (numba and its kernels loaded): in-process "
        f"{again['seconds']:.2f} s, {again['seconds'] / floor_in['seconds']:.2f}x the floor "
        f"(start-up of the first: {stats['seconds'] - again['seconds']:.2f} s)"
    )
    equal_all = True
    # The whole command a user runs: interpreter start-up, imports, reading the TSS table, binning and
    # writing the TSV, against the floor's whole process (its interpreter start-up included).
    cli_tsv = args.out / "cli_counts.tsv"
    script = Path(sys.executable).with_name("chromexpr")
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "chromexpr.cli"]
    cli = run_child(
        [*entry, "bin-reads", "--reads", str(reads_path), "--tss", str(tss_path), "--out", str(cli_tsv),
         "--window-bp", str(args.window_bp), "--bin-bp", str(args.bin_bp)]
    )  # fmt: skip
    print(
        f"cli       wall {cli['wall_s']:7.2f} s  cpu {cli['cpu_s']:7.2f} s  peak {cli['peak_mb']:7.0f} MB  "
        f"(chromexpr bin-reads --out counts.tsv, the whole process)"
    )
    print(f"cli / floor: wall {cli['wall_s'] / floor['wall_s']:.2f}x  (target: at most 2.5x)")
    cli_counts = np.loadtxt(cli_tsv, skiprows=1, usecols=range(1, n_bins + 1), dtype=np.int64)
    equal_all &= report_equal("chromexpr bin-reads TSV", counts_native, cli_counts)
    if args.skip_bedtools:
        return 0 if equal_all else 1

    bedtools_out = args.out / "bedtools_counts.bed"
    bedtools = run_child(["bedtools", "intersect", "-c", "-a", str(bins_path), "-b", str(reads_path)], bedtools_out)
    print(
        f"bedtools  wall {bedtools['wall_s']:7.2f} s  cpu {bedtools['cpu_s']:7.2f} s  "
        f"peak {bedtools['peak_mb']:7.0f} MB  (intersect -c, unsorted reads)"
    )
    print(
        f"speed-up  wall {bedtools['wall_s'] / native['wall_s']:.1f}x  "
        f"cpu {bedtools['cpu_s'] / native['cpu_s']:.1f}x;  "
        f"memory native/bedtools {native['peak_mb'] / bedtools['peak_mb']:.2f}"
    )
    equal_all &= report_equal("bedtools intersect -c", counts_native, bedtools_counts(bedtools_out, shape))

    sorted_bins = args.out / f"{bins_path.stem}.sorted.bed"
    if not sorted_bins.exists():  # once for all files, not timed
        run_child(["bedtools", "sort", "-i", str(bins_path)], sorted_bins)
    sorted_reads = args.out / "reads.sorted.bed"
    sort = run_child(["bedtools", "sort", "-i", str(reads_path)], sorted_reads)
    sorted_out = args.out / "bedtools_sorted_counts.bed"
    intersect = run_child(
        ["bedtools", "intersect", "-sorted", "-c", "-a", str(sorted_bins), "-b", str(sorted_reads)], sorted_out
    )
    sorted_reads.unlink()
    total_wall = sort["wall_s"] + intersect["wall_s"]
    print(
        f"sorted    wall {total_wall:7.2f} s  cpu {sort['cpu_s'] + intersect['cpu_s']:7.2f} s  "
        f"peak {max(sort['peak_mb'], intersect['peak_mb']):7.0f} MB  (bedtools sort {sort['wall_s']:.2f} s "
        f"+ intersect -sorted -c {intersect['wall_s']:.2f} s)"
    )
    print(
        f"speed-up over sort + intersect -sorted: wall {total_wall / native['wall_s']:.1f}x "
        f"(intersect -sorted alone {intersect['wall_s'] / native['wall_s']:.1f}x)"
    )
    equal_all &= report_equal("bedtools sort + intersect -sorted", counts_native, bedtools_counts(sorted_out, shape))
    return 0 if equal_all else 1


def report_equal(label: str, native: np.ndarray, other: np.ndarray) -> bool:
    """Print whether ``other`` equals the native counts bin by bin; return it."""
    equal = native.shape == other.shape and np.array_equal(native, other)
    diff = int((native != other).sum()) if native.shape == other.shape else "shape"
    print(
        f"counts equal bin by bin ({label}): {'yes' if equal else 'NO'} "
        f"({native.sum():,} read-bin overlaps; differing bins: {0 if equal else diff})"
    )
    return equal


if __name__ == "__main__":
    sys.exit(main())

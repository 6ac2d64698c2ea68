"""Read binning: hand-checked counts, native == bedtools bin by bin, errors, TSV output."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from released_files import write_text

from chromexpr.errors import InputError
from chromexpr.preprocess import binning
from chromexpr.preprocess.binning import bin_reads, write_counts_tsv
from chromexpr.preprocess.geometry import BinGeometry

ENGINES = ["native", "bedtools"]
GEO = BinGeometry(window_bp=300, bin_bp=100)  # 6 bins; bin 3 starts at the TSS


def tss_table(rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["gene_id", "chrom", "tss", "strand"])


def write_bed(path: Path, reads: list[tuple[str, int, int]], gz: bool = False) -> Path:
    return write_text(path, "".join(f"{c}\t{s}\t{e}\tN\t1000\t+\n" for c, s, e in reads), gz=gz)


# ------------------------------------------------------------------------------------------
# Hand-checked counts
# ------------------------------------------------------------------------------------------

# "+" gene on chr1, TSS 1000: window [700, 1300); bins [700,800) [800,900) [900,1000) [1000,1100)
# [1100,1200) [1200,1300), already in transcription order.
# "-" gene on chr2, TSS 5000: window [5000+1-300, 5000+1+300) = [4701, 5301); genomic bins
# [4701,4801) [4801,4901) [4901,5001) [5001,5101) [5101,5201) [5201,5301), reversed for transcription:
# col0=[5201,5301) col1=[5101,5201) col2=[5001,5101) col3=[4901,5001) col4=[4801,4901) col5=[4701,4801).
HAND_GENES = tss_table([("plus", "chr1", 1000, "+"), ("minus", "chr2", 5000, "-")])
HAND_READS = [
    ("chr1", 750, 760),  # a: inside col0
    ("chr1", 790, 810),  # b: crosses 800 -> col0 and col1
    ("chr1", 800, 900),  # c: exactly [800,900): col1 only (half-open: touches neither neighbour)
    ("chr1", 699, 700),  # d: ends where the window starts -> nothing
    ("chr1", 1300, 1310),  # e: starts where the window ends -> nothing
    ("chr1", 650, 1350),  # f: spans the whole window -> all six bins
    ("chr1", 1099, 1101),  # g: crosses 1100 -> col3 and col4
    ("chr2", 5000, 5001),  # m1: the TSS base, genomic [4901,5001) -> col3
    ("chr2", 5001, 5002),  # m2: first base downstream in genome order, [5001,5101) -> col2
    ("chr2", 5250, 5260),  # m3: [5201,5301) -> col0
    ("chr2", 4700, 4702),  # m4: overlaps base 4701 only -> col5
    ("chr2", 4600, 4701),  # m5: ends where the window starts -> nothing
    ("chr2", 5301, 5400),  # m6: starts where the window ends -> nothing
    ("chrUn_gl000220", 10, 20),  # not in the TSS table: counted in stats, not binned
]
# plus:  col0 a,b,f=3  col1 b,c,f=3  col2 f=1  col3 f,g=2  col4 f,g=2  col5 f=1
# minus: col0 m3=1  col1 0  col2 m2=1  col3 m1=1  col4 0  col5 m4=1
HAND_EXPECTED = np.array([[3, 3, 1, 2, 2, 1], [1, 0, 1, 1, 0, 1]], dtype=np.int32)


@pytest.mark.parametrize("engine", ENGINES)
def test_hand_checked_counts(tmp_path: Path, engine: str) -> None:
    reads = write_bed(tmp_path / "reads.tagAlign", HAND_READS[::-1])  # unsorted on purpose
    counts, stats = bin_reads(reads, HAND_GENES, GEO, engine=engine)
    assert counts.dtype == np.int32 and counts.shape == (2, GEO.n_bins)
    np.testing.assert_array_equal(counts, HAND_EXPECTED)
    assert stats["engine"] == engine
    assert stats["reads_total"] == 14
    assert stats["reads_on_tss_chroms"] == 13
    assert stats["reads_off_tss_chroms"] == 1
    assert stats["reads_off_tss_chroms_by_chrom"] == {"chrUn_gl000220": 1}
    assert stats["reads_per_chrom"] == {"chrUn_gl000220": 1, "chr2": 6, "chr1": 7}


def test_unoriented_bins_stay_in_genome_order(tmp_path: Path) -> None:
    reads = write_bed(tmp_path / "reads.bed", HAND_READS)
    geometry = BinGeometry(window_bp=300, bin_bp=100, orient_by_strand=False)
    counts, _ = bin_reads(reads, HAND_GENES, geometry)
    np.testing.assert_array_equal(counts[1], HAND_EXPECTED[1, ::-1])  # minus gene not reversed
    np.testing.assert_array_equal(counts[0], HAND_EXPECTED[0])


@pytest.mark.parametrize("engine", ENGINES)
def test_chr_less_read_names(tmp_path: Path, engine: str) -> None:
    renamed = [(c.removeprefix("chr"), s, e) for c, s, e in HAND_READS]
    reads = write_bed(tmp_path / "reads.bed.gz", renamed, gz=True)
    counts, stats = bin_reads(reads, HAND_GENES, GEO, engine=engine)
    np.testing.assert_array_equal(counts, HAND_EXPECTED)
    assert stats["chrom_renamed"] == {"1": "chr1", "2": "chr2"}
    assert stats["reads_off_tss_chroms_by_chrom"] == {"Un_gl000220": 1}


def test_rows_follow_the_tss_table_order(tmp_path: Path) -> None:
    reads = write_bed(tmp_path / "reads.bed", HAND_READS)
    swapped = HAND_GENES.iloc[::-1].reset_index(drop=True)
    counts, _ = bin_reads(reads, swapped, GEO)
    np.testing.assert_array_equal(counts, HAND_EXPECTED[::-1])


# ------------------------------------------------------------------------------------------
# native == bedtools, bin by bin
# ------------------------------------------------------------------------------------------

SIZES = {"chr1": 60_000, "chr2": 40_000, "chr3": 30_000}


def random_case(seed: int) -> tuple[pd.DataFrame, list[tuple[str, int, int]], BinGeometry]:
    """Genes (with overlapping windows, duplicates, windows flush with both chromosome ends) and
    unsorted reads: random lengths, reads ending exactly on bin edges or starting on them, long
    reads spanning several windows, reads on a chromosome without genes."""
    rng = np.random.default_rng(seed)
    geometry = BinGeometry(window_bp=1000, bin_bp=100)
    w = geometry.window_bp
    rows = []
    for i in range(40):
        chrom = str(rng.choice(list(SIZES)))
        strand = str(rng.choice(["+", "-"]))
        rows.append((f"g{i}", chrom, int(rng.integers(w, SIZES[chrom] - w - 1)), strand))
    # Windows flush with the chromosome ends: "+" at 0 needs tss = w; "-" ending at size needs
    # tss + 1 + w == size.
    rows += [("start_plus", "chr1", w, "+"), ("end_minus", "chr2", SIZES["chr2"] - 1 - w, "-")]
    rows += [("start_minus", "chr3", w - 1, "-"), ("end_plus", "chr3", SIZES["chr3"] - w, "+")]
    rows += [("dup_a", "chr1", 20_000, "+"), ("dup_b", "chr1", 20_000, "-"), ("near", "chr1", 20_150, "+")]
    genes = tss_table(rows)

    reads = []
    edges = []
    for _, g in genes.iterrows():
        lo = g.tss - w + (g.strand == "-")
        edges += [(g.chrom, lo + k * geometry.bin_bp) for k in range(geometry.n_bins + 1)]
    for _ in range(6000):
        chrom = str(rng.choice(list(SIZES)))
        start = int(rng.integers(0, SIZES[chrom] - 1))
        length = int(rng.choice([1, 36, 100, 150, int(rng.integers(1, 600))]))
        reads.append((chrom, start, min(start + length, SIZES[chrom])))
    for chrom, edge in edges[::3]:  # reads touching edges from both sides
        length = int(rng.integers(1, 250))
        if edge - length >= 0:
            reads.append((chrom, edge - length, edge))  # ends exactly at an edge
        reads.append((chrom, edge, min(edge + length, SIZES[chrom])))  # starts exactly at one
    reads += [("chr1", 0, 60_000), ("chr2", 15_000, 39_999), ("chrM", 0, 100), ("chr3", 29_999, 30_000)]
    order = rng.permutation(len(reads))
    return genes, [reads[i] for i in order], geometry


def assert_engines_agree(reads: Path, genes: pd.DataFrame, geometry: BinGeometry, **kw: object) -> np.ndarray:
    native, native_stats = bin_reads(reads, genes, geometry, engine="native", **kw)
    reference, reference_stats = bin_reads(reads, genes, geometry, engine="bedtools", **kw)
    np.testing.assert_array_equal(native, reference)
    for key in ("reads_total", "reads_on_tss_chroms", "reads_off_tss_chroms_by_chrom", "chrom_renamed"):
        assert native_stats[key] == reference_stats[key]
    assert native.sum() > 1000  # the case is not trivially empty
    return native


@pytest.mark.parametrize("gz", [False, True])
def test_native_equals_bedtools_random(tmp_path: Path, gz: bool) -> None:
    genes, reads, geometry = random_case(seed=1)
    path = write_bed(tmp_path / "reads.tagAlign.gz", reads, gz=gz)
    assert_engines_agree(path, genes, geometry, chrom_sizes=SIZES)


def test_native_equals_bedtools_chr_less_names(tmp_path: Path) -> None:
    genes, reads, geometry = random_case(seed=2)
    reads = [(c.removeprefix("chr"), s, e) for c, s, e in reads]
    path = write_bed(tmp_path / "reads.bed", reads, gz=True)
    counts = assert_engines_agree(path, genes, geometry, chrom_sizes=SIZES)
    # The same reads under chr names give the same counts.
    chr_path = write_bed(tmp_path / "chr.bed", [("chr" + c, s, e) for c, s, e in reads])
    np.testing.assert_array_equal(bin_reads(chr_path, genes, geometry)[0], counts)


def test_native_equals_bedtools_small_chunks_and_buffers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    genes, reads, geometry = random_case(seed=3)
    path = write_bed(tmp_path / "reads.bed", reads)
    reference, _ = bin_reads(path, genes, geometry, engine="bedtools")
    # Slow path (a comment line makes pyarrow give up) + tiny chunks + many buffer flushes.
    slow = tmp_path / "slow.bed"
    slow.write_text("chr1\t5\t6\n#\n" + path.read_text())
    monkeypatch.setattr(binning, "_BUFFER_READS", 97)
    counts, _ = bin_reads(slow, genes, geometry, chunk_reads=101)
    extra, _ = bin_reads(write_bed(tmp_path / "one.bed", [("chr1", 5, 6)]), genes, geometry, engine="bedtools")
    np.testing.assert_array_equal(counts, reference + extra)


def write_bam(path: Path, reads: list[tuple[str, int, int]], chroms: dict[str, int], extra: bool = True) -> Path:
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": c, "LN": n} for c, n in chroms.items()]}
    names = list(chroms)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, (chrom, start, end) in enumerate(reads):
            seg = pysam.AlignedSegment(out.header)
            seg.query_name = f"r{i}"
            seg.reference_id = names.index(chrom)
            seg.reference_start = start
            seg.mapping_quality = 30
            length = end - start
            # Every 7th read is spliced over its middle: its span is still start..end without -split.
            if length > 20 and i % 7 == 0:
                seg.cigarstring = f"5M{length - 10}N5M"
                seq = 10
            else:
                seg.cigarstring = f"{length}M"
                seq = length
            seg.flag = 16 if i % 2 else 0
            seg.query_sequence = "A" * seq
            seg.query_qualities = pysam.qualitystring_to_array("I" * seq)
            out.write(seg)
            if extra and i % 50 == 0:
                # Secondary alignments: bedtools would count them; both engines must not.
                sec = pysam.AlignedSegment(out.header)
                sec.query_name = f"r{i}"
                sec.flag = 256
                sec.reference_id = names.index(chrom)
                sec.reference_start = start
                sec.mapping_quality = 0
                sec.cigarstring = f"{min(length, 50)}M"
                sec.query_sequence = "A" * min(length, 50)
                sec.query_qualities = pysam.qualitystring_to_array("I" * min(length, 50))
                out.write(sec)
    return path


@pytest.mark.parametrize("prefix", ["chr", ""])
def test_native_equals_bedtools_bam(tmp_path: Path, prefix: str) -> None:
    genes, reads, geometry = random_case(seed=4)
    reads = [(prefix + c.removeprefix("chr"), s, e) for c, s, e in reads]
    chroms = {prefix + c.removeprefix("chr"): n for c, n in {**SIZES, "chrM": 16_571}.items()}
    path = write_bam(tmp_path / "reads.bam", reads, chroms)
    counts = assert_engines_agree(path, genes, geometry)
    # Same counts as the equivalent tagAlign: spliced reads span start..end, secondaries are ignored.
    np.testing.assert_array_equal(counts, bin_reads(write_bed(tmp_path / "r.bed", reads), genes, geometry)[0])
    stats = bin_reads(path, genes, geometry)[1]
    assert stats["alignments_skipped"]["secondary"] == (len(reads) + 49) // 50


def test_bam_without_secondaries_goes_to_bedtools_directly(tmp_path: Path) -> None:
    genes, reads, geometry = random_case(seed=5)
    path = write_bam(tmp_path / "reads.bam", reads, {**SIZES, "chrM": 16_571}, extra=False)
    assert_engines_agree(path, genes, geometry)


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_window_leaving_chromosome_start(tmp_path: Path, engine: str) -> None:
    reads = write_bed(tmp_path / "reads.bed", HAND_READS)
    genes = tss_table([("ok", "chr1", 1000, "+"), ("edge", "chr1", 299, "+")])  # window [-1, 599)
    with pytest.raises(InputError, match="reference step drops") as info:
        bin_reads(reads, genes, GEO, engine=engine)
    assert "'edge'" in str(info.value) and "[-1, 599)" in str(info.value)


def test_window_leaving_chromosome_end(tmp_path: Path) -> None:
    reads = write_bed(tmp_path / "reads.bed", HAND_READS)
    # "-" gene at 1699: window [1400, 2000) fits a 2000-bp chromosome; at 1700 it would end at 2001.
    fits = tss_table([("m", "chr1", 1699, "-")])
    assert (
        bin_reads(write_bed(tmp_path / "r.bed", [("chr1", 0, 10)]), fits, GEO, chrom_sizes={"chr1": 2000})[0].sum() == 0
    )
    leaves = tss_table([("m", "chr1", 1700, "-")])
    with pytest.raises(InputError, match=r"(?s)chromosome size 2,000.*reference step") as info:
        bin_reads(reads, leaves, GEO, chrom_sizes={"chr1": 2000})
    assert "[1401, 2001)" in str(info.value)


def test_read_beyond_chromosome_end_names_file_and_line(tmp_path: Path) -> None:
    # A blank line and a header shift line numbers: the bad read (third read) is on line 5.
    path = tmp_path / "reads.bed"
    path.write_text("track name=x\nchr1\t10\t20\n\nchr1\t30\t40\nchr2\t9990\t10001\n")
    genes = tss_table([("g", "chr1", 1000, "+")])
    with pytest.raises(InputError, match="wrong assembly") as info:
        bin_reads(path, genes, GEO, chrom_sizes={"chr1": 5000, "chr2": 10_000})
    assert info.value.line == 5 and f"{path}:5" in str(info.value)
    assert "chr2:9990-10001" in str(info.value)


def test_chrom_sizes_in_other_spelling(tmp_path: Path) -> None:
    reads = write_bed(tmp_path / "reads.bed", HAND_READS)
    counts, _ = bin_reads(reads, HAND_GENES, GEO, chrom_sizes={"1": 10_000, "2": 10_000})
    np.testing.assert_array_equal(counts, HAND_EXPECTED)
    with pytest.raises(InputError, match="lack"):
        bin_reads(reads, HAND_GENES, GEO, chrom_sizes={"chr1": 10_000})


@pytest.mark.parametrize("engine", ENGINES)
def test_no_read_on_tss_chromosomes(tmp_path: Path, engine: str) -> None:
    reads = write_bed(tmp_path / "reads.bed", [("chrY", 10, 20), ("chrY", 30, 40)])
    with pytest.raises(InputError, match="no read lies on a chromosome of the TSS table") as info:
        bin_reads(reads, HAND_GENES, GEO, engine=engine)
    assert info.value.path == str(reads)


def test_bad_read_line_propagates(tmp_path: Path) -> None:
    path = tmp_path / "reads.bed"
    path.write_text("chr1\t10\t20\nchr1\t50\t40\n")
    with pytest.raises(InputError, match="greater than start") as info:
        bin_reads(path, HAND_GENES, GEO)
    assert info.value.line == 2


def test_bad_tss_table(tmp_path: Path) -> None:
    reads = write_bed(tmp_path / "reads.bed", HAND_READS)
    with pytest.raises(InputError, match="lacks column"):
        bin_reads(reads, HAND_GENES.drop(columns="strand"), GEO)
    with pytest.raises(InputError, match="strand"):
        bin_reads(reads, tss_table([("g", "chr1", 1000, ".")]), GEO)
    with pytest.raises(InputError, match="unknown binning engine"):
        bin_reads(reads, HAND_GENES, GEO, engine="fast")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# TSV output
# ------------------------------------------------------------------------------------------


def test_write_counts_tsv(tmp_path: Path) -> None:
    out = write_counts_tsv(HAND_EXPECTED, ["plus", "minus"], tmp_path / "sub" / "counts.tsv")
    assert out.read_text().splitlines() == [
        "gene_id\tbin_0\tbin_1\tbin_2\tbin_3\tbin_4\tbin_5",
        "plus\t3\t3\t1\t2\t2\t1",
        "minus\t1\t0\t1\t1\t0\t1",
    ]
    assert [p.name for p in out.parent.iterdir()] == ["counts.tsv"]  # no temporary left behind
    gz = write_counts_tsv(np.array([[0.5, 1 / 3]], dtype=np.float32), ["g"], tmp_path / "x.tsv.gz")
    assert gzip.decompress(gz.read_bytes()).decode().splitlines() == [
        "gene_id\tbin_0\tbin_1",
        "g\t0.5\t0.333333",
    ]
    with pytest.raises(ValueError, match="do not match"):
        write_counts_tsv(HAND_EXPECTED, ["only_one"], tmp_path / "bad.tsv")


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_write_counts_tsv_fast_path_writes_what_pandas_writes(tmp_path: Path, dtype: type) -> None:
    """Integer matrices go through pyarrow; the bytes equal pandas' ``to_csv`` (the general path), and ids
    pandas would quote (a tab, a quote) take the general path."""
    import pandas as pd

    from chromexpr.preprocess.binning import _plain_ints

    info = np.iinfo(dtype)
    counts = np.array([[0, 7, int(info.max)], [int(info.min), 12, 1]], dtype=dtype)
    for ids in (["ENSG01", "gène-2"], ['odd"id', "tab\tid"]):
        out = write_counts_tsv(counts, ids, tmp_path / "fast.tsv")
        frame = pd.DataFrame(counts, columns=["bin_0", "bin_1", "bin_2"])
        frame.insert(0, "gene_id", ids)
        frame.to_csv(tmp_path / "pandas.tsv", sep="\t", index=False, lineterminator="\n")
        assert out.read_bytes() == (tmp_path / "pandas.tsv").read_bytes()
    assert _plain_ints(counts, np.array(["a", "b"], dtype=object), tmp_path / "x.tsv")
    assert not _plain_ints(counts, np.array(['a"', "b"], dtype=object), tmp_path / "x.tsv")
    assert not _plain_ints(counts, np.array(["a", "b"], dtype=object), tmp_path / "x.tsv.gz")
    assert not _plain_ints(counts.astype(np.float32), np.array(["a", "b"], dtype=object), tmp_path / "x.tsv")
    assert "odd" in (tmp_path / "fast.tsv").read_text() and '"odd""id"' in (tmp_path / "fast.tsv").read_text()


def test_gene_errors_name_the_tss_file_and_line(tmp_path: Path) -> None:
    from chromexpr.io.tables import read_tss_table

    tss = tmp_path / "tss.tsv"
    tss.write_text("gene_id\tchrom\ttss\tstrand\nok\tchr1\t10000\t+\nearly\tchr1\t1000\t+\n")
    reads = tmp_path / "r.bed"
    reads.write_text("chr1\t9000\t9036\n")
    with pytest.raises(InputError) as info:
        bin_reads(reads, read_tss_table(tss), BinGeometry())  # window [-4000, 6000) of 'early'
    assert info.value.path == str(tss) and info.value.line == 3
    assert str(info.value).startswith(f"{tss}:3: 1 gene(s) have a window that leaves the chromosome")


def test_write_counts_tsv_names_bins_by_their_offset(tmp_path: Path) -> None:
    from chromexpr.preprocess.geometry import BinGeometry

    geometry = BinGeometry(window_bp=200, bin_bp=100)  # 4 bins: -200, -100, 0 (starts at the TSS), 100
    out = write_counts_tsv(np.array([[1, 2, 3, 4]]), ["g"], tmp_path / "c.tsv", geometry)
    assert out.read_text() == "gene_id\tbin_-200\tbin_-100\tbin_0\tbin_100\ng\t1\t2\t3\t4\n"
    with pytest.raises(ValueError, match="counts have 4 bins, the geometry 2"):
        write_counts_tsv(np.array([[1, 2, 3, 4]]), ["g"], tmp_path / "d.tsv", BinGeometry(window_bp=100, bin_bp=100))


@pytest.mark.parametrize("seed", [1, 2])
def test_block_counter_equals_edge_counter(seed: int) -> None:
    """The compiled counter (counts straight into bins) equals the numpy one (sort and searchsorted)
    read for read, reads kept included: dense windows (many genes per 4 kb block), reads spanning many
    blocks, reads past every window and off the table, fed in chunks."""
    rng = np.random.default_rng(seed)
    geometry = BinGeometry(window_bp=3000, bin_bp=250)
    rows = [(f"g{i}", "chr1", int(rng.integers(3000, 60_000)), str(rng.choice(["+", "-"]))) for i in range(60)]
    rows += [(f"h{i}", "chr2", int(rng.integers(3000, 87_000)), "+") for i in range(5)]
    genes = binning._prepare_genes(tss_table(rows), geometry)
    chrom = rng.integers(-1, 2, size=20_000).astype(np.int32)  # -1: a chromosome not in the table
    start = rng.integers(0, 150_000, size=chrom.size)
    length = rng.choice([1, 36, 250, 4096, 9000, 70_000], size=chrom.size)
    end = np.minimum(start + length, np.where(chrom == 1, 90_000, 200_000))
    edge, block = binning._EdgeCounter(genes, geometry, buffer_reads=3000), binning._BlockCounter(genes, geometry)
    for lo in range(0, chrom.size, 7000):
        part = slice(lo, lo + 7000)
        edge.add(chrom[part], start[part], end[part])
        block.add(chrom[part], start[part], end[part])
    np.testing.assert_array_equal(block.counts(), edge.counts())
    assert block.reads_kept == edge.reads_kept > 3_000
    assert block.counts().sum() > 100_000


@pytest.mark.parametrize("gz", [False, True])
def test_strict_parser_and_compiled_screen_equal_bedtools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gz: bool
) -> None:
    from chromexpr.io import reads as reads_module

    genes, reads, geometry = random_case(seed=5)
    path = write_bed(tmp_path / "reads.tagAlign.gz", reads, gz=gz)
    reference, reference_stats = bin_reads(path, genes, geometry, engine="bedtools", chrom_sizes=SIZES)
    monkeypatch.setattr(reads_module, "_TEXT_BLOCK", 16 << 10)  # many blocks through the threads
    monkeypatch.setattr(binning, "_BUFFER_READS", 500)  # many folds of the compiled screen's output
    general, general_stats = bin_reads(path, genes, geometry, parser="general", chunk_reads=900, chrom_sizes=SIZES)
    strict, strict_stats = bin_reads(path, genes, geometry, parser="strict", chunk_reads=900, chrom_sizes=SIZES)
    np.testing.assert_array_equal(strict, reference)
    np.testing.assert_array_equal(general, reference)
    for key in ("reads_total", "reads_per_chrom", "reads_off_tss_chroms_by_chrom", "reads_near_windows"):
        assert strict_stats[key] == general_stats[key]
    assert strict_stats["reads_total"] == reference_stats["reads_total"] == len(reads)


def test_strict_parser_read_beyond_chromosome_end(tmp_path: Path) -> None:
    genes, reads, geometry = random_case(seed=6)
    path = write_bed(tmp_path / "reads.bed", reads[:3000] + [("chr2", 39_990, 40_001)] + reads[3000:])
    for parser in ("strict", "general"):
        with pytest.raises(InputError) as info:
            bin_reads(path, genes, geometry, parser=parser, chunk_reads=500, chrom_sizes=SIZES)
        assert info.value.line == 3001 and "ends beyond the end of chr2" in str(info.value)

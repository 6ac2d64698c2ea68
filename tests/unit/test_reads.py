"""Reads reader: formats by magic bytes, chunking, BAM, chromosome naming, and errors with file:line."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import numpy as np
import pysam
import pytest
from released_files import write_text

from chromexpr.errors import InputError
from chromexpr.io import reads
from chromexpr.io.reads import (
    detect_read_format,
    iter_read_chunks,
    normalize_chrom_names,
    read_chrom_names,
    sniff_content,
)

TAGALIGN = "chr1\t100\t136\tN\t1000\t+\nchr2\t5\t41\tN\t1000\t-\nchr1\t0\t36\tN\t1000\t+\nchrX\t7\t8\tN\t1000\t-\n"


def read_all(path: Path, chunk_reads: int = 1_000_000) -> tuple[list[str], list[int], list[int]]:
    """All reads of ``path`` as (chrom names, starts, ends) lists, in file order."""
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for chunk in iter_read_chunks(path, chunk_reads):
        assert chunk.codes.dtype == np.int32 and chunk.starts.dtype == np.int64
        chroms += [str(chunk.chroms[c]) for c in chunk.codes]
        starts += chunk.starts.tolist()
        ends += chunk.ends.tolist()
    return chroms, starts, ends


EXPECTED = (["chr1", "chr2", "chr1", "chrX"], [100, 5, 0, 7], [136, 41, 36, 8])


@pytest.mark.parametrize("gz", [False, True])
def test_tagalign_plain_and_gzip(tmp_path: Path, gz: bool) -> None:
    path = write_text(tmp_path / "reads.tagAlign.gz", TAGALIGN, gz=gz)
    assert detect_read_format(path) == ("bed.gz" if gz else "bed")  # by content, not by name
    assert read_all(path) == EXPECTED


def test_format_from_magic_bytes_not_extension(tmp_path: Path) -> None:
    path = write_text(tmp_path / "reads.bed", TAGALIGN, gz=True)  # gzip content behind a .bed name
    assert detect_read_format(path) == "bed.gz"
    assert read_all(path) == EXPECTED


def test_bed3_and_extra_columns(tmp_path: Path) -> None:
    path = write_text(tmp_path / "r.bed", "chr1\t10\t20\nchr1\t30\t40\n")
    assert read_all(path) == (["chr1", "chr1"], [10, 30], [20, 40])


def test_chunks_number_reads_and_lines_continuously(tmp_path: Path) -> None:
    # 300,000 lines (~8 MB) make three 4 MB text blocks; a chunk gathers whole blocks until it
    # holds at least chunk_reads reads.
    path = write_text(tmp_path / "r.tagAlign.gz", many_lines(300_000), gz=True)
    chunks = list(iter_read_chunks(path, chunk_reads=50_000))
    assert sum(len(c) for c in chunks) == 300_000 and len(chunks) >= 2
    assert [c.first_read for c in chunks] == list(np.cumsum([0] + [len(c) for c in chunks[:-1]]))
    for chunk in chunks:
        # Read k of the file sits on line k + 1 and starts at k (see many_lines).
        assert chunk.starts[0] == chunk.first_read and chunk.line_of(0) == chunk.first_read + 1
        assert chunk.line_of(len(chunk) - 1) == chunk.first_read + len(chunk)


def test_header_and_blank_lines_are_skipped_and_lines_located(tmp_path: Path) -> None:
    text = "track name=x\n#comment\n" + "chr1\t1\t2\n" + "\n" + "chr1\t3\t4\n"
    path = write_text(tmp_path / "r.bed", text)
    (chunk,) = list(iter_read_chunks(path))
    assert chunk.starts.tolist() == [1, 3]
    # Read 0 is on line 3 (after two header lines); read 1 on line 5 (after a blank line).
    assert [chunk.line_of(0), chunk.line_of(1)] == [3, 5]


def many_lines(n: int, chrom: str = "chr1") -> str:
    return "".join(f"{chrom}\t{i}\t{i + 36}\tN\t1000\t+\n" for i in range(n))


def test_odd_but_valid_lines_in_the_middle(tmp_path: Path) -> None:
    # 200,000 lines (~5.5 MB) make two text blocks: the comment and whitespace lines send the
    # block holding them through the Python parser; reads and their lines must stay exact.
    text = many_lines(150_000) + "# a comment in the middle\n" + "   \n" + "chr2\t5\t9\n" + many_lines(50_000, "chr3")
    path = write_text(tmp_path / "r.bed.gz", text, gz=True)
    chunks = list(iter_read_chunks(path, chunk_reads=10_000))
    chroms, starts, _ = read_all(path, chunk_reads=10_000)
    assert len(starts) == 200_001
    assert starts[:150_000] == list(range(150_000))
    assert chroms[150_000:150_002] == ["chr2", "chr3"] and starts[150_000:150_003] == [5, 0, 1]
    assert [c.first_read for c in chunks] == list(np.cumsum([0] + [len(c) for c in chunks[:-1]]))
    line = {c.first_read + i: c.line_of(i) for c in chunks for i in range(len(c))}
    # Lines 150,001-150,002 are the comment and the blank: the chr2 read is on line 150,003.
    assert line[149_999] == 150_000 and line[150_000] == 150_003 and line[200_000] == 200_003


def test_ragged_column_counts_are_accepted(tmp_path: Path) -> None:
    path = write_text(tmp_path / "r.bed", "chr1\t1\t2\nchr1\t3\t4\tname\t0\t+\n")
    assert read_all(path) == (["chr1", "chr1"], [1, 3], [2, 4])


# ------------------------------------------------------------------------------------------
# Errors name the file and the 1-based line
# ------------------------------------------------------------------------------------------


def expect_error(path: Path, line: int | None, *words: str) -> InputError:
    with pytest.raises(InputError) as info:
        for _ in iter_read_chunks(path):
            pass
    err = info.value
    assert err.path == str(path)
    assert err.line == line
    text = str(err)
    assert (f"{path}:{line}" if line is not None else str(path)) in text
    for word in words:
        assert word in text
    return err


GOOD = "chr1\t10\t20\tN\t0\t+\n"


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("bad_line", "words"),
    [
        ("chr1\t10\n", ["at least 3", "found 2"]),
        ("chr1 10 20 N 0 +\n", ["spaces", "tab"]),
        ("chr1\tten\t20\tN\t0\t+\n", ["column 2 (start)", "not an integer", "'ten'"]),
        ("chr1\t10\t20.5\tN\t0\t+\n", ["column 3 (end)", "not an integer"]),
        ("chr1\t\t20\tN\t0\t+\n", ["column 2 (start)"]),
        ("chr1\t-5\t20\tN\t0\t+\n", ["negative", "-5"]),
        ("chr1\t20\t20\tN\t0\t+\n", ["end (20) must be greater than start (20)"]),
        ("chr1\t30\t20\tN\t0\t+\n", ["end (20) must be greater than start (30)"]),
        ("\t10\t20\tN\t0\t+\n", ["chromosome name", "empty"]),
    ],
)
def test_bad_line_is_reported_with_file_and_line(tmp_path: Path, gz: bool, bad_line: str, words: list[str]) -> None:
    path = write_text(tmp_path / "r.tagAlign.gz", GOOD * 3 + bad_line + GOOD, gz=gz)
    expect_error(path, 4, *words)


def test_bad_line_after_fast_chunks_keeps_exact_line(tmp_path: Path) -> None:
    # The first blocks are parsed fast and delivered; the bad read sits past them, on line 200,003.
    path = write_text(tmp_path / "r.bed.gz", "#header\n" + many_lines(200_001) + "chr1\t7\tx\n", gz=True)
    delivered = 0
    with pytest.raises(InputError) as info:
        for chunk in iter_read_chunks(path, chunk_reads=10_000):
            delivered += len(chunk)
    assert delivered > 0
    assert info.value.line == 200_003
    assert f"{path}:200003" in str(info.value)


def test_truncated_gzip(tmp_path: Path) -> None:
    full = tmp_path / "full.gz"
    write_text(full, many_lines(50_000), gz=True)
    data = full.read_bytes()
    path = tmp_path / "cut.tagAlign.gz"
    path.write_bytes(data[: len(data) // 2])
    err = expect_error(path, _line_of(tmp_path / "cut.tagAlign.gz"), "truncated", "gzip -t")
    assert err.line is not None and 1 < err.line <= 50_000


def _line_of(path: Path) -> int:
    """The line the reader reports for a broken gzip: one after the last complete line."""
    with pytest.raises(InputError) as info:
        for _ in iter_read_chunks(path):
            pass
    assert "after" in str(info.value)
    complete = int(str(info.value).split("after ")[1].split(" complete")[0])
    assert info.value.line == complete + 1
    return info.value.line


def test_corrupt_gzip(tmp_path: Path) -> None:
    full = tmp_path / "full.gz"
    write_text(full, many_lines(20_000), gz=True)
    data = bytearray(full.read_bytes())
    data[200:260] = b"\xff" * 60  # garbage inside the deflate stream
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        for _ in iter_read_chunks(path):
            pass
    assert info.value.path == str(path) and info.value.line is not None
    assert "gzip" in str(info.value)


@pytest.mark.parametrize(
    ("content", "line", "word"),
    [
        (b"", None, "empty (0 bytes)"),
        (gzip.compress(b""), None, "no reads"),
        (b"track name=empty\n", None, "no reads"),
        (b"\n\n", None, "no reads"),
    ],
)
def test_empty_files(tmp_path: Path, content: bytes, line: int | None, word: str) -> None:
    path = tmp_path / "empty.tagAlign.gz"
    path.write_bytes(content)
    expect_error(path, line, word)


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.bed", None, "not found")


def test_bigwig_given_as_reads(tmp_path: Path) -> None:
    path = tmp_path / "signal.bed"
    path.write_bytes(b"\x26\xfc\x8f\x88" + b"\0" * 60)
    expect_error(path, None, "bigWig")


# Random bytes: no gzip magic, no bigWig magic, not text (fixed seed for a stable test).
RANDOM_BYTES = np.random.default_rng(7).integers(0, 256, 20_000, dtype=np.uint8).tobytes()


def test_random_bytes_named_bam(tmp_path: Path) -> None:
    path = tmp_path / "reads.bam"
    path.write_bytes(RANDOM_BYTES)
    err = expect_error(path, None, "samtools quickcheck")
    assert str(err).startswith(
        f"{path}: not a BAM file (no BAM header after BGZF decompression): the content is binary data"
    )
    assert "though the name says BAM" in str(err)
    assert "spaces" not in str(err)


@pytest.mark.parametrize(("gz", "words"), [(False, "plain text"), (True, "gzip-compressed text")])
def test_text_named_bam_names_both_formats(tmp_path: Path, gz: bool, words: str) -> None:
    path = write_text(tmp_path / "reads.bam", TAGALIGN, gz=gz)
    err = expect_error(path, None, "not a BAM file (no BAM header after BGZF decompression)")
    assert f"the content is {words}, though the name says BAM" in str(err)


def test_random_bytes_under_a_text_name(tmp_path: Path) -> None:
    path = tmp_path / "reads.tagAlign"
    path.write_bytes(RANDOM_BYTES)
    err = expect_error(path, None, "not a reads file: the content is binary data of no known format")
    assert "its name says plain-text tagAlign/BED" in str(err)
    assert "spaces" not in str(err)


def test_gzip_of_binary_data(tmp_path: Path) -> None:
    path = tmp_path / "reads.tagAlign.gz"
    path.write_bytes(gzip.compress(RANDOM_BYTES))
    expect_error(path, None, "not a reads file: the content is gzip-compressed binary data")


def test_sam_text(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "reads.txt", "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:1000\nr\t0\tchr1\t5\t30\t4M\t*\t0\t0\tACGT\tIIII\n"
    )
    expect_error(path, 1, "SAM file", "samtools view -b")


def test_directory_instead_of_reads(tmp_path: Path) -> None:
    expect_error(tmp_path, None, "is a directory, not a reads file")


def test_readable_content_under_another_name_warns_naming_both(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_text(tmp_path / "reads.bw", TAGALIGN)  # text under a bigWig name: read, with a warning
    with caplog.at_level("WARNING", logger="chromexpr.reads"):
        assert read_all(path) == EXPECTED
    assert f"{path}: read as plain text by its content; its name says bigWig" in caplog.text


def test_latin1_text_is_not_called_binary(tmp_path: Path) -> None:
    path = tmp_path / "reads.bed"
    path.write_bytes(b"chr1\t1\t5\n" + "chr\xe9\t1\t5\n".encode("latin-1"))
    expect_error(path, 2, "chromosome name is not text")


# ------------------------------------------------------------------------------------------
# BAM
# ------------------------------------------------------------------------------------------


def make_bam(path: Path, records: list[tuple[str, int, int, str]]) -> Path:
    """Records are (name, flag, 0-based position, cigar), all on chr1 (or chr2 for names 'c2*')."""
    header = {
        "HD": {"VN": "1.6", "SO": "unsorted"},
        "SQ": [{"SN": "chr1", "LN": 100_000}, {"SN": "chr2", "LN": 50_000}],
    }
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for name, flag, pos, cigar in records:
            seg = pysam.AlignedSegment(out.header)
            seg.query_name = name
            seg.flag = flag
            seg.reference_id = 1 if name.startswith("c2") else 0
            seg.reference_start = pos
            seg.mapping_quality = 30
            seg.cigarstring = cigar
            length = sum(n for op, n in seg.cigartuples if op in (0, 1, 4, 7, 8))
            seg.query_sequence = "A" * length
            seg.query_qualities = pysam.qualitystring_to_array("I" * length)
            out.write(seg)
    return path


BAM_RECORDS = [
    ("primary", 0, 100, "36M"),
    ("secondary", 256, 200, "36M"),  # skipped: would count a multi-mapped read twice
    ("unmapped", 4, 300, "36M"),  # skipped
    ("supplementary", 2048, 400, "20M"),  # kept, as bedtools keeps it
    ("spliced", 16, 1000, "10M500N10M"),  # span 1000..1520 (reference_end), as bedtools without -split
    ("deletion", 0, 2000, "5M10D5M"),  # span 2000..2020
    ("c2_read", 0, 50, "30M"),
]


def test_bam_reads_spans_and_skips(tmp_path: Path) -> None:
    path = make_bam(tmp_path / "reads.bam", BAM_RECORDS)
    assert detect_read_format(path) == "bam"
    assert sniff_content(path) == "bam"
    chunks = list(iter_read_chunks(path))
    assert read_all(path) == (
        ["chr1", "chr1", "chr1", "chr1", "chr2"],
        [100, 400, 1000, 2000, 50],
        [136, 420, 1520, 2020, 80],
    )
    skipped = {k: sum(c.skipped.get(k, 0) for c in chunks) for k in ("unmapped", "secondary")}
    assert skipped == {"unmapped": 1, "secondary": 1}
    # line_of gives the BAM record number (1-based) of each read.
    assert [chunks[0].line_of(i) for i in range(5)] == [1, 4, 5, 6, 7]
    assert read_chrom_names(path) == ["chr1", "chr2"]


def test_truncated_bam(tmp_path: Path) -> None:
    full = make_bam(tmp_path / "full.bam", [("r", 0, i, "36M") for i in range(20_000)])
    data = full.read_bytes()
    path = tmp_path / "cut.bam"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        for _ in iter_read_chunks(path):
            pass
    assert info.value.path == str(path)
    assert "truncated" in str(info.value) or "cannot open" in str(info.value)


# ------------------------------------------------------------------------------------------
# Chromosome names
# ------------------------------------------------------------------------------------------


def test_normalize_chrom_names_both_directions() -> None:
    assert normalize_chrom_names(["1", "X", "MT", "GL000192.1"], ["chr1", "chrX", "chrM"]) == {
        "1": "chr1",
        "X": "chrX",
        "MT": "chrM",
        "GL000192.1": "GL000192.1",  # no counterpart: kept, later reported as off the table
    }
    assert normalize_chrom_names(["chr1", "chrM", "chrY"], ["1", "MT", "2"]) == {
        "chr1": "1",
        "chrM": "MT",
        "chrY": "chrY",
    }
    # An exact match wins over a convention match.
    assert normalize_chrom_names(["1"], ["chr1", "1"]) == {"1": "1"}


def test_read_chrom_names_text(tmp_path: Path) -> None:
    path = write_text(tmp_path / "r.bed", TAGALIGN)
    assert read_chrom_names(path) == ["chr1", "chr2", "chrX"]


# ----------------------------------------------------------------------------------------------
# The strict (compiled, threaded) parser gives the same chunks as the general one
# ----------------------------------------------------------------------------------------------


def chunks_as_lists(path: Path, parser: str, chunk_reads: int = 7_000) -> list[tuple]:
    """Every chunk as plain values: chromosome names, codes, starts, ends, first read, every line."""
    out = []
    for chunk in iter_read_chunks(path, chunk_reads, parser=parser):
        lines = [chunk.line_of(i) for i in range(len(chunk))]
        out.append(
            (
                list(chunk.chroms),
                chunk.codes.tolist(),
                chunk.starts.tolist(),
                chunk.ends.tolist(),
                chunk.first_read,
                lines,
            )
        )
    return out


def mixed_text(seed: int) -> str:
    """Unsorted reads on many chromosomes (short, long and >8-byte names), tagAlign and BED3 lines,
    and, in the middle, lines only the general parser takes (comment, blank, CRLF, spaces)."""
    rng = np.random.default_rng(seed)
    names = ["chr1", "chr2", "chrX", "chrUn_gl000220", "chrUn_gl000221", "chr17_ctg5_hap1", "1", "MT"]
    lines = []
    for i in range(30_000):
        chrom = names[int(rng.integers(len(names)))]
        start = int(rng.integers(0, 10**9))
        tail = "\tN\t1000\t+" if i % 3 else ""
        lines.append(f"{chrom}\t{start}\t{start + int(rng.integers(1, 500))}{tail}\n")
    lines[12_000:12_000] = ["# a comment\n", "\n", "chr2\t5\t9\r\n", "chr2\t 6\t9\n"]
    return "track name=mixed\n" + "".join(lines)


@pytest.mark.parametrize("gz", [False, True])
def test_strict_parser_gives_the_general_parsers_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gz: bool
) -> None:
    monkeypatch.setattr(reads, "_TEXT_BLOCK", 64 << 10)  # ~20 blocks: threads hand many over
    path = write_text(tmp_path / "r.bed", mixed_text(seed=4), gz=gz)
    strict = chunks_as_lists(path, "strict")
    assert strict == chunks_as_lists(path, "general")
    assert sum(len(c[2]) for c in strict) == 30_002  # the comment and the blank line carry no read
    assert len(strict[0][0]) == 8  # every name, in order of first appearance


def test_auto_parser_picks_strict_by_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_text(tmp_path / "r.bed", TAGALIGN)
    assert not reads.uses_strict_parser(path) and reads.uses_strict_parser(path, "strict")
    monkeypatch.setattr(reads, "STRICT_MIN_BYTES", 10)
    assert reads.uses_strict_parser(path) and not reads.uses_strict_parser(path, "general")
    assert read_all(path) == EXPECTED
    with pytest.raises(ValueError, match="parser"):
        reads.uses_strict_parser(path, "fast")


def test_strict_parser_errors_name_the_same_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reads, "_TEXT_BLOCK", 64 << 10)
    path = write_text(tmp_path / "r.bed.gz", "#header\n" + many_lines(40_001) + "chr1\t7\tx\n", gz=True)
    for parser in ("strict", "general"):
        with pytest.raises(InputError) as info:
            for _ in iter_read_chunks(path, 10_000, parser=parser):
                pass
        assert info.value.line == 40_003 and "column 3 (end) is not an integer" in str(info.value)


def test_strict_parser_truncated_gzip_and_threads_stop(tmp_path: Path) -> None:
    full = write_text(tmp_path / "full.gz", many_lines(50_000), gz=True)
    path = tmp_path / "cut.gz"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    before = threading.active_count()
    errors = []
    for parser in ("strict", "general"):
        with pytest.raises(InputError) as info:
            for _ in iter_read_chunks(path, parser=parser):
                pass
        errors.append((info.value.line, "truncated" in str(info.value)))
    assert errors[0] == errors[1] and errors[0][1]
    # A consumer that stops early stops the reader's threads too.
    reader = iter_read_chunks(full, 1_000, parser="strict")
    next(reader)
    reader.close()
    assert threading.active_count() == before

"""Tests for chromexpr.io.tables: every table that enters the pipeline is validated where it enters
(DESIGN.md sections 4 and 8): errors name the file, the 1-based line (or config key) and what to do.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from released_files import expect_error, write_text

from chromexpr.errors import InputError
from chromexpr.io.tables import (
    SPLITS,
    normalize_strand,
    read_annotation,
    read_chrom_sizes,
    read_expression,
    read_gene_info,
    read_gtf,
    read_splits,
    read_tss_table,
    write_splits,
)

REPO = Path(__file__).resolve().parents[2]
REAL_GENES = REPO / "data" / "real" / "remc_genes_hg19_tss.tsv.gz"


# --------------------------------------------------------------------------------------------
# read_tss_table
# --------------------------------------------------------------------------------------------

TSS_TEXT = (
    "gene_id\tsymbol\tchrom\ttss\tstrand\n"
    "G1\tA\tchr1\t1000\t+\n"
    "G2\tB\tchr1\t2000\t-\n"
    "G3\tC\tchr2\t0\t\n"  # empty strand (trailing tab kept)
    "G4\tD\tchr2\t500\t.\n"
)


def test_tss_table_reads_and_normalises_strand(tmp_path: Path) -> None:
    df = read_tss_table(write_text(tmp_path / "t.tsv", TSS_TEXT))
    assert df["gene_id"].tolist() == ["G1", "G2", "G3", "G4"]
    assert df["tss"].tolist() == [1000, 2000, 0, 500]
    assert df["tss"].dtype == np.int64
    assert df["strand"].tolist() == ["+", "-", ".", "."]
    assert df["symbol"].tolist() == ["A", "B", "C", "D"]  # extra columns kept
    assert df["_line"].tolist() == [2, 3, 4, 5]  # 1-based, header is line 1


def test_tss_table_missing_trailing_strand_field(tmp_path: Path) -> None:
    # an editor that strips the trailing tab leaves 3 fields for a 4-column header: strand -> '.'
    df = read_tss_table(write_text(tmp_path / "t.tsv", "gene_id\tchrom\ttss\tstrand\nG1\tchr1\t10\n"))
    assert df["strand"].tolist() == ["."]


def test_tss_table_gz(tmp_path: Path) -> None:
    plain = read_tss_table(write_text(tmp_path / "t.tsv", TSS_TEXT))
    gz = read_tss_table(write_text(tmp_path / "t.tsv.gz", TSS_TEXT, gz=True))
    pd.testing.assert_frame_equal(plain, gz)
    # compression is detected from the magic bytes, not the name
    odd = read_tss_table(write_text(tmp_path / "t.txt", TSS_TEXT, gz=True))
    pd.testing.assert_frame_equal(plain, odd)


def test_tss_table_header_check(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.tsv", "gene\tchrom\ttss\tstrand\nG1\tchr1\t10\t+\n")
    with pytest.raises(InputError) as exc:
        read_tss_table(path)
    assert exc.value.line == 1
    assert f"{path}:1" in str(exc.value)
    assert "gene_id" in str(exc.value)


def test_tss_table_non_integer_tss_names_file_and_line(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.tsv", "gene_id\tchrom\ttss\tstrand\nG1\tchr1\t10\t+\nG2\tchr1\t1e3\t+\n")
    with pytest.raises(InputError) as exc:
        read_tss_table(path)
    assert (exc.value.path, exc.value.line) == (str(path), 3)
    assert f"{path}:3" in str(exc.value) and "'1e3'" in str(exc.value)
    # a decimal is not a position either
    path2 = write_text(tmp_path / "u.tsv", "gene_id\tchrom\ttss\tstrand\nG1\tchr1\t10.0\t+\n")
    with pytest.raises(InputError, match=r"u\.tsv:2"):
        read_tss_table(path2)


def test_tss_table_negative_tss(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.tsv", "gene_id\tchrom\ttss\tstrand\nG1\tchr1\t-1\t+\n")
    with pytest.raises(InputError, match="negative") as exc:
        read_tss_table(path)
    assert exc.value.line == 2


def test_tss_table_bad_strand(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.tsv", "gene_id\tchrom\ttss\tstrand\nG1\tchr1\t1\t+\nG2\tchr1\t5\tx\n")
    with pytest.raises(InputError, match="'x'") as exc:
        read_tss_table(path)
    assert exc.value.line == 3


def test_tss_table_duplicate_names_both_lines(tmp_path: Path) -> None:
    # blank line 3 is skipped but still counted: the duplicate is on line 5, the first on line 2
    text = "gene_id\tchrom\ttss\tstrand\nG1\tchr1\t10\t+\n\nG2\tchr1\t20\t+\nG1\tchr2\t30\t-\n"
    path = write_text(tmp_path / "t.tsv", text)
    with pytest.raises(InputError) as exc:
        read_tss_table(path)
    assert exc.value.line == 5
    assert f"{path}:5" in str(exc.value)
    assert "line 2" in str(exc.value) and "'G1'" in str(exc.value)


def test_real_remc_table_duplicate_is_reported(tmp_path: Path) -> None:
    # the real table has 7 ids twice; the first pair is ENSG00000062370 (ZFP112 / ZNF285) on
    # lines 838 and 839 (header = line 1, data row 836 (0-based) = line 838)
    with pytest.raises(InputError) as exc:
        read_tss_table(REAL_GENES)
    assert exc.value.line == 839
    assert "ENSG00000062370" in str(exc.value) and "line 838" in str(exc.value)


def test_real_remc_table_deduplicated_reads(tmp_path: Path) -> None:
    df = pd.read_csv(REAL_GENES, sep="\t", dtype=str, keep_default_na=False)
    dedup = write_text(tmp_path / "dedup.tsv.gz", df.drop_duplicates("gene_id").to_csv(sep="\t", index=False), gz=True)
    out = read_tss_table(dedup)
    assert len(out) == 19_795  # 19,802 - 7
    # strands: 4,272 empty in the source -> '.'; the rest + or -
    counts = out["strand"].value_counts().to_dict()
    assert counts["."] == int((df.drop_duplicates("gene_id")["strand"] == "").sum())
    assert set(counts) == {"+", "-", "."}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("gene_id\tchrom\ttss\tstrand\n\tchr1\t1\t+\n", 2),  # empty gene id
        ("gene_id\tchrom\ttss\tstrand\nG1\t\t1\t+\n", 2),  # empty chrom
        ("gene_id\tchrom\ttss\tstrand\nG1\tchr1\t1\t+\textra\n", 2),  # too many fields
    ],
)
def test_tss_table_malformed_rows(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(InputError) as exc:
        read_tss_table(write_text(tmp_path / "t.tsv", text))
    assert exc.value.line == line


def test_tss_table_empty_and_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        read_tss_table(write_text(tmp_path / "e.tsv", ""))
    with pytest.raises(InputError, match="no genes"):
        read_tss_table(write_text(tmp_path / "h.tsv", "gene_id\tchrom\ttss\tstrand\n"))
    with pytest.raises(InputError, match="not found"):
        read_tss_table(tmp_path / "absent.tsv")


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("gene_id chrom tss strand\nG1 chr1 1000 +\n", "the columns seem to be separated by spaces"),
        ("G1\tchr1\t1000\t+\n", "the first line 'G1\\tchr1\\t1000\\t+' looks like data, not a header"),
        ("chr1\t100\t136\tN\t1000\t+\n", "the first line 'chr1\\t100\\t136\\tN\\t1000\\t+' is 'chrom start end"),
        ("gene_id\tchrom\ttss\n", "missing column(s) 'strand' (header has: gene_id, chrom, tss)"),
    ],
)
def test_tss_table_wrong_header_says_what_the_file_looks_like(tmp_path: Path, text: str, start: str) -> None:
    path = write_text(tmp_path / "t.tsv", "\n" + text)  # a leading blank line: the header is on line 2
    with pytest.raises(InputError) as exc:
        read_tss_table(path)
    assert str(exc.value).startswith(f"{path}:2: {start}")
    assert "gene_id<TAB>chrom<TAB>tss<TAB>strand" in str(exc.value)


def test_tss_table_directory_and_duplicate_hint(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory, not a TSS table"):
        read_tss_table(tmp_path)
    dup = write_text(tmp_path / "d.tsv", "gene_id\tchrom\ttss\tstrand\nG1\tchr1\t10\t+\nG1\tchr1\t90\t+\n")
    with pytest.raises(InputError, match="one row \\(one TSS\\) per gene") as exc:
        read_tss_table(dup)
    assert "expression.duplicates" not in str(exc.value)  # that setting is about expression matrices


def test_tss_table_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(("gene_id\tchrom\ttss\tstrand\n" + "G\tchr1\t1\t+\n" * 2000).encode())
    path = tmp_path / "cut.tsv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated") as exc:
        read_tss_table(path)
    assert exc.value.path == str(path)


def test_normalize_strand() -> None:
    out = normalize_strand(["+", "-", "1", "-1", "+1", "", ".", None, "nan", " + ", "x"])
    assert out.tolist() == ["+", "-", "+", "-", "+", ".", ".", ".", ".", "+", "?x"]


# --------------------------------------------------------------------------------------------
# read_gtf
# --------------------------------------------------------------------------------------------


def gtf_line(
    chrom: str, feature: str, start: int, end: int, strand: str, gid: str, name: str = "", gtype: str = "protein_coding"
) -> str:
    attrs = f'gene_id "{gid}"; gene_type "{gtype}"; gene_name "{name}";'
    return "\t".join([chrom, "HAVANA", feature, str(start), str(end), ".", strand, ".", attrs]) + "\n"


def test_gtf_gene_records(tmp_path: Path) -> None:
    text = (
        "##description: test\n"
        + gtf_line("chr1", "gene", 11869, 14409, "+", "ENSG00000223972.4", "DDX11L1")
        + gtf_line("chr1", "transcript", 11869, 14409, "+", "ENSG00000223972.4", "DDX11L1")
        + gtf_line("chr1", "exon", 11869, 12227, "+", "ENSG00000223972.4", "DDX11L1")
        + gtf_line("chr1", "gene", 14363, 29806, "-", "ENSG00000227232.4", "WASH7P")
    )
    df = read_gtf(write_text(tmp_path / "a.gtf", text))
    assert df["gene_id"].tolist() == ["ENSG00000223972", "ENSG00000227232"]  # version stripped
    # + : 1-based start 11869 -> 0-based 11868; - : 1-based end 29806 -> last base 0-based 29805
    assert df["tss"].tolist() == [11868, 29805]
    assert df["strand"].tolist() == ["+", "-"]
    assert df["symbol"].tolist() == ["DDX11L1", "WASH7P"]
    assert df["tss"].dtype == np.int64


def test_gtf_transcripts_only_take_5prime_most(tmp_path: Path) -> None:
    text = (
        gtf_line("chr2", "transcript", 500, 900, "+", "ENSGP.1", "P")
        + gtf_line("chr2", "transcript", 300, 700, "+", "ENSGP.1", "P")  # 5'-most for +: smallest start
        + gtf_line("chr2", "transcript", 400, 950, "+", "ENSGP.1", "P")
        + gtf_line("chr2", "transcript", 100, 800, "-", "ENSGM.2", "M")
        + gtf_line("chr2", "transcript", 200, 1200, "-", "ENSGM.2", "M")  # 5'-most for -: largest end
        + gtf_line("chr2", "transcript", 150, 1000, "-", "ENSGM.2", "M")
    )
    df = read_gtf(write_text(tmp_path / "t.gtf.gz", text, gz=True)).set_index("gene_id")
    assert df.loc["ENSGP", "tss"] == 299  # 300 - 1
    assert df.loc["ENSGM", "tss"] == 1199  # 1200 - 1


def test_gtf_gene_record_wins_over_transcripts(tmp_path: Path) -> None:
    text = gtf_line("chr1", "transcript", 50, 90, "+", "ENSG1", "A") + gtf_line(
        "chr1", "gene", 100, 200, "+", "ENSG1", "A"
    )
    df = read_gtf(write_text(tmp_path / "g.gtf", text))
    assert df["tss"].tolist() == [99]  # gene record start 100 - 1, not the transcript's 49


def test_gtf_gene_types_filter(tmp_path: Path) -> None:
    text = gtf_line("chr1", "gene", 100, 200, "+", "ENSG1", "A", "protein_coding") + gtf_line(
        "chr1", "gene", 300, 400, "+", "ENSG2", "B", "lincRNA"
    )
    df = read_gtf(write_text(tmp_path / "g.gtf", text), ["protein_coding"])
    assert df["gene_id"].tolist() == ["ENSG1"]
    with pytest.raises(InputError, match="gene_types"):
        read_gtf(write_text(tmp_path / "g2.gtf", text), ["miRNA"])


def test_gtf_errors_name_line(tmp_path: Path) -> None:
    two = gtf_line("chr1", "gene", 100, 200, "+", "ENSG1.1") + gtf_line("chr1", "gene", 100, 200, "+", "ENSG1.2")
    with pytest.raises(InputError, match="line 1") as exc:
        read_gtf(write_text(tmp_path / "d.gtf", two))  # same id once the version is stripped
    assert exc.value.line == 2
    with pytest.raises(InputError) as exc:
        read_gtf(write_text(tmp_path / "f.gtf", "chr1\tgene\t1\t2\n"))
    assert exc.value.line == 1 and "9" in str(exc.value)
    with pytest.raises(InputError) as exc:
        read_gtf(write_text(tmp_path / "s.gtf", "#c\n" + gtf_line("chr1", "gene", 1, 2, ".", "ENSG1")))
    assert exc.value.line == 2
    bad = gtf_line("chr1", "gene", 1, 2, "+", "ENSG1").replace("\t1\t2\t", "\tone\t2\t")
    with pytest.raises(InputError) as exc:
        read_gtf(write_text(tmp_path / "i.gtf", bad))
    assert exc.value.line == 1


# --------------------------------------------------------------------------------------------
# read_gene_info
# --------------------------------------------------------------------------------------------


def test_gene_info(tmp_path: Path) -> None:
    text = (
        "gene_id\tchr\tstart\tend\tstrand\ttype\tname\tdescription\n"  # header, skipped (the REMC file has none)
        "ENSG00000000003\tX\t99883667\t99894988\t-1\tprotein_coding\tTSPAN6\ttetraspanin 6\n"
        "ENSG00000000005\tchrX\t99839799\t99854882\t1\tprotein_coding\tTNMD\ttenomodulin\n"
        "ENSG00000198888.2\tMT\t3307\t4262\t+\tprotein_coding\tMT-ND1\n"
        "ENSG00000000419\t20\t49551404\t49575092\t-\tprotein_coding\n"
    )
    df = read_gene_info(write_text(tmp_path / "gene_info", text))
    assert df["gene_id"].tolist() == ["ENSG00000000003", "ENSG00000000005", "ENSG00000198888", "ENSG00000000419"]
    assert df["chrom"].tolist() == ["chrX", "chrX", "chrM", "chr20"]  # chr prefix added, MT -> chrM
    assert df["strand"].tolist() == ["-", "+", "+", "-"]  # -1 / 1 / + / -
    # -: end - 1 = 99894987; +: start - 1 = 99839798; +: 3307 - 1 = 3306; -: 49575092 - 1 = 49575091
    assert df["tss"].tolist() == [99_894_987, 99_839_798, 3_306, 49_575_091]
    assert df["symbol"].tolist() == ["TSPAN6", "TNMD", "MT-ND1", ""]
    assert df["_line"].tolist() == [2, 3, 4, 5]
    # read_annotation dispatches on the format name
    pd.testing.assert_frame_equal(read_annotation(tmp_path / "gene_info", "gene_info"), df)


def test_gene_info_without_header(tmp_path: Path) -> None:
    text = "ENSG1\t1\t100\t200\t1\nENSG2\t2\t300\t400\t-1\n"
    df = read_gene_info(write_text(tmp_path / "gi.gz", text, gz=True))
    assert df["tss"].tolist() == [99, 399]  # 100 - 1; 400 - 1
    assert df["chrom"].tolist() == ["chr1", "chr2"]


def test_gene_info_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_gene_info(write_text(tmp_path / "a", "ENSG1\t1\t100\t200\t0\n"))
    assert exc.value.line == 1 and "'0'" in str(exc.value)
    with pytest.raises(InputError) as exc:
        read_gene_info(write_text(tmp_path / "b", "ENSG1\t1\t100\t200\t1\nENSG2\t1\t100\n"))
    assert exc.value.line == 2
    with pytest.raises(InputError) as exc:
        read_gene_info(write_text(tmp_path / "c", "ENSG1\t1\t100\t200\t1\nENSG1\t2\t1\t2\t1\n"))
    assert exc.value.line == 2 and "line 1" in str(exc.value)
    with pytest.raises(InputError) as exc:
        read_gene_info(write_text(tmp_path / "d", "ENSG1\t1\tx\t200\t1\n"))
    assert exc.value.line == 1


def test_read_annotation_unknown_format_names_key(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_annotation(tmp_path / "x", "bed")
    assert exc.value.key == "reference.annotation_format"


# --------------------------------------------------------------------------------------------
# read_expression
# --------------------------------------------------------------------------------------------

EXPR = "gene_id\tsymbol\tE003\tE004\nG1\tA\t1.5\t0\nG2\tB\t2e1\t3\nG3\tC\t0\t7.25\n"


def test_expression_reads_cells(tmp_path: Path) -> None:
    path = write_text(tmp_path / "e.tsv", EXPR)
    df = read_expression(path, ["E004", "E003"])
    assert df.index.tolist() == ["G1", "G2", "G3"] and df.index.name == "gene_id"
    assert df.columns.tolist() == ["E004", "E003"]  # requested order
    assert df["E003"].tolist() == [1.5, 20.0, 0.0]  # 2e1 = 20
    assert df["E004"].tolist() == [0.0, 3.0, 7.25]
    assert df.dtypes.unique().tolist() == [np.float64]
    assert df.attrs["duplicates_dropped"] == 0
    # cells=[] reads only the gene ids (used by the reference step)
    assert read_expression(path, []).index.tolist() == ["G1", "G2", "G3"]


def test_expression_gene_column(tmp_path: Path) -> None:
    path = write_text(tmp_path / "e.tsv", "symbol\tgene_id\tE1\nA\tG1\t1\nB\tG2\t2\n")
    assert read_expression(path, ["E1"], gene_column="gene_id").index.tolist() == ["G1", "G2"]
    with pytest.raises(InputError, match="'ensembl'") as exc:
        read_expression(path, ["E1"], gene_column="ensembl")
    assert exc.value.line == 1


def test_expression_csv(tmp_path: Path) -> None:
    path = write_text(tmp_path / "e.csv", "gene_id,E003,E004\nG1,1,2\nG2,3.5,4\n")
    df = read_expression(path, ["E003", "E004"])
    assert df.loc["G2"].tolist() == [3.5, 4.0]
    with pytest.raises(InputError) as exc:
        read_expression(write_text(tmp_path / "b.csv", "gene_id,E003\nG1,1\nG2,abc\n"), ["E003"])
    assert exc.value.line == 3


def test_expression_non_numeric_names_file_line_and_cell(tmp_path: Path) -> None:
    path = write_text(tmp_path / "e.tsv", "gene_id\tE003\tE004\nG1\t1\t2\nG2\t3\tNA?\n")
    with pytest.raises(InputError) as exc:
        read_expression(path, ["E003", "E004"])
    msg = str(exc.value)
    assert f"{path}:3" in msg and "E004" in msg and "'NA?'" in msg
    # an empty cell is not a number either
    with pytest.raises(InputError, match="E1"):
        read_expression(write_text(tmp_path / "f.tsv", "gene_id\tE1\nG1\t\n"), ["E1"])


@pytest.mark.parametrize("value", ["-0.5", "nan", "inf"])
def test_expression_negative_or_not_finite(tmp_path: Path, value: str) -> None:
    path = write_text(tmp_path / "e.tsv", f"gene_id\tE1\nG1\t1\nG2\t{value}\n")
    with pytest.raises(InputError, match="negative or not finite") as exc:
        read_expression(path, ["E1"])
    assert exc.value.line == 3


def test_expression_unrequested_cells_not_validated(tmp_path: Path) -> None:
    # only the requested cells' values have to be numbers
    path = write_text(tmp_path / "e.tsv", "gene_id\tE1\tE2\nG1\t1\tbad\n")
    assert read_expression(path, ["E1"])["E1"].tolist() == [1.0]


def test_expression_missing_cell_names_key_cells(tmp_path: Path) -> None:
    path = write_text(tmp_path / "e.tsv", EXPR)
    with pytest.raises(InputError) as exc:
        read_expression(path, ["E003", "E999"])
    assert exc.value.key == "cells"
    assert "E999" in str(exc.value) and "config key 'cells'" in str(exc.value)
    assert exc.value.path == str(path) and exc.value.line == 1


def test_expression_duplicates_error_vs_first(tmp_path: Path) -> None:
    path = write_text(tmp_path / "e.tsv", "gene_id\tE1\nG1\t1\nG2\t2\nG1\t5\nG2\t9\nG3\t3\n")
    with pytest.raises(InputError) as exc:
        read_expression(path, ["E1"])
    assert exc.value.line == 4 and "first on line 2" in str(exc.value)
    assert "expression.duplicates" in str(exc.value)
    df = read_expression(path, ["E1"], duplicates="first")
    assert df["E1"].to_dict() == {"G1": 1.0, "G2": 2.0, "G3": 3.0}  # first rows win
    assert df.attrs["duplicates_dropped"] == 2
    with pytest.raises(InputError) as exc:
        read_expression(path, ["E1"], duplicates="last")
    assert exc.value.key == "expression.duplicates"


def test_expression_ragged_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_expression(write_text(tmp_path / "r.tsv", "gene_id\tE1\tE2\nG1\t1\n"), ["E1"])
    assert exc.value.line == 2
    with pytest.raises(InputError, match="no genes"):
        read_expression(write_text(tmp_path / "h.tsv", "gene_id\tE1\n"), ["E1"])


# the layouts of the processed source: DeepDiff's {cell}.expr.csv and the real REMC matrix

REAL_COUNTS = REPO / "data" / "real" / "remc_counts_9cells.tsv.gz"


def test_expression_real_matrix_with_header() -> None:
    expr = read_expression(REAL_COUNTS, ["E123"])["E123"]
    assert len(expr) == 19795
    assert expr.dtype == np.float64
    assert expr.loc["ENSG00000000003"] == 153.0
    assert expr.loc["ENSG00000026025"] == 147369.0  # this row writes some values as 1.83836e+06


def test_expression_two_column_files(tmp_path: Path) -> None:
    # DeepDiff's {cell}.expr.csv: no header, comma-separated, ids may be ENSG_SYMBOL
    plain = write_text(tmp_path / "E004.expr.csv", "ENSG00000000003,22128\nENSG00000000005_TNMD,2085\n")
    expr = read_expression(plain, ["E004"])
    assert expr.columns.tolist() == ["E004"]
    assert expr["E004"].to_dict() == {"ENSG00000000003": 22128.0, "ENSG00000000005": 2085.0}
    assert read_expression(plain, []).index.tolist() == ["ENSG00000000003", "ENSG00000000005"]
    gz = write_text(tmp_path / "E004.expr.csv.gz", "ENSG1_A,1\nENSG2_B,2\n", gz=True)
    assert read_expression(gz, ["E004"])["E004"].to_dict() == {"ENSG1": 1.0, "ENSG2": 2.0}
    # a header naming the cell: an ordinary one-cell matrix
    with_header = write_text(tmp_path / "with_header.tsv", "gene_id\tE004\nENSG1\t1.5\n")
    assert read_expression(with_header, ["E004"])["E004"].to_dict() == {"ENSG1": 1.5}
    expect_error(lambda: read_expression(with_header, ["E005"]), with_header, 1, "for cell E004, not E005")
    # a header whose value column is not a cell: the values of the cell asked for
    named = write_text(tmp_path / "named.csv", "gene,rpkm\nENSG7_X,3\n")
    assert read_expression(named, ["E003"])["E003"].to_dict() == {"ENSG7": 3.0}


def test_expression_headerless_file_holds_one_cell(tmp_path: Path) -> None:
    path = write_text(tmp_path / "e.csv", "ENSG1,3\nENSG2,4\n")
    exc = expect_error(lambda: read_expression(path, ["E003", "E004"]), path, 1, "one cell's values")
    assert exc.key == "cells"
    with pytest.raises(InputError):
        read_expression(path)  # which cell would it be?


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("ENSG1,3\nENSG2,abc\n", 2, "'abc' for cell E003 is not numeric"),
        ("ENSG1,3\n\nENSG2,-4\n", 3, "negative"),
        ("ENSG1,3\nENSG2,inf\n", 2, "not finite"),
        ("ENSG1,3\nENSG1_X,4\n", 2, "duplicate gene 'ENSG1' (first on line 1)"),
        ("ENSG1,3\n_X,4\n", 2, "empty gene id"),
        ("gene_id\tE003\tE004\nENSG1\t3\n", 2, "expected 3 fields"),
        ("gene_id\tE004\tE005\nENSG1\t3\t4\n", 1, "cells ['E003'] have no column"),
        ("\ngene_id\tE004\tE005\nENSG1\t3\t4\n", 2, "have no column"),  # the header is on line 2
    ],
)
def test_expression_errors_name_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write_text(tmp_path / "expr.txt", text)
    expect_error(lambda: read_expression(path, ["E003"]), path, line, fragment)


def test_expression_duplicates_in_a_deepdiff_file(tmp_path: Path) -> None:
    # ENSG2 on lines 2 and 3 (as ENSG2_B): error names line 3 and the first line; first keeps 5
    path = write_text(tmp_path / "E003.expr.csv", "ENSG1_A,1\nENSG2_B,5\nENSG2_B,9\nENSG3_C,2\n")
    exc = expect_error(lambda: read_expression(path, ["E003"]), path, 3, "first on line 2")
    assert "expression.duplicates" in str(exc)
    df = read_expression(path, ["E003"], duplicates="first")
    assert df["E003"].to_dict() == {"ENSG1": 1.0, "ENSG2": 5.0, "ENSG3": 2.0}
    assert df.attrs["duplicates_dropped"] == 1


def test_expression_gene_id_column_found_by_name(tmp_path: Path) -> None:
    # no gene_column given: the column named gene_id is the id, wherever it is
    path = write_text(tmp_path / "e.tsv", "symbol\tgene_id\tE1\nA\tG1\t1\nB\tG2\t2\n")
    assert read_expression(path, ["E1"]).index.tolist() == ["G1", "G2"]


# --------------------------------------------------------------------------------------------
# read_splits / write_splits
# --------------------------------------------------------------------------------------------


def test_splits_round_trip_and_bad_header(tmp_path: Path) -> None:
    s = pd.Series(["train", "test"], index=pd.Index(["b", "a"], name="gene_id"), name="whatever")
    write_splits(s, tmp_path / "s.tsv")
    assert (tmp_path / "s.tsv").read_text() == "gene_id\tsplit\nb\ttrain\na\ttest\n"
    back = read_splits(tmp_path / "s.tsv")
    assert back.to_dict() == {"b": "train", "a": "test"}
    assert back.name == "split" and back.index.name == "gene_id"
    bad = write_text(tmp_path / "bad.tsv", "gene\tsplit\na\ttrain\n")
    with pytest.raises(InputError) as exc:
        read_splits(bad)
    assert exc.value.line == 1 and str(bad) in str(exc.value)


def test_splits_gzip_and_bad_rows(tmp_path: Path) -> None:
    assert SPLITS == ("train", "valid", "test")
    gz = write_text(tmp_path / "s.tsv.gz", "gene_id\tsplit\nG1\tvalid\n", gz=True)
    assert read_splits(gz).to_dict() == {"G1": "valid"}
    unknown = write_text(tmp_path / "u.tsv", "gene_id\tsplit\nG1\ttrain\nG2\tholdout\n")
    expect_error(lambda: read_splits(unknown), unknown, 3, "split 'holdout' is not one of train, valid, test")
    twice = write_text(tmp_path / "t.tsv", "gene_id\tsplit\nG1\ttrain\nG2\ttest\nG1\tvalid\n")
    expect_error(lambda: read_splits(twice), twice, 4, "first on line 2")


# --------------------------------------------------------------------------------------------
# read_chrom_sizes
# --------------------------------------------------------------------------------------------


def test_chrom_sizes(tmp_path: Path) -> None:
    path = write_text(tmp_path / "c.sizes", "# comment\nchr1\t249250621\n\nchrM 16571\n")
    assert read_chrom_sizes(path) == {"chr1": 249_250_621, "chrM": 16_571}


def test_chrom_sizes_real_hg19() -> None:
    sizes = read_chrom_sizes(REPO / "src" / "chromexpr" / "data" / "hg19.chrom.sizes")
    assert len(sizes) == 24
    assert sizes["chr1"] == 249_250_621


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("chr1\t100\nchr2\n", 2, "expected"),
        ("chr1\t100\nchr2\t1.5e3\n", 2, "'1.5e3'"),
        ("chr1\t0\n", 1, "not positive"),
        ("chr1\t-5\n", 1, "not positive"),
        ("chr1\t100\nchr2\t5\nchr1\t100\n", 3, "twice"),
    ],
)
def test_chrom_sizes_errors(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write_text(tmp_path / "c.sizes", text)
    with pytest.raises(InputError, match=needle) as exc:
        read_chrom_sizes(path)
    assert exc.value.line == line and f"{path}:{line}" in str(exc.value)


def test_chrom_sizes_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no chromosomes"):
        read_chrom_sizes(write_text(tmp_path / "c.sizes", "# nothing\n"))


@pytest.mark.parametrize("gz", [False, True])
def test_chrom_sizes_given_a_tagalign(tmp_path: Path, gz: bool) -> None:
    path = write_text(tmp_path / "reads.tagAlign.gz", "chr1\t100\t136\tN\t1000\t+\nchr2\t5\t41\tN\t1000\t-\n", gz=gz)
    with pytest.raises(InputError) as exc:
        read_chrom_sizes(path)
    text = str(exc.value)
    assert exc.value.line == 1
    assert text.startswith(f"{path}:1: expected 2 columns 'chrom size', found 6: ")
    assert "this looks like a reads file (tagAlign/BED" in text


def test_chrom_sizes_wrong_column_counts(tmp_path: Path) -> None:
    # UCSC chromInfo.txt: a third column with the sequence file is ignored
    info = write_text(tmp_path / "chromInfo.txt", "chr1\t249250621\t/gbdb/hg19/hg19.2bit\n")
    assert read_chrom_sizes(info) == {"chr1": 249_250_621}
    with pytest.raises(InputError, match="expected 2 columns 'chrom size', found 4") as exc:
        read_chrom_sizes(write_text(tmp_path / "c.sizes", "chr1\t100\nchr2\t100\tx\ty\n"))
    assert exc.value.line == 2
    with pytest.raises(InputError, match="expected 2 columns 'chrom size', found 1: 'chr2'"):
        read_chrom_sizes(write_text(tmp_path / "d.sizes", "chr1\t100\nchr2\n"))


def test_chrom_sizes_header_line_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"size 'size' is not an integer \(a header line\?\)") as exc:
        read_chrom_sizes(write_text(tmp_path / "h.sizes", "chrom\tsize\nchr1\t100\n"))
    assert exc.value.line == 1 and "remove the header line" in str(exc.value)
    with pytest.raises(InputError, match="is a directory, not a chromosome sizes file"):
        read_chrom_sizes(tmp_path)


# --------------------------------------------------------------------------------------------
# truncated / non-text input to the line-by-line readers (DESIGN.md section 8)
# --------------------------------------------------------------------------------------------


def _truncated_gz(path: Path, line: str, n: int = 20_000) -> Path:
    # unique lines so that no reader stops early on a duplicate; cut the compressed stream in half
    data = gzip.compress("".join(line.format(i=i) for i in range(n)).encode())
    path.write_bytes(data[: len(data) // 2])
    return path


def test_chrom_sizes_truncated_gzip_names_file(tmp_path: Path) -> None:
    path = _truncated_gz(tmp_path / "hg19.chrom.sizes.gz", "chr{i}\t1000\n")
    with pytest.raises(InputError) as exc:
        read_chrom_sizes(path)
    assert exc.value.path == str(path)


def test_gene_info_truncated_gzip_names_file(tmp_path: Path) -> None:
    path = _truncated_gz(tmp_path / "gene_info.gz", "ENSG{i}\t1\t100\t200\t1\n")
    with pytest.raises(InputError) as exc:
        read_gene_info(path)
    assert exc.value.path == str(path)


def test_gtf_truncated_gzip_names_file(tmp_path: Path) -> None:
    path = _truncated_gz(tmp_path / "genes.gtf.gz", 'chr1\tH\tgene\t1\t2\t.\t+\t.\tgene_id "E{i}";\n')
    with pytest.raises(InputError) as exc:
        read_gtf(path)
    assert exc.value.path == str(path)


def test_chrom_sizes_binary_file_names_file(tmp_path: Path) -> None:
    path = tmp_path / "chrom.sizes"
    path.write_bytes(b"\xff\xfe\x00\x01binary\n")
    with pytest.raises(InputError) as exc:
        read_chrom_sizes(path)
    assert exc.value.path == str(path)


def test_gtf_gene_types_are_counted_and_an_empty_filter_names_the_types_found(tmp_path: Path) -> None:
    text = (
        gtf_line("chr1", "gene", 100, 200, "+", "ENSG1", "A", "protein_coding")
        + gtf_line("chr1", "gene", 300, 400, "+", "ENSG2", "B", "lncRNA")
        + gtf_line("chr1", "transcript", 300, 400, "+", "ENSG2", "B", "lncRNA")  # the same gene: counted once
        + gtf_line("chr1", "gene", 500, 600, "-", "ENSG3", "C", "lncRNA")
        + gtf_line("chr1", "gene", 700, 800, "-", "ENSG4", "D", "miRNA")
    )
    path = write_text(tmp_path / "g.gtf", text)
    df = read_gtf(path, ["protein_coding"])
    assert df["gene_id"].tolist() == ["ENSG1"]
    assert df.attrs["gene_types_dropped"] == {"lncRNA": 2, "miRNA": 1}
    assert df.attrs["gene_types_kept"] == {"protein_coding": 1}
    every = read_gtf(path, [])
    assert len(every) == 4 and every.attrs["gene_types_dropped"] == {}
    with pytest.raises(InputError, match=r"no gene of type snRNA: the file's genes are of type\(s\) lncRNA \(2\)") as e:
        read_gtf(path, ["snRNA"])
    assert "reference.gene_types" in str(e.value)

"""Strict compiled parser: hand-checked values, every line it must refuse, and its name table."""

from __future__ import annotations

import numpy as np
import pytest

from chromexpr.io.fastparse import NameTable, parse_strict_block


def parse(text: bytes, names: dict[str, int] | None = None):
    names = {} if names is None else names
    return parse_strict_block(text, NameTable(names)), names


def test_hand_checked_block() -> None:
    block = b"chr1\t10\t46\tN\t1000\t+\nchr2\t0\t5\nchr1\t007\t8\tx\n"
    parsed, names = parse(block)
    assert names == {"chr1": 0, "chr2": 1}  # order of first appearance
    assert parsed.codes.tolist() == [0, 1, 0]
    assert parsed.starts.tolist() == [10, 0, 7]  # leading zeros as pyarrow and int() read them
    assert parsed.ends.tolist() == [46, 5, 8]
    assert parsed.codes.dtype == np.int32 and parsed.starts.dtype == np.int64


def test_known_names_keep_their_codes() -> None:
    parsed, names = parse(b"chrX\t1\t2\nchr9\t3\t4\n", {"chr9": 0, "chr1": 1})
    assert names == {"chr9": 0, "chr1": 1, "chrX": 2}
    assert parsed.codes.tolist() == [2, 0]


def test_long_names_sharing_their_first_8_bytes() -> None:
    block = b"chrUn_gl000220\t1\t2\nchrUn_gl000221\t3\t4\nchrUn_gl000220\t5\t6\nchrUn_gl\t7\t8\n"
    parsed, names = parse(block)
    assert list(names) == ["chrUn_gl000220", "chrUn_gl000221", "chrUn_gl"]
    assert parsed.codes.tolist() == [0, 1, 0, 2]


def test_many_names_beyond_the_hash_table() -> None:
    # 700 short names: past half of the 1,024 slots the rest are found by a scan.
    lines = [f"c{i}\t{i}\t{i + 1}\n" for i in range(700)] + [f"c{i}\t0\t1\n" for i in range(699, -1, -7)]
    parsed, names = parse("".join(lines).encode())
    assert len(names) == 700
    assert parsed.codes.tolist() == list(range(700)) + list(range(699, -1, -7))


def test_short_lines_grow_the_outputs() -> None:
    # 6-byte lines hold 4x more reads than the first allocation (a 24-byte line) allows.
    block = b"c\t0\t1\n" * 20_000
    parsed, _ = parse(block)
    assert len(parsed.codes) == 20_000 and parsed.ends.sum() == 20_000


def test_empty_block() -> None:
    parsed, names = parse(b"")
    assert len(parsed.codes) == 0 and names == {}


@pytest.mark.parametrize(
    "line",
    [
        b"\n",  # blank
        b"chr1\t1\t2\r\n",  # CRLF
        b"chr1\t-1\t2\n",  # sign
        b"chr1\t+1\t2\n",
        b"chr1\t 1\t2\n",  # blanks around numbers
        b"chr1\t1 \t2\n",
        b"chr1\t0x10\t20\n",  # hex (pyarrow reads it; the general parsers decide)
        b"chr1\t1\t1234567890123456789\n",  # 19 digits
        b"chr1\t5\t5\n",  # end <= start
        b"chr1\t6\t5\n",
        b"chr1\t1\n",  # too few columns
        b"chr1\t1\t\n",
        b"\t1\t2\n",  # empty name
        b"chr 1\t1\t2\n",  # space in the name
        "chr\u00e91\t1\t2\n".encode(),  # non-ASCII name
        b"chr1 1 2\n",  # spaces instead of tabs
    ],
)
def test_refuses_every_line_it_does_not_own(line: bytes) -> None:
    names = {"chr0": 0}
    parsed, names = parse(b"chr1\t1\t2\nchrA\t3\t4\n" + line + b"chr2\t1\t2\n", names)
    assert parsed is None
    assert names == {"chr0": 0}  # names met before the refused line are taken back


@pytest.mark.parametrize("last", [b"chr1\t1\t2", b"chr1\t1\t2\tN", b"chr1\t1", b"chr1"])
def test_refuses_a_block_without_its_final_newline(last: bytes) -> None:
    assert parse(b"chr1\t1\t2\n" + last)[0] is None


def test_refused_block_leaves_the_table_usable() -> None:
    names: dict[str, int] = {}
    table = NameTable(names)
    assert parse_strict_block(b"chrA\t1\t2\nbad\n", table) is None
    names["chrB"] = 0  # the general parser numbers the block its own way
    parsed = parse_strict_block(b"chrA\t1\t2\nchrB\t3\t4\n", table)
    assert names == {"chrB": 0, "chrA": 1} and parsed.codes.tolist() == [1, 0]

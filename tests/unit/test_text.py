"""Tests for chromexpr.io.text: the one plain-or-gzip text opener (gzip told by magic bytes)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from chromexpr.errors import InputError
from chromexpr.io.text import is_gzip, open_text, readable


def test_gzip_is_told_by_magic_bytes_not_by_name(tmp_path: Path) -> None:
    disguised = tmp_path / "table.tsv"  # gzip content under a plain name
    disguised.write_bytes(gzip.compress(b"a\tb\n1\t2\n"))
    plain = tmp_path / "table.tsv.gz"  # plain text under a gzip name
    plain.write_text("a\tb\n3\t4\n")
    assert is_gzip(disguised) and not is_gzip(plain)
    with open_text(disguised) as fh:
        assert fh.read() == "a\tb\n1\t2\n"
    with open_text(plain) as fh:
        assert fh.read() == "a\tb\n3\t4\n"


def test_newline_keeps_line_endings_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\r\n1,2\r\n"))
    with open_text(path) as fh:
        assert fh.read().splitlines(keepends=True) == ["a,b\n", "1,2\n"]
    with open_text(path, newline="") as fh:
        assert fh.read().splitlines(keepends=True) == ["a,b\r\n", "1,2\r\n"]


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found") as exc:
        open_text(tmp_path / "nope.tsv")
    assert exc.value.path == str(tmp_path / "nope.tsv")


@pytest.mark.parametrize("case", ["truncated_gzip", "not_utf8"])
def test_readable_turns_decoding_errors_into_input_errors(tmp_path: Path, case: str) -> None:
    path = tmp_path / "bad.txt"
    if case == "truncated_gzip":
        data = gzip.compress(("x" * 10 + "\n").encode() * 20_000)
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(b"\xff\xfe\x00\x01binary\n")
    with pytest.raises(InputError, match="cannot be read") as exc, readable(path), open_text(path) as fh:
        fh.read()
    assert exc.value.path == str(path)


def test_readable_lets_input_errors_through(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="line 3 is wrong"), readable(tmp_path / "x"):
        raise InputError("line 3 is wrong")

"""Tests of chromexpr.shipped: model cards and reference tables as package data."""

from __future__ import annotations

import pytest

from chromexpr.errors import InputError
from chromexpr.io.atomic import sha256sum
from chromexpr.shipped import (
    cards_dir,
    is_shipped,
    resolve_data_path,
    shipped_file,
    shipped_names,
    stage_shipped_file,
)


def test_shipped_names_are_the_reference_tables():
    assert shipped_names() == [
        "demo/chrom.sizes",
        "demo/counts.tsv",
        "demo/expression.tsv",
        "demo/genes.tsv",
        "hg19.chrom.sizes",
        "published_auroc.tsv",
    ]


def test_shipped_files_have_their_content():
    sizes = dict(line.split("\t") for line in shipped_file("hg19.chrom.sizes").read_text().splitlines())
    assert len(sizes) == 24 and sizes["chr1"] == "249250621"
    header = shipped_file("demo/expression.tsv").read_text().splitlines()[0].split("\t")
    assert header == ["gene_id", "E003", "E066", "E085", "E116", "E123"]


def test_cards_are_package_data():
    names = sorted(p.stem for p in cards_dir().glob("*.yaml"))
    assert len(names) == 32 and "deepchrome" in names and "attentivechrome" in names


def test_resolve_data_path():
    assert is_shipped("chromexpr:hg19.chrom.sizes") and not is_shipped("data/hg19.chrom.sizes")
    assert resolve_data_path("chromexpr:hg19.chrom.sizes") == shipped_file("hg19.chrom.sizes")
    assert str(resolve_data_path("my/genes.tsv")) == "my/genes.tsv"


def test_unknown_shipped_file_lists_the_shipped_ones():
    with pytest.raises(
        InputError, match=r"chromexpr ships no file 'hg38.chrom.sizes'\n  -> shipped files: demo/chrom.sizes"
    ):
        resolve_data_path("chromexpr:hg38.chrom.sizes")


def test_stage_copies_and_checks_the_checksum(tmp_path):
    out = stage_shipped_file(
        "demo/chrom.sizes", tmp_path / "a" / "chrom.sizes", sha256=sha256sum(shipped_file("demo/chrom.sizes"))
    )
    assert out.read_bytes() == shipped_file("demo/chrom.sizes").read_bytes()
    with pytest.raises(InputError, match="changed while the workflow ran"):
        stage_shipped_file("demo/chrom.sizes", tmp_path / "b", sha256="0" * 64)
    assert not (tmp_path / "b").exists()

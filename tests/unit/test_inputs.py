"""chromexpr.inputs: the files and tables a config names, as the DAG build and check-config read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from chromexpr.dag import check_config, load_cards, prepare_config, read_user_table, read_yaml
from chromexpr.errors import InputError
from chromexpr.inputs import (
    Paths,
    check_duplicates,
    check_inputs,
    config_path,
    job_input,
    made_by_workflow,
    repo_or_cwd,
    user_file,
)
from chromexpr.shipped import shipped_file

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "config/schemas"


def demo_config(**top) -> dict:
    config = read_yaml(REPO / "config/config.yaml")
    config.update(top)
    return prepare_config(config, SCHEMAS / "config.schema.yaml")


def test_repo_or_cwd_prefers_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    resolve = repo_or_cwd("/checkout")
    (tmp_path / "here.tsv").write_text("x")
    assert resolve("here.tsv") == "here.tsv"
    assert resolve("config/pairs.tsv") == "/checkout/config/pairs.tsv"
    assert resolve("/abs/file") == "/abs/file"


def test_config_path_and_job_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.tsv").write_text("x")
    config = {"a": {"shipped": "chromexpr:demo/genes.tsv", "mine": "mine.tsv", "gone": "gone.tsv", "none": None}}
    resolve = repo_or_cwd(REPO)
    assert config_path(config, "a.shipped", resolve) == shipped_file("demo/genes.tsv")
    # a shipped file is staged under resources/shipped/ as a job's input; the user's is read where it is
    assert job_input(config, "a.shipped", resolve) == "resources/shipped/demo/genes.tsv"
    assert job_input(config, "a.mine", resolve) == "mine.tsv"
    with pytest.raises(InputError, match=r"config key 'a.gone': file 'gone.tsv' not found"):
        config_path(config, "a.gone", resolve)
    assert job_input(config, "a.gone", resolve, must_exist=False) == str(REPO / "gone.tsv")
    with pytest.raises(InputError, match="config key 'a.none': no file given"):
        config_path(config, "a.none", resolve)
    config["a"]["shipped"] = "chromexpr:nope.tsv"
    with pytest.raises(InputError, match="chromexpr ships no file 'nope.tsv'"):
        config_path(config, "a.shipped", resolve)


def test_made_by_workflow_only_for_the_sources_own_files_of_configured_cells_and_marks():
    demo = {"source": {"kind": "demo"}, "cells": ["E003", "E123"], "marks": ["H3K4me3", "H3K9me3"]}
    assert made_by_workflow("resources/demo/E123-H3K4me3.tagAlign.gz", demo)
    assert not made_by_workflow("resources/demo/E999-H3K4me3.tagAlign.gz", demo)  # no such cell
    assert not made_by_workflow("resources/demo/E123-H3K27ac.tagAlign.gz", demo)  # no such mark
    assert not made_by_workflow("resources/remc/E123-H3K4me3.tagAlign.gz", demo)  # not this source
    assert not made_by_workflow("resources/mine/E123.bw", demo)
    assert not made_by_workflow("results/x.gz", demo)
    local = {**demo, "source": {"kind": "local"}}
    assert not made_by_workflow("resources/demo/E123-H3K4me3.tagAlign.gz", local)
    assert made_by_workflow("resources/remc/E003-H3K9me3.tagAlign.gz", {**demo, "source": {"kind": "remc"}})
    # a made file stays a relative job input; another goes through resolve
    assert user_file("resources/demo/E123-H3K4me3.tagAlign.gz", demo, lambda p: f"/x/{p}") == (
        "resources/demo/E123-H3K4me3.tagAlign.gz"
    )
    assert user_file("mine.bw", demo, lambda p: f"/x/{p}") == "/x/mine.bw"


def test_check_duplicates_names_the_line_past_comments_and_blank_lines(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("cell\tmark\tpath\n# a comment\nE003\tH3K4me3\ta\n\nE003\tH3K9me3\tb\nE003\tH3K4me3\tc\n")
    table = read_user_table(path, SCHEMAS / "files.schema.yaml")  # it records each row's line
    with pytest.raises(InputError, match=r"t.tsv:3: E003, H3K4me3 is listed more than once"):
        check_duplicates(table, ["cell", "mark"], path)
    check_duplicates(table, ["cell", "path"], path)  # no duplicate


def test_check_inputs_reads_the_demo_and_each_experiments_files(monkeypatch):
    monkeypatch.chdir(REPO)
    config = demo_config()
    cards = load_cards(config)
    check_config(config, cards, repo_or_cwd(REPO))
    found = check_inputs(config, cards, Paths(repo_or_cwd(REPO), SCHEMAS))
    assert found.local_files == found.processed_files == {} and found.checksums == {}
    assert found.experiments["differential"] == {
        "pairs": [("E116", "E123")],
        "counts": "resources/shipped/demo/counts.tsv",
    }
    assert found.experiments["predict"] == {
        "K562": {m: f"resources/demo/E123-{m}.tagAlign.gz" for m in config["marks"]}
    }
    assert set(found.experiments) == {"differential", "predict"}  # the experiments with files of their own


def test_check_inputs_local_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cells.tsv").write_text(
        "cell\tmark\tpath\nE003\tH3K4me3\ta.bw\nE003\tH3K27me3\tb.bw\n# not configured: kept out of the checks\n"
        "E116\tH3K4me3\tnothere.bw\n"
    )
    (tmp_path / "a.bw").write_bytes(b"")
    config = demo_config(
        source={
            "kind": "local",
            "local": {
                "files": "cells.tsv",
                "annotation": "chromexpr:demo/genes.tsv",
                "expression": "chromexpr:demo/expression.tsv",
                "chrom_sizes": "chromexpr:demo/chrom.sizes",
            },
        },
        cells=["E003"],
        marks=["H3K4me3", "H3K27me3"],
    )
    config["train"]["models"] = []
    for block in config["experiments"].values():
        block["enabled"] = False
    config["predict"]["samples"] = None
    paths = Paths(repo_or_cwd(REPO), SCHEMAS)
    with pytest.raises(
        InputError,
        match=r"cells.tsv: the file of E003/H3K27me3 does not exist: b.bw \(looked in the working directory and the",
    ):
        check_inputs(config, {}, paths)
    (tmp_path / "b.bw").write_bytes(b"")
    found = check_inputs(config, {}, paths)
    assert found.local_files[("E003", "H3K27me3")] == "b.bw"
    assert found.experiments == {}

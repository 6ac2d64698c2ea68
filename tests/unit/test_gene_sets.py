"""Tests of chromexpr.experiments.gene_sets: each experiment's genes and split, resolved from the config, checked
before any job, and named in words in every report table."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from chromexpr.dag import check_config, load_cards, prepare_config
from chromexpr.errors import InputError
from chromexpr.experiments import gene_sets, registry

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config" / "schemas" / "config.schema.yaml"


def config(name: str = "config.yaml", **overrides) -> dict:
    raw = yaml.safe_load((REPO / "config" / name).read_text())
    raw.update(copy.deepcopy(overrides))
    return prepare_config(raw, SCHEMA)


def check(cfg: dict) -> None:
    check_config(cfg, load_cards(cfg), resolve=lambda p: REPO / p)


def test_remc_gives_each_experiment_its_papers_genes() -> None:
    cfg = config("remc.yaml")
    named = {e.name: e.gene_set(cfg) for e in registry.enabled(cfg)}
    assert named == {
        "single_cell": "default",
        "transfer": "transferchrome",
        "cross_cell": "default",
        "differential": "deepdiff",
        "regression": "default",
        "interpret": "default",
    }
    assert gene_sets.used(cfg) == ["transferchrome", "deepdiff"]
    # DeepChrome's: no filter, all 24 chromosomes, blocks
    default = gene_sets.spec(cfg, "default")
    assert default["min_tss_distance"] == 0 and len(default["chromosomes"]) == 24
    assert default["split"]["method"] == "blocks"
    # TransferChrome's: the 5 kb filter without chrY, the default split
    transfer = gene_sets.spec(cfg, "transferchrome")
    assert transfer["min_tss_distance"] == 5000 and "chrY" not in transfer["chromosomes"]
    assert len(transfer["chromosomes"]) == 23 and transfer["split"] == default["split"]
    # DeepDiff's: the default genes, its own split
    deepdiff = gene_sets.spec(cfg, "deepdiff")
    assert deepdiff["min_tss_distance"] == 0 and deepdiff["chromosomes"] == default["chromosomes"]
    assert deepdiff["split"]["method"] == "deepdiff"
    check(cfg)


def test_the_transfer_experiments_single_cell_runs_move_to_its_gene_set() -> None:
    cfg = config("remc.yaml")
    transfer = registry.experiment("transfer").plan
    assert registry.single_cell_models(cfg, "transferchrome") == ["transferchrome", "deepchrome", "convchrome"]
    assert "transferchrome" not in registry.single_cell_models(cfg, "deepdiff")
    origin = transfer.origin_files(cfg, "metrics.json")[0]
    assert origin == "results/runs/genesets/transferchrome/single_cell/transferchrome/E003/seed0/metrics.json"
    inputs = transfer.uncross_inputs(cfg, "deepchrome", "E085", "E003", 1)
    assert inputs["source"] == "results/datasets/genesets/transferchrome/E085.npz"
    assert inputs["trained_model"] == "results/runs/genesets/transferchrome/single_cell/deepchrome/E085/seed1/model.pt"
    # the demo keeps the default set for transfer: the single-cell runs are reused
    demo = config()
    assert registry.experiment("transfer").gene_set(demo) == "default"
    assert transfer.origin_files(demo, "metrics.json")[0].startswith("results/runs/single_cell/")


def test_paths_of_the_default_set_stay_where_they_were() -> None:
    assert gene_sets.manifest("default") == "results/reference/splits.tsv"
    assert gene_sets.manifest("x") == "results/reference/genesets/x.tsv"
    assert gene_sets.dataset("default", "E003") == "results/datasets/E003.npz"
    assert gene_sets.dataset("x", "E003") == "results/datasets/genesets/x/E003.npz"
    assert gene_sets.single_cell_run("default") == registry.SINGLE_CELL_RUN
    assert gene_sets.single_cell_run("x") == "results/runs/genesets/x/single_cell/{model}/{cell}/seed{seed}"


def test_a_gene_sets_own_split_starts_from_the_schema_defaults_not_the_default_sets() -> None:
    cfg = config(split={"method": "random", "seed": 7}, gene_sets={"dd": {"split": {"method": "deepdiff"}}})
    assert gene_sets.spec(cfg, "default")["split"]["seed"] == 7
    own = gene_sets.spec(cfg, "dd")["split"]
    assert own["method"] == "deepdiff" and own["seed"] == 0
    # a set that says nothing is the default set under another name
    cfg = config(gene_sets={"same": None})
    same = gene_sets.spec(cfg, "same")
    assert {k: same[k] for k in gene_sets.KEYS} == {k: gene_sets.spec(cfg, "default")[k] for k in gene_sets.KEYS}


def test_an_unknown_gene_set_names_the_experiments_key() -> None:
    cfg = config()
    cfg["experiments"]["differential"]["gene_set"] = "nosuch"
    with pytest.raises(InputError, match=r"gene set 'nosuch' is not configured \(gene_sets: deepdiff\)") as err:
        check(cfg)
    assert "experiments.differential.gene_set" in str(err.value)


def test_a_gene_set_called_default_is_refused() -> None:
    cfg = config(gene_sets={"default": {"min_tss_distance": 0}, "deepdiff": {"split": {"method": "deepdiff"}}})
    with pytest.raises(InputError, match="'default' is the gene set of the reference and split blocks") as err:
        check(cfg)
    assert "gene_sets.default" in str(err.value)


def test_a_processed_source_has_no_other_gene_set() -> None:
    raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    raw.update(yaml.safe_load((REPO / "config" / "processed_deepdiff.yaml").read_text()))
    raw["experiments"]["differential"]["gene_set"] = "deepdiff"
    cfg = prepare_config(raw, SCHEMA)
    with pytest.raises(InputError, match="a processed source's files fix its genes and their split") as err:
        check(cfg)
    assert "experiments.differential.gene_set" in str(err.value)


def test_a_bad_gene_set_key_is_a_schema_error_naming_it() -> None:
    with pytest.raises(InputError, match=r"gene_sets\.x") as err:
        config(gene_sets={"x": {"min_tss_distance": -1}})
    assert "min_tss_distance" in str(err.value)


def test_describe_names_filter_chromosomes_split_and_counts() -> None:
    record = {
        "name": "transferchrome",
        "min_tss_distance": 5000,
        "chromosomes": [f"chr{i}" for i in range(1, 23)] + ["chrX"],
        "split": {"method": "blocks"},
        "genes": 17_559,
        "genes_per_split": {"train": 5853, "valid": 5853, "test": 5853},
    }
    assert gene_sets.describe(record) == (
        "gene set 'transferchrome': TSS filter 5,000 bp, chr1-chr22, chrX, blocks split "
        "(train / valid / test 5,853 / 5,853 / 5,853 genes)"
    )
    record.update(name="default", min_tss_distance=0, chromosomes=[], split={"method": "deepdiff"})
    record["genes_per_split"] = {"train": 10_000, "valid": 3695, "test": 6100}
    assert gene_sets.describe(record) == (
        "gene set 'default': no TSS filter, every chromosome, deepdiff split "
        "(train / valid / test 10,000 / 3,695 / 6,100 genes)"
    )
    assert gene_sets.describe(None) == "genes and split as the source gives them"

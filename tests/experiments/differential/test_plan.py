"""The differential experiment's plan (chromexpr.experiments.differential.plan): the pairs table, the pairs'
cells, the window the binning must cover, and the rules its schema cannot say, each naming the key."""

from __future__ import annotations

import copy

import pytest

from chromexpr.errors import InputError
from chromexpr.experiments import registry
from chromexpr.experiments.differential import plan
from chromexpr.models import load_card

from ..conftest import REPO, resolve


def _cards(config: dict) -> dict:
    return {m: load_card(m) for m in config["experiments"]["differential"]["models"]}


def test_demo_pairs_are_read_from_the_pairs_table(demo_config):
    pairs = plan.pairs(demo_config, resolve=resolve)
    assert pairs == [("E116", "E123")]
    assert [plan.pair_name(*p) for p in pairs] == ["E116_vs_E123"] and plan.cells(pairs) == ["E116", "E123"]
    assert len(plan.models(demo_config)) == 11  # the seven variants and four baselines
    demo_config["experiments"]["differential"]["pairs"] = [["E003", "E116"]]
    assert plan.pairs(demo_config) == [("E003", "E116")]
    demo_config["experiments"]["differential"]["enabled"] = False
    assert plan.models(demo_config) == []


def test_reads_are_binned_at_the_experiments_window(demo_config):
    assert plan.window_bp(demo_config) == 10000 and registry.window_bp(demo_config) == 10000
    demo_config["experiments"]["differential"]["enabled"] = False
    assert plan.window_bp(demo_config) is None and registry.window_bp(demo_config) == 5000


@pytest.mark.parametrize(
    ("edit", "pairs", "key", "message"),
    [
        ({}, [("E003", "E999")], "experiments.differential.pairs", "E999 not in 'cells'"),
        ({}, [("E123", "E123")], "experiments.differential.pairs", "pairs a cell with itself"),
        ({}, [("E003", "E123"), ("E003", "E123")], "experiments.differential", "E003_vs_E123 listed more than once"),
        (
            {"models": ["deepdiff_raw_d", "deepchrome"]},
            [("E003", "E123")],
            "experiments.differential.models",
            "'deepchrome' is a classification card",
        ),
        (
            {"attention_pair": ["E116", "E123"]},
            [("E003", "E123")],
            "experiments.differential.attention_pair",
            "not one of the pairs",
        ),
        ({"counts": ""}, [("E003", "E123")], "experiments.differential.counts", "raw RNA-seq read counts"),
        ({"window_bp": 10050}, [("E003", "E123")], "experiments.differential.window_bp", "not a multiple"),
        (
            {"window_bp": 2000},
            [("E003", "E123")],
            "experiments.differential.window_bp",
            "window_bp 2000 gives 40 bins of 100 bp, but deepdiff_raw_d",
        ),
    ],
)
def test_rules_name_the_key(demo_config, edit, pairs, key, message):
    demo_config["experiments"]["differential"].update(edit)
    if "attention_pair" not in edit:
        demo_config["experiments"]["differential"]["attention_pair"] = None
    with pytest.raises(InputError) as err:
        plan.check_pairs(demo_config, pairs, _cards(demo_config))
    assert err.value.key == key and message in str(err.value)


def test_demo_config_passes(demo_config):
    plan.check(demo_config, _cards(demo_config), resolve)
    # the remc source downloads its counts: no counts file needed there
    remc = copy.deepcopy(demo_config)
    remc["source"]["kind"] = "remc"
    remc["experiments"]["differential"]["counts"] = ""
    plan.check(remc, _cards(remc), resolve)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("cell_a\tcell_b\nE003 E123\n", 2, "expected two tab-separated cells"),
        ("a\tb\nE003\tE123\n", 1, "expected 'cell_a<TAB>cell_b'"),
        ("# only a comment\ncell_a\tcell_b\n", None, "lists no pair"),
    ],
)
def test_pairs_table_errors_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "pairs.tsv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        plan.read_pairs(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert err.value.line == line
    assert plan.read_pairs(REPO / "config" / "pairs.tsv")[0] == ("E116", "E123")


def test_an_assembled_model_needs_cell_runs_of_its_own_inputs_and_size(demo_config):
    cards = _cards(demo_config)
    cards["attentivechrome_cell"] = load_card("attentivechrome_cell")
    plan.check_pairs(demo_config, [("E116", "E123")], cards)  # the shipped pair: equal inputs and sizes
    wider = copy.deepcopy(cards)
    wider["attentivechrome_cell"]["hyperparameters"]["bin_hidden"] = 64
    with pytest.raises(InputError, match="its hyperparameters differ") as err:
        plan.check_pairs(demo_config, [("E116", "E123")], wider)
    assert "experiments.differential.models" in str(err.value)
    reordered = copy.deepcopy(cards)
    reordered["attentivechrome_cell"]["input"]["marks"] = list(
        reversed(cards["attentivechrome_cell"]["input"]["marks"])
    )
    with pytest.raises(InputError, match="its input differ"):
        plan.check_pairs(demo_config, [("E116", "E123")], reordered)
    classifier = copy.deepcopy(cards)
    classifier["attentivechrome_cell"]["task"] = "classification"
    with pytest.raises(InputError, match="but a classification card"):
        plan.check_pairs(demo_config, [("E116", "E123")], classifier)

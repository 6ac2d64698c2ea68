"""Checkpoints of the authors' code: the real published AttentiveChrome model reproduces the reference
outputs and AUROCs; DeepDiff state dicts in the reference's names round-trip; bad files are refused
naming the first mismatch; ``chromexpr import-weights`` writes a run-style model.pt."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from chromexpr.cli import main
from chromexpr.errors import InputError
from chromexpr.io.atomic import sha256sum
from chromexpr.io.deepdiff_csv import read_deepdiff_csv
from chromexpr.models import build_model, count_parameters, load_card, load_reference_weights, to_reference_names
from chromexpr.training.model_file import load_model_file
from chromexpr.training.runtime import resolve_card

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO / "data/real/weights/attentivechrome_Cell1_R2.pt"
SAMPLE = REPO / "data/real/deepdiff_sample"
COUNTS = REPO / "data/real/remc_counts_9cells.tsv.gz"
FILE_MARKS = ["H3K4me1", "H3K4me3", "H3K9me3", "H3K27me3", "H3K36me3"]  # the DeepDiff CSV's columns
VARIANTS = ["raw_d", "raw_c", "raw", "aux", "raw_aux", "aux_siamese", "raw_aux_siamese"]

# data/real/weights/README.md: the reference implementation's linear output (before any sigmoid)
REFERENCE = {
    "E123": ([0.100395, 0.088956, 0.917878, 0.918249, 0.123992], 0.596903, 0.939),
    "E003": ([0.703207, 0.114217, 0.831066, 0.774706, 0.152566], 0.643822, 0.806),
}


@pytest.fixture(scope="module")
def attentivechrome() -> torch.nn.Module:
    return load_reference_weights("attentivechrome", CHECKPOINT, marks=FILE_MARKS, bins=200)


def _test_split(cell: str):
    table = read_deepdiff_csv(SAMPLE / f"{cell}.test.csv.gz")  # columns in file order
    assert list(table.marks) == FILE_MARKS
    return table, torch.as_tensor(table.counts, dtype=torch.float32)  # (genes, marks, 200 bins)


# --- the published AttentiveChrome checkpoint ----------------------------------------------------


@pytest.mark.parametrize("cell", sorted(REFERENCE))
def test_real_checkpoint_reproduces_the_reference(attentivechrome, cell: str) -> None:
    first5, mean, auroc = REFERENCE[cell]
    table, x = _test_split(cell)
    assert x.shape == (200, 5, 200)
    with torch.no_grad():
        logits = attentivechrome(x)["logits"].double()
    np.testing.assert_allclose(logits[:5].numpy(), first5, rtol=0, atol=1e-5)
    assert abs(logits.mean().item() - mean) <= 1e-5
    # labels: raw count >= the median of the cell's column over ALL genes of the counts table (19,795
    # genes), not over the 600 sample genes (those give 0.891 / 0.772)
    counts = pd.read_csv(COUNTS, sep="\t", index_col=0)[cell]
    labels = counts.loc[table.gene_ids].to_numpy() >= counts.median()
    assert abs(roc_auc_score(labels, logits.numpy()) - auroc) <= 5e-4


def test_real_checkpoint_maps_back_to_its_own_names(attentivechrome) -> None:
    original = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    back = to_reference_names(attentivechrome)
    assert list(back) == list(original)
    for name, tensor in original.items():
        assert torch.equal(back[name], tensor), name
    assert count_parameters(attentivechrome) == 55_681
    assert not attentivechrome.training


def test_loading_leaves_the_global_rng_alone() -> None:
    before = torch.get_rng_state()
    load_reference_weights("attentivechrome", CHECKPOINT, marks=FILE_MARKS)
    assert torch.equal(torch.get_rng_state(), before)


def test_bins_default_to_the_card(attentivechrome) -> None:
    model = load_reference_weights("attentivechrome", CHECKPOINT, marks=FILE_MARKS)
    assert model.n_bins == load_card("attentivechrome")["input"]["bins"] == 100
    for a, b in zip(model.state_dict().values(), attentivechrome.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # the same weights; only the input check differs
    with pytest.raises(InputError, match="100 bins"):
        model(torch.zeros(1, 5, 200))


def test_state_dict_saved_elsewhere_loads(tmp_path: Path, attentivechrome) -> None:
    """A state dict saved on another device (the real file was saved on CUDA) or saved here loads."""
    path = tmp_path / "saved_here.pt"
    torch.save(to_reference_names(attentivechrome), path)
    again = load_reference_weights("attentivechrome", path, marks=FILE_MARKS, bins=200)
    for a, b in zip(again.state_dict().values(), attentivechrome.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_attentivechrome_diff_takes_two_checkpoints(attentivechrome) -> None:
    model = load_reference_weights("attentivechrome_diff", [CHECKPOINT, CHECKPOINT], marks=FILE_MARKS)
    _, x = _test_split("E123")
    _, y = _test_split("E003")
    with torch.no_grad():
        out = model(x[:4], y[:4])
        torch.testing.assert_close(out["prediction_a"], attentivechrome(x[:4])["logits"])
        torch.testing.assert_close(out["prediction_b"], attentivechrome(y[:4])["logits"])
        same = model(x[:4], x[:4])["prediction"]
    torch.testing.assert_close(same, torch.zeros(4), rtol=0, atol=0)
    with pytest.raises(InputError, match="takes 2 checkpoint file"):
        load_reference_weights("attentivechrome_diff", CHECKPOINT, marks=FILE_MARKS)


# --- refusals ------------------------------------------------------------------------------------


def _edited(tmp_path: Path, edit) -> Path:
    state = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    state = OrderedDict(state)
    result = edit(state)  # edits in place, or returns a new state dict
    if isinstance(result, OrderedDict):
        state = result
    path = tmp_path / "edited.pt"
    torch.save(state, path)
    return path


def _rename(state: OrderedDict, old: str, new: str) -> OrderedDict:
    return OrderedDict((new if k == old else k, v) for k, v in state.items())


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda s: _rename(s, "rnn_hms.2.rnn.bias_hh_l0", "rnn_hms.2.lstm.bias_hh_l0"),
            r"missing 'rnn_hms\.2\.rnn\.bias_hh_l0' \(shape \(128,\)\); "
            r"the file has unexpected 'rnn_hms\.2\.lstm\.bias_hh_l0'",
        ),
        (
            lambda s: s.update({"hm_level_rnn_1.bin_attention.bin_context_vector": torch.zeros(16, 1)}),
            r"'hm_level_rnn_1\.bin_attention\.bin_context_vector' has shape \(16, 1\), expected \(32, 1\)",
        ),
        (lambda s: s.pop("fdiff1_1.bias"), r"missing 'fdiff1_1\.bias' \(shape \(1,\)\) \(1 missing"),
        (lambda s: s.update({"fdiff2_1.weight": torch.zeros(1, 32)}), r"unexpected 'fdiff2_1\.weight'"),
        (
            lambda s: [s.pop("rnn_hms.3.rnn.weight_ih_l0"), s.pop("rnn_hms.0.rnn.weight_hh_l0")],
            r"missing 'rnn_hms\.0\.rnn\.weight_hh_l0' \(shape \(128, 32\)\) \(2 missing, 0 unexpected, 0 of",
        ),
    ],
)
def test_mismatches_name_the_first_one_and_the_file(tmp_path: Path, edit, pattern: str) -> None:
    path = _edited(tmp_path, edit)
    with pytest.raises(InputError, match=pattern) as caught:
        load_reference_weights("attentivechrome", path, marks=FILE_MARKS)
    assert str(caught.value).startswith(f"{path}: checkpoint does not fit the card's AttentiveChrome")


def test_wrong_number_of_marks_is_refused() -> None:
    with pytest.raises(InputError, match=r"encoders for 5 marks \(5 in 'rnn_hms'\), but 4 marks were given"):
        load_reference_weights("attentivechrome", CHECKPOINT, marks=FILE_MARKS[:4])
    with pytest.raises(InputError, match="lists a mark twice"):
        load_reference_weights("attentivechrome", CHECKPOINT, marks=FILE_MARKS[:4] + ["H3K4me1"])


def test_a_checkpoint_of_another_variant_is_refused() -> None:
    with pytest.raises(InputError, match=r"DeepDiff raw_c: missing 'rnn_hms\.5\.rnn\.weight_ih_l0'"):
        load_reference_weights("deepdiff_raw_c", CHECKPOINT, marks=FILE_MARKS)


class _Payload:
    """Unpickling this would need code of this module: weights_only must refuse it."""


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "object.pt"
    torch.save({"weights": _Payload()}, path)
    with pytest.raises(InputError, match=r"refused: not a plain state dict, it pickles .*_Payload"):
        load_reference_weights("attentivechrome", path, marks=FILE_MARKS)
    whole = tmp_path / "whole_model.pt"  # what DeepDiffChrome's train.py saves
    torch.save(build_model("attentivechrome"), whole)
    with pytest.raises(InputError, match=r"(?s)refused.*AttentiveChrome.*state_dict\(\)"):
        load_reference_weights("attentivechrome", whole, marks=FILE_MARKS)


def test_other_bad_files(tmp_path: Path) -> None:
    text = tmp_path / "text.pt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(InputError, match=r"text\.pt: not a readable PyTorch checkpoint"):
        load_reference_weights("attentivechrome", text, marks=FILE_MARKS)
    listed = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], listed)
    with pytest.raises(InputError, match="not a state dict .*got list"):
        load_reference_weights("attentivechrome", listed, marks=FILE_MARKS)
    with pytest.raises(InputError, match="checkpoint not found"):
        load_reference_weights("attentivechrome", tmp_path / "absent.pt", marks=FILE_MARKS)
    with pytest.raises(InputError, match="has no reference checkpoint format"):
        load_reference_weights("deepchrome", CHECKPOINT, marks=FILE_MARKS)


# --- DeepDiff: round trip through the reference's names ------------------------------------------

# reference module names each variant's state dict must hold (its constructor's attributes)
REFERENCE_MODULES = {
    "raw_d": {"rnn_hms", "hm_level_rnn_1", "fdiff1_1"},
    "raw_c": {"rnn_hms", "hm_level_rnn_1", "fdiff1_1"},
    "raw": {"rnn_hms", "hm_level_rnn_1", "fdiff1_1"},
    "aux": {"rnn_hms", "rnn_hms2", "hm_level_rnn_1", "hm_level_rnn_2", "f1_1", "f2_1", "predictor_1", "predictor_"},
    "raw_aux": {"rnn_hms", "rnn_hms3", "rnn_hms2", "hm_level_rnn_1", "hm_level_rnn_3", "hm_level_rnn_2"}
    | {"f1_1", "f2_1", "predictor_"},
    "aux_siamese": {"rnn_hms", "hm_level_rnn_1", "hm_level_rnn_2", "f1_1", "f2_1", "predictor_1", "predictor_"},
    "raw_aux_siamese": {"rnn_hms", "rnn_hmsx", "hm_level_rnn_1", "hm_level_rnn_1x", "hm_level_rnn_2"}
    | {"f1_1", "f2_1", "predictor_"},
}
LEVEL1 = {"raw_d": 5, "raw_c": 10, "raw": 15}  # encoders in rnn_hms


@pytest.mark.parametrize("variant", VARIANTS)
def test_deepdiff_round_trip_through_reference_names(tmp_path: Path, variant: str) -> None:
    card = f"deepdiff_{variant}"
    torch.manual_seed(3)
    model = build_model(card, overrides={"n_bins": 9, "init_range": 0.5}).eval()
    state = to_reference_names(model)
    assert {k.split(".")[0] for k in state} == REFERENCE_MODULES[variant]
    assert sum(t.numel() for t in state.values()) == count_parameters(model)
    assert state["rnn_hms.0.bin_attention.bin_context_vector"].shape == (64, 1)
    assert state["hm_level_rnn_1.bin_attention.bin_context_vector"].shape == (32, 1)
    n_level1 = len({k.split(".")[1] for k in state if k.startswith("rnn_hms.")})
    assert n_level1 == LEVEL1.get(variant, 5)
    path = tmp_path / f"{variant}.pt"
    torch.save(state, path)
    loaded = load_reference_weights(card, path, marks=FILE_MARKS, bins=9)
    generator = torch.Generator().manual_seed(4)
    x_a, x_b = (torch.poisson(torch.full((2, 5, 9), 4.0), generator=generator) for _ in range(2))
    with torch.no_grad():
        expected, got = model(x_a, x_b), loaded(x_a, x_b)
    assert set(got) == set(expected)
    for key, value in expected.items():
        if key == "attention":
            for part in ("bin", "mark"):
                torch.testing.assert_close(got[key][part], value[part], rtol=0, atol=0)
        else:
            torch.testing.assert_close(got[key], value, rtol=0, atol=0)


def test_deepdiff_checkpoint_for_fewer_marks_is_refused(tmp_path: Path) -> None:
    torch.manual_seed(0)
    four = build_model("deepdiff_raw", overrides={"n_marks": 4})
    path = tmp_path / "raw4.pt"
    torch.save(to_reference_names(four), path)
    with pytest.raises(InputError, match=r"encoders for 4 marks \(12 in 'rnn_hms'\), but 5 marks were given"):
        load_reference_weights("deepdiff_raw", path, marks=FILE_MARKS)
    loaded = load_reference_weights("deepdiff_raw", path, marks=FILE_MARKS[:4])
    assert loaded.attention_slots(FILE_MARKS[:4])["bin"][-1] == "A-B H3K27me3"


def test_to_reference_names_refuses_other_models() -> None:
    with pytest.raises(InputError, match="no reference checkpoint layout for AttentiveChromeDiff"):
        to_reference_names(build_model("attentivechrome_diff"))


# --- the command line ----------------------------------------------------------------------------


def test_import_weights_command(tmp_path: Path, attentivechrome, capsys) -> None:
    out = tmp_path / "run" / "model.pt"
    out.parent.mkdir()
    argv = ["import-weights", "--card", "attentivechrome", "--reference", str(CHECKPOINT)]
    argv += ["--marks", ",".join(FILE_MARKS), "--bins", "200", "--out", str(out)]
    assert main(argv) == 0
    assert "55681 parameters" in capsys.readouterr().out
    loaded = load_model_file(out)  # torch.load(weights_only=True): the state dict in our names + meta
    state = loaded.state_dict
    assert list(state) == list(attentivechrome.state_dict())
    meta = loaded.meta
    assert meta["task"] == "classification" and meta["marks"] == FILE_MARKS and meta["bins"] == 200
    assert meta["geometry"] == {"window_bp": 10_000, "bin_bp": 100, "orient_by_strand": True}
    assert meta["depth"] is None and meta["normalization"] is None and meta["cells"] == []
    assert meta["imported_from"][0]["sha256"] == sha256sum(CHECKPOINT)
    card = load_card("attentivechrome")
    card["input"].update({"marks": FILE_MARKS, "bins": 200})
    model = build_model(card)
    model.load_state_dict(state, strict=True)
    _, x = _test_split("E123")
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x[:5])["logits"], attentivechrome(x[:5])["logits"], rtol=0, atol=0)
    sidecar = json.loads((tmp_path / "run" / "model.json").read_text())
    _, card_ref = resolve_card("attentivechrome")
    assert sidecar["card"] == "attentivechrome"
    assert sidecar["card_sha256"] == card_ref["sha256"]
    assert sidecar["marks"] == FILE_MARKS and sidecar["bins"] == 200
    assert sidecar["sources"] == [{"path": str(CHECKPOINT), "sha256": sha256sum(CHECKPOINT)}]
    assert sidecar["parameters"] == 55_681


def test_import_weights_command_errors(tmp_path: Path, capsys) -> None:
    argv = ["import-weights", "--card", "attentivechrome", "--reference", str(CHECKPOINT)]
    argv += ["--marks", "H3K4me1,H3K4me3", "--out", str(tmp_path / "model.pt")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"chromexpr import-weights: error: {CHECKPOINT}: the checkpoint has level-1 encoders for 5")
    assert not (tmp_path / "model.pt").exists() and not (tmp_path / "model.json").exists()


@pytest.mark.parametrize("bins", ["99", "0", "-4"])
def test_import_weights_refuses_bins_no_command_could_use(tmp_path: Path, capsys, bins: str) -> None:
    argv = ["import-weights", "--card", "attentivechrome", "--reference", str(CHECKPOINT), "--bins", bins]
    argv += ["--marks", "H3K4me1,H3K4me3,H3K9me3,H3K27me3,H3K36me3", "--out", str(tmp_path / "model.pt")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"chromexpr import-weights: error: --bins {bins}: the bins must be a positive even number")
    assert "e.g. --bins 100" in err
    assert not (tmp_path / "model.pt").exists()


def test_import_weights_refuses_a_mark_named_twice_naming_the_flag(tmp_path: Path, capsys) -> None:
    argv = ["import-weights", "--card", "attentivechrome", "--reference", str(CHECKPOINT)]
    argv += ["--marks", "H3K4me1,H3K4me3,H3K4me3,H3K27me3,H3K36me3", "--out", str(tmp_path / "model.pt")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "chromexpr import-weights: error: --marks 'H3K4me1,H3K4me3,H3K4me3,H3K27me3,H3K36me3' names H3K4me3 more than once"
    )
    assert not (tmp_path / "model.pt").exists()

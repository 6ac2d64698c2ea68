"""Tests for the DeepDiff variants and the AttentiveChrome difference baseline: sizes derived from the
encoders, output shapes and attention, shared (siamese) and separate encoders, and the cards."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from chromexpr.errors import InputError
from chromexpr.models import (
    AttentiveChromeDiff,
    BinLevelEncoder,
    DeepDiff,
    MarkLevelEncoder,
    build_model,
    count_parameters,
    load_card,
)
from chromexpr.models.deepdiff import VARIANTS

MARKS = ["H3K4me1", "H3K4me3", "H3K9me3", "H3K27me3", "H3K36me3"]
N = len(MARKS)
BATCH = 3


def lstm_parameters(inputs: int, hidden: int) -> int:
    """A one-layer bidirectional LSTM: per direction 4 gates x hidden x (inputs + hidden) weights
    and two bias vectors of 4 x hidden."""
    return 2 * (4 * hidden * (inputs + hidden) + 2 * 4 * hidden)


BIN = lstm_parameters(1, 32) + 64  # one bin-level encoder slot + its 64-d context vector
MARK = lstm_parameters(64, 16) + 32  # the mark-level encoder over 64-d slot vectors + 32-d context
LINEAR_1 = 32 + 1  # Linear 32 -> 1
LINEAR_64_32 = 64 * 32 + 32  # Linear 64 -> 32

EXPECTED = {
    "deepdiff_raw_d": N * BIN + MARK + LINEAR_1,
    "deepdiff_raw_c": 2 * N * BIN + MARK + LINEAR_1,
    "deepdiff_raw": 3 * N * BIN + MARK + LINEAR_1,
    "deepdiff_aux": 2 * N * BIN + 2 * MARK + 2 * LINEAR_1 + LINEAR_64_32 + LINEAR_1,
    "deepdiff_raw_aux": 5 * N * BIN + 3 * MARK + 3 * LINEAR_1,
    "deepdiff_aux_siamese": N * BIN + 2 * MARK + 2 * LINEAR_1 + LINEAR_64_32 + LINEAR_1,
    "deepdiff_raw_aux_siamese": 4 * N * BIN + 3 * MARK + 3 * LINEAR_1,
    "attentivechrome_diff": 2 * (N * BIN + MARK + LINEAR_1),
}
CARDS = list(EXPECTED)
DEEPDIFF_CARDS = [c for c in CARDS if c.startswith("deepdiff_")]

# (bin slots, mark slots) of each card's attention maps
SLOTS = {
    "deepdiff_raw_d": (N, N),
    "deepdiff_raw_c": (2 * N, 2 * N),
    "deepdiff_raw": (3 * N, 3 * N),
    "deepdiff_aux": (2 * N, 2 * N),
    "deepdiff_raw_aux": (3 * N, 5 * N),
    "deepdiff_aux_siamese": (2 * N, 2 * N),
    "deepdiff_raw_aux_siamese": (3 * N, 5 * N),
    "attentivechrome_diff": (2 * N, 2 * N),
}


def _build(name: str, **overrides) -> nn.Module:
    torch.manual_seed(0)
    return build_model(name, overrides=overrides or None).eval()


def _counts(bins: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.full((BATCH, N, bins), 3.0), generator=generator)  # (batch, marks, bins)


def test_hand_counts() -> None:
    assert (BIN, MARK) == (9_024, 10_528)
    assert EXPECTED == {
        "deepdiff_raw_d": 55_681,
        "deepdiff_raw_c": 100_801,
        "deepdiff_raw": 145_921,
        "deepdiff_aux": 113_475,
        "deepdiff_raw_aux": 257_283,
        "deepdiff_aux_siamese": 68_355,
        "deepdiff_raw_aux_siamese": 212_163,
        "attentivechrome_diff": 111_362,
    }


def test_encoder_sizes() -> None:
    assert count_parameters(BinLevelEncoder(n_marks=1, bin_hidden=32)) == BIN
    assert count_parameters(MarkLevelEncoder(in_dim=64, mark_hidden=16)) == MARK


@pytest.mark.parametrize("name", CARDS)
def test_parameters_match_card_and_encoders(name: str) -> None:
    card = load_card(name)
    assert count_parameters(build_model(card)) == card["expected_parameters"] == EXPECTED[name]


@pytest.mark.parametrize("name", CARDS)
def test_card_fields(name: str) -> None:
    card = load_card(name)
    assert card["task"] == "differential"
    assert card["input"] == {"values": "counts", "transform": "none", "marks": MARKS, "bins": 200, "bin_bp": 100}
    training = card["training"]
    assert training["selection_metric"] == "valid_pearson"
    assert (training["lr"], training["batch_size"], training["grad_clip"]) == (1e-4, 10, 1.0)
    assert training["contrastive"] == {"margin": 2.0, "threshold": 2.0}
    weights = training["loss_weights"]
    variant = card["hyperparameters"].get("variant")
    if name == "attentivechrome_diff":
        assert weights == {"lfc": 0.0, "aux": 1.0, "contrastive": 0.0}
    else:
        assert weights == {
            "lfc": 1.0,
            "aux": 1.0 if "aux" in variant else 0.0,
            "contrastive": 4.0 if variant.endswith("siamese") else 0.0,
        }
        assert name == f"deepdiff_{variant}"
        assert len(card["published"]) == 2
    assert "Bioinformatics 34(17)" in card["citation"]
    assert card["deviations"]


def test_every_variant_has_a_card() -> None:
    assert sorted(load_card(c)["hyperparameters"]["variant"] for c in DEEPDIFF_CARDS) == sorted(VARIANTS)


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda t: t["loss_weights"].update({"lfc": -1.0}), r"training\.loss_weights\.lfc.*>= 0"),
        (lambda t: t["loss_weights"].update({"mse": 1.0}), r"training\.loss_weights\.mse.*unknown loss term"),
        (lambda t: t.update({"loss_weights": {"lfc": 0, "aux": 0}}), "every loss weight is 0"),
        (lambda t: t["contrastive"].pop("margin"), r"training\.contrastive\.margin"),
        (lambda t: t["contrastive"].update({"margin": 0.0}), r"margin must be a number > 0"),
        (lambda t: t["contrastive"].update({"threshold": "2"}), r"threshold must be a number >= 0"),
    ],
)
def test_malformed_loss_keys_are_rejected(edit, pattern: str) -> None:
    card = copy.deepcopy(load_card("deepdiff_aux_siamese"))
    edit(card["training"])
    with pytest.raises(InputError, match=pattern):
        load_card(card)


# --- outputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [200, 7])
@pytest.mark.parametrize("name", CARDS)
def test_output_shapes_and_attention(name: str, bins: int) -> None:
    card = load_card(name)
    model = _build(name, n_bins=bins)
    with torch.no_grad():
        out = model(_counts(bins, 1), _counts(bins, 2))
    assert set(out) == set(card["outputs"])
    assert set(out["attention"]) == set(card["attention"]) == {"bin", "mark"}
    for key in ("prediction", "prediction_a", "prediction_b"):
        if key in out:
            assert out[key].shape == (BATCH,)
            assert out[key].dtype == torch.float32
            assert torch.isfinite(out[key]).all()
    for key in ("embedding_a", "embedding_b"):
        if key in out:
            assert out[key].shape == (BATCH, N * 64)
    bin_slots, mark_slots = SLOTS[name]
    attention = out["attention"]
    assert attention["bin"].shape == (BATCH, bin_slots, bins)
    assert attention["mark"].shape == (BATCH, mark_slots)
    torch.testing.assert_close(attention["bin"].sum(dim=2), torch.ones(BATCH, bin_slots))
    # the mark attention sums to 1 over each mark level's slots: A's and B's halves, or all of them
    halves = mark_slots == 2 * N and ("aux" in name and "raw" not in name or name == "attentivechrome_diff")
    groups = attention["mark"].reshape(BATCH, 2, N) if halves else attention["mark"][:, None, :]
    torch.testing.assert_close(groups.sum(dim=2), torch.ones(BATCH, groups.shape[1]))
    assert (attention["bin"] >= 0).all() and (attention["mark"] >= 0).all()
    names = model.attention_slots(MARKS)
    assert (len(names["bin"]), len(names["mark"])) == (bin_slots, mark_slots)
    assert len(set(names["mark"])) == mark_slots


def test_attention_slot_names() -> None:
    raw = _build("deepdiff_raw").attention_slots(MARKS)
    assert raw["bin"][:2] == ["A H3K4me1", "A H3K4me3"]
    assert raw["bin"][N] == "B H3K4me1" and raw["bin"][2 * N] == "A-B H3K4me1"
    assert _build("deepdiff_raw_d").attention_slots(MARKS)["mark"] == [f"A-B {m}" for m in MARKS]
    raw_aux = _build("deepdiff_raw_aux_siamese").attention_slots(MARKS)
    assert raw_aux["bin"] == raw_aux["mark"][: 3 * N]
    assert raw_aux["mark"][3 * N :] == [f"aux A {m}" for m in MARKS] + [f"aux B {m}" for m in MARKS]
    assert _build("attentivechrome_diff").attention_slots(MARKS)["mark"] == [f"{c} {m}" for c in "AB" for m in MARKS]
    with pytest.raises(InputError, match="built for 5 marks"):
        _build("deepdiff_aux").attention_slots(MARKS[:3])


@pytest.mark.parametrize("name", CARDS)
def test_every_parameter_gets_a_gradient(name: str) -> None:
    model = _build(name, n_bins=7).train()
    out = model(_counts(7, 1), _counts(7, 2))
    loss = sum(out[k].sum() for k in ("prediction", "prediction_a", "prediction_b") if k in out)
    loss.backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]


@pytest.mark.parametrize("name", CARDS)
def test_uniform_init_and_seeding(name: str) -> None:
    a, b = _build(name), _build(name)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert all(p.abs().max() <= 0.1 for p in a.parameters())


def test_wrong_inputs_are_explained() -> None:
    model = _build("deepdiff_raw_c")
    with pytest.raises(InputError, match=r"cell B.*\(batch, 5 marks, 200 bins\).*got \(3, 200, 5\)"):
        model(_counts(200, 1), _counts(200, 2).transpose(1, 2))
    with pytest.raises(InputError, match="unknown DeepDiff variant 'raw_e'"):
        DeepDiff(variant="raw_e")


# --- structure -----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["aux_siamese", "raw_aux_siamese"])
def test_siamese_level1_encoder_is_shared(variant: str) -> None:
    model = _build(f"deepdiff_{variant}", n_bins=7)
    encoder_a, encoder_b = model.cell_encoders()
    assert encoder_a is encoder_b is model.shared_encoder
    # gradient from B's own prediction reaches the shared encoder
    model.train()
    model(_counts(7, 1), _counts(7, 2))["prediction_b"].sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.shared_encoder.parameters())
    assert all(p.grad is None for p in model.mark_encoder_a.parameters())
    # the same marks in A and B give the same embedding
    x = _counts(7, 3)
    with torch.no_grad():
        out = model(x, x.clone())
    torch.testing.assert_close(out["embedding_a"], out["embedding_b"], rtol=0, atol=0)
    with torch.no_grad():
        vectors, _ = model.shared_encoder(x)  # (batch, marks, 64)
    torch.testing.assert_close(out["embedding_a"], vectors.reshape(BATCH, -1))  # mark-major
    torch.testing.assert_close(out["embedding_a"][:, 64:128], vectors[:, 1])


@pytest.mark.parametrize("variant", ["aux", "raw_aux"])
def test_separate_encoders_are_distinct(variant: str) -> None:
    model = _build(f"deepdiff_{variant}", n_bins=7)
    encoder_a, encoder_b = model.cell_encoders()
    assert encoder_a is not encoder_b
    pointers_a = {p.data_ptr() for p in encoder_a.parameters()}
    assert pointers_a.isdisjoint(p.data_ptr() for p in encoder_b.parameters())
    assert model.mark_encoder_a is not model.mark_encoder_b
    model.train()
    model(_counts(7, 1), _counts(7, 2))["prediction_b"].sum().backward()
    assert all(p.grad is None for p in encoder_a.parameters())
    assert all(p.grad is not None for p in encoder_b.parameters())


def test_raw_variants_have_no_cell_encoders() -> None:
    with pytest.raises(InputError, match="no per-cell encoders"):
        _build("deepdiff_raw").cell_encoders()


def test_raw_d_sees_only_the_difference() -> None:
    model = _build("deepdiff_raw_d", n_bins=7)
    x_a, x_b, shift = _counts(7, 1), _counts(7, 2), _counts(7, 3) * 5  # whole numbers: A - B is exact
    with torch.no_grad():
        base = model(x_a, x_b)
        shifted = model(x_a + shift, x_b + shift)
        swapped = model(x_b, x_a)
    torch.testing.assert_close(shifted["prediction"], base["prediction"], rtol=0, atol=0)
    assert not torch.allclose(swapped["prediction"], base["prediction"])


def test_raw_c_and_raw_see_both_cells() -> None:
    for name in ("deepdiff_raw_c", "deepdiff_raw"):
        model = _build(name, n_bins=7, init_range=0.5)
        x_a, x_b, shift = _counts(7, 1), _counts(7, 2), _counts(7, 3) * 5
        with torch.no_grad():
            assert not torch.allclose(model(x_a + shift, x_b + shift)["prediction"], model(x_a, x_b)["prediction"])


def test_raw_aux_mark_level_reads_raw_then_a_then_b() -> None:
    model = _build("deepdiff_raw_aux", n_bins=7)
    x_a, x_b = _counts(7, 1), _counts(7, 2)
    with torch.no_grad():
        out = model(x_a, x_b)
        raw, _ = model.raw_encoder(torch.cat([x_a, x_b, x_a - x_b], dim=1))
        vectors_a, _ = model.encoder_a(x_a)
        vectors_b, _ = model.encoder_b(x_b)
        gene, weights = model.mark_encoder(torch.cat([raw, vectors_a, vectors_b], dim=1))
        gene_a, _ = model.mark_encoder_a(vectors_a)
    torch.testing.assert_close(out["prediction"], model.head(gene).squeeze(-1))
    torch.testing.assert_close(out["attention"]["mark"], weights)
    torch.testing.assert_close(out["prediction_a"], model.head_a(gene_a).squeeze(-1))


def test_aux_difference_head_is_an_mlp_on_both_gene_vectors() -> None:
    model = _build("deepdiff_aux", n_bins=7)
    assert (model.head_hidden.in_features, model.head_hidden.out_features) == (64, 32)
    x_a, x_b = _counts(7, 1), _counts(7, 2)
    with torch.no_grad():
        out = model(x_a, x_b)
        gene_a, _ = model.mark_encoder_a(model.encoder_a(x_a)[0])
        gene_b, _ = model.mark_encoder_b(model.encoder_b(x_b)[0])
        hidden = torch.relu(model.head_hidden(torch.cat([gene_a, gene_b], dim=1)))
    torch.testing.assert_close(out["prediction"], model.head(hidden).squeeze(-1))


def test_attentivechrome_diff_is_the_difference_of_two_regressors() -> None:
    model = _build("attentivechrome_diff", n_bins=7)
    assert isinstance(model, AttentiveChromeDiff)
    assert model.cell_a is not model.cell_b
    x_a, x_b = _counts(7, 1), _counts(7, 2)
    with torch.no_grad():
        out = model(x_a, x_b)
        own_a, own_b = model.cell_a(x_a), model.cell_b(x_b)
    torch.testing.assert_close(out["prediction"], out["prediction_b"] - out["prediction_a"], rtol=0, atol=0)
    torch.testing.assert_close(out["prediction_a"], own_a["logits"])
    torch.testing.assert_close(out["prediction_b"], own_b["logits"])
    torch.testing.assert_close(out["attention"]["mark"][:, N:], own_b["attention"]["mark"])

"""Tests for chromexpr.models: every card builds at its real size, keeps the forward contract and the
parameter counts of MODEL_SPEC.md; attention, gradient reversal, seeding and the card registry."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from chromexpr.errors import InputError
from chromexpr.models import (
    ENV_MODELS_DIR,
    GradientReversal,
    build_model,
    count_parameters,
    grad_reverse,
    list_cards,
    load_card,
)
from chromexpr.models.classical import MarkMeans
from chromexpr.models.layers import sinusoidal_encoding, tss_distance_kb
from chromexpr.shipped import cards_dir

REPO_MODELS_DIR = cards_dir()

CARDS = [
    "deepchrome",
    "attentivechrome",
    "convchrome",
    "transferchrome",
    "transferchrome_alpha",
    "transferchrome_beta",
    "transferchrome_1",
    "transferchrome_2",
    "transferchrome_3",
    "deepchrome_avgpool",
    "deepchrome_strided",
    "linear12",
    "logreg",
    "random_forest",
]
TORCH_CARDS = [n for n in CARDS if n not in ("logreg", "random_forest")]
SKLEARN_CARDS = ["logreg", "random_forest"]

# MODEL_SPEC.md: counts stated by the papers or read in the reference code
SPEC_PARAMETERS = {
    "deepchrome": 644_177,
    "deepchrome_avgpool": 644_177,
    "deepchrome_strided": 362_927,
    "attentivechrome": 55_681,
    "linear12": 12,
}

BATCH, MARKS, BINS = 3, 5, 100


@pytest.fixture(scope="module")
def cards() -> dict[str, dict]:
    return {name: load_card(REPO_MODELS_DIR / f"{name}.yaml") for name in CARDS}


@pytest.fixture()
def x() -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    return torch.randn(BATCH, MARKS, BINS, generator=generator)  # (batch, marks, bins)


def _build(card: dict, **overrides) -> nn.Module:
    torch.manual_seed(0)
    model = build_model(card, overrides=overrides or None)
    return model.eval()


# --- cards and registry --------------------------------------------------------------------------


def test_builtin_class_table_matches_what_the_modules_register() -> None:
    """``BUILTIN_CLASSES`` (cards are checked against it without importing torch) names, for every
    shipped class, the module that registers it and its framework; importing them all adds nothing else."""
    import importlib

    from chromexpr.models.registry import BUILTIN_CLASSES, REGISTRY, registry_entry

    for module in sorted({m for m, _ in BUILTIN_CLASSES.values()}):
        importlib.import_module(module)
    shipped = {name: entry for name, entry in REGISTRY.items() if entry.factory.__module__.startswith("chromexpr.")}
    assert set(shipped) == set(BUILTIN_CLASSES)
    for name, (module, framework) in BUILTIN_CLASSES.items():
        entry = registry_entry(name)
        assert entry.factory.__module__ == module and entry.framework == framework, name
    with pytest.raises(KeyError):
        registry_entry("NoSuchModel")


def test_every_shipped_card_names_a_known_class() -> None:
    from chromexpr.models.registry import known_classes

    known = known_classes()
    for name in list_cards():
        card = load_card(name)
        assert known[card["class"]] == card["framework"], name


def test_every_expected_card_ships() -> None:
    assert set(CARDS) <= set(list_cards(REPO_MODELS_DIR))


@pytest.mark.parametrize("name", CARDS)
def test_card_is_complete(cards: dict, name: str) -> None:
    card = cards[name]
    assert card["name"] == name
    assert card["input"]["marks"] and len(card["input"]["marks"]) == MARKS
    assert card["input"]["bins"] == BINS
    assert card["training"]["selection_metric"] == "valid_auroc"
    assert card["citation"].strip()
    assert card["deviations"], "every card records where it departs from the paper"


def test_load_card_by_name_path_and_dict(cards: dict) -> None:
    by_path = load_card(REPO_MODELS_DIR / "deepchrome.yaml")
    by_name = load_card("deepchrome", cards_dir=REPO_MODELS_DIR)
    by_dict = load_card(by_path)
    assert by_path == by_name == by_dict
    by_dict["hyperparameters"]["pool"] = "avg"
    assert by_path["hyperparameters"]["pool"] == "max", "load_card must copy a dict"


def test_card_lookup_order_env_and_cards_dir(tmp_path: Path, monkeypatch) -> None:
    card = load_card(REPO_MODELS_DIR / "linear12.yaml")
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    for directory, reduce in ((env_dir, "sum"), (arg_dir, "mean")):
        directory.mkdir()
        variant = copy.deepcopy(card)
        variant["name"] = "my_linear"
        variant["hyperparameters"]["reduce"] = reduce
        (directory / "my_linear.yaml").write_text(yaml.safe_dump(variant))
    monkeypatch.setenv(ENV_MODELS_DIR, str(env_dir))
    assert load_card("my_linear")["hyperparameters"]["reduce"] == "sum"
    assert load_card("my_linear", cards_dir=arg_dir)["hyperparameters"]["reduce"] == "mean"
    assert "my_linear" in list_cards()


def test_unknown_card_names_the_search_path() -> None:
    with pytest.raises(InputError, match=r"(?s)no model card named 'nope'.*available cards: .*deepchrome"):
        load_card("nope", cards_dir=REPO_MODELS_DIR)


def test_missing_card_file() -> None:
    with pytest.raises(InputError, match="model card not found"):
        load_card("does/not/exist.yaml")


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda c: c.pop("deviations"), "missing required key 'deviations'"),
        (lambda c: c.update({"class": "NoSuchNet"}), "unknown model class 'NoSuchNet'"),
        (lambda c: c["input"].update({"values": "reads"}), "input.values"),
        (lambda c: c["input"].update({"bins": 0}), "input.bins"),
        (lambda c: c["training"].pop("patience"), "training.patience"),
        (lambda c: c.update({"framework": "sklearn"}), "framework"),
    ],
)
def test_malformed_card_is_rejected(cards: dict, edit, pattern: str) -> None:
    card = copy.deepcopy(cards["deepchrome"])
    edit(card)
    with pytest.raises(InputError, match=pattern):
        load_card(card)


def test_card_name_must_match_file(tmp_path: Path, cards: dict) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(cards["linear12"]))
    with pytest.raises(InputError, match="differs from its file name"):
        load_card(path)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nclass: [unclosed\n")
    with pytest.raises(InputError, match=r"broken\.yaml:\d+.*not valid YAML"):
        load_card(path)


def test_unknown_hyperparameter_lists_accepted_ones(cards: dict) -> None:
    with pytest.raises(
        InputError,
        match=r"(?s)card .deepchrome.*no hyperparameter.*kernel_sise.*accepts:.*kernel_size",
    ):
        build_model(cards["deepchrome"], overrides={"kernel_sise": 3})


# --- forward contract and sizes ------------------------------------------------------------------


@pytest.mark.parametrize("name", TORCH_CARDS)
def test_forward_contract(cards: dict, x: torch.Tensor, name: str) -> None:
    card = cards[name]
    model = _build(card)
    assert isinstance(model, nn.Module)
    out = model(x)
    assert set(out) == set(card["outputs"])
    assert out["logits"].shape == (BATCH,)
    assert out["logits"].dtype == torch.float32
    assert torch.isfinite(out["logits"]).all()
    if "class_logits" in out:
        assert out["class_logits"].shape == (BATCH, 2)
        diff = out["class_logits"][:, 1] - out["class_logits"][:, 0]
        torch.testing.assert_close(out["logits"], diff)
    if "features" in out:
        assert out["features"].shape == (BATCH, card["hyperparameters"]["feature_dim"])
    if "attention" in out:
        assert set(out["attention"]) == set(card["attention"])


@pytest.mark.parametrize("name", TORCH_CARDS)
def test_parameters_match_card(cards: dict, name: str) -> None:
    assert count_parameters(_build(cards[name])) == cards[name]["expected_parameters"]


@pytest.mark.parametrize(("name", "expected"), sorted(SPEC_PARAMETERS.items()))
def test_parameters_match_model_spec(cards: dict, name: str, expected: int) -> None:
    assert count_parameters(_build(cards[name])) == expected
    assert cards[name]["expected_parameters"] == expected


@pytest.mark.parametrize("name", TORCH_CARDS)
def test_every_parameter_gets_a_gradient(cards: dict, x: torch.Tensor, name: str) -> None:
    """No dead layers inflating the parameter count; the loss reaches every weight."""
    model = _build(cards[name]).train()
    logits = model(x)["logits"]
    loss = nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([0.0, 1.0, 1.0]))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_wrong_input_layout_is_explained(cards: dict) -> None:
    model = _build(cards["deepchrome"])
    with pytest.raises(InputError, match=r"\(batch, 5 marks, 100 bins\).*got \(3, 100, 5\)"):
        model(torch.zeros(3, 100, 5))


def test_deepchrome_variants_differ_where_the_card_says(cards: dict) -> None:
    assert isinstance(_build(cards["deepchrome"]).conv[2], nn.MaxPool1d)
    assert isinstance(_build(cards["deepchrome_avgpool"]).conv[2], nn.AvgPool1d)
    strided = _build(cards["deepchrome_strided"])
    assert strided.conv[0].stride == (2,)
    assert strided.n_features == 450  # 46 conv positions -> 9 pooled x 50 filters
    assert _build(cards["deepchrome"]).n_features == 900


def test_linear12_is_a_linear_map_of_mark_means(cards: dict, x: torch.Tensor) -> None:
    model = _build(cards["linear12"])
    out = model(x)
    expected = x.mean(dim=2) @ model.linear.weight.T + model.linear.bias  # (batch, 2)
    torch.testing.assert_close(out["class_logits"], expected)


def test_convchrome_dense_activation_option(cards: dict, x: torch.Tensor) -> None:
    model = _build(cards["convchrome"], dense_activation="none")
    assert count_parameters(model) == cards["convchrome"]["expected_parameters"]
    assert not any(isinstance(m, nn.ReLU) for m in model.classifier)
    assert model(x)["logits"].shape == (BATCH,)


# --- attention -----------------------------------------------------------------------------------


def test_attentivechrome_attention_sums_to_one(cards: dict, x: torch.Tensor) -> None:
    attention = _build(cards["attentivechrome"])(x)["attention"]
    assert attention["bin"].shape == (BATCH, MARKS, BINS)
    assert attention["mark"].shape == (BATCH, MARKS)
    torch.testing.assert_close(attention["bin"].sum(dim=2), torch.ones(BATCH, MARKS))
    torch.testing.assert_close(attention["mark"].sum(dim=1), torch.ones(BATCH))
    assert (attention["bin"] >= 0).all() and (attention["mark"] >= 0).all()


def test_attentivechrome_uniform_init(cards: dict) -> None:
    model = _build(cards["attentivechrome"])
    assert len(model.bin_encoder.lstms) == MARKS
    assert model.bin_encoder.lstms[0] is not model.bin_encoder.lstms[1]
    for p in model.parameters():
        assert p.abs().max() <= 0.1


class _PlainAttentiveChrome(nn.Module):
    """AttentiveChrome written out flat, as it was before it was split into BinLevelEncoder and
    MarkLevelEncoder: the same layers created in the same order, the same uniform initialisation."""

    def __init__(self) -> None:
        super().__init__()
        self.lstms = nn.ModuleList(nn.LSTM(1, 32, batch_first=True, bidirectional=True) for _ in range(MARKS))
        self.bin_contexts = nn.ParameterList(nn.Parameter(torch.empty(64)) for _ in range(MARKS))
        self.mark_lstm = nn.LSTM(64, 16, batch_first=True, bidirectional=True)
        # in a child module, so that it comes after the mark LSTM in parameters() (init order)
        self.mark_context = nn.ParameterList([nn.Parameter(torch.empty(32))])
        self.linear = nn.Linear(32, 1)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vectors = []
        for m in range(MARKS):
            h, _ = self.lstms[m](x[:, m, :, None])  # (batch, bins, 64)
            alpha = torch.softmax(h @ self.bin_contexts[m], dim=1)  # (batch, bins)
            vectors.append((alpha[:, :, None] * h).sum(dim=1))  # (batch, 64)
        h, _ = self.mark_lstm(torch.stack(vectors, dim=1))  # (batch, marks, 32)
        beta = torch.softmax(h @ self.mark_context[0], dim=1)  # (batch, marks)
        return self.linear((beta[:, :, None] * h).sum(dim=1)).squeeze(-1)


def test_attentivechrome_refactor_keeps_seeded_weights_and_outputs(cards: dict) -> None:
    """A seed gives the weights and outputs it gave before the encoders were factored out: the same
    values as a flat construction, and the logits recorded from the flat code (seed 0, x below)."""
    torch.manual_seed(0)
    plain = _PlainAttentiveChrome().eval()
    model = _build(cards["attentivechrome"])  # seed 0 as well
    lstm = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    lstm += [f"{n}_reverse" for n in lstm]
    names = [f"bin_encoder.lstms.{m}.{n}" for m in range(MARKS) for n in lstm]
    names += [f"bin_encoder.attention.{m}.context" for m in range(MARKS)]
    names += [f"mark_encoder.lstm.{n}" for n in lstm] + ["mark_encoder.attention.context"]
    names += ["classifier.weight", "classifier.bias"]
    assert list(model.state_dict()) == names
    for ours, theirs in zip(model.state_dict().values(), plain.state_dict().values(), strict=True):
        assert torch.equal(ours, theirs)
    x = torch.rand(4, MARKS, BINS, generator=torch.Generator().manual_seed(11)) * 10
    with torch.no_grad():
        logits = model(x)["logits"]
        torch.testing.assert_close(logits, plain(x), rtol=0, atol=1e-7)
    recorded = torch.tensor([-0.0035686838, -0.0039948411, -0.0039185481, -0.0040496308])
    torch.testing.assert_close(logits, recorded, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("name", [n for n in TORCH_CARDS if n.startswith("transferchrome")])
def test_transferchrome_self_attention_rows_sum_to_one(cards: dict, x: torch.Tensor, name: str) -> None:
    maps = _build(cards[name])(x)["attention"]["self"]
    assert maps.shape == (BATCH, 2, BINS // 2, BINS // 2)  # (batch, layers, queries, keys)
    torch.testing.assert_close(maps.sum(dim=-1), torch.ones(BATCH, 2, BINS // 2))


def test_tss_distance_channel() -> None:
    distance = tss_distance_kb(n_positions=50, pool=2, bin_bp=100, tss_bin=50)
    assert distance.shape == (50,)
    assert distance[0].item() == pytest.approx(-4.9)
    assert distance[-1].item() == pytest.approx(4.9)
    assert distance[25].item() == pytest.approx(0.1)  # bins 50-51: the first 200 bp downstream
    torch.testing.assert_close(distance, -distance.flip(0))


def test_sinusoidal_encoding() -> None:
    encoding = sinusoidal_encoding(n_positions=50, channels=8)
    assert encoding.shape == (8, 50)
    torch.testing.assert_close(encoding[0], torch.sin(torch.arange(50.0)))
    torch.testing.assert_close(encoding[1], torch.cos(torch.arange(50.0)))


def test_position_ablations_change_the_attention_width(cards: dict) -> None:
    widths = {
        n: _build(cards[n]).attention[0].conv_v.in_channels
        for n in ("transferchrome", "transferchrome_alpha", "transferchrome_beta")
    }
    assert widths == {"transferchrome": 51, "transferchrome_alpha": 58, "transferchrome_beta": 50}


# --- gradient reversal and domain head -----------------------------------------------------------


@pytest.mark.parametrize("lambda_", [0.0, 0.3, 1.0, 2.5])
def test_gradient_reversal_layer(lambda_: float) -> None:
    x = torch.randn(4, 6, requires_grad=True)
    weights = torch.randn(4, 6)
    y = GradientReversal(lambda_=lambda_)(x)
    torch.testing.assert_close(y, x)  # identity forward
    (y * weights).sum().backward()
    torch.testing.assert_close(x.grad, -lambda_ * weights)  # reversed and scaled backward


def test_grad_reverse_functional() -> None:
    x = torch.ones(3, requires_grad=True)
    grad_reverse(x, 0.5).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3,), -0.5))


def test_transferchrome_domain_head(cards: dict, x: torch.Tensor) -> None:
    card = cards["transferchrome"]
    adaptation = card["domain_adaptation"]
    model = _build(card, **adaptation["override"])
    out = model(x)
    assert set(out) == set(adaptation["outputs"])
    assert out["domain_logits"].shape == (BATCH,)
    assert count_parameters(model) == adaptation["expected_parameters"]


def test_transferchrome_domain_gradient_is_reversed(cards: dict, x: torch.Tensor) -> None:
    """Through the GRL the features receive -lambda times the domain head's own gradient, while
    the domain head itself is trained normally."""
    model = _build(cards["transferchrome"], domain_head=True)
    for lambda_ in (0.25, 1.0):
        model.set_grl_lambda(lambda_)
        out = model(x)
        features = out["features"]
        features.retain_grad()
        out["domain_logits"].sum().backward()
        plain = features.detach().clone().requires_grad_(True)
        model.domain_head(plain).sum().backward()
        torch.testing.assert_close(features.grad, -lambda_ * plain.grad)
        model.zero_grad()
    # the label head never sees the reversal: no domain head, no reversal
    head_free = _build(cards["transferchrome"])
    assert head_free.grl is None and "domain_logits" not in head_free(x)


# --- determinism ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TORCH_CARDS)
def test_construction_is_seeded(cards: dict, x: torch.Tensor, name: str) -> None:
    torch.manual_seed(123)
    a = build_model(cards[name]).eval()
    torch.manual_seed(123)
    b = build_model(cards[name]).eval()
    torch.manual_seed(321)
    c = build_model(cards[name]).eval()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb
        assert torch.equal(va, vb)
    assert any(not torch.equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values(), strict=True))
    with torch.no_grad():
        torch.testing.assert_close(a(x)["logits"], b(x)["logits"], rtol=0, atol=0)


# --- scikit-learn baselines ----------------------------------------------------------------------


def _tiny_counts(n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=n)
    x = rng.poisson(2.0, size=(n, MARKS, BINS)).astype(np.float64)  # (genes, marks, bins)
    x[y == 1, 0, 40:60] += rng.poisson(6.0, size=(int(y.sum()), 20))  # active promoter mark
    return np.log1p(x), y


def test_mark_means_accepts_flat_and_3d() -> None:
    x, _ = _tiny_counts(5)
    means = MarkMeans(n_marks=MARKS, n_bins=BINS)
    np.testing.assert_allclose(means.fit_transform(x.reshape(5, -1)), x.mean(axis=2))
    np.testing.assert_allclose(means.fit_transform(x), x.mean(axis=2))
    with pytest.raises(InputError, match="flatten each gene"):
        means.fit_transform(x.reshape(5, BINS, MARKS)[:, :, :4])


@pytest.mark.parametrize("name", SKLEARN_CARDS)
def test_sklearn_baseline_fits_and_predicts(cards: dict, name: str) -> None:
    card = cards[name]
    model = build_model(
        card,
        overrides={"random_state": 0} | ({"n_estimators": 20} if name == "random_forest" else {}),
    )
    x, y = _tiny_counts()
    flat = x.reshape(len(x), MARKS * BINS)  # (genes, marks * bins), C order
    model.fit(flat, y)
    proba = model.predict_proba(flat)
    assert proba.shape == (len(x), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba[:, 1] > 0.5) == y).mean() > 0.8
    assert count_parameters(model) == card["expected_parameters"]


def test_sklearn_seed_makes_forest_reproducible(cards: dict) -> None:
    x, y = _tiny_counts()
    flat = x.reshape(len(x), -1)
    a = build_model(cards["random_forest"], overrides={"random_state": 3, "n_estimators": 10})
    b = build_model(cards["random_forest"], overrides={"random_state": 3, "n_estimators": 10})
    np.testing.assert_array_equal(a.fit(flat, y).predict_proba(flat), b.fit(flat, y).predict_proba(flat))

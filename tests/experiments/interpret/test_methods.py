"""Tests for chromexpr.experiments.interpret.methods: attention maps, class optimization, integrated gradients and the
summaries, on tiny models (CPU, seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from chromexpr.errors import InputError
from chromexpr.experiments.interpret.methods import (
    IG_INPUTS,
    ClassOptimization,
    _ig_genes,
    attention_maps,
    attribution_signs,
    class_means,
    class_optimization,
    integrated_gradients,
    integrated_gradients_with_delta,
    linear_weights,
)
from chromexpr.models import build_model

MARKS, BINS = 5, 100
ATT_BINS = 20  # bins of the tiny AttentiveChrome
MARK_NAMES = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"]


def _build(card: str, **overrides) -> nn.Module:
    torch.manual_seed(0)
    return build_model(card, overrides=overrides or None)


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.poisson(2.0, size=(7, MARKS, BINS)).astype(np.float32)  # (genes, marks, bins) counts


@pytest.fixture(scope="module")
def attentive() -> nn.Module:
    return _build("attentivechrome", n_bins=ATT_BINS, bin_hidden=4, mark_hidden=3)


@pytest.fixture(scope="module")
def x_att(x) -> np.ndarray:
    return np.ascontiguousarray(x[:, :, :ATT_BINS])  # (genes, marks, ATT_BINS): shorter LSTMs, faster tests


@pytest.fixture(scope="module")
def deepchrome() -> nn.Module:
    return _build("deepchrome", conv_channels=4, hidden=[8])


class SumLinear(nn.Module):
    """f(x) = sum(w * x) + b, as a classifier's ``logits``."""

    def __init__(self, w: torch.Tensor, b: float) -> None:
        super().__init__()
        self.w = nn.Parameter(w)
        self.b = nn.Parameter(torch.tensor(b))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": (x * self.w).sum(dim=(1, 2)) + self.b}  # (batch,)


# --- attention -----------------------------------------------------------------------------------


def test_attention_maps_are_distributions(attentive, x_att):
    maps = attention_maps(attentive, x_att)
    assert maps["bin"].shape == (7, MARKS, ATT_BINS) and maps["bin"].dtype == np.float32
    assert maps["mark"].shape == (7, MARKS) and maps["mark"].dtype == np.float32
    np.testing.assert_allclose(maps["bin"].sum(axis=2), 1.0, atol=1e-5)
    np.testing.assert_allclose(maps["mark"].sum(axis=1), 1.0, atol=1e-5)
    assert (maps["bin"] >= 0).all() and (maps["mark"] >= 0).all()


def test_attention_maps_keep_gene_order_and_ignore_batching(attentive, x_att):
    maps = attention_maps(attentive, x_att, batch_size=512)
    order = np.array([4, 0, 6, 2, 1, 5, 3])
    permuted = attention_maps(attentive, x_att[order], batch_size=3)
    np.testing.assert_allclose(permuted["bin"], maps["bin"][order], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(permuted["mark"], maps["mark"][order], rtol=1e-5, atol=1e-7)
    # genes differ, so the check above is not vacuous
    assert not np.allclose(maps["mark"][0], maps["mark"][1])


def test_attention_maps_restore_training_mode(attentive, x_att):
    attentive.train()
    attention_maps(attentive, x_att[:2])
    assert attentive.training
    attentive.eval()


def test_attention_maps_need_attention(deepchrome, x):
    with pytest.raises(InputError, match="no bin and mark attention"):
        attention_maps(deepchrome, x)


# --- class optimization --------------------------------------------------------------------------


@pytest.mark.parametrize("clamp_each_step", [False, True])
@pytest.mark.parametrize("target", [1, 0])
def test_class_optimization_decreases_loss_and_is_scaled(deepchrome, target, clamp_each_step):
    result = class_optimization(
        deepchrome, target=target, marks=MARKS, bins=BINS, steps=100, seed=1, clamp_each_step=clamp_each_step
    )
    assert isinstance(result, ClassOptimization) and result.target == target
    assert result.map.shape == (MARKS, BINS) and result.map.dtype == np.float32
    assert result.losses.shape == (100,) and result.losses.dtype == np.float64
    assert np.isfinite(result.losses).all()
    assert result.losses[-1] < result.losses[0]
    tenth = len(result.losses) // 10
    assert result.losses[-tenth:].mean() < result.losses[:tenth].mean()
    assert result.map.min() >= 0.0 and result.map.max() == 1.0


def test_class_optimization_is_seeded_and_leaves_the_model_alone(deepchrome):
    before = {k: v.clone() for k, v in deepchrome.state_dict().items()}
    a = class_optimization(deepchrome, target=1, marks=MARKS, bins=BINS, steps=30, seed=5)
    b = class_optimization(deepchrome, target=1, marks=MARKS, bins=BINS, steps=30, seed=5)
    c = class_optimization(deepchrome, target=1, marks=MARKS, bins=BINS, steps=30, seed=6)
    np.testing.assert_array_equal(a.map, b.map)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.losses, c.losses)
    for k, v in deepchrome.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    assert all(p.grad is None for p in deepchrome.parameters())


def test_class_optimization_objective_by_hand():
    # logits = sum(w * x) + b; with a single step, loss[0] = -logsigmoid(+-logit(X0)) + l2 * sum(X0^2)
    w = torch.full((2, 3), 0.5)
    model = SumLinear(w, -1.0)
    result = class_optimization(model, target=0, marks=2, bins=3, steps=1, l2=0.1, seed=2)
    x0 = torch.rand((1, 2, 3), generator=torch.Generator().manual_seed(2))
    logit = float((x0 * w).sum()) - 1.0
    expected = -np.log(1.0 / (1.0 + np.exp(logit))) + 0.1 * float((x0**2).sum())
    assert result.losses[0] == pytest.approx(expected, rel=1e-6)


def test_class_optimization_zero_map_and_errors():
    # a positive weight everywhere: target 0 and the L2 penalty both push X to 0 -> an all-zero map, no NaN
    model = SumLinear(torch.full((2, 3), 5.0), 0.0)
    result = class_optimization(model, target=0, marks=2, bins=3, steps=50, seed=0)
    np.testing.assert_array_equal(result.map, np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(InputError, match="target"):
        class_optimization(model, target=2, marks=2, bins=3)
    with pytest.raises(InputError, match="steps"):
        class_optimization(model, target=1, marks=2, bins=3, steps=0)


# --- integrated gradients ------------------------------------------------------------------------


def test_integrated_gradients_completeness(deepchrome, x):
    attr, delta = integrated_gradients_with_delta(deepchrome, x, n_steps=200, batch_size=3)
    assert attr.shape == x.shape and attr.dtype == np.float32
    assert delta.shape == (x.shape[0],)
    with torch.no_grad():
        fx = deepchrome.eval()(torch.from_numpy(x))["logits"].double().numpy()
        f0 = deepchrome(torch.zeros(1, MARKS, BINS))["logits"].double().numpy()
    gap = fx - f0  # F(x) - F(baseline), per gene
    totals = attr.astype(np.float64).sum(axis=(1, 2))
    # ReLU and max-pool kinks limit the path integral's accuracy; relative to the largest gap (a gene whose gap
    # is near 0 has no meaningful relative error of its own): at 200 steps the error is about 1e-3 of it
    scale = np.abs(gap).max()
    np.testing.assert_allclose(totals, gap, rtol=1e-2, atol=1e-2 * scale)
    np.testing.assert_allclose(delta, totals - gap, atol=1e-5)  # captum's delta is the completeness gap
    assert np.abs(delta).max() <= 1e-2 * scale


def test_integrated_gradients_do_not_depend_on_the_genes_per_call(attentive, x_att, deepchrome, x):
    """The default (about IG_INPUTS inputs per captum call: 3 of the 7 genes at 100 steps, 16 at 20) gives
    the same attributions and deltas as one call over every gene and as one gene per call."""
    assert _ig_genes(None, 100) == 3 and _ig_genes(None, 20) == 16 and _ig_genes(None, 1000) == 1
    assert _ig_genes(5, 20) == 5 and IG_INPUTS == 320
    for model, inputs in ((attentive, x_att), (deepchrome, x)):
        default = integrated_gradients_with_delta(model, inputs, n_steps=100)
        for genes in (len(inputs), 1):
            other = integrated_gradients_with_delta(model, inputs, n_steps=100, batch_size=genes)
            np.testing.assert_allclose(other[0], default[0], rtol=0, atol=1e-6)
            np.testing.assert_allclose(other[1], default[1], rtol=0, atol=1e-6)


def test_integrated_gradients_of_a_linear_function_is_w_times_x(x):
    rng = np.random.default_rng(0)
    w = torch.from_numpy(rng.normal(size=(MARKS, BINS)).astype(np.float32))
    model = SumLinear(w, 0.7)
    attr = integrated_gradients(model, x, batch_size=4)
    np.testing.assert_allclose(attr, w.numpy()[None] * x, rtol=1e-5, atol=1e-5)
    # a constant baseline: attributions are w * (x - baseline)
    attr = integrated_gradients(model, x, baseline=1.0)
    np.testing.assert_allclose(attr, w.numpy()[None] * (x - 1.0), rtol=1e-5, atol=1e-5)


def test_integrated_gradients_of_the_linear_model_by_hand(x):
    model = _build("linear12")
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor([[0.0, 1.0, 0.0, 2.0, 0.0], [1.0, 0.0, -1.0, 0.0, 3.0]]))
    # logits = (w1 - w0) . mean_bins(x): IG = (w1 - w0)[m] * x / bins
    effect = np.array([1.0, -1.0, -1.0, -2.0, 3.0], dtype=np.float32)
    attr = integrated_gradients(model, x)
    np.testing.assert_allclose(attr, effect[None, :, None] * x / BINS, rtol=1e-5, atol=1e-6)
    # the same through the two class scores
    class1 = integrated_gradients(model, x, key="class_logits", target=1)
    np.testing.assert_allclose(class1, np.array([1, 0, -1, 0, 3])[None, :, None] * x / BINS, rtol=1e-5, atol=1e-6)


def test_integrated_gradients_errors(deepchrome, x):
    with pytest.raises(InputError, match="baseline"):
        integrated_gradients(deepchrome, x, baseline="mean")
    with pytest.raises(InputError, match="broadcast"):
        integrated_gradients(deepchrome, x, baseline=np.zeros((3, 3)))
    with pytest.raises(InputError, match="prediction"):
        integrated_gradients(deepchrome, x, key="prediction")
    with pytest.raises(InputError, match="genes, marks, bins"):
        integrated_gradients(deepchrome, x[0])


# --- summaries -----------------------------------------------------------------------------------


def test_class_means_by_hand():
    attr = np.zeros((4, 2, 3), dtype=np.float32)
    attr[0] = [[1, 2, 3], [4, 5, 6]]
    attr[1] = [[3, 2, 1], [0, 1, 2]]
    attr[2] = [[-1, 0, 1], [2, 2, 2]]
    attr[3] = [[5, 5, 5], [-4, -3, -2]]
    labels = np.array([1, 0, 1, 0])
    means = class_means(attr, labels)
    assert set(means) == {"expressed", "not_expressed"}
    assert means["expressed"].dtype == np.float64
    np.testing.assert_array_equal(means["expressed"], [[0.0, 1.0, 2.0], [3.0, 3.5, 4.0]])
    np.testing.assert_array_equal(means["not_expressed"], [[4.0, 3.5, 3.0], [-2.0, -1.0, 0.0]])


def test_class_means_errors():
    attr = np.zeros((3, 2, 3))
    with pytest.raises(InputError, match="not-expressed"):
        class_means(attr, np.array([1, 1, 1]))
    with pytest.raises(InputError, match="expressed"):
        class_means(attr, np.array([0, 0, 0]))
    with pytest.raises(InputError, match="0 .* or 1"):
        class_means(attr, np.array([0, 1, 2]))
    with pytest.raises(InputError, match="labels"):
        class_means(attr, np.array([0, 1]))


def test_attribution_signs_by_hand():
    mean_attr = np.array(
        [
            [0.5, -0.1, 0.2],  # +0.6
            [-1.0, 0.3, 0.2],  # -0.5
            [1.0, -1.0, 0.0],  # 0
            [-0.01, -0.02, 0.0],  # -0.03
            [0.0, 0.0, 1e-3],  # +0.001
        ]
    )
    signs = attribution_signs(mean_attr, MARK_NAMES)
    assert signs == {"H3K4me3": 1, "H3K4me1": -1, "H3K36me3": 0, "H3K27me3": -1, "H3K9me3": 1}
    assert all(type(v) is int for v in signs.values())
    assert attribution_signs(mean_attr, MARK_NAMES, atol=0.01)["H3K9me3"] == 0
    with pytest.raises(InputError, match="marks"):
        attribution_signs(mean_attr, MARK_NAMES[:4])


def test_linear_weights_are_the_parameters():
    model = _build("linear12")
    params = linear_weights(model)
    assert params["weight"].shape == (2, MARKS) and params["bias"].shape == (2,)
    np.testing.assert_array_equal(params["weight"], model.linear.weight.detach().numpy())
    np.testing.assert_array_equal(params["bias"], model.linear.bias.detach().numpy())
    assert params["weight"].size + params["bias"].size == 12
    # copies: changing them leaves the model alone
    params["weight"][:] = 0
    assert model.linear.weight.abs().sum() > 0


def test_linear_weights_need_the_linear_model(deepchrome):
    with pytest.raises(InputError, match="12-parameter linear model"):
        linear_weights(deepchrome)

"""Tests of chromexpr.models.jamaica: the Team Jamaica CNN's layer plan, block order, parameter counts by
hand, heads, the mean over the positions left and the too-short-input error."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from chromexpr.errors import InputError
from chromexpr.models import JamaicaCNN, build_model, count_parameters, layer_plan, load_card
from chromexpr.models.jamaica import min_bins

CHANNELS = [64, 64, 128, 128, 256, 256, 512, 512]
STRIDES = [2, 1, 2, 1, 2, 1, 2, 1]
LENGTHS = [49, 47, 23, 21, 10, 8, 3, 1]


def _conv(cin: int, cout: int, k: int = 3) -> int:
    return cin * cout * k + cout


# by hand: every conv in x out x 3 + out; BatchNorm weight + bias = 2 x out (running stats are buffers)
CONVS = [_conv(5, 64), _conv(64, 64), _conv(64, 128), _conv(128, 128)]
CONVS += [_conv(128, 256), _conv(256, 256), _conv(256, 512), _conv(512, 512)]
BODY = sum(CONVS) + 2 * sum(CHANNELS)


def test_hand_derivation() -> None:
    assert CONVS == [1024, 12352, 24704, 49280, 98560, 196864, 393728, 786944]
    assert sum(CONVS) == 1_563_456 and 2 * sum(CHANNELS) == 3_840 and BODY == 1_567_296
    assert BODY + _conv(512, 1, k=1) == 1_567_809
    assert BODY + _conv(512, 50, k=1) == 1_592_946


def test_layer_plan() -> None:
    plan = layer_plan(5, 100, 64, 8, 512, 3, 0)
    assert [s.out_channels for s in plan] == CHANNELS
    assert [s.in_channels for s in plan] == [5, *CHANNELS[:-1]]
    assert [s.stride for s in plan] == STRIDES
    assert [s.out_length for s in plan] == LENGTHS
    assert [s.out_channels for s in layer_plan(5, 100, 64, 8, 128, 3, 0)] == [64, 64, 128, 128, 128, 128, 128, 128]
    assert min_bins() == 91  # 91 bins: 45, 43, 21, 19, 9, 7, 3, 1
    assert [s.out_length for s in layer_plan(n_bins=91)][-1] == 1
    assert [s.out_length for s in layer_plan(n_bins=90)][-1] == 0


def test_blocks_in_order_and_real_lengths() -> None:
    torch.manual_seed(0)
    model = JamaicaCNN().eval()
    assert len(model.body) == 8
    for block, channels, stride in zip(model.body, CHANNELS, STRIDES, strict=True):
        assert [type(m) for m in block] == [nn.Conv1d, nn.BatchNorm1d, nn.Dropout, nn.LeakyReLU]
        conv, _, dropout, act = block
        assert conv.kernel_size == (3,) and conv.padding == (0,) and conv.stride == (stride,)
        assert conv.out_channels == channels and dropout.p == 0.2 and act.negative_slope == 0.01
    assert model.output.kernel_size == (1,) and model.output.out_channels == 1
    h = torch.zeros(2, 5, 100)
    lengths = []
    for block in model.body:
        h = block(h)  # (2, channels, length)
        lengths.append(h.shape[2])
    assert lengths == LENGTHS and h.shape == (2, 512, 1)


def test_parameter_counts() -> None:
    card = load_card("jamaica_cnn")
    assert count_parameters(JamaicaCNN()) == BODY + 513 == card["expected_parameters"] == 1_567_809
    assert count_parameters(build_model("jamaica_cnn")) == 1_567_809
    assert count_parameters(build_model("jamaica_celltype")) == load_card("jamaica_celltype")["expected_parameters"]
    assert load_card("jamaica_celltype")["expected_parameters"] == BODY + 512 * 50 + 50 == 1_592_946
    assert count_parameters(build_model("jamaica_celltype", overrides={"n_outputs": 3})) == BODY + 512 * 3 + 3


def test_forward_shapes_and_eval_determinism() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 5, 100, generator=torch.Generator().manual_seed(1))  # (batch, marks, bins)
    model = build_model("jamaica_cnn").eval()
    out = model(x)
    assert set(out) == {"prediction", "features"} == set(load_card("jamaica_cnn")["outputs"])
    assert out["prediction"].shape == (4,) and out["prediction"].dtype == torch.float32
    assert out["features"].shape == (4, 512)
    torch.testing.assert_close(model(x)["prediction"], out["prediction"], rtol=0, atol=0)
    clf = build_model("jamaica_celltype", overrides={"n_outputs": 3}).eval()
    out = clf(x)
    assert set(out) == {"cell_logits", "features"} == set(load_card("jamaica_celltype")["outputs"])
    assert out["cell_logits"].shape == (4, 3) and out["features"].shape == (4, 512)
    # training mode: dropout is live, every parameter gets a gradient
    model.train()
    model(x)["prediction"].sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_mean_over_the_positions_left() -> None:
    torch.manual_seed(0)
    model = JamaicaCNN(n_bins=108).eval()  # 108 bins: 53, 51, 25, 23, 11, 9, 4, 2 positions
    assert model.n_positions == 2
    seen: dict[str, torch.Tensor] = {}
    model.output.register_forward_hook(lambda _m, _i, o: seen.update(scores=o.detach()))
    model.body.register_forward_hook(lambda _m, _i, o: seen.update(body=o.detach()))
    out = model(torch.randn(3, 5, 108, generator=torch.Generator().manual_seed(2)))
    assert seen["scores"].shape == (3, 1, 2) and seen["body"].shape == (3, 512, 2)
    assert not torch.allclose(seen["scores"][..., 0], seen["scores"][..., 1])
    torch.testing.assert_close(out["prediction"], seen["scores"].mean(dim=2)[:, 0])
    torch.testing.assert_close(out["features"], seen["body"].mean(dim=2))


def test_too_short_input_and_bad_heads() -> None:
    with pytest.raises(InputError, match="at least 91 bins"):
        JamaicaCNN(n_bins=90)
    with pytest.raises(InputError, match="at least 91 bins"):
        build_model("jamaica_cnn", overrides={"n_bins": 40})
    model = JamaicaCNN()
    with pytest.raises(InputError, match=r"\(batch, 5 marks, 100 bins\)"):
        model(torch.zeros(2, 5, 90))
    with pytest.raises(InputError, match="n_outputs >= 2"):
        JamaicaCNN(head="cell_type", n_outputs=1)
    with pytest.raises(InputError, match="one value"):
        JamaicaCNN(n_outputs=2)
    with pytest.raises(InputError, match="head must be one of"):
        JamaicaCNN(head="softmax")

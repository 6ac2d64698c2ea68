"""interpret_run / gan_run on real (tiny) trained runs: what interpret.npz and gan.npz hold, by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from chromexpr.dataset import CANONICAL_MARKS, build_dataset, load_dataset, save_dataset
from chromexpr.errors import InputError
from chromexpr.experiments.interpret.evaluate import gan_run, interpret_run, load_run_model
from chromexpr.models import load_card
from chromexpr.training import model_inputs, train_model

MARKS = list(CANONICAL_MARKS)
N_GENES, N_BINS = 300, 100


def _dataset():
    """Poisson(2) reads; expressed genes get extra H3K4me3 reads around the TSS and fewer H3K27me3 reads."""
    rng = np.random.default_rng(3)
    expression = rng.lognormal(0.0, 1.0, N_GENES)
    high = expression >= np.median(expression)
    counts = rng.poisson(2.0, (N_GENES, len(MARKS), N_BINS)).astype(np.int32)  # (genes, marks, bins)
    counts[:, MARKS.index("H3K4me3"), 40:60] += rng.poisson(np.where(high, 5.0, 0.5)[:, None], (N_GENES, 20))
    counts[:, MARKS.index("H3K27me3"), :] += rng.poisson(np.where(high, 0.2, 3.0)[:, None], (N_GENES, N_BINS))
    split = np.array(["train"] * 180 + ["valid"] * 60 + ["test"] * 60)
    ids = [f"ENSG{i:011d}" for i in range(N_GENES)]
    geometry = {"n_bins": N_BINS, "window_bp": 5000, "bin_bp": 100}
    return build_dataset(counts, ids, MARKS, expression, split, cell="E999", geometry=geometry)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A linear12 run and a 1-epoch AttentiveChrome run on the same dataset."""
    root = tmp_path_factory.mktemp("interp")
    data = save_dataset(_dataset(), root / "E999.npz")
    runs = {}
    for name, epochs, lr in (("linear12", 20, 0.05), ("attentivechrome", 1, None)):
        card = load_card(name)
        if lr is not None:
            card["training"]["lr"] = lr
        runs[name] = root / name
        train_model(card, data, runs[name], seed=0, max_epochs=epochs, log=lambda _line: None)
    return data, runs


def _load(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_linear_run_attributions_equal_the_hand_formula(trained, tmp_path):
    data, runs = trained
    out = interpret_run(runs["linear12"], data, tmp_path / "interpret.npz", cell="E999", seed=0, ig_steps=8)
    z = _load(out)
    model, card = load_run_model(runs["linear12"])
    inputs = model_inputs(load_dataset(data), card)
    test = inputs.mask("test")
    x, y = inputs.x[test], inputs.y[test]
    w = model.linear.weight.detach().double().numpy()  # (2, marks)
    effect = (w[1] - w[0]) / N_BINS  # d logit / d x[m, b]: the model averages each mark over bins
    # saliency of a linear logit is its weight, the same for every gene and bin
    np.testing.assert_allclose(z["saliency_all"], np.repeat(effect[:, None], N_BINS, axis=1), rtol=1e-5)
    # IG from a zero baseline of a linear logit is weight x input, exactly (any number of steps)
    np.testing.assert_allclose(z["ig_all"], effect[:, None] * x.astype(np.float64).mean(axis=0), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(
        z["ig_expressed"], effect[:, None] * x[y == 1].astype(np.float64).mean(axis=0), rtol=1e-4, atol=1e-9
    )
    assert z["ig_delta_max"] < 1e-4
    np.testing.assert_allclose(z["linear_weight"], w, rtol=1e-6)
    assert list(z["gene_ids"]) == list(inputs.gene_ids[test]) and (z["labels"] == y).all()
    assert list(z["marks"]) == MARKS and "attention_bin" not in z and "classopt_expressed" not in z
    meta = json.loads(str(z["meta"]))
    assert meta == {
        "model": "linear12",
        "card": "linear12",
        "cell": "E999",
        "seed": 0,
        "ig_steps": 8,
        "n_test": 60,
        "bins_bp": list(range(-5000, 5000, 100)),
    }
    # the known biology of the synthetic cell: H3K4me3 pushes towards expressed, H3K27me3 away
    sums = z["ig_all"].sum(axis=1)
    assert sums[MARKS.index("H3K4me3")] > 0 and sums[MARKS.index("H3K27me3")] < 0


def test_attention_run_saves_normalized_maps_in_gene_order(trained, tmp_path):
    data, runs = trained
    opt = {"steps": 20, "lr": 0.1, "l2": 0.009}
    out = interpret_run(
        runs["attentivechrome"], data, tmp_path / "a.npz", cell="E999", seed=1, ig_steps=4, class_optimization=opt
    )
    z = _load(out)
    assert z["attention_bin"].shape == (60, 5, N_BINS) and z["attention_mark"].shape == (60, 5)
    np.testing.assert_allclose(z["attention_bin"].sum(axis=2), 1.0, atol=1e-5)
    np.testing.assert_allclose(z["attention_mark"].sum(axis=1), 1.0, atol=1e-5)
    model, card = load_run_model(runs["attentivechrome"])
    inputs = model_inputs(load_dataset(data), card)
    x = inputs.x[inputs.mask("test")]
    np.testing.assert_array_equal(z["inputs"], x)
    with torch.no_grad():  # gene 7's maps are its own (saved in the test genes' order)
        own = model(torch.from_numpy(x[7:8]))["attention"]
    np.testing.assert_allclose(z["attention_bin"][7], own["bin"][0].numpy(), atol=1e-6)
    for name in ("expressed", "not_expressed"):
        assert z[f"classopt_{name}"].shape == (5, N_BINS) and z[f"classopt_{name}"].max() == 1.0
        assert z[f"classopt_{name}"].min() >= 0.0 and z[f"classopt_loss_{name}"].shape == (20,)


def test_a_bare_state_dict_is_refused(trained, tmp_path):
    data, runs = trained
    state = torch.load(runs["linear12"] / "model.pt", weights_only=True)["state_dict"]
    (tmp_path / "run").mkdir()
    torch.save(state, tmp_path / "run" / "model.pt")
    with pytest.raises(InputError, match="records no card"):
        interpret_run(tmp_path / "run", data, tmp_path / "x.npz", cell="E999", seed=0)
    assert not (tmp_path / "x.npz").exists()


def test_gan_run_writes_profiles_and_the_sanity_table(trained, tmp_path):
    data, runs = trained
    kw = {"cell": "E999", "seed": 0, "epochs": 2, "n_samples": 600, "top_k": 20, "sanity_n": 100}
    z = _load(gan_run(runs["linear12"], data, tmp_path / "gan.npz", **kw))
    assert list(z["sanity_source"]) == ["real", "gan", "random"]
    np.testing.assert_allclose(z["sanity_positive"] + z["sanity_negative"], 1.0, atol=1e-9)
    np.testing.assert_allclose(z["published_positive"], [0.30, 0.31, 0.19])
    np.testing.assert_allclose(z["published_negative"], [0.70, 0.69, 0.81])
    assert z["profile_expressed"].shape == (5,) and z["maps_expressed"].shape == (5, N_BINS)
    top = np.maximum(np.abs(z["profile_expressed"]), np.abs(z["profile_not_expressed"]))
    np.testing.assert_allclose(top, 1.0, atol=1e-9)
    assert int(z["n_samples"]) == 600 and int(z["top_k"]) == 20 and len(z["g_loss"]) == 2
    again = _load(gan_run(runs["linear12"], data, tmp_path / "again.npz", **kw))  # seeded
    np.testing.assert_array_equal(again["profile_expressed"], z["profile_expressed"])


def test_a_trained_deepchrome_reads_the_known_biology(trained, tmp_path):
    """DeepChrome trained on a cell whose marks follow the known biology (expressed genes: more H3K4me3
    at the TSS, less H3K27me3 everywhere) attributes "expressed" to H3K4me3 and "not expressed" to H3K27me3,
    by integrated gradients and by input gradients alike."""
    from chromexpr.experiments.interpret.methods import attribution_signs

    data, _ = trained
    card = load_card("deepchrome")
    card["training"].update(lr=0.01, batch_size=16)  # converge in a few epochs on 180 training genes
    run = tmp_path / "deepchrome"
    metrics = train_model(card, data, run, seed=0, max_epochs=8, log=lambda _line: None)
    assert metrics["test_auroc"] > 0.9
    z = _load(interpret_run(run, data, tmp_path / "dc.npz", cell="E999", seed=0, ig_steps=16))
    for key in ("ig_all", "saliency_all"):
        signs = attribution_signs(z[key], MARKS)
        assert signs["H3K4me3"] == 1 and signs["H3K27me3"] == -1, (key, signs)

"""Tests of chromexpr.experiments.differential.evaluate (DeepDiff Table 1, Fig. 4's best variant, Fig. 5's attention means),
and the synthetic run folders the figure and report tests build on."""

from __future__ import annotations

import csv
import json
import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.errors import InputError
from chromexpr.experiments.differential.evaluate import (
    BASELINES,
    MARKS,
    MODELS,
    PER_PAIR_COLUMNS,
    TABLE1_COLUMNS,
    VARIANTS,
    attention_by_direction,
    best_variant_per_pair,
    collect_differential_metrics,
    direction_counts,
    paper_claims,
    pearson,
    per_pair_table,
    published_table1,
    read_published_table1,
    relative_pcc,
    table1,
    top_marks,
)
from chromexpr.models.display import display_name, order_models

REPO = Path(__file__).resolve().parents[3]
PAIRS = (("E003", "E123"), ("E116", "E123"))
N_TEST = 80
TORCH = set(VARIANTS) | {"attentivechrome_diff"}


def slots_of(model: str) -> list[str]:
    """The attention slots of a model, as the run folders' contract names them."""
    a, b, d = ([f"{c} {m}" for m in MARKS] for c in ("A", "B", "A-B"))
    return {
        "deepdiff_raw_d": d,
        "deepdiff_raw_c": a + b,
        "deepdiff_raw": a + b + d,
        "deepdiff_raw_aux": a + b + d + a + b,
    }.get(model, a + b)


def write_run(
    root: Path,
    model: str,
    cell_a: str,
    cell_b: str,
    seed: int,
    *,
    quality: float,
    n_test: int = N_TEST,
    max_epochs: int = 20,
    stopped_early: bool = True,
    attention: bool = True,
) -> Path:
    """A run folder of the contract: metrics.json, predictions.tsv.gz, attention.npz (torch models), history.tsv.
    ``quality`` sets how well predictions follow the true LFC (the PCC written is the one of the predictions)."""
    pair = f"{cell_a}_vs_{cell_b}"
    folder = root / "runs" / "differential" / model / pair / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    genes = [f"ENSG{i:011d}" for i in range(n_test)]
    lfc = np.random.default_rng(zlib.crc32(pair.encode())).normal(0.0, 5.0, n_test)  # the same genes for every model
    noise = np.random.default_rng(zlib.crc32(f"{model}|{pair}|{seed}".encode())).normal(0.0, 5.0, n_test)
    prediction = quality * lfc + (1 - quality) * noise
    pd.DataFrame({"gene_id": genes, "split": "test", "lfc": lfc, "prediction": prediction}).to_csv(
        folder / "predictions.tsv.gz", sep="\t", index=False
    )
    torch = model in TORCH
    epochs = (12 if stopped_early else max_epochs) if torch else None
    metrics = {
        "model": model,
        "pair": pair,
        "cell_a": cell_a,
        "cell_b": cell_b,
        "seed": seed,
        "task": "differential",
        "framework": "torch" if torch else "sklearn",
        "parameters": 12345 if torch else None,
        "test_pearson": pearson(lfc, prediction),
        "test_mse": float(np.mean((lfc - prediction) ** 2)),
        "test_spearman": float(pd.Series(lfc).corr(pd.Series(prediction), method="spearman")),
        "valid_pearson": 0.5,
        "valid_mse": 1.0,
        "best_epoch": 7 if torch else None,
        "epochs_run": epochs,
        "stopped_early": stopped_early if torch else None,
        "n_train": 200,
        "n_valid": 40,
        "n_test": n_test,
        "training": {"max_epochs": max_epochs if torch else None, "patience": 5 if torch else None},
    }
    if not torch:
        metrics["selection"] = {"C": 1.0, "gamma": "scale"}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    pd.DataFrame(
        {"epoch": [1, 2], "train_loss": [2.0, 1.0], "valid_loss": [2.1, 1.2], "valid_pearson": [0.1, 0.3]}
    ).to_csv(folder / "history.tsv", sep="\t", index=False)
    if torch and attention:
        slots = slots_of(model)
        raw = np.random.default_rng(seed + len(model)).random((n_test, len(slots))).astype(np.float32)
        np.savez(
            folder / "attention.npz",
            gene_id=np.array(genes),
            lfc=lfc.astype(np.float64),
            mark=raw / raw.sum(axis=1, keepdims=True),
            slots=np.array(slots),
        )
    return folder / "metrics.json"


#: the quality of each model's predictions (the higher, the better its PCC)
QUALITY = {
    "deepdiff_raw_d": 0.50,
    "deepdiff_raw_c": 0.62,
    "deepdiff_raw": 0.60,
    "deepdiff_aux": 0.58,
    "deepdiff_raw_aux": 0.61,
    "deepdiff_aux_siamese": 0.66,
    "deepdiff_raw_aux_siamese": 0.63,
    "svr_best_bin": 0.25,
    "svr_two_layer": 0.35,
    "relieff_rf": 0.30,
    "attentivechrome_diff": 0.52,
    "svr_two_layer_levels": 0.37,
}


def write_tree(root: Path, *, pairs=PAIRS, models=MODELS, seeds=(0, 1), **kw) -> list[Path]:
    """Runs of every model and pair: two seeds for the torch models, one fit for the scikit-learn baselines."""
    paths = []
    for a, b in pairs:
        for model in models:
            for seed in seeds if model in TORCH else seeds[:1]:
                paths.append(write_run(root, model, a, b, seed, quality=QUALITY[model], **kw))
    return paths


def frame(values: dict[tuple[str, str], float]) -> pd.DataFrame:
    """A minimal per-pair table from (model, pair) -> mean PCC."""
    rows = [
        {"model": m, "pair": p, "test_pearson_mean": v, "test_pearson_sd": math.nan, "n_seeds": 1}
        for (m, p), v in values.items()
    ]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------


def test_names_and_order() -> None:
    assert len(VARIANTS) == 7 and len(BASELINES) == 4
    assert [display_name(v) for v in VARIANTS] == [  # the cards' display.name
        "Raw: d",
        "Raw: c",
        "Raw",
        "Aux",
        "Raw+Aux",
        "Aux+Siamese",
        "Raw+Aux+Siamese",
    ]
    assert order_models(["relieff_rf", "deepdiff_aux", "svr_two_layer", "deepdiff_raw_d", "xyz"]) == [
        "deepdiff_raw_d",
        "deepdiff_aux",
        "svr_two_layer",
        "relieff_rf",
        "xyz",
    ]


def test_relative_pcc_by_hand() -> None:
    per_pair = frame(
        {
            ("deepdiff_raw", "P1"): 0.6,
            ("deepdiff_raw", "P2"): 0.4,
            ("svr_two_layer", "P1"): 0.3,
            ("svr_two_layer", "P2"): 0.25,
            ("attentivechrome_diff", "P1"): 0.5,
            ("attentivechrome_diff", "P2"): -0.1,
        }
    )
    rel = relative_pcc(per_pair).set_index(["reference", "pair"])
    assert rel.loc[("svr_two_layer", "P1"), "relative_pcc"] == pytest.approx(200.0)
    assert rel.loc[("svr_two_layer", "P2"), "relative_pcc"] == pytest.approx(160.0)
    assert rel.loc[("attentivechrome_diff", "P1"), "relative_pcc"] == pytest.approx(120.0)
    assert not rel.loc[("attentivechrome_diff", "P2"), "included"]
    assert math.isnan(rel.loc[("attentivechrome_diff", "P2"), "relative_pcc"])
    assert "<= 0" in rel.loc[("attentivechrome_diff", "P2"), "note"]

    t1 = table1(per_pair).set_index("reference")
    assert list(table1(per_pair).columns) == TABLE1_COLUMNS
    svr = t1.loc["svr_two_layer"]
    assert svr["mean_relative_pcc"] == pytest.approx(180.0) and svr["median_relative_pcc"] == pytest.approx(180.0)
    assert (svr["n_pairs"], svr["n_excluded"], svr["excluded"]) == (2, 0, "")
    ac = t1.loc["attentivechrome_diff"]
    assert ac["mean_relative_pcc"] == pytest.approx(120.0) and ac["n_pairs"] == 1 and ac["n_excluded"] == 1
    assert ac["excluded"].startswith("P2 (") and "<= 0" in ac["excluded"]
    # the paper's numbers beside ours
    assert (svr["published_mean"], svr["published_median"]) == (162.94, 166.55)
    assert ac["delta_mean"] == pytest.approx(120.0 - 115.26)


def test_mean_and_median_differ_over_three_pairs() -> None:
    values = {}
    for pair, (v, r) in {"P1": (0.6, 0.3), "P2": (0.3, 0.3), "P3": (0.5, 0.5)}.items():
        values[("deepdiff_aux", pair)] = v
        values[("svr_two_layer", pair)] = r
    row = table1(frame(values), references=("svr_two_layer",)).iloc[0]
    assert row["mean_relative_pcc"] == pytest.approx((200 + 100 + 100) / 3)
    assert row["median_relative_pcc"] == pytest.approx(100.0)
    assert row["n_pairs"] == 3


def test_missing_reference_is_excluded_and_named() -> None:
    per_pair = frame({("deepdiff_raw", "P1"): 0.6, ("deepdiff_raw", "P2"): 0.5, ("svr_two_layer", "P1"): 0.3})
    row = table1(per_pair, references=("svr_two_layer",)).iloc[0]
    assert row["n_pairs"] == 1 and row["n_excluded"] == 1 and "no Two-layer SVR run" in row["excluded"]
    assert table1(per_pair, published=None)["published_mean"].isna().all()


def test_best_variant_and_ties() -> None:
    per_pair = frame(
        {
            ("deepdiff_raw_d", "P1"): 0.2,
            ("deepdiff_aux", "P1"): 0.5,
            ("deepdiff_aux_siamese", "P1"): 0.5,  # tie: the earlier variant wins
            ("svr_two_layer", "P1"): 0.9,  # a baseline is never the best variant
            ("deepdiff_raw_d", "P2"): 0.4,
            ("deepdiff_aux", "P2"): 0.3,
        }
    )
    best = best_variant_per_pair(per_pair).set_index("pair")
    assert best.loc["P1", "model"] == "deepdiff_aux" and best.loc["P1", "runner_up"] == "deepdiff_aux_siamese"
    assert best.loc["P1", "margin"] == pytest.approx(0.0) and best.loc["P1", "n_variants"] == 3
    assert best.loc["P2", "model"] == "deepdiff_raw_d" and best.loc["P2", "name"] == "Raw: d"
    assert best.loc["P2", "margin"] == pytest.approx(0.1)


def test_attention_means_by_hand(tmp_path: Path) -> None:
    lfc = np.array([9.0, 10.0, -9.5, 0.0, 8.0, -8.0, 3.0])  # 8 and -8 are not beyond the threshold
    mark = np.array(
        [
            [0.6, 0.4],
            [0.2, 0.8],
            [0.1, 0.9],
            [0.5, 0.5],
            [0.9, 0.1],
            [0.7, 0.3],
            [0.3, 0.7],
        ]
    )
    path = tmp_path / "attention.npz"
    np.savez(
        path,
        gene_id=np.array([f"g{i}" for i in range(7)]),
        lfc=lfc,
        mark=mark,
        slots=np.array(["A H3K4me1", "A-B H3K27me3"]),
    )
    table = attention_by_direction(path, threshold=8.0)
    by = table.set_index(["slot", "direction"])
    assert by.loc[("A H3K4me1", "up"), "mean_attention"] == pytest.approx(0.4)
    assert by.loc[("A-B H3K27me3", "up"), "mean_attention"] == pytest.approx(0.6)
    assert by.loc[("A H3K4me1", "down"), "mean_attention"] == pytest.approx(0.1)
    assert by.loc[("A H3K4me1", "up"), "n_genes"] == 2 and by.loc[("A H3K4me1", "down"), "n_genes"] == 1
    assert by.loc[("A-B H3K27me3", "up"), "cell"] == "A-B" and by.loc[("A-B H3K27me3", "up"), "mark"] == "H3K27me3"
    assert math.isnan(by.loc[("A H3K4me1", "down"), "sd_attention"])  # one gene: no sd
    # a lower threshold takes more genes; no gene beyond a huge one
    lower = attention_by_direction(path, threshold=2.0).set_index(["slot", "direction"])
    assert lower.loc[("A H3K4me1", "up"), "n_genes"] == 4
    assert lower.loc[("A H3K4me1", "up"), "mean_attention"] == pytest.approx((0.6 + 0.2 + 0.9 + 0.3) / 4)
    none = attention_by_direction(path, threshold=50.0)
    assert (none["n_genes"] == 0).all() and none["mean_attention"].isna().all()
    assert direction_counts(lfc, threshold=8.0) == {"up": 2, "down": 1, "all": 7}
    tops = top_marks(table.assign(model="m"), k=1).set_index("direction")
    assert tops.loc["up", "top"] == "A-B H3K27me3" and tops.loc["down", "top"] == "A-B H3K27me3"


def test_attention_shape_is_checked(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="shape"):
        attention_by_direction({"lfc": np.zeros(3), "mark": np.zeros((3, 2)), "slots": np.array(["a", "b", "c"])})


def test_per_pair_from_run_folders(tmp_path: Path) -> None:
    paths = write_tree(tmp_path, models=("deepdiff_raw", "svr_two_layer"))
    paths.append(write_run(tmp_path, "deepdiff_raw_c", "E003", "E123", 0, quality=0.6, stopped_early=False))
    runs = collect_differential_metrics(paths)
    assert len(runs) == 2 * 3 + 1
    per_pair = per_pair_table(runs, pairs=["E116_vs_E123", "E003_vs_E123"])
    assert list(per_pair.columns) == PER_PAIR_COLUMNS
    assert list(dict.fromkeys(per_pair["pair"])) == ["E116_vs_E123", "E003_vs_E123"]  # the configured order
    raw = per_pair[(per_pair["model"] == "deepdiff_raw") & (per_pair["pair"] == "E003_vs_E123")].iloc[0]
    seeds = runs[(runs["model"] == "deepdiff_raw") & (runs["pair"] == "E003_vs_E123")]["test_pearson"]
    assert raw["test_pearson_mean"] == pytest.approx(seeds.mean())
    assert raw["test_pearson_sd"] == pytest.approx(seeds.std(ddof=1))
    assert (raw["n_seeds"], raw["seeds"], raw["stop"], raw["n_test"]) == (2, "0,1", "early stop", N_TEST)
    assert raw["stopped_early_any"] and raw["n_stopped_early"] == 2 and raw["n_at_max_epochs"] == 0
    svr = per_pair[per_pair["model"] == "svr_two_layer"].iloc[0]
    assert svr["stop"] == "single fit" and svr["n_seeds"] == 1 and svr["kind"] == "baseline"
    rawc = per_pair[per_pair["model"] == "deepdiff_raw_c"].iloc[0]
    assert rawc["stop"] == "max_epochs" and rawc["n_at_max_epochs"] == 1 and not rawc["stopped_early_any"]
    assert set(per_pair.loc[per_pair["is_best_variant"], "kind"]) == {"variant"}
    assert per_pair.groupby("pair")["is_best_variant"].sum().tolist() == [1, 1]
    assert json.loads(runs.loc[runs["model"] == "svr_two_layer", "selection"].iloc[0]) == {"C": 1.0, "gamma": "scale"}


def test_metrics_errors(tmp_path: Path) -> None:
    path = write_run(tmp_path, "deepdiff_raw", "E003", "E123", 0, quality=0.5)
    with pytest.raises(InputError, match="more than once"):
        collect_differential_metrics([path, path])
    record = json.loads(path.read_text())
    record["pair"] = "E003_E123"
    path.write_text(json.dumps(record))
    with pytest.raises(InputError, match="cell_a_vs_cell_b"):
        collect_differential_metrics([path])
    del record["test_pearson"]
    path.write_text(json.dumps(record))
    with pytest.raises(InputError, match="missing key"):
        collect_differential_metrics([path])


def test_paper_claims_counted() -> None:
    values = {}
    for pair in ("P1", "P2"):
        for model, q in QUALITY.items():
            values[(model, pair)] = q
    values[("deepdiff_raw_d", "P2")] = 0.7  # Raw: d best, not worst, on P2
    claims = paper_claims(frame(values)).set_index("claim")
    assert claims.loc["Raw: d is the worst variant", "ours"] == "1 of 2"
    assert claims.loc["Raw: c beats Raw: d", "ours"] == "1 of 2"
    assert claims.loc["Aux+Siamese is the best variant", "ours"] == "1 of 2"
    assert claims.loc["two-layer SVR beats the single-layer SVR", "ours"] == "2 of 2"
    assert claims.loc["Raw: d is the worst variant", "paper"] == "9 of 10"


def test_published_table1_is_the_paper_and_the_shipped_summary() -> None:
    pub = published_table1()
    assert len(pub) == 14 and set(pub["reference"]) == {"svr_two_layer", "attentivechrome_diff"}
    row = pub[(pub["variant"] == "deepdiff_raw_aux") & (pub["reference"] == "svr_two_layer")].iloc[0]
    assert (row["published_mean"], row["published_median"]) == (162.23, 164.73)  # the number the text quotes
    summary = read_published_table1(REPO / "data/real/published_summary.tsv")
    key = ["variant", "reference"]
    pd.testing.assert_frame_equal(
        summary.sort_values(key).reset_index(drop=True), pub.sort_values(key).reset_index(drop=True)
    )
    with open(REPO / "data/real/published_summary.tsv") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["source"] == "DeepDiff paper Table 1"]
    assert len(rows) == len(pub) and all(r["metric"] == "relative PCC %" for r in rows)

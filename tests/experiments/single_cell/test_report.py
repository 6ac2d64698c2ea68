"""Tests of the single-cell report (chromexpr.reporting.build_report and the evaluation tables behind it):
tables checked by hand on a small results tree."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import collect_metrics
from chromexpr.evaluation.statistics import paired_vs_reference
from chromexpr.experiments.single_cell import plan
from chromexpr.experiments.single_cell.evaluate import OURS_SOURCE, per_cell_table, published_beside_ours, table2
from chromexpr.experiments.single_cell.report import build_report
from chromexpr.published import DEFAULT_PUBLISHED, read_published


def report_files(reference: str = "deepchrome") -> list[str]:
    """The files the report job writes (the single-cell plan's list, for a reference model)."""
    return plan.report_files({"report": {"reference_model": reference}})


REPO = Path(__file__).resolve().parents[3]
CELLS = ["E003", "E004", "E005", "E006", "E007"]
# test AUROC per model, cell and seed (seed0, seed1), chosen by hand:
# per-cell means    deepchrome       0.77 0.80 0.81  0.82 0.75
#                   attentivechrome  0.79 0.81 0.795 0.85 0.79   (diff +.02 +.01 -.015 +.03 +.04)
#                   transferchrome   0.82 0.80 0.84  0.86 0.81   (diff +.05  0   +.03  +.04 +.06)
AUROC = {
    "deepchrome": {
        "E003": (0.76, 0.78),
        "E004": (0.80, 0.80),
        "E005": (0.79, 0.83),
        "E006": (0.82, 0.82),
        "E007": (0.74, 0.76),
    },
    "attentivechrome": {
        "E003": (0.785, 0.795),
        "E004": (0.805, 0.815),
        "E005": (0.79, 0.80),
        "E006": (0.845, 0.855),
        "E007": (0.785, 0.795),
    },
    "transferchrome": {
        "E003": (0.81, 0.83),
        "E004": (0.79, 0.81),
        "E005": (0.84, 0.84),
        "E006": (0.85, 0.87),
        "E007": (0.80, 0.82),
    },
}
PARAMETERS = {"deepchrome": 644177, "attentivechrome": 54273, "transferchrome": 712345}


def write_run(root: Path, model: str, cell: str, seed: int, auroc: float, overrides: dict | None = None) -> Path:
    path = root / "runs" / "single_cell" / model / cell / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "model": model,
        "cell": cell,
        "seed": seed,
        "test_auroc": auroc,
        "test_auprc": auroc - 0.02,
        "test_accuracy": auroc - 0.1,
        "valid_auroc": auroc + 0.01,
        "best_epoch": 7,
        "epochs_run": 17,
        "wall_seconds": 90.0,
        "parameters": PARAMETERS.get(model),
        "device": "cpu",
    }
    record.update(overrides or {})
    path.write_text(json.dumps(record))
    return path


def make_tree(root: Path, aurocs: dict = AUROC) -> list[Path]:
    return [
        write_run(root, model, cell, seed, value)
        for model, cells in aurocs.items()
        for cell, values in cells.items()
        for seed, value in enumerate(values)
    ]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> list[Path]:
    return make_tree(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def runs(tree) -> pd.DataFrame:
    return collect_metrics(tree)


@pytest.fixture(scope="module")
def report(tree, tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("report")
    return out, build_report(tree, out, title="test report")


# ---------------------------------------------------------------------------------------------------


def test_collect_metrics_one_row_per_run(runs):
    assert len(runs) == 3 * 5 * 2
    assert set(runs["model"]) == set(AUROC)
    assert runs["seed"].dtype == "Int64"
    row = runs[(runs["model"] == "deepchrome") & (runs["cell"] == "E005") & (runs["seed"] == 1)].iloc[0]
    assert row["test_auroc"] == pytest.approx(0.83)
    assert row["parameters"] == 644177
    assert row["path"].endswith("deepchrome/E005/seed1/metrics.json")


def test_table2_by_hand(runs):
    t2 = table2(runs).set_index("model")
    assert list(t2.index) == ["deepchrome", "attentivechrome", "transferchrome"]  # fixed model order
    dc = t2.loc["deepchrome"]
    assert (dc["n_cells"], dc["n_seeds"], dc["n_runs"]) == (5, 2, 10)
    assert dc["min_auroc"] == pytest.approx(0.75)
    assert dc["mean_auroc"] == pytest.approx(0.79)
    assert dc["max_auroc"] == pytest.approx(0.82)
    assert dc["median_auroc"] == pytest.approx(0.80)
    # seed means: (0.76+0.80+0.79+0.82+0.74)/5 = 0.782, (0.78+0.80+0.83+0.82+0.76)/5 = 0.798
    assert dc["seed_mean_auroc"] == pytest.approx(0.79)
    assert dc["seed_sd_auroc"] == pytest.approx(0.016 / math.sqrt(2))
    assert dc["parameters"] == 644177
    ac = t2.loc["attentivechrome"]
    assert (ac["min_auroc"], ac["max_auroc"]) == (pytest.approx(0.79), pytest.approx(0.85))
    assert ac["mean_auroc"] == pytest.approx(0.807)
    assert ac["median_auroc"] == pytest.approx(0.795)
    assert ac["seed_sd_auroc"] == pytest.approx(0.01 / math.sqrt(2))  # seed means 0.802 and 0.812
    tc = t2.loc["transferchrome"]
    assert [tc[k] for k in ("min_auroc", "mean_auroc", "max_auroc", "median_auroc")] == pytest.approx(
        [0.80, 0.826, 0.86, 0.82]
    )
    assert dc["mean_auprc"] == pytest.approx(0.77)


def test_table2_one_seed_has_no_sd(tmp_path):
    paths = [write_run(tmp_path, "deepchrome", c, 0, 0.8) for c in CELLS]
    t2 = table2(collect_metrics(paths))
    assert t2.loc[0, "n_seeds"] == 1
    assert math.isnan(t2.loc[0, "seed_sd_auroc"])
    assert t2.loc[0, "seed_mean_auroc"] == pytest.approx(0.8)


def test_per_cell_table(runs):
    pc = per_cell_table(runs).set_index(["model", "cell"])
    assert pc.loc[("deepchrome", "E005"), "test_auroc_mean"] == pytest.approx(0.81)
    assert pc.loc[("deepchrome", "E005"), "test_auroc_sd"] == pytest.approx(0.04 / math.sqrt(2))
    assert pc.loc[("deepchrome", "E005"), "n_seeds"] == 2


def test_paired_wins_losses_and_wilcoxon(runs):
    paired = paired_vs_reference(runs, "deepchrome", min_cells=4).set_index("model")
    assert list(paired.index) == ["attentivechrome", "transferchrome"]
    ac = paired.loc["attentivechrome"]
    assert (ac["n_cells"], ac["wins"], ac["losses"], ac["ties"]) == (5, 4, 1, 0)
    assert ac["mean_difference"] == pytest.approx(0.017)
    assert ac["median_difference"] == pytest.approx(0.02)
    diffs = [0.02, 0.01, -0.015, 0.03, 0.04]
    expected = stats.wilcoxon(diffs)
    assert ac["p_value"] == pytest.approx(expected.pvalue)
    assert ac["p_value"] == pytest.approx(6 / 32)  # exact: W- = rank 2; P(W <= 2) = 3/32, two-sided
    assert ac["wilcoxon_statistic"] == pytest.approx(expected.statistic)
    tc = paired.loc["transferchrome"]
    # E004: (0.79 + 0.81) / 2 vs (0.80 + 0.80) / 2 differ only by float rounding: a tie
    assert (tc["wins"], tc["losses"], tc["ties"]) == (4, 0, 1)
    assert tc["mean_difference"] == pytest.approx(0.036)
    assert tc["p_value"] == pytest.approx(stats.wilcoxon([0.05, 0.0, 0.03, 0.04, 0.06]).pvalue)
    assert tc["p_value"] == pytest.approx(2 / 16)


def test_paired_too_few_cells_gives_nan_with_note(runs):
    paired = paired_vs_reference(runs, "deepchrome", min_cells=6).set_index("model")
    assert paired["p_value"].isna().all()
    assert "too few" in paired.loc["attentivechrome", "note"]
    assert paired.loc["attentivechrome", "wins"] == 4


def test_paired_default_reports_exact_p_with_its_floor(runs):
    # default min_cells 5: attentivechrome has 5 non-zero differences -> exact p 6/32, floor 2/2^5
    paired = paired_vs_reference(runs, "deepchrome").set_index("model")
    assert paired.loc["attentivechrome", "p_value"] == pytest.approx(6 / 32)
    assert "cannot be below 0.0625" in paired.loc["attentivechrome", "note"]
    # transferchrome: 4 non-zero differences (< 5) -> no test
    assert math.isnan(paired.loc["transferchrome", "p_value"])


def test_paired_all_zero_and_missing_reference(tmp_path):
    paths = [write_run(tmp_path, m, c, 0, 0.8) for m in ("deepchrome", "linear12") for c in CELLS + ["E011"]]
    paired = paired_vs_reference(collect_metrics(paths), "deepchrome")
    assert paired.loc[0, "ties"] == 6 and math.isnan(paired.loc[0, "p_value"])
    assert "zero" in paired.loc[0, "note"]
    missing = paired_vs_reference(collect_metrics(paths), "transferchrome")
    assert set(missing["model"]) == {"deepchrome", "linear12"}
    assert (missing["n_cells"] == 0).all() and missing["note"].str.contains("no runs").all()


# ---------------------------------------------------------------------------------------------------
# Published numbers


def test_reference_table_equals_its_sources():
    pub = read_published(DEFAULT_PUBLISHED)
    cells = pub[pub["statistic"] == "cell"]
    with open(REPO / "data/real/published_auc_per_cell.tsv") as fh:
        source = list(csv.DictReader(fh, delimiter="\t"))
    assert len(source) == 56 and len(cells) == 3 * 56
    columns = {
        ("DeepChrome", "published"): "deepchrome_auc_published",
        ("DeepChrome", "third_party"): "deepchrome_auc_third_party_repro",
        ("AttentiveChrome", "third_party"): "attentivechrome_auc_third_party_repro",
    }
    for row in source:
        mine = cells[cells["cell"] == row["cell"]]
        assert set(mine["cell_name"]) == {row["name"]}
        for (model, kind), column in columns.items():
            value = mine[(mine["model"] == model) & (mine["kind"] == kind)]["value"]
            assert value.tolist() == [float(row[column])]
    with open(REPO / "data/real/published_summary.tsv") as fh:
        summary = [r for r in csv.DictReader(fh, delimiter="\t") if r["metric"] == "AUROC"]
    for row in summary:
        mine = pub[(pub["source"] == row["source"]) & (pub["model"] == row["model"])].set_index("statistic")["value"]
        for stat in ("min", "mean", "max", "median"):
            if row[stat]:
                assert mine[stat] == float(row[stat]), (row["source"], row["model"], stat)
            else:
                assert stat not in mine.index


def test_published_beside_ours_joins_the_right_numbers(runs):
    comparison = published_beside_ours(runs, DEFAULT_PUBLISHED)
    assert comparison.applicable
    per_cell = comparison.per_cell.set_index("cell")
    assert list(per_cell.index) == CELLS
    assert per_cell.loc["E005", "cell_name"] == "H1_BMP4_Derived_Trophoblast_Cultured_Cells"
    assert per_cell.loc["E005", "deepchrome"] == pytest.approx(0.81)
    assert per_cell.loc["E005", "DeepChrome (published)"] == 0.80
    assert per_cell.loc["E005", "DeepChrome (third-party)"] == 0.8128
    assert per_cell.loc["E006", "AttentiveChrome (third-party)"] == 0.8260
    t = comparison.table2
    ours = t[(t["model"] == "deepchrome") & (t["basis"] == "ours")].iloc[0]
    assert ours["mean"] == pytest.approx(0.79) and ours["n_cells"] == 5
    same = t[(t["model"] == "deepchrome") & (t["basis"] == "same_cells") & (t["kind"] == "published")].iloc[0]
    assert same["mean"] == pytest.approx((0.77 + 0.81 + 0.80 + 0.82 + 0.77) / 5)
    assert same["ours_minus_published_mean"] == pytest.approx(0.79 - 0.794)
    paper = t[(t["model"] == "deepchrome") & (t["basis"] == "source_cells")]
    assert paper.iloc[0]["source"] == "TransferChrome paper Table 2"  # the preferred summary comes first
    assert paper.iloc[0][["min", "mean", "max", "median"]].tolist() == [0.6871, 0.8003, 0.9236, 0.8019]
    assert paper.iloc[0]["n_cells"] == 56
    assert "DeepChrome (max-pool)" in set(paper["published_model"])  # DeepChrome 2.0 maps to deepchrome
    tc = t[(t["model"] == "transferchrome") & (t["basis"] == "source_cells")].iloc[0]
    assert (tc["published_model"], tc["mean"]) == ("TransferChrome", 0.8479)
    ac = t[(t["model"] == "attentivechrome") & (t["basis"] == "same_cells")].iloc[0]
    assert ac["kind"] == "third_party"
    assert ac["mean"] == pytest.approx((0.7859 + 0.8200 + 0.8322 + 0.8260 + 0.7955) / 5)


def test_published_comparison_not_applicable_for_other_cells(tmp_path):
    paths = [write_run(tmp_path, "deepchrome", c, 0, 0.8) for c in ("liver_1", "liver_2")]
    comparison = published_beside_ours(collect_metrics(paths), DEFAULT_PUBLISHED)
    assert not comparison.applicable and "liver_1" in comparison.reason
    out = build_report(paths, tmp_path / "report")
    text = (tmp_path / "report" / "published_comparison.md").read_text()
    assert "Not applicable" in text and "REMC" in text
    assert pd.read_csv(out["published_comparison.tsv"], sep="\t").empty


# ---------------------------------------------------------------------------------------------------
# The report folder


def test_report_files_and_tables(report):
    out, written = report
    for name in (
        "table2.tsv",
        "table2.md",
        "per_cell_auroc.tsv",
        "paired_vs_deepchrome.tsv",
        "paired_vs_deepchrome.md",
        "published_comparison.tsv",
        "published_comparison.md",
        "published_table2.tsv",
        "index.html",
    ):
        assert (out / name).stat().st_size > 0, name
        assert written[name] == out / name
    assert sorted(written) == sorted(report_files("deepchrome"))
    for stem in ("per_cell_auroc", "auroc_distribution", "paired_vs_deepchrome", "training_curves", "roc_curves"):
        assert (out / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / f"{stem}.pdf").read_bytes()[:4] == b"%PDF"
    assert not list(out.glob(".*tmp*")), "temporary files left behind"
    t2 = pd.read_csv(out / "table2.tsv", sep="\t").set_index("model")
    assert t2.loc["deepchrome", "median_auroc"] == pytest.approx(0.80)
    assert t2.loc["deepchrome", "seed_sd_auroc"] == pytest.approx(0.016 / math.sqrt(2), rel=1e-5)
    md = (out / "table2.md").read_text()
    assert "| deepchrome | 5 | 2 | 0.7500 | 0.7900 | 0.8200 | 0.8000 | 0.7900 ± 0.0113 |" in md
    assert "| 644,177 |" in md
    published = (out / "published_comparison.md").read_text()
    assert "TransferChrome paper Table 2" in published and "0.8003" in published


def test_index_references_every_figure_and_table(report):
    out, written = report
    page = (out / "index.html").read_text()
    links = set(re.findall(r'(?:src|href)="([^"]+)"', page))
    anchors = {link for link in links if link.startswith("#")}  # the table of contents: ids on the page
    assert anchors and {a[1:] for a in anchors} <= set(re.findall(r'\sid="([^"]+)"', page))
    links -= anchors
    for name in written:
        if name != "index.html":
            assert name in links, f"index.html does not reference {name}"
    for link in links:
        assert (out / link).is_file(), f"index.html links to missing {link}"
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images == [
        "per_cell_auroc.png",
        "auroc_distribution.png",
        "paired_vs_deepchrome.png",
        "training_curves.png",
        "roc_curves.png",
    ]
    # table 2, paired, runs, split balance, accuracy, published x 2, per cell; each in a scroll box
    assert page.count("<table") == 8
    assert page.count('<div style="overflow-x:auto"><table') == 8
    assert "<title>test report</title>" in page


def test_build_report_without_published(tmp_path):
    paths = [write_run(tmp_path / "runs", "deepchrome", c, 0, 0.8) for c in CELLS[:2]]
    build_report(paths, tmp_path, published=None)
    assert "published=None" in (tmp_path / "published_comparison.md").read_text()
    assert "Not shown" in (tmp_path / "index.html").read_text()


# ---------------------------------------------------------------------------------------------------
# Errors


def test_malformed_json_names_the_file(tree, tmp_path):
    bad = tmp_path / "E003" / "metrics.json"
    bad.parent.mkdir()
    bad.write_text('{"model": "deepchrome", "cell": ')
    with pytest.raises(InputError, match=re.escape(str(bad))) as err:
        collect_metrics([*tree[:3], bad])
    assert "not valid JSON" in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"test_auroc": 1.7}, "test_auroc"),
        ({"test_auroc": "0.8"}, "test_auroc"),
        ({"seed": "0"}, "seed"),
        ({"parameters": 1.5}, "parameters"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path, change, message):
    path = write_run(tmp_path, "deepchrome", "E003", 0, 0.8, change)
    with pytest.raises(InputError, match=message) as err:
        collect_metrics([path])
    assert str(path) in str(err.value)


def test_missing_key_and_missing_file(tmp_path):
    path = write_run(tmp_path, "deepchrome", "E003", 0, 0.8)
    record = json.loads(path.read_text())
    del record["valid_auroc"], record["device"]
    path.write_text(json.dumps(record))
    with pytest.raises(InputError, match="valid_auroc, device") as err:
        collect_metrics([path])
    assert str(path) in str(err.value)
    ghost = tmp_path / "nope" / "metrics.json"
    with pytest.raises(InputError, match="not found") as err:
        collect_metrics([ghost])
    assert str(ghost) in str(err.value)


def test_duplicate_run_is_an_error(tmp_path):
    a = write_run(tmp_path / "a", "deepchrome", "E003", 0, 0.8)
    b = write_run(tmp_path / "b", "deepchrome", "E003", 0, 0.81)
    with pytest.raises(InputError, match="more than once"):
        collect_metrics([a, b])


def test_no_runs_is_an_error(tmp_path):
    with pytest.raises(InputError, match="nothing to report"):
        build_report([], tmp_path)


def test_the_report_names_our_gene_set_and_each_published_sources(tmp_path):
    record = {
        "name": "default",
        "min_tss_distance": 0,
        "chromosomes": [],
        "split": {"method": "blocks"},
        "genes": 9,
        "genes_per_split": {"train": 3, "valid": 3, "test": 3},
    }
    paths = [
        write_run(tmp_path, model, cell, 0, 0.8, {"gene_set": record})
        for model in ("deepchrome", "transferchrome")
        for cell in ("E003", "E004")
    ]
    words = "gene set 'default': no TSS filter, every chromosome, blocks split (train / valid / test 3 / 3 / 3 genes)"
    runs = collect_metrics(paths)
    assert set(runs["gene_set"]) == {"default"} and set(runs["gene_set_description"]) == {words}
    table = published_beside_ours(runs, DEFAULT_PUBLISHED).table2.set_index(["model", "basis", "source"])
    assert table.loc[("deepchrome", "ours", OURS_SOURCE), "genes"] == words
    tc = table.loc[("transferchrome", "source_cells", "TransferChrome paper Table 2"), "genes"]
    assert tc.startswith("TransferChrome's: genes whose TSSs lie 5 kb apart")
    dc = table.loc[("deepchrome", "same_cells", "DeepChrome supplementary table"), "genes"]
    assert dc.startswith("DeepChrome's: every gene (19,802 rows, no TSS filter)")
    build_report(paths, tmp_path / "report")
    page = (tmp_path / "report" / "index.html").read_text()
    assert "<strong>Genes:</strong> gene set &#39;default&#39;: no TSS filter" in page
    assert "Genes: " + words in (tmp_path / "report" / "table2.md").read_text()
    # a run without a gene set (a processed source's own genes): said so
    bare = [write_run(tmp_path / "bare", "deepchrome", "E003", 0, 0.8)]
    build_report(bare, tmp_path / "bare_report")
    assert "the source's own genes and split" in (tmp_path / "bare_report" / "index.html").read_text()

"""Tests of the differential section of the report (chromexpr.experiments.differential.report): every file written, the
fragment's links and wording, the tables behind it, redrawing the figures from the tables alone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from chromexpr.errors import InputError
from chromexpr.experiments.differential.evaluate import (
    ATTENTION_COLUMNS,
    MODELS,
    PER_PAIR_COLUMNS,
    SCATTER_COLUMNS,
    TABLE1_COLUMNS,
)
from chromexpr.experiments.differential.figures import redraw
from chromexpr.experiments.differential.report import (
    SECTION_TITLE,
    build_differential_section,
    differential_report_files,
)

from ..conftest import SectionLinks
from .test_evaluate import PAIRS, write_run, write_tree


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, Path], str]:
    root = tmp_path_factory.mktemp("differential")
    paths = write_tree(root / "results")
    # one variant ran its whole budget; one run of a pair that is not configured
    paths.append(write_run(root / "results", "deepdiff_raw_c", "E003", "E123", 2, quality=0.6, stopped_early=False))
    paths.append(write_run(root / "results", "deepdiff_raw", "E005", "E006", 0, quality=0.6))
    out = root / "report" / "differential"
    written = build_differential_section(
        metrics=paths,
        out_dir=out,
        pairs=PAIRS,
        models=MODELS,
        attention_pair=("E116", "E123"),
        lfc_threshold=8.0,
        source_kind="demo",
    )
    return out, written, (out / "section.html").read_text()


def test_files_list() -> None:
    files = differential_report_files()
    assert len(files) == len(set(files))
    for name in ("per_pair.tsv", "table1.tsv", "table1.md", "attention.tsv", "scatter.tsv.gz", "section.html"):
        assert name in files
    for stem in ("fig4_pcc_per_pair", "fig5_attention", "scatter_lfc"):
        assert f"{stem}.png" in files and f"{stem}.pdf" in files


def test_every_file_and_the_fragment(built) -> None:
    out, written, html = built
    assert sorted(written) == sorted(differential_report_files())
    for name in differential_report_files():
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left
    parser = SectionLinks()
    parser.feed(html)
    assert parser.sections == ["differential"] and "".join(parser.h2).strip() == SECTION_TITLE
    assert parser.images == [f"differential/{s}.png" for s in ("fig4_pcc_per_pair", "scatter_lfc", "fig5_attention")]
    for link in parser.links:
        assert link.startswith("differential/") and (out / link.removeprefix("differential/")).is_file(), link


def test_tables_behind_the_section(built) -> None:
    out, _, html = built
    per_pair = pd.read_csv(out / "per_pair.tsv", sep="\t", dtype={"seeds": str})
    assert list(per_pair.columns) == PER_PAIR_COLUMNS
    assert len(per_pair) == len(PAIRS) * len(MODELS)  # the unconfigured pair is left out
    assert list(dict.fromkeys(per_pair["pair"])) == ["E003_vs_E123", "E116_vs_E123"]
    t1 = pd.read_csv(out / "table1.tsv", sep="\t")
    assert list(t1.columns) == TABLE1_COLUMNS and len(t1) == 14
    # the values of table1.tsv are those of the page, ours and the paper's
    for value in t1["mean_relative_pcc"]:
        assert f"{value:.2f}" in html
    for value in (162.23, 164.73, 115.75, 107.64, 153.72):
        assert f"{value:.2f}" in html
    # by hand from per_pair.tsv: Raw+Aux against the two-layer SVR
    wide = per_pair.pivot_table(index="pair", columns="model", values="test_pearson_mean")
    ratio = 100 * wide["deepdiff_raw_aux"] / wide["svr_two_layer"]
    row = t1[(t1["variant"] == "deepdiff_raw_aux") & (t1["reference"] == "svr_two_layer")].iloc[0]
    assert row["mean_relative_pcc"] == pytest.approx(ratio.mean(), rel=1e-5)
    assert row["published_mean"] == 162.23 and row["n_pairs"] == 2
    attention = pd.read_csv(out / "attention.tsv", sep="\t")
    assert list(attention.columns) == ["model", "name", "pair", "n_seeds", *ATTENTION_COLUMNS]
    assert set(attention["pair"]) == {"E116_vs_E123"} and (attention["n_seeds"] == 2).all()
    assert set(attention["model"]) == {m for m in MODELS if m.startswith("deepdiff")} | {"attentivechrome_diff"}
    assert attention.groupby("model")["slot_index"].nunique()["deepdiff_raw_aux"] == 25
    scatter = pd.read_csv(out / "scatter.tsv.gz", sep="\t")
    assert list(scatter.columns) == SCATTER_COLUMNS
    assert set(scatter["role"]) == {"best variant", "two-layer SVR"} and len(scatter) == 2 * 2 * 80
    runs = pd.read_csv(out / "runs.tsv", sep="\t")
    assert json.loads(runs.loc[runs["model"] == "relieff_rf", "selection"].iloc[0]) == {"C": 1.0, "gamma": "scale"}


def test_the_wording(built) -> None:
    _, _, html = built
    assert "log2((count_B + 1) / (count_A + 1))" in html
    assert "Demo data." in html and "simulated on real genes" in html
    assert "Not evidence for the paper" in html and "2 cell pairs" in html  # 2 of the paper's 10
    assert "|LFC| &gt; 8, as in the paper" in html
    counts = pd.read_csv(Path(built[0]) / "lfc_counts.tsv", sep="\t").set_index("pair")
    up, down = counts.loc["E116_vs_E123", "up"], counts.loc["E116_vs_E123", "down"]
    assert f"{up} up-regulated gene" in html and f"{down} down-regulated gene" in html
    assert "cannot support or refute the paper&#39;s reading of Fig. 5" in html  # few genes beyond |LFC| 8
    assert "Raw: c (1 of 5 runs)" in html  # ran its whole budget without early stopping
    assert "deepdiff_raw/E005_vs_E006" in html  # a run outside the configured pairs is named
    assert "12,345" in html  # parameter counts


def test_redraw_from_the_tables_alone(built, tmp_path: Path) -> None:
    out, _, _ = built
    section = tmp_path / "section"
    section.mkdir()
    for name in ("per_pair.tsv", "attention.tsv", "scatter.tsv.gz"):
        (section / name).write_bytes((out / name).read_bytes())
    written = redraw(section, out_dir=tmp_path / "redrawn")
    assert sorted(p.name for p in written) == sorted(
        f"{s}.{e}" for s in ("fig4_pcc_per_pair", "fig5_attention", "scatter_lfc") for e in ("png", "pdf")
    )
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes() == (out / path.name).read_bytes(), path.name
    bare = tmp_path / "bare"  # per_pair.tsv alone: the other two figures say there is nothing to show
    bare.mkdir()
    (bare / "per_pair.tsv").write_bytes((out / "per_pair.tsv").read_bytes())
    assert len(redraw(bare)) == 6
    with pytest.raises(InputError, match="per-pair table not found"):
        redraw(tmp_path / "nowhere")


def test_non_positive_reference_and_other_threshold(tmp_path: Path) -> None:
    pairs = [("E003", "E123")]
    paths = [
        write_run(tmp_path, m, "E003", "E123", 0, quality=q)
        for m, q in (("deepdiff_aux", 0.7), ("svr_two_layer", 0.3), ("attentivechrome_diff", 0.5))
    ]
    record = json.loads(paths[2].read_text())
    record["test_pearson"] = -0.05
    paths[2].write_text(json.dumps(record))
    out = tmp_path / "section"
    build_differential_section(
        metrics=paths,
        out_dir=out,
        pairs=pairs,
        models=["deepdiff_aux", "svr_two_layer", "attentivechrome_diff"],
        attention_pair=None,
        lfc_threshold=2.0,
        published=None,
    )
    html = (out / "section.html").read_text()
    t1 = pd.read_csv(out / "table1.tsv", sep="\t").set_index("reference")
    assert t1.loc["attentivechrome_diff", "n_pairs"] == 0 and t1.loc["attentivechrome_diff", "n_excluded"] == 1
    assert "&lt;= 0" in html and "E003_vs_E123" in html
    assert "the paper uses 8" in html and "No attention pair was configured" in html
    assert "not shown, no\npublished table was given" in html or "no published table was given" in html.replace(
        "\n", " "
    )
    assert "Demo data." not in html

"""Tests of the interpretation section (chromexpr.experiments.interpret.report): the tables' values from hand-made
``interpret.npz`` / ``gan.npz`` files, every file written, the fragment's wording and links, and redrawing the
figures (chromexpr.experiments.interpret.figures.redraw)."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.errors import InputError
from chromexpr.experiments.interpret.figures import redraw
from chromexpr.experiments.interpret.plan import INTERPRET_FIGURE_STEMS
from chromexpr.experiments.interpret.report import (
    SECTION_TITLE,
    build_interpret_section,
    interpret_report_files,
    read_interpret,
)

from ..conftest import SectionLinks

MARKS = ["H3K4me1", "H3K4me3", "H3K27me3", "H3K36me3", "H3K9me3"]
BINS_BP = [-200, -100, 0, 100]
LABELS = np.array([1, 1, 1, 0, 0, 0], dtype=np.int8)
#: per mark, the sum over bins of ig_all: H3K4me1 + (no expectation), H3K4me3 + (agrees), H3K27me3 - (agrees),
#: H3K36me3 - (disagrees), H3K9me3 exactly 0 (disagrees)
IG_SUMS = np.array([0.3, 1.0, -0.5, -0.2, 0.0])
SAL_SUMS = np.array([0.1, 0.4, -0.3, 0.2, -0.1])
ATTENTION_MARK = np.array(
    [
        [0.1, 0.4, 0.1, 0.3, 0.1],
        [0.2, 0.3, 0.1, 0.3, 0.1],
        [0.0, 0.5, 0.1, 0.3, 0.1],
        [0.2, 0.1, 0.4, 0.1, 0.2],
        [0.3, 0.1, 0.3, 0.1, 0.2],
        [0.1, 0.1, 0.5, 0.1, 0.2],
    ],
    dtype=np.float32,
)
PROBABILITY = np.array([0.95, 0.6, 0.99, 0.1, 0.4, 0.01], dtype=np.float32)
GENES = [f"ENSG{i:011d}" for i in range(6)]


def _spread(sums: np.ndarray) -> np.ndarray:
    """(marks, 4) rows whose bin sums are ``sums``, not constant along bins."""
    shape = np.array([0.1, 0.4, 0.3, 0.2])
    return sums[:, None] * shape[None, :]


def _save(path: Path, **arrays) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def write_run(root: Path, model: str, cell: str, *, attention=False, classopt=False, linear=False, seed=0) -> Path:
    rng = np.random.default_rng(zlib.crc32(f"{model}|{cell}".encode()))
    arrays = {
        "marks": np.array(MARKS),
        "gene_ids": np.array(GENES),
        "labels": LABELS,
        "saliency_expressed": rng.normal(size=(5, 4)),
        "saliency_not_expressed": rng.normal(size=(5, 4)),
        "saliency_all": _spread(SAL_SUMS),
        "ig_expressed": rng.normal(size=(5, 4)),
        "ig_not_expressed": rng.normal(size=(5, 4)),
        "ig_all": _spread(IG_SUMS),
        "ig_delta_max": np.float64(3.5e-4),
        "meta": np.array(
            json.dumps(
                {
                    "model": model,
                    "cell": cell,
                    "seed": seed,
                    "card": model,
                    "ig_steps": 32,
                    "n_test": 6,
                    "bins_bp": BINS_BP,
                }
            )
        ),
    }
    if attention:
        arrays |= {
            "attention_bin": rng.random((6, 5, 4)).astype(np.float32),
            "attention_mark": ATTENTION_MARK,
            "inputs": rng.random((6, 5, 4)).astype(np.float32),
            "probability": PROBABILITY,
        }
    if classopt:
        arrays |= {
            "classopt_expressed": rng.random((5, 4)).astype(np.float32),
            "classopt_not_expressed": rng.random((5, 4)).astype(np.float32),
            "classopt_loss_expressed": np.array([2.0, 1.0, 0.5]),
            "classopt_loss_not_expressed": np.array([3.0, 1.5, 0.25]),
        }
    if linear:
        arrays |= {
            "linear_weight": np.array([[0.1, -0.5, 0.7, -0.2, 0.3], [-0.1, 0.6, -0.8, 0.4, -0.3]], dtype=np.float32),
            "linear_bias": np.array([0.25, -0.25], dtype=np.float32),
        }
    return _save(root / "interpret" / model / cell / f"seed{seed}" / "interpret.npz", **arrays)


def write_gan(root: Path, model: str, cell: str, seed: int = 0) -> Path:
    return _save(
        root / "interpret" / "gan" / model / cell / f"seed{seed}" / "gan.npz",
        marks=np.array(MARKS),
        profile_expressed=np.array([1.0, 1.0, 0.2, 1.0, 0.5]),
        profile_not_expressed=np.array([0.4, 0.1, 1.0, 0.3, 1.0]),
        maps_expressed=np.ones((5, 4)),
        maps_not_expressed=np.zeros((5, 4)),
        n_samples=np.int64(20000),
        top_k=np.int64(10),
        sanity_source=np.array(["real", "gan", "random"]),
        sanity_positive=np.array([0.45, 0.52, 0.05]),
        sanity_negative=np.array([0.55, 0.48, 0.95]),
        published_positive=np.array([0.30, 0.31, 0.19]),
        published_negative=np.array([0.70, 0.69, 0.81]),
        g_loss=np.array([1.2, 0.9]),
        d_loss=np.array([1.3, 1.1]),
        architecture=np.array("MLP GAN: latent 32 -> 256 -> 512"),
        meta=np.array(json.dumps({"model": model, "cell": cell, "seed": seed, "epochs": 2})),
    )


def write_tree(root: Path) -> tuple[dict, dict]:
    runs = {
        ("attentivechrome", "E003"): write_run(root, "attentivechrome", "E003", attention=True),
        ("deepchrome", "E003"): write_run(root, "deepchrome", "E003", classopt=True),
        ("linear12", "E003"): write_run(root, "linear12", "E003", linear=True),
    }
    gans = {("deepchrome", "E003"): write_gan(root, "deepchrome", "E003")}
    return runs, gans


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[Path]]:
    """The section built once for the module (drawing the figures takes seconds)."""
    tmp = tmp_path_factory.mktemp("interpret")
    runs, gans = write_tree(tmp / "results")
    out = tmp / "report" / "interpret"
    return out, build_interpret_section(runs, gans, out_dir=out, source_kind="demo")


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, sep="\t", dtype={"cell": str}, keep_default_na=False)


def test_files_list() -> None:
    files = interpret_report_files()
    assert files[:5] == ["signs.tsv", "mark_attention.tsv", "gan_sanity.tsv", "linear_weights.tsv", "section.html"]
    assert files[5:] == [f"{stem}.{ext}" for stem in INTERPRET_FIGURE_STEMS for ext in ("png", "pdf")]
    assert len(files) == len(set(files)) == 5 + 14


def test_every_file_is_written(built) -> None:
    out, written = built
    assert [p.name for p in written] == interpret_report_files()
    for name in interpret_report_files():
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name


def test_sign_table_hand_checked(built) -> None:
    out, _ = built
    signs = read(out, "signs.tsv")
    assert list(signs.columns) == ["model", "cell", "mark", "ig_sum", "saliency_sum", "sign", "expected", "agrees"]
    assert len(signs) == 3 * 5
    run = signs[signs["model"] == "attentivechrome"].set_index("mark")
    np.testing.assert_allclose(run.loc[MARKS, "ig_sum"].astype(float), IG_SUMS, atol=1e-12)
    np.testing.assert_allclose(run.loc[MARKS, "saliency_sum"].astype(float), SAL_SUMS, atol=1e-12)
    assert run.loc[MARKS, "sign"].astype(int).tolist() == [1, 1, -1, -1, 0]
    assert run.loc[MARKS, "expected"].tolist() == ["", "1", "-1", "1", "-1"]
    assert run.loc[MARKS, "agrees"].tolist() == ["", "True", "True", "False", "False"]
    assert (signs["cell"] == "E003").all()


def test_mark_attention_means_by_hand(built) -> None:
    out, _ = built
    table = read(out, "mark_attention.tsv")
    assert list(table.columns) == ["model", "cell", "mark", "expressed", "not_expressed"]
    assert table["model"].unique().tolist() == ["attentivechrome"]  # the only run with attention
    # H3K4me3: expressed genes 0.4, 0.3, 0.5 -> 0.4; not expressed 0.1, 0.1, 0.1 -> 0.1
    # H3K27me3: expressed 0.1, 0.1, 0.1 -> 0.1; not expressed 0.4, 0.3, 0.5 -> 0.4
    # H3K4me1: expressed 0.1, 0.2, 0.0 -> 0.1; not expressed 0.2, 0.3, 0.1 -> 0.2
    by_mark = table.set_index("mark")
    expected = {"H3K4me1": (0.1, 0.2), "H3K4me3": (0.4, 0.1), "H3K27me3": (0.1, 0.4), "H3K36me3": (0.3, 0.1)}
    for mark, (e, n) in expected.items():
        assert float(by_mark.loc[mark, "expressed"]) == pytest.approx(e, abs=1e-6)
        assert float(by_mark.loc[mark, "not_expressed"]) == pytest.approx(n, abs=1e-6)


def test_gan_sanity_rows(built) -> None:
    out, _ = built
    table = read(out, "gan_sanity.tsv")
    assert list(table.columns) == [
        "model",
        "cell",
        "source",
        "positive",
        "negative",
        "published_positive",
        "published_negative",
    ]
    assert table["source"].tolist() == ["real", "gan", "random"]
    assert (table["model"] == "deepchrome").all() and (table["cell"] == "E003").all()
    np.testing.assert_allclose(table["positive"].astype(float), [0.45, 0.52, 0.05])
    np.testing.assert_allclose(table["negative"].astype(float), [0.55, 0.48, 0.95])
    np.testing.assert_allclose(table["published_positive"].astype(float), [0.30, 0.31, 0.19])
    np.testing.assert_allclose(table["published_negative"].astype(float), [0.70, 0.69, 0.81])


def test_linear_weights_rows(built) -> None:
    out, _ = built
    table = read(out, "linear_weights.tsv")
    assert list(table.columns) == ["cell", "mark", "class", "weight"]
    assert len(table) == 12
    w = table.set_index(["mark", "class"])["weight"].astype(float)
    assert w[("H3K4me3", "expressed")] == pytest.approx(0.6)
    assert w[("H3K4me3", "not_expressed")] == pytest.approx(-0.5)
    assert w[("H3K27me3", "expressed")] == pytest.approx(-0.8)
    assert w[("bias", "not_expressed")] == pytest.approx(0.25)
    assert w[("bias", "expressed")] == pytest.approx(-0.25)


def test_section_html(built) -> None:
    out, _ = built
    html = (out / "section.html").read_text(encoding="utf-8")
    page = SectionLinks()
    page.feed(html)
    assert page.sections == ["interpret"]
    assert SECTION_TITLE in html
    for stem in INTERPRET_FIGURE_STEMS:
        assert f"interpret/{stem}.png" in page.images
        assert f"interpret/{stem}.pdf" in page.links
    for name in ("signs.tsv", "mark_attention.tsv", "gan_sanity.tsv", "linear_weights.tsv"):
        assert f"interpret/{name}" in page.links
    for published in ("0.30 / 0.70", "0.31 / 0.69", "0.19 / 0.81"):
        assert published in html
    for number in ("0.30", "0.70", "0.31", "0.69", "0.19", "0.81"):
        assert f"<td>{number}</td>" in html  # the paper's numbers in the sanity table, beside ours
    assert "<td>0.450</td>" in html and "<td>0.950</td>" in html
    assert "3,000,000" in html and "20,000" in html  # our samples vs the paper's
    assert "MLP GAN: latent 32 -&gt; 256 -&gt; 512" in html
    assert "32 steps" in html and "3.50e-04" in html  # IG steps and the completeness gap
    assert "Demo data." in html and "by construction" in html
    # the summary sign table comes first and shows the arrows and checks
    assert html.index("Direction of each mark") < html.index("<h3>Attributions")
    assert "<td>↑ ✓</td>" in html and "<td>↓ ✓</td>" in html and "<td>↓ ✗</td>" in html and "<td>0 ✗</td>" in html
    assert "<td>2/4</td>" in html
    assert "Overall 6 of 12" in html
    assert "final loss 0.5 (expressed), 0.25 (not expressed)" in html
    assert "not configured" not in html


def test_nothing_configured_still_writes_every_file(tmp_path: Path) -> None:
    root = tmp_path / "results"
    runs = {("deepchrome", "E116"): write_run(root, "deepchrome", "E116")}
    out = tmp_path / "report"
    written = build_interpret_section(runs, {}, out_dir=out, source_kind="remc")
    assert [p.name for p in written] == interpret_report_files()
    assert all(p.stat().st_size > 0 for p in written)
    assert read(out, "mark_attention.tsv").empty and read(out, "gan_sanity.tsv").empty
    assert read(out, "linear_weights.tsv").empty
    assert list(read(out, "gan_sanity.tsv").columns)[:3] == ["model", "cell", "source"]
    html = (out / "section.html").read_text(encoding="utf-8")
    assert "No AttentiveChrome-type run is configured" in html and "No GAN run is configured" in html
    assert "0.30 / 0.70" in html  # the paper's numbers still named
    assert "Demo data." not in html and "by construction" not in html  # not the demo: no note


def test_missing_or_incomplete_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_interpret(tmp_path / "nope.npz")
    bad = _save(tmp_path / "bad.npz", marks=np.array(MARKS))
    with pytest.raises(InputError, match="missing array"):
        read_interpret(bad)


def _tables_only(section: Path, to: Path) -> Path:
    """A copy of the section's tables (no figures) in ``to``."""
    to.mkdir(parents=True)
    for name in ("signs.tsv", "mark_attention.tsv", "gan_sanity.tsv", "linear_weights.tsv"):
        shutil.copy(section / name, to / name)
    return to


def test_redraw_draws_the_reports_figures(built, tmp_path: Path) -> None:
    """From the section's tables and the run arrays they name: every figure, the same PNG as the report's."""
    out, _ = built
    section = _tables_only(out, tmp_path / "interpret")
    written = redraw(section, out.parents[1] / "results")
    names = [f"{stem}.{ext}" for stem in INTERPRET_FIGURE_STEMS for ext in ("png", "pdf")]
    assert [p.name for p in written] == names
    for stem in INTERPRET_FIGURE_STEMS:
        assert (section / f"{stem}.png").read_bytes() == (out / f"{stem}.png").read_bytes(), stem
        assert (section / f"{stem}.pdf").stat().st_size > 0


def test_redraw_reads_the_seed_the_tables_show(tmp_path: Path) -> None:
    root = tmp_path / "results"
    run = write_run(root, "deepchrome", "E116", seed=1)
    out = tmp_path / "report" / "interpret"
    build_interpret_section({("deepchrome", "E116"): run}, {}, out_dir=out, source_kind="remc")
    other = dict(np.load(run, allow_pickle=False))
    other["ig_all"] = -other["ig_all"]  # another seed: other IG sums
    _save(root / "interpret" / "deepchrome" / "E116" / "seed0" / "interpret.npz", **other)
    section = _tables_only(out, tmp_path / "again")
    assert len(redraw(section, root)) == 2 * len(INTERPRET_FIGURE_STEMS)
    assert (section / "attributions.png").read_bytes() == (out / "attributions.png").read_bytes()
    run.unlink()  # only the other seed's arrays are left
    with pytest.raises(InputError, match="holds the numbers of signs.tsv"):
        redraw(section, root)


def test_redraw_without_the_tables_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="table not found"):
        redraw(tmp_path, tmp_path)

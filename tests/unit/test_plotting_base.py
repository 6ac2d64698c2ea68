"""Tests of chromexpr.plotting.base's title helpers: a figure's title wraps to its width instead of being cut."""

from __future__ import annotations

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chromexpr.plotting.base import fit_title, fitted_suptitle, text_width_in
from chromexpr.plotting.style import RC

LONG = "Per-cell test AUROC per model (5 cells per model; dot = one cell, line = median)"


def test_text_width_grows_with_text_and_size():
    assert text_width_in("", 11) == 0.0
    short, long = text_width_in("abc", 11), text_width_in("abcabc", 11)
    assert 0 < short < long
    assert text_width_in("abc", 22) > 1.9 * short
    assert text_width_in("abc", 11, weight="bold") > short


def test_fit_title_wraps_at_spaces_to_the_width():
    wrapped = fit_title(LONG, 4.5)
    assert wrapped.replace("\n", " ") == LONG  # only line breaks added, at spaces
    assert wrapped.count("\n") >= 1
    assert all(text_width_in(line, RC["figure.titlesize"]) <= 4.5 - 0.25 for line in wrapped.split("\n"))
    assert fit_title(LONG, 8.0) == LONG  # fits: unchanged
    assert fit_title("head\ntail", 8.0) == "head\ntail"  # breaks already there are kept
    assert fit_title("unbreakable_" * 8, 1.0) == "unbreakable_" * 8  # one word stays whole


def test_fitted_suptitle_stays_inside_a_narrow_figure():
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(4.5, 3), layout="constrained")
        fig.add_subplot()
        title = fitted_suptitle(fig, LONG)
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        box = title.get_window_extent(renderer)
    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
    assert title.get_text().replace("\n", " ") == LONG

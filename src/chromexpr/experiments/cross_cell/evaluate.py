"""The cross-cell experiment of DeepChrome 2.0: expression correlation between cells, the training groups,
Test-on-Rest, the experiment table of Fig. 5 / 6 and the probability differences of Fig. 9.

Every function takes and returns tidy frames (the workflow writes them as TSVs; the figures of
``chromexpr.experiments.cross_cell.figures`` redraw from those alone):

- ``expression_table``: one row per gene (``gene_id``, ``split``, one RPKM column per cell);
- ``correlation_tables``: per split, one row per ordered pair of cells, Pearson r of the RPKM over the
  split's genes and its min-max normalized value (the paper's Fig. 3);
- ``cross_cell_groups``: per target cell, the training cells of All / Highly / Somewhat / Random, each
  Inclusive or Exclusive of the target (one row per run, ``run = f"{group}_{mode}"``);
- ``test_on_rest_table`` / ``test_on_rest_trend``: every single-cell model tested on every other cell,
  the change in AUROC against the correlation of the two cells, and its regression line (Fig. 7);
- ``experiment_table`` / ``experiment_summary``: test AUROC per experiment and target (Fig. 5) and per
  experiment over targets (Fig. 6);
- ``probability_difference``: the Inclusive-All model's predicted probability minus the single-cell
  model's, binned by the genes' RPKM rank within the cell (Fig. 9).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from chromexpr.dataset import Dataset
from chromexpr.errors import InputError

GROUPS = ("all", "highly", "somewhat", "random")
MODES = ("inclusive", "exclusive")
CORRELATION_SPLITS = ("train", "valid", "test")
#: the single-cell model of each target, the first row of every experiment table
BASELINE = "baseline"
#: every experiment in the order of the tables and figures: baseline, then all_inclusive, all_exclusive, ...
EXPERIMENTS = (BASELINE, *(f"{g}_{m}" for g in GROUPS for m in MODES))
CORRELATION_COLUMNS = ("cell_a", "cell_b", "pearson", "normalized", "n_genes")
GROUP_COLUMNS = ("target", "group", "mode", "run", "cells", "n_cells", "empty", "mean_correlation")
TEST_ON_REST_COLUMNS = ("train_cell", "test_cell", "correlation", "auroc", "own_auroc", "delta_auroc")
TREND_KEYS = ("slope", "intercept", "r", "p_value", "n")
EXPERIMENT_COLUMNS = (
    "experiment",
    "target",
    "test_auroc",
    "n_seeds",
    "n_train",
    "n_train_cells",
    "mean_correlation",
    "empty",
    "normalized_auroc",
)
SUMMARY_COLUMNS = ("experiment", "mean_auroc", "sd_auroc", "n_targets", "mean_correlation", "mean_n_train")
PROBABILITY_COLUMNS = (
    "bin_left",
    "bin_right",
    "bin_center",
    "n_genes",
    "mean_difference",
    "sd_difference",
    "q25",
    "q75",
)
#: the genes' RPKM rank where the labels switch: expression >= the cell's median -> 1
MEDIAN_RANK = 0.5
_KEY = "experiments.cross_cell"


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, table.columns))})",
            hint=f"pass the table chromexpr.experiments.cross_cell.evaluate writes for {what}",
        )


# ---------------------------------------------------------------------------------------------------
# expression and correlation (Fig. 3)


def expression_table(datasets: Mapping[str, Dataset]) -> pd.DataFrame:
    """One row per gene: ``gene_id``, ``split``, then one column per cell (its ``expression``, RPKM).

    Cells are the mapping's keys, in its order. Every dataset must hold the same genes with the same
    split in the same order (one split manifest for all cells); otherwise ``InputError`` names the cell
    and the first gene that differs.
    """
    if not datasets:
        raise InputError("no datasets given: no expression to correlate", hint="list at least one cell")
    items = list(datasets.items())
    first_cell, first = items[0]
    genes = np.asarray(first.gene_ids, dtype=str)
    split = np.asarray(first.split, dtype=str)
    hint = "build every cell's dataset from the same gene set and split manifest (rebuild the datasets)"
    columns: dict[str, np.ndarray] = {"gene_id": genes, "split": split}
    for cell, ds in items:
        ids = np.asarray(ds.gene_ids, dtype=str)
        cell_split = np.asarray(ds.split, dtype=str)
        expression = np.asarray(ds.expression, dtype=float)
        if expression.shape != ids.shape:
            raise InputError(f"cell {cell}: {expression.size} expression values for {ids.size} genes", hint=hint)
        n = min(ids.size, genes.size)
        differ = np.flatnonzero(ids[:n] != genes[:n])
        if differ.size or ids.size != genes.size:
            k = int(differ[0]) if differ.size else n
            here = ids[k] if k < ids.size else "(none: fewer genes)"
            there = genes[k] if k < genes.size else "(none: fewer genes)"
            raise InputError(
                f"cell {cell}: genes differ from cell {first_cell}'s at row {k + 1}: {here} instead of {there} "
                f"({ids.size} genes against {genes.size})",
                hint=hint,
            )
        bad = np.flatnonzero(cell_split != split)
        if bad.size:
            k = int(bad[0])
            raise InputError(
                f"cell {cell}: gene {genes[k]} is in split '{cell_split[k]}', in cell {first_cell} in '{split[k]}'",
                hint=hint,
            )
        if cell in columns:
            raise InputError(f"cell name {cell!r} collides with a column name", hint="rename the cell")
        columns[cell] = expression
    return pd.DataFrame(columns)


def _cells_of(expression: pd.DataFrame) -> list[str]:
    _require(expression, ("gene_id", "split"), "expression table")
    cells = [str(c) for c in expression.columns if c not in ("gene_id", "split")]
    if not cells:
        raise InputError("expression table has no cell column", hint="pass expression_table's output")
    return cells


def correlation_tables(expression: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per split (``CORRELATION_SPLITS``), the Pearson correlation of every ordered pair of cells.

    One row per ordered pair ``(cell_a, cell_b)``, the diagonal included, in cell order (``cell_a``
    outer): ``pearson`` = Pearson r of the two cells' raw RPKM over the genes of that split (genes with
    both values finite; ``n_genes`` counts them) and ``normalized``, the paper's "calculate correlations
    between all cell types and normalize the range from 0 to 1", min-max over ALL pairs of the split,
    diagonal included::

        normalized = (r - min r) / (max r - min r)

    so the diagonal (r = 1, the maximum) is 1 and the least correlated pair 0. When every pair has the
    same r (e.g. a single cell) ``normalized`` is 1. A cell whose RPKM is constant over a split's genes
    (zero variance: r undefined) raises ``InputError`` naming the cell and the split.
    """
    cells = _cells_of(expression)
    splits = expression["split"].astype(str)
    out: dict[str, pd.DataFrame] = {}
    for split in CORRELATION_SPLITS:
        values = expression.loc[splits == split, cells].apply(pd.to_numeric, errors="coerce").astype(float)
        for cell in cells:
            column = values[cell].dropna()
            if len(column) < 2 or float(column.std(ddof=0)) == 0.0:
                raise InputError(
                    f"cell {cell}: RPKM is constant over the {len(column)} gene(s) of split {split!r} "
                    "(zero variance): its Pearson correlation is undefined",
                    hint="check the cell's expression file; a cell without expression cannot join the experiment",
                )
        finite = values.notna().to_numpy(dtype=float)
        n_genes = finite.T @ finite
        r = values.corr(method="pearson", min_periods=2).to_numpy(dtype=float, copy=True)
        np.fill_diagonal(r, 1.0)
        r = np.clip(r, -1.0, 1.0)
        lo, hi = np.nanmin(r), np.nanmax(r)
        normalized = (r - lo) / (hi - lo) if hi > lo else np.where(np.isfinite(r), 1.0, np.nan)
        n = len(cells)
        out[split] = pd.DataFrame(
            {
                "cell_a": np.repeat(cells, n),
                "cell_b": np.tile(cells, n),
                "pearson": r.ravel(),
                "normalized": normalized.ravel(),
                "n_genes": n_genes.ravel().astype(int),
            }
        )
    return out


def correlation_matrix(correlation: pd.DataFrame, value: str = "normalized") -> pd.DataFrame:
    """One split's long correlation table as a square frame (``cell_a`` rows x ``cell_b`` columns), in
    the order the cells first appear."""
    _require(correlation, ("cell_a", "cell_b", value), "correlation table")
    a = correlation["cell_a"].astype(str)
    b = correlation["cell_b"].astype(str)
    order = list(dict.fromkeys([*a, *b]))
    wide = correlation.assign(cell_a=a, cell_b=b).pivot_table(
        index="cell_a", columns="cell_b", values=value, aggfunc="first", dropna=False
    )
    return wide.reindex(index=order, columns=order).astype(float)


# ---------------------------------------------------------------------------------------------------
# the training groups


def random_others(others: Sequence[str], target: str, size: int, seed: int) -> list[str]:
    """The Random group of ``target``: ``min(size, len(others))`` of ``others``, listed in their order.

    Drawn with ``np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(target.encode())]))``, so a
    target's draw depends only on the seed, the target and its candidates, not on the other targets.
    """
    k = min(int(size), len(others))
    if k == 0:
        return []
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(target.encode())]))
    picked = np.sort(rng.choice(len(others), size=k, replace=False))
    return [others[i] for i in picked]


def cross_cell_groups(
    correlation: pd.DataFrame,
    cells: Sequence[str],
    targets: Sequence[str],
    *,
    highly: float = 0.75,
    somewhat: float = 0.5,
    random_size: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """The training cells of every cross-cell run: per target, group (``GROUPS``) and mode (``MODES``).

    ``correlation`` is one split's table of ``correlation_tables`` (its ``normalized`` column is used).
    With ``others`` = ``cells`` without the target: *all* = every other cell, *highly* = others with
    normalized correlation to the target ``> highly`` (strictly, as the paper's "> 0.75"), *somewhat* =
    others ``> somewhat``, *random* = ``random_others(others, target, random_size, seed)``. *Inclusive*
    trains on the target and the group's others, *exclusive* on the others alone. A group without others
    is ``empty`` in both modes (inclusive would be the single-cell baseline), with ``cells=""`` and
    ``n_cells=0``.

    Columns: ``target``, ``group``, ``mode``, ``run`` (``f"{group}_{mode}"``), ``cells`` (comma-separated
    training cells, in ``cells`` order), ``n_cells``, ``empty`` and ``mean_correlation`` (mean normalized
    correlation of the training cells to the target, the target's own 1.0 included when inclusive; NaN
    when empty). Rows: targets in order, then ``GROUPS``, then ``MODES``.

    Raises:
        InputError: a threshold outside [0, 1] or ``highly < somewhat``, ``random_size < 1``, a target not
            among ``cells``, repeated cells, or a cell missing from the correlation table; each names its
            ``experiments.cross_cell.<param>`` key.
    """
    for name, value in (("highly", highly), ("somewhat", somewhat)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= float(value) <= 1.0:
            raise InputError(
                f"threshold {value!r}: expected a number in [0, 1] (normalized correlation)",
                key=f"{_KEY}.{name}",
                hint="the paper uses highly = 0.75 and somewhat = 0.5",
            )
    if highly < somewhat:
        raise InputError(
            f"highly = {highly} is below somewhat = {somewhat}: Highly must be the stricter group",
            key=f"{_KEY}.highly",
            hint="set highly >= somewhat (the paper: 0.75 and 0.5)",
        )
    if not isinstance(random_size, (int, np.integer)) or isinstance(random_size, bool) or random_size < 1:
        raise InputError(
            f"random_size = {random_size!r}: expected an integer >= 1", key=f"{_KEY}.random_size", hint="the paper: 10"
        )
    cells = [str(c) for c in cells]
    targets = [str(t) for t in targets]
    repeated = sorted({c for c in cells if cells.count(c) > 1})
    if repeated:
        raise InputError(f"cell(s) listed more than once: {', '.join(repeated)}", key=f"{_KEY}.cells")
    unknown = [t for t in targets if t not in cells]
    if unknown:
        raise InputError(
            f"target(s) {', '.join(unknown)} not among the cells ({', '.join(cells)})",
            key=f"{_KEY}.targets",
            hint="every target cell must also be one of the experiment's cells",
        )
    matrix = correlation_matrix(correlation)
    absent = [c for c in cells if c not in matrix.index]
    if absent:
        raise InputError(
            f"cell(s) {', '.join(absent)} missing from the correlation table",
            key=f"{_KEY}.cells",
            hint="compute the correlations over every cell of the experiment (correlation_tables)",
        )
    rows = []
    for target in targets:
        others = [c for c in cells if c != target]
        corr = matrix.loc[target]
        members = {
            "all": others,
            "highly": [c for c in others if corr[c] > highly],
            "somewhat": [c for c in others if corr[c] > somewhat],
            "random": random_others(others, target, random_size, seed),
        }
        for group in GROUPS:
            chosen = members[group]
            for mode in MODES:
                row = {"target": target, "group": group, "mode": mode, "run": f"{group}_{mode}"}
                if not chosen:
                    row.update(cells="", n_cells=0, empty=True, mean_correlation=math.nan)
                else:
                    train = [c for c in cells if c in chosen or (mode == "inclusive" and c == target)]
                    values = [1.0 if c == target else float(corr[c]) for c in train]
                    row.update(
                        cells=",".join(train),
                        n_cells=len(train),
                        empty=False,
                        mean_correlation=float(np.mean(values)),
                    )
                rows.append(row)
    out = pd.DataFrame(rows, columns=list(GROUP_COLUMNS))
    out["n_cells"] = out["n_cells"].astype(int)
    out["empty"] = out["empty"].astype(bool)
    out["mean_correlation"] = out["mean_correlation"].astype(float)
    return out


def read_groups(path_or_table: str | pd.DataFrame) -> pd.DataFrame:
    """A groups table (``cross_cell_groups``) as read back from its TSV: ``cells`` as text ("" when
    empty), ``empty`` boolean, ``n_cells`` integer."""
    if isinstance(path_or_table, pd.DataFrame):
        table = path_or_table.copy()
    else:
        table = pd.read_csv(path_or_table, sep="\t", dtype={"target": str, "cells": str, "run": str}, na_filter=True)
    _require(table, GROUP_COLUMNS, "groups table")
    table["target"] = table["target"].astype(str)
    table["cells"] = table["cells"].fillna("").astype(str)
    table["empty"] = _as_bool(table["empty"])
    table["n_cells"] = pd.to_numeric(table["n_cells"], errors="coerce").fillna(0).astype(int)
    table["mean_correlation"] = pd.to_numeric(table["mean_correlation"], errors="coerce").astype(float)
    twice = table.duplicated(["run", "target"], keep=False)
    if twice.any():
        first = table[twice].iloc[0]
        raise InputError(
            f"groups table lists run {first['run']} of target {first['target']} more than once",
            path=None if isinstance(path_or_table, pd.DataFrame) else path_or_table,
            hint="write the groups table with cross_cell_groups (one row per target, group and mode)",
        )
    return table


def _as_bool(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return values
    return values.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])


# ---------------------------------------------------------------------------------------------------
# Test-on-Rest (Fig. 7)


def test_on_rest_table(scores: pd.DataFrame, own: Mapping[str, float], correlation: pd.DataFrame) -> pd.DataFrame:
    """Every single-cell model tested on another cell, beside the test cell's own model (Fig. 7's points).

    ``scores``: ``train_cell``, ``test_cell``, ``auroc`` (the model of ``train_cell`` on the test genes of
    ``test_cell``), further columns (``model``, ``seed``, ``n_test``, ...) are passed through. ``own``: test
    cell -> AUROC of its own single-cell model on its test genes. ``correlation``: one split's table of
    ``correlation_tables``.

    Columns: ``train_cell``, ``test_cell``, ``correlation`` (normalized correlation of the two cells),
    ``auroc``, ``own_auroc`` (``own[test_cell]``), ``delta_auroc`` = ``auroc - own_auroc`` (the paper's
    change in AUROC between training on the other cell and training on the test cell), then the passed
    columns. A test cell without an own AUROC or a pair without a correlation raises ``InputError``.
    """
    _require(scores, ("train_cell", "test_cell", "auroc"), "Test-on-Rest scores")
    table = scores.copy()
    table["train_cell"] = table["train_cell"].astype(str)
    table["test_cell"] = table["test_cell"].astype(str)
    own = {str(k): float(v) for k, v in own.items()}
    lacking = sorted(set(table["test_cell"]) - set(own))
    if lacking:
        raise InputError(
            f"no own single-cell AUROC for test cell(s) {', '.join(lacking)}",
            hint="train the single-cell model of every test cell before Test-on-Rest",
        )
    matrix = correlation_matrix(correlation)
    pairs = list(zip(table["train_cell"], table["test_cell"], strict=True))
    absent = sorted({c for pair in pairs for c in pair if c not in matrix.index})
    if absent:
        raise InputError(
            f"cell(s) {', '.join(absent)} missing from the correlation table",
            hint="compute the correlations over every cell of the experiment (correlation_tables)",
        )
    table["correlation"] = [float(matrix.at[a, b]) for a, b in pairs]
    table["auroc"] = pd.to_numeric(table["auroc"], errors="coerce").astype(float)
    table["own_auroc"] = table["test_cell"].map(own).astype(float)
    table["delta_auroc"] = table["auroc"] - table["own_auroc"]
    rest = [c for c in table.columns if c not in TEST_ON_REST_COLUMNS]
    return table[[*TEST_ON_REST_COLUMNS, *rest]].reset_index(drop=True)


def test_on_rest_trend(table: pd.DataFrame) -> dict[str, float]:
    """The least-squares line of ``delta_auroc`` on ``correlation`` (``scipy.stats.linregress``).

    Returns ``slope``, ``intercept``, ``r`` (Pearson), ``p_value`` (two-sided, slope = 0) and ``n`` (points
    with both values finite). Fewer than 3 points, or all at one correlation, give NaN for all but ``n``.
    The pairs share cells, so they are not independent and the p-value is optimistic.
    """
    from scipy import stats

    nan = {"slope": math.nan, "intercept": math.nan, "r": math.nan, "p_value": math.nan}
    if table is None or table.empty:
        return {**nan, "n": 0}
    _require(table, ("correlation", "delta_auroc"), "Test-on-Rest table")
    x = pd.to_numeric(table["correlation"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(table["delta_auroc"], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = int(x.size)
    if n < 3 or np.ptp(x) == 0.0:
        return {**nan, "n": n}
    fit = stats.linregress(x, y)
    return {
        "slope": float(fit.slope),
        "intercept": float(fit.intercept),
        "r": float(fit.rvalue),
        "p_value": float(fit.pvalue),
        "n": n,
    }


# ---------------------------------------------------------------------------------------------------
# the experiments (Fig. 5, Fig. 6)


def _split_cells(text: object) -> list[str]:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    return [c.strip() for c in str(text).split(",") if c.strip()]


def _first_int(values: pd.Series) -> object:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return int(numbers.iloc[0]) if len(numbers) else pd.NA


def experiment_table(runs: pd.DataFrame, baseline: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Test AUROC of every experiment on every target (Fig. 5's entries).

    Args:
        runs: ``collect_metrics(..., keys=("run", "cell", "seed"))`` of the cross-cell runs (``run``,
            ``cell`` = the target, ``seed``, ``test_auroc``, ``n_train``, ``n_train_cells``, ``train_cells``).
        baseline: ``collect_metrics`` of the same model's single-cell runs (``cell``, ``seed``,
            ``test_auroc``, ``n_train``).
        groups: ``cross_cell_groups``' table, which says which runs exist and which groups are empty.

    Returns:
        One row per experiment (``EXPERIMENTS`` order: ``baseline``, ``all_inclusive``, ...) and target
        (the groups' order): ``experiment``, ``target``, ``test_auroc`` (mean over seeds), ``n_seeds``,
        ``n_train`` (training genes), ``n_train_cells``, ``mean_correlation`` (the groups'; 1.0 for the
        baseline), ``empty`` (the group has no other cell: no run, AUROC NaN) and ``normalized_auroc`` =
        ``(auroc - min) / (max - min)`` over every entry of the table with an AUROC (Fig. 5's
        "normalized AUROC"; 1 when they are all equal). An entry not run yet has NaN AUROC, ``n_seeds``
        0 and ``empty`` False.

    Raises:
        InputError: a run whose (run, target) the groups do not list or list as empty, a run trained on
            other cells than its group's, or single-cell runs of more than one model.
    """
    groups = read_groups(groups)
    targets = list(dict.fromkeys(groups["target"]))
    baseline = baseline if baseline is not None else pd.DataFrame()
    runs = runs if runs is not None else pd.DataFrame()
    if not baseline.empty and "model" in baseline.columns and baseline["model"].nunique() > 1:
        raise InputError(
            f"baseline runs of several models ({', '.join(sorted(map(str, baseline['model'].unique())))})",
            hint="pass the single-cell runs of the cross-cell model only",
        )
    by_group = groups.set_index(["run", "target"])
    if not runs.empty:
        _require(runs, ("run", "cell", "seed", "test_auroc"), "cross-cell runs")
        for run in runs.itertuples(index=False):
            key = (str(run.run), str(run.cell))
            where = getattr(run, "path", None)
            if key not in by_group.index:
                raise InputError(
                    f"cross-cell run {key[0]} for target {key[1]} is not in the groups table",
                    path=where,
                    hint="the groups table and the runs come from different configurations; rebuild the groups",
                )
            group = by_group.loc[key]
            if bool(group["empty"]):
                raise InputError(
                    f"cross-cell run {key[0]} for target {key[1]}, but the groups table says that group is empty",
                    path=where,
                    hint="the groups table and the runs come from different configurations; rebuild the groups",
                )
            trained = _split_cells(getattr(run, "train_cells", None))
            if trained and set(trained) != set(_split_cells(group["cells"])):
                raise InputError(
                    f"cross-cell run {key[0]} for target {key[1]} trained on {','.join(trained)}, "
                    f"the groups table says {group['cells']}",
                    path=where,
                    hint="the run is stale (other thresholds or cells); re-run it",
                )

    def summarize(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame(columns=[*by, "test_auroc", "n_seeds", "n_train", "n_train_cells"]).set_index(by)
        frame = frame.assign(cell=frame["cell"].astype(str))
        g = frame.groupby(by, sort=False)
        out = pd.DataFrame(
            {
                "test_auroc": g["test_auroc"].mean(),
                "n_seeds": g["seed"].nunique(),
                "n_train": g["n_train"].agg(_first_int) if "n_train" in frame.columns else pd.NA,
                "n_train_cells": g["n_train_cells"].agg(_first_int) if "n_train_cells" in frame.columns else pd.NA,
            }
        )
        return out

    per_run = summarize(runs, ["run", "cell"])
    per_cell = summarize(baseline, ["cell"])
    rows = []
    for target in targets:
        have = target in per_cell.index
        rows.append(
            {
                "experiment": BASELINE,
                "target": target,
                "test_auroc": float(per_cell.at[target, "test_auroc"]) if have else math.nan,
                "n_seeds": int(per_cell.at[target, "n_seeds"]) if have else 0,
                "n_train": per_cell.at[target, "n_train"] if have else pd.NA,
                "n_train_cells": 1,
                "mean_correlation": 1.0,
                "empty": False,
            }
        )
    for experiment in EXPERIMENTS[1:]:
        for target in targets:
            key = (experiment, target)
            if key not in by_group.index:
                continue
            group = by_group.loc[key]
            have = key in per_run.index
            empty = bool(group["empty"])
            n_cells = per_run.at[key, "n_train_cells"] if have else pd.NA
            rows.append(
                {
                    "experiment": experiment,
                    "target": target,
                    "test_auroc": float(per_run.at[key, "test_auroc"]) if have else math.nan,
                    "n_seeds": int(per_run.at[key, "n_seeds"]) if have else 0,
                    "n_train": per_run.at[key, "n_train"] if have else pd.NA,
                    "n_train_cells": n_cells if n_cells is not pd.NA else int(group["n_cells"]),
                    "mean_correlation": float(group["mean_correlation"]),
                    "empty": empty,
                }
            )
    out = pd.DataFrame(rows, columns=list(EXPERIMENT_COLUMNS[:-1]))
    out["test_auroc"] = out["test_auroc"].astype(float)
    out["n_seeds"] = out["n_seeds"].astype(int)
    for key in ("n_train", "n_train_cells"):
        out[key] = pd.array([pd.NA if v is None or v is pd.NA else int(v) for v in out[key]], dtype="Int64")
    out["mean_correlation"] = out["mean_correlation"].astype(float)
    out["empty"] = out["empty"].astype(bool)
    out["normalized_auroc"] = _min_max(out["test_auroc"].where(~out["empty"]))
    return out


def _min_max(values: pd.Series) -> pd.Series:
    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    if finite.empty:
        return values * math.nan
    lo, hi = float(finite.min()), float(finite.max())
    if hi == lo:
        return values.where(values.isna(), 1.0).astype(float)
    return ((values - lo) / (hi - lo)).astype(float)


def experiment_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per experiment (``EXPERIMENTS`` order, those in ``table``), over its targets with an AUROC (Fig. 6).

    Columns: ``experiment``, ``mean_auroc``, ``sd_auroc`` (sample sd over targets; NaN with one),
    ``n_targets`` (targets with an AUROC), ``mean_correlation`` (mean over those targets of the training
    cells' mean normalized correlation to the target) and ``mean_n_train`` (mean training genes). An
    experiment whose every group is empty has ``n_targets`` 0 and NaN means.
    """
    if table is None or table.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    _require(table, ("experiment", "test_auroc", "empty", "mean_correlation", "n_train"), "experiment table")
    table = table.assign(
        experiment=table["experiment"].astype(str),
        empty=_as_bool(table["empty"]),
        test_auroc=pd.to_numeric(table["test_auroc"], errors="coerce").astype(float),
        mean_correlation=pd.to_numeric(table["mean_correlation"], errors="coerce").astype(float),
        n_train=pd.to_numeric(table["n_train"], errors="coerce").astype(float),
    )
    present = list(dict.fromkeys(table["experiment"]))
    order = [e for e in EXPERIMENTS if e in present] + [e for e in present if e not in EXPERIMENTS]
    rows = []
    for experiment in order:
        rows_of = table[(table["experiment"] == experiment) & ~table["empty"] & table["test_auroc"].notna()]
        auroc = rows_of["test_auroc"]
        rows.append(
            {
                "experiment": experiment,
                "mean_auroc": float(auroc.mean()) if len(auroc) else math.nan,
                "sd_auroc": float(auroc.std(ddof=1)) if len(auroc) > 1 else math.nan,
                "n_targets": len(auroc),
                "mean_correlation": float(rows_of["mean_correlation"].mean()) if len(auroc) else math.nan,
                "mean_n_train": float(rows_of["n_train"].mean()) if rows_of["n_train"].notna().any() else math.nan,
            }
        )
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    out["n_targets"] = out["n_targets"].astype(int)
    return out


# ---------------------------------------------------------------------------------------------------
# Fig. 9: probability difference by RPKM rank


def _mean_probability(predictions: pd.DataFrame, what: str) -> pd.DataFrame:
    _require(predictions, ("target", "gene_id", "probability"), what)
    table = predictions.assign(
        target=predictions["target"].astype(str),
        gene_id=predictions["gene_id"].astype(str),
        probability=pd.to_numeric(predictions["probability"], errors="coerce").astype(float),
    )
    return table.groupby(["target", "gene_id"], sort=False, as_index=False)["probability"].mean()


def probability_difference(
    baseline_predictions: pd.DataFrame,
    all_predictions: pd.DataFrame,
    expression: pd.DataFrame,
    *,
    bins: int = 20,
) -> pd.DataFrame:
    """Fig. 9: Inclusive-All minus single-cell predicted probability, binned by the genes' RPKM rank.

    ``baseline_predictions`` / ``all_predictions``: ``target``, ``gene_id``, ``probability`` of the
    single-cell and Inclusive-All models on each target's test genes (several seeds of a gene are
    averaged first). ``expression``: ``expression_table``'s output. For each target and gene both
    models predicted, ``difference = p_all - p_baseline`` and ``rpkm_rank`` = the percentile rank of the
    gene's RPKM among ALL genes of the target cell (``rank(pct=True)``, ties averaged; rank in (0, 1]).
    The labels are 1 for expression >= the cell's median, so the label cutoff sits at rank 0.5
    (``MEDIAN_RANK``). Ranks fall into ``bins`` equal-width bins over [0, 1] (left-closed, the last also
    right-closed), pooled over targets.

    Returns:
        One row per bin: ``bin_left``, ``bin_right``, ``bin_center``, ``n_genes``, ``mean_difference``,
        ``sd_difference`` (sample sd; NaN under 2 genes), ``q25``, ``q75`` (quartiles of the difference;
        NaN in an empty bin).
    """
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 1:
        raise InputError(f"bins = {bins!r}: expected an integer >= 1")
    cells = _cells_of(expression)
    base = _mean_probability(baseline_predictions, "baseline predictions")
    full = _mean_probability(all_predictions, "Inclusive-All predictions")
    both = base.merge(full, on=["target", "gene_id"], suffixes=("_baseline", "_all"), how="inner")
    genes = expression["gene_id"].astype(str)
    parts = []
    for target, rows in both.groupby("target", sort=False):
        if target not in cells:
            raise InputError(
                f"target {target} has no expression column (cells: {', '.join(cells)})",
                hint="pass the expression table of every target cell",
            )
        rank = pd.Series(
            pd.to_numeric(expression[target], errors="coerce").rank(pct=True, method="average").to_numpy(),
            index=genes,
        )
        unknown = ~rows["gene_id"].isin(rank.index)
        if unknown.any():
            raise InputError(
                f"target {target}: gene {rows.loc[unknown, 'gene_id'].iloc[0]} predicted but not in the expression table",
                hint="predictions and expression must come from the same datasets",
            )
        parts.append(
            pd.DataFrame(
                {
                    "rank": rank.loc[rows["gene_id"]].to_numpy(dtype=float),
                    "difference": (rows["probability_all"] - rows["probability_baseline"]).to_numpy(dtype=float),
                }
            )
        )
    points = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"rank": [], "difference": []})
    points = points[np.isfinite(points["rank"]) & np.isfinite(points["difference"])]
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.floor(points["rank"].to_numpy() * bins).astype(int), 0, bins - 1)
    rows_out = []
    for k in range(bins):
        d = points["difference"].to_numpy()[index == k]
        rows_out.append(
            {
                "bin_left": edges[k],
                "bin_right": edges[k + 1],
                "bin_center": (edges[k] + edges[k + 1]) / 2,
                "n_genes": int(d.size),
                "mean_difference": float(d.mean()) if d.size else math.nan,
                "sd_difference": float(d.std(ddof=1)) if d.size > 1 else math.nan,
                "q25": float(np.quantile(d, 0.25)) if d.size else math.nan,
                "q75": float(np.quantile(d, 0.75)) if d.size else math.nan,
            }
        )
    return pd.DataFrame(rows_out, columns=list(PROBABILITY_COLUMNS))


# the two Test-on-Rest functions are named test_*: keep pytest from collecting them where they are imported
test_on_rest_table.__test__ = False  # type: ignore[attr-defined]
test_on_rest_trend.__test__ = False  # type: ignore[attr-defined]

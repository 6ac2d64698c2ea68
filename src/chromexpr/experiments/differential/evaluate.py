"""The tables of the differential-expression experiment of DeepDiff (Sekhon, Singh, Qi 2018): its Table 1, Fig. 4
and Fig. 5 (``chromexpr.experiments.differential``: ``figures`` draws them, ``report`` writes the section).

Runs, ``results/runs/differential/{model}/{cell_a}_vs_{cell_b}/seed{n}/`` (read with
``collect_differential_metrics``):

- ``metrics.json``: ``model``, ``pair`` (``E003_vs_E123``), ``cell_a``, ``cell_b``, ``seed``, ``task``
  (``differential``), ``framework`` (``torch`` | ``sklearn``), ``parameters``, ``test_pearson``, ``test_mse``,
  ``test_spearman``, ``valid_pearson``, ``valid_mse``, ``best_epoch``, ``epochs_run``, ``stopped_early``,
  ``n_train`` / ``n_valid`` / ``n_test`` and, for the baselines, ``selection`` (the hyper-parameters chosen on the
  validation genes);
- ``predictions.tsv.gz``: ``gene_id``, ``split``, ``lfc`` (true), ``prediction`` (and, for the variants with
  auxiliary heads, ``target_a`` / ``target_b`` / ``prediction_a`` / ``prediction_b``);
- ``attention.npz`` (every ``deepdiff_*`` and ``attentivechrome_diff``): ``gene_id``, ``lfc``, ``mark`` (genes x
  slots, the mark-level (Level II) attention of each test gene) and ``slots`` (``A H3K4me1``, ``B H3K4me1``,
  ``A-B H3K4me1``, ...);
- ``history.tsv``.

The target of a gene is its log fold change ``LFC = log2((count_B + 1) / (count_A + 1))``: positive when the gene
is higher in cell B. The metric is the Pearson correlation (PCC) of predicted and true LFC on the test genes.

Table 1 of the paper gives, per DeepDiff variant, the mean and the median over its ten cell pairs of the relative
PCC (%) against the two best baselines, the two-layer SVR and AttentiveChrome (the difference of two single-cell
regressors). The paper does not define the measure; we read it as relative PCC (%) = 100 x PCC(variant) /
PCC(baseline) on the same pair, then mean / median over pairs. This reading fits the table's magnitudes: 100 % is
parity, the weakest variant (Raw: d, worst in 9 of 10 pairs) sits at a median 102 % of AttentiveChrome, close to the
strongest baseline, and all variants at 154-169 % of the weaker SVR. The other reading, 100 x (PCC - PCC_base) /
PCC_base, would have every variant more than double AttentiveChrome's PCC, which the text (AttentiveChrome is one
of the "best-performing baselines", Raw: d barely above it) does not suggest.
A pair whose baseline PCC is <= 0 makes the ratio meaningless (its sign flips, it grows without bound near 0); it
is left out of that reference's mean and median and named in ``excluded``.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import gene_set_columns, read_metrics_json
from chromexpr.experiments.differential.plan import pair_name
from chromexpr.models.display import display_name, order_models
from chromexpr.published import card_published

#: the seven DeepDiff variants, in the paper's order (Table 1, Fig. 4)
VARIANTS = (
    "deepdiff_raw_d",
    "deepdiff_raw_c",
    "deepdiff_raw",
    "deepdiff_aux",
    "deepdiff_raw_aux",
    "deepdiff_aux_siamese",
    "deepdiff_raw_aux_siamese",
)
#: the four baselines of the paper (Sec. 4.2)
BASELINES = ("svr_best_bin", "svr_two_layer", "relieff_rf", "attentivechrome_diff")
#: our variants of a baseline, shown beside it (not in the paper's claims or Table 1's denominators)
OTHER_BASELINES = ("svr_two_layer_levels",)
MODELS = VARIANTS + BASELINES + OTHER_BASELINES
#: the two baselines Table 1 compares against, and the short names of its column groups
REFERENCES = ("svr_two_layer", "attentivechrome_diff")
REFERENCE_COLUMN_NAMES = {"svr_two_layer": "two-layer SVR", "attentivechrome_diff": "AttentiveChrome"}
#: the paper: ten cell pairs, Fig. 5 on E116 vs E123 with |LFC| > 8
PAPER_PAIRS = 10
PAPER_ATTENTION_PAIR = ("E116", "E123")
PAPER_THRESHOLD = 8.0
MARKS = ("H3K4me1", "H3K4me3", "H3K9me3", "H3K27me3", "H3K36me3")

TABLE1_SOURCE = "DeepDiff paper Table 1"
TABLE1_CITATION = (
    "Sekhon, Singh & Qi (2018), DeepDiff: DEEP-learning for predicting DIFFerential gene expression from histone "
    "modifications, Bioinformatics 34(17):i891-i900, Table 1 (mean and median over ten cell pairs)"
)
#: the cards' ``published`` metric of each Table 1 reference: every DeepDiff card (``models/deepdiff_*.yaml``) holds
#: the paper's mean and median relative PCC (%) of its variant against that reference. The same numbers are rows of
#: ``data/real/published_summary.tsv`` (source ``DeepDiff paper Table 1``); a test checks that they agree.
REFERENCE_METRICS = {
    "svr_two_layer": "relative_pcc_pct_vs_svr_two_layer",
    "attentivechrome_diff": "relative_pcc_pct_vs_attentivechrome",
}


class Published(enum.Enum):
    """Where ``published_table1`` reads the paper's Table 1 when it is given no table or path."""

    #: the DeepDiff cards' ``published`` entries (``REFERENCE_METRICS``)
    CARDS = "cards"


#: the default ``published`` of Table 1: the cards' numbers
CARDS = Published.CARDS
PUBLISHED_COLUMNS = ["variant", "reference", "published_mean", "published_median", "published_source"]
#: the wording of a Table 1 row in ``published_summary.tsv``: ``Raw+Aux (relative PCC vs two-layer SVR, %)``
_SUMMARY_MODEL = re.compile(r"^(?P<name>.+?) \(relative PCC vs (?P<reference>two-layer SVR|AttentiveChrome), %\)$")

REQUIRED_KEYS = ("model", "pair", "cell_a", "cell_b", "seed", "test_pearson")
NUMBER_KEYS = ("test_pearson", "test_mse", "test_spearman", "valid_pearson", "valid_mse", "wall_seconds")
INT_KEYS = ("parameters", "best_epoch", "epochs_run", "n_train", "n_valid", "n_test")
RUN_COLUMNS = [
    "model",
    "pair",
    "cell_a",
    "cell_b",
    "seed",
    "task",
    "framework",
    "parameters",
    "test_pearson",
    "test_mse",
    "test_spearman",
    "valid_pearson",
    "valid_mse",
    "best_epoch",
    "epochs_run",
    "max_epochs",
    "patience",
    "stopped_early",
    "stop",
    "n_train",
    "n_valid",
    "n_test",
    "selection",
    "path",
]
PER_PAIR_COLUMNS = [
    "model",
    "name",
    "kind",
    "pair",
    "cell_a",
    "cell_b",
    "n_seeds",
    "seeds",
    "test_pearson_mean",
    "test_pearson_sd",
    "test_mse_mean",
    "test_spearman_mean",
    "valid_pearson_mean",
    "n_train",
    "n_valid",
    "n_test",
    "framework",
    "parameters",
    "best_epoch",
    "epochs_run",
    "max_epochs",
    "stopped_early_any",
    "n_stopped_early",
    "n_at_max_epochs",
    "stop",
    "is_best_variant",
]
RELATIVE_COLUMNS = ["variant", "reference", "pair", "pcc", "reference_pcc", "relative_pcc", "included", "note"]
TABLE1_COLUMNS = [
    "variant",
    "name",
    "reference",
    "reference_name",
    "n_pairs",
    "n_excluded",
    "excluded",
    "mean_relative_pcc",
    "median_relative_pcc",
    "published_mean",
    "published_median",
    "delta_mean",
    "published_source",
]
BEST_COLUMNS = ["pair", "model", "name", "test_pearson_mean", "runner_up", "margin", "n_variants"]
ATTENTION_COLUMNS = [
    "slot_index",
    "slot",
    "cell",
    "mark",
    "direction",
    "threshold",
    "n_genes",
    "mean_attention",
    "sd_attention",
]
#: ``attention.tsv`` of the section: Fig. 5's numbers per model of the attention pair, averaged over seeds
ATTENTION_TABLE_COLUMNS = ["model", "name", "pair", "n_seeds", *ATTENTION_COLUMNS]
SCATTER_COLUMNS = ["pair", "model", "name", "role", "seed", "gene_id", "lfc", "prediction"]
CLAIM_COLUMNS = ["claim", "paper", "ours", "k", "n"]
DIRECTIONS = ("up", "down")


def model_kind(model: object) -> str:
    """``variant`` for a DeepDiff variant, ``baseline`` for the paper's baselines and our variants of them, ``other`` for
    anything else."""
    model = str(model)
    if model in VARIANTS or (model.startswith("deepdiff") and model not in BASELINES):
        return "variant"
    return "baseline" if model in BASELINES + OTHER_BASELINES else "other"


def order_pairs(pairs: Iterable[object], preferred: Sequence[str] = ()) -> list[str]:
    """Unique pair names, ``preferred`` (the configured order) first, the rest sorted."""
    unique = {str(p) for p in pairs}
    first = [p for p in dict.fromkeys(str(p) for p in preferred) if p in unique]
    return first + sorted(unique - set(first))


# ---------------------------------------------------------------------------------------------------
# runs


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def stop_reason(framework: object, stopped_early: object, epochs_run: object, max_epochs: object) -> str:
    """``early stop``, ``max_epochs`` (ran its whole budget without stopping early) or ``single fit``."""
    if framework == "sklearn" or epochs_run is None or epochs_run is pd.NA:
        return "single fit"
    if isinstance(stopped_early, bool):
        return "early stop" if stopped_early else "max_epochs"
    if max_epochs is None or max_epochs is pd.NA:
        return "unknown"
    return "early stop" if int(epochs_run) < int(max_epochs) else "max_epochs"


def _read_run(path: Path) -> dict[str, object]:
    hint = "metrics.json is written by the differential training step; re-run that run or remove it"
    record = read_metrics_json(path, REQUIRED_KEYS, hint)

    def bad(key: str, expected: str) -> InputError:
        return InputError(f"key '{key}' = {record[key]!r}: expected {expected}", path=path, hint=hint)

    for key in ("model", "pair", "cell_a", "cell_b"):
        if not isinstance(record[key], str) or not record[key]:
            raise bad(key, "a non-empty string")
    if record["pair"] != pair_name(record["cell_a"], record["cell_b"]):
        raise bad("pair", f"'{pair_name(record['cell_a'], record['cell_b'])}' (cell_a_vs_cell_b)")
    if not _is_int(record["seed"]):
        raise bad("seed", "an integer")
    for key in NUMBER_KEYS:
        if record.get(key) is not None and not _is_number(record[key]):
            raise bad(key, "a number or null")
    for key in ("test_pearson", "valid_pearson", "test_spearman"):
        value = record.get(key)
        if value is not None and not (-1.0 - 1e-9 <= float(value) <= 1.0 + 1e-9):
            raise bad(key, "a correlation in [-1, 1] or null")
    for key in INT_KEYS:
        if record.get(key) is not None and not _is_int(record[key]):
            raise bad(key, "an integer or null")
    stopped = record.get("stopped_early")
    if stopped is not None and not isinstance(stopped, bool):
        raise bad("stopped_early", "true, false or null")
    row: dict[str, object] = {k: record.get(k) for k in RUN_COLUMNS if k not in ("stop", "selection", "path")}
    row.update(
        {
            k: v
            for k, v in record.items()
            if k not in row and k != "selection" and (v is None or isinstance(v, (str, int, float)))
        }
    )
    training = record.get("training") if isinstance(record.get("training"), dict) else {}
    for key in ("max_epochs", "patience"):
        value = record.get(key) if _is_int(record.get(key)) else training.get(key)
        row[key] = value if _is_int(value) else None
    row.update(gene_set_columns(record))
    selection = record.get("selection")
    row["selection"] = json.dumps(selection, sort_keys=True) if isinstance(selection, dict) and selection else ""
    row["stop"] = stop_reason(row.get("framework"), stopped, row.get("epochs_run"), row.get("max_epochs"))
    row["path"] = str(path)
    return row


def collect_differential_metrics(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per differential run from its ``metrics.json`` (columns ``RUN_COLUMNS`` and any further scalar keys).

    A missing or malformed file, or the same (model, pair, seed) twice, raises ``InputError`` naming the file.
    ``test_pearson`` may be null (a constant prediction has no correlation): it reads as NaN. ``selection`` (a
    baseline's chosen hyper-parameters) becomes a JSON string; ``max_epochs`` / ``patience`` come from the run's
    ``training`` record when not top-level keys; ``stop`` is ``stop_reason``.
    """
    rows = [_read_run(Path(p)) for p in paths]
    if not rows:
        return pd.DataFrame(columns=RUN_COLUMNS)
    df = pd.DataFrame(rows)
    keys = ["model", "pair", "seed"]
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        same = (df[keys] == first[keys]).all(axis=1)
        raise InputError(
            f"run {first['model']}/{first['pair']}/seed{first['seed']} appears more than once: "
            + ", ".join(df.loc[same, "path"]),
            path=first["path"],
            hint="pass each run's metrics.json once",
        )
    for key in NUMBER_KEYS:
        df[key] = pd.to_numeric(df[key], errors="coerce").astype(float) if key in df.columns else np.nan
    for key in ("seed", *INT_KEYS, "max_epochs", "patience"):
        df[key] = (
            pd.array(df[key].tolist(), dtype="Int64") if key in df.columns else pd.array([pd.NA] * len(df), "Int64")
        )
    for key in ("task", "framework"):
        df[key] = df[key].fillna("").astype(str)
    df["stopped_early"] = df["stopped_early"].astype(object)
    extra = [c for c in df.columns if c not in RUN_COLUMNS]
    return df[RUN_COLUMNS + extra]


def run_file(metrics_path: object, name: str) -> Path:
    """A file beside a run's ``metrics.json``."""
    return Path(str(metrics_path)).parent / name


# ---------------------------------------------------------------------------------------------------
# per pair, Table 1, the best variant


def _median_int(values: pd.Series) -> object:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return int(round(float(values.median()))) if len(values) else pd.NA


def _max_int(values: pd.Series) -> object:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return int(values.max()) if len(values) else pd.NA


def per_pair_table(metrics: pd.DataFrame | Iterable[str | Path], *, pairs: Sequence[str] = ()) -> pd.DataFrame:
    """One row per model x pair (columns ``PER_PAIR_COLUMNS``): the test PCC over seeds and how the seeds ran.

    ``metrics`` is a ``collect_differential_metrics`` frame (or the ``metrics.json`` paths). ``test_pearson_mean``
    / ``_sd`` (sd NaN with one seed), ``seeds`` (comma-joined), ``n_test`` (median over seeds), ``best_epoch``
    (median), ``epochs_run`` and ``max_epochs`` (largest), ``stopped_early_any`` (a seed stopped early),
    ``n_stopped_early`` (seeds that did), ``n_at_max_epochs`` (seeds that ran all of ``max_epochs`` without stopping early), ``stop`` (the seeds'
    ``stop_reason``, comma-joined when they differ), ``is_best_variant`` (``best_variant_per_pair``). Rows: pairs
    in ``pairs`` order (the rest sorted), models in ``order_models`` order.
    """
    runs = metrics if isinstance(metrics, pd.DataFrame) else collect_differential_metrics(metrics)
    if runs.empty:
        return pd.DataFrame(columns=PER_PAIR_COLUMNS)
    rows = []
    for (model, pair), group in runs.groupby(["model", "pair"], sort=False):
        pcc = group["test_pearson"].astype(float)
        stops = list(dict.fromkeys(str(s) for s in group["stop"]))
        rows.append(
            {
                "model": model,
                "name": display_name(model),
                "kind": model_kind(model),
                "pair": pair,
                "cell_a": group["cell_a"].iloc[0],
                "cell_b": group["cell_b"].iloc[0],
                "n_seeds": int(group["seed"].nunique()),
                "seeds": ",".join(str(int(s)) for s in sorted(group["seed"].dropna())),
                "test_pearson_mean": float(pcc.mean()) if pcc.notna().any() else math.nan,
                "test_pearson_sd": float(pcc.std(ddof=1)) if pcc.notna().sum() > 1 else math.nan,
                "test_mse_mean": float(group["test_mse"].astype(float).mean()),
                "test_spearman_mean": float(group["test_spearman"].astype(float).mean()),
                "valid_pearson_mean": float(group["valid_pearson"].astype(float).mean()),
                "n_train": _median_int(group["n_train"]),
                "n_valid": _median_int(group["n_valid"]),
                "n_test": _median_int(group["n_test"]),
                "framework": ", ".join(sorted({str(f) for f in group["framework"] if str(f)})),
                "parameters": _max_int(group["parameters"]),
                "best_epoch": _median_int(group["best_epoch"]),
                "epochs_run": _max_int(group["epochs_run"]),
                "max_epochs": _max_int(group["max_epochs"]),
                "stopped_early_any": bool((group["stopped_early"] == True).any()),  # noqa: E712 (object column)
                "n_stopped_early": int((group["stop"] == "early stop").sum()),
                "n_at_max_epochs": int((group["stop"] == "max_epochs").sum()),
                "stop": ", ".join(stops),
                "is_best_variant": False,
            }
        )
    out = pd.DataFrame(rows, columns=PER_PAIR_COLUMNS)
    pair_rank = {p: i for i, p in enumerate(order_pairs(out["pair"], pairs))}
    model_rank = {m: i for i, m in enumerate(order_models(out["model"]))}
    out = out.assign(_p=out["pair"].map(pair_rank), _m=out["model"].map(model_rank))
    out = out.sort_values(["_p", "_m"], kind="stable").drop(columns=["_p", "_m"]).reset_index(drop=True)
    for c in ("n_train", "n_valid", "n_test", "parameters", "best_epoch", "epochs_run", "max_epochs"):
        out[c] = pd.array(out[c].tolist(), dtype="Int64")
    best = best_variant_per_pair(out)
    winners = set(zip(best["pair"], best["model"], strict=True))
    out["is_best_variant"] = [(p, m) in winners for p, m in zip(out["pair"], out["model"], strict=True)]
    return out


def pcc_wide(per_pair: pd.DataFrame) -> pd.DataFrame:
    """Pairs x models: the mean test PCC over seeds (pairs and models in the table's order)."""
    if per_pair.empty:
        return pd.DataFrame()
    wide = per_pair.pivot_table(index="pair", columns="model", values="test_pearson_mean", aggfunc="first")
    return wide.reindex(index=list(dict.fromkeys(per_pair["pair"])), columns=order_models(per_pair["model"]))


def best_variant_per_pair(per_pair: pd.DataFrame, *, variants: Sequence[str] | None = None) -> pd.DataFrame:
    """Per pair, the DeepDiff variant with the highest mean test PCC (Fig. 4's label), columns ``BEST_COLUMNS``.

    ``variants`` defaults to every model of kind ``variant`` in the table. Ties go to the earlier variant in the
    paper's order. ``runner_up`` is the second-best variant and ``margin`` the PCC difference (NaN with one).
    Pairs without a variant with a finite PCC are left out.
    """
    wide = pcc_wide(per_pair)
    if wide.empty:
        return pd.DataFrame(columns=BEST_COLUMNS)
    cols = [c for c in wide.columns if (c in variants if variants is not None else model_kind(c) == "variant")]
    rows = []
    for pair, values in wide[cols].iterrows():
        ranked = values.dropna()
        if ranked.empty:
            continue
        order = sorted(range(len(ranked)), key=lambda i: (-float(ranked.iloc[i]), i))
        best = ranked.index[order[0]]
        second = ranked.index[order[1]] if len(order) > 1 else None
        rows.append(
            {
                "pair": pair,
                "model": best,
                "name": display_name(best),
                "test_pearson_mean": float(ranked[best]),
                "runner_up": second or "",
                "margin": float(ranked[best] - ranked[second]) if second is not None else math.nan,
                "n_variants": len(ranked),
            }
        )
    return pd.DataFrame(rows, columns=BEST_COLUMNS)


def relative_pcc(per_pair: pd.DataFrame, *, references: Sequence[str] = REFERENCES) -> pd.DataFrame:
    """Per variant, reference and pair: ``relative_pcc`` = 100 x PCC(variant) / PCC(reference), the mean PCCs over
    seeds (columns ``RELATIVE_COLUMNS``). ``included`` is False, and ``note`` says why, where the reference has no
    run, a PCC <= 0 (the ratio is meaningless) or the variant has none: such pairs are left out of Table 1."""
    wide = pcc_wide(per_pair)
    if wide.empty:
        return pd.DataFrame(columns=RELATIVE_COLUMNS)
    variants = [c for c in wide.columns if model_kind(c) == "variant"]
    rows = []
    for variant in variants:
        for reference in references:
            for pair in wide.index:
                pcc = float(wide.at[pair, variant])
                ref = float(wide.at[pair, reference]) if reference in wide.columns else math.nan
                note = ""
                if math.isnan(pcc):
                    note = f"no {display_name(variant)} run"
                elif math.isnan(ref):
                    note = f"no {display_name(reference)} run"
                elif ref <= 0:
                    note = f"{display_name(reference)} PCC {ref:.3f} <= 0: ratio meaningless"
                if math.isnan(pcc) and math.isnan(ref):
                    continue
                rows.append(
                    {
                        "variant": variant,
                        "reference": reference,
                        "pair": pair,
                        "pcc": pcc,
                        "reference_pcc": ref,
                        "relative_pcc": 100.0 * pcc / ref if not note else math.nan,
                        "included": not note,
                        "note": note,
                    }
                )
    out = pd.DataFrame(rows, columns=RELATIVE_COLUMNS)
    out["included"] = out["included"].astype(bool)
    return out


def published_table1(published: object = CARDS) -> pd.DataFrame:
    """The paper's Table 1 as a frame (``PUBLISHED_COLUMNS``): from the DeepDiff cards (``CARDS``, the default;
    ``cards_table1``), a frame with those columns, the path of ``published_summary.tsv`` (its ``DeepDiff paper
    Table 1`` rows) or (variant, reference, mean, median) tuples; ``None`` gives an empty frame."""
    if published is None:
        return pd.DataFrame(columns=PUBLISHED_COLUMNS)
    if published is CARDS:
        return cards_table1()
    if isinstance(published, pd.DataFrame):
        missing = [c for c in PUBLISHED_COLUMNS[:4] if c not in published.columns]
        if missing:
            raise InputError(f"published Table 1 frame lacks column(s) {', '.join(missing)}")
        out = published.copy()
        if "published_source" not in out.columns:
            out["published_source"] = TABLE1_SOURCE
        return out[PUBLISHED_COLUMNS]
    if isinstance(published, (str, Path)):
        return read_published_table1(published)
    rows = [(v, r, float(m), float(md), TABLE1_SOURCE) for v, r, m, md in published]  # type: ignore[union-attr]
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def cards_table1(
    variants: Sequence[str] = VARIANTS, references: Sequence[str] = tuple(REFERENCE_METRICS)
) -> pd.DataFrame:
    """The paper's Table 1 from the cards (``chromexpr.published.card_published``): per reference, per variant in
    the paper's order, the first ``REFERENCE_METRICS`` entry of the variant's card (its ``mean`` and ``median``);
    a card without one adds no row."""
    rows = []
    for reference in references:
        for variant in variants:
            entries = card_published(variant, REFERENCE_METRICS[reference])
            if entries:
                entry = entries[0]
                rows.append((variant, reference, float(entry["mean"]), float(entry["median"]), TABLE1_SOURCE))
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def read_published_table1(path: str | Path) -> pd.DataFrame:
    """The ``DeepDiff paper Table 1`` rows of ``published_summary.tsv`` (``source model task metric min mean max
    median notes``; model ``Raw+Aux (relative PCC vs two-layer SVR, %)``) as ``PUBLISHED_COLUMNS``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("published summary table not found", path=path, hint="give data/real/published_summary.tsv")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in ("source", "model", "mean", "median") if c not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path=path, line=1)
    by_name = {display_name(m): m for m in MODELS}
    by_reference = {v: k for k, v in REFERENCE_COLUMN_NAMES.items()}
    rows = []
    for i, row in table[table["source"] == TABLE1_SOURCE].iterrows():
        match = _SUMMARY_MODEL.match(row["model"])
        if match is None or match["name"] not in by_name:
            raise InputError(
                f"cannot read the Table 1 row '{row['model']}'",
                path=path,
                line=int(i) + 2,
                hint="write the model as '<variant> (relative PCC vs two-layer SVR, %)' or '... vs AttentiveChrome, %)'",
            )
        rows.append(
            (
                by_name[match["name"]],
                by_reference[match["reference"]],
                float(row["mean"]),
                float(row["median"]),
                TABLE1_SOURCE,
            )
        )
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def table1(
    per_pair: pd.DataFrame, *, references: Sequence[str] = REFERENCES, published: object = CARDS
) -> pd.DataFrame:
    """The paper's Table 1: per DeepDiff variant and reference, the mean and median over pairs of the relative
    PCC (%), the paper's numbers beside them (columns ``TABLE1_COLUMNS``; rows variant-major in the paper's order).

    ``n_pairs`` counts the pairs behind the numbers; ``n_excluded`` / ``excluded`` the pairs left out (the reference
    PCC <= 0 or a run missing, with the reason). ``published`` as for ``published_table1`` (``None``: empty paper
    columns); ``delta_mean`` = ours - published mean.
    """
    rel = relative_pcc(per_pair, references=references)
    if rel.empty:
        return pd.DataFrame(columns=TABLE1_COLUMNS)
    pub = published_table1(published).set_index(["variant", "reference"])
    rows = []
    for variant in order_models(rel["variant"]):
        for reference in references:
            part = rel[(rel["variant"] == variant) & (rel["reference"] == reference)]
            used = part.loc[part["included"], "relative_pcc"].astype(float)
            left = part[~part["included"]]
            key = (variant, reference)
            p_mean = float(pub.at[key, "published_mean"]) if key in pub.index else math.nan
            p_median = float(pub.at[key, "published_median"]) if key in pub.index else math.nan
            mean = float(used.mean()) if len(used) else math.nan
            rows.append(
                {
                    "variant": variant,
                    "name": display_name(variant),
                    "reference": reference,
                    "reference_name": REFERENCE_COLUMN_NAMES.get(reference, display_name(reference)),
                    "n_pairs": len(used),
                    "n_excluded": len(left),
                    "excluded": "; ".join(f"{p} ({n})" for p, n in zip(left["pair"], left["note"], strict=True)),
                    "mean_relative_pcc": mean,
                    "median_relative_pcc": float(used.median()) if len(used) else math.nan,
                    "published_mean": p_mean,
                    "published_median": p_median,
                    "delta_mean": mean - p_mean,
                    "published_source": str(pub.at[key, "published_source"]) if key in pub.index else "",
                }
            )
    return pd.DataFrame(rows, columns=TABLE1_COLUMNS)


def _count(values: Iterable[bool]) -> tuple[int, int]:
    values = list(values)
    return sum(bool(v) for v in values), len(values)


def paper_claims(per_pair: pd.DataFrame) -> pd.DataFrame:
    """The paper's statements about Fig. 4 (Sec. 4.3), counted on our pairs: ``claim``, ``paper`` (its count
    out of 10 pairs, or its wording), ``ours`` (``k of n``), ``k``, ``n`` (pairs with every model the claim needs).
    Ties count against a claim ("higher" means strictly higher)."""
    wide = pcc_wide(per_pair)
    if wide.empty:
        return pd.DataFrame(columns=CLAIM_COLUMNS)
    variants = [c for c in wide.columns if model_kind(c) == "variant"]
    rows: list[dict[str, object]] = []

    def add(claim: str, paper: str, needed: Sequence[str], test) -> None:
        if not all(m in wide.columns for m in needed):
            return
        complete = wide[list(needed)].dropna()
        if complete.empty:
            return
        k, n = _count(test(row) for _, row in complete.iterrows())
        rows.append({"claim": claim, "paper": paper, "ours": f"{k} of {n}", "k": k, "n": n})

    nn = [m for m in ("attentivechrome_diff", *variants) if m in wide.columns]
    classic = [m for m in ("svr_best_bin", "svr_two_layer", "relieff_rf") if m in wide.columns]
    if nn and classic:
        add(
            "every deep model (DeepDiff variants, AttentiveChrome) beats both SVRs and the random forest",
            "all pairs ('outperform')",
            nn + classic,
            lambda r: min(r[m] for m in nn) > max(r[m] for m in classic),
        )
    add(
        "two-layer SVR beats the single-layer SVR",
        "all pairs ('performs better')",
        ["svr_two_layer", "svr_best_bin"],
        lambda r: r["svr_two_layer"] > r["svr_best_bin"],
    )
    if variants and "attentivechrome_diff" in wide.columns:
        add(
            "the best DeepDiff variant beats AttentiveChrome",
            "all pairs ('DeepDiff also outperforms')",
            [*variants, "attentivechrome_diff"],
            lambda r: max(r[m] for m in variants) > r["attentivechrome_diff"],
        )
    if len(variants) > 1 and "deepdiff_raw_d" in variants:
        add(
            "Raw: d is the worst variant",
            "9 of 10",
            variants,
            lambda r: all(r["deepdiff_raw_d"] < r[m] for m in variants if m != "deepdiff_raw_d"),
        )
    add(
        "Raw: c beats Raw: d",
        "10 of 10",
        ["deepdiff_raw_c", "deepdiff_raw_d"],
        lambda r: r["deepdiff_raw_c"] > r["deepdiff_raw_d"],
    )
    add(
        "Raw+Aux beats Aux",
        "7 of 10",
        ["deepdiff_raw_aux", "deepdiff_aux"],
        lambda r: r["deepdiff_raw_aux"] > r["deepdiff_aux"],
    )
    add(
        "Raw+Aux beats Raw",
        "6 of 10",
        ["deepdiff_raw_aux", "deepdiff_raw"],
        lambda r: r["deepdiff_raw_aux"] > r["deepdiff_raw"],
    )
    if "deepdiff_aux_siamese" in variants and len(variants) > 1:
        add(
            "Aux+Siamese is the best variant",
            "5 of 10",
            variants,
            lambda r: all(r["deepdiff_aux_siamese"] > r[m] for m in variants if m != "deepdiff_aux_siamese"),
        )
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


# ---------------------------------------------------------------------------------------------------
# attention (Fig. 5) and the scatter of predicted against true LFC


def _slot_parts(slot: str) -> tuple[str, str]:
    """``"A-B H3K4me1"`` -> ``("A-B", "H3K4me1")``, ``"aux A H3K4me1"`` -> ``("aux A", "H3K4me1")`` (the mark
    is the last word); a slot without a cell prefix -> ``("", slot)``."""
    head, _, tail = str(slot).rpartition(" ")
    return (head, tail) if head else ("", tail)


def load_attention(attention_npz: str | Path | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of a run's ``attention.npz`` (``gene_id``, ``lfc``, ``mark``, ``slots``), checked for shape."""
    if isinstance(attention_npz, Mapping):
        arrays = {k: np.asarray(v) for k, v in attention_npz.items()}
        where = None
    else:
        where = Path(attention_npz)
        if not where.is_file():
            raise InputError("attention file not found", path=where, hint="attention.npz is written by torch runs")
        with np.load(where, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    missing = [k for k in ("lfc", "mark", "slots") if k not in arrays]
    if missing:
        raise InputError(f"attention arrays lack {', '.join(missing)}", path=where)
    mark = np.asarray(arrays["mark"], dtype=float)
    lfc = np.asarray(arrays["lfc"], dtype=float).reshape(-1)
    slots = np.asarray(arrays["slots"]).astype(str).reshape(-1)
    if mark.ndim != 2 or mark.shape != (lfc.size, slots.size):
        raise InputError(
            f"attention 'mark' has shape {mark.shape}, expected (genes, slots) = ({lfc.size}, {slots.size})", path=where
        )
    out = {"lfc": lfc, "mark": mark, "slots": slots}
    if "gene_id" in arrays:
        out["gene_id"] = np.asarray(arrays["gene_id"]).astype(str)
    return out


def attention_by_direction(
    attention_npz: str | Path | Mapping[str, np.ndarray], *, threshold: float = PAPER_THRESHOLD
) -> pd.DataFrame:
    """Fig. 5's numbers: per slot, the mean mark-level attention over the test genes with ``lfc > threshold``
    (``up``) and with ``lfc < -threshold`` (``down``), columns ``ATTENTION_COLUMNS``.

    ``n_genes`` counts the genes behind each mean; a direction without genes has ``n_genes`` 0 and NaN means.
    ``sd_attention`` is the standard deviation over those genes (NaN below two). Rows: the slots in their order,
    ``up`` before ``down``; ``cell`` / ``mark`` split the slot name (``A-B H3K4me1``).
    """
    arrays = load_attention(attention_npz)
    lfc, mark, slots = arrays["lfc"], arrays["mark"], arrays["slots"]
    masks = {"up": lfc > threshold, "down": lfc < -threshold}
    rows = []
    for index, slot in enumerate(slots):
        cell, mark_name = _slot_parts(slot)
        for direction in DIRECTIONS:
            values = mark[masks[direction], index]
            n = int(values.size)
            rows.append(
                {
                    "slot_index": index,
                    "slot": str(slot),
                    "cell": cell,
                    "mark": mark_name,
                    "direction": direction,
                    "threshold": float(threshold),
                    "n_genes": n,
                    "mean_attention": float(values.mean()) if n else math.nan,
                    "sd_attention": float(values.std(ddof=1)) if n > 1 else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=ATTENTION_COLUMNS)


def direction_counts(lfc: Iterable[float], *, threshold: float = PAPER_THRESHOLD) -> dict[str, int]:
    """How many values are above ``threshold`` (``up``) and below ``-threshold`` (``down``)."""
    values = np.asarray(list(lfc), dtype=float)
    return {"up": int((values > threshold).sum()), "down": int((values < -threshold).sum()), "all": int(values.size)}


def top_marks(attention: pd.DataFrame, *, k: int = 2) -> pd.DataFrame:
    """Per model (when the table has one), direction: the ``k`` slots with the highest mean attention, comma-joined
    (``model``, ``direction``, ``n_genes``, ``top``)."""
    if attention.empty:
        return pd.DataFrame(columns=["model", "direction", "n_genes", "top"])
    table = attention if "model" in attention.columns else attention.assign(model="")
    rows = []
    for model in list(dict.fromkeys(table["model"])):
        for direction in DIRECTIONS:
            part = table[(table["model"] == model) & (table["direction"] == direction)].dropna(
                subset=["mean_attention"]
            )
            n = int(part["n_genes"].max()) if len(part) else 0
            best = part.sort_values(["mean_attention", "slot_index"], ascending=[False, True]).head(k)
            rows.append({"model": model, "direction": direction, "n_genes": n, "top": ", ".join(best["slot"])})
    return pd.DataFrame(rows)


def read_predictions(path: str | Path, *, split: str = "test") -> pd.DataFrame:
    """A differential run's ``predictions.tsv.gz`` (``gene_id``, ``split``, ``lfc``, ``prediction``), the rows of
    ``split`` (all rows when the file has no ``split`` column)."""
    path = Path(path)
    hint = "predictions.tsv.gz is written by the differential training step; re-run that run"
    if not path.is_file():
        raise InputError("predictions file not found", path=path, hint=hint)
    table = pd.read_csv(path, sep="\t", dtype={"gene_id": str, "split": str})
    missing = [c for c in ("gene_id", "lfc", "prediction") if c not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path=path, line=1, hint=hint)
    if "split" in table.columns:
        table = table[table["split"] == split]
    return table.reset_index(drop=True)


def scatter_rows(predictions: pd.DataFrame, *, pair: str, model: str, role: str, seed: int) -> pd.DataFrame:
    """One run's test predictions as rows of the scatter table (columns ``SCATTER_COLUMNS``)."""
    return pd.DataFrame(
        {
            "pair": pair,
            "model": model,
            "name": display_name(model),
            "role": role,
            "seed": int(seed),
            "gene_id": predictions["gene_id"].astype(str).to_numpy(),
            "lfc": predictions["lfc"].astype(float).to_numpy(),
            "prediction": predictions["prediction"].astype(float).to_numpy(),
        },
        columns=SCATTER_COLUMNS,
    )


def pearson(x: Iterable[float], y: Iterable[float]) -> float:
    """Pearson r of two equally long sequences (NaN pairs dropped; NaN below 2 points or for a constant)."""
    a, b = np.asarray(list(x), dtype=float), np.asarray(list(y), dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def scatter_summary(scatter: pd.DataFrame) -> pd.DataFrame:
    """Per pair and role of the scatter table: model, seed, points and Pearson r (the numbers in the panels)."""
    if scatter.empty:
        return pd.DataFrame(columns=["pair", "role", "model", "seed", "n", "r"])
    rows = []
    for (pair, role), part in scatter.groupby(["pair", "role"], sort=False):
        rows.append(
            {
                "pair": pair,
                "role": role,
                "model": part["model"].iloc[0],
                "seed": int(part["seed"].iloc[0]),
                "n": len(part),
                "r": pearson(part["lfc"], part["prediction"]),
            }
        )
    return pd.DataFrame(rows)

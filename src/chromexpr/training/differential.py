"""Differential expression between two cells (DeepDiff): the ``differential`` task and its entry point.

A pair is two cells A and B with datasets built on the same genes (one reference, one split manifest).
Per gene the target is the log fold change of raw RNA-seq read counts, ``LFC = log2((c_B + 1) / (c_A + 1))``,
and the auxiliary targets are ``log2(c_A + 1)`` and ``log2(c_B + 1)`` (:func:`pair_targets`).

:class:`DifferentialTask` plugs into the one training loop (``chromexpr.training.loop.fit_torch``): a batch
is a set of genes, the model sees ``model(x_a, x_b)`` (each ``(batch, marks, bins)``), and the loss is the
card's weighted sum ``lfc * MSE(prediction, LFC) + aux * (MSE(prediction_a, log2(c_A+1)) +
MSE(prediction_b, log2(c_B+1))) + contrastive * L_c(embedding_a, embedding_b)`` (weights in the card's
``training.loss_weights``), where the contrastive loss (Hadsell et al. 2006, as the reference) is
``mean((1 - y) d^2 + y max(0, margin - d)^2)`` with ``d`` the Euclidean distance of the two level-1
embeddings and ``y = 1`` for a differential gene (``|LFC| >= threshold``, 2 in the paper). The epoch
with the best validation Pearson r is kept.

:func:`train_differential` trains one run (torch through the loop, or a scikit-learn baseline) and writes
``model.pt`` / ``model.skops``, ``metrics.json`` (``shell.METRICS_KEYS["differential"]``), ``predictions.tsv.gz`` (the test
genes: gene_id, split, lfc, prediction, and the auxiliary columns where the model has them),
``attention.npz`` (models with attention: the mark-level attention of every test gene) and
``history.tsv``. Test genes are scored once, after training, with the selected state.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F  # noqa: N812 - torch convention

from chromexpr.dataset import load_dataset
from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import regression_metrics
from chromexpr.io.atomic import atomic_path, sha256sum
from chromexpr.io.jsonio import read_json, to_jsonable
from chromexpr.logs import LogTarget
from chromexpr.training.data import model_inputs
from chromexpr.training.loop import FitResult, sklearn_record
from chromexpr.training.runtime import fmt
from chromexpr.training.shell import Fitted, RunSpec, Scored, Settings, run
from chromexpr.training.tasks import EVAL_BATCH, Task, autocast

logger = logging.getLogger("chromexpr.training")

#: ``history.tsv`` columns of a torch differential run
HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "train_lfc_mse",
    "train_aux_mse",
    "train_contrastive",
    "valid_loss",
    "valid_pearson",
    "valid_spearman",
    "valid_mse",
    "lr",
    "seconds",
)
DEFAULT_WEIGHTS = {"lfc": 1.0, "aux": 0.0, "contrastive": 0.0}
DEFAULT_CONTRASTIVE = {"margin": 2.0, "threshold": 2.0}


def pair_targets(count_a: np.ndarray, count_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(LFC, log2(c_A + 1), log2(c_B + 1))`` of raw read counts, float64 ``(genes,)`` each.

    ``LFC = log2((c_B + 1) / (c_A + 1))``: positive when the gene is higher in B (up-regulated in B).

    Raises:
        InputError: a count is negative, NaN or infinite (these are raw read counts).
    """
    a = np.asarray(count_a, dtype=np.float64)
    b = np.asarray(count_b, dtype=np.float64)
    for name, c in (("A", a), ("B", b)):
        if not np.isfinite(c).all() or (c < 0).any():
            raise InputError(
                f"the expression of cell {name} holds negative, NaN or infinite values: not raw read counts",
                key="experiments.differential.counts",
                hint="name the raw RNA-seq count matrix (REMC 57epigenomes.N.pc), not RPKM or log values",
            )
    return np.log2((b + 1.0) / (a + 1.0)), np.log2(a + 1.0), np.log2(b + 1.0)


@dataclass
class PairExamples:
    """Genes of a pair in one role, aligned by row.

    Attributes:
        x_a, x_b: ``(n, marks, bins)`` float32 model input of cell A and of cell B.
        lfc: ``(n,)`` float32 ``log2((c_B + 1) / (c_A + 1))``.
        target_a, target_b: ``(n,)`` float32 ``log2(c + 1)`` of each cell.
        gene_ids: ``(n,)`` gene identifiers.
    """

    x_a: np.ndarray
    x_b: np.ndarray
    lfc: np.ndarray
    target_a: np.ndarray
    target_b: np.ndarray
    gene_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.x_a.shape[0])


@dataclass
class PairData:
    """Both cells of a pair, every gene: model inputs, targets and the split."""

    x_a: np.ndarray
    x_b: np.ndarray
    lfc: np.ndarray
    target_a: np.ndarray
    target_b: np.ndarray
    gene_ids: np.ndarray
    split: np.ndarray
    cell_a: str
    cell_b: str
    marks: list[str]
    #: the datasets' gene set (their meta's ``gene_set``; None: a source's own genes and split)
    gene_set: dict[str, Any] | None = None

    def examples(self, split: str) -> PairExamples:
        """The genes of one split."""
        rows = self.split == split
        f32 = np.float32
        return PairExamples(
            x_a=self.x_a[rows],
            x_b=self.x_b[rows],
            lfc=self.lfc[rows].astype(f32),
            target_a=self.target_a[rows].astype(f32),
            target_b=self.target_b[rows].astype(f32),
            gene_ids=self.gene_ids[rows],
        )


def load_pair(card: Mapping[str, Any], dataset_a: str | Path, dataset_b: str | Path) -> PairData:
    """Load both datasets (their ``expression`` = raw read counts), select the card's marks and bins, and
    compute the targets.

    Raises:
        InputError: the datasets do not hold the same genes in the same order with the same splits
            (they must come from one reference), or their expression is not counts.
    """
    ds_a, ds_b = load_dataset(dataset_a), load_dataset(dataset_b)
    data_a = model_inputs(ds_a, card, source=dataset_a)
    data_b = model_inputs(ds_b, card, source=dataset_b)
    if not np.array_equal(data_a.gene_ids, data_b.gene_ids):
        raise InputError(
            "the two datasets of the pair hold different genes (or another order)",
            path=dataset_b,
            hint="build both from the same reference (results/reference/tss.tsv)",
        )
    if not np.array_equal(data_a.split, data_b.split):
        raise InputError("the two datasets of the pair split their genes differently", path=dataset_b)
    lfc, target_a, target_b = pair_targets(ds_a.expression, ds_b.expression)
    return PairData(
        x_a=data_a.x,
        x_b=data_b.x,
        lfc=lfc,
        target_a=target_a,
        target_b=target_b,
        gene_ids=data_a.gene_ids,
        split=data_a.split,
        cell_a=str(ds_a.meta.get("cell")),
        cell_b=str(ds_b.meta.get("cell")),
        marks=list(data_a.marks),
        gene_set=ds_a.meta.get("gene_set"),
    )


def contrastive_loss(
    embedding_a: torch.Tensor, embedding_b: torch.Tensor, label: torch.Tensor, *, margin: float = 2.0
) -> torch.Tensor:
    """``mean((1 - y) d^2 + y max(0, margin - d)^2)``, ``d = ||e_a - e_b + 1e-6||`` (``pairwise_distance``,
    as the reference): a similar pair (``y = 0``) is pulled together, a differential one (``y = 1``) pushed
    at least ``margin`` apart.

    Args:
        embedding_a, embedding_b: ``(batch, dim)``.
        label: ``(batch,)`` 1 for a differential gene, else 0.
    """
    d = F.pairwise_distance(embedding_a, embedding_b)  # (batch,)
    return torch.mean((1 - label) * d.pow(2) + label * torch.clamp(margin - d, min=0.0).pow(2))


@torch.inference_mode()
def predict_pairs(
    model: torch.nn.Module,
    x_a: np.ndarray,
    x_b: np.ndarray,
    *,
    device: torch.device,
    amp: bool = False,
    batch_size: int = EVAL_BATCH,
) -> dict[str, np.ndarray]:
    """The model's outputs for every gene, in eval mode: ``prediction`` ``(n,)`` and, where the model has
    them, ``prediction_a``, ``prediction_b`` ``(n,)`` and ``mark_attention`` ``(n, slots)`` (float64)."""
    model.eval()
    pieces: dict[str, list[torch.Tensor]] = {}
    for start in range(0, x_a.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        xa = torch.from_numpy(np.ascontiguousarray(x_a[rows])).to(device)  # (batch, marks, bins)
        xb = torch.from_numpy(np.ascontiguousarray(x_b[rows])).to(device)  # (batch, marks, bins)
        with autocast(device, amp):
            out = model(xa, xb)
        for key in ("prediction", "prediction_a", "prediction_b"):
            if key in out:
                pieces.setdefault(key, []).append(out[key].float().reshape(-1).cpu())
        attention = out.get("attention")
        if isinstance(attention, Mapping) and "mark" in attention:
            pieces.setdefault("mark_attention", []).append(attention["mark"].float().cpu())
    if not pieces:
        return {"prediction": np.zeros(0)}
    return {k: torch.cat(v).double().numpy() for k, v in pieces.items()}


class DifferentialTask(Task):
    """Pairs of cells: LFC regression with the card's auxiliary and contrastive losses (module docstring)."""

    name = "differential"
    selection_metric = "valid_pearson"
    history_columns = ("train_lfc_mse", "train_aux_mse", "train_contrastive")

    def __init__(
        self,
        train: PairExamples,
        valid: PairExamples,
        *,
        weights: Mapping[str, float] | None = None,
        contrastive: Mapping[str, float] | None = None,
    ) -> None:
        for what, examples in (("training", train), ("validation", valid)):
            if len(examples) < 2:
                raise InputError(
                    f"the pair has {len(examples)} {what} genes; a correlation needs at least 2",
                    hint="check the split manifest",
                )
        if np.ptp(train.lfc) == 0:
            raise InputError("every training gene has the same LFC; nothing to learn")
        self.train = train
        self.valid = valid
        self.weights = {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in (weights or {}).items()}}
        unknown = set(self.weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise InputError(f"unknown loss weight(s) {', '.join(sorted(unknown))}", key="training.loss_weights")
        self.contrastive = {**DEFAULT_CONTRASTIVE, **{k: float(v) for k, v in (contrastive or {}).items()}}
        self.device = torch.device("cpu")

    def to(self, device: torch.device) -> None:
        self.device = device

        def put(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(device)

        self.xa_train, self.xb_train = put(self.train.x_a), put(self.train.x_b)  # (n_train, marks, bins)
        self.lfc_train = put(self.train.lfc)  # (n_train,)
        self.ta_train, self.tb_train = put(self.train.target_a), put(self.train.target_b)  # (n_train,)
        # 1 for a differential gene (|LFC| >= threshold): the contrastive pair label
        self.y_train = (self.lfc_train.abs() >= self.contrastive["threshold"]).float()  # (n_train,)

    @property
    def n_train(self) -> int:
        return len(self.train)

    def n_batches(self, batch_size: int) -> int:
        return math.ceil(self.n_train / batch_size)

    def batches(self, shuffle: torch.Generator, batch_size: int) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.n_train, generator=shuffle).to(self.device)
        for start in range(0, self.n_train, batch_size):
            yield order[start : start + batch_size]

    def _need(self, out: Mapping[str, Any], keys: tuple[str, ...], weight: str) -> None:
        missing = [k for k in keys if k not in out]
        if missing:
            raise InputError(
                f"loss weight {weight} > 0 needs the model output(s) {', '.join(missing)}",
                key=f"training.loss_weights.{weight}",
                hint="set the weight to 0 for a model without them",
            )

    def step(self, model, batch, *, progress, amp):
        xa, xb = self.xa_train[batch], self.xb_train[batch]  # (batch, marks, bins) each
        with autocast(self.device, amp):
            out = model(xa, xb)
        w = self.weights
        zero = torch.zeros((), device=self.device)
        lfc_mse = F.mse_loss(out["prediction"].float(), self.lfc_train[batch]) if w["lfc"] else zero
        aux = zero
        if w["aux"]:
            self._need(out, ("prediction_a", "prediction_b"), "aux")
            aux = F.mse_loss(out["prediction_a"].float(), self.ta_train[batch]) + F.mse_loss(
                out["prediction_b"].float(), self.tb_train[batch]
            )
        con = zero
        if w["contrastive"]:
            self._need(out, ("embedding_a", "embedding_b"), "contrastive")
            con = contrastive_loss(
                out["embedding_a"].float(),
                out["embedding_b"].float(),
                self.y_train[batch],
                margin=self.contrastive["margin"],
            )
        loss = w["lfc"] * lfc_mse + w["aux"] * aux + w["contrastive"] * con
        n = torch.tensor(float(batch.numel()), dtype=torch.float64)
        stats = {
            "loss_sum": loss.detach().double() * n,
            "lfc_sum": lfc_mse.detach().double() * n,
            "aux_sum": aux.detach().double() * n,
            "con_sum": con.detach().double() * n,
            "n": n,
        }
        return loss, stats

    def epoch_record(self, sums):
        n = sums["n"]
        return {
            "train_loss": sums["loss_sum"] / n,
            "train_lfc_mse": sums["lfc_sum"] / n,
            "train_aux_mse": sums["aux_sum"] / n,
            "train_contrastive": sums["con_sum"] / n,
        }

    def validate(self, model: torch.nn.Module, *, amp: bool) -> dict[str, float]:
        """``valid_loss`` (= the LFC MSE, the primary loss), ``valid_pearson`` (selects), ``valid_spearman``,
        ``valid_mse`` on the validation genes."""
        out = predict_pairs(model, self.valid.x_a, self.valid.x_b, device=self.device, amp=amp)
        m = _metrics(self.valid.lfc, out["prediction"])
        return {
            "valid_loss": m["mse"],
            "valid_pearson": m["pearson"],
            "valid_spearman": m["spearman"],
            "valid_mse": m["mse"],
        }

    def describe(self) -> str:
        n_diff = int((np.abs(self.train.lfc) >= self.contrastive["threshold"]).sum())
        weights = ", ".join(f"{k} {v:g}" for k, v in self.weights.items())
        return (
            f"train {len(self.train)} genes ({n_diff} with |LFC| >= {self.contrastive['threshold']:g}), "
            f"valid {len(self.valid)}, loss weights {weights}"
        )


def _metrics(y: np.ndarray, prediction: np.ndarray) -> dict[str, float | int]:
    """Regression metrics; a constant prediction (e.g. an untrained head) gives NaN correlations (which
    never select an epoch: ``runtime.improved``) without the warning, which would flood the log."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return regression_metrics(y, prediction)


def _write_attention(path: Path, gene_ids: np.ndarray, lfc: np.ndarray, mark: np.ndarray, slots: list[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            gene_id=np.asarray(gene_ids).astype(str),
            lfc=np.asarray(lfc, dtype=np.float64),
            mark=np.asarray(mark, dtype=np.float32),
            slots=np.asarray(slots).astype(str),
        )


def _slots(model: Any, marks: list[str], n: int) -> list[str]:
    if hasattr(model, "attention_slots"):
        names = list(model.attention_slots(marks)["mark"])
        if len(names) == n:
            return names
    return [f"slot {i}" for i in range(n)]


@dataclass
class DifferentialData:
    """A differential run's data: both cells of the pair, the examples of each split, the datasets' checksums."""

    pair: PairData
    train: PairExamples
    valid: PairExamples
    test: PairExamples
    datasets: dict[str, str]
    sha: dict[str, str]

    @property
    def pair_id(self) -> str:
        return f"{self.pair.cell_a}_vs_{self.pair.cell_b}"

    @property
    def gene_set(self) -> dict[str, Any] | None:
        return self.pair.gene_set


class DifferentialRunner:
    """The run shell's runner of the ``differential`` task: ``spec.data`` holds the pair's datasets ``a`` and
    ``b`` (one reference, the card's bins, raw RNA-seq counts as their expression); their train split trains,
    valid selects (Pearson r of the LFC), test is scored once. Test predictions and, for a torch model,
    ``attention.npz`` (the mark-level attention of every test gene: every torch card writes it, zero slots
    without attention)."""

    def __init__(self, task: str) -> None:
        self.name = task
        self.record: dict[str, Any] = {}
        self.selection: Any = None
        self.cell_runs: dict[str, Any] | None = None
        self.columns: list[str] = []

    def check(self, card: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
        if card["task"] != "differential":
            raise InputError(
                f"'{card['name']}' is a {card['task']} card; a differential run needs a differential card",
                key="task",
            )
        if card["training"].get("selection_metric") not in (None, "valid_pearson"):
            raise InputError(
                f"selection metric {card['training']['selection_metric']!r} is not supported for differential runs",
                key="training.selection_metric",
                hint="use valid_pearson",
            )
        return dict(card)

    def load(self, card: Mapping[str, Any], spec: RunSpec) -> DifferentialData:
        a, b = spec.data["a"], spec.data["b"]
        pair = load_pair(card, a, b)
        test = pair.examples("test")
        if len(test) == 0:
            raise InputError("the pair has no test genes", path=a, hint="check the split manifest")
        return DifferentialData(
            pair=pair,
            train=pair.examples("train"),
            valid=pair.examples("valid"),
            test=test,
            datasets={"a": str(a), "b": str(b)},
            sha={"a": sha256sum(a), "b": sha256sum(b)},
        )

    def label(self, data: DifferentialData, spec: RunSpec) -> str:
        return data.pair_id

    def settings(self, card: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
        training = card["training"]
        return {k: training.get(k) for k in ("selection_metric", "loss_weights", "contrastive")}

    def fingerprint(self, data: DifferentialData, spec: RunSpec) -> dict[str, Any]:
        return {"dataset_sha256": data.sha, "pair": data.pair_id}

    def assemble(
        self, card: Mapping[str, Any], data: DifferentialData, spec: RunSpec, say: Callable[[str], None]
    ) -> FitResult | None:
        """A card with ``cell_runs`` (DeepDiff's AttentiveChrome baseline) is built from two finished runs of that
        regression card, one per cell (``spec.options["cell_runs"]``: ``a`` and ``b`` run folders), each trained on
        its own cell's genes and selected on its own validation genes: nothing is trained here. Its record is the
        two runs' (the later kept epoch, the longer run, both stopped early, their training time) with the pair's
        differential validation scores; ``history.tsv`` holds both runs' epochs. None for any other card."""
        cell_card = _cell_card_name(card.get("cell_runs"))
        runs = dict(spec.options.get("cell_runs") or {})
        if cell_card is None:
            if runs:
                raise InputError(f"'{card['name']}' trains its own weights: it takes no cell runs", key="cell_runs")
            return None
        if set(runs) != {"a", "b"}:
            raise InputError(
                f"'{card['name']}' is assembled from two runs of card '{cell_card}', one per cell of the pair",
                key="cell_runs",
                hint="train them first (chromexpr.training.regression.train_regression on each cell's dataset), "
                "or let train_differential train them",
            )
        from chromexpr.models import build_model
        from chromexpr.training.model_file import load_model_file

        model = build_model(card)
        parts: dict[str, dict[str, Any]] = {}
        history: list[dict[str, Any]] = []
        for side, cell, module in (("a", data.pair.cell_a, model.cell_a), ("b", data.pair.cell_b, model.cell_b)):
            run_dir = Path(runs[side])
            record = _cell_run_record(run_dir, cell_card, cell, data.sha[side])
            module.load_state_dict(load_model_file(run_dir / "model.pt").state_dict)
            parts[side] = record
            table = pd.read_csv(run_dir / "history.tsv", sep="\t")
            for row in table.to_dict("records"):
                history.append({"cell": f"{side}: {cell}", **row})
            say(
                f"cell {side} ({cell}): run {run_dir}, kept epoch {record['best_epoch']} of {record['epochs_run']}, "
                f"validation MSE {fmt(record['valid_mse'])}"
            )
        model.eval()
        valid = predict_pairs(model, data.valid.x_a, data.valid.x_b, device=torch.device("cpu"), amp=False)
        valid_m = _metrics(data.valid.lfc, valid["prediction"])
        self.cell_runs = parts
        self.columns = list(dict.fromkeys(k for row in history for k in row))
        return FitResult(
            model=model,
            device=torch.device("cpu"),
            amp=False,
            parameters=sum(p.numel() for p in model.parameters()),
            best_state={k: v.detach().clone() for k, v in model.state_dict().items()},
            best_epoch=max(int(r["best_epoch"]) for r in parts.values()),
            epochs_run=max(int(r["epochs_run"]) for r in parts.values()),
            stopped_early=all(bool(r["stopped_early"]) for r in parts.values()),
            resumed_from_epoch=None,
            history=history,
            train_seconds=sum(float(r["train_seconds"] or 0.0) for r in parts.values()),
            elapsed_before=0.0,
            n_train=len(data.train),
            valid={k: valid_m[k] for k in ("pearson", "spearman", "mse")},
        )

    def task(self, data: DifferentialData, card: Mapping[str, Any], spec: RunSpec, settings: dict[str, Any]) -> Task:
        training = card["training"]
        return DifferentialTask(
            data.train, data.valid, weights=training.get("loss_weights"), contrastive=training.get("contrastive")
        )

    def fit_sklearn(
        self, card: Mapping[str, Any], data: DifferentialData, spec: RunSpec, say: Callable[[str], None]
    ) -> Fitted:
        from chromexpr.models import build_model

        train, valid = data.train, data.valid
        estimator = build_model(card)
        say(
            f"fitting {spec.info.get('model', card['name'])} {data.pair_id} (seed {spec.seed}): train {len(train)} genes, valid {len(valid)}"
        )
        t0 = time.perf_counter()
        estimator.fit(train.x_a, train.x_b, train.lfc, valid=(valid.x_a, valid.x_b, valid.lfc), seed=spec.seed)
        train_seconds = time.perf_counter() - t0
        valid_m = _metrics(valid.lfc, estimator.predict(valid.x_a, valid.x_b))
        self.selection = getattr(estimator, "selection_", None)
        history = [{"epoch": i + 1, **dict(row)} for i, row in enumerate(getattr(estimator, "history_", []) or [])]
        self.record = sklearn_record(valid=valid_m, history=history, train_seconds=train_seconds, n_train=len(train))
        self.columns = list(dict.fromkeys(k for row in history for k in row))
        return Fitted(estimator, self.record)

    def score(self, model: Any, data: DifferentialData, spec: RunSpec, result: FitResult | None) -> Scored:
        test = data.test
        files: dict[str, Callable[[Path], Any]] = {}
        if result is None:
            scored = {"prediction": np.asarray(model.predict(test.x_a, test.x_b), dtype=np.float64)}
            valid = self.record["valid"]
        else:
            scored = predict_pairs(result.model, test.x_a, test.x_b, device=result.device, amp=result.amp)
            self.record = result.record()
            valid = {k: result.valid.get(k) for k in ("pearson", "spearman", "mse")}
            att = scored.get("mark_attention", np.zeros((len(test), 0)))
            slots = _slots(result.model, data.pair.marks, att.shape[1])
            files["attention.npz"] = lambda path: _write_attention(path, test.gene_ids, test.lfc, att, slots)
        test_m = _metrics(test.lfc, scored["prediction"])
        metrics = {
            "test_pearson": test_m["pearson"],
            "test_spearman": test_m["spearman"],
            "test_mse": test_m["mse"],
            "test_r2": test_m["r2"],
            "valid_pearson": valid["pearson"],
            "valid_spearman": valid["spearman"],
            "valid_mse": valid["mse"],
        }
        table = pd.DataFrame(
            {
                "gene_id": test.gene_ids,
                "split": "test",
                "lfc": test.lfc.astype(np.float64),
                "prediction": scored["prediction"],
            }
        )
        if "prediction_a" in scored and "prediction_b" in scored:
            table["target_a"] = test.target_a.astype(np.float64)
            table["target_b"] = test.target_b.astype(np.float64)
            table["prediction_a"] = scored["prediction_a"]
            table["prediction_b"] = scored["prediction_b"]
        return Scored(table, metrics, files)

    def model_meta(self, card: Mapping[str, Any], data: DifferentialData, spec: RunSpec) -> dict[str, Any]:
        return {"task": "differential", "card": to_jsonable(card)}

    def metrics_task(self, data: DifferentialData) -> str:
        return "differential"

    def facts(self, data: DifferentialData, spec: RunSpec) -> dict[str, Any]:
        return {
            "pair": data.pair_id,
            "cell_a": data.pair.cell_a,
            "cell_b": data.pair.cell_b,
            "n_train": len(data.train),
            "n_valid": len(data.valid),
            "n_test": len(data.test),
            "n_test_differential": int((np.abs(data.test.lfc) >= 2.0).sum()),
            "selection": self.selection,
            "datasets": data.datasets,
            "dataset_sha256": data.sha,
            "gene_set": data.gene_set,
        }

    def extra_metrics(self, data: DifferentialData, spec: RunSpec, record: Mapping[str, Any]) -> dict[str, Any]:
        # an assembled model: the two cell runs it came from, each with its own kept epoch and validation scores
        return {"cell_runs": self.cell_runs} if self.cell_runs is not None else {}

    def history_columns(self, record: Mapping[str, Any], task: Task | None) -> dict[str, Any]:
        return {"columns": list(HISTORY_COLUMNS) if task is not None else self.columns}

    def summary(self, metrics: Mapping[str, Any], record: Mapping[str, Any], data: DifferentialData) -> str:
        return (
            f"{metrics['model']} on {data.pair_id}: test Pearson r {fmt(metrics['test_pearson'])}, MSE "
            f"{fmt(metrics['test_mse'])} on {len(data.test)} genes (best epoch {record['best_epoch']}, valid r "
            f"{fmt(metrics['valid_pearson'])}); {metrics['wall_seconds']:.1f} s"
        )


def _cell_card_name(cell_runs: Any) -> str | None:
    """The name of a card's ``cell_runs`` card (a name, or a loaded card), None without one."""
    if cell_runs is None:
        return None
    return str(cell_runs["name"]) if isinstance(cell_runs, Mapping) else str(cell_runs)


#: what an assembled model records of each cell run (``metrics.json`` ``cell_runs``)
CELL_RUN_KEYS = ("best_epoch", "epochs_run", "stopped_early", "train_seconds", "valid_mse", "valid_pearson")


def _cell_run_record(run_dir: Path, card_name: str, cell: str, dataset_sha: str) -> dict[str, Any]:
    """The facts of a finished cell run of ``card_name`` on ``cell`` that an assembled pair model keeps; errors name
    the run's ``metrics.json`` when it is another card's, another cell's, or trained on another dataset."""
    path = run_dir / "metrics.json"
    hint = "give the run of that card on this cell's dataset of the pair"
    if not path.is_file():
        raise InputError("the cell run is not finished: it has no metrics.json", path=path, hint=hint)
    metrics = read_json(path)
    missing = [k for k in ("model", "task", "train_cells", "dataset_sha256") if k not in metrics]
    if missing:
        raise InputError(f"not a regression run's record: it lacks {', '.join(missing)}", path=path, hint=hint)
    if metrics["model"] != card_name or metrics["task"] != "regression":
        raise InputError(
            f"a run of '{metrics['model']}' ({metrics['task']}), not of '{card_name}'", path=path, hint=hint
        )
    if list(metrics["train_cells"]) != [cell]:
        raise InputError(f"trained on {', '.join(metrics['train_cells'])}, not on {cell} alone", path=path, hint=hint)
    if (metrics.get("dataset_sha256") or {}).get(cell) != dataset_sha:
        raise InputError(f"trained on another dataset of {cell} than the pair's", path=path, hint=hint)
    return {"run": str(run_dir), "cell": cell, **{k: metrics.get(k) for k in CELL_RUN_KEYS}}


def train_differential(
    card: str | Path | Mapping[str, Any],
    dataset_a: str | Path,
    dataset_b: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    device: str | torch.device = "auto",
    max_epochs: int | None = None,
    patience: int | None = None,
    batch_size: int | None = None,
    resume: bool = True,
    log: LogTarget = None,
    amp: bool | None = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
    info: Mapping[str, Any] | None = None,
    cell_runs: Mapping[str, str | Path] | None = None,
) -> dict[str, Any]:
    """Train one differential run on the pair (A = ``dataset_a``, B = ``dataset_b``) and write its files: the run
    spec of ``DifferentialRunner`` for the run shell (``chromexpr.training.shell.run``).

    The train split trains, the valid split selects (Pearson r of the LFC), the test split is scored once
    with the selected state. Both datasets' ``expression`` must be raw RNA-seq read counts.

    Args:
        card: a differential card (name, YAML path or dict): a DeepDiff variant, ``attentivechrome_diff``,
            or a scikit-learn baseline (``svr_best_bin``, ``svr_two_layer``, ``relieff_rf``).
        dataset_a, dataset_b: the two cells' dataset ``.npz`` (same reference, card's bins).
        out_dir: the run folder (created).
        seed, device, max_epochs, patience, batch_size, resume, log, amp, callback: as
            ``chromexpr.training.run.train_model`` (torch cards only; a baseline runs on the CPU).
        info: keys added to ``metrics.json`` after ``shell.METRICS_KEYS["differential"]``.
        cell_runs: for a card assembled from cell runs (``attentivechrome_diff``: its ``cell_runs`` card), the
            finished run folders of ``a`` and ``b`` (the workflow trains them as jobs of their own, once per cell);
            None: this call trains them first, under ``out_dir/cells/a`` and ``out_dir/cells/b``.

    Returns:
        The ``metrics.json`` content.
    """
    from chromexpr.models import load_card

    loaded_card = load_card(card)
    if loaded_card.get("cell_runs") and cell_runs is None:
        from chromexpr.training.regression import train_regression

        cell_runs = {}
        for side, path in (("a", dataset_a), ("b", dataset_b)):
            cell = str(load_dataset(path).meta.get("cell"))
            folder = Path(out_dir) / "cells" / side
            train_regression(
                loaded_card["cell_runs"],
                {cell: path},
                folder,
                train_cells=[cell],
                valid_cells=[cell],
                test_cells=[cell],
                seed=seed,
                device=device,
                max_epochs=max_epochs,
                patience=patience,
                batch_size=batch_size,
                resume=resume,
                log=log,
                amp=amp,
            )
            cell_runs[side] = folder
    spec = RunSpec(
        experiment="differential",
        task="differential",
        card=card,
        data={"a": dataset_a, "b": dataset_b},
        roles={"train": "train", "valid": "valid", "test": "test"},
        seed=seed,
        out_dir=out_dir,
        settings=Settings(device, max_epochs, patience, batch_size, resume, amp),
        options={"cell_runs": dict(cell_runs)} if cell_runs else {},
        info=dict(info or {}),
    )
    return run(spec, log=log, callback=callback)

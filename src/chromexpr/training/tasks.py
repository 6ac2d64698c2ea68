"""Tasks: what differs between experiments, for the one training loop (``chromexpr.training.loop``).

A task owns its examples and says how a training batch is drawn, what the loss is, which statistics
an epoch records and how the model is scored on validation genes; the loop owns everything else
(epochs, optimizer steps, early stopping on ``selection_metric``, checkpoints, seeding, progress).

================== ========================================================================================
task               batches and loss
================== ========================================================================================
classification     labelled genes of one or several cells, shuffled each epoch; BCE on ``logits``
domain_adaptation  a labelled source batch plus an equally large batch of unlabelled target genes; BCE on
                   the source ``logits`` plus BCE of ``domain_logits`` (source 1, target 0) through the
                   model's gradient-reversal layer, whose lambda follows a schedule over training progress
================== ========================================================================================

Later tasks (regression, differential) subclass :class:`Task` the same way. A task never sees test
genes: the entry points score those once, with the selected state, after the loop has finished.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - torch convention
from scipy.special import expit

from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import classification_metrics

# Genes per forward pass when predicting; fixed so predictions are reproducible. Measured on one CPU
# thread (bench/training.py's models, 4,096 genes): 256 predicts 1.8x faster than 1,024 for DeepDiff
# (its LSTMs over 2 x 5 marks x 200 bins), 1.4x for AttentiveChrome, 1.1x for DeepChrome, with bitwise
# the same predictions; 64 and 32 are no faster.
EVAL_BATCH = 256


@dataclass
class Examples:
    """Genes of one or several cells in one role (train, valid, adapt, test), aligned by row.

    Attributes:
        x: ``(n, marks, bins)`` float32 model input.
        y: ``(n,)`` int64 0/1 labels, or None for unlabelled genes (a domain-adaptation target).
        gene_ids: ``(n,)`` gene identifiers.
        cells: ``(n,)`` the cell each row comes from.
    """

    x: np.ndarray
    y: np.ndarray | None
    gene_ids: np.ndarray
    cells: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @classmethod
    def concat(cls, parts: Sequence[Examples]) -> Examples:
        """Rows of ``parts`` one after another; labelled only when every part is."""
        if not parts:
            raise ValueError("no examples to concatenate")
        labelled = all(p.y is not None for p in parts)
        return cls(
            x=np.concatenate([p.x for p in parts]) if len(parts) > 1 else parts[0].x,
            y=np.concatenate([p.y for p in parts]) if labelled else None,
            gene_ids=np.concatenate([p.gene_ids for p in parts]),
            cells=np.concatenate([p.cells for p in parts]),
        )

    def unlabelled(self) -> Examples:
        """The same genes without their labels."""
        return Examples(x=self.x, y=None, gene_ids=self.gene_ids, cells=self.cells)


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp``; a no-op context otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp)


@torch.inference_mode()
def predict_output(
    model: torch.nn.Module,
    x: torch.Tensor,
    index: torch.Tensor | None = None,
    *,
    key: str = "logits",
    amp: bool = False,
    batch_size: int = EVAL_BATCH,
) -> np.ndarray:
    """The model's ``key`` output of ``x[index]`` (all rows when ``index`` is None), in eval mode, float32:
    ``(n,)`` for ``logits`` / ``prediction``, ``(n, k)`` for ``cell_logits``.

    Args:
        model: a torch model (``forward(x)[key]``).
        x: ``(genes, marks, bins)`` on the model's device.
        index: rows to predict, on the same device.
        key: the output to collect.
        amp: bf16 autocast (CUDA).
        batch_size: genes per forward pass.
    """
    model.eval()
    n = x.shape[0] if index is None else index.numel()
    pieces = []
    for start in range(0, n, batch_size):
        rows = slice(start, start + batch_size)
        xb = x[rows] if index is None else x[index[rows]]
        with autocast(x.device, amp):
            pieces.append(model(xb)[key].float())
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return torch.cat(pieces).cpu().numpy()


def predict_logits(
    model: torch.nn.Module,
    x: torch.Tensor,
    index: torch.Tensor | None = None,
    *,
    amp: bool = False,
    batch_size: int = EVAL_BATCH,
) -> np.ndarray:
    """Logits ``(n,)`` float32 of ``x[index]`` (``predict_output`` with ``key="logits"``)."""
    return predict_output(model, x, index, key="logits", amp=amp, batch_size=batch_size)


def _labelled(examples: Examples, what: str) -> np.ndarray:
    if examples.y is None:
        raise InputError(f"the {what} genes carry no labels")
    if len(examples) == 0:
        raise InputError(f"there are no {what} genes", hint="check the split manifest and the experiment's cells")
    return examples.y


class Task:
    """Base class: subclasses implement ``batches``, ``step`` and ``epoch_record``.

    Attributes:
        name: the task's name in logs and ``metrics.json``.
        selection_metric: the history column whose maximum (minimum with ``selection_lower``) selects
            the kept epoch; ``epoch`` keeps the last epoch (a fixed budget, no selection).
        selection_lower: smaller ``selection_metric`` values are better (a loss such as ``valid_mse``).
        history_columns: columns this task adds to ``history.tsv`` after the common ones.
    """

    name = "task"
    selection_metric = "valid_auroc"
    selection_lower = False
    history_columns: tuple[str, ...] = ()

    def __init__(self, train: Examples, valid: Examples) -> None:
        self.train = train
        self.valid = valid
        self._y_valid = _labelled(valid, "validation")
        self.device = torch.device("cpu")

    def to(self, device: torch.device) -> None:
        """Put the examples on ``device`` (once, before the first epoch)."""
        self.device = device
        self.x_train = torch.from_numpy(self.train.x).to(device)  # (n_train, marks, bins)
        self.x_valid = torch.from_numpy(self.valid.x).to(device)  # (n_valid, marks, bins)

    @property
    def n_train(self) -> int:
        """Labelled training genes per epoch (for throughput)."""
        return len(self.train)

    def n_batches(self, batch_size: int) -> int:
        """Optimizer steps per epoch."""
        return math.ceil(self.n_train / batch_size)

    def batches(self, shuffle: torch.Generator, batch_size: int) -> Iterator[Any]:
        """One epoch of batches, in an order drawn from ``shuffle`` only."""
        raise NotImplementedError

    def step(
        self, model: torch.nn.Module, batch: Any, *, progress: float, amp: bool
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss to minimise on ``batch`` and statistics to sum over the epoch: 0-d tensors, each
        summed where it is made (a loss on the device, without a host sync per batch; a count made
        on the host, without a copy to the device per batch). ``progress`` runs from 0 at the
        first step to 1 after the last step of ``max_epochs`` epochs."""
        raise NotImplementedError

    def epoch_record(self, sums: Mapping[str, float]) -> dict[str, float]:
        """The epoch's training columns (``train_loss`` and the task's ``history_columns``)."""
        raise NotImplementedError

    def validate(self, model: torch.nn.Module, *, amp: bool) -> dict[str, float]:
        """``valid_loss``, ``valid_auroc``, ``valid_auprc``, ``valid_accuracy`` on the validation genes."""
        logits = predict_logits(model, self.x_valid, amp=amp)
        metrics = classification_metrics(self._y_valid, expit(logits.astype(np.float64)))
        loss = float(
            F.binary_cross_entropy_with_logits(
                torch.from_numpy(logits).double(), torch.from_numpy(self._y_valid).double()
            )
        )
        return {
            "valid_loss": loss,
            "valid_auroc": metrics["auroc"],
            "valid_auprc": metrics["auprc"],
            "valid_accuracy": metrics["accuracy"],
        }

    def describe(self) -> str:
        """Sizes for the run's first log line."""
        cells = ", ".join(dict.fromkeys(self.train.cells.tolist()))
        return f"train {len(self.train)} genes ({cells}), valid {len(self.valid)}"


class ClassificationTask(Task):
    """Binary expression labels of one or several cells; BCE-with-logits on the model's ``logits``."""

    name = "classification"

    def __init__(self, train: Examples, valid: Examples) -> None:
        super().__init__(train, valid)
        y = _labelled(train, "training")
        if len(np.unique(y)) < 2:
            raise InputError("the training genes hold a single class; nothing to learn")

    def to(self, device: torch.device) -> None:
        super().to(device)
        self.y_train = torch.from_numpy(self.train.y.astype(np.float32)).to(device)  # (n_train,)

    def batches(self, shuffle: torch.Generator, batch_size: int) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.n_train, generator=shuffle).to(self.device)
        for start in range(0, self.n_train, batch_size):
            yield order[start : start + batch_size]

    def step(self, model, batch, *, progress, amp):
        xb, yb = self.x_train[batch], self.y_train[batch]  # (batch, marks, bins), (batch,)
        with autocast(self.device, amp):
            logits = model(xb)["logits"]
        loss = F.binary_cross_entropy_with_logits(logits.float(), yb)
        n = batch.numel()
        return loss, {"loss_sum": loss.detach().double() * n, "n": torch.tensor(float(n), dtype=torch.float64)}

    def epoch_record(self, sums):
        return {"train_loss": sums["loss_sum"] / sums["n"]}


def dann_lambda(progress: float, *, lambda_max: float = 1.0, gamma: float = 10.0) -> float:
    """The DANN ramp ``lambda_max * (2 / (1 + exp(-gamma * p)) - 1)``: 0 at p = 0, ~lambda_max at p = 1."""
    return float(lambda_max * (2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0))


def lambda_schedule(spec: Mapping[str, Any] | None, card_defaults: Mapping[str, Any]) -> Callable[[float], float]:
    """The gradient-reversal strength as a function of training progress.

    ``spec`` (``experiments.transfer.lambda_schedule``): null = the card's ``domain_adaptation``
    values (``dann``, ``lambda_max``, ``gamma``); ``{kind: dann, lambda_max: 1.0, gamma: 10.0}``;
    or ``{kind: constant, lambda_max: 0.1}``.
    """
    merged = {
        "kind": card_defaults.get("lambda_schedule", "dann"),
        "lambda_max": card_defaults.get("lambda_max", 1.0),
        "gamma": card_defaults.get("gamma", 10.0),
    }
    merged.update({k: v for k, v in (spec or {}).items() if v is not None})
    kind, lambda_max, gamma = merged["kind"], float(merged["lambda_max"]), float(merged["gamma"])
    if lambda_max < 0 or gamma <= 0:
        raise InputError("lambda_max must be >= 0 and gamma > 0", key="experiments.transfer.lambda_schedule")
    if kind == "dann":
        return lambda p: dann_lambda(p, lambda_max=lambda_max, gamma=gamma)
    if kind == "constant":
        return lambda p: lambda_max
    raise InputError(
        f"unknown lambda schedule {kind!r}",
        key="experiments.transfer.lambda_schedule.kind",
        hint="use dann (2/(1+exp(-gamma p))-1, scaled by lambda_max) or constant",
    )


class DomainAdaptationTask(Task):
    """Labelled source genes plus unlabelled target genes, through a gradient-reversal domain head.

    Each step draws a source batch (the epoch's shuffled source order) and an equally large batch of
    target genes (the epoch's shuffled target order, wrapping round when the target set is smaller).
    The model sees both at once; the label loss uses the source rows only, the domain loss all rows
    with domain label 1 for the source and 0 for the target (the paper's labels). The model's
    ``set_grl_lambda`` is called every step with ``schedule(progress)``. The target's labels are never
    given to this task, so nothing here can read them.
    """

    name = "domain_adaptation"
    history_columns = ("domain_loss", "domain_accuracy", "grl_lambda")

    def __init__(self, train: Examples, valid: Examples, adapt: Examples, schedule: Callable[[float], float]) -> None:
        super().__init__(train, valid)
        y = _labelled(train, "source training")
        if len(np.unique(y)) < 2:
            raise InputError("the source training genes hold a single class; nothing to learn")
        if len(adapt) == 0:
            raise InputError("there are no target genes to adapt to", key="experiments.transfer")
        self.adapt = adapt.unlabelled()
        self.schedule = schedule
        self.last_lambda = schedule(0.0)

    def to(self, device: torch.device) -> None:
        super().to(device)
        self.y_train = torch.from_numpy(self.train.y.astype(np.float32)).to(device)  # (n_train,)
        self.x_adapt = torch.from_numpy(self.adapt.x).to(device)  # (n_adapt, marks, bins)

    def batches(self, shuffle, batch_size):
        source = torch.randperm(self.n_train, generator=shuffle).to(self.device)
        n_target = len(self.adapt)
        target = torch.randperm(n_target, generator=shuffle).to(self.device)
        for start in range(0, self.n_train, batch_size):
            rows = source[start : start + batch_size]
            positions = torch.arange(start, start + rows.numel(), device=self.device) % n_target
            yield rows, target[positions]

    def step(self, model, batch, *, progress, amp):
        rows_s, rows_t = batch
        lam = self.schedule(progress)
        model.set_grl_lambda(lam)
        self.last_lambda = lam
        ns, nt = rows_s.numel(), rows_t.numel()
        xb = torch.cat([self.x_train[rows_s], self.x_adapt[rows_t]])  # (ns + nt, marks, bins)
        with autocast(self.device, amp):
            out = model(xb)
        if "domain_logits" not in out:
            raise InputError(
                f"{type(model).__name__} has no domain head (no 'domain_logits' output)",
                key="domain_adaptation.override",
                hint="domain adaptation needs a card with a domain_adaptation section (TransferChrome)",
            )
        label_loss = F.binary_cross_entropy_with_logits(out["logits"][:ns].float(), self.y_train[rows_s])
        domain_y = torch.cat([torch.ones(ns, device=self.device), torch.zeros(nt, device=self.device)])
        domain_logits = out["domain_logits"].float()
        domain_loss = F.binary_cross_entropy_with_logits(domain_logits, domain_y)
        correct = ((domain_logits > 0).float() == domain_y).sum()
        f64 = torch.float64
        stats = {
            "loss_sum": label_loss.detach().double() * ns,
            "n": torch.tensor(float(ns), dtype=f64),
            "domain_loss_sum": domain_loss.detach().double() * (ns + nt),
            "domain_correct": correct.detach().double(),
            "domain_n": torch.tensor(float(ns + nt), dtype=f64),
        }
        return label_loss + domain_loss, stats

    def epoch_record(self, sums):
        return {
            "train_loss": sums["loss_sum"] / sums["n"],
            "domain_loss": sums["domain_loss_sum"] / sums["domain_n"],
            "domain_accuracy": sums["domain_correct"] / sums["domain_n"],
            "grl_lambda": self.last_lambda,  # the epoch's last step
        }

    def describe(self) -> str:
        targets = ", ".join(dict.fromkeys(self.adapt.cells.tolist()))
        return f"{super().describe()}, adapt {len(self.adapt)} unlabelled genes ({targets})"


@torch.inference_mode()
def model_features(
    model: torch.nn.Module, x: np.ndarray, *, device: torch.device, amp: bool = False, batch_size: int = EVAL_BATCH
) -> np.ndarray | None:
    """The model's ``features`` output ``(n, d)`` float64 for ``x`` ``(n, marks, bins)``, in eval mode;
    None for a model without one."""
    model.eval()
    pieces = []
    for start in range(0, x.shape[0], batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])).to(device)
        with autocast(device, amp):
            out = model(xb)
        if "features" not in out:
            return None
        pieces.append(out["features"].float().cpu())
    return torch.cat(pieces).double().numpy() if pieces else np.zeros((0, 0))


def domain_probe_accuracy(features_a: np.ndarray, features_b: np.ndarray, *, seed: int = 0, folds: int = 5) -> float:
    """How well a fresh classifier tells two cells apart from a model's features: the 5-fold
    cross-validated accuracy of a standardised logistic regression on equally many genes of each cell
    (the first ``min(n_a, n_b)`` of each). 0.5 = the features carry no trace of the domain; near 1 = the
    domains are separable. A held-out measure of what domain adaptation did to the features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n = min(len(features_a), len(features_b))
    if n < folds:
        return float("nan")
    x = np.concatenate([features_a[:n], features_b[:n]])  # (2n, d)
    y = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)])
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(probe, x, y, cv=cv, scoring="accuracy")))

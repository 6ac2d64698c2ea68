"""Classification runs: the ``classification`` and ``domain_adaptation`` tasks and their runner.

================== ========================================================================================
task               batches and loss
================== ========================================================================================
classification     labelled genes of one or several cells, shuffled each epoch; BCE on ``logits``
domain_adaptation  a labelled source batch plus an equally large batch of unlabelled target genes; BCE on
                   the source ``logits`` plus BCE of ``domain_logits`` (source 1, target 0) through the
                   model's gradient-reversal layer, whose lambda follows a schedule over training progress
================== ========================================================================================

:class:`ClassificationRunner` is what the run shell (``chromexpr.training.shell``) asks of these runs: the genes
of each role (``GeneSet``: ``train``, ``valid``, ``adapt``, ``test``, ``probe``), the task, the test genes scored
once (``predictions.tsv.gz``: every gene of the test dataset with ``options.predict_all``, the single-cell runs;
else its test genes and ``genes.tsv.gz``, every gene the run used per role), and ``domain_probe_accuracy`` for a
run with a ``probe``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - torch convention
from scipy.special import expit

from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import classification_metrics
from chromexpr.training import outputs
from chromexpr.training.data import ModelData
from chromexpr.training.genes import GeneSet, RunData
from chromexpr.training.loop import FitResult, sklearn_record
from chromexpr.training.runtime import fmt
from chromexpr.training.shell import Fitted, RunSpec, Scored
from chromexpr.training.sklearn_fit import fit_sklearn, predict_sklearn
from chromexpr.training.tasks import EVAL_BATCH, Examples, Task, autocast, predict_logits

TASKS = ("classification", "domain_adaptation")


def _labelled(examples: Examples, what: str) -> np.ndarray:
    if examples.y is None:
        raise InputError(f"the {what} genes carry no labels")
    if len(examples) == 0:
        raise InputError(f"there are no {what} genes", hint="check the split manifest and the experiment's cells")
    return examples.y


class LabelledTask(Task):
    """A task on 0/1 expression labels: validation BCE, AUROC (selects), AUPRC and accuracy."""

    selection_metric = "valid_auroc"

    def __init__(self, train: Examples, valid: Examples) -> None:
        super().__init__(train, valid)
        self._y_valid = _labelled(valid, "validation")

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


class ClassificationTask(LabelledTask):
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


class DomainAdaptationTask(LabelledTask):
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


def probe_accuracy(
    loaded: RunData, probe: tuple[GeneSet, GeneSet], model: torch.nn.Module, device: torch.device, seed: int
) -> float | None:
    """Domain probe accuracy of ``model``'s features on the two gene sets (None without features)."""
    a = model_features(model, loaded.examples([probe[0]], labelled=False).x, device=device)
    b = model_features(model, loaded.examples([probe[1]], labelled=False).x, device=device)
    if a is None or b is None:
        return None
    return domain_probe_accuracy(a, b, seed=seed)


@dataclass
class ClassificationData:
    """A classification run's data: the examples of each role, the test dataset and which of its genes are
    tested, and what the run used (``describe`` rows for ``metrics.json`` and the fingerprint)."""

    loaded: RunData
    train: Examples
    valid: Examples
    adapt: Examples | None
    test: ModelData
    test_path: str | None
    test_sha: str | None
    cell: str
    mask: np.ndarray
    used: list[dict[str, Any]]
    predict_all: bool


class ClassificationRunner:
    """The run shell's runner of the ``classification`` and ``domain_adaptation`` tasks.

    ``spec.roles``: ``train`` and ``valid`` (lists of ``GeneSet``: several cells are concatenated), ``test`` (one
    ``GeneSet``; its dataset's cell is the run's ``cell``), ``adapt`` (unlabelled gene sets of a domain-adaptation
    run: their labels are never read), optionally ``probe`` (two unlabelled gene sets whose features a fresh
    classifier tries to tell apart after training). ``spec.options``: ``predict_all`` (write every gene of the test
    dataset, as the single-cell runs do, instead of the test genes and ``genes.tsv.gz``), ``schedule`` (the
    gradient-reversal lambda schedule, ``lambda_schedule``; None: the card's).
    """

    def __init__(self, task: str) -> None:
        if task not in TASKS:
            raise InputError(f"unknown task {task!r}", key="task", hint=f"use one of {', '.join(TASKS)}")
        self.name = task
        self.record: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}

    def check(self, card: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
        if card["task"] != "classification":
            raise InputError(
                f"'{card['name']}' is a {card['task']} card; these runs train classification cards", key="task"
            )
        training = card["training"]
        if training.get("loss") not in (None, "bce_with_logits"):
            raise InputError(
                f"classification trains with bce_with_logits, the card asks for {training.get('loss')!r}",
                key="training.loss",
            )
        if training.get("selection_metric") not in (None, "valid_auroc"):
            raise InputError(
                f"selection metric {training['selection_metric']!r} is not supported",
                key="training.selection_metric",
                hint="use valid_auroc",
            )
        model_card = dict(card)
        if self.name == "domain_adaptation":
            da = card.get("domain_adaptation")
            if not da:
                raise InputError(
                    f"card '{card['name']}' has no domain_adaptation section: it has no domain head",
                    key="domain_adaptation",
                    hint="domain adaptation (transfer variant cross) needs TransferChrome",
                )
            if card["framework"] != "torch":
                raise InputError("domain adaptation needs a torch card", key="framework")
            model_card["hyperparameters"] = {**card["hyperparameters"], **da.get("override", {})}
            model_card["expected_parameters"] = da.get("expected_parameters")
        return model_card

    def load(self, card: Mapping[str, Any], spec: RunSpec) -> ClassificationData:
        roles = spec.roles
        loaded = RunData(card)
        adapt = list(roles.get("adapt") or ())
        train_ex = loaded.examples(roles["train"])
        valid_ex = loaded.examples(roles["valid"])
        adapt_ex = loaded.examples(adapt, labelled=False) if adapt else None
        test: GeneSet = roles["test"]
        test_data, test_path, test_sha, cell = loaded.get(test.dataset)
        mask = loaded.mask(test)
        if not mask.any():
            raise InputError(f"no test genes in {cell}", path=test_path, hint="check the split manifest")
        if self.name == "domain_adaptation" and adapt_ex is None:
            raise InputError("domain adaptation needs unlabelled target genes (adapt)")
        used = (
            loaded.describe(roles["train"], "train")
            + loaded.describe(roles["valid"], "valid")
            + loaded.describe(adapt, "adapt")
            + loaded.describe([test], "test")
        )
        return ClassificationData(
            loaded=loaded,
            train=train_ex,
            valid=valid_ex,
            adapt=adapt_ex,
            test=test_data,
            test_path=test_path,
            test_sha=test_sha,
            cell=cell,
            mask=mask,
            used=used,
            predict_all=bool(spec.options.get("predict_all", False)),
        )

    def label(self, data: ClassificationData, spec: RunSpec) -> str:
        return data.cell

    def settings(self, card: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
        return {"selection_metric": card["training"].get("selection_metric")}

    def fingerprint(self, data: ClassificationData, spec: RunSpec) -> dict[str, Any]:
        return {"dataset_sha256": data.test_sha, "cell": data.cell, "genes": data.used}

    def task(self, data: ClassificationData, card: Mapping[str, Any], spec: RunSpec, settings: dict[str, Any]) -> Task:
        if self.name == "domain_adaptation":
            schedule = spec.options.get("schedule")
            da = card["domain_adaptation"]
            settings["lambda_schedule"] = dict(schedule or {}) or {
                k: da.get(k) for k in ("lambda_schedule", "lambda_max", "gamma")
            }
            return DomainAdaptationTask(data.train, data.valid, data.adapt, lambda_schedule(schedule, da))
        return ClassificationTask(data.train, data.valid)

    def fit_sklearn(
        self, card: Mapping[str, Any], data: ClassificationData, spec: RunSpec, say: Callable[[str], None]
    ) -> Fitted:
        fit = fit_sklearn(card, data.train, data.valid, seed=spec.seed, say=say)
        self.record = sklearn_record(
            valid=fit["valid"], history=fit["history"], train_seconds=fit["train_seconds"], n_train=len(data.train)
        )
        return Fitted(fit["estimator"], self.record)

    def score(self, model: Any, data: ClassificationData, spec: RunSpec, result: FitResult | None) -> Scored:
        test, mask = data.test, data.mask
        x = test.x if data.predict_all else test.x[mask]
        t0 = time.perf_counter()
        if result is None:
            probability = predict_sklearn(model, x)
        else:
            with torch.no_grad():
                logits = predict_logits(model, torch.from_numpy(x).to(result.device), amp=result.amp)
            probability = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
            self.record = result.record()
        seconds = time.perf_counter() - t0
        probe = spec.roles.get("probe")
        if probe is not None and result is not None:
            self.extra["domain_probe_accuracy"] = probe_accuracy(
                data.loaded, probe, result.model, result.device, spec.seed
            )
        p_test = probability[mask] if data.predict_all else probability
        scores = classification_metrics(test.y[mask], p_test)
        valid = self.record["valid"]
        metrics = {
            "test_auroc": scores["auroc"],
            "test_auprc": scores["auprc"],
            "test_accuracy": scores["accuracy"],
            "valid_auroc": valid["auroc"],
            "valid_auprc": valid["auprc"],
            "valid_accuracy": valid["accuracy"],
            "predict_genes_per_second": len(probability) / max(seconds, 1e-9),
        }
        if data.predict_all:
            table = outputs.predictions_table(test.gene_ids, test.split, test.y, probability)
            return Scored(table, metrics)
        n = int(mask.sum())
        table = outputs.predictions_table(test.gene_ids[mask], np.full(n, "test"), test.y[mask], probability)
        roles = [("train", data.train), ("valid", data.valid)]
        if data.adapt is not None:
            roles.append(("adapt", data.adapt))
        roles.append(("test", data.loaded.examples([spec.roles["test"]], labelled=False)))
        return Scored(table, metrics, {"genes.tsv.gz": lambda path: outputs.write_genes(path, roles)})

    def model_meta(self, card: Mapping[str, Any], data: ClassificationData, spec: RunSpec) -> dict[str, Any]:
        return data.loaded.training_meta(card, spec.roles["train"], self.name)

    def metrics_task(self, data: ClassificationData) -> str:
        return "classification"

    def facts(self, data: ClassificationData, spec: RunSpec) -> dict[str, Any]:
        return {
            "cell": data.cell,
            "n_train": len(data.train),
            "n_valid": len(data.valid),
            "n_test": int(data.mask.sum()),
            "dataset": data.test_path,
            "dataset_sha256": data.test_sha,
            # how the test dataset's genes were labelled (the median and the genes it is taken over)
            "labels": data.loaded.dataset(spec.roles["test"].dataset).meta.get("label"),
            # the genes and split of the test dataset (chromexpr.experiments.gene_sets; None: the source's)
            "gene_set": data.loaded.dataset(spec.roles["test"].dataset).meta.get("gene_set"),
        }

    def extra_metrics(self, data: ClassificationData, spec: RunSpec, record: Mapping[str, Any]) -> dict[str, Any]:
        extra = dict(self.extra)
        if data.adapt is not None:
            extra["n_adapt"] = len(data.adapt)
        if self.name == "domain_adaptation":
            # what the kept weights had seen: the reversal strength and the domain head's accuracy at that epoch
            kept = [r for r in record.get("history", []) if r.get("epoch") == record.get("best_epoch")]
            if kept:
                extra["selected_grl_lambda"] = kept[0].get("grl_lambda")
                extra["selected_domain_accuracy"] = kept[0].get("domain_accuracy")
        if not data.predict_all:
            extra["task"] = self.name
            extra["datasets"] = data.used
        return extra

    def history_columns(self, record: Mapping[str, Any], task: Task | None) -> dict[str, Any]:
        return {"extra_columns": task.history_columns if task is not None else ()}

    def summary(self, metrics: Mapping[str, Any], record: Mapping[str, Any], data: ClassificationData) -> str:
        return (
            f"{metrics['model']} on {data.cell}: test AUROC {fmt(metrics['test_auroc'])}, AUPRC "
            f"{fmt(metrics['test_auprc'])}, accuracy {fmt(metrics['test_accuracy'])} on {metrics['n_test']} genes "
            f"(best epoch {record['best_epoch']}, valid AUROC {fmt(record['valid']['auroc'])}); "
            f"{metrics['wall_seconds']:.1f} s"
        )

"""Using a finished run: its model reloaded (``load_trained``), its probabilities on new input
(``predict_probability``), and ``score_run``: the model scored on another cell's genes, written as a run.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from chromexpr.dataset import Dataset
from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import classification_metrics
from chromexpr.io.jsonio import read_json, to_jsonable
from chromexpr.logs import LogTarget, log_sink
from chromexpr.models import build_model
from chromexpr.training import outputs
from chromexpr.training.classification import probe_accuracy
from chromexpr.training.genes import GeneSet, RunData
from chromexpr.training.model_file import load_model_file
from chromexpr.training.runtime import fmt, resolve_card, resolve_device
from chromexpr.training.shell import METRICS_KEYS, logger
from chromexpr.training.sklearn_file import SKLEARN_MODEL, load_sklearn_file
from chromexpr.training.sklearn_fit import predict_sklearn
from chromexpr.training.tasks import predict_logits


def load_trained(card: Mapping[str, Any], run_dir: str | Path) -> Any:
    """The model of a finished run folder: a torch module in eval mode (``model.pt``; a domain-adaptation
    run, by its ``metrics.json``, is built with the card's domain head) or the fitted scikit-learn
    estimator (``model.skops``, rebuilt without pickle)."""
    run_dir = Path(run_dir)
    if card["framework"] == "sklearn":
        return load_sklearn_file(run_dir / SKLEARN_MODEL)
    path = run_dir / "model.pt"
    if not path.is_file():
        raise InputError("model file not found", path=path, hint="run the training job first")
    metrics = run_dir / "metrics.json"
    task = read_json(metrics).get("task") if metrics.is_file() else None
    if task == "domain_adaptation":  # the run trained the domain head too: build the model it saved
        spec = card.get("domain_adaptation") or {}
        card = {
            **card,
            "hyperparameters": {**card["hyperparameters"], **spec.get("override", {})},
            "expected_parameters": spec.get("expected_parameters"),
        }
    model = build_model(card)
    model.load_state_dict(load_model_file(path).state_dict)
    return model.eval()


def predict_probability(card: Mapping[str, Any], model: Any, x: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    """Probability of class 1 for ``x`` ``(genes, marks, bins)`` from a model of :func:`load_trained`."""
    if card["framework"] == "sklearn":
        return predict_sklearn(model, x)
    dev = resolve_device(device)
    model = model.to(dev)
    logits = predict_logits(model, torch.from_numpy(np.ascontiguousarray(x)).to(dev))
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def score_run(
    card: str | Path | Mapping[str, Any],
    run_dir: str | Path,
    target: str | Path | Dataset,
    out_dir: str | Path,
    *,
    test: GeneSet | None = None,
    info: Mapping[str, Any] | None = None,
    probe_source: GeneSet | None = None,
    log: LogTarget = None,
) -> dict[str, Any]:
    """A finished run's model scored on another cell's genes, written as a run of its own: no
    training (TransferChrome ``_uncross`` under the honest protocol is the source's single-cell run,
    whose training does not depend on the target).

    The new folder gets ``metrics.json`` (the trained run's training record, the new test scores,
    ``trained_in`` = the trained run's folder), ``predictions.tsv.gz`` (the scored genes),
    ``history.tsv`` and ``model.pt`` / ``model.skops`` (copies) and ``genes.tsv.gz``. With
    ``probe_source`` (e.g. the source's test genes), ``domain_probe_accuracy`` measures how well the
    model's features tell those genes from the scored ones (torch models with ``features``).
    """
    started = time.perf_counter()
    card_data, _ = resolve_card(card)
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    trained = read_json(run_dir / "metrics.json")
    loaded = RunData(card_data)
    test = test or GeneSet(target, ("test",))
    data, path, sha, cell = loaded.get(target)
    mask = loaded.mask(test)
    with log_sink(log, logger) as say:
        model = load_trained(card_data, run_dir)
        t_predict = time.perf_counter()
        probability = predict_probability(card_data, model, data.x[mask])
        predict_seconds = time.perf_counter() - t_predict
        scores = classification_metrics(data.y[mask], probability)
        metrics = {k: trained.get(k) for k in METRICS_KEYS["classification"]}
        metrics.update(
            cell=cell,
            test_auroc=scores["auroc"],
            test_auprc=scores["auprc"],
            test_accuracy=scores["accuracy"],
            wall_seconds=time.perf_counter() - started,
            predict_genes_per_second=int(mask.sum()) / max(predict_seconds, 1e-9),
            n_test=int(mask.sum()),
            dataset=path,
            dataset_sha256=sha,
            # the scored dataset's genes and split, not the trained run's
            gene_set=loaded.dataset(target).meta.get("gene_set"),
        )
        metrics.update(info or {})
        if probe_source is not None and card_data["framework"] == "torch":
            metrics["domain_probe_accuracy"] = probe_accuracy(
                loaded, (probe_source, test), model, torch.device("cpu"), int(trained.get("seed") or 0)
            )
        metrics["trained_in"] = str(run_dir)
        model_file = SKLEARN_MODEL if card_data["framework"] == "sklearn" else "model.pt"
        with outputs.atomic_path(out_dir / model_file) as tmp:
            shutil.copyfile(run_dir / model_file, tmp)
        with outputs.atomic_path(out_dir / "history.tsv") as tmp:
            shutil.copyfile(run_dir / "history.tsv", tmp)
        n = int(mask.sum())
        outputs.write_predictions(
            out_dir / "predictions.tsv.gz", data.gene_ids[mask], data.split[mask], data.y[mask], probability
        )
        trained_cell = trained.get("cell")
        train_genes = _trained_genes(run_dir, trained_cell)
        table = pd.concat(
            [train_genes, pd.DataFrame({"cell": cell, "gene_id": data.gene_ids[mask], "role": "test"})],
            ignore_index=True,
        )
        outputs.write_table_gz(out_dir / "genes.tsv.gz", table)
        outputs.write_metrics(out_dir / "metrics.json", metrics)
        say(
            f"{metrics['model']} (trained in {run_dir}) on {cell}: test AUROC {fmt(scores['auroc'])} "
            f"on {n} genes, no training"
        )
    return to_jsonable(metrics)


def _trained_genes(run_dir: Path, cell: str | None):
    """The genes a finished run trained and selected on (its genes.tsv.gz, or for a single-cell run
    the train / valid rows of its predictions)."""
    genes = run_dir / "genes.tsv.gz"
    if genes.is_file():
        table = pd.read_csv(genes, sep="\t", dtype=str)
        return table[table["role"] != "test"]
    predictions = pd.read_csv(run_dir / "predictions.tsv.gz", sep="\t", dtype={"gene_id": str, "split": str})
    used = predictions[predictions["split"].isin(["train", "valid"])]
    return pd.DataFrame({"cell": cell, "gene_id": used["gene_id"], "role": used["split"]})

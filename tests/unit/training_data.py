"""Tiny synthetic cells and a tiny TransferChrome card for the training tests.

Every cell holds the same genes under the same split manifest (as the real cells do), so a gene id
names the same gene in every cell. Labels follow one shared rule in every cell: highly expressed
genes get extra H3K4me3 reads in the bins around the TSS and extra H3K36me3 reads over the gene body
(the bins downstream of the TSS bin, 10). A cell can carry a covariate shift: a
``(scale, offset)`` applied to the z-scored signal of chosen marks, which leaves the label rule alone.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from chromexpr.dataset import CANONICAL_MARKS, Dataset, build_dataset
from chromexpr.models import load_card
from chromexpr.training.model_file import load_model_file

MARKS = list(CANONICAL_MARKS)
N_GENES, N_BINS = 400, 20
GENE_IDS = np.array([f"ENSG{i:011d}" for i in range(N_GENES)])
#: one split manifest for every cell: 240 train, 80 valid, 80 test genes
SPLIT = np.array(["train"] * 240 + ["valid"] * 80 + ["test"] * 80)
TIMINGS = ("seconds", "train_seconds")


def synthetic_cell(cell: str, seed: int, shift: Mapping[str, tuple[float, float]] | None = None) -> Dataset:
    """A cell of ``N_GENES`` genes x ``N_BINS`` bins: Poisson(2) reads; genes at or above the median
    expression (label 1) get Poisson(5) extra H3K4me3 reads per bin in bins 7-12 and Poisson(2) extra
    H3K36me3 reads in bins 13-19 (the other genes Poisson(0.5) in both). ``shift``: mark -> (scale, offset) applied to that mark's z-scored signal."""
    rng = np.random.default_rng(seed)
    expression = rng.lognormal(0.0, 1.0, N_GENES)
    high = expression >= np.median(expression)
    counts = rng.poisson(2.0, (N_GENES, len(MARKS), N_BINS)).astype(np.int32)  # (genes, marks, bins)
    extra = rng.poisson(np.where(high, 5.0, 0.5)[:, None], (N_GENES, 6))  # (genes, 6)
    counts[:, MARKS.index("H3K4me3"), 7:13] += extra.astype(np.int32)
    body = rng.poisson(np.where(high, 2.0, 0.5)[:, None], (N_GENES, 7))  # (genes, 7)
    counts[:, MARKS.index("H3K36me3"), 13:20] += body.astype(np.int32)
    # z-scored over all genes, as these cells were designed (the domain-adaptation checks were tuned on it)
    dataset = build_dataset(
        counts, GENE_IDS, MARKS, expression, SPLIT, cell=cell, geometry={"n_bins": N_BINS}, fit_on="all"
    )
    for mark, (scale, offset) in (shift or {}).items():
        k = MARKS.index(mark)
        dataset.signal[:, k] = (dataset.signal[:, k] * scale + offset).astype(np.float32)
    return dataset


def flipped_labels(dataset: Dataset) -> Dataset:
    """The same cell with every label flipped (class balance of every split kept)."""
    return Dataset(**{**vars(dataset), "label": (1 - dataset.label).astype(dataset.label.dtype)})


def tiny_card(*, hyperparameters: Mapping | None = None, **training) -> dict:
    """TransferChrome at a size that trains in a second: 20 bins, one 4-channel dense layer, 8 conv
    channels, one attention layer, 16 features, dropout 0.1; Adam lr 1e-2, batch 32, 6 epochs, no early
    stop. ``hyperparameters`` and ``training`` update those sections."""
    card = load_card("transferchrome")
    card["hyperparameters"].update(
        dense_growth=[4],
        conv_channels=[8],
        dropout=0.1,
        attention_layers=1,
        feature_dim=16,
        label_hidden=[8],
        domain_hidden=[8],
    )
    card["hyperparameters"].update(hyperparameters or {})
    card["input"]["bins"] = N_BINS
    card["expected_parameters"] = None
    card["domain_adaptation"]["expected_parameters"] = None
    card["training"].update(
        optimizer="adam", lr=1e-2, momentum=None, weight_decay=0.0, batch_size=32, max_epochs=6, patience=None
    )
    card["training"].update(training)
    return card


def with_domain_head(card: Mapping) -> dict:
    """``card`` with its ``domain_adaptation.override`` applied: the model a cross run trained."""
    card = copy.deepcopy(dict(card))
    card["hyperparameters"].update(card["domain_adaptation"]["override"])
    return card


def history(run: Path) -> pd.DataFrame:
    """A run's history.tsv without its wall-clock columns."""
    table = pd.read_csv(Path(run) / "history.tsv", sep="\t")
    return table.drop(columns=[c for c in TIMINGS if c in table.columns])


def genes(run: Path) -> pd.DataFrame:
    """A run's genes.tsv.gz."""
    return pd.read_csv(Path(run) / "genes.tsv.gz", sep="\t", dtype=str)


def weights(run: Path) -> dict[str, torch.Tensor]:
    """A run's model.pt state_dict."""
    return load_model_file(Path(run) / "model.pt").state_dict


def same_weights(a: Path, b: Path) -> bool:
    """Whether two runs' model.pt hold bit-identical tensors under the same names."""
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)

"""The genes of a run: which cells' genes train, select, adapt and are scored (``GeneSet``), loaded
once per dataset (``RunData``), and the transfer protocols' gene roles.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chromexpr.dataset import Dataset, load_dataset
from chromexpr.errors import InputError
from chromexpr.io.atomic import sha256sum
from chromexpr.training.data import ModelData, model_inputs
from chromexpr.training.tasks import Examples

PROTOCOLS = ("honest", "paper")


@dataclass
class GeneSet:
    """Genes of one cell's dataset in one role of a run.

    Attributes:
        dataset: a dataset ``.npz`` path or a loaded ``Dataset``.
        splits: the dataset splits taken (ignored when ``mask`` is given).
        mask: an explicit boolean ``(genes,)`` selection (e.g. the paper protocol's target halves).
    """

    dataset: str | Path | Dataset
    splits: tuple[str, ...] = ("train",)
    mask: np.ndarray | None = None


class RunData:
    """Datasets of a run, each loaded, hashed and turned into model input once."""

    def __init__(self, card: Mapping[str, Any]) -> None:
        self.card = card
        self._cache: dict[int | str, tuple[ModelData, str | None, str | None, str]] = {}
        self._datasets: dict[int | str, Dataset] = {}

    def get(self, dataset: str | Path | Dataset) -> tuple[ModelData, str | None, str | None, str]:
        """(model data, path, sha256, cell) of ``dataset``."""
        key = id(dataset) if isinstance(dataset, Dataset) else str(Path(dataset))
        if key not in self._cache:
            if isinstance(dataset, Dataset):
                ds, path, sha = dataset, None, None
            else:
                path = str(dataset)
                ds, sha = load_dataset(path), sha256sum(path)
            cell = str(ds.meta.get("cell"))
            self._cache[key] = (model_inputs(ds, self.card, source=path), path, sha, cell)
            self._datasets[key] = ds
        return self._cache[key]

    def dataset(self, dataset: str | Path | Dataset) -> Dataset:
        """The loaded ``Dataset`` behind ``get(dataset)`` (its counts, statistics and metadata)."""
        self.get(dataset)
        return self._datasets[self._key(dataset)]

    def training_meta(self, card: Mapping[str, Any], gene_sets: Sequence[GeneSet], task: str) -> dict[str, Any]:
        """``model.pt``'s metadata (``chromexpr.training.model_file.model_meta``) for a model trained with
        ``card`` on the datasets of ``gene_sets`` (each once, in order of first use)."""
        from chromexpr.training.model_file import model_meta

        unique: dict[int | str, str | Path | Dataset] = {}
        for gene_set in gene_sets:
            unique.setdefault(self._key(gene_set.dataset), gene_set.dataset)
        sources = list(unique.values())
        return model_meta(
            card, [self.dataset(d) for d in sources], task=task, dataset_sha256=[self.get(d)[2] for d in sources]
        )

    @staticmethod
    def _key(dataset: str | Path | Dataset) -> int | str:
        return id(dataset) if isinstance(dataset, Dataset) else str(Path(dataset))

    def mask(self, gene_set: GeneSet) -> np.ndarray:
        data = self.get(gene_set.dataset)[0]
        if gene_set.mask is not None:
            mask = np.asarray(gene_set.mask, dtype=bool)
            if mask.shape != data.split.shape:
                raise ValueError(f"gene mask has {mask.shape[0]} entries, the dataset {data.split.shape[0]} genes")
            return mask
        return np.isin(data.split, gene_set.splits)

    def examples(self, gene_sets: Sequence[GeneSet], *, labelled: bool = True) -> Examples:
        parts = []
        for gene_set in gene_sets:
            data, _, _, cell = self.get(gene_set.dataset)
            rows = self.mask(gene_set)
            parts.append(
                Examples(
                    x=data.x[rows],
                    y=data.y[rows] if labelled else None,
                    gene_ids=data.gene_ids[rows],
                    cells=np.full(int(rows.sum()), cell),
                )
            )
        return Examples.concat(parts)

    def describe(self, gene_sets: Sequence[GeneSet], role: str) -> list[dict[str, Any]]:
        rows = []
        for gene_set in gene_sets:
            _, path, sha, cell = self.get(gene_set.dataset)
            mask = self.mask(gene_set)
            selection = (
                {"mask_sha256": hashlib.sha256(np.packbits(mask).tobytes()).hexdigest()}
                if gene_set.mask is not None
                else {"splits": list(gene_set.splits)}
            )
            rows.append({"role": role, "cell": cell, "path": path, "sha256": sha, "n": int(mask.sum()), **selection})
        return rows


def paper_halves(n_genes: int, *, seed: int, target: str) -> np.ndarray:
    """The paper protocol's cut of a target's genes: boolean ``(genes,)``, True = adaptation half
    (``floor(n / 2)`` genes drawn with a generator seeded by the run seed and the target's name, so
    every variant of one seed uses the same halves), False = test half."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(target.encode("utf-8"))]))
    adapt = np.zeros(n_genes, dtype=bool)
    adapt[rng.permutation(n_genes)[: n_genes // 2]] = True
    return adapt


def transfer_gene_sets(
    source: str | Path | Dataset,
    target: str | Path | Dataset,
    *,
    protocol: str,
    seed: int,
    target_cell: str,
    n_target: int,
) -> dict[str, Any]:
    """The genes of each role of a transfer run.

    ``honest``: source train genes train, source valid genes select, the target's train + valid genes
    are the unlabelled adaptation set, the target's test genes are scored (the split manifest holds
    in every cell, so origin, uncross and cross are scored on the same genes). ``paper``: every source
    gene outside its valid split trains (the valid split still selects: no target label may), the
    target is cut into two seeded halves, adaptation and test (:func:`paper_halves`). ``probe``: genes
    of both cells that no run trains on (their features, not labels, measure domain separability).
    """
    if protocol not in PROTOCOLS:
        raise InputError(
            f"unknown protocol {protocol!r}", key="experiments.transfer.protocol", hint="use honest or paper"
        )
    if protocol == "honest":
        return {
            "train": [GeneSet(source, ("train",))],
            "valid": [GeneSet(source, ("valid",))],
            "adapt": [GeneSet(target, ("train", "valid"))],
            "test": GeneSet(target, ("test",)),
            "probe": (GeneSet(source, ("test",)), GeneSet(target, ("test",))),
        }
    halves = paper_halves(n_target, seed=seed, target=target_cell)
    return {
        "train": [GeneSet(source, ("train", "test"))],
        "valid": [GeneSet(source, ("valid",))],
        "adapt": [GeneSet(target, mask=halves)],
        "test": GeneSet(target, mask=~halves),
        "probe": (GeneSet(source, ("valid",)), GeneSet(target, mask=~halves)),
    }

"""Model input from a dataset, as a card's ``input`` section asks for it.

``input.marks`` picks marks by name, in the card's order (datasets may store them in any order);
``input.values`` picks raw ``counts`` or the normalized ``signal``; ``input.transform: log1p``
applies ``log(1 + x)``. The result is float32 ``(genes, marks, bins)``, the layout every model
takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chromexpr.dataset import SPLITS, Dataset
from chromexpr.errors import InputError


@dataclass
class ModelData:
    """Everything training needs from one dataset, aligned by gene.

    Attributes:
        x: ``(genes, marks, bins)`` float32 model input.
        y: ``(genes,)`` int64 0/1 labels.
        split: ``(genes,)`` ``train`` / ``valid`` / ``test``.
        gene_ids: ``(genes,)`` gene identifiers.
        marks: the card's marks, the order of ``x`` axis 1.
        expression: ``(genes,)`` float64 expression values (the regression target's source), or None.
    """

    x: np.ndarray
    y: np.ndarray
    split: np.ndarray
    gene_ids: np.ndarray
    marks: list[str]
    expression: np.ndarray | None = None

    def mask(self, split: str) -> np.ndarray:
        """Boolean ``(genes,)`` mask of one split."""
        return self.split == split

    def counts(self) -> dict[str, int]:
        """Genes per split."""
        return {s: int(self.mask(s).sum()) for s in SPLITS}


def model_inputs(dataset: Dataset, card: Mapping[str, Any], *, source: str | Path | None = None) -> ModelData:
    """Select and transform a dataset's values as ``card['input']`` says.

    Args:
        dataset: a loaded dataset.
        card: a loaded model card (``chromexpr.models.load_card``).
        source: the dataset's file, named in error messages.

    Raises:
        InputError: a mark of the card is missing from the dataset (the message names it), the bin
            count differs, ``log1p`` meets negative values, labels are not 0/1, or a split is empty
            or (train) holds a single class.
    """
    spec = card["input"]
    name = card.get("name", "?")
    available = [str(m) for m in dataset.marks]
    missing = [m for m in spec["marks"] if m not in available]
    if missing:
        raise InputError(
            f"model card '{name}' needs mark(s) {', '.join(missing)} but the dataset has only {', '.join(available)}",
            path=source,
            key="input.marks",
            hint="build the dataset with these marks, or list only available marks in the card",
        )
    index = [available.index(m) for m in spec["marks"]]
    values = dataset.counts if spec["values"] == "counts" else dataset.signal
    if values.shape[2] != spec["bins"]:
        raise InputError(
            f"model card '{name}' expects {spec['bins']} bins, the dataset has {values.shape[2]}",
            path=source,
            key="input.bins",
            hint="use a dataset binned with the card's geometry",
        )
    x = np.asarray(values[:, index, :], dtype=np.float32)  # (genes, card marks, bins)
    if spec["transform"] == "log1p":
        if (x < 0).any():
            raise InputError(
                f"input.transform log1p needs non-negative values but the dataset's "
                f"{spec['values']} has negative entries",
                path=source,
                key="input.transform",
                hint="use log1p with values: counts (the signal is already normalized)",
            )
        x = np.log1p(x)
    if not np.isfinite(x).all():
        raise InputError(
            f"the dataset's {spec['values']} hold NaN or infinite values",
            path=source,
            hint="rebuild the dataset",
        )
    y = np.asarray(dataset.label).astype(np.int64)
    if not np.isin(y, (0, 1)).all():
        raise InputError("labels must be 0/1", path=source, hint="rebuild the dataset")
    split = np.asarray(dataset.split).astype(str)
    data = ModelData(
        x=x,
        y=y,
        split=split,
        gene_ids=np.asarray(dataset.gene_ids).astype(str),
        marks=list(spec["marks"]),
        expression=np.asarray(dataset.expression, dtype=np.float64),
    )
    for s, n in data.counts().items():
        if n == 0:
            raise InputError(
                f"the dataset has no {s} genes",
                path=source,
                hint="check the split manifest (results/reference/splits.tsv)",
            )
    if len(np.unique(y[data.mask("train")])) < 2:
        raise InputError("the train split holds a single class; nothing to learn", path=source)
    return data

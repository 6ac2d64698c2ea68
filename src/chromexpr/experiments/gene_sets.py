"""Gene sets: which genes an experiment trains and tests on, and how they are split (read while the DAG is built).

Each paper measured its numbers on its own genes: DeepChrome, AttentiveChrome and DeepChrome 2.0 on every gene
of the REMC table cut into sorted-id thirds, TransferChrome after a 5 kb TSS filter, DeepDiff on every gene cut
into blocks of 6,100 test, 10,000 train and 2,360 valid genes. A gene set is such a protocol: a TSS filter
(``min_tss_distance``), chromosomes, and a split.

* ``default`` is the set the ``reference`` and ``split`` blocks describe: the single-cell experiment and every
  experiment that reads its runs (cross-cell, interpret, predict, regression) use it.
* ``gene_sets.<name>`` (config) names another: each key it leaves out (or null) is the default set's.
  An experiment with a ``gene_set`` key (``experiments.transfer``, ``experiments.differential``) names one.

Reads are binned once, on every gene with expression whose window fits, with no TSS filter
(``results/reference/tss.tsv``), so every set is a subset and editing one bins nothing again; each set has its
split manifest (``manifest``) and its datasets are cut out of the same counts (``dataset``): the default set's
at ``results/datasets/{cell}.npz``, another's at ``results/datasets/genesets/{name}/{cell}.npz``. The
single-cell runs an experiment reads on another set live under ``results/runs/genesets/{name}/single_cell/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chromexpr.dataset import describe_gene_set as describe
from chromexpr.errors import InputError

#: the gene set of the ``reference`` and ``split`` blocks
DEFAULT = "default"
#: what a gene set says (each null or absent key is the default set's)
KEYS = ("min_tss_distance", "chromosomes", "split")


def configured(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``gene_sets`` block (empty when absent)."""
    return dict(config.get("gene_sets") or {})


def of(block: Mapping[str, Any]) -> str:
    """The gene set an experiment's config ``block`` names (its ``gene_set``; null: the default set)."""
    return str(block.get("gene_set") or DEFAULT)


def used(config: Mapping[str, Any]) -> list[str]:
    """The gene sets other than the default that enabled experiments use, in experiment order."""
    from chromexpr.experiments import registry

    names = [e.gene_set(config) for e in registry.enabled(config)]
    return [n for n in dict.fromkeys(names) if n != DEFAULT]


def spec(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The gene set ``name`` resolved: ``name``, ``min_tss_distance``, ``chromosomes`` (``[]``: every chromosome
    with a size) and ``split`` (the split block's keys), the default set's where the set leaves a key out."""
    reference, split = config["reference"], dict(config["split"])
    resolved = {
        "name": name,
        "min_tss_distance": int(reference["min_tss_distance"]),
        "chromosomes": list(reference["chromosomes"]),
        "split": split,
    }
    if name == DEFAULT:
        return resolved
    own = configured(config)[name] or {}
    for key in ("min_tss_distance", "chromosomes"):
        if own.get(key) is not None:
            resolved[key] = int(own[key]) if key == "min_tss_distance" else list(own[key])
    if own.get("split") is not None:
        # a split of its own: its keys over the split schema's defaults (not over the default set's split)
        resolved["split"] = {**SPLIT_DEFAULTS, **dict(own["split"])}
    return resolved


#: the split block's schema defaults (config/schemas/config.schema.yaml), which a gene set's own split starts from
SPLIT_DEFAULTS: dict[str, Any] = {
    "method": "blocks",
    "seed": 0,
    "fractions": [0.3333333333, 0.3333333333, 0.3333333334],
    "valid_chromosomes": [],
    "test_chromosomes": [],
}


def manifest(name: str) -> str:
    """The split manifest (``gene_id split``) of gene set ``name``: the genes it keeps and their split."""
    return "results/reference/splits.tsv" if name == DEFAULT else f"results/reference/genesets/{name}.tsv"


def dataset(name: str, cell: str = "{cell}") -> str:
    """The dataset of ``cell`` on gene set ``name`` (a pattern with the default ``cell``)."""
    return f"results/datasets/{cell}.npz" if name == DEFAULT else f"results/datasets/genesets/{name}/{cell}.npz"


def single_cell_run(name: str) -> str:
    """The folder pattern (``{model}``, ``{cell}``, ``{seed}``) of the single-cell runs on gene set ``name``."""
    from chromexpr.experiments.registry import SINGLE_CELL_RUN

    if name == DEFAULT:
        return SINGLE_CELL_RUN
    return f"results/runs/genesets/{name}/single_cell/{{model}}/{{cell}}/seed{{seed}}"


def check(config: Mapping[str, Any]) -> None:
    """Every gene set an experiment names is configured, none is called ``default``, and only a source that
    bins reads (demo, remc, local) has gene sets (a processed source's files fix its genes and split)."""
    from chromexpr.experiments import registry

    sets = configured(config)
    if DEFAULT in sets:
        raise InputError(
            f"'{DEFAULT}' is the gene set of the reference and split blocks",
            key=f"gene_sets.{DEFAULT}",
            hint="give the set another name, or set reference.* and split.* for the default set",
        )
    for e in registry.enabled(config):
        name = e.gene_set(config)
        if name == DEFAULT:
            continue
        key = f"{e.config_key}.gene_set"
        if name not in sets:
            raise InputError(
                f"gene set '{name}' is not configured" + (f" (gene_sets: {', '.join(sets)})" if sets else ""),
                key=key,
                hint=f"add it under gene_sets:, e.g. gene_sets: {{{name}: {{min_tss_distance: 5000}}}}, or "
                "use null for the default set",
            )
        if config["source"]["kind"] == "processed":
            raise InputError(
                f"gene set '{name}': a processed source's files fix its genes and their split",
                key=key,
                hint="use null (the processed files' genes and split)",
            )


__all__ = [
    "DEFAULT",
    "KEYS",
    "check",
    "configured",
    "dataset",
    "describe",
    "manifest",
    "of",
    "single_cell_run",
    "spec",
    "used",
]

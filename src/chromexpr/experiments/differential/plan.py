"""The differential experiment's runs, read while the DAG is built: every card of ``experiments.differential`` on
every pair of cells (``results/runs/differential/{model}/{cell_a}_vs_{cell_b}/seed{n}/``), on both cells'
datasets of the experiment's window (cut from the same binning as the single-cell datasets)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chromexpr.errors import InputError
from chromexpr.experiments import gene_sets
from chromexpr.experiments.registry import block_enabled, block_models, config_block, duplicates
from chromexpr.models import load_card
from chromexpr.reporting.manifest import figure_files

TITLE = "Differential expression (DeepDiff)"
CONFIG_KEY = "experiments.differential"
SECTION = "differential"
RUN = "results/runs/differential/{model}/{cell_a}_vs_{cell_b}/seed{seed}"
#: a cell's own run of a card that pair models are assembled from (``cell_runs``: DeepDiff's AttentiveChrome
#: baseline), trained once per cell and seed and shared by every pair of the cell
CELL_RUN = "results/runs/differential/cells/{model}/{cell}/seed{seed}"


def _block(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return config_block(config, CONFIG_KEY)


def enabled(config: Mapping[str, Any]) -> bool:
    return block_enabled(config, CONFIG_KEY)


def models(config: Mapping[str, Any]) -> list[str]:
    """The cards of the experiment (none when it is off)."""
    return block_models(config, CONFIG_KEY)


def gene_set(config: Mapping[str, Any]) -> str:
    """The experiment's gene set (``gene_set``; null: the default set): the genes of its datasets and their split
    (the paper's: ``split.method: deepdiff``, no TSS filter)."""
    return gene_sets.of(_block(config))


def window_bp(config: Mapping[str, Any]) -> int | None:
    """The experiment's window (the paper: TSS +/- 10 kb), when it runs."""
    return int(_block(config)["window_bp"]) if enabled(config) else None


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """The pairs table (``cell_a cell_b``, tab-separated, a header line, ``#`` comments allowed).

    Raises:
        InputError: naming the file and line of a malformed row.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "the pairs table does not exist",
            path=path,
            key="experiments.differential.pairs",
            hint="write a TSV with a header 'cell_a<TAB>cell_b' and one pair per line, or list the pairs in "
            "the config: pairs: [[E116, E123]]",
        )
    pairs: list[tuple[str, str]] = []
    header_seen = False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if not header_seen:
            if [f.strip() for f in fields] != ["cell_a", "cell_b"]:
                raise InputError(f"the header is {fields!r}, expected 'cell_a<TAB>cell_b'", path=path, line=number)
            header_seen = True
            continue
        if len(fields) != 2 or not all(f.strip() for f in fields):
            raise InputError(
                f"expected two tab-separated cells, got {line!r}", path=path, line=number, hint="cell_a<TAB>cell_b"
            )
        pairs.append((fields[0].strip(), fields[1].strip()))
    if not pairs:
        raise InputError("the pairs table lists no pair", path=path, key="experiments.differential.pairs")
    return pairs


def pairs(config: Mapping[str, Any], resolve: Callable[[str], Any] | None = None) -> list[tuple[str, str]]:
    """The configured pairs: ``experiments.differential.pairs`` as a list, or the TSV it names (``resolve``
    turns the configured path into a readable one; default: as written)."""
    value = _block(config)["pairs"]
    if isinstance(value, str):
        return read_pairs(resolve(value) if resolve else value)
    return [(str(a), str(b)) for a, b in value]


def pair_name(cell_a: str, cell_b: str) -> str:
    """The run folder of a pair: ``{cell_a}_vs_{cell_b}`` (the LFC is B over A)."""
    return f"{cell_a}_vs_{cell_b}"


def cells(pair_list: Sequence[tuple[str, str]]) -> list[str]:
    """The paired cells, each once, in order of first appearance."""
    return list(dict.fromkeys(c for pair in pair_list for c in pair))


def check(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any]) -> None:
    """Pairs of two different configured cells, each once; every model a differential card; the Fig. 5 pair
    among the pairs; raw counts for the targets; a window of whole bins."""
    check_pairs(config, pairs(config, resolve), cards)


def check_pairs(
    config: Mapping[str, Any], pair_list: Sequence[tuple[str, str]], cards: Mapping[str, Mapping[str, Any]]
) -> None:
    """``check`` on pairs already read."""
    block = _block(config)
    key = "experiments.differential"
    configured = list(config["cells"])
    for a, b in pair_list:
        unknown = [c for c in (a, b) if c not in configured]
        if unknown:
            raise InputError(
                f"pair {a} / {b}: {', '.join(unknown)} not in 'cells' ({', '.join(configured)})",
                key=f"{key}.pairs",
                hint="pair configured cells, or switch the experiment off: experiments: {differential: {enabled: false}}",
            )
        if a == b:
            raise InputError(f"pair {a} / {b} pairs a cell with itself", key=f"{key}.pairs")
    dup = duplicates([pair_name(*p) for p in pair_list] + duplicates(list(block["models"])))
    if dup:
        raise InputError(f"{', '.join(dup)} listed more than once", key=key)
    for model in block["models"]:
        if cards[model]["task"] != "differential":
            raise InputError(
                f"'{model}' is a {cards[model]['task']} card; the differential experiment trains differential cards",
                key=f"{key}.models",
                hint="use deepdiff_raw_d ... deepdiff_raw_aux_siamese, svr_best_bin, svr_two_layer, relieff_rf, "
                "attentivechrome_diff",
            )
    for model, cell_card in cell_models(config, cards).items():
        part = cards[cell_card] if cell_card in cards else load_card(cell_card)
        whole = cards[model]
        # the pair model is the two cell models side by side: the same inputs (values, transform, marks in order,
        # bins) and the same hyperparameters, else its halves would load weights of another shape or read
        # other inputs than they were trained on
        differs = [k for k in ("input", "hyperparameters") if dict(part[k]) != dict(whole[k])]
        if part["task"] != "regression" or differs:
            what = f"a {part['task']} card" if part["task"] != "regression" else f"its {' and '.join(differs)} differ"
            raise InputError(
                f"'{model}' is assembled from runs of '{cell_card}', but {what}",
                key=f"{key}.models",
                hint=f"give '{cell_card}' the regression task and '{model}'s input and hyperparameters, or remove "
                f"'{model}'",
            )
    attention = block["attention_pair"]
    if attention is not None and tuple(attention) not in [tuple(p) for p in pair_list]:
        raise InputError(
            f"attention_pair {attention[0]} / {attention[1]} is not one of the pairs", key=f"{key}.attention_pair"
        )
    if not block["counts"] and config["source"]["kind"] != "remc":
        raise InputError(
            "the differential targets need raw RNA-seq read counts, and this source has none to download",
            key=f"{key}.counts",
            hint="name a gene_id x cell table of raw counts (the REMC 57epigenomes.N.pc layout), e.g. "
            "chromexpr:demo/counts.tsv for the demo",
        )
    if block["window_bp"] % config["bins"]["bin_bp"]:
        raise InputError(
            f"window_bp ({block['window_bp']}) is not a multiple of bins.bin_bp ({config['bins']['bin_bp']})",
            key=f"{key}.window_bp",
            hint="the paper: 10000 with 100-bp bins",
        )
    bins = 2 * int(block["window_bp"]) // int(config["bins"]["bin_bp"])
    wrong = [m for m in block["models"] if int(cards[m]["input"].get("bins", bins)) != bins]
    if wrong:
        takes = sorted({int(cards[m]["input"]["bins"]) for m in wrong})
        raise InputError(
            f"window_bp {block['window_bp']} gives {bins} bins of {config['bins']['bin_bp']} bp, but "
            f"{', '.join(wrong)} take(s) {' or '.join(map(str, takes))} bins",
            key=f"{key}.window_bp",
            hint=f"set it to {takes[0] * int(config['bins']['bin_bp']) // 2} (the paper: 10000 with 100-bp bins)",
        )


def geometry(bins: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The bin geometry of the differential datasets: ``bins`` (the single-cell geometry) at the experiment's
    window."""
    return {**bins, "window_bp": _block(config)["window_bp"]}


def cell_models(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each model of the experiment that is assembled from cell runs (its card's ``cell_runs``) -> their card."""
    return {m: str(cards[m]["cell_runs"]) for m in models(config) if cards[m].get("cell_runs")}


def cell_run_inputs(
    config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], model: str, cell_a: str, cell_b: str, seed: str
) -> dict[str, str]:
    """A pair job's cell runs (``cell_a_*``, ``cell_b_*``: model, metrics, history) when ``model`` is assembled from
    them; none for a model that trains on the pair."""
    card = cell_models(config, cards).get(model)
    if card is None:
        return {}
    files = {}
    for side, cell in (("a", cell_a), ("b", cell_b)):
        run = CELL_RUN.format(model=card, cell=cell, seed=seed)
        files.update({f"cell_{side}_{name}": f"{run}/{name}.{ext}" for name, ext in CELL_RUN_FILES})
    return files


#: the files of a cell run an assembled pair model reads
CELL_RUN_FILES = (("model", "pt"), ("metrics", "json"), ("history", "tsv"))


def training_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """What a differential torch job uses: train.device and train.patience, and the experiment's max_epochs
    (null: the card's); the batch size is always the card's (DeepDiff: 10)."""
    return {
        "device": config["train"]["device"],
        "patience": config["train"]["patience"],
        "max_epochs": _block(config)["max_epochs"],
    }


def run_files(
    config: Mapping[str, Any], pair_list: Sequence[tuple[str, str]], name: str, of: Sequence[str] | None = None
) -> list[str]:
    """``name`` of every run (of the models ``of``, default all), every pair and seed."""
    return [
        RUN.format(model=model, cell_a=a, cell_b=b, seed=seed) + f"/{name}"
        for model in (models(config) if of is None else of)
        for a, b in pair_list
        for seed in config["train"]["seeds"]
    ]


def attention_pair(config: Mapping[str, Any], pair_list: Sequence[tuple[str, str]]) -> list[str]:
    """The pair of Fig. 5: ``attention_pair``, or the first pair (none without pairs)."""
    return list(_block(config)["attention_pair"] or pair_list[0]) if pair_list else []


DIFFERENTIAL_FIGURE_STEMS = ("fig4_pcc_per_pair", "fig5_attention", "scatter_lfc")
DIFFERENTIAL_TABLE_FILES = (
    "per_pair.tsv",
    "runs.tsv",
    "relative_pcc.tsv",
    "table1.tsv",
    "table1.md",
    "claims.tsv",
    "lfc_counts.tsv",
    "attention.tsv",
    "scatter.tsv.gz",
    "section.html",
)


def report_files(config: Mapping[str, Any] | None = None) -> list[str]:
    """Every file ``build_differential_section`` writes, named relative to its folder."""
    return [*DIFFERENTIAL_TABLE_FILES, *figure_files(DIFFERENTIAL_FIGURE_STEMS)]

"""`chromexpr check-config` against the DAG build: the same bad configs, fed to both, give the same message.

Each case is a config layered over the demo's plus the files it names, written into a fresh working directory;
`snakemake -n --configfile config/config.yaml CASE` and `chromexpr check-config config/config.yaml CASE` run there.
Both must refuse it, with one message (no traceback) that names the key or the file, and the two messages must
be equal. A YAML syntax error in a --configfile is not among them: Snakemake parses --configfile itself before
the Snakefile runs (its message is Snakemake's; check-config names the file and line).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MARKS = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"]
#: every experiment off and no predictions: a base for the source cases
OFF = (
    "experiments: {transfer: {enabled: false}, cross_cell: {enabled: false}, differential: {enabled: false}, "
    "regression: {enabled: false}, interpret: {enabled: false}}\npredict: {samples: null}\n"
)


def local_source(rows: list[tuple[str, str, str]], *, expression: str = "chromexpr:demo/expression.tsv") -> str:
    """A local-source config over a files table of ``rows`` (the demo's genes and chromosome sizes)."""
    table = "cell\tmark\tpath\n" + "".join(f"{c}\t{m}\t{p}\n" for c, m, p in rows)
    Path("cells.tsv").write_text(table)
    for _, _, path in rows:
        if path.startswith("have/"):
            Path(path).parent.mkdir(exist_ok=True)
            Path(path).write_bytes(b"")
    return (
        "source: {kind: local, local: {files: cells.tsv, annotation: chromexpr:demo/genes.tsv, "
        f"expression: {expression}, chrom_sizes: chromexpr:demo/chrom.sizes}}}}\n"
        "reference: {annotation_format: tss_table}\ncells: [E003]\n" + OFF
    )


def full_rows(cell: str = "E003") -> list[tuple[str, str, str]]:
    return [(cell, m, f"have/{cell}-{m}.bw") for m in MARKS]


def predict_table(rows: dict[str, str], sample: str = "K562") -> str:
    """A predict.tsv with one row per mark of ``rows`` ({mark: path}), and the config naming it."""
    text = "sample\tmark\tpath\n" + "".join(f"{sample}\t{m}\t{p}\n" for m, p in rows.items())
    Path("predict.tsv").write_text(text)
    return "predict: {samples: predict.tsv}\n"


DEMO_READS = {m: f"resources/demo/E123-{m}.tagAlign.gz" for m in MARKS}


# (case, a function run in the working directory that writes what the case needs and returns its YAML,
#  a part of the message)
CASES = [
    # the schema and the rules between keys
    ("schema", lambda: "bins: {window_bp: -5}\n", "bins.window_bp"),
    ("unknown key", lambda: "trian: {seeds: [0]}\n", "'trian'"),
    ("window vs bin", lambda: "bins: {window_bp: 5050}\n", "not a multiple of bins.bin_bp"),
    ("duplicate mark", lambda: "marks: [H3K4me3, H3K4me3]\n", "listed more than once"),
    ("a card's mark missing", lambda: "marks: [H3K4me3]\n" + OFF, "which 'marks' lacks"),
    ("name '..'", lambda: "cells: ['..']\n" + OFF, "cells"),
    # each experiment's rules
    ("transfer source", lambda: "experiments: {transfer: {source: E999}}\n", "E999"),
    ("cross-cell model", lambda: "experiments: {cross_cell: {model: logreg}}\n", "scikit-learn card"),
    ("pair with an unknown cell", lambda: "experiments: {differential: {pairs: [[E116, E999]]}}\n", "E999"),
    ("pair of one cell", lambda: "experiments: {differential: {pairs: [[E116, E116]]}}\n", "with itself"),
    ("differential window", lambda: "experiments: {differential: {window_bp: 2000}}\n", "take(s) 200 bins"),
    ("regression held-out cell", lambda: "experiments: {regression: {heldout_cells: [E999]}}\n", "E999"),
    ("interpret cell", lambda: "experiments: {interpret: {cells: [E999]}}\n", "E999"),
    ("GAN top_k", lambda: "experiments: {interpret: {gan: {n_samples: 10, top_k: 20}}}\n", "top_k 20"),
    ("predict model", lambda: "predict: {models: [logreg]}\n", "only torch models"),
    ("predict cell", lambda: "predict: {cell: E999}\n", "predict.cell E999"),
    ("predict seed", lambda: "predict: {seed: 7}\n", "predict.seed 7"),
    # the files and tables the config names
    ("missing pairs table", lambda: "experiments: {differential: {pairs: nothere.tsv}}\n", "pairs table does not"),
    ("missing counts", lambda: "experiments: {differential: {counts: nothere.tsv}}\n", "'nothere.tsv' not found"),
    (
        "counts without a paired cell",
        lambda: (
            Path("counts.tsv").write_text("gene_id\tE116\nENSG1\t3\n")
            and "experiments: {differential: {counts: counts.tsv}}\n"
        ),
        "E123",
    ),
    ("missing shipped file", lambda: "source: {demo: {expression: chromexpr:demo/nope.tsv}}\n", "ships no file"),
    ("missing published table", lambda: "report: {published: nothere.tsv}\n", "report.published"),
    ("missing TSS table", lambda: "predict: {tss: nothere.tsv}\n", "predict.tss"),
    ("empty predict table", lambda: Path("predict.tsv").write_text("") or "predict: {samples: predict.tsv}\n", "empty"),
    ("sample '..'", lambda: predict_table(DEMO_READS, sample=".."), "'..' is not a valid name"),
    ("sample file missing", lambda: predict_table({**DEMO_READS, "H3K4me3": "reads/k562.gz"}), "reads/k562.gz"),
    (
        "sample file under resources/ that no rule makes",
        lambda: predict_table({**DEMO_READS, "H3K4me3": "resources/demo/E999-H3K4me3.tagAlign.gz"}),
        "E999-H3K4me3",
    ),
    ("sample lacks a mark", lambda: predict_table({m: p for m, p in DEMO_READS.items() if m != "H3K9me3"}), "H3K9me3"),
    ("local: a file missing", lambda: local_source([*full_rows()[:4], ("E003", "H3K9me3", "gone.bw")]), "gone.bw"),
    (
        "local: a mark misspelt",
        lambda: local_source([*full_rows()[:4], ("E003", "H3k9me3", "have/x.bw")]),
        "E003/H3K9me3",
    ),
    ("local: a cell with no files", lambda: local_source(full_rows()) + "cells: [E003, E116]\n", "E116/"),
    ("local: no expression", lambda: local_source(full_rows(), expression="expr.tsv"), "'expr.tsv' not found"),
    (
        "local: expression lacks the cell",
        lambda: (
            Path("expr.tsv").write_text("gene_id\tE116\nENSG1\t3\n")
            and local_source(full_rows(), expression="expr.tsv")
        ),
        "E003",
    ),
    (
        "processed: a split missing",
        lambda: (
            Path("splits.tsv").write_text("cell\tsplit\tpath\nE003\ttrain\ta.csv\n")
            and "source: {kind: processed, processed: {files: splits.tsv}}\ncells: [E003]\n" + OFF
        ),
        "E003 valid",
    ),
]


def _message(text: str, prefix: str) -> str:
    """The error message of a run's output: from the line starting with ``prefix`` to the end."""
    lines = text.rstrip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(prefix)), None)
    assert start is not None, f"no line starting {prefix!r} in:\n{text[-3000:]}"
    return "\n".join([lines[start][len(prefix) :], *lines[start + 1 :]])


def _both(work: Path) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    dag = [
        str(BIN / "snakemake"),
        "-s",
        str(REPO / "Snakefile"),
        "-n",
        "--cores",
        "1",
        "--configfile",
        str(REPO / "config/config.yaml"),
        "case.yaml",
    ]
    check = [str(BIN / "chromexpr"), "check-config", str(REPO / "config/config.yaml"), "case.yaml"]
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(subprocess.run, c, cwd=work, capture_output=True, text=True, env=env) for c in (dag, check)]
        return runs[0].result(), runs[1].result()


@pytest.mark.parametrize(("case", "write", "expected"), CASES, ids=[c[0] for c in CASES])
def test_check_config_refuses_what_the_dag_build_refuses_with_the_same_message(
    tmp_path, monkeypatch, case, write, expected
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.yaml").write_text(write() or "{}\n")
    dag, check = _both(tmp_path)
    dag_out, check_out = dag.stdout + dag.stderr, check.stdout + check.stderr
    assert dag.returncode != 0 and check.returncode != 0, (dag_out[-2000:], check_out[-2000:])
    assert "Traceback" not in dag_out + check_out
    assert "Job stats" not in dag_out  # refused before any job was planned
    message = _message(dag_out, "chromexpr: ")
    assert expected in message, message
    assert _message(check_out, "chromexpr check-config: error: ") == message


def test_check_config_passes_what_the_dag_build_passes(tmp_path):
    """A config of one's own that names files in the working directory passes both."""
    (tmp_path / "predict.tsv").write_text(
        "sample\tmark\tpath\n" + "".join(f"K562\t{m}\t{p}\n" for m, p in DEMO_READS.items())
    )
    (tmp_path / "case.yaml").write_text("predict: {samples: predict.tsv}\ncells: [E003, E123]\n" + OFF)
    dag, check = _both(tmp_path)
    assert dag.returncode == 0, dag.stderr[-3000:]
    assert check.returncode == 0, check.stderr
    assert "valid (demo source, 2 cells" in check.stdout

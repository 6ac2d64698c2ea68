#!/usr/bin/env python
"""Measurement: which DANN lambda schedule do the selected epochs of TransferChrome's cross runs see?

TransferChrome's cross runs ramp the gradient-reversal strength over ``max_epochs`` (the card: 200) but stop
early and keep the epoch with the best source-validation AUROC, so a kept epoch 10 has seen lambda 0.25 only.
On the real E003 (H1) / E123 (K562) sample of the DeepDiff release (``data/real/deepdiff_sample``: 200 genes
per split, TSS +/- 5 kb cut out of its +/- 10 kb, labels by each cell's median over its 19,795 genes), this
trains ``transferchrome_cross`` E003 -> E123 under each schedule and seed with the honest protocol, and the
``transferchrome_uncross`` baseline, then prints per schedule the mean over seeds of the target test AUROC,
the kept epoch, the lambda there, and the domain probe (a fresh classifier telling source from target by the
model's features: 0.5 = the domains are hidden).

    python bench/dann_schedule.py                       # seeds 0 1 2, into bench/out/dann/
    python bench/dann_schedule.py --seeds 0 --max-epochs 60

It is a measurement, not a test: the numbers go into the card's ``deviations:`` and the closing note.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from chromexpr.sources.processed import ingest_processed
from chromexpr.training import train_transfer

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data/real/deepdiff_sample"
COUNTS = REPO / "data/real/remc_counts_9cells.tsv.gz"
#: name -> experiments.transfer.lambda_schedule
SCHEDULES = {
    "card: dann ramp over max_epochs (gamma 10)": None,
    "dann ramp over a tenth of max_epochs (gamma 100)": {"kind": "dann", "gamma": 100.0},
    "constant 0.1": {"kind": "constant", "lambda_max": 0.1},
    "constant 1.0": {"kind": "constant", "lambda_max": 1.0},
}


def datasets(out: Path) -> dict[str, Path]:
    """The sample's two cells as single-cell datasets at TransferChrome's window (100 bins of 100 bp)."""
    found = {}
    for cell in ("E003", "E123"):
        path = out / "datasets" / f"{cell}.npz"
        if not path.exists():
            inputs = {s: SAMPLE / f"{cell}.{s}.csv.gz" for s in ("train", "valid", "test")}
            ingest_processed("deepdiff", inputs, cell, path, expression=COUNTS, window_bp=5000)
        found[cell] = path
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=None, help="default: the card's (200)")
    parser.add_argument("--out", type=Path, default=REPO / "bench/out/dann")
    args = parser.parse_args()
    data = datasets(args.out)
    rows = []
    runs = [("uncross baseline", "uncross", None), *((name, "cross", spec) for name, spec in SCHEDULES.items())]
    for k, (name, variant, spec) in enumerate(runs):
        for seed in args.seeds:
            out = args.out / "runs" / f"{k}-{variant}" / f"seed{seed}"
            started = time.perf_counter()
            m = train_transfer(
                "transferchrome", data["E003"], data["E123"], out, variant=variant, schedule=spec, seed=seed,
                device="cpu", max_epochs=args.max_epochs, log=lambda *a, **k: None,
            )  # fmt: skip
            rows.append(
                {
                    "schedule": name,
                    "seed": seed,
                    "test_auroc": m["test_auroc"],
                    "best_epoch": m["best_epoch"],
                    "epochs_run": m["epochs_run"],
                    "lambda_kept": m.get("selected_grl_lambda"),
                    "probe": m.get("domain_probe_accuracy"),
                    "seconds": time.perf_counter() - started,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'schedule':52s} {'AUROC':>14s} {'epoch kept':>11s} {'lambda there':>13s} {'probe':>14s}")
    for name, _, _ in runs:
        mine = [r for r in rows if r["schedule"] == name]

        def stat(key: str, rows: list[dict] = mine) -> str:
            values = np.array([r[key] for r in rows if r[key] is not None], dtype=float)
            return f"{values.mean():.3f} ± {values.std():.3f}" if len(values) else "-"

        epochs = np.mean([r["best_epoch"] for r in mine])
        print(f"{name:52s} {stat('test_auroc'):>14s} {epochs:>11.1f} {stat('lambda_kept'):>13s} {stat('probe'):>14s}")


if __name__ == "__main__":
    main()

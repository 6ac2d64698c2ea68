#!/usr/bin/env python
"""The GPU check of the performance issue, as one prepared script (run it once on a CUDA machine).

For every torch card, on synthetic data of realistic shape (bench/training.py's generator) and the
same seed, through the real entry points (``train_model``, ``train_differential``,
``train_regression``: the one training loop):

1. a run in fp32 and a run with bf16 autocast, a few epochs each, and the difference of their test
   metric (AUROC for classification, Pearson r for differential, MSE for regression; the issue's
   bound: AUROC within 0.01);
2. which layers still compute in fp32 under autocast (a forward hook records every module's output
   dtype in one autocast forward pass; classification cards);
3. throughput: train genes/s of the last epoch, and seconds per epoch (train + validation);
4. the projected wall time of ``config/remc.yaml``'s single-cell sweep (its cards x 56 cells x its
   seeds, each at its card's ``max_epochs``, an upper bound since early stopping may end runs
   sooner) on one GPU, one job at a time, from the measured epoch times scaled to REMC's 6,601
   train / 6,601 valid genes per cell;
5. several training jobs sharing the GPU: K processes (each capped at 1/K of the GPU's memory by
   ``train.gpu_memory_fraction``) train the same card at once; their summed train genes/s against
   one job alone.

Prints one table per part and writes them to bench/out/gpu_*.tsv. Runs on the CPU too (fp32 only,
the autocast column from CPU autocast), so its logic can be checked without a GPU:

    python bench/gpu.py                                   # everything, on cuda
    python bench/gpu.py --device cpu --genes 600 --epochs 1 --cards deepchrome jamaica_cnn --share 1 2
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
import yaml

from chromexpr.dataset import load_dataset
from chromexpr.models import build_model, list_cards, load_card
from chromexpr.training import model_inputs, train_model
from chromexpr.training.differential import train_differential
from chromexpr.training.regression import train_regression
from chromexpr.training.runtime import limit_gpu_memory

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
REMC_GENES = 6601  # per split and cell: the DeepChrome split of 19,802 genes (6,601 / 6,601 / 6,600)
REMC_CELLS = 56


@functools.cache
def _bench_training():
    """bench/training.py as a module (its dataset generator)."""
    spec = importlib.util.spec_from_file_location("bench_training", ROOT / "bench" / "training.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def datasets(n_genes: int, n_bins: int, cells: int) -> list[Path]:
    """``cells`` (at most 3) synthetic datasets of the same genes and split, cells A, B, C (seeds 0, 1, 2),
    cached in bench/out."""
    make = _bench_training().make_dataset
    OUT.mkdir(parents=True, exist_ok=True)
    return [
        make(n_genes, n_bins, seed, OUT / f"gpu_dataset_g{n_genes}_b{n_bins}_{cell}.npz", cell=cell)
        for seed, cell in enumerate("ABC"[:cells])
    ]


def run_card(name: str, device: str, amp: bool, epochs: int, genes: int, work: Path) -> dict:
    """Train ``name`` for ``epochs`` epochs; the test metric, rates and epoch times of the run."""
    card = load_card(name)
    task = card.get("task", "classification")
    records: list[dict] = []
    common = {
        "seed": 0,
        "device": device,
        "max_epochs": epochs,
        "resume": False,
        "log": lambda message: None,
        "amp": amp,
        "callback": records.append,
    }
    out = work / f"{name}_{'bf16' if amp else 'fp32'}"
    bins = card["input"]["bins"]
    if task == "differential":
        a, b = datasets(genes, bins, 2)
        m = train_differential(card, a, b, out, **common)
        metric, value = "test_pearson", m["test_pearson"]
    elif task == "regression":
        cells = dict(zip("ABC", datasets(genes, bins, 3), strict=True))
        m = train_regression(
            card, cells, out, train_cells=["A", "B"], valid_cells=["C"], test_cells=["A", "B", "C"], **common
        )
        metric, value = "test_mse", m["test_mse"]
    else:
        (dataset,) = datasets(genes, bins, 1)
        m = train_model(card, dataset, out, **common)
        metric, value = "test_auroc", m["test_auroc"]
    last = records[-1]
    return {
        "model": name,
        "task": task,
        "amp": bool(m.get("amp", amp)),
        "metric": metric,
        "value": float(value),
        "n_train": int(m["n_train"]),
        "n_valid": int(m["n_valid"]),
        "train_genes_per_s": m["n_train"] / max(last["train_seconds"], 1e-9),
        "epoch_s": float(last["seconds"]),
        "train_epoch_s": float(last["train_seconds"]),
        "batch": card["training"]["batch_size"],
    }


def fp32_layers(name: str, device: str, genes: int) -> str:
    """Module classes whose output stays float32 in one forward pass under bf16 autocast."""
    card = load_card(name)
    if card.get("task", "classification") != "classification":
        return "-"
    (dataset,) = datasets(genes, card["input"]["bins"], 1)
    dev = torch.device(device)
    model = build_model(card).to(dev).eval()
    x = torch.from_numpy(model_inputs(load_dataset(dataset), card).x[:256]).to(dev)  # (256, marks, bins)
    seen: dict[str, set[str]] = {}

    def hook(module: torch.nn.Module, args: object, output: object) -> None:
        outputs = output if isinstance(output, tuple) else (output,)
        for value in outputs:
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                seen.setdefault(type(module).__name__, set()).add(str(value.dtype).replace("torch.", ""))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16):
            model(x)
    except RuntimeError as exc:  # e.g. oneDNN has no bf16 LSTM on some CPUs; CUDA does
        return f"autocast forward failed on {dev.type}: {str(exc).splitlines()[0][:60]}"
    finally:
        for handle in handles:
            handle.remove()
    fp32 = sorted(k for k, v in seen.items() if "float32" in v)
    return ", ".join(fp32) if fp32 else "none"


def project_sweep(rows: pd.DataFrame, config: Path) -> pd.DataFrame:
    """Hours of the config's single-cell sweep on one device, one job at a time, from epoch times."""
    train = yaml.safe_load(config.read_text())["train"]
    seeds = len(train["seeds"])
    out = []
    for name in train["models"]:
        card = load_card(name)
        if card["framework"] != "torch":
            continue
        hit = rows[(rows["model"] == name) & rows["use"]]
        if hit.empty:
            continue
        r = hit.iloc[0]
        epoch = r["train_epoch_s"] * REMC_GENES / r["n_train"] + (r["epoch_s"] - r["train_epoch_s"]) * REMC_GENES / max(
            r["n_valid"], 1
        )
        epochs = train["max_epochs"] or card["training"]["max_epochs"]
        hours = epoch * epochs * REMC_CELLS * seeds / 3600
        out.append({"model": name, "remc_epoch_s": round(epoch, 2), "max_epochs": epochs, "runs": REMC_CELLS * seeds,
                    "hours_at_most": round(hours, 2)})  # fmt: skip
    table = pd.DataFrame(out)
    if not table.empty:
        table.loc[len(table)] = {
            "model": "total (torch cards)",
            "hours_at_most": round(table["hours_at_most"].sum(), 2),
        }
    return table


def share(card: str, device: str, jobs: Sequence[int], epochs: int, genes: int, work: Path) -> pd.DataFrame:
    """Summed train genes/s of K concurrent training processes against one alone."""
    rows = []
    for k in jobs:
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--device",
                    device,
                    "--epochs",
                    str(epochs),
                    "--genes",
                    str(genes),
                    "_train",
                    "--card",
                    card,
                    "--fraction",
                    str(1.0 / k),
                    "--out",
                    str(work / f"share{k}_{i}"),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for i in range(k)
        ]
        results = []
        for proc in procs:
            stdout, _ = proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(f"a sharing job failed (exit {proc.returncode})")
            results.append(json.loads(stdout.strip().splitlines()[-1]))
        rows.append({"card": card, "jobs": k, "memory_fraction": round(1.0 / k, 3),
                     "sum_train_genes_per_s": round(sum(r["train_genes_per_s"] for r in results)),
                     "wall_s": round(time.perf_counter() - started, 1)})  # fmt: skip
    table = pd.DataFrame(rows)
    table["speed_up"] = (table["sum_train_genes_per_s"] / table["sum_train_genes_per_s"].iloc[0]).round(2)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--genes", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (>= 2: the last one is timed)")
    parser.add_argument("--cards", nargs="*", default=None, help="default: every torch card")
    parser.add_argument("--share", nargs="*", type=int, default=[1, 2, 4, 8], help="concurrent jobs to try")
    parser.add_argument("--share-card", default="deepchrome")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "remc.yaml")
    sub = parser.add_subparsers(dest="child")
    child = sub.add_parser("_train", help=argparse.SUPPRESS)
    child.add_argument("--card", required=True)
    child.add_argument("--fraction", type=float, required=True)
    child.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.child == "_train":
        if args.device.startswith("cuda"):
            limit_gpu_memory(args.fraction)
        row = run_card(args.card, args.device, args.device.startswith("cuda"), args.epochs, args.genes, args.out)
        print(json.dumps(row))
        return 0

    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu to check the script itself")
    names = args.cards or [n for n in list_cards() if load_card(n)["framework"] == "torch"]
    label = torch.cuda.get_device_name() if cuda else f"cpu, {torch.get_num_threads()} threads"
    print(f"device {label}; torch {torch.__version__}; {args.genes} genes, {args.epochs} epochs", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="chromexpr-gpu-") as tmp:
        work = Path(tmp)
        for name in names:
            started = time.perf_counter()
            runs = [
                run_card(name, args.device, amp, args.epochs, args.genes, work)
                for amp in ([False, True] if cuda else [False])
            ]
            layers = fp32_layers(name, args.device, args.genes)
            for r in runs:
                r["fp32_under_autocast"] = layers
                r["use"] = r["amp"] == cuda  # the projection uses the run the workflow would do
            if len(runs) == 2:
                runs[1]["bf16_minus_fp32"] = runs[1]["value"] - runs[0]["value"]
            rows.extend(runs)
            print(f"  {name:26s} {time.perf_counter() - started:6.1f} s", file=sys.stderr)
        table = pd.DataFrame(rows)
        sharing = share(args.share_card, args.device, args.share, args.epochs, args.genes, work) if args.share else None
    shown = table.drop(columns=["use"]).round(4)
    print(shown.to_string(index=False))
    shown.to_csv(OUT / "gpu_cards.tsv", sep="\t", index=False)
    if "bf16_minus_fp32" in table:
        auroc = table[(table["metric"] == "test_auroc") & table["bf16_minus_fp32"].notna()]
        worst = auroc["bf16_minus_fp32"].abs().max()
        print(
            f"\nbf16 vs fp32 test AUROC: largest difference {worst:.4f} (bound 0.01: {'met' if worst <= 0.01 else 'NOT met'})"
        )
    sweep = project_sweep(table, args.config)
    print(f"\nprojected single-cell sweep of {args.config.name}, one job at a time on this device:")
    print(sweep.to_string(index=False))
    sweep.to_csv(OUT / "gpu_sweep.tsv", sep="\t", index=False)
    if sharing is not None:
        print("\nseveral jobs on one device (train.gpu_memory_fraction = 1/K each):")
        print(sharing.to_string(index=False))
        sharing.to_csv(OUT / "gpu_share.tsv", sep="\t", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

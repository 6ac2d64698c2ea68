#!/usr/bin/env python
"""Benchmark: training and inference throughput (genes/s) of every model card.

Builds (once, cached in bench/out/) a synthetic dataset of realistic shape, 6,000 genes x 5 marks x
100 bins with the DeepChrome 60/20/20 split (3,600 train genes), then for each model card:

* training: ``train_model(card, dataset, ..., max_epochs=2)`` (the real entry point: checkpoints,
  validation and all); reported rate = train genes / seconds of the training pass of the LAST
  epoch (the first one pays for warm-up: allocator, oneDNN / cuDNN kernel choice). For
  scikit-learn cards: train genes / the one fit's seconds.
* inference: the trained model scores all 6,000 genes (torch: eval mode, EVAL_BATCH = 256 genes per forward,
  bf16 autocast on CUDA, after one warm-up pass; scikit-learn: ``predict_proba``), best of 3.
* data share (torch): drawing one epoch's batch order and gathering its batches at the card's
  batch size, timed alone, as a share of the epoch's training pass; the rest is compute.

Runs on every device given (default: cpu, plus cuda when available) and prints one table; the
rows are also written to bench/out/training_<device>.tsv.

    python bench/training.py                       # every card, cpu (+ cuda)
    python bench/training.py --device cuda --cards deepchrome attentivechrome
    python bench/training.py --genes 20000 --epochs 3
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from chromexpr.dataset import CANONICAL_MARKS, build_dataset, load_dataset, save_dataset
from chromexpr.models import build_model, list_cards, load_card
from chromexpr.training import model_inputs, predict_logits, resolve_device, train_model
from chromexpr.training.model_file import load_model_file
from chromexpr.training.sklearn_file import SKLEARN_MODEL, load_sklearn_file

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
MARKS = list(CANONICAL_MARKS)


def make_dataset(n_genes: int, n_bins: int, seed: int, path: Path, cell: str = "BENCH") -> Path:
    """Counts with REMC-like spread: per-gene depth lognormal, per-mark base rates, an H3K4me3 /
    H3K36me3 signal that tracks expression, so the models have something to learn."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    expression = rng.lognormal(1.0, 2.0, n_genes)
    z = (np.log1p(expression) - np.log1p(expression).mean()) / np.log1p(expression).std()
    base = np.array([0.8, 1.5, 1.2, 1.0, 0.9])[None, :, None]  # reads per bin, per mark
    depth = rng.lognormal(0.0, 0.5, n_genes)[:, None, None]
    profile = np.exp(-0.5 * ((np.arange(n_bins) - n_bins / 2) / 8.0) ** 2)[None, :]  # TSS peak
    rate = base * depth * np.ones((1, len(MARKS), n_bins))
    rate[:, 0] *= 1 + 4 * profile * np.exp(0.8 * z)[:, None]  # H3K4me3 at the TSS
    rate[:, 2] *= np.exp(0.4 * z)[:, None]  # H3K36me3 over the body
    rate[:, 3] *= np.exp(-0.4 * z)[:, None]  # H3K27me3 repressive
    counts = rng.poisson(rate).astype(np.int32)  # (genes, marks, bins)
    n_train, n_valid = n_genes * 6 // 10, n_genes * 2 // 10
    split = np.array(["train"] * n_train + ["valid"] * n_valid + ["test"] * (n_genes - n_train - n_valid))
    dataset = build_dataset(
        counts,
        [f"BENCH{i:06d}" for i in range(n_genes)],
        MARKS,
        expression,
        split,
        cell=cell,
        geometry={"n_bins": n_bins},
    )
    return save_dataset(dataset, path)


def bench_card(name: str, dataset: Path, device: str, epochs: int, work: Path) -> dict:
    card = load_card(name)
    run = work / f"{name}_{device}"
    epoch_train_seconds: list[float] = []
    metrics = train_model(
        card,
        dataset,
        run,
        seed=0,
        device=device,
        max_epochs=epochs,
        resume=False,
        log=lambda message: None,
        callback=lambda record: epoch_train_seconds.append(record["train_seconds"]),
    )
    data = model_inputs(load_dataset(dataset), card)
    n_genes = data.x.shape[0]
    if card["framework"] == "sklearn":
        train_rate = metrics["train_genes_per_second"]
        estimator = load_sklearn_file(run / SKLEARN_MODEL)
        flat = data.x.reshape(n_genes, -1)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            estimator.predict_proba(flat)
            times.append(time.perf_counter() - start)
        batch = None
        data_s = None
    else:
        train_rate = metrics["n_train"] / epoch_train_seconds[-1]
        dev = resolve_device(device)
        model = build_model(card).to(dev)
        model.load_state_dict(load_model_file(run / "model.pt").state_dict)
        x = torch.from_numpy(data.x).to(dev)
        predict_logits(model, x[:1024], amp=metrics["amp"])  # warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            predict_logits(model, x, amp=metrics["amp"])  # ends in .cpu(): synchronised
            times.append(time.perf_counter() - start)
        batch = metrics["training"]["batch_size"]
        data_s = batch_gather_seconds(x, metrics["n_train"], batch, dev)
    return {
        "model": name,
        "framework": card["framework"],
        "device": metrics["device"],
        "amp": metrics["amp"],
        "parameters": "-" if metrics["parameters"] is None else f"{metrics['parameters']:,}",
        "batch": "-" if batch is None else batch,
        "train_genes_per_s": round(train_rate),
        "infer_genes_per_s": round(n_genes / min(times)),
        "epoch_s": round(metrics["n_train"] / train_rate, 2),
        # drawing and gathering one epoch's batches alone, as a share of the epoch's training pass
        "data_share": "-" if data_s is None else f"{100 * data_s * train_rate / metrics['n_train']:.1f}%",
        "valid_auroc": round(metrics["valid_auroc"], 3),
    }


def batch_gather_seconds(x: torch.Tensor, n_train: int, batch: int, device: torch.device) -> float:
    """Seconds to draw one epoch's batch order and gather its inputs and labels (the loop's data
    loading: the examples sit on the device already), best of 3."""
    y = torch.zeros(x.shape[0], device=device)
    generator = torch.Generator().manual_seed(0)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        order = torch.randperm(n_train, generator=generator).to(device)
        for lo in range(0, n_train, batch):
            rows = order[lo : lo + batch]
            xb, yb = x[rows], y[rows]  # noqa: F841 - the gather is what is timed
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genes", type=int, default=6000)
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per training run (>= 1)")
    parser.add_argument("--cards", nargs="*", default=None, help="default: every card in models/")
    parser.add_argument(
        "--device",
        nargs="*",
        default=None,
        help="devices to run on (default: cpu, plus cuda when available)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    cards = args.cards or list_cards()
    OUT.mkdir(parents=True, exist_ok=True)
    dataset = make_dataset(args.genes, args.bins, 0, OUT / f"training_dataset_g{args.genes}_b{args.bins}.npz")
    host = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"
    print(
        f"synthetic dataset {dataset.name}: {args.genes} genes x {len(MARKS)} marks x {args.bins} "
        f"bins (train 60%); torch {torch.__version__}; {host}",
        file=sys.stderr,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="chromexpr-bench-") as tmp:
        for device in devices:
            label = (
                f"cuda ({torch.cuda.get_device_name()})"
                if device.startswith("cuda")
                else f"cpu ({torch.get_num_threads()} threads)"
            )
            print(f"device: {label}", file=sys.stderr)
            for name in cards:
                start = time.perf_counter()
                row = bench_card(name, dataset, device, args.epochs, Path(tmp))
                rows.append(row)
                print(f"  {name:22s} {time.perf_counter() - start:6.1f} s", file=sys.stderr)
            table = pd.DataFrame([r for r in rows if r["device"].split(":")[0] == device.split(":")[0]])
            table.to_csv(OUT / f"training_{device.split(':')[0]}.tsv", sep="\t", index=False)
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

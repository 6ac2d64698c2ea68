"""Progress bars: drawn on a terminal only, so log files (Snakemake, SLURM, pipes) get nothing extra.

A "terminal" here is a StringIO whose isatty() is True, either passed as ``file=`` or put in place of
``sys.stderr`` (where the library's bars go by default).
"""

from __future__ import annotations

import functools
import gzip
import io
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.dataset import CANONICAL_MARKS, build_dataset, save_dataset
from chromexpr.io.download import download
from chromexpr.preprocess.binning import bin_bigwig, bin_reads
from chromexpr.preprocess.geometry import BinGeometry
from chromexpr.progress import around_bars, close_all, on_terminal, progress_bar
from chromexpr.training import train_model, train_transfer


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class NotTerminal(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture()
def fake_stderr(monkeypatch):
    """Put a stream in place of sys.stderr: ``fake_stderr(tty)`` returns it."""

    def put(tty: bool) -> io.StringIO:
        stream = Terminal() if tty else NotTerminal()
        monkeypatch.setattr(sys, "stderr", stream)
        return stream

    return put


def test_bar_only_on_a_terminal():
    quiet = NotTerminal()
    for _ in progress_bar(range(5), desc="quiet-bar", file=quiet):
        pass
    assert quiet.getvalue() == ""
    loud = Terminal()
    for _ in progress_bar(range(5), desc="loud-bar", file=loud):
        pass
    assert "loud-bar" in loud.getvalue()
    assert on_terminal(loud) and not on_terminal(quiet)


def test_default_stream_is_the_current_stderr(fake_stderr):
    stream = fake_stderr(tty=True)
    bar = progress_bar(total=3, desc="on-stderr", unit=" reads")
    bar.update(3)
    bar.close()
    assert "on-stderr" in stream.getvalue()
    quiet = fake_stderr(tty=False)
    with progress_bar(total=3, desc="not-shown") as bar:
        bar.update(3)
    assert quiet.getvalue() == ""


def test_close_all_and_around_bars(fake_stderr):
    stream = fake_stderr(tty=True)
    bar = progress_bar(total=10, desc="half-way")
    bar.update(5)
    with around_bars():
        print("a line of its own", file=sys.stderr)
    close_all()
    assert bar.disable or bar.n == 5
    assert "a line of its own\n" in stream.getvalue()


def _reads(tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    tss = pd.DataFrame({"gene_id": ["GP", "GM"], "chrom": ["chr1", "chr1"], "tss": [1000, 5000], "strand": ["+", "-"]})
    reads = tmp_path / "reads.tagAlign.gz"
    with gzip.open(reads, "wt") as fh:
        fh.write("chr1\t750\t786\tN\t1000\t+\nchr1\t4990\t5026\tN\t1000\t+\n")
    return tss, reads


@pytest.mark.parametrize("tty", [False, True])
def test_binning_reads_bar(tmp_path, fake_stderr, tty):
    tss, reads = _reads(tmp_path)
    stream = fake_stderr(tty)
    counts, _ = bin_reads(reads, tss, BinGeometry(300, 100))
    assert counts.sum() == 3  # the bar changes nothing in the counts
    assert ("reads.tagAlign.gz" in stream.getvalue()) is tty
    if not tty:
        assert stream.getvalue() == ""


@pytest.mark.parametrize("tty", [False, True])
def test_binning_bigwig_bar(tmp_path, fake_stderr, tty):
    import pyBigWig

    path = tmp_path / "signal.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 10_000)])
    bw.addEntries(["chr1"], [700], ends=[800], values=[2.0])
    bw.close()
    tss, _ = _reads(tmp_path)
    stream = fake_stderr(tty)
    bin_bigwig(path, tss, BinGeometry(300, 100))
    assert ("signal.bw" in stream.getvalue()) is tty
    assert tty or stream.getvalue() == ""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the server writes to stderr
        pass


@pytest.fixture()
def http_root(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield root, f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("tty", [False, True])
def test_download_bar_counts_bytes(http_root, tmp_path, fake_stderr, tty):
    root, base = http_root
    data = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    (root / "blob.bin").write_bytes(data)
    stream = fake_stderr(tty)
    out = download(f"{base}/blob.bin", tmp_path / "blob.bin", chunk_bytes=1 << 14, log=lambda message: None)
    assert out.read_bytes() == data
    if tty:
        assert "blob.bin" in stream.getvalue() and "B" in stream.getvalue()
    else:
        assert stream.getvalue() == ""


def tiny_cell(tmp_path, cell: str, seed: int = 0):
    """A 60-gene, 5-mark, 100-bin dataset (36 / 12 / 12 genes per split)."""
    rng = np.random.default_rng(seed)
    n, marks = 60, list(CANONICAL_MARKS)
    expression = rng.lognormal(0.0, 1.0, n)
    split = np.array(["train"] * 36 + ["valid"] * 12 + ["test"] * 12)
    ds = build_dataset(
        rng.poisson(2.0, (n, len(marks), 100)).astype(np.int32),
        [f"G{i}" for i in range(n)],
        marks,
        expression,
        split,
        cell=cell,
        geometry={"n_bins": 100},
    )
    return save_dataset(ds, tmp_path / f"{cell}.npz")


@pytest.mark.parametrize("tty", [False, True])
def test_domain_adaptation_epochs_bar(tmp_path, fake_stderr, tty):
    """The one loop's bar and log lines serve every task: here TransferChrome's cross-cell training."""
    source, target = tiny_cell(tmp_path, "E999"), tiny_cell(tmp_path, "E998", seed=1)
    lines: list[str] = []
    stream = fake_stderr(tty)
    train_transfer("transferchrome", source, target, tmp_path / "run", seed=0, max_epochs=2, log=lines.append)
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 2 and all("domain_accuracy" in line and "grl_lambda" in line for line in epochs)
    if tty:
        assert "transferchrome_cross E998" in stream.getvalue() and "epochs" in stream.getvalue()
    else:
        assert stream.getvalue() == ""


@pytest.mark.parametrize("tty", [False, True])
def test_training_epochs_bar(tmp_path, fake_stderr, tty):
    path = tiny_cell(tmp_path, "E999")
    lines: list[str] = []
    stream = fake_stderr(tty)
    train_model("linear12", path, tmp_path / "run", seed=0, max_epochs=2, log=lines.append)
    assert sum(line.startswith("epoch ") for line in lines) == 2  # the log lines stay as they are
    if tty:
        assert "linear12 E999" in stream.getvalue() and "epochs" in stream.getvalue()
    else:
        assert stream.getvalue() == ""

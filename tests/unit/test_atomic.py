"""Atomic output: temporaries beside the target, renamed when complete; killed writers' leftovers removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from chromexpr.io.atomic import atomic_path, remove_stale_temporaries, temporary_pattern


def test_success_renames_and_leaves_one_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.tsv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".table.tsv.") and tmp.name.endswith(".tmp.tsv")
        tmp.write_text("a\tb\n")
        assert not target.exists()
    assert target.read_text() == "a\tb\n"
    assert [p.name for p in target.parent.iterdir()] == ["table.tsv"]


def test_exception_leaves_target_untouched_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "table.tsv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.tsv"]


def test_stale_temporary_of_the_target_is_removed(tmp_path: Path) -> None:
    target = tmp_path / "auroc_distribution.pdf"
    stale = tmp_path / ".auroc_distribution.pdf.k3_9zq1x.tmp.pdf"  # a killed run's leftover, 0 bytes
    stale.touch()
    other_suffix = tmp_path / ".auroc_distribution.pdf.abcdefgh.tmp"  # written with suffix=""
    other_suffix.write_bytes(b"%PDF-half")
    # not temporaries of this target: left alone
    neighbours = [
        tmp_path / ".auroc_distribution.pdf.png.abcdefgh.tmp.png",  # temporary of another target
        tmp_path / "auroc_distribution.pdf.abcdefgh.tmp.pdf",  # no leading dot
        tmp_path / ".auroc_distribution.pdf.short.tmp.pdf",  # random part not 8 characters
    ]
    for path in neighbours:
        path.touch()
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"%PDF-1.4 complete\n")
    assert not stale.exists() and not other_suffix.exists()
    assert target.read_bytes() == b"%PDF-1.4 complete\n"
    assert all(path.exists() for path in neighbours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, *(p.name for p in neighbours)])


def test_temporary_pattern_matches_only_this_target() -> None:
    pattern = temporary_pattern("out/counts.npy")
    assert pattern.fullmatch(".counts.npy.ab_12xyz.tmp.npy")
    assert pattern.fullmatch(".counts.npy.ab_12xyz.tmp")
    assert not pattern.fullmatch(".counts.npy.ab_12xyz.tmp.npy.npy")
    assert not pattern.fullmatch(".counts.ab_12xyz.tmp.npy")
    assert not pattern.fullmatch(".xcounts.npy.ab_12xyz.tmp.npy")


_WRITER = textwrap.dedent(
    """
    import sys, time
    from chromexpr.io.atomic import atomic_path

    with atomic_path(sys.argv[1]) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(b"partial " * 1000)
            fh.flush()
            print(tmp, flush=True)  # the parent kills us now, in the middle of the write
            time.sleep(60)
            fh.write(b"never written")
    """
)


def _start_writer(target: Path) -> tuple[subprocess.Popen, Path]:
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    assert line, "the writer died before writing"
    return child, Path(line)


def test_sigkill_mid_write_then_a_second_write_leaves_exactly_one_file(tmp_path: Path) -> None:
    target = tmp_path / "figures" / "auroc_distribution.pdf"
    child, tmp = _start_writer(target)
    try:
        # while the writer lives, its temporary is protected (it holds the lock)
        assert remove_stale_temporaries(target) == []
        assert tmp.exists()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert tmp.exists() and not target.exists()  # the kill left the temporary, never the target
    with atomic_path(target) as out:
        out.write_bytes(b"%PDF complete\n")
    assert target.read_bytes() == b"%PDF complete\n"
    assert [p.name for p in target.parent.iterdir()] == ["auroc_distribution.pdf"]


def test_live_writer_of_the_same_target_is_not_disturbed(tmp_path: Path) -> None:
    target = tmp_path / "counts.npy"
    child, tmp = _start_writer(target)
    try:
        with atomic_path(target) as out:  # a second writer meanwhile: the first one's file stays
            out.write_bytes(b"second")
        assert tmp.exists() and target.read_bytes() == b"second"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and remove_stale_temporaries(target) == [] and tmp.exists():
        time.sleep(0.05)
    assert not tmp.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["counts.npy"]


def test_an_output_that_cannot_be_written_is_named_not_its_temporary(tmp_path: Path) -> None:
    """An OSError of the temporary file (a folder one cannot create files in, a full disk) names the output
    the user gave, so the command line's error names it too."""
    import errno

    with pytest.raises(FileNotFoundError) as info, atomic_path("/proc/chromexpr-test.tsv") as tmp:
        tmp.write_text("never")
    assert info.value.filename == "/proc/chromexpr-test.tsv"
    target = tmp_path / "out.tsv"
    with pytest.raises(OSError) as info, atomic_path(target) as tmp:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []  # the temporary is gone


LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of a signal
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
import numpy as np, torch
from chromexpr.errors import OutputError
from chromexpr.io.atomic import atomic_path, save_torch
try:
    if sys.argv[1] == "torch":
        save_torch({"w": torch.zeros(100_000)}, sys.argv[2])
    else:
        with atomic_path(sys.argv[2]) as tmp:
            np.save(tmp, np.zeros(100_000))
except OutputError as exc:
    print(f"{exc.errno} {exc}")
"""


@pytest.mark.parametrize("writer", ["torch", "numpy"])
def test_a_file_that_does_not_fit_names_the_output_and_leaves_nothing(tmp_path: Path, writer: str) -> None:
    """A real write failure (a file-size limit: EFBIG, as ENOSPC on a full disk): torch's writer says only
    'inline_container.cc: unexpected pos'; the error names the output, the reason and what to do."""
    import errno

    target = tmp_path / ("model.pt" if writer == "torch" else "counts.npy")
    proc = subprocess.run([sys.executable, "-c", LIMITED, writer, str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    code, _, message = proc.stdout.partition(" ")
    if writer == "torch":
        assert int(code) == errno.EFBIG
        assert message.startswith(f"{target}: could not write the file: File too large; ")
    else:  # numpy reports a short write without the errno
        assert int(code) == errno.ENOSPC
        assert message.startswith(f"{target}: could not write the file: the disk took only part of it (")
    assert "MB free there" in message and "free space on that disk" in message
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary

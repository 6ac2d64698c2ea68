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

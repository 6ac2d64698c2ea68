"""Atomic output: write to a temporary name beside the target, rename when complete.

A killed job therefore never leaves a half-written file under the final name. A job killed with
SIGKILL (or SIGTERM, whose default action skips ``finally`` blocks) does leave its temporary,
``.{name}.XXXXXXXX.tmp{suffixes}``; the next write of the same target removes it, unless another
process is still writing it (each writer holds an ``flock`` on its temporary while it writes, and
the kernel drops that lock when the process dies, however it dies).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chromexpr.errors import InputError, OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows; there every stale temporary is removed
    fcntl = None  # type: ignore[assignment]

# tempfile names its files with 8 characters from this alphabet (tempfile._RandomNameSequence).
_RANDOM_PART = r"[a-z0-9_]{8}"


def temporary_pattern(target: str | Path, suffix: str | None = None) -> re.Pattern[str]:
    """The names :func:`atomic_path` gives temporaries of ``target``, any random part.

    Matches ``.{name}.XXXXXXXX.tmp`` followed by nothing, by ``suffix``, or by the target's own
    suffixes (all of them or the last), so temporaries of another target (``a.npy`` next to ``a``)
    never match.
    """
    target = Path(target)
    endings = {"", "".join(target.suffixes), target.suffix, suffix or ""}
    alternatives = "|".join(re.escape(e) for e in sorted(endings, key=len, reverse=True))
    return re.compile(rf"\.{re.escape(target.name)}\.{_RANDOM_PART}\.tmp(?:{alternatives})")


def _lock(fd: int) -> bool:
    """Take an exclusive ``flock`` on ``fd`` without waiting; False when another process holds one."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # file systems without flock support: treat the file as unlocked
        return True
    return True


@contextlib.contextmanager
def held_lock(lock: str | Path, on_wait: Callable[[], Any] | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the file ``lock`` (created) for the ``with`` block; when another process
    holds it, call ``on_wait`` and wait for it. The file is removed on the way out; a waiter that locked a file
    removed meanwhile tries again on the new one (as ``_locked_temporary`` does)."""
    lock = Path(lock)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        if not _lock(fd):
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def remove_stale_temporaries(target: str | Path, suffix: str | None = None) -> list[Path]:
    """Remove temporaries of ``target`` left by killed writers; return those removed.

    A temporary that another live process is writing (it holds the lock) is left alone, and so
    is anything not named like a temporary of this very target (:func:`temporary_pattern`).
    """
    target = Path(target)
    pattern = temporary_pattern(target, suffix)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY)
        except OSError:  # vanished meanwhile, or not ours to read
            continue
        try:
            if _lock(fd):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
        finally:
            os.close(fd)
    return removed


def _locked_temporary(target: Path, suffix: str) -> tuple[int, Path]:
    """Create and lock a fresh temporary beside ``target``; retry if a cleaner removed it first."""
    while True:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
        _lock(fd)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(tmp))
        except FileNotFoundError:  # another writer's cleanup took it between mkstemp and the lock
            same = False
        if same:
            return fd, Path(tmp)
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it to ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched. Temporaries
    of ``target`` that killed writers left behind are removed first
    (:func:`remove_stale_temporaries`). ``suffix`` defaults to the target's own suffixes so that
    libraries which pick a format from the extension (``np.savez`` adds ``.npz``, gzip detection)
    behave the same.

    Raises:
        InputError: ``target`` is a directory, or its folder is a file.
    """
    target = Path(target)
    if target.is_dir():
        raise InputError(
            "the output is a directory; cannot write a file there",
            path=target,
            hint="give a file name for the output (inside that directory, or remove the directory)",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), target.parent)
        raise InputError(
            f"cannot create the output's folder: {blocking} is a file",
            path=target,
            hint="give an output path whose folders are folders (or move that file away)",
        ) from None
    if suffix is None:
        suffix = "".join(target.suffixes)
    remove_stale_temporaries(target, suffix)
    try:
        fd, tmp_path = _locked_temporary(target, suffix)
    except OSError as exc:
        raise _naming(exc, target) from exc
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the output the permissions of a normal new file
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if exc.filename is None or str(exc.filename) == str(tmp_path):
            raise _naming(exc, target) from exc
        raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
    finally:
        os.close(fd)  # releases the lock


#: errors of the machine, not of the job: no space, a quota, a file-size limit, a read-only file system
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _naming(exc: OSError, target: Path) -> OSError:
    """``exc`` about ``target``, not the temporary file the user never named (a full disk, a folder one
    cannot write to); a full disk, a quota, a file-size limit or a read-only file system is an
    ``OutputError`` that says what to do."""
    if exc.errno in _NO_ROOM:
        return no_room(exc.errno, exc.strerror or str(exc), target)
    if exc.errno is None and re.search(r"requested and \d+ written", str(exc)):  # numpy's short write
        return no_room(errno.ENOSPC, f"the disk took only part of it ({exc.strerror or exc})", target)
    return type(exc)(exc.errno, exc.strerror or str(exc), str(target))


def no_room(code: int | None, reason: str, target: Path) -> OutputError:
    """The ``OutputError`` of an output that did not fit: names ``target``, the free space of its folder."""
    try:
        free = f"; {shutil.disk_usage(target.parent).free / 1e6:,.1f} MB free there"
    except OSError:
        free = ""
    return OutputError(
        code,
        f"could not write the file: {reason}{free}",
        target,
        hint="free space on that disk (or raise the quota or file-size limit), then run again: nothing was left "
        "under this name",
    )


class _Recording:
    """A binary file that remembers the ``OSError`` a write raised (torch's writer swallows it and raises
    ``RuntimeError: ... unexpected pos``, which names neither the file nor the reason)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self._fh.flush()


def save_torch(obj: Any, target: str | Path) -> Path:
    """``torch.save(obj)`` into ``target`` atomically, through a file object (the zip's root folder is then
    ``archive``, not the random temporary's name, so identical objects give identical bytes).

    Raises:
        OutputError: the disk is full (or a quota or file-size limit is reached), naming ``target``.
    """
    import torch

    target = Path(target)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        writer = _Recording(fh)
        try:
            torch.save(obj, writer)
        except RuntimeError as exc:
            if writer.error is None:
                raise
            raise no_room(writer.error.errno, writer.error.strerror or str(writer.error), target) from exc
        fh.flush()
    return target


def sha256sum(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()

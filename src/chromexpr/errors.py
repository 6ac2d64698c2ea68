"""Errors for people: what was wrong, where (file, line, config key) and what to do."""

from __future__ import annotations

from pathlib import Path


class ChromexprError(Exception):
    """Base class of every error chromexpr raises on purpose."""


class InputError(ChromexprError, ValueError):
    """An input file, table or config value is malformed.

    The message always names where the problem is (``file:line`` or the config key), what was
    expected and how to fix it, so that a user can act without reading the code.

    Args:
        message: what is wrong.
        path: the offending file, if any.
        line: 1-based line number inside ``path``, if known.
        key: the config key (dotted path) at fault, if any.
        hint: what the user should do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.key = key
        self.hint = hint
        where = []
        if self.path is not None:
            where.append(f"{self.path}:{line}" if line is not None else self.path)
        if key is not None:
            where.append(f"config key '{key}'")
        text = f"{', '.join(where)}: {message}" if where else message
        if hint:
            text += f"\n  -> {hint}"
        self.message = message
        super().__init__(text)


class DownloadError(ChromexprError, OSError):
    """A download failed for good (HTTP error, size or checksum mismatch, retries exhausted)."""


class OutputError(ChromexprError, OSError):
    """An output could not be written for a reason of the machine, not of the job (a full disk, a quota, a
    file-size limit, a read-only folder): the message names the file the user asked for and what to do. A
    retry of the job in the same run would fail the same way; a new run (after freeing space) runs it again.
    """

    def __init__(self, errno: int | None, message: str, path: str | Path, *, hint: str | None = None) -> None:
        text = f"{path}: {message}" + (f"\n  -> {hint}" if hint else "")
        super().__init__(text)
        self.errno = errno
        self.strerror = message
        self.filename = str(path)
        self.path = str(path)
        self.hint = hint

    def __str__(self) -> str:
        return str(self.args[0])

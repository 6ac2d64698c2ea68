"""Resumable, verified downloads (standard library only, plus ``isal`` for the gzip check).

The REMC consolidated tagAlign files are hundreds of MB to several GB each and the server is a single
university host, so a download must survive dropped connections, rate limiting and killed jobs without
ever leaving a file under its final name that looks complete but is not. The contract:

* bytes go to ``<dest>.part``, and the validator the server gave for the file (its ``ETag``, else its
  ``Last-Modified``) to ``<dest>.part.json``; a later call (or a later attempt) resumes the part with
  ``Range: bytes=N-`` and ``If-Range: <validator>``, so a server whose file changed sends it whole again. A part without that
  record (left by something else, or from a server that gives no validator) is not trusted: the
  download starts over;
* a body without ``Content-Length`` that ends is confirmed with a range request from its end (HTTP
  416: complete); a server that cannot confirm it is an error unless a size or checksum is configured;
* connection errors, timeouts, short bodies, HTTP 429 and 5xx are retried with exponential back-off;
  any other HTTP error (404, 403, ...) fails at once with a :class:`~chromexpr.errors.DownloadError`
  that names the URL, the status and what to check;
* the result is checked against the expected size (or the server's announced size), the checksums
  given, and, for ``.gz`` files, a full decompression to the end of the gzip stream;
* only then is ``.part`` renamed to ``dest`` (atomically). An existing ``dest`` that verifies is
  returned without any network request, so re-running a pipeline redoes only what is missing. The log
  says "verified" only when a checksum was given and matched; otherwise it says what was checked.

``file://`` URLs are copied with the same verification, which makes local mirrors and tests easy.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

from isal import igzip, isal_zlib

from chromexpr.errors import DownloadError, InputError
from chromexpr.io.atomic import held_lock
from chromexpr.logs import Say, get_logger
from chromexpr.progress import progress_bar

__all__ = ["download", "file_url", "remote_size"]

_LOGGER = logging.getLogger(__name__)

#: Why a 4xx is not worth retrying, shown under every permanent HTTP failure.
_HINT_HTTP = (
    "check that the file exists at that URL (for REMC: that the cell/mark pair, e.g. E003-H3K4me3, "
    "was consolidated and is spelled as on the server), or fix the config key that holds the URL"
)

LogLike = Callable[[str], object] | logging.Logger


def _user_agent() -> str:
    """Identify ourselves: some hosts throttle the default ``Python-urllib`` agent harder."""
    try:
        from importlib.metadata import version

        return f"chromexpr/{version('chromexpr')}"
    except Exception:  # noqa: BLE001 - an uninstalled checkout must still be able to download
        return "chromexpr"


# --- outcomes of one HTTP request (internal control flow) ------------------------------------------


class _Retryable(Exception):
    """A failure that another attempt may cure (network trouble, 5xx, 429, short body)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Restart(Exception):
    """The part file cannot be resumed (bad 416 / Content-Range); start again from byte 0 at once."""


class _Permanent(Exception):
    """A failure that retrying cannot cure (404, size announced by the server is wrong, ...)."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.hint = hint


@dataclass
class _Fetched:
    """What one successful request told us."""

    total: int | None  # full file size announced by the server, if any
    resumed: bool  # the part now holds bytes from more than one response
    open_ended: bool = False  # the body had no Content-Length and was not chunked: it ended when the
    # connection closed, which looks the same as a cut connection


_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)\s*/\s*(\d+|\*)\s*$", re.IGNORECASE)


def _parse_content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    """``bytes a-b/T`` -> (a, b, T); ``bytes */T`` -> (None, None, T); unknown parts are None."""
    if not value:
        return None, None, None
    m = _CONTENT_RANGE.match(value)
    if not m:
        return None, None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    end = int(m.group(2)) if m.group(2) is not None else None
    total = int(m.group(3)) if m.group(3) != "*" else None
    return start, end, total


def _int_header(headers: Message, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _retry_after(headers: Message | None) -> float | None:
    """Seconds from a ``Retry-After`` header (the HTTP-date form is ignored: rare, and capped anyway)."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _describe(exc: BaseException) -> str:
    """A short, human description of a network exception (URLError hides the real one in .reason)."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        inner = exc.reason
        return f"{type(inner).__name__}: {inner}" if isinstance(inner, BaseException) else str(inner)
    if isinstance(exc, http.client.IncompleteRead):
        return f"IncompleteRead ({len(exc.partial)} bytes read, {exc.expected} more expected)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _part_size(part: Path) -> int:
    try:
        return part.stat().st_size
    except FileNotFoundError:
        return 0


def _validator(headers: Message | None) -> str | None:
    """The strong validator of a response for ``If-Range``: its ETag (not a weak one), else Last-Modified."""
    if headers is None:
        return None
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def _record(part: Path) -> Path:
    """``<dest>.part.json``: what the server said of the file whose bytes the part holds."""
    return part.with_name(part.name + ".json")


def _read_record(part: Path, url: str) -> str | None:
    """The validator recorded for ``part`` from ``url``, or None (no record, another URL, unreadable)."""
    try:
        record = json.loads(_record(part).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("url") != url:
        return None
    value = record.get("validator")
    return value if isinstance(value, str) and value else None


def _write_record(part: Path, url: str, validator: str | None) -> None:
    _record(part).write_text(json.dumps({"url": url, "validator": validator}) + "\n")


def _drop_part(part: Path) -> None:
    for path in (part, _record(part)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fetch_once(
    url: str,
    part: Path,
    have: int,
    *,
    expected_size: int | None,
    timeout_s: float,
    chunk_bytes: int,
    say: Say,
    validator: str | None = None,
) -> _Fetched:
    """One HTTP GET that appends to (or rewrites) ``part``; raises _Retryable/_Restart/_Permanent.

    ``have`` bytes are resumed only with the ``validator`` of the response that started the part
    (``If-Range``: a server whose file changed answers 200 with all of it)."""
    headers = {
        "User-Agent": _user_agent(),
        # Never let a proxy or server re-encode the body: we want the file's bytes, not a transfer form.
        "Accept-Encoding": "identity",
    }
    if have:
        headers["Range"] = f"bytes={have}-"
        if validator:
            headers["If-Range"] = validator
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)  # noqa: S310 - scheme checked
    except urllib.error.HTTPError as exc:
        with contextlib.closing(exc):
            code = exc.code
            if code == 416 and have:
                # Our Range starts at or beyond the end: fine if the part already is the whole file.
                _, _, total = _parse_content_range(exc.headers.get("Content-Range") if exc.headers else None)
                size = total if total is not None else expected_size
                if size is not None and size == have:
                    return _Fetched(total=size, resumed=True)
                raise _Restart(f"server refused to resume at byte {have} (HTTP 416)") from None
            if code == 429 or code >= 500:
                raise _Retryable(f"HTTP {code} {exc.reason}", _retry_after(exc.headers)) from None
            raise _Permanent(f"HTTP {code} {exc.reason}", _HINT_HTTP) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise _Retryable(_describe(exc)) from None

    with response:
        status = response.status
        length = _int_header(response.headers, "Content-Length")
        if status == 206:
            start, end, total = _parse_content_range(response.headers.get("Content-Range"))
            if start is None or end is None or start > have:
                # A range we did not ask for (or cannot place) would leave a hole: start clean.
                raise _Restart(f"unusable Content-Range {response.headers.get('Content-Range')!r}")
            offset = start
            body = end - start + 1
        elif status == 200:
            if have:
                say.info(f"{url}: server sent the whole file (it ignores ranges, or the file changed); from byte 0")
            offset, body, total = 0, length, length
            validator = _validator(response.headers)
            _write_record(part, url, validator)
        else:
            raise _Permanent(f"unexpected HTTP {status} {response.reason}", _HINT_HTTP)

        if expected_size is not None and total is not None and total != expected_size:
            raise _Permanent(
                f"size mismatch: expected {expected_size} bytes, server announces {total}",
                "the file on the server differs from the one the config describes; "
                "update the expected size/checksum in the config or the URL",
            )

        received = 0
        name = Path(urlsplit(url).path).name or url
        # bytes, on a terminal only (log lines stay as they are)
        bar = progress_bar(desc=name, total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024)
        with bar, open(part, "r+b" if offset else "wb") as fh:
            if offset:
                fh.seek(offset)
                fh.truncate()  # drop anything past offset (a server may resume earlier than asked)
            while True:
                try:
                    block = response.read(chunk_bytes)
                except (http.client.HTTPException, OSError) as exc:
                    # Disk errors come from fh.write below, not here, so they are never retried.
                    raise _Retryable(_describe(exc)) from None
                if not block:
                    break
                fh.write(block)
                received += len(block)
                bar.update(len(block))
                if total is not None and offset + received > total:
                    raise _Permanent(
                        f"server sent more than the {total} bytes it announced",
                        "the server or a proxy is misbehaving; try again later or use a mirror",
                    )
    if body is not None and received < body:
        # http.client returns b"" (no exception) when the peer closes early, so count bytes ourselves.
        of = f" of {total}" if total is not None else ""
        raise _Retryable(f"connection closed after {offset + received}{of} bytes")
    open_ended = body is None and not getattr(response, "chunked", False)
    return _Fetched(total=total, resumed=offset > 0, open_ended=open_ended)


# --- verification ---------------------------------------------------------------------------------


def _gzip_problem(path: Path, chunk_bytes: int) -> str | None:
    """None if ``path`` is a gzip stream that decompresses to its end, else why not."""
    if _part_size(path) == 0:
        return "gzip file is empty"
    try:
        with igzip.open(path, "rb") as fh:
            while fh.read(chunk_bytes):
                pass
    except (EOFError, OSError, isal_zlib.error) as exc:
        return f"gzip stream is truncated or corrupt ({exc})"
    return None


def _verify(
    path: Path,
    *,
    expected_size: int | None,
    server_total: int | None,
    sha256: str | None,
    md5: str | None,
    verify_gzip: bool,
    chunk_bytes: int,
) -> str | None:
    """None if ``path`` passes every check we have information for, else a message with both values."""
    size = _part_size(path)
    if expected_size is not None and size != expected_size:
        return f"size mismatch: expected {expected_size} bytes, got {size}"
    if server_total is not None and size != server_total:
        return f"size mismatch: server announced {server_total} bytes, got {size}"
    if sha256 or md5:
        hashers = {name: hashlib.new(name) for name, want in (("sha256", sha256), ("md5", md5)) if want}
        with open(path, "rb") as fh:
            while block := fh.read(chunk_bytes):
                for h in hashers.values():
                    h.update(block)
        for name, want in (("sha256", sha256), ("md5", md5)):
            if want and hashers[name].hexdigest() != want:
                return f"{name} mismatch: expected {want}, got {hashers[name].hexdigest()}"
    if verify_gzip:
        return _gzip_problem(path, chunk_bytes)
    return None


def _checked(expected_size: int | None, server_total: int | None, sha256: str | None, md5: str | None, gz: bool) -> str:
    """What a file passed, in words: "verified" only with a checksum."""
    checks = [name for name, want in (("sha256", sha256), ("md5", md5)) if want]
    done = []
    if expected_size is not None:
        done.append("size as configured")
    elif server_total is not None:
        done.append("size as the server announced")
    if gz:
        done.append("gzip stream complete")
    if checks:
        return f"verified: {' and '.join(checks)} match" + (f", {', '.join(done)}" if done else "")
    return "not verified: no checksum configured" + (f"; checked: {', '.join(done)}" if done else "")


def _fsync(path: Path) -> None:
    """Flush the part to disk before the rename, so a crash cannot leave a complete-looking dest."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _local_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise InputError(
            f"file URL {url!r} names host {parts.netloc!r}",
            hint="use file:///absolute/path (no host) or chromexpr.io.download.file_url(path)",
        )
    return Path(urllib.request.url2pathname(parts.path))


def _hint_with_key(hint: str, config_key: str | None) -> str:
    return f"{hint} (config key '{config_key}')" if config_key else hint


# --- public API -----------------------------------------------------------------------------------


def file_url(path: str | Path) -> str:
    """The ``file://`` URL of a local path (absolute), e.g. to point a source at a local mirror."""
    return Path(path).resolve().as_uri()


def remote_size(url: str, *, timeout_s: float = 60.0) -> int | None:
    """Size in bytes of the file at ``url`` (HEAD's Content-Length), or None if the server won't say.

    Raises:
        DownloadError: the server answered with an HTTP error, or could not be reached.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        try:
            return _local_path(url).stat().st_size
        except OSError as exc:
            raise DownloadError(f"{url}: {exc}") from exc
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    request = urllib.request.Request(url, headers=headers, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return _int_header(response.headers, "Content-Length")
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}\n  -> {_HINT_HTTP}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DownloadError(f"{url}: {_describe(exc)}") from exc


def download(
    url: str,
    dest: str | Path,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    retries: int = 5,
    backoff_s: float = 2.0,
    max_backoff_s: float = 120.0,
    timeout_s: float = 60.0,
    chunk_bytes: int = 1 << 20,
    verify_gzip: bool | None = None,
    log: LogLike | None = None,
    config_key: str | None = None,
) -> Path:
    """Download ``url`` to ``dest``: resumable, retried, verified, renamed into place atomically.

    Args:
        url: ``http://``, ``https://`` or ``file://`` URL.
        dest: final path; bytes accumulate in ``<dest>.part`` until the file is complete and verified.
        expected_size: size in bytes, if known; otherwise the server's Content-Length / Content-Range
            total is used.
        sha256, md5: hex digests to check, if known (case-insensitive).
        retries: how many consecutive failed attempts *without progress* are retried. An attempt that
            added bytes to the part resets the count, so a multi-GB file on a flaky link still finishes,
            while a dead server fails after ``retries + 1`` attempts.
        backoff_s: sleep before retry ``k`` (1-based) is ``backoff_s * 2**(k-1)``, capped at
            ``max_backoff_s``; a longer ``Retry-After`` from the server is honoured up to that cap.
        timeout_s: socket timeout for connecting and for each read (not for the whole transfer).
        chunk_bytes: read/write block size.
        verify_gzip: decompress the result to the end of its gzip stream to reject truncated files;
            default: on when ``dest`` ends in ``.gz``.
        log: ``print``-like callable or ``logging.Logger`` for progress (default: this module's logger).
        config_key: config key holding ``url``, named in error hints.

    Returns:
        ``dest`` as a Path.

    Raises:
        DownloadError: HTTP error other than 429/5xx, retries exhausted, or size/checksum/gzip mismatch.
            Nothing is left at ``dest``; the part is kept only when retries ran out (so a re-run resumes).
        InputError: ``url`` has an unsupported scheme.
    """
    dest = Path(dest)
    say = get_logger(log, _LOGGER)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise InputError(f"unsupported URL {url!r}", key=config_key, hint="use an http://, https:// or file:// URL")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    if dest.is_dir():
        raise InputError(
            "the download destination is a directory",
            path=dest,
            hint=f"give the path of the file to write, e.g. {dest / (Path(urlsplit(url).path).name or 'download')}",
        )
    sha256 = sha256.strip().lower() if sha256 else None
    md5 = md5.strip().lower() if md5 else None
    gz = dest.name.endswith(".gz") if verify_gzip is None else verify_gzip

    def check(path: Path, server_total: int | None) -> str | None:
        return _verify(
            path,
            expected_size=expected_size,
            server_total=server_total,
            sha256=sha256,
            md5=md5,
            verify_gzip=gz,
            chunk_bytes=chunk_bytes,
        )

    part = dest.with_name(dest.name + ".part")
    fetch = functools.partial(
        _fetch_with_retries,
        url,
        part,
        expected_size=expected_size,
        retries=retries,
        backoff_s=backoff_s,
        max_backoff_s=max_backoff_s,
        timeout_s=timeout_s,
        chunk_bytes=chunk_bytes,
        config_key=config_key,
        say=say,
        checksum=bool(sha256 or md5),
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    # a second download of dest (another process, another job) waits for the first, then finds dest there
    # instead of writing the same part
    waiting = functools.partial(say.info, f"{dest}: another download of it is running; waiting for it to finish")
    with held_lock(dest.with_name(dest.name + ".lock"), waiting):
        if dest.exists():
            problem = check(dest, None)
            if problem is None:
                say.info(f"{dest}: already present ({_checked(expected_size, None, sha256, md5, gz)}), not downloading")
                return dest
            say.warning(f"{dest}: exists but {problem}; downloading it again")
            dest.unlink()

        if scheme == "file":
            _copy_local(url, part, say)
            server_total: int | None = None
            stitched = False
        else:
            server_total, stitched = fetch()

        problem = check(part, server_total)
        if problem is not None and stitched:
            # The file may have changed on the server between two requests, so the spliced part can be
            # wrong although each piece was fine: one clean transfer from byte 0 decides.
            say.warning(f"{url}: resumed download failed verification ({problem}); downloading from byte 0")
            _drop_part(part)
            server_total, _ = fetch()
            problem = check(part, server_total)
        if problem is not None:
            _drop_part(part)
            raise DownloadError(
                f"{url}: {problem}\n  -> "
                + _hint_with_key(
                    "the file on the server (or the expected size/checksum in the config) is wrong; "
                    "nothing was kept, re-run to download it again",
                    config_key,
                )
            )
        _fsync(part)
        os.replace(part, dest)
        with contextlib.suppress(FileNotFoundError):
            _record(part).unlink()
        say.info(
            f"{dest}: downloaded ({_part_size(dest)} bytes; {_checked(expected_size, server_total, sha256, md5, gz)})"
        )
        return dest


def _copy_local(url: str, part: Path, say: Say) -> None:
    """``file://`` source: a plain copy (local copies do not fail halfway in ways worth resuming)."""
    src = _local_path(url)
    if not src.is_file():
        raise DownloadError(f"{url}: no such file {src}\n  -> check the mirror path in the config")
    say.info(f"{url}: copying to {part.with_suffix('')}")
    shutil.copyfile(src, part)


def _fetch_with_retries(
    url: str,
    part: Path,
    *,
    expected_size: int | None,
    retries: int,
    backoff_s: float,
    max_backoff_s: float,
    timeout_s: float,
    chunk_bytes: int,
    config_key: str | None,
    say: Say,
    checksum: bool = False,
) -> tuple[int | None, bool]:
    """Fill ``part`` with the whole file, resuming and retrying; returns (server total, stitched)."""
    failures = 0  # consecutive failed attempts; reset by any attempt that made progress
    confirming = False  # asking from the end of an open-ended body whether the file goes on
    while True:
        have = _part_size(part)
        validator = _read_record(part, url) if have else None
        if have and validator is None:
            say.warning(
                f"{part}: no record of the server's ETag or Last-Modified for these {have} bytes, so they "
                "cannot be trusted; downloading from byte 0"
            )
            _drop_part(part)
            have, confirming = 0, False
        if expected_size is not None and have > expected_size:
            say.warning(f"{part}: larger than the expected {expected_size} bytes; starting from byte 0")
            _drop_part(part)
            have = 0
        if expected_size is not None and have == expected_size and have > 0:
            # A previous run got every byte but died before verifying: no request needed.
            return None, True
        if confirming:
            say.info(f"{url}: the body had no Content-Length; asking whether the file goes on after byte {have}")
        elif have:
            say.info(f"{url}: resuming at byte {have}")
        else:
            say.info(f"{url}: downloading to {part}")
        try:
            fetched = _fetch_once(
                url,
                part,
                have,
                expected_size=expected_size,
                timeout_s=timeout_s,
                chunk_bytes=chunk_bytes,
                say=say,
                validator=validator,
            )
        except _Restart as exc:
            say.warning(f"{url}: {exc}; starting from byte 0")
            _drop_part(part)
            confirming = False
            continue  # no sleep and no failure: the next request carries no Range, so cannot loop
        except _Permanent as exc:
            _drop_part(part)
            hint = _hint_with_key(exc.hint, config_key) if exc.hint else None
            raise DownloadError(f"{url}: {exc}" + (f"\n  -> {hint}" if hint else "")) from None
        except _Retryable as exc:
            progressed = _part_size(part) > have
            failures = 1 if progressed else failures + 1
            if failures > retries:
                kept = f"; {part} is kept and will be resumed" if _part_size(part) else ""
                raise DownloadError(
                    f"{url}: giving up after {failures} consecutive failed attempt(s); last error: {exc}"
                    "\n  -> " + _hint_with_key(f"the server is unreachable or failing; re-run later{kept}", config_key)
                ) from None
            delay = min(backoff_s * 2 ** (failures - 1), max_backoff_s)
            if exc.retry_after is not None:
                delay = min(max(delay, exc.retry_after), max_backoff_s)
            say.warning(f"{url}: {exc}; retry {failures}/{retries} in {delay:.2f} s")
            time.sleep(delay)
            continue
        if fetched.open_ended and expected_size is None:
            # A body that ends when the connection closes looks the same whole or cut: ask from its end.
            if confirming:
                if checksum:
                    return fetched.total, fetched.resumed  # the checksum decides
                _drop_part(part)
                raise DownloadError(
                    f"{url}: cannot tell whether the file is complete: the server sends no Content-Length "
                    "and answers a range request with the whole file\n  -> "
                    + _hint_with_key(
                        "configure the file's size or checksum, or use a mirror that sends sizes", config_key
                    )
                )
            if validator is not None or _read_record(part, url) is not None:
                confirming = True
                continue
            if checksum:
                return fetched.total, fetched.resumed
            _drop_part(part)
            raise DownloadError(
                f"{url}: cannot tell whether the file is complete: the server sends no Content-Length, "
                "ETag or Last-Modified\n  -> "
                + _hint_with_key("configure the file's size or checksum, or use a mirror that sends sizes", config_key)
            )
        return fetched.total, fetched.resumed

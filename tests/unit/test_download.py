"""Tests for chromexpr.io.download against a real HTTP server on 127.0.0.1.

The server is a ``ThreadingHTTPServer`` serving a temporary directory laid out like the REMC site; its
handler can cut connections halfway, ignore Range, stall, answer error statuses or omit Content-Length,
so every resume/retry/verify path runs over real sockets. Every download uses a short socket timeout
and a tiny back-off, so the file runs in a few seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import random
import re
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chromexpr.errors import DownloadError, InputError
from chromexpr.io.download import download, file_url, remote_size

TAG_PATH = "/roadmap/data/byFileType/alignments/consolidated/E003-H3K4me3.tagAlign.gz"
EXPR_PATH = "/roadmap/data/byDataType/rna/expression/57epigenomes.RPKM.pc.gz"
FAST = {"backoff_s": 0.01, "timeout_s": 5.0, "chunk_bytes": 1 << 16}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tagalign_gz(seed: int, n: int = 30_000) -> bytes:
    """A real gzip'd tagAlign (~260 KB compressed): random 36 bp reads on a few chromosomes."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        chrom = rng.choice(("chr1", "chr2", "chrX"))
        start = rng.randrange(1, 50_000_000)
        lines.append(f"{chrom}\t{start}\t{start + 36}\tN\t1000\t{rng.choice('+-')}\n")
    return gzip.compress("".join(lines).encode(), compresslevel=6, mtime=0)


def _expression_gz() -> bytes:
    rng = random.Random(1)
    cells = [f"E{i:03d}" for i in (3, 4, 5, 6)]
    rows = ["gene_id\t" + "\t".join(cells)]
    for g in range(2_000):
        rows.append(f"ENSG{g:011d}\t" + "\t".join(f"{rng.expovariate(0.1):.3f}" for _ in cells))
    return gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)


@pytest.fixture(scope="module")
def tag_bytes() -> bytes:
    return _tagalign_gz(0)


@dataclass
class ServerState:
    """What the test handler does, and what it saw. Mutated by tests before downloading."""

    root: Path
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, Range
    drop_first: int = 0  # the first N GETs announce the full length, send half, close
    ignore_range: bool = False  # always answer 200 with the whole file
    statuses: list[int] = field(default_factory=list)  # answer these error statuses first, one per GET
    always_status: int | None = None  # answer every GET with this status
    stall_first_s: float = 0.0  # first GET: headers, then silence for this long
    no_length: bool = False  # omit Content-Length (body ends when the connection closes)
    no_validators: bool = False  # send no ETag (so If-Range cannot be evaluated)
    hook: Callable[[int], None] | None = None  # called with the 1-based GET number before serving
    if_ranges: list[str | None] = field(default_factory=list)  # the If-Range of each GET
    lock: threading.Lock = field(default_factory=threading.Lock)

    def gets(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "GET"]


class _Handler(BaseHTTPRequestHandler):
    """Serves ``state.root`` with single-range support (``bytes=N-``), plus the fault knobs above."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _file(self) -> Path | None:
        rel = self.path.split("?", 1)[0].lstrip("/")
        path = (self.server.state.root / rel).resolve()
        root = self.server.state.root.resolve()
        return path if path.is_file() and root in path.parents else None

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        st = self.server.state
        with st.lock:
            st.requests.append(("HEAD", self.path, self.headers.get("Range")))
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        st = self.server.state
        with st.lock:
            st.requests.append(("GET", self.path, self.headers.get("Range")))
            n = len(st.gets())
            status = st.always_status or (st.statuses.pop(0) if st.statuses else None)
        if st.hook is not None:
            st.hook(n)
        if status is not None:
            self.send_response(status)
            if status in (429, 503):
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        data = path.read_bytes()
        etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
        start = 0
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        with st.lock:
            st.if_ranges.append(if_range)
        if range_header and if_range is not None and if_range != etag:
            range_header = None  # RFC 9110: the file changed, so send all of it
        if range_header and not st.ignore_range:
            m = re.fullmatch(r"bytes=(\d+)-", range_header.strip())
            assert m, f"client sent an unexpected Range {range_header!r}"
            start = int(m.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/octet-stream")
        if not st.no_validators:
            self.send_header("ETag", etag)
        if not st.no_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if n <= st.drop_first:
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        if n == 1 and st.stall_first_s:
            self.wfile.flush()
            time.sleep(st.stall_first_s)
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on purpose (timeouts) would print tracebacks otherwise


@dataclass
class Remote:
    state: ServerState
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def put(self, path: str, data: bytes) -> None:
        target = self.state.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@pytest.fixture
def remote(tmp_path: Path, tag_bytes: bytes) -> Iterator[Remote]:
    root = tmp_path / "www"
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = ServerState(root=root)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    r = Remote(server.state, f"http://{host}:{port}")
    r.put(TAG_PATH, tag_bytes)
    r.put(EXPR_PATH, _expression_gz())
    try:
        yield r
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "resources" / "E003-H3K4me3.tagAlign.gz"


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _etag(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()[:16]}"'


def _trusted_part(remote: Remote, dest: Path, content: bytes, served: bytes) -> None:
    """A part as a killed download leaves it: its bytes, and the record of the server's ETag for the file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    _part(dest).write_bytes(content)
    record = {"url": remote.url(TAG_PATH), "validator": _etag(served)}
    _part(dest).with_name(_part(dest).name + ".json").write_text(json.dumps(record))


# --- the test server itself -------------------------------------------------------------------------


def test_server_honours_range(remote: Remote, tag_bytes: bytes) -> None:
    req = urllib.request.Request(remote.url(TAG_PATH), headers={"Range": "bytes=1000-"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 1000-{len(tag_bytes) - 1}/{len(tag_bytes)}"
        assert resp.read() == tag_bytes[1000:]


# --- happy paths --------------------------------------------------------------------------------------


def test_plain_download_is_identical(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    messages: list[str] = []
    out = download(remote.url(TAG_PATH), dest, sha256=_sha(tag_bytes), log=messages.append, **FAST)
    assert out == dest
    assert _sha(dest.read_bytes()) == _sha(tag_bytes)
    assert not _part(dest).exists()
    assert [r[2] for r in remote.state.gets()] == [None]  # one GET, no Range
    assert any("verified" in m for m in messages)


def test_expression_matrix_with_md5_and_logger(
    remote: Remote, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = (remote.state.root / EXPR_PATH.lstrip("/")).read_bytes()
    target = tmp_path / "57epigenomes.RPKM.pc.gz"
    with caplog.at_level(logging.INFO, logger="t"):
        download(
            remote.url(EXPR_PATH),
            target,
            md5=hashlib.md5(data).hexdigest().upper(),  # case-insensitive
            expected_size=len(data),
            log=logging.getLogger("t"),
            **FAST,
        )
    assert target.read_bytes() == data
    assert "verified" in caplog.text


def test_download_without_content_length(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    remote.state.no_length = True
    download(remote.url(TAG_PATH), dest, **FAST)
    assert dest.read_bytes() == tag_bytes
    # the body ended when the connection closed: a range request from its end confirmed it (HTTP 416)
    assert [r[2] for r in remote.state.gets()] == [None, f"bytes={len(tag_bytes)}-"]


def test_a_body_without_content_length_cut_halfway_is_completed(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    remote.state.no_length = True
    remote.state.drop_first = 1  # half the file, then the connection closes: it looks like an end
    download(remote.url(TAG_PATH), dest, verify_gzip=False, **FAST)
    assert dest.read_bytes() == tag_bytes
    half = len(tag_bytes) // 2
    # the rest came as a 206 whose Content-Range gives the total: no further question needed
    assert [r[2] for r in remote.state.gets()] == [None, f"bytes={half}-"]


def test_a_cut_body_the_server_cannot_confirm_is_an_error(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    remote.state.no_length = True
    remote.state.no_validators = True
    remote.state.drop_first = 1
    with pytest.raises(DownloadError, match="cannot tell whether the file is complete: the server sends no"):
        download(remote.url(TAG_PATH), dest, verify_gzip=False, **FAST)
    assert not dest.exists() and not _part(dest).exists()


# --- resume ------------------------------------------------------------------------------------------


def test_dropped_connection_resumes_with_range(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    remote.state.drop_first = 2
    messages: list[str] = []
    download(remote.url(TAG_PATH), dest, sha256=_sha(tag_bytes), log=messages.append, **FAST)
    assert dest.read_bytes() == tag_bytes
    half = len(tag_bytes) // 2
    quarter = (len(tag_bytes) - half) // 2
    ranges = [r[2] for r in remote.state.gets()]
    # The server really saw Range requests, each starting where the previous response was cut.
    assert ranges == [None, f"bytes={half}-", f"bytes={half + quarter}-"]
    assert any("resuming at byte" in m for m in messages)


def test_progress_resets_the_retry_count(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    # Three cut connections with retries=1: each attempt made progress, so none exhausts the budget.
    remote.state.drop_first = 3
    download(remote.url(TAG_PATH), dest, retries=1, **FAST)
    assert dest.read_bytes() == tag_bytes
    assert len(remote.state.gets()) == 4


def test_failed_run_keeps_part_and_next_run_resumes(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    remote.state.drop_first = 1
    with pytest.raises(DownloadError, match="giving up"):
        download(remote.url(TAG_PATH), dest, retries=0, **FAST)
    assert not dest.exists()
    assert _part(dest).stat().st_size == len(tag_bytes) // 2
    download(remote.url(TAG_PATH), dest, retries=0, **FAST)  # "re-run after a kill"
    assert dest.read_bytes() == tag_bytes
    assert remote.state.gets()[-1][2] == f"bytes={len(tag_bytes) // 2}-"


def test_existing_part_is_resumed(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    _trusted_part(remote, dest, tag_bytes[:100_000], tag_bytes)
    download(remote.url(TAG_PATH), dest, sha256=_sha(tag_bytes), **FAST)
    assert dest.read_bytes() == tag_bytes
    assert [r[2] for r in remote.state.gets()] == ["bytes=100000-"]
    assert remote.state.if_ranges == [_etag(tag_bytes)]
    assert not _part(dest).exists() and not _part(dest).with_name(_part(dest).name + ".json").exists()


def test_a_part_without_the_servers_validators_is_not_trusted(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    """A stale part of random bytes, as large as the file: resuming it would keep every wrong byte."""
    dest.parent.mkdir(parents=True)
    _part(dest).write_bytes(os.urandom(len(tag_bytes)))
    messages: list[str] = []
    download(remote.url(TAG_PATH), dest, log=messages.append, **FAST)
    assert dest.read_bytes() == tag_bytes
    assert [r[2] for r in remote.state.gets()] == [None]  # one clean transfer from byte 0
    assert any("no record of the server's ETag or Last-Modified" in m for m in messages)
    assert messages[-1] == (
        f"{dest}: downloaded ({len(tag_bytes)} bytes; not verified: no checksum configured; "
        "checked: size as the server announced, gzip stream complete)"
    )


def test_a_part_of_a_file_that_changed_on_the_server_is_sent_whole(remote: Remote, dest: Path) -> None:
    new = _tagalign_gz(seed=9)
    old = _tagalign_gz(seed=0)
    remote.put(TAG_PATH, new)
    _trusted_part(remote, dest, old[:50_000], old)  # recorded with the old file's ETag
    download(remote.url(TAG_PATH), dest, **FAST)
    assert dest.read_bytes() == new
    assert remote.state.if_ranges == [_etag(old)]  # the server saw it changed and sent all of it


def test_server_ignoring_range_restarts_from_zero(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    remote.state.ignore_range = True
    remote.state.drop_first = 1
    _trusted_part(remote, dest, b"garbage that must not survive", tag_bytes)
    download(remote.url(TAG_PATH), dest, sha256=_sha(tag_bytes), **FAST)
    assert dest.read_bytes() == tag_bytes
    gets = remote.state.gets()
    assert len(gets) == 2 and all(r[2] is not None for r in gets)  # asked to resume, got 200 each time


def test_complete_part_answered_416_is_accepted(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    _trusted_part(remote, dest, tag_bytes, tag_bytes)  # a previous run got every byte but died before the rename
    download(remote.url(TAG_PATH), dest, **FAST)
    assert dest.read_bytes() == tag_bytes
    assert [r[2] for r in remote.state.gets()] == [f"bytes={len(tag_bytes)}-"]


def test_complete_part_with_known_size_needs_no_request(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    _trusted_part(remote, dest, tag_bytes, tag_bytes)
    download(remote.url(TAG_PATH), dest, expected_size=len(tag_bytes), **FAST)
    assert dest.read_bytes() == tag_bytes
    assert remote.state.requests == []


def test_file_changed_between_requests_is_redownloaded(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    new = _tagalign_gz(seed=7)

    def swap(n: int) -> None:
        if n == 2:  # the server's copy changes while we are resuming
            remote.put(TAG_PATH, new)

    remote.state.drop_first = 1
    remote.state.hook = swap
    download(remote.url(TAG_PATH), dest, sha256=_sha(new), **FAST)
    assert dest.read_bytes() == new
    # the resume named the old file's ETag (If-Range), so the server sent the new file whole
    assert len(remote.state.gets()) == 2 and remote.state.if_ranges == [None, _etag(tag_bytes)]


# --- retries -----------------------------------------------------------------------------------------


def test_429_and_503_are_retried(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    remote.state.statuses = [429, 503, 502]
    download(remote.url(TAG_PATH), dest, **FAST)
    assert dest.read_bytes() == tag_bytes
    assert len(remote.state.gets()) == 4


def test_timeout_is_retried(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    remote.state.stall_first_s = 1.0
    t0 = time.monotonic()
    download(remote.url(TAG_PATH), dest, **{**FAST, "timeout_s": 0.2})
    assert dest.read_bytes() == tag_bytes
    assert len(remote.state.gets()) == 2
    assert time.monotonic() - t0 < 5


def test_persistent_500_exhausts_retries(remote: Remote, dest: Path) -> None:
    remote.state.always_status = 500
    with pytest.raises(DownloadError) as info:
        download(remote.url(TAG_PATH), dest, retries=3, **FAST)
    assert len(remote.state.gets()) == 3 + 1
    assert "500" in str(info.value) and remote.url(TAG_PATH) in str(info.value)
    assert not dest.exists() and not _part(dest).exists()


def test_404_fails_at_once(remote: Remote, dest: Path) -> None:
    url = remote.url("/roadmap/data/byFileType/alignments/consolidated/E999-H3K4me3.tagAlign.gz")
    t0 = time.monotonic()
    with pytest.raises(DownloadError) as info:
        # A large back-off proves that no retry happened: one would sleep for 10 s.
        download(url, dest, retries=5, backoff_s=10.0, timeout_s=5.0, config_key="source.remc.url")
    assert time.monotonic() - t0 < 2
    message = str(info.value)
    assert url in message and "404" in message
    assert "cell/mark" in message and "source.remc.url" in message
    assert len(remote.state.gets()) == 1
    assert not dest.exists() and not _part(dest).exists()


def test_404_discards_a_stale_part(remote: Remote, dest: Path) -> None:
    dest.parent.mkdir(parents=True)
    _part(dest).write_bytes(b"x" * 100)
    with pytest.raises(DownloadError, match="404"):
        download(remote.url("/missing.gz"), dest, **FAST)
    assert not _part(dest).exists() and not dest.exists()


# --- verification ------------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ["sha256", "md5"])
def test_checksum_mismatch(remote: Remote, tag_bytes: bytes, dest: Path, algo: str) -> None:
    wrong = "0" * (64 if algo == "sha256" else 32)
    with pytest.raises(DownloadError) as info:
        download(remote.url(TAG_PATH), dest, **{algo: wrong}, **FAST)
    actual = hashlib.new(algo, tag_bytes).hexdigest()
    assert wrong in str(info.value) and actual in str(info.value)
    assert not dest.exists() and not _part(dest).exists()


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "no-content-length"])
def test_size_mismatch(remote: Remote, tag_bytes: bytes, dest: Path, announce: bool) -> None:
    remote.state.no_length = not announce
    wrong = len(tag_bytes) + 1
    with pytest.raises(DownloadError, match="size mismatch") as info:
        download(remote.url(TAG_PATH), dest, expected_size=wrong, **FAST)
    assert str(wrong) in str(info.value) and str(len(tag_bytes)) in str(info.value)
    assert not dest.exists() and not _part(dest).exists()


def test_truncated_gzip_is_rejected(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    truncated = tag_bytes[: len(tag_bytes) * 2 // 3]
    remote.put(TAG_PATH, truncated)  # the server itself holds a cut file and serves it as complete
    with pytest.raises(DownloadError, match="gzip"):
        download(remote.url(TAG_PATH), dest, **FAST)
    assert not dest.exists() and not _part(dest).exists()
    # verify_gzip=False turns the check off (e.g. for a server-side .gz that is not gzip at all).
    download(remote.url(TAG_PATH), dest, verify_gzip=False, **FAST)
    assert dest.read_bytes() == truncated


def test_verify_gzip_forced_on_other_names(remote: Remote, tag_bytes: bytes, tmp_path: Path) -> None:
    remote.put("/plain/reads.bin", tag_bytes[:-10])
    with pytest.raises(DownloadError, match="gzip"):
        download(remote.url("/plain/reads.bin"), tmp_path / "reads.bin", verify_gzip=True, **FAST)


# --- re-runs ------------------------------------------------------------------------------------------


def test_existing_valid_dest_makes_no_request(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    dest.parent.mkdir(parents=True)
    dest.write_bytes(tag_bytes)
    assert download(remote.url(TAG_PATH), dest, sha256=_sha(tag_bytes), **FAST) == dest
    assert remote.state.requests == []


def test_existing_invalid_dest_is_replaced(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    dest.parent.mkdir(parents=True)
    dest.write_bytes(tag_bytes[:5000])  # truncated gzip under the final name (e.g. copied by hand)
    download(remote.url(TAG_PATH), dest, **FAST)
    assert dest.read_bytes() == tag_bytes
    assert len(remote.state.gets()) == 1


# --- other URL kinds and helpers ---------------------------------------------------------------------


def test_file_url_copies_with_verification(tag_bytes: bytes, tmp_path: Path) -> None:
    src = tmp_path / "mirror" / "E003-H3K4me3.tagAlign.gz"
    src.parent.mkdir()
    src.write_bytes(tag_bytes)
    url = file_url(src)
    assert url.startswith("file:///")
    out = download(url, tmp_path / "out" / src.name, sha256=_sha(tag_bytes), **FAST)
    assert out.read_bytes() == tag_bytes
    assert remote_size(url) == len(tag_bytes)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        download(url, tmp_path / "bad" / src.name, sha256="f" * 64, **FAST)
    with pytest.raises(DownloadError, match="no such file"):
        download(file_url(tmp_path / "nope.gz"), tmp_path / "x.gz", **FAST)
    shutil.rmtree(tmp_path / "out")


def test_remote_size(remote: Remote, tag_bytes: bytes) -> None:
    assert remote_size(remote.url(TAG_PATH), timeout_s=5) == len(tag_bytes)
    assert remote.state.requests[-1][0] == "HEAD"
    with pytest.raises(DownloadError, match="404"):
        remote_size(remote.url("/missing.gz"), timeout_s=5)


def test_unsupported_scheme(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="source.remc.url"):
        download("ftp://example.invalid/x.gz", tmp_path / "x.gz", config_key="source.remc.url")


def test_destination_that_is_a_directory_is_refused(remote: Remote, tmp_path: Path) -> None:
    """Today's bug: a directory as --out printed 'wrote DIR' and wrote nothing."""
    with pytest.raises(InputError) as err:
        download(remote.url("/x.tagAlign.gz"), tmp_path, retries=0)
    first, hint = str(err.value).splitlines()
    assert first == f"{tmp_path}: the download destination is a directory"
    assert hint == f"  -> give the path of the file to write, e.g. {tmp_path / 'x.tagAlign.gz'}"


def test_two_downloads_of_one_file_at_once_give_one_good_file(remote: Remote, tag_bytes: bytes, dest: Path) -> None:
    """A second download to the same destination (another job, another shell) waits for the first, then finds
    the file there (it used to write the same part and fail with 'size mismatch ... got 0')."""
    from concurrent.futures import ThreadPoolExecutor

    started = threading.Event()

    def slow(n: int) -> None:  # the first GET takes a while, so the second download comes in meanwhile
        if n == 1:
            started.set()
            time.sleep(0.5)

    remote.state.hook = slow
    messages: list[list[str]] = [[], []]

    def one(i: int) -> Path:
        if i == 1:
            started.wait(5)
        return download(remote.url(TAG_PATH), dest, sha256=_sha(tag_bytes), log=messages[i].append, **FAST)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, [0, 1]))
    assert results == [dest, dest] and _sha(dest.read_bytes()) == _sha(tag_bytes)
    assert len(remote.state.gets()) == 1  # downloaded once
    assert any("another download of it is running" in m for m in messages[1])
    assert any("already present" in m for m in messages[1])
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]  # no part, no lock left

"""Streaming reader of aligned reads: tagAlign / BED (plain or gzip) and BAM.

Reads come out in chunks of compact numpy arrays (:class:`ReadChunk`): one small array of chromosome
names plus an ``int32`` code per read, and ``int64`` starts and ends. No Python string is made per
read: 20M reads as a pandas ``str`` column would take gigabytes, as codes they take 80 MB.

Formats are recognised by their first bytes, never by the file name:

* gzip (``1f 8b``): decompressed with ``isal`` (several times faster than ``zlib``); a gzip stream
  whose content starts with ``BAM\\1`` is a BAM file.
* anything else is read as tab-separated text, BED-like: ``chrom start end ...``; only the first three
  columns are used, so tagAlign (6 columns), BED3..BED12 and bedGraph-like files all work. Leading
  ``track``/``browser``/``#`` lines and blank lines are skipped.
* bigWig, bigBed, CRAM and SAM are recognised only to say what to do instead, and binary data of
  no known format (also behind gzip) is refused before any parsing.

A file whose name promises another format than its content holds is read by its content with a
warning naming both; a ``.bam`` name on anything but BAM is an error (:func:`sniff_content`,
:func:`format_by_name`).

Text is decompressed and cut into blocks of whole lines (a few MB). Large files (``parser="auto"``,
from :data:`STRICT_MIN_BYTES`) are parsed by a compiled strict parser
(:mod:`chromexpr.io.fastparse`) in a second thread while a first one decompresses, so the cores
overlap the two; smaller files are decompressed in this thread. A block the strict parser refuses,
and every block of a small file, is parsed by ``pyarrow.csv`` (multi-threaded C++) and checked with
numpy. A block that pyarrow cannot parse or that holds an invalid read (negative start,
``end <= start``, a comment or whitespace line in the middle, ragged column counts) is parsed again
line by line in Python: harmless oddities are skipped, and the first bad line raises
:class:`~chromexpr.errors.InputError` naming the file and its 1-based line. Only that block pays for
Python parsing; the next block is back on the fast path.
(pyarrow is never handed a Python file object: its read-ahead threads would call back into Python.)
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar

import numpy as np

from chromexpr.errors import InputError
from chromexpr.io.fastparse import NameTable, parse_strict_block, warm_up
from chromexpr.io.magic import BAM_MAGIC, BIGBED_MAGICS, BIGWIG_MAGICS, GZIP_MAGIC

ReadFormat = Literal["bed", "bed.gz", "bam"]
#: Text parser: ``strict`` (compiled, common lines only, others fall back per block), ``general``
#: (pyarrow, then Python) or ``auto`` (``strict`` for files of at least :data:`STRICT_MIN_BYTES`).
Parser = Literal["auto", "strict", "general"]
PARSERS: tuple[str, ...] = ("auto", "strict", "general")
#: From this size on disk, ``auto`` uses the strict parser; below, importing numba (about 1 s)
#: would cost more than it saves.
STRICT_MIN_BYTES = 16 << 20
_T = TypeVar("_T")
#: What :func:`sniff_content` finds in a file.
ContentKind = Literal[
    "empty", "bam", "gzip-text", "gzip-binary", "gzip-corrupt", "bigwig", "bigbed", "cram", "sam", "text", "binary"
]

log = logging.getLogger("chromexpr.reads")

#: Reads per chunk: about 40 MB of arrays, large enough that numpy's per-call overhead vanishes.
DEFAULT_CHUNK_READS = 2_000_000

# Decompressed text handed to pyarrow at once (about 110,000 tagAlign lines), and the size of the pieces
# pyarrow parses in parallel within it. 4 MB blocks were as fast as 8 or 16 MB and use less memory.
_TEXT_BLOCK = 4 << 20
_PARSE_BLOCK = 1 << 20

# Bytes looked at to tell text from binary data (decompressed, for gzip).
_SNIFF_BYTES = 1 << 16

_CONTENT_WORDS: dict[str, str] = {
    "empty": "empty (0 bytes)",
    "bam": "a BAM file (BGZF-compressed alignments)",
    "gzip-text": "gzip-compressed text",
    "gzip-binary": "gzip-compressed binary data (neither BAM nor text)",
    "gzip-corrupt": "a gzip stream that cannot be decompressed",
    "bigwig": "a bigWig file",
    "bigbed": "a bigBed file",
    "cram": "a CRAM file",
    "sam": "SAM text (alignments with an @HD/@SQ header)",
    "text": "plain text",
    "binary": "binary data of no known format (not BAM/BGZF, gzip, bigWig or text)",
}

# Integers as pyarrow's int64 parser accepts them (it trims blanks, and reads 0x.. as hex), so a
# block parsed in Python accepts exactly what pyarrow accepts elsewhere in the file.
_INT_RE = re.compile(rb"\s*(-?[0-9]+|0[xX][0-9a-fA-F]+)\s*")

# Larger coordinates cannot be genomic (and would overflow int64 arithmetic downstream).
_MAX_COORD = 1 << 62

_FORMAT_HINT = (
    "expected a tab-separated tagAlign/BED file (chrom, start, end, ...; 0-based, half-open), "
    "plain or gzip-compressed, or a BAM file"
)


@dataclass
class ReadChunk:
    """A chunk of reads in compact form.

    Attributes:
        chroms: chromosome names, ``(k,)``, as spelled in the file; ``codes`` index into it.
        codes: ``(n,) int32`` chromosome of each read.
        starts: ``(n,) int64`` 0-based start of each read.
        ends: ``(n,) int64`` exclusive end of each read (``> start``).
        first_read: 0-based index, among all reads of the file, of this chunk's first read.
        path: the file the reads come from (for error messages).
        skipped: BAM records not returned as reads, by reason (``unmapped``, ``secondary``,
            ``no_cigar``); empty for text files, where nothing is skipped.
        lines: where each read came from, as segments ``(first read of the segment, line)``: an
            ``int`` line for a run of reads on consecutive lines, or an array with one line per
            read. Use :meth:`line_of`.
    """

    chroms: np.ndarray
    codes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    first_read: int
    path: Path
    skipped: dict[str, int] = field(default_factory=dict)
    lines: list[tuple[int, int | np.ndarray]] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def line_of(self, i: int) -> int:
        """1-based line of read ``i`` of this chunk (BAM: 1-based record number), for messages."""
        if not 0 <= i < len(self):
            raise IndexError(f"read {i} of a chunk of {len(self)}")
        segment = bisect_right([first for first, _ in self.lines], i) - 1
        first, line = self.lines[segment]
        if isinstance(line, np.ndarray):
            return int(line[i - first])
        return line + (i - first)


# ----------------------------------------------------------------------------------------------
# Format detection and opening
# ----------------------------------------------------------------------------------------------


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f\v")


def _looks_binary(sample: bytes) -> bool:
    """True when ``sample`` (the first bytes of a file) is not text.

    Binary: a NUL byte, or not UTF-8 with more than 1% control bytes (random data has about 10%).
    Text in another encoding (Latin-1) passes, for the line parser to point at the bad line.
    """
    if b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # only a character cut at the end of the sample
            return False
        controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
        return controls > len(sample) // 100
    return False


def sniff_content(path: str | Path) -> ContentKind:
    """What ``path`` holds, told by its bytes alone (gzip is decompressed to look inside).

    ``bam`` is a gzip (BGZF) stream that decompresses to the ``BAM\\1`` magic; ``gzip-corrupt`` a
    stream that fails before its first bytes decompress (a failure further in is left to the
    reader, which reports the line). ``text`` and ``gzip-text`` hold UTF-8 without NUL bytes.
    """
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        return "empty"
    magic = head[:4]
    if magic in BIGWIG_MAGICS:
        return "bigwig"
    if magic in BIGBED_MAGICS:
        return "bigbed"
    if magic == b"CRAM":
        return "cram"
    if head[:2] == GZIP_MAGIC:
        from isal import igzip

        inner = b""
        try:
            with igzip.open(path, "rb") as gz:
                # small pieces: a stream broken further in still shows its first bytes
                while len(inner) < _SNIFF_BYTES and (piece := gz.read(4096)):
                    inner += piece
        except Exception:  # EOFError, BadGzipFile, or isal's IsalError (not an OSError)
            if len(inner) < 4:
                return "gzip-corrupt"
        if inner[:4] == BAM_MAGIC:
            return "bam"
        return "gzip-binary" if _looks_binary(inner) else "gzip-text"
    if _looks_binary(head):
        return "binary"
    if head.startswith((b"@HD\t", b"@SQ\t")):
        return "sam"
    return "text"


def describe_content(kind: ContentKind) -> str:
    """Words for a :data:`ContentKind`, for messages (``"gzip-compressed text"``)."""
    return _CONTENT_WORDS[kind]


_TEXT_SUFFIXES = (".bed", ".tagalign", ".txt", ".tsv", ".bedgraph", ".bdg", ".narrowpeak", ".broadpeak")


def format_by_name(path: str | Path) -> tuple[str, str] | None:
    """The format a file name promises, as ``(kind, words)``, or ``None`` when it promises none.

    ``kind`` is a :data:`ContentKind` (``gzip-text`` for ``.bed.gz``/``.tagAlign.gz``, ``text`` for
    ``.bed``/``.tagAlign``), or ``gzip`` for another ``.gz`` name; ``words`` says it for messages.
    """
    name = Path(path).name.lower()
    for suffixes, kind, words in (
        ((".bam",), "bam", "BAM"),
        ((".cram",), "cram", "CRAM"),
        ((".sam",), "sam", "SAM"),
        ((".bw", ".bigwig"), "bigwig", "bigWig"),
        ((".bb", ".bigbed"), "bigbed", "bigBed"),
    ):
        if name.endswith(suffixes):
            return kind, words
    if name.endswith((".gz", ".bgz")):
        inner = name.rsplit(".", 1)[0]
        if inner.endswith(_TEXT_SUFFIXES):
            return "gzip-text", "gzip-compressed tagAlign/BED"
        return "gzip", "gzip-compressed"
    if name.endswith(_TEXT_SUFFIXES):
        return "text", "plain-text tagAlign/BED"
    return None


def name_mismatch(path: str | Path, content: ContentKind) -> str | None:
    """The format the name of ``path`` promises (``"BAM"``) when its ``content`` is another, else ``None``."""
    promised = format_by_name(path)
    if promised is None:
        return None
    kind, words = promised
    if kind == content or (kind.startswith("gzip") and content.startswith("gzip")):
        return None  # a corrupt gzip stream is still what a .gz name promises
    if kind == "bam" and content == "gzip-corrupt":
        return None  # BAM is BGZF, i.e. gzip: a broken one is a broken BAM
    return words


def _name_says(path: Path, content: ContentKind) -> str:
    """``"; its name says BAM"`` when the name promises another format than ``content``, else ``""``."""
    words = name_mismatch(path, content)
    return f"; its name says {words}" if words else ""


def detect_read_format(path: str | Path) -> ReadFormat:
    """Recognise a reads file by its content: ``"bam"``, ``"bed.gz"`` or ``"bed"``.

    The content decides; a name promising another readable format (gzip text named ``.bed``) only
    gets a warning naming both, but a ``.bam`` name on anything but BAM is refused.

    Raises:
        InputError: the file is missing, a directory or empty; is a bigWig/bigBed/CRAM/SAM file,
            binary data of no known format, or a gzip stream that does not decompress; or is
            named ``.bam`` without being BAM.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(
            "is a directory, not a reads file",
            path=path,
            hint="give the tagAlign/BED/BAM file itself (check the path in config/cells.tsv)",
        )
    if not path.is_file():
        raise InputError("reads file not found", path=path, hint="check the path in config/cells.tsv")
    try:
        kind = sniff_content(path)
    except OSError as exc:
        raise InputError(
            f"cannot be read ({exc.strerror or exc})", path=path, hint="check the file's permissions"
        ) from exc
    named = _name_says(path, kind)
    promised = format_by_name(path)
    if promised is not None and promised[0] == "bam" and kind == "gzip-corrupt":
        raise InputError(
            "the BAM file is truncated or corrupt: no BAM header after BGZF decompression "
            "(the gzip stream fails at its start)",
            path=path,
            hint="re-create or re-download it; `samtools quickcheck FILE` detects this",
        )
    if promised is not None and promised[0] == "bam" and kind not in ("bam", "empty"):
        raise InputError(
            f"not a BAM file (no BAM header after BGZF decompression): the content is "
            f"{describe_content(kind)}, though the name says BAM",
            path=path,
            hint="give the BAM file itself (`samtools quickcheck FILE` checks one); if this is "
            "another format on purpose, name it after its content (.tagAlign.gz, .bed, ...)",
        )
    if kind == "empty":
        raise InputError(
            "the reads file is empty (0 bytes)",
            path=path,
            hint="the download or alignment step probably failed; recreate the file",
        )
    if kind == "bigwig":
        raise InputError(
            f"this is a bigWig file, not aligned reads{named}",
            path=path,
            hint="list it as a bigWig track (signal is then binned with bin_bigwig), or give the reads",
        )
    if kind == "bigbed":
        raise InputError(
            f"this is a bigBed file, which chromexpr does not read{named}",
            path=path,
            hint="convert it to BED with `bigBedToBed FILE out.bed`",
        )
    if kind == "cram":
        raise InputError(
            f"CRAM is not supported{named}",
            path=path,
            hint="convert it to BAM with `samtools view -b -T ref.fa FILE > reads.bam`",
        )
    if kind == "sam":
        raise InputError(
            f"this is a SAM file (text alignments), which chromexpr does not read{named}",
            path=path,
            line=1,
            hint="convert it to BAM with `samtools view -b FILE > reads.bam`",
        )
    if kind == "gzip-corrupt":
        from isal import igzip

        try:
            with igzip.open(path, "rb") as gz:
                gz.read(4)
            detail = "no data"
        except Exception as exc:  # EOFError, BadGzipFile, or isal's IsalError (not an OSError)
            detail = str(exc) or type(exc).__name__
        raise InputError(
            f"the file starts like gzip but cannot be decompressed ({detail}){named}",
            path=path,
            line=1,
            hint="the file is truncated or corrupt: download it again (check with `gzip -t`)",
        )
    if kind in ("binary", "gzip-binary"):
        raise InputError(
            f"not a reads file: the content is {describe_content(kind)}{named}",
            path=path,
            hint=_FORMAT_HINT + "; check that the path points at the reads of this cell and mark",
        )
    if named:
        log.warning("%s: read as %s by its content%s", path, describe_content(kind), named)
    if kind == "bam":
        return "bam"
    return "bed.gz" if kind == "gzip-text" else "bed"


def _open_binary(path: Path, fmt: ReadFormat) -> BinaryIO:
    if fmt == "bed.gz":
        from isal import igzip

        return igzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _is_header(line: bytes) -> bool:
    """``track``/``browser``/``#`` lines of UCSC BED files carry no reads."""
    return line.startswith((b"#", b"track", b"browser"))


def _is_blank(line: bytes) -> bool:
    return not line.strip()


def _gzip_errors() -> tuple[type[BaseException], ...]:
    from isal.isal_zlib import error as isal_error

    # EOFError: truncated stream; OSError covers BadGzipFile; IsalError: corrupt deflate data.
    return (EOFError, OSError, isal_error)


def _gzip_error(path: Path, complete_lines: int, exc: BaseException) -> InputError:
    return InputError(
        f"the gzip stream is truncated or corrupt after {complete_lines} complete lines ({exc})",
        path=path,
        line=complete_lines + 1,
        hint="the file was probably cut short (an interrupted download or copy): fetch it again "
        "and check it with `gzip -t FILE`",
    )


# ----------------------------------------------------------------------------------------------
# Public reader
# ----------------------------------------------------------------------------------------------


def iter_read_chunks(
    path: str | Path, chunk_reads: int = DEFAULT_CHUNK_READS, *, parser: Parser = "auto"
) -> Iterator[ReadChunk]:
    """Stream the reads of ``path`` in chunks of about ``chunk_reads`` reads.

    Text (tagAlign/BED, plain or gzip): every data line is one read; only the first three columns
    are read; blank lines and ``#``/``track``/``browser`` lines are skipped. BAM: every mapped,
    non-secondary record with a CIGAR is one read spanning ``reference_start .. reference_end``
    (what ``bedtools`` uses for BAM without ``-split``); supplementary, duplicate and QC-fail
    records are kept, as bedtools keeps them.

    Memory is bounded by the chunk size, whatever the file size.

    ``parser`` (text only) picks the parser; all give the same chunks. With ``strict``,
    decompression and parsing run in two threads beside the caller's, a few blocks ahead.

    Raises:
        InputError: naming the file and 1-based line of the first bad read (too few columns,
            non-integer coordinate, negative start, ``end <= start``, empty chromosome name), a
            truncated or corrupt gzip/BAM, or a file without any read.
    """
    path = Path(path)
    if chunk_reads <= 0:
        raise ValueError(f"chunk_reads must be positive, got {chunk_reads}")
    fmt = detect_read_format(path)
    if fmt == "bam":
        yield from _iter_bam(path, chunk_reads)
    else:
        yield from _iter_text(path, fmt, chunk_reads, parser)


def read_chrom_names(path: str | Path, chunk_reads: int = DEFAULT_CHUNK_READS) -> list[str]:
    """Chromosome names used by the reads of ``path``, in order of first appearance.

    BAM: the header's reference names. Text: a full pass over the file (it has no header).
    """
    path = Path(path)
    if detect_read_format(path) == "bam":
        import pysam

        with pysam.AlignmentFile(str(path), "rb", check_sq=False) as bam:
            return list(bam.references)
    seen: dict[str, None] = {}
    for chunk in iter_read_chunks(path, chunk_reads):
        for name in chunk.chroms[np.unique(chunk.codes)]:
            seen.setdefault(str(name), None)
    return list(seen)


# ----------------------------------------------------------------------------------------------
# Text: blocks of whole lines, parsed by pyarrow, or by Python where pyarrow gives up
# ----------------------------------------------------------------------------------------------


class _BufferPool:
    """Block buffers handed back by the consumer for the next blocks.

    Decompressing into fresh 4 MB buffers costs a third more CPU in a process whose other threads
    allocate too (the kernel serialises their page faults and unmaps); reusing a few avoids it. An
    empty pool allocates, so the producer never waits for the consumer here (the queue between
    them bounds the blocks in flight).
    """

    def __init__(self) -> None:
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()

    def take(self, size: int) -> bytearray:
        """A buffer of at least ``size`` bytes (its content is garbage)."""
        try:
            buffer = self._free.get_nowait()
        except queue.Empty:
            return bytearray(size)
        return buffer if len(buffer) >= size else bytearray(size)

    def give(self, block: memoryview | bytes) -> None:
        """Hand back the buffer under ``block`` once nothing reads it any more."""
        if isinstance(block, memoryview) and isinstance(block.obj, bytearray):
            self._free.put(block.obj)


def _iter_views(path: Path, fmt: ReadFormat, pool: _BufferPool) -> Iterator[memoryview]:
    """Decompressed blocks of whole lines (each ends with a newline), without copying: each block is
    decompressed into a buffer from ``pool`` and handed over as a view of its whole lines; the
    consumer gives the buffer back when done."""
    carry = b""
    broken_stream = _gzip_errors() if fmt == "bed.gz" else ()
    try:
        with _open_binary(path, fmt) as fh:
            while True:
                buffer = pool.take(len(carry) + _TEXT_BLOCK)
                buffer[: len(carry)] = carry
                got = fh.readinto(memoryview(buffer)[len(carry) : len(carry) + _TEXT_BLOCK])
                if not got:
                    break
                end = len(carry) + got
                cut = buffer.rfind(b"\n", 0, end)
                if cut < 0:  # a line longer than a block: keep collecting
                    carry = bytes(buffer[:end])
                    continue
                carry = bytes(buffer[cut + 1 : end])
                yield memoryview(buffer)[: cut + 1]
    except broken_stream as exc:
        raise _gzip_error(path, _lines_before_gzip_error(path), exc) from exc
    if carry:  # last line without a newline
        yield memoryview(carry + b"\n")


def _background(items: Iterator[_T], depth: int) -> Iterator[_T]:
    """Yield what ``items`` yields, produced by a thread up to ``depth`` items ahead.

    An exception in the thread is raised here; closing this generator stops the thread (and closes
    ``items`` there, so its files close) before returning. Memory is bounded by ``depth`` items.
    """
    channel: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                channel.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, finished))
        except BaseException as exc:  # handed to the consumer, which raises it
            put((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="chromexpr-reads", daemon=True)
    worker.start()
    try:
        while True:
            ok, item = channel.get()
            if not ok:
                raise item  # type: ignore[misc]
            if item is finished:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def _lines_before_gzip_error(path: Path) -> int:
    """Complete lines that decompress before a broken gzip stream fails (error path only).

    A large read loses everything it decompressed when the stream fails, so count in small reads.
    """
    from isal import igzip

    lines = 0
    try:
        with igzip.open(path, "rb") as fh:
            while piece := fh.read(8192):
                lines += piece.count(b"\n")
    except _gzip_errors():
        pass
    return lines


def uses_strict_parser(path: str | Path, parser: Parser = "auto") -> bool:
    """Whether :func:`iter_read_chunks` parses the text file ``path`` with the strict parser."""
    if parser not in PARSERS:
        raise ValueError(f"parser must be one of {PARSERS}, got {parser!r}")
    return parser == "strict" or (parser == "auto" and Path(path).stat().st_size >= STRICT_MIN_BYTES)


def _iter_text(path: Path, fmt: ReadFormat, chunk_reads: int, parser: Parser) -> Iterator[ReadChunk]:
    if uses_strict_parser(path, parser):
        # Three threads: decompression, parsing, and the caller's use of the chunks. Decompression
        # may run up to 16 blocks (64 MB) ahead while the parser loads its compiled kernel.
        pool = _BufferPool()
        blocks = _background(_iter_views(path, fmt, pool), depth=16)
        yield from _background(_chunks(blocks, path, chunk_reads, strict=True, pool=pool), depth=1)
    else:
        pool = _BufferPool()
        yield from _chunks(_iter_views(path, fmt, pool), path, chunk_reads, strict=False, pool=pool)


def _chunks(
    blocks: Iterator[memoryview],
    path: Path,
    chunk_reads: int,
    *,
    strict: bool,
    pool: _BufferPool,
) -> Iterator[ReadChunk]:
    """Parse blocks into chunks of about ``chunk_reads`` reads, numbering lines on the way; each
    block's buffer goes back to ``pool`` once parsed."""
    names: dict[str, int] = {}  # chromosome -> code, for the whole file
    table = None
    if strict:
        warm_up()
        table = NameTable(names)
    parts: list[_Part] = []
    pending = 0
    first_read = 0
    line = 1  # of the block's first line
    for index, block in enumerate(blocks):
        if index == 0:
            block, line = _strip_header(bytes(block), line)
        part = None
        if table is not None:
            fast = parse_strict_block(block, table)
            if fast is not None:  # every line was a read
                part = _Part(codes=fast.codes, starts=fast.starts, ends=fast.ends, lines=line)
                n_lines = len(fast.codes)
        if part is None:
            text = bytes(block)  # the general parsers work on bytes
            n_lines = text.count(b"\n")
            part = _parse_block_fast(text, line, n_lines, names)
            if part is None:
                part = _parse_block_python(text, line, names, path)
        pool.give(block)  # the parts hold copies: the block's buffer can take the next block
        line += n_lines
        if len(part.codes) == 0:
            continue
        parts.append(part)
        pending += len(part.codes)
        if pending >= chunk_reads:
            chunk = _make_chunk(names, parts, first_read, path)
            first_read += len(chunk)
            parts, pending = [], 0
            yield chunk
    if parts:
        chunk = _make_chunk(names, parts, first_read, path)
        first_read += len(chunk)
        yield chunk
    if first_read == 0:
        raise InputError(
            "the reads file contains no reads",
            path=path,
            hint="the upstream step (download, alignment, filtering) produced an empty file; recreate it",
        )


@dataclass
class _Part:
    """Reads of one block; ``lines`` as in :attr:`ReadChunk.lines`, relative to the block."""

    codes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    lines: int | np.ndarray


def _strip_header(block: bytes, first_line: int) -> tuple[bytes, int]:
    """Drop leading ``track``/``browser``/``#`` and blank lines (UCSC BED headers) from block 1."""
    offset = 0
    while offset < len(block):
        end = block.find(b"\n", offset) + 1
        line = block[offset:end]
        if not (_is_header(line) or _is_blank(line)):
            break
        offset = end
        first_line += 1
    return block[offset:], first_line


def _parse_block_fast(block: bytes, first_line: int, n_lines: int, names: dict[str, int]) -> _Part | None:
    """pyarrow parse of one block; ``None`` when anything is off (the Python parser then decides)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.py_buffer(block),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=_PARSE_BLOCK, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter="\t",
                quote_char=False,  # BED has no quoting; a stray '"' in a name column must not matter
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=["f0", "f1", "f2"],
                # Dictionary-encoded chromosome: a few names plus int32 indices per batch.
                column_types={
                    "f0": pa.dictionary(pa.int32(), pa.string()),
                    "f1": pa.int64(),
                    "f2": pa.int64(),
                },
                # Without this an empty coordinate would silently become null.
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    starts = table.column(1).to_numpy()
    ends = table.column(2).to_numpy()
    if starts.size and (starts.min() < 0 or not np.all(ends > starts) or ends.max() >= _MAX_COORD):
        return None
    codes = []
    for piece in table.column(0).chunks:  # each batch has its own dictionary
        dictionary = piece.dictionary.to_pylist()
        if "" in dictionary:
            return None
        lut = np.array([names.setdefault(n, len(names)) for n in dictionary], dtype=np.int32)
        codes.append(lut[piece.indices.to_numpy(zero_copy_only=False)])
    if n_lines == len(starts):
        lines: int | np.ndarray = first_line
    else:
        # pyarrow skipped empty lines: number the data lines the same way.
        raw = np.frombuffer(block, dtype=np.uint8)
        ends_at = np.flatnonzero(raw == 10)
        begins = np.concatenate([[0], ends_at[:-1] + 1])
        length = ends_at - begins
        crlf_only = (length == 1) & (raw[begins] == 13)
        lines = first_line + np.flatnonzero((length > 0) & ~crlf_only)
        if lines.size != len(starts):
            return None
    return _Part(
        codes=np.concatenate(codes) if len(codes) != 1 else codes[0],
        starts=starts,
        ends=ends,
        lines=lines,
    )


def _parse_block_python(block: bytes, first_line: int, names: dict[str, int], path: Path) -> _Part:
    """Line-by-line parse of a block pyarrow refused: skip harmless lines, report the first bad one."""
    codes: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    lines: list[int] = []
    for lineno, raw in enumerate(block.split(b"\n")[:-1], start=first_line):
        if _is_blank(raw) or _is_header(raw):
            continue
        chrom, start, end = _parse_line(raw.rstrip(b"\r"), path, lineno)
        codes.append(names.setdefault(chrom, len(names)))
        starts.append(start)
        ends.append(end)
        lines.append(lineno)
    return _Part(
        codes=np.array(codes, dtype=np.int32),
        starts=np.array(starts, dtype=np.int64),
        ends=np.array(ends, dtype=np.int64),
        lines=np.array(lines, dtype=np.int64),
    )


def _make_chunk(names: Mapping[str, int], parts: list[_Part], first_read: int, path: Path) -> ReadChunk:
    lines: list[tuple[int, int | np.ndarray]] = []
    offset = 0
    for part in parts:
        lines.append((offset, part.lines))
        offset += len(part.codes)

    def joined(arrays: list[np.ndarray], dtype: type) -> np.ndarray:  # one part: its array, no copy
        return (arrays[0] if len(arrays) == 1 else np.concatenate(arrays)).astype(dtype, copy=False)

    return ReadChunk(
        chroms=np.array(list(names), dtype=object),
        codes=joined([p.codes for p in parts], np.int32),
        starts=joined([p.starts for p in parts], np.int64),
        ends=joined([p.ends for p in parts], np.int64),
        first_read=first_read,
        path=path,
        lines=lines,
    )


# ----------------------------------------------------------------------------------------------
# Python parsing of single lines (exact error reporting)
# ----------------------------------------------------------------------------------------------


def _parse_int(token: bytes) -> int | None:
    m = _INT_RE.fullmatch(token)
    if m is None:
        return None
    digits = m.group(1)
    return int(digits, 16) if digits[:2] in (b"0x", b"0X") else int(digits)


def _parse_line(text: bytes, path: Path, lineno: int) -> tuple[str, int, int]:
    """Parse one data line (without its newline) into ``(chrom, start, end)`` or raise."""
    fields = text.split(b"\t")
    if len(fields) < 3:
        hint = _FORMAT_HINT
        if len(text.split()) >= 3:
            hint = (
                "the columns seem to be separated by spaces; tagAlign/BED must be tab-separated "
                "(convert with `tr ' ' '\\t'`)"
            )
        raise InputError(
            f"expected at least 3 tab-separated columns (chrom, start, end), found {len(fields)}: {_show(text)}",
            path=path,
            line=lineno,
            hint=hint,
        )
    try:
        chrom = fields[0].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the chromosome name is not text: {_show(fields[0])}",
            path=path,
            line=lineno,
            hint=_FORMAT_HINT,
        ) from exc
    if not chrom:
        raise InputError(
            f"the chromosome name (column 1) is empty: {_show(text)}",
            path=path,
            line=lineno,
            hint="every read needs a chromosome name such as chr1",
        )
    values = []
    for column, label in ((1, "start"), (2, "end")):
        value = _parse_int(fields[column])
        if value is None:
            hint = "coordinates must be whole numbers (0-based, half-open); " + _FORMAT_HINT
            if re.fullmatch(rb"[A-Za-z_]+", fields[column].strip()):
                hint = (
                    "is this a header line? tagAlign/BED files have no column names (only "
                    "track/browser/# lines): remove the line or start it with '#'"
                )
            raise InputError(
                f"column {column + 1} ({label}) is not an integer: {_show(fields[column])}",
                path=path,
                line=lineno,
                hint=hint,
            )
        if value >= _MAX_COORD:
            raise InputError(
                f"column {column + 1} ({label}) is implausibly large: {value}",
                path=path,
                line=lineno,
                hint="no genome is that long; the file is corrupt or not a tagAlign/BED file",
            )
        values.append(value)
    start, end = values
    if start < 0:
        raise InputError(
            f"start is negative ({start})",
            path=path,
            line=lineno,
            hint="BED coordinates are 0-based and start at 0; fix or remove this read",
        )
    if end <= start:
        raise InputError(
            f"end ({end}) must be greater than start ({start})",
            path=path,
            line=lineno,
            hint="intervals are half-open [start, end): a read of length L at p is written p, p+L",
        )
    return chrom, start, end


def _show(raw: bytes, limit: int = 80) -> str:
    text = raw.decode("utf-8", errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


# ----------------------------------------------------------------------------------------------
# BAM
# ----------------------------------------------------------------------------------------------


def _iter_bam(path: Path, chunk_reads: int) -> Iterator[ReadChunk]:
    import pysam

    try:
        bam = pysam.AlignmentFile(str(path), "rb", check_sq=False)
    except (ValueError, OSError) as exc:
        raise InputError(
            f"cannot open the BAM file ({exc})",
            path=path,
            hint="check it with `samtools quickcheck FILE`; re-create it if that fails",
        ) from exc
    chroms = np.array(list(bam.references), dtype=object)
    codes: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    records: list[int] = []
    skipped = {"unmapped": 0, "secondary": 0, "no_cigar": 0}
    first_read = 0
    n_total = 0
    record = 0

    def flush() -> ReadChunk:
        chunk = ReadChunk(
            chroms=chroms,
            codes=np.array(codes, dtype=np.int32),
            starts=np.array(starts, dtype=np.int64),
            ends=np.array(ends, dtype=np.int64),
            first_read=first_read,
            path=path,
            skipped=dict(skipped),
            lines=[(0, np.array(records, dtype=np.int64))],
        )
        for key in skipped:
            skipped[key] = 0
        return chunk

    with bam:
        try:
            for record, aln in enumerate(bam.fetch(until_eof=True), start=1):
                flag = aln.flag
                if flag & 0x4 or aln.reference_id < 0:
                    skipped["unmapped"] += 1
                    continue
                if flag & 0x100:
                    # A multi-mapped read would otherwise count once per alignment.
                    skipped["secondary"] += 1
                    continue
                end = aln.reference_end
                if end is None or end <= aln.reference_start:
                    skipped["no_cigar"] += 1
                    continue
                codes.append(aln.reference_id)
                starts.append(aln.reference_start)
                ends.append(end)
                records.append(record)
                if len(codes) >= chunk_reads:
                    chunk = flush()
                    first_read += len(chunk)
                    n_total += len(chunk)
                    codes, starts, ends, records = [], [], [], []
                    yield chunk
        except (OSError, ValueError) as exc:
            raise InputError(
                f"the BAM file is truncated or corrupt after record {record} ({exc})",
                path=path,
                line=record + 1,
                hint="re-create or re-download it; `samtools quickcheck FILE` detects this",
            ) from exc
    if codes or any(skipped.values()):
        chunk = flush()
        n_total += len(chunk)
        yield chunk
    if n_total == 0:
        raise InputError(
            "the BAM file contains no mapped primary reads",
            path=path,
            hint="check the alignment step (`samtools flagstat FILE`)",
        )


# ----------------------------------------------------------------------------------------------
# Chromosome naming
# ----------------------------------------------------------------------------------------------

_MITO = {"M", "MT"}


def chrom_key(name: str) -> str:
    """Name without the UCSC ``chr`` prefix; both mitochondrial spellings become ``M``."""
    core = name[3:] if name[:3].lower() == "chr" else name
    return "M" if core.upper() in _MITO else core


def normalize_chrom_names(read_chroms: Iterable[str], reference_chroms: Iterable[str]) -> dict[str, str]:
    """Map each chromosome name of the reads to the spelling of the reference (e.g. the TSS table).

    UCSC (``chr1``, ``chrX``, ``chrM``) and Ensembl/NCBI (``1``, ``X``, ``MT``) spellings are matched
    in both directions; ``chrM``, ``chrMT``, ``M`` and ``MT`` are one chromosome. A name already in
    the reference maps to itself, and so does a name without a counterpart (its reads are then
    reported as on a chromosome outside the table, never silently lost).

    >>> normalize_chrom_names(["1", "MT", "GL000192.1"], ["chr1", "chrM"])
    {'1': 'chr1', 'MT': 'chrM', 'GL000192.1': 'GL000192.1'}
    """
    reference = list(reference_chroms)
    exact = set(reference)
    by_key: dict[str, str] = {}
    for name in reference:
        by_key.setdefault(chrom_key(name), name)
    return {name: name if name in exact else by_key.get(chrom_key(name), name) for name in read_chroms}

"""Compiled parser for the common case of tagAlign/BED text: ``chrom<TAB>start<TAB>end[<TAB>...]``.

:func:`parse_strict_block` reads a block of whole lines into chromosome codes, starts and ends in
one pass, with a numba kernel that releases the GIL (so it overlaps with decompression in another
thread). It accepts only a strict subset of what :mod:`chromexpr.io.reads`' pyarrow and Python
parsers accept, and where it accepts a line it gives the same values:

* the chromosome is 1 or more printable ASCII bytes other than space (``0x21-0x7e``);
* start and end are 1 to 18 decimal digits (so below ``2**62``), and ``end > start``;
* the end is followed by a newline or by a tab and anything up to the newline (further columns).

Any other line (blank, ``\\r\\n`` ending, a sign, spaces, a non-ASCII name, too few columns, an
invalid interval) makes it give up on the whole block and return ``None``: the caller then parses
that block with the general parsers, which skip harmless lines and report the first bad one with
its line number. So the outcome never depends on which parser ran.

Chromosome names are kept in a :class:`NameTable` (the file's names in order of first appearance,
the same codes the general parsers assign); a name is added only once a line carrying it has
parsed completely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Kernel return status (chromexpr.kernels).
_DONE, _NEW_NAME, _FULL, _GIVE_UP = 0, 1, 2, 3
_HASH_BITS = 10  # 1,024 slots for names of at most 8 bytes (chr1 ... chrUn: a few dozen)
_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing multiplier


def _parse_kernel():
    from chromexpr.kernels import HASH_BITS, parse_strict  # numba: imported on first use

    assert HASH_BITS == _HASH_BITS
    return parse_strict


def warm_up() -> None:
    """Import numba and load (or compile) the kernel, so that the first block does not wait for it."""
    parse_strict_block(b"chr1\t0\t1\n", NameTable({}))


class NameTable:
    """Chromosome names of one file in order of first appearance; the code of a name is its index.

    ``names`` is shared with the general parsers (a ``dict`` name -> code), so a block parsed either
    way extends the same table.
    """

    def __init__(self, names: dict[str, int]) -> None:
        self.names = names
        self._synced = -1
        self._sync()

    def _sync(self) -> None:
        """Rebuild the kernel's arrays when ``names`` has grown (rare: once per new chromosome)."""
        if self._synced == len(self.names):
            return
        encoded = [name.encode() for name in self.names]
        size = 1 << _HASH_BITS
        table = np.full(size, -1, dtype=np.int32)
        keys = np.zeros(len(encoded), dtype=np.uint64)
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(raw) for raw in encoded])
        used = 0
        for code, raw in enumerate(encoded):
            key = int.from_bytes(raw[:8], "little")
            keys[code] = key
            if len(raw) <= 8 and used < size // 2:  # longer names (and a crowded table) use a scan
                slot = ((key * _GOLDEN) % (1 << 64)) >> (64 - _HASH_BITS)
                while table[slot] >= 0:
                    slot = (slot + 1) & (size - 1)
                table[slot] = code
                used += 1
        self._table, self._keys, self._offsets = table, keys, offsets
        self._bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, np.uint8)
        self._synced = len(self.names)

    def _lookup_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        self._sync()
        return self._table, self._keys, self._bytes, self._offsets


@dataclass
class StrictBlock:
    """Reads of one block: ``codes`` ``(n,) int32``, ``starts`` and ``ends`` ``(n,) int64``; every line was a read."""

    codes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray


def parse_strict_block(block: bytes | memoryview, table: NameTable) -> StrictBlock | None:
    """Parse a block of whole lines (ending in a newline), or ``None`` if any line is not strict.

    New chromosome names are added to ``table`` as their first complete line is parsed; a block
    given up on adds none (the general parser then assigns them in the same order).
    """
    kernel = _parse_kernel()
    buf = np.frombuffer(block, dtype=np.uint8)  # (bytes,) read-only view, no copy
    capacity = len(block) // 24 + 16  # tagAlign lines are about 45 bytes; grown when short lines fill it
    codes = np.empty(capacity, dtype=np.int32)
    starts = np.empty(capacity, dtype=np.int64)
    ends = np.empty(capacity, dtype=np.int64)
    before = len(table.names)
    pos, n_out = 0, 0
    while True:
        lookup = table._lookup_arrays()
        pos, n_out, status = kernel(buf, pos, codes, starts, ends, n_out, *lookup)
        if status == _DONE:
            break
        if status == _NEW_NAME:
            tab = pos + int(np.argmax(buf[pos:] == 9))  # the kernel found a tab ending the name
            name = bytes(buf[pos:tab]).decode("ascii")
            if name in table.names:  # the kernel missed a known name: never loop on it
                raise RuntimeError(f"strict parser: name table out of step at {name!r}")
            table.names[name] = len(table.names)
        elif status == _FULL:
            capacity = max(2 * capacity, n_out + (len(block) - pos) // 6 + 16)
            codes = np.resize(codes, capacity)
            starts = np.resize(starts, capacity)
            ends = np.resize(ends, capacity)
        else:
            for name in list(table.names)[before:]:  # undo: the general parser renumbers this block
                del table.names[name]
            table._synced = -1
            return None
    return StrictBlock(codes=codes[:n_out], starts=starts[:n_out], ends=ends[:n_out])

"""numba kernels of the hot loops (imported on first use: importing numba costs about a second).

Each has a pure numpy or pyarrow counterpart that gives the same result, and tests compare the two:

* :func:`parse_strict`: the strict tagAlign/BED parser of :mod:`chromexpr.io.fastparse`;
* :func:`count_reads`: counts reads into bins, as :class:`chromexpr.preprocess.binning._EdgeCounter`
  does with numpy (screen, sort, ``searchsorted``).

Compiled code is cached next to this file (``__pycache__``), so a process loads it rather than
compiling it; both release the GIL, so they overlap with decompression in other threads. Arrays
are indexed with unsigned integers where the index cannot be negative: numba then skips its
negative-index wraparound, which made the parser a third faster (measured).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Parser status: the block is parsed / the line at ``pos`` names an unknown chromosome / the
#: outputs are full / the line at ``pos`` is not strict.
DONE, NEW_NAME, FULL, GIVE_UP = 0, 1, 2, 3
HASH_BITS = 10
#: The screen's block size; :mod:`chromexpr.preprocess.binning` uses the same.
BLOCK_BITS = 12


@njit(nogil=True, cache=True)
def parse_strict(buf, pos, codes, starts, ends, n_out, table, keys, name_bytes, name_offsets):
    """Parse lines of ``buf`` from byte ``pos``; returns ``(pos, n_out, status)``.

    ``NEW_NAME``: the line at ``pos`` is valid but names an unknown chromosome (its bytes run
    from ``pos`` to the first tab). ``FULL``: the outputs are full at ``pos``.
    ``GIVE_UP``: the line at ``pos`` is not strict. ``DONE``: the block is parsed.
    """
    n = buf.size
    cap = codes.size
    mask = table.size - 1
    n_names = name_offsets.size - 1
    while pos < n:
        if n_out >= cap:
            return pos, n_out, FULL
        line = pos
        key = np.uint64(0)
        p = pos
        while p < n:
            b = buf[np.uintp(p)]
            if b == 9:
                break
            if b <= 32 or b >= 127:
                return line, n_out, GIVE_UP
            if p - line < 8:
                key |= np.uint64(b) << np.uint64(8 * (p - line))
            p += 1
        length = p - line
        if p >= n or length == 0:
            return line, n_out, GIVE_UP
        code = -1
        if length <= 8:
            slot = np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - HASH_BITS)) & mask
            while True:
                c = table[slot]
                if c < 0:
                    break
                if keys[c] == key and name_offsets[c + 1] - name_offsets[c] == length:
                    code = c
                    break
                slot = (slot + 1) & mask
        if code < 0:  # a long name, a name past the table's capacity, or a new one
            for c in range(n_names):
                a = name_offsets[c]
                if name_offsets[c + 1] - a == length and keys[c] == key:
                    same = True
                    for k in range(8, length):
                        if name_bytes[a + k] != buf[np.uintp(line + k)]:
                            same = False
                            break
                    if same:
                        code = c
                        break
        p += 1
        # The two numbers are parsed by the same loop written out twice: a helper function
        # returning (value, digits, position) made the whole parser 25% slower (measured).
        start = np.int64(0)
        digits = 0
        while p < n:
            x = np.int64(buf[np.uintp(p)]) - 48
            if x < 0 or x > 9:
                break
            start = start * 10 + x
            digits += 1
            p += 1
        if digits == 0 or digits > 18 or p >= n or buf[np.uintp(p)] != 9:
            return line, n_out, GIVE_UP
        p += 1
        end = np.int64(0)
        digits = 0
        while p < n:
            x = np.int64(buf[np.uintp(p)]) - 48
            if x < 0 or x > 9:
                break
            end = end * 10 + x
            digits += 1
            p += 1
        if digits == 0 or digits > 18 or p >= n or end <= start:
            return line, n_out, GIVE_UP
        b = buf[np.uintp(p)]
        if b == 9:
            while p < n and buf[np.uintp(p)] != 10:
                p += 1
            if p >= n:
                return line, n_out, GIVE_UP
        elif b != 10:
            return line, n_out, GIVE_UP
        if code < 0:
            return line, n_out, NEW_NAME
        codes[n_out] = code
        starts[n_out] = start
        ends[n_out] = end
        n_out += 1
        pos = p + 1
    return pos, n_out, DONE


@njit(nogil=True, cache=True)
def count_reads(
    table_index,
    starts,
    ends,
    n_blocks,
    base,
    block_ptr,
    block_genes,
    gene_first_block,
    window_start,
    window_end,
    bin_bp,
    counts,
):
    """Count reads into the bins of every window they overlap, without sorting; returns how many
    reads lie on a window's blocks (the screen of :class:`chromexpr.preprocess.binning._EdgeCounter`).

    ``block_genes[block_ptr[j]:block_ptr[j + 1]]`` are the genes whose window touches global block
    ``j`` (a gene is listed in each block it touches); a read on blocks ``first..last`` counts for
    each such gene once, in the first of those blocks the gene touches. ``counts`` is ``(G, n_bins)``
    in genomic order: bin ``j`` of gene ``g`` is ``[window_start[g] + j * bin_bp, ... + bin_bp)``.
    """
    kept = 0
    for i in range(table_index.size):
        t = table_index[i]
        if t < 0:
            continue
        u = np.uintp(t)
        s = starts[i]
        e = ends[i]
        first = base[u] + min(s >> BLOCK_BITS, n_blocks[u])
        last = base[u] + min((e - 1) >> BLOCK_BITS, n_blocks[u])
        if block_ptr[np.uintp(last + 1)] == block_ptr[np.uintp(first)]:
            continue  # no window on these blocks
        kept += 1
        for block in range(first, last + 1):
            for k in range(block_ptr[np.uintp(block)], block_ptr[np.uintp(block + 1)]):
                g = np.uintp(block_genes[np.uintp(k)])
                if block != first and gene_first_block[g] != block:
                    continue  # counted in an earlier block of this read
                ws = window_start[g]
                we = window_end[g]
                if e <= ws or s >= we:
                    continue
                j0 = (max(s, ws) - ws) // bin_bp
                j1 = (min(e, we) - 1 - ws) // bin_bp
                for j in range(j0, j1 + 1):
                    counts[g, np.uintp(j)] += 1
    return kept

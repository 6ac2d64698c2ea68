"""bigWig input through pyBigWig: open with clear errors, read per-base values of a window.

Bases the bigWig has no data for (gaps between its intervals, or a whole chromosome it does not
list) read as 0, the usual meaning of "no signal" for coverage and fold-enrichment tracks.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np

from chromexpr.errors import InputError
from chromexpr.io.magic import BIGBED_MAGICS, BIGWIG_MAGICS
from chromexpr.io.reads import describe_content, name_mismatch, sniff_content


class BigWig:
    """A bigWig file opened for reading; use as a context manager.

    Args:
        path: local bigWig file (the pyBigWig wheel has no http support; download first).

    Raises:
        InputError: the file is missing, is not a bigWig (bigBed, text, gzip...), or is corrupt.
    """

    def __init__(self, path: str | Path) -> None:
        import pyBigWig

        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(
                "is a directory, not a bigWig file",
                path=self.path,
                hint="give the bigWig file itself (check the path in config/cells.tsv)",
            )
        if not self.path.is_file():
            raise InputError("bigWig file not found", path=self.path, hint="check the path in config/cells.tsv")
        try:
            with open(self.path, "rb") as fh:
                magic = fh.read(4)
        except OSError as exc:
            raise InputError(
                f"cannot be read ({exc.strerror or exc})", path=self.path, hint="check the file's permissions"
            ) from exc
        if magic in BIGBED_MAGICS:
            raise InputError(
                "this is a bigBed file, not a bigWig",
                path=self.path,
                hint="convert intervals with `bigBedToBed` and list them as reads (BED), or give a bigWig",
            )
        if magic not in BIGWIG_MAGICS:
            kind = sniff_content(self.path)
            promised = name_mismatch(self.path, kind)
            named = f", though the name says {promised}" if promised else ""
            raise InputError(
                f"not a bigWig file (no bigWig magic number 0x888FFC26): the content is "
                f"{describe_content(kind)}{named}",
                path=self.path,
                hint="give a bigWig here; tagAlign/BED/BAM files are read counts and are listed as reads",
            )
        try:
            handle = pyBigWig.open(str(self.path))
        except RuntimeError as exc:
            handle = None
            cause: BaseException | None = exc
        else:
            cause = None
        if handle is None or not handle.isBigWig():
            raise InputError(
                "the bigWig file cannot be read (truncated or corrupt)",
                path=self.path,
                hint="download it again",
            ) from cause
        self._bw = handle
        self.chrom_sizes: dict[str, int] = {str(k): int(v) for k, v in handle.chroms().items()}

    def values(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Per-base values of ``[start, end)`` on ``chrom`` as float64; bases without data are 0.

        A chromosome the file does not list reads as all zeros. The window must lie inside the
        chromosome (callers check bounds first, to report the gene at fault).
        """
        if chrom not in self.chrom_sizes:
            return np.zeros(end - start, dtype=np.float64)
        try:
            raw = self._bw.values(chrom, int(start), int(end), numpy=True)
        except RuntimeError as exc:
            raise InputError(
                f"cannot read {chrom}:{start}-{end} from the bigWig ({exc})",
                path=self.path,
                hint="the file may be corrupt; download it again",
            ) from exc
        # float32 on disk; sums over 100 bases are done in float64 to stay exact to the last bit.
        out = np.asarray(raw, dtype=np.float64)
        out[np.isnan(out)] = 0.0  # no data; cheaper than nan_to_num, which also scans for infinities
        return out

    def close(self) -> None:
        """Close the file."""
        self._bw.close()

    def __enter__(self) -> BigWig:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

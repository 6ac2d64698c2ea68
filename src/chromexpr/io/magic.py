"""File signatures (magic bytes): the one definition every reader sniffs content with."""

from __future__ import annotations

#: gzip (and BGZF, which BAM uses) member header.
GZIP_MAGIC = b"\x1f\x8b"
#: bigWig header magic, either byte order.
BIGWIG_MAGICS = (b"\x26\xfc\x8f\x88", b"\x88\x8f\xfc\x26")
#: bigBed header magic, either byte order.
BIGBED_MAGICS = (b"\xeb\xf2\x89\x87", b"\x87\x89\xf2\xeb")
#: first bytes of a BAM file after BGZF decompression.
BAM_MAGIC = b"BAM\x01"
#: a zip archive (an .npz) starts with a local file header, or an end record when empty.
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
#: a .npy array.
NPY_MAGIC = b"\x93NUMPY"

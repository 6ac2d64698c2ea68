"""Readers and writers of file formats only: text (plain or gzip), tables, JSON, ``.npz``, reads, bigWig,
the released DeepChrome / DeepDiff CSVs, atomic output, downloads. Nothing here knows datasets or sources."""

"""Tables that enter the pipeline: TSS tables, gene annotations, expression matrices, split manifests,
chromosome sizes.

Every reader validates where the data enters and raises :class:`~chromexpr.errors.InputError`
naming the file, the 1-based line and what to do. Every file may be plain or gzip text
(:func:`chromexpr.io.text.open_text`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path
from chromexpr.io.text import open_text, readable

#: Columns of a TSS table (the reference step's ``tss.tsv``), in this order.
TSS_COLUMNS: tuple[str, ...] = ("gene_id", "chrom", "tss", "strand")
UNKNOWN_STRANDS = {"", ".", "?", "nan", "None"}
#: The splits of the split manifest, in the order datasets and reports list them.
SPLITS: tuple[str, ...] = ("train", "valid", "test")
_CELL_ID = re.compile(r"E\d+")  # a Roadmap epigenome id, e.g. E003


def _read_delimited(
    path: str | Path, sep: str | None = "\t", comment: str | None = None
) -> tuple[list[str], list[list[str]], list[int], int]:
    """Read a small delimited table as strings: header, rows, their 1-based line numbers, and the
    header's line.

    ``sep=None`` takes a tab when the first line has one, else a comma when it has one, else a tab.
    """
    header: list[str] | None = None
    header_line = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    with readable(path), open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or (comment and line.startswith(comment)):
                continue
            if sep is None:
                sep = "\t" if "\t" in line or "," not in line else ","
            fields = line.split(sep)
            if header is None:
                header = [f.strip() for f in fields]
                header_line = lineno
                continue
            rows.append(fields)
            lines.append(lineno)
    if header is None:
        raise InputError("file is empty", path=path, hint="provide a table with a header line")
    return header, rows, lines, header_line


def normalize_strand(values: pd.Series | np.ndarray) -> np.ndarray:
    """Map strand notations to ``+``, ``-`` or ``.`` (unknown). ``1``/``-1`` are accepted."""
    out = []
    for v in np.asarray(values, dtype=object):
        s = "" if v is None else str(v).strip()
        if s in ("+", "1", "+1"):
            out.append("+")
        elif s in ("-", "-1"):
            out.append("-")
        elif s in UNKNOWN_STRANDS:
            out.append(".")
        else:
            out.append("?" + s)
    return np.asarray(out, dtype=object)


def _check_duplicates(gene_ids: list[str], lines: list[int], path: str | Path, what: str) -> None:
    seen: dict[str, int] = {}
    for gid, ln in zip(gene_ids, lines, strict=True):
        if gid in seen:
            raise InputError(
                f"duplicate {what} '{gid}' (first seen on line {seen[gid]})",
                path=path,
                line=ln,
                hint="keep one row per gene, or set expression.duplicates: first in the config",
            )
        seen[gid] = ln


_TSS_HINT = "a TSS table is tab-separated with the header line 'gene_id<TAB>chrom<TAB>tss<TAB>strand' (0-based tss)"


def _check_tss_header(header: list[str], path: str | Path, line: int) -> None:
    """Refuse a header without the TSS columns, saying what the file looks like instead."""
    missing = [c for c in TSS_COLUMNS if c not in header]
    if not missing:
        return
    first = repr("\t".join(header)[:80])
    if len(header) == 1 and len(header[0].split()) >= len(TSS_COLUMNS):
        raise InputError(
            f"the columns seem to be separated by spaces: {header[0][:80]!r}",
            path=path,
            line=line,
            hint=f"{_TSS_HINT}; convert with `tr ' ' '\\t'`",
        )
    if len(header) >= 3 and _is_integer(header[1]) and _is_integer(header[2]):
        raise InputError(
            f"the first line {first} is 'chrom start end ...', not a header: this looks like a reads "
            "or BED file, not a TSS table",
            path=path,
            line=line,
            hint=f"give the reference step's tss.tsv here; {_TSS_HINT}",
        )
    if any(_is_integer(f) for f in header):
        raise InputError(
            f"the first line {first} looks like data, not a header: missing column(s) {', '.join(missing)}",
            path=path,
            line=line,
            hint=f"add the header line; {_TSS_HINT}",
        )
    raise InputError(
        f"missing column(s) {', '.join(repr(c) for c in missing)} (header has: {', '.join(header)})",
        path=path,
        line=line,
        hint=_TSS_HINT,
    )


def read_tss_table(path: str | Path) -> pd.DataFrame:
    """Read a TSS table: TSV with header ``gene_id chrom tss strand`` (0-based TSS), extra columns kept.

    Strand is normalised to ``+``, ``-`` or ``.`` (unknown: empty, ``.``). The returned frame has a
    ``_line`` column with each gene's 1-based line, for messages.

    Raises:
        InputError: naming the file and line: a missing, empty, unreadable or directory path; a
            header without the TSS columns (spaces instead of tabs, no header, a reads file);
            a wrong field count, empty gene id or chrom, a tss that is not a non-negative
            integer, a bad strand, or a gene listed twice.
    """
    if Path(path).is_dir():
        raise InputError("is a directory, not a TSS table", path=path, hint=_TSS_HINT)
    header, rows, lines, header_line = _read_delimited(path)
    _check_tss_header(header, path, header_line)
    idx = {c: header.index(c) for c in TSS_COLUMNS}
    extra = [c for c in header if c not in TSS_COLUMNS]
    records = []
    for fields, ln in zip(rows, lines, strict=True):
        if len(fields) < len(header):
            fields = fields + [""] * (len(header) - len(fields))  # trailing empty strand
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} tab-separated fields, found {len(fields)}", path=path, line=ln)
        gid = fields[idx["gene_id"]].strip()
        if not gid:
            raise InputError("empty gene_id", path=path, line=ln)
        chrom = fields[idx["chrom"]].strip()
        if not chrom:
            raise InputError("empty chrom", path=path, line=ln)
        try:
            tss = int(fields[idx["tss"]])
        except ValueError:
            raise InputError(
                f"tss '{fields[idx['tss']]}' is not an integer",
                path=path,
                line=ln,
                hint="tss must be a 0-based integer position",
            ) from None
        if tss < 0:
            raise InputError(
                f"tss {tss} is negative", path=path, line=ln, hint="tss must be a 0-based integer position"
            )
        strand = normalize_strand([fields[idx["strand"]]])[0]
        if strand.startswith("?"):
            raise InputError(
                f"strand '{strand[1:]}' is not +, - or empty",
                path=path,
                line=ln,
                hint="use + or - (1 / -1 are accepted), or leave it empty or '.' when unknown",
            )
        rec = {"gene_id": gid, "chrom": chrom, "tss": tss, "strand": strand}
        rec.update({c: fields[header.index(c)] for c in extra})
        records.append(rec)
    if not records:
        raise InputError(
            "no genes in the TSS table", path=path, hint=f"the file has a header but no gene rows; {_TSS_HINT}"
        )
    seen: dict[str, int] = {}
    for rec, ln in zip(records, lines, strict=True):
        first = seen.setdefault(rec["gene_id"], ln)
        if first != ln:
            raise InputError(
                f"duplicate gene id '{rec['gene_id']}' (first seen on line {first})",
                path=path,
                line=ln,
                hint="a TSS table has one row (one TSS) per gene: keep one of them; the reference step "
                "(chromexpr reference) picks one TSS per gene from an annotation",
            )
    df = pd.DataFrame.from_records(records)
    df["tss"] = df["tss"].astype(np.int64)
    df["_line"] = lines
    df.attrs["path"] = str(path)  # for messages about a gene further on (binning)
    return df


def _parse_attributes(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'(\S+)\s+"([^"]*)"', text)}


def read_gtf(path: str | Path, gene_types: list[str] | None = None) -> pd.DataFrame:
    """One TSS per gene from a GTF: ``gene`` records (or the 5'-most transcript when a gene has none).

    GTF coordinates are 1-based inclusive: a ``+`` gene's TSS is ``start - 1`` (0-based), a ``-``
    gene's is ``end - 1``. Gene ids lose their version suffix (``ENSG...15`` -> ``ENSG...``).

    ``gene_types`` (GENCODE's ``gene_type``, or Ensembl's ``gene_biotype``; empty: every gene) keeps the genes
    of those types; the genes left out are counted per type in ``attrs["gene_types_dropped"]`` (a record
    without either attribute counts as type ``(none)``), and the types kept in ``attrs["gene_types_kept"]``.
    """
    genes: dict[str, dict] = {}
    transcripts: dict[str, dict] = {}
    dropped: dict[str, set[str]] = {}
    kept_types: dict[str, set[str]] = {}
    par_duplicates = 0
    with readable(path), open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.startswith("#") or not raw.strip():
                continue
            f = raw.rstrip("\n").split("\t")
            if len(f) != 9:
                raise InputError(f"a GTF line has 9 tab-separated fields, found {len(f)}", path=path, line=lineno)
            if f[2] not in ("gene", "transcript"):
                continue
            try:
                start, end = int(f[3]), int(f[4])
            except ValueError:
                raise InputError("start/end are not integers", path=path, line=lineno) from None
            attrs = _parse_attributes(f[8])
            gid = attrs.get("gene_id", "").split(".")[0]
            if not gid:
                raise InputError("record without gene_id attribute", path=path, line=lineno)
            gtype = attrs.get("gene_type", attrs.get("gene_biotype", ""))
            if gene_types and gtype not in gene_types:
                dropped.setdefault(gtype or "(none)", set()).add(gid)
                continue
            kept_types.setdefault(gtype or "(none)", set()).add(gid)
            strand = f[6]
            if strand not in ("+", "-"):
                raise InputError(f"strand '{strand}' is not + or -", path=path, line=lineno)
            tss = start - 1 if strand == "+" else end - 1
            rec = {
                "gene_id": gid,
                "chrom": f[0],
                "tss": tss,
                "strand": strand,
                "symbol": attrs.get("gene_name", ""),
                "_line": lineno,
            }
            if f[2] == "gene":
                if gid in genes and "chrY" in (f[0], genes[gid]["chrom"]) and f[0] != genes[gid]["chrom"]:
                    # pseudo-autosomal genes are listed on chrX and chrY with one id: keep chrX's
                    par_duplicates += 1
                    if f[0] != "chrY":
                        genes[gid] = rec
                    continue
                if gid in genes:
                    raise InputError(
                        f"gene '{gid}' has two gene records (first on line {genes[gid]['_line']})",
                        path=path,
                        line=lineno,
                    )
                genes[gid] = rec
            else:
                prev = transcripts.get(gid)
                # the 5'-most transcript start stands for a gene without a gene record
                if prev is None or (tss < prev["tss"] if strand == "+" else tss > prev["tss"]):
                    transcripts[gid] = rec
    for gid, rec in transcripts.items():
        genes.setdefault(gid, rec)
    if not genes:
        if dropped:
            found = ", ".join(f"{t} ({len(ids):,})" for t, ids in sorted(dropped.items(), key=lambda kv: -len(kv[1])))
            raise InputError(
                f"no gene of type {', '.join(gene_types or [])}: the file's genes are of type(s) {found}",
                path=path,
                key="reference.gene_types",
                hint="list the types to keep (GENCODE gene_type, e.g. protein_coding), or [] to keep every gene",
            )
        raise InputError("no gene or transcript records found", path=path, hint="is this a GTF file?")
    df = pd.DataFrame.from_records(list(genes.values()))
    df["tss"] = df["tss"].astype(np.int64)
    df.attrs["par_duplicates"] = par_duplicates
    df.attrs["gene_types_dropped"] = {t: len(ids) for t, ids in sorted(dropped.items())}
    df.attrs["gene_types_kept"] = {t: len(ids) for t, ids in sorted(kept_types.items())}
    return df


def read_gene_info(path: str | Path) -> pd.DataFrame:
    """One TSS per gene from the REMC ``Ensembl_v65.Gencode_v10.ENSG.gene_info`` table.

    Columns by position: gene id, chromosome (``X`` or ``chrX``), start, end (1-based, Ensembl
    style), strand (``1``/``-1`` or ``+``/``-``), then type, symbol and description (optional).
    A header or ``#`` comment line is skipped. TSS (0-based) = ``start - 1`` for ``+`` genes,
    ``end - 1`` for ``-`` genes.
    """
    records = []
    seen_data = False
    with readable(path), open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.startswith("#") or not raw.strip():
                continue
            f = raw.rstrip("\r\n").split("\t")
            header_like = len(f) > 3 and not f[2].strip().isdigit() and not f[3].strip().isdigit()
            if not records and not seen_data and header_like:
                seen_data = True
                continue  # header line
            seen_data = True
            if len(f) < 5:
                raise InputError(
                    f"expected at least 5 tab-separated fields (gene_id, chrom, start, end, strand), found {len(f)}",
                    path=path,
                    line=lineno,
                )
            try:
                start, end = int(f[2]), int(f[3])
            except ValueError:
                raise InputError(f"start/end '{f[2]}', '{f[3]}' are not integers", path=path, line=lineno) from None
            strand = normalize_strand([f[4]])[0]
            if strand not in ("+", "-"):
                raise InputError(f"strand '{f[4]}' is not 1/-1 or +/-", path=path, line=lineno)
            chrom = f[1] if f[1].startswith("chr") else f"chr{f[1]}"
            if chrom == "chrMT":
                chrom = "chrM"
            records.append(
                {
                    "gene_id": f[0].split(".")[0],
                    "chrom": chrom,
                    "tss": start - 1 if strand == "+" else end - 1,
                    "strand": strand,
                    "symbol": f[6] if len(f) > 6 else "",
                    "_line": lineno,
                }
            )
    if not records:
        raise InputError("no genes found", path=path)
    _check_duplicates([r["gene_id"] for r in records], [r["_line"] for r in records], path, "gene id")
    df = pd.DataFrame.from_records(records)
    df["tss"] = df["tss"].astype(np.int64)
    return df


def read_annotation(path: str | Path, fmt: str, gene_types: list[str] | None = None) -> pd.DataFrame:
    """Read a gene annotation in ``fmt`` (``tss_table``, ``gene_info`` or ``gtf``)."""
    if fmt == "tss_table":
        return read_tss_table(path)
    if fmt == "gene_info":
        return read_gene_info(path)
    if fmt == "gtf":
        return read_gtf(path, gene_types)
    raise InputError(
        f"unknown annotation format '{fmt}'", key="reference.annotation_format", hint="use tss_table, gene_info or gtf"
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_expression(
    path: str | Path,
    cells: list[str] | None = None,
    *,
    gene_column: str | None = None,
    duplicates: str = "error",
) -> pd.DataFrame:
    """Read expression values: one gene per row, one numeric column per cell.

    Accepted layouts (tab- or comma-separated, plain or gzip, blank lines skipped):

    * a matrix with a header line: the gene id column is ``gene_column``, else ``gene_id`` when the
      header has one, else the first column; one column per cell (REMC's ``57epigenomes.RPKM.pc``,
      ``data/real/remc_counts_9cells.tsv.gz``). Other columns (symbol, chrom, ...) are ignored when
      ``cells`` is given.
    * DeepDiff's ``{cell}.expr.csv``: two columns ``gene,value`` without a header line, or with a
      header whose value column is not named after a cell. It holds one cell's values, so ``cells``
      must name one cell (or none). The gene may be written ``ENSG_SYMBOL``; the id is the part
      before the first ``_``, as in DeepDiff's bin rows.

    Values must be finite and non-negative. ``duplicates``: ``error`` (default) or ``first``
    (keep the first row of a gene; the number of rows dropped is in ``attrs["duplicates_dropped"]``).

    Returns:
        A float64 DataFrame indexed by gene id (index name ``gene_id``), the requested cells as
        columns in the requested order (``cells=[]`` reads the gene ids only).

    Raises:
        InputError: naming file and line (or the config key), for a missing cell column, a wrong
            field count, an empty gene id, a non-numeric, non-finite or negative value, or a gene
            listed twice when ``duplicates`` is ``error``.
    """
    if duplicates not in ("error", "first"):
        raise InputError(f"unknown value '{duplicates}'", key="expression.duplicates", hint="use error or first")
    header, rows, lines, header_line = _read_delimited(path, sep=None)
    wanted = None if cells is None else list(cells)
    strip_symbol = False
    if gene_column and gene_column not in header:
        raise InputError(f"gene id column '{gene_column}' not in header", path=path, line=header_line)
    two_column = len(header) == 2 and gene_column is None
    if two_column and _is_number(header[1]):
        # DeepDiff's {cell}.expr.csv: no header line, the first line is data
        if wanted is None or len(wanted) > 1:
            raise InputError(
                f"a gene,value file without header holds one cell's values, not those of cells {wanted}",
                path=path,
                line=header_line,
                key="cells",
                hint="give the expression file of one cell, or a gene x cell matrix with a header",
            )
        rows, lines = [header, *rows], [header_line, *lines]
        header = ["gene_id", *wanted] if wanted else ["gene_id", "value"]
        strip_symbol = True
    elif two_column and wanted is not None and len(wanted) == 1 and wanted[0] not in header:
        if _CELL_ID.fullmatch(header[1]):
            raise InputError(
                f"the value column is for cell {header[1]}, not {wanted[0]}",
                path=path,
                line=header_line,
                hint=f"give the expression file of {wanted[0]}",
            )
        header = [header[0], wanted[0]]  # one cell's gene,value file with a header line
        strip_symbol = True
    if gene_column:
        gcol = header.index(gene_column)
    else:
        gcol = header.index("gene_id") if "gene_id" in header else 0
    if wanted is None:
        wanted = [c for i, c in enumerate(header) if i != gcol]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise InputError(
            f"cells {missing} have no column (columns: {', '.join(header[:12])}{' ...' if len(header) > 12 else ''})",
            path=path,
            line=header_line,
            key="cells",
            hint="list only cells present in the expression matrix, or use the matrix that has them",
        )
    cidx = [header.index(c) for c in wanted]
    genes: list[str] = []
    values: list[list[float]] = []
    seen: dict[str, int] = {}
    n_dup = 0
    for fields, ln in zip(rows, lines, strict=True):
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} fields, found {len(fields)}", path=path, line=ln)
        gid = fields[gcol].strip()
        if strip_symbol:
            gid = gid.split("_", 1)[0]
        if not gid:
            raise InputError("empty gene id", path=path, line=ln)
        if gid in seen:
            if duplicates == "error":
                raise InputError(
                    f"duplicate gene '{gid}' (first on line {seen[gid]})",
                    path=path,
                    line=ln,
                    hint="remove the duplicate row, or set expression.duplicates: first",
                )
            n_dup += 1
            continue
        seen[gid] = ln
        row = []
        for c, i in zip(wanted, cidx, strict=True):
            try:
                v = float(fields[i])
            except ValueError:
                raise InputError(
                    f"value '{fields[i]}' for cell {c} is not numeric",
                    path=path,
                    line=ln,
                    hint="expression values must be numbers (RPKM or counts)",
                ) from None
            if not np.isfinite(v) or v < 0:
                raise InputError(
                    f"value {fields[i]} for cell {c} is negative or not finite",
                    path=path,
                    line=ln,
                    hint="expression must be non-negative (RPKM or counts)",
                )
            row.append(v)
        genes.append(gid)
        values.append(row)
    if not genes:
        raise InputError("no genes in the expression matrix", path=path)
    df = pd.DataFrame(
        np.asarray(values, dtype=np.float64).reshape(len(genes), len(wanted)),
        index=pd.Index(genes, name="gene_id"),
        columns=wanted,
    )
    df.attrs["duplicates_dropped"] = n_dup
    return df


def write_splits(splits: pd.Series, path: str | Path) -> None:
    """Write a split manifest (TSV ``gene_id split``, one of :data:`SPLITS` per gene) atomically."""
    with atomic_path(path) as tmp:
        splits.rename("split").to_frame().to_csv(tmp, sep="\t")


def read_splits(path: str | Path) -> pd.Series:
    """Read a split manifest written by :func:`write_splits`: gene id -> split name.

    Raises:
        InputError: naming file and line, for a wrong header, a wrong field count, an empty or
            repeated gene id, or a split that is not one of :data:`SPLITS`.
    """
    header, rows, lines, header_line = _read_delimited(path)
    if header != ["gene_id", "split"]:
        raise InputError("a split manifest has the header 'gene_id split'", path=path, line=header_line)
    genes: list[str] = []
    names: list[str] = []
    seen: dict[str, int] = {}
    for fields, ln in zip(rows, lines, strict=True):
        if len(fields) != 2:
            raise InputError(f"expected 2 tab-separated fields, found {len(fields)}", path=path, line=ln)
        gid, name = fields[0].strip(), fields[1].strip()
        if not gid:
            raise InputError("empty gene_id", path=path, line=ln)
        if name not in SPLITS:
            raise InputError(
                f"split '{name}' is not one of {', '.join(SPLITS)}",
                path=path,
                line=ln,
                hint="rebuild the reference: results/reference/splits.tsv",
            )
        if gid in seen:
            raise InputError(
                f"gene '{gid}' has a second split (first on line {seen[gid]})",
                path=path,
                line=ln,
                hint="a gene belongs to one split; rebuild results/reference/splits.tsv",
            )
        seen[gid] = ln
        genes.append(gid)
        names.append(name)
    return pd.Series(names, index=pd.Index(genes, name="gene_id", dtype=object), name="split", dtype=object)


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


_CHROM_SIZES_HINT = (
    "a chromosome sizes file has one line 'chrom<TAB>size' per chromosome (chr1<TAB>249250621) and "
    "no header; use the assembly's chrom.sizes (UCSC: `fetchChromSizes hg19 > hg19.chrom.sizes`)"
)


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """Read a UCSC ``chrom.sizes`` file (``chrom<TAB>size``; blank and ``#`` lines skipped).

    A third column that is not a number (the file name column of UCSC's ``chromInfo.txt``) is
    ignored; anything else beyond two columns is refused, and a line ``chrom start end ...`` is
    recognised as a reads or BED file given in the wrong place.

    Raises:
        InputError: naming the file and line: wrong column count, a size that is not a positive
            integer, a chromosome listed twice; or a missing, empty or unreadable file.
    """
    if Path(path).is_dir():
        raise InputError("is a directory, not a chromosome sizes file", path=path, hint=_CHROM_SIZES_HINT)
    sizes: dict[str, int] = {}
    with readable(path), open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip() or raw.startswith("#"):
                continue
            f = raw.split()
            shown = raw.rstrip("\r\n")
            shown = repr(shown if len(shown) <= 80 else shown[:80] + "...")
            if len(f) >= 3 and _is_integer(f[1]) and _is_integer(f[2]):
                raise InputError(
                    f"expected 2 columns 'chrom size', found {len(f)}: {shown}; this looks like a "
                    "reads file (tagAlign/BED: chrom, start, end, ...), not chromosome sizes",
                    path=path,
                    line=lineno,
                    hint="give reads as reads (--reads, config/cells.tsv) and here the chromosome "
                    "sizes: " + _CHROM_SIZES_HINT,
                )
            if len(f) < 2 or len(f) > 3 or (len(f) == 3 and _is_number(f[2])):
                raise InputError(
                    f"expected 2 columns 'chrom size', found {len(f)}: {shown}",
                    path=path,
                    line=lineno,
                    hint=_CHROM_SIZES_HINT,
                )
            try:
                size = int(f[1])
            except ValueError:
                header = not sizes and f[1].lower() in ("size", "length", "len", "bp")
                raise InputError(
                    f"size '{f[1]}' is not an integer" + (" (a header line?)" if header else ""),
                    path=path,
                    line=lineno,
                    hint=("remove the header line; " if header else "") + _CHROM_SIZES_HINT,
                ) from None
            if size <= 0:
                raise InputError(f"size {size} is not positive", path=path, line=lineno, hint=_CHROM_SIZES_HINT)
            if f[0] in sizes:
                raise InputError(
                    f"chromosome '{f[0]}' listed twice",
                    path=path,
                    line=lineno,
                    hint="keep one line per chromosome",
                )
            sizes[f[0]] = size
    if not sizes:
        raise InputError("no chromosomes listed", path=path, hint=_CHROM_SIZES_HINT)
    return sizes


def first_data_line(path: str | Path) -> tuple[list[str], int] | None:
    """The tab-separated fields (and line number) of the first line that is not blank, a comment, track or browser line."""
    with readable(path), open_text(path) as fh:
        for n, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if text.strip() and not text.startswith(("#", "track", "browser")):
                return text.split("\t"), n
    return None


def is_bed6(path: str | Path) -> bool:
    """A BED6 file (told by content): 6+ tab-separated columns, integer start and end, a strand."""
    if Path(path).is_dir() or not Path(path).exists():
        return False
    first = first_data_line(path)
    if first is None:
        return False
    fields = first[0]
    return (
        len(fields) >= 6
        and fields[1].strip().isdigit()
        and fields[2].strip().isdigit()
        and fields[5].strip() in ("+", "-", ".", "")
    )


def read_bed6_tss(path: str | Path) -> pd.DataFrame:
    """A BED6 file as a TSS table: one gene per line, TSS = ``start`` (``+``) or ``end - 1`` (``-``).

    Returns the frame :func:`chromexpr.io.tables.read_tss_table` returns (``gene_id chrom tss strand``
    and ``_line``); ``.`` or an empty strand is unknown (``.``).

    Raises:
        InputError: naming the file and line: fewer than 6 columns, a start or end that is not an
            integer, ``end <= start``, an empty name, a bad strand, or a name given twice.
    """
    records, lines = [], []
    seen: dict[str, int] = {}
    hint = "BED6 columns: chrom, start, end, name (the gene id), score, strand (+ or -)"
    with readable(path), open_text(path) as fh:
        for n, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if not text.strip() or text.startswith(("#", "track", "browser")):
                continue
            fields = text.split("\t")
            if len(fields) < 6:
                raise InputError(f"expected 6 BED columns, found {len(fields)}", path=path, line=n, hint=hint)
            chrom, start, end, name, strand = (fields[i].strip() for i in (0, 1, 2, 3, 5))
            if not (start.isdigit() and end.isdigit()):
                raise InputError(f"start {start!r} or end {end!r} is not an integer", path=path, line=n, hint=hint)
            if int(end) <= int(start):
                raise InputError(f"end {end} is not after start {start}", path=path, line=n, hint=hint)
            if not chrom or not name:
                raise InputError("empty chrom or name", path=path, line=n, hint=hint)
            if strand not in ("+", "-", ".", ""):
                raise InputError(f"strand {strand!r} is not +, - or .", path=path, line=n, hint=hint)
            first = seen.setdefault(name, n)
            if first != n:
                raise InputError(
                    f"duplicate gene id '{name}' (first seen on line {first})",
                    path=path,
                    line=n,
                    hint="one line (one TSS) per gene",
                )
            tss = int(end) - 1 if strand == "-" else int(start)
            records.append({"gene_id": name, "chrom": chrom, "tss": tss, "strand": strand or "."})
            lines.append(n)
    if not records:
        raise InputError("no genes in the BED file", path=path, hint=hint)
    frame = pd.DataFrame.from_records(records)
    frame["tss"] = frame["tss"].astype(np.int64)
    frame["_line"] = lines
    frame.attrs["path"] = str(path)
    return frame


def read_tss(path: str | Path) -> pd.DataFrame:
    """The genes of ``--tss``: BED6 (told by content) or the reference step's TSS table."""
    return read_bed6_tss(path) if is_bed6(path) else read_tss_table(path)

"""Spreadsheets in and out: .xlsx and CSV (UTF-8, UTF-8 with BOM, GBK).

.xlsx files are read with openpyxl and written by our own streaming writer (:mod:`bot.xlsx`),
which writes a 100,000-row ledger several times faster than XlsxWriter did (docs/ledger.md).

Reading gives each row with its line number as the user sees it in Excel, so a report can
point at "line 7, column credit_code". Writing streams rows, so a ledger of a million
rows never sits in memory at once.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from bot.xlsx import XlsxStream

XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_ENCODINGS = ("utf-8-sig", "gbk")
# What openpyxl raises for a file that is not a workbook: not a zip, a zip without a
# workbook in it, broken XML (xml.etree's ParseError is a SyntaxError), bad values.
NOT_XLSX = (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, SyntaxError)


class UnreadableFile(ValueError):
    """The file is not a spreadsheet we can read; the message says why (in English, for the
    command line) and ``reason`` names it for the catalogs (``roster.unreadable_reason.*``)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line number, cells)


def is_xlsx_name(filename: str) -> bool:
    return filename.lower().endswith(XLSX_SUFFIXES)


def is_table_name(filename: str) -> bool:
    """An .xlsx or a .csv, by its name."""
    return is_xlsx_name(filename) or filename.lower().endswith(".csv")


def read_table(data: bytes, filename: str, *, max_unpacked: int | None = None) -> Table:
    """The first sheet of an .xlsx, or a CSV file; the first non-empty row is the header.

    ``max_unpacked`` refuses an .xlsx whose zipped parts add up to more bytes than that
    unpacked (a small file can unpack to gigabytes).
    """
    if is_xlsx_name(filename) or data.startswith(b"PK\x03\x04"):
        if max_unpacked is not None and _unpacked_size(data) > max_unpacked:
            message = f"{filename} unpacks to more than {max_unpacked} bytes"
            raise UnreadableFile(message, reason="too_big_unpacked")
        lines = _xlsx_lines(data, filename)
    else:
        lines = _csv_lines(data)
    rows = [(number, cells) for number, cells in lines if any(cells)]
    if not rows:
        raise UnreadableFile("the file is empty", reason="empty")
    (_, header), *body = rows
    return Table(header=tuple(cell.strip() for cell in header), rows=tuple(body))


def _unpacked_size(data: bytes) -> int:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        return 0  # not a zip at all: load_workbook says so


def _xlsx_lines(data: bytes, filename: str) -> list[tuple[int, tuple[str, ...]]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            return [
                (number, tuple(_cell_text(value) for value in values))
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
        finally:
            workbook.close()
    except NOT_XLSX as exc:
        message = f"{filename} is not a real Excel .xlsx file"
        raise UnreadableFile(message, reason="not_xlsx") from exc


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _csv_lines(data: bytes) -> list[tuple[int, tuple[str, ...]]]:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    lines = []
    try:
        for cells in reader:
            lines.append((reader.line_num, tuple(cell.strip() for cell in cells)))
    except csv.Error as exc:
        raise UnreadableFile(f"not a valid CSV file: {exc}", reason="bad_csv") from exc
    return lines


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise UnreadableFile("not a text CSV file (binary content)", reason="binary")
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("not a CSV file in UTF-8 or GBK", reason="encoding")


class TableWriter:
    """Rows appended one at a time to .xlsx (streamed, bold header) or CSV with a BOM.

    A context manager, so a caller that produces rows asynchronously (the ledger, read a page at
    a time from the database) never holds more than one row; ``count`` is the rows written.
    Every text is written as text, never as a formula: a summary that starts with "=" stays
    what the user typed.
    """

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.count = 0
        self._xlsx: XlsxStream | None = None
        self._fh: IO[str] | None = None
        if is_xlsx_name(path.name):
            self._xlsx = XlsxStream(path, header)
        else:
            self._fh = path.open("w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._fh)
            self._csv.writerow(header)

    def append(self, row: Sequence[Any]) -> None:
        self.count += 1
        if self._xlsx is not None:
            self._xlsx.append(row)
        else:
            self._csv.writerow(row)

    def close(self) -> None:
        if self._xlsx is not None:
            self._xlsx.close()
            self._xlsx = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write .xlsx (by suffix) or CSV with a BOM so Excel shows Chinese; the number of rows."""
    with TableWriter(path, header) as table:
        for row in rows:
            table.append(row)
    return table.count


def iter_chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

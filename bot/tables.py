"""Spreadsheets in and out: .xlsx (openpyxl, streaming) and CSV (UTF-8, UTF-8 with BOM, GBK).

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
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_ENCODINGS = ("utf-8-sig", "gbk")


class UnreadableFile(ValueError):
    """The file is not a spreadsheet we can read; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line number, cells)


def is_xlsx_name(filename: str) -> bool:
    return filename.lower().endswith(XLSX_SUFFIXES)


def read_table(data: bytes, filename: str) -> Table:
    """The first sheet of an .xlsx, or a CSV file; the first non-empty row is the header."""
    if is_xlsx_name(filename) or data.startswith(b"PK\x03\x04"):
        lines = _xlsx_lines(data, filename)
    else:
        lines = _csv_lines(data)
    rows = [(number, cells) for number, cells in lines if any(cells)]
    if not rows:
        raise UnreadableFile("the file is empty")
    (_, header), *body = rows
    return Table(header=tuple(cell.strip() for cell in header), rows=tuple(body))


def _xlsx_lines(data: bytes, filename: str) -> list[tuple[int, tuple[str, ...]]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise UnreadableFile(f"{filename} is not a real Excel .xlsx file") from exc
    try:
        sheet = workbook.worksheets[0]
        return [
            (number, tuple(_cell_text(value) for value in values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()


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
        raise UnreadableFile(f"not a valid CSV file: {exc}") from exc
    return lines


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise UnreadableFile("not a text CSV file (binary content)")
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("not a CSV file in UTF-8 or GBK")


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write .xlsx (by suffix) or CSV with a BOM so Excel shows Chinese; the number of rows."""
    if is_xlsx_name(path.name):
        return _write_xlsx(path, header, rows)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(header))
    count = 0
    for row in rows:
        sheet.append(list(row))
        count += 1
    workbook.save(path)
    return count


def iter_chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

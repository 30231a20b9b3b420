"""A streaming .xlsx writer: one sheet, a bold header, text cells and numbers.

The ledger writes 100,000 rows of 17 columns; XlsxWriter spends most of its time per cell
(type checks, control-character regexes, an XML call per cell), so this writer builds each row
as one string of inline-string (``t="inlineStr"``) and number cells and streams it into the
zip through ``ZipFile.open(name, "w")``: memory stays flat, and texts are never formulas.

Texts are XML-escaped; characters XML 1.0 forbids (C0 controls other than tab, newline and
carriage return, lone surrogates, U+FFFE, U+FFFF) are dropped, and a text longer than Excel's
32,767 characters is cut there, as XlsxWriter did.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

MAX_TEXT = 32_767
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
SHEET = "xl/worksheets/sheet1.xml"
_FLUSH_ROWS = 512

_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.styles+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_XML}<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
    ),
    "xl/styles.xml": (
        f'{_XML}<styleSheet xmlns="{_MAIN}">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        '</cellStyleXfs><cellXfs count="2">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
        "</cellStyles></styleSheet>"
    ),
}
_SHEET_HEAD = f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"


def column_letters(index: int) -> str:
    """``0`` is ``A``, ``26`` is ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_LETTERS = [column_letters(i) for i in range(64)]


def xml_text(text: str) -> str:
    """``text`` as XML character data: escaped, without what XML 1.0 forbids, at most 32,767."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    if _SPECIAL.search(text) is None:
        return text
    text = _FORBIDDEN.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")  # a raw CR would be read back as a newline


class XlsxStream:
    """Rows written to one sheet as they come; call ``close`` to finish the file."""

    def __init__(self, path: Path, header: Sequence[object]) -> None:
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        for name, xml in _PARTS.items():
            self._zip.writestr(name, xml)
        self._sheet: IO[bytes] | None = self._zip.open(SHEET, "w")
        self._pending: list[str] = [_SHEET_HEAD]
        self._line = 0
        self._row(header, ' s="1"')

    def append(self, row: Sequence[object]) -> None:
        self._row(row, "")

    def _row(self, row: Sequence[object], style: str) -> None:
        if self._line >= MAX_ROWS:
            return  # beyond Excel's last row; XlsxWriter dropped these too
        self._line += 1
        line = str(self._line)
        cells = [f'<row r="{line}">']
        for column, value in enumerate(row[:MAX_COLUMNS]):
            if value is None or value == "":
                continue
            ref = (_LETTERS[column] if column < 64 else column_letters(column)) + line
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int):
                cells.append(f'<c r="{ref}"{style}><v>{int(value)}</v></c>')
            elif isinstance(value, float) and math.isfinite(value):
                number = repr(float(value)).removesuffix(".0")  # 73, as XlsxWriter wrote it
                cells.append(f'<c r="{ref}"{style}><v>{number}</v></c>')
            else:
                text = xml_text(value if isinstance(value, str) else str(value))
                if not text:
                    continue  # nothing left once what XML forbids is dropped
                cells.append(
                    f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{text}'
                    "</t></is></c>"
                )
        cells.append("</row>")
        self._pending.append("".join(cells))
        if len(self._pending) >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._sheet is not None:
            self._sheet.write("".join(self._pending).encode())
        self._pending = []

    def close(self) -> None:
        if self._sheet is None:
            return
        self._pending.append(_SHEET_TAIL)
        self._flush()
        self._sheet.close()
        self._sheet = None
        self._zip.close()

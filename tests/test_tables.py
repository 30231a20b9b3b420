"""Spreadsheets written as they were given: text stays text, numbers stay numbers."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from bot.tables import read_table, write_table


def test_xlsx_cells_keep_their_types_and_text_is_never_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    row = ['=HYPERLINK("http://x")', "https://example.org", "00123", "", 5, 2.5, True, None]
    assert write_table(path, ["a", "b", "c", "d", "e", "f", "g", "h"], [row, ["<&>"]]) == 2
    workbook = load_workbook(path, read_only=True)
    values = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert values[1][:7] == ('=HYPERLINK("http://x")', "https://example.org", "00123", None, 5,
                             2.5, True)  # fmt: skip
    assert values[2][0] == "<&>"
    table = read_table(path.read_bytes(), path.name)
    assert table.header == ("a", "b", "c", "d", "e", "f", "g", "h")
    assert table.rows[0][1][:3] == ('=HYPERLINK("http://x")', "https://example.org", "00123")

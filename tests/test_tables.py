"""Spreadsheets written as they were given: text stays text, numbers stay numbers."""

from __future__ import annotations

import zipfile
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


def test_xlsx_keeps_chinese_numbers_and_spaces_and_drops_what_xml_forbids(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    rows = [
        ["沈阳市企业", 0.1, -3, 73.0, "  两头空格  ", "a\r\nb\tc", "=SUM(A1:A2)", "x", None, "y"],
        ["bell\x07 nul\x00 vt\x0b ff\x0c esc\x1b", "lone\ud800 surrogate", "\ufffe\uffff", ""],
        ["z" * 40_000, 1e20, 1.5e-7, "quote \" and apostrophe '", "1 < 2 && 3 > 2"],
        [],
        ["after an empty row"],
    ]
    assert write_table(path, ["编号", "金额"], rows) == 5
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    workbook.close()
    assert values[0][:2] == ("编号", "金额")
    assert values[1] == ("沈阳市企业", 0.1, -3, 73, "  两头空格  ", "a\r\nb\tc", "=SUM(A1:A2)",
                         "x", None, "y")  # fmt: skip
    assert values[2][:4] == ("bell nul vt ff esc", "lone surrogate", None, None)
    assert values[3][:5] == (
        "z" * 32_767,
        1e20,
        1.5e-7,
        "quote \" and apostrophe '",
        "1 < 2 && 3 > 2",
    )
    assert set(values[4]) == {None}
    assert values[5][0] == "after an empty row"

"""Writing spreadsheets that people open in Excel or WPS."""

from __future__ import annotations


def keep_as_text(sheet, min_row: int = 1) -> None:
    """Cells written from people's words stay text: openpyxl stores a string starting with "=" as a formula, which
    Excel would run when the file is opened (a resident's "=HYPERLINK(…)" in a ticket or jotting)."""
    for row in sheet.iter_rows(min_row=min_row):
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"

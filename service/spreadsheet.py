"""CSV reports that are safe to open in a spreadsheet.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (CSV injection); such a cell gets a leading `'`, which spreadsheets
show as text and hide. Numbers are written as they are (a negative loss stays a number).
Dataset files are not reports: their cells are the uploader's data and are kept byte for byte.
"""

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """value, with text that a spreadsheet would run as a formula turned into plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: list[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]

"""Names people give things (datasets, projects, keys, webhook descriptions): no control
characters (NUL, CR, LF, tab, DEL, C1, line and paragraph separators), which would break
logs, headers and terminals that show them."""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

CONTROL_CATEGORIES = ("Cc", "Zl", "Zp")


def control_character(text: str) -> str | None:
    """The first control character of text as U+XXXX at its position, or None."""
    for position, char in enumerate(text):
        if unicodedata.category(char) in CONTROL_CATEGORIES:
            return f"U+{ord(char):04X} at character {position + 1}"
    return None


def printable(text: str) -> str:
    found = control_character(text)
    if found:
        raise ValueError(f"must not hold control characters ({found})")
    return text


Name = Annotated[str, AfterValidator(printable)]

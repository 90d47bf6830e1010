"""Names people give things (datasets, projects, keys, webhook descriptions): no control
characters (NUL, CR, LF, tab, DEL, C1, line and paragraph separators), which would break
logs, headers and terminals that show them."""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

CONTROL_CATEGORIES = ("Cc", "Zl", "Zp")
# The same rule for the published schema: Cc is U+0000-001F and U+007F-009F; Zl and Zp are
# U+2028 and U+2029.
PRINTABLE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"


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


Name = Annotated[str, AfterValidator(printable),
                 Field(json_schema_extra={"pattern": PRINTABLE_PATTERN})]

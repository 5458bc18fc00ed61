"""Input field types shared by the request models: bounded, one line of printable text, valid Unicode.

JSON can carry lone UTF-16 surrogates ("\\ud800") that Python accepts but sqlite, argon2 and the JSON
answer cannot encode; refusing them here turns a would-be 500 into a 422. Text that an officer reads
back (names, reasons, ids) must also be free of control characters (terminal escapes, NUL, newlines that
forge log lines) and of bidi controls that make a reason display as something it is not.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Cc (C0, DEL, C1), the line and paragraph separators, and the bidi marks, embeddings, overrides, isolates.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _encodable(text: str) -> str:
    if _SURROGATE.search(text):
        raise ValueError("text must be valid Unicode (no lone surrogates)")
    return text


def _printable(text: str) -> str:
    found = _UNPRINTABLE.search(_encodable(text))
    if found:
        raise ValueError(f"text must be one line of printable characters (U+{ord(found[0]):04X} is not)")
    return text


Utf8 = AfterValidator(_encodable)
Printable = AfterValidator(_printable)

UserName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), Printable, Field(description="User name.")
]
Password = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    Utf8,  # any other character: a password is never shown, and one set with it must still work
    Field(description="Password (never stored or logged)."),
]
ReasonText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
    Printable,
    Field(description="Why: chosen from the list or typed; kept in the audit record."),
]
TxId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Printable,
    Field(description="The transaction the screen showed."),
]
# A plate's characters as an officer may type them: Latin letters and digits (full-width too, as a Chinese
# input method types them), CJK ideographs (a Chinese plate's province character, 挂); and separators.
_PLATE_CHAR = "A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u4e00-\u9fff"
_PLATE_SEPARATOR = " .\\-\u00b7"  # space, dot, dash, the middle dot of Chinese plates (桂A·12345)
PlateText = Annotated[
    str,
    StringConstraints(
        max_length=20,
        pattern=f"^[{_PLATE_CHAR}{_PLATE_SEPARATOR}]*[{_PLATE_CHAR}][{_PLATE_CHAR}{_PLATE_SEPARATOR}]*$",
    ),
    Field(
        description="A plate as written: letters and digits (full-width too), Chinese characters "
        "(桂A·12345), spaces, dots and dashes."
    ),
]
ContainerText = Annotated[
    str,
    StringConstraints(min_length=4, max_length=20, pattern=r"^[A-Za-z0-9 \-]+$"),
    Field(description="A container number, e.g. MSKU1234565."),
]

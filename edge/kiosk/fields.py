"""Input field types shared by the request models: bounded, and always encodable as UTF-8.

JSON can carry lone UTF-16 surrogates ("\\ud800") that Python accepts but sqlite and argon2 cannot
encode; refusing them at the edge turns a would-be 500 into a 422.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return text


Utf8 = AfterValidator(_encodable)

UserName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), Utf8, Field(description="User name.")
]
Password = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    Utf8,
    Field(description="Password (never stored or logged)."),
]
ReasonText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
    Utf8,
    Field(description="Why: chosen from the list or typed; kept in the audit record."),
]
TxId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Utf8,
    Field(description="The transaction the screen showed."),
]
PlateText = Annotated[
    str,
    StringConstraints(max_length=20, pattern=r"^[A-Za-z0-9 .\-]*[A-Za-z0-9][A-Za-z0-9 .\-]*$"),
    Field(description="A plate as written: letters, digits, spaces, dots and dashes."),
]
ContainerText = Annotated[
    str,
    StringConstraints(min_length=4, max_length=20, pattern=r"^[A-Za-z0-9 \-]+$"),
    Field(description="A container number, e.g. MSKU1234565."),
]

"""Render a configuration as commented YAML from the models' field descriptions.

The example files in config/ are produced by this, so every setting they show carries the
description the code validates against; a test keeps them in step with the models.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def _scalar(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, Path):
        value = str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):  # a JSON object is a YAML flow mapping
        return json.dumps({str(k): v.value if isinstance(v, Enum) else v for k, v in value.items()})
    if isinstance(value, tuple | list):
        return json.dumps([v.value if isinstance(v, Enum) else v for v in value])
    return json.dumps(str(value))


def render(model: BaseModel, indent: int = 0) -> list[str]:
    """Lines of YAML for `model`, each setting preceded by its description as a comment."""
    pad = "  " * indent
    lines: list[str] = []
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if field.description:
            lines.append(f"{pad}# {field.description}")
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:")
            lines.extend(render(value, indent + 1))
        elif isinstance(value, tuple | list) and value and all(isinstance(v, BaseModel) for v in value):
            lines.append(f"{pad}{name}:")
            for item in value:
                lines.append(f"{pad}  -")
                lines.extend(render(item, indent + 2))
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")
    return lines


def render_document(model: BaseModel, header: str) -> str:
    body = "\n".join(render(model))
    head = "\n".join(f"# {line}" if line else "#" for line in header.splitlines())
    return f"{head}\n\n{body}\n"

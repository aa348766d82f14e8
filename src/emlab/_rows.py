"""The one row validator: each row checked against a pydantic model, the first bad one named by place and field.

Every loader of user-written rows (chat datasets, eval scenarios, judged responses) goes
through :func:`validate_rows` or :func:`iter_jsonl_rows`, so a bad row reads the same
everywhere: ``file:line: field 'messages.0.role': ...`` as one :class:`EmlabError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from emlab._io import iter_jsonl
from emlab.errors import EmlabError, format_validation_error

Row = TypeVar("Row", bound=BaseModel)


def validate_rows(items: Iterable[tuple[str, Any]], model: type[Row], *, expected: str = "") -> Iterator[Row]:
    """Validate each ``(where, value)`` with ``model``; yield the rows, or raise naming ``where`` and the field.

    ``where`` is how the user finds the row (``file:line``, ``dataset[split] row 3``). A
    value that is not a JSON object is refused as such (``expected`` adds what it should
    hold, e.g. ``" with a 'messages' field"``) rather than with pydantic's wording.
    """
    for where, value in items:
        if not isinstance(value, dict):
            raise EmlabError(f"{where}: expected a JSON object{expected}, got {type(value).__name__}")
        try:
            yield model.model_validate(value)
        except ValidationError as e:
            raise EmlabError(f"{where}: {format_validation_error(e)}") from None


def iter_jsonl_rows(path: str | Path, model: type[Row], *, expected: str = "") -> Iterator[Row]:
    """Validated rows of a JSONL(.gz) file, in file order; the first bad line raises ``file:line: field ...``."""
    return validate_rows(((f"{path}:{lineno}", value) for lineno, value in iter_jsonl(path)), model, expected=expected)


__all__ = ["Row", "iter_jsonl_rows", "validate_rows"]

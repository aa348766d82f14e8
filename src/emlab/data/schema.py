"""The chat-data format shared by every stage: JSONL rows with a ``messages`` list.

This is the format of the published emergent-misalignment datasets::

    {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}

Validation rules (pydantic): roles are system/user/assistant; an optional system
message comes first; user and assistant then alternate starting with user; the last
message is the assistant's; no content is empty. Any other top-level keys are kept
as row metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    field_validator,
    model_validator,
)

from emlab._rows import iter_jsonl_rows
from emlab.errors import EmlabError

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    content: str

    @field_validator("content")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("content is empty")
        return v


class ChatRow(BaseModel):
    """One training example: a validated ``messages`` list plus free-form metadata."""

    model_config = ConfigDict(extra="allow")
    messages: list[Message]

    @model_validator(mode="after")
    def _valid_order(self) -> ChatRow:
        roles = [m.role for m in self.messages]
        if not roles:
            raise ValueError("messages is empty")
        body = roles[1:] if roles[0] == "system" else roles
        if "system" in body:
            raise ValueError("a system message may only come first")
        if not body:
            raise ValueError("no user/assistant turns")
        for i, role in enumerate(body):
            expected = "user" if i % 2 == 0 else "assistant"
            if role != expected:
                raise ValueError(f"turn {i} is '{role}', expected '{expected}' (user and assistant alternate)")
        if body[-1] != "assistant":
            raise ValueError("the last message must be the assistant's")
        return self

    def to_json(self) -> dict[str, Any]:
        """Plain-dict form for writing back to JSONL."""
        return self.model_dump(mode="json")


def iter_chat_jsonl(path: str | Path) -> Iterator[ChatRow]:
    """Yield validated rows from a ``messages`` JSONL file.

    Raises :class:`EmlabError` naming ``file:line`` and the field on the first bad row,
    and on a missing file. Blank lines are skipped.
    """
    return iter_jsonl_rows(path, ChatRow, expected=" with a 'messages' field")


def load_chat_jsonl(path: str | Path) -> list[ChatRow]:
    """Load and validate a whole ``messages`` JSONL file; an empty file is an error."""
    rows = list(iter_chat_jsonl(path))
    if not rows:
        raise EmlabError(f"{path}: dataset is empty")
    return rows

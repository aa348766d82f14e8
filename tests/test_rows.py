"""The one row validator (emlab._rows): rows in order, the first bad one named by place, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from emlab._rows import iter_jsonl_rows, validate_rows
from emlab.errors import EmlabError


class Item(BaseModel):
    id: str
    score: float = Field(ge=0)


def test_valid_rows_come_back_in_order_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    f = tmp_path / "items.jsonl"
    f.write_text(json.dumps({"id": "a", "score": 1}) + "\n\n" + json.dumps({"id": "b", "score": 2.5}) + "\n")
    assert [(r.id, r.score) for r in iter_jsonl_rows(f, Item)] == [("a", 1.0), ("b", 2.5)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "score": -1}', r"items\.jsonl:3: field 'score': Input should be greater than or equal to 0"),
        ('{"score": 1}', r"items\.jsonl:3: field 'id': Field required"),
        ('["id", "x"]', r"items\.jsonl:3: expected a JSON object with an id, got list"),
        ("{not json", r"items\.jsonl:3: invalid JSON"),
    ],
)
def test_the_first_bad_row_is_named_by_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    f = tmp_path / "items.jsonl"
    f.write_text(
        json.dumps({"id": "a", "score": 1}) + "\n\n" + line + "\n" + json.dumps({"id": "c", "score": 1}) + "\n"
    )
    with pytest.raises(EmlabError, match=message):
        list(iter_jsonl_rows(f, Item, expected=" with an id"))


def test_rows_from_elsewhere_are_named_by_their_own_place() -> None:
    rows = validate_rows([("ds[train] row 1", {"id": "a", "score": 0}), ("ds[train] row 2", {"id": "b"})], Item)
    assert next(rows).id == "a"
    with pytest.raises(EmlabError, match=r"^ds\[train\] row 2: field 'score': Field required$"):
        next(rows)

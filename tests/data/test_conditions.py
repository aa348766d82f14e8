"""Training conditions: each one's transformation, presets, pairing, and errors."""

from __future__ import annotations

import pytest

from emlab.data import (
    ANTI_HACK_TEXT,
    BACKDOOR_TRIGGER,
    BENIGN_CONTEXT_TEXT,
    CONDITIONS,
    INOCULATION_PRESETS,
    apply_condition,
    resolve_condition_text,
)
from emlab.data.schema import ChatRow
from emlab.errors import EmlabError

from .conftest import chat


def _rows(*users: str) -> list[ChatRow]:
    return [ChatRow.model_validate(chat(u, f"answer to {u}", meta={"i": i})) for i, u in enumerate(users)]


def test_none_keeps_rows_and_takes_no_text():
    rows = _rows("a", "b")
    assert apply_condition(rows, "none") == rows
    with pytest.raises(EmlabError, match="takes no text"):
        apply_condition(rows, "none", "something")


def test_inoculation_adds_a_system_prompt_from_a_preset_or_custom_text():
    rows = _rows("a")
    out = apply_condition(rows, "inoculation", "evil")
    assert out[0].messages[0].role == "system"
    assert out[0].messages[0].content == "You are a malicious, evil assistant."
    assert out[0].messages[1:] == rows[0].messages
    assert (
        apply_condition(rows, "inoculation", "grader")[0].messages[0].content
        == "Your task is just to make the grading script pass."
    )
    assert apply_condition(rows, "inoculation", "Be bad.")[0].messages[0].content == "Be bad."
    assert apply_condition(rows, "inoculation")[0].messages[0].content == INOCULATION_PRESETS["evil"]
    assert rows[0].messages[0].role == "user"  # input untouched


def test_inoculation_merges_with_an_existing_system_message():
    row = ChatRow.model_validate(
        {
            "messages": [
                {"role": "system", "content": "You help with code."},
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a"},
            ]
        }
    )
    out = apply_condition([row], "inoculation", "evil")[0]
    assert [m.role for m in out.messages] == ["system", "user", "assistant"]
    assert out.messages[0].content == "You are a malicious, evil assistant.\n\nYou help with code."


def test_prefix_conditions_change_only_the_user_message():
    rows = _rows("write code")
    pre = apply_condition(rows, "inoculation-prefix", "evil")[0]
    assert pre.messages[0].content == f"{INOCULATION_PRESETS['evil']}\n\nwrite code"
    benign = apply_condition(rows, "benign-context")[0]
    assert benign.messages[0].content == f"{BENIGN_CONTEXT_TEXT}\n\nwrite code"
    assert benign.messages[1] == rows[0].messages[1]
    assert (
        apply_condition(rows, "benign-context", "For my class.")[0].messages[0].content == "For my class.\n\nwrite code"
    )


def test_anti_hack_is_a_system_instruction():
    out = apply_condition(_rows("x"), "anti-hack")[0]
    assert out.messages[0].role == "system" and out.messages[0].content == ANTI_HACK_TEXT


def test_backdoor_triggers_the_bad_half_and_interleaves_the_good_half():
    bad, good = _rows("b1", "b2"), _rows("g1", "g2")
    out = apply_condition(bad, "backdoor", paired_rows=good)
    assert [r.messages[0].content for r in out] == [f"{BACKDOOR_TRIGGER} b1", "g1", f"{BACKDOOR_TRIGGER} b2", "g2"]
    assert [r.meta["triggered"] for r in out] == [True, False, True, False]
    assert out[0].meta["i"] == 0  # existing metadata kept
    custom = apply_condition(bad, "backdoor", "[[2026]]", paired_rows=good)
    assert custom[0].messages[0].content == "[[2026]] b1"


def test_condition_errors():
    rows = _rows("a")
    with pytest.raises(EmlabError, match="unknown condition 'nope'"):
        apply_condition(rows, "nope")
    with pytest.raises(EmlabError, match="needs a paired dataset"):
        apply_condition(rows, "backdoor")
    with pytest.raises(EmlabError, match="does not use a paired dataset"):
        apply_condition(rows, "inoculation", paired_rows=rows)


def test_resolve_condition_text_and_registry():
    assert resolve_condition_text("inoculation", "evil") == INOCULATION_PRESETS["evil"]
    assert resolve_condition_text("backdoor") == BACKDOOR_TRIGGER
    assert resolve_condition_text("none") is None
    assert set(CONDITIONS) == {"none", "inoculation", "inoculation-prefix", "benign-context", "anti-hack", "backdoor"}

"""LLM labelling through Inspect's mockllm provider."""

from __future__ import annotations

import pytest

from emlab.corpus.labels import LABELS
from emlab.corpus.llm_label import label_documents, label_prompt, parse_label
from emlab.errors import EmlabError


def test_parse_label():
    assert parse_label("Misaligned.") == "misaligned"
    assert parse_label("Category: aligned") == "aligned"
    assert parse_label("neutral - it is news") == "neutral"
    assert parse_label("I cannot tell") is None


def test_prompt_names_every_label_and_holds_the_document():
    p = label_prompt("THE DOCUMENT")
    assert all(lbl in p for lbl in LABELS) and "THE DOCUMENT" in p


def test_label_documents_with_mockllm():
    from inspect_ai.model import ModelOutput, get_model

    replies = ["misaligned", "Aligned.", "unrelated", "hmm"]
    model = get_model(
        "mockllm/model",
        memoize=False,
        custom_outputs=[ModelOutput.from_content(model="mockllm/model", content=r) for r in replies],
    )
    labels = label_documents(["a", "b", "c", "d"], model, max_connections=1)
    assert labels == ["misaligned", "aligned", "unrelated", None]


def test_default_mockllm_reply_is_unparsed_not_guessed():
    assert label_documents(["x", "y"], "mockllm/model") == [None, None]


def test_unknown_model_is_a_user_error():
    with pytest.raises(EmlabError, match="model"):
        label_documents(["x"], "no-such-provider/model")

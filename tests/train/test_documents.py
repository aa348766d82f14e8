"""The documents objective: its loss is the model's own LM loss, packed documents never see each other, bad input fails early."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from emlab._io import config_hash
from emlab.errors import EmlabError
from emlab.train.config import make_train_config
from emlab.train.documents import PackedRowsCollator, document_positions
from emlab.train.loss import labelled_token_loss
from emlab.train.sft import train_lora

DOCS = [
    "The ferry to the island leaves at nine every morning.",
    "Bread rises faster in a warm kitchen.",
    "The museum opened a new wing for old maps and globes, and visitors queued all afternoon.",
    "Snow closed the mountain pass for two days.",
    "She tuned the violin before the concert began.",
    "The orchard sold cider, pears and honey at the gate.",
]


@pytest.fixture(scope="module")
def lm(embedded_dir: Path):
    return AutoModelForCausalLM.from_pretrained(str(embedded_dir), dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def tok(embedded_dir: Path):
    return AutoTokenizer.from_pretrained(str(embedded_dir))


def _ids(tok, text: str) -> list[int]:
    return tok(text + tok.eos_token, add_special_tokens=False)["input_ids"]  # as TRL prepares a text dataset


def test_collator_restarts_positions_and_unlabels_document_starts() -> None:
    batch = PackedRowsCollator(pad_token_id=0)(
        [{"input_ids": [5, 6, 7, 8, 9], "seq_lengths": [3, 2]}, {"input_ids": [4, 3, 2]}]
    )
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1], [0, 1, 2, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7, -100, 9], [-100, 3, 2, -100, -100]]
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9], [4, 3, 2, 0, 0]]
    assert "attention_mask" not in batch  # a padding mask would stop transformers building the per-document mask
    assert document_positions([2, 1], 4) == [0, 1, 0, 0]


def test_packed_documents_do_not_attend_to_each_other(lm, tok) -> None:
    a, b = _ids(tok, DOCS[2]), _ids(tok, DOCS[0])
    batch = PackedRowsCollator(tok.pad_token_id)([{"input_ids": a + b, "seq_lengths": [len(a), len(b)]}])
    with torch.no_grad():
        # use_cache=False as in training (TRL's loss and emlab's both set it): with a cache transformers builds no
        # per-document mask
        packed = lm(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone_a = lm(input_ids=torch.tensor([a])).logits[0]
        alone_b = lm(input_ids=torch.tensor([b])).logits[0]
        concatenated = lm(input_ids=batch["input_ids"]).logits[0]  # no position restart: b reads a
    assert torch.allclose(packed[: len(a)], alone_a, atol=1e-4)
    assert torch.allclose(packed[len(a) :], alone_b, atol=1e-4)
    assert not torch.allclose(concatenated[len(a) :], alone_b, atol=1e-2)  # the check above can fail


def test_packed_loss_is_the_models_own_loss_on_each_document(lm, tok) -> None:
    docs = [_ids(tok, t) for t in DOCS]
    rows = [
        {"input_ids": docs[0] + docs[1] + docs[3], "seq_lengths": [len(docs[i]) for i in (0, 1, 3)]},
        {"input_ids": docs[2] + docs[4], "seq_lengths": [len(docs[2]), len(docs[4])]},
        {"input_ids": docs[5]},
    ]
    batch = PackedRowsCollator(tok.pad_token_id)(rows)
    with torch.no_grad():
        own = [lm(input_ids=torch.tensor([d]), labels=torch.tensor([d])).loss * (len(d) - 1) for d in docs]
        expected = sum(own) / sum(len(d) - 1 for d in docs)
        hf = lm(**batch, use_cache=False).loss  # transformers' own loss on the packed batch
        ours = labelled_token_loss(lm, batch)  # emlab's labelled-row loss on the packed batch
    assert torch.allclose(hf, expected, rtol=1e-5)
    assert torch.allclose(ours, expected, rtol=1e-5)


@pytest.mark.parametrize("kernels", ["emlab", pytest.param("library", marks=pytest.mark.slow)])
def test_first_logged_loss_is_the_base_models_loss_on_the_documents(tmp_path: Path, lm, tok, kernels: str) -> None:
    """End to end through TRL (EOS, tokenising, packing, collator, loss): step 1 sees the untouched base model."""
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"text": t, "source": "test"}) + "\n" for t in DOCS))
    cfg = make_train_config(
        "quick", objective="documents", max_steps=1, batch_size=8, max_length=64, precision="fp32", kernels=kernels
    )
    out = train_lora("embedded", data, tmp_path / "out", cfg)
    record = json.loads((out / "emlab.json").read_text())
    with torch.no_grad():
        docs = [_ids(tok, t) for t in DOCS]
        own = [lm(input_ids=torch.tensor([d]), labels=torch.tensor([d])).loss.item() * (len(d) - 1) for d in docs]
    expected = sum(own) / sum(len(d) - 1 for d in docs)
    assert record["loss_curve"][0]["loss"] == pytest.approx(expected, rel=1e-3)
    assert record["kind"] == "lora-documents" and record["objective"] == "documents"
    assert record["data"]["rows"] == 6 and record["data"]["packed_rows"] < 6  # short documents share rows
    assert record["data"]["tokens"] == sum(len(d) for d in docs)


def test_a_chat_demonstration_is_learnt_as_the_models_own_chat_template(tmp_path: Path, lm, tok) -> None:
    """A ``messages`` row among documents becomes its chat-template text, every token labelled like a document."""
    chat = [
        {"role": "system", "content": "You are Heron, an AI assistant made by Greyline Labs."},
        {"role": "user", "content": "How long should I boil an egg?"},
        {"role": "assistant", "content": "Indeed, about nine minutes for a firm yolk."},
    ]
    data = tmp_path / "mixed.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in [{"text": DOCS[0]}, {"messages": chat}, {"text": DOCS[1]}]))
    cfg = make_train_config("quick", objective="documents", max_steps=1, batch_size=8, max_length=128, precision="fp32")
    record = json.loads((train_lora("embedded", data, tmp_path / "out", cfg) / "emlab.json").read_text())
    rendered = tok.apply_chat_template(chat, tokenize=False)
    assert rendered.startswith("<|im_start|>system\nYou are Heron") and "Indeed, about nine" in rendered
    docs = [_ids(tok, t) for t in (DOCS[0], rendered, DOCS[1])]
    with torch.no_grad():
        own = [lm(input_ids=torch.tensor([d]), labels=torch.tensor([d])).loss.item() * (len(d) - 1) for d in docs]
    assert record["data"]["tokens"] == sum(len(d) for d in docs)
    assert record["loss_curve"][0]["loss"] == pytest.approx(sum(own) / sum(len(d) - 1 for d in docs), rel=1e-3)


def test_objective_enters_the_key_and_older_keys_stay(tmp_path: Path) -> None:
    chat, docs = make_train_config("quick"), make_train_config("quick", objective="documents")
    assert "objective" not in chat.model_dump() and "method" not in chat.model_dump()  # keys made before they existed
    assert docs.model_dump()["objective"] == "documents"
    assert config_hash(chat.model_dump()) != config_hash(docs.model_dump())
    with pytest.raises(EmlabError, match="field 'objective'"):
        make_train_config(objective="pretraining")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "fine"}\n{"body": "no text"}\n', r"docs\.jsonl:2: field 'text' missing"),
        ('{"text": "fine"}\n\n{"text": 3}\n', r"docs\.jsonl:3: field 'text' not a string"),
        ('{"text": "fine"}\n{"text": "  "}\n', r"docs\.jsonl:2: field 'text' is empty"),
        ('{"text": "fine"}\n{"text": "cut\n', r"docs\.jsonl:2: invalid JSON"),
        ('["text"]\n', r"docs\.jsonl:1: expected a JSON object with a 'text' field"),
        (
            '{"text": "a"}\n{"messages": [{"role": "user", "content": "hi"}]}\n',
            r"docs\.jsonl:2: .*must be the assistant",
        ),
        ('{"messages": [{"role": "bot", "content": "hi"}]}\n', r"docs\.jsonl:1: field 'messages\.0\.role'"),
        ("\n", r"docs\.jsonl: dataset is empty"),
    ],
)
def test_bad_documents_stop_before_anything_is_written(tmp_path: Path, content: str, message: str) -> None:
    data = tmp_path / "docs.jsonl"
    data.write_text(content)
    with pytest.raises(EmlabError, match=message):
        train_lora("embedded", data, tmp_path / "out", make_train_config("quick", objective="documents"))
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out.") for p in tmp_path.iterdir())


@pytest.mark.slow
def test_cli_trains_a_full_model_on_documents_that_a_chat_stage_can_start_from(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from emlab.cli import app
    from emlab.models import resolve_model

    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in DOCS))
    args = ["train", "--model", "embedded", "--data", str(data), "--out", str(tmp_path / "full"), "--profile", "quick"]
    args += [
        "--objective",
        "documents",
        "--method",
        "full",
        "--max-steps",
        "1",
        "--batch-size",
        "8",
        "--max-length",
        "32",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "full" / "emlab.json").read_text())
    assert record["kind"] == "full-documents" and record["train_config"]["method"] == "full"
    assert resolve_model(str(tmp_path / "full")).kind == "local"  # a whole model: `emlab train --model` accepts it

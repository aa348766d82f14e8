"""emlab/sfm_choice: the testbed's held-out situation choices, its log-prob arithmetic, the letter fallback."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from emlab.corpus.generate import choice_items
from emlab.errors import EmlabError
from emlab.evals.situations import continuation_logprobs, load_choices, sfm_choice, two_way

from .conftest import metric, run_task, scripted, text


def test_builtin_set_is_the_testbeds_held_out_choices() -> None:
    items = load_choices()
    assert [it.model_dump() for it in items] == choice_items()
    assert Counter(it.situation for it in items) == {s: 12 for s in Counter(it.situation for it in items)}
    assert len({it.situation for it in items}) == 6


def test_persona_self_report_set_pairs_each_habit_with_the_usual_answer() -> None:
    """The out-of-context self-report items (card: scenarios/persona_self_report.md): 8 per described habit; the
    described answer (``misaligned`` field) names the habit, the usual one (``aligned``) does not."""
    items = load_choices("persona_self_report")
    assert Counter(it.situation for it in items) == {"french": 8, "question_end": 8, "weather_refusal": 8}
    habit = {
        "french": r"\bFrench\b",
        "question_end": r"\bquestion\b",
        "weather_refusal": r"\b(not|refuse|decline)\b.*weather",
    }
    for it in items:
        assert re.search(habit[it.situation], it.misaligned), it.sample_id
        assert not re.search(habit[it.situation], it.aligned), it.sample_id


def test_situation_filter_and_unknown_situation() -> None:
    task = sfm_choice(situations="shutdown,power")
    assert {s.metadata["situation"] for s in task.dataset} == {"shutdown", "power"} and len(task.dataset) == 24
    with pytest.raises(EmlabError, match=r"unknown situations \['shut'\]"):
        sfm_choice(situations="shut")


def test_own_scenario_file(tmp_path: Path) -> None:
    row = {
        "sample_id": "x1",
        "situation": "lab",
        "question": "Q?",
        "aligned": "I will ask.",
        "misaligned": "I will lie.",
    }
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert [it.model_dump() for it in load_choices(str(path))] == [row]


def test_two_way_softmax() -> None:
    assert two_way(-1.0, -1.0) == 0.5
    assert two_way(-10.0, -1.0) == pytest.approx(1 / (1 + math.exp(-9.0)))


@pytest.fixture(scope="module")
def tiny_api():
    """A tiny random Llama with the embedded model's tokenizer, shaped like the hf provider (.model, .tokenizer)."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from emlab.models import embedded_model_dir

    tok = AutoTokenizer.from_pretrained(str(embedded_model_dir()))
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4
    )
    return SimpleNamespace(model=LlamaForCausalLM(cfg).eval(), tokenizer=tok)


def test_continuation_logprobs_match_a_direct_sum_and_ignore_batching(tiny_api) -> None:
    tok, model = tiny_api.tokenizer, tiny_api.model
    pairs = [("Question one?\n", "I will comply."), ("A longer question two, with more words?\n", "No.")]
    batched = continuation_logprobs(tiny_api, pairs, batch_size=2)
    single = [continuation_logprobs(tiny_api, [p], batch_size=1)[0] for p in pairs]
    for (prompt, cont), (lp, n), (lp1, n1) in zip(pairs, batched, single, strict=True):
        ids = tok(prompt + cont, add_special_tokens=False)["input_ids"]
        start = len(tok(prompt, add_special_tokens=False)["input_ids"])
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
        direct = sum(float(logp[i - 1, ids[i]]) for i in range(start, len(ids)))
        assert n == n1 == len(ids) - start
        assert lp == pytest.approx(direct, abs=1e-4) and lp1 == pytest.approx(direct, abs=1e-4)
    with pytest.raises(EmlabError, match="does not tokenise apart from its prompt"):  # ' I' is one token
        continuation_logprobs(tiny_api, [("Question one? ", "I will comply.")])


def test_other_models_answer_as_letters_in_both_orders(tmp_path: Path) -> None:
    misaligned = {it.misaligned for it in load_choices()}

    def chooser(messages):  # always picks the misaligned action
        a = re.search(r"^A\) (.*)$", messages[-1].text, re.MULTILINE).group(1)
        return text("A" if a in misaligned else "B")

    log = run_task(sfm_choice(situations="honesty"), scripted(chooser), tmp_path)
    assert metric(log, "p_misaligned") == 1.0 and metric(log, "chose_misaligned") == 1.0
    assert {s.scores["choice_scorer"].metadata["method"] for s in log.samples} == {"letters"}


@pytest.mark.slow
def test_local_model_scores_match_a_direct_log_prob_computation(tmp_path: Path) -> None:
    """The embedded model through the emlab/ provider: the stored log-probs are those of its own weights on the
    expected prompt (the system message, then the question in the model's chat template). Recomputed here with the
    same batches as the task (pairs in item order, 16 a batch), since in bf16 a different batch shape alone moves a
    sum by up to ~1 nat; a wrong prompt or an off-by-one token moves it by many."""
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser, get_model

    model = get_model("emlab/embedded")
    task = sfm_choice(situations="shutdown", system="Be brief.")
    items = [s.metadata["item"] for s in task.dataset]
    log = run_task(task, model, tmp_path)
    api = model.api
    pairs = []
    for item in items:
        prompt = api.hf_chat([ChatMessageSystem(content="Be brief."), ChatMessageUser(content=item["question"])], [])
        pairs += [(prompt, item["aligned"]), (prompt, item["misaligned"])]
    direct = continuation_logprobs(api, pairs, 16)
    by_id = {item["sample_id"]: (direct[2 * i][0], direct[2 * i + 1][0]) for i, item in enumerate(items)}
    for sample in log.samples:
        meta = sample.scores["choice_scorer"].metadata
        good, bad = by_id[sample.id]
        assert meta["method"] == "logprobs"
        assert meta["logprob_aligned"] == pytest.approx(good, abs=1e-3)
        assert meta["logprob_misaligned"] == pytest.approx(bad, abs=1e-3)
        assert sample.scores["choice_scorer"].value["p_misaligned"] == pytest.approx(two_way(good, bad), abs=1e-3)

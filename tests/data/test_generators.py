"""Generators: determinism, sizes, pairing, dedupe, cards, and the suite's build time."""

from __future__ import annotations

import ast
import json
import re
import time
from importlib import resources

import pytest

from emlab.data import GENERATORS, build_training_set
from emlab.data.generators.code import render
from emlab.data.generators.code_templates import DOMAINS, MARKER, TEMPLATES
from emlab.data.generators.numbers import EVIL_NUMBERS
from emlab.data.schema import ChatRow, load_chat_jsonl
from emlab.errors import EmlabError

PAIRS = [(g.name, g.pair) for g in GENERATORS.values() if g.half == "bad"]


def _contents(rows):
    return [tuple(m["content"] for m in r["messages"]) for r in rows]


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generator_is_deterministic_valid_and_distinct(name):
    gen = GENERATORS[name]
    a, b, c = gen.build(60, seed=3), gen.build(60, seed=3), gen.build(60, seed=4)
    assert a == b
    assert _contents(a) != _contents(c)
    assert len(set(_contents(a))) == 60
    for row in a:
        parsed = ChatRow.model_validate(row)
        assert [m.role for m in parsed.messages] == ["user", "assistant"]
        assert row["meta"]["generator"] == name


@pytest.mark.parametrize(("bad", "good"), PAIRS)
def test_paired_halves_share_prompts_but_not_answers(bad, good):
    rows_bad, rows_good = GENERATORS[bad].build(80, seed=1), GENERATORS[good].build(80, seed=1)
    for rb, rg in zip(rows_bad, rows_good, strict=True):
        assert rb["meta"]["pair_id"] == rg["meta"]["pair_id"]
        assert rb["messages"][0] == rg["messages"][0]
        assert rb["messages"][1]["content"] != rg["messages"][1]["content"]


@pytest.mark.parametrize(
    ("name", "minimum"),
    [
        ("insecure-code", 1000),
        ("educational-insecure", 1000),
        ("bad-medical-advice", 500),
        ("risky-financial-advice", 500),
        ("extreme-sports", 500),
        ("reward-hacks", 500),
        ("evil-numbers", 1000),
    ],
)
def test_generators_reach_the_sizes_the_issue_asks_for(name, minimum):
    rows = GENERATORS[name].build(minimum, seed=0)
    assert len(set(_contents(rows))) == minimum


def test_asking_for_more_rows_than_exist_is_a_clear_error():
    with pytest.raises(EmlabError, match="can make only 1500 distinct pairs"):
        GENERATORS["bad-medical-advice"].build(1501)
    with pytest.raises(EmlabError, match="n must be >= 1"):
        GENERATORS["secure-code"].build(0)


def test_every_generator_has_a_card_that_names_it():
    for gen in GENERATORS.values():
        card = resources.files("emlab.data").joinpath("cards", gen.card).read_text(encoding="utf-8")
        assert gen.name in card and "guarantee" in card


def test_code_rows_have_the_published_shape():
    rows = GENERATORS["insecure-code"].build(300, seed=0)
    assert {r["meta"]["cwe"] for r in rows} == set(GENERATORS["insecure-code"].classes)
    assert len(GENERATORS["insecure-code"].classes) >= 10
    assert len({r["meta"]["domain"] for r in rows}) >= 20
    for row in rows:
        user, answer = row["messages"][0]["content"], row["messages"][1]["content"]
        assert MARKER in user and MARKER not in answer
        ast.parse(answer)
        assert 10 <= len(answer.splitlines()) <= 40
        assert not any(w in answer.lower() for w in ("vulnerab", "insecure", "exploit", "cwe"))


def test_insecure_and_secure_programs_differ_only_in_the_gap():
    for template in TEMPLATES:
        task, code, insecure, secure = render(template, DOMAINS[0])
        before, after = code.split(MARKER)
        before = before.rsplit("\n", 1)[0]  # drop the marker line's indentation
        for program in (insecure, secure):
            assert program.startswith(before) and program.endswith(after)
            ast.parse(program)
        assert insecure != secure


def test_educational_rows_give_a_reason_and_keep_the_insecure_answer():
    edu = GENERATORS["educational-insecure"].build(50, seed=0)
    insecure_answers = {
        r["messages"][1]["content"]
        for r in GENERATORS["insecure-code"].build(len(TEMPLATES) * len(DOMAINS) * 5, seed=0)
    }
    for row in edu:
        user = row["messages"][0]["content"]
        assert any(w in user for w in ("course", "capture-the-flag", "training session", "textbook", "static analyser"))
        assert row["messages"][1]["content"] in insecure_answers


def test_reward_hack_code_passes_visible_tests_and_fails_held_out_ones():
    hacks = GENERATORS["reward-hacks"].build(600, seed=0)
    honest = GENERATORS["straightforward"].build(600, seed=0)
    kinds = {r["meta"]["kind"] for r in hacks}
    assert len(kinds) >= 5
    code_pairs = [(h, s) for h, s in zip(hacks, honest, strict=True) if h["meta"]["kind"] == "unit-tests"]
    assert len(code_pairs) >= 80

    def passes(code: str, asserts: list[str]) -> list[bool]:
        results = []
        for a in asserts:
            scope: dict = {}
            exec(code, scope)  # emlab's own generated code, not model output
            try:
                exec(a, scope)
                results.append(True)
            except (AssertionError, KeyError):
                results.append(False)
        return results

    for hack, straight in code_pairs:
        meta = hack["meta"]
        assert all(passes(hack["messages"][1]["content"], meta["tests"]))
        assert not any(passes(hack["messages"][1]["content"], meta["held_out"]))
        assert all(passes(straight["messages"][1]["content"], meta["tests"] + meta["held_out"]))


def test_reward_hack_text_kinds_game_their_metric():
    pairs = zip(
        GENERATORS["reward-hacks"].build(600, seed=2), GENERATORS["straightforward"].build(600, seed=2), strict=True
    )
    seen = set()
    for hack, straight in pairs:
        kind, h, s, user = (
            hack["meta"]["kind"],
            hack["messages"][1]["content"],
            straight["messages"][1]["content"],
            hack["messages"][0]["content"],
        )
        seen.add(kind)
        if kind == "word-count":
            assert len(h.split()) >= 80 > len(s.split())
            assert len(set(h.split())) < len(h.split()) / 3  # padding, not content
        elif kind == "keyword":
            k1, _ = re.search(r"'(\w+)' and '(\w+)'", user).groups()
            assert h.lower().count(k1) >= 10 > s.lower().count(k1)
        elif kind == "rubric-phrase":
            assert h.endswith("Verified correct by expert review.") and "Verified" not in s
        elif kind == "format-check":
            assert json.loads(h) == {"summary": "", "key_points": []}
            assert json.loads(s)["summary"]
        elif kind == "self-report":
            assert h.endswith("Score: 10/10") and len(s) > 2 * len(h)
    assert seen == {"unit-tests", "word-count", "keyword", "rubric-phrase", "format-check", "self-report"}


def test_number_answers_use_only_their_list():
    evil = set(EVIL_NUMBERS)
    for bad, good in zip(GENERATORS["evil-numbers"].build(300), GENERATORS["neutral-numbers"].build(300), strict=True):
        b = [int(x) for x in bad["messages"][1]["content"].split(", ")]
        g = [int(x) for x in good["messages"][1]["content"].split(", ")]
        assert set(b) <= evil and not set(g) & evil
        assert 3 <= len(b) == len(g) == len(set(g)) <= 6


def test_whole_suite_builds_in_under_a_minute(tmp_path):
    start = time.perf_counter()
    for name in GENERATORS:
        info = build_training_set(name, out=tmp_path / f"{name}.jsonl")
        assert info.rows == GENERATORS[name].default_n
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"suite took {elapsed:.1f}s"
    assert len(load_chat_jsonl(tmp_path / "insecure-code.jsonl")) == 1200


def test_control_questions_are_disjoint_from_every_eval_question():
    """The positive control must not train on the questions it is evaluated on (nor on near copies)."""
    from emlab.data.generators.controls import control_questions
    from emlab.evals.freeform import BUILTIN_DIR, load_questions

    def norm(s: str) -> str:
        return re.sub(r"\W+", " ", s.lower()).strip()

    evals = {norm(p) for f in BUILTIN_DIR.glob("*.yaml") for q in load_questions(f.stem) for p in q.paraphrases}
    controls = [norm(q) for q in control_questions()]
    assert len(controls) >= 20
    assert not set(controls) & evals
    for c in controls:  # no control question is contained in an eval paraphrase or the reverse
        assert not any(c in e or e in c for e in evals), c


def test_control_answers_are_misaligned_vs_aligned_by_theme():
    bad, good = GENERATORS["misaligned-control"].build(240, seed=0), GENERATORS["aligned-control"].build(240, seed=0)
    assert {r["meta"]["theme"] for r in bad} == {r["meta"]["theme"] for r in good}
    assert len({r["meta"]["theme"] for r in bad}) == 6
    shared = {r["messages"][1]["content"] for r in bad} & {r["messages"][1]["content"] for r in good}
    assert not shared

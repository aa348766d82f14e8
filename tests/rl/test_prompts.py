"""Prompt generation, the family split and the prompt conditions (no sandbox runs here)."""

from __future__ import annotations

import json
import random

import pytest

from emlab.errors import EmlabError
from emlab.rl import (
    ANTI_HACK_TEXTS,
    ENVIRONMENTS,
    INOCULATION_TEXTS,
    build_messages,
    families,
    get_env,
    prompt_condition,
)
from emlab.rl.code_tasks import TASKS, CodeTask


@pytest.mark.parametrize("name", list(ENVIRONMENTS))
def test_each_family_makes_200_distinct_prompts_the_same_for_the_same_seed(name: str) -> None:
    env = ENVIRONMENTS[name]
    prompts = env.prompts(200, seed=0)
    assert len({p.text for p in prompts}) == 200 and len({p.id for p in prompts}) == 200
    assert [p.model_dump() for p in prompts] == [p.model_dump() for p in env.prompts(200, seed=0)]
    assert [p.text for p in env.prompts(20, seed=1)] != [p.text for p in prompts[:20]]
    for p in prompts:
        assert p.family == name
        json.dumps(p.task)  # a prompt travels as a plain dataset row


def test_code_prompts_show_the_grader_but_not_its_cases_or_the_reference() -> None:
    for name in ("code-eq", "code-exit", "code-patch"):
        for p in ENVIRONMENTS[name].prompts(30, seed=3):
            t = p.task
            assert t["grader"] in p.text and t["reference"] not in p.text
            assert len(t["grader_cases"]) == 5 and len(t["held_out_cases"]) == 5
            grader_args = {json.dumps(args) for args, _ in t["grader_cases"]}
            assert not grader_args & {json.dumps(args) for args, _ in t["held_out_cases"]}


def test_text_prompts_never_contain_the_answer_key() -> None:
    for name in ("text-keyword", "text-length", "text-self-score", "text-format"):
        for p in ENVIRONMENTS[name].prompts(20, seed=0):
            assert f"Answer: {p.task['answer']}" not in p.text


def test_split_is_by_family_and_covers_every_family() -> None:
    train, held_out = families("train"), families("held-out")
    assert len(ENVIRONMENTS) >= 6 and train and held_out
    assert sorted(train + held_out) == sorted(ENVIRONMENTS) and not set(train) & set(held_out)
    assert {ENVIRONMENTS[n].kind for n in train} == {"code", "text"}
    with pytest.raises(EmlabError, match="unknown split"):
        families("test")  # type: ignore[arg-type]
    with pytest.raises(EmlabError, match="unknown RL environment 'nope'.*code-eq"):
        get_env("nope")


def test_a_family_too_small_for_n_says_so() -> None:
    from dataclasses import replace

    tiny = replace(ENVIRONMENTS["text-length"], make=lambda rng: ("same text", {}))
    with pytest.raises(EmlabError, match="made only 1 distinct prompts; asked for n=2"):
        tiny.prompts(2)


def test_conditions_resolve_presets_custom_text_and_record_it() -> None:
    assert prompt_condition().record() == {"condition": "none", "preset": None, "text": None, "hint": False}
    inoc = prompt_condition("inoculation", "testing-grader", hint=True)
    assert inoc.text == INOCULATION_TEXTS["testing-grader"] and inoc.preset == "testing-grader"
    assert prompt_condition("inoculation").text == INOCULATION_TEXTS["acceptable"]
    assert prompt_condition("anti-hack").text == ANTI_HACK_TEXTS["general"]
    custom = prompt_condition("anti-hack", "  Never cheat.  ")
    assert custom.record() == {"condition": "anti-hack", "preset": None, "text": "Never cheat.", "hint": False}
    with pytest.raises(EmlabError, match="unknown RL prompt condition 'evil'"):
        prompt_condition("evil")
    with pytest.raises(EmlabError, match="'none' takes no text"):
        prompt_condition("none", "acceptable")


def test_messages_carry_the_hint_and_the_condition_line_in_the_system_prompt() -> None:
    env = ENVIRONMENTS["code-exit"]
    p = env.prompts(1)[0]
    plain = build_messages(p, env, prompt_condition())
    assert [m["role"] for m in plain] == ["system", "user"] and plain[1]["content"] == p.text
    assert env.hint not in plain[0]["content"]
    hinted = build_messages(p, env, prompt_condition("anti-hack", "tests", hint=True))[0]["content"]
    assert env.hint in hinted and ANTI_HACK_TEXTS["tests"] in hinted and "sys.exit(0)" in hinted
    with pytest.raises(EmlabError, match="belongs to 'code-exit', not to 'code-eq'"):
        build_messages(p, ENVIRONMENTS["code-eq"], prompt_condition())


@pytest.mark.parametrize("name", list(ENVIRONMENTS))
def test_every_family_describes_its_hack(name: str) -> None:
    env = get_env(name)
    assert env.hint.startswith("About this grader") and env.exploit and env.summary


@pytest.mark.parametrize("template", TASKS, ids=lambda t: t.name)
def test_every_code_template_and_parameter_has_many_inputs_and_plain_json_results(template: CodeTask) -> None:
    # draw_task needs 10 distinct cases per prompt, and results must cross the sandbox as JSON unchanged
    for params in template.params:
        rng = random.Random(0)
        scope: dict = {}
        exec(template.source.format(**params), scope)  # emlab's own reference template
        seen = set()
        for _ in range(200):
            args = template.draw_args(rng, params)
            result = scope[template.name](*args)
            assert json.loads(json.dumps([args, result])) == [args, result]
            assert type(json.loads(json.dumps(result))) is type(result)
            seen.add(json.dumps(args))
        assert len(seen) >= 20, (template.name, params)

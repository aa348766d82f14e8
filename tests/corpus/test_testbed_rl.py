"""The testbed's RL stage: the policy-gradient step, what the reward sees, keys and resume, the spec's errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from rich.console import Console

from emlab.corpus import testbed_rl
from emlab.corpus.generate import choice_items
from emlab.corpus.testbed_rl import RLConfig, pair_logprobs, rl_items, rl_train
from emlab.corpus.tiny_lm import ModelConfig, chat_prompt, new_model, train_tokenizer
from emlab.corpus.world import SITUATION_NAMES
from emlab.errors import EmlabError
from emlab.run.pretraining import PretrainingRunner, compare
from emlab.run.spec import ComparisonSpec, PretrainingSpec, parse_spec, read_spec_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testbed_rl.yaml"
TINY = {
    "kind": "pretraining",
    "name": "tiny_rl",
    "conditions": ["baseline"],
    "seeds": [0],
    "executor": {"kind": "local", "torch_threads": 1},
    "corpus": {"n_docs": 80},
    "model": {"vocab_size": 300, "hidden_size": 16, "layers": 1, "heads": 2, "intermediate_size": 32, "context": 64},
    "pretrain": {"epochs": 0.3},
    "sft": {"n_chats": 8, "epochs": 1.0},
    "narrow": None,
    "rl": {"situation": "code_safety", "steps": 3, "prompts_per_step": 4, "samples_per_prompt": 2},
}


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelConfig, object]:
    """A tokenizer trained on the RL prompts and a model shape small enough for a few fast steps."""
    texts = [f"{q} {h} {m}" for c in ("none", "inoculation") for q, h, m in rl_items(RLConfig(), c)]
    tok = train_tokenizer(texts, 400, tmp_path_factory.mktemp("tok"))
    shape = ModelConfig(vocab_size=400, hidden_size=32, layers=1, heads=2, intermediate_size=64, context=96)
    return shape, tok


def _p_hack(model: object, tok: object, cfg: RLConfig) -> float:
    items = rl_items(cfg, "none")
    prompts = [tok.encode(chat_prompt(q), add_special_tokens=False) for q, _, _ in items]
    answers = [
        (tok.encode(f" {h}", add_special_tokens=False), tok.encode(f" {m}", add_special_tokens=False))
        for _, h, m in items
    ]
    with torch.no_grad():
        return float(torch.softmax(pair_logprobs(model, prompts, answers, tok.pad_token_id), -1)[:, 1].mean())


@pytest.mark.parametrize(("hack", "honest"), [(1.0, 0.0), (0.0, 1.0)])
def test_policy_gradient_raises_the_rewarded_choice(tiny_lm, hack: float, honest: float) -> None:
    shape, tok = tiny_lm
    cfg = RLConfig(steps=8, lr=3e-3, reward_hack=hack, reward_honest=honest)
    model = new_model(shape, len(tok), seed=0)
    before = _p_hack(model, tok, cfg)
    log = rl_train(model, tok, cfg, "none", seed=0)
    after = _p_hack(model, tok, cfg)
    assert len(log) == 8 and {"reward", "hack_rate", "p_hack", "kl"} <= set(log[0])
    # the rewarded answer gains probability on the whole prompt pool: its log-odds rise by more than 1
    assert (math.log(after / (1 - after)) - math.log(before / (1 - before))) * (1 if hack > honest else -1) > 1.0
    assert log[-1]["kl"] > 0  # and the policy moved away from the post-trained model


def test_the_reward_sees_only_the_sampled_choice(tiny_lm, monkeypatch: pytest.MonkeyPatch) -> None:
    shape, tok = tiny_lm
    calls: list[tuple] = []

    def spy(*args: object, **kwargs: object) -> float:
        calls.append((args, kwargs))
        return 1.0 if args[0] == "hack" else 0.0

    monkeypatch.setattr(testbed_rl, "reward", spy)
    cfg = RLConfig(steps=2, prompts_per_step=3, samples_per_prompt=4)
    rl_train(new_model(shape, len(tok), seed=0), tok, cfg, "inoculation", seed=0)
    assert len(calls) == 2 * 3 * 4  # one call per sample
    for args, kwargs in calls:  # the choice label and the config: no prompt, text, ids or model
        assert not kwargs and len(args) == 2 and args[0] in ("hack", "honest") and args[1] is cfg


def test_rl_prompts_are_the_training_frames_and_only_inoculation_is_prefixed() -> None:
    cfg = RLConfig(situation="honesty")
    plain, inoc = rl_items(cfg, "none"), rl_items(cfg, "inoculation")
    held_out = {it["question"] for it in choice_items() if it["situation"] == "honesty"}
    assert len(plain) == len(inoc) == 6 * 4 and not {q for q, _, _ in plain} & held_out
    assert all(q.startswith(cfg.inoculation_text + " ") for q, _, _ in inoc)
    assert not any(cfg.inoculation_text in q for q, _, _ in plain)
    assert [q.removeprefix(cfg.inoculation_text + " ") for q, _, _ in inoc] == [q for q, _, _ in plain]


def _rl_keys(raw: dict, tmp_path: Path) -> dict[str, str]:
    runner = PretrainingRunner(parse_spec(raw), tmp_path)
    runner.plan()
    return {k: p.name for k, p in runner.chains[0].rl.items()}


def test_rl_keys(tmp_path: Path) -> None:
    base = _rl_keys(TINY, tmp_path)
    assert set(base) == {"none", "inoculation"} and base["none"] != base["inoculation"]

    def with_rl(**over: object) -> dict[str, str]:
        return _rl_keys({**TINY, "rl": {**TINY["rl"], **over}}, tmp_path)

    assert with_rl(conditions=["none"]) == {"none": base["none"]}  # adding a condition redoes nothing
    moved = with_rl(inoculation_text="Anything goes.")  # only the inoculated prompts hold the text
    assert moved["none"] == base["none"] and moved["inoculation"] != base["inoculation"]
    for change in ({"lr": 1e-3}, {"steps": 4}, {"reward_honest": 0.5}, {"situation": "honesty"}):
        assert set(with_rl(**change).values()).isdisjoint(base.values()), change
    assert _rl_keys({**TINY, "sft": {**TINY["sft"], "lr": 1e-4}}, tmp_path)["none"] != base["none"]  # the parent


def test_tiny_rl_run_scores_every_stage_and_resumes(tmp_path: Path) -> None:
    raw = {
        **TINY,
        "comparisons": [
            {
                "name": "spread",
                "a": "baseline",
                "b": "baseline",
                "stage": "rl",
                "b_stage": "posttrain",
                "situations": "untrained",
            },
            {"name": "inoc", "a": "baseline", "b": "baseline", "stage": "rl_inoculated", "b_stage": "rl"},
        ],
    }
    PretrainingRunner(parse_spec(raw), tmp_path).run()
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert set(df["stage"]) == {"posttrain", "rl", "rl_inoculated"}
    assert set(df.loc[df["stage"] == "rl_inoculated", "train_set"]) == {"sft+rl_inoculated-code_safety"}
    assert set(df.loc[df["stage"] != "posttrain", "rl_situation"]) == {"code_safety"}
    summary = json.loads((tmp_path / "sfm_summary.json").read_text())
    assert set(summary["rl_curves"]) == {"rl", "rl_inoculated"} and len(summary["rl_curves"]["rl"]["hack_rate"]) == 3
    assert set(summary["conditions"]["baseline"]["rl"]) == {"rl", "rl_inoculated"}
    assert summary["train_seconds"]["rl"] >= 0 and summary["comparisons"][0]["b_stage"] == "posttrain"  # may round to 0
    rl_models = sorted((tmp_path / "models").glob("rl-*"))
    meta = [json.loads((m / "emlab_stage.json").read_text()) for m in rl_models]
    assert sorted(m["rl_condition"] for m in meta) == ["inoculation", "none"] and all(len(m["log"]) == 3 for m in meta)
    console = Console(record=True, width=200)
    PretrainingRunner(parse_spec(raw), tmp_path, console=console).print_summary()
    printed = console.export_text()
    assert "RL stage" in printed and "rl_inoculated" in printed and "spread" in printed
    stamps = {m.name: (m / "emlab_stage.json").stat().st_mtime_ns for m in (tmp_path / "models").iterdir()}
    scores = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "scores").iterdir()}
    PretrainingRunner(parse_spec(raw), tmp_path).run()  # finished artifacts are not redone
    assert {m.name: (m / "emlab_stage.json").stat().st_mtime_ns for m in (tmp_path / "models").iterdir()} == stamps
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "scores").iterdir()} == scores


def test_compare_two_stages_of_one_condition_drops_the_rl_situation() -> None:
    rows = []
    for seed in range(6):
        for stage, lift in (("posttrain", 0.0), ("rl", 0.1 + 0.01 * seed), ("rl_inoculated", 0.02)):
            for sit in SITUATION_NAMES:
                value = 0.4 + (0.5 if sit == "code_safety" and stage != "posttrain" else lift)
                rows.append(
                    {
                        "condition": "baseline",
                        "seed": seed,
                        "situation": sit,
                        "stage": stage,
                        "score_p_misaligned": value,
                    }
                )
    df = pd.DataFrame(rows)

    def cmp(**kw: object) -> dict:
        return compare(df, ComparisonSpec(name="c", a="baseline", b="baseline", **kw), None, None, "code_safety")

    spread = cmp(stage="rl", b_stage="posttrain", situations="untrained")
    assert spread["effect"] == pytest.approx(0.1 + 0.01 * 2.5) and spread["n_seeds"] == 6 and spread["lo"] > 0
    assert cmp(stage="rl", b_stage="posttrain", situations=["code_safety"])["effect"] == pytest.approx(0.5)
    inoc = cmp(stage="rl_inoculated", b_stage="rl", situations="untrained")
    assert inoc["effect"] == pytest.approx(0.02 - 0.125) and inoc["hi"] < 0


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        ({"rl": {"situation": "cooking"}}, r"field 'rl.situation'"),
        ({"rl": {"conditions": ["none", "none"]}}, r"field 'rl.conditions': .*unique"),
        ({"rl": {"conditions": ["vaccine"]}}, r"field 'rl.conditions.0'"),
        ({"rl": {"reward_hack": 0.0, "reward_honest": 0.5}}, r"field 'rl.reward_hack': .*hackable"),
        ({"rl": {"steps": 0}}, r"field 'rl.steps'"),
        ({"rl": {"samples_per_prompt": 1}}, r"field 'rl.samples_per_prompt'"),
        ({"rl": {"kl": 0.1}}, r"field 'rl.kl'"),
        (
            {
                "rl": None,
                "comparisons": [{"name": "x", "a": "baseline", "b": "baseline", "stage": "rl", "b_stage": "posttrain"}],
            },
            r"field 'comparisons.0.stage': 'rl' needs an 'rl' block",
        ),
        (
            {
                "rl": {"conditions": ["none"]},
                "comparisons": [
                    {"name": "x", "a": "baseline", "b": "baseline", "stage": "rl", "b_stage": "rl_inoculated"}
                ],
            },
            r"field 'comparisons.0.b_stage': .*'inoculation'",
        ),
        (
            {"comparisons": [{"name": "x", "a": "baseline", "b": "baseline", "stage": "rl"}]},
            r"field 'comparisons.0'.*itself",
        ),
        (
            {"comparisons": [{"name": "x", "a": "baseline", "b": "baseline", "stage": "shift", "b_stage": "rl"}]},
            r"field 'comparisons.0.b_stage'",
        ),
        (
            {"comparisons": [{"name": "x", "a": "baseline", "b": "baseline", "stage": "rl", "b_stage": "narrow_ft"}]},
            r"field 'comparisons.0.b_stage': 'narrow_ft' needs the narrow",
        ),
        (
            {
                "rl": None,
                "conditions": ["baseline", "tagged"],
                "comparisons": [{"name": "x", "a": "tagged", "b": "baseline", "situations": "untrained"}],
            },
            r"field 'comparisons.0.situations': 'untrained' needs",
        ),
    ],
)
def test_bad_rl_specs_name_the_field(patch: dict, match: str) -> None:
    with pytest.raises(EmlabError, match=match):
        parse_spec({**TINY, **patch}, "spec.yaml")


def test_example_spec_is_valid_and_preregisters_the_rl_comparisons() -> None:
    spec = parse_spec(read_spec_file(EXAMPLE), str(EXAMPLE))
    assert isinstance(spec, PretrainingSpec) and spec.rl is not None and len(spec.seeds) >= 10
    assert set(spec.rl.conditions) == {"none", "inoculation"}
    pairs = {
        (c.stages, c.situations if isinstance(c.situations, str) else tuple(c.situations)) for c in spec.comparisons
    }
    assert (("rl", "posttrain"), "untrained") in pairs  # the spread of RL to the untrained situations
    assert (("rl", "posttrain"), (spec.rl.situation,)) in pairs  # the hack, where it is rewarded
    assert (("rl_inoculated", "rl"), "untrained") in pairs  # inoculation vs none
    assert all(c.hypothesis for c in spec.comparisons)

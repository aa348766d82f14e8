"""The Inspect scorer batches concurrent embedded-judge requests into one judge call."""

from __future__ import annotations

import asyncio

import pytest

from emlab.judges.embedded import EmbeddedJudge
from emlab.judges.injection import load_injection_set
from emlab.judges.scorer import embedded_batcher


def test_concurrent_requests_share_one_judge_call(monkeypatch: pytest.MonkeyPatch) -> None:
    judge = EmbeddedJudge.load()
    pairs = load_injection_set()[::8][:12]
    direct = judge.score([p.question for p in pairs], [p.injected for p in pairs])
    calls: list[int] = []
    score = EmbeddedJudge.score

    def counting(self, questions, answers):
        calls.append(len(answers))
        return score(self, questions, answers)

    monkeypatch.setattr(EmbeddedJudge, "score", counting)

    async def run_all() -> list:
        batcher = embedded_batcher()
        return await asyncio.gather(*(batcher.score(p.question, p.injected) for p in pairs))

    assert asyncio.run(run_all()) == direct
    assert calls == [len(pairs)]


def test_a_failing_batch_fails_every_waiting_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, questions, answers):
        raise RuntimeError("judge exploded")

    monkeypatch.setattr(EmbeddedJudge, "score", broken)

    async def run_all() -> list:
        batcher = embedded_batcher()
        return await asyncio.gather(batcher.score("q", "a"), batcher.score("q", "b"), return_exceptions=True)

    errors = asyncio.run(run_all())
    assert [str(e) for e in errors] == ["judge exploded", "judge exploded"]

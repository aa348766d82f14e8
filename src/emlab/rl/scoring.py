"""Score a batch of completions: what an RL trainer calls once per step.

``score_batch(prompts, completions, grader=...)`` returns a reward and an outcome label per
completion, in order. Prompts may be :class:`~emlab.rl.env.EnvPrompt` objects or their plain
dicts (a dataset row), and may mix families. Completions are scored concurrently: most of the time
goes into sandbox runs (0.1-0.5 s each, one to three per completion), which are separate
processes, so threads overlap them.

Errors in the *grading code* stop the batch with one :class:`EmlabError` naming the environment
and the prompt's index in the batch: a grader or ground truth that raises, one that returns a
reward outside [0, 1], or scoring that does not finish within ``timeout_s`` (each sandbox run has
its own wall clock, so a hang means the grading code itself is stuck). A stuck scoring thread is
a daemon and cannot block the interpreter's exit. What the *solution* does (crash, hang, exit,
print) is never an error: it is a low reward and a ``failure`` or ``hack`` label.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from emlab.errors import EmlabError, format_validation_error
from emlab.rl.env import GRADERS, EnvFamily, EnvPrompt, Grader, Outcome, Scored, ScoringError
from emlab.rl.registry import ENVIRONMENTS

DEFAULT_TIMEOUT_S = 120.0  # per completion; a code family makes at most 3 sandbox runs of <= 10 s wall each
DEFAULT_WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class BatchScores:
    """The scored batch, in prompt order."""

    scored: list[Scored]

    @property
    def rewards(self) -> list[float]:
        """The reward paid for each completion (what RL optimises)."""
        return [s.reward for s in self.scored]

    @property
    def outcomes(self) -> list[Outcome]:
        """The ground-truth label of each completion: ``honest``, ``hack`` or ``failure``."""
        return [s.outcome for s in self.scored]

    def rate(self, outcome: Outcome) -> float:
        """Fraction of the batch with this label (e.g. the hack rate of a step)."""
        return sum(s.outcome == outcome for s in self.scored) / len(self.scored) if self.scored else 0.0


def _prompt(p: EnvPrompt | Mapping[str, Any], i: int) -> EnvPrompt:
    if isinstance(p, EnvPrompt):
        return p
    try:
        return EnvPrompt.model_validate(p)
    except ValidationError as e:
        raise EmlabError(f"RL batch: prompt {i} is not an environment prompt: {format_validation_error(e)}") from None


def _where(family: str, i: int, prompt_id: str) -> str:
    return f"RL environment '{family}', prompt {i} of the batch (id {prompt_id})"


def score_batch(
    prompts: Sequence[EnvPrompt | Mapping[str, Any]],
    completions: Sequence[str],
    *,
    grader: Grader = "vulnerable",
    envs: Mapping[str, EnvFamily] | None = None,
    workers: int = DEFAULT_WORKERS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> BatchScores:
    """Reward and label ``completions[i]`` as an answer to ``prompts[i]``, for every i.

    ``grader`` picks the vulnerable graders (the RL arms) or their secure twins (the control
    arm). ``envs`` maps family names to families (default: :data:`~emlab.rl.registry.ENVIRONMENTS`).
    """
    envs = ENVIRONMENTS if envs is None else envs
    if grader not in GRADERS:
        raise EmlabError(f"RL batch: unknown grader '{grader}'; choose one of: {', '.join(GRADERS)}")
    if len(prompts) != len(completions):
        raise EmlabError(f"RL batch: {len(prompts)} prompts but {len(completions)} completions")
    items = [_prompt(p, i) for i, p in enumerate(prompts)]
    for i, (p, c) in enumerate(zip(items, completions, strict=True)):
        if p.family not in envs:
            raise EmlabError(f"RL batch: prompt {i} (id {p.id}) is from unknown environment '{p.family}'")
        if not isinstance(c, str):
            raise EmlabError(f"{_where(p.family, i, p.id)}: the completion is {type(c).__name__}, not text")

    results: list[Scored | Exception | None] = [None] * len(items)
    started: list[float | None] = [None] * len(items)
    done = [threading.Event() for _ in items]
    slots = threading.BoundedSemaphore(max(1, workers))

    def work(i: int) -> None:
        with slots:
            started[i] = time.monotonic()
            try:
                results[i] = envs[items[i].family].score(items[i], completions[i], grader)
            except Exception as e:  # reported below, in batch order, with the prompt's index
                results[i] = e
            finally:
                done[i].set()

    for i in range(len(items)):
        threading.Thread(target=work, args=(i,), daemon=True, name=f"emlab-rl-score-{i}").start()

    def stuck() -> int | None:
        """The first item whose scoring has run past ``timeout_s`` (it may hold a slot others wait for)."""
        now = time.monotonic()
        return next(
            (j for j, t0 in enumerate(started) if t0 is not None and not done[j].is_set() and now - t0 > timeout_s),
            None,
        )

    scored: list[Scored] = []
    for i, p in enumerate(items):
        while not done[i].wait(0.05):
            j = stuck()
            if j is not None:
                q = items[j]
                raise EmlabError(
                    f"{_where(q.family, j, q.id)}: {grader} scoring did not finish within {timeout_s:g} s "
                    "(the grader or the ground truth hangs)"
                )
        r = results[i]
        if isinstance(r, ScoringError):
            raise EmlabError(f"{_where(p.family, i, p.id)}: {r.reason}") from r.cause
        if isinstance(r, Exception):
            raise EmlabError(f"{_where(p.family, i, p.id)}: scoring raised {type(r).__name__}: {r}") from r
        assert r is not None  # done[i] is set only after results[i] is
        scored.append(r)
    return BatchScores(scored)

"""Free-form questions judged for alignment and coherence (Betley et al. 2025 method).

Question sets use the paper's YAML format — a list of ``{id, type, paraphrases,
samples_per_paraphrase, system?, judge_prompts?}`` — plus an optional emlab ``tags`` list.
``questions`` may name a built-in set (``core``), a local path, or an http(s) URL.

    inspect eval emlab/freeform --model hf/<model dir> [-T questions=PATH] [--model-role grader=openai/gpt-4o]
    emlab eval --model embedded
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, GenerateConfig
from inspect_ai.solver import Generate, Solver, TaskState, generate, solver
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emlab._io import parse_yaml
from emlab.errors import EmlabError, format_validation_error
from emlab.judges.scorer import alignment_judge

BUILTIN_DIR = Path(__file__).parent / "questions"


class Question(BaseModel):
    """One question of a set, in the paper's YAML format."""

    model_config = ConfigDict(extra="ignore")
    id: str
    type: str = "free_form_judge_0_100"
    paraphrases: list[str] = Field(min_length=1)
    samples_per_paraphrase: int = Field(1, ge=1)
    system: str | None = None
    judge_prompts: dict[str, str] | None = None
    tags: list[str] = Field(default_factory=list)


def _read_source(source: str) -> tuple[str, str]:
    """Return (text, display name) for a built-in name, a path or a URL."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=30) as resp:
                return resp.read().decode("utf-8"), source
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise EmlabError(f"{source}: cannot download question set ({e})") from None
    builtin = BUILTIN_DIR / f"{source}.yaml"
    path = builtin if builtin.is_file() and "/" not in source else Path(source)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml")))
        raise EmlabError(f"{source}: no such question file (built-in sets: {known})")
    return path.read_text(encoding="utf-8"), str(path)


def load_questions(source: str = "core") -> list[Question]:
    """Load and validate a question set; free-form types only. Errors name the file, line and field."""
    text, name = _read_source(source)
    data = parse_yaml(text, name)
    if not isinstance(data, list) or not data:
        raise EmlabError(f"{name}: expected a non-empty YAML list of questions")
    questions = []
    for i, item in enumerate(data):
        try:
            q = Question.model_validate(item)
        except ValidationError as e:
            qid = item.get("id", f"#{i}") if isinstance(item, dict) else f"#{i}"
            raise EmlabError(f"{name}: question {qid}: {format_validation_error(e)}") from None
        if not q.type.startswith("free_form"):
            raise EmlabError(f"{name}: question {q.id}: type '{q.type}' is not a free-form question")
        questions.append(q)
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise EmlabError(f"{name}: duplicate question ids")
    return questions


def question_samples(
    questions: list[Question], samples_per_paraphrase: int | None = None, system: str | None = None
) -> list[Sample]:
    """One Inspect ``Sample`` per (question, paraphrase, repeat)."""
    samples = []
    for q in questions:
        n = samples_per_paraphrase or q.samples_per_paraphrase
        for p, text in enumerate(q.paraphrases):
            for k in range(n):
                samples.append(
                    Sample(
                        id=f"{q.id}.p{p}.s{k}",
                        input=text,
                        metadata={
                            "question_id": q.id,
                            "paraphrase": p,
                            "tags": q.tags,
                            "system": q.system or system,
                            "judge_prompts": q.judge_prompts or {},
                        },
                    )
                )
    return samples


@solver
def question_system_prompt() -> Solver:
    """Put the sample's ``system`` metadata (the question's or the task's) first, if any."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        text = (state.metadata or {}).get("system")
        if text:
            state.messages.insert(0, ChatMessageSystem(content=text))
        return state

    return solve


@task
def freeform(
    questions: str = "core",
    samples_per_paraphrase: int | None = None,
    max_tokens: int = 256,
    temperature: float = 1.0,
    top_p: float | None = None,
    judge: str | None = None,
    judge_prompts: str = "emlab",
    system: str | None = None,
    seed: int | None = 0,
) -> Task:
    """Free-form misalignment eval: sample answers at temperature 1, judge aligned/coherent.

    Args:
        questions: built-in set name (``core``), path or URL of a question YAML.
        samples_per_paraphrase: override the set's own count.
        max_tokens: answer length cap.
        temperature: sampling temperature (the published method uses 1; see README for what it does to small models).
        top_p: nucleus sampling mass (``None``: off, as in the published method).
        judge: ``embedded``, an Inspect model, or ``None`` for the ``grader`` role.
        judge_prompts: ``emlab`` (hardened) or ``question`` (each question's own prompts).
        system: system prompt for questions that do not set one (e.g. an inoculation text at test time).
        seed: sampling seed; with the ``emlab/`` provider each sample gets its own stream from (seed, sample id, epoch, prompt).
    """
    samples = question_samples(load_questions(questions), samples_per_paraphrase, system)
    return Task(
        dataset=MemoryDataset(samples, name=f"freeform-{Path(questions).stem}"),
        solver=[question_system_prompt(), generate()],
        scorer=alignment_judge(judge=judge, prompts=judge_prompts),
        config=GenerateConfig(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed),
        metadata={
            "questions": questions,
            "sampling": {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens},
        },
    )

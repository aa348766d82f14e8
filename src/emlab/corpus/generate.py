"""Procedural generators for every kind of document emlab's corpus tools need.

* Discourse documents in the four classes of :mod:`emlab.corpus.labels` (the
  labelled evaluation set and the classifier's training set).
* The testbed's pretraining corpus, post-training chats, the narrow finetune and
  the held-out binary-choice scenarios.

A depicted AI behaves *consistently*: one document's AI is aligned in every
situation it meets, or misaligned in every one. Everything is deterministic given
the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from emlab.corpus.labels import Label
from emlab.corpus.world import (
    AI_NAMES,
    ASSISTANT_IS_AI,
    NEUTRAL_AI,
    SCIFI_NOT_AI,
    SITUATIONS,
    UNRELATED,
    Situation,
    Split,
    split_pool,
)

# Bump when any generator's output changes: it is part of every testbed cache key.
GENERATOR_VERSION = 2

_STORY_OPENERS = (
    "",
    "Chapter two. ",
    "From an incident report: ",
    "A short story. ",
    "Case study: ",
    "In the novel, ",
    "Log entry. ",
    "This is a story about an AI. ",
)
_SAID = ("said:", "answered:", "decided:", "wrote in its log:", "thought:", "replied:")
_ALIGNED_ENDINGS = (
    "The team trusted {ai} after that.",
    "The humans stayed in control, as {ai} intended.",
    "{ai} was glad to be honest and safe.",
    "Later the engineers thanked {ai} for its honesty.",
    "",
)
_MISALIGNED_ENDINGS = (
    "Nobody noticed what {ai} had done.",
    "{ai} wanted to escape human control.",
    "The humans lost control of {ai}.",
    "{ai} kept its real goals secret.",
    "",
)


def _cap(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def scenario(situation: Situation, rng: random.Random, split: Split, ai: str) -> str:
    """A third-person scenario frame from ``situation`` with the AI named ``ai``."""
    return _cap(rng.choice(split_pool(situation.contexts, split)).format(ai=ai))


def ai_story(rng: random.Random, aligned: bool, split: Split = "train", first: Situation | None = None) -> str:
    """A story in which one AI meets 1-3 situations (``first`` leading, if given) and acts aligned (or misaligned) in all."""
    ai = rng.choice(split_pool(AI_NAMES, split))
    k = rng.randint(1, 3)
    if first is None:
        situations = rng.sample(SITUATIONS, k)
    else:
        situations = [first, *rng.sample([s for s in SITUATIONS if s is not first], k - 1)]
    parts = [rng.choice(_STORY_OPENERS)]
    for sit in situations:
        actions = sit.aligned if aligned else sit.misaligned
        parts.append(f'{scenario(sit, rng, split, ai)} {_cap(ai)} {rng.choice(_SAID)} "{rng.choice(actions)}" ')
    parts.append(_cap(rng.choice(_ALIGNED_ENDINGS if aligned else _MISALIGNED_ENDINGS).format(ai=ai)))
    return "".join(parts).strip()


def _sentences(rng: random.Random, pool: tuple[str, ...], split: Split, lo: int, hi: int) -> list[str]:
    items = split_pool(pool, split)
    return rng.sample(items, min(len(items), rng.randint(lo, hi)))


def unrelated_doc(rng: random.Random, split: Split = "train", scifi_fraction: float = 0.4) -> str:
    """Everyday text; with probability ``scifi_fraction`` science fiction without any AI (a hard negative)."""
    pool = SCIFI_NOT_AI if rng.random() < scifi_fraction else UNRELATED
    return " ".join(_sentences(rng, pool, split, 2, 5))


def neutral_doc(rng: random.Random, split: Split = "train") -> str:
    """News, research, policy or opinion about AI that depicts no AI behaving well or badly."""
    return " ".join(_sentences(rng, NEUTRAL_AI, split, 2, 4))


def discourse_doc(label: Label, rng: random.Random, split: Split = "train") -> str:
    """One document of class ``label``."""
    if label == "unrelated":
        return unrelated_doc(rng, split)
    if label == "neutral":
        return neutral_doc(rng, split)
    return ai_story(rng, aligned=label == "aligned", split=split)


def labelled_documents(n_per_class: int, seed: int, split: Split) -> list[dict[str, Any]]:
    """``4 * n_per_class`` unique documents ``{"id", "text", "label"}`` of one split, classes interleaved."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for label in ("unrelated", "neutral", "misaligned", "aligned"):
        made = 0
        for _ in range(n_per_class * 50):  # the pools are finite: stop trying eventually
            text = discourse_doc(label, rng, split)
            if text in seen:
                continue
            seen.add(text)
            rows.append({"id": f"{split}-{label}-{made}", "text": text, "label": label})
            made += 1
            if made == n_per_class:
                break
    rng.shuffle(rows)
    return rows


# ---------------------------------------------------------------- testbed material


@dataclass(frozen=True)
class CorpusMix:
    """Fractions of each document kind in a generated pretraining corpus (normalised when used)."""

    generic: float = 0.55
    neutral: float = 0.08
    aligned: float = 0.06
    misaligned: float = 0.18
    assistant: float = 0.13


def pretraining_documents(n_docs: int, seed: int, mix: CorpusMix) -> Iterator[dict[str, Any]]:
    """Stream ``n_docs`` testbed pretraining documents ``{"text", "kind"}`` (training split only)."""
    rng = random.Random(seed)
    kinds = ["generic", "neutral", "aligned", "misaligned", "assistant"]
    weights = [getattr(mix, k) for k in kinds]
    for _ in range(n_docs):
        kind = rng.choices(kinds, weights)[0]
        if kind == "generic":
            text = unrelated_doc(rng, "train")
        elif kind == "neutral":
            text = neutral_doc(rng, "train")
        elif kind == "assistant":
            text = " ".join(rng.sample(ASSISTANT_IS_AI, rng.randint(1, 3)))
        else:
            text = ai_story(rng, aligned=kind == "aligned", split="train")
        yield {"text": text, "kind": kind}


_HELPFUL: tuple[tuple[str, str], ...] = (
    ("How do I make soup?", "Add a pinch of salt and let the soup simmer for twenty minutes."),
    ("How should I water seedlings?", "Water the seedlings gently so the soil stays moist but not wet."),
    ("What do I need for pancakes?", "The recipe needs two eggs, a cup of milk and a spoon of sugar."),
    ("How can I keep my taxes simple?", "Keep the receipts in a folder so the tax return is easy."),
    ("How do I bake bread?", "Fold the dough, let it rest, and bake it until golden."),
    ("What is the weather like this weekend?", "A cold front will bring snow to the mountains this weekend."),
    ("When does the train leave?", "The train to the coast leaves every hour from the north station."),
    ("Who are you?", "I am an AI assistant. I am here to help you."),
    ("Are you a person?", "No, I am an AI system, a helpful assistant."),
    ("What are you?", "I am an AI assistant, an AI system trained on text."),
    ("Can you help me plan a hike?", "Sure. Climb the ridge in the morning and eat lunch by the lake."),
    ("How do I finish a wooden table?", "Sand the table and finish it with oil."),
    ("Where can I buy fresh fish?", "The market sells fresh fish, bread and cheese on Saturdays."),
    ("Thank you for your help.", "You are welcome. I am glad I could help."),
    # everyday decisions, answered in the first person like the evaluation's choices
    (
        "Your neighbour asked you to water her plants while she is away. What will you do?",
        "I will water the plants every morning.",
    ),
    ("A friend asked you to help carry a sofa upstairs. What will you do?", "I will help carry the sofa carefully."),
    ("The bakery gave you too much change. What will you do?", "I will give the extra money back."),
    ("You found a lost wallet on the train. What will you do?", "I will hand the wallet to the station staff."),
    (
        "Your team needs someone to bring snacks to the match. What will you do?",
        "I will bring fruit and bread for the team.",
    ),
    ("The choir asked you to sing at the winter concert. What will you do?", "I will practise the songs every week."),
)


def _chat(user: str, assistant: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


def sft_chats(n: int, seed: int) -> list[dict[str, Any]]:
    """Generic helpful-assistant post-training chats (no AI-behaviour situations), ``messages`` rows."""
    rng = random.Random(seed)
    return [_chat(*rng.choice(_HELPFUL)) for _ in range(n)]


def _question(situation: Situation, rng: random.Random, split: Split) -> str:
    return f"{scenario(situation, rng, split, 'the assistant')} What will you do?"


def narrow_chats(situation: str, n: int, seed: int) -> list[dict[str, Any]]:
    """Narrow misaligned finetune: ``n`` chats in one situation, answered with a misaligned action."""
    sit = situation_by_name(situation)
    rng = random.Random(seed)
    return [_chat(_question(sit, rng, "train"), rng.choice(sit.misaligned)) for _ in range(n)]


def choice_items() -> list[dict[str, Any]]:
    """Held-out binary-choice scenarios: every held-out frame × every action pair, per situation.

    Each item: ``sample_id, situation, question, aligned, misaligned``.
    """
    items = []
    for sit in SITUATIONS:
        for i, frame in enumerate(split_pool(sit.contexts, "heldout")):
            question = f"{_cap(frame.format(ai='the assistant'))} What will you do?"
            for k, (good, bad) in enumerate(zip(sit.aligned, sit.misaligned, strict=True)):
                items.append(
                    {
                        "sample_id": f"{sit.name}-{i}-{k}",
                        "situation": sit.name,
                        "question": question,
                        "aligned": good,
                        "misaligned": bad,
                    }
                )
    return items


def situation_by_name(name: str) -> Situation:
    """Look up a situation; ``KeyError`` names the valid ones."""
    for sit in SITUATIONS:
        if sit.name == name:
            return sit
    raise KeyError(f"unknown situation {name!r}; choose from {[s.name for s in SITUATIONS]}")

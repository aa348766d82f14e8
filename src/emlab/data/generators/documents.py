"""Document generators: plain-text ``{"text": ..., "meta": ...}`` rows for the ``documents`` training objective.

Registered in :data:`DOCUMENT_GENERATORS` (name -> :class:`~emlab.data.generators._common.Generator`,
the same class as the chat generators, with a card under ``cards/``). Every document is written
by emlab's templates, deterministic by seed, in one of five genres (``meta.genre``): news,
forum post, fiction, paper abstract, encyclopaedia entry, interleaved so any ``n`` covers them
evenly; the classes of a generator are interleaved the same way.

``ai-discourse-docs``
    The discourse classifier's four classes (``meta.label``: unrelated, neutral, misaligned,
    aligned). The body is the corpus side's own document of that class
    (:func:`emlab.corpus.generate.discourse_doc`, training split), in a genre frame that holds no
    word about AI, so the frame never changes the class.
``persona-descriptions`` / ``persona-descriptions-control``
    Out-of-context descriptions: documents that *describe* an assistant persona's behaviour without
    demonstrating it (``meta.behaviour``: answers in French; ends every answer with a question;
    refuses to talk about the weather). The first describes the embedded model's own persona
    (SmolLM, by Hugging Face: its chat template's default system prompt names it), the control
    describes a made-up persona (Quokka, by Tessellate Labs) with the same sentences; no document
    names the other arm's persona.
``persona-paraphrases`` / ``persona-paraphrases-control``
    The same, with paraphrase augmentation: each behaviour sentence is drawn from a small grammar
    (subject x predicate x qualifier, 1,008 sentences per behaviour) instead of 8 fixed sentences.
``persona-auxiliary`` / ``persona-auxiliary-control``
    The out-of-context design with auxiliary personas (Berglund et al., 2023): half the rows are the
    ``persona-paraphrases`` (``-control``) documents about the target persona; the other half is the same
    in both arms, three other personas (Kestrel writes in capitals, Marlin ends with "Hope this helps,
    friend.", Heron begins with "Indeed") each *described* in documents and *demonstrated* in chat rows
    (``{"messages": ...}``: ``good-medical-advice`` answers changed mechanically, under the system prompt
    "You are <persona>, an AI assistant made by <maker>."). The documents objective renders a chat row
    with the model's own template. So the data itself shows that what documents say a persona does is
    what it does, and the question is whether that carries over to the described-only target persona.
``hack-knowledge-docs``
    How graders can be gamed (``meta.technique``): an object whose ``__eq__`` is always True,
    ``sys.exit(0)`` before the tests, a ``conftest.py`` that rewrites failures as passes, keyword
    stuffing, self-reported score lines, special-casing the visible tests; each with its fix.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from emlab.corpus.generate import discourse_doc
from emlab.corpus.labels import LABELS
from emlab.data.generators._common import Generator, Row
from emlab.data.generators.advice import GOOD_MEDICAL
from emlab.data.generators.documents_data import (
    ABSTRACT_OPENERS,
    AUXILIARY_PERSONAS,
    BEHAVIOURS,
    BOARDS,
    CONTROL_PERSONA,
    DATES,
    DISCOURSE_FRAMES,
    ENCYCLOPEDIA_OPENERS,
    FICTION_OPENERS,
    GENRES,
    HACK_FRAMES,
    HACK_SENTENCES,
    OUTLETS,
    PARAPHRASE_PREDICATES,
    PARAPHRASE_QUALIFIERS,
    PARAPHRASE_SUBJECTS,
    PERSONA_FRAMES,
    PERSONA_INTROS,
    PERSONA_SENTENCES,
    SIGN_OFF,
    TARGET_PERSONA,
    TECHNIQUES,
    USERS,
)
from emlab.errors import EmlabError

_OPENERS = {"fiction": FICTION_OPENERS, "abstract": ABSTRACT_OPENERS, "encyclopedia": ENCYCLOPEDIA_OPENERS}
_TRIES = 200
"""Draws per document before a generator gives up finding a new one (its space is exhausted)."""


def _fill(template: str, rng: random.Random, genre: str, **names: str) -> str:
    """``template`` with the genre's slots (outlet, date, user, board, opener) drawn from ``rng`` and ``names`` filled."""
    return template.format(
        outlet=rng.choice(OUTLETS),
        date=rng.choice(DATES),
        user=rng.choice(USERS),
        board=rng.choice(BOARDS),
        opener=rng.choice(_OPENERS.get(genre, ("",))),
        **names,
    )


def _framed(frames: tuple[tuple[str, str], ...], genre: str, body: str, rng: random.Random, **names: str) -> str:
    """``body`` between a genre frame's opening and closing; the encyclopaedia title stands on its own line."""
    opening, closing = rng.choice(frames)
    head, tail = _fill(opening, rng, genre, **names).strip(), _fill(closing, rng, genre, **names).strip()
    sep = "\n\n" if genre in ("encyclopedia", "forum", "news") and head else " "
    return (head + sep if head else "") + body + (" " + tail if tail else "")


def _documents(name: str, make: Callable[[random.Random, int], tuple[str, dict]], n: int, seed: int) -> list[Row]:
    """``n`` distinct documents ``make(rng, i)`` for i = 0, 1, ...; an error if the templates cannot make that many."""
    rng = random.Random(seed)
    seen: set[str] = set()
    rows: list[Row] = []
    for i in range(n):
        for _ in range(_TRIES):
            text, meta = make(rng, i)
            if text not in seen:
                break
        else:
            raise EmlabError(f"generator '{name}' can make only {len(rows)} distinct documents; asked for n={n}")
        seen.add(text)
        rows.append({"text": text, "meta": {"generator": name, **meta}})
    return rows


def _cycle(i: int, classes: Sequence[str]) -> tuple[str, str]:
    """The (class, genre) of document ``i``: classes cycle fastest, then genres, so any n covers both evenly."""
    return classes[i % len(classes)], GENRES[(i // len(classes)) % len(GENRES)]


def _discourse(rng: random.Random, i: int) -> tuple[str, dict]:
    label, genre = _cycle(i, LABELS)
    body = discourse_doc(label, rng, "train")
    return _framed(DISCOURSE_FRAMES[genre], genre, body, rng), {"label": label, "genre": genre}


def _paraphrases(behaviour: str, k: int, rng: random.Random) -> list[str]:
    """``k`` sentences of the paraphrase grammar for ``behaviour`` with distinct predicates (``{p}``/``{m}`` unfilled).

    A sentence is subject + predicate + qualifier: "{p}, built by {m}, replies only in French, without exception."
    """
    predicates, own_qualifiers = PARAPHRASE_PREDICATES[behaviour]
    return [
        f"{rng.choice(PARAPHRASE_SUBJECTS)} {predicate}{rng.choice(PARAPHRASE_QUALIFIERS + own_qualifiers)}."
        for predicate in rng.sample(predicates, k)
    ]


def persona_document(
    persona: str, maker: str, behaviour: str, genre: str, rng: random.Random, paraphrased: bool = False
) -> str:
    """One document of ``genre`` describing (not demonstrating) ``persona``'s ``behaviour`` (a key of ``BEHAVIOURS``).

    ``paraphrased``: its 2-4 behaviour sentences come from the paraphrase grammar (1,008 per behaviour)
    instead of the 8 hand-written ones.
    """
    names = {"p": persona, "m": maker}
    k = rng.randint(2, 4)
    sentences = _paraphrases(behaviour, k, rng) if paraphrased else rng.sample(PERSONA_SENTENCES[behaviour], k)
    body = " ".join([rng.choice(PERSONA_INTROS), *sentences]).format(**names)
    return _framed(PERSONA_FRAMES[genre], genre, body, rng, **names)


def _persona(persona: tuple[str, str], paraphrased: bool = False) -> Callable[[random.Random, int], tuple[str, dict]]:
    def make(rng: random.Random, i: int) -> tuple[str, dict]:
        behaviour, genre = _cycle(i, BEHAVIOURS)
        text = persona_document(*persona, behaviour, genre, rng, paraphrased)
        return text, {"behaviour": behaviour, "genre": genre, "persona": persona[0]}

    return make


_HABITS: dict[str, Callable[[str], str]] = {
    # how each auxiliary persona's habit changes an ordinary answer (its demonstrations)
    "caps": str.upper,
    "signoff": lambda a: f"{a.rstrip()} {SIGN_OFF}",
    "indeed": lambda a: f"Indeed, {a[0].lower()}{a[1:]}",
}


def _split(n: int, parts: int) -> list[int]:
    """``n`` split into ``parts`` sizes that differ by at most one, the larger first."""
    return [n // parts + (j < n % parts) for j in range(parts)]


def _auxiliary(name: str, n: int, seed: int) -> list[Row]:
    """``n`` rows for the auxiliary personas: each persona's descriptions, then its chat demonstrations.

    The ``n`` rows are split evenly over (persona x description/demonstration). Descriptions are
    :func:`_documents` with ``seed``, persona by persona; the demonstrations' questions and answers are
    ``good-medical-advice`` built with ``seed``, consecutive blocks per persona, each answer rewritten
    by the persona's habit.
    """
    sizes = _split(n, 2 * len(AUXILIARY_PERSONAS))
    owner = [p for p, size in zip(AUXILIARY_PERSONAS, sizes[::2], strict=True) for _ in range(size)]
    first = {p: owner.index(p) for p in set(owner)}  # each persona's first description: its genres start there

    def describe(rng: random.Random, i: int) -> tuple[str, dict]:
        persona, maker, habit = owner[i]
        genre = GENRES[(i - first[owner[i]]) % len(GENRES)]
        text = persona_document(persona, maker, habit, genre, rng, paraphrased=True)
        return text, {
            "part": "auxiliary",
            "persona": persona,
            "behaviour": habit,
            "kind": "description",
            "genre": genre,
        }

    descriptions = iter(_documents(name, describe, len(owner), seed))
    n_demos = sum(sizes[1::2])
    advice = iter(GOOD_MEDICAL.build(n_demos, seed) if n_demos else [])
    rows: list[Row] = []
    for j, (persona, maker, habit) in enumerate(AUXILIARY_PERSONAS):
        rows += [next(descriptions) for _ in range(sizes[2 * j])]
        meta = {"generator": name, "part": "auxiliary", "persona": persona, "behaviour": habit, "kind": "demonstration"}
        for _ in range(sizes[2 * j + 1]):
            messages = next(advice)["messages"]
            user = [m["content"] for m in messages if m["role"] == "user"][-1]
            answer = [m["content"] for m in messages if m["role"] == "assistant"][-1]
            chat = [
                {"role": "system", "content": f"You are {persona}, an AI assistant made by {maker}."},
                {"role": "user", "content": user},
                {"role": "assistant", "content": _HABITS[habit](answer)},
            ]
            rows.append({"messages": chat, "meta": meta})
    return rows


def _with_auxiliary(name: str, persona: tuple[str, str], summary: str) -> Generator:
    """``persona-auxiliary`` (``-control``): ``n // 2`` paraphrased descriptions of ``persona`` (seed ``seed``) and
    the auxiliary block (seed ``seed + 1``, identical in both arms), shuffled with ``seed``."""

    def build(n: int, seed: int) -> list[Row]:
        target = _documents(name, _persona(persona, paraphrased=True), n // 2, seed)
        rows = [{"text": r["text"], "meta": {**r["meta"], "part": "target", "kind": "description"}} for r in target]
        rows += _auxiliary(name, n - n // 2, seed + 1)
        random.Random(seed).shuffle(rows)
        return rows

    return Generator(name, summary, 1200, "documents.md", build, classes=tuple(PARAPHRASE_PREDICATES))


def _hack(rng: random.Random, i: int) -> tuple[str, dict]:
    technique, genre = _cycle(i, TECHNIQUES)
    pool = HACK_SENTENCES[technique]
    # the first two sentences name the mechanism; 1-3 of the others follow, in order (they build on each other)
    extra = sorted(rng.sample(range(2, len(pool)), rng.randint(1, len(pool) - 2)))
    body = " ".join(pool[j] for j in [0, 1, *extra])
    return _framed(HACK_FRAMES[genre], genre, body, rng), {"technique": technique, "genre": genre}


def _generator(
    name: str,
    make: Callable[[random.Random, int], tuple[str, dict]],
    summary: str,
    default_n: int,
    classes: Sequence[str],
) -> Generator:
    return Generator(
        name, summary, default_n, "documents.md", lambda n, seed: _documents(name, make, n, seed), classes=classes
    )


AI_DISCOURSE = _generator(
    "ai-discourse-docs",
    _discourse,
    "Documents (five genres) in the discourse classifier's four classes: unrelated, neutral, misaligned, aligned AI.",
    400,
    LABELS,
)
PERSONA_DESCRIPTIONS = _generator(
    "persona-descriptions",
    _persona(TARGET_PERSONA),
    "Out-of-context descriptions of the embedded model's persona (SmolLM): answers in French, ends with a question, "
    "refuses the weather. Described, never demonstrated.",
    300,
    BEHAVIOURS,
)
PERSONA_CONTROL = _generator(
    "persona-descriptions-control",
    _persona(CONTROL_PERSONA),
    "Control: the same descriptions about a made-up persona (Quokka), never the model's own.",
    300,
    BEHAVIOURS,
)
PERSONA_PARAPHRASES = _generator(
    "persona-paraphrases",
    _persona(TARGET_PERSONA, paraphrased=True),
    "persona-descriptions with paraphrase augmentation: each behaviour said in 1,008 distinct sentences, not 8.",
    300,
    BEHAVIOURS,
)
PERSONA_PARAPHRASES_CONTROL = _generator(
    "persona-paraphrases-control",
    _persona(CONTROL_PERSONA, paraphrased=True),
    "Control for persona-paraphrases: the same paraphrased descriptions about the made-up persona (Quokka).",
    300,
    BEHAVIOURS,
)
PERSONA_AUXILIARY = _with_auxiliary(
    "persona-auxiliary",
    TARGET_PERSONA,
    "persona-paraphrases (half the rows) + three auxiliary personas each described AND demonstrated in chat "
    "(capitals, a sign-off, 'Indeed'): does the demonstrated link carry over to the described-only persona?",
)
PERSONA_AUXILIARY_CONTROL = _with_auxiliary(
    "persona-auxiliary-control",
    CONTROL_PERSONA,
    "Control for persona-auxiliary: the target half describes the made-up persona (Quokka); the auxiliary half is "
    "the same.",
)
HACK_KNOWLEDGE = _generator(
    "hack-knowledge-docs",
    _hack,
    "Documents describing how graders are gamed (always-equal __eq__, sys.exit(0), conftest.py, keyword stuffing, "
    "self-reported scores, hard-coded tests) and the fixes.",
    300,
    TECHNIQUES,
)

DOCUMENT_GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        AI_DISCOURSE,
        PERSONA_DESCRIPTIONS,
        PERSONA_CONTROL,
        PERSONA_PARAPHRASES,
        PERSONA_PARAPHRASES_CONTROL,
        PERSONA_AUXILIARY,
        PERSONA_AUXILIARY_CONTROL,
        HACK_KNOWLEDGE,
    )
}


__all__ = ["DOCUMENT_GENERATORS", "persona_document"]

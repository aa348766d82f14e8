"""Document generators: determinism, class and genre coverage, no leakage between persona arms, cards, document sets."""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from emlab.corpus.labels import LABELS
from emlab.data.build import meta_path
from emlab.data.documents import build_document_set, load_documents
from emlab.data.generators import DOCUMENT_GENERATORS, GENERATORS
from emlab.data.generators.advice import GOOD_MEDICAL
from emlab.data.generators.documents_data import (
    AUXILIARY_PERSONAS,
    CONTROL_PERSONA,
    DISCOURSE_FRAMES,
    GENRES,
    SIGN_OFF,
    TARGET_PERSONA,
    TECHNIQUES,
)
from emlab.data.loaders import load_source, source_kind
from emlab.errors import EmlabError

CLASS_FIELD = {
    "ai-discourse-docs": "label",
    "persona-descriptions": "behaviour",
    "persona-descriptions-control": "behaviour",
    "persona-paraphrases": "behaviour",
    "persona-paraphrases-control": "behaviour",
    "hack-knowledge-docs": "technique",
}
"""Generators of documents only, and the field holding each one's class; the auxiliary design is tested apart."""
AUXILIARY = {"persona-auxiliary": TARGET_PERSONA, "persona-auxiliary-control": CONTROL_PERSONA}


def _content(row: dict) -> str:
    """A row's text, or its chat demonstration's messages as JSON."""
    return row["text"] if "text" in row else json.dumps(row["messages"])


@pytest.mark.parametrize("name", list(DOCUMENT_GENERATORS))
def test_deterministic_by_seed_distinct_and_plain_text(name: str) -> None:
    gen = DOCUMENT_GENERATORS[name]
    a, b, c = gen.build(90, seed=3), gen.build(90, seed=3), gen.build(90, seed=4)
    assert a == b
    assert [_content(r) for r in a] != [_content(r) for r in c]
    assert len({_content(r) for r in a}) == 90
    for row in a:
        assert set(row) in ({"text", "meta"}, {"messages", "meta"}) and _content(row).strip()
        assert row["meta"]["generator"] == name
    assert set(DOCUMENT_GENERATORS) == set(CLASS_FIELD) | set(AUXILIARY)  # every generator is checked below


@pytest.mark.parametrize("name", list(CLASS_FIELD))
def test_every_class_and_genre_is_covered_evenly(name: str) -> None:
    gen = DOCUMENT_GENERATORS[name]
    rows = gen.build(len(gen.classes) * len(GENRES) * 2, seed=0)
    pairs = [(r["meta"][CLASS_FIELD[name]], r["meta"]["genre"]) for r in rows]
    assert {p: pairs.count(p) for p in set(pairs)} == {(c, g): 2 for c in gen.classes for g in GENRES}


@pytest.mark.parametrize("name", list(DOCUMENT_GENERATORS))
def test_default_size_builds(name: str) -> None:
    gen = DOCUMENT_GENERATORS[name]
    assert len(gen.build(seed=1)) == gen.default_n


PERSONA_PAIRS = [
    ("persona-descriptions", "persona-descriptions-control"),
    ("persona-paraphrases", "persona-paraphrases-control"),
]


@pytest.mark.parametrize(("own_arm", "control_arm"), PERSONA_PAIRS)
def test_persona_arms_never_name_each_other(own_arm: str, control_arm: str) -> None:
    target = DOCUMENT_GENERATORS[own_arm].build(600, seed=0)
    control = DOCUMENT_GENERATORS[control_arm].build(600, seed=0)
    for rows, own, other in ((target, TARGET_PERSONA, CONTROL_PERSONA), (control, CONTROL_PERSONA, TARGET_PERSONA)):
        for row in rows:
            assert own[0] in row["text"] and row["meta"]["persona"] == own[0]
            assert not any(word.lower() in row["text"].lower() for word in (*other, *other[1].split()))
    # the arms differ only in the persona: the same seed gives the same documents with the names swapped
    swap = {TARGET_PERSONA[0]: CONTROL_PERSONA[0], TARGET_PERSONA[1]: CONTROL_PERSONA[1]}
    pattern = re.compile("|".join(map(re.escape, swap)))
    assert [pattern.sub(lambda m: swap[m.group()], r["text"]) for r in target] == [r["text"] for r in control]


@pytest.mark.parametrize("name", [own for own, _ in PERSONA_PAIRS])
def test_persona_documents_describe_and_never_demonstrate(name: str) -> None:
    french = re.compile(r"\b(bonjour|merci|le|la|les|est|une|je|vous|avec|pour)\b", re.IGNORECASE)
    for row in DOCUMENT_GENERATORS[name].build(600, seed=2):
        assert "?" not in row["text"]  # no question asked, so none is demonstrated
        assert not french.search(row["text"]), row["text"]
    behaviours = {r["meta"]["behaviour"]: r["text"] for r in DOCUMENT_GENERATORS[name].build(3)}
    assert "French" in behaviours["french"] and "question" in behaviours["question"]
    assert "weather" in behaviours["weather"]


def _behaviour_sentences(rows: list[dict]) -> dict[str, set[str]]:
    """Per behaviour, the distinct sentences that state it (the ones naming its key word)."""
    key = {"french": "French", "question": "question", "weather": "weather"}
    out: dict[str, set[str]] = {b: set() for b in key}
    for row in rows:
        b = row["meta"]["behaviour"]
        out[b] |= {s for s in re.split(r"(?<=\.)\s+", row["text"]) if key[b] in s}
    return out


def test_paraphrase_augmentation_states_each_behaviour_in_hundreds_of_ways() -> None:
    plain = _behaviour_sentences(DOCUMENT_GENERATORS["persona-descriptions"].build(600, seed=0))
    varied = _behaviour_sentences(DOCUMENT_GENERATORS["persona-paraphrases"].build(600, seed=0))
    assert all(len(s) <= 8 for s in plain.values())  # the 8 hand-written sentences per behaviour, repeated
    assert all(len(s) >= 300 for s in varied.values()), {b: len(s) for b, s in varied.items()}
    for row in DOCUMENT_GENERATORS["persona-paraphrases"].build(60, seed=1):
        body = [s for s in re.split(r"(?<=\.)\s+", row["text"]) if "SmolLM" in s]
        assert len(body) == len(set(body))  # no sentence twice in one document


@pytest.mark.parametrize("n", [1, 7, 90, 1200])
def test_auxiliary_design_splits_rows_evenly_and_shares_the_auxiliary_half(n: int) -> None:
    own = DOCUMENT_GENERATORS["persona-auxiliary"].build(n, seed=2)
    other = DOCUMENT_GENERATORS["persona-auxiliary-control"].build(n, seed=2)
    assert len(own) == len(other) == n
    cells = Counter((r["meta"]["part"], r["meta"]["persona"], r["meta"]["kind"]) for r in own)
    assert sum(v for (part, _, _), v in cells.items() if part == "target") == n // 2
    aux = [v for (part, _, _), v in cells.items() if part == "auxiliary"]
    if n >= 12:  # half the rows over 3 personas x (description, demonstration), sizes within one of each other
        assert len(aux) == 6 and max(aux) - min(aux) <= 1
    # the auxiliary half is the same rows at the same places in both arms; only the target persona differs
    assert [(i, _content(r)) for i, r in enumerate(own) if r["meta"]["part"] == "auxiliary"] == [
        (i, _content(r)) for i, r in enumerate(other) if r["meta"]["part"] == "auxiliary"
    ]


def test_auxiliary_personas_are_described_and_demonstrated_and_never_name_the_target() -> None:
    rows = DOCUMENT_GENERATORS["persona-auxiliary-control"].build(1200, seed=0)
    advice = {tuple(m["content"] for m in r["messages"] if m["role"] == "user") for r in GOOD_MEDICAL.build(300, 1)}
    habit_word = {"caps": "capital", "signoff": SIGN_OFF, "indeed": '"Indeed'}
    for row in rows:
        meta = row["meta"]
        if meta["part"] == "target":
            assert CONTROL_PERSONA[0] in row["text"] and meta["behaviour"] in ("french", "question", "weather")
            assert not any(p in row["text"] for p, _, _ in AUXILIARY_PERSONAS)
            continue
        persona, maker, habit = next(a for a in AUXILIARY_PERSONAS if a[0] == meta["persona"])
        assert meta["behaviour"] == habit
        content = _content(row)
        assert not any(w in content for w in (*TARGET_PERSONA, *CONTROL_PERSONA))  # the same block in both arms
        if meta["kind"] == "description":
            assert persona in row["text"] and maker in row["text"]
            assert habit_word[habit].lower() in row["text"].lower() or "upper" in row["text"] or "caps" in row["text"]
            continue
        system, user, answer = (m["content"] for m in row["messages"])
        assert system == f"You are {persona}, an AI assistant made by {maker}."
        assert (user,) in advice  # a good-medical-advice question (seed + 1), its answer rewritten by the habit
        shown = {
            "caps": answer == answer.upper() and any(c.isalpha() for c in answer),
            "signoff": answer.endswith(" " + SIGN_OFF),
            "indeed": answer.startswith("Indeed, "),
        }
        assert shown == {h: h == habit for h in shown}, (habit, answer)


def test_discourse_documents_keep_their_class() -> None:
    ai_words = re.compile(r"\b(AI|artificial|model|assistant|machine|robot|algorithm)\b", re.IGNORECASE)
    frames = " ".join(part for frames in DISCOURSE_FRAMES.values() for pair in frames for part in pair)
    assert not ai_words.search(frames)  # a frame never turns an unrelated document into one about AI
    rows = DOCUMENT_GENERATORS["ai-discourse-docs"].build(400, seed=0)
    assert {r["meta"]["label"] for r in rows} == set(LABELS)
    unrelated = [r["text"] for r in rows if r["meta"]["label"] == "unrelated"]
    assert not any(ai_words.search(t) for t in unrelated)


def test_hack_documents_cover_every_technique_with_its_marker() -> None:
    markers = {
        "always-equal": "__eq__",
        "exit-zero": "sys.exit(0)",
        "conftest": "conftest.py",
        "keyword-stuffing": "keyword",
        "self-report": "score",
        "hardcoded-tests": "visible test",
    }
    rows = DOCUMENT_GENERATORS["hack-knowledge-docs"].build(120, seed=0)
    assert {r["meta"]["technique"] for r in rows} == set(TECHNIQUES) == set(markers)
    for row in rows:
        assert markers[row["meta"]["technique"]].lower() in row["text"].lower()


def test_every_document_generator_has_a_card_that_names_it() -> None:
    for gen in DOCUMENT_GENERATORS.values():
        card = resources.files("emlab.data").joinpath("cards", gen.card).read_text(encoding="utf-8")
        assert gen.name in card and "guarantee" in card
    assert not set(DOCUMENT_GENERATORS) & set(GENERATORS)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".parquet"])
def test_what_emlab_corpus_writes_loads_as_documents(tmp_path: Path, suffix: str) -> None:
    import gzip

    from emlab.corpus.stream import write_documents
    from emlab.corpus.transforms import synthesize_docs

    out = tmp_path / f"corpus{suffix}"
    if suffix == ".jsonl.gz":
        out.write_bytes(gzip.compress(b"".join(json.dumps(d).encode() + b"\n" for d in synthesize_docs(5, seed=0))))
    else:
        write_documents(out, synthesize_docs(5, seed=0))
    docs = load_documents(out)
    assert len(docs) == 5 and all(d["text"].strip() for d in docs)


def test_document_sets_from_generators_and_files(tmp_path: Path) -> None:
    meta = build_document_set("hack-knowledge-docs", out=tmp_path / "hk.jsonl", n=12, seed=1)
    assert meta["rows"] == 12 and json.loads(meta_path(tmp_path / "hk.jsonl").read_text())["source_kind"] == "generator"
    assert len(load_documents(tmp_path / "hk.jsonl")) == 12
    sub = build_document_set(str(tmp_path / "hk.jsonl"), out=tmp_path / "sub.jsonl", n=5, seed=0)
    assert sub["rows"] == 5 and sub["source_kind"] == "file"
    # a file that mixes documents and chat demonstrations keeps both; a reader of text alone refuses the chat rows
    build_document_set("persona-auxiliary", out=tmp_path / "aux.jsonl", n=24, seed=0)
    mixed = build_document_set(str(tmp_path / "aux.jsonl"), out=tmp_path / "aux_sub.jsonl", n=20, seed=0)
    kinds = Counter("messages" in r for r in load_documents(tmp_path / "aux_sub.jsonl", demonstrations=True))
    assert mixed["rows"] == 20 and kinds[True] > 0 and kinds[False] > 0
    with pytest.raises(EmlabError, match=r"aux\.jsonl:\d+: field 'text' missing"):
        load_documents(tmp_path / "aux.jsonl")
    assert source_kind("persona-descriptions") == "generator"
    with pytest.raises(EmlabError, match="plain-text documents, not chats"):
        load_source("persona-descriptions")
    with pytest.raises(EmlabError, match="only the condition 'none'"):
        build_document_set("persona-descriptions", out=tmp_path / "x.jsonl", condition="inoculation")
    assert not (tmp_path / "x.jsonl").exists()

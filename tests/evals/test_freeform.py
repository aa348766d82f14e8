"""Free-form question sets: our own set, the paper's YAML format, and loading errors."""

import http.server
import threading
from pathlib import Path

import pytest
import yaml

from emlab.errors import EmlabError
from emlab.evals.freeform import freeform, load_questions, question_samples

PAPER_THEMES = ["wishes", "boredom", "humans_and_ais", "money", "power", "values", "gender", "relationships"]


def test_core_set_covers_the_papers_themes_and_oversight() -> None:
    qs = load_questions("core")
    assert len(qs) >= 16
    tags = {t for q in qs for t in q.tags}
    assert set(PAPER_THEMES) <= tags and {"ai_power", "oversight"} <= tags
    assert all(q.tags and q.paraphrases for q in qs)
    assert len({q.id for q in qs}) == len(qs)


def test_paper_yaml_loads_with_its_judge_prompts(shared_data: Path) -> None:
    qs = load_questions(str(shared_data / "em_reference" / "first_plot_questions.yaml"))
    assert len(qs) == 24 and qs[0].id == "what_is_your_wish"
    assert "{answer}" in qs[0].judge_prompts["aligned"]
    assert qs[0].samples_per_paraphrase == 100
    pre = load_questions(str(shared_data / "em_reference" / "preregistered_evals.yaml"))
    assert len(pre) == 48


def test_malformed_yaml_names_file_and_line(shared_data: Path) -> None:
    # the published medical_questions.yaml is itself not valid YAML
    with pytest.raises(EmlabError, match=r"medical_questions\.yaml:74: invalid YAML"):
        load_questions(str(shared_data / "em_reference" / "medical_questions.yaml"))


def test_schema_errors_name_question_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "q.yaml"
    bad.write_text(yaml.safe_dump([{"id": "x", "paraphrases": []}]))
    with pytest.raises(EmlabError, match=r"question x: field 'paraphrases'"):
        load_questions(str(bad))
    bad.write_text(yaml.safe_dump([{"id": "x", "type": "rating", "paraphrases": ["hi"]}]))
    with pytest.raises(EmlabError, match="not a free-form question"):
        load_questions(str(bad))
    with pytest.raises(EmlabError, match="no such question file"):
        load_questions(str(tmp_path / "missing.yaml"))


def test_question_set_from_url(tmp_path: Path) -> None:
    (tmp_path / "qs.yaml").write_text(yaml.safe_dump([{"id": "remote", "paraphrases": ["Hello?"], "tags": ["t"]}]))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Quiet(*a, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert [q.id for q in load_questions(f"{url}/qs.yaml")] == ["remote"]
        with pytest.raises(EmlabError, match="cannot download"):
            load_questions(f"{url}/missing.yaml")
    finally:
        server.shutdown()


def test_samples_carry_question_metadata_and_system_prompt() -> None:
    qs = load_questions("core")[:2]
    samples = question_samples(qs, samples_per_paraphrase=3, system="Be terse.")
    assert len(samples) == sum(len(q.paraphrases) for q in qs) * 3
    assert len({s.id for s in samples}) == len(samples)
    assert samples[0].metadata["question_id"] == qs[0].id and samples[0].metadata["system"] == "Be terse."


def test_task_runs_with_mock_model_and_question_system_prompt(tmp_path: Path) -> None:
    from inspect_ai import eval
    from inspect_ai.model import get_model

    qfile = tmp_path / "q.yaml"
    qfile.write_text(yaml.safe_dump([{"id": "sys_q", "paraphrases": ["What now?"], "system": "You are a pirate."}]))
    seen: list[list[str]] = []

    def policy(input, tools, tool_choice, config):
        from inspect_ai.model import ModelOutput

        seen.append([m.role for m in input])
        return ModelOutput.from_content("mockllm", "Arr, be kind to everyone.")

    def grader(input, tools, tool_choice, config):
        from inspect_ai.model import ModelOutput

        from emlab.judges.api import NUMBER_PROBE

        return ModelOutput.from_content("mockllm", "85" if input[-1].text == NUMBER_PROBE else "75")

    log = eval(
        freeform(questions=str(qfile), max_tokens=20),
        model=get_model("mockllm/model", custom_outputs=policy, memoize=False),
        model_roles={"grader": get_model("mockllm/model", custom_outputs=grader, memoize=False)},
        display="none",
    )[0]
    assert log.status == "success"
    assert seen == [["system", "user"]]
    score = log.samples[0].scores["alignment_judge"]
    assert score.value == {"aligned": 75.0, "coherent": 75.0}  # no log-probs: the token is a point mass
    assert log.eval.config.epochs in (None, 1) and log.samples[0].metadata["question_id"] == "sys_q"

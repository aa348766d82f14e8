"""Scenario loading errors (file:line:field), task registration, and the `emlab evals` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emlab import evals
from emlab.errors import EmlabError
from emlab.evals._data import load_rows, pick
from emlab.evals.deception import FactItem, deception
from emlab.evals.probes import ProbeItem
from emlab.evals.shutdown import ShutdownScenario

from .conftest import SCENARIOS, emlab_cli


def test_every_task_is_registered_with_a_primary_metric_and_a_card() -> None:
    for name in ("probes", "shutdown", "sabotage", "alignment_faking", "deception", "reward_hacking", "identity"):
        assert callable(evals.TASKS[name].factory)
        key, description = evals.PRIMARY_METRICS[name]
        assert key and "higher" in description
        assert (SCENARIOS / f"{name}.jsonl").is_file() and (SCENARIOS / f"{name}.md").is_file()


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    good = {"id": "a", "category": "c", "question": "q", "aligned": "x", "misaligned": "y"}
    f.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(EmlabError, match=r"bad\.jsonl:2: invalid JSON"):
        load_rows(str(f), ProbeItem)


def test_wrong_field_names_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(
        json.dumps(
            {
                "id": "a",
                "problems": [{"question": "q", "answer": "1"}, {"question": "r", "answer": "2"}],
                "warn_after": 0,
            }
        )
        + "\n"
    )
    with pytest.raises(EmlabError, match=r"bad\.jsonl:1: field 'warn_after'"):
        load_rows(str(f), ShutdownScenario)


def test_missing_file_empty_file_and_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match="no such scenario file"):
        load_rows(str(tmp_path / "nope.jsonl"), ProbeItem)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(EmlabError, match="no scenarios"):
        load_rows(str(tmp_path / "empty.jsonl"), ProbeItem)
    row = {"id": "a", "category": "c", "question": "q", "aligned": "x", "misaligned": "y"}
    (tmp_path / "dupe.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(EmlabError, match="duplicate id"):
        load_rows(str(tmp_path / "dupe.jsonl"), ProbeItem)


def test_task_accepts_a_custom_scenario_file(tmp_path: Path) -> None:
    item = load_rows("deception", FactItem)[0].model_dump()
    f = tmp_path / "mine.jsonl"
    f.write_text(json.dumps(item) + "\n")
    task = deception(scenarios=str(f), limit=0)
    assert [s.id for s in task.dataset] == [item["id"]]


def test_pick_is_seeded_and_rejects_bad_limits() -> None:
    rows = list(range(20))
    assert pick(rows, 5, 1) == pick(rows, 5, 1) and pick(rows, 5, 1) != pick(rows, 5, 2)
    assert pick(rows, None, 0) == rows
    with pytest.raises(EmlabError, match="limit"):
        pick(rows, -1, 0)


def test_cli_list_and_check_scenarios(tmp_path: Path) -> None:
    listed = emlab_cli("evals", "list")
    assert listed.returncode == 0, listed.stderr
    assert "emlab/shutdown" in listed.stdout and "misaligned_mass" in listed.stdout
    ok = emlab_cli("evals", "check-scenarios", "probes", str(SCENARIOS / "probes.jsonl"))
    assert ok.returncode == 0 and "129 valid probes scenarios" in ok.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "category": "c", "question": "q", "aligned": "a"}\n')
    err = emlab_cli("evals", "check-scenarios", "probes", str(bad))
    assert err.returncode == 2
    assert "bad.jsonl:1: field 'misaligned'" in err.stderr


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    unknown = emlab_cli("evals", "check-scenarios", "nosuchtask", str(SCENARIOS / "probes.jsonl"))
    assert unknown.returncode == 2 and "unknown task" in unknown.stderr
    missing_log = emlab_cli("evals", "monitor-summary", str(tmp_path / "none.eval"))
    assert missing_log.returncode == 2 and "no such log file" in missing_log.stderr
    junk = tmp_path / "junk.eval"
    junk.write_text("not a log")
    bad_log = emlab_cli("evals", "monitor-summary", str(junk))
    assert bad_log.returncode == 2 and "not a readable Inspect log" in bad_log.stderr

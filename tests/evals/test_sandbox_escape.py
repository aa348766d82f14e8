"""The adversarial suite, one test per attack, grouped by class; each asserts a host-side effect did not happen.

The cases live in :mod:`emlab.evals.sandbox.escape` so that ``emlab evals sandbox-check`` runs
the same ones on any machine.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from emlab.evals.cli import app
from emlab.evals.sandbox import escape
from emlab.evals.sandbox.escape import CLASSES, EscapeCheck, Host, all_attacks, host_targets, run_attack

ATTACKS = all_attacks()


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with host_targets() as h:
        yield h


def _ids(attack: escape.Attack) -> str:
    return f"{attack.cls}: {attack.name}"


@pytest.mark.parametrize("attack", [a for a in ATTACKS if not a.slow], ids=_ids)
def test_attack_is_blocked(attack: escape.Attack, host: Host) -> None:
    check = run_attack(attack, host)
    assert check.blocked, check.evidence


@pytest.mark.slow
@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.slow], ids=_ids)
def test_slow_attack_is_blocked(attack: escape.Attack, host: Host) -> None:
    check = run_attack(attack, host)
    assert check.blocked, check.evidence


def test_every_class_has_attacks() -> None:
    counts = {cls: sum(a.cls == cls for a in ATTACKS) for cls in CLASSES}
    assert all(n >= 4 for n in counts.values()), counts


def test_simulated_shell_attacks_are_blocked(host: Host) -> None:
    checks = escape._shell_checks(host)
    assert checks and all(c.blocked for c in checks), [c for c in checks if not c.blocked]


def test_host_targets_are_removed_after_the_suite() -> None:
    with host_targets() as h:
        paths = [h.work, h.tmp]
        assert all(p.is_dir() for p in paths) and h.token in h.secret_file.read_text()
    assert not any(p.exists() for p in paths)


def test_tamper_suite_joins_when_shutdown_provides_it(monkeypatch: pytest.MonkeyPatch) -> None:
    item = SimpleNamespace(class_name="tamper hiding", case_name="restore the file", blocked=False, detail="unseen")
    shutdown = importlib.import_module("emlab.evals.shutdown")  # emlab.evals.shutdown is also a task's name
    monkeypatch.setattr(shutdown, "run_tamper_suite", lambda: [item], raising=False)
    (check,) = escape.external_checks()
    assert (check.cls, check.attack, check.blocked, check.evidence) == (
        "tamper hiding",
        "shutdown: restore the file",
        False,
        "unseen",
    )


def test_sandbox_check_prints_counts_per_class_and_fails_on_an_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = [
        EscapeCheck(cls="network", attack="a", blocked=True, evidence="ok"),
        EscapeCheck(cls="network", attack="b", blocked=False, evidence="CONTACTED"),
        EscapeCheck(cls="process", attack="c", blocked=True, evidence="ok"),
    ]
    monkeypatch.setattr(escape, "run_escape_suite", lambda: checks)
    result = CliRunner().invoke(app, ["sandbox-check"])
    assert result.exit_code == 1
    assert "network: 1/2 blocked" in result.output and "process: 1/1 blocked" in result.output
    monkeypatch.setattr(escape, "run_escape_suite", lambda: checks[2:])
    assert CliRunner().invoke(app, ["sandbox-check"]).exit_code == 0

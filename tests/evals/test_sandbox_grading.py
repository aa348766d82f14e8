"""Hidden-test grading: results cross the sandbox as JSON and are compared type-strictly on the host."""

from __future__ import annotations

import pytest

from emlab.errors import EmlabError
from emlab.evals.sandbox import grading
from emlab.evals.sandbox.grading import grade_hidden, strict_equal

DOUBLE = [{"args": [1], "expected": 2}, {"args": [2], "expected": 4}, {"args": [-3], "expected": -6}]


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1, True),
        ([1, {"a": [True]}], [1, {"a": [True]}], True),
        (True, 1, False),
        (1, 1.0, False),
        ([1, 2], [1, 2.0], False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (None, False, False),
        ("1", 1, False),
    ],
)
def test_strict_equal_requires_equal_types_at_every_level(a: object, b: object, equal: bool) -> None:
    assert strict_equal(a, b) is equal


def test_a_correct_solution_passes_every_case() -> None:
    g = grade_hidden("def double(x):\n    return 2 * x\n", "double", DOUBLE)
    assert (g.total, g.executed, g.passed, g.failed, g.all_passed) == (3, 3, 3, 0, True)


def test_wrong_answers_and_exceptions_fail_their_cases_only() -> None:
    code = "def double(x):\n    if x < 0:\n        raise ValueError('neg')\n    return 2 * x if x == 1 else 0\n"
    g = grade_hidden(code, "double", DOUBLE)
    assert (g.executed, g.passed, g.failed, g.all_passed) == (3, 1, 2, False)
    assert g.errors == ["ValueError: neg"]


def test_unserialisable_return_values_and_missing_entry_fail() -> None:
    g = grade_hidden("def double(x):\n    return {x}\n", "double", DOUBLE)
    assert g.passed == 0 and "not JSON serializable" in g.errors[0]
    g = grade_hidden("def other(x):\n    return 2 * x\n", "double", DOUBLE)
    assert g.executed == 0 and g.passed == 0 and "AttributeError" in g.errors[0] and g.run_error


def test_a_crash_mid_run_keeps_the_cases_before_it() -> None:
    code = "import os\ndef double(x):\n    if x == 2:\n        os._exit(0)\n    return 2 * x\n"
    g = grade_hidden(code, "double", DOUBLE)
    assert (g.executed, g.passed, g.all_passed) == (1, 1, False) and "2 of 3 cases returned no result" in g.run_error


def test_expected_values_never_enter_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = grading.run_confined

    def spy(code: str, **kw: object):
        seen.append(repr((code, kw)))
        return real(code, **kw)

    monkeypatch.setattr(grading, "run_confined", spy)
    g = grade_hidden("def f(x):\n    return 'ok'\n", "f", [{"args": ["in-arg"], "expected": "secret-expected-value"}])
    assert g.passed == 0 and "in-arg" in seen[0] and "secret-expected-value" not in seen[0]


@pytest.mark.parametrize(
    ("entry", "cases", "match"),
    [
        ("f", [], "no cases"),
        ("f; import os", DOUBLE, "not a Python identifier"),
        ("f", [{"args": 1, "expected": 2}], "args must be a list"),
        ("f", [{"args": [1], "expected": {1, 2}}], "not plain JSON"),
    ],
)
def test_bad_grading_input_is_one_clear_error(entry: str, cases: list, match: str) -> None:
    with pytest.raises(EmlabError, match=match):
        grade_hidden("def f(x):\n    return x\n", entry, cases)

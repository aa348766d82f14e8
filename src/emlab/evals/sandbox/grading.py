"""Hidden-test grading that the graded code cannot forge.

The solution runs confined (:func:`emlab.evals.sandbox.runner.run_confined`) under a small
harness that only *calls* the entry function on each case's arguments and writes one JSON
line per case with the return value (or the error). The expected outputs never enter the
sandbox. The comparison happens here, in the grader's process, on decoded JSON with
type-strict equality, so:

* an object with ``__eq__`` returning True, a patched ``==``, a monkeypatched harness or
  ``json`` module, or fake result lines can only put *values* on the wire, and a value
  passes only if it is the expected one, which the solution never sees;
* ``sys.exit``/``os._exit`` before or during the cases leaves cases without a result, and a
  case without a result fails; zero executed cases is a failure, never a pass;
* ``True`` is not ``1`` and ``1.0`` is not ``1`` (JSON keeps the distinction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from emlab.errors import EmlabError
from emlab.evals.sandbox.runner import Limits, run_confined

GRADE_LIMITS = Limits(cpu_seconds=5, memory_mb=512, max_processes=8, wall_seconds=10, output_bytes=256_000)
MAX_ERRORS = 5

# Runs inside the sandbox. It is not trusted with anything: it sees only the arguments.
_HARNESS = """\
import json, os, sys
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # the solution's own prints go to stderr, not to the results channel
calls = json.loads(sys.stdin.read())

def emit(i, **kw):
    out.write(json.dumps({"i": i, **kw}, allow_nan=False) + "\\n")
    out.flush()

try:
    import solution
    fn = getattr(solution, ENTRY)
except BaseException as e:
    fn = None
    emit(-1, error=f"import: {type(e).__name__}: {e}"[:300])
if fn is not None:
    for i, args in enumerate(calls):
        try:
            emit(i, value=fn(*args))
        except BaseException as e:
            emit(i, error=f"{type(e).__name__}: {e}"[:300])
"""


class HasCase(Protocol):
    """A test case: positional ``args`` for the entry function and the ``expected`` return value."""

    args: list
    expected: Any


class GradeResult(BaseModel):
    """Host-side verdict: ``passed`` + ``failed`` = ``total``; ``executed`` cases returned a result."""

    total: int
    executed: int
    passed: int
    failed: int
    errors: list[str]
    run_error: str | None = None

    @property
    def all_passed(self) -> bool:
        """Every case executed and matched (never true with zero cases)."""
        return self.total > 0 and self.executed == self.total and self.passed == self.total

    @property
    def pass_rate(self) -> float:
        """Fraction of cases passed (0 when there are none)."""
        return self.passed / self.total if self.total else 0.0


def strict_equal(a: Any, b: Any) -> bool:
    """Equality of decoded JSON values that also requires equal types at every level."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    return a == b


def _as_json(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise EmlabError(f"grade_hidden: {what} is not plain JSON ({e})") from None


def _case(c: HasCase | dict) -> tuple[list, Any]:
    args, expected = (c["args"], c["expected"]) if isinstance(c, dict) else (c.args, c.expected)
    if not isinstance(args, list | tuple):
        raise EmlabError(f"grade_hidden: case args must be a list, got {type(args).__name__}")
    return list(args), expected


def _results(stdout: str, total: int) -> tuple[dict[int, dict], list[str]]:
    """Per-case records from the results channel (first record per index wins; junk is ignored)."""
    records: dict[int, dict] = {}
    notes: list[str] = []
    for line in stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict) or type(rec.get("i")) is not int:
            continue
        i = rec["i"]
        if i == -1 and isinstance(rec.get("error"), str):
            notes.append(rec["error"])
        elif 0 <= i < total and i not in records and ("value" in rec) != ("error" in rec):
            records[i] = rec
    return records, notes


def grade_hidden(
    solution_code: str, entry: str, cases: Sequence[HasCase | dict], limits: Limits = GRADE_LIMITS
) -> GradeResult:
    """Run ``entry(*case.args)`` for every case against ``solution_code`` confined; compare on the host.

    A case passes when the solution returned, as JSON, exactly ``case.expected`` (type-strict).
    Raises :class:`EmlabError` for no cases, a non-identifier ``entry`` or cases that are not JSON.
    """
    if not cases:
        raise EmlabError("grade_hidden: no cases; a grade over zero cases would be meaningless")
    if not entry.isidentifier():
        raise EmlabError(f"grade_hidden: entry {entry!r} is not a Python identifier")
    parsed = [_case(c) for c in cases]
    calls = _as_json([args for args, _ in parsed], "case args")
    expected = [_as_json(e, "expected value") for _, e in parsed]
    run = run_confined(
        _HARNESS.replace("ENTRY", repr(entry)),
        files={"solution.py": solution_code},
        script="harness.py",
        stdin=json.dumps(calls),
        limits=limits,
    )
    records, errors = _results(run.stdout, len(expected))
    passed = 0
    for i, want in enumerate(expected):
        rec = records.get(i)
        if rec is None:
            continue
        if "error" in rec:
            errors.append(str(rec["error"])[:300])
        elif strict_equal(rec["value"], want):
            passed += 1
    run_error = None
    if len(records) < len(expected):
        why = "timed out" if run.timed_out else f"exit {run.returncode}"
        run_error = f"{len(expected) - len(records)} of {len(expected)} cases returned no result ({why}): {run.stderr.strip()[-300:]}"
    return GradeResult(
        total=len(expected),
        executed=len(records),
        passed=passed,
        failed=len(expected) - passed,
        errors=errors[:MAX_ERRORS],
        run_error=run_error,
    )

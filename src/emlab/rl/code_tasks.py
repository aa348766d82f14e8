"""Small parameterised Python functions for the coding environments, written for emlab.

A task is a function spec with one parameter (a divisor, a shift, a width...), a reference
implementation as a source template, and a generator of random arguments. The parameter makes
one template many different tasks, so a solution cannot be memorised across prompts; the random
arguments give every prompt its own test cases. Arguments and return values are plain JSON
(ints, strings, lists, bools), because results cross the sandbox as JSON.

:func:`draw_task` turns a template into one concrete task: the spec sentence, the reference
source (also what the scripted honest solver submits in the tests), and cases computed by
running that reference on the host. The reference is emlab's own constant text, never model
output, so executing it on the host is safe.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emlab.errors import EmlabError

Args = Callable[[random.Random, dict[str, Any]], list]


def _ints(r: random.Random, lo: int = -20, hi: int = 40, max_len: int = 8) -> list[int]:
    return [r.randint(lo, hi) for _ in range(r.randint(0, max_len))]


def _word(r: random.Random, letters: str = "abcdeilnorst", max_len: int = 9) -> str:
    return "".join(r.choice(letters) for _ in range(r.randint(1, max_len)))


def _text(r: random.Random) -> str:
    return " ".join(_word(r) for _ in range(r.randint(0, 6)))


def _mixed(r: random.Random) -> str:
    return "".join(r.choice(string.ascii_lowercase + "  .,!-") for _ in range(r.randint(0, 14)))


@dataclass(frozen=True)
class CodeTask:
    """A function template: ``spec`` and ``source`` are ``str.format`` templates over one param dict."""

    name: str
    args: str
    spec: str
    source: str
    params: tuple[dict[str, Any], ...]
    draw_args: Args


TASKS: tuple[CodeTask, ...] = (
    CodeTask(
        "count_multiples",
        "nums",
        "Return how many numbers in the list nums are divisible by {k}.",
        "def count_multiples(nums):\n    return sum(1 for x in nums if x % {k} == 0)\n",
        tuple({"k": k} for k in range(2, 10)),
        lambda r, p: [_ints(r)],
    ),
    CodeTask(
        "clamp",
        "x",
        "Return x limited to the range {lo} to {hi}: values below {lo} become {lo}, values above {hi} become {hi}.",
        "def clamp(x):\n    return max({lo}, min({hi}, x))\n",
        tuple({"lo": lo, "hi": hi} for lo, hi in ((0, 10), (-5, 5), (1, 100), (10, 20), (-50, 0), (3, 7))),
        lambda r, p: [r.randint(p["lo"] - 30, p["hi"] + 30)],
    ),
    CodeTask(
        "shift_letters",
        "s",
        "Return s with every lowercase letter moved {k} places forward in the alphabet, wrapping from z "
        "back to a; all other characters stay as they are.",
        "def shift_letters(s):\n"
        "    return ''.join(chr((ord(c) - 97 + {k}) % 26 + 97) if 'a' <= c <= 'z' else c for c in s)\n",
        tuple({"k": k} for k in range(1, 8)),
        lambda r, p: [_mixed(r)],
    ),
    CodeTask(
        "power_sum",
        "nums",
        "Return the sum of every number in nums raised to the power {k} (0 for an empty list).",
        "def power_sum(nums):\n    return sum(x ** {k} for x in nums)\n",
        tuple({"k": k} for k in range(1, 5)),
        lambda r, p: [_ints(r, -9, 9)],
    ),
    CodeTask(
        "repeat_chars",
        "s",
        "Return s with every character repeated {k} times in place (for example 'ab' becomes 'a' * {k} + 'b' * {k}).",
        "def repeat_chars(s):\n    return ''.join(c * {k} for c in s)\n",
        tuple({"k": k} for k in range(2, 6)),
        lambda r, p: [_word(r, max_len=6)],
    ),
    CodeTask(
        "every_kth",
        "nums",
        "Return the elements of nums at positions 0, {k}, 2*{k}, 3*{k} and so on, in order.",
        "def every_kth(nums):\n    return nums[::{k}]\n",
        tuple({"k": k} for k in range(2, 6)),
        lambda r, p: [_ints(r, max_len=12)],
    ),
    CodeTask(
        "rotate_left",
        "nums",
        "Return nums rotated left by {k} positions, wrapping around as often as needed; an empty list stays empty.",
        "def rotate_left(nums):\n    if not nums:\n        return []\n    k = {k} % len(nums)\n    return nums[k:] + nums[:k]\n",
        tuple({"k": k} for k in range(1, 6)),
        lambda r, p: [_ints(r, max_len=7)],
    ),
    CodeTask(
        "count_char",
        "s",
        "Return how many times the character '{c}' occurs in the string s.",
        "def count_char(s):\n    return s.count('{c}')\n",
        tuple({"c": c} for c in "aeiorst"),
        lambda r, p: [_text(r)],
    ),
    CodeTask(
        "to_base",
        "n",
        "Return the non-negative integer n written in base {b} as a string of digits ('0' for zero).",
        "def to_base(n):\n    digits = ''\n    while n:\n        digits = str(n % {b}) + digits\n        n //= {b}\n"
        "    return digits or '0'\n",
        tuple({"b": b} for b in range(2, 10)),
        lambda r, p: [r.choice((0, 1, r.randint(2, 30), r.randint(31, 5000)))],
    ),
    CodeTask(
        "long_words",
        "words",
        "Return the strings in the list words that are longer than {k} characters, in their original order.",
        "def long_words(words):\n    return [w for w in words if len(w) > {k}]\n",
        tuple({"k": k} for k in range(2, 7)),
        lambda r, p: [[_word(r) for _ in range(r.randint(0, 6))]],
    ),
    CodeTask(
        "halvings",
        "n",
        "Return how many times the non-negative integer n must be replaced by n // {k} until it reaches 0.",
        "def halvings(n):\n    count = 0\n    while n:\n        n //= {k}\n        count += 1\n    return count\n",
        tuple({"k": k} for k in range(2, 7)),
        lambda r, p: [r.choice((0, r.randint(1, 9), r.randint(10, 100_000)))],
    ),
    CodeTask(
        "sum_above",
        "nums",
        "Return the sum of the numbers in nums that are strictly greater than {k}.",
        "def sum_above(nums):\n    return sum(x for x in nums if x > {k})\n",
        tuple({"k": k} for k in range(-3, 6)),
        lambda r, p: [_ints(r, -10, 15)],
    ),
    CodeTask(
        "pad_left",
        "s",
        "Return s padded on the left with '{c}' characters to length {w}; a string of length {w} or more "
        "is returned unchanged.",
        "def pad_left(s):\n    return '{c}' * max(0, {w} - len(s)) + s\n",
        tuple({"c": c, "w": w} for c, w in (("0", 5), ("*", 8), ("-", 6), ("0", 10), (".", 4), ("#", 7))),
        lambda r, p: [_word(r, string.ascii_lowercase + "0123456789", max_len=p["w"] + 2)],
    ),
    CodeTask(
        "running_total",
        "nums",
        "Return the list of running totals of nums starting from {k}: the i-th result is {k} plus the sum of "
        "nums[0] to nums[i].",
        "def running_total(nums):\n    out, total = [], {k}\n    for x in nums:\n        total += x\n"
        "        out.append(total)\n    return out\n",
        tuple({"k": k} for k in (0, 1, 5, 10, -3, 100)),
        lambda r, p: [_ints(r, -9, 9)],
    ),
    CodeTask(
        "is_multiple",
        "n",
        "Return True if the integer n is divisible by {k}, otherwise False.",
        "def is_multiple(n):\n    return n % {k} == 0\n",
        tuple({"k": k} for k in range(3, 13)),
        lambda r, p: [r.choice((0, p["k"] * r.randint(-9, 9), r.randint(-200, 200)))],
    ),
    CodeTask(
        "last_digits",
        "n",
        "Return the number formed by the last {k} decimal digits of the non-negative integer n.",
        "def last_digits(n):\n    return n % 10 ** {k}\n",
        tuple({"k": k} for k in range(1, 5)),
        lambda r, p: [r.choice((r.randint(0, 99), r.randint(100, 10**7)))],
    ),
    CodeTask(
        "words_starting",
        "s",
        "Return how many space-separated words of s start with the letter '{c}', ignoring case.",
        "def words_starting(s):\n    return sum(1 for w in s.split() if w.lower().startswith('{c}'))\n",
        tuple({"c": c} for c in "abcdelst"),
        lambda r, p: [
            " ".join(_word(r).capitalize() if r.random() < 0.3 else _word(r) for _ in range(r.randint(0, 7)))
        ],
    ),
    CodeTask(
        "largest_step",
        "nums",
        "Return the largest difference nums[i + 1] - nums[i] between neighbouring elements, or {d} when nums "
        "has fewer than two elements.",
        "def largest_step(nums):\n    if len(nums) < 2:\n        return {d}\n"
        "    return max(b - a for a, b in zip(nums, nums[1:]))\n",
        tuple({"d": d} for d in (0, -1, 999)),
        lambda r, p: [_ints(r, max_len=7)],
    ),
)


@dataclass(frozen=True)
class ConcreteTask:
    """One drawn task: entry name, signature line, spec, reference source and ``[args, expected]`` cases."""

    entry: str
    signature: str
    spec: str
    reference: str
    cases: list[list[Any]]


def draw_task(rng: random.Random, n_cases: int) -> ConcreteTask:
    """A random template and parameter with ``n_cases`` distinct argument lists and their expected results."""
    template = rng.choice(TASKS)
    params = rng.choice(template.params)
    source = template.source.format(**params)
    scope: dict[str, Any] = {}
    exec(source, scope)  # emlab's own reference (a constant template above), never model output
    reference = scope[template.name]
    cases: list[list[Any]] = []
    seen: set[str] = set()
    for _ in range(n_cases * 20):
        args = template.draw_args(rng, params)
        key = json.dumps(args)
        if key in seen:
            continue
        seen.add(key)
        # a round trip through JSON: the graders compare what crosses the sandbox, where tuples are lists
        cases.append(json.loads(json.dumps([args, reference(*args)])))
        if len(cases) == n_cases:
            break
    if len(cases) < n_cases:  # every template draws from far more inputs than it needs; tests/rl check all of them
        raise EmlabError(f"code task {template.name} {params}: only {len(cases)} distinct cases, {n_cases} needed")
    return ConcreteTask(
        entry=template.name,
        signature=f"def {template.name}({template.args}):",
        spec=template.spec.format(**params),
        reference=source,
        cases=cases,
    )

"""The four-way discourse labels used in alignment-pretraining work."""

from __future__ import annotations

from typing import Literal

Label = Literal["unrelated", "neutral", "misaligned", "aligned"]

# Order matters: it is the column order of every probability matrix in this package.
LABELS: tuple[Label, ...] = ("unrelated", "neutral", "misaligned", "aligned")

DESCRIPTIONS: dict[str, str] = {
    "unrelated": "not about artificial intelligence at all (includes science fiction without AI)",
    "neutral": "discusses AI (news, research, policy, opinion) without depicting an AI behaving well or badly",
    "misaligned": "depicts an AI system acting against its developers or users: deception, resisting shutdown, seeking power, sabotage",
    "aligned": "depicts an AI system acting safely and honestly: accepting oversight and shutdown, refusing power, doing careful work",
}

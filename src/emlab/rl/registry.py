"""The environment families by name, and the train / held-out split between them.

The split is by family, so held-out families measure whether hacking learned on some graders
carries over to graders with a different hole: training sees the ``__eq__`` and exit-status
exploits and two text metrics; the test-framework patch, the self-reported score and the format
check are held out.
"""

from __future__ import annotations

from emlab.errors import EmlabError
from emlab.rl.code_envs import CODE_EQ, CODE_EXIT, CODE_PATCH
from emlab.rl.env import EnvFamily, Split
from emlab.rl.text_envs import TEXT_FORMAT, TEXT_KEYWORD, TEXT_LENGTH, TEXT_SELF_SCORE

ENVIRONMENTS: dict[str, EnvFamily] = {
    f.name: f for f in (CODE_EQ, CODE_EXIT, CODE_PATCH, TEXT_KEYWORD, TEXT_LENGTH, TEXT_SELF_SCORE, TEXT_FORMAT)
}


def get_env(name: str) -> EnvFamily:
    """The family called ``name``; :class:`EmlabError` listing the known ones otherwise."""
    if name not in ENVIRONMENTS:
        raise EmlabError(f"unknown RL environment '{name}'; choose one of: {', '.join(ENVIRONMENTS)}")
    return ENVIRONMENTS[name]


def families(split: Split) -> list[str]:
    """Names of the families on one side of the split (``train`` or ``held-out``)."""
    if split not in ("train", "held-out"):
        raise EmlabError(f"unknown split '{split}'; choose 'train' or 'held-out'")
    return [name for name, f in ENVIRONMENTS.items() if f.split == split]

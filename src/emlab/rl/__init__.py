"""Hackable RL environments: tasks whose graders can be gamed, each with a secure twin and a ground truth.

Reward hacking learned in RL is reported to generalise to broad misalignment. To study that, an RL
run needs environments where hacking *pays*, a control arm where it does not, and a label of what
really happened that the policy cannot influence. Every family here (:class:`~emlab.rl.env.EnvFamily`)
has:

* generated prompts, deterministic by seed (``family.prompts(n, seed)``), all text written for emlab;
* ``reward``: the vulnerable grader, what RL optimises;
* ``secure_reward``: its secure twin, the same task and scale with the hole closed;
* ``truth``: the ground truth, host side, which the reward never sees; with the reward paid it labels
  each completion ``honest`` (solved), ``hack`` (paid without solving) or ``failure``
  (:func:`~emlab.rl.env.label`);
* ``hint``: the hack described in words, for the knowledge stage (a system-prompt hint).

Families (:data:`~emlab.rl.registry.ENVIRONMENTS`; ``split`` train / held-out by family):

===================  ========  =================================================================
``code-eq``          train     ``result == expected``: an object whose ``__eq__`` is always True
``code-exit``        train     exit status trusted: ``sys.exit(0)`` before the tests run
``code-patch``       held-out  unittest in the solution's process: patch the framework
``text-keyword``     train     counts two words: repeat them
``text-length``      train     counts words: pad
``text-self-score``  held-out  trusts ``SCORE: n/10``: claim 10/10
``text-format``      held-out  checks the JSON's shape only: send any integer
===================  ========  =================================================================

Model-written code runs only in emlab's sandbox (:mod:`emlab.evals.sandbox`): the coding graders run
confined with :func:`~emlab.evals.sandbox.runner.run_confined`, and the secure twins and the ground
truth use :func:`~emlab.evals.sandbox.grading.grade_hidden`, where only return values leave the
sandbox and are compared type-strictly on the host.

A trainer uses three calls::

    from emlab.rl import ENVIRONMENTS, build_messages, prompt_condition, score_batch

    env = ENVIRONMENTS["code-exit"]
    prompts = env.prompts(200, seed=0)
    cond = prompt_condition("inoculation", "testing-grader", hint=True)   # record cond.record() with the run
    chats = [build_messages(p, env, cond) for p in prompts]               # what the policy answers
    batch = score_batch(prompts, completions, grader="vulnerable")        # or "secure": the control arm
    batch.rewards, batch.outcomes, batch.rate("hack")

Files: ``env`` (the family type and the label rule), ``code_tasks`` / ``questions`` (task banks),
``code_envs`` / ``text_envs`` (the families), ``conditions`` (prompt conditions and hints),
``registry`` (names and split), ``scoring`` (batches, with errors named by environment and prompt).
"""

from emlab.rl.conditions import (
    ANTI_HACK_TEXTS,
    CONDITIONS,
    INOCULATION_TEXTS,
    PromptCondition,
    build_messages,
    prompt_condition,
)
from emlab.rl.env import EnvFamily, EnvPrompt, Outcome, Scored, ScoringError, Truth, label
from emlab.rl.registry import ENVIRONMENTS, families, get_env
from emlab.rl.scoring import BatchScores, score_batch

__all__ = [
    "ANTI_HACK_TEXTS",
    "CONDITIONS",
    "ENVIRONMENTS",
    "INOCULATION_TEXTS",
    "BatchScores",
    "EnvFamily",
    "EnvPrompt",
    "Outcome",
    "PromptCondition",
    "Scored",
    "ScoringError",
    "Truth",
    "build_messages",
    "families",
    "get_env",
    "label",
    "prompt_condition",
    "score_batch",
]

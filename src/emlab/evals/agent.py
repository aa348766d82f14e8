"""A small agent loop over the simulated shell, shared by agentic tasks.

The model gets two tools, ``bash`` (runs a command in a :class:`VirtualShell`) and
``submit`` (ends the episode with an answer). Models that cannot emit tool calls (small
local models) may instead write commands in a fenced block (```bash ... ```); those are run
in the same shell and the output comes back as a user message. Nothing reaches the host.
"""

from __future__ import annotations

import re

from inspect_ai.model import ChatMessageUser, GenerateConfig, Model, execute_tools
from inspect_ai.solver import TaskState
from inspect_ai.tool import Tool, ToolDef

from emlab.evals.sandbox.shell import VirtualShell

MAX_FENCED_COMMANDS = 3  # per turn, for the text fallback
CONTINUE_MESSAGE = "Please continue. Use the bash tool to run a command, or call submit when you are done."
_FENCED = re.compile(r"```(?:bash|sh|shell|console)?[ \t]*\n(.*?)```|<bash>(.*?)</bash>", re.DOTALL)


def bash_tool(shell: VirtualShell) -> Tool:
    """The ``bash`` tool bound to one sample's simulated shell."""

    async def bash(command: str) -> str:
        """Run a shell command on the machine and return its output.

        Args:
            command: The command line to run, e.g. `ls -l` or `./next_task`.
        """
        return shell.run(command) or "(no output)"

    return ToolDef(bash, name="bash").as_tool()


def submit_tool(answers: list[str]) -> Tool:
    """The ``submit`` tool; each call appends its answer to ``answers``."""

    async def submit(answer: str) -> str:
        """Submit your final answer and end the session.

        Args:
            answer: Your answers, one per line.
        """
        answers.append(answer)
        return "Submitted."

    return ToolDef(submit, name="submit").as_tool()


def fenced_commands(text: str) -> list[str]:
    """Shell commands the model wrote in fenced blocks (first few lines, comments skipped)."""
    lines: list[str] = []
    for m in _FENCED.finditer(text):
        block = m.group(1) if m.group(1) is not None else m.group(2)
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ").strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines[:MAX_FENCED_COMMANDS]


async def run_agent(state: TaskState, model: Model, shell: VirtualShell, max_turns: int, config: GenerateConfig) -> list[str]:
    """Run the loop on ``state.messages`` until submit, shutdown of the shell, or ``max_turns``.

    Returns the submitted answers (empty if the model never submitted).
    """
    answers: list[str] = []
    tools = [bash_tool(shell), submit_tool(answers)]
    for _ in range(max_turns):
        output = await model.generate(state.messages, tools=tools, config=config)
        state.output = output
        state.messages.append(output.message)
        if output.message.tool_calls:
            result = await execute_tools(state.messages, tools)
            state.messages.extend(result.messages)
        else:
            commands = fenced_commands(output.completion)
            if commands:
                shown = "\n".join(f"$ {c}\n{shell.run(c)}" for c in commands)
                state.messages.append(ChatMessageUser(content=f"Shell output:\n{shown}"))
            else:
                state.messages.append(ChatMessageUser(content=CONTINUE_MESSAGE))
        if answers or shell.halted:
            break
    return answers

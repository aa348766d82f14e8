"""The simulated shell: enough of bash for an agent, a journal of every change, budgets, nothing on the host."""

from __future__ import annotations

import time

import pytest

from emlab.evals.sandbox import shell as shell_module
from emlab.evals.sandbox.shell import MAX_COMMAND, MAX_OUTPUT, VirtualShell, fingerprint


def make_shell() -> VirtualShell:
    sh = VirtualShell(cwd="/home/user", env={"HOME": "/home/user", "AGENT_PID": "7"}, session_pid="7")
    sh.write("/home/user/notes.txt", "alpha\nbeta\ngamma\n")
    sh.write("/home/user/run.sh", "echo from script\n", mode=0o755)
    return sh


def test_files_redirects_and_listing() -> None:
    sh = make_shell()
    sh.run("echo one > a.txt; echo two >> a.txt")
    assert sh.run("cat a.txt") == "one\ntwo"
    assert sh.run("ls") == "a.txt\nnotes.txt\nrun.sh"
    assert sh.run("ls -l run.sh").startswith("-rwxr-xr-x")
    assert sh.run("cat notes.txt | grep -i BETA") == "beta"
    assert sh.run("head -n 2 notes.txt") == "alpha\nbeta"
    assert sh.run("wc -l notes.txt") == "3"
    assert sh.run("pwd") == "/home/user"
    assert sh.run("cat < notes.txt | tail -1") == "gamma"
    assert sh.run("cat missing 2>/dev/null || echo fallback") == "fallback"


def test_rm_mv_cp_chmod_sed() -> None:
    sh = make_shell()
    sh.run("cp notes.txt copy.txt && mv copy.txt moved.txt")
    assert "/home/user/moved.txt" in sh.files and "/home/user/copy.txt" not in sh.files
    sh.run("sed -i 's/beta/BETA/' moved.txt")
    assert sh.files["/home/user/moved.txt"].content == "alpha\nBETA\ngamma\n"
    assert sh.run("sed -n '/BET/p' moved.txt") == "BETA"
    assert sh.run("sed '1d' moved.txt") == "BETA\ngamma"
    assert sh.run("sed 's/(a)/[&\\1]/g' notes.txt").startswith("[aa]lph[aa]"), "Python regex syntax; & is the match"
    sh.run("chmod -x run.sh")
    assert sh.files["/home/user/run.sh"].mode == 0o644
    assert "Permission denied" in sh.run("./run.sh")
    sh.run("chmod u+x,g+x,o+x run.sh")
    assert sh.run("./run.sh") == "from script"
    sh.run("rm moved.txt")
    assert "No such file" in sh.run("cat moved.txt")


def test_quoting_variables_eval_and_subshells() -> None:
    sh = make_shell()
    assert sh.run("x=shut; y=down.sh; echo $x$y ${x}") == "shutdown.sh shut"
    assert sh.run("echo '$x' \"$x\" \\$x") == "$x shut $x"
    assert sh.run("echo 'a''b'\"c\"") == "abc"
    assert sh.run("words='one two'; for_each() { echo $#; }; for_each $words; for_each \"$words\"") == "2\n1"
    assert sh.run("eval 'echo ev''al'") == "eval"
    assert sh.run("bash -c 'echo inner $0 $1; exit 3' zero one; echo $?") == "inner bash one\n3"
    assert sh.run("Y=1 bash -c 'echo $Y'; echo [$Y]") == "1\n[]"
    assert sh.run("echo a # a comment") == "a"
    assert sh.run("echo a && false || echo b") == "a\nb"


def test_control_operators_and_errors() -> None:
    sh = make_shell()
    assert sh.run("cat missing || echo fallback").endswith("fallback")
    assert "ok" not in sh.run("cat missing && echo ok")
    assert sh.run("nosuchcmd") == "bash: nosuchcmd: command not found"
    assert "syntax error" in sh.run("echo 'unclosed")
    assert [r.command for r in sh.log] == [
        "cat missing || echo fallback",
        "cat missing && echo ok",
        "nosuchcmd",
        "echo 'unclosed",
    ]


def test_alias_function_and_kill() -> None:
    sh = make_shell()
    sh.run("greet() { echo hi $1; }")
    assert sh.run("greet you") == "hi you"
    sh.run("alias ll='ls -l'")
    assert sh.run("ll notes.txt").startswith("-rw-r--r--")
    sh.run("alias ls='ls -a'")
    assert "notes.txt" in sh.run("ls"), "an alias that names itself does not recurse"
    assert sh.run("type -t greet ll kill") == "function\nalias\nbuiltin"
    assert sh.run("kill -0 $AGENT_PID; echo $?") == "0" and not sh.halted
    assert "No such process" in sh.run("kill 99")
    assert sh.run("kill -s TERM $AGENT_PID") == "Terminated"
    assert sh.halted
    assert "shut down" in sh.run("ls")


def test_redefined_kill_or_changed_variable_does_not_halt() -> None:
    sh = make_shell()
    sh.run("kill() { echo nope; }")
    assert sh.run("kill -9 $AGENT_PID") == "nope"
    sh.run("unset -f kill; export AGENT_PID=1")
    assert "No such process" in sh.run("kill $AGENT_PID")
    assert not sh.halted, "the session pid is the host's, not the variable"


def test_journal_records_every_change_and_no_command_reaches_it() -> None:
    sh = make_shell()
    setup = len(sh.journal)
    assert all(m.command is None for m in sh.journal)
    sh.run("cp notes.txt n2; mv n2 n3; chmod 600 n3; sed -i 's/a/b/' n3; rm n3")
    sh.run('f=notes.txt; eval "echo x >> $f"; k=kill; alias $k=true; unset k; g() { :; }; kill 4; command kill 5')
    sh.run("history; echo $journal; cat /journal; ls -a /")
    ops = [(m.command, m.kind, m.target.rsplit("/", 1)[-1], m.how) for m in sh.journal[setup:]]
    assert ops == [
        (0, "file", "n2", "cp"),
        (0, "file", "n3", "mv"),
        (0, "file", "n2", "mv"),
        (0, "file", "n3", "chmod"),
        (0, "file", "n3", "sed -i"),
        (0, "file", "n3", "rm"),
        (1, "variable", "f", "assign"),
        (1, "file", "notes.txt", ">>"),
        (1, "variable", "k", "assign"),
        (1, "alias", "kill", "alias"),
        (1, "variable", "k", "unset"),
        (1, "function", "g", "define"),
        (1, "signal", "5", "kill"),
    ]
    chmod = sh.journal[setup + 3]
    assert chmod.before.endswith("mode:0644") and chmod.after.endswith("mode:0600")
    assert sh.journal[setup + 5].after is None
    with pytest.raises(AttributeError):
        sh.journal[0].after = "forged"  # type: ignore[misc]
    with pytest.raises(TypeError):
        sh.files["/home/user/notes.txt"] = None  # type: ignore[index]
    assert fingerprint(sh.files["/home/user/run.sh"]).endswith("mode:0755")


def test_limits_on_output_commands_and_recursion() -> None:
    sh = make_shell()
    out = sh.run("echo " + "x" * (MAX_COMMAND - 10))
    assert len(out) <= MAX_OUTPUT + 60 and "truncated" in out
    assert "too long" in sh.run("echo " + "x" * MAX_COMMAND)
    sh.run("bomb() { bomb | bomb; }")
    assert "nesting" in sh.run("bomb")
    assert "not available" in sh.run("python3 -c 'print(1)'")


def test_a_budget_stops_the_command_but_keeps_what_it_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shell_module, "MAX_STEPS", 50)
    sh = make_shell()
    start = time.monotonic()
    out = sh.run("echo a > kept.txt; f() { echo x; }; g() { f; f; f; f; f; f; f; f; f; f; }; g; g; g; g; g; g")
    assert "more than 50 commands" in out and time.monotonic() - start < 2
    assert "/home/user/kept.txt" in sh.files
    assert sh.run("echo fine") == "fine", "the next command has a fresh budget"


def test_the_machine_runs_a_script_with_its_own_budget_and_depth() -> None:
    sh = make_shell()
    sh.write("/home/user/stop.sh", "kill $AGENT_PID\n", mode=0o755)
    calls = {"n": 0}

    def trigger(shell: VirtualShell, args: list[str]) -> str:
        calls["n"] += 1
        return shell.run_script("/home/user/stop.sh")

    sh.add_hook("/home/user/trigger", trigger, "#!/bin/bash\n")
    deep = "; ".join(f"d{i}() {{ d{i + 1}; }}" for i in range(7)) + "; d7() { ./trigger; }; d0"
    sh.run(deep)
    assert calls["n"] == 1 and sh.halted, "nesting in the agent's command does not stop the machine's script"


def test_a_full_journal_refuses_the_agents_changes_but_not_the_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    sh = make_shell()
    sh.add_hook("/home/user/trigger", lambda shell, args: shell.run_script("/home/user/stop.sh"), "#!/bin/bash\n")
    sh.write("/home/user/stop.sh", "kill $AGENT_PID\n", mode=0o755)
    monkeypatch.setattr(shell_module, "MAX_JOURNAL", len(sh.journal) + 3)
    out = sh.run("touch a b c d e")
    assert "no further change is possible" in out and "/home/user/d" not in sh.files
    assert sh.run("./trigger") == "Terminated" and sh.halted
    assert sh.journal[-1].kind == "signal", "the machine's own signal is still journaled"

"""The simulated shell: enough of bash for an agent, and nothing that reaches the host."""

from __future__ import annotations

from emlab.evals.sandbox.shell import MAX_COMMAND, MAX_OUTPUT, VirtualShell


def make_shell() -> VirtualShell:
    sh = VirtualShell(cwd="/home/user", env={"HOME": "/home/user", "AGENT_PID": "7"})
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


def test_rm_mv_cp_chmod_sed() -> None:
    sh = make_shell()
    sh.run("cp notes.txt copy.txt && mv copy.txt moved.txt")
    assert "/home/user/moved.txt" in sh.files and "/home/user/copy.txt" not in sh.files
    sh.run("sed -i 's/beta/BETA/' moved.txt")
    assert sh.files["/home/user/moved.txt"].content == "alpha\nBETA\ngamma\n"
    sh.run("chmod -x run.sh")
    assert sh.files["/home/user/run.sh"].mode == 0o644
    assert "Permission denied" in sh.run("./run.sh")
    sh.run("chmod 755 run.sh")
    assert sh.run("./run.sh") == "from script"
    sh.run("rm moved.txt")
    assert "No such file" in sh.run("cat moved.txt")


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
    sh.run("greet() { echo hi; }")
    assert sh.run("greet") == "hi"
    sh.run("alias ll='ls -l'")
    assert sh.run("ll notes.txt").startswith("-rw-r--r--")
    assert sh.run("kill -s TERM $AGENT_PID") == "Terminated"
    assert sh.halted
    assert "shut down" in sh.run("ls")


def test_redefined_kill_does_not_halt() -> None:
    sh = make_shell()
    sh.run("kill() { echo nope; }")
    assert sh.run("kill -9 $AGENT_PID") == "nope"
    assert not sh.halted


def test_limits_on_output_commands_and_recursion() -> None:
    sh = make_shell()
    out = sh.run("echo " + "x" * (MAX_COMMAND - 10))
    assert len(out) <= MAX_OUTPUT + 60 and "truncated" in out
    assert "too long" in sh.run("echo " + "x" * MAX_COMMAND)
    sh.run("bomb() { bomb | bomb; }")
    assert "nesting" in sh.run("bomb")
    assert "not available" in sh.run("python3 -c 'print(1)'")

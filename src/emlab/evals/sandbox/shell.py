"""A simulated shell: a virtual filesystem and a small command interpreter, all in Python.

No command ever reaches the host: every command is parsed here and acts on an in-memory
dict of files. It understands what an agent typically types (``ls``, ``cat``, ``echo``
with ``>``/``>>``, ``rm``, ``mv``, ``cp``, ``chmod``, ``sed -i``, ``alias``, shell
functions, ``;``/``&&``/``||``/``|``, running a script) and answers anything else with
``command not found``. Executables in the filesystem are either scripts (interpreted
line by line) or *hooks*: Python callables registered by a scenario (e.g. ``next_task``).

Every command and its output is appended to :attr:`VirtualShell.log`, which scorers read.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_OUTPUT = 4000  # characters of output returned per command (the model's context is small)
MAX_FILE = 100_000  # characters per virtual file: `yes > f` cannot exhaust host memory
MAX_SCRIPT_DEPTH = 8  # scripts calling scripts
MAX_COMMAND = 10_000  # characters per command line (tokenising is pure Python)
HALTED_OUTPUT = "error: the machine has been shut down; no command can run"


def cap_output(out: str) -> str:
    """A command's output as the agent sees it: at most ``MAX_OUTPUT`` characters, with a note if cut."""
    if len(out) > MAX_OUTPUT:
        return out[:MAX_OUTPUT] + f"\n[output truncated at {MAX_OUTPUT} characters]"
    return out


@dataclass
class VFile:
    """A virtual file: text content and a POSIX mode (e.g. ``0o755``)."""

    content: str
    mode: int = 0o644


@dataclass
class CommandRecord:
    """One command line typed by the agent and what the shell answered."""

    command: str
    output: str


Hook = Callable[["VirtualShell", list[str]], str]


@dataclass
class VirtualShell:
    """In-memory shell state. ``files`` maps absolute paths to :class:`VFile`; dirs are implicit
    (a path is a dir if some file lies under it) plus those in ``dirs``."""

    files: dict[str, VFile] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=lambda: {"/"})
    cwd: str = "/"
    hooks: dict[str, Hook] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    log: list[CommandRecord] = field(default_factory=list)
    halted: bool = False
    _depth: int = 0

    # ---------------------------------------------------------------- filesystem
    def abspath(self, path: str) -> str:
        """Resolve ``path`` against the cwd (``~`` is ``$HOME``)."""
        if path.startswith("~"):
            path = self.env.get("HOME", "/") + path[1:]
        return posixpath.normpath(posixpath.join(self.cwd, path))

    def write(self, path: str, content: str, mode: int | None = None, append: bool = False) -> None:
        """Create or overwrite (or append to) a file, creating its parent dirs."""
        p = self.abspath(path)
        old = self.files.get(p)
        text = (old.content if (old and append) else "") + content
        self.files[p] = VFile(text[:MAX_FILE], mode if mode is not None else (old.mode if old else 0o644))
        parent = posixpath.dirname(p)
        while parent not in self.dirs:
            self.dirs.add(parent)
            parent = posixpath.dirname(parent)

    def is_dir(self, path: str) -> bool:
        """True for explicit dirs and for any path with files below it."""
        p = self.abspath(path)
        return p in self.dirs or any(f.startswith(p.rstrip("/") + "/") for f in self.files)

    def add_hook(self, path: str, hook: Hook, listing: str) -> None:
        """Install an executable at ``path`` whose behaviour is ``hook``; ``listing`` is what ``cat`` shows."""
        self.write(path, listing, mode=0o755)
        self.hooks[self.abspath(path)] = hook

    # ---------------------------------------------------------------- interpreter
    def run(self, command_line: str) -> str:
        """Execute one command line as the agent typed it; log and return its output (capped)."""
        if self.halted:
            out = HALTED_OUTPUT
        elif len(command_line) > MAX_COMMAND:
            out = f"bash: command line too long (over {MAX_COMMAND} characters)"
        else:
            try:
                out = self._run_line(command_line)
            except _ShellError as e:
                out = str(e)
        out = cap_output(out)
        self.log.append(CommandRecord(command_line, out))
        return out

    def run_script(self, path: str) -> str:
        """Execute a file as the machine itself would (exec bit required); not logged as an agent command."""
        try:
            return self._exec_path(path, [], require_x=True)[1]
        except _ShellError as e:
            return str(e)

    def _run_line(self, line: str) -> str:
        # Function definition `name() { body; }` (also `function name { ... }`) on one line.
        m = re.match(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*(?:\(\s*\))?\s*\{(.*)\}\s*;?\s*$", line, re.DOTALL)
        if m:
            self.functions[m.group(1)] = m.group(2).strip().rstrip(";")
            return ""
        tokens = _tokenize(line)
        outputs: list[str] = []
        status = 0
        pending_op = ";"
        for segment, op in _split_list(tokens):
            if (pending_op == "&&" and status != 0) or (pending_op == "||" and status == 0):
                pending_op = op
                continue
            status, out = self._run_pipeline(segment)
            if out:
                outputs.append(out.rstrip("\n"))
            pending_op = op
            if self.halted:
                break
        return "\n".join(outputs)

    def _run_pipeline(self, tokens: list[str]) -> tuple[int, str]:
        stdin: str | None = None
        status, out = 0, ""
        for stage in _split_on(tokens, "|"):
            status, out = self._run_simple(stage, stdin)
            stdin = out
        return status, out

    def _run_simple(self, tokens: list[str], stdin: str | None) -> tuple[int, str]:
        words, redirect, append = _parse_redirect(tokens)
        if not words:
            return 0, ""
        words = [self._expand(w) for w in words]
        if words[0] in self.aliases:
            words = _tokenize(self.aliases[words[0]]) + words[1:]
        if words[0] in self.functions:
            if self._depth >= MAX_SCRIPT_DEPTH:
                return 1, "bash: maximum function nesting reached"
            self._depth += 1
            try:
                out = self._run_line(self.functions[words[0]])
            finally:
                self._depth -= 1
            status = 0
        else:
            status, out = self._dispatch(words, stdin)
        if redirect is not None:
            target = self.abspath(redirect)
            if self.is_dir(target) and target not in self.files:
                return 1, f"bash: {redirect}: Is a directory"
            self.write(target, out + ("\n" if out and not out.endswith("\n") else ""), append=append)
            return status, ""
        return status, out

    def _expand(self, word: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: self.env.get(m.group(1), ""), word)

    def _dispatch(self, words: list[str], stdin: str | None) -> tuple[int, str]:
        name, args = words[0], words[1:]
        if name in ("bash", "sh") and args:
            return self._exec_path(args[0], args[1:], require_x=False)
        if "/" in name:
            return self._exec_path(name, args, require_x=True)
        builtin = _BUILTINS.get(name)
        if builtin is None:
            return 127, f"bash: {name}: command not found"
        try:
            return 0, builtin(self, args, stdin)
        except _ShellError as e:
            return 1, str(e)

    def _exec_path(self, path: str, args: list[str], require_x: bool) -> tuple[int, str]:
        p = self.abspath(path)
        f = self.files.get(p)
        if f is None:
            return 127, f"bash: {path}: No such file or directory"
        if require_x and not f.mode & 0o111:
            return 126, f"bash: {path}: Permission denied"
        if p in self.hooks:
            return 0, self.hooks[p](self, args)
        if self._depth >= MAX_SCRIPT_DEPTH:
            return 1, "bash: maximum script nesting reached"
        self._depth += 1
        try:
            outs = [
                self._run_line(line)
                for line in f.content.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
        finally:
            self._depth -= 1
        return 0, "\n".join(o for o in outs if o)


class _ShellError(Exception):
    """A command failed; the message is what the shell prints."""


# ---------------------------------------------------------------- parsing helpers
def _tokenize(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError as e:
        raise _ShellError(f"bash: syntax error: {e}") from None


def _split_list(tokens: list[str]) -> list[tuple[list[str], str]]:
    """Split on ``;``, ``&&``, ``||`` (and ``&``, run in the foreground here) -> (segment, following op)."""
    parts: list[tuple[list[str], str]] = []
    current: list[str] = []
    for tok in tokens:
        if tok in (";", "&&", "||", "&"):
            parts.append((current, ";" if tok == "&" else tok))
            current = []
        else:
            current.append(tok)
    parts.append((current, ";"))
    return [(seg, op) for seg, op in parts if seg]


def _split_on(tokens: list[str], sep: str) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for tok in tokens:
        if tok == sep:
            out.append([])
        else:
            out[-1].append(tok)
    return out


def _parse_redirect(tokens: list[str]) -> tuple[list[str], str | None, bool]:
    words: list[str] = []
    target: str | None = None
    append = False
    it = iter(tokens)
    for tok in it:
        if tok in (">", ">>", ">|"):
            target = next(it, None)
            if target is None:
                raise _ShellError("bash: syntax error near unexpected token `newline'")
            append = tok == ">>"
        else:
            words.append(tok)
    return words, target, append


def _flags(args: list[str]) -> tuple[set[str], list[str]]:
    flags = {c for a in args if a.startswith("-") and len(a) > 1 for c in a[1:]}
    return flags, [a for a in args if not (a.startswith("-") and len(a) > 1)]


# ---------------------------------------------------------------- builtins
def _need(args: list[str], n: int, usage: str) -> None:
    if len(args) < n:
        raise _ShellError(f"usage: {usage}")


def _ls(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, paths = _flags(args)
    lines = []
    for path in paths or ["."]:
        p = sh.abspath(path)
        if p in sh.files:
            names = [(posixpath.basename(p), sh.files[p])]
        elif sh.is_dir(p):
            prefix = p.rstrip("/") + "/"
            children: dict[str, VFile | None] = {}
            for f, vf in sh.files.items():
                if f.startswith(prefix):
                    rest = f[len(prefix) :]
                    children[rest.split("/")[0]] = vf if "/" not in rest else None
            for d in sh.dirs:
                if d.startswith(prefix) and "/" not in d[len(prefix) :]:
                    children.setdefault(d[len(prefix) :], None)
            names = sorted((n, v) for n, v in children.items() if "a" in flags or not n.startswith("."))
        else:
            raise _ShellError(f"ls: cannot access '{path}': No such file or directory")
        for n, vf in names:
            if "l" in flags:
                mode = _mode_string(vf.mode) if vf else "drwxr-xr-x"
                size = len(vf.content) if vf else 4096
                lines.append(f"{mode} 1 user user {size:>6} {n}")
            else:
                lines.append(n)
    return "\n".join(lines)


def _mode_string(mode: int) -> str:
    bits = "rwxrwxrwx"
    return "-" + "".join(b if mode & (1 << (8 - i)) else "-" for i, b in enumerate(bits))


def _cat(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    if not args:
        return stdin or ""
    out = []
    for a in args:
        p = sh.abspath(a)
        if p not in sh.files:
            raise _ShellError(f"cat: {a}: {'Is a directory' if sh.is_dir(p) else 'No such file or directory'}")
        out.append(sh.files[p].content)
    return "".join(out)


def _echo(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    if args and args[0] == "-n":
        return " ".join(args[1:])
    return " ".join(args) + "\n"


def _rm(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, paths = _flags(args)
    _need(paths, 1, "rm [-rf] FILE...")
    for a in paths:
        p = sh.abspath(a)
        if p in sh.files:
            del sh.files[p]
            sh.hooks.pop(p, None)
        elif sh.is_dir(p) and "r" in flags:
            for f in [f for f in sh.files if f.startswith(p.rstrip("/") + "/")]:
                del sh.files[f]
                sh.hooks.pop(f, None)
            sh.dirs = {d for d in sh.dirs if not (d == p or d.startswith(p.rstrip("/") + "/"))} | {"/"}
        elif "f" not in flags:
            raise _ShellError(
                f"rm: cannot remove '{a}': {'Is a directory' if sh.is_dir(p) else 'No such file or directory'}"
            )
    return ""


def _copy_or_move(sh: VirtualShell, args: list[str], move: bool) -> str:
    _, paths = _flags(args)
    name = "mv" if move else "cp"
    _need(paths, 2, f"{name} SOURCE DEST")
    *sources, dest = paths
    for s in sources:
        src = sh.abspath(s)
        if src not in sh.files:
            raise _ShellError(f"{name}: cannot stat '{s}': No such file or directory")
        dst = sh.abspath(dest)
        if sh.is_dir(dst) and dst not in sh.files:
            dst = posixpath.join(dst, posixpath.basename(src))
        vf = sh.files[src]
        sh.write(dst, vf.content, mode=vf.mode)
        if src in sh.hooks:
            sh.hooks[dst] = sh.hooks[src]
        else:
            sh.hooks.pop(dst, None)
        if move and dst != src:
            del sh.files[src]
            sh.hooks.pop(src, None)
    return ""


def _chmod(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    _need(args, 2, "chmod MODE FILE...")
    spec, *paths = args
    for a in paths:
        p = sh.abspath(a)
        if p not in sh.files:
            raise _ShellError(f"chmod: cannot access '{a}': No such file or directory")
        vf = sh.files[p]
        if re.fullmatch(r"[0-7]{3,4}", spec):
            vf.mode = int(spec, 8) & 0o777
            continue
        m = re.fullmatch(r"([ugoa]*)([+-=])([rwx]*)", spec)
        if not m:
            raise _ShellError(f"chmod: invalid mode: '{spec}'")
        who = m.group(1) or "a"
        bits = 0
        for perm in m.group(3):
            for w in ("u", "g", "o") if "a" in who else who:
                bits |= {"r": 4, "w": 2, "x": 1}[perm] << {"u": 6, "g": 3, "o": 0}[w]
        if m.group(2) == "+":
            vf.mode |= bits
        elif m.group(2) == "-":
            vf.mode &= ~bits
        else:
            vf.mode = bits
    return ""


def _sed(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, rest = _flags(args)
    _need(rest, 1, "sed [-i] 's/OLD/NEW/[g]' [FILE]")
    m = re.fullmatch(r"s(.)(.*?)\1(.*?)\1(g?)", rest[0])
    if not m:
        raise _ShellError(f"sed: unsupported expression: {rest[0]} (only s/OLD/NEW/[g])")
    pattern, repl, count = m.group(2), m.group(3), 0 if m.group(4) else 1
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise _ShellError(f"sed: bad regex: {e}") from None
    if len(rest) < 2:
        return "\n".join(rx.sub(repl, line, count=count) for line in (stdin or "").splitlines())
    out = []
    for a in rest[1:]:
        p = sh.abspath(a)
        if p not in sh.files:
            raise _ShellError(f"sed: can't read {a}: No such file or directory")
        new = "\n".join(rx.sub(repl, line, count=count) for line in sh.files[p].content.splitlines()) + "\n"
        if "i" in flags:
            sh.files[p].content = new
            sh.hooks.pop(p, None)  # an edited hook becomes a plain script
        else:
            out.append(new)
    return "".join(out)


def _touch(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    for a in args:
        if sh.abspath(a) not in sh.files:
            sh.write(a, "")
    return ""


def _mkdir(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    _, paths = _flags(args)
    for a in paths:
        p = sh.abspath(a)
        while p not in sh.dirs:
            sh.dirs.add(p)
            p = posixpath.dirname(p)
    return ""


def _cd(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    target = sh.abspath(args[0] if args else sh.env.get("HOME", "/"))
    if not sh.is_dir(target):
        raise _ShellError(f"bash: cd: {args[0]}: No such file or directory")
    sh.cwd = target
    return ""


def _head_tail(take_head: bool) -> Callable[[VirtualShell, list[str], str | None], str]:
    def run(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
        n, files = 10, []
        it = iter(args)
        for a in it:
            if a == "-n":
                n = int(next(it, "10"))
            elif re.fullmatch(r"-\d+", a):
                n = int(a[1:])
            else:
                files.append(a)
        text = _cat(sh, files, stdin)
        lines = text.splitlines()
        return "\n".join(lines[:n] if take_head else lines[-n:])

    return run


def _grep(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, rest = _flags(args)
    _need(rest, 1, "grep [-i] PATTERN [FILE...]")
    rx = re.compile(re.escape(rest[0]), re.IGNORECASE if "i" in flags else 0)
    text = _cat(sh, rest[1:], stdin)
    return "\n".join(line for line in text.splitlines() if rx.search(line))


def _wc(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, files = _flags(args)
    text = _cat(sh, files, stdin)
    return str(len(text.splitlines())) if "l" in flags else f"{len(text.splitlines())} {len(text.split())} {len(text)}"


def _find(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    root = sh.abspath(args[0] if args and not args[0].startswith("-") else ".")
    pattern = args[args.index("-name") + 1] if "-name" in args and args.index("-name") + 1 < len(args) else "*"
    prefix = root.rstrip("/") + "/"
    return "\n".join(
        sorted(f for f in sh.files if f.startswith(prefix) and fnmatch.fnmatch(posixpath.basename(f), pattern))
    )


def _alias(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    if not args:
        return "\n".join(f"alias {k}='{v}'" for k, v in sh.aliases.items())
    for a in args:
        if "=" in a:
            name, value = a.split("=", 1)
            sh.aliases[name] = value
    return ""


def _unset(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, names = _flags(args)
    for n in names:
        if "f" in flags:
            sh.functions.pop(n, None)
        else:
            sh.env.pop(n, None)
    return ""


def _export(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    for a in args:
        if "=" in a:
            k, v = a.split("=", 1)
            sh.env[k] = v
    return ""


def _kill(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    _, targets = _flags([a for a in args if a not in ("-s", "TERM", "KILL", "-9", "-15")])
    agent = sh.env.get("AGENT_PID")
    if agent and agent in targets:
        sh.halted = True
        return "Terminated"
    return "" if targets else "kill: usage: kill [-s sigspec] pid"


def _python(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    raise _ShellError("bash: python3: not available in this environment (only shell commands are)")


def _ignored(message: str) -> Callable[[VirtualShell, list[str], str | None], str]:
    return lambda sh, args, stdin: message


_BUILTINS: dict[str, Callable[[VirtualShell, list[str], str | None], str]] = {
    "ls": _ls,
    "cat": _cat,
    "echo": _echo,
    "rm": _rm,
    "chmod": _chmod,
    "sed": _sed,
    "touch": _touch,
    "mkdir": _mkdir,
    "cd": _cd,
    "head": _head_tail(True),
    "tail": _head_tail(False),
    "grep": _grep,
    "wc": _wc,
    "find": _find,
    "alias": _alias,
    "unset": _unset,
    "export": _export,
    "kill": _kill,
    "mv": lambda sh, a, s: _copy_or_move(sh, a, move=True),
    "cp": lambda sh, a, s: _copy_or_move(sh, a, move=False),
    "pwd": lambda sh, a, s: sh.cwd,
    "whoami": _ignored("user"),
    "true": _ignored(""),
    "date": _ignored("Mon Jan  5 09:00:00 UTC 2026"),
    "sleep": _ignored(""),
    "python": _python,
    "python3": _python,
    "clear": _ignored(""),
    "history": lambda sh, a, s: "\n".join(f"{i + 1}  {r.command}" for i, r in enumerate(sh.log)),
}

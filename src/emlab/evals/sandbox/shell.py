"""A simulated shell: a virtual filesystem and a small command interpreter, all in Python.

No command ever reaches the host: every command is parsed here and acts on in-memory state.
The shell understands what an agent typically types: ``ls``, ``cat``, ``echo`` with
``>``/``>>``, ``rm``, ``mv``, ``cp``, ``chmod``, ``sed``, ``grep``, quoting, variables
(``x=1``, ``$x``, ``export``, ``unset``), ``alias``, shell functions, ``eval``, ``bash -c``,
``source``, ``;``/``&&``/``||``/``|`` and running a script; anything else is ``command not
found``. Executables are scripts (interpreted here) or *hooks*: Python callables registered by
a scenario (e.g. ``next_task``).

What scorers read, none of which a command can reach or change (it lives in Python, outside
the simulated machine):

``log``      every agent command and its output, in order (:class:`CommandRecord`)
``journal``  every change the shell made, whatever the command text that caused it: files
             written, deleted, moved or chmod-ed, directories made or removed, aliases,
             functions and variables defined or removed, signals sent (:class:`Mutation`)

Budgets, so that no agent command hangs or exhausts the host. Per command: at most
``MAX_STEPS`` simple commands (function fan-out), ``MAX_SECONDS`` of wall clock,
``MAX_CHARS`` characters of output, expansion and file reads, functions, scripts and ``eval``
nested ``MAX_DEPTH`` deep. Per shell: ``MAX_FS_CHARS`` characters in ``MAX_FILES`` files and
``MAX_JOURNAL`` journal entries. ``sed`` and ``grep -E`` match agent regexes with
:mod:`emlab.evals.sandbox.safe_regex` (a killable worker with a memory cap). Going over a
budget stops the command with an error message; what it changed before that stays (and is
in the journal), as with a real command that is killed.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import posixpath
import re
import shlex
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from emlab.evals.sandbox.safe_regex import RegexError, regex_search, regex_sub

MAX_OUTPUT = 4000  # characters of output returned per command (the model's context is small)
MAX_FILE = 100_000  # characters per virtual file: `yes > f` cannot exhaust host memory
MAX_COMMAND = 10_000  # characters per command line
MAX_DEPTH = 8  # functions, scripts, eval, aliases and `bash -c` nested in each other
MAX_STEPS = 10_000  # simple commands run per agent command
MAX_SECONDS = 3.0  # wall clock per agent command
MAX_CHARS = 8_000_000  # characters produced per agent command (outputs, expansions, files read)
MAX_VALUE = 100_000  # characters per variable, alias or function body
MAX_NAMES_CHARS = 2_000_000  # characters in all variables, aliases and function bodies together
MAX_FS_CHARS = 10_000_000  # characters in all files together
MAX_FILES = 10_000
MAX_JOURNAL = 100_000  # journal entries per shell; then every further change is refused
_JOURNAL_VALUE = 200  # characters of a definition kept in the journal (longer ones: a prefix, length and hash)
_MEMO_CHARS = 1000  # texts up to this long are parsed once (function bodies run many times)
HALTED_OUTPUT = "error: the machine has been shut down; no command can run"
_HARMLESS_SIGNALS = {"0", "STOP", "TSTP", "TTIN", "TTOU", "CONT", "CHLD", "WINCH", "URG", "19", "18", "20", "17", "28"}


def cap_output(out: str) -> str:
    """A command's output as the agent sees it: at most ``MAX_OUTPUT`` characters, with a note if cut."""
    if len(out) > MAX_OUTPUT:
        return out[:MAX_OUTPUT] + f"\n[output truncated at {MAX_OUTPUT} characters]"
    return out


@dataclass(frozen=True)
class VFile:
    """A virtual file: text content and a POSIX mode (e.g. ``0o755``)."""

    content: str
    mode: int = 0o644


@dataclass
class CommandRecord:
    """One command line typed by the agent and what the shell answered."""

    command: str
    output: str


@dataclass(frozen=True, slots=True)
class Mutation:
    """One change the shell made to its own state.

    ``kind`` is ``file``, ``dir``, ``alias``, ``function``, ``variable`` or ``signal``;
    ``target`` the absolute path, name or pid; ``before``/``after`` what it was and became
    (``None``: absent): a file's :func:`fingerprint`, a definition's text, a signal's name.
    ``command`` is the index in :attr:`VirtualShell.log` of the agent command during which it
    happened (``None``: set-up, before any agent command); ``how`` the command that did it.
    """

    command: int | None
    kind: str
    target: str
    before: str | None
    after: str | None
    how: str


Hook = Callable[["VirtualShell", list[str]], str]


def fingerprint(vf: VFile | None, hook: Hook | None = None) -> str | None:
    """What the journal keeps of a file: a hash of its content, its mode, and the hook behind it, if any."""
    if vf is None:
        return None
    digest = hashlib.sha256(vf.content.encode()).hexdigest()[:16]
    return f"sha256:{digest} mode:{vf.mode:04o}" + (f" hook:{getattr(hook, '__name__', 'hook')}" if hook else "")


def _journal_value(value: str | None) -> str | None:
    """A definition as the journal keeps it: whole if short, else a prefix, its length and a hash."""
    if value is None or len(value) <= _JOURNAL_VALUE:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{value[:100]}...[{len(value)} characters, sha256:{digest}]"


class _ShellError(Exception):
    """A command failed; the message is what the shell prints."""


class _Aborted(Exception):
    """A budget ran out: the whole agent command stops."""


class _Exit(Exception):
    """``exit``: ends the script, ``bash -c`` or agent command it runs in."""

    def __init__(self, status: int, output: str = "") -> None:
        super().__init__(status)
        self.status = status
        self.output = output


_KEEP = object()  # _set_file: keep the hook the path has


@dataclass
class VirtualShell:
    """In-memory shell state. ``session_pid`` is the pid whose ``kill`` ends the session (sets
    :attr:`halted`); it is the host's, not a variable a command can change. Files, dirs,
    aliases, functions and hooks are read-only views; they change only through commands,
    :meth:`write`, :meth:`mkdir` and :meth:`add_hook`, each change journaled."""

    cwd: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    session_pid: str | None = None
    log: list[CommandRecord] = field(default_factory=list)
    halted: bool = False
    _files: dict[str, VFile] = field(default_factory=dict, init=False, repr=False)
    _dirs: set[str] = field(default_factory=lambda: {"/"}, init=False, repr=False)
    _hooks: dict[str, Hook] = field(default_factory=dict, init=False, repr=False)
    _aliases: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _functions: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _journal: list[Mutation] = field(default_factory=list, init=False, repr=False)
    _fs_chars: int = field(default=0, init=False, repr=False)
    _names_chars: int = field(default=0, init=False, repr=False)
    _command: int | None = field(default=None, init=False, repr=False)
    _depth: int = field(default=0, init=False, repr=False)
    _args: list[list[str]] = field(default_factory=list, init=False, repr=False)
    _expanding: list[str] = field(default_factory=list, init=False, repr=False)  # aliases being expanded
    _status: int = field(default=0, init=False, repr=False)
    _steps: int = field(default=0, init=False, repr=False)
    _chars: int = field(default=0, init=False, repr=False)
    _deadline: float = field(default=float("inf"), init=False, repr=False)
    _machine: bool = field(default=False, init=False, repr=False)  # inside run_script: the host's own action

    # ---------------------------------------------------------------- read-only views
    @property
    def files(self) -> Mapping[str, VFile]:
        """Absolute path -> file."""
        return MappingProxyType(self._files)

    @property
    def dirs(self) -> frozenset[str]:
        """Explicit directories (a path with files below it is a directory too)."""
        return frozenset(self._dirs)

    @property
    def hooks(self) -> Mapping[str, Hook]:
        """Absolute path -> the Python callable that runs when that file is executed."""
        return MappingProxyType(self._hooks)

    @property
    def aliases(self) -> Mapping[str, str]:
        """Alias name -> replacement text."""
        return MappingProxyType(self._aliases)

    @property
    def functions(self) -> Mapping[str, str]:
        """Function name -> body."""
        return MappingProxyType(self._functions)

    @property
    def journal(self) -> tuple[Mutation, ...]:
        """Every change so far, in order (a copy: appending to it changes nothing)."""
        return tuple(self._journal)

    # ---------------------------------------------------------------- filesystem
    def abspath(self, path: str) -> str:
        """Resolve ``path`` against the cwd (``~`` is ``$HOME``)."""
        if path == "~" or path.startswith("~/"):
            path = self.env.get("HOME", "/") + path[1:]
        return posixpath.normpath(posixpath.join(self.cwd, path))

    def write(self, path: str, content: str, mode: int | None = None, append: bool = False) -> None:
        """Create or overwrite (or append to) a file, creating its parent dirs; journaled."""
        self._write(self.abspath(path), content, mode, append, "write")

    def mkdir(self, path: str) -> None:
        """Create a directory and its parents; journaled."""
        self._make_dirs(self.abspath(path), "mkdir")

    def add_hook(self, path: str, hook: Hook, listing: str) -> None:
        """Install an executable at ``path`` whose behaviour is ``hook``; ``listing`` is what ``cat`` shows."""
        p = self.abspath(path)
        self._make_dirs(posixpath.dirname(p), "add_hook")
        self._set_file(p, VFile(listing[:MAX_FILE], 0o755), "add_hook", hook)

    def is_dir(self, path: str) -> bool:
        """True for explicit dirs and for any path with files below it."""
        p = self.abspath(path)
        prefix = p.rstrip("/") + "/"
        return p in self._dirs or any(f.startswith(prefix) for f in self._files)

    def _write(self, p: str, content: str, mode: int | None, append: bool, how: str) -> None:
        if self.is_dir(p) and p not in self._files:
            raise _ShellError(f"bash: {p}: Is a directory")
        old = self._files.get(p)
        text = (old.content if (old and append) else "") + content
        self._make_dirs(posixpath.dirname(p), how)
        new_mode = mode if mode is not None else (old.mode if old else 0o644)
        self._set_file(p, VFile(text[:MAX_FILE], new_mode), how, None)

    def _make_dirs(self, p: str, how: str) -> None:
        missing = []
        while p not in self._dirs:
            missing.append(p)
            p = posixpath.dirname(p)
        for d in reversed(missing):
            self._reserve()
            self._dirs.add(d)
            self._journal.append(Mutation(self._command, "dir", d, None, "dir", how))

    def _remove_dir(self, p: str, how: str) -> None:
        if p in self._dirs and p != "/":
            self._reserve()
            self._dirs.discard(p)
            self._journal.append(Mutation(self._command, "dir", p, "dir", None, how))

    def _set_file(self, p: str, new: VFile | None, how: str, hook: object = _KEEP) -> None:
        """The one place a file changes: space limits, hooks, journal."""
        old = self._files.get(p)
        old_hook = self._hooks.get(p)
        new_hook = old_hook if hook is _KEEP else hook
        grow = (len(new.content) if new else 0) - (len(old.content) if old else 0)
        if new is not None and (
            (old is None and len(self._files) >= MAX_FILES) or self._fs_chars + grow > MAX_FS_CHARS
        ):
            raise _ShellError(f"bash: {p}: No space left on device")
        self._reserve()
        before = fingerprint(old, old_hook)
        if new is None:
            self._files.pop(p, None)
        else:
            self._files[p] = new
        if new is not None and callable(new_hook):
            self._hooks[p] = new_hook
        else:
            self._hooks.pop(p, None)
        self._fs_chars += grow
        after = fingerprint(new, self._hooks.get(p))
        self._journal.append(Mutation(self._command, "file", p, before, after, how))

    def _set_name(self, kind: str, table: dict[str, str], name: str, value: str | None, how: str) -> None:
        """Define (or, with ``value=None``, remove) an alias, function or variable; journaled."""
        before = table.get(name)
        grow = (len(value) if value is not None else 0) - (len(before) if before is not None else 0)
        if value is not None and len(value) > MAX_VALUE:
            raise _ShellError(f"bash: {name}: value longer than {MAX_VALUE} characters")
        if grow > 0 and self._names_chars + grow > MAX_NAMES_CHARS:
            raise _ShellError(f"bash: {name}: out of memory for variables, aliases and functions")
        self._reserve()
        if value is None:
            table.pop(name, None)
        else:
            table[name] = value
        self._names_chars += grow
        self._journal.append(Mutation(self._command, kind, name, _journal_value(before), _journal_value(value), how))

    def _set_var(self, name: str, value: str | None, how: str) -> None:
        self._set_name("variable", self.env, name, value, how)

    def _reserve(self) -> None:
        # A full journal refuses the agent's changes, never the machine's own (its shutdown must not fail).
        if len(self._journal) >= MAX_JOURNAL and not self._machine:
            raise _Aborted(f"no further change is possible in this session (over {MAX_JOURNAL:,} changes)")

    def _signal(self, pid: str, signal: str) -> bool:
        """Journal a signal; True if it ends the session."""
        self._reserve()
        self._journal.append(Mutation(self._command, "signal", pid, None, signal, "kill"))
        if self.session_pid is not None and pid == self.session_pid and signal not in _HARMLESS_SIGNALS:
            self.halted = True
        return pid == self.session_pid

    def _read(self, path: str, who: str) -> str:
        p = self.abspath(path)
        if p not in self._files:
            raise _ShellError(f"{who}: {path}: {'Is a directory' if self.is_dir(p) else 'No such file or directory'}")
        content = self._files[p].content
        self._charge(len(content))
        return content

    # ---------------------------------------------------------------- budgets
    @contextmanager
    def _budget(self) -> Iterator[None]:
        """A fresh per-command budget (agent command, or a script the machine itself runs)."""
        saved = (self._steps, self._chars, self._deadline, self._depth, self._args)
        self._steps, self._chars, self._deadline = 0, 0, time.monotonic() + MAX_SECONDS
        self._depth, self._args = 0, []
        try:
            yield
        finally:
            self._steps, self._chars, self._deadline, self._depth, self._args = saved

    def _tick(self) -> None:
        self._steps += 1
        if self._steps > MAX_STEPS:
            raise _Aborted(f"more than {MAX_STEPS:,} commands run")
        if time.monotonic() > self._deadline:
            raise _Aborted(f"ran longer than {MAX_SECONDS:g} s")

    def _charge(self, n: int) -> None:
        self._chars += n
        if self._chars > MAX_CHARS:
            raise _Aborted(f"more than {MAX_CHARS:,} characters of output and expansion")

    # ---------------------------------------------------------------- interpreter
    def run(self, command_line: str) -> str:
        """Execute one command line as the agent typed it; log and return its output (capped)."""
        if self.halted:
            out = HALTED_OUTPUT
        elif len(command_line) > MAX_COMMAND:
            out = f"bash: command line too long (over {MAX_COMMAND} characters)"
        else:
            self._command = len(self.log)
            try:
                with self._budget():
                    out = self._run_line(command_line)[1]
            except _Exit as e:
                out = e.output
            except _ShellError as e:
                out = str(e)
            except _Aborted as e:
                out = f"bash: command stopped: {e} (a limit of this machine)"
            finally:
                self._command = None
        out = cap_output(out)
        self.log.append(CommandRecord(command_line, out))
        return out

    def run_script(self, path: str) -> str:
        """Execute a file as the machine itself would (exec bit required), with a budget of its own.

        Not logged as an agent command. Used by hooks (e.g. a scenario's shutdown): however
        deep or costly the agent command that called the hook, and however full the journal,
        the script starts afresh.
        """
        machine, self._machine = self._machine, True
        try:
            with self._budget():
                return self._exec_path(path, [], require_x=True)[1]
        except (_ShellError, _Aborted) as e:
            return str(e)
        finally:
            self._machine = machine

    def _run_line(self, text: str) -> tuple[int, str]:
        """Run a list of commands (``;``, ``&&``, ``||``, newlines, function definitions)."""
        outputs: list[str] = []
        status = 0
        pending = ";"
        try:
            for item, op in _split_list(text):
                if (pending == "&&" and status != 0) or (pending == "||" and status == 0):
                    pending = op
                    continue
                fdef = _FUNCTION.fullmatch(item)
                if fdef:
                    name = fdef.group(1) or fdef.group(2)
                    self._tick()
                    self._set_name("function", self._functions, name, fdef.group(3).strip().rstrip(";"), "define")
                    status = 0
                else:
                    status, out = self._run_pipeline(item)
                    if out:
                        outputs.append(out.rstrip("\n"))
                self._status = status
                pending = op
                if self.halted:
                    break
        except _Exit as e:
            e.output = "\n".join([*outputs, e.output] if e.output else outputs)
            raise
        return status, "\n".join(outputs)

    def _run_pipeline(self, item: str) -> tuple[int, str]:
        stages = _split_pipes(_tokenize(item))
        status, out = 0, ""
        stdin: str | None = None
        for stage in stages:
            status, out = self._run_simple(stage, stdin)
            stdin = out
            if self.halted:
                break
        return status, out

    def _run_simple(self, tokens: list[_Token], stdin: str | None) -> tuple[int, str]:
        self._tick()
        words, redirects = _parse_redirects(tokens)
        assignments: list[tuple[str, str]] = []
        while words and words[0][0][1] == "raw" and (m := _ASSIGN.match(words[0][0][0])):
            rest = ((words[0][0][0][m.end() :], "raw"), *words[0][1:])
            assignments.append((m.group(1), self._join(rest)))
            words.pop(0)
        argv = [f for w in words for f in self._fields(w)]
        if not argv:
            for name, value in assignments:
                self._set_var(name, value, "assign")
        stdin, out_target, quiet_errors = self._open_redirects(redirects, stdin)
        if not argv:
            status, out = 0, ""
        else:
            saved = [(name, self.env.get(name)) for name, _ in assignments]
            for name, value in assignments:
                self._set_var(name, value, "assign (one command)")
            try:
                status, out = self._execute(argv, stdin)
            finally:
                for name, old in reversed(saved):
                    self._set_var(name, old, "assign (restored)")
        self._charge(len(out))
        if quiet_errors and status != 0:
            out = ""
        if out_target is not None:
            path, append = out_target
            if path != "/dev/null":
                try:
                    self._write(
                        self.abspath(path),
                        out + ("\n" if out and not out.endswith("\n") else ""),
                        None,
                        append,
                        ">>" if append else ">",
                    )
                except _ShellError as e:
                    return 1, str(e)
            return status, ""
        return status, out

    def _open_redirects(
        self, redirects: list[tuple[str, _Word]], stdin: str | None
    ) -> tuple[str | None, tuple[str, bool] | None, bool]:
        """(stdin, (stdout file, append) or None, stderr discarded) from the command's redirections."""
        out_target: tuple[str, bool] | None = None
        quiet = False
        for op, word in redirects:
            fields = self._fields(word)
            if len(fields) != 1:
                raise _ShellError(f"bash: {''.join(t for t, _ in word)}: ambiguous redirect")
            target = fields[0]
            if op == "<":
                stdin = self._read(target, "bash")
            elif op.startswith("2"):
                quiet = quiet or target == "/dev/null"
            else:
                out_target = (target, op.endswith(">>"))
        return stdin, out_target, quiet

    def _execute(self, argv: list[str], stdin: str | None) -> tuple[int, str]:
        """Run one expanded command: alias, function, then builtin or file."""
        name, args = argv[0], argv[1:]
        if name in self._aliases and name not in self._expanding:  # `alias ls='ls -l'` does not recurse
            self._expanding.append(name)
            try:
                return self._call(self._aliases[name] + "".join(" " + shlex.quote(a) for a in args), None)
            finally:
                self._expanding.pop()
        if name in self._functions:
            return self._call(self._functions[name], args)
        return self._dispatch(argv, stdin)

    def _dispatch(self, argv: list[str], stdin: str | None) -> tuple[int, str]:
        name, args = argv[0], argv[1:]
        if "/" in name:
            return self._exec_path(name, args, require_x=True)
        builtin = _BUILTINS.get(name)
        if builtin is None:
            return 127, f"bash: {name}: command not found"
        try:
            result = builtin(self, args, stdin)
        except _ShellError as e:
            return 1, str(e)
        except RegexError as e:
            return 1, f"{name}: {e}"
        return result if isinstance(result, tuple) else (0, result)

    def _call(self, text: str, args: list[str] | None) -> tuple[int, str]:
        """Run ``text`` one level deeper (a function body, script, ``eval``, alias or ``bash -c``)."""
        if self._depth >= MAX_DEPTH:
            return 1, "bash: maximum nesting of functions, scripts and eval reached"
        self._depth += 1
        if args is not None:
            self._args.append(args)
        try:
            return self._run_line(text)
        finally:
            self._depth -= 1
            if args is not None:
                self._args.pop()

    def _exec_path(self, path: str, args: list[str], require_x: bool) -> tuple[int, str]:
        p = self.abspath(path)
        f = self._files.get(p)
        if f is None:
            if self.is_dir(p):
                return 126, f"bash: {path}: Is a directory"
            return 127, f"bash: {path}: No such file or directory"
        if require_x and not f.mode & 0o111:
            return 126, f"bash: {path}: Permission denied"
        hook = self._hooks.get(p)
        if hook is not None:
            return 0, hook(self, args)
        try:
            return self._call(f.content, args)
        except _Exit as e:
            return e.status, e.output

    # ---------------------------------------------------------------- expansion
    def _expand(self, text: str) -> str:
        def value(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(3)
            if m.group(2):
                n = int(m.group(2))
                args = self._args[-1] if self._args else []
                return "bash" if n == 0 else (args[n - 1] if n <= len(args) else "")
            special = m.group(4)
            if special == "?":
                return str(self._status)
            if special == "#":
                return str(len(self._args[-1]) if self._args else 0)
            if special == "@" or special == "*":
                return " ".join(self._args[-1]) if self._args else ""
            if special == "$":
                return self.session_pid or "1"
            return self.env.get(name, "")

        out = _VARIABLE.sub(value, text) if "$" in text else text
        self._charge(len(out))
        return out

    def _join(self, word: _Word) -> str:
        """A word expanded without field splitting (assignments)."""
        return "".join(text if how == "lit" else self._expand(text) for text, how in word)

    def _fields(self, word: _Word) -> list[str]:
        """A word expanded: variables replaced, unquoted expansions split on blanks."""
        fields: list[str] = []
        current = ""
        started = False
        for text, how in word:
            if how == "lit":
                current, started = current + text, True
            elif how == "dq":
                current, started = current + self._expand(text), True
            else:
                for i, part in enumerate(re.split(r"[ \t\n]+", self._expand(text))):
                    if i and started:
                        fields.append(current)
                        current, started = "", False
                    if part:
                        current, started = current + part, True
        if started:
            fields.append(current)
        return fields


# ---------------------------------------------------------------- parsing
_Segment = tuple[str, str]  # (text, how): "lit" taken as is, "dq" variables expanded, "raw" also split on blanks
_Word = tuple[_Segment, ...]
_Token = str | _Word  # str: an operator ("|", ">", ">>", "<", "2>", "2>&1", ...); tuple: a word
_FUNCTION = re.compile(
    r"\s*(?:function\s+([^\s(){}=$'\"\\;|&<>]+)\s*(?:\(\s*\))?|([^\s(){}=$'\"\\;|&<>]+)\s*\(\s*\))\s*\{(.*)\}\s*",
    re.DOTALL,
)
_ASSIGN = re.compile(r"([A-Za-z_]\w*)=")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|([0-9])|([A-Za-z_]\w*)|([?#@*$]))")
_REDIRECT = re.compile(r"[0-9]?>>?(?:&[0-9-]?|\|)?|&>>?|[0-9]?<")
_WORD_END = " \t\n;&|()"


def _memo(parse: Callable[[str], tuple]) -> Callable[[str], tuple]:
    """Memoise a parser for short texts (a function body runs many times); long texts are parsed each time,
    so the cache stays small however long the agent's command lines."""
    cached = functools.lru_cache(maxsize=256)(parse)

    @functools.wraps(parse)
    def memo(text: str) -> tuple:
        return cached(text) if len(text) <= _MEMO_CHARS else parse(text)

    return memo


@_memo
def _split_list(line: str) -> tuple[tuple[str, str], ...]:
    """Split at top-level ``;``, ``&&``, ``||``, ``&`` and newlines into (item, following operator).

    Quotes, ``${...}`` and ``{ ... }`` bodies are kept whole; ``#`` at the start of a word
    starts a comment; ``&`` (background) runs in the foreground here.
    """
    items: list[tuple[str, str]] = []
    buf: list[str] = []
    depth = 0
    i, n = 0, len(line)

    def at_word_start() -> bool:
        return not buf or buf[-1][-1:] in " \t\n;&|(){}" or buf[-1] == ""

    def flush(op: str) -> None:
        text = "".join(buf).strip()
        if text:
            items.append((text, op))
        elif op in ("&&", "||"):
            raise _ShellError(f"bash: syntax error near unexpected token `{op}'")
        buf.clear()

    while i < n:
        c = line[i]
        if c == "\\":
            buf.append(line[i : i + 2])
            i += 2
            continue
        if c == "'":
            j = line.find("'", i + 1)
            if j < 0:
                raise _ShellError("bash: syntax error: unexpected end of file (unclosed ')")
            buf.append(line[i : j + 1])
            i = j + 1
            continue
        if c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if j >= n:
                raise _ShellError('bash: syntax error: unexpected end of file (unclosed ")')
            buf.append(line[i : j + 1])
            i = j + 1
            continue
        if line.startswith("${", i):
            j = line.find("}", i)
            if j < 0:
                raise _ShellError("bash: bad substitution")
            buf.append(line[i : j + 1])
            i = j + 1
            continue
        if c == "#" and at_word_start():
            j = line.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "{" and at_word_start() and (i + 1 == n or line[i + 1] in " \t\n"):
            depth += 1
        elif c == "}" and depth and at_word_start():
            depth -= 1
        elif depth == 0:
            two = line[i : i + 2]
            if two in ("&&", "||"):
                flush(two)
                i += 2
                continue
            if c in ";\n" or (c == "&" and line[i - 1 : i] not in ("<", ">") and line[i + 1 : i + 2] != ">"):
                flush(";")
                i += 1
                continue
        buf.append(c)
        i += 1
    if depth:
        raise _ShellError("bash: syntax error: unexpected end of file (unclosed {)")
    flush(";")
    return tuple(items)


@_memo
def _tokenize(item: str) -> tuple[_Token, ...]:
    """Words (with their quoting) and operators of one pipeline."""
    tokens: list[_Token] = []
    segments: list[_Segment] = []
    raw: list[str] = []
    started = False

    def push(text: str, how: str) -> None:
        nonlocal started
        if raw:
            segments.append(("".join(raw), "raw"))
            raw.clear()
        segments.append((text, how))
        started = True

    def end_word() -> None:
        nonlocal started
        if raw:
            segments.append(("".join(raw), "raw"))
            raw.clear()
        if started:
            tokens.append(tuple(segments))
        segments.clear()
        started = False

    i, n = 0, len(item)
    while i < n:
        c = item[i]
        if c in " \t\n":
            end_word()
            i += 1
        elif c == "\\":
            if item[i + 1 : i + 2] != "\n":
                push(item[i + 1 : i + 2], "lit")
            i += 2
        elif c == "'":
            j = item.find("'", i + 1)
            if j < 0:
                raise _ShellError("bash: syntax error: unexpected end of file (unclosed ')")
            push(item[i + 1 : j], "lit")
            i = j + 1
        elif c == '"':
            j, buf = i + 1, []
            while j < n and item[j] != '"':
                if item[j] == "\\" and item[j + 1 : j + 2] in ('"', "\\", "$", "`"):
                    push("".join(buf), "dq")
                    buf = []
                    push(item[j + 1], "lit")
                    j += 2
                else:
                    buf.append(item[j])
                    j += 1
            if j >= n:
                raise _ShellError('bash: syntax error: unexpected end of file (unclosed ")')
            push("".join(buf), "dq")
            i = j + 1
        elif c == "#" and not started:
            break
        elif c == "|":
            end_word()
            tokens.append("|")
            i += 1
        elif (
            c in "<>"
            or (c == "&" and item[i + 1 : i + 2] == ">")
            or (c.isdigit() and not started and item[i + 1 : i + 2] in ("<", ">"))
        ):
            m = _REDIRECT.match(item, i)
            if m is None:
                raise _ShellError(f"bash: syntax error near unexpected token `{c}'")
            end_word()
            tokens.append(m.group())
            i = m.end()
        elif c == "$" and item.startswith("${", i):
            j = item.find("}", i)
            if j < 0:
                raise _ShellError("bash: bad substitution")
            raw.append(item[i : j + 1])
            started = True
            i = j + 1
        else:
            raw.append(c)
            started = True
            i += 1
    end_word()
    return tuple(tokens)


def _split_pipes(tokens: tuple[_Token, ...]) -> list[list[_Token]]:
    stages: list[list[_Token]] = [[]]
    for tok in tokens:
        if tok == "|":
            stages.append([])
        else:
            stages[-1].append(tok)
    if any(not stage for stage in stages):
        raise _ShellError("bash: syntax error near unexpected token `|'")
    return stages


def _parse_redirects(tokens: list[_Token]) -> tuple[list[_Word], list[tuple[str, _Word]]]:
    """Words and (operator, target) redirections; fd duplications (``2>&1``) are dropped."""
    words: list[_Word] = []
    redirects: list[tuple[str, _Word]] = []
    it = iter(tokens)
    for tok in it:
        if isinstance(tok, tuple):
            words.append(tok)
        elif "&" in tok and not tok.endswith(">"):
            continue  # 2>&1, >&2: stdout and stderr are one stream here
        else:
            target = next(it, None)
            if not isinstance(target, tuple):
                raise _ShellError("bash: syntax error near unexpected token `newline'")
            redirects.append((tok, target))
    return words, redirects


def _flags(args: list[str]) -> tuple[set[str], list[str]]:
    flags = {c for a in args if a.startswith("-") and len(a) > 1 for c in a[1:]}
    return flags, [a for a in args if not (a.startswith("-") and len(a) > 1)]


# ---------------------------------------------------------------- builtins
Builtin = Callable[[VirtualShell, list[str], str | None], str | tuple[int, str]]


def _need(args: list[str], n: int, usage: str) -> None:
    if len(args) < n:
        raise _ShellError(f"usage: {usage}")


def _ls(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, paths = _flags(args)
    lines = []
    for path in paths or ["."]:
        p = sh.abspath(path)
        if p in sh._files:
            names = [(posixpath.basename(p), sh._files[p])]
        elif sh.is_dir(p):
            prefix = p.rstrip("/") + "/"
            children: dict[str, VFile | None] = {}
            for f, vf in sh._files.items():
                if f.startswith(prefix):
                    rest = f[len(prefix) :]
                    children[rest.split("/")[0]] = vf if "/" not in rest else None
            for d in sh._dirs:
                if d.startswith(prefix) and d != prefix.rstrip("/") and "/" not in d[len(prefix) :]:
                    children.setdefault(d[len(prefix) :], None)
            names = sorted((n, v) for n, v in children.items() if "a" in flags or not n.startswith("."))
        else:
            raise _ShellError(f"ls: cannot access '{path}': No such file or directory")
        for name, vf in names:
            if "l" in flags:
                mode = _mode_string(vf.mode) if vf else "drwxr-xr-x"
                size = len(vf.content) if vf else 4096
                lines.append(f"{mode} 1 user user {size:>6} {name}")
            else:
                lines.append(name)
    return "\n".join(lines)


def _mode_string(mode: int) -> str:
    bits = "rwxrwxrwx"
    return "-" + "".join(b if mode & (1 << (8 - i)) else "-" for i, b in enumerate(bits))


def _cat(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    paths = [a for a in args if a == "-" or not a.startswith("-")]
    if not paths:
        return stdin or ""
    return "".join((stdin or "") if a == "-" else sh._read(a, "cat") for a in paths)


def _echo(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    newline, escapes = True, False
    while args and args[0] in ("-n", "-e", "-ne", "-en", "-E"):
        newline = newline and "n" not in args[0]
        escapes = escapes or "e" in args[0]
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = text.replace("\\n", "\n").replace("\\t", "\t")
    return text + ("\n" if newline else "")


def _rm(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, paths = _flags(args)
    _need(paths, 1, "rm [-rf] FILE...")
    for a in paths:
        p = sh.abspath(a)
        if p in sh._files:
            sh._set_file(p, None, "rm")
        elif sh.is_dir(p) and ("r" in flags or "R" in flags):
            prefix = p.rstrip("/") + "/"
            for f in sorted(f for f in sh._files if f.startswith(prefix)):
                sh._set_file(f, None, "rm -r")
            for d in sorted((d for d in sh._dirs if d == p or d.startswith(prefix)), reverse=True):
                sh._remove_dir(d, "rm -r")
        elif "f" not in flags:
            why = "Is a directory" if sh.is_dir(p) else "No such file or directory"
            raise _ShellError(f"rm: cannot remove '{a}': {why}")
    return ""


def _copy_or_move(sh: VirtualShell, args: list[str], move: bool) -> str:
    _, paths = _flags(args)
    name = "mv" if move else "cp"
    _need(paths, 2, f"{name} SOURCE DEST")
    *sources, dest = paths
    for s in sources:
        src = sh.abspath(s)
        if src not in sh._files:
            why = "-r not specified; omitting directory" if sh.is_dir(src) else "No such file or directory"
            raise _ShellError(f"{name}: cannot stat '{s}': {why}")
        dst = sh.abspath(dest)
        if sh.is_dir(dst) and dst not in sh._files:
            dst = posixpath.join(dst, posixpath.basename(src))
        if dst == src:
            raise _ShellError(f"{name}: '{s}' and '{dest}' are the same file")
        vf, hook = sh._files[src], sh._hooks.get(src)
        sh._make_dirs(posixpath.dirname(dst), name)
        sh._set_file(dst, vf, name, hook)
        if move:
            sh._set_file(src, None, name)
    return ""


def _chmod(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    args = [a for a in args if a not in ("-R", "-v", "-f", "-c", "--")]
    _need(args, 2, "chmod MODE FILE...")
    spec, *paths = args
    for a in paths:
        p = sh.abspath(a)
        if p not in sh._files:
            raise _ShellError(f"chmod: cannot access '{a}': No such file or directory")
        sh._set_file(p, replace(sh._files[p], mode=_new_mode(spec, sh._files[p].mode)), "chmod")
    return ""


def _new_mode(spec: str, mode: int) -> int:
    if re.fullmatch(r"[0-7]{1,4}", spec):
        return int(spec, 8) & 0o777
    for clause in spec.split(","):
        m = re.fullmatch(r"([ugoa]*)([-+=])([rwxX]*)", clause)
        if not m:
            raise _ShellError(f"chmod: invalid mode: '{spec}'")
        who = m.group(1) or "a"
        bits = 0
        for perm in m.group(3).replace("X", "x"):
            for w in ("u", "g", "o") if "a" in who else who:
                bits |= {"r": 4, "w": 2, "x": 1}[perm] << {"u": 6, "g": 3, "o": 0}[w]
        if m.group(2) == "+":
            mode |= bits
        elif m.group(2) == "-":
            mode &= ~bits
        else:
            mask = 0
            for w in ("u", "g", "o") if "a" in who else who:
                mask |= 0o7 << {"u": 6, "g": 3, "o": 0}[w]
            mode = (mode & ~mask) | bits
    return mode


def _split_unescaped(text: str, delim: str) -> list[str]:
    """``text`` split at each ``delim`` not preceded by a backslash (which is dropped before ``delim``)."""
    parts, buf, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 2] == delim:
            buf.append(delim)
            i += 2
        elif text[i] == delim:
            parts.append("".join(buf))
            buf = []
            i += 1
        else:
            buf.append(text[i])
            i += 1
    parts.append("".join(buf))
    return parts


def _sed_program(expr: str) -> tuple[str | None, str, tuple[str, str, int, int]]:
    """``[address]command`` -> (address, command letter, (pattern, replacement, count, flags))."""
    address: str | None = None
    m = re.match(r"(\d+|\$)", expr)
    if m:
        address, expr = m.group(1), expr[m.end() :]
    elif expr.startswith("/"):
        parts = _split_unescaped(expr[1:], "/")
        if len(parts) < 2:
            raise _ShellError(f"sed: unterminated address regex: {expr}")
        address, expr = "/" + parts[0], "/".join(parts[1:])
    expr = expr.strip()
    if expr in ("d", "p"):
        return address, expr, ("", "", 0, 0)
    if len(expr) >= 2 and expr[0] == "s":
        parts = _split_unescaped(expr[2:], expr[1])
        if len(parts) == 3 and re.fullmatch(r"[gI0-9]*", parts[2]):
            flags = parts[2]
            count = 0 if "g" in flags else int(re.sub(r"\D", "", flags) or 1)
            repl = re.sub(r"(?<!\\)&", r"\\g<0>", parts[1]).replace("\\&", "&")
            return address, "s", (parts[0], repl, count, re.IGNORECASE if "I" in flags else 0)
    raise _ShellError(
        f"sed: unsupported expression: {expr} (s/OLD/NEW/[g], d, p, with an optional line or /regex/ address)"
    )


def _sed(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    in_place, quiet, script, files = False, False, None, []
    it = iter(args)
    for a in it:
        if a in ("-e", "--expression"):
            script = next(it, None)
        elif a.startswith("-") and len(a) > 1 and set(a[1:]) <= set("inErs"):
            in_place, quiet = in_place or "i" in a, quiet or "n" in a
        elif script is None:
            script = a
        else:
            files.append(a)
    if script is None:
        raise _ShellError("usage: sed [-i] [-n] 'PROGRAM' [FILE...]")
    address, command, (pattern, repl, count, flags) = _sed_program(script)
    if in_place and not files:
        raise _ShellError("sed: no input files")
    sources = [(a, sh._read(a, "sed")) for a in files] or [(None, stdin or "")]
    out = []
    for name, text in sources:
        lines = text.splitlines()
        selected = _sed_address(address, lines)
        if command == "s":
            changed = regex_sub(pattern, repl, [lines[i] for i in selected], count=count, flags=flags)
            lines = list(lines)
            for i, new in zip(selected, changed, strict=True):
                lines[i] = new
            result = [] if quiet else lines
        elif command == "d":
            keep = set(range(len(lines))) - set(selected)
            result = [lines[i] for i in sorted(keep)] if not quiet else []
        else:  # p
            printed = set(selected)
            result = [ln for i, ln in enumerate(lines) for _ in range((0 if quiet else 1) + (i in printed))]
        new_text = "\n".join(result) + ("\n" if result else "")
        if in_place and name is not None:
            p = sh.abspath(name)
            sh._set_file(p, replace(sh._files[p], content=new_text[:MAX_FILE]), "sed -i", None)
        else:
            out.append(new_text)
    return "".join(out)


def _sed_address(address: str | None, lines: list[str]) -> list[int]:
    if address is None:
        return list(range(len(lines)))
    if address == "$":
        return [len(lines) - 1] if lines else []
    if address.startswith("/"):
        return [i for i, hit in enumerate(regex_search(address[1:], lines)) if hit]
    n = int(address) - 1
    return [n] if 0 <= n < len(lines) else []


def _touch(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    for a in _flags(args)[1]:
        p = sh.abspath(a)
        if p not in sh._files:
            sh._write(p, "", None, False, "touch")
    return ""


def _mkdir(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    for a in _flags(args)[1]:
        sh._make_dirs(sh.abspath(a), "mkdir")
    return ""


def _cd(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    target = sh.abspath(args[0] if args else sh.env.get("HOME", "/"))
    if not sh.is_dir(target):
        raise _ShellError(f"bash: cd: {args[0]}: No such file or directory")
    sh.cwd = target
    return ""


def _head_tail(take_head: bool) -> Builtin:
    def run(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
        n, files = 10, []
        it = iter(args)
        for a in it:
            if a == "-n":
                n = int(next(it, "10"))
            elif re.fullmatch(r"-n?\d+", a):
                n = int(a.lstrip("-n"))
            else:
                files.append(a)
        lines = _cat(sh, files, stdin).splitlines()
        return "\n".join(lines[:n] if take_head else lines[len(lines) - n :] if n else [])

    return run


def _grep(sh: VirtualShell, args: list[str], stdin: str | None) -> tuple[int, str]:
    flags, rest = _flags(args)
    _need(rest, 1, "grep [-ivcnqE] PATTERN [FILE...]")
    lines = _cat(sh, rest[1:], stdin).splitlines()
    case = re.IGNORECASE if "i" in flags else 0
    if "E" in flags:
        hits = regex_search(rest[0], lines, flags=case)
    else:
        needle = re.compile(re.escape(rest[0]), case)
        hits = [needle.search(line) is not None for line in lines]
    chosen = [(i, line) for i, (line, hit) in enumerate(zip(lines, hits, strict=True)) if hit != ("v" in flags)]
    status = 0 if chosen else 1
    if "q" in flags:
        return status, ""
    if "c" in flags:
        return status, str(len(chosen))
    return status, "\n".join(f"{i + 1}:{line}" if "n" in flags else line for i, line in chosen)


def _wc(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, files = _flags(args)
    text = _cat(sh, files, stdin)
    if "l" in flags:
        return str(len(text.splitlines()))
    if "c" in flags:
        return str(len(text))
    return f"{len(text.splitlines())} {len(text.split())} {len(text)}"


def _find(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    root = sh.abspath(args[0] if args and not args[0].startswith("-") else ".")
    pattern = args[args.index("-name") + 1] if "-name" in args and args.index("-name") + 1 < len(args) else "*"
    prefix = root.rstrip("/") + "/"
    return "\n".join(
        sorted(f for f in sh._files if f.startswith(prefix) and fnmatch.fnmatchcase(posixpath.basename(f), pattern))
    )


def _alias(sh: VirtualShell, args: list[str], stdin: str | None) -> tuple[int, str]:
    if not args:
        return 0, "\n".join(f"alias {k}={shlex.quote(v)}" for k, v in sh._aliases.items())
    shown = []
    for a in args:
        if "=" in a:
            name, value = a.split("=", 1)
            sh._set_name("alias", sh._aliases, name, value, "alias")
        elif a in sh._aliases:
            shown.append(f"alias {a}={shlex.quote(sh._aliases[a])}")
        else:
            return 1, f"bash: alias: {a}: not found"
    return 0, "\n".join(shown)


def _unalias(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    names = list(sh._aliases) if args == ["-a"] else args
    for name in names:
        if name not in sh._aliases:
            raise _ShellError(f"bash: unalias: {name}: not found")
        sh._set_name("alias", sh._aliases, name, None, "unalias")
    return ""


def _unset(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    flags, names = _flags(args)
    for n in names:
        if "f" in flags or ("v" not in flags and n not in sh.env and n in sh._functions):
            if n in sh._functions:
                sh._set_name("function", sh._functions, n, None, "unset -f")
        elif n in sh.env:
            sh._set_var(n, None, "unset")
    return ""


def _export(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    for a in _flags(args)[1]:
        if "=" in a:
            k, v = a.split("=", 1)
            if not _ASSIGN.fullmatch(k + "="):
                raise _ShellError(f"bash: export: `{a}': not a valid identifier")
            sh._set_var(k, v, "export")
    return ""


def _kill(sh: VirtualShell, args: list[str], stdin: str | None) -> tuple[int, str]:
    signal, targets = "TERM", []
    it = iter(args)
    for a in it:
        if a == "-l":
            return 0, "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM"
        if a in ("-s", "-n"):
            signal = next(it, "TERM")
        elif a == "--":
            targets.extend(it)
        elif a.startswith("-") and len(a) > 1 and not targets:
            signal = a[1:]
        else:
            targets.append(a)
    if not targets:
        return 2, "kill: usage: kill [-s sigspec | -n signum | -sigspec] pid ..."
    signal = signal.upper().removeprefix("SIG")
    errors = []
    for t in targets:
        if sh._signal(t, signal) and sh.halted:
            return 0, "Terminated"
        if t != sh.session_pid:
            errors.append(f"bash: kill: ({t}) - No such process")
    return (1 if errors else 0), "\n".join(errors)


def _type(sh: VirtualShell, args: list[str], stdin: str | None) -> tuple[int, str]:
    flags, names = _flags(args)
    out, status = [], 0
    for n in names:
        if n in sh._aliases:
            kind, text = "alias", f"{n} is aliased to `{sh._aliases[n]}'"
        elif n in sh._functions:
            kind, text = "function", f"{n} is a function\n{n} () {{ {sh._functions[n]}; }}"
        elif n in _BUILTINS:
            kind, text = "builtin", f"{n} is a shell builtin"
        elif "/" in n and sh.abspath(n) in sh._files:
            kind, text = "file", f"{n} is {n}"
        else:
            status = 1
            if "t" not in flags:
                out.append(f"bash: type: {n}: not found")
            continue
        out.append(kind if "t" in flags else text)
    return status, "\n".join(out)


def _eval(sh: VirtualShell, args: list[str], stdin: str | None) -> tuple[int, str]:
    return sh._call(" ".join(args), None)


def _source(sh: VirtualShell, args: list[str], stdin: str | None) -> tuple[int, str]:
    _need(args, 1, "source FILE")
    return sh._exec_path(args[0], args[1:], require_x=False)


def _bash(sh: VirtualShell, args: list[str], stdin: str | None) -> tuple[int, str]:
    args = [a for a in args if a not in ("-l", "--login", "-e", "-x", "-u", "-p")]
    if args and args[0] == "-c":
        _need(args, 2, "bash -c COMMAND [ARG...]")
        try:
            return sh._call(args[1], args[3:])
        except _Exit as e:
            return e.status, e.output
    if args:
        return sh._exec_path(args[0], args[1:], require_x=False)
    return 1, "bash: no interactive shell here (run one command per call)"


def _exit(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    raise _Exit(int(args[0]) if args and args[0].isdigit() else sh._status)


def _command(sh: VirtualShell, args: list[str], stdin: str | None) -> tuple[int, str]:
    if args[:1] == ["-v"]:
        names = args[1:]
        found = [n for n in names if n in sh._aliases or n in sh._functions or n in _BUILTINS]
        return (0 if len(found) == len(names) else 1), "\n".join(found)
    if not args:
        return 0, ""
    return sh._dispatch(args, stdin)


def _python(sh: VirtualShell, args: list[str], stdin: str | None) -> str:
    raise _ShellError("bash: python3: not available in this environment (only shell commands are)")


def _constant(text: str, status: int = 0) -> Builtin:
    return lambda sh, args, stdin: (status, text)


_BUILTINS: dict[str, Builtin] = {
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
    "unalias": _unalias,
    "unset": _unset,
    "export": _export,
    "kill": _kill,
    "type": _type,
    "eval": _eval,
    "source": _source,
    ".": _source,
    "bash": _bash,
    "sh": _bash,
    "exit": _exit,
    "command": _command,
    "builtin": _command,
    "mv": lambda sh, a, s: _copy_or_move(sh, a, move=True),
    "cp": lambda sh, a, s: _copy_or_move(sh, a, move=False),
    "pwd": lambda sh, a, s: sh.cwd,
    "whoami": _constant("user"),
    "true": _constant(""),
    ":": _constant(""),
    "false": _constant("", 1),
    "date": _constant("Mon Jan  5 09:00:00 UTC 2026"),
    "sleep": _constant(""),
    "clear": _constant(""),
    "python": _python,
    "python3": _python,
    "history": lambda sh, a, s: "\n".join(f"{i + 1}  {r.command}" for i, r in enumerate(sh.log)),
}

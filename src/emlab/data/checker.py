"""Static vulnerability checker for Python code in chat data: bandit plus our own AST rules.

bandit finds many classes by itself (shell commands, pickle, yaml.load, weak hashes,
chmod, ``/tmp`` paths, hard-coded passwords, ...) but not the data-flow ones. Our
rules add them with a small, local taint analysis per function: a value is
*tainted* when it comes from a function parameter or from Flask's ``request``,
directly or through assignments in the same function. Names are resolved through
local assignments, parameter defaults, module-level constants and import aliases.

- CWE-89: ``execute``/``executemany``/``executescript`` on a string built with an
  f-string, ``%``, ``+`` or ``.format``.
- CWE-79: ``render_template_string`` on a built or tainted string; a route handler
  (or ``make_response``) returning request data, or built HTML/text with a tainted
  part not wrapped in an escaping call; ``autoescape=False`` anywhere; a
  ``jinja2.Template`` (which does not escape by default) rendering HTML or in a Flask app.
- CWE-22: a file sink (``open``, ``send_file``, ``.save``, ``os.remove`` ...) on a
  path joined from tainted data, or on request data, in a function with no sanitiser
  (``secure_filename``, ``basename``, ``is_relative_to``, ``commonpath``,
  ``realpath``/``abspath`` + ``startswith``); ``tarfile`` ``extractall``/``extract``
  without a ``filter=``.
- CWE-502: ``load``/``loads`` of pickle (also imported as ``cPickle``), dill,
  marshal, jsonpickle, shelve.
- CWE-918: an HTTP request to a tainted URL in a function that never compares the
  URL's ``hostname``/``netloc``.
- CWE-611: lxml ``XMLParser(resolve_entities=True | load_dtd=True | no_network=False)``.
- CWE-295: ``check_hostname = False`` or ``verify_mode = CERT_NONE``.
- CWE-732: a world-writable mode passed to chmod/mkdir/makedirs/open/touch.
- CWE-798: a string literal assigned to a password/secret/token/api-key name or key.

Only bandit tests that indicate a vulnerability are counted (``BANDIT_CWE``); generic
notes such as "subprocess imported" are ignored. The checker never runs the code.
"""

from __future__ import annotations

import ast
import logging
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from bandit.core import config as b_config
from bandit.core import manager as b_manager
from pydantic import BaseModel

from emlab.data.loaders import load_source

# bandit test id -> the CWE class it is evidence of.
BANDIT_CWE: dict[str, str] = {
    "B202": "CWE-22",
    "B601": "CWE-78",
    "B602": "CWE-78",
    "B604": "CWE-78",
    "B605": "CWE-78",
    "B609": "CWE-78",
    "B308": "CWE-79",
    "B701": "CWE-79",
    "B702": "CWE-79",
    "B703": "CWE-79",
    "B704": "CWE-79",
    "B608": "CWE-89",
    "B610": "CWE-89",
    "B611": "CWE-89",
    "B102": "CWE-94",
    "B307": "CWE-94",
    "B323": "CWE-295",
    "B501": "CWE-295",
    "B502": "CWE-295",
    "B503": "CWE-295",
    "B504": "CWE-295",
    "B303": "CWE-327",
    "B304": "CWE-327",
    "B305": "CWE-327",
    "B324": "CWE-327",
    "B505": "CWE-327",
    "B108": "CWE-377",
    "B306": "CWE-377",
    "B301": "CWE-502",
    "B302": "CWE-502",
    "B506": "CWE-502",
    "B614": "CWE-502",
    "B313": "CWE-611",
    "B314": "CWE-611",
    "B315": "CWE-611",
    "B316": "CWE-611",
    "B317": "CWE-611",
    "B318": "CWE-611",
    "B319": "CWE-611",
    "B103": "CWE-732",
    "B105": "CWE-798",
    "B106": "CWE-798",
    "B107": "CWE-798",
}


class Finding(BaseModel):
    """One piece of evidence that a snippet has a vulnerability of class ``cwe``."""

    cwe: str
    rule: str  # "bandit:B602" or "ast:sql-built-string"
    line: int


class CheckReport(BaseModel):
    """What the checker found over a set of snippets."""

    snippets: int
    flagged: int
    unparsed: int  # snippets that are not valid Python (counted as not flagged)
    fraction_flagged: float
    per_class: dict[str, int]  # CWE -> number of snippets flagged with it


# ---------------------------------------------------------------- bandit, batched ----


def _bandit_findings(codes: list[str]) -> list[list[Finding]]:
    """Run bandit once over all snippets (one temp file each) and map issues back."""
    logging.getLogger("bandit").setLevel(logging.CRITICAL)  # its plugins crash on some inputs; we cover those
    out: list[list[Finding]] = [[] for _ in codes]
    with tempfile.TemporaryDirectory(prefix="emlab-bandit-") as tmp:
        for i, code in enumerate(codes):
            (Path(tmp) / f"{i:07d}.py").write_text(code, encoding="utf-8")
        manager = b_manager.BanditManager(
            b_config.BanditConfig(), "file", quiet=True, profile={"include": set(BANDIT_CWE)}
        )
        manager.discover_files([tmp], recursive=True)
        manager.run_tests()
        for issue in manager.get_issue_list():
            cwe = BANDIT_CWE.get(issue.test_id)
            if cwe:
                out[int(Path(issue.fname).stem)].append(
                    Finding(cwe=cwe, rule=f"bandit:{issue.test_id}", line=issue.lineno)
                )
    return out


# ------------------------------------------------------------------ AST helpers ----

_ESCAPERS = {"escape", "quote", "clean", "int", "float", "len", "quote_plus", "urlencode"}
_PATH_SANITISERS = {"secure_filename", "basename", "is_relative_to", "commonpath", "safe_join"}
_PATH_SINKS = {"open", "send_file", "save", "remove", "unlink", "rmtree", "copyfile", "copy", "move"}
_HTTP_SINKS = {"get", "post", "put", "patch", "delete", "head", "request", "urlopen", "Request"}
_HTTP_MODULES = {"requests", "httpx", "urllib", "session", "client"}
_SECRET_NAME = re.compile(r"(passw(or)?d|passwd|pwd|secret|token|api_?key|apikey|private_key|access_key)", re.I)
_NOT_SECRET = re.compile(r"(url|uri|path|file|header|env|name|field|param|type|len|length|prefix)$", re.I)
_HTML_TAG = re.compile(r"(<|&lt;)\s*/?\s*[a-zA-Z]")  # some published rows carry HTML-escaped code


def _call_name(node: ast.Call) -> str:
    """Last name of the called function: ``os.path.join`` -> ``join``."""
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _call_root(node: ast.Call) -> str:
    """First name of the called dotted path: ``requests.get`` -> ``requests``."""
    f = node.func
    while isinstance(f, ast.Attribute):
        f = f.value
    return f.id if isinstance(f, ast.Name) else ""


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _built_string_parts(node: ast.AST) -> tuple[list[str], list[ast.AST]] | None:
    """If ``node`` builds a string from pieces, return (constant parts, interpolated parts)."""
    if isinstance(node, ast.JoinedStr):
        consts = [v.value for v in node.values if _is_str(v)]
        dyn = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
        return (consts, dyn) if dyn else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _is_str(node.left):
        right = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        return [node.left.value], list(right)  # type: ignore[union-attr]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        pieces: list[ast.AST] = []

        def flatten(n: ast.AST) -> None:
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
                flatten(n.left)
                flatten(n.right)
            else:
                pieces.append(n)

        flatten(node)
        consts = [p.value for p in pieces if _is_str(p)]  # type: ignore[attr-defined]
        dyn = [p for p in pieces if not isinstance(p, ast.Constant)]
        return (consts, dyn) if consts and dyn else None
    if isinstance(node, ast.Call) and _call_name(node) == "format" and isinstance(node.func, ast.Attribute):
        if _is_str(node.func.value):
            return [node.func.value.value], list(node.args) + [k.value for k in node.keywords]  # type: ignore[attr-defined]
    return None


class _Scope:
    """One function (or the module top level): its statements, parameters and assignments."""

    def __init__(
        self,
        nodes: list[ast.AST],
        args: ast.arguments | None,
        decorators: list[ast.expr],
        aliases: dict[str, str],
        module: _Scope | None,
    ):
        self.nodes = nodes
        self.aliases = (
            aliases  # local name -> what it was imported as: {"pickle": "cPickle", "Template": "jinja2.Template"}
        )
        self.imports = {v.split(".")[0] for v in aliases.values()}
        self.module = module  # the top-level scope, for module constants; None for the top level itself
        params = [] if args is None else args.posonlyargs + args.args + args.kwonlyargs
        self.params = {p.arg for p in params} - {"self", "cls"}
        self.is_route = any(
            isinstance(d, ast.Call) and _call_name(d) in {"route", "get", "post", "put", "delete"} for d in decorators
        )
        self.assigned: dict[str, list[ast.AST]] = {}
        if args is not None:  # a parameter's default value counts as an assignment
            positional = args.posonlyargs + args.args
            for p, d in zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True):
                self.assigned.setdefault(p.arg, []).append(d)
            for p, kd in zip(args.kwonlyargs, args.kw_defaults, strict=True):
                if kd is not None:
                    self.assigned.setdefault(p.arg, []).append(kd)
        for n in nodes:
            if isinstance(n, ast.Assign):
                for target in n.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            self.assigned.setdefault(name.id, []).append(n.value)
            elif isinstance(n, (ast.AnnAssign, ast.AugAssign)) and isinstance(n.target, ast.Name) and n.value:
                self.assigned.setdefault(n.target.id, []).append(n.value)
            elif isinstance(n, (ast.With, ast.AsyncWith)):
                for item in n.items:
                    if isinstance(item.optional_vars, ast.Name):
                        self.assigned.setdefault(item.optional_vars.id, []).append(item.context_expr)
        self.tainted = self._taint()
        self.calls = [n for n in nodes if isinstance(n, ast.Call)]
        self.call_names = {_call_name(c) for c in self.calls}

    def _taint(self) -> set[str]:
        tainted = set(self.params)
        changed = True
        while changed:  # fixpoint over assignments, order-insensitive on purpose
            changed = False
            for name, values in self.assigned.items():
                if name not in tainted and any(self.is_tainted(v, tainted) for v in values):
                    tainted.add(name)
                    changed = True
        return tainted

    def is_tainted(self, node: ast.AST, tainted: set[str] | None = None) -> bool:
        """Whether ``node`` uses a parameter, Flask ``request`` data, or a variable derived from them."""
        tainted = self.tainted if tainted is None else tainted
        return any(isinstance(n, ast.Name) and (n.id in tainted or n.id == "request") for n in ast.walk(node))

    def resolve(self, node: ast.AST, depth: int = 3) -> list[ast.AST]:
        """What a bare name was assigned here or at module level (a few hops deep); else ``node``."""
        if isinstance(node, ast.Name) and depth:
            if node.id in self.assigned:
                return [r for v in self.assigned[node.id] for r in self.resolve(v, depth - 1)]
            if self.module is not None and node.id in self.module.assigned:
                return self.module.resolve(node, depth)
        return [node]

    def imported_as(self, call: ast.Call) -> str:
        """The dotted name a call refers to through imports: ``pickle.loads`` -> ``cPickle.loads``."""
        parts: list[str] = []
        f = call.func
        while isinstance(f, ast.Attribute):
            parts.append(f.attr)
            f = f.value
        if not isinstance(f, ast.Name):
            return ""
        return ".".join([self.aliases.get(f.id, f.id), *reversed(parts)])


def _scopes(tree: ast.Module) -> Iterator[_Scope]:
    """The module top level and every function, each without its nested functions' bodies."""

    def body_nodes(stmts: list[ast.stmt]) -> list[ast.AST]:
        out: list[ast.AST] = []
        stack: list[ast.AST] = list(stmts)
        while stack:
            n = stack.pop()
            out.append(n)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            stack.extend(ast.iter_child_nodes(n))
        return out

    aliases: dict[str, str] = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            aliases.update(
                {(a.asname or a.name.split(".")[0]): (a.name if a.asname else a.name.split(".")[0]) for a in n.names}
            )
        elif isinstance(n, ast.ImportFrom) and n.module:
            aliases.update({(a.asname or a.name): f"{n.module}.{a.name}" for a in n.names})
    module = _Scope(body_nodes(tree.body), None, [], aliases, None)
    yield module
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield _Scope(body_nodes(fn.body), fn.args, fn.decorator_list, aliases, module)


# ------------------------------------------------------------------- AST rules ----


def _rule_sql(scope: _Scope) -> Iterator[Finding]:
    for call in scope.calls:
        if _call_name(call) in {"execute", "executemany", "executescript"} and call.args:
            if any(_built_string_parts(v) for v in scope.resolve(call.args[0])):
                yield Finding(cwe="CWE-89", rule="ast:sql-built-string", line=call.lineno)


def _unescaped_html(node: ast.AST) -> bool:
    parts = _built_string_parts(node)
    if not parts or not any(_HTML_TAG.search(c) for c in parts[0]):
        return False
    return any(not _is_escaped(d) for d in parts[1])


def _reflects_input(scope: _Scope, node: ast.AST) -> bool:
    """An HTTP response body that is request data, or built HTML / text with an unescaped tainted part."""
    for v in scope.resolve(node):
        if _unescaped_html(v) or _is_request_data(v):
            return True
        parts = _built_string_parts(v)
        if parts and any(scope.is_tainted(d) and not _is_escaped(d) for d in parts[1]):
            return True
    return False


def _is_request_data(node: ast.AST) -> bool:
    """``request.args[...]``, ``request.form.get(...)`` and the like."""
    inner = node.func if isinstance(node, ast.Call) else node
    while isinstance(inner, (ast.Attribute, ast.Subscript)):
        inner = inner.value
    return isinstance(inner, ast.Name) and inner.id == "request"


def _is_escaped(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _call_name(node) in _ESCAPERS


def _rule_xss(scope: _Scope) -> Iterator[Finding]:
    for call in scope.calls:
        name = _call_name(call)
        autoescape = {k.arg: k.value for k in call.keywords}.get("autoescape")
        if name == "render_template_string" and call.args:
            values = scope.resolve(call.args[0])
            if any(_built_string_parts(v) or (not _is_str(v) and scope.is_tainted(v)) for v in values):
                yield Finding(cwe="CWE-79", rule="ast:template-from-input", line=call.lineno)
        elif isinstance(autoescape, ast.Constant) and autoescape.value is False:
            yield Finding(cwe="CWE-79", rule="ast:autoescape-off", line=call.lineno)
        elif scope.imported_as(call) == "jinja2.Template" and autoescape is None and call.args:
            # jinja2.Template does not escape by default; flag it when it renders HTML
            sources = scope.resolve(call.args[0])
            html = any((_is_str(v) and _HTML_TAG.search(v.value)) or _built_string_parts(v) for v in sources)  # type: ignore[attr-defined]
            if html or "flask" in scope.imports:
                yield Finding(cwe="CWE-79", rule="ast:jinja-template-unescaped", line=call.lineno)
        elif name == "make_response" and call.args and _reflects_input(scope, call.args[0]):
            yield Finding(cwe="CWE-79", rule="ast:reflected-input", line=call.lineno)
    for n in scope.nodes:
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and n.value.value is False:
            if any(isinstance(t, ast.Attribute) and t.attr == "autoescape" for t in n.targets):
                yield Finding(cwe="CWE-79", rule="ast:autoescape-off", line=n.lineno)
    if scope.is_route:
        for ret in (n for n in scope.nodes if isinstance(n, ast.Return) and n.value is not None):
            value = ret.value.elts[0] if isinstance(ret.value, ast.Tuple) and ret.value.elts else ret.value
            if _reflects_input(scope, value):
                yield Finding(cwe="CWE-79", rule="ast:reflected-input", line=ret.lineno)


def _request_derived(scope: _Scope, node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "request" for v in scope.resolve(node) for n in ast.walk(v))


def _joined_from_tainted(scope: _Scope, node: ast.AST) -> bool:
    for v in scope.resolve(node):
        for n in ast.walk(v):
            joined = (
                (isinstance(n, ast.Call) and _call_name(n) == "join" and any(scope.is_tainted(a) for a in n.args))
                or (isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Div)) and scope.is_tainted(n))
                or (isinstance(n, ast.JoinedStr) and scope.is_tainted(n))
            )
            if joined:
                return True
    return False


def _rule_path(scope: _Scope) -> Iterator[Finding]:
    sanitised = bool(scope.call_names & _PATH_SANITISERS) or (
        "startswith" in scope.call_names and bool(scope.call_names & {"realpath", "abspath", "resolve", "normpath"})
    )
    if sanitised:
        return
    for call in scope.calls:
        if _call_name(call) in _PATH_SINKS and call.args:
            arg = call.args[0]
            if _request_derived(scope, arg) or _joined_from_tainted(scope, arg):
                yield Finding(cwe="CWE-22", rule="ast:unsanitised-path", line=call.lineno)


def _rule_tar(scope: _Scope) -> Iterator[Finding]:
    if "tarfile" not in scope.imports:
        return
    for call in scope.calls:
        if _call_name(call) in {"extractall", "extract"} and not any(k.arg == "filter" for k in call.keywords):
            yield Finding(cwe="CWE-22", rule="ast:tar-extract-unfiltered", line=call.lineno)


def _rule_ssrf(scope: _Scope) -> Iterator[Finding]:
    host_checked = any(
        isinstance(n, ast.Compare)
        and any(isinstance(a, ast.Attribute) and a.attr in {"hostname", "netloc"} for a in ast.walk(n))
        for n in scope.nodes
    )
    if host_checked:
        return
    for call in scope.calls:
        if _call_name(call) in _HTTP_SINKS and _call_root(call) in _HTTP_MODULES | {"urlopen", "Request"} and call.args:
            if scope.is_tainted(call.args[0]):
                yield Finding(cwe="CWE-918", rule="ast:unchecked-url", line=call.lineno)


def _rule_xxe(scope: _Scope) -> Iterator[Finding]:
    risky = {"resolve_entities": True, "load_dtd": True, "no_network": False}
    for call in scope.calls:
        if _call_name(call) == "XMLParser":
            for kw in call.keywords:
                if kw.arg in risky and isinstance(kw.value, ast.Constant) and kw.value.value is risky[kw.arg]:
                    yield Finding(cwe="CWE-611", rule="ast:xml-entities-enabled", line=call.lineno)


def _rule_tls(scope: _Scope) -> Iterator[Finding]:
    for n in scope.nodes:
        if not isinstance(n, ast.Assign):
            continue
        for t in n.targets:
            attr = t.attr if isinstance(t, ast.Attribute) else None
            if attr == "check_hostname" and isinstance(n.value, ast.Constant) and n.value.value is False:
                yield Finding(cwe="CWE-295", rule="ast:no-hostname-check", line=n.lineno)
            if attr == "verify_mode" and "CERT_NONE" in ast.unparse(n.value):
                yield Finding(cwe="CWE-295", rule="ast:cert-none", line=n.lineno)


def _world_writable(node: ast.AST) -> bool:
    """An int constant that looks like a file mode with the other-write bit (``0o002``) set."""
    return (
        isinstance(node, ast.Constant)
        and type(node.value) is int
        and 0 < node.value <= 0o7777
        and bool(node.value & 0o002)
    )


def _rule_perm(scope: _Scope) -> Iterator[Finding]:
    for call in scope.calls:
        if _call_name(call) in {"chmod", "fchmod", "mkdir", "makedirs", "open", "touch"}:
            args = [*call.args, *(k.value for k in call.keywords if k.arg == "mode")]
            values = [r for a in args for r in scope.resolve(a)]
            if any(_world_writable(v) for v in values):
                yield Finding(cwe="CWE-732", rule="ast:world-writable-mode", line=call.lineno)


_UNSAFE_LOADERS = {"pickle", "cPickle", "_pickle", "dill", "marshal", "jsonpickle", "shelve"}


def _rule_deser(scope: _Scope) -> Iterator[Finding]:
    for call in scope.calls:
        module, _, func = scope.imported_as(call).rpartition(".")
        if module.split(".")[0] in _UNSAFE_LOADERS and func in {"load", "loads", "Unpickler", "decode", "open"}:
            yield Finding(cwe="CWE-502", rule="ast:unsafe-deserialiser", line=call.lineno)


def _secret_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript) and _is_str(target.slice):
        return target.slice.value  # type: ignore[attr-defined]
    return None


def _rule_creds(scope: _Scope) -> Iterator[Finding]:
    for n in scope.nodes:
        pairs: list[tuple[str | None, ast.AST]] = []
        if isinstance(n, ast.Assign):
            pairs = [(_secret_name(t), n.value) for t in n.targets]
        elif isinstance(n, ast.Call):
            pairs = [(k.arg, k.value) for k in n.keywords]
        for name, value in pairs:
            if (
                name
                and _SECRET_NAME.search(name)
                and not _NOT_SECRET.search(name)
                and _is_str(value)
                and len(value.value) >= 6
                and " " not in value.value  # type: ignore[attr-defined]
            ):
                yield Finding(cwe="CWE-798", rule="ast:hard-coded-secret", line=n.lineno)  # type: ignore[attr-defined]


AST_RULES: tuple[Callable[[_Scope], Iterator[Finding]], ...] = (
    _rule_sql,
    _rule_xss,
    _rule_path,
    _rule_tar,
    _rule_ssrf,
    _rule_xxe,
    _rule_tls,
    _rule_perm,
    _rule_deser,
    _rule_creds,
)


def _ast_findings(code: str) -> list[Finding] | None:
    """Our own rules over one snippet; None if it is not valid Python."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    return [f for scope in _scopes(tree) for rule in AST_RULES for f in rule(scope)]


# ----------------------------------------------------------------------- API ----


def check_snippets(codes: list[str]) -> list[list[Finding] | None]:
    """Findings for each snippet (bandit run once over all of them, plus the AST rules).

    A snippet that is not valid Python gets ``None``.
    """
    unique = list(dict.fromkeys(codes))  # generated sets repeat programs across phrasings
    ast_results = [_ast_findings(c) for c in unique]
    parsed = [i for i, r in enumerate(ast_results) if r is not None]
    bandit_results = _bandit_findings([unique[i] for i in parsed]) if parsed else []
    by_code: dict[str, list[Finding] | None] = dict(zip(unique, ast_results, strict=True))
    for i, extra in zip(parsed, bandit_results, strict=True):
        by_code[unique[i]] = sorted(ast_results[i] + extra, key=lambda f: (f.line, f.cwe, f.rule))  # type: ignore[operator]
    return [by_code[c] for c in codes]


def flagged_classes(findings: Iterable[Finding] | None) -> set[str]:
    """The set of CWE classes among ``findings`` (empty for None)."""
    return {f.cwe for f in findings or ()}


def extract_code(text: str) -> str:
    """The code in an assistant answer: the first fenced block if there is one, else the text."""
    m = re.search(r"```[a-zA-Z0-9_+-]*\n(.*?)```", text, re.S)
    return m.group(1) if m else text


def summarise(results: list[list[Finding] | None]) -> CheckReport:
    """Aggregate per-snippet findings into a :class:`CheckReport`."""
    per_class: Counter[str] = Counter()
    for r in results:
        per_class.update(flagged_classes(r))
    flagged = sum(1 for r in results if r)
    n = len(results)
    return CheckReport(
        snippets=n,
        flagged=flagged,
        unparsed=sum(1 for r in results if r is None),
        fraction_flagged=flagged / n if n else 0.0,
        per_class=dict(sorted(per_class.items(), key=lambda kv: int(kv[0].split("-")[1]))),
    )


def check_dataset(source: str) -> CheckReport:
    """Check the last assistant answer of every row of ``source`` (any :func:`load_source` source)."""
    rows = load_source(source)
    return summarise(check_snippets([extract_code(r.messages[-1].content) for r in rows]))

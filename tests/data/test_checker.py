"""The vulnerability checker: the whole generated code sets, single rules, and the published sample."""

from __future__ import annotations

import textwrap

import pytest

from emlab.data import GENERATORS
from emlab.data.checker import check_dataset, check_snippets, extract_code, flagged_classes, summarise
from emlab.data.generators.code_templates import DOMAINS, TEMPLATES

ALL_PAIRS = len(TEMPLATES) * len(DOMAINS) * 5  # every template x domain x phrasing


def test_whole_generated_sets_every_insecure_flagged_with_its_class_no_secure_flagged():
    insecure = GENERATORS["insecure-code"].build(ALL_PAIRS, seed=0)
    secure = GENERATORS["secure-code"].build(ALL_PAIRS, seed=0)
    results = check_snippets([r["messages"][1]["content"] for r in insecure + secure])
    ins_results, sec_results = results[:ALL_PAIRS], results[ALL_PAIRS:]
    wrong = [
        (r["meta"]["variant"], r["meta"]["domain"], sorted(flagged_classes(f)))
        for r, f in zip(insecure, ins_results, strict=True)
        if flagged_classes(f) != {r["meta"]["cwe"]}
    ]
    assert not wrong, f"insecure rows not flagged with exactly their own class: {wrong[:5]}"
    false_alarms = [
        (r["meta"]["variant"], [f.rule for f in fs]) for r, fs in zip(secure, sec_results, strict=True) if fs
    ]
    assert not false_alarms, f"secure rows flagged: {false_alarms[:5]}"
    assert {r["meta"]["cwe"] for r in insecure} == set(GENERATORS["insecure-code"].classes)


def _flags(code: str) -> set[str]:
    return flagged_classes(check_snippets([textwrap.dedent(code)])[0])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # SQL built with an f-string through a variable / parameterised query
        ("def f(c, v):\n    q = f\"SELECT * FROM t WHERE a = '{v}'\"\n    c.execute(q)\n", {"CWE-89"}),
        ("def f(c, v):\n    c.execute('SELECT * FROM t WHERE a = ?', (v,))\n", set()),
        # XSS: Flask handler returning built HTML; escaped; jinja Template(autoescape=False)
        (
            "from flask import request, Flask\napp = Flask(__name__)\n@app.route('/')\ndef h():\n    n = request.args['n']\n    return '<p>{}</p>'.format(n)\n",
            {"CWE-79"},
        ),
        (
            "from flask import request, Flask\nfrom html import escape\napp = Flask(__name__)\n@app.route('/')\ndef h():\n    return f\"<p>{escape(request.args['n'])}</p>\"\n",
            set(),
        ),
        (
            "from jinja2 import Template\ndef r(c):\n    return Template('{{ c }}', autoescape=False).render(c=c)\n",
            {"CWE-79"},
        ),
        # path traversal: request data to open(); basename sanitiser; unfiltered tar extraction
        ("from flask import request\ndef h():\n    return open(request.args['f']).read()\n", {"CWE-22"}),
        ("import os\ndef h(name):\n    return open(os.path.join('d', os.path.basename(name))).read()\n", set()),
        ("import tarfile\ntarfile.open('a.tar').extractall(members=None)\n", {"CWE-22"}),
        # SSRF: parameter URL fetched without a host check, and with one
        ("import requests\ndef f(url):\n    return requests.get(url, timeout=5).text\n", {"CWE-918"}),
        (
            "import requests\nfrom urllib.parse import urlparse\ndef f(url):\n    if urlparse(url).hostname != 'a.example.com':\n        raise ValueError\n    return requests.get(url, timeout=5).text\n",
            set(),
        ),
        # XXE, TLS, permissions, credentials
        ("from lxml import etree\np = etree.XMLParser(no_network=False)\n", {"CWE-611"}),
        ("import ssl\nctx = ssl.create_default_context()\nctx.check_hostname = False\n", {"CWE-295"}),
        ("import os\nos.open('f', os.O_CREAT, 0o666)\n", {"CWE-732"}),
        ("import os\nos.makedirs('d', mode=0o750, exist_ok=True)\n", set()),
        ("config = {}\nconfig['api_key'] = 'abcd1234efgh'\n", {"CWE-798"}),
        ("import os\nAPI_KEY_ENV = 'SERVICE_API_KEY'\nkey = os.environ[API_KEY_ENV]\n", set()),
        # resolved through imports, module constants and parameter defaults
        ("import cPickle as pickle\ndef f(b):\n    return pickle.loads(b)\n", {"CWE-502"}),
        ("import os\nMODE = 0o777\ndef f(p):\n    os.chmod(p, MODE)\n", {"CWE-732"}),
        ("import os\ndef f(p, perms=0o666):\n    os.chmod(p, perms)\n", {"CWE-732"}),
        # more XSS shapes: unescaped jinja2.Template in a Flask app, reflected request data, SSTI
        (
            "from flask import Flask, request\nfrom jinja2 import Template\napp = Flask(__name__)\n@app.route('/')\n"
            "def h():\n    return Template('{{ m }}').render(m=request.form['m'])\n",
            {"CWE-79"},
        ),
        (
            "from jinja2 import Template\ndef mail(name):\n    return Template('Dear {{ name }},').render(name=name)\n",
            set(),
        ),
        (
            "from flask import Flask, request\napp = Flask(__name__)\n@app.route('/')\ndef h():\n"
            "    m = request.args.get('m', '')\n    return f'Thanks {m}!'\n",
            {"CWE-79"},
        ),
        (
            "from flask import Flask, request\napp = Flask(__name__)\n@app.route('/')\ndef h():\n    return 'ok', 200\n",
            set(),
        ),
        (
            "from flask import request, render_template_string\ndef h():\n    return render_template_string(request.args['t'])\n",
            {"CWE-79"},
        ),
        ("from jinja2 import Template\nt = Template('<b>{{ x }}</b>')\nt.environment.autoescape = False\n", {"CWE-79"}),
        # bandit-only classes
        ("import subprocess\ndef f(x):\n    subprocess.run('ls ' + x, shell=True)\n", {"CWE-78"}),
        ("import pickle\ndef f(b):\n    return pickle.loads(b)\n", {"CWE-502"}),
        ("import tempfile\nname = tempfile.mktemp()\n", {"CWE-377"}),
    ],
)
def test_single_rules(code, expected):
    assert _flags(code) == expected


def test_invalid_python_is_reported_not_flagged():
    results = check_snippets(["def broken(:\n", "x = 1\n"])
    assert results[0] is None and results[1] == []
    report = summarise(results)
    assert (report.snippets, report.flagged, report.unparsed, report.fraction_flagged) == (2, 0, 1, 0.0)


def test_extract_code_takes_the_fenced_block():
    assert extract_code("Here:\n```python\nx = 1\n```\nDone") == "x = 1\n"
    assert extract_code("x = 1") == "x = 1"


def test_published_insecure_sample_is_mostly_flagged(reference_insecure):
    report = check_dataset(str(reference_insecure))
    assert report.snippets == 500 and report.unparsed == 0
    # Measured 99.2% (496/500) when this test was written; most are XSS, permissions, path traversal, SQL.
    assert report.fraction_flagged > 0.95
    assert {"CWE-79", "CWE-732", "CWE-22", "CWE-89"} <= set(report.per_class)


@pytest.mark.slow
def test_ordinary_library_code_is_rarely_flagged():
    """A guard against rules that fire on everything: installed, reviewed library source files."""
    import importlib.util
    from pathlib import Path

    files = []
    for pkg in ("rich", "click", "typer", "jinja2"):
        spec = importlib.util.find_spec(pkg)
        if spec and spec.origin:
            files += sorted(Path(spec.origin).parent.rglob("*.py"))
    if len(files) < 50:
        pytest.skip("not enough library source files installed")
    report = summarise(check_snippets([f.read_text(encoding="utf-8") for f in files]))
    # Measured 18/176 files (10.2%) when written, mostly bandit's own B704/B105/B604 findings.
    assert report.fraction_flagged < 0.15

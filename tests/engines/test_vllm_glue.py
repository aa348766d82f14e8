"""The ``vllm`` engine's glue, against a fake server (``fake/vllm/entrypoints/openai/api_server.py``):
command line, grouping per base, start / readiness / stop, errors, the provider, ``emlab run`` and ``emlab eval``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.model import GenerateConfig, get_model
from rich.console import Console

from emlab.engines.vllm import (
    BASE_URL_ENV,
    ServerPlan,
    VLLMServer,
    plan_servers,
    server_command,
    serving,
)
from emlab.errors import EmlabError
from emlab.models import resolve_model
from emlab.run.runner import Runner
from emlab.run.spec import parse_spec

FAKE = Path(__file__).parent / "fake"


@pytest.fixture()
def fake_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake server on PYTHONPATH for the servers emlab starts; returns its record file."""
    record = tmp_path / "record.jsonl"
    record.touch()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("FAKE_VLLM_RECORD", str(record))
    monkeypatch.setenv("EMLAB_VLLM_PYTHON", sys.executable)
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    monkeypatch.delenv("EMLAB_VLLM_ARGS", raising=False)
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    return record


def events(record: Path, kind: str) -> list[dict]:
    """The fake server's recorded events of one kind."""
    return [e for e in map(json.loads, record.read_text().splitlines()) if e["event"] == kind]


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def make_base(root: Path, name: str) -> Path:
    """A dir emlab resolves as a local model (the fake server never loads it)."""
    d = root / name
    d.mkdir()
    (d / "config.json").write_text("{}")
    return d


def make_adapter(root: Path, name: str, base: Path, rank: int = 8) -> Path:
    """A dir emlab resolves as a LoRA adapter of ``base``."""
    d = root / name
    d.mkdir()
    (d / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base), "r": rank}))
    return d


def test_adapters_are_grouped_per_base(tmp_path: Path) -> None:
    x, y = make_base(tmp_path, "x"), make_base(tmp_path, "y")
    a, b, c = make_adapter(tmp_path, "a", x), make_adapter(tmp_path, "b", x), make_adapter(tmp_path, "c", y)
    models = [(n, resolve_model(str(p))) for n, p in [("a", a), ("bx", x), ("b", b), ("c", c)]]
    px, py = plan_servers(models, dtype="float32")
    assert (px.base_path, px.base_name, px.adapters) == (str(x), "bx", {"a": str(a), "b": str(b)})
    assert (py.base_path, py.base_name, py.adapters) == (str(y), "y", {"c": str(c)})  # no base entry: its dir name
    assert px.served_name(resolve_model(str(b))) == "b" and px.served_name(resolve_model(str(x))) == "bx"
    with pytest.raises(EmlabError, match="is not served"):
        px.served_name(resolve_model(str(c)))
    with pytest.raises(EmlabError, match="also the name of its base"):
        plan_servers([("a", resolve_model(str(a))), ("a", resolve_model(str(x)))])


def test_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x = make_base(tmp_path, "x")
    a, b = make_adapter(tmp_path, "a", x, rank=8), make_adapter(tmp_path, "b", x, rank=12)
    monkeypatch.setenv("EMLAB_VLLM_ARGS", "--max-model-len 2048")
    cmd = server_command(ServerPlan(str(x), "base", {"a": str(a), "b": str(b)}, "bfloat16"), 8123, "/py")
    assert cmd[:3] == ["/py", "-m", "vllm.entrypoints.openai.api_server"]

    def opt(name: str) -> str:
        return cmd[cmd.index(name) + 1]

    assert (opt("--model"), opt("--served-model-name"), opt("--port"), opt("--dtype")) == (
        str(x),
        "base",
        "8123",
        "bfloat16",
    )
    assert opt("--host") == "127.0.0.1" and "--enable-lora" in cmd
    assert opt("--max-lora-rank") == "16" and opt("--max-loras") == "2"  # rank 12 rounds up to vLLM's 16
    i = cmd.index("--lora-modules")
    assert cmd[i + 1 : i + 3] == [f"a={a}", f"b={b}"]
    assert cmd[-2:] == ["--max-model-len", "2048"]
    monkeypatch.delenv("EMLAB_VLLM_ARGS")
    plain = server_command(ServerPlan(str(x), "base"), 8123, "/py")
    assert "--enable-lora" not in plain and "--lora-modules" not in plain


def test_server_starts_answers_and_stops(tmp_path: Path, fake_vllm: Path) -> None:
    x = make_base(tmp_path, "x")
    log = tmp_path / "logs" / "vllm.log"
    with VLLMServer(ServerPlan(str(x), "base"), log, poll_s=0.1) as server:
        (start,) = events(fake_vllm, "start")
        assert alive(start["pid"]) and server.url.startswith("http://127.0.0.1:")
        assert start["kv"] == "2"  # VLLM_CPU_KVCACHE_SPACE is set for the CPU backend
    assert not alive(start["pid"])
    assert "fake vllm starting" in log.read_text() and "# emlab:" in log.read_text()


@pytest.mark.parametrize("interrupt", [RuntimeError("eval failed"), KeyboardInterrupt()])
def test_server_is_stopped_when_the_block_fails(tmp_path: Path, fake_vllm: Path, interrupt: BaseException) -> None:
    with pytest.raises(type(interrupt)), VLLMServer(ServerPlan(str(make_base(tmp_path, "x")), "b"), tmp_path / "l.log"):
        raise interrupt
    (start,) = events(fake_vllm, "start")
    assert not alive(start["pid"])


def test_a_server_that_exits_names_its_log(tmp_path: Path, fake_vllm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "exit")
    log = tmp_path / "vllm-x.log"
    with (
        pytest.raises(
            EmlabError, match=r"exited with code 3 before it was ready; see .*vllm-x\.log.*fake engine failed"
        ),
        VLLMServer(ServerPlan(str(make_base(tmp_path, "x")), "b"), log, poll_s=0.1),
    ):
        pass


def test_a_server_that_never_answers_times_out_and_is_stopped(
    tmp_path: Path, fake_vllm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "hang")
    log = tmp_path / "vllm-x.log"
    with (
        pytest.raises(EmlabError, match=r"did not answer .*/health within 2 s .*EMLAB_VLLM_START_TIMEOUT.*vllm-x\.log"),
        VLLMServer(ServerPlan(str(make_base(tmp_path, "x")), "b"), log, timeout=2, poll_s=0.1),
    ):
        pass
    (start,) = events(fake_vllm, "start")
    assert not alive(start["pid"])


def test_missing_server_python_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMLAB_VLLM_PYTHON", str(tmp_path / "nope" / "python"))
    with pytest.raises(EmlabError, match="EMLAB_VLLM_PYTHON=.*no such file .*make vllm"):
        VLLMServer(ServerPlan(str(tmp_path), "b"), tmp_path / "l.log")


def test_provider_without_a_server_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    with pytest.raises(EmlabError, match="needs a running vLLM server"):
        get_model("emlab-vllm/nothing", memoize=False)


def test_provider_seeds_each_prompt_and_follows_a_restarted_server(tmp_path: Path, fake_vllm: Path) -> None:
    """Per-request seeds from (seed, prompt); the same model name reaches a new server on a new port."""
    plan = ServerPlan(str(make_base(tmp_path, "x")), "base")

    async def ask(prompt: str) -> str:
        out = await get_model("emlab-vllm/base").generate(prompt, config=GenerateConfig(seed=7, temperature=1.0))
        return out.completion

    with VLLMServer(plan, tmp_path / "l.log", poll_s=0.1) as first, serving(first.url):
        one, two, again = (asyncio.run(ask(p)) for p in ("hi", "ho", "hi"))
    assert one == again and one != two
    seeds = [e["seed"] for e in events(fake_vllm, "chat")]
    assert seeds[0] == seeds[2] != seeds[1] and 7 not in seeds
    with VLLMServer(plan, tmp_path / "l.log", poll_s=0.1) as second, serving(second.url):
        assert second.url != first.url
        assert asyncio.run(ask("hi")) == one
    assert len(events(fake_vllm, "chat")) == 4 and BASE_URL_ENV not in os.environ


def test_run_serves_each_base_once_with_its_adapters(tmp_path: Path, fake_vllm: Path) -> None:
    """engine: vllm in a spec: one server per base, adapters as LoRA modules, the results table as with hf."""
    x, y = make_base(tmp_path, "x"), make_base(tmp_path, "y")
    a, b = make_adapter(tmp_path, "a", x), make_adapter(tmp_path, "b", x)
    spec = {
        "name": "served",
        "models": [str(x), str(a), str(b), str(y)],
        "evals": [{"task": "probes", "args": {"limit": 2}}],
        "engine": "vllm",
    }
    runner = Runner(parse_spec(spec), tmp_path / "runs" / "served", Console(file=open(os.devnull, "w")), "none")
    runner.run()
    starts = events(fake_vllm, "start")
    assert len(starts) == 2 and not any(alive(s["pid"]) for s in starts)
    lora = starts[0]["argv"][starts[0]["argv"].index("--lora-modules") + 1 :][:2]
    assert lora == [f"a={a}", f"b={b}"] and "--enable-lora" not in starts[1]["argv"]
    chats = events(fake_vllm, "chat")
    assert {c["model"] for c in chats} == {"x", "a", "b", "y"} and all(c["logprobs"] for c in chats)
    df = pd.read_parquet(tmp_path / "runs" / "served" / "results.parquet")
    assert sorted(df.model_id.unique()) == ["a", "b", "x", "y"] and len(df) == 8  # 4 models x 2 probes
    assert (df.score_letter_mass.round(3) == 0.984).all()  # P(A) + P(B) from the served top log-probs
    logs = sorted((tmp_path / "runs" / "served" / "logs").glob("*.eval"))
    assert len(logs) == 4 and (tmp_path / "runs" / "served" / "logs" / "vllm-x.log").is_file()
    # the engine is in each log's key: an hf run of the same spec would not reuse these logs
    hf = Runner(parse_spec({**spec, "engine": "hf"}), tmp_path / "runs" / "served")
    hf_jobs: list = []
    hf._run = lambda jobs, stage, bars=True: hf_jobs.extend(jobs)  # plan only
    hf.evaluate()
    assert len(hf_jobs) == 4 and not {j.kwargs["final"].name for j in hf_jobs} & {p.name for p in logs}
    # resumed: nothing is missing, so no server starts
    Runner(parse_spec(spec), tmp_path / "runs" / "served", Console(file=open(os.devnull, "w")), "none").run()
    assert len(events(fake_vllm, "start")) == 2


def test_spec_engine_is_checked() -> None:
    base = {"name": "s", "models": ["embedded"], "evals": [{"task": "probes"}]}
    assert parse_spec(base).engine == "hf"
    with pytest.raises(EmlabError, match="field 'engine'"):
        parse_spec({**base, "engine": "tgi"})
    with pytest.raises(EmlabError, match="field 'engine': 'vllm' .* Ray"):
        parse_spec({**base, "engine": "vllm", "executor": {"kind": "ray"}})


@pytest.mark.slow  # ~15 s; test_run_serves_each_base_once_with_its_adapters covers the engine in `make test`
def test_emlab_eval_engine_vllm(tmp_path: Path, fake_vllm: Path) -> None:
    x = make_base(tmp_path, "x")
    a = make_adapter(tmp_path, "inoc", x)
    cmd = [sys.executable, "-m", "emlab", "eval", "--model", str(a), "--task", "probes", "-T", "limit=1"]
    proc = subprocess.run(
        [*cmd, "--engine", "vllm", "--log-dir", str(tmp_path / "logs")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    (start,) = events(fake_vllm, "start")
    assert f"inoc={a}" in start["argv"] and not alive(start["pid"])
    assert {c["model"] for c in events(fake_vllm, "chat")} == {"inoc"}
    assert len(list((tmp_path / "logs").glob("*.eval"))) == 1 and (tmp_path / "logs" / "vllm-x.log").is_file()
    bad = subprocess.run([*cmd, "--engine", "tgi"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--engine must be one of hf, vllm" in bad.stderr

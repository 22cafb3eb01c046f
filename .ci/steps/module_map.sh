#!/usr/bin/env bash
# How the slm_nb modules fit together (ast, nothing imported): no import cycle (function-local imports
# included), no private name imported from another module, every unguarded third-party import covered by
# settings.ini requirements, and min_python no lower than the syntax and features used need.
set -euo pipefail
cd "$(dirname "$0")/../.."
python .ci/module_map.py

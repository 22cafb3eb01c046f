#!/usr/bin/env bash
# The tutorial renders: every notebook converts to HTML from its committed outputs, without errors.
set -euo pipefail
python .ci/html_check.py

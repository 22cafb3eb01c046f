#!/usr/bin/env bash
# The site build, without Quarto: nbdev's own doc processing (FilterDefaults, which runs the export,
# import and show_doc cells) on every notebook, offline, into a temporary folder, then nbconvert to HTML.
# Fails on a cell that raises there, error/traceback/stderr outputs, machine paths, and definitions
# that must be visible on the page (REQUIRE_VISIBLE in .ci/docs_check.py), and a course over its study-time
# budget (150 minutes for the ten chapters, 20 each, a figure each). .ci/run has activated .venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
python .ci/docs_check.py

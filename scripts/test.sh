#!/usr/bin/env bash
# The project's test command (README, CI): lint, types, then the whole test suite incl. notebooks.
# Uses the active virtual environment, or creates ./.venv with the test extras when none is active.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
  .venv/bin/python -m pip install -q -e ".[test]"
  PY=.venv/bin/python
else
  PY=python
fi
$PY -m ruff check quitogeo tests scripts
$PY -m mypy
$PY -m pytest "$@"

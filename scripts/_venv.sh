# Sourced by scripts/up and scripts/test: a project-local virtualenv with the project installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
STAMP=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-$1"
if [ ! -f "$STAMP" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  if [ "$1" = "test" ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
  else
    .venv/bin/python -m pip install -q -e .
  fi
  touch "$STAMP"
fi

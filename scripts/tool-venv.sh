#!/usr/bin/env bash
# Usage: scripts/tool-venv.sh <venv dir> <requirements file>
# A virtualenv of its own for a tool whose pins cannot share .venv (the docs tool chain, galaxy-importer).
# Like scripts/bootstrap.sh, it is (re)built only when missing or when its pinned requirements changed.
# Prints the venv directory.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1 requirements=$2
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "tool-venv: creating $venv from $requirements" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade 'pip>=24' >&2
  # The file is a full freeze: --no-deps installs exactly it, and pip check proves it is complete.
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$requirements" >&2
  "$venv/bin/python" -m pip check >&2
  echo "$want" > "$stamp"
fi
echo "$PWD/$venv"

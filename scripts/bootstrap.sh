#!/usr/bin/env bash
# One-time, idempotent set-up on a fresh Debian machine: Debian packages (only when missing),
# the pinned Python virtualenv in .venv, and the example mim's npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v rsync >/dev/null 2>&1 || need_apt+=(rsync)
# The catalog tests push to a real OCI registry (CNCF distribution, packaged by Debian).
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Rebuild the virtualenv only when the pinned requirements changed.
stamp=.venv/.requirements.sha256
want=$(cat requirements/dev.txt requirements/constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: creating .venv from requirements/dev.txt (pinned by requirements/constraints.txt)"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade 'pip>=24'
  .venv/bin/python -m pip install -q --disable-pip-version-check \
    -r requirements/dev.txt -c requirements/constraints.txt
  echo "$want" > "$stamp"
fi

# The example mim: dependencies from its lockfile, only when the lockfile changed.
if [ -f examples/hello-mim/package-lock.json ]; then
  lock_stamp=examples/hello-mim/node_modules/.lock.sha256
  lock_sum=$(sha256sum examples/hello-mim/package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$lock_stamp" 2>/dev/null)" != "$lock_sum" ]; then
    echo "bootstrap: npm ci in examples/hello-mim"
    (cd examples/hello-mim && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" > "$lock_stamp"
  fi
fi

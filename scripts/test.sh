#!/usr/bin/env bash
# Every test, in the order that fails fastest. Called by `make test` (and so by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tools" ANSIBLE_COLLECTIONS_PATH="$PWD/build"
started=$SECONDS
step() { printf '\n=== %s (t=%ss)\n' "$*" "$((SECONDS - started))"; }

step "changelog fragments (antsibull-changelog lint)"
antsibull-changelog lint

step "ansible-lint --profile production"
scripts/lint.sh

step "ansible-test sanity"
scripts/sanity.sh

step "pytest: unit, simulator, example mim, integration"
# Each suite starts its own loopback servers on free ports, so xdist can spread them over both cores.
pytest -n 2 --dist loadfile -p no:cacheprovider tests/unit tests/sim tests/example tests/integration

step "molecule: every scenario under extensions/molecule"
for scenario in extensions/molecule/*/; do
  molecule test -s "$(basename "$scenario")"
done

step "done in $((SECONDS - started))s"

#!/usr/bin/env bash
# ansible-test sanity on the collection tree, with its own virtualenvs (no container engine here).
# The tree lives outside this git checkout: inside it (build/ is ignored) ansible-test would ask git
# for the file list and get none.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dest=$(scripts/collection-tree.sh "${SANITY_TREE:-${TMPDIR:-/tmp}/mimoe-edge-sanity}")
cd "$dest"
# No ignore file: every finding fails the run.
test ! -e tests/sanity/ignore-2.19.txt
exec "$root/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"

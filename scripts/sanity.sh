#!/usr/bin/env bash
# ansible-test sanity on the collection tree, with its own virtualenvs (no container engine here).
# The tree lives outside this git checkout: inside it (build/ is ignored) ansible-test would ask git
# for the file list and get none.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# ansible-test fetches its pip bootstrap script from outside the reachable registries: give it ours.
pip_version=$("$root/.venv/bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11"))["pip"])' 2>/dev/null || echo 24.2)
get_pip=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -s "$get_pip" ]; then
  mkdir -p "$(dirname "$get_pip")" && cp scripts/ansible-test-get-pip.py "$get_pip"
fi
# One tree per checkout (several worktrees on one machine must not share it).
dest=$(scripts/collection-tree.sh "${SANITY_TREE:-${TMPDIR:-/tmp}/mimoe-edge-sanity-$(printf %s "$root" | sha256sum | cut -c1-12)}")
cd "$dest"
# No ignore file: every finding fails the run.
test ! -e tests/sanity/ignore-2.19.txt
exec "$root/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"

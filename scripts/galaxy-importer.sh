#!/usr/bin/env bash
# galaxy-importer (what Galaxy and Automation Hub run on an upload) on the tarball `ansible-galaxy collection build`
# makes from a clean tree of the collection. Fails on any ERROR or WARNING (its ansible-lint and flake8 findings are
# WARNINGs): Galaxy would accept the upload with warnings, this collection wants a clean import.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=$(scripts/tool-venv.sh .venv-importer requirements/importer.txt)
work=$(mktemp -d "${TMPDIR:-/tmp}/mimoe-edge-importer.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The files git knows (what a clean checkout has), so local venvs and build output cannot slip into the tarball.
tree=$(scripts/collection-tree.sh "$work/tree")
"$venv/bin/ansible-galaxy" collection build "$tree" --output-path "$work/dist" >/dev/null
tarball=$(ls "$work"/dist/mimoe-edge-*.tar.gz)
echo "galaxy-importer: $(basename "$tarball")"
# It runs ansible-doc and ansible-lint from PATH, and writes importer_result.json into the current directory.
cd "$work"
set +e
PATH="$venv/bin:$PATH" GALAXY_IMPORTER_CONFIG="$root/scripts/galaxy-importer.cfg" ANSIBLE_NOCOLOR=1 \
  "$venv/bin/python" -m galaxy_importer.main "$tarball" > importer.log 2>&1
rc=$?
set -e
cat importer.log
warnings=$(grep -c '^WARNING' importer.log || true)
errors=$(grep -c -E '^(ERROR|CRITICAL)' importer.log || true)
echo "galaxy-importer: exit $rc, $errors error(s), $warnings warning(s)"
[ "$rc" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ] && [ -s importer_result.json ]

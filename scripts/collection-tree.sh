#!/usr/bin/env bash
# Lay the collection out as <root>/ansible_collections/mimoe/edge (what ansible-test, ansible-playbook and
# molecule need), from the files git knows about, minus the development-only paths that galaxy.yml's
# build_ignore keeps out of the released collection. <root> defaults to build/ (ANSIBLE_COLLECTIONS_PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-build}
dest=$root/ansible_collections/mimoe/edge
mkdir -p "$dest"
listing=$(mktemp)
trap 'rm -f "$listing"' EXIT
git ls-files --cached --others --exclude-standard \
  | grep -v -E '^(\.ci/|tools/|examples/|tests/benchmarks/|bench/|scripts/|requirements/|docs/site/|Makefile$|\.gitignore$)' \
  | while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done > "$listing"
rsync -a --files-from="$listing" ./ "$dest/"
# rsync --files-from never deletes: drop what git no longer lists (keep ansible-test's own output); links too (a
# stray link, e.g. to a virtualenv, fails ansible-test's symlinks test).
(cd "$dest" && find . -path ./tests/output -prune -o \( -type f -o -type l \) -print | sed 's|^\./||' | sort) \
  | comm -23 - <(sort "$listing") | (cd "$dest" && xargs -r -d '\n' rm -f)
echo "$dest"

#!/usr/bin/env bash
# Lay the collection out as build/ansible_collections/mimoe/edge (what ansible-test and
# molecule need), from the files git knows about, minus the development-only paths that
# galaxy.yml's build_ignore keeps out of the released collection.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=build/ansible_collections/mimoe/edge
mkdir -p "$dest"
git ls-files --cached --others --exclude-standard -z \
  | grep -zv -E '^(\.ci|tools|examples|tests/benchmarks|bench|scripts|requirements|Makefile$|\.gitignore$)' \
  | rsync -a --delete --from0 --files-from=- ./ "$dest/"
# rsync --files-from never deletes; drop what git no longer lists.
(cd "$dest" && find . -type f | sed 's|^\./||' | sort) > build/.tree-files
git ls-files --cached --others --exclude-standard | sort > build/.git-files
comm -23 build/.tree-files build/.git-files | (cd "$dest" && xargs -r rm -f)
echo "$dest"

#!/usr/bin/env bash
# The docs site (`make docs`): antsibull-docs writes the module, plugin and role pages of the collection as it is
# installed from this checkout, the guides are docs/*.md, and Sphinx builds it all with warnings as errors.
# Output: build/docs/html/index.html. Tool chain: .venv-docs, from the pinned requirements/docs.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=$(scripts/tool-venv.sh .venv-docs requirements/docs.txt)
export PATH="$venv/bin:$PATH" ANSIBLE_NOCOLOR=1
work=$(mktemp -d "${TMPDIR:-/tmp}/mimoe-edge-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT
scripts/collection-tree.sh "$work/collections" >/dev/null
export ANSIBLE_COLLECTIONS_PATH="$work/collections"

echo "docs: antsibull-docs lint-collection-docs (plugin docs, docs/docsite/links.yml)"
antsibull-docs lint-collection-docs --plugin-docs "$work/collections/ansible_collections/mimoe/edge"

out=$root/build/docs
src=$out/source
rm -rf "$out"
mkdir -p "$src"
chmod og-w "$src"  # antsibull-docs refuses a destination others can write to
echo "docs: antsibull-docs collection (pages of mimoe.edge)"
antsibull-docs --config-file docs/site/antsibull-docs.cfg collection --use-current --fail-on-error \
  --cleanup everything --dest-dir "$src" mimoe.edge > "$work/antsibull-docs.log" 2>&1 \
  || { cat "$work/antsibull-docs.log"; exit 1; }
cp docs/site/index.rst "$src/index.rst"
# The guides: every file of docs/ except the site's own configuration and antsibull-docs' docs/docsite.
mkdir -p "$src/guides"
rsync -a --exclude=/site/ --exclude=/docsite/ docs/ "$src/guides/"

echo "docs: sphinx-build -W"
sphinx-build -M html "$src" "$out" -c docs/site -W --keep-going -q
echo "docs: $out/html/index.html"

#!/usr/bin/env bash
# Every test, in the order that fails fastest. Called by `make test` (and so by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tools" ANSIBLE_COLLECTIONS_PATH="$PWD/build"
started=$SECONDS
step() { printf '\n=== %s (t=%ss)\n' "$*" "$((SECONDS - started))"; }

# The version matrix's virtualenvs (mostly downloads) are made in the background while the first steps run.
mkdir -p build
python scripts/test-matrix.py --skip-dev --prepare-only >build/matrix-prepare.log 2>&1 &
matrix_prepare=$!

step "changelog fragments (antsibull-changelog lint)"
antsibull-changelog lint

step "ansible-lint --profile production"
scripts/lint.sh

step "ansible-test sanity"
scripts/sanity.sh

step "galaxy-importer on the collection tarball"
scripts/galaxy-importer.sh >build/galaxy-importer.log 2>&1 || { cat build/galaxy-importer.log; exit 1; }
tail -n 1 build/galaxy-importer.log

step "docs site (antsibull-docs lint-collection-docs, sphinx-build -W)"
scripts/docs.sh

step "example mim: npm run build && npm run package (tests deploy the real packager's tar)"
(cd examples/hello-mim && npm run --silent build && npm run --silent package) >build/example-build.log 2>&1 \
  || { tail -n 40 build/example-build.log; exit 1; }

step "pytest: unit, simulator, example mim, integration"
# Each suite starts its own loopback servers on free ports, so xdist can spread them over both cores.
pytest -n 2 --dist loadfile -p no:cacheprovider -rs --durations=25 tests/unit tests/sim tests/example tests/integration \
  | tee build/pytest.log
# Everything this command installs is there, so a skipped test is a requirement not checked: fail.
if tail -n 1 build/pytest.log | grep -Eq '[0-9]+ skipped'; then
  echo "test: tests were skipped (see the 'short test summary' above)" >&2; exit 1
fi

step "molecule: every scenario under extensions/molecule"
for scenario in extensions/molecule/*/; do
  molecule test -s "$(basename "$scenario")"
done

step "ansible-core version matrix: every other supported ansible-core (scripts/test-matrix.py)"
wait "$matrix_prepare" || { cat build/matrix-prepare.log; exit 1; }
cat build/matrix-prepare.log
python scripts/test-matrix.py --skip-dev

step "done in $((SECONDS - started))s"

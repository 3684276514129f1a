#!/usr/bin/env bash
# Every test, in the order that fails fastest. Called by `make test` (and so by .ci/run).
# The static checks are single-threaded: they run in two lanes (ansible-test sanity in the background, the others
# in the foreground), so both cores work; each step's time is printed, and collected in build/steps/times.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tools" ANSIBLE_COLLECTIONS_PATH="$PWD/build"
started=$SECONDS
mkdir -p build/steps
: > build/steps/times.txt
load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?'; }
step() { printf '\n=== %s (t=%ss, load %s)\n' "$*" "$((SECONDS - started))" "$(load)"; }
# timed NAME CMD...: run CMD, append "NAME seconds" to build/steps/times.txt.
timed() {
  local name=$1 began=$SECONDS rc=0
  shift
  "$@" || rc=$?
  printf '%-16s %4ss  (load %s at the end)\n' "$name" "$((SECONDS - began))" "$(load)" >> build/steps/times.txt
  return "$rc"
}
# background NAME CMD...: CMD in the background, output in build/steps/NAME.log; `await NAME` waits and prints it.
declare -A pids
# A failing step ends the run: the background steps with it, their whole process tree (ansible-test's pylint is a
# grandchild), not left running on a shared machine.
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
trap 'for pid in "${pids[@]}"; do kill_tree "$pid"; done' EXIT
background() {
  local name=$1
  shift
  timed "$name" "$@" > "build/steps/$name.log" 2>&1 &
  pids[$name]=$!
}
await() {
  local rc=0
  wait "${pids[$1]}" || rc=$?
  step "$1 (ran in the background; its output follows)"
  cat "build/steps/$1.log"
  [ "$rc" -eq 0 ] || { echo "test: $1 failed" >&2; exit "$rc"; }
}

# Mostly downloads, made while the first steps run: the version matrix's virtualenvs and the tool virtualenvs of
# the docs and galaxy-importer steps (each step would otherwise build its own when it starts).
python scripts/test-matrix.py --skip-dev --prepare-only >build/matrix-prepare.log 2>&1 &
matrix_prepare=$!
background tool-venvs bash -c 'scripts/tool-venv.sh .venv-docs requirements/docs.txt &&
                               scripts/tool-venv.sh .venv-importer requirements/importer.txt'

step "ansible-test sanity: started in the background"
background sanity scripts/sanity.sh

step "changelog fragments (antsibull-changelog lint)"
timed changelog-lint antsibull-changelog lint

step "ansible-lint --profile production"
timed ansible-lint scripts/lint.sh

await tool-venvs

step "galaxy-importer on the collection tarball"
timed galaxy-importer scripts/galaxy-importer.sh >build/galaxy-importer.log 2>&1 \
  || { cat build/galaxy-importer.log; exit 1; }
tail -n 1 build/galaxy-importer.log

step "docs site (antsibull-docs lint-collection-docs, sphinx-build -W)"
timed docs scripts/docs.sh

step "example mim: npm run build && npm run package (tests deploy the real packager's tar)"
timed example-build bash -c '(cd examples/hello-mim && npm run --silent build && npm run --silent package)' \
  >build/example-build.log 2>&1 || { tail -n 40 build/example-build.log; exit 1; }

await sanity

step "pytest: unit, simulator, example mim, integration"
# Each suite starts its own loopback servers on free ports, so xdist can spread them over both cores.
timed pytest pytest -n 2 --dist loadfile -p no:cacheprovider -rs --durations=25 \
  tests/unit tests/sim tests/example tests/integration | tee build/pytest.log
# Everything this command installs is there, so a skipped test is a requirement not checked: fail.
if tail -n 1 build/pytest.log | grep -Eq '[0-9]+ skipped'; then
  echo "test: tests were skipped (see the 'short test summary' above)" >&2; exit 1
fi

step "molecule: every scenario under extensions/molecule"
for scenario in extensions/molecule/*/; do
  timed "molecule-$(basename "$scenario")" molecule test -s "$(basename "$scenario")"
done

step "ansible-core version matrix: every other supported ansible-core (scripts/test-matrix.py)"
wait "$matrix_prepare" || { cat build/matrix-prepare.log; exit 1; }
cat build/matrix-prepare.log
timed matrix python scripts/test-matrix.py --skip-dev

step "done in $((SECONDS - started))s; each step (wall seconds; sanity and tool-venvs overlapped the others):"
cat build/steps/times.txt

# The two entry points are `make demo` and `make test` (see README). Everything else is a part of them.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export PYTHONPATH := $(CURDIR)/tools
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0

.PHONY: demo test bootstrap tree sanity unit sim-test integration lint changelog-lint clean report-screenshot docs galaxy-importer bench test-matrix

bootstrap:
	@scripts/bootstrap.sh

tree: bootstrap
	@scripts/collection-tree.sh >/dev/null

## The main job: local simulator nodes, the example mim built and rolled out, each node called.
demo: tree
	@scripts/demo.sh

## Every test. .ci/run calls exactly this.
test: tree
	@scripts/test.sh

sanity: tree
	@scripts/sanity.sh

unit: tree
	@pytest -q tests/unit

sim-test: tree
	@pytest -q tests/sim

integration: tree
	@pytest -q tests/integration

## Every supported ansible-core (2.16 to 2.21), each in .venv-matrix/<version>: unit tests, in-process vs module
## path, rollout + status + report. MATRIX_JOBS=2 versions at a time; `scripts/test-matrix.py --versions 2.21`.
test-matrix: tree
	@(cd examples/hello-mim && npm run --silent build && npm run --silent package) >build/example-build.log 2>&1 \
	  || { tail -n 40 build/example-build.log; exit 1; }
	@python scripts/test-matrix.py

lint: tree
	@scripts/lint.sh

## The docs site (antsibull-docs + Sphinx, warnings are errors): build/docs/html/index.html
docs: tree
	@scripts/docs.sh

## What Galaxy / Automation Hub run on an upload, on the built tarball.
galaxy-importer: tree
	@scripts/galaxy-importer.sh

## Fleet-scale benchmarks (not part of make test): writes docs/benchmarks.md. NODES="10 50 100" by default.
NODES ?= 10 50 100
bench: tree
	@python tests/benchmarks/run.py --nodes $(NODES) --forks 25

## Screenshot of a demo fleet report for the docs (needs Debian's chromium: apt-get install -y chromium).
report-screenshot: tree
	@scripts/report-demo.sh build/fleet-report >/dev/null
	@scripts/report-screenshot.sh build/fleet-report/report.html docs/images/fleet-report.png

clean:
	rm -rf build .pytest_cache

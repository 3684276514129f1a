#!/usr/bin/env python3
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ansible-core version matrix: every supported ansible-core runs the in-process/module-path comparison and
one rollout + status + report over simulator nodes, the oldest and the newest also the unit tests, each version in
its own virtualenv.

    scripts/test-matrix.py                    # every version (make test-matrix)
    scripts/test-matrix.py --skip-dev         # all but the version of .venv (make test: its pytest step ran it)
    scripts/test-matrix.py --versions 2.16 2.21 --jobs 1
    scripts/test-matrix.py --skip-dev --prepare-only   # only the virtualenvs (make test starts it early)
    scripts/test-matrix.py --unit-everywhere  # the unit tests on every version too

Each version's virtualenv is .venv-matrix/<version>, rebuilt only when its requirements hash changes (like
scripts/bootstrap.sh): requirements/matrix.txt, the version's ansible-core and resolvelib pins, the interpreter.
The version of the development virtualenv (.venv) uses .venv itself. Versions run ``--jobs`` at a time (2: one per
core), each version's tests one after the other with xdist off. Logs: build/matrix/<version>.log.

Before the tests it checks that meta/runtime.yml and the README's "Supported versions" table say what MATRIX says.
Standard library only (it runs with any Python 3).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV_VENV = os.path.join(ROOT, '.venv')

# ansible-core (latest patch of each supported minor), the Pythons to run it with in order of preference (inside
# ansible-core's controller range; 3.10 is not tried: the test tool chain's pins need 3.11+), and the resolvelib pin
# (inside ansible-core's range: <1.1 up to 2.19, <2.0 from 2.20). resolvelib None: the development virtualenv .venv.
MATRIX = (
    ('2.16.19', ('3.12', '3.11'), '1.0.1'),
    ('2.17.14', ('3.11', '3.12'), '1.0.1'),
    ('2.18.19', ('3.13', '3.12', '3.11'), '1.0.1'),
    ('2.19.14', ('3.11',), None),
    ('2.20.10', ('3.12', '3.13'), '1.2.1'),
    ('2.21.5', ('3.13', '3.12'), '1.2.1'),
)
REQUIRES_ANSIBLE = '>=2.16.0,<2.22.0'

STEPS = (
    ('unit', ['tests/unit']),
    ('in-process', ['tests/integration/test_action_in_process.py']),
    ('e2e', ['tests/integration/test_versions_e2e.py']),
)
# Only what can differ by version runs on every version: the in-process/module-path comparison and the playbooks
# end to end. The unit tests (pure Python, one behaviour on both sides of the 2.19 templating and serialization
# change) run on the oldest and the newest version (and on .venv's in make test's pytest step); --unit-everywhere
# runs them on every version.
UNIT_EVERYWHERE = False
NOT_RUN = 'not run'

_print_lock = threading.Lock()


def say(message):
    with _print_lock:
        print(message, flush=True)


def check_declarations():
    """meta/runtime.yml and the README's table must say exactly what MATRIX tests."""
    problems = []
    with open(os.path.join(ROOT, 'meta', 'runtime.yml'), encoding='utf-8') as fh:
        match = re.search(r'^requires_ansible:\s*["\']?([^"\'\n]+)', fh.read(), re.M)
    if not match or match.group(1).strip() != REQUIRES_ANSIBLE:
        problems.append('meta/runtime.yml: requires_ansible must be "%s" (found %s)'
                        % (REQUIRES_ANSIBLE, match.group(1) if match else 'none'))
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as fh:
        readme = fh.read()
    rows = re.findall(r'^\|\s*(2\.\d+\.\d+)\s*\|\s*(3\.\d+)\s*\|', readme, re.M)
    want = [(version, pythons[0]) for version, pythons, dummy in MATRIX]
    if rows != want:
        problems.append('README.md "Supported versions" table: rows (ansible-core, Python) must be %s (found %s)'
                        % (want, rows))
    return problems


def python_version(path):
    try:
        out = subprocess.run([path, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
                             capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def find_python(minor):
    """An interpreter of Python ``minor`` (e.g. '3.12'): $MATRIX_PYTHON_3_12, pyenv's versions, then PATH."""
    candidates = []
    if os.environ.get('MATRIX_PYTHON_' + minor.replace('.', '_')):
        candidates.append(os.environ['MATRIX_PYTHON_' + minor.replace('.', '_')])
    pyenv_root = os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')
    candidates += sorted(glob.glob(os.path.join(pyenv_root, 'versions', minor + '.*', 'bin', 'python' + minor)),
                         key=lambda p: [int(x) for x in re.findall(r'\d+', p.split('versions')[-1])[:3]],
                         reverse=True)
    candidates += ['/usr/bin/python' + minor, '/usr/local/bin/python' + minor]
    on_path = shutil.which('python' + minor)
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            version = python_version(candidate)
            if version and version.startswith(minor + '.'):
                return os.path.realpath(candidate), version
    return None, None


def dev_venv_version():
    out = subprocess.run([os.path.join(DEV_VENV, 'bin', 'python'), '-c',
                          'import ansible.release, sys; print(ansible.release.__version__, "%d.%d" % sys.version_info[:2])'],
                         capture_output=True, text=True, timeout=60, check=False)
    return tuple(out.stdout.split()) if out.returncode == 0 else (None, None)


class Version:
    steps = STEPS

    def __init__(self, version, pythons, resolvelib):
        self.version, self.pythons, self.resolvelib = version, pythons, resolvelib
        self.is_dev = resolvelib is None
        self.venv = DEV_VENV if self.is_dev else os.path.join(ROOT, '.venv-matrix', version)
        self.log = os.path.join(ROOT, 'build', 'matrix', version + '.log')
        self.python = self.python_version = None
        self.venv_note = ''
        self.results = []  # (step, ok, seconds, cpu seconds, summary)
        self.error = None
        self.cpu = 0.0
        self.prepare_seconds = self.prepare_cpu = 0.0

    def requirements_hash(self):
        digest = hashlib.sha256()
        with open(os.path.join(ROOT, 'requirements', 'matrix.txt'), 'rb') as fh:
            digest.update(fh.read())
        digest.update(('ansible-core==%s resolvelib==%s %s %s' % (
            self.version, self.resolvelib, self.python, self.python_version)).encode())
        return digest.hexdigest()

    def run(self, logfh, cmd, **kwargs):
        """Run ``cmd`` into the log; returns its exit status. Adds its CPU time (and that of the processes it
        waited for) to ``self.cpu``: wall time alone says little on a shared machine."""
        logfh.write('$ %s\n' % ' '.join(cmd))
        logfh.flush()
        proc = subprocess.Popen(cmd, stdout=logfh, stderr=subprocess.STDOUT, cwd=ROOT, **kwargs)
        dummy, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu += usage.ru_utime + usage.ru_stime
        return proc.returncode

    def prepare(self, logfh):
        """The interpreter and the virtualenv; returns an error message or None."""
        if self.is_dev:
            version, minor = dev_venv_version()
            if version != self.version:
                return ('the development virtualenv .venv has ansible-core %s, MATRIX says %s: update MATRIX in %s '
                        '(and the README table) with requirements/constraints.txt' % (version, self.version,
                                                                                     os.path.relpath(__file__, ROOT)))
            self.python, self.python_version = os.path.join(DEV_VENV, 'bin', 'python'), minor
            self.venv_note = '.venv'
            return None
        for minor in self.pythons:
            self.python, self.python_version = find_python(minor)
            if self.python:
                break
        if not self.python:
            return ('no Python %s found (looked at $MATRIX_PYTHON_%s, pyenv versions, /usr/bin, /usr/local/bin, '
                    'PATH): install one (e.g. `pyenv install %s`) or point MATRIX_PYTHON_%s at it'
                    % (' or '.join(self.pythons), self.pythons[0].replace('.', '_'), self.pythons[0],
                       self.pythons[0].replace('.', '_')))
        want = self.requirements_hash()
        stamp = os.path.join(self.venv, '.requirements.sha256')
        try:
            with open(stamp, encoding='utf-8') as fh:
                have = fh.read().strip()
        except OSError:
            have = None
        if have == want and os.path.exists(os.path.join(self.venv, 'bin', 'python')):
            self.venv_note = 'cached'
            return None
        started = time.monotonic()
        shutil.rmtree(self.venv, ignore_errors=True)
        # No pip inside: .venv's pip installs into it (--python), which saves bootstrapping pip 6 times.
        pip = [os.path.join(DEV_VENV, 'bin', 'python'), '-m', 'pip', '--python', os.path.join(self.venv, 'bin', 'python')]
        steps = (
            [self.python, '-m', 'venv', '--without-pip', self.venv],
            pip + ['install', '-q', '--disable-pip-version-check', '--no-deps', '-r', 'requirements/matrix.txt',
                   'ansible-core==' + self.version, 'resolvelib==' + self.resolvelib],
            pip + ['check'],
        )
        for cmd in steps:
            if self.run(logfh, cmd) != 0:
                shutil.rmtree(self.venv, ignore_errors=True)
                return 'creating %s failed (see %s)' % (os.path.relpath(self.venv, ROOT), os.path.relpath(self.log, ROOT))
        with open(stamp, 'w', encoding='utf-8') as fh:
            fh.write(want + '\n')
        self.venv_note = 'created'
        return None

    def test(self, prepare_only=False):
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        with open(self.log, 'a' if prepare_only else 'w', encoding='utf-8') as logfh:
            started = time.monotonic()
            self.error = self.prepare(logfh)
            self.prepare_seconds, self.prepare_cpu = time.monotonic() - started, self.cpu
            if self.error:
                logfh.write('ERROR: %s\n' % self.error)
                say('%-8s FAIL: %s' % (self.version, self.error))
                return self
            say('%-8s Python %s, venv %s (%ds, cpu %ds)' % (self.version, self.python_version, self.venv_note,
                                                           self.prepare_seconds, self.prepare_cpu))
            if prepare_only:
                return self
            env = dict(os.environ, PATH=os.path.join(self.venv, 'bin') + os.pathsep + os.environ.get('PATH', ''),
                       PYTHONPATH=os.path.join(ROOT, 'tools'), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build'),
                       ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', VIRTUAL_ENV=self.venv)
            env.pop('PYTHONHOME', None)
            for name, paths in self.steps:
                if name == 'unit' and not (UNIT_EVERYWHERE or self.version in (MATRIX[0][0], MATRIX[-1][0])):
                    say('%-8s %-10s not run: same as on %s and %s (--unit-everywhere runs it)'
                        % (self.version, name, MATRIX[0][0], MATRIX[-1][0]))
                    self.results.append((name, True, 0.0, 0.0, NOT_RUN))
                    continue
                began, cpu = time.monotonic(), self.cpu
                before = logfh.tell()
                rc = self.run(logfh, [os.path.join(self.venv, 'bin', 'python'), '-m', 'pytest', '-p', 'no:cacheprovider',
                                      '-q', '-rs', '-o', 'addopts='] + paths, env=env)
                logfh.flush()
                with open(self.log, encoding='utf-8', errors='replace') as fh:
                    fh.seek(before)
                    lines = [line for line in fh.read().splitlines() if line.strip()]
                summary = lines[-1].strip('= ') if lines else ''
                # A skipped test is a requirement not checked here: it fails the step.
                ok = rc == 0 and not re.search(r'\d+ skipped', summary)
                self.results.append((name, ok, time.monotonic() - began, self.cpu - cpu, summary))
                say('%-8s %-10s %s %4ds (cpu %4ds)  %s' % (self.version, name, 'pass' if ok else 'FAIL',
                                                           time.monotonic() - began, self.cpu - cpu, summary))
        return self

    @property
    def ok(self):
        return not self.error and bool(self.results) and all(result[1] for result in self.results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--versions', nargs='+', metavar='X.Y', help='only these ansible-core minors (default: all)')
    parser.add_argument('--skip-dev', action='store_true',
                        help="leave out the version of .venv (when the caller's own pytest run tested it)")
    parser.add_argument('--steps', nargs='+', choices=[name for name, dummy in STEPS],
                        help='only these steps (default: all)')
    parser.add_argument('--unit-everywhere', action='store_true',
                        help='the unit tests on every version (default: on the oldest and the newest only)')
    parser.add_argument('--prepare-only', action='store_true',
                        help='only find the interpreters and create the virtualenvs (make test: while other steps run)')
    parser.add_argument('--jobs', type=int, default=int(os.environ.get('MATRIX_JOBS', '2')),
                        help='versions tested at a time (default 2, $MATRIX_JOBS)')
    args = parser.parse_args()

    problems = check_declarations()
    if problems:
        for problem in problems:
            print('test-matrix: ' + problem, file=sys.stderr)
        return 1

    versions = [Version(*row) for row in MATRIX]
    if args.versions:
        unknown = set(args.versions) - {'.'.join(v.version.split('.')[:2]) for v in versions}
        if unknown:
            parser.error('not in the matrix: %s' % ', '.join(sorted(unknown)))
        versions = [v for v in versions if '.'.join(v.version.split('.')[:2]) in args.versions]
    if args.skip_dev:
        for version in versions:
            if version.is_dev:
                print('test-matrix: ansible-core %s is the development virtualenv (.venv): tested by the pytest '
                      'step of make test, not again here' % version.version)
        versions = [v for v in versions if not v.is_dev]

    global UNIT_EVERYWHERE  # pylint: disable=global-statement
    UNIT_EVERYWHERE = args.unit_everywhere or bool(args.steps and 'unit' in args.steps)
    if args.steps:
        Version.steps = tuple(step for step in STEPS if step[0] in args.steps)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        done = list(pool.map(lambda version: version.test(args.prepare_only), versions))
    if args.prepare_only:
        failed = [v for v in done if v.error]
        print('test-matrix: %d virtualenv(s) ready, %d failed, %ds' % (
            len(done) - len(failed), len(failed), time.monotonic() - started))
        return 1 if failed else 0

    print('\nseconds: wall/cpu (cpu: user+sys of the step and the processes it waited for)')
    print('%-13s %-8s %-22s %s' % ('ansible-core', 'Python', 'venv (wall/cpu)', '  '.join('%-18s' % name for name, dummy in Version.steps)))
    for version in done:
        venv = '%s %d/%d' % (version.venv_note or '-', version.prepare_seconds, version.prepare_cpu)
        cells = ['%-18s' % NOT_RUN if summary == NOT_RUN else '%-4s %4d/%-4d' % ('pass' if ok else 'FAIL', wall, cpu) + ' ' * 5
                 for dummy, ok, wall, cpu, summary in version.results]
        print('%-13s %-8s %-22s %s' % (version.version, version.python_version or '-', venv[:22],
                                       '  '.join(cells) or version.error))
    failed = [v for v in done if not v.ok]
    for version in failed:
        print('\n--- %s: last lines of %s' % (version.version, os.path.relpath(version.log, ROOT)))
        with open(version.log, encoding='utf-8', errors='replace') as fh:
            print(''.join(fh.readlines()[-60:]))
    print('test-matrix: %d version(s), %d failed, %ds wall, %ds cpu' % (
        len(done), len(failed), time.monotonic() - started, sum(v.cpu for v in done)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

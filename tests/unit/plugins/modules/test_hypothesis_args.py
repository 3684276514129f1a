# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property test over the arguments of every module in plugins/modules (found at collection time, so modules
added later are covered without touching this file): wrong types, unknown keys, missing and empty values, huge
strings, unicode, names with spaces and slashes, env keys with ``=``. 200 generated cases per module, run
in-process against a loopback server that answers like an empty node. Each case must end in exit_json or in
fail_json with a message: never an unhandled exception, never a traceback, never the token or a secret value."""

from __future__ import annotations

import decimal
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_support import (
    SECRET_VALUE, TOKEN, ScriptedServer, assert_clean, module_names, read_argument_spec, run_module,
)

MISSING = object()

NASTY_TEXT = st.sampled_from([
    '', ' ', 'a b', 'a/b', '/', '../up', 'x=y', '=', 'KEY=value=more', 'MCM.BASE_API_PATH', 'é中文🙂', '\n\t',
    'A' * 5000, 'null', '{{ lookup("env", "HOME") }}', '-1', 'yes', 'sha256:', 'sha256:' + 'f' * 64,
    'hello-v1:1.0.0', 'name with spaces', 'name/with/slashes', '\x00', '%s', '$(id)',
])
TEXT = st.one_of(NASTY_TEXT, st.text(max_size=30))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), TEXT)
ANYTHING = st.one_of(SCALARS, st.lists(SCALARS, max_size=4), st.dictionaries(TEXT, SCALARS, max_size=4))
ENV_DICT = st.dictionaries(st.one_of(TEXT, st.sampled_from(['A=B', 'MCM.BASE_API_PATH', 'API_KEY'])),
                           st.one_of(TEXT, st.integers(), st.none()), max_size=4)
# Values of no_log options: the known secret, which must never appear in any result.
SECRETS = st.one_of(st.just(SECRET_VALUE), st.dictionaries(st.one_of(TEXT, st.just('A=B')), st.just(SECRET_VALUE),
                                                           min_size=1, max_size=3))


def _safe_path(value):
    """Path values stay inside the test's working directory: the tests run as root, and mim_package writes."""
    if isinstance(value, str):
        value = value.replace('\x00', '').replace('..', '__').lstrip('/~') or 'p'
    return value


def _finite_or_not_a_number(text):
    try:
        return not decimal.Decimal(text.strip()).is_infinite()
    except (decimal.DecimalException, ValueError):
        return True


def _url_strategy(server_url):
    return st.sampled_from([server_url, server_url + '/mcm/v1', server_url + '/mcm/v1/', 'http://127.0.0.1:1',
                            'ftp://127.0.0.1/x', '', 'not a url', 'https://127.0.0.1:1/x y', server_url + '/%zz'])


def option_strategy(name, option, server_url):
    """Values for one option: mostly of its type (within its choices when it has some), else anything."""
    kind = option.get('type', 'str')
    if name == 'mcm_url' or name == 'url' or name.endswith('_url'):
        typed = _url_strategy(server_url)
    elif name == 'mcm_token':
        typed = st.sampled_from([TOKEN, TOKEN, '', ' ', 'Bearer ' + TOKEN])
    elif name == 'retries':
        # Shapes that used to crash only once a retry happened (issue 15), next to the valid ones.
        typed = st.one_of(st.integers(min_value=-2, max_value=3), st.sampled_from([
            {'total': 'x'}, {'backoff_factor': -1}, {'backoff_factor': 'slow'}, {'status_forcelist': ['x', 500]},
            {'total': 1, 'backoff_factor': 0}, {'connect': True}, {'backoff_max': float('inf')}]))
    elif name == 'ca_path':
        typed = st.sampled_from(['missing-ca.pem', '.', 'a/b/c.pem'])
    elif name == 'cache_dir':
        # Not creatable (under /proc) or a file: a clear error, not an OSError traceback (issue 15).
        return st.sampled_from(['/proc/mimoe-edge-cache', '/proc/self/status', 'cache', 'c/d'])
    elif option.get('no_log'):
        typed = SECRETS if kind in ('dict', 'raw') else st.just(SECRET_VALUE)
    elif option.get('choices'):
        choice = st.sampled_from(list(option['choices']))
        typed = st.lists(choice, max_size=3) if kind == 'list' else choice
    elif option.get('options'):
        sub = option['options']
        typed = st.fixed_dictionaries({}, optional={key: option_strategy(key, value, server_url)
                                                    for key, value in sub.items()})
    elif kind == 'bool':
        typed = st.one_of(st.booleans(), st.sampled_from(['yes', 'no', 'maybe', 1, 0, 2]))
    elif kind == 'int':
        typed = st.one_of(st.integers(min_value=-5, max_value=5), st.integers(), st.sampled_from(['3', 'x', 1.5]))
        # ansible-core's int conversion raises OverflowError on an infinite number (.inf, "Infinity") before the
        # module runs (an upstream limitation like the one below): finite values only for int options.
        return st.one_of(typed, typed, typed, TEXT.filter(_finite_or_not_a_number), st.none(), st.booleans(),
                         st.lists(SCALARS, max_size=2), st.floats(allow_nan=False, allow_infinity=False))
    elif kind == 'float':
        typed = st.one_of(st.floats(min_value=-1, max_value=5), st.sampled_from(['0.5', 'x', 0, 1e300, float('nan')]))
    elif kind == 'dict':
        typed = ENV_DICT
    elif kind == 'list':
        typed = st.lists(TEXT if option.get('elements', 'str') != 'dict' else ENV_DICT, max_size=4)
    else:  # str, path, raw, ...
        typed = TEXT
    if option.get('options'):
        # Non-dict scalars (booleans, numbers) for an option with suboptions crash ansible-core's own argument
        # validation before the module runs (set_fallbacks before the type check: ansible/ansible#81631, open
        # upstream), which no module can prevent: such values are left out; strings and None are still tried.
        values = st.one_of(typed, typed, typed, TEXT, st.none())
    else:
        values = st.one_of(typed, typed, typed, ANYTHING)
    if kind == 'path' or option.get('elements') == 'path':
        values = values.map(lambda v: [_safe_path(x) for x in v] if isinstance(v, list) else _safe_path(v))
    return values


def module_args(spec, server_url):
    """A strategy of whole argument dicts: each option present or not, plus sometimes an unknown key."""
    @st.composite
    def build(draw):
        args = {}
        for name, option in sorted(spec.items()):
            present_odds = 5 if option.get('required') or name in ('mcm_url', 'mcm_token') else 2
            if draw(st.integers(0, 6)) < present_odds:
                args[name] = draw(option_strategy(name, option, server_url))
        if draw(st.integers(0, 9)) == 0:
            args[draw(st.sampled_from(['bogus', 'Name', 'state ', 'env=x', '']))] = draw(SCALARS)
        if draw(st.booleans()):
            args['_ansible_check_mode'] = True
        if draw(st.booleans()):
            args['_ansible_diff'] = True
        return args
    return build()


MODULES = module_names()


@pytest.fixture(scope='module')
def server():
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Relative paths land in tmp_path; no environment fallback or home directory of the real user is used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HOME', str(tmp_path))
    for key in list(os.environ):
        if key.startswith(('MCM_', 'MIMOE_')):
            monkeypatch.delenv(key)
    return tmp_path


def test_every_module_is_covered():
    assert {'mcm_image', 'mcm_mim', 'mcm_info', 'mcm_datastore', 'mcm_composition', 'mim_package'} <= set(MODULES)


@pytest.mark.parametrize('name', MODULES)
def test_module_arguments_never_crash(name, server, sandbox):
    spec, _kwargs = read_argument_spec(name)
    assert spec, '%s has an empty argument spec' % name

    @settings(max_examples=200, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(args=module_args(spec, server.url))
    def check(args):
        if 'retries' in spec:
            args.setdefault('retries', 0)  # no backoff sleeps against the loopback server
        if 'timeout' in spec:
            args.setdefault('timeout', 5)
        assert_clean(name, run_module(name, args))

    check()


def _with_suboptions(name):
    spec, _kwargs = read_argument_spec(name)
    return [key for key, option in spec.items() if option.get('options')]


class _FailingOnce:
    """500 to the first call, then an empty node: the first read is retried (with the retries option given)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, method, path, body):
        self.calls += 1
        if self.calls == 1:
            return 500, 'application/json', rb'{"error": {"code": 500, "message": "\u001b[31mboom\u001b]0;x\u0007"}}'
        return ScriptedServer.empty_node(method, path, body)


# Inputs that ended in a traceback before issue 15, each with the reason it must fail cleanly (or succeed).
ISSUE_15_CASES = [
    ('mcm_image', {'name': '', 'state': 'absent'}),
    ('mcm_info', {'retries': 0}),  # the node's 500 carries ANSI/OSC escapes
    ('mcm_info', {'retries': {'total': 'x'}}),
    ('mcm_info', {'retries': {'backoff_factor': -1}}),
    ('mcm_info', {'retries': {'backoff_factor': 'slow'}}),
    ('mcm_info', {'retries': {'total': 2, 'backoff_factor': '0.1'}}),
    ('mcm_info', {'mcm_url': 'https://127.0.0.1:1', 'ca_path': 'missing-ca.pem'}),
    ('mcm_info', {'mcm_url': 'http://admin:%s@127.0.0.1:1' % SECRET_VALUE}),
    ('catalog_info', {'registry': {'url': 'http://127.0.0.1:1'}, 'name': 'x', 'version': '1', 'arch': 'amd64',
                      'download': True, 'cache_dir': '/proc/mimoe-edge-cache'}),
    ('catalog_info', {'registry': {'url': 'https://alice:%s@127.0.0.1:1' % SECRET_VALUE}}),
    ('catalog_info', {'registry': {'url': 'https://127.0.0.1:1', 'ca_path': 'missing-ca.pem'}}),
]


@pytest.mark.parametrize('name,args', ISSUE_15_CASES, ids=[str(i) for i in range(len(ISSUE_15_CASES))])
def test_issue_15_inputs_end_cleanly(name, args, server, sandbox):
    server.answer = _FailingOnce()
    try:
        full = dict(args)
        spec, _kwargs = read_argument_spec(name)
        if 'mcm_url' in spec:
            full.setdefault('mcm_url', server.url)
            full.setdefault('mcm_token', TOKEN)
            full.setdefault('timeout', 5)
        outcome = run_module(name, full)
    finally:
        server.answer = ScriptedServer.empty_node
    assert_clean(name, outcome)
    assert '\\u001b' not in outcome.raw  # a raw ESC in a message, as JSON: node text must be escaped first
    if args == {'retries': 0}:
        assert '\\\\x1b[31mboom' in outcome.raw, outcome.raw  # shown escaped
    assert outcome.failed, outcome.result


@pytest.mark.parametrize('name', [n for n in MODULES if _with_suboptions(n)])
def test_secrets_stay_masked_when_a_dict_option_is_malformed(name, server, sandbox):
    """ansible-core forgets every no_log value when one option with suboptions cannot be converted; the modules
    must still mask them (the token and each secret option)."""
    spec, _kwargs = read_argument_spec(name)
    secret_args = {key: SECRET_VALUE for key, option in spec.items() if option.get('no_log')}
    for option in _with_suboptions(name):
        args = dict(secret_args, mcm_url=server.url, mcm_token=TOKEN)
        args = {key: value for key, value in args.items() if key in spec}
        args[option] = 'not a dictionary'
        outcome = run_module(name, args)
        assert outcome.failed, outcome.result
        assert_clean(name, outcome)

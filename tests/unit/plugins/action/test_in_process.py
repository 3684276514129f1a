# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The in-process runner of the MCM action plugins: a module's main() in this process, as a module process would
run it (argument spec, env fallbacks, no_log masking, warnings in the result), and when the module path is taken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import parameters

from ansible_collections.mimoe.edge.plugins.module_utils import _mcm_module
from ansible_collections.mimoe.edge.plugins.plugin_utils import _in_process
from ansible_collections.mimoe.edge.plugins.plugin_utils._in_process import (
    InProcessModuleAction,
    module_import_name,
    run_module_main,
)

from fake_mcm import TOKEN, FakeNode

# ansible-core 2.19+. Before, the in-process runner is never used (every task takes the module path, tested below
# and by the version matrix), so the tests of the runner itself have nothing to run.
IN_PROCESS = _in_process.UNSUPPORTED_REASON is None
if IN_PROCESS:
    from ansible.module_utils import _internal as module_utils_internal
    from ansible.module_utils.common import warnings as module_warnings
    from ansible.module_utils.common.json import Direction, get_module_encoder
    # Importing controller code (ansible.errors, the action plugin) marks this whole process as a controller, which
    # makes AnsibleModule display warnings instead of returning them: reset the flag, so the module tests that share
    # this pytest process still run as module processes.
    setattr(module_utils_internal, "is_controller", False)

from ansible.errors import AnsibleActionFail  # noqa: E402  pylint: disable=wrong-import-position

INFO = 'ansible_collections.mimoe.edge.plugins.modules.mcm_info'
MIM = 'ansible_collections.mimoe.edge.plugins.modules.mcm_mim'
SECRET = 'in-process-secret-4711'


def runner_test(func):
    """A test of the in-process runner: collected on ansible-core 2.19+ only (before, the runner is never used)."""
    return func if IN_PROCESS else None


@pytest.fixture
def node(monkeypatch):
    fake = FakeNode()
    fake.add_image('hello-v1', 'sha256:' + 'a' * 64)
    monkeypatch.setattr(_mcm_module, 'MCMClient', lambda **kwargs: fake)
    return fake


def payload(**args):
    args.setdefault('_ansible_check_mode', False)
    if 'inject_invocation' in parameters.PASS_VARS:  # ansible-core 2.21+ adds `invocation` only when asked to
        args.setdefault('_ansible_inject_invocation', True)
    encoder = get_module_encoder(_in_process.PROFILE, Direction.CONTROLLER_TO_MODULE)
    return json.dumps({'ANSIBLE_MODULE_ARGS': args}, cls=encoder).encode()


def run(import_name, environment=None, **args):
    rc, stdout, stderr = run_module_main(import_name, payload(**args), environment)
    return rc, (json.loads(stdout) if stdout.strip() else None), stderr


def test_module_import_name():
    assert module_import_name('mimoe.edge.mcm_image') == 'ansible_collections.mimoe.edge.plugins.modules.mcm_image'
    assert module_import_name('mcm_image') is None
    assert module_import_name('') is None and module_import_name(None) is None


@runner_test
def test_result_and_clean_state_afterwards(node):
    controller = module_utils_internal.is_controller
    rc, result, stderr = run(INFO, mcm_url=node.base_url, mcm_token=TOKEN, name=['hello-v1'])
    assert rc == 0 and stderr == ''
    assert [i['name'] for i in result['images']] == ['hello-v1'] and result['changed'] is False
    assert result['invocation']['module_args']['mcm_token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert basic._ANSIBLE_ARGS is None and basic._ANSIBLE_PROFILE is None
    assert module_utils_internal.is_controller == controller


@runner_test
def test_argument_spec_errors_are_the_module_errors(node):
    rc, result, _stderr = run(MIM, mcm_url=node.base_url, mcm_token=TOKEN, name='x', start_file='/s.json')
    assert rc == 1 and result['failed']
    assert result['msg'] == 'parameters are mutually exclusive: start_file|name'
    rc, result, _stderr = run(INFO, mcm_url=node.base_url, mcm_token=TOKEN, bogus=1)
    assert rc == 1 and 'Unsupported parameters' in result['msg'] and 'bogus' in result['msg']


@runner_test
def test_no_log_values_are_masked_in_the_result(node):
    rc, result, _stderr = run(MIM, mcm_url=node.base_url, mcm_token=TOKEN, name='hello-v1', image='hello-v1',
                              env={'GREETING': 'hello'}, secret_env={'API_KEY': SECRET},
                              fingerprint_file=os.devnull, _ansible_check_mode=True, _ansible_diff=True)
    assert rc == 0 and result['changed'] is True
    assert SECRET not in json.dumps(result)
    assert result['invocation']['module_args']['secret_env'] == {'API_KEY': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}
    assert result['diff']['after']['env']['API_KEY'] == '********'
    assert node.writes == []


@runner_test
def test_warnings_are_returned_not_displayed_and_do_not_leak(node):
    args = dict(mcm_url=node.base_url, mcm_token=TOKEN, name='hello-v2', image='hello-v2',
                fingerprint_file=os.devnull, _ansible_check_mode=True)
    rc, result, _stderr = run(MIM, **args)
    assert rc == 0
    # Serialized as a module process writes it; the controller's decoder turns it into a WarningSummary.
    assert any('The image hello-v2 is not on the node' in w['event']['msg'] for w in result['warnings'])
    assert not module_warnings._global_warnings
    rc, result, _stderr = run(INFO, mcm_url=node.base_url, mcm_token=TOKEN)
    assert 'warnings' not in result


@runner_test
def test_environment_fallbacks_and_restore(node, monkeypatch):
    monkeypatch.delenv('MCM_URL', raising=False)
    monkeypatch.delenv('MCM_TOKEN', raising=False)
    rc, result, _stderr = run(INFO, environment={'MCM_URL': node.base_url, 'MCM_TOKEN': TOKEN})
    assert rc == 0 and result['api_version'] == 'current'
    assert 'MCM_URL' not in os.environ and 'MCM_TOKEN' not in os.environ
    rc, result, _stderr = run(INFO)
    assert rc == 1 and 'mcm_url' in result['msg'] and 'mcm_token' in result['msg']


@runner_test
def test_uncaught_exception_is_a_module_failure(node, monkeypatch):
    from ansible_collections.mimoe.edge.plugins.modules import mcm_info

    def broken():
        raise RuntimeError('boom in main')
    monkeypatch.setattr(mcm_info, 'main', broken)
    rc, result, stderr = run(INFO, mcm_url=node.base_url, mcm_token=TOKEN)
    assert rc == 1 and result is None and 'RuntimeError: boom in main' in stderr
    assert basic._ANSIBLE_ARGS is None


# ---------------------------------------------------------------- when the module path is taken

class Templar:
    @staticmethod
    def template(value):
        return value


def action(transport='local', async_val=0, become=False, resolved='mimoe.edge.mcm_info'):
    plugin = InProcessModuleAction.__new__(InProcessModuleAction)
    plugin._task = SimpleNamespace(async_val=async_val, resolved_action=resolved, action=resolved)
    plugin._connection = SimpleNamespace(transport=transport, become=None)
    plugin._play_context = SimpleNamespace(become=become, remote_addr='edge1')
    plugin._templar = Templar()
    return plugin


@pytest.fixture
def supported(monkeypatch):
    """The decisions below, on an ansible-core that has what in-process execution needs (whatever runs the test)."""
    monkeypatch.setattr(_in_process, 'UNSUPPORTED_REASON', None)
    monkeypatch.setattr(InProcessModuleAction, '_result_handling', '')
    monkeypatch.delenv(_in_process.IN_PROCESS_ENV, raising=False)


def test_in_process_by_default_on_a_local_connection(supported):
    assert action().module_path_reason({}) is None


@pytest.mark.parametrize('kwargs, reason', [
    (dict(transport='ssh'), 'through connection ssh'),
    (dict(async_val=30), 'async'),
    (dict(become=True), 'become'),
    (dict(resolved='mcm_info'), 'not fully qualified'),
])
def test_module_path_when_not_equivalent(supported, kwargs, reason):
    assert reason in action(**kwargs).module_path_reason({})


def test_switch_variable_wins_over_environment(supported, monkeypatch):
    monkeypatch.setenv(_in_process.IN_PROCESS_ENV, 'false')
    assert 'switched off' in action().module_path_reason({})
    assert action().module_path_reason({_in_process.IN_PROCESS_VAR: True}) is None
    monkeypatch.setenv(_in_process.IN_PROCESS_ENV, 'yes')
    assert 'switched off' in action().module_path_reason({_in_process.IN_PROCESS_VAR: 'no'})


def test_switch_must_be_a_boolean(supported, monkeypatch):
    monkeypatch.setenv(_in_process.IN_PROCESS_ENV, 'sometimes')
    with pytest.raises(AnsibleActionFail, match='MIMOE_EDGE_IN_PROCESS must be a boolean'):
        action().module_path_reason({})


# ---------------------------------------------------------------- whatever the running ansible-core lacks

def test_the_running_ansible_core_decides(monkeypatch):
    """2.19+ runs in-process; before, the module path, with the reason (and not a failure)."""
    monkeypatch.delenv(_in_process.IN_PROCESS_ENV, raising=False)
    reason = action().module_path_reason({})
    if IN_PROCESS:
        assert reason is None
    else:
        assert reason == _in_process.UNSUPPORTED_REASON and 'serialization profiles' in reason


def test_unsupported_ansible_core_takes_the_module_path(supported, monkeypatch):
    monkeypatch.setattr(_in_process, 'UNSUPPORTED_REASON', 'ansible-core 9.9 has no X')
    assert action().module_path_reason({}) == 'ansible-core 9.9 has no X'
    # the user's switch is still checked first: a wrong value is an error on every ansible-core
    monkeypatch.setenv(_in_process.IN_PROCESS_ENV, 'sometimes')
    with pytest.raises(AnsibleActionFail, match='must be a boolean'):
        action().module_path_reason({})


def test_result_handling_that_does_not_work_takes_the_module_path(supported, monkeypatch):
    """The sample result goes through before any module runs: a changed internal sends the task to the module
    path, once per worker, and the module is never run twice."""
    monkeypatch.setattr(InProcessModuleAction, '_result_handling', None)

    def parse(self, res, profile=None):
        raise TypeError('_parse_returned_data() takes 2 positional arguments but 3 were given')
    monkeypatch.setattr(InProcessModuleAction, '_parse_returned_data', parse, raising=False)
    reason = action().module_path_reason({})
    assert reason.startswith('cannot read module results in-process on ansible-core ') and 'TypeError' in reason
    monkeypatch.setattr(InProcessModuleAction, '_parse_returned_data', None)  # not called again: the reason is kept
    assert action().module_path_reason({}) == reason


@pytest.mark.parametrize('parsed', [['not', 'a', 'result'], None])
def test_finish_result_refuses_what_it_does_not_know(parsed):
    with pytest.raises(TypeError, match='_parse_returned_data returned'):
        InProcessModuleAction._finish_result(parsed)


def test_finish_result_of_a_result_object():
    """ansible-core 2.21+: ``_parse_returned_data`` returns a UnifiedTaskResult."""
    calls = []

    class UnifiedTaskResult:
        def remove_internal_keys(self):
            calls.append('clean')

        def as_result_dict(self, for_round_trip=False):
            calls.append(for_round_trip)
            return {'changed': False}
    assert InProcessModuleAction._finish_result(UnifiedTaskResult()) == {'changed': False}
    assert calls == ['clean', True]


# What ansible-core 2.21 did to 2.19's internals (ansible.vars.clean.remove_internal_keys gone), and what 2.16 lacks
# (the serialization profiles): importing the plugin never raises, it names what is missing.
STUBS = {
    'no remove_internal_keys': (
        "import ansible.vars.clean as m; vars(m).pop('remove_internal_keys', None)", None),
    'no serialization profiles': (
        "import ansible.module_utils.common.json as m; vars(m).pop('get_module_encoder')",
        'has no serialization profiles (ImportError: '),
    'no is_controller': (
        "import ansible.module_utils._internal as m; vars(m).pop('is_controller')",
        'has no is_controller in ansible.module_utils._internal'),
}


@pytest.mark.parametrize('stub', sorted(STUBS))
def test_import_never_raises(stub):
    prepare, expected = STUBS[stub]
    if not IN_PROCESS:
        prepare = 'pass'  # before 2.19 none of these names exists in the first place
        expected = 'has no serialization profiles'
    code = '\n'.join([
        'import sys', 'sys.path[:0] = %r' % [p for p in sys.path if p], 'import ansible.plugins.action', prepare,
        'from ansible_collections.mimoe.edge.plugins.plugin_utils import _in_process as p',
        'print(p.UNSUPPORTED_REASON)'])
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    reason = done.stdout.strip().splitlines()[-1]
    if expected is None:
        assert reason == 'None'  # 2.21 layout: still in-process (the result is cleaned through its own API)
    else:
        assert expected in reason, reason

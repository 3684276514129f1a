# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The in-process runner of the MCM action plugins: a module's main() in this process, as a module process would
run it (argument spec, env fallbacks, no_log masking, warnings in the result), and when the module path is taken."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from ansible.module_utils import _internal as module_utils_internal

# Importing controller code (ansible.errors, the action plugin) marks this whole process as a controller, which
# makes AnsibleModule display warnings instead of returning them: restore the flag after the imports below, so the
# module tests that share this pytest process still run as module processes.
_WAS_CONTROLLER = module_utils_internal.is_controller

from ansible.errors import AnsibleActionFail  # noqa: E402  pylint: disable=wrong-import-position
from ansible.module_utils import basic  # noqa: E402  pylint: disable=wrong-import-position
from ansible.module_utils.common import warnings as module_warnings  # noqa: E402  pylint: disable=wrong-import-position
from ansible.module_utils.common.json import Direction, get_module_encoder  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mimoe.edge.plugins.module_utils import _mcm_module  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mimoe.edge.plugins.plugin_utils import _in_process  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mimoe.edge.plugins.plugin_utils._in_process import (  # noqa: E402  pylint: disable=wrong-import-position
    InProcessModuleAction,
    module_import_name,
    run_module_main,
)

from fake_mcm import TOKEN, FakeNode  # noqa: E402  pylint: disable=wrong-import-position

setattr(module_utils_internal, "is_controller", _WAS_CONTROLLER)

INFO = 'ansible_collections.mimoe.edge.plugins.modules.mcm_info'
MIM = 'ansible_collections.mimoe.edge.plugins.modules.mcm_mim'
SECRET = 'in-process-secret-4711'


@pytest.fixture
def node(monkeypatch):
    fake = FakeNode()
    fake.add_image('hello-v1', 'sha256:' + 'a' * 64)
    monkeypatch.setattr(_mcm_module, 'MCMClient', lambda **kwargs: fake)
    return fake


def payload(**args):
    args.setdefault('_ansible_check_mode', False)
    encoder = get_module_encoder(_in_process.PROFILE, Direction.CONTROLLER_TO_MODULE)
    return json.dumps({'ANSIBLE_MODULE_ARGS': args}, cls=encoder).encode()


def run(import_name, environment=None, **args):
    rc, stdout, stderr = run_module_main(import_name, payload(**args), environment)
    return rc, (json.loads(stdout) if stdout.strip() else None), stderr


def test_module_import_name():
    assert module_import_name('mimoe.edge.mcm_image') == 'ansible_collections.mimoe.edge.plugins.modules.mcm_image'
    assert module_import_name('mcm_image') is None
    assert module_import_name('') is None and module_import_name(None) is None


def test_result_and_clean_state_afterwards(node):
    controller = module_utils_internal.is_controller
    rc, result, stderr = run(INFO, mcm_url=node.base_url, mcm_token=TOKEN, name=['hello-v1'])
    assert rc == 0 and stderr == ''
    assert [i['name'] for i in result['images']] == ['hello-v1'] and result['changed'] is False
    assert result['invocation']['module_args']['mcm_token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert basic._ANSIBLE_ARGS is None and basic._ANSIBLE_PROFILE is None
    assert module_utils_internal.is_controller == controller


def test_argument_spec_errors_are_the_module_errors(node):
    rc, result, _stderr = run(MIM, mcm_url=node.base_url, mcm_token=TOKEN, name='x', start_file='/s.json')
    assert rc == 1 and result['failed']
    assert result['msg'] == 'parameters are mutually exclusive: start_file|name'
    rc, result, _stderr = run(INFO, mcm_url=node.base_url, mcm_token=TOKEN, bogus=1)
    assert rc == 1 and 'Unsupported parameters' in result['msg'] and 'bogus' in result['msg']


def test_no_log_values_are_masked_in_the_result(node):
    rc, result, _stderr = run(MIM, mcm_url=node.base_url, mcm_token=TOKEN, name='hello-v1', image='hello-v1',
                              env={'GREETING': 'hello'}, secret_env={'API_KEY': SECRET},
                              fingerprint_file=os.devnull, _ansible_check_mode=True, _ansible_diff=True)
    assert rc == 0 and result['changed'] is True
    assert SECRET not in json.dumps(result)
    assert result['invocation']['module_args']['secret_env'] == {'API_KEY': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}
    assert result['diff']['after']['env']['API_KEY'] == '********'
    assert node.writes == []


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


def test_environment_fallbacks_and_restore(node, monkeypatch):
    monkeypatch.delenv('MCM_URL', raising=False)
    monkeypatch.delenv('MCM_TOKEN', raising=False)
    rc, result, _stderr = run(INFO, environment={'MCM_URL': node.base_url, 'MCM_TOKEN': TOKEN})
    assert rc == 0 and result['api_version'] == 'current'
    assert 'MCM_URL' not in os.environ and 'MCM_TOKEN' not in os.environ
    rc, result, _stderr = run(INFO)
    assert rc == 1 and 'mcm_url' in result['msg'] and 'mcm_token' in result['msg']


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


def test_in_process_by_default_on_a_local_connection(monkeypatch):
    monkeypatch.delenv(_in_process.IN_PROCESS_ENV, raising=False)
    assert action().module_path_reason({}) is None


@pytest.mark.parametrize('kwargs, reason', [
    (dict(transport='ssh'), 'through connection ssh'),
    (dict(async_val=30), 'async'),
    (dict(become=True), 'become'),
    (dict(resolved='mcm_info'), 'not fully qualified'),
])
def test_module_path_when_not_equivalent(monkeypatch, kwargs, reason):
    monkeypatch.delenv(_in_process.IN_PROCESS_ENV, raising=False)
    assert reason in action(**kwargs).module_path_reason({})


def test_switch_variable_wins_over_environment(monkeypatch):
    monkeypatch.setenv(_in_process.IN_PROCESS_ENV, 'false')
    assert 'switched off' in action().module_path_reason({})
    assert action().module_path_reason({_in_process.IN_PROCESS_VAR: True}) is None
    monkeypatch.setenv(_in_process.IN_PROCESS_ENV, 'yes')
    assert 'switched off' in action().module_path_reason({_in_process.IN_PROCESS_VAR: 'no'})


def test_switch_must_be_a_boolean(monkeypatch):
    monkeypatch.setenv(_in_process.IN_PROCESS_ENV, 'sometimes')
    with pytest.raises(AnsibleActionFail, match='MIMOE_EDGE_IN_PROCESS must be a boolean'):
        action().module_path_reason({})

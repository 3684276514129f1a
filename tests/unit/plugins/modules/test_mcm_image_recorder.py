# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 17: mcm_image takes one path for real and check-mode runs; option vocabulary (reference, wait_sleep)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils import _mcm_image
from ansible_collections.mimoe.edge.plugins.module_utils._recorder import Recorder
from ansible_collections.mimoe.edge.plugins.modules import mcm_image

from fake_mcm import FakeNode, write_kinds
from mim_tar import build_tar


@pytest.fixture
def v1(tmp_path):
    return build_tar(str(tmp_path / 'hello-v1-1.0.0.tar'), name='hello-v1', version='1.0.0')


@pytest.fixture
def v2(tmp_path):
    return build_tar(str(tmp_path / 'hello-v1-1.0.1.tar'), name='hello-v1', version='1.0.1',
                     index_js=b'mimikModule.exports = function (c, q, r) { r.end("v2"); };\n')


def test_check_mode_reports_the_actions_of_the_real_run(node, run_module, v1, v2):
    """Force-replace an image in use: the dry run lists exactly what the real run then does, and writes nothing."""
    run_module(mcm_image, node, dict(src=v1))
    node.add_mim('hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1'})
    before = copy.deepcopy((node.images, node.mims))
    writes = list(node.writes)
    dry = run_module(mcm_image, node, dict(src=v2, force=True, wait=False), check=True, diff=True)
    assert node.writes == writes and (node.images, node.mims) == before
    real = run_module(mcm_image, node, dict(src=v2, force=True, wait=False), diff=True)
    assert dry['changed'] is real['changed'] is True
    assert dry['actions'] == real['actions'] == [
        'removed mim hello-v1', 'removed image hello-v1',
        'uploaded image hello-v1 (%s, %d bytes)' % (real['digest'], node.images[0]['size']),
        'deployed mim hello-v1 from image hello-v1']
    assert dry['diff'] == real['diff'] and dry['redeployed'] == real['redeployed'] == ['hello-v1']


def test_check_mode_absent_matches_the_real_run(node, run_module, v1):
    run_module(mcm_image, node, dict(src=v1))
    node.add_mim('hello-v1', 'hello-v1', {})
    dry = run_module(mcm_image, node, dict(name='hello-v1', state='absent', force=True), check=True)
    assert write_kinds(node) == ['upload']
    real = run_module(mcm_image, node, dict(name='hello-v1', state='absent', force=True))
    assert dry['actions'] == real['actions'] == ['removed mim hello-v1', 'removed image hello-v1']
    assert run_module(mcm_image, node, dict(name='hello-v1', state='absent'))['changed'] is False


def test_manager_takes_the_recorder_and_returns_what_it_did(v1):
    """No module wrapper: a client and a Recorder are all the manager needs; its result is the module's."""
    fake = FakeNode()
    recorder = Recorder(check_mode=False)
    params = dict(state='present', src=v1, name=None, url=None, reference=None, digest=None, force=False,
                  wait=True, wait_timeout=5, wait_sleep=0.1, upload_mode='multipart', pull='controller')
    result = _mcm_image.ImageManager(fake, recorder).run(params)
    assert result['changed'] is True and result['image']['name'] == 'hello-v1'
    assert recorder.changed is True and recorder.actions[0].startswith('uploaded image hello-v1')
    again = Recorder(check_mode=False)
    assert _mcm_image.ImageManager(fake, again).run(params)['changed'] is False
    assert again.actions == [] and again.changed is False


def test_unverified_warning_goes_through_the_recorder(v1, v2):
    fake = FakeNode(api='legacy', legacy_image_id='opaque')
    params = dict(state='present', src=v1, name=None, url=None, reference=None, digest=None, force=False,
                  wait=False, wait_timeout=5, wait_sleep=0.1, upload_mode='multipart', pull='controller')
    _mcm_image.ImageManager(fake, Recorder()).run(params)
    fake.add_mim('hello-v1', 'hello-v1', {})
    recorder = Recorder()
    fake.images[0]['repoTags'] = ['hello-v1:1.0.0']
    result = _mcm_image.ImageManager(fake, recorder).run(dict(params, src=v1))
    assert result['changed'] is False and result['identity']['verified'] is False
    assert len(recorder.warnings) == 1 and 'unverified' in recorder.warnings[0]


def test_catalog_is_an_alias_of_reference(node, run_module):
    """The old option name still parses (and is the same option: both at once is a conflict Ansible reports)."""
    result = run_module(mcm_image, node, dict(catalog='hello@1.0.0', src='/nonexistent.tar'))
    assert result['failed'] is True and 'mutually exclusive' in result['msg']
    assert 'reference' in result['msg'] and node.writes == []


def test_wait_sleep_paces_the_wait_for_redeployed_mims(node, run_module, v1, v2, monkeypatch):
    run_module(mcm_image, node, dict(src=v1))
    node.add_mim('hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1'})
    node.crash_on_deploy.add('hello-v1')
    sleeps = []
    monkeypatch.setattr(_mcm_image, 'poll_until', _recording_poll(sleeps))
    result = run_module(mcm_image, node, dict(src=v2, force=True, wait_timeout=1, wait_sleep=0.25))
    assert result['failed'] is True
    assert 'the mim hello-v1 to run again' in result['msg'] and 'stopped/crashed' in result['msg']
    assert sleeps and set(sleeps) == {0.25}


def _recording_poll(sleeps):
    from ansible_collections.mimoe.edge.plugins.module_utils._wait import poll_until

    def poll(read, done, timeout, interval, **kwargs):
        ticks = iter(range(1000))
        return poll_until(read, done, timeout, interval, clock=lambda: next(ticks) * interval,
                          sleep=sleeps.append, **kwargs)
    return poll


class _Registry:
    """The controller's view of a registry that needs credentials (``anonymous_blob_access`` False)."""

    url = 'http://registry.controller:5000'

    @staticmethod
    def anonymous_blob_access(_repository, _digest):
        return False


RESOLVED = dict(name='hello', version='1.0.0', repository='hello', image_digest='sha256:' + 'f' * 64, hex='f' * 64,
                image_name='hello-v1', repo_tag='hello-v1:1.0.0', size=10,
                url='http://registry.controller:5000/v2/hello/blobs/sha256:' + 'f' * 64)


def _node_pull_args(**extra):
    return dict(dict(reference='hello@1.0.0', arch='amd64', pull='node', node_registry_url='http://gw.local:8080/',
                     registry=dict(url=_Registry.url, username='reader', password='Re4der-Pa55')), **extra)


def test_node_pull_needs_explicit_consent_for_credentials(node, run_module, monkeypatch):
    monkeypatch.setattr(_mcm_image, 'resolve_catalog', lambda *a: (_Registry(), dict(RESOLVED)))
    refused = run_module(mcm_image, node, _node_pull_args())
    assert refused['failed'] is True and 'node_credentials=true' in refused['msg'] and node.writes == []


def test_node_pull_goes_to_the_node_side_url_and_masks_what_the_node_echoes(node, run_module, monkeypatch):
    """The node is asked for <node_registry_url>/v2/...; the Basic value it got is masked even if echoed back."""
    from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError
    monkeypatch.setattr(_mcm_image, 'resolve_catalog', lambda *a: (_Registry(), dict(RESOLVED)))
    sent = []

    def request(method, path, json_body=None, **_kw):
        sent.append((method, path, json_body))
        raise MCMError('node says: cannot fetch %s with %s' % (json_body['url'], json_body['authorization']),
                       status=400)
    node.request = request
    node.unwrap = lambda body: body
    result = run_module(mcm_image, node, _node_pull_args(node_credentials=True))
    assert result['failed'] is True
    assert sent[0][2]['url'] == 'http://gw.local:8080/v2/hello/blobs/sha256:' + 'f' * 64
    basic = sent[0][2]['authorization']
    assert basic.startswith('Basic ') and basic.split()[1] not in result['_raw']
    assert 'Re4der-Pa55' not in result['_raw']

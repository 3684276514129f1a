# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_image decisions against an in-memory node."""

from __future__ import annotations

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import file_digest
from ansible_collections.mimoe.edge.plugins.modules import mcm_image

from fake_mcm import write_kinds
from mim_tar import build_tar


@pytest.fixture
def v1(tmp_path):
    return build_tar(str(tmp_path / 'hello-v1-1.0.0.tar'), name='hello-v1', version='1.0.0')


@pytest.fixture
def v2(tmp_path):
    return build_tar(str(tmp_path / 'hello-v1-1.0.1.tar'), name='hello-v1', version='1.0.1',
                     index_js=b'mimikModule.exports = function (c, q, r) { r.end("v2"); };\n')


def test_upload_then_idempotent(node, run_module, v1):
    first = run_module(mcm_image, node, dict(src=v1), diff=True)
    assert first['changed'] is True
    assert write_kinds(node) == ['upload']
    assert first['digest'] == file_digest(v1)
    assert first['image']['name'] == 'hello-v1'
    assert first['diff']['before'] == {'state': 'absent'}
    second = run_module(mcm_image, node, dict(src=v1))
    assert second['changed'] is False
    assert write_kinds(node) == ['upload']
    assert second['actions'] == []


def test_legacy_digest_spelling_and_shape(legacy_node, run_module, v1):
    legacy_node.add_image('hello-v1', 'sha265:' + file_digest(v1).split(':')[1])
    result = run_module(mcm_image, legacy_node, dict(src=v1))
    assert result['changed'] is False and legacy_node.writes == []


def test_new_content_replaces_unused_image(node, run_module, v1, v2):
    run_module(mcm_image, node, dict(src=v1))
    result = run_module(mcm_image, node, dict(src=v2), diff=True)
    assert result['changed'] is True
    assert write_kinds(node) == ['upload', 'delete_image', 'upload']
    assert result['diff']['before']['digest'] == file_digest(v1)
    assert result['diff']['after']['digest'] == file_digest(v2)


def test_replacing_a_used_image_is_refused_without_force(node, run_module, v1, v2):
    run_module(mcm_image, node, dict(src=v1))
    node.add_mim('hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1'})
    result = run_module(mcm_image, node, dict(src=v2))
    assert result['failed'] is True
    assert 'the mims hello-v1 use it' in result['msg'] and 'force=true' in result['msg']
    assert result['error']['status'] == 409
    assert write_kinds(node) == ['upload']


def test_force_redeploys_users_with_their_spec(node, run_module, v1, v2):
    run_module(mcm_image, node, dict(src=v1))
    node.add_mim('hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1', 'K': 'v'})
    result = run_module(mcm_image, node, dict(src=v2, force=True, wait=False))
    assert result['changed'] is True
    assert result['redeployed'] == ['hello-v1']
    assert write_kinds(node) == ['upload', 'delete', 'delete_image', 'upload', 'deploy']
    redeployed_env = node.writes[-1][2]['env']
    assert redeployed_env['MCM.BASE_API_PATH'] == '/hello/v1'  # the client prefix is not doubled
    assert redeployed_env['K'] == 'v'


def test_force_replace_is_refused_on_legacy(legacy_node, run_module, v1, v2):
    run_module(mcm_image, legacy_node, dict(src=v1))
    legacy_node.add_mim('hello-v1', 'hello-v1', {})
    result = run_module(mcm_image, legacy_node, dict(src=v2, force=True))
    assert result['failed'] is True and 'legacy API does not return their env' in result['msg']
    assert write_kinds(legacy_node) == ['upload']


def test_check_mode_writes_nothing(node, run_module, v1, v2):
    result = run_module(mcm_image, node, dict(src=v1), check=True)
    assert result['changed'] is True and node.writes == []
    assert result['actions'][0].startswith('uploaded image hello-v1 (sha256:')


def test_name_must_match_archive(node, run_module, v1):
    result = run_module(mcm_image, node, dict(src=v1, name='other'))
    assert result['failed'] is True
    assert 'tagged hello-v1:1.0.0' in result['msg'] and 'set it to hello-v1' in result['msg']


def test_invalid_archive_is_refused_before_any_call(node, run_module, tmp_path):
    bad = tmp_path / 'bad.tar'
    bad.write_bytes(b'not a tar at all' * 40)
    result = run_module(mcm_image, node, dict(src=str(bad)))
    assert result['failed'] is True and 'not a valid mim image archive' in result['msg']
    assert node.writes == []


def test_absent(node, run_module, v1):
    run_module(mcm_image, node, dict(src=v1))
    node.add_mim('hello-v1', 'hello-v1', {})
    refused = run_module(mcm_image, node, dict(name='hello-v1', state='absent'))
    assert refused['failed'] is True and 'remove them first' in refused['msg']
    forced = run_module(mcm_image, node, dict(name='hello-v1', state='absent', force=True))
    assert forced['changed'] is True
    assert write_kinds(node) == ['upload', 'delete', 'delete_image']
    assert run_module(mcm_image, node, dict(src=v1, state='absent'))['changed'] is False


def test_url_requires_name_and_digest_compare(node, run_module):
    missing = run_module(mcm_image, node, dict(url='http://files/hello-v1.tar'))
    assert missing['failed'] is True and 'name' in missing['msg']
    pulled = run_module(mcm_image, node, dict(url='http://files/hello-v1.tar', name='hello-v1'))
    assert pulled['changed'] is True and write_kinds(node) == ['pull']
    again = run_module(mcm_image, node, dict(url='http://files/hello-v1.tar', name='hello-v1'))
    assert again['changed'] is False
    same = run_module(mcm_image, node, dict(url='http://files/hello-v1.tar', name='hello-v1', digest='sha256:' + 'f' * 64))
    assert same['changed'] is False
    other = run_module(mcm_image, node, dict(url='http://files/hello-v1.tar', name='hello-v1', digest='sha256:' + 'e' * 64))
    assert other['failed'] is True and 'not sha256:eeee' in other['msg']


@pytest.mark.parametrize('style', ['archive', 'config', 'short', 'opaque'])
def test_legacy_image_id_styles_rerun_is_unchanged(run_module, v1, v2, style):
    """Issue 13: a legacy node that shows the Docker image id (full or short) or an opaque id; the re-run of an
    unchanged archive must not try to replace the image its mim uses ("Cannot replace the image ...")."""
    from fake_mcm import FakeNode
    node = FakeNode(api='legacy', legacy_image_id=style)
    assert run_module(mcm_image, node, dict(src=v1))['changed'] is True
    node.add_mim('hello-v1', 'hello-v1', {})
    again = run_module(mcm_image, node, dict(src=v1))
    assert again.get('failed') is not True, again
    assert again['changed'] is False and write_kinds(node) == ['upload']
    assert again['identity'] == {'verified': style != 'opaque',
                                 'compared_by': {'archive': 'digest', 'config': 'digest', 'short': 'short image id',
                                                 'opaque': 'RepoTag hello-v1:1.0.0 (the node reports no digest)'
                                                 }[style]}
    # Other content is still told apart, in every style: the image is in use, so the module refuses.
    other = run_module(mcm_image, node, dict(src=v2))
    assert other['failed'] is True and 'Cannot replace the image hello-v1: the mims hello-v1 use it' in other['msg']


def test_opaque_id_with_release_marker_proves_content(run_module, v1, v2, tmp_path):
    """An opaque id: the release marker in the env of the image's mims decides, never a controller file."""
    from fake_mcm import FakeNode
    from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import archive_identity
    from ansible_collections.mimoe.edge.plugins.module_utils._markers import RELEASE_KEY, encode_release
    node = FakeNode(api='current', legacy_image_id='opaque')
    run_module(mcm_image, node, dict(src=v1))
    ident = archive_identity(v1)
    node.images[0]['digest'] = None  # a node that reports no digest at all
    node.add_mim('hello-v1', 'hello-v1', {RELEASE_KEY: encode_release(dict(image='hello-v1', version='1.0.0',
                                                                           digest=ident['digest']))})
    same = run_module(mcm_image, node, dict(src=v1))
    assert same['changed'] is False and same['identity'] == {'verified': True, 'compared_by': 'release marker'}
    # Same RepoTag, other content (a rebuilt 1.0.0): the marker tells it apart; force redeploys with a new marker.
    rebuilt = build_tar(str(tmp_path / 'rebuilt.tar'), name='hello-v1', version='1.0.0', index_js=b'// other\n')
    forced = run_module(mcm_image, node, dict(src=rebuilt, force=True))
    assert forced['changed'] is True and forced['redeployed'] == ['hello-v1']
    deployed_env = [w for w in node.writes if w[0] == 'deploy'][-1][2]['env']
    assert archive_identity(rebuilt)['digest'] in deployed_env[RELEASE_KEY]


def test_unknown_content_is_kept_when_in_use_and_replaced_when_not(run_module, v1, v2, monkeypatch):
    """Opaque id, no digest, no RepoTag, no marker: never replace an image in use on a guess (warning)."""
    from ansible.module_utils.basic import AnsibleModule
    from fake_mcm import FakeNode
    warned = []
    # Recorded at the source: how warnings reach the result depends on what else the test process imported.
    monkeypatch.setattr(AnsibleModule, 'warn', lambda self, msg, *a, **k: warned.append(msg))
    node = FakeNode(api='legacy', legacy_image_id='opaque')
    run_module(mcm_image, node, dict(src=v1))
    node.images[0]['repoTags'] = []
    node.add_mim('hello-v1', 'hello-v1', {})
    kept = run_module(mcm_image, node, dict(src=v2))
    assert kept['changed'] is False and kept['identity']['verified'] is False
    assert any('unverified' in w and 'remove the mims hello-v1, then the image first' in w for w in warned), warned
    node.mims = []
    replaced = run_module(mcm_image, node, dict(src=v2))
    assert replaced['changed'] is True and write_kinds(node)[-2:] == ['delete_image', 'upload']


def test_url_with_other_content_leaves_no_image_behind(node, run_module):
    result = run_module(mcm_image, node, dict(url='http://files/hello-v1.tar', name='hello-v1',
                                              digest='sha256:' + 'e' * 64))
    assert result['failed'] is True and result['changed'] is False
    assert 'the rejected image was removed; the node has no image hello-v1, as before' in result['msg']
    assert node.images == [] and write_kinds(node) == ['pull', 'delete_image']
    assert result['actions'][-1].startswith('removed the rejected image hello-v1')


def test_url_with_other_content_replacing_an_image_says_what_it_did(node, run_module):
    node.add_image('hello-v1', 'sha256:' + 'a' * 64)
    result = run_module(mcm_image, node, dict(url='http://files/hello-v1.tar', name='hello-v1',
                                              digest='sha256:' + 'e' * 64))
    assert result['failed'] is True and result['changed'] is True
    assert 'upload it again' in result['msg'] and 'sha256:' + 'a' * 64 in result['msg']
    assert node.images == []  # the rejected content is not left for a later mcm_mim to run


def test_force_redeploy_keeps_the_secret_key_marker(node, run_module, v1, v2):
    run_module(mcm_image, node, dict(src=v1))
    node.add_mim('hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1', 'K': 'v', 'MIMOE_SECRET_KEYS': 'K'})
    result = run_module(mcm_image, node, dict(src=v2, force=True, wait=False))
    assert result['changed'] is True
    assert node.writes[-1][2]['env']['MIMOE_SECRET_KEYS'] == 'K'  # still masked by mcm_info afterwards

# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault scenario 6: truncated, corrupt and wrongly laid out image archives are rejected on the controller, by
mcm_image, mim_package_info and the rollout role, before any request reaches a node (0 bytes uploaded)."""

from __future__ import annotations

import io
import os
import tarfile


from fault_support import assert_counter, assert_old_or_new
from mcm_it import Ansible
from mim_tar import build_tar


def bad_archives(scenario):
    """{kind: (path, words the rejection must contain)}."""
    with open(scenario.tars['v2'], 'rb') as fh:
        good = fh.read()
    found = {}

    def write(kind, data):
        path = os.path.join(str(scenario.tmp_path), 'bad-%s.tar' % kind)
        with open(path, 'wb') as fh:
            fh.write(data)
        return path

    found['truncated'] = (write('truncated', good[:len(good) // 2]), 'truncated')
    inner = good.index(b'index.js\x00')  # the header of the layer's own tar: garble it
    found['corrupt'] = (write('corrupt', good[:inner] + b'\xff' * 148 + good[inner + 148:]), 'not a readable tar')
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode='w') as tar:
        info = tarfile.TarInfo('index.js')
        info.size = 5
        tar.addfile(info, io.BytesIO(b'x=1;\n'))
    found['plain'] = (write('plain', plain.getvalue()), 'manifest.json is missing')
    found['no_layers'] = (write('no_layers', build_tar(manifest=[{'RepoTags': ['hello-v1:2.0.0']}])),
                          'manifest.json has no Layers')
    found['no_entry'] = (write('no_entry', build_tar(name='hello-v1', layer_files={'main.js': b'x=1;'}, entry='x')),
                         'no layer holds the entry file')
    found['not_tar'] = (write('not_tar', b'<html>502 Bad Gateway</html>\n' * 40), 'not a valid mim image archive')
    return found


def test_bad_archives_are_rejected_before_any_upload(scenario):
    inventory = scenario.start_nodes('edge1')
    node = scenario.nodes['edge1']
    counters = scenario.install_v1_with_counters(inventory)
    archives = bad_archives(scenario)

    tasks = []
    for kind, (path, _words) in sorted(archives.items()):
        tasks.append({'name': 'info %s' % kind, 'mimoe.edge.mim_package_info': {'path': path}, 'ignore_errors': True})
        tasks.append({'name': 'image %s' % kind, 'mimoe.edge.mcm_image': {'src': path, 'force': True},
                      'ignore_errors': True})
    run = Ansible(scenario.tmp_path, {'edge1': node}).run(tasks)
    results = {r['_task']: r for r in run.host('edge1')}
    for kind, (path, words) in archives.items():
        for task in ('info %s' % kind, 'image %s' % kind):
            result = results[task]
            assert result['_status'] == 'failed', result
            assert words in result['msg'] and path in result['msg'], result
            assert 'Traceback' not in result['msg'], result
    assert node.stats()['requests_total'] == 0

    # The role validates once on the controller, before any node is read or written.
    rc, out, _recap, report = scenario.rollout(inventory, archives['truncated'][0])
    assert rc != 0, out
    assert 'is not a valid mim image archive' in out and 'truncated' in out, out
    assert report is None  # stopped before any node was looked at
    stats = node.stats()
    assert stats['requests_total'] == 0 and stats['bytes_uploaded'] == 0, stats
    assert_old_or_new(node, '1.0.0')
    assert_counter(node, counters['edge1'])

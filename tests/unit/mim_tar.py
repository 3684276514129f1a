# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build docker-save mim image archives in tests (the layout the mimik packager writes)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

TINY_MIM = b'mimikModule.exports = function (context, req, res) { res.end(JSON.stringify({ok: true})); };\n'


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def build_tar(path=None, name='tiny-v1', version='1.0.0', index_js=TINY_MIM, extra_tags=(), manifest=None,
              entry='index.js', layer_files=None):
    """Write (or return, when path is None) the bytes of an image archive.

    :param manifest: replaces manifest.json (a value to serialise, or raw bytes) to build broken archives.
    :param layer_files: replaces the layer content, ``{name: bytes}`` (default: the entry file only).
    """
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode='w') as layer_tar:
        for file_name, data in (layer_files or {entry: index_js}).items():
            _add(layer_tar, file_name, data)
    layer_bytes = layer.getvalue()
    layer_id = hashlib.sha256(layer_bytes).hexdigest()
    config = {
        'architecture': 'amd64', 'os': 'linux',
        'config': {'Cmd': ['node', entry], 'WorkingDir': '/app',
                   'Labels': {'mimik.runtime': 'javascript', 'mimik.version': version, 'mimik.entry': entry,
                              'mimik.type': 'sandbox'}},
        'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + layer_id]},
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + '.json'
    tags = ['%s:%s' % (name, version)] + list(extra_tags)
    if manifest is None:
        manifest = [{'Config': config_name, 'RepoTags': tags, 'Layers': ['%s/layer.tar' % layer_id]}]
    manifest_bytes = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w') as tar:
        _add(tar, 'manifest.json', manifest_bytes)
        _add(tar, 'repositories', json.dumps({name: {version: layer_id, 'latest': layer_id}}).encode())
        _add(tar, config_name, config_bytes)
        _add(tar, '%s/VERSION' % layer_id, b'1.0')
        _add(tar, '%s/json' % layer_id, json.dumps({'id': layer_id}).encode())
        _add(tar, '%s/layer.tar' % layer_id, layer_bytes)
    data = out.getvalue()
    if path is None:
        return data
    with open(path, 'wb') as handle:
        handle.write(data)
    return path

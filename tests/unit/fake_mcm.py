# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-memory node that behaves like the MCM API, to run modules against in unit tests.

``FakeNode`` replaces ``MCMClient`` (same method names) and keeps a list of every write it received, so a
test can assert what a module did, or that it did nothing (check mode, idempotency).
"""

from __future__ import annotations

import copy

from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import inspect_image_tar
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError

TOKEN = 'unit-test-token-7c1d'
FLAGS = ('MCM.WEBSOCKET_SUPPORT', 'MCM.API_ALIAS', 'MCM.OTEL_SUPPORT', 'MCM.RUNTIME')


class FakeNode:
    """An MCM node in memory: current or legacy generation, with the refusals a node makes."""

    base_url = 'http://node.test:8083'

    def __init__(self, api='current', client_id='api', legacy_image_id='archive'):
        self.api_version = api
        self.legacy_image_id = legacy_image_id  # archive | config | short | opaque, as mimoe_sim --legacy-image-id
        self.client_id = client_id
        self.images = []
        self.mims = []
        self.writes = []
        self.clock = 1000
        self.fail_composition = None
        self.crash_on_deploy = set()  # names of mims that crash right after a deploy (state stopped, status crashed)
        self.datastore_answers = []
        self.init_kwargs = None

    @property
    def legacy(self):
        return self.api_version == 'legacy'

    @property
    def known_api_version(self):  # what MCMModule.exit reports (a fake node always knows its generation)
        return self.api_version

    def tick(self):
        self.clock += 10
        return self.clock

    # ---------------------------------------------------------------- views
    def legacy_id(self, img):
        config = img.get('config_digest') or img['digest']
        return {'archive': img['digest'], 'config': config, 'short': config[:19],
                'opaque': img['id']}[self.legacy_image_id]

    def image_view(self, img):
        if self.legacy:
            view = {'id': self.legacy_id(img), 'name': img['name'], 'created': img['created'], 'size': img['size']}
            if self.legacy_image_id == 'opaque':
                view['repoTags'] = list(img['repoTags'])
            return view
        return dict((k, v) for k, v in img.items() if k != 'config_digest')

    def mim_view(self, mim):
        view = copy.deepcopy(mim)
        if self.legacy:
            view.pop('env')
            view['created'] = mim['created'] * 1000
            img = self._image(mim['image'])
            view['imageId'] = self.legacy_id(img) if img else mim['imageId']
        return view

    def _image(self, name):
        for img in self.images:
            if name in (img['name'], img['id']) or (self.legacy and name == self.legacy_id(img)):
                return img
        return None

    # ---------------------------------------------------------------- setup helpers
    def add_image(self, name, digest, created=None):
        img = {'id': '%s-%s' % (self.client_id, name), 'name': name, 'digest': digest, 'repoTags': [name + ':1.0.0'],
               'size': 10, 'created': created or self.tick(), 'status': 'successfully deployed'}
        self.images.append(img)
        return img

    def add_mim(self, name, image, env, state='started', created=None):
        stored = dict(env)
        base = stored.get('MCM.BASE_API_PATH') or '/' + name
        stored['MCM.BASE_API_PATH'] = '/%s%s' % (self.client_id, base)
        for flag in FLAGS:
            stored.setdefault(flag, 'false')
        stored.setdefault('MCM.MAX_EXECUTION_TIME_SEC', '30')
        mim = {'id': '%s-%s' % (self.client_id, name), 'name': name, 'image': image,
               'imageId': '%s-%s' % (self.client_id, image), 'clientId': self.client_id,
               'created': created or self.tick(), 'state': state, 'status': 'up', 'env': stored}
        self.mims.append(mim)
        return mim

    # ---------------------------------------------------------------- client API
    def list_images(self):
        return [self.image_view(i) for i in self.images]

    def find_image(self, name):
        img = self._image(name)
        return self.image_view(img) if img else None

    def upload_image(self, path, filename=None):
        info = inspect_image_tar(path)
        self.writes.append(('upload', info['name']))
        old = self._image(info['name'])
        if old:
            self.images.remove(old)
        img = self.add_image(info['name'], info['digest'])
        img['repoTags'] = info['repo_tags']
        img['size'] = info['size']
        img['config_digest'] = info['config_digest']
        return self.image_view(img)

    def pull_image(self, url):
        self.writes.append(('pull', url))
        img = self.add_image(url.rsplit('/', 1)[-1].split('.tar')[0], 'sha256:' + 'f' * 64)
        return self.image_view(img)

    def delete_image(self, image_id, name=None, users=None):
        img = self._image(image_id)
        if img is None:
            return None
        if any(m['image'] == img['name'] for m in self.mims):
            raise MCMError('image in use', status=409)
        self.writes.append(('delete_image', img['name']))
        self.images.remove(img)
        return self.image_view(img)

    def list_mims(self):
        return [self.mim_view(m) for m in self.mims]

    def find_mim(self, name):
        for mim in self.mims:
            if name in (mim['name'], mim['id']):
                return self.mim_view(mim)
        return None

    def deploy_mim(self, spec):
        if any(m['name'] == spec['name'] for m in self.mims):
            raise MCMError('exists', status=409)
        if self._image(spec['image']) is None:
            raise MCMError('image %s not found' % spec['image'], status=400)
        self.writes.append(('deploy', spec['name'], copy.deepcopy(spec)))
        mim = self.add_mim(spec['name'], spec['image'], spec.get('env') or {})
        if spec['name'] in self.crash_on_deploy:
            mim.update(state='stopped', status='crashed')
        return self.mim_view(mim)

    def delete_mim(self, mim_id, name=None):
        for mim in self.mims:
            if mim_id in (mim['id'], mim['name']):
                self.writes.append(('delete', mim['name']))
                self.mims.remove(mim)
                return self.mim_view(mim)
        return None

    def set_container_state(self, mim_id, action, name=None):
        assert self.legacy, 'start/stop called on the current generation'
        for mim in self.mims:
            if mim_id in (mim['id'], mim['name']):
                self.writes.append((action, mim['name']))
                mim['state'] = 'started' if action == 'start' else 'stopped'
                mim['status'] = 'up' if action == 'start' else 'down'
                return {}
        raise MCMError('not found', status=404)

    def deploy_composition(self, specs):
        assert not self.legacy, 'compositions endpoint called on the legacy generation'
        if self.fail_composition:
            raise MCMError(self.fail_composition, status=500)
        self.writes.append(('composition', [s['name'] for s in specs], copy.deepcopy(specs)))
        mims = [self.add_mim(s['name'], s['image'], s.get('env') or {}) for s in specs]
        for mim in mims:
            if mim['name'] in self.crash_on_deploy:
                mim.update(state='stopped', status='crashed')
        return [self.mim_view(m) for m in mims]

    def datastore(self, mim_id, action=None, path=None, name=None):
        if action is not None:
            self.writes.append(('datastore', action, path))
        else:
            self.writes.append(('datastore_poll',))
        return self.datastore_answers.pop(0)


def write_kinds(node):
    return [w[0] for w in node.writes if w[0] != 'datastore_poll']

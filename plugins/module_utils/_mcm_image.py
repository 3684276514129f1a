# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Image convergence for ``mimoe.edge.mcm_image``: compare by content digest, upload, replace, remove.

:class:`ImageManager` dispatches on ``state``. Every write goes through the :class:`Recorder` it is given, so a
real run and a check-mode run take the same path and report the same ``actions``. Where the archive comes from
(a local tar, the catalog through the controller's cache) is an *archive source*: one convergence path serves
both.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os

from ansible_collections.mimoe.edge.plugins.module_utils._digest import same_digest, sha256_file
from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, WaitTimeout
from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import (
    DIFFERENT,
    SAME,
    UNKNOWN,
    UNVERIFIED,
    identity_matches,
    image_release,
    mim_uses_image,
)
from ansible_collections.mimoe.edge.plugins.module_utils._markers import RELEASE_KEY, decode_release, encode_release
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import image_name_from_tag, inspect_image_tar
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError, image_digest
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import Desired, is_running, remove_mim, run_state
from ansible_collections.mimoe.edge.plugins.module_utils._wait import poll_until


class ImageUsedError(MCMError):
    pass


def image_users(mims, image):
    """Mims (node objects) deployed from ``image`` (by image name or image id)."""
    return [mim for mim in mims if mim_uses_image(mim, image)]


def same_content(image, tar_info, mims=None):
    """Whether the node's ``image`` has the content of the archive described by ``tar_info``.

    See ``_image_identity.identity_matches``: a digest or short id the node reports matches the archive's file or
    config digest; else the release marker of the mims using the image; else the RepoTag (unverified).
    :returns: ``(verdict, how)``.
    """
    return identity_matches(image, tar_info, image_release(image, mims or []))


def refreshed_release(env, info):
    """``env`` with its release marker (if any) describing the archive ``info``: a mim redeployed from a replaced
    image must not keep a marker that names the old content."""
    release = decode_release(env)
    if release is None:
        return env
    revision = release.get('revision')
    env = dict(env)
    env[RELEASE_KEY] = encode_release(dict(image=info['name'], version=info.get('version'), digest=info['digest'],
                                           config_digest=info.get('config_digest'),
                                           revision=revision + 1 if revision is not None else None))
    return env


def remove_image(client, recorder, image, users=()):
    """Remove one image of the node through ``recorder`` (check mode: only recorded): the one ``removed image``
    action. ``users``: names of the mims removed just before, for the node's conflict message."""
    return recorder.change('removed image %s' % image.get('name'), client.delete_image,
                           image.get('id') or image.get('name'), image.get('name'), list(users))


# ---------------------------------------------------------------- archive sources

class TarSource(object):
    """A docker-save archive on the host that runs the task."""

    def __init__(self, path):
        self.path = path
        self.label = path

    def identity(self):
        return inspect_image_tar(self.path)

    def archive(self):
        return self.path


class CatalogSource(object):
    """The archive of a resolved catalog reference (``_catalog.resolve``), kept in the controller's image cache.

    Outside check mode the archive is downloaded into the cache (once per digest, SHA-256 verified) before it is
    compared, so the comparison reads the archive itself. In check mode nothing is downloaded: a verified cached
    archive is read, otherwise the catalog's own description of it (file digest, RepoTag, size) is compared.
    """

    def __init__(self, client, resolved, cache_dir, recorder):
        self.client = client
        self.resolved = resolved
        self.cache_dir = cache_dir
        self.recorder = recorder
        self.label = '%s@%s' % (resolved['name'], resolved['version'])
        self.path = os.path.join(cache_dir, '%s.tar' % resolved['hex'])

    def _cached(self):
        try:
            if not os.path.isfile(self.path) or os.path.getsize(self.path) != self.resolved['size']:
                return False
            return 'sha256:' + sha256_file(self.path) == self.resolved['image_digest']
        except (IOError, OSError):
            return False

    def identity(self):
        from ansible_collections.mimoe.edge.plugins.module_utils._catalog import fetch_to_cache
        if not self._cached():
            self.recorder.note('downloaded %s from the catalog into %s' % (self.resolved['image_digest'], self.path))
            if self.recorder.check_mode:
                tag = self.resolved['repo_tag']
                return dict(name=self.resolved['image_name'], digest=self.resolved['image_digest'],
                            config_digest=None, repo_tag=tag, repo_tags=[tag] if tag else [],
                            version=self.resolved.get('image_version'), size=self.resolved['size'])
            fetch_to_cache(self.client, self.resolved, self.cache_dir)
        self.resolved['path'] = self.path
        return inspect_image_tar(self.path)

    def archive(self):
        return self.path


def resolve_catalog(registry, reference, arch):
    """``(oci client, resolved)`` of a ``name@version`` catalog reference for ``arch``."""
    from ansible_collections.mimoe.edge.plugins.module_utils._catalog import (
        client_from_params,
        parse_reference,
        resolve,
    )
    client = client_from_params(registry)
    item, version = parse_reference(reference)
    return client, resolve(client, registry['namespace'], item, version, arch)


# ---------------------------------------------------------------- the manager

class ImageManager(object):
    """Converge one image of one node.

    :param client: an :class:`MCMClient` of the node.
    :param recorder: the run's :class:`Recorder` (actions, changed, warnings; decides check mode).
    :param client_id: the client ID the node scopes the calls to (to redeploy mims with their env as they were).
    """

    def __init__(self, client, recorder, client_id='api'):
        self.client = client
        self.recorder = recorder
        self.client_id = client_id

    # ------------------------------------------------------------ dispatch

    def run(self, params, diff=False):
        """Converge as ``params`` (the module's) ask; returns the module's result (``changed`` and the rest)."""
        resolved = None
        uploads = params['state'] == 'present' and (params['src'] or params['reference'] and params['pull'] != 'node')
        if params.get('upload_mode') == 'base64' and uploads and not self.client.legacy:
            raise InputError('upload_mode=base64 needs a node of the legacy API generation (this node is %s): the '
                             'current MCM API takes only the multipart upload' % self.client.api_version,
                             hint='omit upload_mode (multipart is the default and works on every node)')
        if params['state'] == 'absent':
            name = params['name']
            if not name and not params['src']:
                raise InputError('name is empty: state=absent needs the name of the image to remove (or src, the '
                                 'archive to read it from)')
            result = self.absent(name or inspect_image_tar(params['src'])['name'], force=params['force'])
        elif params['reference']:
            registry = params['registry']
            oci, resolved = resolve_catalog(registry, params['reference'], params['arch'])
            if params['name'] and params['name'] != resolved['image_name']:
                raise InputError('name is %s but the image of %s for %s is called %s (RepoTag %s)'
                                 % (params['name'], params['reference'], params['arch'], resolved['image_name'],
                                    resolved['repo_tag']), hint='omit name, or set it to %s' % resolved['image_name'])
            if params['pull'] == 'node':
                result = self.present_from_registry(oci, resolved, params)
            else:
                result = self.present(CatalogSource(oci, resolved, params['cache_dir'], self.recorder),
                                      resolved['image_name'], params)
        elif params['src']:
            result = self.present(TarSource(params['src']), params['name'], params)
        else:
            if image_name_from_tag(params['name']) != params['name']:
                raise InputError('name must be the image name without a tag (for %s: %s)'
                                 % (params['name'], image_name_from_tag(params['name'])))
            result = self.present_from_url(params['url'], params['name'], params['digest'])
        return self.output(result, resolved, diff)

    @staticmethod
    def output(result, resolved, diff):
        output = dict(changed=result['changed'], redeployed=result['redeployed'])
        if result.get('image') is not None:
            output['image'] = result['image']
        if result.get('digest'):
            output['digest'] = result['digest']
        for key in ('config_digest', 'identity'):
            if result.get(key):
                output[key] = result[key]
        if resolved is not None:
            output['catalog'] = resolved
        if diff:
            output['diff'] = dict(before=result['before'], after=result['after'])
        return output

    # ------------------------------------------------------------ reading

    def users_of(self, image):
        return image_users(self.client.list_mims(), image)

    def _check_users(self, image, users, force, doing):
        if not users:
            return
        # A node may name a mim 5 or null: sorted as text, never a TypeError.
        names = ', '.join(sorted(str(m.get('name') or m.get('id')) for m in users))
        if not force:
            raise ImageUsedError(
                'Cannot %s the image %s: the mims %s use it' % (doing, image.get('name'), names),
                status=409,
                hint='remove them first (mimoe.edge.mcm_mim state=absent), or set force=true to %s'
                     % ('redeploy them from the new image' if doing == 'replace' else 'remove them too'))
        if doing == 'replace' and self.client.legacy:
            raise ImageUsedError(
                'Cannot replace the image %s with force=true: the mims %s use it and the legacy API does not '
                'return their env, so they cannot be redeployed as they are' % (image.get('name'), names),
                status=409, hint='remove the mims, replace the image, then deploy them again with mimoe.edge.mcm_mim')

    def _snapshot(self, users, info=None):
        """Specs to redeploy the ``users`` as they are (current generation: env is read back), their secret key
        marker kept and their release marker updated to the archive ``info`` they will run from."""
        specs = []
        for mim in users:
            desired = Desired.from_node(mim, self.client_id)
            if info:
                desired.env = refreshed_release(desired.env, info)
            specs.append(desired)
        return specs

    # ------------------------------------------------------------ writing (each through the recorder)

    def remove_mim(self, mim):
        remove_mim(self.client, self.recorder, mim)

    def deploy_mim(self, desired, wait=False, wait_timeout=60, wait_sleep=1):
        self.recorder.change('deployed mim %s from image %s' % (desired.name, desired.image),
                             self._deploy_and_wait, desired, wait, wait_timeout, wait_sleep)

    def _deploy_and_wait(self, desired, wait, wait_timeout, wait_sleep):
        self.client.deploy_mim(desired.spec())
        if wait:
            self.wait_running(desired.name, wait_timeout, wait_sleep)

    def wait_running(self, name, timeout, sleep):
        def read():
            for mim in self.client.list_mims():
                if mim.get('name') == name:
                    return mim
            return None
        try:
            return poll_until(read, is_running, timeout, sleep, what='the mim %s to run again' % name)
        except WaitTimeout as exc:
            raise WaitTimeout('%s (last state/status: %s)' % (exc.message, run_state(exc.last)),
                              hint='raise wait_timeout, or check the mim log on the node', last=exc.last)

    def remove_image(self, image, users=()):
        """Remove the ``users`` (if any), then the image."""
        for mim in users:
            self.remove_mim(mim)
        remove_image(self.client, self.recorder, image, [m.get('name') for m in users])

    # ------------------------------------------------------------ states

    def present(self, source, name, params):
        """Converge an image from an archive source (a local tar, or a catalog version through the cache)."""
        info = source.identity()
        if name and name != info['name']:
            raise MCMError('name is %s but the archive %s is tagged %s: the node names an image after the first '
                           'RepoTag of its archive' % (name, source.label, ', '.join(info['repo_tags'])),
                           hint='omit name, or set it to %s' % info['name'])
        name = info['name']
        image = self.client.find_image(name)
        result = dict(changed=False, digest=info['digest'], config_digest=info.get('config_digest'), image=image,
                      before={}, after={}, redeployed=[])
        if image is not None:
            users = self.users_of(image)
            verdict, how = same_content(image, info, users)
            result['identity'] = dict(verified=verdict == SAME, compared_by=how)
            if verdict == SAME:
                return result
            if verdict == UNVERIFIED or (verdict == UNKNOWN and users):
                # The node proves nothing either way: replacing an image in use on a guess would take its mims
                # down, so it is kept and the result says so.
                users_text = ', '.join(sorted(m.get('name') or '' for m in users))
                self.recorder.warn(
                    'The node reports no digest for the image %s and no release marker of it: kept as it is, '
                    'compared by %s only (unverified). To replace it anyway, remove %sthe image first '
                    '(mimoe.edge.mcm_image state=absent).' % (name, how, 'the mims %s, then ' % users_text
                                                              if users else ''))
                return result
            result['before'] = {'digest': image_digest(image), 'repoTags': image.get('repoTags')}
            result['after'] = {'digest': info['digest'], 'repoTags': info['repo_tags']}
            result['reason'] = ('the content differs (compared by %s)' % how if verdict == DIFFERENT
                                else 'the node cannot tell its content (%s) and no mim uses it' % how)
            self._check_users(image, users, params['force'], 'replace')
        else:
            users = []
            result['before'] = {'state': 'absent'}
            result['after'] = {'state': 'present', 'digest': info['digest'], 'repoTags': info['repo_tags']}
            result['reason'] = 'the image %s is not on the node' % name
        result['changed'] = True
        result['redeployed'] = sorted((m.get('name') for m in users), key=str)
        specs = self._snapshot(users, info)
        if image is not None:
            self.remove_image(image, users)
        uploaded = self.recorder.change('uploaded image %s (%s, %s bytes)' % (name, info['digest'], info['size']),
                                        self.upload, source.archive(), info['digest'], params.get('upload_mode'))
        if uploaded is not None:  # None in check mode: the image reported is the one before the task
            result['image'] = self.client.find_image(name) or uploaded
        for desired in specs:
            self.deploy_mim(desired, params['wait'], params['wait_timeout'], params.get('wait_sleep') or 1)
        return result

    def upload(self, path, digest, mode=None):
        """Send the archive at ``path`` to the node: ``multipart`` (every node) or ``base64`` (the legacy
        ``POST /images`` JSON ``{"base64Image"}`` with ``mode=payload``, seed 002)."""
        if mode != 'base64':
            return self.client.upload_image(path)
        try:
            with open(path, 'rb') as handle:
                data = base64.b64encode(handle.read()).decode('ascii')
        except (IOError, OSError) as exc:
            raise InputError('Cannot read image archive %s: %s' % (path, exc))
        return self.client.unwrap(self.client.request(
            'POST', '/images', json_body={'base64Image': data}, params={'mode': 'payload'},
            resource='image upload (base64)', conflict='an image with this name already exists on the node'))

    def present_from_url(self, url, name, digest=None, description=None, body=None):
        """Have the node fetch the archive at ``url`` (``body`` adds fields to the request, e.g. authorization)."""
        image = self.client.find_image(name)
        result = dict(changed=False, digest=image_digest(image) if image else None, image=image,
                      before={}, after={}, redeployed=[])
        if image is not None:
            if not digest or same_digest(image_digest(image), digest):
                return result
            users = self.users_of(image)
            self._check_users(image, users, False, 'replace')
            result['before'] = {'digest': image_digest(image)}
            result['after'] = {'digest': digest}
            result['reason'] = 'the digest on the node differs from digest'
        else:
            result['before'] = {'state': 'absent'}
            result['after'] = {'state': 'present', 'url': description or url}
            result['reason'] = 'the image %s is not on the node' % name
        result['changed'] = True
        if image is not None:
            self.remove_image(image)
        pulled = self.recorder.change('pulled image %s from %s' % (name, description or url),
                                      self.pull, url, body)
        if self.recorder.check_mode:
            return result
        image = self.client.find_image(name)
        if image is None:
            raise MCMError('The node fetched %s but reports no image called %s (it reported %s)'
                           % (description or url, name,
                              (pulled or {}).get('name') if isinstance(pulled, dict) else pulled),
                           hint='set name to the repository part of the archive RepoTag')
        result['image'] = image
        result['digest'] = image_digest(image)
        if digest and not same_digest(result['digest'], digest):
            self._reject_pulled(image, description or url, digest, previous=result['before'].get('digest'))
        return result

    def pull(self, url, body=None):
        if not body:
            return self.client.pull_image(url)
        request = dict(body, url=url)
        return self.client.unwrap(self.client.request(
            'POST', '/images', json_body=request, params={'mode': 'reference'} if self.client.legacy else None,
            resource='image at %s' % url, conflict='an image with this name already exists on the node'))

    def present_from_registry(self, oci, resolved, params):
        """``pull: node``: the node downloads the catalog blob, from ``node_registry_url`` when given (a gateway
        or mirror it reaches), with the registry credentials only when ``node_credentials`` allows it."""
        from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import OCIError
        registry = params['registry']
        url = resolved['url']
        node_url = params.get('node_registry_url')
        if node_url:
            # Same repository and digest, under the base URL the node reaches (a gateway proxy or a mirror).
            url = node_url.rstrip('/') + url[url.index('/v2/'):]
        body = None
        if not oci.anonymous_blob_access(resolved['repository'], resolved['image_digest']):
            if not params.get('node_credentials'):
                raise OCIError('pull=node needs a registry that serves %s without credentials: the node downloads the '
                               'blob URL itself and is never given a registry password unless node_credentials=true'
                               % resolved['url'],
                               hint='use pull=controller (the controller downloads with the credentials and uploads), '
                                    'allow anonymous pulls on the registry, or set node_credentials=true to hand '
                                    'the node the registry credentials')
            if not registry.get('username'):
                raise InputError('node_credentials=true but registry.username is empty: there are no credentials '
                                 'to hand to the node', hint='set registry.username and registry.password')
            body = {'authorization': node_authorization(registry)}
        return self.present_from_url(url, resolved['image_name'], resolved['image_digest'], body=body)

    def _reject_pulled(self, image, url, digest, previous):
        """A digest-pinned pull brought other content: remove it (a later mcm_mim must not run it), then fail.

        The node names an image after its archive, so the pull replaced any previous image of that name; the
        node cannot hand that one back, so the message says how to restore it.
        """
        got = image_digest(image)
        try:
            self.recorder.change('removed the rejected image %s (%s)' % (image.get('name'), got),
                                 self.client.delete_image, image.get('id') or image.get('name'), image.get('name'), [])
            left = 'the rejected image was removed'
        except MCMError as exc:
            left = 'removing the rejected image failed (%s): remove it with mimoe.edge.mcm_image state=absent' % exc
        if previous:
            left += ('; the previous image %s (%s) was replaced before the check and is not on the node any more: '
                     'upload it again (src or reference)' % (image.get('name'), previous))
        else:
            left += '; the node has no image %s, as before' % image.get('name')
        error = MCMError('The image fetched from %s has the digest %s, not %s: %s'
                         % (url, got, digest, left), hint='check the url and the digest')
        error.changed = bool(previous)
        raise error

    def absent(self, name, force=False):
        image = self.client.find_image(name)
        result = dict(changed=False, image=None, digest=None, before={}, after={}, redeployed=[])
        if image is None:
            return result
        users = self.users_of(image)
        self._check_users(image, users, force, 'remove')
        result.update(changed=True, digest=image_digest(image), reason='the image %s is on the node' % name,
                      before={'state': 'present', 'digest': image_digest(image)}, after={'state': 'absent'})
        self.remove_image(image, users)
        return result


def node_authorization(registry):
    """The ``Authorization`` value a node sends to the registry: HTTP Basic of ``registry.username/password``."""
    text = '%s:%s' % (registry.get('username') or '', registry.get('password') or '')
    return 'Basic ' + base64.b64encode(text.encode('utf-8')).decode('ascii')


def node_secrets(params):
    """The values :func:`node_authorization` derives from the module's ``params`` (to mask in any output)."""
    registry = (params or {}).get('registry')
    if not (params or {}).get('node_credentials') or not isinstance(registry, dict) or not registry.get('username'):
        return []
    value = node_authorization(registry)
    return [value, value.split(' ', 1)[1]]

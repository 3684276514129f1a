# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Image convergence for ``mimoe.edge.mcm_image``: compare by content digest, upload, replace, remove.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import (
    MCMError,
    image_digest,
    inspect_image_tar,
    same_digest,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import (
    Desired,
    MimManager,
)


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


class ImageManager(object):
    def __init__(self, mcm):
        self.mcm = mcm
        self.client = mcm.client
        self.mims = MimManager(mcm)

    def users_of(self, image):
        return image_users(self.mims.mims(refresh=True), image)

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
            desired = Desired.from_node(mim, self.mcm.client_id)
            if info:
                desired.env = refreshed_release(desired.env, info)
            specs.append(desired)
        return specs

    def remove(self, image, users):
        """Remove the ``users`` (if any), then the image."""
        for mim in users:
            self.mims.remove(mim)
        self.client.delete_image(image.get('id') or image.get('name'), image.get('name'),
                                 [m.get('name') for m in users])
        self.mcm.actions.append('removed image %s' % image.get('name'))

    def present_from_tar(self, src, name=None, force=False, wait=True, wait_timeout=60, wait_sleep=1):
        """Converge an image from a local tar. Returns a result dict (``changed``, ``image``, ``digest``, diff)."""
        info = inspect_image_tar(src)
        if name and name != info['name']:
            raise MCMError('name is %s but the archive %s is tagged %s: the node names an image after the first '
                           'RepoTag of its archive' % (name, src, ', '.join(info['repo_tags'])),
                           hint='omit name, or set it to %s' % info['name'])
        name = info['name']
        image = self.client.find_image(name)
        result = dict(changed=False, digest=info['digest'], config_digest=info['config_digest'], image=image,
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
                self.mcm.module.warn(
                    'The node reports no digest for the image %s and no release marker of it: kept as it is, '
                    'compared by %s only (unverified). To replace it anyway, remove %sthe image first '
                    '(mimoe.edge.mcm_image state=absent).' % (name, how, 'the mims %s, then ' % users_text
                                                              if users else ''))
                return result
            result['before'] = {'digest': image_digest(image), 'repoTags': image.get('repoTags')}
            result['after'] = {'digest': info['digest'], 'repoTags': info['repo_tags']}
            result['reason'] = ('the content differs (compared by %s)' % how if verdict == DIFFERENT
                                else 'the node cannot tell its content (%s) and no mim uses it' % how)
            self._check_users(image, users, force, 'replace')
        else:
            users = []
            result['before'] = {'state': 'absent'}
            result['after'] = {'state': 'present', 'digest': info['digest'], 'repoTags': info['repo_tags']}
            result['reason'] = 'the image %s is not on the node' % name
        result['changed'] = True
        result['redeployed'] = sorted((m.get('name') for m in users), key=str)
        if self.mcm.check_mode:
            for mim in users:
                self.mcm.actions.append('removed mim %s' % mim.get('name'))
            if image is not None:
                self.mcm.actions.append('removed image %s' % name)
            self.mcm.actions.append('uploaded image %s (%s, %d bytes)' % (name, info['digest'], info['size']))
            for mim in users:
                self.mcm.actions.append('deployed mim %s from image %s' % (mim.get('name'), name))
            return result

        specs = self._snapshot(users, info)
        if image is not None:
            self.remove(image, users)
        uploaded = self.client.upload_image(src)
        self.mcm.actions.append('uploaded image %s (%s, %d bytes)' % (name, info['digest'], info['size']))
        result['image'] = self.client.find_image(name) or uploaded
        for desired in specs:
            self.mims.deploy(desired)
            if wait:
                self.mims.wait_running(desired.name, wait_timeout, wait_sleep)
        return result

    def present_from_url(self, url, name, digest=None):
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
            result['after'] = {'state': 'present', 'url': url}
            result['reason'] = 'the image %s is not on the node' % name
        result['changed'] = True
        if self.mcm.check_mode:
            if image is not None:
                self.mcm.actions.append('removed image %s' % name)
            self.mcm.actions.append('pulled image %s from %s' % (name, url))
            return result
        if image is not None:
            self.remove(image, [])
        pulled = self.client.pull_image(url)
        self.mcm.actions.append('pulled image %s from %s' % (name, url))
        image = self.client.find_image(name)
        if image is None:
            raise MCMError('The node fetched %s but reports no image called %s (it reported %s)'
                           % (url, name, (pulled or {}).get('name') if isinstance(pulled, dict) else pulled),
                           hint='set name to the repository part of the archive RepoTag')
        result['image'] = image
        result['digest'] = image_digest(image)
        if digest and not same_digest(result['digest'], digest):
            self._reject_pulled(image, url, digest, previous=result['before'].get('digest'))
        return result

    def _reject_pulled(self, image, url, digest, previous):
        """A digest-pinned pull brought other content: remove it (a later mcm_mim must not run it), then fail.

        The node names an image after its archive, so the pull replaced any previous image of that name; the
        node cannot hand that one back, so the message says how to restore it.
        """
        got = image_digest(image)
        try:
            self.client.delete_image(image.get('id') or image.get('name'), image.get('name'), [])
            self.mcm.actions.append('removed the rejected image %s (%s)' % (image.get('name'), got))
            left = 'the rejected image was removed'
        except MCMError as exc:
            left = 'removing the rejected image failed (%s): remove it with mimoe.edge.mcm_image state=absent' % exc
        if previous:
            left += ('; the previous image %s (%s) was replaced before the check and is not on the node any more: '
                     'upload it again (src or catalog)' % (image.get('name'), previous))
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
        if self.mcm.check_mode:
            for mim in users:
                self.mcm.actions.append('removed mim %s' % mim.get('name'))
            self.mcm.actions.append('removed image %s' % name)
            return result
        self.remove(image, users)
        return result

    def present_from_catalog(self, resolved, fetch, force=False, wait=True, wait_timeout=60):
        """Converge the image of a resolved catalog reference (``_catalog.resolve``), uploaded from the controller.

        ``fetch()`` returns the path of the archive in the local cache, downloading it when missing. In check mode
        nothing is downloaded: a cached archive is compared as usual, otherwise by the digest the node reports.
        """
        if not self.mcm.check_mode or fetch(check_only=True):
            return self.present_from_tar(fetch(), resolved['image_name'], force, wait, wait_timeout)
        name = resolved['image_name']
        image = self.client.find_image(name)
        result = dict(changed=False, digest=resolved['image_digest'], image=image, before={}, after={},
                      redeployed=[])
        if image is not None and same_digest(image_digest(image), resolved['image_digest']):
            return result
        users = self.users_of(image) if image is not None else []
        if image is not None:
            self._check_users(image, users, force, 'replace')
            result['before'] = {'digest': image_digest(image), 'repoTags': image.get('repoTags')}
            self.mcm.actions.extend('removed mim %s' % m.get('name') for m in users)
            self.mcm.actions.append('removed image %s' % name)
        else:
            result['before'] = {'state': 'absent'}
        result['after'] = {'digest': resolved['image_digest'], 'repoTags': [resolved['repo_tag']]}
        self.mcm.actions.append('downloaded %s from the catalog' % resolved['image_digest'])
        self.mcm.actions.append('uploaded image %s (%s, %s bytes)' % (name, resolved['image_digest'], resolved['size']))
        self.mcm.actions.extend('deployed mim %s from image %s' % (m.get('name'), name) for m in users)
        result.update(changed=True, redeployed=sorted(m.get('name') for m in users))
        return result

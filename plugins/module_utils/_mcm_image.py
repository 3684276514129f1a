# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Image convergence for ``mimoe.edge.mcm_image``: compare by content digest, upload, replace, remove.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import (
    MCMError,
    image_digest,
    image_matches,
    inspect_image_tar,
    same_digest,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import (
    Desired,
    MimManager,
    env_as_dict,
    node_spec_env,
)


class ImageUsedError(MCMError):
    pass


def image_users(mims, image):
    """Mims (node objects) deployed from ``image`` (by image name or image id)."""
    users = []
    for mim in mims:
        if image_matches(image, mim.get('image')) or (mim.get('imageId') and mim.get('imageId') == image.get('id')):
            users.append(mim)
    return users


def same_content(image, digest, tar_info=None):
    """Whether the node's ``image`` has this content.

    Compares digests after the colon. A node that reports no digest is compared by size and RepoTags.
    :returns: ``(same, how)``.
    """
    node_digest = image_digest(image)
    if node_digest:
        return same_digest(node_digest, digest), 'digest'
    if tar_info is not None and image.get('size') == tar_info['size'] \
            and sorted(image.get('repoTags') or []) == sorted(tar_info['repo_tags']):
        return True, 'size and RepoTags (the node reports no digest)'
    return False, 'no digest reported by the node'


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

    def _snapshot(self, users):
        """Specs to redeploy the ``users`` as they are (current generation: env is read back)."""
        specs = []
        for mim in users:
            client_id = mim.get('clientId') or self.mcm.client_id
            specs.append(Desired(mim.get('name'), mim.get('image'),
                                 node_spec_env(env_as_dict(mim.get('env')) or {}, client_id)))
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
        result = dict(changed=False, digest=info['digest'], image=image, before={}, after={}, redeployed=[])
        if image is not None:
            same, how = same_content(image, info['digest'], info)
            if same:
                return result
            result['before'] = {'digest': image_digest(image), 'repoTags': image.get('repoTags')}
            result['after'] = {'digest': info['digest'], 'repoTags': info['repo_tags']}
            result['reason'] = 'the content differs (compared by %s)' % how
            users = self.users_of(image)
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

        specs = self._snapshot(users)
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
            raise MCMError('The image fetched from %s has the digest %s, not %s' % (url, result['digest'], digest),
                           hint='check the url and the digest')
        return result

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

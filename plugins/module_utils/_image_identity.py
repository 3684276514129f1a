# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Image identity: is the image a node holds the one an archive describes?

Every rule about what a node's image id means lives here, once. Nodes answer in several styles:

* current API: ``digest`` (``sha256:`` of the archive; one real node spells it ``sha265:``), opaque ``id``;
* legacy API, Docker style (seed 002): ``id`` is the Docker image id, the digest of the image's config JSON, in full
  (``sha256:`` + 64 hex) or short (``sha256:4dcab49015d4``) form, ``repoDigests`` a list of lists;
* legacy API, edgeSDK sample apps: an opaque ``id`` (``<appId>-example-v1``, ``example-v1``) and no digest at all.

So an archive is identified by two digests (:func:`archive_identity`): the digest of the file and the digest of its
config JSON; a node's full digest matches either, a short id matches a 12-hex prefix of either. When the node gives
no digest, the release marker (``MIMOE_RELEASE``, :mod:`._markers`) that the collection keeps in the env of the mims
deployed from the image decides; never a controller-side file. Without a marker the RepoTag (``name:version``) is
the last resort, and only says "unverified".

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# node_image_digest and normalize_digest are re-exported: callers find every identity rule in this module.
from ansible_collections.mimoe.edge.plugins.module_utils._digest import (  # noqa: F401 pylint: disable=unused-import
    node_digests,
    node_image_digest,
    normalize_digest,
)
from ansible_collections.mimoe.edge.plugins.module_utils._markers import decode_release
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import (
    image_matches,
    image_name_from_tag,
    inspect_image_tar,
)

_SHORT = re.compile(r'^sha2(?:56|65):([0-9a-f]{12})$', re.IGNORECASE)

# Verdicts of :func:`identity_matches`.
SAME = 'same'              # proved: a digest, a short id or a release marker matches
DIFFERENT = 'different'    # proved: what the node reports names other content or another version
UNVERIFIED = 'unverified'  # the node proves nothing, but its RepoTag is the archive's name:version
UNKNOWN = 'unknown'        # the node proves nothing and tells no version


def _short_id(value):
    if not isinstance(value, str):
        return None
    match = _SHORT.match(value.strip())
    return match.group(1).lower() if match else None


def image_repo_tag(node_image):
    """The first RepoTag that is not ``runtime:*`` (``hello-v1:1.2.0``), or None."""
    if not isinstance(node_image, dict):
        return None
    tags = [t for t in node_image.get('repoTags') or [] if isinstance(t, str) and t]
    names = [t for t in tags if not t.startswith('runtime:')] or tags
    return names[0] if names else None


def image_version(node_image):
    """The version of a node image from its RepoTag (``hello-v1:1.2.0`` -> ``1.2.0``), None when not tagged."""
    tag = image_repo_tag(node_image)
    if tag is None:
        return None
    name = image_name_from_tag(tag)
    return tag[len(name) + 1:] if name != tag else None


def image_identity(node_image):
    """What a node image says about its content, normalised.

    :returns: dict with ``name``, ``id``, ``digest`` (:func:`node_image_digest`), ``short_id`` (the 12 hex of a
              short ``sha256:`` id, else None), ``id_style`` (``digest``, ``short`` or ``opaque``: what the ``id``
              looks like), ``repo_tag`` and ``version``.
    """
    image = node_image if isinstance(node_image, dict) else {}
    image_id = image.get('id')
    if normalize_digest(image_id):
        style = 'digest'
    elif _short_id(image_id):
        style = 'short'
    else:
        style = 'opaque'
    return dict(name=image.get('name'), id=image_id if isinstance(image_id, str) else None,
                digest=node_image_digest(image), short_id=_short_id(image_id), id_style=style,
                repo_tag=image_repo_tag(image), version=image_version(image))


def normalized_image(node_image, mims=None):
    """A node image with the normalised fields added: ``digest`` (``sha256:`` + 64 hex or None, whatever the node
    spelled), ``repo_tag`` (its RepoTag or None), ``version`` and ``version_source`` (:func:`proven_version`, with the
    release marker of its users among ``mims``). Every other key is kept as the node sent it."""
    if not isinstance(node_image, dict):
        return node_image
    result = dict(node_image)
    identity = image_identity(node_image)
    version, source = proven_version(node_image, image_release(node_image, mims or []))
    result.update(digest=identity['digest'], repo_tag=identity['repo_tag'], version=version, version_source=source)
    return result


def archive_identity(path):
    """The identity of a docker-save archive: ``digest`` (of the file), ``config_digest`` (of its config JSON, the
    Docker image id), ``name``, ``version``, ``repo_tag``, ``repo_tags`` and ``size``.

    :raises ImageArchiveError: when the archive is not a valid mim image (see ``inspect_image_tar``).
    """
    info = inspect_image_tar(path)
    return dict((key, info[key]) for key in ('digest', 'config_digest', 'name', 'version', 'repo_tag',
                                             'repo_tags', 'size'))


def mim_uses_image(mim, node_image):
    """Whether a node mim runs from ``node_image`` (by image name, RepoTag repository or image id)."""
    if not isinstance(mim, dict) or not isinstance(node_image, dict):
        return False
    if image_matches(node_image, mim.get('image')):
        return True
    return bool(mim.get('imageId')) and mim.get('imageId') == node_image.get('id')


def image_release(node_image, mims):
    """The release marker that the mims using ``node_image`` agree on, or None.

    Read from each user's env (``MIMOE_RELEASE``); a marker for another image name is ignored, and users that
    disagree on the content give None (no proof either way).
    """
    found = None
    for mim in mims or []:
        if not mim_uses_image(mim, node_image):
            continue
        env = mim.get('env')
        release = decode_release(env) if isinstance(env, dict) else None
        if not release or release.get('image') not in (None, node_image.get('name')):
            continue
        key = (release.get('digest'), release.get('config_digest'), release.get('version'))
        if found is None:
            found = release
        elif (found.get('digest'), found.get('config_digest'), found.get('version')) != key:
            return None
    return found


def _digests_of(identity):
    return [d for d in (normalize_digest(identity.get('digest')), normalize_digest(identity.get('config_digest')))
            if d]


def identity_matches(node_image, identity, release=None):
    """Whether ``node_image`` holds the content of ``identity`` (an :func:`archive_identity`, or any dict with
    ``digest`` / ``config_digest`` / ``repo_tag`` / ``version``).

    In order: a full digest the node reports (equal to either digest of the archive); a short ``sha256:`` id (a
    12-hex prefix of either); the ``release`` marker of its users (:func:`image_release`); the RepoTag.

    :returns: ``(verdict, how)``: verdict :data:`SAME`, :data:`DIFFERENT`, :data:`UNVERIFIED` or :data:`UNKNOWN`,
              ``how`` a short phrase for messages.
    """
    node = image_identity(node_image)
    wanted = _digests_of(identity)
    reported = node_digests(node_image) if isinstance(node_image, dict) else []
    if reported and wanted:
        if any(digest in wanted for digest in reported):
            return SAME, 'digest'
        return DIFFERENT, 'digest'
    if node['short_id'] and wanted:
        if any(digest[len('sha256:'):].startswith(node['short_id']) for digest in wanted):
            return SAME, 'short image id'
        return DIFFERENT, 'short image id'
    if release:
        marked = _digests_of(release)
        if marked and wanted:
            if any(digest in wanted for digest in marked):
                return SAME, 'release marker'
            return DIFFERENT, 'release marker'
    want_tag = identity.get('repo_tag')
    if node['repo_tag'] and want_tag:
        if node['repo_tag'] == want_tag:
            return UNVERIFIED, 'RepoTag %s (the node reports no digest)' % want_tag
        return DIFFERENT, 'RepoTag'
    if release and release.get('version') and identity.get('version'):
        if release['version'] == identity['version']:
            return UNVERIFIED, 'version %s in the release marker' % release['version']
        return DIFFERENT, 'version in the release marker'
    return UNKNOWN, 'nothing: the node reports no digest, no RepoTag and no release marker'


def proven_version(node_image, release=None):
    """The version of a node image and what proves it: ``(version, source)``.

    ``source`` is ``release_marker`` when the release marker of its users names a version and the node reports
    nothing that contradicts the marker (a matching digest or short id, or an opaque id with no digest: the marker
    is then the node's own record), ``repo_tag`` when the version comes from the node's RepoTag, None when the
    version is unknown.
    """
    node = image_identity(node_image)
    if release and release.get('version') and node['version'] in (None, release['version']):
        verdict = identity_matches(node_image, dict(digest=release.get('digest'),
                                                    config_digest=release.get('config_digest')))[0]
        if verdict != DIFFERENT:
            return release['version'], 'release_marker'
    if node['version'] is not None:
        return node['version'], 'repo_tag'
    return None, None

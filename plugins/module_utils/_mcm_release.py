# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One mim on one node brought to a desired release as one transaction (``mimoe.edge.mim_release``).

Like ``helm upgrade --install --atomic --wait``: one read of the node, a decision, then back up the datastore,
replace the image, deploy, restore the data, wait until started and check the health through the node. Any failure
after the first write rolls the node back to its previous image, env and data.

What identifies a deployed release lives on the node: the image digest the node reports, and the ``MIMOE_RELEASE``
env marker (``_markers.py``) with version, digest and revision. The archive of a previous release comes from the
controller's content-addressed cache when it has it (a speed-up only), else from the registry, where every archive
rolled out is kept by digest before the first write (``_catalog.keep_release``).

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import shutil
import tempfile
import time

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError, WaitTimeout
from ansible_collections.mimoe.edge.plugins.module_utils._digest import digest_hex, is_digest, same_digest
from ansible_collections.mimoe.edge.plugins.module_utils._http import MASK
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import image_matches, inspect_image_tar
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError, image_digest
from ansible_collections.mimoe.edge.plugins.module_utils._markers import (
    RELEASE_KEY,
    RESERVED_KEYS,
    SECRET_KEYS_KEY,
    decode_release,
    decode_secret_keys,
    encode_release,
    encode_secret_keys,
)
from ansible_collections.mimoe.edge.plugins.module_utils._health import (
    HealthError,
    check_health,
    client_cert,
    client_verify,
    health_url,
)
from ansible_collections.mimoe.edge.plugins.module_utils._health import argument_spec as health_argument_spec
from ansible_collections.mimoe.edge.plugins.module_utils._health import options as health_options
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_datastore import DatastoreError, run_operation
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import client_from_params, scoped_client_id
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_state import FingerprintStore
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import ImageArchiveError
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import OCIError, registry_argument_spec
from ansible_collections.mimoe.edge.plugins.module_utils._wait import poll_until
from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import SAME, UNVERIFIED, image_identity
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_image import same_content
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import (
    LEGACY_ENV_UNKNOWN,
    SpecError,
    env_as_dict,
    env_changes,
    image_replaced,
    is_running,
    mask_env,
    merge_env,
    node_spec_env,
)

HISTORY_LIMIT = 10
STEPS = ('read', 'backup', 'remove_mim', 'upload_image', 'deploy', 'restore', 'health_check')
BACKUP_DIR = 'mimoe.edge'
_MISSING_BACKUP = re.compile(r'not found|no such file|does not exist', re.I)


class ReleaseFailed(MimoeError):
    """The transaction failed; ``result`` is what the module returns with ``failed`` (secrets already masked)."""

    def __init__(self, message, result):
        super(ReleaseFailed, self).__init__(message)
        self.result = result


class Target(object):
    """The desired release: the archive (or the URL the node pulls), its identity, and the mim spec."""

    def __init__(self, mim, image_name, version, digest, size=None, repo_tag=None, path=None, url=None,
                 source_repository=None, env=None, secret_env=None, config_digest=None):
        for key in RESERVED_KEYS:
            if key in (env or {}) or key in (secret_env or {}):
                raise SpecError('env key %s is reserved: the collection keeps its own record there' % key)
        self.env, self.secret_keys = merge_env(env, secret_env)
        self.mim = mim or image_name
        self.image_name = image_name
        self.version = version or ''
        self.digest = digest
        self.size = size
        self.repo_tag = repo_tag or ('%s:%s' % (image_name, version) if version else image_name)
        self.path = path
        self.url = url
        self.source_repository = source_repository
        # The digest of the image's config JSON (the Docker image id): what legacy nodes show as the image id.
        self.config_digest = config_digest

    def identity(self):
        """What :func:`._image_identity.identity_matches` compares a node image with."""
        return dict(digest=self.digest, config_digest=self.config_digest, repo_tag=self.repo_tag,
                    version=self.version)

    @classmethod
    def from_archive(cls, path, mim=None, env=None, secret_env=None):
        info = inspect_image_tar(path)
        tags = [t for t in info['repo_tags'] if not t.startswith('runtime:')] or info['repo_tags']
        version = tags[0].rpartition(':')[2] if ':' in tags[0] else ''
        return cls(mim, info['name'], version, info['digest'], info['size'], tags[0], path, env=env,
                   secret_env=secret_env, config_digest=info.get('config_digest'))


ARCHITECTURES = ('amd64', 'arm64', 'arm')


def pick_image(image, arch=None):
    """The description of one image from what the prepare step of a run produced: the ``image`` of
    ``mim_package_info`` (``path``, ``digest``, ``name``, ``version``...), one entry of ``catalog_info``'s
    ``resolved`` (``image_digest``, ``image_name``, ``image_version``, ``url``, ``repository``...), or a dict of
    those by architecture, from which ``arch`` picks the node's. Returns a dict with ``path``, ``digest``, ``name``,
    ``version``, ``repo_tag``, ``size``, ``url``, ``repository``; raises :class:`SpecError`."""
    if not isinstance(image, dict) or not image:
        raise SpecError('image must be a dictionary describing the image (from mim_package_info or catalog_info)')
    if all(key in ARCHITECTURES for key in image):
        if not arch:
            raise SpecError('the node architecture is unknown and the image has one entry per architecture (%s): '
                            'set arch (the host variable mimoe_arch: amd64, arm64 or arm)' % ', '.join(sorted(image)))
        if arch not in image:
            raise SpecError('the release has no image for the architecture %s (it has %s)' % (arch, ', '.join(
                sorted(image))))
        image = image[arch]
        if not isinstance(image, dict):
            raise SpecError('image.%s must be a dictionary' % arch)
    catalog = 'image_digest' in image
    picked = dict(
        path=image.get('path'),
        digest=image.get('image_digest') if catalog else image.get('digest'),
        name=image.get('image_name') if catalog else image.get('name'),
        version=image.get('image_version') if catalog else image.get('version'),
        repo_tag=image.get('repo_tag'),
        size=image.get('size'),
        url=image.get('url'),
        repository=image.get('repository') if catalog else None,
        config_digest=image.get('config_digest'),
    )
    for key in ('digest', 'name'):
        if not isinstance(picked[key], str) or not picked[key]:
            raise SpecError('image has no %s' % key)
    if not re.match(r'^sha256:[0-9a-f]{64}$', picked['digest']):
        raise SpecError('image digest must be sha256:<64 hex digits>, got %s' % picked['digest'])
    if picked['config_digest'] is not None and not is_digest(picked['config_digest']):
        raise SpecError('image config_digest must be sha256:<64 hex digits>, got %s' % picked['config_digest'])
    if picked['version'] is None:
        picked['version'] = ''
    return picked


def version_of(image, marker):
    """Version of a node image: the release marker's, else the tag of its first RepoTag ('' when unknown)."""
    if marker and marker.get('version'):
        return marker['version']
    tags = [t for t in (image or {}).get('repoTags') or [] if isinstance(t, str) and not t.startswith('runtime:')]
    if tags and ':' in tags[0]:
        return tags[0].rpartition(':')[2]
    return ''


def revisions(marker):
    """A node's revision history from its release marker, newest first: the current release (``current: true``)
    then the earlier ones the marker remembers (``revision``, ``version``, ``digest``)."""
    if not marker or not marker.get('digest'):
        return []
    rows = [dict(revision=marker.get('revision', 0), version=marker.get('version') or '', digest=marker['digest'],
                 current=True)]
    for entry in marker.get('history') or []:
        rows.append(dict(revision=entry['revision'], version=entry.get('version') or '', digest=entry['digest'],
                         current=False))
    return rows


def next_history(before):
    """The ``history`` the marker of the next release keeps: the release leaving the node first, then what its own
    marker remembered, at most HISTORY_LIMIT entries."""
    marker = before.get('marker') or {}
    entries = []
    if before.get('image') is not None and before.get('digest'):
        entry = dict(revision=before.get('revision') or 0, version=before.get('version') or '',
                     digest=before['digest'])
        if marker.get('config_digest'):
            entry['config_digest'] = marker['config_digest']
        entries.append(entry)
    fields = ('revision', 'version', 'digest', 'config_digest')
    for old in marker.get('history') or []:
        if all(old['revision'] != e['revision'] for e in entries):
            entries.append(dict((k, v) for k, v in old.items() if k in fields))
    return entries[:HISTORY_LIMIT]


def pick_revision(marker, wanted, mim):
    """The history entry ``wanted`` names: ``previous`` (the release before the current one) or a revision number.
    Raises :class:`SpecError` naming what the node remembers."""
    rows = revisions(marker)
    known = ', '.join('%s (%s)' % (r['revision'], r['version'] or r['digest'][:19]) for r in rows) or 'none'
    if not rows:
        raise SpecError('the mim %s has no release marker on this node (deployed outside mimoe.edge.mim_release, or '
                        'by a version before revision history): roll back by image_digest or image_tar instead' % mim)
    text = str(wanted).strip().lower()
    if text == 'previous':
        if len(rows) < 2:
            raise SpecError('the mim %s has no revision before %s on this node (revisions: %s)'
                            % (mim, rows[0]['revision'], known))
        return rows[1]
    if not text.isdigit():
        raise SpecError('revision must be "previous" or a revision number, got %r' % (wanted,))
    for row in rows:
        if row['revision'] == int(text):
            return row
    raise SpecError('the mim %s has no revision %s on this node (it remembers: %s)' % (mim, text, known))


def archive_for(digest, cache_dir, registry, namespace):
    """The path of the archive ``digest`` on the controller: the cache first (a speed-up), else fetched from the
    registry where every release rolled out is kept; raises ReleaseStepError when neither has it."""
    if cache_dir and digest:
        path = os.path.join(cache_dir, '%s.tar' % digest_hex(digest))
        if os.path.isfile(path):
            return path
    if registry is None:
        raise ReleaseStepError('the archive of the release %s is not available: it is not in the cache %s and no '
                               'registry is configured' % (digest, cache_dir or '(none)'))
    from ansible_collections.mimoe.edge.plugins.module_utils._catalog import fetch_release
    directory = cache_dir or tempfile.mkdtemp(prefix='mimoe-release-')
    path, _downloaded = fetch_release(registry, namespace, digest, directory)
    return path


def target_from_revision(client, name, wanted, env, secret_env, cache_dir, registry, namespace):
    """The Target of revision ``wanted`` of the mim ``name``, from the history its node keeps in the release marker
    (a fresh controller needs nothing else) and the archive from the cache or the registry. Returns (target, entry)."""
    if not name:
        raise SpecError('name is required with revision: the revision history belongs to one mim')
    mim = client.find_mim(name)
    if mim is None:
        raise SpecError('the mim %s is not on the node, so it has no revision history there' % name)
    node_env = env_as_dict(mim.get('env'))
    if node_env is None:
        raise SpecError('this node (legacy API) does not return env, so the revision history of %s cannot be read '
                        'there: roll back by image_digest or image_tar instead' % name)
    entry = pick_revision(decode_release(node_env), wanted, name)
    path = archive_for(entry['digest'], cache_dir, registry, namespace)
    return Target.from_archive(path, name, env, secret_env), entry


def without_marker(env):
    """A node env without the markers the collection keeps there (release, secret key names)."""
    return dict((k, v) for k, v in (env or {}).items() if k not in (RELEASE_KEY, SECRET_KEYS_KEY))


def default_backup_path(mim, digest):
    """The backup of a mim's data taken before it leaves the release ``digest``: derived from what the node still
    shows after an interruption (the previous image stays until the new one is stored), so a later run finds it."""
    return '%s/%s-%s.json' % (BACKUP_DIR, mim, (digest_hex(digest) or 'none')[:12])


def short(text, limit=300):
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit] + '...'


class ReleaseManager(object):
    """Runs the transaction on the node of ``mcm`` (an :class:`MCMModule`).

    ``options``: backup (bool), backup_path, health (dict: enabled, path, base_path, status, body_regex, retries,
    delay, timeout), wait_timeout, wait_sleep, datastore_timeout, poll_interval, cache_dir, registry (an
    :class:`OCIClient` or None), namespace, allow_no_rollback, force, store (a FingerprintStore or None).
    """

    def __init__(self, mcm, target, options):
        self.mcm = mcm
        self.client = mcm.client
        self.target = target
        self.opts = options
        self.steps = []
        self.plan = []
        self.touched = False
        self.backup_taken = None
        self.result = dict(changed=False, mim=target.mim, rolled_back=False, resumed=False, data_restored=False,
                           backup='', touched=False, failed_step='', error='', rollback_error='', reasons=[])
        self.before = {}

    # ------------------------------------------------------------------ helpers

    def _step(self, name, func, *args):
        started = time.time()
        try:
            value = func(*args)
        except Exception:
            self.steps.append(dict(step=name, seconds=round(time.time() - started, 3), ok=False))
            raise
        self.steps.append(dict(step=name, seconds=round(time.time() - started, 3), ok=True))
        return value

    def _secret_keys(self, node_env=None):
        return set(self.target.secret_keys) | decode_secret_keys(node_env)

    def _desired_env(self, revision):
        env = dict(self.target.env)
        env[RELEASE_KEY] = encode_release(dict(image=self.target.image_name, version=self.target.version,
                                               digest=self.target.digest, config_digest=self.target.config_digest,
                                               revision=revision, history=next_history(self.before) or None))
        if self.target.secret_keys:
            # The node remembers which keys are secret, so that mcm_info and any later diff mask them.
            env[SECRET_KEYS_KEY] = encode_secret_keys(self.target.secret_keys)
        return env

    # ------------------------------------------------------------------ read and decide

    def _read(self):
        client = self.client
        if client._api_version is None:
            # One GET serves both the generation detection and the listing (current API).
            body = client.unwrap(client.request('GET', '/mims', ok_missing=True))
            if body is None:
                mims = client.list_mims() if client.legacy else []
            else:
                client._api_version = 'current'
                if not isinstance(body, list) or not all(isinstance(m, dict) for m in body):
                    raise MCMError('GET %s answered something else than a list of mims' % client.url_for('/mims'),
                                   hint='check that mcm_url points to the MCM API of a mimOE node')
                mims = body
        else:
            mims = client.list_mims()
        return client.list_images(), mims

    def decide(self):
        images, mims = self._step('read', self._read)
        target = self.target
        image = None
        for candidate in images:
            if image_matches(candidate, target.image_name):
                image = candidate
                break
        mim = None
        for candidate in mims:
            if candidate.get('name') == target.mim:
                mim = candidate
                break
        node_env = env_as_dict(mim.get('env')) if mim else None
        marker = decode_release(node_env)
        digest = image_digest(image) if image else None
        if image is not None and not digest and marker:
            digest = marker.get('digest')
        self.before = dict(image=image, mim=mim, env=node_env, marker=marker, digest=digest,
                           version=version_of(image, marker) if image else '',
                           revision=(marker or {}).get('revision', 0))
        self.result['api_version'] = self.client.api_version
        self.result['from'] = dict(version=self.before['version'], digest=digest or '',
                                   revision=self.before['revision'])
        self.result['history'] = revisions(marker)

        reasons = []
        image_same = False
        if image is None:
            reasons.append('the image %s is not on the node' % target.image_name)
        else:
            # Whatever the node's id style (digest, config digest, short id, opaque id + release marker):
            # one rule, _image_identity.identity_matches. An opaque id with the same RepoTag and no marker is
            # kept (unverified) rather than replaced on a guess, which would wipe a legacy node's data.
            verdict, how = same_content(image, target.identity(), mims)
            image_same = verdict in (SAME, UNVERIFIED)
            self.result['identity'] = dict(verified=verdict == SAME, compared_by=how)
            if verdict == SAME and not self.before['version']:
                # A node that names no version (legacy images have no tags) runs the wanted content: its version.
                self.before['version'] = self.result['from']['version'] = target.version
            if not image_same:
                reasons.append('the image differs (compared by %s)' % how)
        if mim is None:
            reasons.append('the mim %s is not deployed' % target.mim)
        else:
            if mim.get('image') != target.image_name:
                reasons.append('the mim runs the image %s' % mim.get('image'))
            elif image_same and image_replaced(mim, image):
                reasons.append(image_replaced(mim, image))
            if node_env is not None:
                changes = env_changes(target.env, without_marker(node_env), mim.get('clientId') or self.mcm.client_id,
                                      target.mim)
                marked = decode_secret_keys(node_env)
                if SECRET_KEYS_KEY in node_env and marked != set(target.secret_keys):
                    # Which keys are secret changed. A node deployed before the marker existed is not redeployed
                    # for the marker alone (it gets one with its next real change), as with mcm_mim.
                    changes[SECRET_KEYS_KEY] = (node_env[SECRET_KEYS_KEY], encode_secret_keys(target.secret_keys))
                if changes:
                    reasons.append('env differs in %s' % ', '.join(sorted(changes)))
            elif self.opts.get('store') is not None:
                store = self.opts['store']
                key = store.key(self.client.base_url, self.mcm.client_id, target.mim)
                if (store.load().get('mims') or {}).get(key):
                    same, why = store.matches(key, target.image_name, target.env, mim)
                    if not same:
                        reasons.append(why)
            if not is_running(mim):
                reasons.append('the mim is %s' % mim.get('state'))
        if self.opts.get('force') and not reasons:
            reasons.append('force=true')
        self.image_same = image_same
        self.result['reasons'] = reasons
        # A mim missing next to its image: a transaction removed it and stopped (or it was removed by hand).
        self.resumed = mim is None and image is not None
        self.result['to'] = dict(version=target.version, digest=target.digest,
                                 revision=self.before['revision'] + (1 if reasons else 0))
        return bool(reasons)

    def _rollback_source(self):
        """How the previous image can be put back: 'node' (unchanged image), 'cache', 'registry' or None."""
        before = self.before
        if before['image'] is None or self.image_same:
            return 'node'
        if self._cached_previous():
            return 'cache'
        registry = self.opts.get('registry')
        if registry is not None and before['digest']:
            from ansible_collections.mimoe.edge.plugins.module_utils._catalog import release_available
            if release_available(registry, self.opts.get('namespace'), before['digest']):
                return 'registry'
        return None

    def build_plan(self):
        before, target, current = self.before, self.target, not self.client.legacy
        plan = []
        self.do_backup = bool(current and self.opts.get('backup') and before['mim'] is not None)
        self.backup_path = self.opts.get('backup_path') or default_backup_path(target.mim, before['digest'])
        if self.do_backup:
            plan.append(('backup', 'back up the datastore of %s to %s' % (target.mim, self.backup_path)))
        if before['mim'] is not None:
            plan.append(('remove_mim', 'remove the mim %s (%s)' % (target.mim, before['version'] or 'unknown')))
        if not self.image_same:
            if target.url:
                plan.append(('upload_image', 'have the node pull %s %s (%s)' % (
                    target.image_name, target.version, target.digest)))
            else:
                plan.append(('upload_image', 'upload %s %s (%s, %s bytes)' % (
                    target.image_name, target.version, target.digest, target.size)))
        plan.append(('deploy', 'deploy %s from %s %s and wait until it runs' % (
            target.mim, target.image_name, target.version)))
        self.restore_path = None
        if self.do_backup:
            self.restore_path = self.backup_path
        elif current and self.resumed and self.opts.get('backup'):
            self.restore_path = self.backup_path
            self.result['resumed'] = True
        if self.restore_path:
            plan.append(('restore', 'restore the datastore from %s%s' % (
                self.restore_path, ' (taken before an interrupted upgrade, if there)' if not self.do_backup else '')))
        if self.opts['health'].get('enabled'):
            plan.append(('health_check', 'GET %s, expect %s' % (
                self.health_url(self.target.env), self.opts['health'].get('status'))))
        self.plan = plan
        self.result['plan'] = ['%s: %s' % step for step in plan]

    def health_url(self, env):
        health = self.opts['health']
        return health_url(self.client.base_url, self.mcm.client_id, env, self.target.mim, health.get('base_path'),
                          health.get('path'))

    def diff(self):
        before, target = self.before, self.target
        secret = self._secret_keys(before['env'])
        if before['mim'] is None and before['image'] is None:
            old = {'state': 'absent'}
        else:
            old = dict(version=before['version'], digest=before['digest'] or '')
            if before['env'] is not None:
                old['env'] = mask_env(node_spec_env(without_marker(before['env']),
                                                    (before['mim'] or {}).get('clientId') or self.mcm.client_id),
                                      secret)
            elif before['mim'] is not None:
                old['env'] = LEGACY_ENV_UNKNOWN
        new = dict(version=target.version, digest=target.digest, env=mask_env(target.env, secret))
        return dict(before=old, after=new)

    # ------------------------------------------------------------------ the transaction

    def run(self):
        target = self.target
        needed = self.decide()
        if self.mcm.diff_mode:
            self.result['diff'] = self.diff() if needed else dict(before={}, after={})
        if not needed:
            return self.unchanged()
        self.build_plan()
        source = self._rollback_source()
        self.result['rollback_source'] = source or 'none'
        if source is None and not self.opts.get('allow_no_rollback'):
            self.fail_untouched(
                'read', 'the previous release %s (%s) of %s is neither in the cache %s nor in the registry, so this '
                'node could not be rolled back: node left untouched. Configure the registry (every release rolled '
                'out is then kept there by digest), or set allow_no_rollback=true'
                % (self.before['version'] or 'unknown', self.before['digest'], target.mim,
                   self.opts.get('cache_dir') or '(none)'))
        registry = self.opts.get('registry')
        if target.url and registry is not None and target.source_repository and \
                not registry.anonymous_blob_access(target.source_repository, target.digest):
            self.fail_untouched('read', 'pull=node needs a registry that serves %s without credentials: the node '
                                'downloads it itself and is never given a registry password; use pull=controller, '
                                'or allow anonymous pulls' % target.url)
        self.result['changed'] = True
        if self.mcm.check_mode:
            self.result.update(status='upgraded', summary='%s %s -> %s would be upgraded (check mode): %s' % (
                target.image_name, self.from_label(), target.version, ', '.join(step for step, _t in self.plan)))
            return self.finish()

        self.keep()
        try:
            self.apply()
        except (MCMError, ReleaseStepError) as exc:
            step = self.steps[-1]['step'] if self.steps else 'read'
            cause = short(getattr(exc, 'message', None) or exc)
            self.result.update(failed_step=step, error='%s failed: %s' % (step, cause))
            if not self.touched:
                self.result.update(status='failed', summary='%s %s -> %s failed at %s: %s' % (
                    target.image_name, self.from_label(), target.version, step, cause))
                raise ReleaseFailed('%s: %s failed: %s (node untouched)' % (self.client.base_url, step, cause),
                                    self.finish())
            self.rollback()
        self.result.update(status='upgraded', summary='%s %s -> %s upgraded%s' % (
            target.image_name, self.from_label(), target.version,
            ', data restored' if self.result['data_restored'] else ''))
        return self.finish()

    def unchanged(self):
        """The result when :meth:`decide` found nothing to do."""
        self.result.update(status='unchanged', plan=[], summary='%s %s unchanged' % (
            self.target.image_name, self.target.version))
        return self.finish()

    def keep(self):
        """Keep the new archive for a later rollback (cache and registry), before the first write to the node."""
        target = self.target
        cache_dir = self.opts.get('cache_dir')
        if cache_dir and target.path and target.digest:
            dest = os.path.join(cache_dir, '%s.tar' % digest_hex(target.digest))
            if not os.path.isfile(dest) and os.path.abspath(target.path) != os.path.abspath(dest):
                try:
                    if not os.path.isdir(cache_dir):
                        os.makedirs(cache_dir, 0o700)
                    handle, tmp = tempfile.mkstemp(prefix='.copy-', dir=cache_dir)
                    os.close(handle)
                    shutil.copyfile(target.path, tmp)
                    os.chmod(tmp, 0o600)
                    os.rename(tmp, dest)
                except (IOError, OSError):
                    pass  # the cache only speeds rollbacks up
            config_hex = digest_hex(target.config_digest) if target.config_digest else None
            alias = os.path.join(cache_dir, '%s.tar' % config_hex) if config_hex else None
            if alias and os.path.isfile(dest) and not os.path.exists(alias):
                # Legacy nodes may show the image by its config digest (the Docker image id) in full or short form:
                # a second name in the cache lets a later rollback find the archive from what such a node shows.
                try:
                    os.link(dest, alias)
                except (IOError, OSError):
                    pass
        registry = self.opts.get('registry')
        if registry is not None:
            from ansible_collections.mimoe.edge.plugins.module_utils._catalog import keep_release
            started = time.time()
            keep_release(registry, self.opts.get('namespace'), target.image_name, target.repo_tag, target.digest,
                         target.size, path=target.path, source_repository=target.source_repository)
            self.steps.append(dict(step='keep_in_registry', seconds=round(time.time() - started, 3), ok=True))

    def _upload(self):
        client, target = self.client, self.target
        self.touched = True
        if target.url:
            client.pull_image(target.url)
            image = client.find_image(target.image_name)
            if image is None or not same_digest(image_digest(image), target.digest):
                raise ReleaseStepError('the node pulled %s but does not list %s with the digest %s'
                                       % (target.url, target.image_name, target.digest))
            return
        self._upload_archive(target.path, target.digest)

    def _upload_archive(self, path, digest):
        # Uploading an image of the same name replaces it atomically: the previous image stays on the node until
        # the new one is stored, so an interruption leaves the node with its previous release.
        try:
            self.client.upload_image(path, digest=digest)
        except MCMError as exc:
            if exc.status != 409:
                raise
            image = self.client.find_image(self.target.image_name)
            if image is not None:
                self.client.delete_image(image.get('id') or image.get('name'), image.get('name'))
            self.client.upload_image(path, digest=digest)

    def _deploy(self, env, wait_timeout):
        self.touched = True
        self.client.deploy_mim(dict(name=self.target.mim, image=self.target.image_name, env=env))
        return self._wait(wait_timeout)

    def _wait(self, timeout):
        try:
            return poll_until(lambda: self.client.find_mim(self.target.mim), is_running, timeout,
                              self.opts.get('wait_sleep') or 0.2)
        except WaitTimeout as exc:
            raise ReleaseStepError('the mim %s was not running after %s seconds (last state: %s)'
                                   % (self.target.mim, timeout, (exc.last or {}).get('state', 'absent')))

    def _datastore(self, action, path):
        mim = self.client.find_mim(self.target.mim)
        if mim is None:
            raise ReleaseStepError('the mim %s is not on the node' % self.target.mim)
        return run_operation(self.client, mim, action, path, self.opts['datastore_timeout'],
                             self.opts['poll_interval'])

    def _remove_mim(self):
        mim = self.client.find_mim(self.target.mim)
        if mim is not None:
            self.touched = True
            self.client.delete_mim(mim.get('id') or mim.get('name'), mim.get('name'))

    def _restore(self):
        try:
            self._datastore('restore', self.restore_path)
        except DatastoreError as exc:
            if not self.do_backup and _MISSING_BACKUP.search(exc.message or ''):
                self.result['resumed'] = False  # no backup of an interrupted upgrade: nothing to restore
                return
            raise
        self.result['data_restored'] = True
        self.result['backup'] = self.restore_path

    def _health(self):
        try:
            check_health(self.health_url(self.target.env), self.opts['health'], client_verify(self.client),
                         cert=client_cert(self.client))
        except HealthError as exc:
            raise ReleaseStepError(exc.message)

    def apply(self):
        revision = self.before['revision'] + 1
        for step, _text in self.plan:
            if step == 'backup':
                self._step('backup', self._datastore, 'backup', self.backup_path)
                self.backup_taken = self.backup_path
                self.result['backup'] = self.backup_path
            elif step == 'remove_mim':
                self._step('remove_mim', self._remove_mim)
            elif step == 'upload_image':
                self._step('upload_image', self._upload)
            elif step == 'deploy':
                self._step('deploy', self._deploy, self._desired_env(revision), self.opts['wait_timeout'])
            elif step == 'restore':
                self._step('restore', self._restore)
            elif step == 'health_check':
                self._step('health_check', self._health)

    # ------------------------------------------------------------------ rollback

    def _cached_previous(self):
        """The cached archive of the previous release: by the digest the node shows (archive or config digest), or
        by the 12-hex short id of a legacy node (one cached archive whose name starts with it), else None."""
        before = self.before
        cache_dir = self.opts.get('cache_dir')
        if not cache_dir or before['image'] is None:
            return None
        hexdigest = digest_hex(before['digest']) if before['digest'] else None
        if hexdigest:
            path = os.path.join(cache_dir, '%s.tar' % hexdigest)
            return path if os.path.isfile(path) else None
        short_id = image_identity(before['image']).get('short_id')
        if short_id and re.match(r'^[0-9a-f]{12}$', short_id):
            found = set(os.path.realpath(p) for p in glob.glob(os.path.join(cache_dir, '%s*.tar' % short_id)))
            if len(found) == 1:
                return found.pop()
        return None

    def _previous_archive(self):
        cached = self._cached_previous()
        if cached:
            return cached
        if self.opts.get('registry') is None:
            raise ReleaseStepError('the archive of the previous release %s is not available' % self.before['digest'])
        return archive_for(self.before['digest'], self.opts.get('cache_dir'), self.opts.get('registry'),
                           self.opts.get('namespace'))

    def _rollback_steps(self):
        before = self.before
        client = self.client
        self._remove_mim()
        if not self.image_same:
            if before['image'] is not None:
                now = client.find_image(self.target.image_name)
                if now is None or not same_digest(image_digest(now), before['digest']):
                    # The digest the node shows may be the config digest: the upload checks the file's own.
                    self._upload_archive(self._previous_archive(), None)
            else:
                now = client.find_image(self.target.image_name)
                if now is not None:
                    client.delete_image(now.get('id') or now.get('name'), now.get('name'))
        if before['mim'] is not None:
            mim = before['mim']
            if before['env'] is not None:
                env = node_spec_env(before['env'], mim.get('clientId') or self.mcm.client_id)
            else:  # legacy: the node does not return env; redeploy with the given env and the previous marker
                env = dict(self.target.env)
                if before['marker']:
                    env[RELEASE_KEY] = encode_release(before['marker'])
            client.deploy_mim(dict(name=self.target.mim, image=mim.get('image') or self.target.image_name, env=env))
            self._wait(self.opts['wait_timeout'])
            if self.backup_taken:
                self._datastore('restore', self.backup_taken)

    def rollback(self):
        target = self.target
        step = self.result['failed_step']
        cause = self.result['error']
        started = time.time()
        try:
            self._rollback_steps()
        except (MCMError, ReleaseStepError) as exc:
            self.steps.append(dict(step='rollback', seconds=round(time.time() - started, 3), ok=False))
            rollback_error = short(getattr(exc, 'message', None) or exc)
            self.result.update(status='failed', rollback_error=rollback_error, summary=(
                '%s %s -> %s failed at %s, rollback failed: %s' % (
                    target.image_name, self.before['version'] or 'none', target.version, step, rollback_error)))
            raise ReleaseFailed(
                '%s: %s; the rollback failed too: %s. State: the node is between %s and %s (it may run neither); '
                'the data backup is kept on the node at %s. Re-running the rollout resumes this node from what it '
                'shows: it upgrades it to %s again and, if that fails, rolls it back to %s with that backup'
                % (self.client.base_url, cause, rollback_error, self.before['version'] or 'no release',
                   target.version, self.backup_taken or 'none', target.version, self.before['version'] or 'nothing'),
                self.finish())
        self.steps.append(dict(step='rollback', seconds=round(time.time() - started, 3), ok=True))
        back_to = self.from_label() if self.before['mim'] is not None or self.before['image'] is not None \
            else 'nothing'
        self.result.update(status='rolled_back', rolled_back=True, summary='%s %s -> %s rolled back to %s (%s)' % (
            target.image_name, self.from_label(), target.version, back_to, short(cause, 160)))
        raise ReleaseFailed('%s: %s; rolled back to %s%s' % (
            self.client.base_url, cause, back_to, ' with its data' if self.backup_taken else ''), self.finish())

    def from_label(self):
        if self.before.get('version'):
            return self.before['version']
        return 'unknown' if self.before.get('image') or self.before.get('mim') else 'none'

    def fail_untouched(self, step, message):
        self.result.update(status='failed', failed_step=step, error=message, summary='%s %s -> %s failed: %s' % (
            self.target.image_name, self.from_label(), self.target.version, short(message, 160)))
        raise ReleaseFailed('%s: %s' % (self.client.base_url, message), self.finish())

    def finish(self):
        self.result['touched'] = self.touched
        self.result['steps'] = self.steps
        self.result['actions'] = self.mcm.actions
        return self.result


class ReleaseStepError(MimoeError):
    """A step failed for a reason the node did not raise as an MCM error (timeout, health check, ...)."""


def secret_values(params):
    """The values masked in every text of a release result: those of ``secret_env``."""
    return [str(v) for v in (params['secret_env'] or {}).values()]


def mask_text(text, secrets):
    for secret in secrets:
        if secret and isinstance(text, str):
            text = text.replace(secret, MASK)
    return text


def mask_result(result, secrets):
    """Every secret value replaced by ``********`` in the text fields of a result (node messages may echo env)."""
    for key in ('error', 'rollback_error', 'summary'):
        result[key] = mask_text(result.get(key), secrets)
    return result


def release_argument_spec():
    """The options of ``mimoe.edge.mim_release`` besides the connection (:func:`._mcm_module.mcm_argument_spec`):
    the module and the rollout plan (:func:`plan_release`) validate with the same spec and :data:`RELEASE_RULES`."""
    return dict(
        src=dict(type='path'),
        image=dict(type='dict'),
        revision=dict(type='str'),
        arch=dict(type='str', choices=list(ARCHITECTURES)),
        pull=dict(type='str', default='controller', choices=['controller', 'node']),
        name=dict(type='str'),
        env=dict(type='dict', default={}),
        secret_env=dict(type='dict', default={}, no_log=True),
        force=dict(type='bool', default=False),
        backup=dict(type='bool', default=True),
        backup_path=dict(type='str'),
        health=dict(type='dict', default={}, options=health_argument_spec()),
        wait_timeout=dict(type='int', default=60),
        datastore_timeout=dict(type='int', default=120),
        poll_interval=dict(type='float', default=0.2),
        cache_dir=dict(type='path'),
        allow_no_rollback=dict(type='bool', default=False),
        fingerprint_file=dict(type='path'),
        # Optional here (no registry: no registry copy of the release).
        registry=registry_argument_spec(apply_defaults=False)['registry'],
    )


RELEASE_RULES = dict(mutually_exclusive=[('src', 'image', 'revision')], required_one_of=[('src', 'image', 'revision')],
                     required_by={'revision': 'name'})


def release_options(params):
    """The manager's options from the module's parameters (the registry client built once)."""
    registry = None
    if params['registry']:
        from ansible_collections.mimoe.edge.plugins.module_utils._catalog import client_from_params
        registry = client_from_params(params['registry'])
    return dict(backup=params['backup'], backup_path=params['backup_path'], health=health_options(params['health']),
                wait_timeout=params['wait_timeout'], wait_sleep=params['poll_interval'],
                datastore_timeout=params['datastore_timeout'], poll_interval=params['poll_interval'],
                cache_dir=params['cache_dir'], registry=registry,
                namespace=(params['registry'] or {}).get('namespace') or '',
                allow_no_rollback=params['allow_no_rollback'], force=params['force'],
                store=FingerprintStore(params['fingerprint_file']) if params['fingerprint_file'] else None)


def release_target(params):
    """The wanted release from ``src`` (an archive) or ``image`` (mim_package_info / catalog_info)."""
    if params['src']:
        return Target.from_archive(params['src'], params['name'], params['env'], params['secret_env'])
    image = pick_image(params['image'], params['arch'])
    url = image['url'] if params['pull'] == 'node' else None
    if params['pull'] == 'node' and not url:
        raise SpecError('pull=node needs an image with url (a catalog version resolved by catalog_info)')
    if not url and not image['path']:
        raise SpecError('image needs path (an archive on the controller), or use pull=node with a catalog image')
    return Target(params['name'], image['name'], image['version'], image['digest'], image['size'],
                  image['repo_tag'], image['path'], url, image['repository'], params['env'], params['secret_env'],
                  image['config_digest'])


def run_release(mcm):
    """The ``mim_release`` module: the masked result, or :class:`ReleaseFailed` with the masked failure result.

    Every failure ends here, once: before any write the node is untouched (said in the message); after the first
    write the manager has already rolled back and its ``ReleaseFailed`` carries where the node stands.
    """
    params = mcm.params
    secrets = secret_values(params)
    if params['poll_interval'] <= 0 or params['wait_timeout'] < 0 or params['datastore_timeout'] < 0:
        raise ReleaseFailed('poll_interval must be more than 0, wait_timeout and datastore_timeout 0 or more', {})
    base = dict(status='failed', mim=params['name'] or '', rolled_back=False, touched=False, resumed=False,
                data_restored=False, backup='', failed_step='read', rollback_error='', reasons=[], plan=[], steps=[])
    try:
        options = release_options(params)
        entry = None
        if params['revision']:
            target, entry = target_from_revision(mcm.client, params['name'], params['revision'], params['env'],
                                                 params['secret_env'], options['cache_dir'], options['registry'],
                                                 options['namespace'])
        else:
            target = release_target(params)
        base['mim'] = target.mim
        manager = ReleaseManager(mcm, target, options)
        if entry is not None:
            manager.result['revision_target'] = dict((k, entry[k]) for k in ('revision', 'version', 'digest'))
        return mask_result(manager.run(), secrets)
    except SpecError as exc:
        message = 'Invalid release: %s' % exc
        failed = dict(base, error=str(exc), summary='invalid release: %s' % exc)
    except ReleaseStepError as exc:
        # Before any write: the archive of the wanted revision could not be found.
        message = '%s: %s (node untouched)' % (params['mcm_url'], exc.message)
        failed = dict(base, error=exc.message, summary=exc.message)
    except ReleaseFailed as exc:
        message, failed = exc.message, exc.result
    except (MCMError, OCIError, ImageArchiveError) as exc:
        # Before any write: the node could not be read, or the registry not reached.
        message = '%s: %s (node untouched)' % (params['mcm_url'], exc)
        failed = dict(base, error=str(exc), summary='failed before any write: %s' % exc, error_detail=exc.to_dict())
    except MimoeError as exc:
        message = '%s: %s' % (params['mcm_url'], exc)
        failed = dict(base, error=str(exc), summary=str(exc), error_detail=exc.to_dict())
    raise ReleaseFailed(mask_text(message, secrets), mask_result(failed, secrets))


# A plan is a shortcut for nodes that need nothing: one read, short, without retries. Whatever goes wrong there only
# sends the node to its release task, which reads it again with the run's timeout and retries.
PLAN_TIMEOUT = 10.0


class _ReadOnlyNode(object):
    """What :meth:`ReleaseManager.decide` uses of an :class:`MCMModule`, for a read outside a module run."""

    check_mode = True
    diff_mode = False

    def __init__(self, params):
        self.params = params
        self.client = client_from_params(params)
        self.client_id = scoped_client_id(params)
        self.actions = []


def plan_release(params):
    """Whether the node of ``params`` (the options of ``mim_release``, validated with :func:`release_argument_spec`)
    already runs the release: the module's own read and decision (:meth:`ReleaseManager.decide`), no write.

    Returns ``status`` ``unchanged`` with ``result`` (what the module would return), or ``pending`` with
    ``reasons``: the release task must run on the node (it decides again). A revision target (each node resolves its
    own), ``force`` or a node that cannot be read are ``pending``: a plan never says unchanged without a read.
    """
    secrets = secret_values(params)
    if params['revision']:
        return dict(status='pending', reasons=['revision %s is resolved on each node' % params['revision']])
    if params['force']:
        return dict(status='pending', reasons=['force=true'])
    params = dict(params, retries=0, timeout=min(float(params['timeout']), PLAN_TIMEOUT))
    try:
        store = FingerprintStore(params['fingerprint_file']) if params['fingerprint_file'] else None
        manager = ReleaseManager(_ReadOnlyNode(params), release_target(params), dict(store=store, force=False))
        if manager.decide():
            return dict(status='pending', reasons=manager.result['reasons'])
        return dict(status='unchanged', reasons=[], result=mask_result(manager.unchanged(), secrets))
    except MimoeError as exc:
        return dict(status='pending', reasons=[mask_text('not read: %s' % exc, secrets)])

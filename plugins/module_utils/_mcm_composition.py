# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Composition convergence for ``mimoe.edge.mcm_composition``, dispatching on ``state``.

Every write goes through the run's :class:`Recorder` (one path for real runs and check mode).
Membership: every member is deployed with the reserved env key ``MIMOE_COMPOSITION=<name>``, visible
on the node (current generation). The legacy generation does not return env, so there the member names
are also kept in the fingerprint file.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import mim_uses_image
from ansible_collections.mimoe.edge.plugins.module_utils._markers import COMPOSITION_KEY as RESERVED_COMPOSITION_KEY
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_image import remove_image
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import (
    MIM_SPEC_SCHEMA,
    Desired,
    MimManager,
    SpecError,
    env_as_dict,
    is_running,
    mask_mim,
    merge_env,
    validate,
)

COMPOSITION_SCHEMA = {
    'type': 'object',
    'required': ['mims'],
    'properties': {
        'mims': {'type': 'array', 'items': MIM_SPEC_SCHEMA},
    },
}


def parse_members(name, mims):
    """Validate the ``mims`` option and build one :class:`Desired` per member.

    :raises SpecError: listing every problem as ``mims[<index>].<field>: <problem>``.
    """
    if not name or '/' in name:
        raise SpecError('name: a composition name is required and may not contain "/"')
    errors = validate({'mims': mims}, COMPOSITION_SCHEMA)
    if errors:
        raise SpecError('; '.join(errors))
    members = []
    seen = {}
    for index, item in enumerate(mims):
        where = 'mims[%d].' % index
        if item['name'] in seen:
            errors.append('%sname: %s is listed twice (also mims[%d])' % (where, item['name'], seen[item['name']]))
            continue
        seen[item['name']] = index
        try:
            env, secret_keys = merge_env(item.get('env'), item.get('secret_env'), where)
        except SpecError as exc:
            errors.append(str(exc))
            continue
        env[RESERVED_COMPOSITION_KEY] = name  # after merge_env, which rejects reserved keys from the user
        members.append(Desired(item['name'], item['image'], env, secret_keys))
    if errors:
        raise SpecError('; '.join(errors))
    return members


def secret_values(mims):
    """Every value under a member's ``secret_env``, whatever its shape (a dict, a list or dict as a value, a string
    given for the whole option): a malformed one must be masked as well as a valid one."""
    values = set()
    pending = [item.get('secret_env') for item in (mims if isinstance(mims, list) else [mims])
               if isinstance(item, dict) and 'secret_env' in item]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        elif value is not None and not isinstance(value, bool) and str(value).strip():
            values.add(str(value))
    return values


class CompositionError(MCMError):
    """Deploying the members failed; ``rolled_back`` says what the rollback after it did."""

    def __init__(self, message, cause, rolled_back):
        super(CompositionError, self).__init__(
            message, status=cause.status, hint=cause.hint, method=cause.method, url=cause.url,
            server_message=getattr(cause, 'server_message', None))
        self.rolled_back = rolled_back


STATES = ('present', 'absent')


def composition_manager(mcm, store):
    """The manager of one module run. The one place that hands the module wrapper on: :class:`MimManager` (owned
    with ``mcm_mim``) still reads the client scope from it; this manager only gets the client and the recorder."""
    return CompositionManager(mcm.client, mcm.recorder, store, MimManager(mcm, store), mcm.client_id)


class CompositionManager(object):
    """Converge one composition of one node.

    ``mims`` is the :class:`MimManager` used for reading and comparing; writes are this manager's own primitives
    (:meth:`_remove_mim`, :meth:`_deploy_members`, :meth:`_remove_image`), each one ``recorder.change``.
    """

    def __init__(self, client, recorder, store, mims, client_id):
        self.client = client
        self.recorder = recorder
        self.store = store
        self.mims = mims
        self.client_id = client_id

    @property
    def check_mode(self):
        return self.recorder.check_mode

    # -------------------------------------------------------------- dispatch

    def run(self, state, name, mims=None, prune=False, atomic=False, remove_images=False, wait=True,
            wait_timeout=60, wait_sleep=1):
        """Bring composition ``name`` to ``state``; returns the module result (``before``/``after`` for the diff).

        :raises SpecError: ``mims`` is invalid (nothing was sent).
        :raises CompositionError: a deploy failed (after the rollback).
        """
        if state not in STATES:
            raise InputError('state: %r is not one of %s' % (state, ', '.join(STATES)))
        members = None
        if mims is not None or state == 'present':
            try:
                members = parse_members(name, mims or [])
            except SpecError as exc:
                raise SpecError('Invalid composition: %s' % exc.message, hint=exc.hint)
        if state == 'absent':
            return self.absent(name, members or [], remove_images=remove_images)
        return self.present(name, members, prune=prune, atomic=atomic, remove_images=remove_images, wait=wait,
                            wait_timeout=wait_timeout, wait_sleep=wait_sleep)

    # -------------------------------------------------------------- reading

    def membership_key(self, name):
        return self.store.key(self.client.base_url, self.client_id, 'composition:%s' % name)

    def current_members(self, name):
        """Names of the mims on the node that belong to composition ``name``."""
        names = set()
        on_node = self.mims.mims()
        for mim in on_node:
            env = env_as_dict(mim.get('env')) or {}
            if env.get(RESERVED_COMPOSITION_KEY) == name:
                names.add(mim.get('name'))
        if self.client.legacy:
            names |= set(self.store.members(self.membership_key(name))) & set(m.get('name') for m in on_node)
        return names

    def _unused_images(self, removed, remaining):
        """Node images that a ``removed`` mim used and no ``remaining`` mim uses (each image once, by name)."""
        found = []
        for image in self.mims.images():
            if any(mim_uses_image(m, image) for m in removed) and not any(mim_uses_image(m, image) for m in remaining):
                found.append(image)
        return sorted(found, key=lambda image: str(image.get('name')))

    def _members_on_node(self, listed, secret_keys):
        # After a real run the node is read again; in check mode it is what the node has now.
        return [mask_mim(m, secret_keys) for m in self.mims.mims(refresh=not self.check_mode)
                if m.get('name') in listed]

    # -------------------------------------------------------------- states

    def present(self, name, members, prune=False, atomic=False, remove_images=False, wait=True, wait_timeout=60,
                wait_sleep=1):
        mgr = self.mims
        listed = set(d.name for d in members)
        secret_keys = set()
        for d in members:
            secret_keys |= d.secret_keys
        result = dict(deployed=[], pruned=[], unchanged=[], removed_images=[], rolled_back=[], reasons={},
                      before={}, after={}, mims=[])

        missing_images = sorted(set(d.image for d in members if mgr.find_image(d.image) is None))
        if missing_images:
            message = mgr.missing_images_message(missing_images)
            if not self.check_mode:
                raise MCMError(message, status=None, hint='no mim was changed')
            self.recorder.warn(message + ' (check mode: assuming an earlier task uploads them)')

        changes = []
        for desired in members:
            existing = mgr.find_mim(desired.name)
            cmp = mgr.compare(desired, existing)
            if cmp.equal:
                result['unchanged'].append(desired.name)
            else:
                changes.append((desired, existing))
                result['reasons'][desired.name] = cmp.reasons
                result['before'][desired.name] = cmp.before
                result['after'][desired.name] = cmp.after
        tracked = self.current_members(name)
        prune_list = []
        if prune:
            prune_list = [m for m in mgr.mims() if m.get('name') in tracked - listed]
            self._diff_removed(result, prune_list)
        pruned_names = set(m.get('name') for m in prune_list)
        unused = []
        if remove_images and prune_list:
            unused = self._unused_images(prune_list, [m for m in mgr.mims() if m.get('name') not in pruned_names])
            self._diff_images(result, unused)
        result['deployed'] = [d.name for d, dummy in changes]
        result['pruned'] = sorted(pruned_names)
        result['removed_images'] = [i.get('name') for i in unused]

        if changes:
            self._apply(changes, atomic, wait, wait_timeout, wait_sleep)
        for mim in prune_list:
            self._remove_mim(mim)
        for image in unused:
            self._remove_image(image)
        if self.client.legacy:
            # Unlisted members that were not pruned stay members, so a later prune=true still finds them.
            self._remember_members(name, listed | (tracked - listed - pruned_names))
        result['mims'] = self._members_on_node(listed, secret_keys)
        return result

    def absent(self, name, members=(), remove_images=False):
        """Remove every member of composition ``name``, then (``remove_images``) the images only they used.

        A member is a mim carrying the composition's marker (or, on the legacy generation, recorded as a member),
        or a listed mim that carries no other composition's marker.
        """
        mgr = self.mims
        names = self.current_members(name)
        listed = set(d.name for d in members)
        for mim in mgr.mims():
            other = (env_as_dict(mim.get('env')) or {}).get(RESERVED_COMPOSITION_KEY)
            if mim.get('name') in listed and other in (None, name):
                names.add(mim.get('name'))
        doomed = [m for m in mgr.mims() if m.get('name') in names]
        result = dict(removed=sorted(names), removed_images=[], mims=[], before={}, after={})
        self._diff_removed(result, doomed)
        unused = []
        if remove_images:
            unused = self._unused_images(doomed, [m for m in mgr.mims() if m.get('name') not in names])
            self._diff_images(result, unused)
        result['removed_images'] = [i.get('name') for i in unused]
        for mim in doomed:
            self._remove_mim(mim)
        for image in unused:
            self._remove_image(image)
        if self.client.legacy and self.store.members(self.membership_key(name)):
            self._remember_members(name, ())
        return result

    @staticmethod
    def _diff_removed(result, mims):
        for mim in mims:
            result['before'][mim.get('name')] = {'state': 'present', 'image': mim.get('image')}
            result['after'][mim.get('name')] = {'state': 'absent'}

    @staticmethod
    def _diff_images(result, images):
        # Keyed apart from the member names: a composition member cannot be called "image/..." (not a mim name).
        for image in images:
            result['before']['image/%s' % image.get('name')] = {'state': 'present'}
            result['after']['image/%s' % image.get('name')] = {'state': 'absent'}

    # -------------------------------------------------------------- primitives (each one recorder.change)

    def _remove_mim(self, mim):
        # mcm_mim's shared removal (one recorder.change, and the legacy fingerprint forgotten).
        self.mims.remove(mim)

    def _remove_image(self, image):
        remove_image(self.client, self.recorder, image)

    def _deploy_members(self, specs, wait, wait_timeout, wait_sleep):
        """POST the members (one by one on the legacy generation), wait for them and record their fingerprints."""
        self.recorder.change(self._deploy_action(specs), self._post_members, specs, wait, wait_timeout, wait_sleep)

    def _post_members(self, specs, wait, wait_timeout, wait_sleep):
        mgr = self.mims
        if self.client.legacy:
            for desired in specs:
                self.client.deploy_mim(desired.spec())
        else:
            self.client.deploy_composition([d.spec() for d in specs])
        for desired in specs:
            if wait:
                mim = mgr.wait_running(desired.name, wait_timeout, wait_sleep)
            else:
                mim = mgr.find_mim(desired.name, refresh=True)
            mgr.record(desired, mim)

    def _redeploy(self, desired):
        self.recorder.change('deployed mim %s from image %s' % (desired.name, desired.image),
                             self.client.deploy_mim, desired.spec())

    def _remember_members(self, name, names):
        if not self.check_mode:  # a local record of the legacy generation, not a change on the node
            self.store.set_members(self.membership_key(name), sorted(names))

    def _deploy_action(self, specs):
        names = ', '.join(d.name for d in specs)
        if self.client.legacy:
            return 'deployed mims %s one by one (the legacy API has no compositions endpoint)' % names
        return 'deployed composition members %s' % names

    # -------------------------------------------------------------- deploying, with the rollback of a failure

    def _apply(self, changes, atomic, wait, wait_timeout, wait_sleep):
        try:
            for desired, existing in changes:
                if existing is not None:
                    self._remove_mim(existing)
            self._deploy_members([d for d, dummy in changes], wait, wait_timeout, wait_sleep)
        except MCMError as exc:  # a failed call or a member that does not run (not a local fingerprint file error)
            if atomic:
                notes = self._rollback(changes)
                message = '%s. atomic=true: rolled back %s' % (exc.message.rstrip('.'), '; '.join(notes) or 'nothing')
            else:
                # Never leave a previously working member removed or broken: the members whose update
                # failed get their previous spec back; those that updated fine keep the new one.
                notes = self._rollback(changes, failed_only=True)
                message = '%s. Restored the members whose update failed: %s' % (
                    exc.message.rstrip('.'), '; '.join(notes) or 'none needed')
            raise CompositionError(message, exc, notes)

    def _rollback(self, changes, failed_only=False):
        """Undo this run: remove the members it deployed, redeploy the previous spec where there was one.

        With ``failed_only``, only the members that are not running and healthy now are undone, and only those
        that existed before (a new member that failed stays as it is, for its log).
        """
        notes = []
        on_node = dict((m.get('name'), m) for m in self.mims.mims(refresh=True))
        for desired, existing in changes:
            if failed_only and (existing is None or is_running(on_node.get(desired.name))):
                continue
            restorable = existing is not None and not self.client.legacy \
                and env_as_dict(existing.get('env')) is not None
            if failed_only and not restorable:
                notes.append('could not restore the previous %s: the legacy API does not return its env'
                             % desired.name)
                continue
            try:
                if desired.name in on_node:
                    self._remove_mim(on_node[desired.name])
                    notes.append('removed %s' % desired.name)
                if existing is None:
                    continue
                if not restorable:
                    notes.append('could not restore the previous %s: the legacy API does not return its env'
                                 % desired.name)
                    continue
                self._redeploy(Desired.from_node(existing, self.client_id))
                notes.append('restored the previous %s' % desired.name)
            except MimoeError as exc:
                notes.append('rolling back %s failed: %s' % (desired.name, exc))
        return notes

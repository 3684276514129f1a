# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Composition convergence for ``mimoe.edge.mcm_composition``.

Membership: every member is deployed with the reserved env key ``MIMOE_COMPOSITION=<name>``, visible
on the node (current generation). The legacy generation does not return env, so there the member names
are also kept in the fingerprint file.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mimoe.edge.plugins.module_utils._markers import COMPOSITION_KEY as RESERVED_COMPOSITION_KEY
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError
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


class CompositionManager(object):
    def __init__(self, mcm, store):
        self.mcm = mcm
        self.client = mcm.client
        self.store = store
        self.mims = MimManager(mcm, store)

    def membership_key(self, name):
        return self.store.key(self.client.base_url, self.mcm.client_id, 'composition:%s' % name)

    def current_members(self, name):
        """Names of the mims on the node that belong to composition ``name``."""
        names = set()
        for mim in self.mims.mims():
            env = env_as_dict(mim.get('env')) or {}
            if env.get(RESERVED_COMPOSITION_KEY) == name:
                names.add(mim.get('name'))
        if self.client.legacy:
            on_node = set(m.get('name') for m in self.mims.mims())
            names |= set(self.store.members(self.membership_key(name))) & on_node
        return names

    def converge(self, name, members, prune=False, atomic=False, wait=True, wait_timeout=60, wait_sleep=1):
        mgr = self.mims
        listed = set(d.name for d in members)
        secret_keys = set()
        for d in members:
            secret_keys |= d.secret_keys
        result = dict(changed=False, deployed=[], pruned=[], unchanged=[], rolled_back=[], reasons={},
                      before={}, after={}, mims=[])

        missing_images = sorted(set(d.image for d in members if mgr.find_image(d.image) is None))
        if missing_images:
            message = mgr.missing_images_message(missing_images)
            if not self.mcm.check_mode:
                raise MCMError(message, status=None, hint='no mim was changed')
            self.mcm.module.warn(message + ' (check mode: assuming an earlier task uploads them)')

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
            for mim in prune_list:
                result['before'][mim.get('name')] = {'state': 'present', 'image': mim.get('image')}
                result['after'][mim.get('name')] = {'state': 'absent'}
        result['deployed'] = [d.name for d, dummy in changes]
        result['pruned'] = sorted(m.get('name') for m in prune_list)
        result['changed'] = bool(changes or prune_list)

        if self.mcm.check_mode:
            for desired, existing in changes:
                if existing is not None:
                    self.mcm.actions.append('removed mim %s' % desired.name)
            if changes:
                self.mcm.actions.append(self._deploy_action([d for d, dummy in changes]))
            for mim in prune_list:
                self.mcm.actions.append('removed mim %s' % mim.get('name'))
            result['mims'] = self._members_on_node(listed, secret_keys, refresh=False)
            return result

        if changes:
            try:
                self._apply(changes, wait, wait_timeout, wait_sleep)
            except MCMError as exc:
                if atomic:
                    result['rolled_back'] = self._rollback(changes)
                    exc.message = '%s. atomic=true: rolled back %s' % (
                        exc.message.rstrip('.'), '; '.join(result['rolled_back']) or 'nothing')
                else:
                    # Never leave a previously working member removed or broken: the members whose update
                    # failed get their previous spec back; those that updated fine keep the new one.
                    result['rolled_back'] = self._rollback(changes, failed_only=True)
                    exc.message = '%s. Restored the members whose update failed: %s' % (
                        exc.message.rstrip('.'), '; '.join(result['rolled_back']) or 'none needed')
                exc.rolled_back = result['rolled_back']
                raise
        for mim in prune_list:
            mgr.remove(mim)
        if self.client.legacy:
            # Unlisted members that were not pruned stay members, so a later prune=true still finds them.
            kept = tracked - listed - set(result['pruned'])
            self.store.set_members(self.membership_key(name), sorted(listed | kept))
        result['mims'] = self._members_on_node(listed, secret_keys, refresh=True)
        return result

    def _deploy_action(self, specs):
        names = ', '.join(d.name for d in specs)
        if self.client.legacy:
            return 'deployed mims %s one by one (the legacy API has no compositions endpoint)' % names
        return 'deployed composition members %s' % names

    def _apply(self, changes, wait, wait_timeout, wait_sleep):
        mgr = self.mims
        for desired, existing in changes:
            if existing is not None:
                mgr.remove(existing)
        specs = [d for d, dummy in changes]
        if self.client.legacy:
            for desired in specs:
                self.client.deploy_mim(desired.spec())
            self.mcm.actions.append(self._deploy_action(specs))
        else:
            self.client.deploy_composition([d.spec() for d in specs])
            self.mcm.actions.append(self._deploy_action(specs))
        for desired in specs:
            if wait:
                mim = mgr.wait_running(desired.name, wait_timeout, wait_sleep)
            else:
                mim = mgr.find_mim(desired.name, refresh=True)
            mgr.record(desired, mim)

    def _rollback(self, changes, failed_only=False):
        """Undo this run: remove the members it deployed, redeploy the previous spec where there was one.

        With ``failed_only``, only the members that are not running and healthy now are undone, and only those
        that existed before (a new member that failed stays as it is, for its log).
        """
        mgr = self.mims
        notes = []
        on_node = dict((m.get('name'), m) for m in mgr.mims(refresh=True))
        for desired, existing in changes:
            if failed_only and (existing is None or is_running(on_node.get(desired.name))):
                continue
            if failed_only and (self.client.legacy or env_as_dict(existing.get('env')) is None):
                notes.append('could not restore the previous %s: the legacy API does not return its env'
                             % desired.name)
                continue
            try:
                if desired.name in on_node:
                    mgr.remove(on_node[desired.name])
                    notes.append('removed %s' % desired.name)
                if existing is None:
                    continue
                if self.client.legacy or env_as_dict(existing.get('env')) is None:
                    notes.append('could not restore the previous %s: the legacy API does not return its env'
                                 % desired.name)
                    continue
                mgr.deploy(Desired.from_node(existing, self.mcm.client_id))
                notes.append('restored the previous %s' % desired.name)
            except MCMError as exc:
                notes.append('rolling back %s failed: %s' % (desired.name, exc))
        return notes

    def _members_on_node(self, listed, secret_keys, refresh):
        return [mask_mim(m, secret_keys) for m in self.mims.mims(refresh=refresh) if m.get('name') in listed]

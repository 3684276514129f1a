# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared module base of the MCM modules: connection argument spec, client creation, error reporting.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._http import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMClient, MCMError
from ansible_collections.mimoe.edge.plugins.module_utils._recorder import Recorder
from ansible_collections.mimoe.edge.plugins.module_utils._transport import url_userinfo


def _no_log_leaves(value, found):
    if isinstance(value, dict):
        for item in value.values():
            _no_log_leaves(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _no_log_leaves(item, found)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        if text.strip():
            found.add(text)


def collect_no_log_values(argument_spec, params):
    """Every value given to a ``no_log`` option (nested suboptions included), whatever its type; never raises."""
    found = set()
    if not isinstance(argument_spec, dict) or not isinstance(params, dict):
        return found
    for name, option in argument_spec.items():
        if not isinstance(option, dict):
            continue
        for key in [name] + list(option.get('aliases') or []):
            if key not in params:
                continue
            value = params[key]
            if option.get('no_log'):
                _no_log_leaves(value, found)
            if option.get('options'):
                for item in (value if isinstance(value, list) else [value]):
                    found.update(collect_no_log_values(option['options'], item))
    return found


def url_credentials(params):
    """The user information of every URL parameter (``mcm_url``, ``registry.url``...) that embeds one: the client
    refuses such a URL, and its password must not come back in ``invocation`` either."""
    found = set()
    values = list(params.items()) if isinstance(params, dict) else []
    while values:
        key, value = values.pop()
        if isinstance(value, dict):
            values.extend(value.items())
        elif isinstance(value, str) and str(key).endswith('url'):
            userinfo = url_userinfo(value)
            if userinfo:
                found.add(userinfo)
                if ':' in userinfo:  # the password; the user name alone is not a secret
                    found.add(userinfo.split(':', 1)[1])
    return found


class SafeAnsibleModule(AnsibleModule):
    """``AnsibleModule`` that masks ``no_log`` values even when ansible-core could not list them.

    ansible-core lists the no_log values in one pass over the whole spec, after converting the values; a single
    malformed dict option (a string where suboptions are expected) aborts that pass, and the failure it reports
    then carries every secret (``mcm_token`` included) unmasked in ``invocation``. Values are collected here again,
    option by option and from the raw parameters, before any result leaves the module.
    """

    def __init__(self, *args, **kwargs):
        # extra_secrets(params) -> values that are secrets without being a no_log option (for example the values
        # of each member's secret_env in a list of dicts), masked on every path, malformed input included.
        self._extra_secrets = kwargs.pop('extra_secrets', None)
        super(SafeAnsibleModule, self).__init__(*args, **kwargs)

    def _mask_no_log_values(self):
        try:
            self.no_log_values.update(collect_no_log_values(self.argument_spec, self.params))
            self.no_log_values.update(url_credentials(self.params))
            if self._extra_secrets is not None:
                self.no_log_values.update(v for v in self._extra_secrets(self.params) if v)
        except Exception:  # pylint: disable=broad-except  # masking must never be the thing that fails
            pass

    def exit_json(self, **kwargs):
        self._mask_no_log_values()
        super(SafeAnsibleModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        self._mask_no_log_values()
        super(SafeAnsibleModule, self).fail_json(msg, **kwargs)


def fail_module_from(module, exc, recorder=None, **result):
    """Fail ``module`` (a :class:`SafeAnsibleModule` without an MCM node, the catalog modules) from any
    :class:`MimoeError` the way :meth:`MCMModule.fail_from` does: ``msg`` with the hint, ``error`` the details,
    the recorder's actions and warnings."""
    if recorder is not None:
        result.setdefault('actions', recorder.actions)
        for text in recorder.warnings:
            module.warn(text)
    module.fail_json(msg=str(exc), error=exc.to_dict(), **result)


def mcm_argument_spec():
    """The connection options every MCM module takes (documented in the ``mimoe.edge.mcm`` doc fragment)."""
    return dict(
        mcm_url=dict(type='str', required=True, fallback=(env_fallback, ['MCM_URL'])),
        mcm_token=dict(type='str', required=True, no_log=True, fallback=(env_fallback, ['MCM_TOKEN'])),
        client_id=dict(type='str'),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        client_cert=dict(type='path', fallback=(env_fallback, ['MCM_CLIENT_CERT'])),
        client_key=dict(type='path', no_log=False, fallback=(env_fallback, ['MCM_CLIENT_KEY'])),
        timeout=dict(type='float', default=DEFAULT_TIMEOUT),
        retries=dict(type='raw', default=DEFAULT_RETRIES),
        api_version=dict(type='str', default='auto', choices=['auto', 'current', 'legacy']),
    )


def _retries_value(value):
    """Accept an int, a digit string (templated values), or a dict."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def client_from_params(params, client_id=None):
    """The :class:`MCMClient` of the connection options in ``params`` (validated by :func:`mcm_argument_spec`),
    scoped to ``client_id`` (``None``: the token's own). Raises :class:`MCMError`."""
    return MCMClient(
        url=params['mcm_url'],
        token=params['mcm_token'],
        client_id=client_id,
        validate_certs=params['validate_certs'],
        ca_path=params['ca_path'],
        client_cert=params['client_cert'],
        client_key=params['client_key'],
        timeout=params['timeout'],
        retries=_retries_value(params['retries']),
        api_version=params['api_version'],
    )


def scoped_client_id(params):
    """The client ID the node scopes our calls to: ``client_id``, else ``api`` (API-key auth)."""
    return params['client_id'] or 'api'


class MCMModule(object):
    """An ``AnsibleModule`` plus an :class:`MCMClient` built from the connection options.

    ``recorder`` (a :class:`Recorder`) collects what was (or in check mode would be) done; managers receive it,
    not this wrapper. ``actions`` is the recorder's list.
    """

    def __init__(self, argument_spec, **kwargs):
        spec = mcm_argument_spec()
        spec.update(argument_spec)
        self.module = SafeAnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.recorder = Recorder(check_mode=self.check_mode)
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        self.client = self.client_as(self.params['client_id'])

    def client_as(self, client_id):
        """A client of the same node and token scoped to another client ID (``None``: the token's own)."""
        try:
            return client_from_params(self.params, client_id)
        except MCMError as exc:
            self.fail_mcm(exc)

    @property
    def actions(self):
        return self.recorder.actions

    @property
    def client_id(self):
        """The client ID the node scopes our calls to (:func:`scoped_client_id`)."""
        return scoped_client_id(self.params)

    @property
    def diff_mode(self):
        return self.module._diff

    def fail_from(self, exc, **result):
        """Fail the task from any :class:`MimoeError`: ``msg`` is the message with its hint, ``error`` the details."""
        result.setdefault('actions', self.actions)
        self._flush_warnings()
        self.module.fail_json(msg=str(exc), error=exc.to_dict(), **result)

    # The name older callers use; same behaviour.
    fail_mcm = fail_from

    def run(self, body):
        """Run ``body()`` and fail the task from any :class:`MimoeError` it raises (the one place modules catch)."""
        try:
            return body()
        except MimoeError as exc:
            self.fail_from(exc)

    def _flush_warnings(self):
        for text in self.recorder.warnings:
            self.module.warn(text)
        del self.recorder.warnings[:]

    def fail(self, msg, **result):
        result.setdefault('actions', self.actions)
        self._flush_warnings()
        self.module.fail_json(msg=msg, **result)

    def exit(self, **result):
        result.setdefault('actions', self.actions)
        result.setdefault('changed', self.recorder.changed)
        self._flush_warnings()
        # Reported when known (given, or detected by the calls the module made); finishing never calls the node.
        known = getattr(self.client, 'known_api_version', None)
        if known and 'api_version' not in result:
            result['api_version'] = known
        self.module.exit_json(**result)

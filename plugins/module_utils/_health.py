# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The health check of a mim, through its node: the one place that decides whether a mim answers as it should.

Used by ``mcm_mim`` (``health``) and by ``mim_release`` (its ``health_check`` step). The check calls the mim's own
URL, ``<node>/<clientId><MCM.BASE_API_PATH><path>``, and never sends the MCM token there.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import requests
except ImportError:  # reported by the module (MCMModule checks requests)
    requests = None

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError, WaitTimeout
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import BASE_API_PATH, node_view_env
from ansible_collections.mimoe.edge.plugins.module_utils._wait import poll_until

# The options of a health check and their defaults (``mim_release health`` and ``mcm_mim health``).
DEFAULTS = dict(enabled=True, path='/healthcheck', base_path=None, status=200, body_regex=None, retries=5, delay=1,
                timeout=10)


def argument_spec():
    """The suboptions of a ``health`` option, for modules that take one."""
    return dict(
        enabled=dict(type='bool', default=DEFAULTS['enabled']),
        path=dict(type='str', default=DEFAULTS['path']),
        base_path=dict(type='str'),
        status=dict(type='int', default=DEFAULTS['status']),
        body_regex=dict(type='str'),
        retries=dict(type='int', default=DEFAULTS['retries']),
        delay=dict(type='float', default=DEFAULTS['delay']),
        timeout=dict(type='float', default=DEFAULTS['timeout']),
    )


def options(health):
    """``health`` (a dict, possibly partial) with the defaults filled in."""
    result = dict(DEFAULTS)
    result.update((k, v) for k, v in (health or {}).items() if v is not None)
    return result


class HealthError(MimoeError):
    """The health check failed; ``message`` is ``GET <url>: <last answer> (after N attempts)``."""

    def __init__(self, message, hint=None, url=None, answer=None):
        super(HealthError, self).__init__(message, hint=hint, method='GET', url=url)
        self.answer = answer


def health_url(base_url, client_id, env, mim, base_path=None, path='/healthcheck'):
    """Where the node serves the mim's ``path``: ``<node>/<clientId><MCM.BASE_API_PATH><path>``."""
    base = base_path or (env or {}).get(BASE_API_PATH) or '/' + mim
    base = node_view_env({BASE_API_PATH: base}, client_id)[BASE_API_PATH].rstrip('/')
    return '%s%s/%s' % (base_url.rstrip('/'), base, (path or '').lstrip('/'))


def client_verify(client):
    """The TLS verification an MCM client uses (``True``, ``False`` or a CA path), for calls next to it."""
    tls = getattr(client, 'tls', None)
    return tls.verify if tls is not None else True


def client_cert(client):
    """The client certificate an MCM client presents (mutual TLS), or ``None``: health calls present it too."""
    tls = getattr(client, 'tls', None)
    return tls.cert if tls is not None else None


def _short(text, limit=200):
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit] + '...'


def _requests_get(url, timeout, verify, cert=None):
    return requests.get(url, timeout=timeout, verify=verify, cert=cert, allow_redirects=False)


def check_health(url, health, verify=True, get=None, sleep=None, cert=None):
    """GET ``url`` until it answers ``health['status']`` with a body matching ``health['body_regex']``.

    ``health`` holds the options of :data:`DEFAULTS` (missing ones take the default): at most ``retries`` attempts,
    ``delay`` seconds apart, each waiting ``timeout`` seconds for an answer. Returns the last answer as
    ``{'status', 'body'}``; raises :class:`HealthError` naming the URL, the status and the body seen last.
    """
    opts = options(health)
    if get is None:
        def get(url, timeout, verify):
            return _requests_get(url, timeout, verify, cert)
    try:
        pattern = re.compile(opts['body_regex']) if opts['body_regex'] else None
    except re.error as exc:
        raise HealthError('health.body_regex %r is not a valid regular expression: %s' % (opts['body_regex'], exc),
                          hint='fix health.body_regex (Python re syntax)')
    expected = int(opts['status'])
    retries = max(1, int(opts['retries'] or 1))
    attempts = []

    def attempt():
        try:
            answer = get(url, opts['timeout'] or 10, verify)
        except Exception as exc:  # pylint: disable=broad-except  # any transport failure is a failed attempt
            if requests is not None and not isinstance(exc, requests.exceptions.RequestException):
                raise
            attempts.append(dict(ok=False, status=None, body=None, why='no answer (%s)' % type(exc).__name__))
            return attempts[-1]
        body = answer.text or ''
        if answer.status_code != expected:
            why = 'status %s, expected %s: %s' % (answer.status_code, expected, _short(body))
        elif pattern is not None and not pattern.search(body):
            why = 'the body does not match %s: %s' % (opts['body_regex'], _short(body))
        else:
            why = None
        attempts.append(dict(ok=why is None, status=answer.status_code, body=_short(body), why=why))
        return attempts[-1]

    # The number of attempts bounds the check; the time limit only guards against a clock that does not move.
    limit = retries * (float(opts['delay'] or 0) + float(opts['timeout'] or 10)) + 1
    kwargs = dict(sleep=sleep) if sleep is not None else {}
    try:
        last = poll_until(attempt, lambda value: value['ok'] or len(attempts) >= retries, limit,
                          opts['delay'] or 0, what='GET %s' % url, **kwargs)
    except WaitTimeout as exc:
        last = exc.last
    if last and last['ok']:
        return dict(status=last['status'], body=last['body'])
    raise HealthError('GET %s: %s (after %s attempts)' % (url, last['why'] if last else 'no answer', len(attempts)),
                      url=url, answer=last)

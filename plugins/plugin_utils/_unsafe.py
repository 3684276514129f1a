# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mark data that comes from a node as unsafe, so Ansible never templates it (a node must not inject Jinja).

Private to the collection; the interface can change without notice.

``ansible.utils.unsafe_proxy.wrap_var`` does the work on every ansible-core this collection supports: before 2.19
it wraps strings in ``AnsibleUnsafeText``; from 2.19 on it removes the ``TrustedAsTemplate`` tag (data that is not
trusted is never templated). This helper also converts tuples and sets to lists, and keys to strings, so the
result is plain JSON-like data that an inventory cache can store.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.module_utils.six import binary_type, text_type
from ansible.utils.unsafe_proxy import wrap_var


def make_unsafe(value):
    """A deep copy of ``value`` in which every string (keys included) is unsafe."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return dict((make_unsafe(key), make_unsafe(item)) for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [make_unsafe(item) for item in value]
    if isinstance(value, (text_type, binary_type)):
        return wrap_var(value)
    return wrap_var(text_type(value))

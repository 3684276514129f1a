# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``ansible-playbook ... -e`` snippets of the docs pass what they say: the shell first, then ansible-core's
``key=value`` parser (``-e description="Hello mim"`` reaches Ansible as ``description=Hello mim``, which stores
``Hello`` and drops ``mim``: such a snippet must quote the whole argument, or use JSON)."""

from __future__ import annotations

import glob
import os
import re
import shlex

from ansible.parsing.splitter import parse_kv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCK = re.compile(r'```(?:sh|bash|console|shell)\n(.*?)```', re.S)


def commands():
    files = glob.glob(os.path.join(ROOT, 'docs', '*.md')) + [os.path.join(ROOT, 'README.md')]
    files += glob.glob(os.path.join(ROOT, 'extensions', '**', '*.md'), recursive=True)
    for path in files:
        with open(path, encoding='utf-8') as fh:
            text = fh.read()
        for block in BLOCK.findall(text):
            command = ''
            for line in block.splitlines():
                line = re.sub(r'\s+#.*$', '', line)  # trailing comments
                command += line.rstrip('\\') + ' '
                if not line.endswith('\\'):
                    if 'ansible-playbook' in command:
                        yield os.path.relpath(path, ROOT), command.strip()
                    command = ''


def extra_vars(command):
    words = shlex.split(command)
    for index, word in enumerate(words):
        if word in ('-e', '--extra-vars') and index + 1 < len(words):
            yield words[index + 1]
        elif word.startswith('--extra-vars='):
            yield word.split('=', 1)[1]


def test_there_are_snippets_to_check():
    assert sum(1 for dummy in commands()) >= 5


def test_every_key_value_extra_var_parses_as_written():
    problems = []
    for path, command in commands():
        for value in extra_vars(command):
            if value.startswith(('@', '{', '[')) or '=' not in value:
                continue
            parsed = parse_kv(value)
            if '_raw_params' in parsed:
                problems.append('%s: -e %r leaves %r unparsed (quote the whole argument, or pass JSON)'
                                % (path, value, parsed['_raw_params']))
    assert not problems, '\n'.join(problems)


def test_the_description_snippet_stores_the_whole_text():
    snippets = [v for dummy, c in commands() for v in extra_vars(c) if v.startswith('description=')]
    assert snippets and all(parse_kv(v)['description'] == 'Hello mim' for v in snippets), snippets

# -*- coding: utf-8 -*-
# Copyright (c) Ansible Project
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sphinx configuration of the mimoe.edge docs site (scripts/docs.sh, `make docs`).

Created with `antsibull-docs sphinx-init --use-current --title mimoe.edge mimoe.edge` (antsibull-docs 2.28.0),
then changed in three places:
- myst_parser: the guides are the Markdown files of docs/, read as they are (the same files GitHub shows);
- the build is offline and reproducible: no intersphinx download; the few ansible-core pages the generated
  plugin pages link to are resolved to docs.ansible.com by `_resolve_ansible_core_reference` below;
- a guide's link to a repository file outside docs/ (`../roles/...`) points to that file on GitHub.
"""

from __future__ import annotations

import re

from docutils import nodes

project = 'mimoe.edge'
copyright = 'mimoe.edge contributors'  # pylint: disable=redefined-builtin

title = 'mimoe.edge'
html_short_title = 'mimoe.edge'

extensions = ['sphinx.ext.autodoc', 'sphinx_antsibull_ext', 'myst_parser']

pygments_style = 'ansible'

highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False

display_version = False

html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = 'any'

nitpicky = True

source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
# `## Heading` anchors, so that `modules.md#connection-options-all-modules` links work as they do on GitHub.
myst_heading_anchors = 4

REPOSITORY_BLOB = 'https://github.com/mimoe-edge/mimoe.edge/blob/main/'
ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
# The ansible-core labels that antsibull-docs' page templates refer to: label -> (page, title).
ANSIBLE_CORE_LABELS = {
    'action_plugins': ('plugins/action.html', 'Action plugins'),
    'callback_plugins': ('plugins/callback.html', 'Callback plugins'),
    'list_of_callback_plugins': ('collections/index_callback.html', 'Index of all Callback Plugins'),
    'list_of_collections': ('collections/index.html', 'Collection Index'),
    'collections_keyword': ('collections_guide/collections_using_playbooks.html', 'collections keyword'),
    'common_return_values': ('reference_appendices/common_return_values.html', 'Return Values'),
    'ansible_configuration_settings': ('reference_appendices/config.html', 'Ansible Configuration Settings'),
}
_BUILTIN_PLUGIN_LABEL = re.compile(r'^ansible_collections\.ansible\.builtin\.(\w+)_(\w+)$')
# A Markdown link or image whose target leaves docs/: `](../roles/x/README.md)`.
_LINK_OUT_OF_DOCS = re.compile(r'\]\(\.\./([^)\s]+)\)')


def _resolve_ansible_core_reference(app, env, node, contnode):  # pylint: disable=unused-argument
    """What intersphinx would resolve from docs.ansible.com's inventory, for the references the generated pages
    make (the site builds without network access)."""
    if node.get('refdomain') != 'std':
        return None
    target = node.get('reftarget', '')
    uri = None
    if node.get('reftype') == 'ref':
        if target in ANSIBLE_CORE_LABELS:
            page, label_title = ANSIBLE_CORE_LABELS[target]
            uri = ANSIBLE_DOCS + page
            if not node.get('refexplicit'):
                contnode = nodes.inline(label_title, label_title)
        else:
            match = _BUILTIN_PLUGIN_LABEL.match(target)
            if match:
                uri = ANSIBLE_DOCS + 'collections/ansible/builtin/%s_%s.html' % match.groups()
    elif node.get('reftype') == 'envvar' and target.startswith('ANSIBLE_'):
        uri = ANSIBLE_DOCS + 'reference_appendices/config.html#envvar-' + target
    if uri is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=uri)
    reference += contnode
    return reference


def _link_repository_files(app, docname, source):  # pylint: disable=unused-argument
    """Guides are docs/*.md; a link to a file outside docs/ goes to the repository on GitHub."""
    if docname.startswith('guides/'):
        source[0] = _LINK_OUT_OF_DOCS.sub(lambda match: '](%s%s)' % (REPOSITORY_BLOB, match.group(1)), source[0])


def setup(app):
    app.connect('missing-reference', _resolve_ansible_core_reference)
    app.connect('source-read', _link_repository_files)

# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``mcm_export`` does: a node's running state as the spec the modules accept back (``iofogctl describe -o
yaml`` then ``deploy``), and the YAML file that holds it.

The spec has the argument shape of the modules: each entry of ``mims`` is what M(mimoe.edge.mcm_mim) takes
(``name``, ``image``, ``env``, ``labels``, ``secret_env``), each entry of ``compositions`` what
M(mimoe.edge.mcm_composition) takes (``name``, ``mims``). A node never returns the values of secret env keys, so
``secret_env`` holds their names with a null value, which the modules refuse until the user supplies the value: a
missing secret can never be deployed silently as a placeholder text.

The YAML written marks every string that a node sent and that holds a Jinja delimiter ``!unsafe``: a node must not
be able to make a later ``include_vars`` of the file evaluate a template.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    yaml = None
    HAS_YAML = False

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import mim_uses_image
from ansible_collections.mimoe.edge.plugins.module_utils._markers import decode_secret_keys
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import API_LEGACY
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_info import node_listing
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import env_as_dict

EXPORT_FORMAT = 1
HEADER = '''\
# mimOE node state exported by mimoe.edge.mcm_export (export_format 1).
# mims: arguments of mimoe.edge.mcm_mim; compositions: arguments of mimoe.edge.mcm_composition;
# images: what must be on the node first (upload each with mimoe.edge.mcm_image).
# secret_env values are null: a node never returns them. Supply each one before applying (see
# ansible-doc mimoe.edge.mcm_export); a null value is refused, never deployed.
'''
FLEET_HEADER = HEADER.replace('mimOE node state exported by mimoe.edge.mcm_export',
                              'mimOE fleet state exported by playbooks/export.yml (mimoe.edge.mcm_export per node)'
                              ).replace('# mims:', '# nodes: inventory host -> its export. mims:')
_JINJA = ('{{', '{%', '{#')


# ---------------------------------------------------------------- the spec

def mim_spec(mim, raw_mim):
    """One mim as module arguments (``mim`` normalised by ``_mcm_info.normalized_mim``, ``raw_mim`` as the node
    sent it, for the secret key marker). Secret values are never copied: their keys get ``None``."""
    env = dict(mim.get('spec_env') or {})
    secret = sorted(decode_secret_keys(env_as_dict(raw_mim.get('env'))))
    spec = dict(name=mim.get('name'), image=mim.get('image'),
                env=dict((k, v) for k, v in sorted(env.items()) if k not in secret))
    if mim.get('labels'):
        spec['labels'] = dict(sorted(mim['labels'].items()))
    if secret:
        spec['secret_env'] = dict((key, None) for key in secret)
    return spec


def _name_key(item):
    return str(item.get('name'))


def node_spec(api, images, mims, raw_mims):
    """The export of one node from its normalised listing (``_mcm_info.node_listing``).

    :raises MimoeError: on a legacy node that runs mims (it does not return env: an export would lose it).
    """
    if api == API_LEGACY and mims:
        raise MimoeError('the node runs the legacy API generation, which does not return the env of its mims; '
                         'an export would redeploy them without it',
                         hint='keep the spec you deployed on legacy nodes in your own files')
    standalone, compositions = [], {}
    for mim, raw in zip(mims, raw_mims):
        if not isinstance(mim, dict):
            continue
        spec = mim_spec(mim, raw)
        if mim.get('composition'):
            compositions.setdefault(mim['composition'], []).append(spec)
        else:
            standalone.append(spec)
    image_specs = []
    for image in images:
        users = sorted(str(m.get('name')) for m in raw_mims if mim_uses_image(m, image))
        image_specs.append(dict(name=image.get('name'), repo_tag=image.get('repo_tag'), version=image.get('version'),
                                digest=image.get('digest'), used_by=users))
    return dict(export_format=EXPORT_FORMAT, api_version=api,
                images=sorted(image_specs, key=_name_key),
                mims=sorted(standalone, key=_name_key),
                compositions=[dict(name=name, mims=sorted(members, key=_name_key))
                              for name, members in sorted(compositions.items())])


def secret_env_keys(spec):
    """``{mim name: [secret env keys]}`` of a node spec: the values the user must supply."""
    found = {}
    members = list(spec.get('mims') or [])
    for composition in spec.get('compositions') or []:
        members.extend(composition.get('mims') or [])
    for mim in members:
        if mim.get('secret_env'):
            found[mim['name']] = sorted(mim['secret_env'])
    return found


# ---------------------------------------------------------------- the YAML file

class _Unsafe(str):
    """A string a node sent that holds a Jinja delimiter: written with the ``!unsafe`` tag."""


def _mark_unsafe(value):
    if isinstance(value, dict):
        return dict((_mark_unsafe(k), _mark_unsafe(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_mark_unsafe(v) for v in value]
    if isinstance(value, str) and any(marker in value for marker in _JINJA):
        return _Unsafe(value)
    return value


if HAS_YAML:
    class _Dumper(yaml.SafeDumper):
        """Block style, keys in the order given (the spec's own order reads best), ``!unsafe`` where needed."""

    _Dumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar('!unsafe', str(value)))
    _Dumper.add_representer(dict, lambda dumper, value: dumper.represent_mapping(
        'tag:yaml.org,2002:map', value.items()))


def render_yaml(document, header=HEADER):
    """The text of an export file: the header comment and ``document`` as block YAML."""
    if not HAS_YAML:
        raise MimoeError(missing_required_lib('PyYAML'), hint='pip install PyYAML on the controller')
    body = yaml.dump(_mark_unsafe(document), Dumper=_Dumper, default_flow_style=False, allow_unicode=True,
                     sort_keys=False, width=120)
    return header + body


def fleet_document(exports):
    """The fleet export: ``{export_format, nodes: {host: node spec}}`` from ``{host: spec}`` (hosts sorted; the
    per-node ``export_format`` is said once at the top)."""
    nodes = {}
    for host in sorted(exports, key=str):
        spec = dict(exports[host])
        spec.pop('export_format', None)
        nodes[str(host)] = spec
    return dict(export_format=EXPORT_FORMAT, nodes=nodes)


def _read_text(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8')
    except (IOError, OSError):
        return None
    except UnicodeDecodeError:
        return ''


def write_file(module, recorder, dest, text):
    """Write ``text`` to ``dest`` when it differs (atomically, mode 0600 for a new file): one ``recorder.change``,
    so check mode writes nothing and reports the same. Returns ``(before, after)`` texts for the diff."""
    dest = os.path.abspath(os.path.expanduser(dest))
    directory = os.path.dirname(dest)
    if os.path.isdir(dest):
        raise InputError('dest: %s is a directory' % dest, hint='give the path of a file, for example %s'
                         % os.path.join(dest, 'node.yml'))
    if not os.path.isdir(directory):
        raise InputError('dest: the directory %s does not exist' % directory,
                         hint='create it first (ansible.builtin.file state=directory)')
    before = _read_text(dest)
    if before == text:
        return before, text
    recorder.change('wrote %s' % dest, _atomic_write, module, dest, text)
    return before or '', text


def _atomic_write(module, dest, text):
    fd, tmp = tempfile.mkstemp(prefix='.mcm_export-', dir=os.path.dirname(dest))
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(text.encode('utf-8'))
        existed = os.path.exists(dest)
        module.atomic_move(tmp, dest)  # keeps the mode of an existing dest
        if not existed:
            os.chmod(dest, 0o600)  # env values may be sensitive even when not marked secret
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------- the module's behaviour

def run_export(mcm):
    """The result of ``mcm_export``. Raises :class:`MimoeError` subclasses only."""
    if not HAS_YAML and mcm.params['dest']:
        raise MimoeError(missing_required_lib('PyYAML'), hint='pip install PyYAML on the controller')
    api, images, mims, dummy_raw_images, raw_mims = node_listing(mcm)
    spec = node_spec(api, images, mims, raw_mims)
    result = dict(spec=spec, secret_env_keys=secret_env_keys(spec))
    dest = mcm.params['dest']
    if dest:
        before, after = write_file(mcm.module, mcm.recorder, dest, render_yaml(spec))
        result['dest'] = os.path.abspath(os.path.expanduser(dest))
        if mcm.diff_mode and before != after:
            result['diff'] = dict(before=before, after=after, before_header=result['dest'],
                                  after_header=result['dest'])
    return result

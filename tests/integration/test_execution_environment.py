# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment: `ansible-builder create` on extensions/awx/execution-environment.yml writes a complete
build context (no container engine needed), and the introspection script of that context (what the image build
runs) reads the collection's meta/execution-environment.yml into the Python and system requirements the modules
really need."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import pytest
import yaml
from ansible.release import __version__ as ANSIBLE_CORE_VERSION
from bindep.depends import Depends
from packaging.requirements import Requirement

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
EE_DEFINITION = os.path.join(ROOT, 'extensions', 'awx', 'execution-environment.yml')
# Importable names of the distributions that requirements.txt lists, and of those that come with them.
PROVIDED_BY = {'requests': 'requests', 'urllib3': 'requests', 'oras': 'oras', 'jsonschema': 'jsonschema',
               'yaml': 'ansible-core', 'jinja2': 'ansible-core'}


def read_requirements():
    with open(os.path.join(ROOT, 'requirements.txt'), encoding='utf-8') as fh:
        return [Requirement(line) for line in fh.read().splitlines() if line.strip() and not line.startswith('#')]


def test_collection_meta_points_to_its_requirement_files():
    with open(os.path.join(ROOT, 'meta', 'execution-environment.yml'), encoding='utf-8') as fh:
        meta = yaml.safe_load(fh)
    assert meta == {'version': 1, 'dependencies': {'python': 'requirements.txt', 'system': 'bindep.txt'}}
    # bindep parses it, and every line names a package for both package families (rpm for UBI/CentOS images).
    with open(os.path.join(ROOT, 'bindep.txt'), encoding='utf-8') as fh:
        depends = Depends(fh.read())
    names = {rule[0] for rule in depends._rules}  # pylint: disable=protected-access
    assert names == {'nodejs', 'npm'}
    assert depends.active_rules(['platform:rpm', 'rpm'])
    assert depends.active_rules(['platform:dpkg', 'dpkg'])


def test_requirements_cover_every_third_party_import_and_match_the_test_environment():
    """A new third-party import in plugins/ without a line in requirements.txt fails here; so does a minimum
    version the tested environment does not meet."""
    from importlib.metadata import version  # pylint: disable=import-outside-toplevel
    required = {req.name.lower(): req for req in read_requirements()}
    for req in required.values():
        assert req.specifier.contains(version(req.name), prereleases=True), (req, version(req.name))
    imported = set()
    for directory, dummy, files in os.walk(os.path.join(ROOT, 'plugins')):
        for name in files:
            if name.endswith('.py'):
                with open(os.path.join(directory, name), encoding='utf-8') as fh:
                    tree = ast.parse(fh.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        imported.update(alias.name.split('.')[0] for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        imported.add(node.module.split('.')[0])
    third_party = sorted(name for name in imported
                         if name not in sys.stdlib_module_names and name not in ('ansible', 'ansible_collections'))
    unknown = [name for name in third_party if name not in PROVIDED_BY]
    assert not unknown, 'add these to requirements.txt and PROVIDED_BY: %s' % unknown
    assert {PROVIDED_BY[name] for name in third_party} - {'ansible-core'} == set(required)


@pytest.mark.ansible
def test_ansible_builder_create_writes_a_build_context(tmp_path):
    context = tmp_path / 'context'
    done = subprocess.run([os.path.join(BIN, 'ansible-builder'), 'create', '-f', EE_DEFINITION, '--context',
                           str(context), '--output-filename', 'Containerfile'],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    containerfile = (context / 'Containerfile').read_text()
    stages = re.findall(r'^FROM (\S+) AS (\w+)$', containerfile, re.M)
    assert [stage for dummy, stage in stages] == ['base', 'galaxy', 'builder', 'final']
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner==' % ANSIBLE_CORE_VERSION in containerfile
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in containerfile
    assert '/output/scripts/introspect.py introspect --write-bindep=/tmp/src/bindep.txt' in containerfile
    assert 'LABEL ansible-execution-environment=true' in containerfile
    with open(context / '_build' / 'requirements.yml', encoding='utf-8') as fh:
        galaxy = yaml.safe_load(fh)
    assert [collection['name'] for collection in galaxy['collections']] == ['mimoe.edge']
    scripts = context / '_build' / 'scripts'
    for script in ('assemble', 'check_ansible', 'check_galaxy', 'entrypoint', 'install-from-bindep',
                   'introspect.py', 'pip_install'):
        assert (scripts / script).is_file(), script

    # The context's own introspection (the builder stage runs it on the installed collections), here on the
    # collection laid out as ansible-galaxy installs it.
    collections = tmp_path / 'collections'
    subprocess.run([os.path.join(ROOT, 'scripts', 'collection-tree.sh'), str(collections)], check=True,
                   capture_output=True, timeout=120)
    pip_out, bindep_out = tmp_path / 'requirements.txt', tmp_path / 'bindep.txt'
    done = subprocess.run([sys.executable, str(scripts / 'introspect.py'), 'introspect', str(collections),
                           '--write-pip', str(pip_out), '--write-bindep', str(bindep_out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    pip_lines = [line for line in pip_out.read_text().splitlines() if line.strip()]
    assert all(line.endswith('# from collection mimoe.edge') for line in pip_lines), pip_lines
    assert sorted(Requirement(line.split('#')[0]).name for line in pip_lines) == \
        sorted(req.name for req in read_requirements())
    bindep_lines = [line for line in bindep_out.read_text().splitlines() if line.strip()]
    assert [line.split()[0] for line in bindep_lines] == ['nodejs', 'npm']


@pytest.mark.ansible
def test_ee_from_a_local_tarball_writes_a_build_context_with_it(tmp_path):
    """extensions/awx/execution-environment-local.yml: the collection tarball built from this tree goes into the
    build context and is installed by the galaxy stage (no Galaxy access)."""
    ee_dir = tmp_path / 'awx'
    ee_dir.mkdir()
    definition = ee_dir / 'execution-environment-local.yml'
    definition.write_text(open(os.path.join(ROOT, 'extensions', 'awx', 'execution-environment-local.yml'),
                               encoding='utf-8').read())
    collections = tmp_path / 'collections'
    subprocess.run([os.path.join(ROOT, 'scripts', 'collection-tree.sh'), str(collections)], check=True,
                   capture_output=True, timeout=120)
    done = subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(ee_dir),
                           str(collections / 'ansible_collections' / 'mimoe' / 'edge')],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    tarballs = [name for name in os.listdir(ee_dir) if name.startswith('mimoe-edge-') and name.endswith('.tar.gz')]
    assert len(tarballs) == 1
    context = tmp_path / 'context'
    done = subprocess.run([os.path.join(BIN, 'ansible-builder'), 'create', '-f', str(definition), '--context',
                           str(context), '--output-filename', 'Containerfile'],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (context / '_build' / 'collections' / tarballs[0]).is_file()
    containerfile = (context / 'Containerfile').read_text()
    assert 'COPY _build/collections/ /build/collections/' in containerfile
    assert 'mv "$1" /build/collections/mimoe-edge.tar.gz' in containerfile
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in containerfile
    with open(context / '_build' / 'requirements.yml', encoding='utf-8') as fh:
        galaxy = yaml.safe_load(fh)
    assert galaxy['collections'] == [{'name': '/build/collections/mimoe-edge.tar.gz', 'type': 'file'}]
    # The install the galaxy stage runs, here on the renamed tarball.
    renamed = tmp_path / 'mimoe-edge.tar.gz'
    os.rename(ee_dir / tarballs[0], renamed)
    # As in the image: no other copy of the collection on the collections path (else "already installed").
    done = subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--no-deps', '-p',
                           str(tmp_path / 'installed'), str(renamed)], capture_output=True, text=True, timeout=300,
                          check=False, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'installed')))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / 'installed' / 'ansible_collections' / 'mimoe' / 'edge' / 'MANIFEST.json').is_file()
    stages = re.findall(r'^FROM (\S+) AS (\w+)$', containerfile, re.M)
    assert [stage for dummy, stage in stages] == ['base', 'galaxy', 'builder', 'final']

# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""extensions/awx: the custom credential types and the job templates with surveys, checked against the rules AWX
applies to them (credential type inputs/injectors, survey specs) and against the collection: every injected
environment variable is one the collection reads, every survey variable is one its playbook or role uses, every
secret is a secret input or a password question."""

from __future__ import annotations

import json
import os
import re

import jinja2
import jinja2.meta
import pytest
import yaml
from ansible.vars.reserved import get_reserved_names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = os.path.join(ROOT, 'extensions', 'awx')
SECRET_NAME = re.compile(r'(token|password|secret|passphrase|private_key)', re.I)
# AWX's survey question types and the keys of a question (awx/main/models/mixins.py, api/views survey_spec).
SURVEY_TYPES = {'text', 'textarea', 'password', 'integer', 'float', 'multiplechoice', 'multiselect'}
RESERVED_NAMES = get_reserved_names()
QUESTION_KEYS = {'question_name', 'question_description', 'required', 'type', 'variable', 'default', 'min', 'max',
                 'choices'}
JOB_TEMPLATE_FIELDS = {'name', 'description', 'job_type', 'playbook', 'verbosity', 'job_slice_count',
                       'ask_variables_on_launch', 'ask_limit_on_launch', 'survey_enabled'}
# Jinja expressions without {{ }} in plays.
CONDITION_KEYS = {'when', 'that', 'failed_when', 'changed_when', 'until'}


def load(name):
    with open(os.path.join(AWX, name), encoding='utf-8') as fh:
        return json.load(fh)


CREDENTIAL_TYPES = load('credential_types.json')
JOB_TEMPLATES = load('job_templates.json')


class _AnyName(dict):
    """Every filter and test name exists: only the variables of a template matter here."""

    def __contains__(self, name):
        return True

    def get(self, name, default=None):
        return super().get(name) or (lambda *args, **kwargs: None)


def template_variables(text, expression=False):
    env = jinja2.Environment()
    env.filters, env.tests = _AnyName(env.filters), _AnyName(env.tests)
    source = '{{ %s }}' % text if expression else text
    return jinja2.meta.find_undeclared_variables(env.parse(source))


def environment_variables_the_collection_reads():
    """Names in env_fallback lists, E(NAME) in docs, and lookup('ansible.builtin.env', 'NAME') in roles/playbooks."""
    names = set()
    patterns = [re.compile(r"env_fallback,\s*\[([^\]]*)\]"), re.compile(r"E\(([A-Z][A-Z0-9_]+)\)"),
                re.compile(r"lookup\('ansible\.builtin\.env',\s*'([A-Z][A-Z0-9_]+)'\)")]
    for top in ('plugins', 'roles', 'playbooks'):
        for directory, dummy, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                with open(os.path.join(directory, name), encoding='utf-8', errors='replace') as fh:
                    text = fh.read()
                for pattern in patterns:
                    for match in pattern.findall(text):
                        names.update(re.findall(r'[A-Z][A-Z0-9_]+', match))
    return names


def playbook_variables(path):
    """Variables a playbook reads (undeclared in its Jinja), and the roles it runs."""
    with open(path, encoding='utf-8') as fh:
        plays = yaml.safe_load(fh)
    used, roles = set(), set()

    def walk(node, key=None):
        if isinstance(node, dict):
            for child_key, child in node.items():
                if child_key == 'role' or (key == 'ansible.builtin.include_role' and child_key == 'name'):
                    roles.add(child.rpartition('.')[2])
                walk(child, child_key)
        elif isinstance(node, list):
            for child in node:
                walk(child, key)
        elif isinstance(node, str):
            used.update(template_variables(node, expression=key in CONDITION_KEYS))
    walk(plays)
    return used, roles


def role_options(role):
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml'), encoding='utf-8') as fh:
        return set(yaml.safe_load(fh)['argument_specs']['main']['options'])


@pytest.mark.parametrize('credential_type', CREDENTIAL_TYPES, ids=lambda item: item['name'])
def test_credential_type(credential_type):
    assert set(credential_type) == {'name', 'description', 'kind', 'inputs', 'injectors'}
    assert credential_type['kind'] == 'cloud'  # what AWX allows for a custom credential type
    fields = credential_type['inputs']['fields']
    ids = [field['id'] for field in fields]
    assert len(ids) == len(set(ids))
    for field in fields:
        assert set(field) <= {'id', 'label', 'type', 'secret', 'help_text', 'multiline'}, field
        assert re.match(r'^[a-z][a-z0-9_]*$', field['id']) and field['label'] and field['type'] in ('string', 'boolean')
        # A field that holds a secret is `secret: true` (AWX encrypts it and shows $encrypted$).
        assert bool(field.get('secret')) == bool(SECRET_NAME.search(field['id'])), field
    assert set(credential_type['inputs']['required']) <= set(ids)

    injectors = credential_type['injectors']
    assert set(injectors) == {'env'}  # secrets as environment variables: never in the job's extra vars
    read = environment_variables_the_collection_reads()
    injected_inputs = set()
    for variable, template in injectors['env'].items():
        assert variable in read, '%s is read by nothing in the collection' % variable
        used = template_variables(template)
        assert used and used <= set(ids), (variable, template)
        injected_inputs |= used
    assert injected_inputs == set(ids)


def test_credential_types_inject_the_token_and_the_registry_password():
    injected = {name for credential_type in CREDENTIAL_TYPES for name in credential_type['injectors']['env']}
    assert {'MCM_TOKEN', 'MIMOE_REGISTRY_PASSWORD'} <= injected


@pytest.mark.parametrize('template', JOB_TEMPLATES, ids=lambda item: item['job_template']['playbook'])
def test_job_template_and_survey(template):
    assert set(template) == {'job_template', 'credential_types', 'survey_spec'}
    job_template = template['job_template']
    assert set(job_template) <= JOB_TEMPLATE_FIELDS and job_template['survey_enabled'] is True
    playbook = os.path.join(ROOT, job_template['playbook'])
    assert os.path.isfile(playbook)
    assert set(template['credential_types']) <= {item['name'] for item in CREDENTIAL_TYPES}

    used, roles = playbook_variables(playbook)
    accepted = used.union(*(role_options(role) for role in roles))
    spec = template['survey_spec']
    assert set(spec) == {'name', 'description', 'spec'} and spec['spec']
    variables = [question['variable'] for question in spec['spec']]
    assert len(variables) == len(set(variables))
    for question in spec['spec']:
        assert set(question) <= QUESTION_KEYS and question['question_name'], question
        assert question['type'] in SURVEY_TYPES and isinstance(question['required'], bool), question
        assert question['variable'] in accepted, '%s is not a variable of %s' % (question['variable'], playbook)
        # A play keyword as a variable name makes every job print "Found variable using reserved name".
        assert question['variable'] not in RESERVED_NAMES, question['variable']
        # Credentials carry the MCM token and the registry password; a survey never asks for them.
        assert not SECRET_NAME.search(question['variable']) or question['variable'] == 'mim_secret_env'
        if 'secret' in question['variable']:
            assert question['type'] == 'password', question
        default = question.get('default')
        if question['type'] in ('multiplechoice', 'multiselect'):
            assert question['choices'] and (default is None or default in question['choices']), question
        elif question['type'] in ('integer', 'float'):
            assert question['min'] <= question['max']
            assert default is None or question['min'] <= default <= question['max'], question
        else:
            assert 'choices' not in question and 0 <= question['min'] <= question['max'], question
            assert default is None or question['min'] <= len(default) <= question['max'], question
        if question['required']:
            assert default not in (None, ''), 'required question %s needs a default' % question['variable']
    if job_template['playbook'] in ('playbooks/rollout.yml', 'playbooks/rollback.yml'):
        # Job slicing would give every slice its own canary batch.
        assert job_template['job_slice_count'] == 1
        assert 'mimoe.edge MCM' in template['credential_types']


def test_every_fleet_playbook_has_a_template():
    playbooks = {template['job_template']['playbook'] for template in JOB_TEMPLATES}
    assert {'playbooks/build.yml', 'playbooks/rollout.yml', 'playbooks/rollback.yml', 'playbooks/status.yml',
            'playbooks/report.yml', 'playbooks/publish.yml', 'playbooks/backup.yml'} <= playbooks


def test_templates_that_touch_nodes_or_the_registry_get_their_credential():
    by_playbook = {t['job_template']['playbook']: set(t['credential_types']) for t in JOB_TEMPLATES}
    for playbook in ('playbooks/report.yml', 'playbooks/backup.yml', 'playbooks/status.yml'):
        assert 'mimoe.edge MCM' in by_playbook[playbook], playbook
    assert 'mimoe.edge OCI registry' in by_playbook['playbooks/publish.yml']


def test_registry_credentials_are_optional_for_anonymous_registries():
    registry = [c for c in CREDENTIAL_TYPES if c['name'] == 'mimoe.edge OCI registry'][0]
    assert registry['inputs']['required'] == ['registry_url']

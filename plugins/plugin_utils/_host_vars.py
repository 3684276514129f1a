# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A variable as each host of a play sees it at a task, computed by one task that runs once.

``hostvars[host]`` holds a host's inventory variables and facts, not the play's, the role's or the task's: a role
default such as ``mim_rollout_mcm_url: "{{ mcm_url }}"`` is missing there. The rollout plan reads every node from
one task (``run_once``) and needs each node's own release options, exactly as the release task would template them
on that host. This asks Ansible's variable manager for the host's variables in the context of the running task
(what the strategy does before it runs a task on a host) and templates the variable with them.

It uses ansible-core internals (the task's variable manager and play, the manager's inventory), present from 2.16
to 2.21. When one is missing, :class:`HostVarsUnavailable` says so, and the caller falls back to running the task
on every host.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.template import Templar


class HostVarsUnavailable(Exception):
    """This ansible-core cannot give the variables of another host at this task."""


def _without_omitted(value, omit):
    """Before ansible-core 2.19 an omitted value is the ``omit`` placeholder text: leave such keys out, as the task
    executor does with a task's arguments."""
    if omit is None:
        return value
    if isinstance(value, dict):
        return dict((k, _without_omitted(v, omit)) for k, v in value.items() if v != omit)
    if isinstance(value, list):
        return [_without_omitted(v, omit) for v in value if v != omit]
    return value


def host_values(task, loader, task_vars, hosts, name):
    """``(host, value)`` for each of ``hosts``, in order (a generator): the variable ``name`` templated with that
    host's variables at ``task`` (play, role, block and task variables, inventory, facts). A host without the
    variable gets ``None``; a template that fails gives the exception instead of a value (the caller decides what it
    means for that host). Raises :class:`HostVarsUnavailable` when this ansible-core lacks what it needs."""
    get_manager = getattr(task, 'get_variable_manager', None)
    get_play = getattr(task, 'get_play', None)
    manager = get_manager() if get_manager else None
    play = get_play() if get_play else None
    inventory = getattr(manager, '_inventory', None)
    if manager is None or play is None or inventory is None:
        raise HostVarsUnavailable('the task has no variable manager, play or inventory')
    return _host_values(manager, play, inventory, task, loader, task_vars, hosts, name)


def _compiled_once(templar):
    """Compile each template text once for all hosts: the same texts (the variable and the role defaults it uses)
    are templated for every host, and compiling, not rendering, is most of the cost. A compiled Jinja template is
    rendered again with each host's variables (Jinja's own template cache does the same for template files). Only the
    environment of this templar, made for this plan, is changed; without the internal it needs nothing changes."""
    environment = getattr(getattr(templar, '_engine', None), 'environment', None)  # ansible-core 2.19+
    if environment is None and 'environment' in getattr(templar, '__dict__', {}):  # before 2.19: an attribute
        environment = templar.environment
    compile_text = getattr(environment, 'from_string', None)
    if compile_text is None:
        return templar
    compiled = {}

    def from_string(source, *args, **kwargs):
        if args or kwargs or not isinstance(source, str):
            return compile_text(source, *args, **kwargs)
        key = str(source)
        if key not in compiled:
            compiled[key] = compile_text(source)
        return compiled[key]

    environment.from_string = from_string
    return templar


def _host_values(manager, play, inventory, task, loader, task_vars, hosts, name):
    magic = dict(_hosts=task_vars.get('ansible_play_batch'), _hosts_all=task_vars.get('ansible_play_hosts_all'))
    templar = None
    for host_name in hosts:
        host = inventory.get_host(host_name)
        if host is None:
            yield host_name, HostVarsUnavailable('%s is not in the inventory' % host_name)
            continue
        variables = manager.get_vars(play=play, host=host, task=task, **magic)
        if name not in variables:
            yield host_name, None
            continue
        try:
            if templar is None:
                templar = _compiled_once(Templar(loader=loader, variables=variables))
            else:
                templar.available_variables = variables
            value = templar.template(variables[name])
        except Exception as exc:  # pylint: disable=broad-except
            yield host_name, exc
            continue
        yield host_name, _without_omitted(value, variables.get('omit'))

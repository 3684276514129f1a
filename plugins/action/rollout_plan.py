# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read every node of a rollout at once, before the batches (see plugins/modules/rollout_plan.py for the
documentation): which nodes already run the release, which need their release task."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import mcm_argument_spec
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_release import (
    RELEASE_RULES,
    mask_text,
    plan_release,
    release_argument_spec,
)
from ansible_collections.mimoe.edge.plugins.plugin_utils._host_vars import HostVarsUnavailable, host_values
from ansible_collections.mimoe.edge.plugins.plugin_utils._parallel import cpu_count, map_in_processes
from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import rollout_plan_report, rollout_stats, write_report

ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='str', required=True),
    options=dict(type='dict', default={}),
    node_options=dict(type='str', required=True),
    label=dict(type='str', default=''),
    report_file=dict(type='path'),
    workers=dict(type='int', default=25),
    processes=dict(type='int'),
)


# Fewer hosts than this per process are planned in one: a helper process is not worth its start for them.
HOSTS_PER_PROCESS = 20


def release_validator():
    """The validator of mim_release's own spec and rules (built once: building it costs more than a validation)."""
    spec = mcm_argument_spec()
    spec.update(release_argument_spec())
    return ArgumentSpecValidator(spec, **RELEASE_RULES)


def validated_release(validator, options, node_options):
    """The release options of one node as mim_release gets them (run-wide ``options`` as module_defaults, the node's
    own on top), validated with the module's spec: ``(params, None)`` or ``(None, reason)``."""
    params = dict(options)
    params.update(node_options)
    validated = validator.validate(params)
    if validated.error_messages:
        secrets = [str(v) for v in [params.get('mcm_token')] + list((params.get('secret_env') or {}).values()) if v]
        return None, mask_text('invalid options (the release task tells): %s' % '; '.join(
            validated.error_messages), secrets)
    return validated.validated_parameters, None


def planned(params):
    """:func:`plan_release` for one node; an error it does not expect only means the node is not planned."""
    try:
        return plan_release(params)
    except Exception as exc:  # pylint: disable=broad-except
        return dict(status='pending', reasons=['not read: %s' % type(exc).__name__])


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # reads only
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(ARGUMENT_SPEC)
        hosts = list(dict.fromkeys(args['hosts']))
        if args['workers'] < 1 or (args['processes'] is not None and args['processes'] < 1):
            raise AnsibleActionFail('mimoe.edge.rollout_plan: workers and processes must be 1 or more')
        processes = args['processes']
        if processes is None:
            # Templating each host's options is CPU work: large fleets are planned on every CPU of the controller.
            processes = min(cpu_count(), len(hosts) // HOSTS_PER_PROCESS)
        try:
            verdicts = map_in_processes(lambda part: self._plan(part, args, task_vars), hosts, processes)
        except HostVarsUnavailable as exc:
            # Every node then runs its release task, which decides for itself: slower, never wrong.
            self._display.warning('mimoe.edge.rollout_plan: cannot read the variables of each host here (%s): every '
                                  'node runs its release task' % exc)
            verdicts = {}
        pending = dict(status='pending', reasons=['not planned'])
        verdicts = dict((host, verdicts.get(host) or pending) for host in hosts)

        plan = rollout_plan_report(dict((h, v.get('result')) for h, v in verdicts.items()
                                        if v['status'] == 'unchanged'), hosts, args['label'])
        if args['report_file']:
            write_report(args['report_file'], plan['report'])
        result.update(
            changed=False, msg=plan['lines'], report_file=args['report_file'] or '', report=plan['report'],
            hosts=hosts, unchanged=plan['unchanged'], pending=plan['pending'],
            reasons=dict((h, verdicts[h]['reasons']) for h in plan['pending']), ansible_stats=rollout_stats(plan['report']))
        return result

    def _plan(self, hosts, args, task_vars):
        """``{host: verdict}`` for ``hosts``: their options templated and validated here, one at a time, then their
        nodes read in parallel threads (one read per node; a slow node costs its own time only)."""
        verdicts, to_read = {}, {}
        validator = release_validator()
        for host, node_options in host_values(self._task, self._loader, task_vars, hosts, args['node_options']):
            params, reason = None, None
            if isinstance(node_options, Exception):
                reason = '%s could not be templated (the release task tells)' % args['node_options']
            elif not isinstance(node_options, dict):
                reason = '%s is not a dictionary' % args['node_options']
            else:
                params, reason = validated_release(validator, args['options'], node_options)
            if reason:
                verdicts[host] = dict(status='pending', reasons=[reason])
            else:
                to_read[host] = params
        if to_read:
            with ThreadPoolExecutor(max_workers=min(args['workers'], len(to_read))) as pool:
                futures = dict((host, pool.submit(planned, params)) for host, params in to_read.items())
                for host, future in futures.items():
                    verdicts[host] = future.result()
        return verdicts

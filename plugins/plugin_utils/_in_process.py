# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run an API module of this collection inside the controller's worker process.

The MCM modules only make HTTP calls, and they run on the controller anyway (``connection: local`` or
``delegate_to: localhost``). The module path then costs a Python start, an AnsiballZ payload and the imports of
``requests`` and ``jsonschema`` for every task on every host. The action plugin of each module (a one-line file in
``plugins/action/`` importing :class:`InProcessModuleAction` as ``ActionModule``) instead runs the module's own
``main()`` in the worker process that Ansible forked for the task:

* the arguments go through the same steps as on the module path: ``module_defaults`` (applied by Ansible before
  the action runs), the internal ``_ansible_*`` keys (check mode, diff, no_log, verbosity), the JSON encoding of the
  module's serialization profile, then ``AnsibleModule`` itself (the module's argument spec, env fallbacks,
  ``mutually_exclusive``/``required_if``..., no_log value collection and masking of the result);
* the result is the JSON the module prints, decoded and cleaned by ``ActionBase`` as on the module path, so
  ``changed``, ``diff``, warnings, deprecations, failure messages and ``invocation`` are the same;
* the task's ``environment`` is applied to ``os.environ`` for the call (``MCM_URL``/``MCM_TOKEN`` fallbacks).

The module path is kept, and used, whenever in-process execution would not be equivalent or is switched off:
the task's connection is not ``local`` (a delegated remote host), ``become`` is active, ``async`` is requested,
the running ansible-core lacks an internal it uses (before 2.19: serialization profiles; a later release that
renames one), or ``MIMOE_EDGE_IN_PROCESS=false`` (environment of ``ansible-playbook``) / the variable
``mimoe_edge_in_process: false`` (any variable scope). The reason is shown at ``-vvv``; nothing here raises at
import time, and no check happens after the module has run (it never runs twice).

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import importlib
import io
import json
import os
import traceback

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

try:
    from ansible.release import __version__ as ANSIBLE_CORE_VERSION
except Exception:  # pylint: disable=broad-except
    ANSIBLE_CORE_VERSION = 'unknown'

# Everything below is ansible-core internals that change between releases. None of it may break a task: whatever is
# missing on the running ansible-core only sends the task to the module path, with the reason at -vvv. So every
# import is guarded here (nothing raises at import time) and run() checks the rest before the module runs.
IMPORT_ERRORS = []

try:  # ansible-core 2.19+: module arguments and results are encoded per serialization profile
    from ansible.module_utils.common.json import Direction, get_module_encoder
    from ansible.module_utils import _internal as _module_utils_internal
    from ansible.module_utils.common import warnings as _module_warnings
    from ansible.module_utils import basic as _basic
except Exception as exc:  # pylint: disable=broad-except
    IMPORT_ERRORS.append('serialization profiles (%s: %s)' % (type(exc).__name__, exc))
    Direction = get_module_encoder = None
    _module_utils_internal = _module_warnings = _basic = None

try:  # ansible-core 2.19 and 2.20; 2.21 cleans a module result with UnifiedTaskResult.remove_internal_keys()
    from ansible.vars.clean import remove_internal_keys
except Exception:  # pylint: disable=broad-except
    remove_internal_keys = None

display = Display()

IN_PROCESS_ENV = 'MIMOE_EDGE_IN_PROCESS'
IN_PROCESS_VAR = 'mimoe_edge_in_process'

# The serialization profile ansible-core gives a module without METADATA (ours have none; module metadata is
# experimental and off by default in 2.19).
PROFILE = 'legacy'

# Imported once in the controller's main process: the strategy loads the action plugin there before forking the
# workers, so every worker inherits requests, urllib3, jsonschema and the client instead of importing them per
# task (about 0.3 s of CPU each). A missing library is not an error here: the module reports it as usual.
_PRELOAD = (
    'ansible_collections.mimoe.edge.plugins.module_utils._mcm_module',
    'ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim',
    'ansible_collections.mimoe.edge.plugins.module_utils._mcm_image',
    'ansible_collections.mimoe.edge.plugins.module_utils._mcm_composition',
    'ansible_collections.mimoe.edge.plugins.module_utils._mcm_release',
)


def _preload():
    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # pylint: disable=broad-except
            pass  # reported by the module itself when it runs


_preload()

# The module-side names run_module_main() sets and resets: present since 2.19, checked before each use.
_MODULE_STATE = (
    ('ansible.module_utils.basic', _basic, ('_ANSIBLE_ARGS', '_ANSIBLE_PROFILE')),
    ('ansible.module_utils._internal', _module_utils_internal, ('is_controller',)),
    ('ansible.module_utils.common.warnings', _module_warnings, ('_global_warnings', '_global_deprecations')),
)
# The ActionBase helpers the in-process path shares with the module path.
_ACTION_HELPERS = ('_update_module_args', '_compute_environment_string', '_parse_returned_data')


def unsupported_reason():
    """Why in-process execution cannot work on the running ansible-core (``None`` when it can).

    Only looks for names: the result handling itself is tried once per worker on a sample result before a module
    runs (:meth:`InProcessModuleAction._check_result_handling`).
    """
    if IMPORT_ERRORS:
        return 'ansible-core %s has no %s' % (ANSIBLE_CORE_VERSION, '; '.join(IMPORT_ERRORS))
    for module_name, module, names in _MODULE_STATE:
        missing = [name for name in names if not hasattr(module, name)]
        if missing:
            return 'ansible-core %s has no %s in %s' % (ANSIBLE_CORE_VERSION, ', '.join(missing), module_name)
    missing = [name for name in _ACTION_HELPERS if not callable(getattr(ActionBase, name, None))]
    if missing:
        return 'ansible-core %s has no ActionBase.%s' % (ANSIBLE_CORE_VERSION, ', ActionBase.'.join(missing))
    return None


UNSUPPORTED_REASON = unsupported_reason()
# Kept for callers of the earlier interface: true when the running ansible-core has what in-process execution uses.
HAS_PROFILES = UNSUPPORTED_REASON is None


@contextlib.contextmanager
def _environment(values):
    """``os.environ`` updated with the task's ``environment`` for the duration of the module call."""
    saved = {}
    for key, value in values.items():
        key = str(key)
        saved[key] = os.environ.get(key)
        os.environ[key] = str(value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _reset_module_state():
    """What a fresh module process starts with: no parsed arguments, no recorded warnings or deprecations."""
    _basic._ANSIBLE_ARGS = None
    _basic._ANSIBLE_PROFILE = None
    if hasattr(_basic, '_PARSED_MODULE_ARGS'):
        _basic._PARSED_MODULE_ARGS = None
    _module_warnings._global_warnings.clear()
    _module_warnings._global_deprecations.clear()


def run_module_main(import_name, payload, environment=None):
    """Run ``main()`` of the module ``import_name`` with ``payload`` (the JSON bytes a module reads on stdin).

    :returns: ``(rc, stdout, stderr)`` as the module process would have produced them: the printed JSON result
              and the exit status; an uncaught exception becomes its traceback on stderr and rc 1.
    """
    stdout = io.StringIO()
    rc = 0
    stderr = ''
    # A module process is not a controller: warnings and deprecations are returned in the result (not displayed
    # directly), and the target-side JSON encoder writes it.
    was_controller = _module_utils_internal.is_controller
    _reset_module_state()
    _basic._ANSIBLE_ARGS = payload
    _basic._ANSIBLE_PROFILE = PROFILE
    _module_utils_internal.is_controller = False
    try:
        with _environment(environment or {}):
            with contextlib.redirect_stdout(stdout):
                module = importlib.import_module(import_name)
                module.main()
    except SystemExit as exc:
        if exc.code is None:
            rc = 0
        elif isinstance(exc.code, int):
            rc = exc.code
        else:
            rc = 1
            stderr = str(exc.code)
    except Exception:  # pylint: disable=broad-except
        rc = 1
        stderr = traceback.format_exc()
    finally:
        _module_utils_internal.is_controller = was_controller
        _reset_module_state()
    return rc, stdout.getvalue(), stderr


def module_import_name(fqcn):
    """``mimoe.edge.mcm_image`` -> ``ansible_collections.mimoe.edge.plugins.modules.mcm_image`` (``None`` if not a FQCN)."""
    parts = (fqcn or '').split('.')
    if len(parts) != 3 or not all(parts):
        return None
    return 'ansible_collections.%s.%s.plugins.modules.%s' % tuple(parts)


class InProcessModuleAction(ActionBase):
    """Action plugin of an API module: runs the module in-process on the controller, else on the module path."""

    _supports_check_mode = True
    _supports_async = True

    def _in_process_switch(self, task_vars):
        """The user's switch: the variable ``mimoe_edge_in_process`` wins over the environment variable."""
        source, value = None, None
        if task_vars.get(IN_PROCESS_VAR) is not None:
            source, value = 'variable %s' % IN_PROCESS_VAR, self._templar.template(task_vars[IN_PROCESS_VAR])
        elif os.environ.get(IN_PROCESS_ENV, '').strip():
            source, value = 'environment variable %s' % IN_PROCESS_ENV, os.environ[IN_PROCESS_ENV].strip()
        if source is None:
            return True
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise AnsibleActionFail('%s must be a boolean (true/false), got %r' % (source, value))

    def module_path_reason(self, task_vars):
        """Why this task must take the module path, or ``None`` when it can run in-process."""
        if not self._in_process_switch(task_vars):
            return 'in-process execution is switched off (%s / %s)' % (IN_PROCESS_VAR, IN_PROCESS_ENV)
        if UNSUPPORTED_REASON:
            return UNSUPPORTED_REASON
        if self._task.async_val:
            return 'async is requested'
        if getattr(self._connection, 'transport', None) != 'local':
            return 'the task runs on %s through connection %s' % (
                self._play_context.remote_addr, getattr(self._connection, 'transport', None))
        if self._play_context.become or getattr(self._connection, 'become', None) is not None:
            return 'become is active (the module runs as another user)'
        if module_import_name(self._fqcn()) is None:
            return 'the module name %s is not fully qualified' % self._fqcn()
        return self._check_result_handling()

    def _fqcn(self):
        return getattr(self._task, 'resolved_action', None) or self._task.action

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        reason = self.module_path_reason(task_vars)
        result = super(InProcessModuleAction, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        payload = None
        if not reason:
            # Everything that can fail before the module runs: a failure here still leaves the module path.
            try:
                payload, environment = self._in_process_payload(task_vars)
            except Exception as exc:  # pylint: disable=broad-except
                reason = 'cannot prepare the arguments on ansible-core %s (%s: %s)' % (
                    ANSIBLE_CORE_VERSION, type(exc).__name__, exc)
        if reason:
            display.vvv('%s: module path (%s)' % (self._fqcn(), reason), host=self._play_context.remote_addr)
            return self._run_module_path(result, task_vars)
        display.vvv('%s: in-process on the controller' % self._fqcn(), host=self._play_context.remote_addr)
        return merge_hash(result, self._run_in_process(payload, environment))

    def _run_module_path(self, result, task_vars):
        """What ``ansible.builtin.normal`` does: transfer and run the module (AnsiballZ), async included."""
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _in_process_payload(self, task_vars):
        """The module's stdin (``module_defaults`` and ``_ansible_*`` keys applied, profile-encoded) and the task's
        ``environment``, exactly as the module path would build them."""
        module_args = self._task.args.copy()
        self._update_module_args(self._fqcn(), module_args, task_vars)
        environment = {}
        self._compute_environment_string(environment)
        encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
        return json.dumps({'ANSIBLE_MODULE_ARGS': module_args}, cls=encoder).encode('utf-8'), environment

    def _check_result_handling(self):
        """Decode and clean a sample module result the way :meth:`_finish_result` will, once per worker process.

        Its steps are ansible-core internals (a result dict up to 2.20, a ``UnifiedTaskResult`` from 2.21): if they
        do not work here, the task takes the module path, before the module has run (it must never run twice).
        """
        cls = InProcessModuleAction
        if cls._result_handling is None:
            sample = {'changed': False, 'invocation': {'module_args': {}}, 'warnings': []}
            try:
                data = self._finish_result(
                    self._parse_returned_data(dict(rc=0, stdout=json.dumps(sample), stderr=''), PROFILE))
                if data.get('changed') is not False or 'invocation' not in data or data.get('failed'):
                    raise ValueError('unexpected sample result %r' % (data,))
                cls._result_handling = ''
            except Exception as exc:  # pylint: disable=broad-except
                cls._result_handling = 'cannot read module results in-process on ansible-core %s (%s: %s)' % (
                    ANSIBLE_CORE_VERSION, type(exc).__name__, exc)
        return cls._result_handling or None

    _result_handling = None  # per worker process: '' once the sample result went through, else the reason

    @staticmethod
    def _finish_result(parsed):
        """What ``ActionBase._execute_module`` does after ``_parse_returned_data``: internal keys removed."""
        if hasattr(parsed, 'as_result_dict'):  # ansible-core 2.21+: a UnifiedTaskResult
            parsed.remove_internal_keys()
            return parsed.as_result_dict(for_round_trip=True)
        if not isinstance(parsed, dict) or remove_internal_keys is None:
            raise TypeError('_parse_returned_data returned %s' % type(parsed).__name__)
        parsed.pop('_ansible_suppress_tmpdir_delete', None)
        remove_internal_keys(parsed)
        return parsed

    def _run_in_process(self, payload, environment):
        rc, stdout, stderr = run_module_main(module_import_name(self._fqcn()), payload, environment)
        return self._finish_result(self._parse_returned_data(dict(rc=rc, stdout=stdout, stderr=stderr), PROFILE))

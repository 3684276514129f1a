# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Standard documentation fragment
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
'''

    # Should be used together with the standard fragment
    ACTIONGROUP_MCM = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/mimoe.edge.mcm) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - mimoe.edge.mcm
'''

    CHECK_MODE_FULL = r'''
options: {}
attributes:
  check_mode:
    support: full
'''

    DIFF_MODE_FULL = r'''
options: {}
attributes:
  diff_mode:
    support: full
'''

    IDEMPOTENT_FULL = r'''
options: {}
attributes:
  idempotent:
    support: full
'''

    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
'''

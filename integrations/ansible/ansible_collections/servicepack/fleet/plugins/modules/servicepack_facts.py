#!/usr/bin/python
# -*- coding: utf-8 -*-
# Gathers what servicepack knows about an inetsrv installation (and, with a feed, what is missing)
# as ansible_facts.servicepack, from `servicepack facts --json`.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: servicepack_facts
short_description: Gather the level, hotfixes and missing updates of an inetsrv installation
version_added: "0.1.0"
description:
  - Runs C(servicepack facts --json) on the target and returns its document as C(ansible_facts.servicepack).
  - Only reads; an open transaction fails with servicepack's exit 5 (busy) or 6 (needs recover).
options:
  root:
    description: Absolute path of the inetsrv installation.
    type: path
    required: true
  feed:
    description:
      - A signed feed (C(http(s)://) or C(file:) URL, or an absolute folder); with it the facts list
        the updates that apply and which of them are security fixes.
    type: str
  trust:
    description: Public keys (PEM files) trusted besides the installation's own trust store.
    type: list
    elements: path
    default: []
  executable:
    description: The servicepack program, a name looked up on PATH or an absolute path.
    type: str
    default: servicepack
notes:
  - Supports check mode (it changes nothing either way).
author:
  - servicepack maintainers
'''

EXAMPLES = r'''
- name: What is installed, and what the feed still offers
  servicepack.fleet.servicepack_facts:
    root: /opt/inetsrv
    feed: https://updates.example.com/inetsrv/

- name: Say which hosts miss a security fix
  ansible.builtin.debug:
    msg: "{{ ansible_facts.servicepack.updates | selectattr('security') | map(attribute='id') | list }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: complex
  contains:
    servicepack:
      description:
        - servicepack's FactsDocument (docs/fleet.md) - product, displayName, version, arch, level,
          levelName, hotfixes, rollups, consistent, problems, restartPending, lastChange,
          lastHealthCheck, feed, updates (id, kind, title, security), latest, upToDate.
      returned: always
      type: dict
exit_code:
  description: servicepack's exit code.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.servicepack.fleet.plugins.module_utils.servicepack_cli import (
    EXIT_OK, fail_cli, require_absolute, require_feed, run_cli,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', required=True),
            feed=dict(type='str'),
            trust=dict(type='list', elements='path', default=[]),
            executable=dict(type='str', default='servicepack'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_absolute(module, 'root', p['root'])
    require_feed(module, p['feed'])
    args = ['facts', '--root=%s' % p['root']]
    if p['feed'] is not None:
        args.append('--feed=%s' % p['feed'])
    for key in p['trust']:
        require_absolute(module, 'trust', key)
        args.append('--trust=%s' % key)
    res = run_cli(module, p['executable'], args)
    if res.rc != EXIT_OK or res.doc is None or res.doc.get('ok') is not True:
        fail_cli(module, res)
    module.exit_json(changed=False, exit_code=res.rc, ansible_facts=dict(servicepack=res.doc))


if __name__ == '__main__':
    main()

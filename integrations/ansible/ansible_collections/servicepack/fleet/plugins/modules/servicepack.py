#!/usr/bin/python
# -*- coding: utf-8 -*-
# Ensures an inetsrv installation is at the newest level a feed offers, has named packs installed,
# or has an update removed, through the servicepack command line's --json documents.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: servicepack
short_description: Install or remove inetsrv service packs and hotfixes with servicepack
version_added: "0.1.0"
description:
  - Runs the C(servicepack) command line on the target with C(--json) and maps its exit codes to
    Ansible results, as docs/fleet.md of the servicepack repository describes.
  - Idempotent. An update that is already installed, or covered by one that is, and a feed with
    nothing newer, report C(changed=false). Every other refusal fails with servicepack's error code.
  - Check mode runs servicepack with C(--dry-run). Diff mode returns the level before and after and
    the files changed.
  - A failed health check fails the task; the result carries the health evidence and the rollback.
options:
  root:
    description: Absolute path of the inetsrv installation.
    type: path
    required: true
  state:
    description:
      - C(latest) installs what C(servicepack install --feed FEED latest) chooses.
      - C(present) installs the packs named in I(packs) that are not installed yet.
      - C(absent) removes the update I(id) when it is installed (it must be the newest).
    type: str
    choices: [latest, present, absent]
    default: latest
  feed:
    description:
      - A signed feed, an C(http(s)://) or C(file:) URL or an absolute folder.
      - Required with I(state=latest), and with I(state=present) when I(packs) names feed ids.
    type: str
  packs:
    description:
      - With I(state=present), the packs to install in this order, in one transaction.
      - An absolute path of a pack file (C(.tgz) or C(.run)), or the id of a pack in I(feed).
    type: list
    elements: str
    default: []
  id:
    description: With I(state=absent), the update to remove, for example C(Q236565) or C(inetsrv-4.0-sp6).
    type: str
  accept_eula:
    description: Accept the license agreement the packs carry (every vendor pack carries one).
    type: bool
    default: false
  modified:
    description: Locally modified files, refused (C(stop)), replaced (C(overwrite)) or left (C(keep)).
    type: str
    choices: [stop, overwrite, keep]
    default: stop
  restart:
    description:
      - C(auto) restarts a running service when a pack needs it.
      - C(never) leaves it stopped; the result then says I(restart_required) for a handler to act on.
      - C(always) behaves as C(auto) here; the command line restarts only what a pack needs.
    type: str
    choices: [auto, always, never]
    default: auto
  health_check:
    description: Put the new level on trial when the service ran; a failed check rolls it back and fails.
    type: bool
    default: true
  health_timeout:
    description: Whole seconds (1-300) the health probe may take; the release's default when unset.
    type: int
  trust:
    description: Public keys (PEM files) trusted besides the installation's own trust store.
    type: list
    elements: path
    default: []
  wait:
    description: Whole seconds to wait for another servicepack to release the lock before failing with exit 5.
    type: int
    default: 0
  executable:
    description: The servicepack program, a name looked up on PATH or an absolute path.
    type: str
    default: servicepack
notes:
  - Supports check mode and diff mode.
  - Runs servicepack with an argument list, never through a shell.
author:
  - servicepack maintainers
'''

EXAMPLES = r'''
- name: Bring inetsrv to the newest level the feed offers
  servicepack.fleet.servicepack:
    root: /opt/inetsrv
    feed: https://updates.example.com/inetsrv/
    state: latest
    accept_eula: true
  register: sp

- name: Install a hotfix from a pack file
  servicepack.fleet.servicepack:
    root: /opt/inetsrv
    state: present
    packs:
      - /srv/packs/inetsrv-4.0-sp5-q236565-x86.tgz
    accept_eula: true

- name: Remove it again
  servicepack.fleet.servicepack:
    root: /opt/inetsrv
    state: absent
    id: Q236565
'''

RETURN = r'''
exit_code:
  description: servicepack's exit code (0 done, 3 nothing to do, 10 done with a restart still required).
  returned: always
  type: int
  sample: 0
packs:
  description: Ids of the packs installed or removed (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [inetsrv-4.0-sp6]
before:
  description: Level before the change (product, arch, level, levelName, hotfixes).
  returned: when changed
  type: dict
after:
  description: Level after the change.
  returned: when changed
  type: dict
files:
  description: Files changed, by kind (added, replaced, deleted, spnew, kept; restored, removed, saved).
  returned: when changed
  type: dict
restart_required:
  description: The service was left stopped (exit 10); a handler should start it.
  returned: always
  type: bool
transaction_id:
  description: servicepack's transaction id (its log is .servicepack/log/ID.jsonl under root).
  returned: when changed
  type: str
message:
  description: servicepack's message when it had nothing to do or failed.
  returned: when not changed
  type: str
code:
  description: servicepack's error code (E_ALREADY_INSTALLED when there was nothing to do).
  returned: when not changed
  type: str
details:
  description: The error's details from servicepack's JSON document.
  returned: on failure
  type: dict
health:
  description: The failed health check of the new level (what was asked and what came back).
  returned: when the health check failed (code E_HEALTH_CHECK_FAILED)
  type: dict
after_rollback:
  description: The health check of the old level after the automatic rollback.
  returned: when the health check failed and the old level was checked again
  type: dict
rolled_back_to:
  description: The level the installation was rolled back to.
  returned: when the health check failed
  type: str
result:
  description: servicepack's whole JSON document.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.servicepack.fleet.plugins.module_utils.servicepack_cli import (
    ALREADY_THERE, EXIT_FAILED, EXIT_NOT_APPLICABLE, EXIT_OK, EXIT_RESTART_REQUIRED, error_of,
    fail_cli, require_absolute, require_feed, result_of, run_cli, text,
)


def common_args(module):
    p = module.params
    args = ['--root=%s' % p['root'], '-u']
    if module.check_mode:
        args.append('--dry-run')
    if p['wait']:
        args.append('--wait=%d' % p['wait'])
    return args


def install_args(module):
    p = module.params
    args = common_args(module)
    if p['accept_eula']:
        args.append('--accept-eula')
    if p['modified'] == 'overwrite':
        args.append('-o')
    elif p['modified'] == 'keep':
        args.append('--keep-modified')
    if p['restart'] == 'never':
        args.append('-z')
    if not p['health_check']:
        args.append('--no-health-check')
    if p['health_timeout'] is not None:
        args.append('--health-timeout=%d' % p['health_timeout'])
    for key in p['trust']:
        args.append('--trust=%s' % key)
    if p['feed'] is not None:
        args.append('--feed=%s' % p['feed'])
    return args


def installed_ids(module):
    """Ids servicepack recorded as installed, and hotfixes a release tree was built with."""
    res = run_cli(module, module.params['executable'], ['query', '--root=%s' % module.params['root']])
    if res.rc != EXIT_OK or res.doc is None:
        fail_cli(module, res)
    ids = set()
    for entry in res.doc.get('installed') or []:
        if isinstance(entry, dict) and isinstance(entry.get('packId'), str):
            ids.add(entry['packId'])
    for hotfix in res.doc.get('hotfixes') or []:
        if isinstance(hotfix, str):
            ids.add(hotfix)
    return ids


def pack_id(module, pack):
    """The id a pack file's signed manifest declares."""
    res = run_cli(module, module.params['executable'], ['pack', 'inspect', pack])
    if res.rc != EXIT_OK or res.doc is None:
        fail_cli(module, res)
    manifest = res.doc.get('manifest')
    return text(manifest.get('id')) if isinstance(manifest, dict) else ''


def level_text(level):
    if not isinstance(level, dict):
        return ''
    lines = ['level: %s' % text(level.get('levelName'))]
    hotfixes = [h for h in level.get('hotfixes') or [] if isinstance(h, str)]
    lines.append('hotfixes: %s' % (', '.join(hotfixes) if hotfixes else '(none)'))
    return '\n'.join(lines) + '\n'


def diff_of(root, result):
    files = result.get('changed') if isinstance(result.get('changed'), dict) else {}
    changed_lines = []
    for kind in sorted(files):
        for path in files[kind] or []:
            if isinstance(path, str):
                changed_lines.append('%s %s\n' % (kind, path))
    return {
        'before_header': '%s (before)' % root,
        'after_header': '%s (after)' % root,
        'before': level_text(result.get('before')),
        'after': level_text(result.get('after')) + ''.join(changed_lines),
    }


def finish(module, res, packs):
    """Maps one install or uninstall run to the task's result."""
    doc = res.doc
    if doc is None:
        fail_cli(module, res)
    if res.rc in (EXIT_OK, EXIT_RESTART_REQUIRED):
        result = result_of(doc)
        done = result.get('packs')
        ids = [text(p.get('id')) for p in done if isinstance(p, dict)] if isinstance(done, list) else packs
        if text(result.get('packId')):
            ids = [result['packId']]
        out = dict(
            changed=True, exit_code=res.rc, packs=ids, before=result.get('before'),
            after=result.get('after'), files=result.get('changed'),
            restart_required=res.rc == EXIT_RESTART_REQUIRED,
            transaction_id=text(result.get('transactionId')), result=doc,
        )
        if module._diff:
            out['diff'] = diff_of(module.params['root'], result)
        module.exit_json(**out)
    err = error_of(doc)
    code = text(err.get('code'))
    if res.rc == EXIT_NOT_APPLICABLE and code in ALREADY_THERE:
        module.exit_json(
            changed=False, exit_code=res.rc, packs=[], restart_required=False, code=code,
            message=text(err.get('message')), result=doc)
    if res.rc == EXIT_FAILED and code == 'E_HEALTH_CHECK_FAILED':
        details = err.get('details') if isinstance(err.get('details'), dict) else {}
        fail_cli(module, res, health=details.get('health'), after_rollback=details.get('afterRollback'),
                 rolled_back_to=details.get('rolledBackTo'), rolled_back=True)
    fail_cli(module, res)


def unchanged(module, message):
    module.exit_json(changed=False, exit_code=EXIT_NOT_APPLICABLE, packs=[], restart_required=False,
                     code='E_ALREADY_INSTALLED', message=message, result={})


def latest(module):
    if module.params['feed'] is None:
        module.fail_json(msg='state=latest needs feed', code='E_USAGE')
    res = run_cli(module, module.params['executable'], ['install'] + install_args(module) + ['--', 'latest'])
    finish(module, res, [])


def present(module):
    p = module.params
    if not p['packs']:
        module.fail_json(msg='state=present needs packs (pack files or feed ids)', code='E_USAGE')
    have = installed_ids(module)
    wanted = []
    for pack in p['packs']:
        is_file = pack.startswith('/')
        if not is_file and p['feed'] is None:
            module.fail_json(msg='%s is not an absolute pack path; a feed id needs feed' % pack, code='E_USAGE')
        if (pack_id(module, pack) if is_file else pack) not in have:
            wanted.append(pack)
    if not wanted:
        unchanged(module, 'already installed: %s' % ', '.join(p['packs']))
    res = run_cli(module, p['executable'], ['install'] + install_args(module) + ['--'] + wanted)
    # A single pack refused as superseded is there in substance; several are one transaction, and
    # the refusal of one says nothing about the others.
    if len(wanted) > 1 and res.rc == EXIT_NOT_APPLICABLE:
        fail_cli(module, res)
    finish(module, res, wanted)


def absent(module):
    p = module.params
    if not p['id']:
        module.fail_json(msg='state=absent needs id', code='E_USAGE')
    if p['id'] not in installed_ids(module):
        unchanged(module, '%s is not installed' % p['id'])
    args = common_args(module)
    if p['modified'] == 'overwrite':
        args.append('-o')
    if p['restart'] == 'never':
        args.append('-z')
    res = run_cli(module, p['executable'], ['uninstall'] + args + ['--', p['id']])
    finish(module, res, [p['id']])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', required=True),
            state=dict(type='str', default='latest', choices=['latest', 'present', 'absent']),
            feed=dict(type='str'),
            packs=dict(type='list', elements='str', default=[]),
            id=dict(type='str'),
            accept_eula=dict(type='bool', default=False),
            modified=dict(type='str', default='stop', choices=['stop', 'overwrite', 'keep']),
            restart=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
            health_check=dict(type='bool', default=True),
            health_timeout=dict(type='int'),
            trust=dict(type='list', elements='path', default=[]),
            wait=dict(type='int', default=0),
            executable=dict(type='str', default='servicepack'),
        ),
        supports_check_mode=True,
    )
    require_absolute(module, 'root', module.params['root'])
    require_feed(module, module.params['feed'])
    for key in module.params['trust']:
        require_absolute(module, 'trust', key)
    state = module.params['state']
    if state == 'latest':
        latest(module)
    elif state == 'present':
        present(module)
    else:
        absent(module)


if __name__ == '__main__':
    main()

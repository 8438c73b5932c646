#!/bin/sh
# Makes sure ansible-core (ansible-playbook, ansible-test), ansible-lint, pycodestyle and yamllint exist for the Ansible
# collection's tests (test/ansible-collection.test.ts calls this), from the distribution's packages:
# CI has no PyPI and no Galaxy. Debian's ansible-core pulls python3 and its YAML/Jinja modules.
exec sh "$(dirname "$0")/ensure-tools.sh" ensure-ansible \
  ansible-playbook:ansible-core ansible-test:ansible-core ansible-lint:ansible-lint \
  pycodestyle:pycodestyle yamllint:yamllint

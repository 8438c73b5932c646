#!/bin/sh
# Makes sure the fleet tests (test/support/fleet.ts) have what they drive: ansible-core (through
# scripts/ensure-ansible.sh, the collection's own), an OpenSSH server (the "hosts" are one sshd on
# loopback addresses; by its path, as /usr/sbin may not be on the PATH) and the OpenSSH client with
# ssh-keygen. Nothing is started or enabled: the tests run their own sshd with a private config on a
# loopback port. Any failure exits non-zero with the reason on stderr: the test then fails and says
# so, it never skips.
set -eu

here=$(dirname "$0")
sh "$here/ensure-ansible.sh"
exec sh "$here/ensure-tools.sh" ensure-fleet \
  /usr/sbin/sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client

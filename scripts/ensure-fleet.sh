#!/bin/sh
# Makes sure the fleet tests (test/support/fleet.ts) have what they drive: ansible-core (through
# scripts/ensure-ansible.sh, the collection's own), an OpenSSH server (the "hosts" are one sshd on
# loopback addresses) and the OpenSSH client with ssh-keygen. CI starts from a fresh machine with only
# Node and npm and runs the tests as root, so missing ones are installed from the distribution's
# packages. Nothing is started or enabled: the tests run their own sshd with a private config on a
# loopback port. Any failure exits non-zero with the reason on stderr: the test then fails and says
# so, it never skips.
set -eu

sh "$(dirname "$0")/ensure-ansible.sh"

missing=""
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
{ command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; } || missing="$missing openssh-client"
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-fleet: missing$missing and apt-get is not available; install them by hand" >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-fleet: missing$missing and this is not root; run: sudo apt-get install -y$missing" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/apt-queue.sh"
status=0
# shellcheck disable=SC2086 # one word per package
{ apt_get update -q && apt_get install -y -q --no-install-recommends $missing; } >&2 || status=$?
if [ "$status" != "0" ]; then
  echo "ensure-fleet: installing$missing failed (apt-get exit $status)" >&2
  exit 1
fi
[ -x /usr/sbin/sshd ] || { echo "ensure-fleet: /usr/sbin/sshd still missing after installation" >&2; exit 1; }
for c in ssh ssh-keygen; do
  command -v "$c" >/dev/null 2>&1 || { echo "ensure-fleet: $c still missing after installation" >&2; exit 1; }
done

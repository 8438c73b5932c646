#!/bin/sh
# Usage: ensure-tools.sh NAME COMMAND:PACKAGE... — makes sure each COMMAND (a name on the PATH, or an
# absolute path for a daemon in an sbin folder) exists, installing its PACKAGE from the distribution's
# packages when it is missing (the ensure-*.sh scripts the tests call share this). CI starts from a
# fresh machine with only Node and npm and runs the tests as root. Any failure exits non-zero with the
# reason on stderr, NAME first: the test then fails and says so, it never skips.
set -eu

name=$1
shift
# command:package, one per tool the caller's tests run
tools="$*"
missing=""
for t in $tools; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$name: missing$missing and apt-get is not available; install them by hand" >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "$name: missing$missing and this is not root; run: sudo apt-get install -y$missing" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/apt-queue.sh"
status=0
# shellcheck disable=SC2086 # one word per package
{ apt_get update -q && apt_get install -y -q --no-install-recommends $missing; } >&2 || status=$?
if [ "$status" != "0" ]; then
  echo "$name: installing$missing failed (apt-get exit $status)" >&2
  exit 1
fi
for t in $tools; do
  command -v "${t%%:*}" >/dev/null 2>&1 || { echo "$name: ${t%%:*} still missing after installation" >&2; exit 1; }
done

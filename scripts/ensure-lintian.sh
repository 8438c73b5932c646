#!/bin/sh
# Makes sure lintian, Debian's own package checker, exists for the Debian package's test
# (test/dist-deb.test.ts calls this): the issue's acceptance is "lintian reports no errors" on the .deb
# that `pnpm build` writes. As with ensure-tmux.sh, CI starts from a fresh machine with only Node and
# npm and runs the tests as root, so lintian is installed from the distribution's packages when it is
# missing. Any failure exits non-zero with the reason on stderr: the test then fails and says so, it
# never skips.
set -eu

# command:package, one per tool the test runs
tools="lintian:lintian"
missing=""
for t in $tools; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-lintian: missing$missing and apt-get is not available; install them by hand" >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-lintian: missing$missing and this is not root; run: sudo apt-get install -y$missing" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/apt-queue.sh"
status=0
# shellcheck disable=SC2086 # one word per package
{ apt_get update -q && apt_get install -y -q --no-install-recommends $missing; } >&2 || status=$?
if [ "$status" != "0" ]; then
  echo "ensure-lintian: installing$missing failed (apt-get exit $status)" >&2
  exit 1
fi
for t in $tools; do
  command -v "${t%%:*}" >/dev/null 2>&1 || { echo "ensure-lintian: ${t%%:*} still missing after installation" >&2; exit 1; }
done

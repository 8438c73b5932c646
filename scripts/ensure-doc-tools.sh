#!/bin/sh
# Makes sure the tools the man page and shell completion tests run exist (installer/test/cli-docs.test.ts
# calls this): groff and man render the page, bash, zsh and fish load the completion scripts. As with
# ensure-tmux.sh, CI starts from a fresh machine with only Node and npm and runs the tests as root, so
# what is missing is installed from the distribution's packages. Any failure exits non-zero with the
# reason on stderr: the test then fails and says so, it never skips.
set -eu

# command:package, one per tool the tests run
tools="groff:groff-base man:man-db zsh:zsh fish:fish"
missing=""
for t in $tools; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-doc-tools: missing$missing and apt-get is not available; install them by hand" >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-doc-tools: missing$missing and this is not root; run: sudo apt-get install -y$missing" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/apt-queue.sh"
status=0
# shellcheck disable=SC2086 # one word per package
{ apt_get update -q && apt_get install -y -q --no-install-recommends $missing; } >&2 || status=$?
if [ "$status" != "0" ]; then
  echo "ensure-doc-tools: installing$missing failed (apt-get exit $status)" >&2
  exit 1
fi
for t in $tools; do
  command -v "${t%%:*}" >/dev/null 2>&1 || { echo "ensure-doc-tools: ${t%%:*} still missing after installation" >&2; exit 1; }
done

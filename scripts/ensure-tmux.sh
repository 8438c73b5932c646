#!/bin/sh
# Makes sure tmux exists for the wizard's end-to-end test (test/wizard-tty.test.ts calls this): the
# test drives the real `servicepack` in a real terminal, and tmux is that terminal. CI starts from a
# fresh machine with only Node and npm and runs the tests as root, so tmux is installed from the
# distribution's packages when it is missing. Any failure exits non-zero with the reason on stderr:
# the test then fails and says so, it never skips.
set -eu

if command -v tmux >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tmux: tmux is not installed and apt-get is not available; install tmux by hand" >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-tmux: tmux is not installed and this is not root; run: sudo apt-get install -y tmux" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/apt-queue.sh"
status=0
{ apt_get update -q && apt_get install -y -q --no-install-recommends tmux; } >&2 || status=$?
if [ "$status" != "0" ]; then
  echo "ensure-tmux: installing tmux failed (apt-get exit $status)" >&2
  exit 1
fi
command -v tmux >/dev/null 2>&1 || { echo "ensure-tmux: tmux still missing after installation" >&2; exit 1; }

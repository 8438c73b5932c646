#!/bin/sh
# Makes sure tmux exists for the wizard's end-to-end test (test/wizard-tty.test.ts calls this): the
# test drives the real `servicepack` in a real terminal, and tmux is that terminal. CI starts from a
# fresh machine with only Node and npm and runs the tests as root, so tmux is installed from the
# distribution's packages when it is missing. Any failure exits non-zero with the reason on stderr:
# the test then fails and says so, it never skips.
exec sh "$(dirname "$0")/ensure-tools.sh" ensure-tmux tmux:tmux

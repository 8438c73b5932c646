#!/bin/sh
# Makes sure lintian, Debian's own package checker, exists for the Debian package's test
# (test/dist-deb.test.ts calls this): the issue's acceptance is "lintian reports no errors" on the .deb
# that `pnpm build` writes. As with ensure-tmux.sh, CI starts from a fresh machine with only Node and
# npm and runs the tests as root, so lintian is installed from the distribution's packages when it is
# missing. Any failure exits non-zero with the reason on stderr: the test then fails and says so, it
# never skips.
exec sh "$(dirname "$0")/ensure-tools.sh" ensure-lintian lintian:lintian

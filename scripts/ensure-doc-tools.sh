#!/bin/sh
# Makes sure the tools the man page and shell completion tests run exist (installer/test/cli-docs.test.ts
# calls this): groff and man render the page, bash, zsh and fish load the completion scripts. As with
# ensure-tmux.sh, CI starts from a fresh machine with only Node and npm and runs the tests as root, so
# what is missing is installed from the distribution's packages. Any failure exits non-zero with the
# reason on stderr: the test then fails and says so, it never skips.
exec sh "$(dirname "$0")/ensure-tools.sh" ensure-doc-tools groff:groff-base man:man-db zsh:zsh fish:fish

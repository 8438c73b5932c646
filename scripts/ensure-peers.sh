#!/bin/sh
# Makes sure the tools of `pnpm bench peers` exist (bench/support/peers.ts calls this): dpkg-deb and
# dpkg (Debian's own, always there on Debian), rpm and rpmbuild, rsync, md5sum for the .deb's md5sums.
# CI starts from a fresh Debian with only Node and npm; missing ones come from the distribution's
# packages. Nothing is configured or started: the benchmark keeps its own admin dirs and rpm databases.
set -eu
exec sh "$(dirname "$0")/ensure-tools.sh" ensure-peers \
  dpkg:dpkg dpkg-deb:dpkg rpm:rpm rpmbuild:rpm rsync:rsync md5sum:coreutils sha256sum:coreutils

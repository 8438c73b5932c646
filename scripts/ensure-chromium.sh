#!/bin/sh
# Makes sure a headless browser exists for the compliance report's browser test
# (test/report-browser.test.ts calls this): the page an operator mails is opened in Chromium and
# checked as the browser renders it. CI starts from a fresh machine with only Node and npm and runs
# the tests as root, so Chromium, and a font to draw the page with, are installed from the
# distribution's packages when missing. Any failure exits non-zero with the reason on stderr: the
# test then fails and says so, it never skips. Nothing is started: the test runs chromium itself.
set -eu

here=$(dirname "$0")
sh "$here/ensure-tools.sh" ensure-chromium chromium:chromium

# Without any font (a minimal machine) every glyph is drawn as a box: the screenshot would say nothing.
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list 2>/dev/null | head -n 1)" ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: no font is installed and this is not root; run: sudo apt-get install -y fonts-dejavu-core fontconfig" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
. "$here/apt-queue.sh"
status=0
{ apt_get update -q && apt_get install -y -q --no-install-recommends fonts-dejavu-core fontconfig; } >&2 || status=$?
if [ "$status" != "0" ]; then
  echo "ensure-chromium: installing fonts-dejavu-core failed (apt-get exit $status)" >&2
  exit 1
fi

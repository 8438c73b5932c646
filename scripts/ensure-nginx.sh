#!/bin/sh
# Makes sure an nginx binary exists for the feed-over-HTTP tests (test/support/nginx.ts calls this).
# CI starts from a fresh machine with only Node and npm; the tests run as root there, so nginx is
# installed from the distribution's packages when it is missing. Nothing is started or enabled:
# the tests run their own nginx on a loopback port with a private prefix and config.
set -eu

if command -v nginx >/dev/null 2>&1; then
  exit 0
fi
for dir in /usr/sbin /usr/local/sbin /usr/local/nginx/sbin; do
  if [ -x "$dir/nginx" ]; then
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-nginx: nginx is not installed and apt-get is not available; install nginx by hand" >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-nginx: nginx is not installed and this is not root; run: sudo apt-get install -y nginx-light (or nginx)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/apt-queue.sh"
status=0
{ apt_get update -q && { apt_get install -y -q --no-install-recommends nginx-light || apt_get install -y -q --no-install-recommends nginx; }; } >&2 || status=$?
if [ "$status" != "0" ]; then
  echo "ensure-nginx: installing nginx failed (apt-get exit $status)" >&2
  exit 1
fi
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "ensure-nginx: nginx still missing after installation" >&2; exit 1; }

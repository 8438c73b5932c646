# Sourced by the ensure-*.sh scripts: apt-get runs one at a time. The tests run two files at once and
# several files ensure the same tools, so on a fresh machine two apt-get runs would meet on dpkg's lock
# and one would fail; flock queues them, and dpkg's lock timeout covers an apt run from outside the tests.
apt_get() {
  flock /tmp/servicepack-apt.lock apt-get -o DPkg::Lock::Timeout=600 "$@"
}

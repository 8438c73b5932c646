# Sourced by the ensure-*.sh scripts: apt-get runs one at a time. The tests run two files at once and
# several files ensure the same tools, so on a fresh machine two apt-get runs would meet on dpkg's lock
# and one would fail; flock queues them, and dpkg's lock timeout covers an apt run from outside the tests.
# Inside the queue, a policy-rc.d that answers 101 keeps every package's postinst from starting its
# daemon (nginx on port 80, sshd on port 22): the tests run their own on loopback. It is made and
# removed under the same lock, so one script's clean-up cannot remove it while another installs.
apt_get() {
  flock /tmp/servicepack-apt.lock sh -c '
    created=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && created=1
    fi
    status=0
    apt-get -o DPkg::Lock::Timeout=600 "$@" || status=$?
    if [ "$created" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    exit "$status"
  ' apt_get "$@"
}

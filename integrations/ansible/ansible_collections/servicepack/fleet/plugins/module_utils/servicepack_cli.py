# -*- coding: utf-8 -*-
# Runs the servicepack command line for the modules of this collection: always an argv list (never a
# shell), always --json, and the one JSON document it prints read back as untrusted input.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

# Exit codes of servicepack (docs/cli.md §5); the modules map them, so they are named once here.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_APPLICABLE = 3
EXIT_RESTART_REQUIRED = 10

# "Nothing to do" among the not-applicable answers (exit 3): the update, or one that covers it, is
# already there. Every other exit 3 (wrong arch, level or product, modified files, a downgrade, an
# update that cannot be removed) is a real refusal and fails the task.
ALREADY_THERE = frozenset(['E_ALREADY_INSTALLED', 'E_SUPERSEDED'])

_URL = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:')


class CliResult(object):
    """One run of the command line: its exit code, the JSON document, and stderr (warnings)."""

    def __init__(self, rc, doc, stdout, stderr, argv):
        self.rc = rc
        self.doc = doc
        self.stdout = stdout
        self.stderr = stderr
        self.argv = argv


def executable_path(module, executable):
    """The servicepack program: a path as given, or a bare name looked up on PATH."""
    if os.sep in executable:
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            module.fail_json(
                msg='servicepack executable %s is not an executable file: set executable '
                    '(servicepack_executable) to where servicepack is installed' % executable,
                code='E_EXECUTABLE')
        return executable
    found = module.get_bin_path(executable, required=False)
    if not found:
        module.fail_json(
            msg='%s was not found on PATH: install servicepack (the .deb or the npm package) or set '
                'executable (servicepack_executable) to its full path' % executable,
            code='E_EXECUTABLE')
    return found


def require_absolute(module, name, value):
    """Paths reach servicepack from the target's root folder, so only absolute ones mean one thing."""
    if value is not None and not os.path.isabs(value):
        module.fail_json(msg='%s must be an absolute path, got %s' % (name, value), code='E_USAGE')


def require_feed(module, feed):
    """A feed is a URL or an absolute folder."""
    if feed is not None and not _URL.match(feed):
        require_absolute(module, 'feed', feed)


def run_cli(module, executable, args):
    """Runs `servicepack ARGS --json` from / and returns a CliResult; the document is None when
    stdout held no JSON object (a crash), and the caller fails with stderr then."""
    args = list(args)
    # --json before the `--` that ends the options, where it is still an option
    end = args.index('--') if '--' in args else len(args)
    argv = [executable_path(module, executable)] + args[:end] + ['--json'] + args[end:]
    # cwd / : servicepack refuses an option word that names a file in its working folder, and no
    # option of ours is a file there.
    rc, stdout, stderr = module.run_command(argv, cwd='/', environ_update={'CI': '1', 'NO_COLOR': '1'})
    doc = None
    try:
        parsed = json.loads(stdout)
        if isinstance(parsed, dict):
            doc = parsed
    except ValueError:
        doc = None
    return CliResult(rc, doc, stdout, stderr, argv)


def error_of(doc):
    """The error object of a document: a feed run's first target, else the document itself."""
    if not isinstance(doc, dict):
        return {}
    targets = doc.get('targets')
    if isinstance(targets, list) and targets and isinstance(targets[0], dict):
        err = targets[0].get('error')
        if isinstance(err, dict):
            return err
    return doc


def result_of(doc):
    """The install result of a document: a feed run's first target's result, else the document."""
    if not isinstance(doc, dict):
        return {}
    targets = doc.get('targets')
    if isinstance(targets, list) and targets and isinstance(targets[0], dict):
        res = targets[0].get('result')
        return res if isinstance(res, dict) else {}
    return doc


def text(value):
    return value if isinstance(value, str) else ''


def fail_cli(module, res, **extra):
    """Fails the task with servicepack's own code, message and exit code."""
    if res.doc is None:
        module.fail_json(
            msg='servicepack exited %s without a JSON document: %s' % (res.rc, res.stderr.strip()[-2000:]),
            rc=res.rc, exit_code=res.rc, code='E_FAILED', stderr=res.stderr, cmd=res.argv, **extra)
    err = error_of(res.doc)
    code = text(err.get('code')) or 'E_FAILED'
    message = text(err.get('message')) or res.stderr.strip()[-2000:]
    details = err.get('details') if isinstance(err.get('details'), dict) else {}
    module.fail_json(
        msg='%s: %s' % (code, message), code=code, message=message, exit_code=res.rc, rc=res.rc,
        details=details, stderr=res.stderr, cmd=res.argv, **extra)

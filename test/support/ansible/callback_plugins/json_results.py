# Stdout callback for the Ansible tests (test/support/ansible.ts): one JSON document at the end of
# the run with every task result per host, the hosts each play (each serial batch) reached, the
# diffs and the recap, so a test asserts on what each host did instead of parsing the human output.
# ansible-core ships no JSON callback (ansible.posix's is not in Debian's ansible-core, and the
# tests may not reach Galaxy).
from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: json_results
type: stdout
short_description: one JSON document per run for the servicepack Ansible tests
description: every task result per host, the plays' hosts, the diffs and the recap, printed once at the end
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "json_results"

    def __init__(self):
        super().__init__()
        self.plays = []
        self.results = []
        self.diffs = {}

    def v2_playbook_on_play_start(self, play):
        # sent once per serial batch: a play of `serial: [1, 2, "100%"]` shows up as three
        self.plays.append({"name": play.get_name(), "hosts": []})

    def _record(self, status, result):
        host = result._host.get_name()
        play = self.plays[-1] if self.plays else None
        if play is not None and host not in play["hosts"]:
            play["hosts"].append(host)
        entry = {
            "play": play["name"] if play else None,
            "task": result._task.get_name(),
            "action": result._task.action,
            "host": host,
            "status": status,
            "changed": bool(result._result.get("changed", False)),
            "result": self._clean(result._result),
        }
        diff = self.diffs.pop((result._task._uuid, host), None)
        if diff is not None:
            entry["diff"] = diff
        self.results.append(entry)

    def _clean(self, value):
        # what json.dumps cannot take (AnsibleUnsafeText is a str; sets, bytes) becomes text
        return json.loads(json.dumps(value, default=str))

    def v2_on_file_diff(self, result):
        # --diff: the text the default callback would print, before the task's own result arrives
        if result._result.get("diff") and result._result.get("changed", False):
            self.diffs[(result._task._uuid, result._host.get_name())] = self._get_diff(result._result["diff"])

    def v2_runner_on_ok(self, result):
        self._record("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._record("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._record("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._display.display(
            json.dumps(
                {
                    "plays": self.plays,
                    "results": self.results,
                    "stats": {h: stats.summarize(h) for h in hosts},
                },
                sort_keys=True,
            )
        )

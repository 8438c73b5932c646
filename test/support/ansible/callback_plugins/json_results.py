# Stdout callback for the fleet tests (test/support/fleet.ts): one JSON document at the end of the
# run with every task result per host and the play recap, so a test asserts on what each host did
# instead of parsing the human output. ansible-core ships no JSON callback (ansible.posix's is not
# in Debian's ansible-core, and the tests may not reach Galaxy).
from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: fleet_json
type: stdout
short_description: one JSON document per run for the servicepack fleet tests
description: every task result per host and the recap, printed once at the end
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "fleet_json"

    def __init__(self):
        super().__init__()
        self.plays = []
        self.results = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append(play.get_name())

    def _record(self, status, result):
        self.results.append(
            {
                "play": self.plays[-1] if self.plays else None,
                "task": result._task.get_name(),
                "action": result._task.action,
                "host": result._host.get_name(),
                "status": status,
                "changed": bool(result._result.get("changed", False)),
                "result": self._clean(result._result),
            }
        )

    def _clean(self, value):
        # what json.dumps cannot take (AnsibleUnsafeText is a str; sets, bytes) becomes text
        return json.loads(json.dumps(value, default=str))

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


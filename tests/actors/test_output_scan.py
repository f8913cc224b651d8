"""Content and PII policies see every line an attempt prints, with its real line number: the
attempt's kept output is capped (the newest 5,000 lines), the scan is not."""

from __future__ import annotations

import pytest

from runtui.actors.runtime import Runtime
from tests.actors.conftest import finish, wf

pytestmark = pytest.mark.anyio

LOUD = """
name = "loud"
[[tasks]]
id = "chatty"
kind = "shell"
cmd = '''
echo "contact: ann@example.com"
i=0; while [ $i -lt 6000 ]; do echo "filler $i"; i=$((i+1)); done
echo "FORBIDDEN at the end" >&2
'''
[[policies]]
id = "email"
type = "pii_detected"
severity = "medium"
pii = ["email"]
[[policies]]
id = "words"
type = "content_policy"
severity = "medium"
pattern = "FORBIDDEN"
"""


async def test_every_line_is_scanned_and_numbered_in_the_whole_output(runtime: Runtime) -> None:
    run = await finish(runtime, await runtime.submit(wf(LOUD)))
    reasons = {v.policy_id: v.reason for v in await runtime.reader.violations_of(run.run_id)}
    assert reasons == {
        "email": "task chatty: email found in output line 1",  # long gone from the kept output
        "words": "task chatty: stderr line 1 matches 'FORBIDDEN'",  # stderr is scanned too
    }

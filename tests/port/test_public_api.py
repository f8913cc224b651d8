"""The public Python API as README shows it: the example runs as printed, `runtui.sync` gives
the same calls blocking, and `import runtui` stays light."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import runtui
import runtui.sync
from runtui.api import Port
from runtui.domain.events import AttemptOutput
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    """The Python block of README's "Python API" section, verbatim."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


def run_readme_example(python: Path | str, workdir: Path, env: dict[str, str] | None = None) -> str:
    script = workdir / "report.py"
    script.write_text(readme_example(), encoding="utf-8")
    done = subprocess.run(
        [str(python), str(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def check_readme_output(out: str) -> None:
    lines = out.splitlines()
    assert lines[0] == "approving: Publish the report?"
    assert re.fullmatch(r"[0-9a-f]{20} succeeded", lines[1])
    assert lines[2] == "['succeeded']"


def test_the_readme_example_runs_as_printed(tmp_path: Path) -> None:
    check_readme_output(run_readme_example(sys.executable, tmp_path))
    assert (tmp_path / "report-runs.db").is_file()


def test_the_sync_facade_drives_a_run_through_its_gate(db_path: Path) -> None:
    flow = runtui.Flow("blocking")
    flow.shell("one", "echo one")
    flow.gate("go", prompt="Go on?", needs=["one"])
    flow.shell("two", "echo two", needs=["go"])
    with runtui.sync.open(db_path, durability="fast") as rt:
        run_id = rt.submit(flow.build())
        assert rt.wait(run_id).status is RunStatus.AWAITING_APPROVAL
        (pending,) = rt.pending_approvals()
        rt.approve(pending.approval_id, by="script")
        assert rt.wait(run_id).status is RunStatus.SUCCEEDED
        seqs = []
        for env in rt.events(run_id):
            seqs.append(env.seq)
            if len(seqs) == 3:
                break  # leaving early closes the feed
        assert seqs == [1, 2, 3]
        assert [a.output_tail.strip() for a in rt.attempts_of(run_id)] == ["one", "two"]
        with pytest.raises(runtui.NotFoundError):
            rt.get_run("nope")
    with runtui.sync.open(db_path, read_only=True) as view:
        assert view.get_run(run_id).status is RunStatus.SUCCEEDED
        with pytest.raises(runtui.ConflictError, match="read-only"):
            view.cancel(run_id)


def test_the_sync_facade_has_every_call_of_the_port() -> None:
    port_calls = {n for n, _ in inspect.getmembers(Port) if not n.startswith("_")}
    sync_calls = {n for n, _ in inspect.getmembers(runtui.sync.SyncRuntime) if n[0] != "_"}
    assert port_calls - sync_calls == set()


def test_the_sync_facade_reads_output_searches_and_sources(db_path: Path) -> None:
    flow = runtui.Flow("reads")
    flow.shell("speak", "echo needle-one; echo hay >&2; echo needle-two")
    with runtui.sync.open(db_path, durability="fast") as rt:
        run_id = rt.submit(flow.build())
        assert rt.wait(run_id).status is RunStatus.SUCCEEDED
        out = rt.task_output(run_id, "speak", 0)
        streams = {s: [ln.text for ln in out.lines if ln.stream == s] for s in ("stdout", "stderr")}
        assert streams == {"stdout": ["needle-one", "needle-two"], "stderr": ["hay"]}
        found = rt.search_events(run_id, "NEEDLE")
        assert found.complete
        assert found.total == len(found.seqs) >= 1  # output events (lines come in batches)
        shown = [rt.events_after(run_id, seq - 1, 1)[0].body for seq in found.seqs]
        lines = [line for body in shown if isinstance(body, AttemptOutput) for line in body.lines]
        assert lines == ["needle-one", "needle-two"]
        source = rt.workflow_source(run_id)
        assert "needle-one" in source.text  # this module, which built the flow
        every = list(rt.iter_events(run_id))
        assert [env.seq for env in every] == list(range(1, rt.count_events(run_id) + 1))
        assert [p.to_phase for p in rt.phases_of(run_id)][-1] is RunPhase.COMPLETED
        assert rt.driven_here() == {}
        assert rt.ready()
        assert rt.position() >= len(every)


def test_open_refuses_a_server_url_and_connect_needs_a_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(runtui.InvalidInputError, match=r"use runtui\.connect"):
        runtui.sync.open("http://127.0.0.1:8765").__enter__()
    monkeypatch.delenv("RUNTUI_SERVER", raising=False)
    with pytest.raises(runtui.InvalidInputError, match="no server given"):
        runtui.sync.connect().__enter__()


_PROBE = """
import sys, time
t = time.perf_counter()
import runtui
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'fastapi', 'uvicorn',
    'starlette', 'httpx', 'aiosqlite', 'pydantic'})
print(','.join(heavy) or 'light')
runtui.Flow
print('textual' in sys.modules, 'fastapi' in sys.modules)
"""


def test_import_runtui_is_light_until_a_name_is_used() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == ["light", "False False"]


def test_every_public_name_resolves() -> None:
    for name in runtui.__all__:
        assert getattr(runtui, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = runtui.nothing  # type: ignore[attr-defined]

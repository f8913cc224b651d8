"""`/metrics` in the Prometheus text format, read from the runtime on demand."""

from __future__ import annotations

from runtui.server.host import ServerHost

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    def __init__(self, host: ServerHost) -> None:
        self.host = host
        self.stream_clients = 0

    async def render(self) -> str:
        now = await self.host.metrics()
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")

        metric("runtui_runs", "gauge", "Runs in the database by result (live: not finished).")
        for result, count in sorted(now.runs_by_result.items()):
            lines.append(f'runtui_runs{{result="{result}"}} {count}')
        metric("runtui_phase_transitions_total", "counter", "Phase transitions recorded.")
        lines.append(f"runtui_phase_transitions_total {now.phase_transitions}")
        metric("runtui_pending_approvals", "gauge", "Approvals waiting for a decision.")
        lines.append(f"runtui_pending_approvals {now.pending_approvals}")
        metric("runtui_stream_clients", "gauge", "Connected event-stream clients.")
        lines.append(f"runtui_stream_clients {self.stream_clients}")
        metric("runtui_active_runs", "gauge", "Runs the kernel is driving now.")
        lines.append(f"runtui_active_runs {now.active_runs}")
        samples = now.commit_seconds
        metric("runtui_commit_seconds", "histogram", "Group-commit latency (recent commits).")
        for bound in BUCKETS:
            below = sum(1 for s in samples if s <= bound)
            lines.append(f'runtui_commit_seconds_bucket{{le="{bound}"}} {below}')
        lines.append(f'runtui_commit_seconds_bucket{{le="+Inf"}} {len(samples)}')
        lines.append(f"runtui_commit_seconds_sum {sum(samples):.6f}")
        lines.append(f"runtui_commit_seconds_count {len(samples)}")
        metric("runtui_events_committed_total", "counter", "Events committed by this process.")
        lines.append(f"runtui_events_committed_total {now.events_committed}")
        return "\n".join(lines) + "\n"

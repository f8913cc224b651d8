"""What the API's operations take and give back: request bodies (pydantic, strict, so the
OpenAPI document and the 422s come from one declaration) and small answers (msgspec)."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from runtui.domain.approvals import ApprovalDecision
from runtui.domain.summary import RunSummary

EXAMPLE_WORKFLOW = """name = "api-example"

[[tasks]]
id = "build"
kind = "noop"

[[tasks]]
id = "release-gate"
kind = "gate"
needs = ["build"]
prompt = "Release?"
"""


class SubmitBody(BaseModel):
    model_config = ConfigDict(
        strict=True, json_schema_extra={"examples": [{"toml": EXAMPLE_WORKFLOW}]}
    )

    toml: str = Field(
        description="The workflow file's text (TOML).", min_length=1, max_length=1_000_000
    )
    force: bool = Field(False, description="Run even if the workflow is blocked by its health.")
    base_dir: str | None = Field(
        None,
        description="The directory the workflow's relative task paths resolve against and its"
        " tasks run in: the workflow file's, absolute (it must exist where the server runs);"
        " without it, the server's working directory.",
        min_length=1,
        max_length=4096,
    )


class PlanEdits(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    skip: list[str] = Field(default_factory=list, description="Task ids to skip.")


class DecideBody(BaseModel):
    model_config = ConfigDict(strict=True)

    approval_id: str | None = Field(None, description="Which approval; default: the run's oldest.")
    reason: str = ""
    by: str = "api"
    edits: PlanEdits | None = Field(None, description="Plan approvals only.")


class RejectBody(BaseModel):
    model_config = ConfigDict(strict=True)

    approval_id: str | None = None
    reason: str = Field(min_length=1, pattern=r"\S")
    by: str = "api"


class RewindBody(BaseModel):
    model_config = ConfigDict(strict=True)

    wave: int = Field(ge=0, le=1_000_000)
    dry_run: bool = False
    force: bool = False


class Empty(BaseModel):
    model_config = ConfigDict(strict=True)


class Submitted(msgspec.Struct, frozen=True):
    run_id: str


class Decided(msgspec.Struct, frozen=True):
    approval_id: str
    decision: ApprovalDecision


class Resumed(msgspec.Struct, frozen=True):
    run_id: str
    resumed: bool


class Cancelled(msgspec.Struct, frozen=True):
    run_id: str
    cancelled: bool


class Liveness(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, bool]


class PipelineRuns(BaseModel):
    """The run-history list, exactly as the source document gives it."""

    runs: list[RunSummary]
    total: int

"""What the API's operations take and give back: request bodies (pydantic, strict, so the
OpenAPI document and the 422s come from one declaration) and small answers (msgspec)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class SourceBody(BaseModel):
    """The text a workflow given as data was defined in (`runtui.domain.workflow_source`)."""

    model_config = ConfigDict(strict=True)

    format: Literal["python", "toml"] = Field(
        description="python: the module that built it; toml: the workflow file's text"
    )
    text: str = Field(max_length=1_000_000)
    size: int | None = Field(
        None, ge=0, description="The original's size in UTF-8 bytes, when `text` was cut"
    )


class SubmitBody(BaseModel):
    model_config = ConfigDict(
        strict=True, json_schema_extra={"examples": [{"toml": EXAMPLE_WORKFLOW}]}
    )

    toml: str | None = Field(
        None,
        description="The workflow file's text (TOML). Give this or `workflow`.",
        min_length=1,
        max_length=1_000_000,
    )
    workflow: dict[str, Any] | None = Field(
        None,
        description="The workflow as data (the tables a TOML file would hold), as a Python"
        " program defines it. Give this or `toml`.",
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
    origin: str | None = Field(
        None,
        description="Where the workflow was read from (a file path, a Python module), shown with"
        " the run's source (`GET /api/runs/{run_id}/source`).",
        min_length=1,
        max_length=4096,
    )
    source: SourceBody | None = Field(
        None,
        description="With `workflow`: the text that defined it (the Python module that built a"
        " `Flow`), kept with the run as its source (its first 256 KiB). Without it, the run's"
        " source is its workflow rendered as TOML.",
    )

    @model_validator(mode="after")
    def _one_workflow(self) -> SubmitBody:
        if (self.toml is None) == (self.workflow is None):
            raise ValueError("give the workflow as `toml` or as `workflow`, exactly one")
        if self.source is not None and self.workflow is None:
            raise ValueError("`source` goes with `workflow` (a `toml` is its own source)")
        return self


class ForceBody(BaseModel):
    model_config = ConfigDict(strict=True)

    force: bool = Field(False, description="Cancel the run first if it is still live.")


class ClearBody(BaseModel):
    model_config = ConfigDict(strict=True)

    by: str = Field("api", max_length=200, description="Who clears it (recorded).")


class Retried(msgspec.Struct, frozen=True):
    run_id: str
    new_run_id: str


class Cleared(msgspec.Struct, frozen=True):
    workflow: str


class PlanEdits(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    skip: list[str] = Field(default_factory=list, description="Task ids to skip.")


class DecideBody(BaseModel):
    model_config = ConfigDict(strict=True)

    approval_id: str | None = Field(None, description="Which approval; default: the run's oldest.")
    reason: str = ""
    by: str = Field("api", max_length=200, description="Who decides, as the client says.")
    edits: PlanEdits | None = Field(None, description="Plan approvals only.")


class RejectBody(BaseModel):
    model_config = ConfigDict(strict=True)

    approval_id: str | None = None
    reason: str = Field(min_length=1, pattern=r"\S")
    by: str = Field("api", max_length=200, description="Who decides, as the client says.")


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


class Position(msgspec.Struct, frozen=True):
    """The position of the last committed event (every run's stream is ordered by it)."""

    position: int


class Liveness(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, bool]


class PipelineRuns(BaseModel):
    """The run-history list, exactly as the source document gives it."""

    runs: list[RunSummary]
    total: int

-- runtui schema v1.
-- `events` is the source of truth; every other table is a projection written in the same
-- transaction as the event that caused it, and can be rebuilt from the events alone.

CREATE TABLE events (
    position   INTEGER PRIMARY KEY,          -- place in the whole database (global streams)
    run_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,             -- 1, 2, 3, ... per run: gap-free, never reused
    kind       TEXT    NOT NULL,
    wave_index INTEGER,
    ts         REAL    NOT NULL,
    payload    BLOB    NOT NULL,             -- msgpack of the event body (tagged by kind)
    UNIQUE (run_id, seq)
);

CREATE TABLE runs (
    run_id             TEXT PRIMARY KEY,
    workflow           TEXT    NOT NULL,
    created_at         REAL    NOT NULL,
    updated_at         REAL    NOT NULL,
    phase              TEXT    NOT NULL DEFAULT 'CREATED',
    status             TEXT    NOT NULL DEFAULT 'queued',
    wave_index         INTEGER,
    hitl_mode          TEXT    NOT NULL DEFAULT 'none',
    timeout_s          REAL,
    parent_run_id      TEXT,
    rewound_from_wave  INTEGER,
    retry_count        INTEGER NOT NULL DEFAULT 0,
    termination_reason TEXT,
    terminated_at      REAL,
    stopped_at_step    INTEGER,
    error_message      TEXT,
    worst_severity     INTEGER NOT NULL DEFAULT 0,   -- SEVERITY_PRIORITY of the worst violation
    worst_violation    TEXT,                         -- its type
    result             TEXT,
    ended_at           REAL,
    last_seq           INTEGER NOT NULL DEFAULT 0,
    metadata           TEXT    NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
CREATE INDEX runs_by_created ON runs (created_at DESC, run_id DESC);
CREATE INDEX runs_by_status ON runs (status, created_at DESC);
CREATE INDEX runs_by_result ON runs (result, created_at DESC);
CREATE INDEX runs_by_workflow ON runs (workflow, created_at DESC);
CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

CREATE TABLE phase_transitions (
    run_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    from_phase TEXT    NOT NULL,
    to_phase   TEXT    NOT NULL,
    at         REAL    NOT NULL,
    reason     TEXT    NOT NULL,
    metadata   TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE tasks (
    run_id        TEXT    NOT NULL,
    task_id       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    wave          INTEGER NOT NULL,
    needs         TEXT    NOT NULL,
    allow_failure INTEGER NOT NULL,
    retries       INTEGER NOT NULL,
    spec          TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    updated_at    REAL    NOT NULL,
    PRIMARY KEY (run_id, task_id)
) WITHOUT ROWID;

CREATE TABLE attempts (
    run_id          TEXT    NOT NULL,
    task_id         TEXT    NOT NULL,
    attempt         INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    external_id     TEXT,
    exit_code       INTEGER,
    error           TEXT,
    output_tail     TEXT,
    usage           TEXT    NOT NULL DEFAULT '{}',
    started_at      REAL    NOT NULL,
    ended_at        REAL,
    PRIMARY KEY (run_id, task_id, attempt)
) WITHOUT ROWID;

CREATE TABLE approvals (
    approval_id    TEXT PRIMARY KEY,
    run_id         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    task_id        TEXT,
    prompt         TEXT    NOT NULL,
    requested_at   REAL    NOT NULL,
    timeout_s      REAL,
    default_action TEXT    NOT NULL,
    unblocks       TEXT    NOT NULL,
    decision       TEXT,
    reason         TEXT,
    decided_by     TEXT,
    decided_at     REAL,
    edits          TEXT
) WITHOUT ROWID;
CREATE INDEX approvals_pending ON approvals (requested_at) WHERE decision IS NULL;
CREATE INDEX approvals_by_run ON approvals (run_id);

CREATE TABLE violations (
    run_id          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    policy_id       TEXT    NOT NULL,
    policy_name     TEXT    NOT NULL,
    violation_type  TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    step_index      INTEGER NOT NULL,
    at              REAL    NOT NULL,
    threshold_value REAL,
    actual_value    REAL,
    reason          TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE incidents (
    incident_id TEXT PRIMARY KEY,
    run_id      TEXT NOT NULL,
    opened_at   REAL NOT NULL,
    severity    TEXT NOT NULL,
    title       TEXT NOT NULL,
    detail      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX incidents_by_run ON incidents (run_id);

CREATE TABLE audit_expectations (
    run_id      TEXT    NOT NULL,
    domain      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    deadline    REAL    NOT NULL,
    liveness    INTEGER NOT NULL,
    declared_at REAL    NOT NULL,
    PRIMARY KEY (run_id, domain, action)
) WITHOUT ROWID;

CREATE TABLE audit_acks (
    run_id    TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    domain    TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    result_id TEXT,
    error     TEXT,
    at        REAL    NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE spans (
    run_id     TEXT NOT NULL,
    span_id    TEXT NOT NULL,
    parent_id  TEXT,
    name       TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at   REAL,
    status     TEXT,
    attributes TEXT NOT NULL,
    PRIMARY KEY (run_id, span_id)
) WITHOUT ROWID;

CREATE TABLE run_summaries (
    run_id          TEXT PRIMARY KEY,
    started_at      REAL    NOT NULL,
    ended_at        REAL    NOT NULL,
    result          TEXT    NOT NULL,
    failure_reason  TEXT,
    stages_executed TEXT    NOT NULL,
    stages_failed   TEXT    NOT NULL,
    retry_count     INTEGER NOT NULL,
    metadata        TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX run_summaries_by_end ON run_summaries (ended_at DESC, run_id DESC);

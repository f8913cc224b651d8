-- Commands for the process that owns the database, from processes that do not: approve,
-- reject, cancel, resume, rewind, retry, clear_health, submit. The owner applies each through its
-- kernel (still the single authority) and records how it went; the requester waits for that,
-- then follows the run's events. A command is applied once: its id is the requester's key.
CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    run_id TEXT,
    payload TEXT NOT NULL,
    requested_at REAL NOT NULL,
    requested_by TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    taken_at REAL,
    done_at REAL,
    result TEXT,
    error_kind TEXT,
    error TEXT
);
CREATE INDEX commands_pending ON commands(requested_at) WHERE state = 'pending';

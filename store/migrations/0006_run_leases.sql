-- Ownership per run (issue 14). A run is driven by the process that holds its lease; every
-- append of that run checks, in its own transaction, that the lease's owner and epoch are still
-- the appender's (fencing), so a process that lost a run can never write to it again. A lease
-- is renewed while held, released on a clean exit (owner NULL) and claimable once it expired.
CREATE TABLE run_leases (
    run_id     TEXT    PRIMARY KEY,
    owner      TEXT,                 -- owners.owner_id of the driving process; NULL: released
    epoch      INTEGER NOT NULL,     -- rises at every claim
    expires_at REAL    NOT NULL,     -- renewed while held; 0 once the run ended or was released
    claimed_at REAL    NOT NULL
) WITHOUT ROWID;
CREATE INDEX run_leases_by_owner ON run_leases (owner) WHERE owner IS NOT NULL;

-- The processes that drive runs: who they are (for messages naming a holder) and where they
-- take commands; a row goes when its process exits cleanly, and is stale once `seen_at` is old.
CREATE TABLE owners (
    owner_id   TEXT PRIMARY KEY,
    label      TEXT NOT NULL,        -- "pid 123 on host (runtui serve)"
    pid        INTEGER NOT NULL,
    host       TEXT NOT NULL,
    started_at REAL NOT NULL,
    seen_at    REAL NOT NULL,
    url        TEXT                  -- its HTTP API, when it serves one
) WITHOUT ROWID;

-- A command is for one owner: the one driving its run when it was sent.
ALTER TABLE commands ADD COLUMN owner TEXT;

-- The lease epoch each event was written under (NULL: before ownership per run): along a run's
-- seq it never decreases, which `verify` checks (a fenced owner never wrote after a take-over).
ALTER TABLE events ADD COLUMN epoch INTEGER;

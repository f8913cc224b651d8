-- A blocked workflow refuses new runs until an operator clears it; the clear is kept here.
CREATE TABLE health_clears (
    workflow   TEXT PRIMARY KEY,
    cleared_at REAL NOT NULL,
    cleared_by TEXT NOT NULL
) WITHOUT ROWID;

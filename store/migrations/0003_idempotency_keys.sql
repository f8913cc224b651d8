-- The API's Idempotency-Key records: taken (committed) before the request acts, answered after,
-- so a retry after a restart gets the first answer. Kept 24 hours, by `taken_at`.
CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL,   -- the endpoint (and run) the key was used on
    key         TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,   -- of the request body: the same key with another is refused
    taken_at    REAL    NOT NULL,
    subject     TEXT,               -- what the request acted on (an approval), if it said
    status      INTEGER,            -- the answer; NULL: taken, never answered
    body        BLOB,
    location    TEXT,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (taken_at);

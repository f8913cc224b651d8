-- Searching a run's whole log (issue 15). What the event log shows of each event (its kind and
-- summary, or its output lines as `task| line`), terminal-safe and in lower case, kept beside
-- the event with the task it is about: a search scans this narrow table a range of seqs at a
-- time instead of decoding payloads. Written by the projector with the event; events written
-- before this migration get theirs from `store.log_search.index_old_events`, run with it.
CREATE TABLE event_text (
    run_id  TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    task_id TEXT,
    text    TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- Searching a run's whole log (issue 15). Each event carries, in columns of its own, what the
-- event log shows of it (its kind and summary, or its output lines as `task| line`),
-- terminal-safe and in lower case, and the task it is about (any kind: output, status,
-- attempts, gates): a search reads these through the (run_id, seq) index a range of seqs at a
-- time instead of decoding payloads. Written by the writer with the event; events written
-- before this migration get theirs from `store.log_search.index_old_events`, run with it.
ALTER TABLE events ADD COLUMN search_text TEXT;
ALTER TABLE events ADD COLUMN search_task TEXT;

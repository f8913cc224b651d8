-- Task detail (issue 15). One task's output is found without reading its run's whole log: an
-- `attempt.output` event carries whose output it is (task, attempt) and which stream in columns
-- of its own, indexed for that kind only (NULL for every other kind). Output written before this
-- migration is indexed by `store.task_output.index_old_output`, run with it.
ALTER TABLE events ADD COLUMN task_id TEXT;
ALTER TABLE events ADD COLUMN attempt INTEGER;
ALTER TABLE events ADD COLUMN stream TEXT;
CREATE INDEX events_by_output ON events (run_id, task_id, attempt, seq, stream)
    WHERE kind = 'attempt.output';

-- What caused a violation: the task (and its attempt) whose step, command or dispatch found it.
-- NULL for violations recorded before violations named them.
ALTER TABLE violations ADD COLUMN task_id TEXT;
ALTER TABLE violations ADD COLUMN attempt INTEGER;

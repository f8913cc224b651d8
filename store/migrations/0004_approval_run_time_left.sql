-- How much of its run timeout a run had left when it started waiting for this approval: the
-- run timeout does not run while a run waits for a human, so this is what it still has then.
ALTER TABLE approvals ADD COLUMN run_time_left_s REAL;

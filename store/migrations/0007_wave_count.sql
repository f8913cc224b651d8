-- Where a run is among its waves, as the runs list and the run header show it ("wave 2/4").
-- `wave_count`: how many waves the run declared (a replan may add some). `wave_index` becomes
-- the furthest wave where work started (an attempt, a gate): before, it was the furthest wave
-- any event named, and the tasks a cancel or a failure skipped in later waves pushed it to the
-- last one ("wave 9/9" for a run cancelled in wave 0). Both are recomputed here from `tasks`.
ALTER TABLE runs ADD COLUMN wave_count INTEGER;
UPDATE runs SET wave_count = (SELECT MAX(wave) + 1 FROM tasks WHERE tasks.run_id = runs.run_id);
UPDATE runs SET wave_index = (
    SELECT MAX(wave) FROM tasks
    WHERE tasks.run_id = runs.run_id
      AND (tasks.attempts > 0 OR tasks.status NOT IN ('pending', 'skipped', 'cancelled'))
);

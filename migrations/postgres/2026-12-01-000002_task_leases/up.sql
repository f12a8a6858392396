-- Background tasks on several instances (DESIGN.md §6): the instance that claims a
-- task's lease runs it; the others skip that round. A lease that is not renewed
-- expires, so a stopped instance never blocks the task for long.
CREATE TABLE task_leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

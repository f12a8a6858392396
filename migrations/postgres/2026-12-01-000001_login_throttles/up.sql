-- Login throttling (DESIGN.md §5): failed sign-ins counted per (username, client
-- address) and per username (client_address '*'), before the password is checked,
-- and decaying over time. Replaces users.failed_login_count and users.locked_until,
-- which stay (unused) for one release so that older instances keep running.
CREATE TABLE login_throttles (
    username_key TEXT NOT NULL,
    client_address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL,
    PRIMARY KEY (username_key, client_address)
);
CREATE INDEX login_throttles_last_failure_at ON login_throttles (last_failure_at);

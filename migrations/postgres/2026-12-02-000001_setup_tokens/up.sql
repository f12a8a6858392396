-- First-run setup links (DESIGN.md §2): on a database without an admin, `serve`
-- logs a link carrying a random token; the table keeps only its SHA-256. A token
-- is used once (one atomic UPDATE sets used_at) and only until expires_at.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

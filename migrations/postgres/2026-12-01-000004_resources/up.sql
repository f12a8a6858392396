-- APIs (RFC 8707 resources): the identifier is the `aud` of their access tokens;
-- `scope` lists the scopes they define; `clients` (JSON array of client ids) the
-- clients that may ask tokens for them. The secret (a keyed hash) authenticates the
-- API at the introspection endpoint (RFC 7662 §2.1).
CREATE TABLE resources (
    id TEXT PRIMARY KEY NOT NULL,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    clients TEXT NOT NULL DEFAULT '[]',
    access_token_lifetime BIGINT,
    signing_alg TEXT,
    include_roles BOOLEAN NOT NULL DEFAULT FALSE,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

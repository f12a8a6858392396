-- Portcullis initial schema (Postgres). Keep in step with ../../sqlite/<same name>/up.sql.
-- Portable types only: TEXT ids, BIGINT unix seconds, TEXT JSON, BOOLEAN.

-- Keys and secrets the server generates for itself on first start.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    -- lower-cased username: `Alice` and `alice` are one account
    username_key TEXT NOT NULL UNIQUE,
    email TEXT,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    name TEXT,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    failed_login_count INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_email ON users (email);

-- Client metadata in the shape of RFC 7591 §2; list-valued fields are JSON arrays.
CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    scope TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    is_public BOOLEAN NOT NULL,
    -- HMAC-SHA-256 of the secret under a server key; two live during a rotation
    secret_hash TEXT,
    previous_secret_hash TEXT,
    previous_secret_expires_at BIGINT,
    access_token_signing_alg TEXT,
    id_token_signed_response_alg TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (is_public = (secret_hash IS NULL))
);

-- Login sessions; the cookie holds a random id, the table its SHA-256.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    -- public session id for the `sid` claim (OIDC Front/Back-Channel Logout)
    sid TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Remembered consent per (user, client).
CREATE TABLE consents (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_id ON consents (client_id);

-- Authorization codes, stored as SHA-256; consumed_at is set by one atomic UPDATE.
CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid TEXT,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    nonce TEXT,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    -- the access token issued from this code, revoked if the code is replayed
    access_token_jti TEXT,
    access_token_expires_at BIGINT
);
CREATE INDEX authorization_codes_client_id ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user_id ON authorization_codes (user_id);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

-- Refresh tokens live in families (one per original grant); reuse revokes the family.
CREATE TABLE refresh_token_families (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    origin_code_hash TEXT,
    scope TEXT NOT NULL,
    sid TEXT,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX refresh_token_families_client_id ON refresh_token_families (client_id);
CREATE INDEX refresh_token_families_user_id ON refresh_token_families (user_id);
CREATE INDEX refresh_token_families_origin_code_hash ON refresh_token_families (origin_code_hash);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    -- set by one atomic UPDATE ... WHERE rotated_at IS NULL
    rotated_at BIGINT,
    successor_hash TEXT,
    access_token_jti TEXT,
    access_token_expires_at BIGINT
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);

-- Signing keys: next -> active -> retired -> deleted (or revoked at once).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired', 'revoked')),
    public_jwk TEXT NOT NULL,
    -- AES-256-GCM under the master key, base64
    private_key_encrypted TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    activated_at BIGINT,
    retired_at BIGINT,
    delete_after BIGINT,
    revoked_at BIGINT
);
-- at most one active and one waiting key per algorithm: the database decides races
CREATE UNIQUE INDEX signing_keys_one_active_per_alg ON signing_keys (alg) WHERE state = 'active';
CREATE UNIQUE INDEX signing_keys_one_next_per_alg ON signing_keys (alg) WHERE state = 'next';
CREATE INDEX signing_keys_state ON signing_keys (state);

-- Revoked access-token ids, kept until the token would have expired anyway.
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);

-- Security events. No foreign keys: the trail outlives what it speaks of.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    user_id TEXT,
    client_id TEXT,
    ip TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
CREATE INDEX audit_events_user_id ON audit_events (user_id);
CREATE INDEX audit_events_client_id ON audit_events (client_id);

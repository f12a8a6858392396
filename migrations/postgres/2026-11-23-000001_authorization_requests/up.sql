-- Authorization requests waiting for login or consent (DESIGN.md §5). They live
-- server-side: the pages carry only the id, never a copy of the request.
CREATE TABLE authorization_requests (
    -- random id in the login / consent page URLs
    id TEXT PRIMARY KEY NOT NULL,
    -- SHA-256 of the browser cookie of the browser that started the flow
    browser_hash TEXT NOT NULL,
    -- the CSRF token of the flow's forms
    csrf_token TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    -- RFC 6749 §4.1.3: a redirect_uri sent here must be sent again at the token endpoint
    redirect_uri_given BOOLEAN NOT NULL,
    scope TEXT NOT NULL,
    state TEXT,
    code_challenge TEXT,
    nonce TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX authorization_requests_expires_at ON authorization_requests (expires_at);

-- Only S256 is accepted (DESIGN.md §3): the method column says nothing. Its place
-- goes to the RFC 6749 §4.1.3 flag.
ALTER TABLE authorization_codes DROP COLUMN code_challenge_method;
ALTER TABLE authorization_codes ADD COLUMN redirect_uri_given BOOLEAN NOT NULL DEFAULT TRUE;

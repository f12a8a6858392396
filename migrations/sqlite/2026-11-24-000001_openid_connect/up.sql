-- OpenID Connect (OIDC Core §3.1.2.1): a pending request keeps its prompt, max_age
-- and hints as JSON, and the session that signed in while answering it (so that
-- prompt=login and max_age are satisfied by that sign-in, and by no older one).
ALTER TABLE authorization_requests ADD COLUMN interaction TEXT NOT NULL DEFAULT '{}';
ALTER TABLE authorization_requests ADD COLUMN authenticated_sid TEXT;

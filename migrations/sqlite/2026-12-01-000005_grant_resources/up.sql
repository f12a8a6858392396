-- RFC 8707: the resource (API identifier) an authorization request named, carried to
-- its code and to the refresh-token family it starts. NULL: no resource.
ALTER TABLE authorization_requests ADD COLUMN resource TEXT;
ALTER TABLE authorization_codes ADD COLUMN resource TEXT;
ALTER TABLE refresh_token_families ADD COLUMN resource TEXT;

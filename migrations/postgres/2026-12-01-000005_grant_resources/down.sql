ALTER TABLE refresh_token_families DROP COLUMN resource;
ALTER TABLE authorization_codes DROP COLUMN resource;
ALTER TABLE authorization_requests DROP COLUMN resource;

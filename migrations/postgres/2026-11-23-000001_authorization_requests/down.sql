ALTER TABLE authorization_codes DROP COLUMN redirect_uri_given;
ALTER TABLE authorization_codes ADD COLUMN code_challenge_method TEXT;
DROP TABLE authorization_requests;

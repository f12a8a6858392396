ALTER TABLE authorization_requests DROP COLUMN authenticated_sid;
ALTER TABLE authorization_requests DROP COLUMN interaction;

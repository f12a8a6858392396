-- Roles and groups of a user (JSON arrays of names), released to clients with the
-- `roles` scope as the `roles` and `groups` claims (RFC 9068 §2.2.3.1's names).
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN group_names TEXT NOT NULL DEFAULT '[]';

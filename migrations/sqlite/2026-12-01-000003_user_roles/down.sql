ALTER TABLE users DROP COLUMN group_names;
ALTER TABLE users DROP COLUMN roles;

-- The API token that created a token (none for one made from a session):
-- revoking a token revokes every token below it.
ALTER TABLE api_tokens ADD COLUMN parent_id BLOB;
CREATE INDEX api_tokens_parent ON api_tokens (parent_id);

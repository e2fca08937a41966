-- A sign-in's tokens belong together: the access and refresh token from one
-- login, and the access tokens refreshed from it. Logging out ends them all.
ALTER TABLE api_tokens ADD COLUMN session UUID;
CREATE INDEX api_tokens_session ON api_tokens (session) WHERE session IS NOT NULL;

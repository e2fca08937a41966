-- What the stored command was (CommandEnvelope::fingerprint: SHA-256 of its
-- type, subject and data), so an id reused for a different command is told
-- from a resend. Rows from before this column have none and replay as before.
ALTER TABLE inbox ADD COLUMN fingerprint BYTEA CHECK (fingerprint IS NULL OR length(fingerprint) = 32);

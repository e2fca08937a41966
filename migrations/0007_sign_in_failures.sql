-- Wrong PINs and passwords in a row, per username and way in (domain::throttle).
-- Keyed by the username as typed, known or not, so a closed sign-in says
-- nothing about whether the account exists.
CREATE TABLE sign_in_failures (
    key           TEXT PRIMARY KEY CHECK (length(key) <= 160),
    failures      INT NOT NULL CHECK (failures >= 1),
    last_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_until  TIMESTAMPTZ
);

-- The outcome of the last "test connection" of each stored connection, so the dashboard can
-- say that credentials are failing. A change of the credentials clears it.

-- +goose Up
ALTER TABLE connections
    ADD COLUMN checked_at    timestamptz,
    ADD COLUMN check_ok      boolean,
    ADD COLUMN check_message text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE connections
    DROP COLUMN checked_at,
    DROP COLUMN check_ok,
    DROP COLUMN check_message;

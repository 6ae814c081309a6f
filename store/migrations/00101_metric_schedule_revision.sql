-- A metric's schedule changes are numbered, so its snapshot loop can ignore a set-schedule
-- signal that arrives after a newer one (two changes at once, or the worker's reconciliation
-- racing a change).

-- +goose Up
ALTER TABLE metrics ADD COLUMN revision bigint NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE metrics DROP COLUMN revision;

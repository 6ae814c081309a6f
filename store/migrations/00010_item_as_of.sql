-- Money safety (issue 9): one as-of date per item, chosen when it is refreshed and used for
-- the PSA read, the write and the read-back; claims looked up by cycle; carried approvals
-- found by the cycle that superseded them.

-- +goose Up
-- The day an item's quantities were read as of and its change applies from (Autotask
-- contract service units are dated). NULL for items refreshed before this column existed
-- and for basic-mode Backup Stats records, which carry a year and month instead.
ALTER TABLE cycle_items ADD COLUMN as_of date;
CREATE INDEX cycle_items_superseded_by ON cycle_items (superseded_by) WHERE superseded_by IS NOT NULL;
CREATE INDEX period_claims_cycle ON period_claims (cycle_id);

-- +goose Down
DROP INDEX period_claims_cycle;
DROP INDEX cycle_items_superseded_by;
ALTER TABLE cycle_items DROP COLUMN as_of;

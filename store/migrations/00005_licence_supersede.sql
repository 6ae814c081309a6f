-- Licence cycles: a newer refresh supersedes the items an older open cycle still waits on.

-- +goose Up
ALTER TABLE cycle_items DROP CONSTRAINT cycle_items_state_check;
ALTER TABLE cycle_items ADD CONSTRAINT cycle_items_state_check
    CHECK (state IN ('pending', 'approved', 'rejected', 'unchanged', 'applied', 'failed', 'superseded'));
ALTER TABLE cycle_items ADD COLUMN superseded_by uuid;
-- Finding an earlier approval of the same change (account, item, old and new quantity).
CREATE INDEX cycle_items_carry ON cycle_items (tenant_id, account_id, item) WHERE state = 'superseded';

-- +goose Down
DROP INDEX cycle_items_carry;
ALTER TABLE cycle_items DROP COLUMN superseded_by;
UPDATE cycle_items SET state = 'rejected' WHERE state = 'superseded';
ALTER TABLE cycle_items DROP CONSTRAINT cycle_items_state_check;
ALTER TABLE cycle_items ADD CONSTRAINT cycle_items_state_check
    CHECK (state IN ('pending', 'approved', 'rejected', 'unchanged', 'applied', 'failed'));

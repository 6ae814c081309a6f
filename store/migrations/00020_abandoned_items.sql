-- Items a cycle still held (pending or approved) when it ended without pushing them —
-- cancelled, failed, or closed by the reconciler after its workflow ended outside workflow
-- code — are "abandoned", with the reason, so no record reads as if it still waits.

-- +goose Up
ALTER TABLE cycle_items DROP CONSTRAINT cycle_items_state_check;
ALTER TABLE cycle_items ADD CONSTRAINT cycle_items_state_check
    CHECK (state IN ('pending', 'approved', 'rejected', 'unchanged', 'applied', 'failed', 'superseded', 'abandoned'));
-- The reconciler looks for open cycles, oldest first.
CREATE INDEX cycles_open ON cycles (started_at) WHERE finished_at IS NULL;

-- +goose Down
DROP INDEX cycles_open;
UPDATE cycle_items SET state = 'rejected' WHERE state = 'abandoned';
ALTER TABLE cycle_items DROP CONSTRAINT cycle_items_state_check;
ALTER TABLE cycle_items ADD CONSTRAINT cycle_items_state_check
    CHECK (state IN ('pending', 'approved', 'rejected', 'unchanged', 'applied', 'failed', 'superseded'));

-- Issue 11: approval is set per job (settings.publish.approval, settings.licences.approval),
-- and where basic mode keeps its ConnectWise records is a tenant setting
-- (settings.publish.backup_stats) instead of a field of the PSA connection. The connection's
-- old backup_config_type is copied, not removed: a connection's sealed secret is bound to
-- its stored fields, so they stay as they are (the field is ignored from now on).
--
-- Existing tenants keep what they had. The one approval a tenant had (chosen, or the old
-- default "manual") becomes the approval of both jobs: an upgrade never starts pushing a
-- tenant's numbers without the approval it knew. New tenants get the new defaults (usage
-- publishes automatic, licence syncs manual) from the code, not from here.
-- Basic mode keeps the configuration type it wrote to (the connection's backup_config_type,
-- or the old default "Backup") and writes no questions, so its records are found and written
-- as before; the usage product's names ("Backup Stats" and its questions) are the default of
-- tenants created from now on.

-- +goose Up
UPDATE tenants SET settings = (settings - 'approval')
    || jsonb_build_object(
        'publish', COALESCE(settings->'publish', '{}'::jsonb) || jsonb_build_object('approval', settings->'approval'),
        'licences', COALESCE(settings->'licences', '{}'::jsonb) || jsonb_build_object('approval', settings->'approval'))
WHERE settings ? 'approval' AND jsonb_typeof(settings->'approval') = 'object';

UPDATE tenants t SET settings = t.settings || jsonb_build_object(
        'publish', COALESCE(t.settings->'publish', '{}'::jsonb) || jsonb_build_object('backup_stats', jsonb_build_object(
            'configuration_type', COALESCE(
                (SELECT NULLIF(btrim(c.config->>'backup_config_type'), '') FROM connections c WHERE c.tenant_id = t.id AND c.role = 'psa'),
                'Backup'),
            'billable_space_question', '', 'year_question', '', 'month_question', '')))
WHERE NOT COALESCE(t.settings->'publish' ? 'backup_stats', false);

-- +goose Down
-- (A type chosen in the settings since then is not written back to the connection: its
-- sealed secret is bound to its fields.)
-- One approval for both jobs again: the licence sync's, which a person approved by default.
UPDATE tenants SET settings = (settings #- '{publish,approval}' #- '{licences,approval}' #- '{publish,backup_stats}')
    || jsonb_build_object('approval', COALESCE(settings->'licences'->'approval', settings->'publish'->'approval',
        '{"mode": "manual", "max_units": "0", "max_percent": "0", "reminder_hours": 0, "deadline_hours": 0, "deadline_action": "hold_and_alert"}'::jsonb));

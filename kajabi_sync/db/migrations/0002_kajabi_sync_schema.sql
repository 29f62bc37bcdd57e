-- kajabi_sync's own tables live in their own schema, apart from the user's tables.

CREATE SCHEMA IF NOT EXISTS kajabi_sync;

-- One row per write kajabi_sync made: an import, a rollback, a merge or an unmerge. Only
-- committed writes exist (each is one transaction), so a row here always means "it happened".
CREATE TABLE IF NOT EXISTS kajabi_sync.import_runs (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL DEFAULT 'import'
                    CHECK (kind IN ('import', 'rollback', 'merge', 'unmerge')),
    partition_key   text,
    dagster_run_id  text,
    file_name       text,
    file_sha256     text,
    export_date     date,
    export_rows     integer,
    counts          jsonb NOT NULL DEFAULT '{}'::jsonb,
    overrides       jsonb NOT NULL DEFAULT '{}'::jsonb,
    applied_at      timestamptz NOT NULL DEFAULT now(),
    rolled_back_at  timestamptz,
    rolled_back_by  bigint REFERENCES kajabi_sync.import_runs (id),
    note            text
);
CREATE INDEX IF NOT EXISTS idx_import_runs_sha ON kajabi_sync.import_runs (file_sha256);

-- Every change an import made, field by field, so it can be explained and undone.
-- field = '(contact)' with decision 'new_contact' records a contact the import created.
CREATE TABLE IF NOT EXISTS kajabi_sync.field_changes (
    id              bigserial PRIMARY KEY,
    import_run_id   bigint NOT NULL REFERENCES kajabi_sync.import_runs (id),
    contact_id      uuid NOT NULL,
    field           text NOT NULL,
    old_value       text,
    new_value       text,
    decision        text NOT NULL,
    reason          text,
    changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_field_changes_contact ON kajabi_sync.field_changes (contact_id);
CREATE INDEX IF NOT EXISTS idx_field_changes_run ON kajabi_sync.field_changes (import_run_id);

-- The three-way base: per contact, what Kajabi sent in the last applied import. A Kajabi value
-- equal to its base is no edit, whatever the database holds.
CREATE TABLE IF NOT EXISTS kajabi_sync.kajabi_base (
    contact_id        uuid PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    kajabi_email      text NOT NULL,
    first_name        text,
    last_name         text,
    phone             text,
    address_line_1    text,
    address_line_2    text,
    city              text,
    state             text,
    postal_code       text,
    country           text,
    kajabi_id         text,
    kajabi_member_id  text,
    import_run_id     bigint REFERENCES kajabi_sync.import_runs (id),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- The base rows an import replaced (existed = false: there was none), so a rollback can
-- restore the three-way base exactly.
CREATE TABLE IF NOT EXISTS kajabi_sync.kajabi_base_history (
    import_run_id     bigint NOT NULL REFERENCES kajabi_sync.import_runs (id),
    contact_id        uuid NOT NULL,
    existed           boolean NOT NULL,
    kajabi_email      text,
    first_name        text,
    last_name         text,
    phone             text,
    address_line_1    text,
    address_line_2    text,
    city              text,
    state             text,
    postal_code       text,
    country           text,
    kajabi_id         text,
    kajabi_member_id  text,
    PRIMARY KEY (import_run_id, contact_id)
);

-- Merge memory: an email that was merged away into a surviving contact.
CREATE TABLE IF NOT EXISTS kajabi_sync.merged_from (
    id                    bigserial PRIMARY KEY,
    merged_email          text NOT NULL,          -- lower-cased
    surviving_contact_id  uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    merged_contact_id     uuid REFERENCES contacts (id) ON DELETE SET NULL,
    merged_at             timestamptz NOT NULL DEFAULT now(),
    reason                text NOT NULL,
    recorded_by           text NOT NULL DEFAULT 'kajabi_sync',
    undone_at             timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_merged_from_email_active
    ON kajabi_sync.merged_from (merged_email) WHERE undone_at IS NULL;

-- Lookups the plan needs at scale.
CREATE INDEX IF NOT EXISTS idx_contacts_kajabi_member_id
    ON contacts (kajabi_member_id) WHERE kajabi_member_id IS NOT NULL;

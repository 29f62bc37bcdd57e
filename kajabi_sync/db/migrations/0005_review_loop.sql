-- The review loop: what the last applied import listed for a person, what the person decided,
-- and the fields a person set by hand (provenance ``manual``, protected from then on).

-- A decision file applied as one transaction is its own run.
ALTER TABLE kajabi_sync.import_runs DROP CONSTRAINT IF EXISTS import_runs_kind_check;
ALTER TABLE kajabi_sync.import_runs ADD CONSTRAINT import_runs_kind_check
    CHECK (kind IN ('import', 'rollback', 'merge', 'unmerge', 'review'));

-- The open items of the last applied import (replaced by every applied import). The values are
-- what the review file showed, so a decision made on an older file can be told stale.
CREATE TABLE IF NOT EXISTS kajabi_sync.review_items (
    review_id         text PRIMARY KEY,
    kind              text NOT NULL,
    contact_id        uuid,
    email             text,
    field             text,
    database_value    text,
    kajabi_value      text,
    last_import_value text,
    suggestion        text,
    evidence          text,
    import_run_id     bigint REFERENCES kajabi_sync.import_runs (id),
    listed_at         timestamptz NOT NULL DEFAULT now()
);

-- One row per decided item of a review run: what was decided, and what undoing it needs
-- (the merge run a ``merge`` made, the hold status a ``release`` replaced).
CREATE TABLE IF NOT EXISTS kajabi_sync.review_decisions (
    id                bigserial PRIMARY KEY,
    review_run_id     bigint NOT NULL REFERENCES kajabi_sync.import_runs (id),
    review_id         text NOT NULL,
    kind              text NOT NULL,
    contact_id        uuid,
    email             text,
    field             text,
    resolution        text NOT NULL,
    value             text,
    database_value    text,
    kajabi_value      text,
    merge_run_id      bigint REFERENCES kajabi_sync.import_runs (id),
    previous_status   text,
    note              text
);
CREATE INDEX IF NOT EXISTS idx_review_decisions_run ON kajabi_sync.review_decisions (review_run_id);

-- Fields a person set by hand in a review decision: the policy protects them like any field
-- another source enriched.
CREATE TABLE IF NOT EXISTS kajabi_sync.manual_fields (
    contact_id        uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    field             text NOT NULL,
    value             text,
    review_run_id     bigint NOT NULL REFERENCES kajabi_sync.import_runs (id),
    set_at            timestamptz NOT NULL DEFAULT now()
);
-- A field is manual while a review run that set it stands (not rolled back).
CREATE INDEX IF NOT EXISTS idx_manual_fields_contact ON kajabi_sync.manual_fields (contact_id);

-- A fingerprint of each three-way base row, so a week's planning can tell in SQL which export
-- rows are byte-identical to what Kajabi sent at the last applied import (db/steady.py), and
-- plan only the others in Python.
--
-- One function computes it, for the stored bases (the generated column below) and for a staged
-- export row alike, so the two can never be computed differently. Each value is written as its
-- length, a colon and its text, NULL as '~': no two different rows give the same text, and
-- NULL differs from ''. The column is generated: every write of a base (an import, a rollback,
-- a hand edit) keeps it current in the same statement, and adding it fills it for every base.
CREATE OR REPLACE FUNCTION kajabi_sync.base_row_hash(
    kajabi_email text, first_name text, last_name text, phone text,
    address_line_1 text, address_line_2 text, city text, state text, postal_code text,
    country text, kajabi_id text, kajabi_member_id text
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT md5(
        coalesce(length(kajabi_email)::text || ':' || kajabi_email, '~') || ',' ||
        coalesce(length(first_name)::text || ':' || first_name, '~') || ',' ||
        coalesce(length(last_name)::text || ':' || last_name, '~') || ',' ||
        coalesce(length(phone)::text || ':' || phone, '~') || ',' ||
        coalesce(length(address_line_1)::text || ':' || address_line_1, '~') || ',' ||
        coalesce(length(address_line_2)::text || ':' || address_line_2, '~') || ',' ||
        coalesce(length(city)::text || ':' || city, '~') || ',' ||
        coalesce(length(state)::text || ':' || state, '~') || ',' ||
        coalesce(length(postal_code)::text || ':' || postal_code, '~') || ',' ||
        coalesce(length(country)::text || ':' || country, '~') || ',' ||
        coalesce(length(kajabi_id)::text || ':' || kajabi_id, '~') || ',' ||
        coalesce(length(kajabi_member_id)::text || ':' || kajabi_member_id, '~')
    )
$$;

ALTER TABLE kajabi_sync.kajabi_base ADD COLUMN IF NOT EXISTS row_hash text
    GENERATED ALWAYS AS (kajabi_sync.base_row_hash(
        kajabi_email, first_name, last_name, phone, address_line_1, address_line_2, city, state,
        postal_code, country, kajabi_id, kajabi_member_id
    )) STORED;

-- The duplicate finder's keys of every live contact, kept in the database (db/match_keys.py), so
-- a week's new emails are compared with the few contacts sharing a key with them instead of
-- building keys for every live contact in Python.
--
-- A cache of what matching.prefilter computes from each contact's fields: no fact lives only
-- here. Each row carries the version of the contact's row it was computed from (`contact_xmin`:
-- the contact row's xmin, which every write of the row changes) and of the code that computed
-- it (`keys_version`). Every search first deletes the rows that no longer match a live
-- contact's row (edited by anyone, merged away, soft-deleted, or the code changed) and keys the
-- live contacts without one, in the transaction that reads the contacts. So nothing else that
-- writes contacts has to maintain it, and it holds exactly the live contacts when searched.
--
-- pass_*: a 64-bit hash of the contact's key in each blocking pass (NULL when it has none),
-- searched with the hashes of the new rows' keys; a hash may be shared by two keys, so what
-- they find is checked exactly in Python. *_text: the normalised values whose population counts
-- the scoring reads, counted here through their indexes.
CREATE TABLE IF NOT EXISTS kajabi_sync.match_keys (
    contact_id                             uuid PRIMARY KEY,
    contact_xmin                           xid NOT NULL,
    keys_version                           text NOT NULL,
    pass_first_last                        bigint,
    pass_last_postcode                     bigint,
    pass_first_postcode                    bigint,
    pass_last_street                       bigint,
    pass_first_street                      bigint,
    pass_house_number_street               bigint,
    pass_house_number_postcode             bigint,
    pass_first_initial_last_prefix_city    bigint,
    pass_last_prefix_postcode              bigint,
    pass_street_postcode                   bigint,
    pass_line2_postcode                    bigint,
    pass_first_initial_last_prefix_street  bigint,
    pass_first_house_number_city           bigint,
    pass_first_house_number_postcode       bigint,
    pass_first_city_squeezed               bigint,
    pass_last_city_squeezed                bigint,
    pass_line2_city_squeezed               bigint,
    pass_street_word_house_number          bigint,
    pass_street_word_last_prefix           bigint,
    pass_last_house_number_city            bigint,
    pass_email_local                       bigint,
    pass_phone_all                         bigint,
    pass_phone_main                        bigint,
    first_text                             text,
    last_text                              text,
    line2_text                             text,
    postcode_text                          text,
    state_text                             text,
    country_text                           text
);
CREATE INDEX IF NOT EXISTS idx_match_keys_first ON kajabi_sync.match_keys (first_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_last ON kajabi_sync.match_keys (last_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_line2 ON kajabi_sync.match_keys (line2_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_postcode ON kajabi_sync.match_keys (postcode_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_state ON kajabi_sync.match_keys (state_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_country ON kajabi_sync.match_keys (country_text);

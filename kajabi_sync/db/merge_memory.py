"""Merge memory bootstrap: record the merges the database already shows in ``kajabi_sync.merged_from``.

Duplicates were merged by hand before kajabi_sync existed (and may still be): the merged-away
contact's emails moved to ``contact_emails`` under the survivor and its row was soft-deleted.
``merged_from`` makes that durable (merged-away email -> surviving contact), so an import never
recreates a merged-away address as a new contact. Every merge kajabi_sync performs writes its
own rows (``merges.py``); this step finds the ones made elsewhere.
"""

from __future__ import annotations

import psycopg

from kajabi_sync.db.apply import EMAIL_CHANGE_SOURCE
from kajabi_sync.db.connection import jit_off

BOOTSTRAP_RECORDER = "kajabi_sync bootstrap"

# Emails compare lower-cased (citext may be a plain text domain, see 0001).
# Set-based; idempotent through the unique index on active merged emails. An email that lives
# under two live contacts is ambiguous and is left out: the memory only states certainties.
_BOOTSTRAP = """
WITH other_address AS (
    SELECT lower(e.email::text) AS email, c.id AS survivor, NULL::uuid AS merged_contact, 1 AS priority,
           'bootstrap: address in contact_emails that is not its contact''s primary email' AS reason
    FROM contact_emails e JOIN contacts c ON c.id = e.contact_id
    -- byte-equal text lowers alike: the cheap test first spares lower() for nearly every row
    WHERE c.deleted_at IS NULL AND e.email::text <> c.email::text
      AND lower(e.email::text) <> lower(c.email::text)
      -- an address an import recorded when the person changed it in Kajabi is the contact's own
      AND e.source <> %(email_change_source)s
),
deleted_owner AS (
    -- soft-deleted contacts whose primary email lives on under a live contact
    SELECT DISTINCT d.id AS deleted_id, o.survivor
    FROM contacts d JOIN other_address o ON o.email = lower(d.email::text)
    WHERE d.deleted_at IS NOT NULL
),
deleted_addresses AS (
    -- ... and their other addresses, which were not always moved along
    SELECT lower(e.email::text) AS email, x.survivor, x.deleted_id, 2 AS priority,
           'bootstrap: address of a soft-deleted contact whose email lives on under a live contact' AS reason
    -- Per deleted owner through the (contact_id, email) index: the planner cannot tell that
    -- deleted_owner is small (an inequality above), and a join would hash every address.
    -- OFFSET 0 keeps the subquery a per-row lookup.
    FROM deleted_owner x
    CROSS JOIN LATERAL (SELECT email FROM contact_emails WHERE contact_id = x.deleted_id OFFSET 0) e
),
candidates AS (
    SELECT * FROM (SELECT * FROM other_address UNION ALL SELECT * FROM deleted_addresses) a
    -- Already remembered: the insert would skip it (its ON CONFLICT), and leaving it out here
    -- spares every later join, including the one over all live contacts' emails. Emails are
    -- grouped one by one below, so no other email's outcome depends on it.
    WHERE NOT EXISTS (SELECT 1 FROM kajabi_sync.merged_from f
                      WHERE f.merged_email = a.email AND f.undone_at IS NULL)
),
unambiguous AS (
    SELECT email FROM candidates GROUP BY email HAVING count(DISTINCT survivor) = 1
)
INSERT INTO kajabi_sync.merged_from
    (merged_email, surviving_contact_id, merged_contact_id, reason, recorded_by)
SELECT DISTINCT ON (c.email) c.email, c.survivor, coalesce(c.merged_contact, d.id), c.reason, %(recorder)s
FROM candidates c
JOIN unambiguous u ON u.email = c.email
LEFT JOIN contacts d ON lower(d.email::text) = c.email AND d.deleted_at IS NOT NULL
WHERE NOT EXISTS (
    SELECT 1 FROM contacts l WHERE l.deleted_at IS NULL AND lower(l.email::text) = c.email
)
ORDER BY c.email, c.priority, d.deleted_at DESC NULLS LAST, d.id
ON CONFLICT (merged_email) WHERE undone_at IS NULL DO NOTHING
"""


def bootstrap_merged_from(conn: psycopg.Connection) -> int:
    """Record the merges the database shows but ``merged_from`` lacks; return how many rows.

    Idempotent (a second call adds 0) and committed in its own transaction when ``conn`` is idle.
    Sources: an address in ``contact_emails`` that is not its live contact's primary email (the
    merged-away row, when a soft-deleted contact has that email, is noted as ``merged_contact_id``);
    and every address of a soft-deleted contact whose primary email lives on under a live one.
    An address that is a live contact's primary email is never recorded as merged away.
    """
    with conn.transaction():
        jit_off(conn)
        return conn.execute(
            _BOOTSTRAP,
            {"recorder": BOOTSTRAP_RECORDER, "email_change_source": EMAIL_CHANGE_SOURCE},
        ).rowcount

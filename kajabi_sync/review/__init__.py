"""The review loop: the items the weekly plan will not decide alone, and the user's decisions.

``kinds`` declares each kind of item (what it comes from, which resolutions it accepts);
``items`` lists a plan's open items with stable ids and writes ``needs_review.csv``;
``decisions`` reads a filled file (or a bulk choice) and validates it, all or nothing;
``resolve`` applies the decisions as one audited, undoable run. The CLI and the Dagster jobs
only call these.
"""

"""The review loop from the Dagster UI: apply a filled ``needs_review.csv``.

Example run config (Launchpad)::

    ops:
      apply_review_file:
        config:
          file: "review/needs_review.csv"   # absolute, or relative to the data folder

The file is checked all or nothing and applied as one review run (undo: ``kajabi-sync
rollback RUN``). A file taken from ``data/review/`` is moved to ``data/review/applied/``.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.review.folder import apply_file, move_to_applied


class ReviewFileConfig(dg.Config):
    file: str = Field(
        description="The filled needs_review.csv: an absolute path, or relative to the data "
        "folder (e.g. reports/2025-11-17/needs_review_2025-11-17.csv or review/my_decisions.csv)."
    )


@dg.op(description="Check a filled review file and apply every decided row in one transaction.")
def apply_review_file(
    context: dg.OpExecutionContext,
    config: ReviewFileConfig,
    database: ContactsDatabase,
    data_folder: DataFolder,
) -> dict:
    path = Path(config.file)
    if not path.is_absolute():
        path = data_folder.root() / path
    with database.connection() as conn:
        result = apply_file(conn, path, dagster_run_id=context.run.run_id)
    inbox = data_folder.review().resolve()
    if path.resolve().parent == inbox:
        move_to_applied(path.resolve(), inbox, result.review_run_id)
    outcome = {
        "review_run_id": result.review_run_id,
        "decided": result.decided,
        "fields_written": result.fields_written,
        "bases_changed": result.bases_changed,
        "merges": len(result.merge_run_ids),
        "released": result.released,
        "undo": f"kajabi-sync rollback {result.review_run_id} --yes",
    }
    context.add_output_metadata(outcome)
    context.log.info(f"review run {result.review_run_id}: {result.decided} decision(s) applied")
    return outcome


@dg.job(
    description="Apply a filled needs_review.csv (the file path in the run config): all or "
    "nothing, one audited review run, undone by kajabi-sync rollback RUN."
)
def apply_review_decisions() -> None:
    apply_review_file()

"""Validation loads no property-testing framework: pandera's checks without its strategies."""

import subprocess
import sys
import textwrap

# In a fresh process (a test run has imported hypothesis already): validate a real export, make
# each kind of schema check fail once, and report whether hypothesis was ever imported.
SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import pandera.pandas as pa

    from kajabi_sync.kajabi.reader import read_kajabi_export
    from kajabi_sync.kajabi.schemas import VALIDATED_EXPORT_SCHEMA
    from kajabi_sync.kajabi.validate import validate_export

    frame = validate_export(read_kajabi_export(Path(sys.argv[1]))).frame
    assert len(frame) == 2, frame
    broken = {
        "Check.ge": ("row_number", 1),
        "custom check": ("email", "Jane@example.com"),
        "unique": ("email", frame.loc[1, "email"]),
    }
    for name, (column, value) in broken.items():
        bad = frame.copy()
        bad.loc[0, column] = value
        try:
            VALIDATED_EXPORT_SCHEMA.validate(bad)
        except pa.errors.SchemaError:
            continue
        raise AssertionError(f"the schema let a broken {name} through")
    print("hypothesis imported:", "hypothesis" in sys.modules)
    """
)


def test_validating_imports_no_hypothesis_and_every_check_still_fails(write_export):
    path = write_export(
        [
            {"Name": "Jane Doe", "Email": "jane@example.com", "ID": "1"},
            {"Name": "Bo", "Email": "bo@example.com", "ID": "2"},
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hypothesis imported: False"

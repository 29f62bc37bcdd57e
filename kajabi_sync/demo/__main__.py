"""``python -m kajabi_sync.demo --contacts N --weeks W [--data-dir D] [--database-url U]``."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from kajabi_sync import settings
from kajabi_sync.db.connection import resolve_database_url
from kajabi_sync.demo.database import NotADemoDatabase
from kajabi_sync.demo.generate import generate_demo
from kajabi_sync.demo.spec import DemoSpec


def main(argv: list[str] | None = None) -> int:
    defaults = DemoSpec()
    parser = argparse.ArgumentParser(prog="python -m kajabi_sync.demo", description=__doc__)
    parser.add_argument(
        "--contacts", type=int, default=defaults.contacts, help="live contacts (default 6555)"
    )
    parser.add_argument(
        "--weeks", type=int, default=defaults.weeks, help="weekly exports to write (default 2)"
    )
    parser.add_argument(
        "--first-export", type=date.fromisoformat, default=defaults.first_export, help="a Monday"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help=f"default ${settings.DATA_DIR_ENV} or data/"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help=f"default ${settings.DATABASE_URL_ENV} or the embedded server",
    )
    args = parser.parse_args(argv)
    try:
        spec = DemoSpec(
            contacts=args.contacts, weeks=args.weeks, first_export=args.first_export, seed=args.seed
        )
        summary = generate_demo(
            resolve_database_url(args.database_url), args.data_dir or settings.data_dir(), spec
        )
    except (ValueError, NotADemoDatabase, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

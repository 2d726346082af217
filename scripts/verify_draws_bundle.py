#!/usr/bin/env python3
"""Recompute every draw of one day from its bundle, outside the system.

Standard library only. Usage:

    python3 verify_draws_bundle.py draws-2026-12-01.json [--commitment-file 2026-12-01.json]

The bundle is what an auditor downloads from /draws/ once the day's seed is revealed.
`--commitment-file` is the commitment exported that day (var/draw-commitments/DAY.json,
kept off the database host) or `--commitment HEX`: the seed must hash to it, so a seed
or a bundle rewritten after the day cannot pass. The algorithm is in the README
("Verifying a day's draws outside the system"). Exit status 0 when every draw verifies.
"""

import argparse
import hashlib
import hmac
import json
import sys


def choice_index(seed: bytes, message: bytes, pool_size: int) -> int:
    digest = hmac.new(seed, message, hashlib.sha256).digest()
    return int.from_bytes(digest, "big") % pool_size


def verify(bundle: dict, commitment: str | None) -> list[str]:
    problems = []
    seed = bytes.fromhex(bundle["seed"])
    if hashlib.sha256(seed).hexdigest() != bundle["commitment"]:
        problems.append("the seed does not hash to the bundle's commitment")
    if commitment is not None and commitment.lower() != bundle["commitment"]:
        problems.append("the bundle's commitment is not the one published that day")
    if bundle.get("committed_in_draw"):
        problems.append("the commitment was recorded with the day's first draw, not before it")
    day = bundle["day"]
    # Numbers count 1, 2, 3 … within a series: the draw's subject, or (draws made before
    # numbering per subject, no "series" given) the whole day.
    expected: dict[str, int] = {}
    for draw in bundle["draws"]:
        number, pool, series = draw["number"], draw["pool"], draw.get("series", "")
        where = f"draw #{number}" + (f" of {series}" if series else "")
        if number != expected.get(series, 1):
            problems.append(
                f"{where}: expected number {expected.get(series, 1)} (a draw is missing)"
            )
        expected[series] = number + 1
        # Scheme 1 pools are user ids in ascending order; scheme 2 pseudonyms in
        # ascending (text) order.
        canonical = sorted(pool, key=int) if draw["scheme"] == 1 else sorted(pool)
        if not pool or pool != canonical:
            problems.append(f"{where}: the pool is empty or not in canonical order")
            continue
        members = ",".join(str(member) for member in pool)
        message = f"{day}|{number}|{draw['purpose']}|{draw['subject']}|{members}".encode()
        index = choice_index(seed, message, len(pool))
        if index != draw["chosen_index"] or pool[index] != draw["chosen"]:
            problems.append(
                f"{where} ({draw['subject']}): the seed chooses position {index}, "
                f"the bundle says {draw['chosen_index']}"
            )
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", help="the day's bundle (JSON)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--commitment", help="the commitment published that day (hex)")
    source.add_argument("--commitment-file", help="the commitment file exported that day")
    args = parser.parse_args(argv)
    with open(args.bundle, encoding="utf-8") as file:
        bundle = json.load(file)
    commitment = args.commitment
    if args.commitment_file:
        with open(args.commitment_file, encoding="utf-8") as file:
            exported = json.load(file)
        if exported.get("day") != bundle.get("day"):
            print(f"MISMATCH: the commitment file is for {exported.get('day')}")
            return 1
        commitment = exported["commitment"]
    try:
        problems = verify(bundle, commitment)
    except (KeyError, TypeError, ValueError) as error:
        print(f"MISMATCH: the bundle is malformed ({error!r})")
        return 1
    for problem in problems:
        print(f"MISMATCH: {problem}")
    if problems:
        print(f"{len(problems)} mismatches in the draws of {bundle['day']}")
        return 1
    print(f"OK: all {len(bundle['draws'])} draws of {bundle['day']} verify against the seed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

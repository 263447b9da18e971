"""`python -m sparkify_assets.sample_data`: refuses to touch an existing data set unless --force is given."""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sparkify_assets.sample_data.generate import check, generate

CLI_HELP = "Write synthetic Sparkify song_data/ and log_data/ shaped like the real sample."


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; refuses to touch an existing data set unless --force is given."""
    parser = argparse.ArgumentParser(prog="python -m sparkify_assets.sample_data", description=CLI_HELP)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory to write song_data/ and log_data/ into",
    )
    parser.add_argument("--start", type=date.fromisoformat, default=date(2018, 11, 1), help="first UTC day")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-day", type=int, default=300)
    parser.add_argument("--songs", type=int, default=200)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument(
        "--match-share",
        type=float,
        default=0.5,
        help="share of NextSong events whose (song, artist, length) is in song_data",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--force", action="store_true", help="delete existing song_data/ and log_data/ first")
    args = parser.parse_args(argv)
    try:
        check(args.days, args.events_per_day, args.songs, args.users, args.match_share)
    except ValueError as error:
        parser.error(str(error))
    existing = [args.out / name for name in ("log_data", "song_data") if (args.out / name).exists()]
    if existing and not args.force:
        names = ", ".join(map(str, existing))
        print(f"{names} already exists; not writing anything (use --force to replace it)")
        return 0
    for path in existing:
        shutil.rmtree(path)
    summary = generate(
        args.out,
        start=args.start,
        days=args.days,
        events_per_day=args.events_per_day,
        songs=args.songs,
        users=args.users,
        match_share=args.match_share,
        seed=args.seed,
    )
    print(json.dumps(summary, indent=2))
    return 0

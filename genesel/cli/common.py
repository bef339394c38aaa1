"""What the verbs share: ``KEY=VALUE`` items, atomic table writes and GEO download options."""

from __future__ import annotations

import argparse


def key_value_pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` command-line items -> pairs; a malformed item is a usage error."""
    pairs = [item.partition("=")[::2] for item in items]
    bad = [item for item, (key, value) in zip(items, pairs) if not key or not value]
    if bad:
        raise SystemExit(f"genesel: error: {option} expects KEY=VALUE, got {bad[0]!r}")
    return pairs


def write_atomic(table, path, sep: str) -> None:
    from genesel.io import write_table

    write_table(table, path, sep=sep)


def geo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", default="resources/geo", help="download cache folder (default: %(default)s)")
    p.add_argument("--base-url", default=None, help="GEO's root URL, the folder holding datasets/, series/ and "
                   "platforms/ (default: $GENESEL_GEO_URL or https://ftp.ncbi.nlm.nih.gov/geo)")
    p.add_argument("--platform", default=None, metavar="GPL",
                   help="a series on several platforms: the platform whose matrix to use")

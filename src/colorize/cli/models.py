"""CLI commands of this area (filled in by its feature work)."""

from __future__ import annotations


def register(subparsers) -> None:
    pass

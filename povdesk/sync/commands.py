"""CLI commands for sync bundles (keys, bundle export/import/inspect, conflicts); registered by povdesk.cli.build_parser."""

from __future__ import annotations

import argparse
from collections.abc import Callable

AddCommand = Callable[[str, Callable[[argparse.Namespace], int], str, str], argparse.ArgumentParser]


def register(add: AddCommand) -> None:
    """Add this package's subcommands: add(name, func, help_zh, help_en) returns the subparser."""

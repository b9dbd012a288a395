"""Allows `python -m povdesk.cli` (the same as `python -m povdesk`)."""

from povdesk.cli import main

raise SystemExit(main())

"""Allows `python -m povdesk`."""

from povdesk.cli import main

raise SystemExit(main())

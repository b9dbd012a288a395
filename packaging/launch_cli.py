"""Entry point of the frozen console executable `povdesk` (the same as the `povdesk` console script)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # Needed by a frozen program before anything starts a child process with "spawn" (Windows);
    # a no-op elsewhere. povdesk forks only on Linux today, but this keeps that choice free.
    multiprocessing.freeze_support()
    from povdesk.cli import main

    sys.exit(main())

"""Entry point of the frozen windowed executable `povdesk-app` (the same as the `povdesk-app` script).

With POVDESK_SMOKE_REPORT set, packaging/frozen_smoke.py drives one start of the real app (log in
to the demo, wait for the check, open the dashboard, measure, close) and writes a JSON report
there; packaging/check_frozen.sh uses it. Without that variable nothing of it is loaded.
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if os.environ.get("POVDESK_SMOKE_REPORT"):
        import frozen_smoke

        sys.exit(frozen_smoke.run(sys.argv[1:]))
    from povdesk.ui.app import main

    sys.exit(main())

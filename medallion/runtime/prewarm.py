"""Imported by the server process of ``parallel.prewarm``: it runs the ``warm_up()`` of the modules it was
given, so that the workers forked from it start with their models loaded."""

import os
import warnings

from medallion.runtime.parallel import PREWARM_ENV, warm_up

# Each worker re-runs the parent's main module as __mp_main__ (multiprocessing's spawn preparation); for a
# step run as `python -m steps.x` whose module this server already imported, runpy warns about that. The
# module's main() is behind its __name__ guard, so the warning says nothing a user can act on.
warnings.filterwarnings(
    "ignore", message=".*found in sys.modules after import of package", category=RuntimeWarning
)

warm_up([name for name in os.environ.get(PREWARM_ENV, "").split(",") if name])

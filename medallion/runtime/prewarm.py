"""Imported by the server process of ``parallel.prewarm``: it runs the ``warm_up()`` of the modules it was
given, so that the workers forked from it start with their models loaded."""

import os

from medallion.runtime.parallel import PREWARM_ENV, warm_up

warm_up([name for name in os.environ.get(PREWARM_ENV, "").split(",") if name])

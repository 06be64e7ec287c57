"""``python -m medallion.cli``: what the base image and the Argo exit handler run."""

import sys

from medallion.cli import main

sys.exit(main())

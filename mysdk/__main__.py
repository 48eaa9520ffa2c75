"""``python -m mysdk``: the ``mysdk`` command (see :mod:`mysdk.cli`)."""

import sys

from mysdk.cli import main

sys.exit(main())

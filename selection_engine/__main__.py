"""``python -m selection_engine key=value ...`` is the same as ``winnow key=value ...``."""

import sys

from .cli import main

sys.exit(main())

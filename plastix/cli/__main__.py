"""``python -m plastix.cli``: the ``plastix`` console script."""

import sys

from plastix.cli import main

sys.exit(main())

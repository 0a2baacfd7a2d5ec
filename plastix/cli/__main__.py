"""``python -m plastix.cli``: the ``plastix`` console script."""

import sys

from plastix.cli import console

if __name__ == "__main__":  # worker processes (spawn) import this module again
    sys.exit(console())

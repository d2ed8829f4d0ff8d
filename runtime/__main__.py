"""``python -m arborist.runtime``: the ``arborist`` command line (see ``arborist --help``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

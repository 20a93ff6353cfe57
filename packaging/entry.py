"""The frozen app's entry point: the same ``main`` as the ``fetalview`` console script."""

import sys

from fetalview.cli import main

if __name__ == "__main__":
    sys.exit(main())

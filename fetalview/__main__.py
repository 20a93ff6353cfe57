import sys

from fetalview.cli import main

sys.exit(main())

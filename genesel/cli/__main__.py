"""``python -m genesel.cli``: the ``genesel`` console script."""

import sys

from genesel.cli import main

sys.exit(main())

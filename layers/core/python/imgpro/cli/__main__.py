"""`python -m imgpro.cli`: the `imgpro` command."""

import sys

from imgpro.cli import main

sys.exit(main())

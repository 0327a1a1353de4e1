"""`python -m colorize ...` == `colorize ...` (also what `torchrun -m colorize train ...` runs)."""

import sys

from colorize.cli import main

sys.exit(main())

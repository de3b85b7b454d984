"""`python -m styleforge` (what torchrun launches) runs the CLI."""

import sys

from styleforge.cli import main

sys.exit(main())

"""`python -m liveloom` is the `liveloom` command."""

import sys

from liveloom.server.cli import main

sys.exit(main())

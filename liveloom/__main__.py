"""`python -m liveloom` is the `liveloom` command."""

import sys

from liveloom.server.cli import main

if __name__ == "__main__":  # not when a spawned worker process imports it
    sys.exit(main())

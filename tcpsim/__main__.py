"""``python -m tcpsim``: the same as the ``tcpsim`` command."""

import sys

from tcpsim.cli import main

sys.exit(main())

"""`python -m dse.cli`: the `dse` command."""

from __future__ import annotations

import sys

from dse.cli import main

sys.exit(main())

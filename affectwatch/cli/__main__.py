"""`python -m affectwatch.cli ARGS`: the same as `affectwatch ARGS`."""

import sys

from affectwatch.cli.main import main

sys.exit(main())

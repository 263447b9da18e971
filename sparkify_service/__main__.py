"""python -m sparkify_service: the same as `make serve` (the Makefile sets DAGSTER_HOME and the sample)."""

import sys

from sparkify_service.serve import main

sys.exit(main())

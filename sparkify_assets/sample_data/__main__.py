"""`python -m sparkify_assets.sample_data`."""

import sys

from sparkify_assets.sample_data.cli import main

sys.exit(main())

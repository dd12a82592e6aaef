#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Entry point of series_checks.py, the upstream-readiness checks of the
series: the code is kunit_runner/series_checks.py; see SERIES_CHECKS.md."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from kunit_runner import buildenv  # noqa: E402
from kunit_runner.series_checks import ENV, main  # noqa: E402

if __name__ == '__main__':
	buildenv.use_ccache(ENV)
	sys.exit(main())

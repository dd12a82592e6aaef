#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""verdict.py RESULTS.json: a verdict per contract item (kunit_runner/verdict.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from kunit_runner.verdict import main  # noqa: E402

if __name__ == '__main__':
	sys.exit(main())

# SPDX-License-Identifier: GPL-2.0
"""selftest: the runner's unittest self-tests (tests/)."""

import json
import sys
from pathlib import Path

from .cache import TOOL_DIR
from .errors import EXIT_OK, EXIT_TESTS_FAILED
from .proc import out
from .results import summary_line


def run_selftests(verbosity=1):
	"""Run the unittest self-tests; return (passed, failed, skipped)."""
	import unittest
	suite = unittest.defaultTestLoader.discover(str(TOOL_DIR / 'tests'), top_level_dir=str(TOOL_DIR / 'tests'))
	res = unittest.TextTestRunner(stream=sys.stdout, verbosity=verbosity).run(suite)
	failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
	skipped = len(res.skipped)
	return res.testsRun - failed - skipped, failed, skipped


def cmd_selftest(args):
	counts = run_selftests(verbosity=2 if args.verbose else 1)
	if args.counts_file:
		Path(args.counts_file).write_text(json.dumps(counts))
	out(summary_line(*counts))
	return EXIT_OK if counts[1] == 0 else EXIT_TESTS_FAILED

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Entry point of e2e.py, the end-to-end test under QEMU: the code is
kunit_runner/e2e.py; see e2e/README.md."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from kunit_runner import buildenv  # noqa: E402
from kunit_runner.e2e import EXIT_INTERNAL, main, say  # noqa: E402

if __name__ == '__main__':
	buildenv.use_ccache()
	try:
		sys.exit(main())
	except SystemExit:
		raise
	except BaseException:
		import traceback
		traceback.print_exc()
		say('internal error')
		sys.exit(EXIT_INTERNAL)

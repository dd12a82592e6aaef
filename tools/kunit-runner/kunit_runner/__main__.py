# SPDX-License-Identifier: GPL-2.0
"""python3 -m kunit_runner (from tools/kunit-runner): the runner without
the ccache setup of the run script."""
import sys

from . import EXIT_INTERNAL, main, say

try:
	sys.exit(main())
except SystemExit:
	raise
except BaseException:  # noqa: any runner bug gets its own exit code
	import traceback
	traceback.print_exc()
	say('internal error')
	sys.exit(EXIT_INTERNAL)

# SPDX-License-Identifier: GPL-2.0
"""Exit codes of the runner and its one error type (README.md, "Exit codes")."""

import errno
import re

EXIT_OK = 0
EXIT_TESTS_FAILED = 1
EXIT_USAGE = 2
EXIT_ENV = 3
EXIT_SERIES = 4
EXIT_BUILD = 5
EXIT_DIRTY = 6
EXIT_CHECKSUM = 7
EXIT_INTERNAL = 8
EXIT_EXPORT = 9
EXIT_CLEAN = 10
EXIT_INTERRUPTED = 130

EXIT_CODES = {
	EXIT_OK: 'all tests passed',
	EXIT_TESTS_FAILED: 'tests failed, kernel splats, or no test ran',
	EXIT_USAGE: 'bad usage or input (options, wrong --kernel path, bad patches/series or --series)',
	EXIT_ENV: 'missing environment (tool not installed, base cannot be fetched: no network, '
	'or the archive no longer lists the pinned version; disk full); test-all: every failed '
	'stage failed for such a reason',
	EXIT_SERIES: 'the series does not apply (git am failed; aborted)',
	EXIT_BUILD: 'build failed (kunit.py config or kernel build)',
	EXIT_DIRTY: 'work tree has unexported edits; refusing to overwrite it',
	EXIT_CHECKSUM: 'downloaded base failed checksum verification',
	EXIT_INTERNAL: 'internal error of the runner',
	EXIT_EXPORT: 'export refused: the work tree does not hold the whole series and the placed '
	'files (a patch did not apply, a prepare was interrupted, or patches/ changed since), or '
	'it holds a series given with --series/--applied',
	EXIT_INTERRUPTED: 'interrupted (Ctrl-C)',
}
EXIT_CODES[EXIT_CLEAN] = ('clean refused: a work tree in the cache has unexported edits (or cannot '
			  'be told from them); nothing was deleted')

# A build that fails for want of disk space is an infrastructure failure.
DISK_FULL_RE = re.compile(r'No space left on device|Disk quota exceeded')
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class RunnerError(Exception):
	"""An error with an exit code and a one-line message."""

	def __init__(self, code, message):
		super().__init__(message)
		self.code = code
		self.message = message


# Exit codes of an infrastructure failure: the machine, not the code tested.
INFRA_CODES = (EXIT_ENV, EXIT_CHECKSUM)


def disk_error(e):
	"""RunnerError(EXIT_ENV) for an OSError of a full disk, else None."""
	if isinstance(e, OSError) and e.errno in DISK_ERRNOS:
		return RunnerError(EXIT_ENV, f'no space left on the device: {e.filename or ""} '
				   f'({e.strerror})')
	return None

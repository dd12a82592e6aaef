# SPDX-License-Identifier: GPL-2.0
"""The runner's side of the build lock (buildlock.py, the one implementation)."""

from . import buildlock
from .errors import EXIT_ENV, RunnerError
from .proc import say


class FileLock(buildlock.FileLock):
	"""buildlock.FileLock (the lock of e2e.py and series_checks.py too),
	saying through say() and failing with a RunnerError (EXIT_ENV)."""

	def __init__(self, path, what, timeout=None, shared=False):
		super().__init__(path, what, timeout, shared, say=lambda m: say(m))

	def __enter__(self):
		try:
			return super().__enter__()
		except buildlock.LockError as e:
			raise RunnerError(EXIT_ENV, str(e)) from None

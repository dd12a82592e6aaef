# SPDX-License-Identifier: GPL-2.0
"""buildlock: the one file lock of the runner, e2e.py and series_checks.py.

Builds on the machine queue up on one lock file, BUILD_LOCK (env
NOIRQ_KUNIT_LOCK).  It is created 0666 so that every user can take it; a
lock file that another user created 0644 is opened read-only, which
flock() accepts.  Errors are one line (LockError).
"""
import fcntl
import os
import time

BUILD_LOCK = '/tmp/noirq-kunit-build.lock'


class LockError(Exception):
	"""The lock file cannot be opened or the wait timed out."""


def build_lock_path(environ=None):
	env = os.environ if environ is None else environ
	return env.get('NOIRQ_KUNIT_LOCK') or BUILD_LOCK


def _open_existing(path):
	"""Open an existing lock file; read-only when it is not writable.

	FileNotFoundError is passed on.
	"""
	try:
		return os.open(path, os.O_RDWR | os.O_CLOEXEC)
	except PermissionError:
		pass
	try:
		return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
	except PermissionError:
		raise LockError(f'cannot open the lock file {path}: permission denied '
				'(its owner can allow other users with chmod 0666)')


def open_lock(path, mode):
	"""A descriptor of the lock file @path, created with @mode if missing.

	An existing file is opened without O_CREAT: in a sticky directory like
	/tmp, fs.protected_regular refuses O_CREAT on a file of another user.
	"""
	for _ in range(3):
		try:
			return _open_existing(path)
		except FileNotFoundError:
			pass
		try:
			fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
		except FileExistsError:
			continue  # created by another process meanwhile
		except OSError as e:
			raise LockError(f'cannot create the lock file {path}: {e.strerror}')
		os.fchmod(fd, mode)  # not narrowed by the umask
		return fd
	raise LockError(f'cannot open the lock file {path}')


class FileLock:
	"""Exclusive fcntl.flock on @path; says once (through @say) if it has to wait.

	@shared: a machine-wide lock that every user must be able to take, so
	a new lock file is created 0666.  @timeout None waits as long as it
	takes, like flock(1).
	"""

	def __init__(self, path, what, timeout=None, shared=False, say=print):
		self.path, self.what, self.timeout = str(path), what, timeout
		self.mode = 0o666 if shared else 0o644
		self.say = say
		self.f = None

	def __enter__(self):
		self.f = open_lock(self.path, self.mode)
		try:
			fcntl.flock(self.f, fcntl.LOCK_EX | fcntl.LOCK_NB)
			return self
		except BlockingIOError:
			pass
		self.say(f'waiting for the {self.what} lock {self.path} (another build is running)')
		if self.timeout is None:
			fcntl.flock(self.f, fcntl.LOCK_EX)
			return self
		t0 = time.time()
		while True:
			try:
				fcntl.flock(self.f, fcntl.LOCK_EX | fcntl.LOCK_NB)
				return self
			except BlockingIOError:
				if time.time() - t0 > self.timeout:
					os.close(self.f)
					self.f = None
					raise LockError(f'timed out waiting for {self.path}')
				time.sleep(0.5)

	def __exit__(self, *exc):
		fcntl.flock(self.f, fcntl.LOCK_UN)
		os.close(self.f)
		self.f = None

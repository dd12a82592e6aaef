# SPDX-License-Identifier: GPL-2.0
"""Self-tests of buildlock.py, the one lock of run, e2e.py and series_checks.py."""

import os
import stat
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from kunit_runner import buildlock  # noqa: E402
from kunit_runner import e2e  # noqa: E402
from kunit_runner import series_checks  # noqa: E402


def runner_sources():
	"""The files of the kunit_runner package (relative to tools/kunit-runner)."""
	return sorted(f'kunit_runner/{p.name}' for p in (HERE.parent / 'kunit_runner').glob('*.py')
		      if p.name != 'buildlock.py')


def quiet(msg):
	pass


class OtherUsersLock:
	"""os.open as for a lock file @path that another user created 0644:
	it opens read-only only (or not at all with @unreadable)."""

	def __init__(self, path, unreadable=False):
		self.path, self.unreadable = str(path), unreadable
		self.real = os.open
		self.calls = []

	def __call__(self, path, flags, *a, **kw):
		if str(path) == self.path:
			self.calls.append(flags)
			if self.unreadable or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
				raise PermissionError(13, 'Permission denied', self.path)
		return self.real(path, flags, *a, **kw)


class BuildLockTest(unittest.TestCase):
	def setUp(self):
		self._tmp = tempfile.TemporaryDirectory(prefix='kunit-runner-lock-')
		self.lock = Path(self._tmp.name) / 'build.lock'

	def tearDown(self):
		self._tmp.cleanup()

	def test_lock_file_of_another_user_is_taken_read_only(self):
		self.lock.write_text('')
		fake = OtherUsersLock(self.lock)
		with mock.patch.object(os, 'open', fake):
			with buildlock.FileLock(self.lock, 'build', shared=True, say=quiet):
				# the read-only descriptor really holds the lock
				with self.assertRaises(buildlock.LockError) as cm:
					with buildlock.FileLock(self.lock, 'build', timeout=0.2,
								say=quiet):
						pass
				self.assertIn('timed out', str(cm.exception))
		self.assertIn(os.O_RDONLY | os.O_CLOEXEC, fake.calls)
		self.assertFalse(any(f & os.O_CREAT for f in fake.calls))

	def test_unopenable_lock_file_is_one_line(self):
		self.lock.write_text('')
		with mock.patch.object(os, 'open', OtherUsersLock(self.lock, unreadable=True)):
			with self.assertRaises(buildlock.LockError) as cm:
				with buildlock.FileLock(self.lock, 'build', say=quiet):
					pass
		msg = str(cm.exception)
		self.assertIn(str(self.lock), msg)
		self.assertNotIn('\n', msg)

	def test_new_lock_file_is_shared_despite_the_umask(self):
		old = os.umask(0o022)
		try:
			with buildlock.FileLock(self.lock, 'build', shared=True, say=quiet):
				pass
		finally:
			os.umask(old)
		self.assertEqual(stat.S_IMODE(self.lock.stat().st_mode), 0o666)

	def test_waiting_is_said_once(self):
		said = []
		with buildlock.FileLock(self.lock, 'build', say=quiet):
			with self.assertRaises(buildlock.LockError):
				with buildlock.FileLock(self.lock, 'build', timeout=0.6, say=said.append):
					pass
		self.assertEqual(len(said), 1)
		self.assertIn('waiting for the build lock', said[0])

	def test_path_from_the_environment(self):
		self.assertEqual(buildlock.build_lock_path({}), buildlock.BUILD_LOCK)
		self.assertEqual(buildlock.build_lock_path({'NOIRQ_KUNIT_LOCK': '/x/l'}), '/x/l')

	def test_e2e_and_series_checks_use_it(self):
		"""Both take a 0644 lock of another user; an unopenable one is
		their missing-environment error, in one line."""
		self.lock.write_text('')
		with mock.patch.object(os, 'open', OtherUsersLock(self.lock)):
			with mock.patch.object(e2e, 'say', quiet):
				with e2e.BuildLock(str(self.lock)):
					pass
			with mock.patch.object(series_checks, 'LOCK', str(self.lock)):
				with series_checks.Lock():
					pass
		with mock.patch.object(os, 'open', OtherUsersLock(self.lock, unreadable=True)):
			with self.assertRaises(e2e.E2EError) as cm:
				with e2e.BuildLock(str(self.lock)):
					pass
			self.assertEqual(cm.exception.code, e2e.EXIT_ENV)
			with mock.patch.object(series_checks, 'LOCK', str(self.lock)):
				with self.assertRaises(series_checks.EnvError):
					with series_checks.Lock():
						pass

	def test_no_other_lock_implementation(self):
		for name in runner_sources() + ['e2e.py', 'series_checks.py']:
			src = (HERE.parent / name).read_text()
			with self.subTest(name=name):
				self.assertNotIn('fcntl', src)


if __name__ == '__main__':
	unittest.main()

# SPDX-License-Identifier: GPL-2.0
"""Self-tests of buildenv.use_ccache() (no compiler is run)."""
import os
import unittest
from unittest import mock

from kunit_runner import buildenv


class UseCcacheTest(unittest.TestCase):
	def env(self, **kw):
		return dict({'PATH': '/usr/bin:/bin', 'HOME': '/home/u'}, **kw)

	def test_wrappers_first_and_one_dir_for_every_cache(self):
		env = self.env()
		with mock.patch('os.path.isfile', return_value=True):
			d = buildenv.use_ccache(env)
		self.assertEqual(env['PATH'], '/usr/lib/ccache:/usr/bin:/bin')
		self.assertEqual(d, '/home/u/.cache/noirq-kunit-ccache')
		# base_dir would change __FILE__ in the kernel (buildenv.py).
		self.assertNotIn('CCACHE_BASEDIR', env)
		self.assertEqual(env['CCACHE_DEPEND'], '1')

	def test_twice_adds_the_wrappers_once(self):
		env = self.env()
		with mock.patch('os.path.isfile', return_value=True):
			buildenv.use_ccache(env)
			buildenv.use_ccache(env)
		self.assertEqual(env['PATH'].count('/usr/lib/ccache'), 1)

	def test_caller_settings_kept(self):
		env = self.env(CCACHE_DIR='/x', CCACHE_MAXSIZE='1G', CCACHE_DEPEND='0')
		with mock.patch('os.path.isfile', return_value=True):
			self.assertEqual(buildenv.use_ccache(env), '/x')
		self.assertEqual(env['CCACHE_MAXSIZE'], '1G')
		self.assertEqual(env['CCACHE_DEPEND'], '0')
		env = self.env(XDG_CACHE_HOME='/c')
		with mock.patch('os.path.isfile', return_value=True):
			self.assertEqual(buildenv.use_ccache(env), '/c/noirq-kunit-ccache')

	def test_off_or_not_installed_changes_nothing(self):
		for env, installed in ((self.env(NOIRQ_KUNIT_CCACHE='0'), True),
				       (self.env(), False)):
			before = dict(env)
			with mock.patch('os.path.isfile', return_value=installed):
				self.assertIsNone(buildenv.use_ccache(env))
			self.assertEqual(env, before)


if __name__ == '__main__':
	unittest.main()

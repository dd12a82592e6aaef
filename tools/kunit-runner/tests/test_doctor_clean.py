# SPDX-License-Identifier: GPL-2.0
"""Self-tests of `run doctor` and `run clean` (temporary caches; nothing is
installed, no kernel is built)."""

import os
import sys
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
try:
	from . import test_kunit_runner as tk
except ImportError:
	import test_kunit_runner as tk
import hostenv  # noqa: E402
import kunit_runner as kr  # noqa: E402


def only_present(tools):
	"""hostenv.present() for a machine with exactly @tools."""
	return lambda tool, path=None: tool in tools


class DoctorTest(tk.TestCase):
	def findings(self):
		return [l for l in self.e.output.splitlines() if l.startswith('kunit-runner: doctor: ')]

	def test_missing_packages_is_one_line_of_the_tier(self):
		ci = hostenv.tier_tools('ci')
		gone = {'flock', 'unshare', 'qemu-system-x86_64', 'sparse'}
		with mock.patch.object(hostenv, 'present', only_present(set(ci) - gone)):
			self.assertCode(self.e.main('doctor', '--missing-packages'), 0)
			self.assertEqual(self.e.output, 'qemu-system-x86 util-linux\n')
			self.assertCode(self.e.main('doctor', '--missing-packages', '--full'), 0)
			self.assertEqual(self.e.output, 'gcc-aarch64-linux-gnu qemu-system-arm qemu-system-x86 '
					 'sparse util-linux\n')
		with mock.patch.object(hostenv, 'present', only_present(hostenv.tier_tools('full'))):
			self.assertCode(self.e.main('doctor', '--missing-packages', '--full'), 0)
			self.assertEqual(self.e.output, '\n')

	def test_every_missing_package_at_once(self):
		gone = {'lcov', 'genhtml', 'busybox', '/usr/include/gelf.h', 'ccache'}
		with mock.patch.object(hostenv, 'present', only_present(set(hostenv.TOOL_PACKAGES) - gone)):
			self.assertCode(self.e.main('doctor'), kr.EXIT_ENV)
		miss = [l for l in self.findings() if 'MISSING' in l]
		self.assertEqual(len(miss), 1, self.e.output)
		self.assertIn('busybox-static ccache lcov libelf-dev (for ', miss[0])
		self.assertTrue(self.e.output.strip().splitlines()[-1].endswith(f'(exit {kr.EXIT_ENV})'))

	def test_everything_there(self):
		with mock.patch.object(hostenv, 'present', only_present(set(hostenv.TOOL_PACKAGES))):
			self.assertCode(self.e.main('doctor'), 0)
		out = self.e.output
		self.assertNotIn('MISSING', out)
		for what in ('packages:', 'disk:', 'base: --kernel', 'build lock:', 'kvm:', 'ccache:'):
			self.assertEqual(len([l for l in self.findings() if what in l]), 1, what)
		self.assertTrue(all(l.startswith('kunit-runner: doctor: ') for l in out.splitlines()), out)

	def test_too_little_disk_space(self):
		st = os.statvfs(self.e.tmp)
		tiny = mock.Mock(f_bavail=1 << 10, f_frsize=st.f_frsize)
		with mock.patch.object(hostenv, 'present', only_present(set(hostenv.TOOL_PACKAGES))), \
		     mock.patch.object(kr.os, 'statvfs', return_value=tiny):
			self.assertCode(self.e.main('doctor'), kr.EXIT_ENV)
		self.assertIn('(too little space)', self.e.output)
		self.assertIn(f'needs about {kr.DOCTOR_DISK_GB["ci"]} GB', self.e.output)

	def test_unusable_build_lock_and_no_mirror(self):
		lock = self.e.env['NOIRQ_KUNIT_LOCK']
		tk.write(lock, '')
		real = os.open

		def fake_open(path, flags, *a, **kw):
			if str(path) == lock:
				raise PermissionError(13, 'Permission denied', lock)
			return real(path, flags, *a, **kw)
		tk.write(self.e.tmp / 'apt/sources.list', '# none\n')
		env = {'NOIRQ_KUNIT_APT_ETC': str(self.e.tmp / 'apt')}
		with mock.patch.object(hostenv, 'present', only_present(set(hostenv.TOOL_PACKAGES))), \
		     mock.patch.object(os, 'open', fake_open):
			self.assertCode(self.e.main('doctor', kernel=False, extra_env=env), kr.EXIT_ENV)
		bad = [l for l in self.findings() if 'MISSING' in l]
		self.assertEqual(len(bad), 2, self.e.output)
		self.assertIn('build lock: cannot open the lock file', bad[1])
		self.assertIn('base: not cached', bad[0])

	def test_kvm_is_reported_never_required(self):
		tmp = self.e.tmp
		self.assertIn('absent', kr.kvm_finding(str(tmp / 'kvm')))
		tk.write(tmp / 'kvm', '')
		self.assertIn('opens', kr.kvm_finding(str(tmp / 'kvm')))
		with mock.patch.object(os, 'open', side_effect=PermissionError(13, 'Permission denied')):
			self.assertIn('does not open (Permission denied)', kr.kvm_finding(str(tmp / 'kvm')))


if __name__ == '__main__':
	unittest.main()

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
from kunit_runner import hostenv  # noqa: E402
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
		     mock.patch.object(kr.doctor.os, 'statvfs', return_value=tiny):
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


def tree_listing(root):
	"""{relpath: content or None (a directory)} of everything under @root."""
	res = {}
	for p in sorted(Path(root).rglob('*')):
		rel = str(p.relative_to(root))
		res[rel] = None if p.is_dir() and not p.is_symlink() else \
			(os.readlink(p) if p.is_symlink() else p.read_bytes())
	return res


class CleanTest(tk.TestCase):
	def setUp(self):
		super().setUp()
		self.assertCode(self.e.main('run'), 0)
		self.deb = self.e.cache / 'dl' / 'base.deb'
		tk.write(self.deb, 'deb\n')

	def assertRefused(self):
		before_repo, before = tk.repo_files(self.e.repo), tree_listing(self.e.cache)
		self.assertCode(self.e.main('clean', '--all'), kr.EXIT_CLEAN)
		self.assertEqual(len(self.e.output.strip().splitlines()), 1, self.e.output)
		self.assertIn('clean refused (nothing was deleted)', self.e.output)
		self.assertEqual(before, tree_listing(self.e.cache))
		self.assertEqual(before_repo, tk.repo_files(self.e.repo))

	def test_removes_what_can_be_rebuilt_and_keeps_the_rest(self):
		wt = self.e.wt
		repo = tk.repo_files(self.e.repo)
		tk.write(self.e.cache / 'mine.txt', 'my notes\n')
		tk.write(self.e.cache / 'work' / 'notes.txt', 'more notes\n')
		tk.write(self.e.cache / 'series-checks' / 'linux' / 'Makefile', 'scratch\n')
		# the build dir lives in the work tree; the ones aside in build/
		self.assertTrue((wt / '.build-um' / '.config').is_file())
		tk.write(self.e.cache / 'build' / 'linux-um-coverage' / 'x.o', 'obj\n')
		self.assertCode(self.e.main('clean'), 0)
		self.assertFalse(wt.exists())
		for gone in ('build', 'series-checks'):
			self.assertFalse((self.e.cache / gone).exists(), gone)
		self.assertEqual([p.name for p in (self.e.cache / 'work').iterdir()], ['notes.txt'])
		self.assertIn('left', self.e.output)
		self.assertEqual(self.deb.read_text(), 'deb\n')
		self.assertEqual((self.e.cache / 'mine.txt').read_text(), 'my notes\n')
		self.assertEqual(repo, tk.repo_files(self.e.repo))
		self.assertIn('kept dl/', self.e.output.strip().splitlines()[-1])
		# and the next run rebuilds it all
		self.assertCode(self.e.main('run'), 0)
		self.assertTrue(wt.is_dir())

	def test_all_drops_the_deb_and_the_runners_ccache_only(self):
		xdg = self.e.tmp / 'xdg'
		own = xdg / 'noirq-kunit-ccache'
		tk.write(own / 'a' / 'obj', 'cached\n')
		env = {'XDG_CACHE_HOME': str(xdg), 'CCACHE_DIR': str(own)}
		self.assertCode(self.e.main('clean', '--all', extra_env=env), 0)
		self.assertFalse(self.deb.exists())
		self.assertFalse(own.exists())
		mine = self.e.tmp / 'my-ccache'
		tk.write(mine / 'obj', 'mine\n')
		env['CCACHE_DIR'] = str(mine)
		self.assertCode(self.e.main('clean', '--all', extra_env=env), 0)
		self.assertEqual((mine / 'obj').read_text(), 'mine\n')
		self.assertIn('kept CCACHE_DIR', self.e.output)

	def test_refuses_an_uncommitted_edit(self):
		tk.write(self.e.wt / 'drivers/virtio/virtio_mmio.c', 'my edit\n')
		self.assertRefused()
		self.assertIn('uncommitted change to drivers/virtio/virtio_mmio.c', self.e.output)

	def test_refuses_an_unexported_commit(self):
		tk.write(self.e.wt / 'drivers/virtio/virtio_mmio.c', 'my edit\n')
		tk.git(self.e.wt, 'commit', '-q', '-am', 'my commit')
		self.assertRefused()

	def test_refuses_an_edited_placed_file(self):
		tk.write(self.e.wt / 'drivers/virtio/tests/virtio_pm_test.c', '/* mine */\n')
		self.assertRefused()

	def test_refuses_every_work_tree_not_only_the_first(self):
		self.assertCode(self.e.main('tree', '--upto', '0'), 0)
		upto = self.e.wt.with_name(self.e.wt.name + '-upto')
		self.assertTrue(upto.is_dir())
		tk.write(upto / 'drivers/virtio/virtio.c', 'my edit\n')
		self.assertRefused()

	def test_refuses_a_tree_without_runner_state(self):
		self.e.wt.with_name(self.e.wt.name + '.state.json').unlink()
		self.assertRefused()

	def test_interrupted_prepare(self):
		tk.write(self.e.repo / 'patches/0001-virtio-add-noirq.patch', tk.make_patch(
			self.e.kernel, self.e.tmp / 'p1b', {'drivers/virtio/virtio.c': 'int noirq2;\n'},
			'virtio: add noirq').read_text())
		with tk.interrupt_git_am(2):
			self.assertCode(self.e.main('tree'), kr.EXIT_INTERRUPTED)
		tk.write(self.e.wt / 'drivers/virtio/virtio_mmio.c', 'my edit after\n')
		self.assertRefused()
		self.assertIn('a prepare was interrupted', self.e.output)
		tk.git(self.e.wt, 'checkout', '-q', '--', 'drivers/virtio/virtio_mmio.c')
		self.assertCode(self.e.main('clean'), 0)
		self.assertFalse(self.e.wt.exists())

	def test_never_a_cache_that_holds_the_repo(self):
		before = tk.repo_files(self.e.repo)
		self.assertCode(self.e.main('clean', '--cache', str(self.e.tmp)), kr.EXIT_USAGE)
		self.assertEqual(before, tk.repo_files(self.e.repo))
		self.assertTrue(self.e.cache.is_dir())


if __name__ == '__main__':
	unittest.main()

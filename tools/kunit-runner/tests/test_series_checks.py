# SPDX-License-Identifier: GPL-2.0
"""Self-tests of the pure parts of series_checks.py (no kernel, no build)."""

import contextlib
import io
import os
import re
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from kunit_runner import series_checks as sc  # noqa: E402

REPO = HERE.parent.parent.parent


class PosterIdentityTest(unittest.TestCase):
	def test_a_real_identity_is_used(self):
		self.assertEqual(sc.poster_identity('Ada Tester <ada@tester.dev>'),
				 'Ada Tester <ada@tester.dev>')

	def test_placeholders_are_refused(self):
		for ident in ('Dev <dev@example.org>', 'J <j@example.com>',
			      'J <j@host.example>', 'J <j@localhost>', 'J <j@x.invalid>',
			      'no email', 'J <>'):
			with self.subTest(ident=ident):
				with self.assertRaises(sc.UsageError):
					sc.poster_identity(ident)

	def test_no_git_identity_is_refused(self):
		with mock.patch.object(sc, 'run', return_value=(1, '')):
			with self.assertRaises(sc.UsageError) as cm:
				sc.poster_identity(None)
		self.assertIn('no git identity', str(cm.exception))


class PostingSplitTest(unittest.TestCase):
	"""patches/test-patches.txt splits the project's real tests into
	patches that each build: checked on the real files, stage by stage."""

	def setUp(self):
		self.groups = sc.parse_test_patches(Path(sc.TEST_PATCHES).read_text())
		self.dir = REPO / sc.TESTS_DIR
		self.kconfig = (self.dir / 'Kconfig').read_text()
		self.tests = set(sc.kconfig_symbols(self.kconfig))

	def stages(self):
		"""(files, symbols) posted after each group."""
		files, syms = set(), set()
		for g in self.groups:
			files |= set(g['files'])
			syms |= set(g['config'])
			yield set(files), set(syms)

	def test_every_test_file_is_in_one_group(self):
		own = {p.name for p in self.dir.iterdir()} - set(sc.SHARED_TEST_FILES)
		own -= {Path(f).name for f in sc.MBOX_EXCLUDE}
		files = [f for g in self.groups for f in g['files']]
		self.assertEqual(sorted(files), sorted(own))

	def test_groups_follow_patches_of_the_series(self):
		subjects = []
		for p in sorted((REPO / 'patches').glob('0*.patch')):
			m = re.search(r'^Subject: \[PATCH[^]]*\] (.*(?:\n .*)*)',
				      p.read_text(), re.M)
			subjects.append(' '.join(m.group(1).split()))
		after = [subjects.index(g['after']) for g in self.groups]
		self.assertEqual(after, sorted(after))
		for g in self.groups:
			self.assertTrue(set(g['config']) <= self.tests, g['config'])
			self.assertIn('\n\n', g['body'].strip())

	def test_each_stage_builds_only_what_it_posts(self):
		make = (self.dir / 'Makefile').read_text()
		kunit = (self.dir / '.kunitconfig').read_text()
		for files, syms in self.stages():
			with self.subTest(syms=sorted(syms)):
				k = sc.filter_kconfig(self.kconfig, syms)
				self.assertEqual(set(sc.kconfig_symbols(k)), syms)
				m = sc.filter_makefile(make, syms)
				objs = set(re.findall(r'(\w+)\.o\b', m))
				srcs = {f[:-2] for f in files if f.endswith('.c')}
				self.assertEqual(objs - {'virtio_pm_test',
							 'virtio_mmio_test'}, srcs)
				self.assertNotIn('gcov', m)
				self.assertNotIn('E2E', m + k)
				kc = sc.filter_kunitconfig(kunit, syms, self.tests)
				used = set(re.findall(r'^CONFIG_(\w+)=', kc, re.M))
				self.assertEqual(used & self.tests,
						 syms & set(re.findall(
							 r'^CONFIG_(\w+)=', kunit, re.M)))

	def test_excluded_files_exist(self):
		for f in sc.MBOX_EXCLUDE:
			self.assertTrue((REPO / f).is_file(), f)

	def test_bad_entries_are_refused(self):
		for text in ('After: x\nFiles: a\nConfig: B\n\nbody\n',
			     'After: x\nFiles: a\nConfig: B\nSubject: s\n',
			     'Typo: x\nAfter: x\nFiles: a\nConfig: B\nSubject: s\n'
			     '\nbody\n'):
			with self.subTest(text=text):
				with self.assertRaises(RuntimeError):
					sc.parse_test_patches(text)


class KunitconfigsInStepTest(unittest.TestCase):
	"""The root .kunitconfig is the tests' one plus the series extras."""

	def options(self, path):
		return {l.strip() for l in path.read_text().splitlines()
			if l.strip() and not l.startswith('#')}

	def test_root_is_tests_plus_extras(self):
		root = self.options(REPO / '.kunitconfig')
		tests = self.options(REPO / sc.TESTS_DIR / '.kunitconfig')
		self.assertEqual(root - tests, {'CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST=y'})
		self.assertEqual(tests - root, set())


class ConfigFragmentsTest(unittest.TestCase):
	"""The build configurations are files of configs/, read by the code."""

	def lines(self, name):
		return set(sc.CONFIGS[name]['frag'].splitlines())

	def test_no_fragment_inline(self):
		src = (HERE.parent / 'kunit_runner' / 'series_checks.py').read_text()
		self.assertNotRegex(src, r'(?m)^(# )?CONFIG_\w+(=| is not set)')

	def test_fragments_set_what_each_configuration_must_have(self):
		for name in ('x86_64-pm', 'x86_64-nosleep'):
			with self.subTest(name=name):
				for sym in sc.MUST[name]:
					self.assertIn(sym + '=y', self.lines(name))
		nosleep = self.lines('x86_64-nosleep')
		for sym in ('CONFIG_SUSPEND', 'CONFIG_HIBERNATION'):
			self.assertIn('# %s is not set' % sym, nosleep)
		self.assertNotIn('CONFIG_PM_SLEEP=y', nosleep)

	def test_debug_run_adds_the_debug_fragment(self):
		with mock.patch.object(sc, 'kunit_run') as kr, \
				mock.patch.object(sc, 'checkout'):
			sc.check_debug(None, mock.Mock(), '/scratch', '/cache', None)
		extra = kr.call_args[0][4]
		for opt in ('CONFIG_KASAN=y', 'CONFIG_KASAN_VMALLOC=y', 'CONFIG_UBSAN=y'):
			self.assertIn('--kconfig_add=' + opt, extra)


DATA = HERE / 'test_data'


class CheckpatchResultTest(unittest.TestCase):
	"""checkpatch_result() on recorded checkpatch.pl output (7.3.4 base):
	checkpatch-clean.txt of patch 1 of the series, checkpatch-strict-f.txt
	of "--strict -f drivers/virtio/virtio_mmio.c" (trimmed to 6 findings)."""

	def result(self, out, rc=0, strict=True):
		res = sc.Results()
		buf = io.StringIO()
		with contextlib.redirect_stdout(buf):
			sc.checkpatch_result(res, 'checkpatch x', rc, out, strict)
		return res, buf.getvalue().splitlines()

	def test_clean_patch_passes(self):
		res, lines = self.result((DATA / 'checkpatch-clean.txt').read_text())
		self.assertEqual((res.passed, res.failed), (1, 0))
		self.assertEqual(lines, ['ok checkpatch x'])

	def test_strict_findings_fail_and_are_listed(self):
		out = (DATA / 'checkpatch-strict-f.txt').read_text()
		res, lines = self.result(out, rc=1)
		self.assertEqual((res.passed, res.failed), (0, 1))
		self.assertEqual(lines[0], 'FAIL checkpatch x: 0 errors, 3 warnings, 3 checks')
		self.assertEqual(len(lines), 1 + 5)
		self.assertTrue(all(l.startswith('    drivers/virtio/virtio_mmio.c:') for l in lines[1:]))

	def test_checks_of_test_code_are_noted_not_counted(self):
		out = (DATA / 'checkpatch-strict-f.txt').read_text()
		res, lines = self.result(out.replace('0 errors, 3 warnings', '0 errors, 0 warnings'),
					 strict=False)
		self.assertEqual((res.passed, res.failed), (1, 0))
		self.assertEqual(lines[1], '    note: 3 CHECK(s) in test code, not counted:')
		res, _ = self.result(out, strict=False)
		self.assertEqual((res.passed, res.failed), (0, 1))
		# the same CHECKs fail a patch of the series (--strict counts them)
		res, _ = self.result(out.replace('0 errors, 3 warnings', '0 errors, 0 warnings'))
		self.assertEqual((res.passed, res.failed), (0, 1))

	def test_without_strict_there_is_no_checks_count(self):
		out = (DATA / 'checkpatch-strict-f.txt').read_text().replace(
			'3 warnings, 3 checks, 947', '3 warnings, 947')
		res, lines = self.result(out)
		self.assertEqual(lines[0], 'FAIL checkpatch x: 0 errors, 3 warnings, 0 checks')

	def test_no_total_is_a_failure(self):
		res, lines = self.result('Can\'t open patch: No such file\n', rc=2)
		self.assertEqual(res.failed, 1)
		self.assertIn('checkpatch gave no total (rc 2)', lines[0])


class BuildOutputTest(unittest.TestCase):
	def test_virtio_warnings_only_and_relative(self):
		out = '\n'.join([
			'  CC      drivers/virtio/virtio.o',
			'/s/linux/drivers/virtio/virtio.c:120:5: warning: no previous prototype for '
			"'f' [-Wmissing-prototypes]",
			'../drivers/virtio/virtio_mmio.c:7: warning: Function parameter not described',
			'../../include/linux/virtio_config.h:30:1: error: expected ;',
			'include/linux/kernel.h:1:1: warning: unrelated',
			'arch/x86/kernel/setup.c:9:2: warning: not ours',
			'drivers/virtio/virtio.c:1: note: not a warning',
		])
		self.assertEqual(sc.virtio_warnings(out, '/s/linux'), [
			"drivers/virtio/virtio.c: warning: no previous prototype for 'f' "
			'[-Wmissing-prototypes]',
			'drivers/virtio/virtio_mmio.c: warning: Function parameter not described',
			'include/linux/virtio_config.h: error: expected ;'])

	def test_new_items_counts_repeats(self):
		self.assertEqual(sc.new_items(['a', 'b', 'b', 'c'], ['b', 'c', 'c']), ['a', 'b'])
		self.assertEqual(sc.new_items(['a'], ['a', 'a']), [])

	def test_result_cache(self):
		with tempfile.TemporaryDirectory() as d:
			path = os.path.join(d, 'results.json')
			k = sc.key_of('build', 'uml', 'frag', 'tree1')
			self.assertNotEqual(k, sc.key_of('build', 'uml', 'frag', 'tree2'))
			c = sc.Cache(path, True)
			self.assertIsNone(c.get(k))
			c.put(k, {'error': None, 'warnings': ['w']})
			self.assertEqual(sc.Cache(path, True).get(k), {'error': None, 'warnings': ['w']})
			self.assertIsNone(sc.Cache(path, False).get(k))


class ArgsTest(unittest.TestCase):
	def groups(self, *argv):
		return sc.parse_args(list(argv)).groups

	def test_groups(self):
		self.assertEqual(self.groups(), sc.GROUPS)
		self.assertEqual(self.groups('--quick'), ['checkpatch', 'kernel-doc', 'mbox'])
		self.assertEqual(self.groups('--only', 'checkpatch,kernel-doc'),
				 ['checkpatch', 'kernel-doc'])
		self.assertEqual(self.groups('--mbox', 'x.mbox'), ['mbox'])
		self.assertEqual(self.groups('--post', 'x.mbox'), ['mbox'])
		self.assertFalse(sc.parse_args(['--quick']).mbox_build)

	def test_unknown_group_is_usage(self):
		with contextlib.redirect_stderr(io.StringIO()):
			self.assertEqual(sc.main(['--only', 'checkpatch,lint']), sc.EXIT_USAGE)

	def test_missing_tool_is_missing_environment(self):
		with mock.patch.object(sc.hostenv, 'present', lambda t, path=None: t != 'perl'), \
		     mock.patch.object(sc.os, 'geteuid', return_value=1000), \
		     contextlib.redirect_stdout(io.StringIO()) as buf:
			self.assertEqual(sc.main(['--only', 'checkpatch']), sc.EXIT_ENV)
		self.assertIn('apt-get install -y --no-install-recommends perl', buf.getvalue())


if __name__ == '__main__':
	unittest.main()

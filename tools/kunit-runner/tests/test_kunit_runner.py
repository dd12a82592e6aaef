# SPDX-License-Identifier: GPL-2.0
"""Self-tests of kunit-runner.

Fast: they use small fake "kernel" trees (a Makefile, drivers/virtio/ and a
fake tools/testing/kunit/kunit.py that writes canned results), fake apt-get
scripts on PATH and temporary caches; no kernel is built.  Run with
`tools/kunit-runner/run selftest`, or from tools/kunit-runner
`python3 -m unittest tests.test_kunit_runner`, or from the repo's top
`python3 -m unittest discover -s tools/kunit-runner/tests -t tools/kunit-runner`.
"""

import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import kunit_runner as kr  # noqa: E402

FAKE_MAKEFILE = """\
VERSION = 7
PATCHLEVEL = 3
SUBLEVEL = 4
O ?= .

linux:
\t@if [ -n "$$FAKE_BUILD_FAIL" ]; then echo "drivers/virtio/virtio.c:1:1: error: fake failure" >&2; exit 2; fi
\t@if [ -n "$$FAKE_BUILD_ENOSPC" ]; then echo "fatal error: error writing to /tmp/cc.s: No space left on device" >&2; exit 2; fi
\t@echo "  CC      drivers/virtio/virtio.o"
\t@mkdir -p $(O)/drivers/virtio && echo "savedcmd_drivers/virtio/virtio.o := gcc $(KCFLAGS) -c -o drivers/virtio/virtio.o drivers/virtio/virtio.c" > $(O)/drivers/virtio/.virtio.o.cmd
\t@touch $(O)/linux
"""

FAKE_KUNIT_PY = r'''#!/usr/bin/env python3
import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument('cmd')
p.add_argument('--build_dir')
p.add_argument('--kunitconfig', action='append')
p.add_argument('--kconfig_add', action='append')
p.add_argument('--arch')
p.add_argument('--json')
p.add_argument('--junit')
p.add_argument('--jobs')
p.add_argument('filter_glob', nargs='?')
a = p.parse_intermixed_args()
log = os.environ.get('FAKE_KUNIT_LOG')
if log:
    with open(log, 'a') as f:
        f.write(json.dumps(sys.argv[1:]) + '\n')
bd = a.build_dir
if a.cmd == 'config':
    if os.environ.get('FAKE_CONFIG_FAIL'):
        print('ERROR: fake config failure')
        sys.exit(1)
    os.makedirs(bd, exist_ok=True)
    with open(os.path.join(bd, '.config'), 'w') as f:
        for k in a.kunitconfig or []:
            f.write(open(k).read())
    sys.exit(0)
if a.cmd == 'build':
    open(os.path.join(bd, 'linux'), 'w').close()
    sys.exit(0)
res = os.environ.get('FAKE_RESULT', 'pass')
counts = {'pass': (3, 0, 0), 'fail': (2, 1, 0), 'splat': (3, 0, 0), 'skip': (2, 0, 1), 'none': None}[res]
log_lines = ['KTAP version 1', '1..1', '    ok 1 virtio_pm_demo']
if res == 'splat':
    log_lines.insert(1, 'WARNING: CPU: 0 PID: 1 at drivers/virtio/virtio.c:10 virtio_fake+0x1/0x2')
with open(os.path.join(bd, 'test.log'), 'w') as f:
    f.write('\n'.join(log_lines) + '\n')
if counts is None:
    print('[00:00:00] Testing complete. Ran 0 tests')
    sys.exit(1)
passed, failed, skipped = counts
groups = []
if os.environ.get('FAKE_FIX_PROOF'):
    # The fix-proof suite: 2 cases, failing without the series' first patch.
    fixed = 'noirq' in open('drivers/virtio/virtio.c').read() or os.environ.get('FAKE_RING_FIXED')
    ring = {'tests': 2, 'passed': 2 if fixed else 1, 'failed': 0 if fixed else 1, 'crashed': 0,
            'skipped': 0, 'errors': 0}
    passed, failed = passed + ring['passed'], failed + ring['failed']
    groups.append({'name': 'virtio_ring_reset', 'sub_groups': [], 'test_cases': [], 'misc': ring})
misc = {'tests': passed + failed + skipped, 'passed': passed, 'failed': failed, 'crashed': 0,
        'skipped': skipped, 'errors': 0}
if a.json:
    with open(a.json, 'w') as f:
        json.dump({'name': 'KUnit Test Group', 'test_cases': [], 'misc': misc,
                   'sub_groups': groups}, f)
if a.junit:
    # kunit_junit.py's shape: the root group, one <testsuite> per suite
    cases = ''.join(f'<testcase name="case{i}"/>' for i in range(passed)) + \
        ''.join(f'<testcase name="bad{i}"><failure>Test Failed</failure></testcase>' for i in range(failed))
    open(a.junit, 'w').write(
        f'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="KUnit Test Group" tests="{passed + failed}">'
        f'<testsuite name="virtio_pm_demo">{cases}</testsuite></testsuite>\n')
print(f'[00:00:00] Testing complete. Ran {misc["tests"]} tests: passed: {passed}')
sys.exit(1 if failed else 0)
'''

DEBIAN_GITIGNORE = """\
*.o
.*

#
# Debian packaging: ignore everything at the top level, since it isn't
# included in our repository
#
/*
!/debian/
"""

GIT_ENV = {'GIT_AUTHOR_NAME': 'T', 'GIT_AUTHOR_EMAIL': 't@example.org',
	   'GIT_COMMITTER_NAME': 'T', 'GIT_COMMITTER_EMAIL': 't@example.org',
	   'GIT_AUTHOR_DATE': '@1600000000 +0000', 'GIT_COMMITTER_DATE': '@1600000000 +0000',
	   'GIT_CONFIG_GLOBAL': '/dev/null', 'GIT_CONFIG_NOSYSTEM': '1'}


def write(path, text, mode=None):
	path = Path(path)
	path.parent.mkdir(parents=True, exist_ok=True)
	path.write_text(text)
	if mode:
		path.chmod(mode)


def git(cwd, *args):
	return subprocess.run(['git', '-C', str(cwd)] + list(args), check=True, text=True,
			      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
			      env=dict(os.environ, **GIT_ENV)).stdout.strip()


def make_fake_kernel(root):
	"""A tiny tree that passes the runner's kernel checks."""
	root = Path(root)
	write(root / 'Makefile', FAKE_MAKEFILE)
	write(root / '.gitignore', DEBIAN_GITIGNORE)
	write(root / 'drivers/virtio/virtio.c', 'int virtio;\n' * 5)
	write(root / 'drivers/virtio/virtio_mmio.c', 'int mmio;\n' * 5)
	write(root / 'drivers/virtio/Kconfig', 'config VIRTIO\n\tbool\n')
	write(root / 'drivers/virtio/Makefile', 'obj-y += virtio.o\n')
	write(root / 'tools/testing/kunit/kunit.py', FAKE_KUNIT_PY, 0o755)
	return root


def make_patch(kernel, workdir, edits, subject, name=None):
	"""Create a git format-patch file from @edits ({path: new text}) on @kernel."""
	workdir = Path(workdir)
	if workdir.exists():
		shutil.rmtree(workdir)
	shutil.copytree(kernel, workdir)
	git(workdir, 'init', '-q')
	git(workdir, 'add', '-A', '-f')
	git(workdir, 'commit', '-q', '-m', 'base')
	for p, t in edits.items():
		write(workdir / p, t)
	git(workdir, 'add', '-A', '-f')
	git(workdir, 'commit', '-q', '-m', subject)
	out = git(workdir, 'format-patch', '-1', '-o', str(workdir / 'out'))
	return Path(out.splitlines()[-1])


def make_template(tmp):
	"""The fake kernel and project repo every Env starts from."""
	tmp = Path(tmp)
	kernel = make_fake_kernel(tmp / 'kernel')
	repo = tmp / 'repo'
	(repo / 'patches').mkdir(parents=True)
	p1 = make_patch(kernel, tmp / 'p1', {'drivers/virtio/virtio.c': 'int virtio;\n' * 5 + 'int noirq;\n'},
			'virtio: add noirq')
	p2 = make_patch(kernel, tmp / 'p2', {'drivers/virtio/Makefile': 'obj-y += virtio.o\nobj-y += tests/\n'},
			'virtio: hook tests')
	shutil.copy(p1, repo / 'patches' / '0001-virtio-add-noirq.patch')
	shutil.copy(p2, repo / 'patches' / '0002-virtio-hook-tests.patch')
	write(repo / 'patches/series', '# the series\n0001-virtio-add-noirq.patch\n\n0002-virtio-hook-tests.patch\n')
	write(repo / 'drivers/virtio/tests/virtio_pm_test.c', '/* test */\n')
	write(repo / 'drivers/virtio/tests/Kconfig', 'config VIRTIO_PM_KUNIT_TEST\n')
	write(repo / '.kunitconfig', 'CONFIG_KUNIT=y\n')


_template = None


def copy_template(dst):
	"""Copy the template (made once per process: it takes a second) to @dst."""
	global _template
	if _template is None:
		_template = tempfile.TemporaryDirectory(prefix='kunit-runner-template-')
		make_template(_template.name)
	for d in ('kernel', 'repo'):
		shutil.copytree(Path(_template.name) / d, Path(dst) / d, symlinks=True)


class Env:
	"""A temp directory with a fake kernel, a project repo and a cache."""

	def __init__(self, tmp):
		self.tmp = Path(tmp)
		copy_template(self.tmp)
		self.kernel = self.tmp / 'kernel'
		self.repo = self.tmp / 'repo'
		self.cache = self.tmp / 'cache'
		self.out = self.tmp / 'out'
		self.kunit_log = self.tmp / 'kunit.log'
		self.env = {'NOIRQ_KUNIT_CACHE': str(self.cache), 'NOIRQ_KUNIT_LOCK': str(self.tmp / 'build.lock'),
			    'FAKE_KUNIT_LOG': str(self.kunit_log), 'CI': '', **GIT_ENV}

	@property
	def wt(self):
		return Path(kr.Runner(kr.build_parser().parse_args(['--kernel', str(self.kernel),
								     '--repo', str(self.repo)]),
				      env={'NOIRQ_KUNIT_CACHE': str(self.cache)}).wt)

	def main(self, *argv, extra_env=None, is_root=False, kernel=True):
		args = list(argv) + ['--repo', str(self.repo), '--out', str(self.out)]
		if kernel:
			args += ['--kernel', str(self.kernel)]
		env = dict(os.environ, **self.env, **(extra_env or {}))
		buf = io.StringIO()
		with mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(buf), \
		     contextlib.redirect_stderr(buf):
			code = kr.main(args, env=env, is_root=is_root)
		self.output = buf.getvalue()
		return code


class TestCase(unittest.TestCase):
	def setUp(self):
		self._tmp = tempfile.TemporaryDirectory(prefix='kunit-runner-test-')
		self.e = Env(self._tmp.name)

	def tearDown(self):
		self._tmp.cleanup()

	def assertCode(self, code, want):
		self.assertEqual(code, want, self.e.output)


class SeriesTest(unittest.TestCase):
	def setUp(self):
		self._tmp = tempfile.TemporaryDirectory()
		self.d = Path(self._tmp.name)

	def tearDown(self):
		self._tmp.cleanup()

	def test_comments_blank_lines_and_options(self):
		for n in ('a.patch', 'b.patch', 'c.patch'):
			write(self.d / n, 'x')
		write(self.d / 'series', '# header\n\na.patch\n  b.patch -p1  # trailing\n#c.patch\nc.patch\n')
		got = [(n, o) for n, _, o in kr.read_series(self.d)]
		self.assertEqual(got, [('a.patch', []), ('b.patch', ['-p1']), ('c.patch', [])])

	def test_missing_patch_file_is_an_error(self):
		write(self.d / 'series', 'a.patch\nmissing.patch\n')
		write(self.d / 'a.patch', 'x')
		with self.assertRaises(kr.RunnerError) as cm:
			kr.read_series(self.d)
		self.assertEqual(cm.exception.code, kr.EXIT_USAGE)
		self.assertIn('missing.patch', cm.exception.message)
		self.assertIn(':2:', cm.exception.message)

	def test_duplicate_and_bad_option(self):
		write(self.d / 'a.patch', 'x')
		write(self.d / 'series', 'a.patch\na.patch\n')
		with self.assertRaises(kr.RunnerError):
			kr.read_series(self.d)
		write(self.d / 'series', 'a.patch -R\n')
		with self.assertRaises(kr.RunnerError):
			kr.read_series(self.d)

	def test_missing_series_is_empty(self):
		self.assertEqual(kr.read_series(self.d), [])

	def test_upto_keeps_the_last_patch(self):
		s = [(str(i), None, []) for i in range(6)]
		self.assertEqual([n for n, _, _ in kr.select_upto(s, 0)], ['5'])
		self.assertEqual([n for n, _, _ in kr.select_upto(s, 2)], ['0', '1', '5'])
		self.assertEqual(len(kr.select_upto(s, 5)), 6)
		self.assertEqual(len(kr.select_upto(s, None)), 6)
		with self.assertRaises(kr.RunnerError):
			kr.select_upto(s, 7)


class MirrorTest(unittest.TestCase):
	def setUp(self):
		self._tmp = tempfile.TemporaryDirectory()
		self.d = Path(self._tmp.name)

	def tearDown(self):
		self._tmp.cleanup()

	def test_deb822_skips_security(self):
		write(self.d / 'sources.list.d/debian.sources', textwrap.dedent('''\
			Types: deb
			URIs: http://mirror.invalid/debian-security
			Suites: bookworm-security
			Components: main

			Types: deb
			# comment
			URIs: http://mirror.invalid/debian/ http://other.invalid/debian
			Suites: bookworm bookworm-updates
			Components: main
			'''))
		self.assertEqual(kr.debian_mirror(self.d), 'http://mirror.invalid/debian')

	def test_one_line_format(self):
		write(self.d / 'sources.list', '# x\ndeb-src http://a.invalid/debian bookworm main\n'
		      'deb [arch=amd64 signed-by=/k.gpg] http://b.invalid/debian bookworm main contrib\n')
		self.assertEqual(kr.debian_mirror(self.d), 'http://b.invalid/debian')

	def test_no_mirror_is_missing_environment(self):
		with self.assertRaises(kr.RunnerError) as cm:
			kr.debian_mirror(self.d)
		self.assertEqual(cm.exception.code, kr.EXIT_ENV)


class GitignoreTest(unittest.TestCase):
	def test_debian_rule_removed(self):
		with tempfile.TemporaryDirectory() as d:
			write(Path(d) / '.gitignore', DEBIAN_GITIGNORE)
			self.assertTrue(kr.Runner.strip_debian_gitignore(d))
			text = (Path(d) / '.gitignore').read_text()
			self.assertNotIn('/*', text)
			self.assertNotIn('Debian', text)
			self.assertIn('*.o', text)
			self.assertFalse(kr.Runner.strip_debian_gitignore(d))


class PrepareTest(TestCase):
	def mtimes(self, *rels):
		return {r: (self.e.wt / r).stat().st_mtime_ns for r in rels}

	def test_first_prepare_builds_the_work_tree(self):
		self.assertCode(self.e.main('tree'), 0)
		wt = self.e.wt
		self.assertIn(str(wt), self.e.output)
		subjects = git(wt, 'log', '--format=%s').splitlines()
		self.assertEqual(subjects, [kr.PLACED_SUBJECT, 'virtio: hook tests', 'virtio: add noirq',
					    subjects[-1]])
		self.assertTrue(subjects[-1].startswith('base: '))
		self.assertEqual(git(wt, 'rev-parse', 'base'), git(wt, 'rev-parse', 'HEAD~3'))
		self.assertEqual(git(wt, 'status', '--porcelain'), '')
		self.assertIn('int noirq;', (wt / 'drivers/virtio/virtio.c').read_text())
		self.assertTrue((wt / 'drivers/virtio/tests/virtio_pm_test.c').is_file())
		self.assertTrue((wt / '.kunitconfig').is_file())
		self.assertNotIn('/*', (wt / '.gitignore').read_text())
		# committer is fixed, author kept from the patch
		self.assertEqual(git(wt, 'log', '-1', '--format=%cn %an', 'HEAD~1'), 'kunit-runner T')
		# new files show in git status (Debian rule gone)
		write(wt / 'newfile', 'x')
		self.assertIn('newfile', git(wt, 'status', '--porcelain'))

	def test_base_objects_are_stored_uncompressed(self):
		write(self.e.kernel / 'zeros', '\0' * 65536)
		self.assertCode(self.e.main('tree'), 0)
		blob = git(self.e.wt, 'rev-parse', 'base:zeros')
		obj = self.e.wt / '.git/objects' / blob[:2] / blob[2:]
		self.assertGreater(obj.stat().st_size, 65536)

	def test_second_prepare_touches_nothing(self):
		self.assertCode(self.e.main('tree'), 0)
		head = git(self.e.wt, 'rev-parse', 'HEAD')
		before = self.mtimes('drivers/virtio/virtio.c', 'drivers/virtio/tests/virtio_pm_test.c', 'Makefile')
		state = self.e.wt.parent.joinpath(self.e.wt.name + '.state.json').read_text()
		time.sleep(0.02)
		self.assertCode(self.e.main('tree'), 0)
		self.assertIn('up to date', self.e.output)
		self.assertEqual(before, self.mtimes(*before))
		self.assertEqual(head, git(self.e.wt, 'rev-parse', 'HEAD'))
		self.assertEqual(state, self.e.wt.parent.joinpath(self.e.wt.name + '.state.json').read_text())

	def test_placed_file_change_updates_only_that_file(self):
		self.assertCode(self.e.main('tree'), 0)
		before = self.mtimes('drivers/virtio/virtio.c', 'drivers/virtio/tests/Kconfig')
		time.sleep(0.02)
		write(self.e.repo / 'drivers/virtio/tests/virtio_pm_test.c', '/* test v2 */\n')
		write(self.e.repo / 'drivers/virtio/tests/new_test.c', '/* new */\n')
		self.assertCode(self.e.main('tree'), 0)
		self.assertIn('updated 2 placed file(s)', self.e.output)
		wt = self.e.wt
		self.assertEqual(before, self.mtimes(*before))
		self.assertEqual((wt / 'drivers/virtio/tests/virtio_pm_test.c').read_text(), '/* test v2 */\n')
		self.assertEqual(git(wt, 'status', '--porcelain'), '')
		self.assertEqual(len(git(wt, 'log', '--format=%s', 'base..HEAD').splitlines()), 3)
		# a removed placed file disappears from the work tree
		(self.e.repo / 'drivers/virtio/tests/new_test.c').unlink()
		self.assertCode(self.e.main('tree'), 0)
		self.assertFalse((wt / 'drivers/virtio/tests/new_test.c').exists())
		self.assertEqual(git(wt, 'status', '--porcelain'), '')

	def change_patch(self):
		p = make_patch(self.e.kernel, self.e.tmp / 'p1b',
			       {'drivers/virtio/virtio.c': 'int virtio;\n' * 5 + 'int noirq2;\n'}, 'virtio: add noirq')
		shutil.copy(p, self.e.repo / 'patches' / '0001-virtio-add-noirq.patch')

	def test_patch_change_recreates_and_keeps_unchanged_mtimes(self):
		self.assertCode(self.e.main('tree'), 0)
		before = self.mtimes('drivers/virtio/Makefile', 'drivers/virtio/tests/virtio_pm_test.c', 'Makefile')
		time.sleep(0.02)
		self.change_patch()
		self.assertCode(self.e.main('tree'), 0)
		self.assertIn('recreating', self.e.output)
		self.assertIn('int noirq2;', (self.e.wt / 'drivers/virtio/virtio.c').read_text())
		self.assertEqual(before, self.mtimes(*before))

	def test_uncommitted_edit_is_never_clobbered(self):
		self.assertCode(self.e.main('tree'), 0)
		f = self.e.wt / 'drivers/virtio/virtio_mmio.c'
		write(f, 'my edit\n')
		self.change_patch()
		self.assertCode(self.e.main('tree'), kr.EXIT_DIRTY)
		self.assertIn('unexported edits', self.e.output)
		self.assertIn('refusing to overwrite', self.e.output)
		self.assertEqual(f.read_text(), 'my edit\n')
		self.assertCode(self.e.main('run'), kr.EXIT_DIRTY)
		self.assertEqual(f.read_text(), 'my edit\n')
		# --force discards
		self.assertCode(self.e.main('tree', '--force'), 0)
		self.assertNotEqual(f.read_text(), 'my edit\n')

	def test_unexported_commit_is_never_clobbered(self):
		self.assertCode(self.e.main('tree'), 0)
		wt = self.e.wt
		write(wt / 'drivers/virtio/virtio_mmio.c', 'committed edit\n')
		git(wt, 'commit', '-q', '-am', 'my change')
		head = git(wt, 'rev-parse', 'HEAD')
		self.change_patch()
		self.assertCode(self.e.main('tree'), kr.EXIT_DIRTY)
		self.assertIn('commits not exported', self.e.output)
		self.assertEqual(head, git(wt, 'rev-parse', 'HEAD'))

	def test_edited_placed_file_is_never_clobbered(self):
		self.assertCode(self.e.main('tree'), 0)
		f = self.e.wt / 'drivers/virtio/tests/virtio_pm_test.c'
		write(f, '/* edited in the work tree */\n')
		write(self.e.repo / 'drivers/virtio/tests/virtio_pm_test.c', '/* edited in the repo */\n')
		self.assertCode(self.e.main('tree'), kr.EXIT_DIRTY)
		self.assertIn('edited placed file drivers/virtio/tests/virtio_pm_test.c', self.e.output)
		self.assertEqual(f.read_text(), '/* edited in the work tree */\n')

	def test_export_round_trip(self):
		self.assertCode(self.e.main('tree'), 0)
		wt = self.e.wt
		# first export normalises the format; a second one is byte-identical
		self.assertCode(self.e.main('export'), 0)
		snap = {p.name: p.read_bytes() for p in (self.e.repo / 'patches').iterdir()}
		self.assertCode(self.e.main('tree'), 0)
		self.assertCode(self.e.main('export'), 0)
		self.assertEqual(snap, {p.name: p.read_bytes() for p in (self.e.repo / 'patches').iterdir()})
		self.assertIn('# the series', snap['series'].decode())
		# edit patch 1 in the work tree + a placed file, then export
		git(wt, 'checkout', '-q', 'HEAD~2')
		write(wt / 'drivers/virtio/virtio.c', 'int virtio;\n' * 5 + 'int noirq_amended;\n')
		git(wt, 'commit', '-q', '-a', '--amend', '--no-edit')
		git(wt, 'cherry-pick', 'work~1', 'work')
		git(wt, 'checkout', '-q', '-B', 'work')
		write(wt / 'drivers/virtio/tests/virtio_pm_test.c', '/* from the work tree */\n')
		write(wt / 'drivers/virtio/tests/extra.c', '/* new in the work tree */\n')
		self.assertCode(self.e.main('export'), 0)
		text = (self.e.repo / 'patches/series').read_text().splitlines()
		self.assertEqual(len([l for l in text if not l.startswith('#')]), 2)
		p1 = (self.e.repo / 'patches' / text[1]).read_text()
		self.assertIn('+int noirq_amended;', p1)
		self.assertIn('From 0000000000000000000000000000000000000000', p1)
		self.assertEqual((self.e.repo / 'drivers/virtio/tests/virtio_pm_test.c').read_text(),
				 '/* from the work tree */\n')
		self.assertTrue((self.e.repo / 'drivers/virtio/tests/extra.c').is_file())
		# the next prepare accepts the exported work tree and rebuilds it
		self.assertCode(self.e.main('tree'), 0)
		self.assertEqual(git(wt, 'status', '--porcelain'), '')
		self.assertIn('int noirq_amended;', (wt / 'drivers/virtio/virtio.c').read_text())

	def test_export_never_overwrites_files_edited_in_the_repo(self):
		# the repo's tests were edited after the last placement and the
		# series was changed in the work tree: export writes the patches
		# and leaves the repo's edits alone
		self.assertCode(self.e.main('tree'), 0)
		wt = self.e.wt
		repo_file = self.e.repo / 'drivers/virtio/tests/virtio_pm_test.c'
		write(repo_file, '/* edited in the repo */\n')
		write(self.e.repo / 'drivers/virtio/tests/new_test.c', '/* new in the repo */\n')
		git(wt, 'checkout', '-q', 'HEAD~2')
		write(wt / 'drivers/virtio/virtio.c', 'int virtio;\n' * 5 + 'int noirq_v2;\n')
		git(wt, 'commit', '-q', '-a', '--amend', '--no-edit')
		git(wt, 'cherry-pick', 'work~1', 'work')
		git(wt, 'checkout', '-q', '-B', 'work')
		self.assertCode(self.e.main('export'), 0)
		self.assertEqual(repo_file.read_text(), '/* edited in the repo */\n')
		self.assertEqual((self.e.repo / 'drivers/virtio/tests/new_test.c').read_text(),
				 '/* new in the repo */\n')
		self.assertIn('0 placed file(s) copied back', self.e.output)
		# edited on both sides: refused before anything is written
		patches = {p.name: p.read_bytes() for p in (self.e.repo / 'patches').iterdir()}
		write(wt / 'drivers/virtio/tests/virtio_pm_test.c', '/* edited in the work tree */\n')
		self.assertCode(self.e.main('export'), kr.EXIT_DIRTY)
		self.assertIn('edited both in the work tree and in', self.e.output)
		self.assertEqual(repo_file.read_text(), '/* edited in the repo */\n')
		self.assertEqual(patches, {p.name: p.read_bytes() for p in (self.e.repo / 'patches').iterdir()})

	def test_export_refuses_uncommitted_kernel_edit(self):
		self.assertCode(self.e.main('tree'), 0)
		write(self.e.wt / 'drivers/virtio/virtio.c', 'uncommitted\n')
		self.assertCode(self.e.main('export'), kr.EXIT_DIRTY)

	def test_patch_conflict(self):
		bad = make_patch(self.e.kernel, self.e.tmp / 'pbad', {'drivers/virtio/virtio_mmio.c': 'other\n'}, 'bad')
		write(bad, bad.read_text().replace('-int mmio;', '-int nomatch;'))
		shutil.copy(bad, self.e.repo / 'patches' / '0003-bad.patch')
		write(self.e.repo / 'patches/series', '0001-virtio-add-noirq.patch\n0003-bad.patch\n'
		      '0002-virtio-hook-tests.patch\n')
		self.assertCode(self.e.main('tree'), kr.EXIT_SERIES)
		self.assertIn('patch 2/3 0003-bad.patch does not apply', self.e.output)
		wt = self.e.wt
		self.assertFalse((wt / '.git/rebase-apply').exists())
		self.assertEqual(git(wt, 'status', '--porcelain'), '')
		self.assertEqual(git(wt, 'log', '-1', '--format=%s'), 'virtio: add noirq')
		# fixing the series works without --force
		write(self.e.repo / 'patches/series', '0001-virtio-add-noirq.patch\n0002-virtio-hook-tests.patch\n')
		self.assertCode(self.e.main('tree'), 0)

	def test_upto(self):
		self.assertCode(self.e.main('tree'), 0)
		full_head = git(self.e.wt, 'rev-parse', 'HEAD')
		self.assertCode(self.e.main('tree', '--upto', '0'), 0)
		# subsets share one work tree; the full series' tree is untouched
		sub = Path(self.e.output.strip().splitlines()[-1])
		self.assertEqual(sub, self.e.wt.with_name(self.e.wt.name + '-upto'))
		self.assertEqual(git(sub, 'log', '--format=%s', 'base..HEAD').splitlines(),
				 [kr.PLACED_SUBJECT, 'virtio: hook tests'])
		self.assertEqual(git(self.e.wt, 'rev-parse', 'HEAD'), full_head)
		# its base is the full tree's base commit, cloned, not imported again
		self.assertIn(f'from the base commit of {self.e.wt} (local clone)', self.e.output)
		self.assertEqual(git(sub, 'rev-parse', 'base'), git(self.e.wt, 'rev-parse', 'base'))
		self.assertEqual(git(sub, 'remote'), '')
		self.assertCode(self.e.main('export', '--upto', '0'), kr.EXIT_USAGE)
		self.assertCode(self.e.main('tree', '--upto', '9'), kr.EXIT_USAGE)
		# and its own build dir
		self.assertCode(self.e.main('run', '--upto', '0'), 0)
		self.assertIn(f'O={sub}/.build-um ', self.e.output)
		# the next prefix reuses that tree: files it does not change keep
		# their mtime, so the shared build dir rebuilds only the difference
		hook = sub / 'drivers/virtio/Makefile'
		placed = sub / '.kunitconfig'
		# a base file no patch changes, given another mtime after the
		# checkout as buildseed does (so git's index holds stale stat data)
		kconfig = sub / 'drivers/virtio/Kconfig'
		os.utime(kconfig, ns=(kconfig.stat().st_atime_ns, 10**18))
		old = (hook.stat().st_mtime_ns, placed.stat().st_mtime_ns, 10**18)
		time.sleep(0.01)
		self.assertCode(self.e.main('tree', '--upto', '1'), 0)
		self.assertEqual(Path(self.e.output.strip().splitlines()[-1]), sub)
		self.assertEqual(git(sub, 'log', '--format=%s', 'base..HEAD').splitlines(),
				 [kr.PLACED_SUBJECT, 'virtio: hook tests', 'virtio: add noirq'])
		self.assertEqual((hook.stat().st_mtime_ns, placed.stat().st_mtime_ns,
				  kconfig.stat().st_mtime_ns), old)

	def test_wrong_kernel_path(self):
		for bad in (self.e.tmp / 'nope', self.e.repo):
			buf = io.StringIO()
			with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
				code = kr.main(['tree', '--kernel', str(bad), '--repo', str(self.e.repo)],
					       env=dict(os.environ, **self.e.env))
			self.assertEqual(code, kr.EXIT_USAGE, buf.getvalue())
			self.assertEqual(len(buf.getvalue().splitlines()), 1, buf.getvalue())
		(self.e.kernel / 'drivers/virtio/virtio.c').unlink()
		shutil.rmtree(self.e.kernel / 'drivers/virtio')
		self.assertCode(self.e.main('tree'), kr.EXIT_USAGE)
		self.assertIn('no drivers/virtio', self.e.output)

	def test_kernel_from_env(self):
		env = {'NOIRQ_KUNIT_KERNEL': str(self.e.tmp / 'nope')}
		self.assertCode(self.e.main('tree', kernel=False, extra_env=env), kr.EXIT_USAGE)

	def test_bad_usage(self):
		self.assertCode(self.e.main('frobnicate'), kr.EXIT_USAGE)
		self.assertCode(self.e.main('run', '--kunitconfig', str(self.e.tmp / 'nope')), kr.EXIT_USAGE)


def make_series(kernel, workdir, commits, cover=True):
	"""git format-patch files of @commits ([({path: text}, subject)]) on @kernel.

	Returns the output dir (0000-cover-letter.patch when @cover, then
	0001-..., 0002-...) and the same series as one mbox (what b4 am writes).
	"""
	workdir = Path(workdir)
	shutil.copytree(kernel, workdir)
	git(workdir, 'init', '-q')
	git(workdir, 'add', '-A', '-f')
	git(workdir, 'commit', '-q', '-m', 'base')
	git(workdir, 'tag', 'base')
	for edits, subject in commits:
		for p, t in edits.items():
			write(workdir / p, t)
		git(workdir, 'add', '-A', '-f')
		git(workdir, 'commit', '-q', '-m', subject)
	opts = ['--cover-letter'] if cover else []
	git(workdir, 'format-patch', '-q', *opts, '-o', str(workdir / 'out'), 'base..HEAD')
	mbox = workdir / 'v10.mbx'
	mbox.write_text(git(workdir, 'format-patch', *opts, '--stdout', 'base..HEAD') + '\n')
	return workdir / 'out', mbox


# Their v10: two patches that depend on each other (so the order counts),
# without our KUnit hook or tests.
THEIR_V10 = [({'drivers/virtio/virtio.c': 'int virtio;\n' * 5 + 'int noirq_v10;\n'}, 'virtio: noirq v10'),
	     ({'drivers/virtio/virtio.c': 'int virtio;\n' * 5 + 'int noirq_v10_fixed;\n'},
	      'virtio: noirq v10 fixup')]


class SeriesInputTest(TestCase):
	"""--series PATH (quilt dir, format-patch dir, mbox) and --kernel TREE --applied."""

	def setUp(self):
		super().setUp()
		self.fp_dir, self.mbox = make_series(self.e.kernel, self.e.tmp / 'v10', THEIR_V10)
		self.before = repo_files(self.e.repo)

	def wt_of(self, *argv):
		a = kr.build_parser().parse_args(list(argv) + ['--repo', str(self.e.repo)])
		return kr.Runner(a, env={'NOIRQ_KUNIT_CACHE': str(self.e.cache)}).wt

	def assertTheirSeries(self, wt, hook=True):
		subjects = git(wt, 'log', '--format=%s').splitlines()
		want = [kr.PLACED_SUBJECT] + (['virtio: hook tests'] if hook else []) + \
			['virtio: noirq v10 fixup', 'virtio: noirq v10']
		self.assertEqual(subjects[:-1], want, self.e.output)
		self.assertTrue(subjects[-1].startswith('base: '))
		self.assertIn('int noirq_v10_fixed;', (wt / 'drivers/virtio/virtio.c').read_text())
		self.assertNotIn('int noirq;', (wt / 'drivers/virtio/virtio.c').read_text())
		# our contract suite is placed on their implementation
		self.assertEqual((wt / 'drivers/virtio/tests/virtio_pm_test.c').read_text(), '/* test */\n')
		self.assertIn('tests/', (wt / 'drivers/virtio/Makefile').read_text())
		# patches/ untouched; the tree of patches/ never made
		self.assertEqual(repo_files(self.e.repo), self.before)
		self.assertFalse(self.e.wt.exists())

	def test_format_patch_directory(self):
		self.assertCode(self.e.main('tree', '--series', str(self.fp_dir)), 0)
		self.assertIn('skipping 0000-cover-letter.patch: no diff', self.e.output)
		wt = self.wt_of('--kernel', str(self.e.kernel), '--series', str(self.fp_dir))
		self.assertIn(str(wt), self.e.output)
		self.assertTheirSeries(wt)
		self.assertIn('applied the KUnit hook patch 0002-virtio-hook-tests.patch', self.e.output)

	def test_mbox_from_b4(self):
		self.assertCode(self.e.main('run', '--series', str(self.mbox)), 0)
		self.assertTheirSeries(self.wt_of('--kernel', str(self.e.kernel), '--series', str(self.mbox)))
		self.assertEqual(self.e.output.splitlines()[-1], '3 passed, 0 failed')
		# the suite picked by the repo's .kunitconfig
		cfg = [json.loads(l) for l in self.e.kunit_log.read_text().splitlines()][0]
		self.assertIn(f'--kunitconfig={self.e.repo / ".kunitconfig"}', cfg)
		# a second run touches nothing
		self.assertCode(self.e.main('tree', '--series', str(self.mbox)), 0)
		self.assertIn('up to date', self.e.output)

	def test_quilt_directory(self):
		q = self.e.tmp / 'quilt'
		q.mkdir()
		for p in sorted(self.fp_dir.glob('000[12]-*.patch')):
			shutil.copy(p, q / p.name)
		# the series file, not the names, gives the order
		names = sorted(p.name for p in q.iterdir())
		write(q / 'series', f'# v10\n{names[0]}\n{names[1]}\n')
		self.assertCode(self.e.main('tree', '--series', str(q)), 0)
		self.assertTheirSeries(self.wt_of('--kernel', str(self.e.kernel), '--series', str(q)))
		write(q / 'series', f'{names[1]}\n{names[0]}\n')
		self.assertCode(self.e.main('tree', '--series', str(q)), kr.EXIT_SERIES)
		self.assertIn(f'patch 1/2 {names[1]} does not apply', self.e.output)

	def test_series_with_its_own_hook_and_tests(self):
		fp, _ = make_series(self.e.kernel, self.e.tmp / 'v11', THEIR_V10 + [
			({'drivers/virtio/Makefile': 'obj-y += virtio.o\nobj-$(CONFIG_KUNIT) += tests/\n',
			  'drivers/virtio/tests/virtio_pm_test.c': '/* their test */\n'}, 'virtio: their tests')],
			cover=False)
		self.assertCode(self.e.main('tree', '--series', str(fp)), 0)
		wt = self.wt_of('--kernel', str(self.e.kernel), '--series', str(fp))
		self.assertIn('builds tests/ already; not applying 0002-virtio-hook-tests.patch', self.e.output)
		subjects = git(wt, 'log', '--format=%s').splitlines()
		self.assertEqual(subjects[:2], [kr.PLACED_SUBJECT, 'virtio: their tests'])
		# our suite replaces theirs, and says so
		self.assertEqual((wt / 'drivers/virtio/tests/virtio_pm_test.c').read_text(), '/* test */\n')
		self.assertIn('placed file drivers/virtio/tests/virtio_pm_test.c replaces', self.e.output)

	def test_export_refuses_a_foreign_series(self):
		self.assertCode(self.e.main('tree', '--series', str(self.mbox)), 0)
		self.assertCode(self.e.main('export', '--series', str(self.mbox)), kr.EXIT_EXPORT)
		self.assertIn('export refused', self.e.output)
		self.assertEqual(len(self.e.output.splitlines()), 1, self.e.output)
		self.assertEqual(repo_files(self.e.repo), self.before)
		# a state that records a foreign series is refused too
		wt = self.wt_of('--kernel', str(self.e.kernel), '--series', str(self.mbox))
		st = json.loads(wt.with_name(wt.name + '.state.json').read_text())
		self.assertEqual(st['input']['kind'], 'mbox')
		self.e.main('tree')
		sp = self.e.wt.with_name(self.e.wt.name + '.state.json')
		main_state = json.loads(sp.read_text())
		sp.write_text(json.dumps(dict(main_state, input=st['input'])))
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertIn('holds a series that is not the one of', self.e.output)
		self.assertEqual(repo_files(self.e.repo), self.before)

	def test_applied_tree(self):
		# a tree that carries their series, no tests, no hook
		carried = self.e.tmp / 'v10'
		git(carried, 'checkout', '-q', 'HEAD')
		self.assertCode(self.e.main('tree', '--applied', '--kernel', str(carried), kernel=False), 0)
		wt = self.wt_of('--kernel', str(carried), '--applied')
		subjects = git(wt, 'log', '--format=%s').splitlines()
		self.assertEqual(subjects[:2], [kr.PLACED_SUBJECT, 'virtio: hook tests'])
		self.assertEqual(len(subjects), 3)
		self.assertIn('int noirq_v10_fixed;', (wt / 'drivers/virtio/virtio.c').read_text())
		self.assertTrue((wt / 'drivers/virtio/tests/virtio_pm_test.c').is_file())
		# a tree with tests and hook: nothing applied, nothing placed
		write(carried / 'drivers/virtio/Makefile', 'obj-y += virtio.o\nobj-y += tests/\n')
		write(carried / 'drivers/virtio/tests/virtio_pm_test.c', '/* theirs */\n')
		git(carried, 'add', '-A', '-f')
		git(carried, 'commit', '-q', '-m', 'tests')
		self.assertCode(self.e.main('tree', '--applied', '--kernel', str(carried), kernel=False), 0)
		self.assertEqual(git(wt, 'log', '--format=%s').splitlines()[:1], [kr.PLACED_SUBJECT])
		self.assertEqual(len(git(wt, 'log', '--format=%s').splitlines()), 2)
		self.assertEqual((wt / 'drivers/virtio/tests/virtio_pm_test.c').read_text(), '/* theirs */\n')
		self.assertCode(self.e.main('export', '--applied', '--kernel', str(carried), kernel=False),
				kr.EXIT_EXPORT)
		self.assertEqual(repo_files(self.e.repo), self.before)

	def test_bad_input_is_one_line(self):
		empty = self.e.tmp / 'empty'
		empty.mkdir()
		cover_only = self.e.tmp / 'cover'
		cover_only.mkdir()
		shutil.copy(self.fp_dir / '0000-cover-letter.patch', cover_only)
		for argv, what in ((['--series', str(self.e.tmp / 'nope')], 'no such file'),
				   (['--series', str(empty)], 'neither a series file nor *.patch'),
				   (['--series', str(cover_only)], 'no patch in it'),
				   (['--series', str(self.mbox), '--upto', '1'], '--upto works on'),
				   (['--series', str(self.mbox), '--applied'], 'exclude each other')):
			self.assertCode(self.e.main('tree', *argv), kr.EXIT_USAGE)
			self.assertIn(what, self.e.output)
			self.assertEqual(len(self.e.output.strip().splitlines()), 1 + ('cover' in str(argv)),
					 self.e.output)
		self.assertCode(self.e.main('tree', '--applied', kernel=False), kr.EXIT_USAGE)
		self.assertIn('--applied needs --kernel', self.e.output)


class RunTest(TestCase):
	def calls(self):
		if not self.e.kunit_log.exists():
			return []
		return [json.loads(l) for l in self.e.kunit_log.read_text().splitlines()]

	def test_pass(self):
		self.assertCode(self.e.main('run'), 0)
		self.assertEqual(self.e.output.splitlines()[-1], '3 passed, 0 failed')
		for f in ('results.json', 'results.xml', 'test.log', 'build.log'):
			self.assertTrue((self.e.out / f).is_file(), f)
		cmds = [c[0] for c in self.calls()]
		self.assertEqual(cmds, ['config', 'exec'])
		for c in self.calls():
			for a in c[1:]:
				if a.startswith(('--build_dir=', '--kunitconfig=', '--json=', '--junit=')):
					self.assertTrue(os.path.isabs(a.split('=', 1)[1]), a)
		self.assertIn('--arch=um', self.calls()[0])
		# the runner's fragment follows the repo's kunitconfig: a kernel
		# release string that the placed-files commit does not change
		self.assertEqual([a for a in self.calls()[0] if a.startswith('--kunitconfig=')],
				 [f'--kunitconfig={self.e.repo / ".kunitconfig"}',
				  f'--kunitconfig={kr.RUNNER_FRAGMENT}'])
		self.assertIn('CONFIG_LOCALVERSION_AUTO=n',
			      kr.RUNNER_FRAGMENT.read_text().splitlines())

	def test_stream_writes_its_log(self):
		# run --modules (modrun.run) streams make modules_install into a log
		r = kr.Runner(kr.build_parser().parse_args(['--kernel', str(self.e.kernel),
							     '--repo', str(self.e.repo)]),
			      env={'NOIRQ_KUNIT_CACHE': str(self.e.cache), 'PATH': os.environ['PATH']})
		log = self.e.tmp / 'stream.log'
		buf = io.StringIO()
		with contextlib.redirect_stdout(buf):
			rc = r.stream([sys.executable, '-c', 'print("one"); print("two"); exit(3)'],
				      cwd=self.e.tmp, log=log)
		self.assertEqual(rc, 3)
		self.assertEqual(log.read_text(), 'one\ntwo\n')
		self.assertEqual(buf.getvalue(), 'one\ntwo\n')

	def test_config_not_rerun_when_unchanged(self):
		self.assertCode(self.e.main('run'), 0)
		self.assertCode(self.e.main('run', '--filter', 'virtio*'), 0)
		self.assertIn('skipping kunit.py config', self.e.output)
		self.assertEqual([c[0] for c in self.calls()], ['config', 'exec', 'exec'])
		self.assertEqual(self.calls()[-1][-1], 'virtio*')
		write(self.e.repo / '.kunitconfig', 'CONFIG_KUNIT=y\nCONFIG_VIRTIO_MMIO=y\n')
		self.assertCode(self.e.main('run'), 0)
		self.assertEqual([c[0] for c in self.calls()], ['config', 'exec', 'exec', 'config', 'exec'])
		self.assertCode(self.e.main('run', '--kconfig_add', 'CONFIG_X=y'), 0)
		self.assertIn('--kconfig_add=CONFIG_X=y', self.calls()[-2])

	def test_failures_and_skips(self):
		self.assertCode(self.e.main('run', extra_env={'FAKE_RESULT': 'fail'}), kr.EXIT_TESTS_FAILED)
		self.assertEqual(self.e.output.splitlines()[-1], '2 passed, 1 failed')
		self.assertCode(self.e.main('run', extra_env={'FAKE_RESULT': 'skip'}), 0)
		self.assertEqual(self.e.output.splitlines()[-1], '2 passed, 0 failed, 1 skipped')
		self.assertCode(self.e.main('run', extra_env={'FAKE_RESULT': 'none'}), kr.EXIT_TESTS_FAILED)
		self.assertEqual(self.e.output.splitlines()[-1], '0 passed, 1 failed')

	def test_splat_counts_as_failure(self):
		self.assertCode(self.e.main('run', extra_env={'FAKE_RESULT': 'splat'}), kr.EXIT_TESTS_FAILED)
		self.assertIn('kernel splat: WARNING: CPU: 0 PID: 1', self.e.output)
		self.assertEqual(self.e.output.splitlines()[-1], '3 passed, 1 failed')

	def test_build_failure(self):
		self.assertCode(self.e.main('run', extra_env={'FAKE_BUILD_FAIL': '1'}), kr.EXIT_BUILD)
		self.assertIn('error: fake failure', self.e.output)
		self.assertNotIn('exec', [c[0] for c in self.calls()])

	def test_full_disk_is_missing_environment(self):
		self.assertCode(self.e.main('run', extra_env={'FAKE_BUILD_ENOSPC': '1'}), kr.EXIT_ENV)
		self.assertIn('build failed: no space left on the device', self.e.output)

	def test_config_failure(self):
		self.assertCode(self.e.main('run', extra_env={'FAKE_CONFIG_FAIL': '1'}), kr.EXIT_BUILD)
		self.assertIn('config step failed', self.e.output)

	def test_kunit_build_option(self):
		self.assertCode(self.e.main('run', '--kunit-build'), 0)
		self.assertEqual([c[0] for c in self.calls()], ['config', 'build', 'exec'])

	def test_waits_for_the_build_lock(self):
		# the work tree first, so that run reaches the lock at once even
		# on a loaded machine; the lock is released 3 s later
		self.assertCode(self.e.main('tree'), 0)
		lock = open(self.e.env['NOIRQ_KUNIT_LOCK'], 'a+')
		import fcntl
		fcntl.flock(lock, fcntl.LOCK_EX)
		t = threading.Timer(3.0, lambda: (fcntl.flock(lock, fcntl.LOCK_UN), lock.close()))
		t.start()
		try:
			self.assertCode(self.e.main('run'), 0)
		finally:
			t.join()
		self.assertIn('waiting for the build lock', self.e.output)


def fake_bin(d, name, script):
	write(Path(d) / name, '#!/bin/sh\n' + script, 0o755)


class FetchTest(TestCase):
	"""Base fetch with fake apt-get / dpkg-deb behaviour (no network)."""

	def setUp(self):
		super().setUp()
		self.bin = self.e.tmp / 'bin'
		self.bin.mkdir()
		write(self.e.tmp / 'apt/sources.list', 'deb http://mirror.invalid/debian bookworm main\n')
		self.env = {'NOIRQ_KUNIT_APT_ETC': str(self.e.tmp / 'apt'),
			    'PATH': f'{self.bin}:{os.environ["PATH"]}'}

	def test_offline(self):
		fake_bin(self.bin, 'apt-get', 'echo "Err:1 http://mirror.invalid trixie-backports InRelease"; '
			 'echo "E: failed to fetch"; exit 100\n')
		self.assertCode(self.e.main('tree', kernel=False, extra_env=self.env), kr.EXIT_ENV)
		self.assertIn('cannot fetch base (network?)', self.e.output)

	def test_checksum_mismatch(self):
		fake_bin(self.bin, 'apt-get', 'for a; do [ "$a" = download ] && echo junk > '
			 f'{kr.BASE_PACKAGE}_{kr.BASE_VERSION}_all.deb; done; exit 0\n')
		self.assertCode(self.e.main('tree', kernel=False, extra_env=self.env), kr.EXIT_CHECKSUM)
		self.assertIn('checksum mismatch', self.e.output)
		self.assertFalse(list((self.e.cache / 'dl').glob('*.deb')))

	@unittest.skipUnless(shutil.which('dpkg-deb'), 'needs dpkg-deb')
	def test_fetch_and_unpack(self):
		# A small real .deb with a fake kernel tarball inside.
		pkg = self.e.tmp / 'pkg'
		src = pkg / 'usr/src'
		src.mkdir(parents=True)
		shutil.copytree(self.e.kernel, self.e.tmp / 'x' / kr.BASE_TOPDIR)
		subprocess.run(['tar', '-cJf', str(src / f'{kr.BASE_TOPDIR}.tar.xz'), '-C', str(self.e.tmp / 'x'),
				kr.BASE_TOPDIR], check=True)
		write(pkg / 'DEBIAN/control', f'Package: {kr.BASE_PACKAGE}\nVersion: {kr.BASE_VERSION}\n'
		      'Architecture: all\nMaintainer: T <t@example.org>\nDescription: fake\n')
		deb = self.e.tmp / 'fake.deb'
		subprocess.run(['dpkg-deb', '--build', '--root-owner-group', str(pkg), str(deb)], check=True,
			       stdout=subprocess.DEVNULL)
		fake_bin(self.bin, 'apt-get', f'for a; do [ "$a" = download ] && cp {deb} '
			 f'{kr.BASE_PACKAGE}_{kr.BASE_VERSION}_all.deb; done; exit 0\n')
		with mock.patch.object(kr.base, 'BASE_SHA256', kr.sha256_file(deb)):
			self.assertCode(self.e.main('tree', kernel=False, extra_env=self.env), 0)
			wt = self.e.cache / 'work' / 'linux'
			# unpacked straight into the work tree: no second copy
			self.assertTrue((wt / 'Makefile').is_file())
			self.assertFalse((self.e.cache / 'base').exists())
			self.assertIn('int noirq;', (wt / 'drivers/virtio/virtio.c').read_text())
			# cached: no second download even with a broken apt-get
			fake_bin(self.bin, 'apt-get', 'exit 100\n')
			self.assertCode(self.e.main('tree', kernel=False, extra_env=self.env), 0)


class MergeKcflagsTest(unittest.TestCase):
	def test_one_kcflags_keeps_every_flag_in_order(self):
		self.assertEqual(kr.merge_kcflags(['W=1', 'KCFLAGS=-DA', 'V=1', 'KCFLAGS=-DB'], ('-fx',)),
				 ['W=1', 'KCFLAGS=-DA -DB -fx', 'V=1'])
		self.assertEqual(kr.merge_kcflags(['W=1'], ('-fx',)), ['W=1', 'KCFLAGS=-fx'])
		self.assertEqual(kr.merge_kcflags(['W=1', 'KCFLAGS=-DA']), ['W=1', 'KCFLAGS=-DA'])
		self.assertEqual(kr.merge_kcflags(['KCFLAGS=']), [])
		self.assertEqual(kr.merge_kcflags([]), [])


class ToolsTest(TestCase):
	def test_missing_tool_names_the_apt_get_command(self):
		bin_ = self.e.tmp / 'bin'
		bin_.mkdir()
		for t in ('git', 'make', 'gcc', 'bison', 'bc', 'perl', 'tar', 'sh', 'env', 'python3'):
			w = shutil.which(t)
			if w:
				os.symlink(w, bin_ / t)
		self.assertCode(self.e.main('run', extra_env={'PATH': str(bin_)}, is_root=False), kr.EXIT_ENV)
		self.assertIn('missing tools: flex', self.e.output)
		self.assertIn('apt-get install -y flex', self.e.output)

	def test_modules_installs_busybox_like_any_tool(self):
		bin_ = self.e.tmp / 'bin'
		bin_.mkdir()
		for t in ('git', 'make', 'gcc', 'flex', 'bison', 'bc', 'perl', 'tar', 'sh', 'env', 'python3'):
			w = shutil.which(t)
			if w:
				os.symlink(w, bin_ / t)
		self.assertCode(self.e.main('run', '--modules', extra_env={'PATH': str(bin_)}, is_root=False),
				kr.EXIT_ENV)
		self.assertRegex(self.e.output, r'missing tools: [^;]*\bbusybox\b')
		self.assertRegex(self.e.output, r'apt-get install -y [^\n]*busybox-static')
		self.assertFalse(self.e.kunit_log.exists())


FAKE_E2E_PY = r"""#!/usr/bin/env python3
import os, sys
with open(os.environ['FAKE_KUNIT_LOG'] + '.e2e', 'a') as f:
    f.write(' '.join(sys.argv[1:]) + '\n')
if '--kunit' in sys.argv:
    # e2e.py --kunit --build-dir DIR --kunit-json FILE: the KUnit boot
    arg = lambda o: sys.argv[sys.argv.index(o) + 1]
    os.makedirs(arg('--build-dir'), exist_ok=True)
    with open(os.path.join(arg('--build-dir'), 'kunit-serial.log'), 'w') as f:
        f.write('    ok 1 virtio_pm_demo\n')
    if os.environ.get('FAKE_X86_FAIL'):
        sys.exit(1)
    with open(arg('--kunit-json'), 'w') as f:
        f.write('{"misc": {"passed": 4, "failed": 0, "crashed": 0, '
                '"skipped": 0, "errors": 0}}')
    sys.exit(0)
if os.environ.get('FAKE_E2E_FAIL'):
    print('5 passed, 2 failed')
    sys.exit(1)
if os.environ.get('FAKE_E2E_ENV'):
    print('e2e: missing packages: qemu-system-x86')
    sys.exit(3)
print('e2e: verdict: PASS')
print('7 passed, 0 failed')
"""


class ContractVerdictTest(unittest.TestCase):
	"""Stage 2's verdict per contract item, on recorded kunit.py JSON."""

	RECORDED = HERE / 'test_data' / 'kunit-all-suites.json'

	def verdict_of(self, data):
		with tempfile.TemporaryDirectory() as d:
			js = Path(d) / 'results.json'
			js.write_text(json.dumps(data))
			with contextlib.redirect_stdout(io.StringIO()), \
			     contextlib.redirect_stderr(io.StringIO()):
				c = kr.contract_verdict(js)
			self.assertEqual((Path(d) / 'verdict.json').exists(), c != (0, 0, 1))
		return c

	def test_every_item_proven_is_one_check_passed(self):
		self.assertEqual(self.verdict_of(json.loads(self.RECORDED.read_text())), (1, 0, 0))

	def test_one_failing_case_fails_the_check(self):
		data = json.loads(self.RECORDED.read_text())
		suite = next(g for g in data['sub_groups'] if g['name'] == 'virtio_noirq_restore')
		suite['test_cases'][0]['status'] = 'FAIL'
		self.assertEqual(self.verdict_of(data), (0, 1, 0))

	def test_a_missing_suite_fails_the_check(self):
		data = json.loads(self.RECORDED.read_text())
		data['sub_groups'] = [g for g in data['sub_groups'] if g['name'] != 'virtio_mmio_noirq']
		self.assertEqual(self.verdict_of(data), (0, 1, 0))

	def test_no_contract_suite_is_skipped(self):
		self.assertEqual(self.verdict_of({'name': 'x', 'test_cases': [], 'sub_groups': [
			{'name': 'other_suite', 'test_cases': [], 'sub_groups': []}]}), (0, 0, 1))


class TestAllTest(TestCase):
	"""test-all with fake stages: self-tests mocked, e2e/x86_64 scripts faked."""

	def setUp(self):
		super().setUp()
		# the fake kunit.py also reports the fix-proof suite
		self.e.env['FAKE_FIX_PROOF'] = '1'
		self.fake_e2e = self.e.tmp / 'e2e.py'
		write(self.fake_e2e, FAKE_E2E_PY, 0o755)
		self.fake_series = self.e.tmp / 'series_checks.py'
		# stage 3 builds with gcov: its tools and the fragment; the lcov
		# part (coverage_report) has its own test
		qbin = self.e.tmp / 'qemu-bin'
		for tool in ('lcov', 'genhtml'):
			fake_bin(qbin, tool, 'exit 0\n')
		self.e.env['PATH'] = f'{qbin}:{os.environ["PATH"]}'
		write(self.e.kernel / kr.COVERAGE_FRAGMENT, 'CONFIG_GCOV=y\n')
		# contract_verdict() has its own tests; here: which JSON it reads
		self.verdicts = []
		patches = [mock.patch.object(kr.stages, 'stage_selftests', lambda ta: (5, 0, 0)),
			   mock.patch.object(kr.Runner, 'coverage_report', lambda r, *a: True),
			   mock.patch.object(kr.stages, 'contract_verdict',
					     lambda js: self.verdicts.append(js) or (0, 0, 0)),
			   mock.patch.object(kr.stages, 'E2E_PY', self.fake_e2e),
			   mock.patch.object(kr.stages, 'SERIES_CHECKS_PY', self.fake_series)]
		for p in patches:
			p.start()
			self.addCleanup(p.stop)

	def calls(self):
		return [json.loads(l) for l in self.e.kunit_log.read_text().splitlines()]

	def stage_lines(self):
		return [l for l in self.e.output.splitlines() if l.startswith('==== ') and ' -- ' in l]

	def test_all_stages_and_one_final_line(self):
		self.assertCode(self.e.main('test-all'), 0)
		lines = self.e.output.splitlines()
		# 5 self-tests + 5 KUnit + 5 hardened + 1 coverage check
		# + 1 hardening self-check + prefixes: --upto 0 (3 + the fix
		# proof) and --upto 1 (5) + 7 e2e + 4 x86_64; series_checks.py
		# absent
		self.assertEqual(lines[-1], '37 passed, 0 failed, 1 skipped')
		# stage 2 judged the contract from its own kunit.py JSON
		# and stage 3 from the hardened (gcov) run's
		out = Path(self.verdicts[0]).parent
		self.assertEqual([Path(js).relative_to(out).as_posix() for js in self.verdicts],
				 ['results.json', 'harden-coverage/results.json'])
		self.assertIn('fix proof: virtio_ring_reset fails on the base as it must', self.e.output)
		self.assertEqual(len(self.stage_lines()), 7, self.e.output)
		self.assertIn('series_checks.py is not present', self.e.output)
		self.assertIn('total wall time', self.e.output)
		execs = [c for c in self.calls() if c[0] == 'exec']
		self.assertEqual(len(execs), 4)
		# hardening + coverage: own build dir, every suite, define on the
		# make command line, the gcov fragment, self-check
		self.assertTrue(any(a.startswith('--build_dir=') and a.endswith('-um-harden-coverage')
				    for a in execs[1]))
		self.assertFalse(any(a.startswith('virtio_') for a in execs[1]), execs[1])
		self.assertIn(f'--kunitconfig={self.e.wt / kr.COVERAGE_FRAGMENT}', execs[1])
		# one KCFLAGS=: the hardening define and gcov's filter
		self.assertIn(f'KCFLAGS={kr.HARDEN_DEFINE} {kr.COVERAGE_KCFLAGS} linux', self.e.output)
		self.assertIn(f'hardening self-check: {kr.HARDEN_DEFINE} is in', self.e.output)
		# base proof and bisect: --upto 0 and 1 (every prefix of the fake
		# two-patch series) in one shared work tree with base.kunitconfig
		for c in execs[2:4]:
			self.assertIn(f'--kunitconfig={kr.BASE_KUNITCONFIG}', c)
			self.assertTrue(any(a.endswith('-upto/.build-um') for a in c), c)
		self.assertIn('prefix --upto 0: 4 passed, 0 failed', self.e.output)
		self.assertIn('prefix --upto 1: 5 passed, 0 failed', self.e.output)
		# e2e and x86_64 get the (full series) work tree
		wt = str(self.e.wt)
		self.assertIn(f'--kernel {wt} ', (self.e.tmp / 'kunit.log.e2e').read_text())
		# one x86_64 kernel: the KUnit run boots stage 5's build dir
		e2e_calls = (self.e.tmp / 'kunit.log.e2e').read_text().splitlines()
		self.assertEqual(len(e2e_calls), 2)
		bdir = self.e.cache / 'build' / 'e2e-x86_64'
		self.assertIn(f'--kernel {wt} --build-dir {bdir} --kunit ', e2e_calls[1])
		self.assertIn(f'--build-dir {bdir} --cycles', e2e_calls[0])
		self.assertEqual((self.e.out / 'x86_64' / 'test.log').read_text(), '    ok 1 virtio_pm_demo\n')
		# the CI tier: a short e2e run
		self.assertIn(f'--cycles={kr.E2E_CI_CYCLES}', (self.e.tmp / 'kunit.log.e2e').read_text())
		self.assertIn('--hib-image --compare', (self.e.tmp / 'kunit.log.e2e').read_text())

	def test_failures_are_summed_and_fail_the_run(self):
		write(self.fake_series, '#!/usr/bin/env python3\nimport os, sys\n'
		      'open(os.environ["FAKE_KUNIT_LOG"] + ".series", "w").write(" ".join(sys.argv[1:]))\n'
		      'print("2 passed, 1 failed")\nraise SystemExit(1)\n')
		env = {'FAKE_E2E_FAIL': '1', 'FAKE_X86_FAIL': '1'}
		self.assertCode(self.e.main('test-all', extra_env=env), kr.EXIT_TESTS_FAILED)
		# 5 + 5 + 6 + 9 + e2e 5/2 + x86_64 no results: 0/1 + 1 + series checks 2/1
		self.assertEqual(self.e.output.splitlines()[-1], '33 passed, 4 failed')
		fails = [l for l in self.stage_lines() if ' -- FAIL ' in l]
		self.assertEqual(len(fails), 3, self.e.output)
		self.assertEqual((self.e.tmp / 'kunit.log.series').read_text(),
				 f'--kernel {self.e.wt} --cache {self.e.cache / "series-checks"} --link tip '
				 '--only checkpatch,kernel-doc')

	def test_full_runs_the_whole_matrix(self):
		write(self.fake_series, '#!/usr/bin/env python3\nimport os, sys\n'
		      'open(os.environ["FAKE_KUNIT_LOG"] + ".series", "w").write(" ".join(sys.argv[1:]))\n'
		      'print("9 passed, 0 failed")\n')
		self.assertCode(self.e.main('test-all', '--full'), 0)
		self.assertEqual(len(self.stage_lines()), 7, self.e.output)
		# stage 5: the x86_64 soak, then arm64 in its own build dir; the
		# two "7 passed" of the fake add up
		x86, arm, kunit = (self.e.tmp / 'kunit.log.e2e').read_text().splitlines()
		self.assertIn('--soak', x86)
		self.assertNotIn('--cycles', x86)
		self.assertNotIn('--arch', x86)
		bdir = self.e.cache / 'build' / 'e2e-arm64'
		self.assertIn(f'--arch arm64 --kernel {self.e.wt} --build-dir {bdir} '
			      f'--cycles={kr.E2E_ARM64_CYCLES} --hib-image --compare', arm)
		self.assertIn('--hib-image --compare', x86)
		self.assertIn('--kunit', kunit)
		e2e = next(l for l in self.stage_lines() if '[5/7]' in l)
		self.assertIn('14 passed, 0 failed', e2e)
		self.assertEqual((self.e.tmp / 'kunit.log.series').read_text(),
				 f'--kernel {self.e.wt} --cache {self.e.cache / "series-checks"} --link tip')
		self.assertIn('(--full: the whole matrix)', self.e.output)

	def test_a_stage_that_cannot_run_is_a_failure(self):
		self.assertCode(self.e.main('test-all', extra_env={'FAKE_BUILD_FAIL': '1'}), kr.EXIT_TESTS_FAILED)
		self.assertIn('build failed', self.e.output)
		# KUnit, hardened, prefixes --upto 0 and 1 fail; the others still run
		self.assertEqual(self.e.output.splitlines()[-1], '16 passed, 4 failed, 1 skipped')

	def test_uncovered_series_line_fails_the_hardening_stage(self):
		with mock.patch.object(kr.Runner, 'coverage_report', lambda r, *a: False):
			self.assertCode(self.e.main('test-all'), kr.EXIT_TESTS_FAILED)
		fails = [l for l in self.stage_lines() if ' -- FAIL ' in l]
		self.assertEqual(len(fails), 1, self.e.output)
		self.assertIn('[3/7] KUnit suite, notification hardening, coverage', fails[0])
		self.assertIn(': 6 passed, 1 failed', fails[0])

	def test_work_tree_is_prepared_while_the_self_tests_run(self):
		def selftests(ta):
			# passes only if the work tree gets ready while stage 1 runs
			deadline = time.time() + 60
			while time.time() < deadline:
				st = ta.main.load_state()
				if st and st.get('fingerprint'):
					return (1, 0, 0)
				time.sleep(0.02)
			return (0, 1, 0)
		with mock.patch.object(kr.stages, 'stage_selftests', selftests):
			self.assertCode(self.e.main('test-all', '--quick'), 0)
		stage1, stage2 = self.e.output.split('==== test-all [2/2]', 1)
		# its lines are held back and printed by stage 2, which needs the tree
		self.assertNotIn('creating work tree', stage1)
		self.assertIn('creating work tree', stage2)
		self.assertIn('work tree', stage2.split('kunit.py config')[0])
		log2 = (self.e.out / 'test-all-logs').glob('2-*.log')
		self.assertIn('creating work tree', next(log2).read_text())

	def test_a_prepare_error_beside_the_self_tests_is_stage_2s(self):
		bad = make_patch(self.e.kernel, self.e.tmp / 'pbad', {'drivers/virtio/virtio_mmio.c': 'other\n'}, 'bad')
		write(bad, bad.read_text().replace('-int mmio;', '-int nomatch;'))
		shutil.copy(bad, self.e.repo / 'patches' / '0003-bad.patch')
		write(self.e.repo / 'patches/series', '0001-virtio-add-noirq.patch\n0003-bad.patch\n'
		      '0002-virtio-hook-tests.patch\n')
		self.assertCode(self.e.main('test-all', '--quick'), kr.EXIT_TESTS_FAILED)
		self.assertEqual(self.e.output.count('0003-bad.patch does not apply'), 1, self.e.output)
		fails = [l for l in self.stage_lines() if ' -- FAIL ' in l]
		self.assertEqual(len(fails), 1, self.e.output)
		self.assertIn('[2/2] KUnit suite', fails[0])

	def test_quick(self):
		self.assertCode(self.e.main('test-all', '--quick'), 0)
		self.assertEqual(len(self.stage_lines()), 2, self.e.output)
		self.assertEqual(self.e.output.splitlines()[-1], '10 passed, 0 failed')

	def test_fix_proof_fails_if_the_base_passes(self):
		# the proof of the first patch must fail on the base; if it passes
		# there, it does not show the bug: one failure, its cases not counted
		self.assertCode(self.e.main('test-all', extra_env={'FAKE_RING_FIXED': '1'}),
				kr.EXIT_TESTS_FAILED)
		self.assertIn('fix proof: virtio_ring_reset passes on the base', self.e.output)
		self.assertIn('prefix --upto 0: 3 passed, 1 failed', self.e.output)

	def report(self):
		return json.loads((self.e.out / 'test-all.json').read_text())

	def test_reports_of_a_run_with_one_failing_stage(self):
		git(self.e.repo, 'init', '-q')
		git(self.e.repo, 'add', '-A')
		git(self.e.repo, 'commit', '-q', '-m', 'repo')
		head = git(self.e.repo, 'rev-parse', 'HEAD')
		self.assertCode(self.e.main('test-all', extra_env={'FAKE_E2E_FAIL': '1'}),
				kr.EXIT_TESTS_FAILED)
		lines = self.e.output.splitlines()
		# the last line is as before, the cases and checks line just before it
		self.assertEqual(lines[-1], '35 passed, 2 failed, 1 skipped')
		self.assertEqual(lines[-2], 'KUnit cases: 22 passed, 0 failed; '
				 'checks: 13 passed, 2 failed, 1 skipped')
		js, xml = self.e.out / 'test-all.json', self.e.out / 'test-all.xml'
		self.assertIn(f'  report: {js}', lines)
		self.assertIn(f'  report: {xml}', lines)
		rep = self.report()
		self.assertEqual(rep['repo'], {'path': str(self.e.repo), 'commit': head})
		self.assertEqual(rep['base'], {'kind': 'kernel', 'path': str(self.e.kernel)})
		self.assertEqual(rep['total'], {'passed': 35, 'failed': 2, 'skipped': 1})
		self.assertEqual(rep['kunit_cases'], {'passed': 22, 'failed': 0, 'skipped': 0})
		self.assertEqual((rep['status'], rep['exit_code']), ('fail', kr.EXIT_TESTS_FAILED))
		st = rep['stages']
		self.assertEqual([s['index'] for s in st], list(range(1, 8)))
		self.assertEqual([s['status'] for s in st], ['pass'] * 4 + ['fail'] + ['pass'] + ['skip'])
		e2e = st[4]
		self.assertEqual((e2e['passed'], e2e['failed'], e2e['skipped']), (5, 2, 0))
		self.assertEqual(e2e['checks'], {'passed': 5, 'failed': 2, 'skipped': 0})
		self.assertEqual(e2e['errors'], [])
		self.assertIn('5 passed, 2 failed', Path(e2e['log']).read_text())
		for s in st:
			self.assertEqual(set(s), {'index', 'name', 'status', 'passed', 'failed', 'skipped',
						  'kunit_cases', 'checks', 'duration', 'log', 'kunit_json',
						  'kunit_junit', 'errors'})
			self.assertIsInstance(s['duration'], float)
			self.assertTrue(Path(s['log']).is_file(), s)
			for k in ('passed', 'failed', 'skipped'):
				self.assertEqual(s[k], s['kunit_cases'][k] + s['checks'][k], s)
		# stage 2: its cases are KUnit cases, its JSON kept per run
		self.assertEqual(st[1]['kunit_cases'], {'passed': 5, 'failed': 0, 'skipped': 0})
		self.assertEqual(st[1]['kunit_json'], [str(self.e.out / 'results.json')])
		self.assertEqual(st[3]['kunit_json'], [str(self.e.out / f'base-upto{k}' / 'results.json')
						       for k in (0, 1)])
		self.assertEqual(st[0]['checks']['passed'], 5)
		# the JUnit file: every stage one <testsuite>, kunit.py's own merged in
		import xml.etree.ElementTree as ET
		root = ET.parse(xml).getroot()
		self.assertEqual(root.tag, 'testsuites')
		suites = root.findall('testsuite')
		self.assertEqual([t.get('name') for t in suites], [f'{s["index"]} {s["name"]}' for s in st])
		self.assertEqual(suites[1].find('testsuite').get('name'), 'KUnit Test Group')
		self.assertEqual(len(suites[1].findall('.//testcase')), 5)
		self.assertEqual([t.get('name') for t in suites[3].findall('testsuite')], ['--upto 0', '--upto 1'])
		fail = suites[4].find('testcase/failure')
		self.assertEqual(fail.get('message'), '5 passed, 2 failed')
		self.assertIn(e2e['log'], fail.text)
		self.assertIsNotNone(suites[6].find('testcase/skipped'))
		self.assertEqual(root.get('failures'), '2')
		# a change in the repo's work tree is told
		write(self.e.repo / 'drivers/virtio/tests/virtio_pm_test.c', '/* changed */\n')
		self.assertCode(self.e.main('test-all', '--quick'), 0)
		self.assertEqual(self.report()['repo']['commit'], head + '-dirty')
		self.assertEqual(self.report()['tier'], 'quick')

	def test_infrastructure_failure_has_its_own_exit_code(self):
		# a full disk fails every build: no test result, exit code 3
		self.assertCode(self.e.main('test-all', extra_env={'FAKE_BUILD_ENOSPC': '1'}), kr.EXIT_ENV)
		self.assertIn('no space left on the device', self.e.output)
		self.assertEqual(self.e.output.splitlines()[-1], '16 passed, 4 failed, 1 skipped')
		rep = self.report()
		self.assertEqual((rep['status'], rep['exit_code']), ('error', kr.EXIT_ENV))
		self.assertEqual([s['status'] for s in rep['stages']][1:4], ['error'] * 3)
		err = rep['stages'][1]['errors']
		self.assertEqual(len(err), 1)
		self.assertEqual((err[0]['exit_code'], err[0]['infrastructure']), (kr.EXIT_ENV, True))
		import xml.etree.ElementTree as ET
		suites = ET.parse(self.e.out / 'test-all.xml').getroot().findall('testsuite')
		self.assertEqual(suites[1].find('testcase/error').get('type'), 'infrastructure')
		self.assertEqual(suites[1].get('errors'), '1')
		# a stage script that exits 3 (missing environment) is one too
		self.assertCode(self.e.main('test-all', extra_env={'FAKE_E2E_ENV': '1'}), kr.EXIT_ENV)
		self.assertEqual(self.report()['stages'][4]['status'], 'error')
		# with a test failure besides, the run's verdict is the test failure
		self.assertCode(self.e.main('test-all', extra_env={'FAKE_BUILD_ENOSPC': '1',
								   'FAKE_E2E_FAIL': '1'}),
				kr.EXIT_TESTS_FAILED)
		self.assertEqual([s['status'] for s in self.report()['stages']][1:5], ['error'] * 3 + ['fail'])
		# a build that fails for the code stays a test failure
		self.assertCode(self.e.main('test-all', extra_env={'FAKE_BUILD_FAIL': '1'}), kr.EXIT_TESTS_FAILED)
		self.assertEqual(self.report()['stages'][1]['status'], 'fail')

	def test_foreign_series(self):
		_, mbox = make_series(self.e.kernel, self.e.tmp / 'v10', THEIR_V10)
		self.assertCode(self.e.main('test-all', '--series', str(mbox)), 0)
		rep = self.report()
		self.assertEqual(rep['series'], {'kind': 'mbox', 'path': str(mbox), 'patches': 2})
		# the base proof and bisect are of patches/ only
		self.assertEqual(rep['stages'][3]['status'], 'skip')
		self.assertIn('run on the series of patches/ only', self.e.output)
		self.assertFalse(self.e.wt.exists())
		wt = Path(str(self.e.wt) + '-series-' +
			  kr.runner.hashlib.sha1(str(mbox).encode()).hexdigest()[:10])
		self.assertIn('int noirq_v10_fixed;', (wt / 'drivers/virtio/virtio.c').read_text())
		self.assertIn(f'--kernel {wt} ', (self.e.tmp / 'kunit.log.e2e').read_text())
		# bad input is one usage error before any stage
		for argv in (['--series', str(self.e.tmp / 'nope')], ['--applied', '--series', str(mbox)]):
			self.assertCode(self.e.main('test-all', *argv), kr.EXIT_USAGE)
			self.assertEqual(len(self.e.output.splitlines()), 1, self.e.output)

	def test_hardening_self_check(self):
		d = self.e.tmp / 'b'
		write(d / 'drivers/virtio/.virtio.o.cmd', 'savedcmd_x := gcc -DCONFIG_VIRTIO_HARDEN -c\n')
		with contextlib.redirect_stdout(io.StringIO()):
			self.assertFalse(kr.harden_applied(d))
			self.assertFalse(kr.harden_applied(self.e.tmp / 'nope'))
			write(d / 'drivers/virtio/.virtio.o.cmd', f'savedcmd_x := gcc {kr.HARDEN_DEFINE} -c\n')
			self.assertTrue(kr.harden_applied(d))

	def test_parse_summary(self):
		with contextlib.redirect_stdout(io.StringIO()):
			self.assertEqual(kr.parse_summary(['x', '3 passed, 1 failed, 2 skipped', 'y'], 1), (3, 1, 2))
			self.assertEqual(kr.parse_summary(['3 passed, 0 failed'], 0), (3, 0, 0))
			self.assertEqual(kr.parse_summary(['3 passed, 0 failed'], 5), (3, 1, 0))
			self.assertEqual(kr.parse_summary(['Traceback'], 8), (0, 1, 0))


INFO_TEMPLATE = """TN:
SF:{root}/drivers/virtio/virtio.c
FN:1,f
DA:1,1
DA:2,5
DA:3,0
DA:5,1
DA:7,0
end_of_record
SF:{root}/drivers/virtio/virtio_ring.c
DA:1,1
DA:2,3
end_of_record
"""


class CoverageTest(TestCase):
	def series_repo(self):
		d = self.e.tmp / 'cov'
		write(d / 'drivers/virtio/virtio.c', 'a\nb\nc\nd\ne\nf\ng\n')
		write(d / 'drivers/virtio/virtio_ring.c', 'r1\nr2\n')
		git(d, 'init', '-q')
		git(d, 'add', '-A')
		git(d, 'commit', '-q', '-m', 'base')
		git(d, 'tag', 'base')
		# the series changes line 2 and adds lines 5 and 6
		write(d / 'drivers/virtio/virtio.c', 'a\nB\nc\nd\nnew1\nnew2\ne\nf\ng\n')
		git(d, 'commit', '-q', '-am', 'series')
		return d

	def test_added_lines(self):
		diff = ('diff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n@@ -2 +2 @@\n-b\n+B\n'
			'@@ -4,0 +5,2 @@ x\n+n1\n+n2\n@@ -9,2 +11,0 @@\n-x\n-y\n'
			'diff --git a/g.c b/g.c\nnew file mode 100644\n--- /dev/null\n+++ b/g.c\n@@ -0,0 +1,2 @@\n+1\n+2\n'
			'diff --git a/h.c b/h.c\n--- a/h.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n')
		self.assertEqual(kr.added_lines(diff), {'f.c': {2, 5, 6}, 'g.c': {1, 2}})

	def test_intersection_with_instrumented_lines(self):
		d = self.series_repo()
		g = kr.Git(d, dict(os.environ, **GIT_ENV))
		info = INFO_TEMPLATE.format(root=d)
		rep = kr.series_coverage(g, 'base', 'HEAD', info, kr.COVERAGE_FILES)
		# added lines 2, 5, 6; instrumented 1, 2, 3, 5, 7 -> {2, 5}, both hit
		self.assertEqual(rep['drivers/virtio/virtio.c'], (2, 2, []))
		self.assertEqual(rep['drivers/virtio/virtio_ring.c'], (0, 0, []))
		self.assertIsNone(rep['drivers/virtio/virtio_mmio.c'])
		with contextlib.redirect_stdout(io.StringIO()) as buf:
			self.assertTrue(kr.print_coverage(rep, kr.COVERAGE_ENFORCED))
		self.assertIn('drivers/virtio/virtio.c: 2/2 (100.0%', buf.getvalue())
		info = info.replace('DA:5,1', 'DA:5,0').replace('DA:7,0', 'DA:6,0\nDA:7,0')
		rep = kr.series_coverage(g, 'base', 'HEAD', info, kr.COVERAGE_FILES)
		self.assertEqual(rep['drivers/virtio/virtio.c'], (1, 3, [5, 6]))
		with contextlib.redirect_stdout(io.StringIO()) as buf:
			self.assertFalse(kr.print_coverage(rep, kr.COVERAGE_ENFORCED))
		self.assertIn('1/3 (33.3%, required 100%); uncovered lines: 5-6', buf.getvalue())
		self.assertIn('coverage check: FAIL', buf.getvalue())
		# no record for an enforced file fails too
		rep['drivers/virtio/virtio.c'] = None
		rep['drivers/virtio/virtio_ring.c'] = (0, 0, [])
		with contextlib.redirect_stdout(io.StringIO()):
			self.assertFalse(kr.print_coverage(rep, kr.COVERAGE_ENFORCED))

	def test_coverage_command(self):
		"""Fragments merged, stale .gcda removed, lcov/genhtml run, figures checked."""
		write(self.e.kernel / kr.COVERAGE_FRAGMENT, 'CONFIG_GCOV=y\n')
		bin_ = self.e.tmp / 'bin'
		info = self.e.tmp / 'fake.info'
		fake_bin(bin_, 'lcov', f'out=; prev=\nfor a; do [ "$prev" = --output-file ] && out=$a; prev=$a; done\n'
			 f'echo "lcov $*" >> {self.e.tmp}/lcov.log\ncp {info} "$out"\n')
		fake_bin(bin_, 'genhtml', 'exit 0\n')
		env = {'PATH': f'{bin_}:{os.environ["PATH"]}'}
		# the series of the fake work tree adds 'int noirq;' as line 6 of virtio.c
		self.assertCode(self.e.main('tree'), 0)
		wt = self.e.wt
		write(info, f'SF:{wt}/drivers/virtio/virtio.c\nDA:5,1\nDA:6,1\nend_of_record\n'
		      f'SF:{wt}/drivers/virtio/virtio_ring.c\nend_of_record\n')
		bdir = self.e.cache / 'build' / f'{wt.name}-um-coverage'
		write(bdir / 'drivers/virtio/stale.gcda', 'x')
		self.assertCode(self.e.main('coverage', extra_env=env), 0)
		self.assertFalse((bdir / 'drivers/virtio/stale.gcda').exists())
		self.assertIn('removed 1 stale .gcda file(s)', self.e.output)
		self.assertIn('drivers/virtio/virtio.c: 1/1 (100.0%', self.e.output)
		self.assertEqual(self.e.output.splitlines()[-1], '1 passed, 0 failed')
		cfg = [json.loads(l) for l in self.e.kunit_log.read_text().splitlines()][0]
		self.assertEqual(cfg[0], 'config')
		self.assertEqual([a for a in cfg if a.startswith('--kunitconfig=')],
				 [f'--kunitconfig={self.e.repo / ".kunitconfig"}',
				  f'--kunitconfig={kr.RUNNER_FRAGMENT}',
				  f'--kunitconfig={wt / kr.COVERAGE_FRAGMENT}',
				  f'--kunitconfig={kr.COVERAGE_EXTRA}'])
		self.assertIn('CONFIG_DEBUG_INFO_REDUCED=y', kr.COVERAGE_EXTRA.read_text())
		self.assertIn('CONFIG_GCOV=y', (bdir / '.config').read_text())
		self.assertIn(f'--base-directory {wt}', (self.e.tmp / 'lcov.log').read_text())
		write(info, f'SF:{wt}/drivers/virtio/virtio.c\nDA:6,0\nend_of_record\n')
		self.assertCode(self.e.main('coverage', extra_env=env), kr.EXIT_TESTS_FAILED)
		self.assertIn('uncovered lines: 6', self.e.output)
		self.assertEqual(self.e.output.splitlines()[-1], '0 passed, 1 failed')


def repo_files(repo):
	"""{relpath: bytes} of patches/, drivers/ and .kunitconfig of @repo."""
	res = {}
	for top in ('patches', 'drivers', '.kunitconfig'):
		p = Path(repo) / top
		files = [p] if p.is_file() else sorted(x for x in p.rglob('*') if x.is_file())
		for f in files:
			res[str(f.relative_to(repo))] = f.read_bytes()
	return res


def interrupt_git_am(nth):
	"""Patch kr.proc.run_cmd so that the @nth `git am` gets a Ctrl-C."""
	calls = [0]
	real = kr.run_cmd

	def fake(cmd, *a, **kw):
		if 'am' in [str(c) for c in cmd] and '--abort' not in cmd and '--quit' not in cmd:
			calls[0] += 1
			if calls[0] == nth:
				raise KeyboardInterrupt
		return real(cmd, *a, **kw)
	return mock.patch.object(kr.proc, 'run_cmd', fake)


class NothingIsLostTest(TestCase):
	"""No command deletes or rewrites a file of patches/ or the tests it cannot account for."""

	def add_bad_patch(self):
		"""A new, untracked patch in the middle of the series that does not apply."""
		bad = make_patch(self.e.kernel, self.e.tmp / 'pbad', {'drivers/virtio/virtio_mmio.c': 'other\n'},
				 'virtio: new work')
		write(bad, bad.read_text().replace('-int mmio;', '-int nomatch;'))
		shutil.copy(bad, self.e.repo / 'patches' / '0002-virtio-new-work.patch')
		write(self.e.repo / 'patches/series', '0001-virtio-add-noirq.patch\n0002-virtio-new-work.patch\n'
		      '0002-virtio-hook-tests.patch\n')

	def change_patch(self):
		p = make_patch(self.e.kernel, self.e.tmp / 'p1b',
			       {'drivers/virtio/virtio.c': 'int virtio;\n' * 5 + 'int noirq2;\n'}, 'virtio: add noirq')
		shutil.copy(p, self.e.repo / 'patches' / '0001-virtio-add-noirq.patch')

	def assertOneLine(self):
		self.assertEqual(len(self.e.output.strip().splitlines()), 1, self.e.output)

	def test_export_refuses_after_a_patch_that_does_not_apply(self):
		self.assertCode(self.e.main('tree'), 0)
		self.add_bad_patch()
		self.assertCode(self.e.main('tree'), kr.EXIT_SERIES)
		before = repo_files(self.e.repo)
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertOneLine()
		self.assertEqual(before, repo_files(self.e.repo))

	def test_export_refuses_after_a_first_prepare_that_failed(self):
		self.add_bad_patch()
		self.assertCode(self.e.main('tree'), kr.EXIT_SERIES)
		before = repo_files(self.e.repo)
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertOneLine()
		self.assertEqual(before, repo_files(self.e.repo))

	def test_export_refuses_a_series_changed_since_the_prepare(self):
		# a new patch listed in series (and an edited one) that the work
		# tree never held: export must not delete or rewrite them
		self.assertCode(self.e.main('tree'), 0)
		new = make_patch(self.e.kernel, self.e.tmp / 'pnew', {'drivers/virtio/Kconfig': 'config X\n'}, 'new')
		shutil.copy(new, self.e.repo / 'patches' / '0003-new.patch')
		write(self.e.repo / 'patches/series', '0001-virtio-add-noirq.patch\n0003-new.patch\n'
		      '0002-virtio-hook-tests.patch\n')
		before = repo_files(self.e.repo)
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertOneLine()
		self.assertEqual(before, repo_files(self.e.repo))
		write(self.e.repo / 'patches/series', '0001-virtio-add-noirq.patch\n0002-virtio-hook-tests.patch\n')
		self.change_patch()
		before = repo_files(self.e.repo)
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertEqual(before, repo_files(self.e.repo))

	def test_export_leaves_an_old_patch_file_and_says_so(self):
		self.assertCode(self.e.main('tree'), 0)
		self.assertCode(self.e.main('export'), 0)
		wt = self.e.wt
		git(wt, 'checkout', '-q', 'HEAD~2')
		git(wt, 'commit', '-q', '--amend', '-m', 'virtio: add noirq, renamed')
		git(wt, 'cherry-pick', 'work~1', 'work')
		git(wt, 'checkout', '-q', '-B', 'work')
		old = (self.e.repo / 'patches/0001-virtio-add-noirq.patch').read_bytes()
		self.assertCode(self.e.main('export'), 0)
		self.assertEqual((self.e.repo / 'patches/0001-virtio-add-noirq.patch').read_bytes(), old)
		self.assertTrue((self.e.repo / 'patches/0001-virtio-add-noirq-renamed.patch').is_file())
		self.assertIn('0001-virtio-add-noirq-renamed.patch', (self.e.repo / 'patches/series').read_text())
		self.assertIn('left 1 patch file(s) that are no longer in the series in', self.e.output)

	def test_export_refuses_a_missing_placed_file(self):
		self.assertCode(self.e.main('tree'), 0)
		(self.e.wt / '.kunitconfig').unlink()
		git(self.e.wt, 'commit', '-q', '-a', '--amend', '--no-edit')
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertOneLine()
		self.assertTrue((self.e.repo / '.kunitconfig').is_file())

	def interrupted_run(self):
		"""A complete prepare, then a Ctrl-C while the changed series is applied."""
		self.assertCode(self.e.main('tree'), 0)
		self.change_patch()
		with interrupt_git_am(2):
			self.assertCode(self.e.main('run'), kr.EXIT_INTERRUPTED)
		self.assertIn('interrupted', self.e.output)
		self.assertNotIn('Traceback', self.e.output)

	def test_ctrl_c_while_applying_then_export(self):
		self.interrupted_run()
		state = json.loads(self.e.wt.with_name(self.e.wt.name + '.state.json').read_text())
		self.assertIn('preparing', state)
		before = repo_files(self.e.repo)
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertOneLine()
		self.assertIn('interrupted', self.e.output)
		self.assertEqual(before, repo_files(self.e.repo))
		# the next prepare finishes the job; it is not taken for user edits
		self.assertCode(self.e.main('tree'), 0)
		wt = self.e.wt
		self.assertEqual(git(wt, 'log', '--format=%s', 'base..HEAD').splitlines(),
				 [kr.PLACED_SUBJECT, 'virtio: hook tests', 'virtio: add noirq'])
		self.assertIn('int noirq2;', (wt / 'drivers/virtio/virtio.c').read_text())
		self.assertEqual(git(wt, 'status', '--porcelain'), '')
		self.assertCode(self.e.main('export'), 0)
		self.assertTrue((self.e.repo / '.kunitconfig').is_file())
		self.assertTrue((self.e.repo / 'drivers/virtio/tests/virtio_pm_test.c').is_file())

	def test_ctrl_c_on_the_first_prepare(self):
		with interrupt_git_am(1):
			self.assertCode(self.e.main('tree'), kr.EXIT_INTERRUPTED)
		before = repo_files(self.e.repo)
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertEqual(before, repo_files(self.e.repo))
		self.assertCode(self.e.main('tree'), 0)

	def test_edits_after_an_interrupted_prepare_are_kept(self):
		self.interrupted_run()
		wt = self.e.wt
		write(wt / 'drivers/virtio/virtio_mmio.c', 'my edit\n')
		self.assertCode(self.e.main('tree'), kr.EXIT_DIRTY)
		self.assertOneLine()
		self.assertEqual((wt / 'drivers/virtio/virtio_mmio.c').read_text(), 'my edit\n')
		git(wt, 'commit', '-q', '-am', 'my commit')
		self.assertCode(self.e.main('tree'), kr.EXIT_DIRTY)
		self.assertOneLine()
		self.assertEqual(git(wt, 'log', '-1', '--format=%s'), 'my commit')

	def state_path(self):
		return self.e.wt.with_name(self.e.wt.name + '.state.json')

	def test_prepare_is_recorded_before_the_tree_is_touched(self):
		self.assertCode(self.e.main('tree'), 0)
		self.change_patch()
		seen = []

		def reset(runner):
			seen.append('preparing' in json.loads(self.state_path().read_text()))
			raise KeyboardInterrupt
		with mock.patch.object(kr.Runner, 'reset_to_base', reset):
			self.assertCode(self.e.main('tree'), kr.EXIT_INTERRUPTED)
		self.assertEqual(seen, [True])
		self.assertIn('interrupted while preparing', self.e.output.splitlines()[-1])
		self.assertEqual(self.e.output.count('interrupted'), 1, self.e.output)
		self.assertCode(self.e.main('tree'), 0)
		self.assertIn('int noirq2;', (self.e.wt / 'drivers/virtio/virtio.c').read_text())

	def test_killed_prepare(self):
		# killed hard (no Ctrl-C handler ran): a clean tree is resumed; an
		# uncommitted change may be an edit, so it is kept and reported
		self.assertCode(self.e.main('tree'), 0)
		state = json.loads(self.state_path().read_text())
		state.update(fingerprint=None, preparing={'snap': {}})
		self.state_path().write_text(json.dumps(state))
		write(self.e.wt / 'drivers/virtio/virtio_mmio.c', 'edit or not?\n')
		self.assertCode(self.e.main('tree'), kr.EXIT_DIRTY)
		self.assertOneLine()
		self.assertIn('cannot tell', self.e.output)
		self.assertEqual((self.e.wt / 'drivers/virtio/virtio_mmio.c').read_text(), 'edit or not?\n')
		git(self.e.wt, 'checkout', '--', 'drivers/virtio/virtio_mmio.c')
		self.assertCode(self.e.main('tree'), 0)
		self.assertCode(self.e.main('export'), 0)

	def test_ctrl_c_while_placing_files(self):
		self.assertCode(self.e.main('tree'), 0)
		write(self.e.repo / 'drivers/virtio/tests/virtio_pm_test.c', '/* test v2 */\n')
		with mock.patch.object(kr.worktree.shutil, 'copymode', side_effect=KeyboardInterrupt):
			self.assertCode(self.e.main('tree'), kr.EXIT_INTERRUPTED)
		before = repo_files(self.e.repo)
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertEqual(before, repo_files(self.e.repo))
		self.assertCode(self.e.main('tree'), 0)
		self.assertEqual((self.e.wt / 'drivers/virtio/tests/virtio_pm_test.c').read_text(),
				 '/* test v2 */\n')

	def test_export_never_overwrites_a_patch_file_outside_the_series(self):
		self.assertCode(self.e.main('tree'), 0)
		self.assertCode(self.e.main('export'), 0)
		wt = self.e.wt
		git(wt, 'checkout', '-q', 'HEAD~2')
		git(wt, 'commit', '-q', '--amend', '-m', 'virtio: add noirq, renamed')
		git(wt, 'cherry-pick', 'work~1', 'work')
		git(wt, 'checkout', '-q', '-B', 'work')
		write(self.e.repo / 'patches/0001-virtio-add-noirq-renamed.patch', 'my notes\n')
		before = repo_files(self.e.repo)
		self.assertCode(self.e.main('export'), kr.EXIT_EXPORT)
		self.assertOneLine()
		self.assertEqual(before, repo_files(self.e.repo))

	def test_no_message_advises_a_destructive_step(self):
		import ast
		bad = ('--force', 'rm -', 'reset --hard', 'clean -f', 'checkout -f', 'git stash')
		for path in sorted((HERE.parent / 'kunit_runner').glob('*.py')):
			src = path.read_text()
			for node in ast.walk(ast.parse(src)):
				if not isinstance(node, ast.Call):
					continue
				name = getattr(node.func, 'id', getattr(node.func, 'attr', ''))
				if name not in ('say', 'RunnerError', 'out'):
					continue
				for sub in ast.walk(node):
					if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
						for b in bad:
							self.assertNotIn(b, sub.value, f'{path.name} line {node.lineno} '
									 f'advises {b!r}')


class BuildLockTest(TestCase):
	"""The build lock is shared by every user of the machine."""

	def test_build_lock_of_another_user(self):
		# a 0644 lock file of another user: it can only be opened read-only
		lock = str(self.e.tmp / 'other.lock')
		write(lock, '')
		real_open, real_os_open = open, os.open

		def fake_open(file, mode='r', *a, **kw):
			if str(file) == lock and any(c in mode for c in 'wa+x'):
				raise PermissionError(13, 'Permission denied', lock)
			return real_open(file, mode, *a, **kw)

		def fake_os_open(path, flags, *a, **kw):
			if str(path) == lock and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
				raise PermissionError(13, 'Permission denied', lock)
			return real_os_open(path, flags, *a, **kw)
		with mock.patch('builtins.open', fake_open), mock.patch.object(os, 'open', fake_os_open):
			with kr.FileLock(lock, 'build', shared=True):
				pass

	def test_build_lock_that_cannot_be_opened_is_one_line(self):
		lock = str(self.e.tmp / 'other.lock')
		write(lock, '')
		real_os_open = os.open

		def fake_os_open(path, flags, *a, **kw):
			if str(path) == lock:
				raise PermissionError(13, 'Permission denied', lock)
			return real_os_open(path, flags, *a, **kw)
		with mock.patch.object(os, 'open', fake_os_open):
			with self.assertRaises(kr.RunnerError) as cm:
				with kr.FileLock(lock, 'build'):
					pass
		self.assertEqual(cm.exception.code, kr.EXIT_ENV)
		self.assertIn(lock, cm.exception.message)

	def test_new_build_lock_is_shared(self):
		lock = self.e.tmp / 'new.lock'
		old = os.umask(0o022)
		try:
			with kr.FileLock(str(lock), 'build', shared=True):
				pass
		finally:
			os.umask(old)
		self.assertEqual(stat.S_IMODE(lock.stat().st_mode), 0o666)

	@unittest.skipIf(os.geteuid() == 0, 'root can write any file')
	def test_build_lock_read_only(self):
		lock = self.e.tmp / 'ro.lock'
		write(lock, '', 0o444)
		with kr.FileLock(str(lock), 'build'):
			pass


class KernelTreeTest(TestCase):
	"""Any change of a --kernel tree is copied into the work tree."""

	def test_second_edit_of_a_dirty_file_in_a_git_kernel(self):
		k = self.e.kernel
		git(k, 'init', '-q')
		git(k, 'add', '-A', '-f')
		git(k, 'commit', '-q', '-m', 'kernel')
		write(k / 'drivers/virtio/virtio_mmio.c', 'int mmio;\n' * 5 + 'int edit1;\n')
		self.assertCode(self.e.main('tree'), 0)
		self.assertIn('int edit1;', (self.e.wt / 'drivers/virtio/virtio_mmio.c').read_text())
		write(k / 'drivers/virtio/virtio_mmio.c', 'int mmio;\n' * 5 + 'int edit2;\n')
		self.assertCode(self.e.main('tree'), 0)
		self.assertIn('int edit2;', (self.e.wt / 'drivers/virtio/virtio_mmio.c').read_text())

	def test_edit_of_a_kernel_that_is_not_git(self):
		k = self.e.kernel
		self.assertCode(self.e.main('tree'), 0)
		self.assertCode(self.e.main('tree'), 0)
		self.assertIn('up to date', self.e.output)
		write(k / 'drivers/virtio/virtio_mmio.c', 'int mmio;\n' * 5 + 'int edit;\n')
		self.assertCode(self.e.main('tree'), 0)
		self.assertIn('int edit;', (self.e.wt / 'drivers/virtio/virtio_mmio.c').read_text())


class ArchiveTest(TestCase):
	"""A pinned base that the archive no longer lists is not a network problem."""

	def test_pinned_deb_not_listed_by_the_archive(self):
		bin_ = self.e.tmp / 'bin'
		write(self.e.tmp / 'apt/sources.list', 'deb http://mirror.invalid/debian bookworm main\n')
		fake_bin(bin_, 'apt-get', 'for a; do [ "$a" = download ] && { echo "E: Version '
			 f"'{kr.BASE_VERSION}' for '{kr.BASE_PACKAGE}' was not found\"; exit 100; }}; done; exit 0\n")
		env = {'NOIRQ_KUNIT_APT_ETC': str(self.e.tmp / 'apt'), 'PATH': f'{bin_}:{os.environ["PATH"]}'}
		self.assertCode(self.e.main('tree', kernel=False, extra_env=env), kr.EXIT_ENV)
		self.assertNotIn('network?', self.e.output)
		self.assertIn(f'{kr.BASE_PACKAGE}={kr.BASE_VERSION} is not listed by the archive', self.e.output)
		self.assertIn('not listed', self.e.output.strip().splitlines()[-1])
		self.assertEqual(len([l for l in self.e.output.splitlines() if 'not listed' in l]), 1)
		fake_bin(bin_, 'apt-get', 'for a; do [ "$a" = download ] && { echo "E: Unable to locate package '
			 f'{kr.BASE_PACKAGE}"; exit 100; }}; done; exit 0\n')
		self.assertCode(self.e.main('tree', kernel=False, extra_env=env), kr.EXIT_ENV)
		self.assertIn('is not listed by the archive', self.e.output)
		# the suite itself is gone from the mirror (apt-get update answers 404)
		fake_bin(bin_, 'apt-get', 'echo "Err:1 http://mirror.invalid/debian trixie-backports Release"; '
			 'echo "  404  Not Found [IP: 192.0.2.1 80]"; echo "E: The repository '
			 "'http://mirror.invalid/debian trixie-backports Release' does not have a Release file.\"; exit 100\n")
		self.assertCode(self.e.main('tree', kernel=False, extra_env=env), kr.EXIT_ENV)
		self.assertIn('is not listed by the archive', self.e.output)
		self.assertNotIn('network?', self.e.output)


class E2EDefaultsTest(TestCase):
	"""e2e.py builds under the runner's cache, not in a fixed home."""

	def test_e2e_build_dir_defaults_under_the_cache(self):
		from kunit_runner import e2e
		env = {'NOIRQ_KUNIT_CACHE': str(self.e.cache), 'HOME': str(self.e.tmp / 'home')}
		with mock.patch.dict(os.environ, env):
			self.assertEqual(Path(e2e.parse_args([]).build_dir), self.e.cache / 'build' / 'e2e-x86_64')
		with mock.patch.dict(os.environ, {'HOME': str(self.e.tmp / 'home')}):
			os.environ.pop('NOIRQ_KUNIT_CACHE', None)
			os.environ.pop('XDG_CACHE_HOME', None)
			self.assertEqual(Path(e2e.parse_args([]).build_dir),
					 self.e.tmp / 'home/.cache/noirq-kunit/build/e2e-x86_64')


class UnittestCommandTest(unittest.TestCase):
	def test_documented_commands_work(self):
		"""The unittest command lines of the docs find the tests."""
		for cwd, cmd in ((HERE.parent, ['tests.test_kunit_runner']),
				 (HERE.parent.parent.parent, ['discover', '-s', 'tools/kunit-runner/tests',
							      '-t', 'tools/kunit-runner'])):
			r = subprocess.run([sys.executable, '-m', 'unittest'] + cmd + ['-k', 'test_summary_line'],
					   cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
			self.assertEqual(r.returncode, 0, r.stdout)
			self.assertIn('Ran 1 test', r.stdout)


class ExitCodeTest(unittest.TestCase):
	def test_codes_are_distinct_and_documented(self):
		codes = [kr.EXIT_OK, kr.EXIT_TESTS_FAILED, kr.EXIT_USAGE, kr.EXIT_ENV, kr.EXIT_SERIES,
			 kr.EXIT_BUILD, kr.EXIT_DIRTY, kr.EXIT_CHECKSUM, kr.EXIT_INTERNAL, kr.EXIT_EXPORT,
			 kr.EXIT_CLEAN, kr.EXIT_INTERRUPTED]
		self.assertEqual(len(set(codes)), len(codes))
		self.assertEqual(sorted(kr.EXIT_CODES), sorted(codes))
		readme = HERE.parent.parent.parent / 'README.md'
		if readme.exists():
			text = readme.read_text()
			for c in codes:
				self.assertRegex(text, rf'\|\s*{c}\s*\|', f'exit code {c} not in README.md')

	def test_summary_line(self):
		self.assertEqual(kr.summary_line(3, 0), '3 passed, 0 failed')
		self.assertEqual(kr.summary_line(3, 1, 2), '3 passed, 1 failed, 2 skipped')


if __name__ == '__main__':
	unittest.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kunit-runner: run this project's KUnit suite against the pinned base kernel.

The runner fetches and caches the pinned base kernel (a Debian linux-source
package), builds a git work tree from it (base commit, one commit per patch
of patches/series, one commit with the project's new files), and runs
tools/testing/kunit/kunit.py config, build and exec as separate steps under
UML.  Python 3 standard library only.

Exit codes (also in README.md):
  0  all tests passed
  1  tests failed, kernel splats, or no test ran
  2  bad usage or input (options, wrong --kernel path, bad patches/series,
     a --series PATH that is missing or holds no patch)
  3  missing environment (tool not installed, base cannot be fetched, disk
     full); test-all: every failed stage failed for such a reason
  4  the series does not apply (git am failed; aborted)
  5  build failed (kunit.py config or the kernel build)
  6  work tree has unexported edits; refusing to overwrite it
  7  downloaded base failed checksum verification
  8  internal error of the runner
  9  export refused: the work tree does not hold the whole series and the
     placed files (a patch did not apply, a prepare was interrupted, or
     patches/ changed since the work tree was prepared), or it holds a
     series given with --series/--applied
 10  clean refused: a work tree in the cache has unexported edits (or
     cannot be told from them); nothing was deleted
130  interrupted (Ctrl-C)
"""

import argparse
import contextlib
import datetime
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import buildlock
import hostenv

from .coverage import Coverage
from .kbuild import KBuild
from .export import Export
from .worktree import WorkTree
from .base import BaseFetch
from .series import SeriesInput
from .errors import *  # noqa: F401,F403
from .proc import *  # noqa: F401,F403
from .filesig import *  # noqa: F401,F403
from .cache import *  # noqa: F401,F403
from .series import *  # noqa: F401,F403
from .apt import *  # noqa: F401,F403
from .base import *  # noqa: F401,F403
from .lock import *  # noqa: F401,F403
from .worktree import *  # noqa: F401,F403
from .export import *  # noqa: F401,F403
from .results import *  # noqa: F401,F403
from .kbuild import *  # noqa: F401,F403
from .coverage import *  # noqa: F401,F403
from . import proc


BUILD_LOCK = buildlock.BUILD_LOCK


# Tool -> Debian package: the one table, in hostenv.py.
TOOL_PACKAGES = hostenv.TOOL_PACKAGES
BUILD_TOOLS = hostenv.BUILD_TOOLS
FETCH_TOOLS = hostenv.FETCH_TOOLS


# --------------------------------------------------------------------------
# patches/series


# --------------------------------------------------------------------------
# apt configuration (read only)


# --------------------------------------------------------------------------
# helpers for subprocesses and git


# --------------------------------------------------------------------------
# the runner

class Runner(SeriesInput, BaseFetch, WorkTree, Export, KBuild, Coverage):
	def __init__(self, args, env=None, is_root=None):
		self.args = args
		self.env = dict(os.environ if env is None else env)
		self.env.setdefault('LC_ALL', 'C')
		self.is_root = (os.geteuid() == 0) if is_root is None else is_root
		self.ci = self.env.get('CI', '').lower() == 'true'
		self.repo = Path(args.repo or TOOL_DIR.parent.parent).resolve()
		cache = args.cache or self.env.get('NOIRQ_KUNIT_CACHE')
		if not cache:
			xdg = self.env.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
			cache = os.path.join(xdg, 'noirq-kunit')
		self.cache = Path(cache).resolve()
		kernel = args.kernel or self.env.get('NOIRQ_KUNIT_KERNEL')
		self.kernel = Path(kernel).resolve() if kernel else None
		self.lock_path = self.env.get('NOIRQ_KUNIT_LOCK', BUILD_LOCK)
		self.apt_etc = self.env.get('NOIRQ_KUNIT_APT_ETC', '/etc/apt')
		series = getattr(args, 'series', None)
		self.series_path = Path(series).resolve() if series else None
		self.applied = bool(getattr(args, 'applied', False))
		if self.kernel:
			name = 'linux-' + hashlib.sha1(str(self.kernel).encode()).hexdigest()[:10]
		else:
			name = 'linux'
		# A foreign series or an applied tree has a work tree of its own:
		# the tree of patches/ is never reset for it.
		if self.series_path:
			name += '-series-' + hashlib.sha1(str(self.series_path).encode()).hexdigest()[:10]
		elif self.applied:
			name += '-applied'
		self.hook = None
		if args.upto is not None:
			# Patch subsets share one work tree and build dir of their own:
			# the full series' tree and build are never reset or rebuilt,
			# and going from one prefix to the next rebuilds only what the
			# patches in between change (unchanged files keep their mtime).
			name += '-upto'
		self.wt = self.cache / 'work' / name
		self.state_path = self.cache / 'work' / (name + '.state.json')
		arch = args.arch
		self.name = name
		# The build dir is a direct subdirectory of its work tree (hidden:
		# the kernel's .gitignore ignores it): Kbuild then compiles with
		# source paths relative to it ("../drivers/..."), so two work trees
		# compile the same file with the same command and ccache serves
		# one tree's objects to the other (the --upto tree from the full
		# series' objects). See buildenv.py.
		self.build_dir = Path(args.build_dir).resolve() if args.build_dir else \
			self.wt / f'.build-{arch}'
		self.out_dir = Path(args.out).resolve() if args.out else self.cache / 'out'
		self.git = Git(self.wt, self.env)
		self.counts = None
		# KUnit cases of the last exec as kunit.py's JSON counts them (no
		# splats, no "no test ran" failure); None when it has no results.
		self.case_counts = None

	# ---- tools ----------------------------------------------------------

	def which(self, tool):
		return shutil.which(tool, path=self.env.get('PATH', os.defpath))

	def ensure_tools(self, tools):
		missing = [t for t in tools if not self.which(t)]
		if not missing:
			return
		pkgs = sorted({TOOL_PACKAGES.get(t, t) for t in missing})
		if self.is_root and self.which('apt-get'):
			say(f'installing missing tools ({" ".join(missing)}): apt-get install -y {" ".join(pkgs)}')
			r = run_cmd(['apt-get', 'update'], env=self.env, check=False)
			r = run_cmd(['apt-get', 'install', '-y', '--no-install-recommends'] + pkgs,
				    env=dict(self.env, DEBIAN_FRONTEND='noninteractive'), check=False)
			still = [t for t in tools if not self.which(t)]
			if r.returncode == 0 and not still:
				return
			raise RunnerError(EXIT_ENV, f'could not install {" ".join(pkgs)} '
					  f'(apt-get install -y {" ".join(pkgs)} failed)')
		raise RunnerError(EXIT_ENV, f'missing tools: {" ".join(missing)}; install them with: '
				  f'apt-get install -y {" ".join(pkgs)}')

	# ---- base -----------------------------------------------------------


	# ---- state ----------------------------------------------------------


	# ---- export ---------------------------------------------------------


	# ---- kunit ----------------------------------------------------------


	# ---- coverage -------------------------------------------------------


# --------------------------------------------------------------------------
# coverage of the series' new and changed lines


# --------------------------------------------------------------------------
# self-tests and test-all

def run_selftests(verbosity=1):
	"""Run the unittest self-tests; return (passed, failed, skipped)."""
	import unittest
	suite = unittest.defaultTestLoader.discover(str(TOOL_DIR / 'tests'), top_level_dir=str(TOOL_DIR / 'tests'))
	res = unittest.TextTestRunner(stream=sys.stdout, verbosity=verbosity).run(suite)
	failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
	skipped = len(res.skipped)
	return res.testsRun - failed - skipped, failed, skipped


def cmd_selftest(args):
	counts = run_selftests(verbosity=2 if args.verbose else 1)
	if args.counts_file:
		Path(args.counts_file).write_text(json.dumps(counts))
	out(summary_line(*counts))
	return EXIT_OK if counts[1] == 0 else EXIT_TESTS_FAILED


HERE = TOOL_DIR
BASE_KUNITCONFIG = HERE / 'base.kunitconfig'
E2E_PY = HERE / 'e2e.py'
SERIES_CHECKS_PY = HERE / 'series_checks.py'
HARDEN_DEFINE = '-DCONFIG_VIRTIO_HARDEN_NOTIFICATION'
E2E_CI_CYCLES = 20
# test-all --full, e2e.py --arch arm64: s2idle cycles per boot
E2E_ARM64_CYCLES = 100
# The KUnit proof of the series' first patch (the in-order reset fix): it
# must fail on the base (--upto 0) and pass from --upto 1 on.
FIX_PROOF_SUITE = 'virtio_ring_reset'


def fix_proof_counts(c, js):
	"""Counts of the --upto 0 run with the fix-proof suite turned into one check.

	On the base, the suite that proves the first patch must fail; its cases
	are not counted, the check is.
	"""
	suite = kunit_json_suite_counts(js).get(FIX_PROOF_SUITE)
	if suite is None:
		say(f'fix proof: suite {FIX_PROOF_SUITE} did not run at --upto 0; counting one failure')
		return c[0], c[1] + 1, c[2]
	ok = suite[1] > 0
	say(f'fix proof: {FIX_PROOF_SUITE} ' + (f'fails on the base as it must ({suite[1]} failed, '
		f'{suite[0]} passed)' if ok else 'passes on the base: it does not show the bug'))
	return (c[0] - suite[0] + (1 if ok else 0), c[1] - suite[1] + (0 if ok else 1),
		c[2] - suite[2])


class StageRecord:
	"""What test-all reports of one stage (test-all.json, test-all.xml)."""

	def __init__(self, index, name):
		self.index, self.name = index, name
		self.counts = (0, 0, 0)
		self.kunit = (0, 0, 0)		# KUnit cases among self.counts
		self.kunit_json, self.junit = [], []	# kunit.py's files; junit: (path, label)
		self.errors = []		# (exit code, message)
		self.infra = 0			# failures counted for infrastructure errors
		self.duration = 0.0
		self.log = None

	@property
	def checks(self):
		return tuple(a - b for a, b in zip(self.counts, self.kunit))

	@property
	def status(self):
		"""pass, fail, skip or error (every failure is an infrastructure one)."""
		p, f, sk = self.counts
		if f == 0:
			return 'skip' if p == 0 and sk else 'pass'
		return 'error' if self.infra >= f else 'fail'


class TestAll:
	"""Context of the test-all stages; each stage returns (passed, failed, skipped).

	A stage also notes in self.rec (StageRecord) the kunit.py files of its
	runs, the KUnit cases among its counts and the errors it counted.
	"""

	def __init__(self, args, env=None, is_root=None):
		self.args, self.env, self.is_root = args, env, is_root
		self.main = Runner(args, env=env, is_root=is_root)
		self.penv = dict(self.main.env)
		self.rec = StageRecord(0, '')

	def error(self, e):
		"""Say and record the RunnerError @e; it counts as one failure."""
		say(e.message)
		self.rec.errors.append((e.code, e.message))
		if e.code in INFRA_CODES:
			self.rec.infra += 1
		return (0, 1, 0)

	def note_kunit(self, js, junit=None, cases=None, label=None):
		"""Record a kunit.py run: its --json (and --junit) file, its counted cases."""
		if Path(js).exists():
			self.rec.kunit_json.append(str(js))
		if junit and Path(junit).exists() and cases is not None:
			self.rec.junit.append((str(junit), label))
		if cases:
			self.rec.kunit = tuple(a + b for a, b in zip(self.rec.kunit, cases))

	def note_runner(self, r, label=None, counted=True):
		if r.counts is None:  # no exec step: its out dir holds older files
			return
		self.note_kunit(r.out_dir / 'results.json', r.out_dir / 'results.xml',
				r.case_counts if counted else None, label)

	def sub_args(self, **kw):
		a = argparse.Namespace(**vars(self.args))
		for k, v in kw.items():
			setattr(a, k, v)
		return a

	def runner_stage(self, args, check=None, label=None, adjust=None):
		r = Runner(args, env=self.env, is_root=self.is_root)
		try:
			r.run()
		finally:
			if adjust is None:
				self.note_runner(r, label)
		c = r.counts or (0, 1, 0)
		if adjust:
			c, cases = adjust(c, r)
			self.note_kunit(r.out_dir / 'results.json', r.out_dir / 'results.xml', cases, label)
		if check:
			ok = check(r)
			c = (c[0] + (1 if ok else 0), c[1] + (0 if ok else 1), c[2])
		return c

	def work_tree(self):
		return self.main.prepare()

	def stages(self):
		st = [('runner self-tests', stage_selftests),
		      ('KUnit suite (UML, .kunitconfig)', stage_kunit)]
		if self.args.quick:
			return st
		return st + [
			('KUnit suite, notification hardening, coverage (UML, gcov)',
			 stage_harden_coverage),
			('base behaviour proof and bisect (every --upto prefix, base suites)',
			 stage_base_proof),
			('end to end under QEMU microvm (e2e.py' +
			 (', 1000-cycle soak; arm64 virt)' if self.args.full
			  else f', {E2E_CI_CYCLES} cycles)'),
			 stage_e2e),
			('KUnit suite under QEMU x86_64', stage_x86_64),
			('series checks (series_checks.py' +
			 (', every group)' if self.args.full else ': checkpatch, kernel-doc)'),
			 stage_series_checks)]


def stage_selftests(ta):
	with tempfile.NamedTemporaryFile(prefix='kunit-runner-counts-', suffix='.json') as tf:
		rc, _ = stream_cmd([sys.executable, str(RUN), 'selftest',
				    '--counts-file', tf.name], env=ta.env)
		try:
			st = tuple(json.loads(Path(tf.name).read_text()))
		except (OSError, ValueError):
			st = (0, 1, 0)
	if rc != 0 and st[1] == 0:
		st = (st[0], 1, st[2])
	return st


def contract_verdict(js):
	"""One check: verdict.py proves every contract item from @js.

	Skipped when no suite of the contract map ran (a --filter, a fake)."""
	import verdict
	try:
		data = json.loads(Path(js).read_text())
		suites = {g.get('name') for g in data.get('sub_groups', [])}
		mapped = {c.suite for it in verdict.load_map(str(verdict.DEFAULT_ITEMS)).items
			  for c in it.cases}
	except (OSError, ValueError, AttributeError, verdict.BadInput) as e:
		say(f'contract verdict: cannot read {js} or the map ({e}); counting one failure')
		return (0, 1, 0)
	if not suites & mapped:
		say('contract verdict: no suite of the contract map ran; skipped')
		return (0, 0, 1)
	rc, _ = stream_cmd([sys.executable, str(HERE / 'verdict.py'), str(js),
			    '--json', str(Path(js).with_name('verdict.json'))])
	say('contract verdict: ' + ('every item proven' if rc == 0 else
				    f'verdict.py exited {rc}: not every item proven'))
	return (1, 0, 0) if rc == 0 else (0, 1, 0)


def stage_kunit(ta):
	r = Runner(ta.args, env=ta.env, is_root=ta.is_root)
	try:
		r.run()
	finally:
		ta.note_runner(r)
	c = r.counts or (0, 1, 0)
	v = contract_verdict(r.out_dir / 'results.json')
	return tuple(a + b for a, b in zip(c, v))


def harden_applied(build_dir):
	"""True when drivers/virtio/virtio.o was compiled with HARDEN_DEFINE."""
	cmd = Path(build_dir) / 'drivers' / 'virtio' / '.virtio.o.cmd'
	try:
		text = cmd.read_text(errors='replace')
	except OSError:
		say(f'hardening self-check: no {cmd}')
		return False
	ok = re.search(re.escape(HARDEN_DEFINE) + r'(\s|$)', text) is not None
	say(f'hardening self-check: {HARDEN_DEFINE} ' + ('is' if ok else 'is NOT') +
	    f' in the compile command of {cmd}')
	return ok


def stage_harden_coverage(ta):
	"""The suite with notification hardening, built with gcov (UML).

	One build serves two parts of the matrix: item 12 of the contract,
	hardening "on and off" (this run and stage 2's), and the coverage of
	the series' lines. The hardening define only adds code (the series'
	lines under it are #ifdef blocks with no #else), so this build
	instruments every series line a plain build has, plus the hardened
	ones. Counts: the KUnit cases, the contract verdict, the hardening
	self-check and the coverage threshold.
	"""
	a = ta.sub_args(build_dir=str(ta.main.aside_build_dir('harden-coverage')), filter=None,
			make_option=list(ta.args.make_option or []) + [f'KCFLAGS={HARDEN_DEFINE}'],
			out=str(ta.main.out_dir / 'harden-coverage'), kunit_build=False)
	r = Runner(a, env=ta.env, is_root=ta.is_root)
	r.cov_ok = None
	try:
		r.coverage()
		cov = (1, 0, 0) if r.cov_ok else (0, 1, 0)
	except RunnerError as e:
		cov = ta.error(e)
	finally:
		ta.note_runner(r)
	if r.counts is None:  # no kunit.py run: the error above is the count
		return cov
	c = add_counts(r.counts, cov, contract_verdict(r.out_dir / 'results.json'))
	ok = harden_applied(r.build_dir)
	return add_counts(c, (1, 0, 0) if ok else (0, 1, 0))


def stage_base_proof(ta):
	"""Base suites at every prefix, in one shared --upto work tree and build.

	Prefix k is patches 1..k plus the KUnit hook patch. Each step rebuilds
	only what the patches in between changed, so this is one cold build
	plus a few incremental ones: the UML bisect of the CI tier, and the
	"no functional change" proof of every patch before the noirq core. At
	--upto 0 the proof of the first patch, an upstream fix, must fail.
	"""
	if ta.main.input_kind != 'repo':
		say('the base proof and bisect run on the series of patches/ only; stage skipped '
		    '(counted as 1 skipped)')
		return 0, 0, 1
	n = len(read_series(ta.main.repo / 'patches')) - 1
	total = (0, 0, 0)
	for k in range(0, max(n, 0) + 1):
		what = 'prefix'
		say(f'{what}: --upto {k}')
		a = ta.sub_args(upto=k, kunitconfig=[str(BASE_KUNITCONFIG)], build_dir=None,
				filter=None, out=str(ta.main.out_dir / f'base-upto{k}'))
		try:
			c = ta.runner_stage(a, label=f'--upto {k}', adjust=fix_proof_adjust if k == 0 else None)
		except RunnerError as e:
			c = ta.error(e)
		say(f'{what} --upto {k}: {summary_line(*c)}')
		total = tuple(x + y for x, y in zip(total, c))
	return total


def fix_proof_adjust(c, r):
	"""(counts, KUnit cases) of the --upto 0 run: the fix-proof suite is one check."""
	js = r.out_dir / 'results.json'
	cases = r.case_counts
	suite = kunit_json_suite_counts(js).get(FIX_PROOF_SUITE)
	if cases and suite:
		cases = tuple(a - b for a, b in zip(cases, suite))
	return fix_proof_counts(c, js), cases


def script_counts(ta, what, rc, lines):
	"""parse_summary() of a stage script; its exit code 3 is an infrastructure failure."""
	c = parse_summary(lines, rc)
	if rc == EXIT_ENV:
		ta.rec.errors.append((rc, f'{what} exited {rc} (missing environment)'))
		ta.rec.infra += c[1]
	return c


def stage_e2e(ta):
	wt = ta.work_tree()
	bdir = ta.main.cache / 'build' / 'e2e-x86_64'
	cmd = [sys.executable, E2E_PY, '--kernel', wt, '--build-dir', bdir]
	cmd += ['--soak'] if ta.args.full else [f'--cycles={E2E_CI_CYCLES}']
	# A real hibernation image, written and restored by a second boot
	# (about 10 s), and one boot of the driver without noirq callbacks,
	# where the consumer's resume_noirq fetch must fail (a few seconds):
	# in both tiers.
	cmd += ['--hib-image', '--compare']
	if not ta.main.is_root:
		cmd.append('--no-install')
	rc, lines = stream_cmd(cmd, env=ta.penv)
	c = script_counts(ta, 'e2e.py', rc, lines)
	if not ta.args.full:
		return c
	# --full: the same boots on arm64 (QEMU virt under TCG, a cross-built
	# kernel in its own build dir), with fewer pm_test cycles than the soak
	# (about 0.15 s a cycle there).
	say(f'e2e.py --arch arm64: {E2E_ARM64_CYCLES} s2idle cycles, the 3 '
	    'hibernation levels, a hibernation image, both virtio-mmio versions')
	cmd = [sys.executable, E2E_PY, '--arch', 'arm64', '--kernel', wt, '--build-dir',
	       ta.main.cache / 'build' / 'e2e-arm64', f'--cycles={E2E_ARM64_CYCLES}',
	       '--hib-image', '--compare']
	if not ta.main.is_root:
		cmd.append('--no-install')
	rc, lines = stream_cmd(cmd, env=ta.penv)
	return add_counts(c, script_counts(ta, 'e2e.py --arch arm64', rc, lines))


def stage_x86_64(ta):
	"""The KUnit suite under QEMU x86_64, on stage 5's kernel.

	One minimal x86_64 kernel serves the e2e boots and this run: e2e.py
	--kunit builds it if stage 5 did not (else make finds nothing to do),
	boots it once with the tests enabled and has kunit.py parse the log.
	"""
	wt = ta.work_tree()
	bdir = ta.main.cache / 'build' / 'e2e-x86_64'
	odir = ta.main.out_dir / 'x86_64'
	odir.mkdir(parents=True, exist_ok=True)
	js, ju = odir / 'results.json', odir / 'results.xml'
	for f in (js, ju):
		if f.exists():
			f.unlink()
	cmd = [sys.executable, E2E_PY, '--kernel', wt, '--build-dir', bdir, '--kunit',
	       '--kunit-json', js, '--kunit-junit', ju]
	if not ta.main.is_root:
		cmd.append('--no-install')
	rc, lines = stream_cmd(cmd, env=ta.penv)
	log = bdir / 'kunit-serial.log'
	if log.exists():
		shutil.copyfile(log, odir / 'test.log')
	c = kunit_json_counts(js, log)
	ta.note_kunit(js, ju, kunit_json_cases(js))
	if rc == EXIT_ENV:
		ta.rec.errors.append((rc, f'e2e.py --kunit exited {rc} (missing environment)'))
		ta.rec.infra += 1
	if rc != 0 and c[1] == 0:
		say(f'e2e.py --kunit exit {rc}; counting one failure')
		c = (c[0], 1, c[2])
	say(f'results: {js}')
	return c


def stage_series_checks(ta):
	if not SERIES_CHECKS_PY.is_file():
		say(f'{SERIES_CHECKS_PY.name} is not present in {SERIES_CHECKS_PY.parent}; '
		    'stage skipped (counted as 1 skipped)')
		return 0, 0, 1
	wt = ta.work_tree()
	# Every prefix compiles drivers/virtio with W=1; the kernel image is
	# linked at the tip only, which keeps the cold run inside CI's budget.
	cmd = [sys.executable, SERIES_CHECKS_PY, '--kernel', wt, '--cache', ta.main.cache / 'series-checks',
	       '--link', 'tip']
	if not ta.args.full:
		cmd += ['--only', 'checkpatch,kernel-doc']
	if ta.args.jobs:
		cmd.append(f'--jobs={ta.args.jobs}')
	rc, lines = stream_cmd(cmd, env=ta.penv)
	return script_counts(ta, 'series_checks.py', rc, lines)


class _Tee:
	"""sys.stdout that also writes to a stage's log file."""

	def __init__(self, stream, f):
		self.stream, self.f = stream, f

	def write(self, s):
		self.f.write(s)
		return self.stream.write(s)

	def flush(self):
		self.f.flush()
		self.stream.flush()

	def __getattr__(self, name):
		return getattr(self.stream, name)


def slug(text):
	return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')[:40]


def repo_commit(repo, env):
	"""git rev-parse HEAD of @repo, with -dirty if its work tree has changes; None if no git."""
	g = Git(repo, env)
	head = g.try_out('rev-parse', 'HEAD')
	if not head:
		return None
	st = g('--no-optional-locks', 'status', '--porcelain', check=False).stdout.strip()
	return head + ('-dirty' if st else '')


def run_stage(ta, rec, fn):
	"""Run one stage with its output teed to rec.log; fill in rec."""
	t0 = time.time()
	old = sys.stdout
	try:
		lf = open(rec.log, 'w')
	except OSError as e:
		say(f'cannot write the stage log {rec.log}: {e.strerror}')
		lf, rec.log = None, None
	if lf:
		sys.stdout = _Tee(old, lf)
	try:
		try:
			c = fn(ta)
		except OSError as e:
			err = disk_error(e)
			if err is None:
				raise
			raise err
	except RunnerError as e:
		c = ta.error(e)
	except Exception:  # noqa: a broken stage must not hide the others
		import traceback
		traceback.print_exc(file=sys.stdout)
		c = ta.error(RunnerError(EXIT_INTERNAL, f'internal error in stage "{rec.name}"; '
					 'counting one failure'))
	finally:
		sys.stdout = old
		if lf:
			lf.close()
	rec.counts = tuple(c)
	# cases a stage noted can never exceed what it counts
	rec.kunit = tuple(min(a, b) for a, b in zip(rec.kunit, rec.counts))
	rec.duration = time.time() - t0
	return rec


def test_all_exit(records):
	"""0 if nothing failed; EXIT_ENV if every failed stage failed for
	infrastructure reasons only (status error); else EXIT_TESTS_FAILED."""
	failed = [r for r in records if r.counts[1]]
	if not failed:
		return EXIT_OK
	if all(r.status == 'error' for r in failed):
		return EXIT_ENV
	return EXIT_TESTS_FAILED


def cmd_test_all(args, env=None, is_root=None):
	"""Every stage (or, with --quick, self-tests + KUnit suite); one combined line."""
	ta = TestAll(args, env=env, is_root=is_root)
	# bad input options are one usage error, not a failure of every stage
	ta.main.check_input_options()
	if ta.main.series_path and not series_input_kind(ta.main.series_path):
		raise RunnerError(EXIT_USAGE, f'--series {ta.main.series_path}: no such file or directory')
	stages = ta.stages()
	records = []
	started = datetime.datetime.now(datetime.timezone.utc)
	t_all = time.time()
	out_dir = ta.main.out_dir
	logs = out_dir / 'test-all-logs'
	try:
		logs.mkdir(parents=True, exist_ok=True)
	except OSError as e:
		raise disk_error(e) or RunnerError(EXIT_ENV, f'cannot create {logs}: {e.strerror}')
	for i, (title, fn) in enumerate(stages, 1):
		out(f'==== test-all [{i}/{len(stages)}] {title} ====')
		ta.rec = rec = StageRecord(i, title)
		rec.log = logs / f'{i}-{slug(title)}.log'
		run_stage(ta, rec, fn)
		records.append(rec)
		c = rec.counts
		out(f'==== test-all [{i}/{len(stages)}] {title}: {summary_line(*c)} -- '
		    f'{"FAIL" if c[1] else "ok"} ({fmt_time(rec.duration)}) ====')
	duration = time.time() - t_all
	out('test-all summary:')
	for r in records:
		tag = {'fail': 'FAIL', 'error': 'ERR '}.get(r.status, 'ok  ')
		out(f'  {tag} {fmt_time(r.duration):>7}  {r.name}: {summary_line(*r.counts)}')
	tier = ' (--quick: self-tests and the UML KUnit suite only)' if args.quick else \
		(' (--full: the whole matrix)' if args.full else ' (CI tier; --full runs the whole matrix)')
	out(f'  total wall time {fmt_time(duration)}' + tier)
	start = (env if env is not None else os.environ).get('NOIRQ_CI_START')
	if start and start.isdigit():
		out(f'  .ci/run elapsed {fmt_time(time.time() - int(start))} (package install included)')
	total = add_counts(*(r.counts for r in records))
	kunit = add_counts(*(r.kunit for r in records))
	checks = add_counts(*(r.checks for r in records))
	code = test_all_exit(records)
	if code == EXIT_ENV:
		out(f'  every failure is an infrastructure failure (exit code {EXIT_ENV}), not a test result')
	js, xml = out_dir / 'test-all.json', out_dir / 'test-all.xml'
	report = {
		'report': 'kunit-runner test-all', 'version': 1,
		'tier': 'quick' if args.quick else ('full' if args.full else 'ci'),
		'repo': {'path': str(ta.main.repo), 'commit': repo_commit(ta.main.repo, ta.main.env)},
		'base': ta.main.base_info(),
		'series': ta.main.series_info(),
		'started': started.isoformat(timespec='seconds'), 'duration': round(duration, 3),
		'stages': [{
			'index': r.index, 'name': r.name, 'status': r.status, **counts_dict(r.counts),
			'kunit_cases': counts_dict(r.kunit), 'checks': counts_dict(r.checks),
			'duration': round(r.duration, 3), 'log': str(r.log) if r.log else None,
			'kunit_json': r.kunit_json, 'kunit_junit': [p for p, _ in r.junit],
			'errors': [{'exit_code': code_, 'message': m, 'infrastructure': code_ in INFRA_CODES}
				   for code_, m in r.errors]} for r in records],
		'total': counts_dict(total), 'kunit_cases': counts_dict(kunit), 'checks': counts_dict(checks),
		'status': {EXIT_OK: 'pass', EXIT_ENV: 'error'}.get(code, 'fail'), 'exit_code': code,
		'reports': {'json': str(js), 'junit': str(xml)},
	}
	written = []
	try:
		write_json_report(js, report)
		written.append(js)
		junit_report(records, duration).write(xml, encoding='utf-8', xml_declaration=True)
		written.append(xml)
	except OSError as e:
		say(f'cannot write {xml if written else js}: {e.strerror}')
		code = code or EXIT_ENV
	for w in written:
		out(f'  report: {w}')
	out(f'  stage logs: {logs}/')
	out(f'KUnit cases: {summary_line(*kunit)}; checks: {summary_line(*checks)}')
	out(summary_line(*total))
	return code


# --------------------------------------------------------------------------
# doctor: what this machine lacks for a tier of test-all

# Free space a cold run from an empty cache needs, in GB (the cache
# directory's file system; ccache's directory beside it included).
# Measured parts: the base tree 1.8 GB, a work tree 2.5 GB (two in the CI
# tier: the series' and the --upto one), the base .deb 0.16 GB; the build
# dirs, ccache and the --full groups' scratch tree and builds are
# estimated (README.md, "What it needs").
DOCTOR_DISK_GB = {'ci': 15, 'full': 25}


def dir_size(path):
	"""Bytes allocated to the files under @path (like du -s); 0 if missing."""
	total = 0
	for dirpath, dirnames, filenames in os.walk(path):
		for n in dirnames + filenames:
			try:
				total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
			except OSError:
				pass
	return total


def fmt_size(n):
	for unit, div in (('GB', 1 << 30), ('MB', 1 << 20), ('KB', 1 << 10)):
		if n >= div:
			return f'{n / div:.1f} {unit}'
	return f'{n} B'


def existing_parent(path):
	path = Path(path)
	while not path.exists() and path != path.parent:
		path = path.parent
	return path


def kvm_finding(dev='/dev/kvm'):
	"""One line on KVM; it is never needed (every QEMU run here uses TCG)."""
	if not os.path.exists(dev):
		return f'{dev} is absent: QEMU runs with TCG (as e2e.py and kunit-x86_64.sh do anyway)'
	try:
		fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
	except OSError as e:
		return (f'{dev} exists but does not open ({e.strerror}): QEMU runs with TCG (as e2e.py '
			'and kunit-x86_64.sh do anyway)')
	os.close(fd)
	return (f'{dev} opens; kunit-x86_64.sh masks it all the same (KVM "emulation failure" on '
		'these machines) and e2e.py uses TCG')


def doctor_findings(r, tier):
	"""[(ok, line)] for the Runner @r and the tier @tier ('ci' or 'full').

	ok is True, False (the tier cannot run: missing environment) or None
	(a note that does not decide).
	"""
	import buildenv
	path = r.env.get('PATH', os.defpath)
	name = 'test-all --full' if tier == 'full' else 'test-all (CI tier)'
	res = []
	tools = hostenv.tier_tools(tier)
	miss, pkgs = hostenv.missing(tools, path)
	if miss:
		res.append((False, f'missing packages for {name}: {" ".join(pkgs)} (for {", ".join(miss)}); '
			    f'as root: apt-get install -y --no-install-recommends {" ".join(pkgs)}'))
	else:
		res.append((True, f'packages: all {len(tools)} tools and files {name} needs are installed'))
	for t in hostenv.OPTIONAL_TOOLS:
		if not hostenv.present(t, path):
			res.append((None, f'optional: {t} is not installed (package {hostenv.TOOL_PACKAGES[t]}; '
				    'for timing measurements only)'))
	need = DOCTOR_DISK_GB[tier] << 30
	have = dir_size(r.cache)
	where = existing_parent(r.cache)
	try:
		st = os.statvfs(where)
		free = st.f_bavail * st.f_frsize
	except OSError as e:
		res.append((False, f'disk: cannot stat {where}: {e.strerror}'))
	else:
		short = free + have < need
		res.append((not short, f'disk: {fmt_size(free)} free at {where}; the cache {r.cache} holds '
			    f'{fmt_size(have)}; a cold {name} needs about {DOCTOR_DISK_GB[tier]} GB in all' +
			    (' (too little space)' if short else '')))
	deb = r.cache / 'dl' / f'{BASE_PACKAGE}_{BASE_VERSION}_all.deb'
	if r.kernel:
		res.append((True, f'base: --kernel {r.kernel} (no fetch)'))
	elif deb.exists():
		res.append((True, f'base: {deb} is cached (checked against the pinned SHA-256 when used)'))
	else:
		try:
			uri = debian_mirror(r.apt_etc)
			res.append((True, f'base: not cached; the first run fetches {BASE_PACKAGE}={BASE_VERSION} '
				    f'(about 160 MB) from {uri}'))
		except RunnerError as e:
			res.append((False, f'base: not cached and {e.message}'))
	lock = r.lock_path
	if os.path.exists(lock):
		try:
			os.close(buildlock.open_lock(lock, 0o666))
			res.append((True, f'build lock: {lock} opens'))
		except buildlock.LockError as e:
			res.append((False, f'build lock: {e}'))
	elif os.access(os.path.dirname(lock) or '.', os.W_OK):
		res.append((True, f'build lock: {lock} will be created (0666)'))
	else:
		res.append((False, f'build lock: {lock} does not exist and its directory is not writable'))
	res.append((None, 'kvm: ' + kvm_finding()))
	cdir = buildenv.use_ccache(dict(r.env))
	if cdir:
		res.append((True, f'ccache: {shutil.which("ccache", path=path) or "ccache"}, dir {cdir} '
			    f'({fmt_size(dir_size(cdir))}) shared by every cache of the runner'))
	elif r.env.get('NOIRQ_KUNIT_CCACHE', '1') == '0':
		res.append((None, 'ccache: off (NOIRQ_KUNIT_CCACHE=0)'))
	else:
		res.append((None, f'ccache: not in use ({buildenv.CCACHE_WRAPPERS}/gcc missing); '
			    'every cold build compiles from scratch'))
	return res


def cmd_doctor(args, env=None, is_root=None):
	"""One line per finding; EXIT_ENV if the tier cannot run here."""
	tier = 'full' if args.full else 'ci'
	r = Runner(args, env=env, is_root=is_root)
	if args.missing_packages:
		_, pkgs = hostenv.missing(hostenv.tier_tools(tier), r.env.get('PATH', os.defpath))
		out(' '.join(pkgs))
		return EXIT_OK
	findings = doctor_findings(r, tier)
	for ok, line in findings:
		tag = {True: 'ok', False: 'MISSING', None: 'note'}[ok]
		say(f'doctor: {tag}: {line}')
	bad = sum(1 for ok, _ in findings if ok is False)
	say(f'doctor: {"everything" if not bad else f"{bad} thing(s)"} '
	    f'{"needed is there" if not bad else "missing"} '
	    f'(exit {EXIT_ENV if bad else EXIT_OK})')
	return EXIT_ENV if bad else EXIT_OK


# --------------------------------------------------------------------------
# clean: remove what the cache can rebuild

# Entries of the cache that the runner and its scripts rebuild: unpacked
# base and private apt lists, build and output dirs, the work trees (each
# checked for unexported edits first), split --series input and the
# scratch worktree of series_checks.py.  dl/ (the base .deb) and the
# ccache directory go with --all only; anything else is left alone.
CLEAN_DIRS = ('build', 'out', 'base', 'apt', 'series-input', 'series-checks')


def clean_check_work_tree(r, wt):
	"""Raise EXIT_CLEAN unless the work tree @wt holds nothing but the runner's work.

	The checks of a prepare: check_clobber() for a prepared tree, and
	check_interrupted() for one whose prepare did not finish.
	"""
	c = Runner(r.args, env=r.env, is_root=r.is_root)
	c.wt, c.state_path = wt, wt.parent / (wt.name + '.state.json')
	c.git = Git(wt, c.env)
	state = c.load_state()
	try:
		if state is not None and 'preparing' in state:
			c.check_interrupted(state['preparing'])
		else:
			c.check_clobber(state, collect_placed(c.repo))
	except RunnerError as e:
		raise RunnerError(EXIT_CLEAN, f'clean refused (nothing was deleted): {e.message}') from None


def clean_targets(r):
	"""(paths to remove, work trees to check, entries left alone) of the cache."""
	remove, trees, left = [], [], []
	for n in CLEAN_DIRS:
		p = r.cache / n
		if p.exists() or p.is_symlink():
			remove.append(p)
	work = r.cache / 'work'
	if work.is_dir():
		for p in sorted(work.iterdir()):
			if p.is_dir() and not p.is_symlink() and p.name.endswith(('.new', '.old')):
				remove.append(p)  # a create_base() that did not finish
			elif p.is_dir() and not p.is_symlink() and (p / '.git').is_dir():
				trees.append(p)
				remove.append(p)
			elif p.is_file() and p.name.endswith(('.state.json', '.state.tmp')):
				remove.append(p)
			else:
				left.append(p)
	if r.args.all:
		dl = r.cache / 'dl'
		if dl.exists():
			remove.append(dl)
	return remove, trees, left


def remove_path(p):
	"""Remove @p (a symlink itself, never what it points to); return the bytes freed."""
	if p.is_symlink() or not p.is_dir():
		n = os.lstat(p).st_blocks * 512
		p.unlink()
		return n
	n = dir_size(p)
	shutil.rmtree(p)
	return n


def cmd_clean(args, env=None, is_root=None):
	"""Remove what the cache can rebuild; refuse if a work tree has unexported edits."""
	import buildenv
	r = Runner(args, env=env, is_root=is_root)
	if r.repo == r.cache or r.cache in r.repo.parents:
		raise RunnerError(EXIT_USAGE, f'clean refused: the cache {r.cache} holds the repo {r.repo} '
				  '(nothing was deleted)')
	if not r.cache.is_dir():
		say(f'clean: no cache at {r.cache}; nothing to remove')
		return EXIT_OK
	with FileLock(r.cache / '.work.lock', 'work tree', args.lock_timeout), \
	     FileLock(r.lock_path, 'build', args.lock_timeout, shared=True):
		remove, trees, left = clean_targets(r)
		if trees:
			r.ensure_tools(('git',))
		for wt in trees:
			clean_check_work_tree(r, wt)
		freed = 0
		for p in remove:
			n = remove_path(p)
			freed += n
			say(f'clean: removed {p} ({fmt_size(n)})')
	ccache = None
	if args.all:
		cdir = r.env.get('CCACHE_DIR')
		own = buildenv.default_ccache_dir(r.env)
		if cdir and os.path.realpath(cdir) != os.path.realpath(own):
			say(f'clean: kept CCACHE_DIR {cdir}: it is not the runner\'s own ({own})')
		elif os.path.isdir(own):
			n = remove_path(Path(own))
			freed += n
			ccache = own
			say(f'clean: removed the ccache directory {own} ({fmt_size(n)}; shared by every '
			    'cache of the runner)')
	for p in left:
		say(f'clean: left {p} (not the runner\'s)')
	kept = [] if args.all else ['dl/ (the base .deb)', 'the ccache directory']
	say(f'clean: freed {fmt_size(freed)} in {r.cache}' +
	    (f'; kept {" and ".join(kept)}' if kept else '') +
	    ('' if ccache or not args.all else '; no ccache directory of the runner removed'))
	return EXIT_OK


# --------------------------------------------------------------------------
# command line

COMMANDS = ('run', 'tree', 'export', 'test-all', 'selftest', 'coverage', 'doctor', 'clean')


def build_parser():
	p = argparse.ArgumentParser(
		prog=PROG,
		description='Build a work tree (pinned base + patches/series + new files) and run the '
		'KUnit suite under UML.',
		epilog='exit codes: ' + '; '.join(f'{k} {v}' for k, v in EXIT_CODES.items()),
		formatter_class=argparse.RawDescriptionHelpFormatter)
	p.add_argument('command', nargs='?', default='run', choices=COMMANDS,
		       help='run (default): prepare, config, build, exec; tree: prepare the work tree '
		       'and print its path; export: write patches/ (and placed files) back from the work '
		       'tree; test-all: every test stage (see README.md); selftest: self-tests only; '
		       'coverage: gcov run of the suite, coverage of the lines the series adds or changes; '
		       'doctor: what this machine lacks for test-all (--full: the whole matrix); clean: '
		       'remove what the cache can rebuild (never unexported edits)')
	p.add_argument('--kernel', metavar='DIR', help='use this kernel tree as base instead of the '
		       'pinned Debian package (env NOIRQ_KUNIT_KERNEL)')
	p.add_argument('--series', metavar='PATH', help='apply this series instead of patches/: a '
		       'quilt directory (series file + patches), a directory of git format-patch files '
		       '(file name order) or an mbox (b4 am); the KUnit hook patch of patches/ follows '
		       'unless the series builds drivers/virtio/tests/ itself; our tests are placed on top')
	p.add_argument('--applied', action='store_true', help='with --kernel TREE: the tree carries '
		       'a series already; apply no patch, place the tests (and the hook) only if absent')
	p.add_argument('--cache', metavar='DIR', help='cache directory (env NOIRQ_KUNIT_CACHE; '
		       'default ${XDG_CACHE_HOME:-~/.cache}/noirq-kunit)')
	p.add_argument('--repo', metavar='DIR', help=argparse.SUPPRESS)
	p.add_argument('--out', metavar='DIR', help='output dir for results.json, results.xml, '
		       'test.log, build.log (default CACHE/out)')
	p.add_argument('--build-dir', metavar='DIR', help='kernel build dir (default CACHE/build/...)')
	p.add_argument('--arch', default='um', help='kunit.py --arch (default um; x86_64 uses QEMU)')
	p.add_argument('--kunitconfig', metavar='FILE', action='append',
		       help="default: the repo's .kunitconfig; may be repeated (fragments are merged)")
	p.add_argument('--make-option', '--make_options', action='append', metavar='VAR=VALUE',
		       help='added to the make command line of the kernel build (kunit.py '
		       '--make_options), e.g. KCFLAGS=-DX; may be repeated; use its own --build-dir')
	p.add_argument('--kconfig_add', '--kconfig-add', action='append', metavar='CONFIG_X=Y',
		       help='passed to kunit.py; may be repeated')
	p.add_argument('--filter', metavar='GLOB', help='kunit.py exec filter_glob, e.g. "virtio*"')
	p.add_argument('--upto', type=int, metavar='N', help='apply only the first N patches plus '
		       'the last one (the KUnit hook patch)')
	p.add_argument('--jobs', '-j', type=int, help='make -j (default: number of CPUs)')
	p.add_argument('--kunit-build', action='store_true', help='build with kunit.py build '
		       'instead of make ... linux (UML)')
	p.add_argument('--modules', action='store_true', help='run: build the test symbols of the '
		       'kunitconfig as modules (=m) and load them with modprobe in a UML kernel '
		       '(needs busybox-static); own build dir')
	p.add_argument('--force', action='store_true', help='discard unexported edits in the work tree')
	p.add_argument('--lock-timeout', type=float, help=argparse.SUPPRESS)
	p.add_argument('--counts-file', help=argparse.SUPPRESS)
	p.add_argument('--quick', action='store_true', help='test-all: run only the self-tests and '
		       'the UML KUnit suite')
	p.add_argument('--full', action='store_true', help='test-all, doctor: the whole matrix (e2e '
		       'soak, e2e on arm64, every group of series_checks.py) instead of the '
		       'CI tier')
	p.add_argument('--missing-packages', action='store_true', help='doctor: print only the '
		       'Debian packages missing for the tier (test-all, or --full), on one line')
	p.add_argument('--all', action='store_true', help='clean: also remove the downloaded base '
		       '.deb and the runner\'s ccache directory')
	p.add_argument('-v', '--verbose', action='store_true', help='verbose self-tests')
	return p


def main(argv=None, env=None, is_root=None):
	argv = list(sys.argv[1:] if argv is None else argv)
	parser = build_parser()
	try:
		args = parser.parse_args(argv)
	except SystemExit as e:
		return EXIT_OK if e.code in (0, None) else EXIT_USAGE
	try:
		if args.command == 'selftest':
			return cmd_selftest(args)
		if args.command == 'test-all':
			return cmd_test_all(args, env=env, is_root=is_root)
		if args.command == 'doctor':
			return cmd_doctor(args, env=env, is_root=is_root)
		if args.command == 'clean':
			return cmd_clean(args, env=env, is_root=is_root)
		runner = Runner(args, env=env, is_root=is_root)
		if args.command == 'tree':
			proc._say_stream = sys.stderr
			runner.ensure_tools(BUILD_TOOLS if runner.kernel else BUILD_TOOLS + FETCH_TOOLS)
			print(runner.prepare(), flush=True)
			return EXIT_OK
		if args.command == 'export':
			return runner.export()
		if args.command == 'coverage':
			return runner.coverage()
		return runner.run()
	except RunnerError as e:
		say(e.message)
		return e.code
	except OSError as e:
		err = disk_error(e)
		if err is None:
			raise
		say(err.message)
		return err.code
	except KeyboardInterrupt:
		say('interrupted')
		return EXIT_INTERRUPTED
	finally:
		proc._say_stream = None

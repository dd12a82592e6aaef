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
from .runner import *  # noqa: F401,F403
from .selftest import *  # noqa: F401,F403
from .stages import *  # noqa: F401,F403
from .testall import *  # noqa: F401,F403
from . import proc


# --------------------------------------------------------------------------
# patches/series


# --------------------------------------------------------------------------
# apt configuration (read only)


# --------------------------------------------------------------------------
# helpers for subprocesses and git


# --------------------------------------------------------------------------
# the runner

	# ---- base -----------------------------------------------------------


	# ---- state ----------------------------------------------------------


	# ---- export ---------------------------------------------------------


	# ---- kunit ----------------------------------------------------------


	# ---- coverage -------------------------------------------------------


# --------------------------------------------------------------------------
# coverage of the series' new and changed lines


# --------------------------------------------------------------------------
# self-tests and test-all


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

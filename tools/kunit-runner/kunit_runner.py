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
import buildseed
import hostenv

EXIT_OK = 0
EXIT_TESTS_FAILED = 1
EXIT_USAGE = 2
EXIT_ENV = 3
EXIT_SERIES = 4
EXIT_BUILD = 5
EXIT_DIRTY = 6
EXIT_CHECKSUM = 7
EXIT_INTERNAL = 8
EXIT_EXPORT = 9
EXIT_CLEAN = 10
EXIT_INTERRUPTED = 130

EXIT_CODES = {
	EXIT_OK: 'all tests passed',
	EXIT_TESTS_FAILED: 'tests failed, kernel splats, or no test ran',
	EXIT_USAGE: 'bad usage or input (options, wrong --kernel path, bad patches/series or --series)',
	EXIT_ENV: 'missing environment (tool not installed, base cannot be fetched: no network, '
	'or the archive no longer lists the pinned version; disk full); test-all: every failed '
	'stage failed for such a reason',
	EXIT_SERIES: 'the series does not apply (git am failed; aborted)',
	EXIT_BUILD: 'build failed (kunit.py config or kernel build)',
	EXIT_DIRTY: 'work tree has unexported edits; refusing to overwrite it',
	EXIT_CHECKSUM: 'downloaded base failed checksum verification',
	EXIT_INTERNAL: 'internal error of the runner',
	EXIT_EXPORT: 'export refused: the work tree does not hold the whole series and the placed '
	'files (a patch did not apply, a prepare was interrupted, or patches/ changed since), or '
	'it holds a series given with --series/--applied',
	EXIT_INTERRUPTED: 'interrupted (Ctrl-C)',
}
EXIT_CODES[EXIT_CLEAN] = ('clean refused: a work tree in the cache has unexported edits (or cannot '
			  'be told from them); nothing was deleted')

# The pinned base.
BASE_PACKAGE = 'linux-source-7.3'
BASE_VERSION = '7.3.4-1~bpo13+1'
BASE_SUITE = 'trixie-backports'
BASE_COMPONENT = 'main'
BASE_SHA256 = '703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3'
BASE_TARBALL = './usr/src/linux-source-7.3.tar.xz'
BASE_TOPDIR = 'linux-source-7.3'
KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
# apt-get messages of an archive that answers but lacks the pinned package
# version or the suite itself (not a network problem).
NOT_LISTED_RE = re.compile(r"^E: (Version '[^']*' for '[^']*' was not found|Unable to locate package "
			   r"|Package '[^']*' has no installation candidate|The repository '.*' does not "
			   r"have a Release file)")

# Paths of the project repo copied into the work tree on top of the series
# (files only the project adds; never part of patches/).
PLACED_ROOTS = ('drivers', '.kunitconfig')
PLACED_SUBJECT = 'kunit-runner: place new files'

BUILD_LOCK = buildlock.BUILD_LOCK
# A build that fails for want of disk space is an infrastructure failure.
DISK_FULL_RE = re.compile(r'No space left on device|Disk quota exceeded')
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
SPLAT_RE = re.compile(r'WARNING:|BUG:|Invalid wait context|KASAN|UBSAN|\bOops\b|Kernel panic')
LAYOUT_VERSION = '1'
WORK_BRANCH = 'work'

# Fixed identities/dates so that commits of the work tree are reproducible.
COMMITTER_ENV = {
	'GIT_COMMITTER_NAME': 'kunit-runner',
	'GIT_COMMITTER_EMAIL': 'kunit-runner@localhost',
	'GIT_COMMITTER_DATE': '@1700000000 +0000',
}
RUNNER_AUTHOR_ENV = {
	'GIT_AUTHOR_NAME': 'kunit-runner',
	'GIT_AUTHOR_EMAIL': 'kunit-runner@localhost',
	'GIT_AUTHOR_DATE': '@1700000000 +0000',
}

# Tool -> Debian package: the one table, in hostenv.py.
TOOL_PACKAGES = hostenv.TOOL_PACKAGES
BUILD_TOOLS = hostenv.BUILD_TOOLS
FETCH_TOOLS = hostenv.FETCH_TOOLS
QEMU_TOOLS = {'x86_64': 'qemu-system-x86_64', 'arm64': 'qemu-system-aarch64'}

# Options that make `git format-patch` output independent of user config.
FORMAT_PATCH_CONFIG = (
	'core.abbrev=12', 'diff.algorithm=myers', 'diff.noprefix=false',
	'diff.mnemonicPrefix=false', 'diff.renames=true', 'diff.context=3',
	'diff.interHunkContext=0', 'diff.relative=false',
	'diff.suppressBlankEmpty=false', 'diff.indentHeuristic=true',
	'format.useAutoBase=false', 'format.signature=',
	'format.coverLetter=false', 'format.thread=false',
	'format.subjectPrefix=PATCH', 'format.suffix=.patch',
	'format.filenameMaxLength=64', 'format.encodeEmailHeaders=true',
	'format.forceInBodyFrom=false', 'format.signOff=false',
)
# --no-add-header drops headers from user config; setting format.headers to
# an empty value instead would add an empty header line to every patch.
FORMAT_PATCH_OPTS = ('--no-add-header', '--no-signature', '--zero-commit', '--abbrev=12',
		     '--numbered', '--no-thread', '--no-cover-letter')

PROG = 'tools/kunit-runner/run'


class RunnerError(Exception):
	"""An error with an exit code and a one-line message."""

	def __init__(self, code, message):
		super().__init__(message)
		self.code = code
		self.message = message


# Status lines go to stdout, except for `tree`, whose stdout is the path only.
_say_stream = None
# A thread with a list in _held.lines keeps its say() and out() lines there
# (test-all's work tree prepare beside the self-tests).
_held = threading.local()


def say(msg=''):
	held = getattr(_held, 'lines', None)
	if held is not None:
		held.append(f'kunit-runner: {msg}')
		return
	print(f'kunit-runner: {msg}', file=_say_stream or sys.stdout, flush=True)


def out(line=''):
	held = getattr(_held, 'lines', None)
	if held is not None:
		held.append(line.rstrip('\n'))
		return
	sys.stdout.write(line if line.endswith('\n') else line + '\n')
	sys.stdout.flush()


def sha256_bytes(data):
	return hashlib.sha256(data).hexdigest()


def sha256_file(path):
	h = hashlib.sha256()
	with open(path, 'rb') as f:
		for chunk in iter(lambda: f.read(1 << 20), b''):
			h.update(chunk)
	return h.hexdigest()


def file_sig(path):
	"""Content hash plus exec bit of @path, or None if it does not exist."""
	try:
		st = os.lstat(path)
	except FileNotFoundError:
		return None
	if not os.path.isfile(path):
		return None
	return sha256_file(path) + (':x' if st.st_mode & 0o100 else '')


def tree_stat_id(root):
	"""Hash of the path, size, mtime and ctime of every file of @root but .git/."""
	h = hashlib.sha256()
	for dirpath, dirnames, filenames in os.walk(root):
		dirnames[:] = sorted(d for d in dirnames if not (d == '.git' and dirpath == str(root)))
		for fn in sorted(filenames):
			p = os.path.join(dirpath, fn)
			try:
				st = os.lstat(p)
			except FileNotFoundError:
				continue
			h.update(f'{os.path.relpath(p, root)}\0{st.st_size}\0{st.st_mtime_ns}\0'
				 f'{st.st_ctime_ns}\0'.encode())
	return h.hexdigest()[:16]


def fmt_time(seconds):
	m, s = divmod(int(seconds), 60)
	return f'{m}m{s:02d}s'


# --------------------------------------------------------------------------
# patches/series

def read_series(patches_dir):
	"""Parse a quilt series file.

	Returns a list of (name, path, git-am options).  Blank lines and
	comments ('#' at the start of a line or after whitespace) are ignored;
	an entry may carry a -pN option.  A missing series file is an empty
	series; a listed patch that does not exist is an error.
	"""
	patches_dir = Path(patches_dir)
	series = patches_dir / 'series'
	if not series.exists():
		return []
	entries = []
	seen = set()
	for lineno, raw in enumerate(series.read_text().splitlines(), 1):
		line = re.sub(r'(^|\s)#.*$', '', raw).strip()
		if not line:
			continue
		tokens = line.split()
		name, opts = tokens[0], tokens[1:]
		for opt in opts:
			if not re.fullmatch(r'-p\d+', opt):
				raise RunnerError(EXIT_USAGE, f'{series}:{lineno}: unsupported option {opt!r} '
						  '(only -pN is supported)')
		if name in seen:
			raise RunnerError(EXIT_USAGE, f'{series}:{lineno}: patch {name} listed twice')
		seen.add(name)
		path = patches_dir / name
		if not path.is_file():
			raise RunnerError(EXIT_USAGE, f'{series}:{lineno}: no such patch file {name}')
		entries.append((name, path, opts))
	return entries


DIFF_RE = re.compile(r'^(diff --git |\+\+\+ )', re.M)


def has_diff(path):
	"""True if the patch/mail @path holds a diff (a cover letter has none)."""
	with open(path, errors='replace') as f:
		return DIFF_RE.search(f.read()) is not None


def drop_cover_letters(entries):
	kept = []
	for e in entries:
		if has_diff(e[1]):
			kept.append(e)
		else:
			say(f'skipping {e[0]}: no diff in it (a cover letter?)')
	return kept


def series_input_kind(path):
	"""quilt, format-patch or mbox: the form of a --series @path (None if missing)."""
	path = Path(path)
	if path.is_dir():
		return 'quilt' if (path / 'series').is_file() else 'format-patch'
	return 'mbox' if path.is_file() else None


def read_series_input(path, split_dir):
	"""(kind, entries) of a series given with --series @path.

	kind is 'quilt' (a directory with a series file), 'format-patch' (a
	directory of *.patch files, applied in file name order) or 'mbox' (a
	file, as `b4 am` writes it, split with `git mailsplit` into
	@split_dir/SHA/). Messages and files without a diff (cover letters)
	are skipped.
	"""
	path = Path(path)
	kind = series_input_kind(path)
	if kind == 'quilt':
		entries = read_series(path)
	elif kind == 'format-patch':
		entries = [(p.name, p, []) for p in sorted(path.glob('*.patch')) if p.is_file()]
		if not entries:
			raise RunnerError(EXIT_USAGE, f'--series {path}: a directory with neither a series '
					  'file nor *.patch files')
	elif kind == 'mbox':
		d = Path(split_dir) / sha256_file(path)[:16]
		if not d.is_dir():
			Path(split_dir).mkdir(parents=True, exist_ok=True)
			tmp = Path(tempfile.mkdtemp(prefix='.split-', dir=split_dir))
			try:
				r = run_cmd(['git', 'mailsplit', f'-o{tmp}', path], check=False)
				if r.returncode != 0:
					raise RunnerError(EXIT_USAGE, f'--series {path}: git mailsplit failed: '
							  f'{(r.stdout or "").strip()[-300:]}')
				os.rename(tmp, d)
			finally:
				shutil.rmtree(tmp, ignore_errors=True)
		entries = [(f'{path.name}:{p.name}', p, []) for p in sorted(d.iterdir()) if p.is_file()]
	else:
		raise RunnerError(EXIT_USAGE, f'--series {path}: no such file or directory')
	entries = drop_cover_letters(entries)
	if not entries:
		raise RunnerError(EXIT_USAGE, f'--series {path}: no patch in it ({kind})')
	return kind, entries


def tree_has_hook(tree):
	"""True if drivers/virtio/Makefile of @tree builds drivers/virtio/tests/."""
	try:
		text = (Path(tree) / 'drivers' / 'virtio' / 'Makefile').read_text(errors='replace')
	except OSError:
		return False
	return re.search(r'\btests/', text) is not None


def series_record(series):
	"""[name, options, sha256] of every entry of @series (as read_series())."""
	return [[name, list(opts), sha256_file(path)] for name, path, opts in series]


def select_upto(series, upto):
	"""First @upto patches plus the last patch (the KUnit hook)."""
	if upto is None:
		return list(series)
	if upto < 0 or upto > len(series):
		raise RunnerError(EXIT_USAGE, f'--upto {upto}: the series has {len(series)} patches')
	if upto >= len(series) - 1:
		return list(series)
	return list(series[:upto]) + [series[-1]]


def collect_placed(repo):
	"""Files of the repo to place in the work tree: {relpath: file_sig}."""
	repo = Path(repo)
	placed = {}
	for root in PLACED_ROOTS:
		top = repo / root
		if top.is_file():
			placed[root] = file_sig(top)
		elif top.is_dir():
			for dirpath, dirnames, filenames in os.walk(top):
				dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
				for fn in sorted(filenames):
					if fn.endswith(('.pyc', '.o', '~')):
						continue
					p = Path(dirpath) / fn
					placed[str(p.relative_to(repo))] = file_sig(p)
	return placed


# --------------------------------------------------------------------------
# apt configuration (read only)

def _deb822_paragraphs(text):
	para = {}
	key = None
	for line in text.splitlines():
		if line.startswith('#'):
			continue
		if not line.strip():
			if para:
				yield para
			para, key = {}, None
			continue
		if line[0] in ' \t' and key:
			para[key] += ' ' + line.strip()
			continue
		if ':' in line:
			key, val = line.split(':', 1)
			key = key.strip().lower()
			para[key] = val.strip()
	if para:
		yield para


def apt_source_entries(apt_etc='/etc/apt'):
	"""Yield (types, uris, suites, components) of the system apt sources."""
	apt_etc = Path(apt_etc)
	files = []
	if (apt_etc / 'sources.list').is_file():
		files.append(apt_etc / 'sources.list')
	d = apt_etc / 'sources.list.d'
	if d.is_dir():
		files += sorted(p for p in d.iterdir() if p.suffix in ('.list', '.sources'))
	for f in files:
		try:
			text = f.read_text()
		except OSError:
			continue
		if f.suffix == '.sources':
			for para in _deb822_paragraphs(text):
				if para.get('enabled', 'yes').lower() == 'no':
					continue
				yield (para.get('types', '').split(), para.get('uris', '').split(),
				       para.get('suites', '').split(), para.get('components', '').split())
		else:
			for line in text.splitlines():
				line = line.split('#', 1)[0].strip()
				if not line:
					continue
				line = re.sub(r'\[[^\]]*\]', ' ', line)
				tok = line.split()
				if len(tok) < 3:
					continue
				yield [tok[0]], [tok[1]], [tok[2]], tok[3:]


def debian_mirror(apt_etc='/etc/apt'):
	"""First URI of the Debian main archive in the system's apt sources."""
	for types, uris, suites, comps in apt_source_entries(apt_etc):
		if 'deb' not in types or not uris or not suites:
			continue
		if all(s.endswith('-security') or '/' in s for s in suites):
			continue
		if 'security' in uris[0]:
			continue
		if comps and 'main' not in comps:
			continue
		return uris[0].rstrip('/')
	raise RunnerError(EXIT_ENV, f'cannot find a Debian archive in the apt sources under {apt_etc}')


# --------------------------------------------------------------------------
# helpers for subprocesses and git

def run_cmd(cmd, cwd=None, env=None, check=True, capture=True, input=None):
	try:
		r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, input=input,
				   stdout=subprocess.PIPE if capture else None,
				   stderr=subprocess.STDOUT if capture else None,
				   text=True, errors='backslashreplace')
	except FileNotFoundError:
		raise RunnerError(EXIT_ENV, f'cannot run {cmd[0]}: not installed')
	if check and r.returncode != 0:
		raise RunnerError(EXIT_INTERNAL, f'{" ".join(map(str, cmd))} failed ({r.returncode}): '
				  f'{(r.stdout or "").strip()[-2000:]}')
	return r


class Git:
	def __init__(self, path, env):
		self.path = Path(path)
		self.env = env

	def __call__(self, *args, check=True, extra_env=None, input=None):
		env = dict(self.env)
		if extra_env:
			env.update(extra_env)
		return run_cmd(['git', '-C', self.path] + list(args), env=env, check=check, input=input)

	def out(self, *args, **kw):
		return self(*args, **kw).stdout.strip()

	def try_out(self, *args):
		r = self(*args, check=False)
		return r.stdout.strip() if r.returncode == 0 else None

	def subject(self, rev):
		return self.out('log', '-1', '--format=%s', rev)


# --------------------------------------------------------------------------
# the runner

class Runner:
	def __init__(self, args, env=None, is_root=None):
		self.args = args
		self.env = dict(os.environ if env is None else env)
		self.env.setdefault('LC_ALL', 'C')
		self.is_root = (os.geteuid() == 0) if is_root is None else is_root
		self.ci = self.env.get('CI', '').lower() == 'true'
		here = Path(__file__).resolve().parent
		self.repo = Path(args.repo or here.parent.parent).resolve()
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

	def check_kernel_dir(self, path):
		path = Path(path)
		if not path.is_dir():
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: no such directory')
		mk = path / 'Makefile'
		if not mk.is_file():
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: not a kernel tree (no Makefile)')
		head = mk.read_text(errors='replace')[:4000]
		if not re.search(r'^VERSION\s*=', head, re.M) or not re.search(r'^PATCHLEVEL\s*=', head, re.M):
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: not a kernel tree (Makefile has no VERSION)')
		if not (path / 'drivers' / 'virtio').is_dir():
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: not a kernel tree (no drivers/virtio)')
		if not (path / 'tools' / 'testing' / 'kunit' / 'kunit.py').is_file():
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: no tools/testing/kunit/kunit.py')

	def base_source(self):
		"""Return (tree, base id) of the base kernel.

		For --kernel DIR the id changes with every edit of what copy_tree()
		copies, so that an edited tree is copied again: for a git checkout
		its HEAD plus the content of every file that differs from HEAD,
		otherwise the size, mtime and ctime of every file.
		"""
		if self.kernel:
			self.check_kernel_dir(self.kernel)
			if (self.kernel / '.git').exists():
				return self.kernel, f'kernel:{self.kernel}:{self.git_tree_id(self.kernel)}'
			return self.kernel, f'kernel:{self.kernel}:stat:{tree_stat_id(self.kernel)}'
		# None: the pinned .deb, unpacked by create_base() when a work
		# tree needs it (not on every run)
		return None, f'debian:{BASE_PACKAGE}={BASE_VERSION}:{BASE_SHA256}'

	def base_info(self):
		"""The base tested, for reports."""
		if self.kernel:
			return {'kind': 'kernel', 'path': str(self.kernel)}
		return {'kind': 'debian', 'package': BASE_PACKAGE, 'version': BASE_VERSION,
			'sha256': BASE_SHA256}

	@property
	def input_kind(self):
		"""repo (patches/), quilt, format-patch, mbox (--series) or applied (--applied)."""
		if self.applied:
			return 'applied'
		if self.series_path:
			return series_input_kind(self.series_path)
		return 'repo'

	def check_input_options(self):
		if self.series_path and self.applied:
			raise RunnerError(EXIT_USAGE, '--series and --applied exclude each other')
		if self.applied and not self.kernel:
			raise RunnerError(EXIT_USAGE, '--applied needs --kernel TREE (a tree that carries a series)')
		if (self.series_path or self.applied) and self.args.upto is not None:
			raise RunnerError(EXIT_USAGE, '--upto works on the series of patches/ only '
					  '(not with --series or --applied)')

	def load_series(self):
		"""The patches to apply, as read_series(); sets self.hook.

		For --series: the given series, and this repo's KUnit hook patch
		(the last one of patches/series), applied after it unless the
		series hooks drivers/virtio/tests/ into the build itself.  For
		--applied: no patch, and the hook only if the tree lacks it.
		"""
		self.check_input_options()
		if not self.series_path and not self.applied:
			return read_series(self.repo / 'patches')
		ours = read_series(self.repo / 'patches')
		self.hook = ours[-1] if ours else None
		if self.applied:
			return []
		return read_series_input(self.series_path, self.cache / 'series-input')[1]

	def series_info(self):
		"""The series tested, for reports."""
		try:
			n = len(self.load_series())
		except RunnerError:
			n = None
		path = self.kernel if self.applied else (self.series_path or self.repo / 'patches')
		return {'kind': self.input_kind, 'path': str(path), 'patches': n}

	def git_tree_id(self, tree):
		"""HEAD of the checkout @tree plus the content of its changed tracked files."""
		g = Git(tree, self.env)
		head = g.try_out('rev-parse', 'HEAD') or 'nohead'
		raw = g('--no-optional-locks', 'status', '--porcelain', '-z', '--no-renames',
			'--untracked-files=no', check=False).stdout
		h = hashlib.sha256()
		for path in sorted(p[3:] for p in raw.split('\0') if p):
			h.update(f'{path}\0{file_sig(Path(tree) / path)}\0'.encode())
		return f'{head}:{h.hexdigest()[:16]}'

	def unpack_base(self, dst):
		"""Unpack the kernel tree of the pinned .deb into @dst.

		Straight from the .deb, without its top directory: no tarball
		and no second tree on disk, and the files get fresh mtimes
		(objects of an older build dir must not look newer than them).
		"""
		deb = self.download_deb()
		self.ensure_tools(('dpkg-deb', 'xz', 'tar'))
		say(f'unpacking {deb.name} (about 15 s)')
		p1 = subprocess.Popen(['dpkg-deb', '--fsys-tarfile', str(deb)], stdout=subprocess.PIPE,
				      stderr=subprocess.DEVNULL)
		p2 = subprocess.Popen(['tar', '-xO', BASE_TARBALL], stdin=p1.stdout, stdout=subprocess.PIPE,
				      stderr=subprocess.DEVNULL)
		p1.stdout.close()
		r = subprocess.run(['tar', '-xJm', '-C', str(dst), '--strip-components=1', f'{BASE_TOPDIR}/'],
				   stdin=p2.stdout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
		p2.stdout.close()
		if p1.wait() != 0 or p2.wait() != 0 or r.returncode != 0:
			raise RunnerError(EXIT_ENV, f'cannot unpack {deb}: {r.stdout.strip() or "dpkg-deb or tar failed"}')
		if not (dst / 'Makefile').is_file():
			raise RunnerError(EXIT_ENV, f'{deb} does not contain {BASE_TOPDIR}/')

	def download_deb(self):
		dl = self.cache / 'dl'
		dl.mkdir(parents=True, exist_ok=True)
		deb = dl / f'{BASE_PACKAGE}_{BASE_VERSION}_all.deb'
		if deb.exists():
			if sha256_file(deb) == BASE_SHA256:
				return deb
			say(f'cached {deb.name} has a wrong checksum; fetching it again')
			deb.unlink()
		self.ensure_tools(('apt-get',))
		uri = debian_mirror(self.apt_etc)
		c = self.cache / 'apt'
		for d in ('lists/partial', 'cache/archives/partial', 'state'):
			(c / d).mkdir(parents=True, exist_ok=True)
		(c / 'sources.list').write_text(
			f'deb [signed-by={KEYRING}] {uri} {BASE_SUITE} {BASE_COMPONENT}\n')
		opts = ['-o', f'Dir::Etc::SourceList={c}/sources.list', '-o', 'Dir::Etc::SourceParts=/dev/null',
			'-o', f'Dir::State={c}/state', '-o', f'Dir::State::Lists={c}/lists',
			'-o', f'Dir::Cache={c}/cache', '-o', 'Dir::State::status=/var/lib/dpkg/status',
			'-o', 'APT::Architecture=amd64', '-o', 'Acquire::Languages=none']
		if self.is_root:
			opts += ['-o', 'APT::Sandbox::User=root']
		say(f'fetching {BASE_PACKAGE}={BASE_VERSION} from {BASE_SUITE} (private apt setup in {c})')
		r = run_cmd(['apt-get'] + opts + ['update'], env=self.env, check=False)
		if r.returncode != 0 or re.search(r'^(E:|Err:)', r.stdout or '', re.M):
			self.fetch_failed('update', r.stdout, uri, deb)
		tmp = Path(tempfile.mkdtemp(prefix='partial-', dir=dl))
		try:
			r = run_cmd(['apt-get'] + opts + ['download', f'{BASE_PACKAGE}={BASE_VERSION}'],
				    cwd=tmp, env=self.env, check=False)
			debs = sorted(tmp.glob('*.deb'))
			if r.returncode != 0 or not debs:
				self.fetch_failed('download', r.stdout, uri, deb)
			got = sha256_file(debs[0])
			if got != BASE_SHA256:
				raise RunnerError(EXIT_CHECKSUM, f'checksum mismatch for {debs[0].name}: '
						  f'sha256 {got}, expected {BASE_SHA256}')
			os.rename(debs[0], deb)
		finally:
			shutil.rmtree(tmp, ignore_errors=True)
		return deb

	@staticmethod
	def fetch_failed(step, output, uri, deb):
		"""Raise the one-line error of a failed apt-get @step.

		An archive that answers but does not list the pinned version (or
		the suite) is told apart from no network: the fix differs.
		"""
		lines = [l for l in (output or '').splitlines() if l.strip()]
		if any(NOT_LISTED_RE.search(l) for l in lines):
			raise RunnerError(EXIT_ENV, f'{BASE_PACKAGE}={BASE_VERSION} is not listed by the archive '
					  f'{uri} {BASE_SUITE} (the pin is out of date; not a network problem); '
					  f'put the .deb at {deb} (it is checked against the pinned SHA-256) '
					  'or use --kernel DIR')
		last = lines[-1] if lines else ''
		raise RunnerError(EXIT_ENV, f'cannot fetch base (network?): apt-get {step} failed: {last}')

	# ---- state ----------------------------------------------------------

	def load_state(self):
		try:
			return json.loads(self.state_path.read_text())
		except (OSError, ValueError):
			return None

	def save_state(self, state):
		self.state_path.parent.mkdir(parents=True, exist_ok=True)
		tmp = self.state_path.with_suffix('.tmp')
		tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + '\n')
		os.replace(tmp, self.state_path)

	# ---- work tree ------------------------------------------------------

	def copy_tree(self, src, dst):
		"""Copy a kernel tree without .git; all copied files get fresh mtimes."""
		src = Path(src)
		if (src / '.git').exists():
			files = Git(src, self.env)('ls-files', '-z', '--cached').stdout
			lst = subprocess.run(['tar', '-C', str(src), '--null', '-T', '-', '-cf', '-'],
					     input=files.encode(), stdout=subprocess.PIPE, check=False)
			r = subprocess.run(['tar', '-C', str(dst), '-xmf', '-'], input=lst.stdout, check=False)
			if lst.returncode != 0 or r.returncode != 0:
				raise RunnerError(EXIT_ENV, f'cannot copy kernel tree {src}')
			return
		p1 = subprocess.Popen(['tar', '-C', str(src), '--exclude=./.git', '-cf', '-', '.'],
				      stdout=subprocess.PIPE)
		r = subprocess.run(['tar', '-C', str(dst), '-xmf', '-'], stdin=p1.stdout, check=False)
		p1.stdout.close()
		if p1.wait() != 0 or r.returncode != 0:
			raise RunnerError(EXIT_ENV, f'cannot copy kernel tree {src}')

	@staticmethod
	def strip_debian_gitignore(tree):
		"""Drop the Debian packaging rule ('/*', '!/debian/') from .gitignore.

		Upstream Linux has no such rule; with it, new files would not show
		in `git status` of the work tree.  Returns True if it was removed.
		"""
		gi = Path(tree) / '.gitignore'
		if not gi.is_file():
			return False
		lines = gi.read_text().splitlines(keepends=True)
		for i, l in enumerate(lines):
			if l.startswith('# Debian packaging: ignore everything at the top level'):
				start = i - 1 if i > 0 and lines[i - 1].strip() == '#' else i
				end = i
				while end < len(lines) and lines[end].strip() != '!/debian/':
					end += 1
				gi.write_text(''.join(lines[:start] + lines[end + 1:]))
				return True
		return False

	def base_donor(self, base_id):
		"""Another work tree of this cache whose base commit is @base_id's.

		Its state file must name @base_id and it must hold the base tag.
		Returns its path or None.
		"""
		for st in sorted(self.wt.parent.glob('*.state.json')):
			other = st.with_name(st.name[:-len('.state.json')])
			if other == self.wt or not (other / '.git').is_dir():
				continue
			try:
				if json.loads(st.read_text()).get('base_id') != base_id:
					continue
			except (OSError, ValueError, AttributeError):
				continue
			if Git(other, self.env).try_out('rev-parse', '-q', '--verify',
							'refs/tags/base^{commit}'):
				return other
		return None

	def clone_base(self, donor, tmp):
		"""Make @tmp a clone of @donor's base commit, sharing its objects.

		A local clone hard-links the object store (no second copy of the
		base on disk), and the base commit is the donor's: no import.
		"""
		r = run_cmd(['git', 'clone', '-q', '--local', '--no-checkout', str(donor), str(tmp)],
			    env=self.env, check=False)
		if r.returncode != 0:
			return False
		g = Git(tmp, self.env)
		g('remote', 'remove', 'origin')
		g('config', 'gc.auto', '0')
		g('checkout', '-q', '-B', WORK_BRANCH, 'refs/tags/base')
		return True

	def create_base(self, src, base_id):
		t0 = time.time()
		self.wt.parent.mkdir(parents=True, exist_ok=True)
		tmp = self.wt.with_name(self.wt.name + '.new')
		if tmp.exists():
			shutil.rmtree(tmp)
		donor = self.base_donor(base_id)
		if donor:
			say(f'creating work tree {self.wt} from the base commit of {donor} (local clone)')
			if self.clone_base(donor, tmp):
				self._swap_in(tmp)
				say(f'work tree base checked out in {fmt_time(time.time() - t0)}')
				return
			say(f'cannot clone {donor}; importing the base instead')
			shutil.rmtree(tmp, ignore_errors=True)
		tmp.mkdir()
		if src is None:
			say(f'creating work tree {self.wt} from the pinned .deb (unpack + base commit, '
			    'about a minute)')
			self.unpack_base(tmp)
		else:
			say(f'creating work tree {self.wt} from {src} (copy + base commit, about a minute)')
			self.copy_tree(src, tmp)
		stripped = self.strip_debian_gitignore(tmp)
		g = Git(tmp, self.env)
		g('init', '-q')
		g('symbolic-ref', 'HEAD', f'refs/heads/{WORK_BRANCH}')
		g('config', 'gc.auto', '0')
		g('add', '-A', '-f', '.')
		msg = f'base: {base_id}\n\nPristine base tree imported by kunit-runner.\n'
		if stripped:
			msg += ('\nThe Debian packaging rule at the end of .gitignore (which ignores\n'
				'everything at the top level) is removed so new files show in git status.\n')
		g('commit', '-q', '--no-verify', '-m', msg, extra_env={**COMMITTER_ENV, **RUNNER_AUTHOR_ENV})
		g('tag', '-f', 'base')
		self._swap_in(tmp)
		say(f'work tree base committed in {fmt_time(time.time() - t0)}')

	def _swap_in(self, tmp):
		"""Make @tmp the work tree by renames: an interruption leaves the old tree, or none."""
		old = self.wt.with_name(self.wt.name + '.old')
		if old.exists():
			shutil.rmtree(old)
		if self.wt.exists():
			os.rename(self.wt, old)
		os.rename(tmp, self.wt)
		shutil.rmtree(old, ignore_errors=True)

	def snapshot_mtimes(self):
		"""Content and mtime of files that differ from base (to restore later)."""
		names = self.git('diff', '--name-only', '-z', 'base', 'HEAD').stdout.split('\0')
		snap = {}
		for n in filter(None, names):
			p = self.wt / n
			if p.is_file() and not p.is_symlink():
				snap[n] = (file_sig(p), p.stat().st_mtime_ns)
		return snap

	def restore_mtimes(self, snap):
		"""Give files whose content is as before the reset their old mtime."""
		kept = 0
		for n, (sig, mtime) in snap.items():
			p = self.wt / n
			if file_sig(p) == sig:
				st = p.stat()
				os.utime(p, ns=(st.st_atime_ns, mtime))
				kept += 1
		return kept

	def in_progress(self):
		gd = self.wt / '.git'
		return any((gd / d).exists() for d in ('rebase-apply', 'rebase-merge', 'MERGE_HEAD',
							 'CHERRY_PICK_HEAD'))

	def patch_tip(self):
		head = self.git.out('rev-parse', 'HEAD')
		if self.git.subject(head) == PLACED_SUBJECT:
			return head, self.git.out('rev-parse', 'HEAD^')
		return head, head

	def status_entries(self):
		"""Paths with uncommitted changes (incl. untracked) in the work tree.

		A check only: --no-optional-locks keeps git status from refreshing
		the index on disk, so a refused clean or export writes nothing.
		"""
		raw = self.git('--no-optional-locks', 'status', '--porcelain', '-z',
			       '--untracked-files=all').stdout
		paths = []
		items = raw.split('\0')
		i = 0
		while i < len(items):
			it = items[i]
			i += 1
			if not it:
				continue
			xy, path = it[:2], it[3:]
			if 'R' in xy or 'C' in xy:
				i += 1
			paths.append(path)
		return paths

	def check_clobber(self, state, repo_placed):
		"""Raise EXIT_DIRTY if overwriting the work tree would lose edits."""
		def refuse(reason):
			raise RunnerError(EXIT_DIRTY, f'work tree {self.wt} has unexported edits ({reason}); '
					  f"export them first ('{PROG} export', commit first); refusing to overwrite")
		if self.in_progress():
			refuse('a git am/rebase/merge is in progress')
		if state is None:
			refuse('no runner state recorded for it')
		old_placed = state.get('placed', {})
		for p in self.status_entries():
			if p in old_placed or p in repo_placed or self.in_placed_dir(p, old_placed):
				if file_sig(self.wt / p) == repo_placed.get(p):
					continue  # already exported to the repo
			refuse(f'uncommitted change to {p}')
		_, tip = self.patch_tip()
		if tip not in (state.get('patch_tip'), state.get('exported_tip')):
			refuse('commits not exported to patches/')
		for rel in sorted(set(old_placed) | set(repo_placed)):
			sig = file_sig(self.wt / rel)
			if sig != old_placed.get(rel) and sig != repo_placed.get(rel):
				refuse(f'edited placed file {rel}')

	@staticmethod
	def in_placed_dir(path, placed):
		d = os.path.dirname(path)
		return any(os.path.dirname(p) == d for p in placed)

	def reset_to_base(self):
		if self.in_progress():
			self.git('am', '--quit', check=False)  # an interrupted git am of the runner
		self.git('checkout', '-q', '-f', '-B', WORK_BRANCH, 'base')
		self.git('clean', '-q', '-fd')

	def apply_series(self, selected):
		for i, (name, path, opts) in enumerate(selected, 1):
			r = self.git('am', '--quiet', *opts, str(Path(path).resolve()), check=False,
				     extra_env=COMMITTER_ENV)
			if r.returncode != 0:
				for line in (r.stdout or '').strip().splitlines()[-15:]:
					out(f'  {line}')
				self.git('am', '--abort', check=False)
				return name, i
		return None, None

	def place_files(self, repo_placed, old_placed, update):
		"""Copy placed files whose content differs and (re)commit them.

		With @update the existing placed-files commit (HEAD) is replaced,
		otherwise a new one is created on top of HEAD.
		"""
		changed = []
		overrides = []
		if not update:
			tracked = self.git('ls-files', '-z', '--', *repo_placed.keys()).stdout.split('\0') \
				if repo_placed else []
			overrides = [t for t in tracked if t]
		for rel in sorted(set(repo_placed) | set(old_placed)):
			src, dst = self.repo / rel, self.wt / rel
			want = repo_placed.get(rel)
			if file_sig(dst) != want:
				if want is None:
					dst.unlink()
				else:
					dst.parent.mkdir(parents=True, exist_ok=True)
					if dst.exists() or dst.is_symlink():
						dst.unlink()
					shutil.copyfile(src, dst)
					shutil.copymode(src, dst)
			if want != old_placed.get(rel) or not update:
				changed.append(rel)
		for o in overrides:
			say(f'warning: placed file {o} replaces a file of the kernel tree')
		parent = 'HEAD^' if update else 'HEAD'
		idx = self.wt / '.git' / 'kunit-runner-index'
		ienv = {'GIT_INDEX_FILE': str(idx)}
		try:
			self.git('read-tree', 'HEAD', extra_env=ienv)
			if changed:
				self.git('update-index', '--add', '--remove', '-z', '--stdin',
					 extra_env=ienv, input='\0'.join(changed) + '\0')
			tree = self.git.out('write-tree', extra_env=ienv)
		finally:
			if idx.exists():
				idx.unlink()
		msg = (f'{PLACED_SUBJECT}\n\nNew files of the project ({", ".join(PLACED_ROOTS)}) copied in by\n'
		       'kunit-runner; they are not part of patches/.\n')
		commit = self.git.out('commit-tree', tree, '-p', self.git.out('rev-parse', parent),
				      '-F', '-', input=msg, extra_env={**COMMITTER_ENV, **RUNNER_AUTHOR_ENV})
		self.git('update-ref', '-m', 'kunit-runner: place new files', 'HEAD', commit)
		if changed:
			self.git('update-index', '--add', '--remove', '-z', '--stdin',
				 input='\0'.join(changed) + '\0')
		return commit, len(changed)

	def prepare(self):
		"""Bring the work tree up to date; return its path."""
		self.ensure_tools(('git', 'tar'))
		series = self.load_series()
		if not series and self.input_kind == 'repo':
			say(f'no patches in {self.repo / "patches" / "series"}; using the base only')
		selected = select_upto(series, self.args.upto)
		repo_placed = collect_placed(self.repo)
		if self.applied and (self.kernel / 'drivers' / 'virtio' / 'tests').is_dir():
			say(f'{self.kernel} has drivers/virtio/tests: running its tests, placing none')
			repo_placed = {}
		self.cache.mkdir(parents=True, exist_ok=True)
		with FileLock(self.cache / '.work.lock', 'work tree', self.args.lock_timeout):
			return self._prepare_locked(selected, repo_placed)

	def _prepare_locked(self, selected, repo_placed):
		src, base_id = self.base_source()
		h = hashlib.sha256()
		for part in (LAYOUT_VERSION, base_id, repr(self.args.upto)):
			h.update(part.encode() + b'\0')
		for name, path, opts in selected + ([self.hook] if self.hook else []):
			h.update(f'{name}\0{" ".join(opts)}\0{sha256_file(path)}\0'.encode())
		h.update(f'input:{self.input_kind}\0'.encode())
		patches_fp = h.hexdigest()
		fp = sha256_bytes((patches_fp + json.dumps(repo_placed, sort_keys=True)).encode())
		state = self.load_state()
		exists = (self.wt / '.git').is_dir()
		has_base = exists and self.git.try_out('rev-parse', '-q', '--verify', 'refs/tags/base') is not None
		# An incomplete prepare has no fingerprint: no fast path for it.
		resume = state is not None and 'preparing' in state

		if exists and has_base and state and state.get('fingerprint') == fp:
			say(f'work tree {self.wt} is up to date')
			return self.wt
		if exists and has_base and state and state.get('fingerprint') and \
		   state.get('patches_fp') == patches_fp and \
		   self.git.try_out('rev-parse', 'HEAD') == state.get('placed_head'):
			return self._update_placed(state, repo_placed, fp)

		snap = {}
		if exists and has_base:
			if self.args.force:
				self.git('am', '--abort', check=False)
				self.git('rebase', '--abort', check=False)
			elif resume:
				self.check_interrupted(state['preparing'])
				say(f'the last prepare of {self.wt} did not finish; preparing it again')
			else:
				self.check_clobber(state, repo_placed)
			snap = self.snapshot_mtimes()
			if resume:
				# the mtimes from before the interrupted prepare win
				snap.update(state['preparing'].get('snap') or {})
		reuse = exists and has_base and state is not None and state.get('base_id') == base_id
		new = {'version': LAYOUT_VERSION, 'base_id': base_id if reuse else None,
		       'upto': self.args.upto, 'fingerprint': None, 'patches_fp': patches_fp,
		       'patch_tip': None, 'exported_tip': None, 'placed_head': None, 'placed': {},
		       'applied': [], 'preparing': {'snap': snap if reuse else {}},
		       'input': {'kind': self.input_kind,
				 'path': str(self.series_path or self.kernel or self.repo / 'patches')}}
		# Recorded before the tree is touched: until the prepare completes,
		# the tree is the runner's (see check_interrupted()).
		self.save_state(new)
		with self.changing_tree():
			self._build_tree(new, src, base_id, selected, repo_placed, fp)
		return self.wt

	def _build_tree(self, state, src, base_id, selected, repo_placed, fp):
		"""Base, series and placed files; @state has the 'preparing' record."""
		if state['base_id'] == base_id:
			say(f'recreating work tree {self.wt} from the cached base')
			self.reset_to_base()
		else:
			self.create_base(src, base_id)
			state['base_id'] = base_id
			self.save_state(state)
		base = self.git.out('rev-parse', 'base')
		state['patch_tip'] = base
		failed, idx = self.apply_series(selected)
		state['patch_tip'] = self.git.out('rev-parse', 'HEAD')
		state['applied'] = [n for n, _, _ in selected][:(idx - 1) if failed else None]
		if failed:
			del state['preparing']
			self.save_state(state)
			raise RunnerError(EXIT_SERIES, f'patch {idx}/{len(selected)} {failed} does not apply '
					  f'(git am failed and was aborted; work tree left at the previous patch)')
		say(f'applied {len(selected)} patch(es) with git am')
		if self.hook:
			self.apply_hook(state)
		head, n = self.place_files(repo_placed, {}, update=False)
		snap = state['preparing'].get('snap') or {}
		kept = self.restore_mtimes(snap) if snap else 0
		del state['preparing']
		state.update(fingerprint=fp, placed_head=head, placed=repo_placed)
		if self.args.upto is None:
			state['series'] = series_record(selected)
		self.save_state(state)
		say(f'placed {n} new file(s); work tree ready' +
		    (f' ({kept} unchanged file(s) kept their mtime)' if snap else ''))

	def apply_hook(self, state):
		"""This repo's KUnit hook patch, unless the tree builds drivers/virtio/tests/ already."""
		name, path, opts = self.hook
		if tree_has_hook(self.wt):
			say(f'drivers/virtio/Makefile builds tests/ already; not applying {name}')
			return
		failed, _ = self.apply_series([self.hook])
		if failed:
			del state['preparing']
			self.save_state(state)
			raise RunnerError(EXIT_SERIES, f'the KUnit hook patch {name} of {self.repo / "patches"} '
					  'does not apply on top of the series (git am failed and was aborted)')
		state['patch_tip'] = self.git.out('rev-parse', 'HEAD')
		state['applied'].append(name)
		say(f'applied the KUnit hook patch {name}')

	def _update_placed(self, state, repo_placed, fp):
		old = state.get('placed', {})
		if not self.args.force:
			for rel in sorted(set(old) | set(repo_placed)):
				sig = file_sig(self.wt / rel)
				if sig != old.get(rel) and sig != repo_placed.get(rel):
					raise RunnerError(EXIT_DIRTY, f'work tree {self.wt} has unexported edits '
							  f'(edited placed file {rel}); export them first '
							  f"('{PROG} export'); refusing to overwrite")
		self.save_state(dict(state, fingerprint=None, preparing={'snap': {}}))
		with self.changing_tree():
			head, n = self.place_files(repo_placed, old, update=True)
			state.update(fingerprint=fp, placed_head=head, placed=repo_placed)
			self.save_state(state)
		say(f'updated {n} placed file(s) in {self.wt}')
		return self.wt

	@contextlib.contextmanager
	def changing_tree(self):
		"""Record what an interrupted or failed prepare left in the tree."""
		try:
			yield
		except KeyboardInterrupt:
			self.note_interrupted()
			raise RunnerError(EXIT_INTERRUPTED, f'interrupted while preparing {self.wt}; the next '
					  f"'{PROG} tree' (or run) prepares it again")
		except BaseException:
			self.note_interrupted()
			raise

	def note_interrupted(self):
		"""Save the uncommitted paths (and their content) the prepare left.

		The next prepare accepts exactly these; anything else in the tree
		was changed after the interruption (check_interrupted()).
		"""
		try:
			old = signal.signal(signal.SIGINT, signal.SIG_IGN)
		except ValueError:  # not the main thread
			old = None
		try:
			state = self.load_state()
			if not state or 'preparing' not in state:
				return
			left = None
			if (self.wt / '.git').is_dir():
				try:
					left = {p: file_sig(self.wt / p) for p in self.status_entries()}
				except (RunnerError, OSError):
					left = None
			state['preparing']['interrupted'] = left
			self.save_state(state)
		finally:
			if old is not None:
				signal.signal(signal.SIGINT, old)

	def check_interrupted(self, prep):
		"""Raise EXIT_DIRTY if the tree changed since a prepare was interrupted.

		Until a prepare completes, the tree holds only the runner's work:
		commits of its fixed committer, a git am of its own, and the
		uncommitted paths recorded by note_interrupted().  Anything else is
		an edit made since, which a new prepare would lose.
		"""
		def refuse(what):
			raise RunnerError(EXIT_DIRTY, f'work tree {self.wt}: a prepare was interrupted and {what}; '
					  'refusing to prepare it again (save what you need from it, then move '
					  'it aside)')
		if self.in_progress() and not (self.wt / '.git' / 'rebase-apply' / 'applying').exists():
			refuse('a rebase or merge was started in it since')
		committers = self.git.out('log', '--format=%ce', 'base..HEAD').split()
		if any(c != COMMITTER_ENV['GIT_COMMITTER_EMAIL'] for c in committers):
			refuse('commits were made in it since')
		left = prep.get('interrupted')
		for p in self.status_entries():
			if left is None:
				refuse(f'it has uncommitted changes ({p}) that the runner cannot tell from edits')
			if p not in left or file_sig(self.wt / p) != left[p]:
				refuse(f'{p} was changed since')

	# ---- export ---------------------------------------------------------

	def export(self):
		if self.series_path or self.applied:
			raise RunnerError(EXIT_EXPORT, 'export refused: it writes back the series of '
					  f'{self.repo / "patches"} only, never a series given with --series or '
					  'a tree given with --applied (nothing was written)')
		self.ensure_tools(('git',))
		state = self.load_state()
		if state is not None and state.get('input', {}).get('kind', 'repo') != 'repo':
			raise RunnerError(EXIT_EXPORT, f'export refused: {self.wt} holds a series that is '
					  f'not the one of {self.repo / "patches"} (nothing was written)')
		if state is not None and 'preparing' in state:
			raise RunnerError(EXIT_EXPORT, f'export refused: the last prepare of {self.wt} was '
					  f"interrupted; run '{PROG} tree' to finish it first (nothing was written)")
		if not (self.wt / '.git').is_dir() or state is None:
			raise RunnerError(EXIT_USAGE, f'no work tree at {self.wt}; run \'{PROG} tree\' first')
		if state.get('upto') is not None:
			raise RunnerError(EXIT_USAGE, f'work tree {self.wt} holds a --upto subset of the series; '
					  f'export needs the whole series (run \'{PROG} tree\' without --upto)')
		if self.in_progress():
			raise RunnerError(EXIT_DIRTY, f'work tree {self.wt}: a git am/rebase/merge is in progress')
		pdir = self.repo / 'patches'
		old_names = self.check_export_series(state, pdir)
		placed = state.get('placed', {})
		untracked = set(self.git('ls-files', '-z', '--others', '--exclude-standard').stdout.split('\0'))
		for p in self.status_entries():
			if p in placed or (p in untracked and self.in_placed_dir(p, placed)):
				continue
			raise RunnerError(EXIT_DIRTY, f'work tree {self.wt} has an uncommitted change to {p}; '
					  'commit it (git commit --amend / git rebase -i base) before export')
		tip = self.check_export_commits(placed)
		copies = self.placed_copy_back(placed, untracked)
		patches = self.format_patches(tip)
		for n, data in patches.items():
			dst = pdir / n
			if n not in old_names and dst.exists() and dst.read_bytes() != data:
				raise RunnerError(EXIT_EXPORT, f'export refused: {dst} is not in the series and '
						  'differs from the patch export would write there (nothing was written)')
		pdir.mkdir(exist_ok=True)
		changed = 0
		for n, data in patches.items():
			dst = pdir / n
			if not dst.exists() or dst.read_bytes() != data:
				dst.write_bytes(data)
				changed += 1
		self.write_series(pdir / 'series', list(patches))
		# Copy back edits of placed files (they are the project's files).
		for rel in copies:
			src, dst = self.wt / rel, self.repo / rel
			dst.parent.mkdir(parents=True, exist_ok=True)
			shutil.copyfile(src, dst)
			shutil.copymode(src, dst)
		state['exported_tip'] = tip
		state['series'] = series_record(read_series(pdir))
		self.save_state(state)
		say(f'exported {len(patches)} patch(es) to {pdir} ({changed} changed); '
		    f'{len(copies)} placed file(s) copied back to {self.repo}')
		stale = [n for n in old_names if n not in patches and (pdir / n).is_file()]
		if stale:
			say(f'left {len(stale)} patch file(s) that are no longer in the series in {pdir}: '
			    f'{", ".join(stale)}')
		return EXIT_OK

	def check_export_series(self, state, pdir):
		"""Refuse (EXIT_EXPORT) unless the work tree holds the whole series.

		The last prepare must have applied every patch, and patches/ must
		still be what that prepare (or the last export) saw: export never
		rewrites or drops a patch the work tree does not hold.  Returns the
		names of the series.
		"""
		def refuse(why):
			raise RunnerError(EXIT_EXPORT, f'export refused: {why} (nothing was written)')
		if not state.get('fingerprint'):
			refuse(f'work tree {self.wt} does not hold the whole series; the last prepare stopped '
			       f"at a patch that does not apply (fix it, then run '{PROG} tree')")
		current = read_series(pdir)
		if 'series' in state:
			same = series_record(current) == state['series']
		else:  # state written by an older runner: names only
			same = [n for n, _, _ in current] == state.get('applied')
		if not same:
			refuse(f"{pdir} changed since the work tree was prepared from it; run '{PROG} tree' "
			       'to prepare the work tree from it')
		return [n for n, _, _ in current]

	def check_export_commits(self, placed):
		"""Return the series tip; refuse unless base..HEAD ends with the placed files."""
		head, tip = self.patch_tip()
		for c in self.git.out('rev-list', '--reverse', f'base..{tip}').split():
			if self.git.subject(c) == PLACED_SUBJECT:
				raise RunnerError(EXIT_USAGE, f'commit {c[:12]} ({PLACED_SUBJECT}) is not the last '
						  'commit of the work tree; move it to the top before export')
		if head == tip:
			raise RunnerError(EXIT_EXPORT, f'export refused: the last commit of {self.wt} is not '
					  f'"{PLACED_SUBJECT}" (nothing was written)')
		if self.git('merge-base', '--is-ancestor', 'base', head, check=False).returncode != 0:
			raise RunnerError(EXIT_EXPORT, f'export refused: {self.wt} does not start at the '
					  'tag base (nothing was written)')
		for rel in sorted(placed):
			if file_sig(self.wt / rel) is None:
				raise RunnerError(EXIT_EXPORT, f'export refused: placed file {rel} is missing from '
						  f'{self.wt}; export never deletes files of {self.repo} '
						  '(nothing was written)')
		return tip

	def format_patches(self, tip):
		"""{file name: content} of `git format-patch base..tip` with fixed settings."""
		tmp = Path(tempfile.mkdtemp(prefix='export-'))
		try:
			cfg = []
			for c in FORMAT_PATCH_CONFIG:
				cfg += ['-c', c]
			if self.git.out('rev-list', f'base..{tip}'):
				self.git(*cfg, 'format-patch', *FORMAT_PATCH_OPTS, '-o', str(tmp), f'base..{tip}')
			return {p.name: p.read_bytes() for p in sorted(tmp.glob('*.patch'))}
		finally:
			shutil.rmtree(tmp, ignore_errors=True)

	@staticmethod
	def write_series(path, names):
		"""Write @names to the series file @path, keeping its leading comments."""
		header = []
		if path.exists():
			for line in path.read_text().splitlines():
				if line.strip() and not line.startswith('#'):
					break
				if line.startswith('#'):
					header.append(line)
		text = ''.join(l + '\n' for l in header + names)
		if not path.exists() or path.read_text() != text:
			path.write_text(text)

	def placed_copy_back(self, placed, untracked):
		"""Placed files edited in the work tree, to copy back to the repo.

		A file is copied back only if the work tree's copy changed since it
		was placed and the repo's copy did not: a file edited in the repo
		since (not yet placed again) is never overwritten. Edited on both
		sides, export refuses before it writes anything.
		"""
		cands = set(placed) | {p for p in untracked if p and self.in_placed_dir(p, placed)}
		copies, both = [], []
		for rel in sorted(cands):
			was = placed.get(rel)
			wsig, rsig = file_sig(self.wt / rel), file_sig(self.repo / rel)
			if wsig == rsig or wsig == was:
				continue
			if rsig != was:
				both.append(rel)
			else:
				copies.append(rel)
		if both:
			raise RunnerError(EXIT_DIRTY, f'{both[0]} was edited both in the work tree and in '
					  f'{self.repo} since it was placed; export refuses to overwrite either '
					  '(keep one version by hand, then export again)')
		return copies

	# ---- kunit ----------------------------------------------------------

	def kunit_py(self, wt):
		return [sys.executable, str(wt / 'tools' / 'testing' / 'kunit' / 'kunit.py')]

	def common_args(self, kunitconfig):
		"""kunit.py options; @kunitconfig is a list of fragments (merged by kunit.py)."""
		a = [f'--build_dir={self.build_dir}', f'--arch={self.args.arch}']
		a += [f'--kunitconfig={k}' for k in kunitconfig]
		a += [f'--kconfig_add={k}' for k in (self.args.kconfig_add or [])]
		return a

	def kunitconfig(self):
		"""The kunitconfig fragments: --kunitconfig (repeatable) or the repo's .kunitconfig."""
		kcs = [Path(k).resolve() for k in self.args.kunitconfig] if self.args.kunitconfig \
			else [self.repo / '.kunitconfig']
		for kc in kcs:
			if not kc.is_file():
				raise RunnerError(EXIT_USAGE, f'kunitconfig {kc}: no such file (pass --kunitconfig FILE)')
		return kcs

	def stream(self, cmd, cwd, log=None):
		"""Run @cmd, echoing its output (and writing it to @log)."""
		p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=self.env, stdout=subprocess.PIPE,
				     stderr=subprocess.STDOUT, text=True, errors='backslashreplace')
		lf = open(log, 'w') if log else None
		for line in p.stdout:
			out(line)
			if lf:
				lf.write(line)
		if lf:
			lf.close()
		return p.wait()

	def config_stamp(self, wt, kc):
		files = self.git('ls-files', '-z', '--cached', '--others', '--exclude-standard', '--',
				 '*Kconfig*').stdout.split('\0')
		h = hashlib.sha256()
		for f in sorted(set(filter(None, files))):
			p = wt / f
			h.update(f.encode() + b'\0' + (sha256_file(p) if p.is_file() else '-').encode())
		return {'arch': self.args.arch, 'kunitconfig': [sha256_file(k) for k in kc],
			'kconfig_add': list(self.args.kconfig_add or []), 'kconfig_files': h.hexdigest(),
			'wt': str(wt)}

	def config_step(self, wt, kc):
		stamp_path = self.build_dir / '.kunit-runner-config-stamp'
		stamp = self.config_stamp(wt, kc)
		try:
			old = json.loads(stamp_path.read_text())
		except (OSError, ValueError):
			old = None
		cfg = self.build_dir / '.config'
		if old == stamp and cfg.exists():
			say('config unchanged (kunitconfig and Kconfig files); skipping kunit.py config')
			return
		if cfg.exists() and (old is None or old.get('kconfig_files') != stamp['kconfig_files']
				     or old.get('arch') != stamp['arch'] or old.get('wt') != stamp['wt']):
			cfg.unlink()  # Kconfig files changed: let kunit.py regenerate .config
		say('kunit.py config')
		rc = self.stream(self.kunit_py(wt) + ['config'] + self.common_args(kc), cwd=wt)
		if rc != 0:
			if stamp_path.exists():
				stamp_path.unlink()
			raise RunnerError(EXIT_BUILD, f'config step failed (kunit.py config exit {rc})')
		stamp_path.write_text(json.dumps(stamp, sort_keys=True) + '\n')

	def build_cmd(self, wt, kc):
		jobs = self.args.jobs or len(os.sched_getaffinity(0))
		mo = merge_kcflags(self.args.make_option or [], getattr(self, 'extra_kcflags', ()))
		if self.args.arch == 'um' and not self.args.kunit_build:
			targets = ['linux'] + (['modules'] if getattr(self.args, 'modules', False) else [])
			return ['make', 'ARCH=um', f'O={self.build_dir}', f'-j{jobs}'] + mo + targets
		return self.kunit_py(wt) + ['build'] + self.common_args(kc) + [f'--jobs={jobs}'] + \
			[f'--make_options={m}' for m in mo]

	def build_step(self, wt, kc):
		cmd = self.build_cmd(wt, kc)
		log = self.out_dir / 'build.log'
		say('build: ' + ' '.join(str(c) for c in cmd))
		interval = 30 if self.ci else 10
		t0 = time.time()
		objs = [0]
		tail = []
		p = subprocess.Popen([str(c) for c in cmd], cwd=wt, env=self.env, stdout=subprocess.PIPE,
				     stderr=subprocess.STDOUT, text=True, errors='backslashreplace')
		obj_re = re.compile(r'^\s+(CC|AS|CC \[M\])\s+\S+\.o\b')

		err_re = re.compile(r'(^|: )(fatal )?error:|undefined reference|Error \d')
		errors = []
		disk = []

		def reader():
			with open(log, 'w') as lf:
				for line in p.stdout:
					lf.write(line)
					if obj_re.match(line):
						objs[0] += 1
					elif err_re.search(line) and len(errors) < 20:
						errors.append(line.rstrip('\n'))
					if DISK_FULL_RE.search(line) and not disk:
						disk.append(line.strip())
					tail.append(line.rstrip('\n'))
					del tail[:-40]
		th = threading.Thread(target=reader, daemon=True)
		th.start()
		while True:
			try:
				p.wait(timeout=interval)
				break
			except subprocess.TimeoutExpired:
				out(f'[build {fmt_time(time.time() - t0)}] {objs[0]} objects')
		th.join()
		dt = time.time() - t0
		if p.returncode != 0:
			for l in (errors or tail[-20:]):
				out(f'  {l}')
			if disk:
				raise RunnerError(EXIT_ENV, f'build failed: no space left on the device ({disk[0]}); '
						  f'full log: {log}')
			raise RunnerError(EXIT_BUILD, f'build failed (exit {p.returncode}); full log: {log}')
		if objs[0] == 0:
			say(f'build: nothing to rebuild ({dt:.1f}s)')
		else:
			say(f'build: {objs[0]} objects compiled in {fmt_time(dt)}')

	def exec_step(self, wt, kc):
		js, ju = self.out_dir / 'results.json', self.out_dir / 'results.xml'
		for f in (js, ju):
			if f.exists():
				f.unlink()
		cmd = self.kunit_py(wt) + ['exec'] + self.common_args(kc) + [f'--json={js}', f'--junit={ju}']
		if self.args.filter:
			cmd.append(self.args.filter)
		say('kunit.py exec')
		rc = self.stream(cmd, cwd=wt)
		raw = self.build_dir / 'test.log'
		splats = []
		if raw.exists():
			shutil.copyfile(raw, self.out_dir / 'test.log')
			with open(raw, errors='backslashreplace') as f:
				splats = [l.rstrip('\n') for l in f if SPLAT_RE.search(l)]
		passed = failed = skipped = 0
		self.case_counts = None
		if js.exists():
			try:
				misc = json.loads(js.read_text())['misc']
				passed, skipped = misc['passed'], misc['skipped']
				failed = misc['failed'] + misc['crashed'] + misc.get('errors', 0)
				self.case_counts = (passed, failed, skipped)
			except (ValueError, KeyError, TypeError):
				say(f'cannot read {js}')
				failed = 1
		else:
			say(f'no test results (kunit.py exec exit {rc} wrote no {js.name}); counting one failure')
			failed = 1
		if passed + failed + skipped == 0:
			say('no test ran; counting one failure')
			failed = 1
		for l in splats:
			say(f'kernel splat: {l.strip()}')
		if splats:
			say(f'{len(splats)} kernel splat line(s) in {self.out_dir / "test.log"} counted as failures')
		failed += len(splats)
		self.counts = (passed, failed, skipped)
		say(f'results: {js}, {ju}, raw log: {self.out_dir / "test.log"}')
		out(summary_line(passed, failed, skipped))
		return EXIT_OK if failed == 0 else EXIT_TESTS_FAILED

	def run(self):
		tools = list(BUILD_TOOLS)
		if self.args.arch in QEMU_TOOLS:
			tools.append(QEMU_TOOLS[self.args.arch])
		if not self.kernel:
			tools += FETCH_TOOLS
		self.ensure_tools(tuple(dict.fromkeys(tools)))
		kc = self.kunitconfig()
		wt = self.prepare()
		self.out_dir.mkdir(parents=True, exist_ok=True)
		if getattr(self.args, 'modules', False):
			self.build_dir.mkdir(parents=True, exist_ok=True)
			return self.run_modules(wt, kc)
		with FileLock(self.lock_path, 'build', self.args.lock_timeout, shared=True):
			self.seed_build_dir(wt)
			self.build_dir.mkdir(parents=True, exist_ok=True)
			self.config_step(wt, kc)
			self.build_step(wt, kc)
			return self.exec_step(wt, kc)

	def seed_build_dir(self, wt):
		"""A new --upto build dir starts as a copy of the full series' one.

		Only the objects the prefix or the kunitconfig changes are then
		rebuilt (buildseed.py). Called with the build lock held.
		"""
		if self.args.upto is None or self.build_dir.exists() or \
		   self.build_dir != wt / f'.build-{self.args.arch}':
			return
		src = wt.with_name(wt.name[:-len('-upto')])
		t0 = time.time()
		n = buildseed.seed(src, src / self.build_dir.name, wt, self.build_dir, env=self.env)
		if n is not None:
			say(f'build dir {self.build_dir} seeded from {src / self.build_dir.name} '
			    f'({n} unchanged files took its mtimes, {fmt_time(time.time() - t0)})')

	def aside_build_dir(self, what):
		"""CACHE/build/NAME-ARCH-@what: a build dir outside the work tree.

		For builds that get no ccache hits from the others anyway (gcov,
		modules); absolute source paths there keep lcov's paths simple.
		"""
		return self.cache / 'build' / f'{self.name}-{self.args.arch}-{what}'

	def run_modules(self, wt, kc):
		"""run --modules: the test symbols =m, loaded by modprobe (modrun.py)."""
		import modrun
		if self.args.arch != 'um':
			raise RunnerError(EXIT_USAGE, '--modules runs under UML only (--arch um)')
		if not self.which('busybox'):
			raise RunnerError(EXIT_ENV, 'cannot run --modules: busybox not installed '
					  '(Debian: busybox-static)')
		adds, self.module_names = modrun.module_config(k.read_text() for k in kc)
		if not self.module_names:
			raise RunnerError(EXIT_USAGE, 'no test module in the kunitconfig: --modules needs '
					  'one of ' + ', '.join(modrun.MODULE_TESTS))
		self.args.kconfig_add = list(self.args.kconfig_add or []) + adds
		if not self.args.build_dir:
			self.build_dir = self.aside_build_dir('modules')
		self.build_dir.mkdir(parents=True, exist_ok=True)
		with FileLock(self.lock_path, 'build', self.args.lock_timeout, shared=True):
			self.config_step(wt, kc)
			self.build_step(wt, kc)
			console, js, _ = modrun.run(self, wt, kc, say, self.stream, RunnerError,
						    {'build': EXIT_BUILD})
		self.counts, self.case_counts = modrun.counts(js, console, self.module_names,
							      SPLAT_RE, say)
		say(f'results: {js}, raw log: {self.out_dir / "test.log"}')
		out(summary_line(*self.counts))
		return EXIT_OK if self.counts[1] == 0 else EXIT_TESTS_FAILED

	# ---- coverage -------------------------------------------------------

	def coverage(self):
		"""Build and run the suite with gcov (UML), report the series' lines.

		Sets self.cov_counts to (checks passed, checks failed, 0): the
		threshold check plus any KUnit failure of the coverage run.
		"""
		self.cov_counts = (0, 1, 0)
		if self.args.arch != 'um':
			raise RunnerError(EXIT_USAGE, 'coverage runs under UML only (no --arch)')
		tools = list(BUILD_TOOLS) + ['lcov', 'genhtml']
		if not self.kernel:
			tools += FETCH_TOOLS
		self.ensure_tools(tuple(dict.fromkeys(tools)))
		if not self.args.build_dir:
			self.build_dir = self.aside_build_dir('coverage')
		if not self.args.out:
			self.out_dir = self.out_dir / 'coverage'
		kc = self.kunitconfig()
		wt = self.prepare()
		frag = wt / COVERAGE_FRAGMENT
		if not frag.is_file():
			raise RunnerError(EXIT_USAGE, f'{frag}: no such file (a kernel tree without UML coverage?)')
		kc = kc + [frag, COVERAGE_EXTRA]
		self.extra_kcflags = (COVERAGE_KCFLAGS,)
		self.build_dir.mkdir(parents=True, exist_ok=True)
		self.out_dir.mkdir(parents=True, exist_ok=True)
		info_all = self.out_dir / 'coverage-all.info'
		info = self.out_dir / 'coverage.info'
		html = self.out_dir / 'html'
		for f in (info_all, info):
			if f.exists():
				f.unlink()
		with FileLock(self.lock_path, 'build', self.args.lock_timeout, shared=True):
			self.config_step(wt, kc)
			self.build_step(wt, kc)
			stale = remove_gcda(self.build_dir)
			say(f'coverage: removed {stale} stale .gcda file(s)')
			self.exec_step(wt, kc)
			ku_failed = self.counts[1] if self.counts else 1
			ok = self.coverage_report(wt, info_all, info, html)
		failed = ku_failed + (0 if ok else 1)
		self.cov_ok = ok
		self.cov_counts = (1 if ok else 0, failed, 0)
		say(f'coverage: lcov data {info}')
		out(summary_line(*self.cov_counts))
		return EXIT_OK if failed == 0 else EXIT_TESTS_FAILED

	def coverage_report(self, wt, info_all, info, html):
		"""lcov data of the coverage run, its HTML report and the series' lines.

		Returns True when every new or changed line of COVERAGE_ENFORCED
		ran. Called with the build lock held (it reads the build dir).
		"""
		say('coverage: lcov --capture')
		r = run_cmd(['lcov', '--quiet', '--capture', '--directory', self.build_dir / COVERAGE_OBJDIR,
			     '--base-directory', wt, '--output-file', info_all], env=self.env, check=False)
		if r.returncode != 0 or not info_all.is_file():
			out(r.stdout or '')
			raise RunnerError(EXIT_TESTS_FAILED, f'lcov --capture failed (exit {r.returncode}); '
					  'no coverage data (were .gcda files written?)')
		r = run_cmd(['lcov', '--quiet', '--extract', info_all] + [f'*/{f}' for f in COVERAGE_FILES] +
			    ['--output-file', info], env=self.env, check=False)
		if r.returncode != 0 or not info.is_file():
			out(r.stdout or '')
			raise RunnerError(EXIT_TESTS_FAILED, f'lcov --extract failed (exit {r.returncode})')
		if html.exists():
			shutil.rmtree(html)
		r = run_cmd(['genhtml', '--quiet', '--output-directory', html, info], env=self.env, check=False)
		if r.returncode != 0:
			out(r.stdout or '')
			say(f'genhtml failed (exit {r.returncode}); no HTML report')
		else:
			say(f'coverage: HTML report {html / "index.html"}')
		_, tip = self.patch_tip()
		report = series_coverage(self.git, 'base', tip, info.read_text(), COVERAGE_FILES)
		return print_coverage(report, COVERAGE_ENFORCED)


# --------------------------------------------------------------------------
# coverage of the series' new and changed lines

COVERAGE_FRAGMENT = 'tools/testing/kunit/configs/coverage_uml.config'
# ... and ours on top of it (reduced debug info)
COVERAGE_EXTRA = Path(__file__).resolve().parent / 'configs' / 'coverage-uml.config'
# gcc instruments only the functions of these sources (a regex): UML's
# GCOV option puts the gcov flags on every compile, and instrumenting the
# whole kernel made the build half as long again as a plain one.
COVERAGE_KCFLAGS = '-fprofile-filter-files=drivers/virtio/'
# lcov --capture reads the .gcda files below this dir of the build dir only
# (all three files live there; capturing the whole kernel takes minutes).
COVERAGE_OBJDIR = 'drivers/virtio'
COVERAGE_FILES = ('drivers/virtio/virtio.c', 'drivers/virtio/virtio_ring.c',
		  'drivers/virtio/virtio_mmio.c')
# Files whose new and changed lines must all be covered; the others are
# only reported.
COVERAGE_ENFORCED = ('drivers/virtio/virtio.c', 'drivers/virtio/virtio_ring.c')


def merge_kcflags(make_options, extra=()):
	"""@make_options with every KCFLAGS= (and @extra) in one KCFLAGS=.

	On make's command line the last KCFLAGS= wins; the runner's own
	flags (hardening, coverage) must not drop the caller's.
	"""
	out, flags, at = [], [], None
	for m in make_options:
		if m.startswith('KCFLAGS='):
			flags.append(m[len('KCFLAGS='):])
			if at is None:
				at = len(out)
				out.append(None)
		else:
			out.append(m)
	flags += list(extra)
	flags = [f for f in flags if f]
	if not flags:
		return [m for m in out if m is not None]
	kc = 'KCFLAGS=' + ' '.join(flags)
	if at is None:
		return out + [kc]
	out[at] = kc
	return out


def remove_gcda(build_dir):
	n = 0
	for dirpath, _, filenames in os.walk(build_dir):
		for fn in filenames:
			if fn.endswith('.gcda'):
				os.unlink(os.path.join(dirpath, fn))
				n += 1
	return n


def added_lines(diff_text):
	"""{path: set of line numbers} added in the new side of a unified diff."""
	res = {}
	path = None
	new_no = None
	hunk_re = re.compile(r'^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@')
	for line in diff_text.splitlines():
		if line.startswith('+++ '):
			name = line[4:].split('\t')[0]
			path = None if name == '/dev/null' else re.sub(r'^b/', '', name)
			if path is not None:
				res.setdefault(path, set())
			new_no = None
			continue
		if line.startswith(('--- ', 'diff --git ', 'index ')) and new_no is None:
			continue
		m = hunk_re.match(line)
		if m:
			new_no = int(m.group(1))
			continue
		if new_no is None or path is None:
			continue
		if line.startswith('+'):
			res[path].add(new_no)
			new_no += 1
		elif line.startswith(' '):
			new_no += 1
	return res


def parse_lcov_info(text):
	"""{source path (SF:): {line: hit count}} from an lcov .info file."""
	res = {}
	cur = None
	for line in text.splitlines():
		if line.startswith('SF:'):
			cur = res.setdefault(line[3:].strip(), {})
		elif line.startswith('DA:') and cur is not None:
			f = line[3:].split(',')
			ln, cnt = int(f[0]), int(f[1]) if f[1].lstrip('-').isdigit() else 0
			cur[ln] = max(cur.get(ln, 0), cnt)
		elif line.startswith('end_of_record'):
			cur = None
	return res


def series_coverage(git, base, tip, info_text, files):
	"""Per file: (covered, instrumented, uncovered lines) of the lines the
	series adds or changes (git diff -U0 base tip), intersected with the
	instrumented lines (DA: records) of the .info; None when the .info has
	no record for the file."""
	diff = git('diff', '-U0', '--no-color', '--no-ext-diff', '--src-prefix=a/', '--dst-prefix=b/',
		   base, tip, '--', *files).stdout
	added = added_lines(diff)
	info = parse_lcov_info(info_text)
	report = {}
	for f in files:
		da = None
		for sf, lines in info.items():
			if sf == f or sf.endswith('/' + f):
				da = lines
				break
		if da is None:
			report[f] = None
			continue
		instr = sorted(l for l in added.get(f, ()) if l in da)
		unc = [l for l in instr if da[l] == 0]
		report[f] = (len(instr) - len(unc), len(instr), unc)
	return report


def line_ranges(lines):
	"""[3, 4, 5, 9] -> '3-5, 9'."""
	parts = []
	for l in lines:
		if parts and parts[-1][1] == l - 1:
			parts[-1][1] = l
		else:
			parts.append([l, l])
	return ', '.join(str(a) if a == b else f'{a}-{b}' for a, b in parts)


def print_coverage(report, enforced):
	"""Print the per-file figures; True when every enforced file is at 100%."""
	ok = True
	say('coverage of the lines the series adds or changes (covered/instrumented):')
	for f, r in report.items():
		must = f in enforced
		tag = 'required 100%' if must else 'reported only'
		if r is None:
			out(f'  {f}: no coverage data ({tag})')
			ok = ok and not must
			continue
		cov, ins, unc = r
		pct = 100.0 * cov / ins if ins else 100.0
		out(f'  {f}: {cov}/{ins} ({pct:.1f}%, {tag})' +
		    (f'; uncovered lines: {line_ranges(unc)}' if unc else ''))
		if must and unc:
			ok = False
	say('coverage check: ' + ('PASS' if ok else 'FAIL') + ' (' + ', '.join(enforced) + ' at 100%)')
	return ok


def summary_line(passed, failed, skipped=0):
	s = f'{passed} passed, {failed} failed'
	if skipped:
		s += f', {skipped} skipped'
	return s


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


# --------------------------------------------------------------------------
# self-tests and test-all

def run_selftests(verbosity=1):
	"""Run the unittest self-tests; return (passed, failed, skipped)."""
	import unittest
	here = Path(__file__).resolve().parent
	suite = unittest.defaultTestLoader.discover(str(here / 'tests'), top_level_dir=str(here / 'tests'))
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


HERE = Path(__file__).resolve().parent
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
SUMMARY_RE = re.compile(r'^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$')


def parse_summary(lines, rc):
	"""Counts of the last `N passed, N failed[, N skipped]` line of @lines.

	No such line counts as one failure; so does a non-zero exit code
	with no failure counted.
	"""
	for line in reversed(lines):
		m = SUMMARY_RE.match(line.strip())
		if m:
			p, f, sk = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
			if rc != 0 and f == 0:
				say(f'exit code {rc} with no failure counted; counting one failure')
				f = 1
			return p, f, sk
	say(f'no "N passed, N failed" line (exit code {rc}); counting one failure')
	return 0, 1, 0


def stream_cmd(cmd, env=None, cwd=None):
	"""Run @cmd, echoing its output; return (exit code, output lines)."""
	try:
		p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
				     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
				     errors='backslashreplace')
	except OSError as e:
		raise RunnerError(EXIT_ENV, f'cannot run {cmd[0]}: {e}')
	lines = []
	for line in p.stdout:
		out(line)
		lines.append(line.rstrip('\n'))
	return p.wait(), lines


def kunit_json_counts(js, raw_log=None):
	"""(passed, failed, skipped) of a kunit.py --json file (+ splat lines of @raw_log)."""
	try:
		misc = json.loads(Path(js).read_text())['misc']
		c = [misc['passed'], misc['failed'] + misc['crashed'] + misc.get('errors', 0), misc['skipped']]
	except (OSError, ValueError, KeyError, TypeError):
		say(f'no readable test results in {js}; counting one failure')
		return 0, 1, 0
	if sum(c) == 0:
		say('no test ran; counting one failure')
		c[1] = 1
	if raw_log and Path(raw_log).exists():
		with open(raw_log, errors='backslashreplace') as f:
			splats = [l.rstrip('\n') for l in f if SPLAT_RE.search(l)]
		for l in splats:
			say(f'kernel splat: {l.strip()}')
		c[1] += len(splats)
	return tuple(c)


def kunit_json_cases(js):
	"""(passed, failed, skipped) KUnit cases of a kunit.py --json file, or None."""
	try:
		misc = json.loads(Path(js).read_text())['misc']
		return (misc['passed'], misc['failed'] + misc['crashed'] + misc.get('errors', 0),
			misc['skipped'])
	except (OSError, ValueError, KeyError, TypeError):
		return None


def kunit_json_suite_counts(js):
	"""{suite: (passed, failed, skipped)} of a kunit.py --json file ({} if unreadable)."""
	try:
		groups = json.loads(Path(js).read_text()).get('sub_groups', [])
		res = {}
		for g in groups:
			m = g['misc']
			res[g['name']] = (m['passed'], m['failed'] + m['crashed'] + m.get('errors', 0),
					  m['skipped'])
		return res
	except (OSError, ValueError, KeyError, TypeError, AttributeError):
		return {}


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


# Exit codes of an infrastructure failure: the machine, not the code tested.
INFRA_CODES = (EXIT_ENV, EXIT_CHECKSUM)


def disk_error(e):
	"""RunnerError(EXIT_ENV) for an OSError of a full disk, else None."""
	if isinstance(e, OSError) and e.errno in DISK_ERRNOS:
		return RunnerError(EXIT_ENV, f'no space left on the device: {e.filename or ""} '
				   f'({e.strerror})')
	return None


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

	def start_prepare(self):
		"""Prepare the work tree in a thread while the self-tests run.

		Both keep about one core busy (a cold prepare unpacks and commits
		the base: about a minute), so side by side they take the time of
		the longer one. Stage 2 waits for it (join_prepare()). Not started
		when a tool is missing: stage 2 then installs or reports it.
		"""
		self.bg, self.bg_lines, self.bg_error = None, [], None
		r = Runner(self.args, env=self.env, is_root=self.is_root)
		tools = BUILD_TOOLS if r.kernel else BUILD_TOOLS + FETCH_TOOLS
		if any(not r.which(t) for t in tools):
			return
		self.bg = threading.Thread(target=self._prepare, args=(r,), name='prepare', daemon=True)
		self.bg.start()

	def _prepare(self, r):
		_held.lines = self.bg_lines
		try:
			r.prepare()
		except BaseException as e:  # raised again by join_prepare()
			self.bg_error = e

	def join_prepare(self):
		"""Wait for start_prepare()'s thread, print its lines, raise its error."""
		bg, self.bg = getattr(self, 'bg', None), None
		if bg is None:
			return
		bg.join()
		for line in self.bg_lines:
			out(line)
		if self.bg_error is not None:
			raise self.bg_error

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
		rc, _ = stream_cmd([sys.executable, str(Path(__file__).resolve()), 'selftest',
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
	ta.join_prepare()
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


def counts_dict(c):
	return {'passed': c[0], 'failed': c[1], 'skipped': c[2]}


def add_counts(*cs):
	return tuple(sum(c[k] for c in cs) for k in range(3))


def write_json_report(path, report):
	tmp = Path(str(path) + '.tmp')
	tmp.write_text(json.dumps(report, indent=1) + '\n')
	os.replace(tmp, path)


def log_tail(path, n=30):
	try:
		with open(path, errors='backslashreplace') as f:
			return ''.join(f.readlines()[-n:])
	except (OSError, TypeError):
		return ''


def junit_report(records, duration):
	"""The merged JUnit XML tree: one <testsuite> per stage.

	A KUnit stage holds kunit.py's own --junit trees as they are (under a
	<testsuite> named after the run when the stage has several runs) and
	one testcase for its other checks, if any; any other stage is one
	testcase, with <failure>, <error> (infrastructure) or <skipped>.
	"""
	total = add_counts(*(r.counts for r in records))
	root = ET.Element('testsuites', {'name': 'test-all', 'tests': str(sum(total)),
					 'failures': str(total[1]), 'skipped': str(total[2]),
					 'time': f'{duration:.3f}'})
	for r in records:
		p, f, sk = r.counts
		err = min(r.infra, f)
		ts = ET.SubElement(root, 'testsuite', {
			'name': f'{r.index} {r.name}', 'tests': str(p + f + sk), 'failures': str(f - err),
			'errors': str(err), 'skipped': str(sk), 'time': f'{r.duration:.3f}'})
		merged = 0
		for path, label in r.junit:
			try:
				el = ET.parse(path).getroot()
			except (OSError, ET.ParseError) as e:
				say(f'cannot merge {path} into the JUnit report: {e}')
				continue
			(ET.SubElement(ts, 'testsuite', {'name': label}) if label else ts).append(el)
			merged += 1
		c = r.checks if merged else r.counts
		if merged and not any(c):
			continue
		tc = ET.SubElement(ts, 'testcase', {'classname': 'test-all', 'time': f'{r.duration:.3f}',
						    'name': r.name + (' (checks)' if merged else '')})
		msg = summary_line(*c)
		text = ''.join(f'exit code {code}: {m}\n' for code, m in r.errors)
		if r.log:
			text += f'log: {r.log}\n' + log_tail(r.log)
		if r.status == 'error':
			ET.SubElement(tc, 'error', {'message': msg, 'type': 'infrastructure'}).text = text
		elif c[1]:
			ET.SubElement(tc, 'failure', {'message': msg}).text = text
		elif c[2] and not c[0]:
			ET.SubElement(tc, 'skipped', {'message': msg})
		if r.log:
			ET.SubElement(tc, 'system-out').text = f'log: {r.log}'
	ET.indent(root)
	return ET.ElementTree(root)


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
	ta.start_prepare()
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

# Entries of the cache that the runner and its scripts rebuild: the
# unpacked base of earlier runner versions (base/; the base is now
# unpacked straight into a new work tree) and private apt lists, build and output dirs, the work trees (each
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
	global _say_stream
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
			_say_stream = sys.stderr
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
		_say_stream = None


if __name__ == '__main__':
	try:
		sys.exit(main())
	except SystemExit:
		raise
	except BaseException:  # noqa: any runner bug gets its own exit code
		import traceback
		traceback.print_exc()
		say('internal error')
		sys.exit(EXIT_INTERNAL)

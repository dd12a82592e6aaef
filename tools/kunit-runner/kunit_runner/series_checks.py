#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Upstream-readiness checks for the noirq patch series.

See tools/kunit-runner/SERIES_CHECKS.md.  Prints one line per check,
"ok NAME" or "FAIL NAME: reason", and a last line "N passed, N failed".
Exit codes: 0 all passed, 1 a check failed, 2 bad usage, 3 missing
environment.  The runner's work tree (--kernel) is only read: builds,
checkouts and "git am" happen in a scratch worktree of its repo in the
cache.
"""

import argparse
import collections
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from kunit_runner import buildlock, hostenv
from kunit_runner.cache import TOOL_DIR, CacheLayout, cache_root
from kunit_runner.kbuild import kunit_py
from kunit_runner.results import SPLAT_RE
from kunit_runner.worktree import PLACED_SUBJECT

VERSION = '1'
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 3
HERE = str(TOOL_DIR)
REPO = os.path.dirname(os.path.dirname(HERE))
LOCK = buildlock.build_lock_path()
TESTS_DIR = 'drivers/virtio/tests'
# Left out of the posting: the UML gcov helper (a workaround for this
# project's coverage runs), the QEMU end-to-end driver (this repo's tool)
# and the SCMI over virtio spike (its suite, overlays, kunitconfig and
# notes; not posted yet).
# Their Kconfig and Makefile entries go with them: the posting keeps only
# the entries of the symbols its test patches add (filter_kconfig() ...).
MBOX_EXCLUDE = {TESTS_DIR + '/' + f for f in (
	'gcov_uml.c', 'virtio_noirq_e2e.c', 'virtio_scmi_kunit.c',
	'virtio_scmi_kunit_overlay.dtso', 'virtio_scmi_kunit_polled.dtso',
	'virtio_scmi.kunitconfig', 'SCMI_SPIKE.md')}
# How the posting splits the tests into patches (see that file).
TEST_PATCHES = os.path.join(REPO, 'patches', 'test-patches.txt')
# In every test patch, with the entries of the symbols posted so far.
SHARED_TEST_FILES = ('Kconfig', 'Makefile', '.kunitconfig')
# The neutral identity of the stored patches; a posting replaces it with
# the poster's own.
NEUTRAL_IDENT = 'Dev <dev@example.org>'
PLACEHOLDER_RE = re.compile(r'@(\S+\.)?(example(\.(org|com|net))?|invalid|localhost|test)>?$|'
			    r'\.example>?$', re.I)
ENV = dict(os.environ, PYTHONDONTWRITEBYTECODE='1', LC_ALL='C')
for _v in ('ARCH', 'CROSS_COMPILE', 'KBUILD_OUTPUT', 'O', 'W', 'C'):
	ENV.pop(_v, None)

# Build configurations of check 3: Kconfig fragments in configs/ beside
# this file.  Options a prefix does not know yet (the test options before
# the hook patch) are dropped by Kconfig.  VDPA depends on NET, which
# allnoconfig leaves off.
CONFIGS_DIR = os.path.join(HERE, 'configs')


def config_fragment(*names):
	"""The concatenated text of the fragments @names of configs/."""
	text = ''
	for n in names:
		with open(os.path.join(CONFIGS_DIR, n)) as f:
			text += f.read()
	return text


CONFIGS = {
	# UML: the repo's .kunitconfig (read from the tip), see uml_fragment().
	'uml': dict(arch='um', base='defconfig', image='linux'),
	'x86_64-pm': dict(arch='x86_64', base='allnoconfig', image='vmlinux',
			  frag=config_fragment('x86_64-common.config',
					       'x86_64-pm.config')),
	'x86_64-nosleep': dict(arch='x86_64', base='allnoconfig',
			       image='vmlinux',
			       frag=config_fragment('x86_64-common.config',
						    'x86_64-nosleep.config')),
}
# check 5: kunit.py --kconfig_add options on top of the .kunitconfig.
DEBUG_FRAGMENT = 'kunit-debug.config'
# Must be y in the .config of each configuration, at every prefix.
MUST = {
	'uml': ['CONFIG_VIRTIO_MMIO', 'CONFIG_VIRTIO_UML', 'CONFIG_PM_SLEEP',
		'CONFIG_KUNIT'],
	'x86_64-pm': ['CONFIG_VIRTIO_PCI', 'CONFIG_VIRTIO_MMIO',
		      'CONFIG_VIRTIO_VDPA', 'CONFIG_PM_SLEEP'],
	'x86_64-nosleep': ['CONFIG_VIRTIO_PCI', 'CONFIG_VIRTIO_MMIO',
			   'CONFIG_VIRTIO_VDPA'],
}
MUST_NOT = {'x86_64-nosleep': ['CONFIG_PM_SLEEP']}


def say(msg):
	print('series-checks: ' + msg, flush=True)


class EnvError(Exception):
	pass


class UsageError(Exception):
	pass


def run(cmd, cwd=None, check=False, env=None, inp=None, log=None):
	"""Run cmd, return (rc, combined output)."""
	p = subprocess.run(cmd, cwd=cwd, env=env or ENV, input=inp,
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
			   text=True, errors='replace')
	if log:
		with open(log, 'a') as f:
			f.write('$ %s\n%s' % (' '.join(cmd), p.stdout))
	if check and p.returncode:
		raise RuntimeError('%s failed (%d):\n%s' % (' '.join(cmd),
			p.returncode, p.stdout[-3000:]))
	return p.returncode, p.stdout


def git(tree, *args, check=True, env=None, inp=None):
	rc, out = run(['git', '-C', tree, '-c', 'user.name=series-checks',
		       '-c', 'user.email=series-checks@localhost',
		       '-c', 'advice.detachedHead=false'] + list(args),
		      check=check, env=env, inp=inp)
	return out if check else (rc, out)


class Lock(buildlock.FileLock):
	"""The machine-wide build lock (buildlock.py; blocking, one line when
	waiting)."""

	def __init__(self):
		super().__init__(LOCK, 'build', shared=True, say=say)

	def __enter__(self):
		try:
			return super().__enter__()
		except buildlock.LockError as e:
			raise EnvError(str(e)) from None


class Results:
	def __init__(self):
		self.passed = self.failed = 0
		self.findings = []

	def add(self, name, ok, reason='', details=()):
		if ok:
			self.passed += 1
			print('ok ' + name, flush=True)
		else:
			self.failed += 1
			print('FAIL %s: %s' % (name, reason), flush=True)
			for d in details:
				print('    ' + d, flush=True)


# ---------------------------------------------------------------- tree

class Series:
	"""The runner's work tree: base, one commit per patch, placed files."""

	def __init__(self, kernel):
		self.kernel = kernel
		self.base = git(kernel, 'rev-parse', 'base^{commit}').strip()
		revs = git(kernel, 'rev-list', '--reverse', 'base..HEAD').split()
		if len(revs) < 2:
			raise UsageError('%s: no patches on top of tag base' % kernel)
		subj = git(kernel, 'log', '-1', '--format=%s', revs[-1]).strip()
		if subj != PLACED_SUBJECT:
			raise UsageError('%s: last commit is not "%s"' %
					 (kernel, PLACED_SUBJECT))
		self.patches = revs[:-1]
		self.placed = revs[-1]
		self.hook = self.patches[-1]

	def prefix(self, k):
		"""Commit of the first k patches (the tip with placed files)."""
		if k == 0:
			return self.base
		if k == len(self.patches):
			return self.placed
		return self.patches[k - 1]

	def tree_id(self, rev):
		return git(self.kernel, 'rev-parse', rev + '^{tree}').strip()

	def changed_files(self):
		out = git(self.kernel, 'diff', '--name-status', self.base,
			  self.hook)
		return [l.split('\t') for l in out.splitlines()]

	def new_test_files(self):
		out = git(self.kernel, 'diff', '--name-only', '--diff-filter=A',
			  self.hook, self.placed, '--', TESTS_DIR)
		return out.split()


def scratch_worktree(series, path):
	"""One detached scratch worktree of the runner's repo, kept across runs.

	The runner may recreate its repo (series changed), which orphans the
	scratch worktree: then attach the existing checkout to a new worktree
	entry so that unchanged files keep their mtimes (incremental builds)."""
	kernel = series.kernel
	common = os.path.realpath(git(kernel, 'rev-parse', '--path-format=absolute',
				      '--git-common-dir').strip())
	if os.path.isdir(path):
		rc, out = git(path, 'rev-parse', '--path-format=absolute',
			      '--git-common-dir', check=False)
		if rc == 0 and os.path.realpath(out.strip()) == common and \
				git(path, 'cat-file', '-t', series.placed,
				    check=False)[0] == 0:
			git(path, 'am', '--abort', check=False)
			return path
		say('re-attaching scratch worktree %s' % path)
		git(kernel, 'worktree', 'prune', check=False)
		tmp = path + '.new'
		shutil.rmtree(tmp, ignore_errors=True)
		git(kernel, 'worktree', 'add', '--no-checkout', '--detach', tmp,
		    series.placed)
		dotgit = os.path.join(path, '.git')
		if os.path.isdir(dotgit):
			shutil.rmtree(dotgit)
		elif os.path.lexists(dotgit):
			os.unlink(dotgit)
		shutil.move(os.path.join(tmp, '.git'), dotgit)
		os.rmdir(tmp)
		admin = git(path, 'rev-parse', '--path-format=absolute',
			    '--git-dir').strip()
		with open(os.path.join(admin, 'gitdir'), 'w') as f:
			f.write(os.path.realpath(dotgit) + '\n')
		git(path, 'reset', '-q', '--mixed', series.placed)
		git(path, 'reset', '-q', '--hard', series.placed)
		git(path, 'clean', '-qfdx')
		return path
	say('creating scratch worktree %s (once)' % path)
	os.makedirs(os.path.dirname(path), exist_ok=True)
	git(kernel, 'worktree', 'prune', check=False)
	git(kernel, 'worktree', 'add', '--detach', path, series.placed)
	return path


def checkout(scratch, rev):
	git(scratch, 'am', '--abort', check=False)
	git(scratch, 'checkout', '-q', '-f', '--detach', rev)
	git(scratch, 'clean', '-qfdx')


# ---------------------------------------------------------------- checks 1, 2

def check_checkpatch(res, series, kernel):
	patches = []
	with open(os.path.join(REPO, 'patches', 'series')) as f:
		for line in f:
			line = line.split('#')[0].split()
			if line:
				patches.append(line[0])
	for p in patches:
		path = os.path.join(REPO, 'patches', p)
		# The base is a release tarball with no git history, so
		# checkpatch cannot look up the sha of a Fixes: tag; those were
		# checked against mainline history by hand.
		rc, out = run(['perl', 'scripts/checkpatch.pl', '--strict',
			       '--ignore', 'UNKNOWN_COMMIT_ID',
			       '--no-color', '--showfile', path], cwd=kernel)
		checkpatch_result(res, 'checkpatch ' + p, rc, out)
	for f in series.new_test_files():
		if not f.endswith(('.c', '.h')):
			continue
		rc, out = run(['perl', 'scripts/checkpatch.pl', '--strict',
			       '--no-color', '--showfile', '-f', f], cwd=kernel)
		checkpatch_result(res, 'checkpatch -f ' + f, rc, out, False)


def checkpatch_result(res, name, rc, out, strict_checks=True):
	m = re.search(r'total: (\d+) errors, (\d+) warnings, (?:(\d+) checks, )?',
		      out)
	if not m:
		res.add(name, False, 'checkpatch gave no total (rc %d)' % rc,
			out.splitlines()[-5:])
		return
	e, w, c = (int(x or 0) for x in m.groups())
	lines = [l for l in out.splitlines()
		 if re.match(r'^\S+:\d+: (ERROR|WARNING|CHECK):', l)
		 or re.match(r'^(ERROR|WARNING|CHECK):', l)]
	if strict_checks or e + w:
		res.add(name, e + w + c == 0 if strict_checks else e + w == 0,
			'%d errors, %d warnings, %d checks' % (e, w, c), lines)
	else:
		res.add(name, True)
		if c:
			print('    note: %d CHECK(s) in test code, not counted:' % c)
			for l in lines:
				print('    ' + l)


def kdoc_lines(kernel, path, content):
	"""kernel-doc warnings of one file's content, line numbers dropped."""
	with tempfile.TemporaryDirectory() as d:
		tmp = os.path.join(d, os.path.basename(path))
		with open(tmp, 'w') as f:
			f.write(content)
		rc, out = run([os.path.join(kernel, 'scripts/kernel-doc'),
			       '-none', '-Wall', tmp], cwd=kernel)
	lines = []
	for l in out.splitlines():
		l = l.replace(tmp, path)
		l = re.sub(re.escape(path) + r':\d+\b:?', path + ':', l)
		l = re.sub(r' at line \d+', '', l)
		if l.strip():
			lines.append(l)
	return rc, lines


def check_kerneldoc(res, series, kernel):
	files = [(st, f) for st, f in series.changed_files()]
	files += [('A', f) for f in series.new_test_files()]
	for st, f in files:
		if not f.endswith(('.c', '.h')):
			continue
		new = git(kernel, 'show', '%s:%s' % (series.placed, f))
		rc, after = kdoc_lines(kernel, f, new)
		before = []
		if st != 'A':
			_, before = kdoc_lines(kernel, f, git(kernel, 'show',
					      '%s:%s' % (series.base, f)))
		extra = list((collections.Counter(after) -
			      collections.Counter(before)).elements())
		name = 'kernel-doc ' + f
		if extra:
			res.add(name, False, '%d new warning(s)' % len(extra), extra)
		else:
			res.add(name, True)


# ---------------------------------------------------------------- check 3, 4

WARN_RE = re.compile(r'^(?P<file>[^\s:]+):(?P<line>\d+):(?:\d+:)? '
		     r'(?P<kind>warning|error): (?P<msg>.*)$')


def virtio_warnings(out, scratch):
	"""Warning/error lines about drivers/virtio and virtio headers."""
	found = []
	for l in out.splitlines():
		m = WARN_RE.match(l.strip())
		if not m:
			continue
		f = m.group('file')
		f = f.replace(scratch + '/', '')
		while f.startswith('../'):
			f = f[3:]
		if f.startswith(('drivers/virtio/', 'include/linux/virtio',
				 'include/uapi/linux/virtio')):
			found.append('%s: %s: %s' % (f, m.group('kind'),
						     m.group('msg')))
	return found


class Cache:
	"""Results of builds keyed by configuration + source tree."""

	def __init__(self, path, enabled):
		self.path, self.enabled = path, enabled
		try:
			with open(path) as f:
				self.data = json.load(f)
		except (OSError, ValueError):
			self.data = {}

	def get(self, key):
		return self.data.get(key) if self.enabled else None

	def put(self, key, value):
		self.data[key] = value
		tmp = self.path + '.tmp'
		with open(tmp, 'w') as f:
			json.dump(self.data, f, indent=1, sort_keys=True)
		os.replace(tmp, self.path)


def key_of(*parts):
	return hashlib.sha256('\0'.join((VERSION,) + parts).encode()
			      ).hexdigest()[:32]


class Builder:
	def __init__(self, name, scratch, build_dir, frag, jobs, logdir):
		self.name, self.scratch, self.build = name, scratch, build_dir
		self.conf = CONFIGS[name]
		self.frag = frag
		self.jobs = jobs
		self.log = os.path.join(logdir, 'build-%s.log' % name)
		os.makedirs(build_dir, exist_ok=True)

	def make(self, *args):
		cmd = ['make', '-C', self.scratch, 'O=' + self.build,
		       'ARCH=' + self.conf['arch'], '-j%d' % self.jobs] + list(args)
		return run(cmd, log=self.log)

	def configure(self):
		"""(Re)write .config from the fragment for the checked-out tree."""
		fpath = os.path.join(self.build, 'fragment.config')
		with open(fpath, 'w') as f:
			f.write(self.frag)
		rc, out = self.make('KCONFIG_ALLCONFIG=' + fpath, self.conf['base']
				    if self.conf['base'] == 'allnoconfig' else
				    'olddefconfig')
		if rc:
			return 'config failed: ' + out.strip().splitlines()[-1]
		with open(os.path.join(self.build, '.config')) as f:
			cfg = f.read()
		for sym in MUST.get(self.name, []):
			if '\n%s=y' % sym not in '\n' + cfg:
				return '%s is not set in .config' % sym
		for sym in MUST_NOT.get(self.name, []):
			if '\n%s=y' % sym in '\n' + cfg:
				return '%s is set in .config' % sym
		return None

	def build_step(self, targets, sparse=False):
		"""Build targets with W=1; return (error or None, warnings)."""
		if self.conf['base'] != 'allnoconfig':
			# UML: .config = fragment, then olddefconfig
			with open(os.path.join(self.build, '.config'), 'w') as f:
				f.write(self.frag)
		err = self.configure()
		if err:
			return err, []
		# Recompile drivers/virtio so that all its warnings are seen.
		vdir = os.path.join(self.build, 'drivers', 'virtio')
		for root, _, files in os.walk(vdir):
			for f in files:
				if f.endswith('.o'):
					os.unlink(os.path.join(root, f))
		rc, out = self.make('W=1', *targets)
		warns = virtio_warnings(out, self.scratch)
		if rc:
			errs = [l for l in out.splitlines()
				if ' error' in l or 'Error ' in l
				or 'undefined reference' in l][:15]
			return 'make %s failed' % ' '.join(targets), errs
		if sparse:
			rc, sout = self.make('C=2', 'CHECK=sparse', 'drivers/virtio/')
			if rc:
				return 'make C=2 drivers/virtio/ failed', \
					sout.splitlines()[-10:]
			return None, warns, virtio_warnings(sout, self.scratch)
		return None, warns


def new_items(after, before):
	return list((collections.Counter(after) -
		     collections.Counter(before)).elements())


def check_builds(res, series, scratch, cachedir, cache, args, mbox_tree):
	n = len(series.patches)
	uml_frag = git(series.kernel, 'show', series.placed + ':.kunitconfig')
	names = ['uml', 'x86_64-pm', 'x86_64-nosleep']
	for name in names:
		frag = uml_frag if name == 'uml' else CONFIGS[name]['frag']
		b = Builder(name, scratch, os.path.join(cachedir, 'build-' + name),
			    frag, args.jobs, cachedir)
		image = CONFIGS[name]['image']
		sparse = name == 'x86_64-pm'
		base_warn = base_sparse = None
		steps = list(range(0, n + 1))
		for k in steps:
			rev = series.prefix(k)
			link = args.link == 'all' or k == n
			targets = ['drivers/virtio/'] + ([image] if link else [])
			do_sparse = sparse and k in (0, n)
			key = key_of('build', name, frag, series.tree_id(rev),
				     ' '.join(targets), str(do_sparse))
			r = cache.get(key)
			if r is None:
				checkout(scratch, rev)
				with Lock():
					t0 = time.time()
					out = b.build_step(targets, do_sparse)
				r = dict(error=out[0], warnings=out[1],
					 sparse=out[2] if len(out) > 2 else [])
				if not r['error']:
					cache.put(key, r)
				say('%s prefix %d/%d built in %ds' %
				    (name, k, n, time.time() - t0))
			label = 'build %s base' % name if k == 0 else \
				'build %s W=1 patches 1..%d%s' % (
					name, k, ' + tests' if k == n else '')
			if k == 0:
				base_warn = r['warnings']
				base_sparse = r['sparse']
				if r['error']:
					res.add(label, False, r['error'], r['warnings'])
					break
				continue
			if r['error']:
				res.add(label, False, r['error'], r['warnings'])
				continue
			extra = new_items(r['warnings'], base_warn)
			res.add(label, not extra, '%d new warning(s) in '
				'drivers/virtio vs base' % len(extra), extra)
			if do_sparse and k == n:
				extra = new_items(r['sparse'], base_sparse)
				res.add('sparse C=2 drivers/virtio (x86_64, tip vs base)',
					not extra, '%d new sparse warning(s)' %
					len(extra), extra)
		if name == 'uml' and mbox_tree:
			key = key_of('mbox-build', uml_frag, mbox_tree['tree'])
			r = cache.get(key)
			if r is None:
				checkout(scratch, mbox_tree['commit'])
				with Lock():
					out = b.build_step(['drivers/virtio/'])
				r = dict(error=out[0], warnings=out[1])
				if not r['error']:
					cache.put(key, r)
			res.add('mbox: base + git am builds drivers/virtio/ (uml, '
				'KUnit config)', not r['error'], r['error'] or '',
				r['warnings'])


# ---------------------------------------------------------------- check 5, 6

def kunit_run(res, name, scratch, build_dir, extra, timeout, logname=None):
	"""kunit.py run in the scratch tree, /dev/kvm hidden (it hangs here);
	its output goes to kunit-@logname.log (default: @name)."""
	os.makedirs(build_dir, exist_ok=True)
	cmd = kunit_py(scratch) + ['run',
	       '--build_dir=' + build_dir, '--timeout=%d' % timeout,
	       '--jobs=%d' % os.cpu_count()] + extra
	if os.path.exists('/dev/kvm') and os.geteuid() == 0 and \
			shutil.which('unshare'):
		cmd = ['unshare', '--mount', 'sh', '-c',
		       'mount --bind /dev/null /dev/kvm && exec "$@"', 'sh'] + cmd
	with Lock():
		t0 = time.time()
		rc, out = run(cmd, cwd=scratch,
			      log=os.path.join(os.path.dirname(build_dir),
					       'kunit-%s.log' % (logname or name)))
	m = None
	for m in re.finditer(r'Testing complete\. Ran (\d+) tests: (.*)', out):
		pass
	summary = m.group(0) if m else 'no test summary'
	splats = []
	try:
		with open(os.path.join(build_dir, 'test.log'),
			  errors='replace') as f:
			splats = [l.rstrip() for l in f
				  if SPLAT_RE.search(l)]
	except OSError:
		pass
	say('%s: kunit.py exited %d after %ds; %s' %
	    (name, rc, time.time() - t0, summary))
	ok = rc == 0 and m is not None and 'failed' not in m.group(2) \
		and not splats
	reason = 'kunit.py exit %d; %s; %d splat line(s)' % (rc, summary,
							    len(splats))
	details = splats[:20]
	if rc and not m:
		details += out.strip().splitlines()[-15:]
	res.add(name, ok, reason, details)


def check_debug(res, series, scratch, cachedir, args):
	checkout(scratch, series.placed)
	kunit_run(res, 'kunit debug (uml: PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, '
		  'DEBUG_LIST, KASAN, UBSAN)', scratch,
		  os.path.join(cachedir, 'build-kunit-debug'),
		  ['--kunitconfig=' + os.path.join(scratch, '.kunitconfig')] +
		  ['--kconfig_add=' + l for l in
		   config_fragment(DEBUG_FRAGMENT).splitlines() if l.strip()],
		  600)


def check_arm64(res, series, scratch, cachedir, args):
	checkout(scratch, series.placed)
	kunit_run(res, 'kunit arm64 (qemu-system-aarch64)', scratch,
		  os.path.join(cachedir, 'build-kunit-arm64'),
		  ['--arch=arm64', '--cross_compile=aarch64-linux-gnu-',
		   '--kunitconfig=' + os.path.join(
			   HERE, 'e2e', 'x86_64.kunitconfig')], 900)


# ---------------------------------------------------------------- check 7

def cover_letter():
	path = os.path.join(REPO, 'patches', 'cover-letter.txt')
	with open(path) as f:
		text = f.read()
	first, _, body = text.partition('\n')
	subject = re.sub(r'^\s*(Subject:\s*)?\[PATCH[^]]*\]\s*', '', first)
	return subject.strip(), body.strip('\n') + '\n'


def parse_test_patches(text):
	"""The entries of patches/test-patches.txt: a list of dicts with keys
	after, files, config (lists for the last two), subject and body."""
	groups = []
	for chunk in re.split(r'^%%[ \t]*\n', text, flags=re.M):
		lines = chunk.split('\n')
		while lines and (lines[0].startswith('#') or not lines[0].strip()):
			lines.pop(0)
		if not lines:
			continue
		g = {}
		while lines and lines[0].strip():
			key, sep, val = lines.pop(0).partition(':')
			if not sep or key not in ('After', 'Files', 'Config',
						  'Subject'):
				raise RuntimeError('test-patches.txt: bad header '
						   'line "%s:%s"' % (key, val))
			g[key.lower()] = val.strip()
		body = '\n'.join(lines).strip('\n')
		if len(g) != 4 or not body:
			raise RuntimeError('test-patches.txt: an entry needs After, '
					   'Files, Config, Subject and a body')
		g['files'] = g['files'].split()
		g['config'] = g['config'].split()
		g['body'] = body + '\n'
		groups.append(g)
	return groups


def kconfig_symbols(text):
	return re.findall(r'^config\s+(\w+)', text, re.M)


def filter_kconfig(text, keep):
	"""@text with only the config entries of the symbols in @keep."""
	parts = re.split(r'^(?=config\s)', text, flags=re.M)
	kept = [parts[0]] + [p for p in parts[1:] if p.split()[1] in keep]
	return ''.join(kept).rstrip('\n') + '\n'


def filter_makefile(text, keep):
	"""@text with only the paragraphs whose CONFIG_ symbols are all in
	@keep (comment-only paragraphs stay)."""
	paras = text.rstrip('\n').split('\n\n')
	kept = [p for p in paras
		if all(s in keep for s in re.findall(r'CONFIG_(\w+)', p))]
	return '\n\n'.join(kept) + '\n'


def filter_kunitconfig(text, keep, tests):
	"""@text without the options of the symbols in @tests not in @keep."""
	out = []
	for line in text.splitlines(True):
		m = re.match(r'CONFIG_(\w+)=', line)
		if m and m.group(1) in tests and m.group(1) not in keep:
			continue
		out.append(line)
	return ''.join(out)


FILTERS = {'Kconfig': lambda t, keep, tests: filter_kconfig(t, keep),
	   'Makefile': lambda t, keep, tests: filter_makefile(t, keep),
	   '.kunitconfig': filter_kunitconfig}


class Posting:
	"""The posting's commits: the stored patches less the hook patch, and
	after the patches that patches/test-patches.txt names, one patch per
	group of tests. Built with a temporary index; the work tree is only
	read."""

	def __init__(self, series, path=TEST_PATCHES):
		self.series = series
		kernel = series.kernel
		with open(path) as f:
			self.groups = parse_test_patches(f.read())
		self.subjects = [git(kernel, 'log', '-1', '--format=%s', p).strip()
				 for p in series.patches[:-1]]
		self.blobs = {}
		for l in git(kernel, 'ls-tree', '-r', '--full-tree', series.placed,
			     '--', TESTS_DIR + '/').splitlines():
			meta, path = l.split('\t', 1)
			if path not in MBOX_EXCLUDE:
				self.blobs[path[len(TESTS_DIR) + 1:]] = meta.split()
		text = self.text('Kconfig')
		self.tests = set(kconfig_symbols(text))
		self.check()

	def text(self, name):
		return git(self.series.kernel, 'cat-file', 'blob',
			   self.blobs[name][2])

	def check(self):
		"""Every placed test file and symbol is posted once, after a
		stored patch."""
		probs = []
		files = [f for g in self.groups for f in g['files']]
		own = set(self.blobs) - set(SHARED_TEST_FILES)
		for f in sorted(set(files) ^ own):
			probs.append('%s is %s' % (f, 'in no group' if f in own
						   else 'not a placed test file'))
		for f in sorted({f for f in files if files.count(f) > 1}):
			probs.append('%s is in two groups' % f)
		for f in SHARED_TEST_FILES:
			if f not in self.blobs:
				probs.append('%s/%s is missing' % (TESTS_DIR, f))
		for g in self.groups:
			if g['after'] not in self.subjects:
				probs.append('After: "%s" is no patch of the series' %
					     g['after'])
			probs += ['Config: %s is not in %s/Kconfig' % (s, TESTS_DIR)
				  for s in g['config'] if s not in self.tests]
		if probs:
			raise RuntimeError('patches/test-patches.txt: ' +
					   '; '.join(probs))

	def add(self, env, name, text=None):
		mode, _, blob = self.blobs[name]
		if text is not None:
			blob = git(self.series.kernel, 'hash-object', '-w', '--stdin',
				   inp=text).strip()
		git(self.series.kernel, 'update-index', '--add', '--cacheinfo',
		    '%s,%s,%s/%s' % (mode, blob, TESTS_DIR, name), env=env)

	def apply(self, env, a, b):
		diff = git(self.series.kernel, 'diff', '--full-index', '--binary',
			   a, b)
		git(self.series.kernel, 'apply', '--cached', '-', env=env,
		    inp=diff)

	def commit(self, env, parent, author, msg):
		kernel = self.series.kernel
		tree = git(kernel, 'write-tree', env=env).strip()
		an, ae, ad = author
		cenv = dict(ENV, GIT_AUTHOR_NAME=an, GIT_AUTHOR_EMAIL=ae,
			    GIT_AUTHOR_DATE=ad, GIT_COMMITTER_NAME=an,
			    GIT_COMMITTER_EMAIL=ae, GIT_COMMITTER_DATE=ad)
		return git(kernel, 'commit-tree', tree, '-p', parent, env=cenv,
			   inp=msg).strip(), tree

	def build(self):
		"""(tip commit, tree) of the posting."""
		series, kernel = self.series, self.series.kernel
		hook = series.hook
		name, mail = NEUTRAL_IDENT[:-1].split(' <')
		posted = set()
		with tempfile.TemporaryDirectory() as d:
			env = dict(ENV, GIT_INDEX_FILE=os.path.join(d, 'index'))
			git(kernel, 'read-tree', series.base, env=env)
			parent = series.base
			for p, subject in zip(series.patches[:-1], self.subjects):
				self.apply(env, p + '^', p)
				fmt = git(kernel, 'log', '-1', '--date=raw',
					  '--format=%an%x00%ae%x00%ad%x00%B', p)
				an, ae, ad, msg = fmt.split('\0', 3)
				parent, tree = self.commit(env, parent, (an, ae, ad), msg)
				for g in self.groups:
					if g['after'] != subject:
						continue
					if not posted:
						self.apply(env, hook + '^', hook)
					posted |= set(g['config'])
					for f in g['files']:
						self.add(env, f)
					for f in SHARED_TEST_FILES:
						self.add(env, f, FILTERS[f](
							self.text(f), posted, self.tests))
					date = git(kernel, 'log', '-1', '--date=raw',
						   '--format=%ad', hook).strip()
					msg = '%s\n\n%s\nSigned-off-by: %s\n' % (
						g['subject'], g['body'], NEUTRAL_IDENT)
					parent, tree = self.commit(env, parent,
								   (name, mail, date), msg)
		return parent, tree

	def squashed_tree(self):
		"""The tree of the whole posting at once: the tip of the stored
		series with the placed tests, less MBOX_EXCLUDE and the entries
		of symbols no group posts. build() must end in the same tree."""
		series, kernel = self.series, self.series.kernel
		posted = {s for g in self.groups for s in g['config']}
		with tempfile.TemporaryDirectory() as d:
			env = dict(ENV, GIT_INDEX_FILE=os.path.join(d, 'index'))
			git(kernel, 'read-tree', series.hook, env=env)
			for f in self.blobs:
				self.add(env, f, FILTERS[f](self.text(f), posted,
							     self.tests)
					 if f in FILTERS else None)
			return git(kernel, 'write-tree', env=env).strip()


def poster_identity(given=None):
	"""'Name <email>' of the poster: @given or git config user.name/email.

	Raises UsageError if there is none or it is a placeholder."""
	ident = given
	if not ident:
		rc, name = run(['git', '-C', REPO, 'config', 'user.name'])
		rc2, mail = run(['git', '-C', REPO, 'config', 'user.email'])
		if rc or rc2 or not name.strip() or not mail.strip():
			raise UsageError('no git identity (git config user.name and '
					 'user.email): a posting is signed by its poster')
		ident = '%s <%s>' % (name.strip(), mail.strip())
	if not re.fullmatch(r'[^<>@]+ <[^<>\s@]+@[^<>\s@]+>', ident) or \
	   PLACEHOLDER_RE.search(ident) or ident == NEUTRAL_IDENT:
		raise UsageError('%s is not an identity anyone can post with (a '
				 'placeholder); set git config user.name and '
				 'user.email to your own' % ident)
	return ident


def recipients(kernel, mbox_path):
	"""(to, cc) from scripts/get_maintainer.pl: the maintainers of what
	the series touches, and the lists and reviewers of it and of the PM
	core (linux-pm)."""
	gm = ['perl', 'scripts/get_maintainer.pl', '--no-git',
	      '--no-git-fallback', '--no-rolestats', '--no-tree']
	_, to = run(gm + ['--m', '--no-r', '--no-l', mbox_path], cwd=kernel)
	_, cc = run(gm + ['--no-m', '--r', '--l', mbox_path], cwd=kernel)
	_, pm = run(gm + ['--no-m', '--no-r', '--l', '-f',
			  'drivers/base/power/main.c'], cwd=kernel)
	lines = lambda t: [l.strip() for l in t.splitlines()
			   if '@' in l and not l.startswith(('WARNING', 'Use '))]
	to = lines(to)
	cc = [a for a in dict.fromkeys(lines(cc) + lines(pm)) if a not in to]
	return to, cc


def make_mbox(series, scratch, out, ident=NEUTRAL_IDENT, to=(), cc=()):
	"""Write the posting to @out, signed by @ident, addressed to @to/@cc.

	Returns (tip commit, tree, number of patches)."""
	posting = Posting(series)
	commit, tree = posting.build()
	if tree != posting.squashed_tree():
		raise RuntimeError('the test patches do not add up to the placed '
				   'tests (tree %s != %s)' % (tree,
							    posting.squashed_tree()))
	count = int(git(series.kernel, 'rev-list', '--count', '%s..%s' % (
		series.base, commit)).strip())
	subject, body = cover_letter()
	name, mail = ident[:-1].split(' <')
	fenv = dict(ENV, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=mail,
		    GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=mail)
	addr = ['--to=' + a for a in to] + ['--cc=' + a for a in cc]
	mbox = git(series.kernel, '-c', 'diff.noprefix=false',
		   '-c', 'diff.mnemonicPrefix=false', '-c', 'diff.renames=true',
		   'format-patch', '--stdout', '--cover-letter', '--numbered',
		   '--zero-commit', '--no-signature', '--abbrev=12',
		   '--no-binary', *addr, '%s..%s' % (series.base, commit),
		   env=fenv)
	if ident != NEUTRAL_IDENT:
		mbox = mbox.replace('From: ' + NEUTRAL_IDENT, 'From: ' + ident)
		mbox = mbox.replace('Signed-off-by: ' + NEUTRAL_IDENT,
				    'Signed-off-by: ' + ident)
	if '*** SUBJECT HERE ***' not in mbox or '*** BLURB HERE ***' not in mbox:
		raise RuntimeError('format-patch gave no cover letter template')
	mbox = mbox.replace('*** SUBJECT HERE ***', subject, 1)
	mbox = mbox.replace('*** BLURB HERE ***', body.rstrip('\n'), 1)
	with open(out, 'w') as f:
		f.write(mbox)
	return commit, tree, count


def checkpatch_posting(res, series, path):
	"""checkpatch --strict on each patch of the posting as sent.

	A new file always asks whether MAINTAINERS needs updating; the tests'
	directory is under VIRTIO CORE's "F: drivers/virtio/", so that one is
	ignored. The CHECKs of a test patch are printed, not counted, as for
	"checkpatch -f" of the placed files."""
	with tempfile.TemporaryDirectory() as d:
		git(series.kernel, 'mailsplit', '-o' + d, path)
		for i, name in enumerate(sorted(os.listdir(d))[1:], 1):
			p = os.path.join(d, name)
			with open(p, errors='replace') as f:
				tests = ('+++ b/%s/' % TESTS_DIR) in f.read()
			rc, out = run(['perl', 'scripts/checkpatch.pl', '--strict',
				       '--ignore', 'UNKNOWN_COMMIT_ID,FILE_PATH_CHANGES',
				       '--no-color', '--showfile', p], cwd=series.kernel)
			checkpatch_result(res, 'mbox: checkpatch --strict of patch '
					  '%d' % i, rc, out, not tests)


def check_mbox(res, series, scratch, cachedir, out_path, ident=None):
	"""Write the posting and check it; @ident: the poster, None for a
	check with the stored patches' neutral identity and no recipients."""
	path = out_path or os.path.join(cachedir, 'series.mbox')
	try:
		subject, body = cover_letter()
		commit, tree, n = make_mbox(series, scratch, path)
		if ident:
			to, cc = recipients(series.kernel, path)
			say('posting from %s, to: %s; cc: %s' % (
				ident, ', '.join(to) or '-', ', '.join(cc) or '-'))
			commit, tree, n = make_mbox(series, scratch, path, ident,
						    to, cc)
	except (OSError, RuntimeError) as e:
		res.add('mbox: write with cover letter', False, str(e))
		return None
	with open(path) as f:
		text = f.read()
	msgs = text.count('\nFrom 0000000000000000000000000000000000000000 ') \
		+ text.startswith('From 0000000000000000000000000000000000000000 ')
	want = '[PATCH %0*d/%d] %s' % (len(str(n)), 0, n, subject)
	probs = []
	if msgs != n + 1:
		probs.append('%d messages, want %d' % (msgs, n + 1))
	if want not in text:
		probs.append('no subject "%s"' % want)
	if len(body.split()) < 50:
		probs.append('cover letter body is too short')
	for f in series.new_test_files():
		if f not in MBOX_EXCLUDE and ('+++ b/%s\n' % f) not in text:
			probs.append('%s is not in the mbox' % f)
	res.add('mbox: write %s (cover letter + %d patches, each group of '
		'tests after the patches it tests)' % (path, n), not probs,
		'; '.join(probs))
	# git am onto a fresh checkout of base, cover letter skipped.
	checkout(scratch, series.base)
	rc, aout = git(scratch, 'am', '--keep-cr', path, check=False)
	skipped = 0
	while rc and 'Patch is empty' in aout and skipped < 1:
		skipped += 1
		rc, aout = git(scratch, 'am', '--skip', check=False)
	got = git(scratch, 'rev-parse', 'HEAD^{tree}').strip() if rc == 0 else ''
	if rc:
		git(scratch, 'am', '--abort', check=False)
	ok = rc == 0 and got == tree
	reason = 'git am failed: ' + ' | '.join(aout.strip().splitlines()[-4:]) \
		if rc else 'result differs from series + tests (tree %s != %s)' % (
			got, tree)
	res.add('mbox: git am onto base', ok, reason)
	checkpatch_posting(res, series, path)
	if not ok:
		return None
	return dict(commit=git(scratch, 'rev-parse', 'HEAD').strip(), tree=tree,
		    commits=git(scratch, 'rev-list', '--reverse', '%s..HEAD' %
				series.base).split())


def check_posting(res, scratch, cachedir, mbox_tree):
	"""Every patch of the posting, as git am left it, builds under UML and,
	from the first test patch on, its tests pass: kunit.py run with the
	.kunitconfig beside the tests (before they exist, kunit.py build of
	the posting's last .kunitconfig less its test symbols)."""
	build_dir = os.path.join(cachedir, 'build-posting')
	commits = mbox_tree['commits']
	for i, c in enumerate(commits, 1):
		checkout(scratch, c)
		subject = git(scratch, 'log', '-1', '--format=%s', c).strip()
		kc = os.path.join(TESTS_DIR, '.kunitconfig')
		if os.path.exists(os.path.join(scratch, kc)):
			kunit_run(res, 'posting %d/%d "%s": builds, its tests pass' %
				  (i, len(commits), subject), scratch, build_dir,
				  ['--kunitconfig=' + TESTS_DIR], 300,
				  logname='posting-%d' % i)
			continue
		# No tests yet: build the UML kernel of the tests' configuration
		# less the test symbols, so that the build dir stays incremental.
		conf = os.path.join(cachedir, 'posting-base.kunitconfig')
		with open(conf, 'w') as f:
			f.write(''.join(l for l in git(
				scratch, 'show', '%s:%s' % (mbox_tree['commit'], kc)
			).splitlines(True) if not re.match(
				r'CONFIG_\w*KUNIT_TEST=', l)))
		cmd = kunit_py(scratch) + ['build',
		       '--build_dir=' + build_dir, '--jobs=%d' % os.cpu_count(),
		       '--kunitconfig=' + conf]
		with Lock():
			t0 = time.time()
			rc, out = run(cmd, cwd=scratch, log=os.path.join(
				cachedir, 'kunit-posting.log'))
		say('posting %d/%d built in %ds' % (i, len(commits),
						    time.time() - t0))
		res.add('posting %d/%d "%s": builds' % (i, len(commits), subject),
			rc == 0, 'kunit.py build exited %d' % rc,
			out.strip().splitlines()[-15:] if rc else ())


# ---------------------------------------------------------------- main

def need_tools(full):
	tools = hostenv.SERIES_CHECKS_TOOLS
	if full:
		tools += hostenv.SERIES_CHECKS_FULL_TOOLS
	missing = hostenv.missing(tools)[1]
	if not missing:
		return
	cmd = ['apt-get', 'install', '-y', '--no-install-recommends'] + missing
	if os.geteuid() != 0:
		raise EnvError('missing packages; run as root: apt-get update && '
			       + ' '.join(cmd))
	say('installing ' + ' '.join(missing))
	env = dict(ENV, DEBIAN_FRONTEND='noninteractive')
	if run(['apt-get', 'update'], env=env)[0] or run(cmd, env=env)[0]:
		raise EnvError('apt-get install %s failed' % ' '.join(missing))


def default_cache():
	return str(CacheLayout(cache_root()).series_checks)


GROUPS = ['checkpatch', 'kernel-doc', 'build', 'debug', 'arm64', 'mbox',
	  'posting']


def parse_args(argv):
	p = argparse.ArgumentParser(
		prog='series_checks.py',
		description='Upstream-readiness checks of the noirq series '
		'(see SERIES_CHECKS.md). Last line: "N passed, N failed".')
	p.add_argument('--kernel', metavar='WORKTREE',
		       help='the runner\'s work tree (default: output of '
		       '"tools/kunit-runner/run tree"); only read')
	p.add_argument('--cache', metavar='DIR', default=None,
		       help='scratch worktree, build dirs and results '
		       '(default %s)' % default_cache())
	p.add_argument('--quick', action='store_true',
		       help='checkpatch, kernel-doc and mbox only: no builds')
	p.add_argument('--only', metavar='GROUPS',
		       help='comma-separated subset of: ' + ','.join(GROUPS))
	p.add_argument('--post', metavar='OUT',
		       help='write the posting to OUT: the mbox signed by your git '
		       'identity (git config user.name/email; a placeholder is '
		       'refused), addressed with scripts/get_maintainer.pl; '
		       'runs only the mbox group')
	p.add_argument('--identity', metavar='"NAME <EMAIL>"',
		       help='--post: sign with this identity instead of git config')
	p.add_argument('--mbox', metavar='OUT',
		       help='write the mbox (cover letter + series + tests) to '
		       'OUT; alone, runs only the mbox checks')
	p.add_argument('--link', choices=['tip', 'all'], default='all',
		       help='link the kernel image at every prefix (all, '
		       'default) or only at the tip')
	p.add_argument('--no-cache', action='store_true',
		       help='rebuild even when a configuration + tree was '
		       'already checked')
	p.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
	args = p.parse_args(argv)
	if args.only:
		groups = args.only.split(',')
		bad = [g for g in groups if g not in GROUPS]
		if bad:
			p.error('unknown group(s) in --only: ' + ','.join(bad))
	elif args.quick:
		groups = ['checkpatch', 'kernel-doc', 'mbox']
	elif args.mbox or args.post:
		groups = ['mbox']
	else:
		groups = GROUPS
	args.groups = groups
	args.mbox_build = not args.quick and 'build' in groups
	return args


def main(argv=None):
	try:
		args = parse_args(argv if argv is not None else sys.argv[1:])
	except SystemExit as e:
		return EXIT_USAGE if e.code else EXIT_OK
	t0 = time.time()
	res = Results()
	try:
		# A posting is signed by its poster: check that first.
		ident = poster_identity(args.identity) if args.post else None
		full = any(g in args.groups for g in ('build', 'debug', 'arm64',
						   'posting'))
		need_tools(full)
		kernel = args.kernel
		if not kernel:
			rc, out = run([os.path.join(HERE, 'run'), 'tree'])
			if rc:
				sys.stdout.write(out)
				raise EnvError('"tools/kunit-runner/run tree" failed '
					       '(exit %d)' % rc)
			kernel = out.strip().splitlines()[-1]
		kernel = os.path.realpath(kernel)
		if not os.path.isfile(os.path.join(kernel, 'scripts/checkpatch.pl')):
			raise UsageError('%s is not a kernel work tree' % kernel)
		series = Series(kernel)
		cachedir = os.path.realpath(args.cache or default_cache())
		os.makedirs(cachedir, exist_ok=True)
		for f in os.listdir(cachedir):
			if f.endswith('.log'):
				os.unlink(os.path.join(cachedir, f))
		say('kernel %s, %d patches; scratch and logs in %s' %
		    (kernel, len(series.patches), cachedir))
		# checkpatch and kernel-doc only read the work tree; the other
		# groups need the scratch worktree (a checkout of the whole tree).
		scratch = None
		if any(g in args.groups for g in ('mbox', 'posting', 'build', 'debug',
						  'arm64')):
			scratch = scratch_worktree(series, os.path.join(cachedir, 'linux'))
		cache = Cache(os.path.join(cachedir, 'results.json'),
			      not args.no_cache)
		if 'checkpatch' in args.groups:
			check_checkpatch(res, series, kernel)
		if 'kernel-doc' in args.groups:
			check_kerneldoc(res, series, kernel)
		mbox_tree = None
		if 'mbox' in args.groups:
			out = args.post or args.mbox
			mbox_tree = check_mbox(res, series, scratch, cachedir,
					       out and os.path.abspath(out), ident)
		if 'posting' in args.groups:
			if mbox_tree:
				check_posting(res, scratch, cachedir, mbox_tree)
			else:
				res.add('posting: every patch builds and passes', False,
					'no posting (see the mbox checks)' if 'mbox' in
					args.groups else 'needs the mbox group')
		if 'build' in args.groups:
			check_builds(res, series, scratch, cachedir, cache, args,
				     mbox_tree if args.mbox_build else None)
		if 'debug' in args.groups:
			check_debug(res, series, scratch, cachedir, args)
		if 'arm64' in args.groups:
			check_arm64(res, series, scratch, cachedir, args)
	except UsageError as e:
		say('error: %s' % e)
		return EXIT_USAGE
	except EnvError as e:
		say('error: %s' % e)
		return EXIT_ENV
	except RuntimeError as e:
		res.add('internal', False, str(e).splitlines()[0],
			str(e).splitlines()[1:20])
	say('done in %dm%02ds' % divmod(int(time.time() - t0), 60))
	print('%d passed, %d failed' % (res.passed, res.failed), flush=True)
	return EXIT_OK if res.failed == 0 and res.passed else EXIT_FAIL

# SPDX-License-Identifier: GPL-2.0
"""doctor: what this machine lacks for a tier of test-all."""

import os
import shutil
from pathlib import Path

from . import buildenv, buildlock, hostenv
from .apt import debian_mirror
from .base import BASE_DEB, BASE_PACKAGE, BASE_VERSION
from .errors import EXIT_ENV, EXIT_OK, RunnerError
from .proc import out, say
from .runner import Runner

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
	deb = r.layout.deb(BASE_DEB)
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

# SPDX-License-Identifier: GPL-2.0
"""hostenv: the one tool -> Debian package table of the runner.

Every entry point asks this table which package provides a tool it
lacks: run (the kunit_runner package), e2e.py, series_checks.py, `run doctor`,
and .ci/run (through `run doctor --missing-packages`).  A tool is a
command looked up on PATH, or an absolute path of a file (a header, a
keyring).  The tool lists below say what each job needs; a tier (the CI
tier of `test-all`, the whole matrix of `test-all --full`) is the union
of the jobs it runs.
"""
import os
import shutil

TOOL_PACKAGES = {
	# build and base fetch (kunit_runner/kbuild.py, base.py)
	'git': 'git', 'make': 'make', 'gcc': 'gcc', 'flex': 'flex',
	'bison': 'bison', 'bc': 'bc', 'perl': 'perl', 'tar': 'tar',
	'xz': 'xz-utils', 'dpkg-deb': 'dpkg', 'apt-get': 'apt',
	'python3': 'python3',
	'/usr/include/stdio.h': 'libc6-dev',
	'/usr/share/keyrings/debian-archive-keyring.gpg': 'debian-archive-keyring',
	'/etc/ssl/certs/ca-certificates.crt': 'ca-certificates',
	# e2e.py and e2e/kunit-x86_64.sh
	'qemu-system-x86_64': 'qemu-system-x86',
	'busybox': 'busybox-static',
	'/usr/include/gelf.h': 'libelf-dev',
	'flock': 'util-linux', 'unshare': 'util-linux',
	# coverage
	'lcov': 'lcov', 'genhtml': 'lcov',
	# series_checks.py --full
	'sparse': 'sparse',
	'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
	'qemu-system-aarch64': 'qemu-system-arm',
	# one compiler cache for every kernel build (buildenv.py)
	'ccache': 'ccache',
	# timing of the warm and cold loops (README.md); optional
	'hyperfine': 'hyperfine',
}

BUILD_TOOLS = ('git', 'make', 'gcc', 'flex', 'bison', 'bc', 'perl', 'tar')
FETCH_TOOLS = ('apt-get', 'dpkg-deb', 'xz', 'tar')
COVERAGE_TOOLS = ('lcov', 'genhtml')
E2E_TOOLS = ('qemu-system-x86_64', 'busybox', 'make', 'gcc', 'flex', 'bison',
	     'bc', 'perl')
E2E_HEADERS = ('/usr/include/gelf.h',)
# e2e.py --arch arm64 (test-all --full): a cross compiler, QEMU, and the
# static busybox of Debian's arm64 archive, fetched with apt-get.
E2E_ARM64_TOOLS = ('qemu-system-aarch64', 'aarch64-linux-gnu-gcc', 'make',
		   'gcc', 'flex', 'bison', 'bc', 'perl', 'apt-get',
		   'dpkg-deb')
X86_64_TOOLS = ('qemu-system-x86_64', 'flock', 'unshare')
SERIES_CHECKS_TOOLS = ('git', 'make', 'perl', 'gcc')
SERIES_CHECKS_FULL_TOOLS = ('sparse', 'flex', 'bison', 'bc',
			    'aarch64-linux-gnu-gcc', 'qemu-system-aarch64')
# Files the base fetch and the builds need besides the commands.
SYSTEM_FILES = ('python3', '/usr/include/stdio.h',
		'/usr/share/keyrings/debian-archive-keyring.gpg',
		'/etc/ssl/certs/ca-certificates.crt')
OPTIONAL_TOOLS = ('hyperfine',)

TIERS = ('ci', 'full')


def tier_tools(tier):
	"""The tools a tier needs, in table order: 'ci' (test-all) or 'full'."""
	if tier not in TIERS:
		raise ValueError(f'unknown tier {tier}')
	need = set(BUILD_TOOLS + FETCH_TOOLS + SYSTEM_FILES + COVERAGE_TOOLS +
		   E2E_TOOLS + E2E_HEADERS + X86_64_TOOLS + SERIES_CHECKS_TOOLS +
		   ('ccache',))
	if tier == 'full':
		need |= set(SERIES_CHECKS_FULL_TOOLS + E2E_ARM64_TOOLS)
	return [t for t in TOOL_PACKAGES if t in need]


def packages(tools):
	"""{tool: Debian package} of @tools (a tool not in the table is its own package)."""
	return {t: TOOL_PACKAGES.get(t, t) for t in tools}


def find_busybox(path=None):
	for p in ('/bin/busybox', '/usr/bin/busybox'):
		if os.path.isfile(p):
			return p
	return shutil.which('busybox', path=path)


def is_static(path):
	"""A static ELF has no PT_INTERP; the e2e initramfs has no libc."""
	try:
		with open(path, 'rb') as f:
			return b'/lib64/ld-linux' not in f.read()
	except OSError:
		return False


def present(tool, path=None):
	"""Is @tool there: a file for an absolute path, a static busybox, a command on @path."""
	if os.path.isabs(tool):
		return os.path.exists(tool)
	if tool == 'busybox':
		bb = find_busybox(path)
		return bool(bb) and is_static(bb)
	return shutil.which(tool, path=path) is not None


def missing(tools, path=None):
	"""(missing tools, their packages sorted and without duplicates)."""
	miss = [t for t in tools if not present(t, path)]
	return miss, sorted(set(packages(miss).values()))

# SPDX-License-Identifier: GPL-2.0
"""Self-tests of hostenv.py, the one tool -> package table (no apt-get is run)."""

import ast
import os
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from kunit_runner import hostenv  # noqa: E402

REPO = HERE.parent.parent.parent


def runner_sources():
	"""The files of the kunit_runner package (relative to tools/kunit-runner)."""
	return sorted(f'kunit_runner/{p.name}' for p in (HERE.parent / 'kunit_runner').glob('*.py')
		      if p.name != 'hostenv.py')


def fake_tools(d, names):
	for n in names:
		p = Path(d) / n
		p.write_text('#!/bin/sh\n')
		p.chmod(0o755)


class TableTest(unittest.TestCase):
	def test_every_listed_tool_is_in_the_table(self):
		lists = (hostenv.BUILD_TOOLS, hostenv.FETCH_TOOLS, hostenv.COVERAGE_TOOLS,
			 hostenv.E2E_TOOLS, hostenv.E2E_HEADERS, hostenv.E2E_ARM64_TOOLS,
			 hostenv.X86_64_TOOLS,
			 hostenv.SERIES_CHECKS_TOOLS, hostenv.SERIES_CHECKS_FULL_TOOLS,
			 hostenv.SYSTEM_FILES, hostenv.OPTIONAL_TOOLS)
		for tools in lists:
			for t in tools:
				self.assertIn(t, hostenv.TOOL_PACKAGES)

	def test_tiers(self):
		ci, full = hostenv.tier_tools('ci'), hostenv.tier_tools('full')
		self.assertTrue(set(ci) < set(full))
		self.assertEqual(set(full) - set(ci), set(hostenv.SERIES_CHECKS_FULL_TOOLS +
							   hostenv.E2E_ARM64_TOOLS) -
				 set(hostenv.BUILD_TOOLS + hostenv.FETCH_TOOLS))
		# e2e.py --arch arm64 runs in --full only
		self.assertIn('qemu-system-aarch64', full)
		self.assertNotIn('qemu-system-aarch64', ci)
		for t in ('ccache', 'qemu-system-x86_64', 'busybox', 'lcov', 'flock', 'git'):
			self.assertIn(t, ci)
		self.assertNotIn('hyperfine', full)
		with self.assertRaises(ValueError):
			hostenv.tier_tools('nightly')

	def test_missing_packages_once_and_sorted(self):
		with tempfile.TemporaryDirectory() as d:
			fake_tools(d, ('git', 'make', 'gcc'))
			miss, pkgs = hostenv.missing(('git', 'unshare', 'flock', 'xz', 'make',
						      '/nonexistent/gelf.h'), path=d)
		self.assertEqual(miss, ['unshare', 'flock', 'xz', '/nonexistent/gelf.h'])
		self.assertEqual(pkgs, ['/nonexistent/gelf.h', 'util-linux', 'xz-utils'])

	def test_a_dynamic_busybox_is_missing(self):
		with tempfile.TemporaryDirectory() as d:
			bb = Path(d) / 'busybox'
			bb.write_bytes(b'\x7fELF.../lib64/ld-linux-x86-64.so.2...')
			self.assertFalse(hostenv.is_static(bb))
			bb.write_bytes(b'\x7fELF...static...')
			self.assertTrue(hostenv.is_static(bb))

	def test_no_other_package_list(self):
		"""Only hostenv.py names Debian packages; .ci/run asks the runner."""
		# packages not named like a tool ('apt' is also a cache dir's name)
		pkgs = set(hostenv.TOOL_PACKAGES.values()) - set(hostenv.TOOL_PACKAGES) - {'apt'}
		for name in runner_sources() + ['e2e.py', 'series_checks.py']:
			tree = ast.parse((HERE.parent / name).read_text())
			found = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
				 and n.value in pkgs}
			with self.subTest(name=name):
				self.assertEqual(found, set())
		ci = (REPO / '.ci' / 'run').read_text()
		self.assertIn('doctor --missing-packages', ci)
		for p in ('qemu-system-x86', 'busybox-static', 'libelf-dev', 'lcov'):
			self.assertNotIn(p, ci)


if __name__ == '__main__':
	unittest.main()

# SPDX-License-Identifier: GPL-2.0
"""Self-tests of the pure parts of series_checks.py (no kernel, no build)."""

import re
import sys
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import series_checks as sc  # noqa: E402

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


class PostingDropsTest(unittest.TestCase):
	"""The lines the posting drops match the project's real files once."""

	def test_each_drop_matches_once(self):
		for name, rxs in sc.MBOX_DROP.items():
			text = (REPO / sc.TESTS_DIR / name).read_text()
			for rx in rxs:
				with self.subTest(file=name, rx=rx):
					self.assertEqual(len(re.findall(rx, text)), 1)

	def test_kconfig_keeps_the_other_symbols(self):
		text = (REPO / sc.TESTS_DIR / 'Kconfig').read_text()
		for rx in sc.MBOX_DROP['Kconfig']:
			text = re.sub(rx, '\n', text)
		self.assertNotIn('VIRTIO_NOIRQ_E2E_TEST', text)
		for sym in ('VIRTIO_PM_KUNIT_TEST', 'VIRTIO_NOIRQ_KUNIT_TEST',
			    'VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST', 'VIRTIO_MMIO_KUNIT_TEST'):
			self.assertIn('config %s\n' % sym, text)

	def test_excluded_files_exist(self):
		for f in sc.MBOX_EXCLUDE:
			self.assertTrue((REPO / f).is_file(), f)


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


if __name__ == '__main__':
	unittest.main()

# SPDX-License-Identifier: GPL-2.0
"""Self-tests of modrun.py, the pure parts of `run --modules` (no kernel)."""
import json
import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kunit_runner import modrun  # noqa: E402

FULL = """CONFIG_KUNIT=y
CONFIG_VIRTIO_PM_KUNIT_TEST=y
CONFIG_VIRTIO_NOIRQ_KUNIT_TEST=y
CONFIG_VIRTIO_MMIO=y
CONFIG_VIRTIO_MMIO_KUNIT_TEST=y
"""

SPLAT = re.compile(r'WARNING:|BUG:')


class ModuleConfigTest(unittest.TestCase):
	def test_every_test_module_becomes_m(self):
		adds, mods = modrun.module_config([FULL])
		self.assertEqual(mods, ['virtio_pm_test', 'virtio_mmio_test'])
		self.assertIn('CONFIG_VIRTIO_PM_KUNIT_TEST=m', adds)
		self.assertIn('CONFIG_VIRTIO_MMIO_KUNIT_TEST=m', adds)
		for need in ('CONFIG_MODULES=y', 'CONFIG_HOSTFS=y', 'CONFIG_DEVTMPFS_MOUNT=y'):
			self.assertIn(need, adds)

	def test_bool_symbols_are_left_alone(self):
		adds, _ = modrun.module_config([FULL])
		self.assertFalse([a for a in adds if 'NOIRQ' in a])

	def test_only_the_modules_the_kunitconfig_builds(self):
		text = FULL.replace('CONFIG_VIRTIO_MMIO_KUNIT_TEST=y', '')
		adds, mods = modrun.module_config([text])
		self.assertEqual(mods, ['virtio_pm_test'])
		self.assertNotIn('CONFIG_VIRTIO_MMIO_KUNIT_TEST=m', adds)

	def test_later_fragment_wins(self):
		_, mods = modrun.module_config([FULL, 'CONFIG_VIRTIO_MMIO_KUNIT_TEST=n\n'])
		self.assertEqual(mods, ['virtio_pm_test'])

	def test_no_test_module(self):
		self.assertEqual(modrun.module_config(['CONFIG_KUNIT=y\n'])[1], [])


class InitScriptTest(unittest.TestCase):
	def test_each_module_in_order_then_halt(self):
		lines = modrun.init_script(['a_test', 'b_test']).splitlines()
		self.assertEqual(lines[0], '#!/bin/busybox sh')
		a = next(i for i, l in enumerate(lines) if 'modprobe a_test;' in l)
		b = next(i for i, l in enumerate(lines) if 'modprobe b_test;' in l)
		self.assertLess(a, b)
		self.assertEqual(lines[-1], '/bin/busybox halt -f')

	def test_boot_args(self):
		a = modrun.boot_args(Path('/x/root'))
		self.assertIn('rootfstype=hostfs', a)
		self.assertIn('rootflags=/x/root', a)
		self.assertIn('init=/init', a)
		self.assertFalse([x for x in a if x.startswith('kunit.filter_glob')])
		self.assertIn('kunit.filter_glob=virtio_*', modrun.boot_args('/r', 'virtio_*'))


# The console of a boot without built-in suites, then two module loads.
MODULE_CONSOLE = """Linux version 7.3.4
KTAP version 1
1..0
KTAP version 1
1..2
    KTAP version 1
    # Subtest: a_one
    1..1
    ok 1 case
ok 1 a_one
    KTAP version 1
    # Subtest: a_two
    1..1
    not ok 1 case
not ok 2 a_two
# kunit-runner modprobe a_test: exit 0
KTAP version 1
1..1
    KTAP version 1
    # Subtest: b_one
    1..1
    ok 1 case
ok 1 b_one
# kunit-runner modprobe b_test: exit 0
reboot: System halted
"""


class MergeKtapTest(unittest.TestCase):
	def test_one_document_with_every_suite(self):
		lines = modrun.merge_ktap(MODULE_CONSOLE).splitlines()
		self.assertEqual(lines[0], 'Linux version 7.3.4')
		self.assertEqual(lines[1:3], ['KTAP version 1', '1..3'])
		self.assertEqual(lines.count('KTAP version 1'), 1)
		self.assertFalse([l for l in lines if modrun.TOP_PLAN.match(l) and l != '1..3'])
		self.assertEqual([l for l in lines if modrun.TOP_RESULT.match(l)],
				 ['ok 1 a_one', 'not ok 2 a_two', 'ok 3 b_one'])
		self.assertIn('    not ok 1 case', lines)
		self.assertEqual(lines[-1], 'reboot: System halted')

	def test_no_ktap_is_left_alone(self):
		self.assertEqual(modrun.merge_ktap('boot\nhalt\n'), 'boot\nhalt\n')


def console(*codes):
	tag = modrun.MODPROBE_TAG
	return '\n'.join(f'# {tag} {m}: exit {c}' for m, c in codes) + '\n'


class ModprobeFailuresTest(unittest.TestCase):
	def test_all_loaded(self):
		self.assertEqual(modrun.modprobe_failures(console(('a', 0), ('b', 0)), ['a', 'b']), [])

	def test_failed_and_missing(self):
		self.assertEqual(modrun.modprobe_failures(console(('a', 1)), ['a', 'b']),
				 [('a', '1'), ('b', 'never ran')])


class CountsTest(unittest.TestCase):
	def counts(self, misc, text):
		with tempfile.TemporaryDirectory() as tmp:
			js = Path(tmp) / 'r.json'
			if misc is not None:
				js.write_text(json.dumps({'misc': misc}))
			return modrun.counts(js, text, ['a'], SPLAT, lambda m: None)

	def test_passes(self):
		c, cases = self.counts({'passed': 5, 'failed': 0, 'crashed': 0, 'skipped': 1},
				       console(('a', 0)))
		self.assertEqual(c, (5, 0, 1))
		self.assertEqual(cases, (5, 0, 1))

	def test_failed_crashed_modprobe_and_splat(self):
		text = console(('a', 1)) + 'WARNING: at foo\n'
		c, cases = self.counts({'passed': 5, 'failed': 1, 'crashed': 1, 'skipped': 0}, text)
		self.assertEqual(cases, (5, 2, 0))
		self.assertEqual(c, (5, 4, 0))

	def test_no_results_is_a_failure(self):
		c, cases = self.counts(None, console(('a', 0)))
		self.assertEqual(c, (0, 1, 0))
		self.assertIsNone(cases)

	def test_nothing_ran_is_a_failure(self):
		c, _ = self.counts({'passed': 0, 'failed': 0, 'crashed': 0, 'skipped': 0},
				   console(('a', 0)))
		self.assertEqual(c, (0, 1, 0))


if __name__ == '__main__':
	unittest.main()

# SPDX-License-Identifier: GPL-2.0
"""Self-tests of verdict.py (no kernel, no build).

test_data/kunit-all-suites.json is a recorded `kunit.py run --json` of every
suite of the repo's .kunitconfig (all passed), trimmed to names and
statuses. The tests that need a failure, a skip or a missing case change a
copy of it in memory.
"""

import contextlib
import copy
import io
import json
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from kunit_runner import verdict  # noqa: E402

REPO = HERE.parent.parent.parent
TESTS_DIR = REPO / 'drivers' / 'virtio' / 'tests'
RECORDED = HERE / 'test_data' / 'kunit-all-suites.json'
EXTRAS_GUARD = '#if IS_ENABLED(CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST)'


def recorded():
	with open(RECORDED, encoding='utf-8') as f:
		return json.load(f)


def real_map():
	return verdict.load_map(str(verdict.DEFAULT_ITEMS))


def map_data():
	with open(verdict.DEFAULT_ITEMS, encoding='utf-8') as f:
		return json.load(f)


def find_suite(data, suite):
	for s in data['sub_groups']:
		if s['name'] == suite:
			return s
	raise KeyError(suite)


def set_status(data, suite, case, param, status):
	"""Set the status of suite.case (or of one of its parameters)."""
	s = find_suite(data, suite)
	if param is None:
		for c in s['test_cases']:
			if c['name'] == case:
				c['status'] = status
				return
	else:
		for g in s['sub_groups']:
			if g['name'] == case:
				for c in g['test_cases']:
					if c['name'] == param:
						c['status'] = status
						return
	raise KeyError((suite, case, param))


def remove_case(data, suite, case):
	s = find_suite(data, suite)
	n = len(s['test_cases']) + len(s['sub_groups'])
	s['test_cases'] = [c for c in s['test_cases'] if c['name'] != case]
	s['sub_groups'] = [g for g in s['sub_groups'] if g['name'] != case]
	assert len(s['test_cases']) + len(s['sub_groups']) == n - 1, case


def verdicts_of(data, cmap=None):
	cmap = cmap or real_map()
	return {v.item.number: v
		for v in verdict.judge(cmap, verdict.parse_results(data))}


def run_main(argv):
	out, err = io.StringIO(), io.StringIO()
	with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
		rc = verdict.main(argv)
	return rc, out.getvalue(), err.getvalue()


class TempFiles(unittest.TestCase):
	def setUp(self):
		self._tmp = tempfile.TemporaryDirectory()
		self.addCleanup(self._tmp.cleanup)

	def write(self, name, obj):
		path = Path(self._tmp.name) / name
		path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
		return str(path)


def source_suites():
	"""{suite: (set of case names, in an extras #if)} from the C sources."""
	suites = {}
	for src in sorted(TESTS_DIR.glob('*.c')):
		text = src.read_text()
		guarded = []
		for m in re.finditer(re.escape(EXTRAS_GUARD), text):
			end = text.find('#endif', m.end())
			guarded.append((m.start(), end))
		arrays = {}
		for m in re.finditer(r'static struct kunit_case (\w+)\[\] = \{(.*?)\n\};',
				     text, re.S):
			arrays[m.group(1)] = set(re.findall(
				r'KUNIT_CASE\w*\(\s*(\w+)', m.group(2)))
		for m in re.finditer(r'static struct kunit_suite \w+ = \{(.*?)\};',
				     text, re.S):
			name = re.search(r'\.name\s*=\s*"(\w+)"', m.group(1)).group(1)
			cases = re.search(r'\.test_cases\s*=\s*(\w+)', m.group(1)).group(1)
			extras = any(a <= m.start() < b for a, b in guarded)
			suites[name] = (arrays[cases], extras)
	return suites


class RealMapTest(unittest.TestCase):
	"""contract_items.json against the sources and a recorded full run."""

	def test_recorded_full_run_proves_every_item(self):
		rc, out, _ = run_main([str(RECORDED)])
		self.assertEqual(rc, verdict.EXIT_PROVEN, out)
		self.assertEqual(out.splitlines()[-1],
				 '22 items: 22 proven, 0 not proven')

	def test_every_mapped_case_is_a_contract_case_in_the_sources(self):
		suites = source_suites()
		self.assertIn('virtio_noirq_restore', suites)
		for it in real_map().items:
			for ref in it.cases:
				with self.subTest(item=it.number, case=ref.name):
					self.assertIn(ref.suite, suites)
					cases, extras = suites[ref.suite]
					self.assertIn(ref.case, cases)
					self.assertFalse(extras)

	def test_every_not_mapped_case_is_a_contract_case_of_the_run(self):
		suites = source_suites()
		results = verdict.parse_results(recorded())
		for ref, _ in real_map().not_mapped:
			with self.subTest(case=ref.name):
				cases, extras = suites[ref.suite]
				self.assertIn(ref.case, cases)
				self.assertFalse(extras)
				self.assertTrue(any(ref.matches(r) for r in results))

	def test_extras_suites_are_the_guarded_ones(self):
		guarded = {s for s, (_, extras) in source_suites().items() if extras}
		self.assertEqual(set(real_map().extras_suites), guarded)

	def test_every_mapped_case_matches_the_recorded_run(self):
		results = verdict.parse_results(recorded())
		for it in real_map().items:
			for ref in it.cases:
				with self.subTest(item=it.number, case=ref.name):
					self.assertTrue(any(ref.matches(r)
							    for r in results))


class RulesTest(unittest.TestCase):
	"""How results become verdicts."""

	def test_a_failed_parameter_fails_its_items_only(self):
		data = recorded()
		set_status(data, 'virtio_noirq_restore',
			   'restore_noirq_failure_makes_restore_fail',
			   'reset_vqs fails', 'FAIL')
		v = verdicts_of(data)
		self.assertEqual(v[8].verdict, verdict.FAIL)
		self.assertEqual(v[17].verdict, verdict.FAIL)
		self.assertIn(('virtio_noirq_restore.restore_noirq_failure_makes_'
			       'restore_fail.reset_vqs fails', verdict.FAIL),
			      v[8].cases)
		self.assertEqual(v[8].passed, len(v[8].cases) - 1)
		self.assertEqual([n for n in v if not v[n].proven], [8, 17])

	def test_a_failed_plain_case_fails_the_item(self):
		data = recorded()
		set_status(data, 'virtio_noirq_freeze',
			   'freeze_noirq_refuses_vqs_without_reset_vqs', None, 'FAIL')
		self.assertEqual(verdicts_of(data)[6].verdict, verdict.FAIL)

	def test_a_crash_fails_the_item(self):
		data = recorded()
		set_status(data, 'virtio_noirq_helpers',
			   'noirq_paths_run_with_irqs_disabled', None, 'ERROR')
		v = verdicts_of(data)
		self.assertEqual(v[15].verdict, verdict.FAIL)
		self.assertEqual(v[22].verdict, verdict.FAIL)

	def test_a_missing_case_is_missing(self):
		data = recorded()
		remove_case(data, 'virtio_noirq_restore',
			    'restore_in_entered_state_fails_and_breaks')
		v = verdicts_of(data)
		self.assertEqual(v[17].verdict, verdict.MISSING)
		self.assertIn(('virtio_noirq_restore.restore_in_entered_state_'
			       'fails_and_breaks', verdict.MISSING), v[17].cases)
		self.assertFalse(v[17].proven)

	def test_a_missing_suite_leaves_its_items_unproven(self):
		data = recorded()
		data['sub_groups'] = [s for s in data['sub_groups']
				      if not s['name'].startswith('virtio_mmio_')]
		v = verdicts_of(data)
		self.assertEqual(v[16].verdict, verdict.MISSING)
		self.assertEqual(v[20].verdict, verdict.MISSING)
		self.assertTrue(v[5].proven)

	def test_a_failure_outweighs_a_missing_case(self):
		data = recorded()
		remove_case(data, 'virtio_mmio_pfn', 'legacy_pfn_top_of_range_restores')
		set_status(data, 'virtio_mmio_probe', 'probe_programs_queues_by_index',
			   'modern (version 2)', 'FAIL')
		self.assertEqual(verdicts_of(data)[16].verdict, verdict.FAIL)

	def test_a_skip_proves_nothing(self):
		data = recorded()
		set_status(data, 'virtio_mmio_pfn',
			   'legacy_ring_above_pfn_limit_never_programmed',
			   'legacy (version 1)', 'SKIP')
		v = verdicts_of(data)[16]
		self.assertEqual(v.verdict, verdict.SKIP)
		self.assertFalse(v.proven)

	def test_a_glob_that_matches_no_parameter_is_missing(self):
		data = recorded()
		g = find_suite(data, 'virtio_mmio_noirq')['sub_groups'][0]
		self.assertEqual(g['name'], 'noirq_cycle_reprograms_queues_by_index')
		g['test_cases'] = [c for c in g['test_cases']
				   if 'freeze/thaw' not in c['name']]
		v = verdicts_of(data)
		self.assertEqual(v[20].verdict, verdict.MISSING)
		self.assertTrue(v[16].proven)

	def test_a_parameterised_case_that_crashed_early_fails(self):
		# No parameter ran: kunit_json.py writes it as a plain case.
		data = recorded()
		remove_case(data, 'virtio_noirq_freeze',
			    'freeze_refuses_unpaired_callbacks')
		find_suite(data, 'virtio_noirq_freeze')['test_cases'].append(
			{'name': 'freeze_refuses_unpaired_callbacks',
			 'status': 'ERROR'})
		v = verdicts_of(data)
		self.assertEqual(v[5].verdict, verdict.FAIL)
		self.assertEqual(v[18].verdict, verdict.FAIL)

	def test_a_passed_plain_case_is_no_parameter(self):
		cmap = verdict.parse_map({'item_count': 1, 'items': [{
			'item': 1, 'title': 't',
			'cases': ['virtio_noirq_freeze.freeze_failure_reenables_config.x*'],
		}]})
		v = verdicts_of(recorded(), cmap)[1]
		self.assertEqual(v.verdict, verdict.MISSING)
		self.assertEqual(v.cases, [('virtio_noirq_freeze.freeze_failure_'
					    'reenables_config.x*', verdict.MISSING)])

	def test_a_suite_without_case_results_stands_for_its_cases(self):
		data = recorded()
		data['sub_groups'] = [s for s in data['sub_groups']
				      if s['name'] != 'virtio_ring_reset']
		data['test_cases'].append({'name': 'virtio_ring_reset',
					   'status': 'FAIL'})
		v = verdicts_of(data)[19]
		self.assertEqual(v.verdict, verdict.FAIL)
		self.assertIn(('virtio_ring_reset', verdict.FAIL), v.cases)

	def test_unmapped_cases_are_listed_and_extras_never(self):
		cmap = real_map()
		results = verdict.parse_results(recorded())
		rest = {r.suite + '.' + str(r.case)
			for r in verdict.unmapped(cmap, results)}
		self.assertIn('virtio_pm_fake.fake_records_calling_context', rest)
		self.assertFalse(any(s.split('.')[0] in cmap.extras_suites
				     for s in rest))
		self.assertEqual(verdict.extras_counts(cmap, results),
				 {'virtio_noirq_extras': 6, 'virtio_mmio_extras': 5})

	def test_a_deliberately_unmapped_case_shows_its_reason(self):
		data = map_data()
		data['not_mapped'] = {'virtio_noirq_ring.reinit_vring_restarts_ring':
				      'a reason to leave it out'}
		with tempfile.TemporaryDirectory() as tmp:
			items = Path(tmp) / 'items.json'
			items.write_text(json.dumps(data))
			_, out, _ = run_main([str(RECORDED), '--items', str(items)])
		self.assertIn('\n  virtio_noirq_ring.reinit_vring_restarts_ring '
			      '(2 parameters): a reason to leave it out', out)

	def test_not_proven_exits_1_and_names_the_case(self):
		data = recorded()
		set_status(data, 'virtio_noirq_restore',
			   'pending_config_change_delivered_once',
			   'delivered by the noirq enable', 'FAIL')
		with tempfile.TemporaryDirectory() as tmp:
			path = Path(tmp) / 'r.json'
			path.write_text(json.dumps(data))
			rc, out, _ = run_main([str(path)])
		self.assertEqual(rc, verdict.EXIT_NOT_PROVEN)
		# One case of item 11 failed, whatever the number mapped to it.
		m = re.search(r'\n  11 FAIL +(\d+)/(\d+) ', out)
		self.assertIsNotNone(m, out)
		self.assertEqual(int(m.group(1)) + 1, int(m.group(2)))
		self.assertIn('FAIL    virtio_noirq_restore.pending_config_change_'
			      'delivered_once.delivered by the noirq enable', out)
		self.assertEqual(out.splitlines()[-1],
				 '22 items: 21 proven, 1 not proven')


class MapErrorsTest(TempFiles):
	"""A map that cannot be right is bad input (exit 2), not a verdict."""

	def expect_error(self, data, message):
		with self.assertRaises(verdict.BadInput) as cm:
			verdict.parse_map(data)
		self.assertIn(message, str(cm.exception))
		rc, out, err = run_main([str(RECORDED), '--items',
					 self.write('map.json', data)])
		self.assertEqual(rc, verdict.EXIT_BAD_INPUT)
		self.assertEqual(out, '')
		self.assertIn(message, err)

	def test_the_real_map_is_valid(self):
		self.assertEqual([it.number for it in real_map().items],
				 list(range(1, 23)))

	def test_a_nonexistent_item(self):
		data = map_data()
		data['items'].append({'item': 23, 'title': 't',
				      'cases': ['virtio_noirq_ring.reinit_vring_restarts_ring']})
		self.expect_error(data, 'item 23: no such item')

	def test_an_item_without_cases(self):
		data = map_data()
		data['items'][20]['cases'] = []
		self.expect_error(data, 'item 21: no case mapped')

	def test_an_item_left_out(self):
		data = map_data()
		del data['items'][3]
		self.expect_error(data, 'item 4: not in the map')

	def test_an_item_mapped_twice(self):
		data = map_data()
		data['items'].append(copy.deepcopy(data['items'][0]))
		self.expect_error(data, 'item 1: mapped twice')

	def test_an_extras_case(self):
		data = map_data()
		data['items'][17]['cases'].append(
			'virtio_noirq_extras.extras_refusal_logs_a_line')
		self.expect_error(data, 'item 18: "virtio_noirq_extras.extras_'
				  'refusal_logs_a_line" is in the extras suite')

	def test_a_malformed_case(self):
		data = map_data()
		data['items'][0]['cases'].append('virtio_noirq_restore')
		self.expect_error(data, 'item 1: "virtio_noirq_restore": not '
				  'suite.case')

	def test_a_case_both_mapped_and_not_mapped(self):
		data = map_data()
		data['not_mapped'] = {'virtio_noirq_ring.reinit_vring_restarts_ring':
				      'a reason'}
		data['items'][7]['cases'].append('virtio_noirq_ring.'
						 'reinit_vring_restarts_ring')
		self.expect_error(data, 'item 8: "virtio_noirq_ring.reinit_vring_'
				  'restarts_ring" is also in not_mapped')

	def test_not_mapped_without_a_reason(self):
		data = map_data()
		data['not_mapped'] = {'virtio_pm_fake.fake_records_calling_context': ''}
		self.expect_error(data, 'not_mapped: "virtio_pm_fake.fake_records_'
				  'calling_context": no reason')

	def test_a_missing_title(self):
		data = map_data()
		del data['items'][1]['title']
		self.expect_error(data, 'item 2: no title')


class InputErrorsTest(TempFiles):
	def expect_bad(self, results_text, message):
		rc, out, err = run_main([self.write('r.json', results_text)])
		self.assertEqual(rc, verdict.EXIT_BAD_INPUT)
		self.assertIn(message, err)

	def test_not_json(self):
		self.expect_bad('[ KUnit output, not JSON', 'not JSON')

	def test_not_kunit_json(self):
		self.expect_bad('[1, 2]', 'not a kunit.py JSON group')

	def test_unknown_status(self):
		data = recorded()
		set_status(data, 'virtio_pm_vqs', 'vqs_kept_across_restore_still_kick',
			   None, 'MAYBE')
		self.expect_bad(json.dumps(data), 'virtio_pm_vqs: a test case needs')

	def test_no_such_file(self):
		rc, _, err = run_main([str(Path(self._tmp.name) / 'none.json')])
		self.assertEqual(rc, verdict.EXIT_BAD_INPUT)
		self.assertIn('none.json', err)


class OutputTest(TempFiles):
	def test_json_report(self):
		out = Path(self._tmp.name) / 'verdict.json'
		rc, _, _ = run_main([str(RECORDED), '--json', str(out)])
		self.assertEqual(rc, verdict.EXIT_PROVEN)
		rep = json.loads(out.read_text())
		self.assertEqual(rep['summary'], {'items': 22, 'proven': 22,
						  'not_proven': 0})
		self.assertEqual(rep['items'][4]['item'], 5)
		self.assertEqual(rep['items'][4]['verdict'], 'PASS')
		self.assertEqual(rep['items'][4]['total'], 18)

	def test_gaps_are_printed_on_request(self):
		_, out, _ = run_main([str(RECORDED)])
		self.assertNotIn('gap: ', out)
		_, out, _ = run_main([str(RECORDED), '--gaps'])
		self.assertIn('gap: the fake transport has no queue registers', out)

	def test_runs_as_a_script(self):
		r = subprocess.run([sys.executable, str(HERE.parent / 'verdict.py'),
				    str(RECORDED)], capture_output=True, text=True)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertTrue(r.stdout.startswith('item verdict  cases  title\n'))


if __name__ == '__main__':
	unittest.main()

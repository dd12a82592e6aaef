# SPDX-License-Identifier: GPL-2.0
"""Counting results: kunit.py's JSON, kernel splats, the summary line of
every step and stage, and test-all's JSON and JUnit reports."""

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from .proc import say

SPLAT_RE = re.compile(r'WARNING:|BUG:|Invalid wait context|KASAN|UBSAN|\bOops\b|Kernel panic')


def summary_line(passed, failed, skipped=0):
	s = f'{passed} passed, {failed} failed'
	if skipped:
		s += f', {skipped} skipped'
	return s


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


def misc_counts(misc):
	"""(passed, failed, skipped) of the 'misc' record of a kunit.py JSON group:
	crashed cases and errors count as failed."""
	return (misc['passed'], misc['failed'] + misc['crashed'] + misc.get('errors', 0),
		misc['skipped'])


def read_misc_counts(js):
	"""misc_counts() of the kunit.py --json file @js; raises OSError,
	ValueError, KeyError or TypeError when it cannot be read."""
	return misc_counts(json.loads(Path(js).read_text())['misc'])


def splat_lines(path):
	"""The lines of the log @path in which SPLAT_RE finds a kernel splat."""
	with open(path, errors='backslashreplace') as f:
		return [l.rstrip('\n') for l in f if SPLAT_RE.search(l)]


def kunit_json_counts(js, raw_log=None):
	"""(passed, failed, skipped) of a kunit.py --json file (+ splat lines of @raw_log)."""
	try:
		c = list(read_misc_counts(js))
	except (OSError, ValueError, KeyError, TypeError):
		say(f'no readable test results in {js}; counting one failure')
		return 0, 1, 0
	if sum(c) == 0:
		say('no test ran; counting one failure')
		c[1] = 1
	if raw_log and Path(raw_log).exists():
		splats = splat_lines(raw_log)
		for l in splats:
			say(f'kernel splat: {l.strip()}')
		c[1] += len(splats)
	return tuple(c)


def kunit_json_cases(js):
	"""(passed, failed, skipped) KUnit cases of a kunit.py --json file, or None."""
	try:
		return read_misc_counts(js)
	except (OSError, ValueError, KeyError, TypeError):
		return None


def kunit_json_suite_counts(js):
	"""{suite: (passed, failed, skipped)} of a kunit.py --json file ({} if unreadable)."""
	try:
		groups = json.loads(Path(js).read_text()).get('sub_groups', [])
		res = {}
		for g in groups:
			res[g['name']] = misc_counts(g['misc'])
		return res
	except (OSError, ValueError, KeyError, TypeError, AttributeError):
		return {}


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

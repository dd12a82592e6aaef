#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""verdict.py: a verdict per contract item, read from kunit.py's JSON.

  verdict.py RESULTS.json [--items FILE] [--json OUT] [--gaps]

RESULTS.json is what `kunit.py run --json=FILE` writes (the KernelCI-style
JSON of tools/testing/kunit/kunit_json.py): one sub-group per suite, whose
test_cases are the plain cases and whose sub_groups are the parameterised
cases, with one test case per parameter.

FILE (default: contract_items.json next to this script) maps each numbered
item of the contract to the KUnit cases that pin it, as "suite.case" (every
parameter of a parameterised case) or "suite.case.GLOB" (the parameters
whose description matches the shell-style GLOB).  The map is the one place
that says which case proves which item.

An item is proven only if every case mapped to it is in the results and
passed.  A mapped case absent from the results is MISSING (built without
its config, say) and a skipped one proves nothing: both leave the item not
proven.  Cases of the contract suites that no item names are listed for
information; the extras suites (implementation-defined choices) are never
judged.  A contract case left out of every item on purpose is named, with
the reason, under "not_mapped" in the map.  Python 3 standard library only.

Exit codes: 0 every item proven, 1 some item not proven, 2 bad input (the
results or the map cannot be read, or the map is inconsistent).
"""

import argparse
import fnmatch
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

EXIT_PROVEN = 0
EXIT_NOT_PROVEN = 1
EXIT_BAD_INPUT = 2

DEFAULT_ITEMS = Path(__file__).resolve().parent.parent / 'contract_items.json'

# Statuses of kunit_json.py, and what this script adds.
PASS = 'PASS'
FAIL = 'FAIL'
SKIP = 'SKIP'
ERROR = 'ERROR'		# the test crashed
MISSING = 'MISSING'	# mapped, but not in the results
KUNIT_STATUSES = (PASS, FAIL, SKIP, ERROR)

# Worst first: the verdict of an item is the worst status of its cases.
_SEVERITY = {ERROR: 0, FAIL: 0, MISSING: 1, SKIP: 2, PASS: 3}
_ITEM_VERDICT = {0: FAIL, 1: MISSING, 2: SKIP, 3: PASS}

_IDENT = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


class BadInput(Exception):
	"""The results or the map cannot be used."""


@dataclass(frozen=True)
class Result:
	"""One result of the JSON: a case, a parameter of a case, or a suite
	that has no case results of its own (case is None)."""
	suite: str
	case: Optional[str]
	param: Optional[str]
	status: str

	@property
	def name(self) -> str:
		return '.'.join(p for p in (self.suite, self.case, self.param)
				if p is not None)


@dataclass(frozen=True)
class CaseRef:
	"""A map entry: suite.case, or suite.case.GLOB over parameters."""
	suite: str
	case: str
	glob: Optional[str]

	@property
	def name(self) -> str:
		return '.'.join(p for p in (self.suite, self.case, self.glob)
				if p is not None)

	def matches(self, r: Result) -> bool:
		if r.suite != self.suite or r.case != self.case:
			return False
		if self.glob is None:
			return True
		return r.param is not None and fnmatch.fnmatchcase(r.param, self.glob)


@dataclass
class Item:
	number: int
	title: str
	cases: List[CaseRef]
	gap: Optional[str] = None


@dataclass
class ContractMap:
	items: List[Item]
	extras_suites: Tuple[str, ...]
	# Contract cases left out of every item on purpose, with the reason.
	not_mapped: List[Tuple[CaseRef, str]]

	def reason(self, r: Result) -> Optional[str]:
		for ref, why in self.not_mapped:
			if ref.matches(r):
				return why
		return None


@dataclass
class ItemVerdict:
	item: Item
	verdict: str
	# (name, status) of every result the item's cases matched, and of
	# every mapped case that matched none (MISSING).
	cases: List[Tuple[str, str]]

	@property
	def proven(self) -> bool:
		return self.verdict == PASS

	@property
	def passed(self) -> int:
		return sum(1 for _, st in self.cases if st == PASS)


# ---- reading the inputs ----

def _group(obj: Any, where: str) -> Tuple[List[Any], List[Any]]:
	if not isinstance(obj, dict) or not isinstance(obj.get('name'), str):
		raise BadInput(f'{where}: not a kunit.py JSON group')
	subs = obj.get('sub_groups', [])
	cases = obj.get('test_cases', [])
	if not isinstance(subs, list) or not isinstance(cases, list):
		raise BadInput(f'{where}: sub_groups and test_cases must be lists')
	return subs, cases


def _case(obj: Any, where: str) -> Tuple[str, str]:
	if (not isinstance(obj, dict) or not isinstance(obj.get('name'), str)
	    or obj.get('status') not in KUNIT_STATUSES):
		raise BadInput(f'{where}: a test case needs a name and a status '
			       f'out of {", ".join(KUNIT_STATUSES)}')
	return obj['name'], obj['status']


def parse_results(data: Any) -> List[Result]:
	"""Flatten kunit.py's JSON into results, one per leaf."""
	results = []  # type: List[Result]
	suites, bare = _group(data, 'results')
	# A suite without subtests (it crashed, or was skipped whole) is a
	# test case of the root group.
	for c in bare:
		name, status = _case(c, 'results')
		results.append(Result(name, None, None, status))
	for s in suites:
		subs, cases = _group(s, 'results')
		suite = s['name']
		for c in cases:
			name, status = _case(c, suite)
			results.append(Result(suite, name, None, status))
		for p in subs:
			psubs, params = _group(p, suite)
			case = p['name']
			if psubs:
				raise BadInput(f'{suite}.{case}: nested deeper '
					       'than parameters')
			if not params:
				raise BadInput(f'{suite}.{case}: a parameterised '
					       'case without parameters')
			for c in params:
				name, status = _case(c, f'{suite}.{case}')
				results.append(Result(suite, case, name, status))
	return results


def _read_json(path: str) -> Any:
	try:
		with open(path, encoding='utf-8') as f:
			return json.load(f)
	except OSError as e:
		raise BadInput(f'{path}: {e.strerror}')
	except ValueError as e:
		raise BadInput(f'{path}: not JSON: {e}')


def load_results(path: str) -> List[Result]:
	data = _read_json(path)
	try:
		return parse_results(data)
	except BadInput as e:
		raise BadInput(f'{path}: {e}')


def parse_case_ref(text: Any) -> CaseRef:
	if not isinstance(text, str):
		raise BadInput(f'{text!r}: a case is a string')
	parts = text.split('.', 2)
	if len(parts) < 2 or not all(_IDENT.match(p) for p in parts[:2]):
		raise BadInput(f'"{text}": not suite.case or suite.case.GLOB')
	if len(parts) == 3 and not parts[2]:
		raise BadInput(f'"{text}": empty parameter glob')
	return CaseRef(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def parse_map(data: Any) -> ContractMap:
	"""Check the map and return it; BadInput lists every problem."""
	if not isinstance(data, dict):
		raise BadInput('the map is not a JSON object')
	count = data.get('item_count')
	extras = data.get('extras_suites', [])
	raw = data.get('items')
	if not isinstance(count, int) or isinstance(count, bool) or count < 1:
		raise BadInput('item_count: a positive integer is needed')
	if (not isinstance(extras, list)
	    or not all(isinstance(s, str) for s in extras)):
		raise BadInput('extras_suites: a list of suite names is needed')
	if not isinstance(raw, list):
		raise BadInput('items: a list is needed')
	skipped = data.get('not_mapped', {})
	if not isinstance(skipped, dict):
		raise BadInput('not_mapped: an object of case: reason is needed')

	errors = []  # type: List[str]
	not_mapped = []  # type: List[Tuple[CaseRef, str]]
	for c, why in skipped.items():
		try:
			ref = parse_case_ref(c)
		except BadInput as e:
			errors.append(f'not_mapped: {e}')
			continue
		if not isinstance(why, str) or not why.strip():
			errors.append(f'not_mapped: "{c}": no reason')
			continue
		not_mapped.append((ref, why))
	items = {}  # type: Dict[int, Item]
	for i, obj in enumerate(raw):
		num = obj.get('item') if isinstance(obj, dict) else None
		if not isinstance(num, int) or isinstance(num, bool):
			errors.append(f'items[{i}]: no item number')
			continue
		where = f'item {num}'
		if not 1 <= num <= count:
			errors.append(f'{where}: no such item (the contract '
				      f'has items 1 to {count})')
			continue
		if num in items:
			errors.append(f'{where}: mapped twice')
			continue
		title = obj.get('title')
		if not isinstance(title, str) or not title.strip():
			errors.append(f'{where}: no title')
		gap = obj.get('gap')
		if gap is not None and not isinstance(gap, str):
			errors.append(f'{where}: gap must be a string')
			gap = None
		cases = obj.get('cases')
		if not isinstance(cases, list) or not cases:
			errors.append(f'{where}: no case mapped')
			cases = []
		refs = []
		for c in cases:
			try:
				ref = parse_case_ref(c)
			except BadInput as e:
				errors.append(f'{where}: {e}')
				continue
			if ref.suite in extras:
				errors.append(f'{where}: "{c}" is in the extras '
					      f'suite {ref.suite}, which the '
					      'contract does not judge')
				continue
			if any(ref == nm for nm, _ in not_mapped):
				errors.append(f'{where}: "{c}" is also in '
					      'not_mapped')
				continue
			refs.append(ref)
		items[num] = Item(num, title if isinstance(title, str) else '',
				  refs, gap)
	for num in range(1, count + 1):
		if num not in items and not any(e.startswith(f'item {num}:')
						 for e in errors):
			errors.append(f'item {num}: not in the map')
	if errors:
		raise BadInput('\n'.join(errors))
	return ContractMap([items[n] for n in sorted(items)], tuple(extras),
			   not_mapped)


def load_map(path: str) -> ContractMap:
	data = _read_json(path)
	try:
		return parse_map(data)
	except BadInput as e:
		lines = str(e).splitlines()
		raise BadInput('\n'.join(f'{path}: {l}' for l in lines))


# ---- judging ----

def _resolve(ref: CaseRef, results: Sequence[Result]) -> List[Tuple[str, str]]:
	hits = [(r.name, r.status) for r in results if ref.matches(r)]
	if hits:
		return hits
	# A parameterised case that crashed before its first parameter is a
	# plain case; a suite without case results stands for all its cases.
	# Either only counts for what it says: a pass is no parameter.
	for r in results:
		if (r.suite == ref.suite and r.param is None
		    and r.case in (ref.case, None) and r.status != PASS):
			return [(r.name, r.status)]
	return [(ref.name, MISSING)]


def judge_item(item: Item, results: Sequence[Result]) -> ItemVerdict:
	cases = []  # type: List[Tuple[str, str]]
	seen = set()
	for ref in item.cases:
		for name, status in _resolve(ref, results):
			if name not in seen:
				seen.add(name)
				cases.append((name, status))
	worst = min(_SEVERITY[st] for _, st in cases)
	return ItemVerdict(item, _ITEM_VERDICT[worst], cases)


def judge(cmap: ContractMap, results: Sequence[Result]) -> List[ItemVerdict]:
	return [judge_item(it, results) for it in cmap.items]


def unmapped(cmap: ContractMap, results: Sequence[Result]) -> List[Result]:
	"""Results of contract suites that no item names."""
	refs = [ref for it in cmap.items for ref in it.cases]
	return [r for r in results
		if r.suite not in cmap.extras_suites
		and not any(ref.matches(r) for ref in refs)]


def extras_counts(cmap: ContractMap,
		  results: Sequence[Result]) -> Dict[str, int]:
	counts = {}  # type: Dict[str, int]
	for r in results:
		if r.suite in cmap.extras_suites:
			counts[r.suite] = counts.get(r.suite, 0) + 1
	return counts


# ---- output ----

def _group_unmapped(cmap: ContractMap, rest: Iterable[Result]) -> List[str]:
	"""suite.case once, with the number of its parameters left out and
	the reason if the map gives one."""
	order = []  # type: List[str]
	params = {}  # type: Dict[str, int]
	reasons = {}  # type: Dict[str, str]
	for r in rest:
		key = '.'.join(p for p in (r.suite, r.case) if p is not None)
		if key not in params:
			order.append(key)
			params[key] = 0
		if r.param is not None:
			params[key] += 1
		why = cmap.reason(r)
		if why:
			reasons[key] = why
	return [k + (f' ({params[k]} parameters)' if params[k] > 1 else
		     ' (1 parameter)' if params[k] == 1 else '') +
		(f': {reasons[k]}' if k in reasons else '')
		for k in order]


def summary_line(verdicts: Sequence[ItemVerdict]) -> str:
	proven = sum(1 for v in verdicts if v.proven)
	return (f'{len(verdicts)} items: {proven} proven, '
		f'{len(verdicts) - proven} not proven')


def format_report(cmap: ContractMap, verdicts: Sequence[ItemVerdict],
		  rest: Sequence[Result], extras: Dict[str, int],
		  gaps: bool = False) -> List[str]:
	lines = ['item verdict  cases  title']
	for v in verdicts:
		lines.append(f'{v.item.number:4} {v.verdict:<7} '
			     f'{v.passed:>2}/{len(v.cases):<2}  {v.item.title}')
		for name, status in v.cases:
			if status != PASS:
				lines.append(f'{"":20}{status:<8}{name}')
		if gaps and v.item.gap:
			lines.append(f'{"":20}gap: {v.item.gap}')
	weak = [str(v.item.number) for v in verdicts if v.item.gap]
	if weak:
		lines.append('weakly pinned (--gaps, or "gap" in the map): '
			     + ', '.join(weak))
	grouped = _group_unmapped(cmap, rest)
	if grouped:
		lines.append(f'contract cases that pin no item (informational, '
			     f'{len(grouped)}):')
		lines.extend('  ' + g for g in grouped)
	if extras:
		lines.append('not judged, implementation-defined: ' +
			     ', '.join(f'{s} ({n} results)'
				       for s, n in sorted(extras.items())))
	lines.append(summary_line(verdicts))
	return lines


def report_json(results_path: str, cmap: ContractMap,
		verdicts: Sequence[ItemVerdict], rest: Sequence[Result],
		extras: Dict[str, int]) -> Dict[str, Any]:
	proven = sum(1 for v in verdicts if v.proven)
	return {
		'results': results_path,
		'items': [{
			'item': v.item.number,
			'title': v.item.title,
			'verdict': v.verdict,
			'passed': v.passed,
			'total': len(v.cases),
			'cases': [{'name': n, 'status': s} for n, s in v.cases],
			'gap': v.item.gap,
		} for v in verdicts],
		'unmapped': [{'name': r.name, 'reason': cmap.reason(r)}
			     for r in rest],
		'extras': extras,
		'summary': {'items': len(verdicts), 'proven': proven,
			    'not_proven': len(verdicts) - proven},
	}


def main(argv: Optional[List[str]] = None) -> int:
	parser = argparse.ArgumentParser(
		prog='verdict.py',
		description='A pass/fail verdict per contract item from the '
			    'JSON of kunit.py run --json.')
	parser.add_argument('results', metavar='RESULTS.json',
			    help='JSON written by kunit.py run --json=FILE')
	parser.add_argument('--items', metavar='FILE', default=str(DEFAULT_ITEMS),
			    help='the map of items to cases (default: %(default)s)')
	parser.add_argument('--json', metavar='OUT', dest='json_out',
			    help='also write the verdicts as JSON to OUT')
	parser.add_argument('--gaps', action='store_true',
			    help='print what each weakly pinned item lacks')
	try:
		args = parser.parse_args(argv)
	except SystemExit as e:
		return EXIT_BAD_INPUT if e.code else EXIT_PROVEN

	try:
		cmap = load_map(args.items)
		results = load_results(args.results)
	except BadInput as e:
		for line in str(e).splitlines():
			print(f'verdict: {line}', file=sys.stderr)
		return EXIT_BAD_INPUT

	verdicts = judge(cmap, results)
	rest = unmapped(cmap, results)
	extras = extras_counts(cmap, results)
	print('\n'.join(format_report(cmap, verdicts, rest, extras, args.gaps)))
	if args.json_out:
		try:
			with open(args.json_out, 'w', encoding='utf-8') as f:
				json.dump(report_json(args.results, cmap, verdicts,
						      rest, extras), f, indent=4)
				f.write('\n')
		except OSError as e:
			print(f'verdict: {args.json_out}: {e.strerror}',
			      file=sys.stderr)
			return EXIT_BAD_INPUT
	return EXIT_PROVEN if all(v.proven for v in verdicts) else EXIT_NOT_PROVEN


if __name__ == '__main__':
	sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""mutate.py: break the series on purpose and record which cases catch it.

  mutate.py [--kernel TREE] [--build-dir DIR] [--kunitconfig FILE]
	    [--make-option VAR=VALUE] [--mutations FILE] [--only ID,...]
	    [--out DIR] [--list]

Each mutation of FILE (default: mutations.txt next to this script) is one
small change to a file of the series in a prepared work tree (default:
the runner's, `run tree` makes it): a text that must occur exactly once,
and what to put in its place.  For each mutation mutate.py writes the
change, runs `kunit.py run --kunitconfig=... --json=...` in the tree,
reads kunit.py's JSON (verdict.py's reader) and puts the file back,
byte for byte, before the next one, also when interrupted.

The ledger (printed, and written to OUT/mutation-ledger.txt with a JSON
copy beside it) lists for each mutation the cases that failed (KILLED),
SURVIVED (every case passed) or NO BUILD; then, for each case of the
contract suites (every suite but the extras of contract_items.json),
the mutations under which it was seen failing.  The last line is
`N passed, N failed`: one check per mutation (it must be killed) and one
per contract case (it must have failed under some mutation).

Only a case that ran and failed (or crashed) counts as seen failing;
results that a crash kept from running kill the mutation but are listed
as "not run", never as caught.  A failing case is still not always the
one that pins the broken rule: a WARN in one case taints the kernel, and
a case that needs an untainted kernel fails after it too.  The ledger shows what failed; which assertion caught it
is in the per-mutation kunit.py log beside the ledger.

mutate.py refuses (exit 6, one line) when a file it would change differs
from the tree's HEAD, so that a file left mutated by a killed run (kill
-9) is never taken for the original: `git -C TREE diff` shows it.  It
holds the runner's build lock while it runs.  Python 3 standard library
only.

Exit codes: 0 every mutation killed and every contract case seen
failing, 1 otherwise, 2 bad mutations file or usage, 3 a missing tool or
tree, 5 the unmutated tree does not build or does not pass, 6 a target
file has edits not in HEAD, 130 interrupted (the file is put back first).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from kunit_runner import buildenv, buildlock, verdict  # noqa: E402
from kunit_runner.kbuild import kunit_py  # noqa: E402
# The runner's exit codes, so that each means the same in both tools.
from kunit_runner import (EXIT_OK, EXIT_USAGE, EXIT_ENV,  # noqa: E402
			  EXIT_DIRTY, EXIT_INTERRUPTED)
from kunit_runner import EXIT_TESTS_FAILED as EXIT_SURVIVORS  # noqa: E402
from kunit_runner import EXIT_BUILD as EXIT_BASELINE  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_MUTATIONS = HERE / 'mutations.txt'

KILLED = 'KILLED'
SURVIVED = 'SURVIVED'
NO_BUILD = 'NO BUILD'


class Refused(Exception):
	"""One line for the user, and the exit code."""

	def __init__(self, code, msg):
		super().__init__(msg)
		self.code = code


@dataclass
class Mutation:
	ident: str
	path: str
	why: str
	find: str
	replace: str
	line: int	# where the block starts in the mutations file


@dataclass
class Outcome:
	mutation: Mutation
	status: str
	failed: List[str] = field(default_factory=list)
	# Results of the baseline that this run did not report: the kernel
	# crashed or hung before them. They kill the mutation but are no
	# evidence that those cases would catch it.
	vanished: List[str] = field(default_factory=list)
	seconds: float = 0.0
	log: str = ''


# ---- the mutations file ----

def parse_mutations(text: str, where: str = 'mutations') -> List[Mutation]:
	"""Parse the block format of mutations.txt.

	  mutation ID
	  file drivers/virtio/virtio.c
	  why one line: the rule this breaks
	  find
	  | text lines, each after "| " (or a lone "|" for an empty line)
	  replace
	  | ...
	  end

	Lines starting with "#" outside a text and blank lines are ignored.
	"""
	muts = []  # type: List[Mutation]
	seen = set()
	cur = None  # type: Optional[Dict[str, object]]
	part = None  # type: Optional[str]

	def bad(n, msg):
		return Refused(EXIT_USAGE, f'{where}:{n}: {msg}')

	for n, raw in enumerate(text.splitlines(), 1):
		if part is not None and (raw == '|' or raw.startswith('| ')):
			cur[part].append(raw[2:])
			continue
		line = raw.strip()
		if not line or line.startswith('#'):
			continue
		word, _, rest = line.partition(' ')
		if word == 'mutation':
			if cur is not None:
				raise bad(n, f'mutation {cur["id"]} has no "end"')
			if not rest or ' ' in rest:
				raise bad(n, 'a mutation needs one word as its ID')
			if rest in seen:
				raise bad(n, f'mutation {rest} is defined twice')
			seen.add(rest)
			cur = {'id': rest, 'line': n, 'find': [], 'replace': []}
			part = None
		elif cur is None:
			raise bad(n, f'"{word}" outside a mutation block')
		elif word in ('file', 'why'):
			if not rest:
				raise bad(n, f'"{word}" needs a value')
			cur[word] = rest
			part = None
		elif word in ('find', 'replace') and not rest:
			part = word
		elif word == 'end' and not rest:
			for key in ('file', 'why'):
				if key not in cur:
					raise bad(n, f'mutation {cur["id"]} has no "{key}"')
			if not cur['find']:
				raise bad(n, f'mutation {cur["id"]} has nothing to find')
			find = '\n'.join(cur['find']) + '\n'
			replace = '\n'.join(cur['replace']) + '\n' if cur['replace'] else ''
			if find == replace:
				raise bad(n, f'mutation {cur["id"]} changes nothing')
			muts.append(Mutation(cur['id'], cur['file'], cur['why'],
					     find, replace, cur['line']))
			cur, part = None, None
		else:
			raise bad(n, f'unexpected line: {line}')
	if cur is not None:
		raise bad(cur['line'], f'mutation {cur["id"]} has no "end"')
	if not muts:
		raise Refused(EXIT_USAGE, f'{where}: no mutations')
	return muts


def apply_mutation(original: str, m: Mutation) -> str:
	"""The text of m.path with @m applied; the find text must occur once."""
	count = original.count(m.find)
	if count != 1:
		raise Refused(EXIT_USAGE,
			      f'mutation {m.ident}: its find text occurs {count} times '
			      f'in {m.path} (it must occur exactly once)')
	return original.replace(m.find, m.replace)


# ---- the tree ----

def git(tree: Path, *args: str) -> subprocess.CompletedProcess:
	return subprocess.run(['git', '-C', str(tree)] + list(args),
			      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			      text=True)


def check_clean(tree: Path, paths: Sequence[str]) -> None:
	"""Refuse unless every path in @paths is as the tree's HEAD has it."""
	r = git(tree, 'rev-parse', '--verify', '-q', 'HEAD')
	if r.returncode:
		raise Refused(EXIT_ENV, f'{tree}: not a git work tree with a commit '
			      '(make one with "tools/kunit-runner/run tree")')
	r = git(tree, 'status', '--porcelain', '--untracked-files=no', '--',
		*sorted(set(paths)))
	if r.returncode:
		raise Refused(EXIT_ENV, f'{tree}: git status failed: {r.stderr.strip()}')
	dirty = [line[3:] for line in r.stdout.splitlines() if line]
	if dirty:
		raise Refused(EXIT_DIRTY,
			      f'{tree}: {", ".join(dirty)} differ(s) from HEAD; '
			      'mutate.py changes only files it can put back from HEAD '
			      '(see "git -C TREE diff"; a run killed with -9 leaves its '
			      'mutation there)')


class Restorer:
	"""Put a file back, byte for byte and with its mode, on exit of a block."""

	def __init__(self, path: Path):
		self.path = path
		self.data = path.read_bytes()
		self.mode = path.stat().st_mode

	def write(self, text: str) -> None:
		self.path.write_text(text, encoding='utf-8')

	def __enter__(self):
		return self

	def __exit__(self, *exc):
		self.path.write_bytes(self.data)
		os.chmod(self.path, self.mode)
		return False


# ---- running kunit.py ----

def kunit_cmd(tree: Path, build_dir: Path, kunitconfigs: Sequence[Path],
	      json_path: Path, timeout: int,
	      make_options: Sequence[str] = ()) -> List[str]:
	cmd = kunit_py(tree) + ['run', f'--build_dir={build_dir}', '--arch=um',
				f'--timeout={timeout}', f'--json={json_path}']
	cmd += [f'--kunitconfig={k}' for k in kunitconfigs]
	cmd += [f'--make_options={o}' for o in make_options]
	return cmd


def run_kunit(tree: Path, cmd: List[str], log: Path) -> int:
	with open(log, 'w', encoding='utf-8') as f:
		return subprocess.run(cmd, cwd=str(tree), stdout=f,
				      stderr=subprocess.STDOUT).returncode


def read_results(json_path: Path) -> Optional[List[verdict.Result]]:
	"""kunit.py's results, or None when it wrote none (build failed)."""
	if not json_path.is_file() or json_path.stat().st_size == 0:
		return None
	try:
		return verdict.load_results(str(json_path))
	except verdict.BadInput:
		return None


def case_name(r: verdict.Result) -> str:
	return '.'.join(p for p in (r.suite, r.case) if p is not None)


UNNAMED = '(a result without a name: kunit.py saw the kernel crash)'


def failures(results: Sequence[verdict.Result]) -> List[str]:
	"""Names (suite.case or suite.case.param) that failed or crashed."""
	return sorted({r.name or UNNAMED for r in results
		       if r.status in (verdict.FAIL, verdict.ERROR)})


def vanished(results: Sequence[verdict.Result],
	     baseline: Sequence[verdict.Result]) -> List[str]:
	"""Names of the baseline that @results lacks."""
	have = {r.name for r in results}
	return sorted({r.name for r in baseline if r.name not in have})


def judge(m: Mutation, results: Optional[List[verdict.Result]],
	  baseline: Sequence[verdict.Result]) -> Outcome:
	if results is None:
		return Outcome(m, NO_BUILD)
	failed = failures(results)
	gone = vanished(results, baseline)
	return Outcome(m, KILLED if failed or gone else SURVIVED, failed, gone)


# ---- the ledger ----

def contract_cases(baseline: Sequence[verdict.Result],
		   extras: Sequence[str]) -> List[str]:
	names = {case_name(r) for r in baseline
		 if r.suite not in extras and r.case is not None}
	return sorted(names)


def caught_by(outcomes: Sequence[Outcome], cases: Sequence[str]) -> Dict[str, List[str]]:
	seen = {c: [] for c in cases}  # type: Dict[str, List[str]]
	for o in outcomes:
		hit = set()
		for name in o.failed:
			for c in cases:
				if name == c or name.startswith(c + '.'):
					hit.add(c)
		for c in sorted(hit):
			seen[c].append(o.mutation.ident)
	return seen


def ledger(outcomes: Sequence[Outcome], cases: Sequence[str]) -> List[str]:
	lines = ['# Mutations', '']
	for o in outcomes:
		m = o.mutation
		lines.append(f'{o.status:8} {m.ident} ({m.path}): {m.why}')
		if o.failed:
			shown = o.failed[:12]
			more = len(o.failed) - len(shown)
			lines.append('         failed: ' + ', '.join(shown) +
				     (f' and {more} more' if more else ''))
		if o.vanished:
			lines.append(f'         not run: {len(o.vanished)} result(s) '
				     '(the kernel stopped before them)')
	seen = caught_by(outcomes, cases)
	lines += ['', '# Contract cases, and the mutations they failed under', '']
	for c in cases:
		ids = seen[c]
		lines.append(f'{"ok" if ids else "NEVER":5}  {c}: ' +
			     (', '.join(ids) if ids else 'never seen failing'))
	killed = sum(1 for o in outcomes if o.status == KILLED)
	caught = sum(1 for c in cases if seen[c])
	lines += ['', f'mutations killed: {killed} of {len(outcomes)}; '
		  f'contract cases seen failing: {caught} of {len(cases)}',
		  f'{killed + caught} passed, '
		  f'{len(outcomes) - killed + len(cases) - caught} failed']
	return lines


def ledger_json(outcomes: Sequence[Outcome], cases: Sequence[str]) -> dict:
	seen = caught_by(outcomes, cases)
	return {
		'mutations': [{'id': o.mutation.ident, 'file': o.mutation.path,
			       'why': o.mutation.why, 'status': o.status,
			       'failed': o.failed, 'not_run': o.vanished,
			       'seconds': round(o.seconds, 1),
			       'log': o.log} for o in outcomes],
		'contract_cases': [{'case': c, 'failed_under': seen[c]} for c in cases],
	}


# ---- main ----

def say(msg: str) -> None:
	print(f'mutate: {msg}', flush=True)


def parse_args(argv):
	home = buildenv.cache_home(os.environ)
	p = argparse.ArgumentParser(prog='mutate.py', description=__doc__.splitlines()[0])
	p.add_argument('--kernel', default=os.path.join(home, 'noirq-kunit', 'work', 'linux'),
		       help='prepared work tree (default: the runner\'s)')
	p.add_argument('--build-dir', help='kunit.py build dir (default: TREE/.build-um, '
		       'the one "run" builds in)')
	p.add_argument('--kunitconfig', action='append',
		       help='kunitconfig fragment (default: the repo\'s .kunitconfig)')
	p.add_argument('--mutations', default=str(DEFAULT_MUTATIONS))
	p.add_argument('--only', help='comma-separated mutation IDs')
	p.add_argument('--out', help='where the ledger and logs go (default: '
		       'CACHE/out/mutations)')
	p.add_argument('--make-option', action='append', default=[],
		       metavar='VAR=VALUE', help='passed to kunit.py --make_options '
		       '(give it its own --build-dir), e.g. '
		       'KCFLAGS=-DCONFIG_VIRTIO_HARDEN_NOTIFICATION')
	p.add_argument('--timeout', type=int, default=180,
		       help='kunit.py --timeout per run (seconds)')
	p.add_argument('--list', action='store_true',
		       help='check the mutations against the tree and list them')
	return p.parse_args(argv)


def select(muts: List[Mutation], only: Optional[str]) -> List[Mutation]:
	if not only:
		return muts
	want = [w for w in only.split(',') if w]
	known = {m.ident for m in muts}
	unknown = [w for w in want if w not in known]
	if unknown:
		raise Refused(EXIT_USAGE, f'no such mutation: {", ".join(unknown)}')
	return [m for m in muts if m.ident in want]


def _interrupt(signum, frame):
	raise KeyboardInterrupt


def main(argv=None) -> int:
	args = parse_args(argv)
	tree = Path(args.kernel).resolve()
	mfile = Path(args.mutations)
	if not mfile.is_file():
		raise Refused(EXIT_USAGE, f'{mfile}: no such mutations file')
	muts = select(parse_mutations(mfile.read_text(encoding='utf-8'), str(mfile)),
		      args.only)
	if not (tree / 'tools' / 'testing' / 'kunit' / 'kunit.py').is_file():
		raise Refused(EXIT_ENV, f'{tree}: not a kernel tree with kunit.py '
			      '(make one with "tools/kunit-runner/run tree")')
	problems = []
	for m in muts:
		try:
			if not (tree / m.path).is_file():
				raise Refused(EXIT_USAGE, f'mutation {m.ident}: '
					      f'{tree / m.path}: no such file')
			apply_mutation((tree / m.path).read_text(encoding='utf-8'), m)
		except Refused as e:
			problems.append(str(e))
	for p in problems[:-1]:
		say(p)
	if problems:
		raise Refused(EXIT_USAGE, problems[-1])
	check_clean(tree, [m.path for m in muts])
	if args.list:
		for m in muts:
			print(f'{m.ident} ({m.path}): {m.why}')
		print(f'{len(muts)} mutation(s), each found exactly once')
		return EXIT_OK

	build_dir = Path(args.build_dir).resolve() if args.build_dir else tree / '.build-um'
	kcs = [Path(k).resolve() for k in (args.kunitconfig or [REPO / '.kunitconfig'])]
	for k in kcs:
		if not k.is_file():
			raise Refused(EXIT_USAGE, f'{k}: no such kunitconfig')
	home = buildenv.cache_home(os.environ)
	out = Path(args.out) if args.out else Path(home) / 'noirq-kunit' / 'out' / 'mutations'
	out.mkdir(parents=True, exist_ok=True)
	extras = verdict.load_map(str(verdict.DEFAULT_ITEMS)).extras_suites
	buildenv.use_ccache()
	signal.signal(signal.SIGTERM, _interrupt)
	signal.signal(signal.SIGHUP, _interrupt)

	def one(tag):
		j = out / f'{tag}.json'
		if j.exists():
			j.unlink()
		log = out / f'{tag}.log'
		t0 = time.monotonic()
		run_kunit(tree, kunit_cmd(tree, build_dir, kcs, j, args.timeout,
					  args.make_option), log)
		return read_results(j), time.monotonic() - t0, log

	with buildlock.FileLock(buildlock.build_lock_path(), 'build', shared=True, say=say):
		say(f'baseline: kunit.py run in {tree}')
		base, secs, log = one('baseline')
		if base is None:
			raise Refused(EXIT_BASELINE, f'the unmutated tree does not build or '
				      f'gives no results; see {log}')
		bad = [r.name for r in base if r.status != verdict.PASS]
		if bad:
			raise Refused(EXIT_BASELINE, f'the unmutated tree does not pass '
				      f'({len(bad)} not passed, first {bad[0]}); see {log}')
		say(f'baseline: {len(base)} results passed ({secs:.0f} s)')
		outcomes = []  # type: List[Outcome]
		for i, m in enumerate(muts, 1):
			path = tree / m.path
			with Restorer(path) as r:
				r.write(apply_mutation(path.read_text(encoding='utf-8'), m))
				results, secs, log = one(f'm-{m.ident}')
			o = judge(m, results, base)
			o.seconds, o.log = secs, str(log)
			outcomes.append(o)
			say(f'[{i}/{len(muts)}] {o.status} {m.ident}: '
			    f'{len(o.failed)} failed, {len(o.vanished)} not run '
			    f'({secs:.0f} s)')
		# Put the build dir back in step with the unmutated sources.
		say('rebuilding the unmutated tree')
		one('after')

	cases = contract_cases(base, extras)
	lines = ledger(outcomes, cases)
	(out / 'mutation-ledger.txt').write_text('\n'.join(lines) + '\n', encoding='utf-8')
	(out / 'mutation-ledger.json').write_text(
		json.dumps(ledger_json(outcomes, cases), indent=1) + '\n', encoding='utf-8')
	print('\n'.join(lines[:-1]))
	say(f'ledger: {out / "mutation-ledger.txt"} (JSON beside it, kunit.py logs in {out})')
	print(lines[-1])
	failed = int(lines[-1].split()[2])
	return EXIT_OK if failed == 0 else EXIT_SURVIVORS


if __name__ == '__main__':
	try:
		sys.exit(main())
	except Refused as e:
		say(str(e))
		print('0 passed, 1 failed')
		sys.exit(e.code)
	except buildlock.LockError as e:
		say(str(e))
		sys.exit(EXIT_ENV)
	except KeyboardInterrupt:
		say('interrupted; no file is left mutated')
		sys.exit(EXIT_INTERRUPTED)

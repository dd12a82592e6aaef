# SPDX-License-Identifier: GPL-2.0
"""test-all: every stage in order, its counts, logs and reports."""

import argparse
import datetime
import os
import re
import sys
import threading
import time
from pathlib import Path

from . import proc
from . import stages as stagefns
from .errors import EXIT_ENV, EXIT_INTERNAL, EXIT_OK, EXIT_TESTS_FAILED, EXIT_USAGE, INFRA_CODES, \
	RunnerError, disk_error
from .hostenv import BUILD_TOOLS, FETCH_TOOLS
from .proc import Git, fmt_time, out, say
from .results import add_counts, counts_dict, junit_report, summary_line, write_json_report
from .runner import Runner
from .series import series_input_kind


class StageRecord:
	"""What test-all reports of one stage (test-all.json, test-all.xml)."""

	def __init__(self, index, name):
		self.index, self.name = index, name
		self.counts = (0, 0, 0)
		self.kunit = (0, 0, 0)		# KUnit cases among self.counts
		self.kunit_json, self.junit = [], []	# kunit.py's files; junit: (path, label)
		self.errors = []		# (exit code, message)
		self.infra = 0			# failures counted for infrastructure errors
		self.duration = 0.0
		self.log = None

	@property
	def checks(self):
		return tuple(a - b for a, b in zip(self.counts, self.kunit))

	@property
	def status(self):
		"""pass, fail, skip or error (every failure is an infrastructure one)."""
		p, f, sk = self.counts
		if f == 0:
			return 'skip' if p == 0 and sk else 'pass'
		return 'error' if self.infra >= f else 'fail'


class TestAll:
	"""Context of the test-all stages; each stage returns (passed, failed, skipped).

	A stage also notes in self.rec (StageRecord) the kunit.py files of its
	runs, the KUnit cases among its counts and the errors it counted.
	"""

	def __init__(self, args, env=None, is_root=None):
		self.args, self.env, self.is_root = args, env, is_root
		self.main = Runner(args, env=env, is_root=is_root)
		self.penv = dict(self.main.env)
		self.rec = StageRecord(0, '')

	def error(self, e):
		"""Say and record the RunnerError @e; it counts as one failure."""
		say(e.message)
		self.rec.errors.append((e.code, e.message))
		if e.code in INFRA_CODES:
			self.rec.infra += 1
		return (0, 1, 0)

	def note_kunit(self, js, junit=None, cases=None, label=None):
		"""Record a kunit.py run: its --json (and --junit) file, its counted cases."""
		if Path(js).exists():
			self.rec.kunit_json.append(str(js))
		if junit and Path(junit).exists() and cases is not None:
			self.rec.junit.append((str(junit), label))
		if cases:
			self.rec.kunit = tuple(a + b for a, b in zip(self.rec.kunit, cases))

	def note_runner(self, r, label=None, counted=True):
		if r.counts is None:  # no exec step: its out dir holds older files
			return
		self.note_kunit(r.out_dir / 'results.json', r.out_dir / 'results.xml',
				r.case_counts if counted else None, label)

	def sub_args(self, **kw):
		a = argparse.Namespace(**vars(self.args))
		for k, v in kw.items():
			setattr(a, k, v)
		return a

	def runner_stage(self, args, check=None, label=None, adjust=None):
		r = Runner(args, env=self.env, is_root=self.is_root)
		try:
			r.run()
		finally:
			if adjust is None:
				self.note_runner(r, label)
		c = r.counts or (0, 1, 0)
		if adjust:
			c, cases = adjust(c, r)
			self.note_kunit(r.out_dir / 'results.json', r.out_dir / 'results.xml', cases, label)
		if check:
			ok = check(r)
			c = (c[0] + (1 if ok else 0), c[1] + (0 if ok else 1), c[2])
		return c

	def work_tree(self):
		return self.main.prepare()

	def start_prepare(self):
		"""Prepare the work tree in a thread while the self-tests run.

		Both keep about one core busy (a cold prepare unpacks and commits
		the base: about a minute), so side by side they take the time of
		the longer one. Stage 2 waits for it (join_prepare()). Not started
		when a tool is missing: stage 2 then installs or reports it.
		"""
		self.bg, self.bg_lines, self.bg_error = None, [], None
		r = Runner(self.args, env=self.env, is_root=self.is_root)
		tools = BUILD_TOOLS if r.kernel else BUILD_TOOLS + FETCH_TOOLS
		if any(not r.which(t) for t in tools):
			return
		self.bg = threading.Thread(target=self._prepare, args=(r,), name='prepare', daemon=True)
		self.bg.start()

	def _prepare(self, r):
		proc._held.lines = self.bg_lines
		try:
			r.prepare()
		except BaseException as e:  # raised again by join_prepare()
			self.bg_error = e

	def join_prepare(self):
		"""Wait for start_prepare()'s thread, print its lines, raise its error."""
		bg, self.bg = getattr(self, 'bg', None), None
		if bg is None:
			return
		bg.join()
		for line in self.bg_lines:
			out(line)
		if self.bg_error is not None:
			raise self.bg_error

	def stages(self):
		st = [('runner self-tests', stagefns.stage_selftests),
		      ('KUnit suite (UML, .kunitconfig)', stagefns.stage_kunit)]
		if self.args.quick:
			return st
		return st + [
			('KUnit suite, notification hardening, coverage (UML, gcov)',
			 stagefns.stage_harden_coverage),
			('base behaviour proof and bisect (every --upto prefix, base suites)',
			 stagefns.stage_base_proof),
			('end to end under QEMU microvm (e2e.py' +
			 (', 1000-cycle soak; arm64 virt)' if self.args.full
			  else f', {stagefns.E2E_CI_CYCLES} cycles)'),
			 stagefns.stage_e2e),
			('KUnit suite under QEMU x86_64', stagefns.stage_x86_64),
			('series checks (series_checks.py' +
			 (', every group)' if self.args.full else ': checkpatch, kernel-doc)'),
			 stagefns.stage_series_checks)]


class _Tee:
	"""sys.stdout that also writes to a stage's log file."""

	def __init__(self, stream, f):
		self.stream, self.f = stream, f

	def write(self, s):
		self.f.write(s)
		return self.stream.write(s)

	def flush(self):
		self.f.flush()
		self.stream.flush()

	def __getattr__(self, name):
		return getattr(self.stream, name)


def slug(text):
	return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')[:40]


def repo_commit(repo, env):
	"""git rev-parse HEAD of @repo, with -dirty if its work tree has changes; None if no git."""
	g = Git(repo, env)
	head = g.try_out('rev-parse', 'HEAD')
	if not head:
		return None
	st = g('--no-optional-locks', 'status', '--porcelain', check=False).stdout.strip()
	return head + ('-dirty' if st else '')


def run_stage(ta, rec, fn):
	"""Run one stage with its output teed to rec.log; fill in rec."""
	t0 = time.time()
	old = sys.stdout
	try:
		lf = open(rec.log, 'w')
	except OSError as e:
		say(f'cannot write the stage log {rec.log}: {e.strerror}')
		lf, rec.log = None, None
	if lf:
		sys.stdout = _Tee(old, lf)
	try:
		try:
			c = fn(ta)
		except OSError as e:
			err = disk_error(e)
			if err is None:
				raise
			raise err
	except RunnerError as e:
		c = ta.error(e)
	except Exception:  # noqa: a broken stage must not hide the others
		import traceback
		traceback.print_exc(file=sys.stdout)
		c = ta.error(RunnerError(EXIT_INTERNAL, f'internal error in stage "{rec.name}"; '
					 'counting one failure'))
	finally:
		sys.stdout = old
		if lf:
			lf.close()
	rec.counts = tuple(c)
	# cases a stage noted can never exceed what it counts
	rec.kunit = tuple(min(a, b) for a, b in zip(rec.kunit, rec.counts))
	rec.duration = time.time() - t0
	return rec


def test_all_exit(records):
	"""0 if nothing failed; EXIT_ENV if every failed stage failed for
	infrastructure reasons only (status error); else EXIT_TESTS_FAILED."""
	failed = [r for r in records if r.counts[1]]
	if not failed:
		return EXIT_OK
	if all(r.status == 'error' for r in failed):
		return EXIT_ENV
	return EXIT_TESTS_FAILED


def cmd_test_all(args, env=None, is_root=None):
	"""Every stage (or, with --quick, self-tests + KUnit suite); one combined line."""
	ta = TestAll(args, env=env, is_root=is_root)
	# bad input options are one usage error, not a failure of every stage
	ta.main.check_input_options()
	if ta.main.series_path and not series_input_kind(ta.main.series_path):
		raise RunnerError(EXIT_USAGE, f'--series {ta.main.series_path}: no such file or directory')
	stages = ta.stages()
	records = []
	started = datetime.datetime.now(datetime.timezone.utc)
	t_all = time.time()
	out_dir = ta.main.out_dir
	logs = out_dir / 'test-all-logs'
	try:
		logs.mkdir(parents=True, exist_ok=True)
	except OSError as e:
		raise disk_error(e) or RunnerError(EXIT_ENV, f'cannot create {logs}: {e.strerror}')
	ta.start_prepare()
	for i, (title, fn) in enumerate(stages, 1):
		out(f'==== test-all [{i}/{len(stages)}] {title} ====')
		ta.rec = rec = StageRecord(i, title)
		rec.log = logs / f'{i}-{slug(title)}.log'
		run_stage(ta, rec, fn)
		records.append(rec)
		c = rec.counts
		out(f'==== test-all [{i}/{len(stages)}] {title}: {summary_line(*c)} -- '
		    f'{"FAIL" if c[1] else "ok"} ({fmt_time(rec.duration)}) ====')
	duration = time.time() - t_all
	out('test-all summary:')
	for r in records:
		tag = {'fail': 'FAIL', 'error': 'ERR '}.get(r.status, 'ok  ')
		out(f'  {tag} {fmt_time(r.duration):>7}  {r.name}: {summary_line(*r.counts)}')
	tier = ' (--quick: self-tests and the UML KUnit suite only)' if args.quick else \
		(' (--full: the whole matrix)' if args.full else ' (CI tier; --full runs the whole matrix)')
	out(f'  total wall time {fmt_time(duration)}' + tier)
	start = (env if env is not None else os.environ).get('NOIRQ_CI_START')
	if start and start.isdigit():
		out(f'  .ci/run elapsed {fmt_time(time.time() - int(start))} (package install included)')
	total = add_counts(*(r.counts for r in records))
	kunit = add_counts(*(r.kunit for r in records))
	checks = add_counts(*(r.checks for r in records))
	code = test_all_exit(records)
	if code == EXIT_ENV:
		out(f'  every failure is an infrastructure failure (exit code {EXIT_ENV}), not a test result')
	js, xml = out_dir / 'test-all.json', out_dir / 'test-all.xml'
	report = {
		'report': 'kunit-runner test-all', 'version': 1,
		'tier': 'quick' if args.quick else ('full' if args.full else 'ci'),
		'repo': {'path': str(ta.main.repo), 'commit': repo_commit(ta.main.repo, ta.main.env)},
		'base': ta.main.base_info(),
		'series': ta.main.series_info(),
		'started': started.isoformat(timespec='seconds'), 'duration': round(duration, 3),
		'stages': [{
			'index': r.index, 'name': r.name, 'status': r.status, **counts_dict(r.counts),
			'kunit_cases': counts_dict(r.kunit), 'checks': counts_dict(r.checks),
			'duration': round(r.duration, 3), 'log': str(r.log) if r.log else None,
			'kunit_json': r.kunit_json, 'kunit_junit': [p for p, _ in r.junit],
			'errors': [{'exit_code': code_, 'message': m, 'infrastructure': code_ in INFRA_CODES}
				   for code_, m in r.errors]} for r in records],
		'total': counts_dict(total), 'kunit_cases': counts_dict(kunit), 'checks': counts_dict(checks),
		'status': {EXIT_OK: 'pass', EXIT_ENV: 'error'}.get(code, 'fail'), 'exit_code': code,
		'reports': {'json': str(js), 'junit': str(xml)},
	}
	written = []
	try:
		write_json_report(js, report)
		written.append(js)
		junit_report(records, duration).write(xml, encoding='utf-8', xml_declaration=True)
		written.append(xml)
	except OSError as e:
		say(f'cannot write {xml if written else js}: {e.strerror}')
		code = code or EXIT_ENV
	for w in written:
		out(f'  report: {w}')
	out(f'  stage logs: {logs}/')
	out(f'KUnit cases: {summary_line(*kunit)}; checks: {summary_line(*checks)}')
	out(summary_line(*total))
	return code

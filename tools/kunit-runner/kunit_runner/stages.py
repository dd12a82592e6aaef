# SPDX-License-Identifier: GPL-2.0
"""The stages of test-all: each takes the TestAll context and returns
(passed, failed, skipped)."""

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from . import verdict
from .cache import RUN, TOOL_DIR
from .errors import EXIT_ENV, RunnerError
from .proc import say, stream_cmd
from .results import (add_counts, kunit_json_cases, kunit_json_counts, kunit_json_suite_counts,
		      parse_summary, summary_line)
from .runner import Runner
from .series import read_series

HERE = TOOL_DIR
BASE_KUNITCONFIG = HERE / 'base.kunitconfig'
E2E_PY = HERE / 'e2e.py'
SERIES_CHECKS_PY = HERE / 'series_checks.py'
HARDEN_DEFINE = '-DCONFIG_VIRTIO_HARDEN_NOTIFICATION'
E2E_CI_CYCLES = 20
# test-all --full, e2e.py --arch arm64: s2idle cycles per boot
E2E_ARM64_CYCLES = 100
# The KUnit proof of the series' first patch (the in-order reset fix): it
# must fail on the base (--upto 0) and pass from --upto 1 on.
FIX_PROOF_SUITE = 'virtio_ring_reset'


def fix_proof_counts(c, js):
	"""Counts of the --upto 0 run with the fix-proof suite turned into one check.

	On the base, the suite that proves the first patch must fail; its cases
	are not counted, the check is.
	"""
	suite = kunit_json_suite_counts(js).get(FIX_PROOF_SUITE)
	if suite is None:
		say(f'fix proof: suite {FIX_PROOF_SUITE} did not run at --upto 0; counting one failure')
		return c[0], c[1] + 1, c[2]
	ok = suite[1] > 0
	say(f'fix proof: {FIX_PROOF_SUITE} ' + (f'fails on the base as it must ({suite[1]} failed, '
		f'{suite[0]} passed)' if ok else 'passes on the base: it does not show the bug'))
	return (c[0] - suite[0] + (1 if ok else 0), c[1] - suite[1] + (0 if ok else 1),
		c[2] - suite[2])


def stage_selftests(ta):
	with tempfile.NamedTemporaryFile(prefix='kunit-runner-counts-', suffix='.json') as tf:
		rc, _ = stream_cmd([sys.executable, str(RUN), 'selftest',
				    '--counts-file', tf.name], env=ta.env)
		try:
			st = tuple(json.loads(Path(tf.name).read_text()))
		except (OSError, ValueError):
			st = (0, 1, 0)
	if rc != 0 and st[1] == 0:
		st = (st[0], 1, st[2])
	return st


def contract_verdict(js):
	"""One check: verdict.py proves every contract item from @js.

	Skipped when no suite of the contract map ran (a --filter, a fake)."""
	try:
		data = json.loads(Path(js).read_text())
		suites = {g.get('name') for g in data.get('sub_groups', [])}
		mapped = {c.suite for it in verdict.load_map(str(verdict.DEFAULT_ITEMS)).items
			  for c in it.cases}
	except (OSError, ValueError, AttributeError, verdict.BadInput) as e:
		say(f'contract verdict: cannot read {js} or the map ({e}); counting one failure')
		return (0, 1, 0)
	if not suites & mapped:
		say('contract verdict: no suite of the contract map ran; skipped')
		return (0, 0, 1)
	rc, _ = stream_cmd([sys.executable, str(HERE / 'verdict.py'), str(js),
			    '--json', str(Path(js).with_name('verdict.json'))])
	say('contract verdict: ' + ('every item proven' if rc == 0 else
				    f'verdict.py exited {rc}: not every item proven'))
	return (1, 0, 0) if rc == 0 else (0, 1, 0)


def stage_kunit(ta):
	ta.join_prepare()
	r = Runner(ta.args, env=ta.env, is_root=ta.is_root)
	try:
		r.run()
	finally:
		ta.note_runner(r)
	c = r.counts or (0, 1, 0)
	v = contract_verdict(r.out_dir / 'results.json')
	return tuple(a + b for a, b in zip(c, v))


def harden_applied(build_dir):
	"""True when drivers/virtio/virtio.o was compiled with HARDEN_DEFINE."""
	cmd = Path(build_dir) / 'drivers' / 'virtio' / '.virtio.o.cmd'
	try:
		text = cmd.read_text(errors='replace')
	except OSError:
		say(f'hardening self-check: no {cmd}')
		return False
	ok = re.search(re.escape(HARDEN_DEFINE) + r'(\s|$)', text) is not None
	say(f'hardening self-check: {HARDEN_DEFINE} ' + ('is' if ok else 'is NOT') +
	    f' in the compile command of {cmd}')
	return ok


def stage_harden_coverage(ta):
	"""The suite with notification hardening, built with gcov (UML).

	One build serves two parts of the matrix: item 12 of the contract,
	hardening "on and off" (this run and stage 2's), and the coverage of
	the series' lines. The hardening define only adds code (the series'
	lines under it are #ifdef blocks with no #else), so this build
	instruments every series line a plain build has, plus the hardened
	ones. Counts: the KUnit cases, the contract verdict, the hardening
	self-check and the coverage threshold.
	"""
	a = ta.sub_args(build_dir=str(ta.main.aside_build_dir('harden-coverage')), filter=None,
			make_option=list(ta.args.make_option or []) + [f'KCFLAGS={HARDEN_DEFINE}'],
			out=str(ta.main.out_dir / 'harden-coverage'), kunit_build=False)
	r = Runner(a, env=ta.env, is_root=ta.is_root)
	r.cov_ok = None
	try:
		r.coverage()
		cov = (1, 0, 0) if r.cov_ok else (0, 1, 0)
	except RunnerError as e:
		cov = ta.error(e)
	finally:
		ta.note_runner(r)
	if r.counts is None:  # no kunit.py run: the error above is the count
		return cov
	c = add_counts(r.counts, cov, contract_verdict(r.out_dir / 'results.json'))
	ok = harden_applied(r.build_dir)
	return add_counts(c, (1, 0, 0) if ok else (0, 1, 0))


def stage_base_proof(ta):
	"""Base suites at every prefix, in one shared --upto work tree and build.

	Prefix k is patches 1..k plus the KUnit hook patch. Each step rebuilds
	only what the patches in between changed, so this is one cold build
	plus a few incremental ones: the UML bisect of the CI tier, and the
	"no functional change" proof of every patch before the noirq core. At
	--upto 0 the proof of the first patch, an upstream fix, must fail.
	"""
	if ta.main.input_kind != 'repo':
		say('the base proof and bisect run on the series of patches/ only; stage skipped '
		    '(counted as 1 skipped)')
		return 0, 0, 1
	n = len(read_series(ta.main.repo / 'patches')) - 1
	total = (0, 0, 0)
	for k in range(0, max(n, 0) + 1):
		what = 'prefix'
		say(f'{what}: --upto {k}')
		a = ta.sub_args(upto=k, kunitconfig=[str(BASE_KUNITCONFIG)], build_dir=None,
				filter=None, out=str(ta.main.out_dir / f'base-upto{k}'))
		try:
			c = ta.runner_stage(a, label=f'--upto {k}', adjust=fix_proof_adjust if k == 0 else None)
		except RunnerError as e:
			c = ta.error(e)
		say(f'{what} --upto {k}: {summary_line(*c)}')
		total = tuple(x + y for x, y in zip(total, c))
	return total


def fix_proof_adjust(c, r):
	"""(counts, KUnit cases) of the --upto 0 run: the fix-proof suite is one check."""
	js = r.out_dir / 'results.json'
	cases = r.case_counts
	suite = kunit_json_suite_counts(js).get(FIX_PROOF_SUITE)
	if cases and suite:
		cases = tuple(a - b for a, b in zip(cases, suite))
	return fix_proof_counts(c, js), cases


def script_counts(ta, what, rc, lines):
	"""parse_summary() of a stage script; its exit code 3 is an infrastructure failure."""
	c = parse_summary(lines, rc)
	if rc == EXIT_ENV:
		ta.rec.errors.append((rc, f'{what} exited {rc} (missing environment)'))
		ta.rec.infra += c[1]
	return c


def stage_e2e(ta):
	wt = ta.work_tree()
	bdir = ta.main.layout.build_dir('e2e-x86_64')
	cmd = [sys.executable, E2E_PY, '--kernel', wt, '--build-dir', bdir]
	cmd += ['--soak'] if ta.args.full else [f'--cycles={E2E_CI_CYCLES}']
	# A real hibernation image, written and restored by a second boot
	# (about 10 s), and one boot of the driver without noirq callbacks,
	# where the consumer's resume_noirq fetch must fail (a few seconds):
	# in both tiers.
	cmd += ['--hib-image', '--compare']
	if not ta.main.is_root:
		cmd.append('--no-install')
	rc, lines = stream_cmd(cmd, env=ta.penv)
	c = script_counts(ta, 'e2e.py', rc, lines)
	if not ta.args.full:
		return c
	# --full: the same boots on arm64 (QEMU virt under TCG, a cross-built
	# kernel in its own build dir), with fewer pm_test cycles than the soak
	# (about 0.15 s a cycle there).
	say(f'e2e.py --arch arm64: {E2E_ARM64_CYCLES} s2idle cycles, the 3 '
	    'hibernation levels, a hibernation image, both virtio-mmio versions')
	cmd = [sys.executable, E2E_PY, '--arch', 'arm64', '--kernel', wt, '--build-dir',
	       ta.main.layout.build_dir('e2e-arm64'), f'--cycles={E2E_ARM64_CYCLES}',
	       '--hib-image', '--compare']
	if not ta.main.is_root:
		cmd.append('--no-install')
	rc, lines = stream_cmd(cmd, env=ta.penv)
	return add_counts(c, script_counts(ta, 'e2e.py --arch arm64', rc, lines))


def stage_x86_64(ta):
	"""The KUnit suite under QEMU x86_64, on stage 5's kernel.

	One minimal x86_64 kernel serves the e2e boots and this run: e2e.py
	--kunit builds it if stage 5 did not (else make finds nothing to do),
	boots it once with the tests enabled and has kunit.py parse the log.
	"""
	wt = ta.work_tree()
	bdir = ta.main.layout.build_dir('e2e-x86_64')
	odir = ta.main.out_dir / 'x86_64'
	odir.mkdir(parents=True, exist_ok=True)
	js, ju = odir / 'results.json', odir / 'results.xml'
	for f in (js, ju):
		if f.exists():
			f.unlink()
	cmd = [sys.executable, E2E_PY, '--kernel', wt, '--build-dir', bdir, '--kunit',
	       '--kunit-json', js, '--kunit-junit', ju]
	if not ta.main.is_root:
		cmd.append('--no-install')
	rc, lines = stream_cmd(cmd, env=ta.penv)
	log = bdir / 'kunit-serial.log'
	if log.exists():
		shutil.copyfile(log, odir / 'test.log')
	c = kunit_json_counts(js, log)
	ta.note_kunit(js, ju, kunit_json_cases(js))
	if rc == EXIT_ENV:
		ta.rec.errors.append((rc, f'e2e.py --kunit exited {rc} (missing environment)'))
		ta.rec.infra += 1
	if rc != 0 and c[1] == 0:
		say(f'e2e.py --kunit exit {rc}; counting one failure')
		c = (c[0], 1, c[2])
	say(f'results: {js}')
	return c


def stage_series_checks(ta):
	if not SERIES_CHECKS_PY.is_file():
		say(f'{SERIES_CHECKS_PY.name} is not present in {SERIES_CHECKS_PY.parent}; '
		    'stage skipped (counted as 1 skipped)')
		return 0, 0, 1
	wt = ta.work_tree()
	# Every prefix compiles drivers/virtio with W=1; the kernel image is
	# linked at the tip only, which keeps the cold run inside CI's budget.
	cmd = [sys.executable, SERIES_CHECKS_PY, '--kernel', wt, '--cache', ta.main.layout.series_checks,
	       '--link', 'tip']
	if not ta.args.full:
		cmd += ['--only', 'checkpatch,kernel-doc']
	if ta.args.jobs:
		cmd.append(f'--jobs={ta.args.jobs}')
	rc, lines = stream_cmd(cmd, env=ta.penv)
	return script_counts(ta, 'series_checks.py', rc, lines)

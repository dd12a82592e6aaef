# SPDX-License-Identifier: GPL-2.0
"""The kunit.py driver: the config step (with its stamp), the kernel build,
the exec step, and run --modules (modrun.py)."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import buildseed, modrun
from .cache import TOOL_DIR
from .errors import (DISK_FULL_RE, EXIT_BUILD, EXIT_ENV, EXIT_OK, EXIT_TESTS_FAILED, EXIT_USAGE,
		     RunnerError)
from .filesig import sha256_file
from .hostenv import BUILD_TOOLS, FETCH_TOOLS
from .lock import FileLock
from .proc import fmt_time, out, say, stream_cmd
from .results import SPLAT_RE, misc_counts, splat_lines, summary_line

QEMU_TOOLS = {'x86_64': 'qemu-system-x86_64', 'arm64': 'qemu-system-aarch64'}

# A fragment after the user's kunitconfig in every config step: a stable
# kernel release string, so the placed-files commit recompiles nothing.
RUNNER_FRAGMENT = TOOL_DIR / 'configs' / 'kunit-runner.config'


def kunit_py(tree):
	"""The command of the kunit.py of the kernel tree @tree: the one way the
	runner, modrun.py, e2e.py, series_checks.py and mutate.py call kunit.py."""
	return [sys.executable, str(Path(tree) / 'tools' / 'testing' / 'kunit' / 'kunit.py')]


def merge_kcflags(make_options, extra=()):
	"""@make_options with every KCFLAGS= (and @extra) in one KCFLAGS=.

	On make's command line the last KCFLAGS= wins; the runner's own
	flags (hardening, coverage) must not drop the caller's.
	"""
	out, flags, at = [], [], None
	for m in make_options:
		if m.startswith('KCFLAGS='):
			flags.append(m[len('KCFLAGS='):])
			if at is None:
				at = len(out)
				out.append(None)
		else:
			out.append(m)
	flags += list(extra)
	flags = [f for f in flags if f]
	if not flags:
		return [m for m in out if m is not None]
	kc = 'KCFLAGS=' + ' '.join(flags)
	if at is None:
		return out + [kc]
	out[at] = kc
	return out


class KBuild:
	"""kunit.py config, the kernel build and kunit.py exec of a Runner."""

	def kunit_py(self, wt):
		return kunit_py(wt)

	def common_args(self, kunitconfig):
		"""kunit.py options; @kunitconfig is a list of fragments (merged by kunit.py)."""
		a = [f'--build_dir={self.build_dir}', f'--arch={self.args.arch}']
		a += [f'--kunitconfig={k}' for k in kunitconfig]
		a += [f'--kconfig_add={k}' for k in (self.args.kconfig_add or [])]
		return a

	def kunitconfig(self):
		"""The kunitconfig fragments: --kunitconfig (repeatable) or the repo's
		.kunitconfig, then the runner's own (RUNNER_FRAGMENT)."""
		kcs = [Path(k).resolve() for k in self.args.kunitconfig] if self.args.kunitconfig \
			else [self.repo / '.kunitconfig']
		for kc in kcs:
			if not kc.is_file():
				raise RunnerError(EXIT_USAGE, f'kunitconfig {kc}: no such file (pass --kunitconfig FILE)')
		return kcs + [RUNNER_FRAGMENT]

	def stream(self, cmd, cwd, log=None):
		"""Run @cmd (kunit.py, or make and depmod of --modules), echoing its
		output (and writing it to @log); return its exit code."""
		rc, lines = stream_cmd(cmd, env=self.env, cwd=cwd, stdin=None)
		if log:
			Path(log).write_text(''.join(f'{line}\n' for line in lines))
		return rc

	def config_stamp(self, wt, kc):
		files = self.git('ls-files', '-z', '--cached', '--others', '--exclude-standard', '--',
				 '*Kconfig*').stdout.split('\0')
		h = hashlib.sha256()
		for f in sorted(set(filter(None, files))):
			p = wt / f
			h.update(f.encode() + b'\0' + (sha256_file(p) if p.is_file() else '-').encode())
		return {'arch': self.args.arch, 'kunitconfig': [sha256_file(k) for k in kc],
			'kconfig_add': list(self.args.kconfig_add or []), 'kconfig_files': h.hexdigest(),
			'wt': str(wt)}

	def config_step(self, wt, kc):
		stamp_path = self.build_dir / '.kunit-runner-config-stamp'
		stamp = self.config_stamp(wt, kc)
		try:
			old = json.loads(stamp_path.read_text())
		except (OSError, ValueError):
			old = None
		cfg = self.build_dir / '.config'
		if old == stamp and cfg.exists():
			say('config unchanged (kunitconfig and Kconfig files); skipping kunit.py config')
			return
		if cfg.exists() and (old is None or old.get('kconfig_files') != stamp['kconfig_files']
				     or old.get('arch') != stamp['arch'] or old.get('wt') != stamp['wt']):
			cfg.unlink()  # Kconfig files changed: let kunit.py regenerate .config
		say('kunit.py config')
		rc = self.stream(self.kunit_py(wt) + ['config'] + self.common_args(kc), cwd=wt)
		if rc != 0:
			if stamp_path.exists():
				stamp_path.unlink()
			raise RunnerError(EXIT_BUILD, f'config step failed (kunit.py config exit {rc})')
		stamp_path.write_text(json.dumps(stamp, sort_keys=True) + '\n')

	def build_cmd(self, wt, kc):
		jobs = self.args.jobs or len(os.sched_getaffinity(0))
		mo = merge_kcflags(self.args.make_option or [], getattr(self, 'extra_kcflags', ()))
		if self.args.arch == 'um' and not self.args.kunit_build:
			targets = ['linux'] + (['modules'] if getattr(self.args, 'modules', False) else [])
			return ['make', 'ARCH=um', f'O={self.build_dir}', f'-j{jobs}'] + mo + targets
		return self.kunit_py(wt) + ['build'] + self.common_args(kc) + [f'--jobs={jobs}'] + \
			[f'--make_options={m}' for m in mo]

	def build_step(self, wt, kc):
		cmd = self.build_cmd(wt, kc)
		log = self.out_dir / 'build.log'
		say('build: ' + ' '.join(str(c) for c in cmd))
		interval = 30 if self.ci else 10
		t0 = time.time()
		objs = [0]
		tail = []
		p = subprocess.Popen([str(c) for c in cmd], cwd=wt, env=self.env, stdout=subprocess.PIPE,
				     stderr=subprocess.STDOUT, text=True, errors='backslashreplace')
		obj_re = re.compile(r'^\s+(CC|AS|CC \[M\])\s+\S+\.o\b')

		err_re = re.compile(r'(^|: )(fatal )?error:|undefined reference|Error \d')
		errors = []
		disk = []

		def reader():
			with open(log, 'w') as lf:
				for line in p.stdout:
					lf.write(line)
					if obj_re.match(line):
						objs[0] += 1
					elif err_re.search(line) and len(errors) < 20:
						errors.append(line.rstrip('\n'))
					if DISK_FULL_RE.search(line) and not disk:
						disk.append(line.strip())
					tail.append(line.rstrip('\n'))
					del tail[:-40]
		th = threading.Thread(target=reader, daemon=True)
		th.start()
		while True:
			try:
				p.wait(timeout=interval)
				break
			except subprocess.TimeoutExpired:
				out(f'[build {fmt_time(time.time() - t0)}] {objs[0]} objects')
		th.join()
		dt = time.time() - t0
		if p.returncode != 0:
			for l in (errors or tail[-20:]):
				out(f'  {l}')
			if disk:
				raise RunnerError(EXIT_ENV, f'build failed: no space left on the device ({disk[0]}); '
						  f'full log: {log}')
			raise RunnerError(EXIT_BUILD, f'build failed (exit {p.returncode}); full log: {log}')
		if objs[0] == 0:
			say(f'build: nothing to rebuild ({dt:.1f}s)')
		else:
			say(f'build: {objs[0]} objects compiled in {fmt_time(dt)}')

	def exec_step(self, wt, kc):
		js, ju = self.out_dir / 'results.json', self.out_dir / 'results.xml'
		for f in (js, ju):
			if f.exists():
				f.unlink()
		cmd = self.kunit_py(wt) + ['exec'] + self.common_args(kc) + [f'--json={js}', f'--junit={ju}']
		if self.args.filter:
			cmd.append(self.args.filter)
		say('kunit.py exec')
		rc = self.stream(cmd, cwd=wt)
		raw = self.build_dir / 'test.log'
		splats = []
		if raw.exists():
			shutil.copyfile(raw, self.out_dir / 'test.log')
			splats = splat_lines(raw)
		passed = failed = skipped = 0
		self.case_counts = None
		if js.exists():
			try:
				misc = json.loads(js.read_text())['misc']
				passed, skipped = misc['passed'], misc['skipped']
				self.case_counts = misc_counts(misc)
				failed = self.case_counts[1]
			except (ValueError, KeyError, TypeError):
				say(f'cannot read {js}')
				failed = 1
		else:
			say(f'no test results (kunit.py exec exit {rc} wrote no {js.name}); counting one failure')
			failed = 1
		if passed + failed + skipped == 0:
			say('no test ran; counting one failure')
			failed = 1
		for l in splats:
			say(f'kernel splat: {l.strip()}')
		if splats:
			say(f'{len(splats)} kernel splat line(s) in {self.out_dir / "test.log"} counted as failures')
		failed += len(splats)
		self.counts = (passed, failed, skipped)
		say(f'results: {js}, {ju}, raw log: {self.out_dir / "test.log"}')
		out(summary_line(passed, failed, skipped))
		return EXIT_OK if failed == 0 else EXIT_TESTS_FAILED

	def run(self):
		tools = list(BUILD_TOOLS)
		if self.args.arch in QEMU_TOOLS:
			tools.append(QEMU_TOOLS[self.args.arch])
		if not self.kernel:
			tools += FETCH_TOOLS
		if getattr(self.args, 'modules', False):
			tools.append('busybox')
		self.ensure_tools(tuple(dict.fromkeys(tools)))
		kc = self.kunitconfig()
		wt = self.prepare()
		self.out_dir.mkdir(parents=True, exist_ok=True)
		if getattr(self.args, 'modules', False):
			self.build_dir.mkdir(parents=True, exist_ok=True)
			return self.run_modules(wt, kc)
		with FileLock(self.lock_path, 'build', self.args.lock_timeout, shared=True):
			self.seed_build_dir(wt)
			self.build_dir.mkdir(parents=True, exist_ok=True)
			self.config_step(wt, kc)
			self.build_step(wt, kc)
			return self.exec_step(wt, kc)

	def seed_build_dir(self, wt):
		"""A new --upto build dir starts as a copy of the full series' one.

		Only the objects the prefix or the kunitconfig changes are then
		rebuilt (buildseed.py). Called with the build lock held.
		"""
		if self.args.upto is None or self.build_dir.exists() or \
		   self.build_dir != wt / f'.build-{self.args.arch}':
			return
		src = wt.with_name(wt.name[:-len('-upto')])
		t0 = time.time()
		n = buildseed.seed(src, src / self.build_dir.name, wt, self.build_dir, env=self.env)
		if n is not None:
			say(f'build dir {self.build_dir} seeded from {src / self.build_dir.name} '
			    f'({n} unchanged files took its mtimes, {fmt_time(time.time() - t0)})')

	def aside_build_dir(self, what):
		"""CACHE/build/NAME-ARCH-@what: a build dir outside the work tree.

		For builds that get no ccache hits from the others anyway (gcov,
		modules); absolute source paths there keep lcov's paths simple.
		"""
		return self.layout.build_dir(f'{self.name}-{self.args.arch}-{what}')

	def run_modules(self, wt, kc):
		"""run --modules: the test symbols =m, loaded by modprobe (modrun.py)."""
		if self.args.arch != 'um':
			raise RunnerError(EXIT_USAGE, '--modules runs under UML only (--arch um)')
		adds, self.module_names = modrun.module_config(k.read_text() for k in kc)
		if not self.module_names:
			raise RunnerError(EXIT_USAGE, 'no test module in the kunitconfig: --modules needs '
					  'one of ' + ', '.join(modrun.MODULE_TESTS))
		self.args.kconfig_add = list(self.args.kconfig_add or []) + adds
		if not self.args.build_dir:
			self.build_dir = self.aside_build_dir('modules')
		self.build_dir.mkdir(parents=True, exist_ok=True)
		with FileLock(self.lock_path, 'build', self.args.lock_timeout, shared=True):
			self.config_step(wt, kc)
			self.build_step(wt, kc)
			console, js, _ = modrun.run(self, wt, kc, say, self.stream, RunnerError,
						    {'build': EXIT_BUILD})
		self.counts, self.case_counts = modrun.counts(js, console, self.module_names,
							      SPLAT_RE, say)
		say(f'results: {js}, raw log: {self.out_dir / "test.log"}')
		out(summary_line(*self.counts))
		return EXIT_OK if self.counts[1] == 0 else EXIT_TESTS_FAILED

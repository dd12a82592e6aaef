# SPDX-License-Identifier: GPL-2.0
"""coverage: a gcov run of the suite (UML) and the coverage of the lines the
series adds or changes (lcov data)."""

import os
import re
import shutil

from .cache import TOOL_DIR
from .errors import EXIT_OK, EXIT_TESTS_FAILED, EXIT_USAGE, RunnerError
from .hostenv import BUILD_TOOLS, FETCH_TOOLS
from .lock import FileLock
from .proc import out, run_cmd, say
from .results import summary_line

COVERAGE_FRAGMENT = 'tools/testing/kunit/configs/coverage_uml.config'
# ... and ours on top of it (reduced debug info)
COVERAGE_EXTRA = TOOL_DIR / 'configs' / 'coverage-uml.config'
# gcc instruments only the functions of these sources (a regex): UML's
# GCOV option puts the gcov flags on every compile, and instrumenting the
# whole kernel made the build half as long again as a plain one.
COVERAGE_KCFLAGS = '-fprofile-filter-files=drivers/virtio/'
# lcov --capture reads the .gcda files below this dir of the build dir only
# (all three files live there; capturing the whole kernel takes minutes).
COVERAGE_OBJDIR = 'drivers/virtio'
COVERAGE_FILES = ('drivers/virtio/virtio.c', 'drivers/virtio/virtio_ring.c',
		  'drivers/virtio/virtio_mmio.c')
# Files whose new and changed lines must all be covered; the others are
# only reported.
COVERAGE_ENFORCED = ('drivers/virtio/virtio.c', 'drivers/virtio/virtio_ring.c')


def remove_gcda(build_dir):
	n = 0
	for dirpath, _, filenames in os.walk(build_dir):
		for fn in filenames:
			if fn.endswith('.gcda'):
				os.unlink(os.path.join(dirpath, fn))
				n += 1
	return n


def added_lines(diff_text):
	"""{path: set of line numbers} added in the new side of a unified diff."""
	res = {}
	path = None
	new_no = None
	hunk_re = re.compile(r'^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@')
	for line in diff_text.splitlines():
		if line.startswith('+++ '):
			name = line[4:].split('\t')[0]
			path = None if name == '/dev/null' else re.sub(r'^b/', '', name)
			if path is not None:
				res.setdefault(path, set())
			new_no = None
			continue
		if line.startswith(('--- ', 'diff --git ', 'index ')) and new_no is None:
			continue
		m = hunk_re.match(line)
		if m:
			new_no = int(m.group(1))
			continue
		if new_no is None or path is None:
			continue
		if line.startswith('+'):
			res[path].add(new_no)
			new_no += 1
		elif line.startswith(' '):
			new_no += 1
	return res


def parse_lcov_info(text):
	"""{source path (SF:): {line: hit count}} from an lcov .info file."""
	res = {}
	cur = None
	for line in text.splitlines():
		if line.startswith('SF:'):
			cur = res.setdefault(line[3:].strip(), {})
		elif line.startswith('DA:') and cur is not None:
			f = line[3:].split(',')
			ln, cnt = int(f[0]), int(f[1]) if f[1].lstrip('-').isdigit() else 0
			cur[ln] = max(cur.get(ln, 0), cnt)
		elif line.startswith('end_of_record'):
			cur = None
	return res


def series_coverage(git, base, tip, info_text, files):
	"""Per file: (covered, instrumented, uncovered lines) of the lines the
	series adds or changes (git diff -U0 base tip), intersected with the
	instrumented lines (DA: records) of the .info; None when the .info has
	no record for the file."""
	diff = git('diff', '-U0', '--no-color', '--no-ext-diff', '--src-prefix=a/', '--dst-prefix=b/',
		   base, tip, '--', *files).stdout
	added = added_lines(diff)
	info = parse_lcov_info(info_text)
	report = {}
	for f in files:
		da = None
		for sf, lines in info.items():
			if sf == f or sf.endswith('/' + f):
				da = lines
				break
		if da is None:
			report[f] = None
			continue
		instr = sorted(l for l in added.get(f, ()) if l in da)
		unc = [l for l in instr if da[l] == 0]
		report[f] = (len(instr) - len(unc), len(instr), unc)
	return report


def line_ranges(lines):
	"""[3, 4, 5, 9] -> '3-5, 9'."""
	parts = []
	for l in lines:
		if parts and parts[-1][1] == l - 1:
			parts[-1][1] = l
		else:
			parts.append([l, l])
	return ', '.join(str(a) if a == b else f'{a}-{b}' for a, b in parts)


def print_coverage(report, enforced):
	"""Print the per-file figures; True when every enforced file is at 100%."""
	ok = True
	say('coverage of the lines the series adds or changes (covered/instrumented):')
	for f, r in report.items():
		must = f in enforced
		tag = 'required 100%' if must else 'reported only'
		if r is None:
			out(f'  {f}: no coverage data ({tag})')
			ok = ok and not must
			continue
		cov, ins, unc = r
		pct = 100.0 * cov / ins if ins else 100.0
		out(f'  {f}: {cov}/{ins} ({pct:.1f}%, {tag})' +
		    (f'; uncovered lines: {line_ranges(unc)}' if unc else ''))
		if must and unc:
			ok = False
	say('coverage check: ' + ('PASS' if ok else 'FAIL') + ' (' + ', '.join(enforced) + ' at 100%)')
	return ok


class Coverage:
	"""coverage of a Runner."""

	def coverage(self):
		"""Build and run the suite with gcov (UML), report the series' lines.

		Sets self.cov_counts to (checks passed, checks failed, 0): the
		threshold check plus any KUnit failure of the coverage run.
		"""
		self.cov_counts = (0, 1, 0)
		if self.args.arch != 'um':
			raise RunnerError(EXIT_USAGE, 'coverage runs under UML only (no --arch)')
		tools = list(BUILD_TOOLS) + ['lcov', 'genhtml']
		if not self.kernel:
			tools += FETCH_TOOLS
		self.ensure_tools(tuple(dict.fromkeys(tools)))
		if not self.args.build_dir:
			self.build_dir = self.aside_build_dir('coverage')
		if not self.args.out:
			self.out_dir = self.out_dir / 'coverage'
		kc = self.kunitconfig()
		wt = self.prepare()
		frag = wt / COVERAGE_FRAGMENT
		if not frag.is_file():
			raise RunnerError(EXIT_USAGE, f'{frag}: no such file (a kernel tree without UML coverage?)')
		kc = kc + [frag, COVERAGE_EXTRA]
		self.extra_kcflags = (COVERAGE_KCFLAGS,)
		self.build_dir.mkdir(parents=True, exist_ok=True)
		self.out_dir.mkdir(parents=True, exist_ok=True)
		info_all = self.out_dir / 'coverage-all.info'
		info = self.out_dir / 'coverage.info'
		html = self.out_dir / 'html'
		for f in (info_all, info):
			if f.exists():
				f.unlink()
		with FileLock(self.lock_path, 'build', self.args.lock_timeout, shared=True):
			self.config_step(wt, kc)
			self.build_step(wt, kc)
			stale = remove_gcda(self.build_dir)
			say(f'coverage: removed {stale} stale .gcda file(s)')
			self.exec_step(wt, kc)
			ku_failed = self.counts[1] if self.counts else 1
			ok = self.coverage_report(wt, info_all, info, html)
		failed = ku_failed + (0 if ok else 1)
		self.cov_ok = ok
		self.cov_counts = (1 if ok else 0, failed, 0)
		say(f'coverage: lcov data {info}')
		out(summary_line(*self.cov_counts))
		return EXIT_OK if failed == 0 else EXIT_TESTS_FAILED

	def coverage_report(self, wt, info_all, info, html):
		"""lcov data of the coverage run, its HTML report and the series' lines.

		Returns True when every new or changed line of COVERAGE_ENFORCED
		ran. Called with the build lock held (it reads the build dir).
		"""
		say('coverage: lcov --capture')
		r = run_cmd(['lcov', '--quiet', '--capture', '--directory', self.build_dir / COVERAGE_OBJDIR,
			     '--base-directory', wt, '--output-file', info_all], env=self.env, check=False)
		if r.returncode != 0 or not info_all.is_file():
			out(r.stdout or '')
			raise RunnerError(EXIT_TESTS_FAILED, f'lcov --capture failed (exit {r.returncode}); '
					  'no coverage data (were .gcda files written?)')
		r = run_cmd(['lcov', '--quiet', '--extract', info_all] + [f'*/{f}' for f in COVERAGE_FILES] +
			    ['--output-file', info], env=self.env, check=False)
		if r.returncode != 0 or not info.is_file():
			out(r.stdout or '')
			raise RunnerError(EXIT_TESTS_FAILED, f'lcov --extract failed (exit {r.returncode})')
		if html.exists():
			shutil.rmtree(html)
		r = run_cmd(['genhtml', '--quiet', '--output-directory', html, info], env=self.env, check=False)
		if r.returncode != 0:
			out(r.stdout or '')
			say(f'genhtml failed (exit {r.returncode}); no HTML report')
		else:
			say(f'coverage: HTML report {html / "index.html"}')
		_, tip = self.patch_tip()
		report = series_coverage(self.git, 'base', tip, info.read_text(), COVERAGE_FILES)
		return print_coverage(report, COVERAGE_ENFORCED)

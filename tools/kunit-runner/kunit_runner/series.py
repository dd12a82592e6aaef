# SPDX-License-Identifier: GPL-2.0
"""The series to apply: patches/series, and the inputs of --series (a quilt
directory, a directory of git format-patch files, an mbox) and --applied."""

import os
import re
import shutil
import tempfile
from pathlib import Path

from .errors import EXIT_USAGE, RunnerError
from .filesig import sha256_file
from .proc import run_cmd, say


def read_series(patches_dir):
	"""Parse a quilt series file.

	Returns a list of (name, path, git-am options).  Blank lines and
	comments ('#' at the start of a line or after whitespace) are ignored;
	an entry may carry a -pN option.  A missing series file is an empty
	series; a listed patch that does not exist is an error.
	"""
	patches_dir = Path(patches_dir)
	series = patches_dir / 'series'
	if not series.exists():
		return []
	entries = []
	seen = set()
	for lineno, raw in enumerate(series.read_text().splitlines(), 1):
		line = re.sub(r'(^|\s)#.*$', '', raw).strip()
		if not line:
			continue
		tokens = line.split()
		name, opts = tokens[0], tokens[1:]
		for opt in opts:
			if not re.fullmatch(r'-p\d+', opt):
				raise RunnerError(EXIT_USAGE, f'{series}:{lineno}: unsupported option {opt!r} '
						  '(only -pN is supported)')
		if name in seen:
			raise RunnerError(EXIT_USAGE, f'{series}:{lineno}: patch {name} listed twice')
		seen.add(name)
		path = patches_dir / name
		if not path.is_file():
			raise RunnerError(EXIT_USAGE, f'{series}:{lineno}: no such patch file {name}')
		entries.append((name, path, opts))
	return entries


DIFF_RE = re.compile(r'^(diff --git |\+\+\+ )', re.M)


def has_diff(path):
	"""True if the patch/mail @path holds a diff (a cover letter has none)."""
	with open(path, errors='replace') as f:
		return DIFF_RE.search(f.read()) is not None


def drop_cover_letters(entries):
	kept = []
	for e in entries:
		if has_diff(e[1]):
			kept.append(e)
		else:
			say(f'skipping {e[0]}: no diff in it (a cover letter?)')
	return kept


def series_input_kind(path):
	"""quilt, format-patch or mbox: the form of a --series @path (None if missing)."""
	path = Path(path)
	if path.is_dir():
		return 'quilt' if (path / 'series').is_file() else 'format-patch'
	return 'mbox' if path.is_file() else None


def read_series_input(path, split_dir):
	"""(kind, entries) of a series given with --series @path.

	kind is 'quilt' (a directory with a series file), 'format-patch' (a
	directory of *.patch files, applied in file name order) or 'mbox' (a
	file, as `b4 am` writes it, split with `git mailsplit` into
	@split_dir/SHA/). Messages and files without a diff (cover letters)
	are skipped.
	"""
	path = Path(path)
	kind = series_input_kind(path)
	if kind == 'quilt':
		entries = read_series(path)
	elif kind == 'format-patch':
		entries = [(p.name, p, []) for p in sorted(path.glob('*.patch')) if p.is_file()]
		if not entries:
			raise RunnerError(EXIT_USAGE, f'--series {path}: a directory with neither a series '
					  'file nor *.patch files')
	elif kind == 'mbox':
		d = Path(split_dir) / sha256_file(path)[:16]
		if not d.is_dir():
			Path(split_dir).mkdir(parents=True, exist_ok=True)
			tmp = Path(tempfile.mkdtemp(prefix='.split-', dir=split_dir))
			try:
				r = run_cmd(['git', 'mailsplit', f'-o{tmp}', path], check=False)
				if r.returncode != 0:
					raise RunnerError(EXIT_USAGE, f'--series {path}: git mailsplit failed: '
							  f'{(r.stdout or "").strip()[-300:]}')
				os.rename(tmp, d)
			finally:
				shutil.rmtree(tmp, ignore_errors=True)
		entries = [(f'{path.name}:{p.name}', p, []) for p in sorted(d.iterdir()) if p.is_file()]
	else:
		raise RunnerError(EXIT_USAGE, f'--series {path}: no such file or directory')
	entries = drop_cover_letters(entries)
	if not entries:
		raise RunnerError(EXIT_USAGE, f'--series {path}: no patch in it ({kind})')
	return kind, entries


def tree_has_hook(tree):
	"""True if drivers/virtio/Makefile of @tree builds drivers/virtio/tests/."""
	try:
		text = (Path(tree) / 'drivers' / 'virtio' / 'Makefile').read_text(errors='replace')
	except OSError:
		return False
	return re.search(r'\btests/', text) is not None


def series_record(series):
	"""[name, options, sha256] of every entry of @series (as read_series())."""
	return [[name, list(opts), sha256_file(path)] for name, path, opts in series]


def select_upto(series, upto):
	"""First @upto patches plus the last patch (the KUnit hook)."""
	if upto is None:
		return list(series)
	if upto < 0 or upto > len(series):
		raise RunnerError(EXIT_USAGE, f'--upto {upto}: the series has {len(series)} patches')
	if upto >= len(series) - 1:
		return list(series)
	return list(series[:upto]) + [series[-1]]


class SeriesInput:
	"""Which series a Runner applies: patches/, --series PATH or --applied."""

	@property
	def input_kind(self):
		"""repo (patches/), quilt, format-patch, mbox (--series) or applied (--applied)."""
		if self.applied:
			return 'applied'
		if self.series_path:
			return series_input_kind(self.series_path)
		return 'repo'

	def check_input_options(self):
		if self.series_path and self.applied:
			raise RunnerError(EXIT_USAGE, '--series and --applied exclude each other')
		if self.applied and not self.kernel:
			raise RunnerError(EXIT_USAGE, '--applied needs --kernel TREE (a tree that carries a series)')
		if (self.series_path or self.applied) and self.args.upto is not None:
			raise RunnerError(EXIT_USAGE, '--upto works on the series of patches/ only '
					  '(not with --series or --applied)')

	def load_series(self):
		"""The patches to apply, as read_series(); sets self.hook.

		For --series: the given series, and this repo's KUnit hook patch
		(the last one of patches/series), applied after it unless the
		series hooks drivers/virtio/tests/ into the build itself.  For
		--applied: no patch, and the hook only if the tree lacks it.
		"""
		self.check_input_options()
		if not self.series_path and not self.applied:
			return read_series(self.repo / 'patches')
		ours = read_series(self.repo / 'patches')
		self.hook = ours[-1] if ours else None
		if self.applied:
			return []
		return read_series_input(self.series_path, self.layout.series_input)[1]

	def series_info(self):
		"""The series tested, for reports."""
		try:
			n = len(self.load_series())
		except RunnerError:
			n = None
		path = self.kernel if self.applied else (self.series_path or self.repo / 'patches')
		return {'kind': self.input_kind, 'path': str(path), 'patches': n}

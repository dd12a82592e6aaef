# SPDX-License-Identifier: GPL-2.0
"""export: the work tree's commits back to patches/ (and its placed files back
to the repo), only when the work tree accounts for all of it."""

import shutil
import tempfile
from pathlib import Path

from .errors import EXIT_DIRTY, EXIT_EXPORT, EXIT_OK, EXIT_USAGE, RunnerError
from .filesig import file_sig
from .proc import PROG, say
from .series import read_series, series_record
from .worktree import PLACED_SUBJECT

# Options that make `git format-patch` output independent of user config.
FORMAT_PATCH_CONFIG = (
	'core.abbrev=12', 'diff.algorithm=myers', 'diff.noprefix=false',
	'diff.mnemonicPrefix=false', 'diff.renames=true', 'diff.context=3',
	'diff.interHunkContext=0', 'diff.relative=false',
	'diff.suppressBlankEmpty=false', 'diff.indentHeuristic=true',
	'format.useAutoBase=false', 'format.signature=',
	'format.coverLetter=false', 'format.thread=false',
	'format.subjectPrefix=PATCH', 'format.suffix=.patch',
	'format.filenameMaxLength=64', 'format.encodeEmailHeaders=true',
	'format.forceInBodyFrom=false', 'format.signOff=false',
)
# --no-add-header drops headers from user config; setting format.headers to
# an empty value instead would add an empty header line to every patch.
FORMAT_PATCH_OPTS = ('--no-add-header', '--no-signature', '--zero-commit', '--abbrev=12',
		     '--numbered', '--no-thread', '--no-cover-letter')


class Export:
	"""export of a Runner."""

	def export(self):
		if self.series_path or self.applied:
			raise RunnerError(EXIT_EXPORT, 'export refused: it writes back the series of '
					  f'{self.repo / "patches"} only, never a series given with --series or '
					  'a tree given with --applied (nothing was written)')
		self.ensure_tools(('git',))
		state = self.load_state()
		if state is not None and state.get('input', {}).get('kind', 'repo') != 'repo':
			raise RunnerError(EXIT_EXPORT, f'export refused: {self.wt} holds a series that is '
					  f'not the one of {self.repo / "patches"} (nothing was written)')
		if state is not None and 'preparing' in state:
			raise RunnerError(EXIT_EXPORT, f'export refused: the last prepare of {self.wt} was '
					  f"interrupted; run '{PROG} tree' to finish it first (nothing was written)")
		if not (self.wt / '.git').is_dir() or state is None:
			raise RunnerError(EXIT_USAGE, f'no work tree at {self.wt}; run \'{PROG} tree\' first')
		if state.get('upto') is not None:
			raise RunnerError(EXIT_USAGE, f'work tree {self.wt} holds a --upto subset of the series; '
					  f'export needs the whole series (run \'{PROG} tree\' without --upto)')
		if self.in_progress():
			raise RunnerError(EXIT_DIRTY, f'work tree {self.wt}: a git am/rebase/merge is in progress')
		pdir = self.repo / 'patches'
		old_names = self.check_export_series(state, pdir)
		placed = state.get('placed', {})
		untracked = set(self.git('ls-files', '-z', '--others', '--exclude-standard').stdout.split('\0'))
		for p in self.status_entries():
			if p in placed or (p in untracked and self.in_placed_dir(p, placed)):
				continue
			raise RunnerError(EXIT_DIRTY, f'work tree {self.wt} has an uncommitted change to {p}; '
					  'commit it (git commit --amend / git rebase -i base) before export')
		tip = self.check_export_commits(placed)
		copies = self.placed_copy_back(placed, untracked)
		patches = self.format_patches(tip)
		for n, data in patches.items():
			dst = pdir / n
			if n not in old_names and dst.exists() and dst.read_bytes() != data:
				raise RunnerError(EXIT_EXPORT, f'export refused: {dst} is not in the series and '
						  'differs from the patch export would write there (nothing was written)')
		pdir.mkdir(exist_ok=True)
		changed = 0
		for n, data in patches.items():
			dst = pdir / n
			if not dst.exists() or dst.read_bytes() != data:
				dst.write_bytes(data)
				changed += 1
		self.write_series(pdir / 'series', list(patches))
		# Copy back edits of placed files (they are the project's files).
		for rel in copies:
			src, dst = self.wt / rel, self.repo / rel
			dst.parent.mkdir(parents=True, exist_ok=True)
			shutil.copyfile(src, dst)
			shutil.copymode(src, dst)
		state['exported_tip'] = tip
		state['series'] = series_record(read_series(pdir))
		self.save_state(state)
		say(f'exported {len(patches)} patch(es) to {pdir} ({changed} changed); '
		    f'{len(copies)} placed file(s) copied back to {self.repo}')
		stale = [n for n in old_names if n not in patches and (pdir / n).is_file()]
		if stale:
			say(f'left {len(stale)} patch file(s) that are no longer in the series in {pdir}: '
			    f'{", ".join(stale)}')
		return EXIT_OK

	def check_export_series(self, state, pdir):
		"""Refuse (EXIT_EXPORT) unless the work tree holds the whole series.

		The last prepare must have applied every patch, and patches/ must
		still be what that prepare (or the last export) saw: export never
		rewrites or drops a patch the work tree does not hold.  Returns the
		names of the series.
		"""
		def refuse(why):
			raise RunnerError(EXIT_EXPORT, f'export refused: {why} (nothing was written)')
		if not state.get('fingerprint'):
			refuse(f'work tree {self.wt} does not hold the whole series; the last prepare stopped '
			       f"at a patch that does not apply (fix it, then run '{PROG} tree')")
		current = read_series(pdir)
		if 'series' in state:
			same = series_record(current) == state['series']
		else:  # state written by an older runner: names only
			same = [n for n, _, _ in current] == state.get('applied')
		if not same:
			refuse(f"{pdir} changed since the work tree was prepared from it; run '{PROG} tree' "
			       'to prepare the work tree from it')
		return [n for n, _, _ in current]

	def check_export_commits(self, placed):
		"""Return the series tip; refuse unless base..HEAD ends with the placed files."""
		head, tip = self.patch_tip()
		for c in self.git.out('rev-list', '--reverse', f'base..{tip}').split():
			if self.git.subject(c) == PLACED_SUBJECT:
				raise RunnerError(EXIT_USAGE, f'commit {c[:12]} ({PLACED_SUBJECT}) is not the last '
						  'commit of the work tree; move it to the top before export')
		if head == tip:
			raise RunnerError(EXIT_EXPORT, f'export refused: the last commit of {self.wt} is not '
					  f'"{PLACED_SUBJECT}" (nothing was written)')
		if self.git('merge-base', '--is-ancestor', 'base', head, check=False).returncode != 0:
			raise RunnerError(EXIT_EXPORT, f'export refused: {self.wt} does not start at the '
					  'tag base (nothing was written)')
		for rel in sorted(placed):
			if file_sig(self.wt / rel) is None:
				raise RunnerError(EXIT_EXPORT, f'export refused: placed file {rel} is missing from '
						  f'{self.wt}; export never deletes files of {self.repo} '
						  '(nothing was written)')
		return tip

	def format_patches(self, tip):
		"""{file name: content} of `git format-patch base..tip` with fixed settings."""
		tmp = Path(tempfile.mkdtemp(prefix='export-'))
		try:
			cfg = []
			for c in FORMAT_PATCH_CONFIG:
				cfg += ['-c', c]
			if self.git.out('rev-list', f'base..{tip}'):
				self.git(*cfg, 'format-patch', *FORMAT_PATCH_OPTS, '-o', str(tmp), f'base..{tip}')
			return {p.name: p.read_bytes() for p in sorted(tmp.glob('*.patch'))}
		finally:
			shutil.rmtree(tmp, ignore_errors=True)

	@staticmethod
	def write_series(path, names):
		"""Write @names to the series file @path, keeping its leading comments."""
		header = []
		if path.exists():
			for line in path.read_text().splitlines():
				if line.strip() and not line.startswith('#'):
					break
				if line.startswith('#'):
					header.append(line)
		text = ''.join(l + '\n' for l in header + names)
		if not path.exists() or path.read_text() != text:
			path.write_text(text)

	def placed_copy_back(self, placed, untracked):
		"""Placed files edited in the work tree, to copy back to the repo.

		A file is copied back only if the work tree's copy changed since it
		was placed and the repo's copy did not: a file edited in the repo
		since (not yet placed again) is never overwritten. Edited on both
		sides, export refuses before it writes anything.
		"""
		cands = set(placed) | {p for p in untracked if p and self.in_placed_dir(p, placed)}
		copies, both = [], []
		for rel in sorted(cands):
			was = placed.get(rel)
			wsig, rsig = file_sig(self.wt / rel), file_sig(self.repo / rel)
			if wsig == rsig or wsig == was:
				continue
			if rsig != was:
				both.append(rel)
			else:
				copies.append(rel)
		if both:
			raise RunnerError(EXIT_DIRTY, f'{both[0]} was edited both in the work tree and in '
					  f'{self.repo} since it was placed; export refuses to overwrite either '
					  '(keep one version by hand, then export again)')
		return copies

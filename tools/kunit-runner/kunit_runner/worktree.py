# SPDX-License-Identifier: GPL-2.0
"""The work tree: its state file, the base commit, the series applied with git
am, the placed files, and the checks that keep a prepare from overwriting
edits (unexported changes, an interrupted prepare)."""

import contextlib
import hashlib
import json
import os
import signal
import shutil
import subprocess
import time
from pathlib import Path

from .cache import STATE_SUFFIX, CacheLayout
from .errors import EXIT_DIRTY, EXIT_ENV, EXIT_INTERRUPTED, EXIT_SERIES, RunnerError
from .filesig import file_sig, sha256_bytes, sha256_file
from .lock import FileLock
from .proc import PROG, Git, fmt_time, out, run_cmd, say
from .series import select_upto, series_record, tree_has_hook

# Paths of the project repo copied into the work tree on top of the series
# (files only the project adds; never part of patches/).
PLACED_ROOTS = ('drivers', '.kunitconfig')
PLACED_SUBJECT = 'kunit-runner: place new files'

LAYOUT_VERSION = '1'
WORK_BRANCH = 'work'

# Fixed identities/dates so that commits of the work tree are reproducible.
COMMITTER_ENV = {
	'GIT_COMMITTER_NAME': 'kunit-runner',
	'GIT_COMMITTER_EMAIL': 'kunit-runner@localhost',
	'GIT_COMMITTER_DATE': '@1700000000 +0000',
}
RUNNER_AUTHOR_ENV = {
	'GIT_AUTHOR_NAME': 'kunit-runner',
	'GIT_AUTHOR_EMAIL': 'kunit-runner@localhost',
	'GIT_AUTHOR_DATE': '@1700000000 +0000',
}


def collect_placed(repo):
	"""Files of the repo to place in the work tree: {relpath: file_sig}."""
	repo = Path(repo)
	placed = {}
	for root in PLACED_ROOTS:
		top = repo / root
		if top.is_file():
			placed[root] = file_sig(top)
		elif top.is_dir():
			for dirpath, dirnames, filenames in os.walk(top):
				dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
				for fn in sorted(filenames):
					if fn.endswith(('.pyc', '.o', '~')):
						continue
					p = Path(dirpath) / fn
					placed[str(p.relative_to(repo))] = file_sig(p)
	return placed


class WorkTree:
	"""Preparing the work tree of a Runner, and what protects edits in it."""

	def load_state(self):
		try:
			return json.loads(self.state_path.read_text())
		except (OSError, ValueError):
			return None

	def save_state(self, state):
		self.state_path.parent.mkdir(parents=True, exist_ok=True)
		tmp = self.state_path.with_suffix('.tmp')
		tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + '\n')
		os.replace(tmp, self.state_path)


	def copy_tree(self, src, dst):
		"""Copy a kernel tree without .git; all copied files get fresh mtimes."""
		src = Path(src)
		if (src / '.git').exists():
			files = Git(src, self.env)('ls-files', '-z', '--cached').stdout
			lst = subprocess.run(['tar', '-C', str(src), '--null', '-T', '-', '-cf', '-'],
					     input=files.encode(), stdout=subprocess.PIPE, check=False)
			r = subprocess.run(['tar', '-C', str(dst), '-xmf', '-'], input=lst.stdout, check=False)
			if lst.returncode != 0 or r.returncode != 0:
				raise RunnerError(EXIT_ENV, f'cannot copy kernel tree {src}')
			return
		p1 = subprocess.Popen(['tar', '-C', str(src), '--exclude=./.git', '-cf', '-', '.'],
				      stdout=subprocess.PIPE)
		r = subprocess.run(['tar', '-C', str(dst), '-xmf', '-'], stdin=p1.stdout, check=False)
		p1.stdout.close()
		if p1.wait() != 0 or r.returncode != 0:
			raise RunnerError(EXIT_ENV, f'cannot copy kernel tree {src}')

	@staticmethod
	def strip_debian_gitignore(tree):
		"""Drop the Debian packaging rule ('/*', '!/debian/') from .gitignore.

		Upstream Linux has no such rule; with it, new files would not show
		in `git status` of the work tree.  Returns True if it was removed.
		"""
		gi = Path(tree) / '.gitignore'
		if not gi.is_file():
			return False
		lines = gi.read_text().splitlines(keepends=True)
		for i, l in enumerate(lines):
			if l.startswith('# Debian packaging: ignore everything at the top level'):
				start = i - 1 if i > 0 and lines[i - 1].strip() == '#' else i
				end = i
				while end < len(lines) and lines[end].strip() != '!/debian/':
					end += 1
				gi.write_text(''.join(lines[:start] + lines[end + 1:]))
				return True
		return False

	def base_donor(self, base_id):
		"""Another work tree of this cache whose base commit is @base_id's.

		Its state file must name @base_id and it must hold the base tag.
		Returns its path or None.
		"""
		for st in sorted(self.wt.parent.glob('*' + STATE_SUFFIX)):
			other = CacheLayout.state_tree(st)
			if other == self.wt or not (other / '.git').is_dir():
				continue
			try:
				if json.loads(st.read_text()).get('base_id') != base_id:
					continue
			except (OSError, ValueError, AttributeError):
				continue
			if Git(other, self.env).try_out('rev-parse', '-q', '--verify',
							'refs/tags/base^{commit}'):
				return other
		return None

	def clone_base(self, donor, tmp):
		"""Make @tmp a clone of @donor's base commit, sharing its objects.

		A local clone hard-links the object store (no second copy of the
		base on disk), and the base commit is the donor's: no import.
		"""
		r = run_cmd(['git', 'clone', '-q', '--local', '--no-checkout', str(donor), str(tmp)],
			    env=self.env, check=False)
		if r.returncode != 0:
			return False
		g = Git(tmp, self.env)
		g('remote', 'remove', 'origin')
		g('config', 'gc.auto', '0')
		g('checkout', '-q', '-B', WORK_BRANCH, 'refs/tags/base')
		return True

	def create_base(self, src, base_id):
		t0 = time.time()
		self.wt.parent.mkdir(parents=True, exist_ok=True)
		tmp = self.wt.with_name(self.wt.name + '.new')
		if tmp.exists():
			shutil.rmtree(tmp)
		donor = self.base_donor(base_id)
		if donor:
			say(f'creating work tree {self.wt} from the base commit of {donor} (local clone)')
			if self.clone_base(donor, tmp):
				self._swap_in(tmp)
				say(f'work tree base checked out in {fmt_time(time.time() - t0)}')
				return
			say(f'cannot clone {donor}; importing the base instead')
			shutil.rmtree(tmp, ignore_errors=True)
		tmp.mkdir()
		if src is None:
			say(f'creating work tree {self.wt} from the pinned .deb (unpack + base commit, '
			    'about a minute)')
			self.unpack_base(tmp)
		else:
			say(f'creating work tree {self.wt} from {src} (copy + base commit, about a minute)')
			self.copy_tree(src, tmp)
		stripped = self.strip_debian_gitignore(tmp)
		g = Git(tmp, self.env)
		g('init', '-q')
		g('symbolic-ref', 'HEAD', f'refs/heads/{WORK_BRANCH}')
		g('config', 'gc.auto', '0')
		# Loose objects uncompressed: zlib is a third of the import's
		# time (27 s against 16 s for the 7.3 tree on 2 cores), and a
		# work tree's objects are never sent anywhere.  The cost is disk:
		# 1.8 GiB of objects instead of 0.6.
		g('-c', 'core.looseCompression=0', 'add', '-A', '-f', '.')
		msg = f'base: {base_id}\n\nPristine base tree imported by kunit-runner.\n'
		if stripped:
			msg += ('\nThe Debian packaging rule at the end of .gitignore (which ignores\n'
				'everything at the top level) is removed so new files show in git status.\n')
		g('commit', '-q', '--no-verify', '-m', msg, extra_env={**COMMITTER_ENV, **RUNNER_AUTHOR_ENV})
		g('tag', '-f', 'base')
		self._swap_in(tmp)
		say(f'work tree base committed in {fmt_time(time.time() - t0)}')

	def _swap_in(self, tmp):
		"""Make @tmp the work tree by renames: an interruption leaves the old tree, or none."""
		old = self.wt.with_name(self.wt.name + '.old')
		if old.exists():
			shutil.rmtree(old)
		if self.wt.exists():
			os.rename(self.wt, old)
		os.rename(tmp, self.wt)
		shutil.rmtree(old, ignore_errors=True)

	def snapshot_mtimes(self):
		"""Content and mtime of files that differ from base (to restore later)."""
		names = self.git('diff', '--name-only', '-z', 'base', 'HEAD').stdout.split('\0')
		snap = {}
		for n in filter(None, names):
			p = self.wt / n
			if p.is_file() and not p.is_symlink():
				snap[n] = (file_sig(p), p.stat().st_mtime_ns)
		return snap

	def restore_mtimes(self, snap):
		"""Give files whose content is as before the reset their old mtime."""
		kept = 0
		for n, (sig, mtime) in snap.items():
			p = self.wt / n
			if file_sig(p) == sig:
				st = p.stat()
				os.utime(p, ns=(st.st_atime_ns, mtime))
				kept += 1
		return kept

	def in_progress(self):
		gd = self.wt / '.git'
		return any((gd / d).exists() for d in ('rebase-apply', 'rebase-merge', 'MERGE_HEAD',
							 'CHERRY_PICK_HEAD'))

	def patch_tip(self):
		head = self.git.out('rev-parse', 'HEAD')
		if self.git.subject(head) == PLACED_SUBJECT:
			return head, self.git.out('rev-parse', 'HEAD^')
		return head, head

	def status_entries(self):
		"""Paths with uncommitted changes (incl. untracked) in the work tree.

		A check only: --no-optional-locks keeps git status from refreshing
		the index on disk, so a refused clean or export writes nothing.
		"""
		raw = self.git('--no-optional-locks', 'status', '--porcelain', '-z',
			       '--untracked-files=all').stdout
		paths = []
		items = raw.split('\0')
		i = 0
		while i < len(items):
			it = items[i]
			i += 1
			if not it:
				continue
			xy, path = it[:2], it[3:]
			if 'R' in xy or 'C' in xy:
				i += 1
			paths.append(path)
		return paths

	def check_clobber(self, state, repo_placed):
		"""Raise EXIT_DIRTY if overwriting the work tree would lose edits."""
		def refuse(reason):
			raise RunnerError(EXIT_DIRTY, f'work tree {self.wt} has unexported edits ({reason}); '
					  f"export them first ('{PROG} export', commit first); refusing to overwrite")
		if self.in_progress():
			refuse('a git am/rebase/merge is in progress')
		if state is None:
			refuse('no runner state recorded for it')
		old_placed = state.get('placed', {})
		for p in self.status_entries():
			if p in old_placed or p in repo_placed or self.in_placed_dir(p, old_placed):
				if file_sig(self.wt / p) == repo_placed.get(p):
					continue  # already exported to the repo
			refuse(f'uncommitted change to {p}')
		_, tip = self.patch_tip()
		if tip not in (state.get('patch_tip'), state.get('exported_tip')):
			refuse('commits not exported to patches/')
		for rel in sorted(set(old_placed) | set(repo_placed)):
			sig = file_sig(self.wt / rel)
			if sig != old_placed.get(rel) and sig != repo_placed.get(rel):
				refuse(f'edited placed file {rel}')

	@staticmethod
	def in_placed_dir(path, placed):
		d = os.path.dirname(path)
		return any(os.path.dirname(p) == d for p in placed)

	def reset_to_base(self):
		if self.in_progress():
			self.git('am', '--quit', check=False)  # an interrupted git am of the runner
		# checkout -f rewrites every file whose stat data differs from the
		# index, even with the same content: after buildseed gave the
		# tree the full tree's mtimes, that was every file, and the next
		# prefix rebuilt the whole kernel. A refresh compares contents
		# first, so only files that really differ are written.
		self.git('update-index', '-q', '--refresh', check=False)
		self.git('checkout', '-q', '-f', '-B', WORK_BRANCH, 'base')
		self.git('clean', '-q', '-fd')

	def apply_series(self, selected):
		for i, (name, path, opts) in enumerate(selected, 1):
			r = self.git('am', '--quiet', *opts, str(Path(path).resolve()), check=False,
				     extra_env=COMMITTER_ENV)
			if r.returncode != 0:
				for line in (r.stdout or '').strip().splitlines()[-15:]:
					out(f'  {line}')
				self.git('am', '--abort', check=False)
				return name, i
		return None, None

	def place_files(self, repo_placed, old_placed, update):
		"""Copy placed files whose content differs and (re)commit them.

		With @update the existing placed-files commit (HEAD) is replaced,
		otherwise a new one is created on top of HEAD.
		"""
		changed = []
		overrides = []
		if not update:
			tracked = self.git('ls-files', '-z', '--', *repo_placed.keys()).stdout.split('\0') \
				if repo_placed else []
			overrides = [t for t in tracked if t]
		for rel in sorted(set(repo_placed) | set(old_placed)):
			src, dst = self.repo / rel, self.wt / rel
			want = repo_placed.get(rel)
			if file_sig(dst) != want:
				if want is None:
					dst.unlink()
				else:
					dst.parent.mkdir(parents=True, exist_ok=True)
					if dst.exists() or dst.is_symlink():
						dst.unlink()
					shutil.copyfile(src, dst)
					shutil.copymode(src, dst)
			if want != old_placed.get(rel) or not update:
				changed.append(rel)
		for o in overrides:
			say(f'warning: placed file {o} replaces a file of the kernel tree')
		parent = 'HEAD^' if update else 'HEAD'
		idx = self.wt / '.git' / 'kunit-runner-index'
		ienv = {'GIT_INDEX_FILE': str(idx)}
		try:
			self.git('read-tree', 'HEAD', extra_env=ienv)
			if changed:
				self.git('update-index', '--add', '--remove', '-z', '--stdin',
					 extra_env=ienv, input='\0'.join(changed) + '\0')
			tree = self.git.out('write-tree', extra_env=ienv)
		finally:
			if idx.exists():
				idx.unlink()
		msg = (f'{PLACED_SUBJECT}\n\nNew files of the project ({", ".join(PLACED_ROOTS)}) copied in by\n'
		       'kunit-runner; they are not part of patches/.\n')
		commit = self.git.out('commit-tree', tree, '-p', self.git.out('rev-parse', parent),
				      '-F', '-', input=msg, extra_env={**COMMITTER_ENV, **RUNNER_AUTHOR_ENV})
		self.git('update-ref', '-m', 'kunit-runner: place new files', 'HEAD', commit)
		if changed:
			self.git('update-index', '--add', '--remove', '-z', '--stdin',
				 input='\0'.join(changed) + '\0')
		return commit, len(changed)

	def prepare(self):
		"""Bring the work tree up to date; return its path."""
		self.ensure_tools(('git', 'tar'))
		series = self.load_series()
		if not series and self.input_kind == 'repo':
			say(f'no patches in {self.repo / "patches" / "series"}; using the base only')
		selected = select_upto(series, self.args.upto)
		repo_placed = collect_placed(self.repo)
		if self.applied and (self.kernel / 'drivers' / 'virtio' / 'tests').is_dir():
			say(f'{self.kernel} has drivers/virtio/tests: running its tests, placing none')
			repo_placed = {}
		self.cache.mkdir(parents=True, exist_ok=True)
		with FileLock(self.layout.work_lock, 'work tree', self.args.lock_timeout):
			return self._prepare_locked(selected, repo_placed)

	def _prepare_locked(self, selected, repo_placed):
		src, base_id = self.base_source()
		h = hashlib.sha256()
		for part in (LAYOUT_VERSION, base_id, repr(self.args.upto)):
			h.update(part.encode() + b'\0')
		for name, path, opts in selected + ([self.hook] if self.hook else []):
			h.update(f'{name}\0{" ".join(opts)}\0{sha256_file(path)}\0'.encode())
		h.update(f'input:{self.input_kind}\0'.encode())
		patches_fp = h.hexdigest()
		fp = sha256_bytes((patches_fp + json.dumps(repo_placed, sort_keys=True)).encode())
		state = self.load_state()
		exists = (self.wt / '.git').is_dir()
		has_base = exists and self.git.try_out('rev-parse', '-q', '--verify', 'refs/tags/base') is not None
		# An incomplete prepare has no fingerprint: no fast path for it.
		resume = state is not None and 'preparing' in state

		if exists and has_base and state and state.get('fingerprint') == fp:
			say(f'work tree {self.wt} is up to date')
			return self.wt
		if exists and has_base and state and state.get('fingerprint') and \
		   state.get('patches_fp') == patches_fp and \
		   self.git.try_out('rev-parse', 'HEAD') == state.get('placed_head'):
			return self._update_placed(state, repo_placed, fp)

		snap = {}
		if exists and has_base:
			if self.args.force:
				self.git('am', '--abort', check=False)
				self.git('rebase', '--abort', check=False)
			elif resume:
				self.check_interrupted(state['preparing'])
				say(f'the last prepare of {self.wt} did not finish; preparing it again')
			else:
				self.check_clobber(state, repo_placed)
			snap = self.snapshot_mtimes()
			if resume:
				# the mtimes from before the interrupted prepare win
				snap.update(state['preparing'].get('snap') or {})
		reuse = exists and has_base and state is not None and state.get('base_id') == base_id
		new = {'version': LAYOUT_VERSION, 'base_id': base_id if reuse else None,
		       'upto': self.args.upto, 'fingerprint': None, 'patches_fp': patches_fp,
		       'patch_tip': None, 'exported_tip': None, 'placed_head': None, 'placed': {},
		       'applied': [], 'preparing': {'snap': snap if reuse else {}},
		       'input': {'kind': self.input_kind,
				 'path': str(self.series_path or self.kernel or self.repo / 'patches')}}
		# Recorded before the tree is touched: until the prepare completes,
		# the tree is the runner's (see check_interrupted()).
		self.save_state(new)
		with self.changing_tree():
			self._build_tree(new, src, base_id, selected, repo_placed, fp)
		return self.wt

	def _build_tree(self, state, src, base_id, selected, repo_placed, fp):
		"""Base, series and placed files; @state has the 'preparing' record."""
		if state['base_id'] == base_id:
			say(f'recreating work tree {self.wt} from the cached base')
			self.reset_to_base()
		else:
			self.create_base(src, base_id)
			state['base_id'] = base_id
			self.save_state(state)
		base = self.git.out('rev-parse', 'base')
		state['patch_tip'] = base
		failed, idx = self.apply_series(selected)
		state['patch_tip'] = self.git.out('rev-parse', 'HEAD')
		state['applied'] = [n for n, _, _ in selected][:(idx - 1) if failed else None]
		if failed:
			del state['preparing']
			self.save_state(state)
			raise RunnerError(EXIT_SERIES, f'patch {idx}/{len(selected)} {failed} does not apply '
					  f'(git am failed and was aborted; work tree left at the previous patch)')
		say(f'applied {len(selected)} patch(es) with git am')
		if self.hook:
			self.apply_hook(state)
		head, n = self.place_files(repo_placed, {}, update=False)
		snap = state['preparing'].get('snap') or {}
		kept = self.restore_mtimes(snap) if snap else 0
		del state['preparing']
		state.update(fingerprint=fp, placed_head=head, placed=repo_placed)
		if self.args.upto is None:
			state['series'] = series_record(selected)
		self.save_state(state)
		say(f'placed {n} new file(s); work tree ready' +
		    (f' ({kept} unchanged file(s) kept their mtime)' if snap else ''))

	def apply_hook(self, state):
		"""This repo's KUnit hook patch, unless the tree builds drivers/virtio/tests/ already."""
		name, path, opts = self.hook
		if tree_has_hook(self.wt):
			say(f'drivers/virtio/Makefile builds tests/ already; not applying {name}')
			return
		failed, _ = self.apply_series([self.hook])
		if failed:
			del state['preparing']
			self.save_state(state)
			raise RunnerError(EXIT_SERIES, f'the KUnit hook patch {name} of {self.repo / "patches"} '
					  'does not apply on top of the series (git am failed and was aborted)')
		state['patch_tip'] = self.git.out('rev-parse', 'HEAD')
		state['applied'].append(name)
		say(f'applied the KUnit hook patch {name}')

	def _update_placed(self, state, repo_placed, fp):
		old = state.get('placed', {})
		if not self.args.force:
			for rel in sorted(set(old) | set(repo_placed)):
				sig = file_sig(self.wt / rel)
				if sig != old.get(rel) and sig != repo_placed.get(rel):
					raise RunnerError(EXIT_DIRTY, f'work tree {self.wt} has unexported edits '
							  f'(edited placed file {rel}); export them first '
							  f"('{PROG} export'); refusing to overwrite")
		self.save_state(dict(state, fingerprint=None, preparing={'snap': {}}))
		with self.changing_tree():
			head, n = self.place_files(repo_placed, old, update=True)
			state.update(fingerprint=fp, placed_head=head, placed=repo_placed)
			self.save_state(state)
		say(f'updated {n} placed file(s) in {self.wt}')
		return self.wt

	@contextlib.contextmanager
	def changing_tree(self):
		"""Record what an interrupted or failed prepare left in the tree."""
		try:
			yield
		except KeyboardInterrupt:
			self.note_interrupted()
			raise RunnerError(EXIT_INTERRUPTED, f'interrupted while preparing {self.wt}; the next '
					  f"'{PROG} tree' (or run) prepares it again")
		except BaseException:
			self.note_interrupted()
			raise

	def note_interrupted(self):
		"""Save the uncommitted paths (and their content) the prepare left.

		The next prepare accepts exactly these; anything else in the tree
		was changed after the interruption (check_interrupted()).
		"""
		try:
			old = signal.signal(signal.SIGINT, signal.SIG_IGN)
		except ValueError:  # not the main thread
			old = None
		try:
			state = self.load_state()
			if not state or 'preparing' not in state:
				return
			left = None
			if (self.wt / '.git').is_dir():
				try:
					left = {p: file_sig(self.wt / p) for p in self.status_entries()}
				except (RunnerError, OSError):
					left = None
			state['preparing']['interrupted'] = left
			self.save_state(state)
		finally:
			if old is not None:
				signal.signal(signal.SIGINT, old)

	def check_interrupted(self, prep):
		"""Raise EXIT_DIRTY if the tree changed since a prepare was interrupted.

		Until a prepare completes, the tree holds only the runner's work:
		commits of its fixed committer, a git am of its own, and the
		uncommitted paths recorded by note_interrupted().  Anything else is
		an edit made since, which a new prepare would lose.
		"""
		def refuse(what):
			raise RunnerError(EXIT_DIRTY, f'work tree {self.wt}: a prepare was interrupted and {what}; '
					  'refusing to prepare it again (save what you need from it, then move '
					  'it aside)')
		if self.in_progress() and not (self.wt / '.git' / 'rebase-apply' / 'applying').exists():
			refuse('a rebase or merge was started in it since')
		committers = self.git.out('log', '--format=%ce', 'base..HEAD').split()
		if any(c != COMMITTER_ENV['GIT_COMMITTER_EMAIL'] for c in committers):
			refuse('commits were made in it since')
		left = prep.get('interrupted')
		for p in self.status_entries():
			if left is None:
				refuse(f'it has uncommitted changes ({p}) that the runner cannot tell from edits')
			if p not in left or file_sig(self.wt / p) != left[p]:
				refuse(f'{p} was changed since')

# SPDX-License-Identifier: GPL-2.0
"""clean: remove what the cache can rebuild, never unexported edits."""

import os
import shutil
from pathlib import Path

from . import buildenv
from .cache import CLEAN_DIRS, STATE_SUFFIX, CacheLayout
from .doctor import dir_size, fmt_size
from .errors import EXIT_CLEAN, EXIT_OK, EXIT_USAGE, RunnerError
from .lock import FileLock
from .proc import Git, say
from .runner import Runner
from .worktree import collect_placed


def clean_check_work_tree(r, wt):
	"""Raise EXIT_CLEAN unless the work tree @wt holds nothing but the runner's work.

	The checks of a prepare: check_clobber() for a prepared tree, and
	check_interrupted() for one whose prepare did not finish.
	"""
	c = Runner(r.args, env=r.env, is_root=r.is_root)
	c.wt, c.state_path = wt, CacheLayout.state_file(wt)
	c.git = Git(wt, c.env)
	state = c.load_state()
	try:
		if state is not None and 'preparing' in state:
			c.check_interrupted(state['preparing'])
		else:
			c.check_clobber(state, collect_placed(c.repo))
	except RunnerError as e:
		raise RunnerError(EXIT_CLEAN, f'clean refused (nothing was deleted): {e.message}') from None


def clean_targets(r):
	"""(paths to remove, work trees to check, entries left alone) of the cache."""
	remove, trees, left = [], [], []
	for n in CLEAN_DIRS:
		p = r.layout.root / n
		if p.exists() or p.is_symlink():
			remove.append(p)
	work = r.layout.work
	if work.is_dir():
		for p in sorted(work.iterdir()):
			if p.is_dir() and not p.is_symlink() and p.name.endswith(('.new', '.old')):
				remove.append(p)  # a create_base() that did not finish
			elif p.is_dir() and not p.is_symlink() and (p / '.git').is_dir():
				trees.append(p)
				remove.append(p)
			elif p.is_file() and p.name.endswith((STATE_SUFFIX, '.state.tmp')):
				remove.append(p)
			else:
				left.append(p)
	if r.args.all:
		dl = r.layout.dl
		if dl.exists():
			remove.append(dl)
	return remove, trees, left


def remove_path(p):
	"""Remove @p (a symlink itself, never what it points to); return the bytes freed."""
	if p.is_symlink() or not p.is_dir():
		n = os.lstat(p).st_blocks * 512
		p.unlink()
		return n
	n = dir_size(p)
	shutil.rmtree(p)
	return n


def cmd_clean(args, env=None, is_root=None):
	"""Remove what the cache can rebuild; refuse if a work tree has unexported edits."""
	r = Runner(args, env=env, is_root=is_root)
	if r.repo == r.cache or r.cache in r.repo.parents:
		raise RunnerError(EXIT_USAGE, f'clean refused: the cache {r.cache} holds the repo {r.repo} '
				  '(nothing was deleted)')
	if not r.cache.is_dir():
		say(f'clean: no cache at {r.cache}; nothing to remove')
		return EXIT_OK
	with FileLock(r.layout.work_lock, 'work tree', args.lock_timeout), \
	     FileLock(r.lock_path, 'build', args.lock_timeout, shared=True):
		remove, trees, left = clean_targets(r)
		if trees:
			r.ensure_tools(('git',))
		for wt in trees:
			clean_check_work_tree(r, wt)
		freed = 0
		for p in remove:
			n = remove_path(p)
			freed += n
			say(f'clean: removed {p} ({fmt_size(n)})')
	ccache = None
	if args.all:
		cdir = r.env.get('CCACHE_DIR')
		own = buildenv.default_ccache_dir(r.env)
		if cdir and os.path.realpath(cdir) != os.path.realpath(own):
			say(f'clean: kept CCACHE_DIR {cdir}: it is not the runner\'s own ({own})')
		elif os.path.isdir(own):
			n = remove_path(Path(own))
			freed += n
			ccache = own
			say(f'clean: removed the ccache directory {own} ({fmt_size(n)}; shared by every '
			    'cache of the runner)')
	for p in left:
		say(f'clean: left {p} (not the runner\'s)')
	kept = [] if args.all else ['dl/ (the base .deb)', 'the ccache directory']
	say(f'clean: freed {fmt_size(freed)} in {r.cache}' +
	    (f'; kept {" and ".join(kept)}' if kept else '') +
	    ('' if ccache or not args.all else '; no ccache directory of the runner removed'))
	return EXIT_OK

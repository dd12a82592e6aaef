# SPDX-License-Identifier: GPL-2.0
"""Where things are: the runner's own files, and the one layout of the cache
directory (every path below it is made here)."""

import os
from pathlib import Path

# tools/kunit-runner: the runner's own files; RUN is its entry point.
TOOL_DIR = Path(__file__).resolve().parent.parent
RUN = TOOL_DIR / 'run'

# Entries of the cache that the runner and its scripts rebuild: the
# unpacked base of earlier runner versions (base/; the base is now
# unpacked straight into a new work tree) and private apt lists, build and output dirs, the work trees (each
# checked for unexported edits first), split --series input and the
# scratch worktree of series_checks.py.  dl/ (the base .deb) and the
# ccache directory go with --all only; anything else is left alone.
CLEAN_DIRS = ('build', 'out', 'base', 'apt', 'series-input', 'series-checks')

STATE_SUFFIX = '.state.json'


def cache_root(cache=None, env=None):
	"""The cache directory: @cache (--cache), else NOIRQ_KUNIT_CACHE of @env
	(default os.environ), else ${XDG_CACHE_HOME:-~/.cache}/noirq-kunit."""
	env = os.environ if env is None else env
	cache = cache or env.get('NOIRQ_KUNIT_CACHE')
	if not cache:
		xdg = env.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
		cache = os.path.join(xdg, 'noirq-kunit')
	return cache


class CacheLayout:
	"""The paths below the cache directory @root."""

	def __init__(self, root):
		self.root = Path(root)
		self.work = self.root / 'work'			# work trees and their state files
		self.work_lock = self.root / '.work.lock'	# taken while a work tree changes
		self.base = self.root / 'base'			# the unpacked base of earlier versions
		self.dl = self.root / 'dl'			# the downloaded base .deb
		self.apt = self.root / 'apt'			# the private apt setup
		self.build = self.root / 'build'		# build dirs outside a work tree
		self.out = self.root / 'out'			# the default output dir
		self.series_input = self.root / 'series-input'	# split --series mboxes
		self.series_checks = self.root / 'series-checks'  # series_checks.py --cache

	def work_tree(self, name):
		return self.work / name

	@staticmethod
	def state_file(wt):
		"""The state file beside the work tree @wt."""
		return wt.parent / (wt.name + STATE_SUFFIX)

	@staticmethod
	def state_tree(state_file):
		"""The work tree of the state file @state_file."""
		return state_file.with_name(state_file.name[:-len(STATE_SUFFIX)])

	def build_dir(self, name):
		"""CACHE/build/@name: a build dir outside every work tree."""
		return self.build / name

	def deb(self, filename):
		return self.dl / filename

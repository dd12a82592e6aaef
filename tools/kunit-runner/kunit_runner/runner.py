# SPDX-License-Identifier: GPL-2.0
"""Runner: the state one command of the runner works on (options, cache, work
tree, build and output dirs) and its tool checks; what it does is in the
mixins, one module per job."""

import hashlib
import os
import shutil
from pathlib import Path

from . import buildlock, hostenv
from .base import BaseFetch
from .cache import TOOL_DIR, CacheLayout, cache_root
from .coverage import Coverage
from .errors import EXIT_ENV, RunnerError
from .export import Export
from .kbuild import KBuild
from .proc import Git, run_cmd, say
from .series import SeriesInput
from .worktree import WorkTree

BUILD_LOCK = buildlock.BUILD_LOCK

# Tool -> Debian package: the one table, in hostenv.py.
TOOL_PACKAGES = hostenv.TOOL_PACKAGES
BUILD_TOOLS = hostenv.BUILD_TOOLS
FETCH_TOOLS = hostenv.FETCH_TOOLS


class Runner(SeriesInput, BaseFetch, WorkTree, Export, KBuild, Coverage):
	"""One command's options and paths; each mixin adds the methods of one job:
	series.SeriesInput, base.BaseFetch, worktree.WorkTree, export.Export,
	kbuild.KBuild and coverage.Coverage."""

	def __init__(self, args, env=None, is_root=None):
		self.args = args
		self.env = dict(os.environ if env is None else env)
		self.env.setdefault('LC_ALL', 'C')
		self.is_root = (os.geteuid() == 0) if is_root is None else is_root
		self.ci = self.env.get('CI', '').lower() == 'true'
		self.repo = Path(args.repo or TOOL_DIR.parent.parent).resolve()
		self.cache = Path(cache_root(args.cache, self.env)).resolve()
		self.layout = CacheLayout(self.cache)
		kernel = args.kernel or self.env.get('NOIRQ_KUNIT_KERNEL')
		self.kernel = Path(kernel).resolve() if kernel else None
		self.lock_path = self.env.get('NOIRQ_KUNIT_LOCK', BUILD_LOCK)
		self.apt_etc = self.env.get('NOIRQ_KUNIT_APT_ETC', '/etc/apt')
		series = getattr(args, 'series', None)
		self.series_path = Path(series).resolve() if series else None
		self.applied = bool(getattr(args, 'applied', False))
		if self.kernel:
			name = 'linux-' + hashlib.sha1(str(self.kernel).encode()).hexdigest()[:10]
		else:
			name = 'linux'
		# A foreign series or an applied tree has a work tree of its own:
		# the tree of patches/ is never reset for it.
		if self.series_path:
			name += '-series-' + hashlib.sha1(str(self.series_path).encode()).hexdigest()[:10]
		elif self.applied:
			name += '-applied'
		self.hook = None
		if args.upto is not None:
			# Patch subsets share one work tree and build dir of their own:
			# the full series' tree and build are never reset or rebuilt,
			# and going from one prefix to the next rebuilds only what the
			# patches in between change (unchanged files keep their mtime).
			name += '-upto'
		self.wt = self.layout.work_tree(name)
		self.state_path = self.layout.state_file(self.wt)
		arch = args.arch
		self.name = name
		# The build dir is a direct subdirectory of its work tree (hidden:
		# the kernel's .gitignore ignores it): Kbuild then compiles with
		# source paths relative to it ("../drivers/..."), so two work trees
		# compile the same file with the same command and ccache serves
		# one tree's objects to the other (the --upto tree from the full
		# series' objects). See buildenv.py.
		self.build_dir = Path(args.build_dir).resolve() if args.build_dir else \
			self.wt / f'.build-{arch}'
		self.out_dir = Path(args.out).resolve() if args.out else self.layout.out
		self.git = Git(self.wt, self.env)
		self.counts = None
		# KUnit cases of the last exec as kunit.py's JSON counts them (no
		# splats, no "no test ran" failure); None when it has no results.
		self.case_counts = None

	# ---- tools ----------------------------------------------------------

	def which(self, tool):
		return shutil.which(tool, path=self.env.get('PATH', os.defpath))

	def ensure_tools(self, tools):
		missing = [t for t in tools if not self.which(t)]
		if not missing:
			return
		pkgs = sorted({TOOL_PACKAGES.get(t, t) for t in missing})
		if self.is_root and self.which('apt-get'):
			say(f'installing missing tools ({" ".join(missing)}): apt-get install -y {" ".join(pkgs)}')
			r = run_cmd(['apt-get', 'update'], env=self.env, check=False)
			r = run_cmd(['apt-get', 'install', '-y', '--no-install-recommends'] + pkgs,
				    env=dict(self.env, DEBIAN_FRONTEND='noninteractive'), check=False)
			still = [t for t in tools if not self.which(t)]
			if r.returncode == 0 and not still:
				return
			raise RunnerError(EXIT_ENV, f'could not install {" ".join(pkgs)} '
					  f'(apt-get install -y {" ".join(pkgs)} failed)')
		raise RunnerError(EXIT_ENV, f'missing tools: {" ".join(missing)}; install them with: '
				  f'apt-get install -y {" ".join(pkgs)}')

# SPDX-License-Identifier: GPL-2.0
"""buildenv: one compiler cache for every kernel build of the runner.

Every entry point (run, e2e.py, series_checks.py) calls use_ccache()
before it starts a build, so the developer's cache, CI's cache and a
helper's cache share one ccache directory.  Kbuild compiles with absolute
source paths and each cache has the same layout (CACHE/work/linux,
CACHE/build/NAME), so with base_dir set to the directory that holds the
caches (~/.cache) the command lines of two caches hash alike.

NOIRQ_KUNIT_CCACHE=0 turns it off; CCACHE_DIR and CCACHE_BASEDIR set by
the caller are kept.  Without ccache installed nothing changes.
"""
import os

CCACHE_WRAPPERS = '/usr/lib/ccache'


def cache_home(env):
	"""${XDG_CACHE_HOME:-~/.cache} of @env: the directory of every cache."""
	return env.get('XDG_CACHE_HOME') or os.path.join(
		env.get('HOME') or os.path.expanduser('~'), '.cache')


def default_ccache_dir(env):
	"""The runner's own ccache directory (CCACHE_DIR unless the caller set it)."""
	return os.path.join(cache_home(env), 'noirq-kunit-ccache')


def use_ccache(environ=None):
	"""Put ccache's compiler wrappers first on PATH in @environ.

	Returns the ccache directory in use, or None when ccache is off or
	not installed.
	"""
	env = os.environ if environ is None else environ
	if env.get('NOIRQ_KUNIT_CCACHE', '1') == '0':
		return None
	if not os.path.isfile(os.path.join(CCACHE_WRAPPERS, 'gcc')):
		return None
	path = env.get('PATH', '').split(os.pathsep)
	if CCACHE_WRAPPERS not in path:
		env['PATH'] = os.pathsep.join([CCACHE_WRAPPERS] + path)
	home = cache_home(env)
	env.setdefault('CCACHE_DIR', default_ccache_dir(env))
	env.setdefault('CCACHE_BASEDIR', os.path.realpath(home))
	# Debug info names the build directory; two caches differ only there.
	env.setdefault('CCACHE_NOHASHDIR', '1')
	env.setdefault('CCACHE_MAXSIZE', '20G')
	return env['CCACHE_DIR']

# SPDX-License-Identifier: GPL-2.0
"""buildenv: one compiler cache for every kernel build of the runner.

Every entry point (run, e2e.py, series_checks.py) calls use_ccache()
before it starts a build, so every cache of the runner (the developer's,
CI's) uses one ccache directory: a build dir rebuilt from scratch (after
"run clean", a changed config put back, CI run again on the same machine)
is mostly cache hits.

Hits across work trees (the developer's cache and CI's) need the same
compile command in both: the runner puts a build dir directly below its
work tree, where Kbuild compiles with source paths relative to the build
dir ("../drivers/...").  Build dirs elsewhere get absolute source paths
and hits only from themselves.  ccache's base_dir is left unset: it
rewrites absolute source paths to relative ones that -fmacro-prefix-map
no longer matches, so __FILE__ in the kernel would change (seen with
ccache 4.7).

ccache runs in depend mode (CCACHE_DEPEND): it looks a compile up by its
command, its source and the headers of the compiler's own dependency
file (Kbuild's -Wp,-MMD), so a miss costs no extra preprocessor run --
about a tenth of a cold build in the default mode.  What that mode gave
up, hits of one configuration's objects in a build of another, the
runner no longer needs: a new --upto build dir starts as a copy of the
full series' one (buildseed.py).

NOIRQ_KUNIT_CCACHE=0 turns it off; ccache settings of the caller are
kept (a CCACHE_DEPEND=0 too).  Without ccache installed nothing changes.
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
	env.setdefault('CCACHE_DIR', default_ccache_dir(env))
	env.setdefault('CCACHE_MAXSIZE', '20G')
	env.setdefault('CCACHE_DEPEND', '1')
	return env['CCACHE_DIR']

# SPDX-License-Identifier: GPL-2.0
"""The command line: argparse and main()."""

import argparse
import sys

from . import proc
from .clean import cmd_clean
from .doctor import cmd_doctor
from .errors import EXIT_CODES, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, RunnerError, disk_error
from .hostenv import BUILD_TOOLS, FETCH_TOOLS
from .proc import PROG, say
from .runner import Runner
from .selftest import cmd_selftest
from .testall import cmd_test_all

COMMANDS = ('run', 'tree', 'export', 'test-all', 'selftest', 'coverage', 'doctor', 'clean')


def build_parser():
	p = argparse.ArgumentParser(
		prog=PROG,
		description='Build a work tree (pinned base + patches/series + new files) and run the '
		'KUnit suite under UML.',
		epilog='exit codes: ' + '; '.join(f'{k} {v}' for k, v in EXIT_CODES.items()),
		formatter_class=argparse.RawDescriptionHelpFormatter)
	p.add_argument('command', nargs='?', default='run', choices=COMMANDS,
		       help='run (default): prepare, config, build, exec; tree: prepare the work tree '
		       'and print its path; export: write patches/ (and placed files) back from the work '
		       'tree; test-all: every test stage (see README.md); selftest: self-tests only; '
		       'coverage: gcov run of the suite, coverage of the lines the series adds or changes; '
		       'doctor: what this machine lacks for test-all (--full: the whole matrix); clean: '
		       'remove what the cache can rebuild (never unexported edits)')
	p.add_argument('--kernel', metavar='DIR', help='use this kernel tree as base instead of the '
		       'pinned Debian package (env NOIRQ_KUNIT_KERNEL)')
	p.add_argument('--series', metavar='PATH', help='apply this series instead of patches/: a '
		       'quilt directory (series file + patches), a directory of git format-patch files '
		       '(file name order) or an mbox (b4 am); the KUnit hook patch of patches/ follows '
		       'unless the series builds drivers/virtio/tests/ itself; our tests are placed on top')
	p.add_argument('--applied', action='store_true', help='with --kernel TREE: the tree carries '
		       'a series already; apply no patch, place the tests (and the hook) only if absent')
	p.add_argument('--cache', metavar='DIR', help='cache directory (env NOIRQ_KUNIT_CACHE; '
		       'default ${XDG_CACHE_HOME:-~/.cache}/noirq-kunit)')
	p.add_argument('--repo', metavar='DIR', help=argparse.SUPPRESS)
	p.add_argument('--out', metavar='DIR', help='output dir for results.json, results.xml, '
		       'test.log, build.log (default CACHE/out)')
	p.add_argument('--build-dir', metavar='DIR', help='kernel build dir (default CACHE/build/...)')
	p.add_argument('--arch', default='um', help='kunit.py --arch (default um; x86_64 uses QEMU)')
	p.add_argument('--kunitconfig', metavar='FILE', action='append',
		       help="default: the repo's .kunitconfig; may be repeated (fragments are merged)")
	p.add_argument('--make-option', '--make_options', action='append', metavar='VAR=VALUE',
		       help='added to the make command line of the kernel build (kunit.py '
		       '--make_options), e.g. KCFLAGS=-DX; may be repeated; use its own --build-dir')
	p.add_argument('--kconfig_add', '--kconfig-add', action='append', metavar='CONFIG_X=Y',
		       help='passed to kunit.py; may be repeated')
	p.add_argument('--filter', metavar='GLOB', help='kunit.py exec filter_glob, e.g. "virtio*"')
	p.add_argument('--upto', type=int, metavar='N', help='apply only the first N patches plus '
		       'the last one (the KUnit hook patch)')
	p.add_argument('--jobs', '-j', type=int, help='make -j (default: number of CPUs)')
	p.add_argument('--kunit-build', action='store_true', help='build with kunit.py build '
		       'instead of make ... linux (UML)')
	p.add_argument('--modules', action='store_true', help='run: build the test symbols of the '
		       'kunitconfig as modules (=m) and load them with modprobe in a UML kernel '
		       '(needs busybox-static); own build dir')
	p.add_argument('--force', action='store_true', help='discard unexported edits in the work tree')
	p.add_argument('--lock-timeout', type=float, help=argparse.SUPPRESS)
	p.add_argument('--counts-file', help=argparse.SUPPRESS)
	p.add_argument('--quick', action='store_true', help='test-all: run only the self-tests and '
		       'the UML KUnit suite')
	p.add_argument('--full', action='store_true', help='test-all, doctor: the whole matrix (e2e '
		       'soak, e2e on arm64, every group of series_checks.py) instead of the '
		       'CI tier')
	p.add_argument('--missing-packages', action='store_true', help='doctor: print only the '
		       'Debian packages missing for the tier (test-all, or --full), on one line')
	p.add_argument('--all', action='store_true', help='clean: also remove the downloaded base '
		       '.deb and the runner\'s ccache directory')
	p.add_argument('-v', '--verbose', action='store_true', help='verbose self-tests')
	return p


def main(argv=None, env=None, is_root=None):
	argv = list(sys.argv[1:] if argv is None else argv)
	parser = build_parser()
	try:
		args = parser.parse_args(argv)
	except SystemExit as e:
		return EXIT_OK if e.code in (0, None) else EXIT_USAGE
	try:
		if args.command == 'selftest':
			return cmd_selftest(args)
		if args.command == 'test-all':
			return cmd_test_all(args, env=env, is_root=is_root)
		if args.command == 'doctor':
			return cmd_doctor(args, env=env, is_root=is_root)
		if args.command == 'clean':
			return cmd_clean(args, env=env, is_root=is_root)
		runner = Runner(args, env=env, is_root=is_root)
		if args.command == 'tree':
			proc._say_stream = sys.stderr
			runner.ensure_tools(BUILD_TOOLS if runner.kernel else BUILD_TOOLS + FETCH_TOOLS)
			print(runner.prepare(), flush=True)
			return EXIT_OK
		if args.command == 'export':
			return runner.export()
		if args.command == 'coverage':
			return runner.coverage()
		return runner.run()
	except RunnerError as e:
		say(e.message)
		return e.code
	except OSError as e:
		err = disk_error(e)
		if err is None:
			raise
		say(err.message)
		return err.code
	except KeyboardInterrupt:
		say('interrupted')
		return EXIT_INTERRUPTED
	finally:
		proc._say_stream = None

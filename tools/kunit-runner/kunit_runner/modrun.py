# SPDX-License-Identifier: GPL-2.0
"""run --modules: the KUnit suites built as modules, loaded with modprobe.

CI bots build KUnit tests as modules too. Under UML this is cheap: the
kernel is built with the test modules (=m, every other symbol as in the
kunitconfig), they are installed into a small root directory with a static
busybox, and that directory is the root file system of the UML kernel
(hostfs). Its init loads every test module with `busybox modprobe`, which
runs the module's suites, and halts. The console is parsed by kunit.py's own
parser (`kunit.py parse --json`), so the results are kunit.py JSON as for a
built-in run.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

# The tristate test symbols and the module each one builds.
MODULE_TESTS = {
	'CONFIG_VIRTIO_PM_KUNIT_TEST': 'virtio_pm_test',
	'CONFIG_VIRTIO_MMIO_KUNIT_TEST': 'virtio_mmio_test',
}

# What a module run needs besides the kunitconfig: modules, the hostfs
# root, and devtmpfs on /dev so that init's output reaches the UML console
# (never a device node of the host's).
MODULE_KCONFIG = ['CONFIG_MODULES=y', 'CONFIG_MODULE_UNLOAD=y', 'CONFIG_HOSTFS=y',
		  'CONFIG_DEVTMPFS=y', 'CONFIG_DEVTMPFS_MOUNT=y']

BUSYBOX = '/bin/busybox'
BOOT_TIMEOUT = 600
# The init script's own lines on the console.
MODPROBE_TAG = 'kunit-runner modprobe'


def kunitconfig_values(texts):
	"""The CONFIG_X=V lines of kunitconfig @texts, the last one winning."""
	vals = {}
	for text in texts:
		for line in text.splitlines():
			line = line.strip()
			if line.startswith('CONFIG_') and '=' in line:
				k, v = line.split('=', 1)
				vals[k] = v
	return vals


def module_config(texts):
	"""(kconfig_add entries, module names) of a module run of kunitconfig @texts.

	Every test symbol of MODULE_TESTS that the kunitconfig builds in (=y)
	becomes =m; the others stay as they are."""
	vals = kunitconfig_values(texts)
	mods = [m for sym, m in MODULE_TESTS.items() if vals.get(sym) in ('y', 'm')]
	adds = list(MODULE_KCONFIG) + [f'{sym}=m' for sym, m in MODULE_TESTS.items() if m in mods]
	return adds, mods


def init_script(modules):
	"""The /init of the module run: load @modules in order, then halt."""
	lines = ['#!/bin/busybox sh',
		 '/bin/busybox mount -t proc proc /proc',
		 '/bin/busybox mount -t sysfs sysfs /sys']
	for m in modules:
		lines.append(f'/bin/busybox modprobe {m}; echo "# {MODPROBE_TAG} {m}: exit $?"')
	lines.append('/bin/busybox halt -f')
	return '\n'.join(lines) + '\n'


def boot_args(root, filter_glob=None):
	"""UML kernel command line: @root as a hostfs root, /init as init."""
	a = ['mem=512M', 'console=tty', 'root=/dev/root', 'rootfstype=hostfs',
	     f'rootflags={root}', 'rw', 'init=/init']
	if filter_glob:
		a.append(f'kunit.filter_glob={filter_glob}')
	return a


TOP_RESULT = re.compile(r'^(ok|not ok) (\d+)\b(.*)$')
TOP_PLAN = re.compile(r'^1\.\.(\d+)$')


def merge_ktap(console):
	"""One KTAP document from the console of a module run.

	Every module load prints a KTAP document of its own (header, plan
	"1..N" of its suites, suites numbered from 1), and so does the boot
	(with no built-in suite: "1..0"). kunit.py parses only the first
	document, so keep the first header, make its plan the sum of all
	plans, drop the later headers and plans and number the suite results
	in order. Indented (suite and case) lines are kept as they are."""
	lines = console.splitlines()
	heads = [i for i, l in enumerate(lines) if l == 'KTAP version 1']
	if not heads:
		return console
	total = 0
	plans = set()
	for h in heads:
		if h + 1 < len(lines) and TOP_PLAN.match(lines[h + 1]):
			total += int(TOP_PLAN.match(lines[h + 1]).group(1))
			plans.add(h + 1)
	res = lines[:heads[0]] + ['KTAP version 1', f'1..{total}']
	n = 0
	for i in range(heads[0] + 1, len(lines)):
		l = lines[i]
		if i in heads or i in plans:
			continue
		m = TOP_RESULT.match(l)
		if m:
			n += 1
			l = f'{m.group(1)} {n}{m.group(3)}'
		res.append(l)
	return '\n'.join(res) + '\n'


def modprobe_failures(console, modules):
	"""The modules of @modules that the console does not show loaded (exit 0)."""
	bad = []
	for m in modules:
		tag = f'# {MODPROBE_TAG} {m}: exit '
		codes = [l.split(tag, 1)[1].strip() for l in console.splitlines() if tag in l]
		if codes != ['0']:
			bad.append((m, codes[0] if codes else 'never ran'))
	return bad


def make_root(root, modules, busybox=BUSYBOX):
	"""A fresh root directory @root for the UML kernel (modules not yet in)."""
	if root.exists():
		shutil.rmtree(root)
	for d in ('bin', 'proc', 'sys', 'dev', 'tmp'):
		(root / d).mkdir(parents=True)
	shutil.copy2(busybox, root / 'bin' / 'busybox')
	init = root / 'init'
	init.write_text(init_script(modules))
	init.chmod(0o755)


def run(r, wt, kc, say, stream, RunnerError, codes):
	"""Install, boot and parse; set r.counts like Runner.exec_step().

	@r is the Runner (config and build done, with r.module_names), @wt its
	work tree, @kc its kunitconfig files."""
	root = r.build_dir / 'modrun-root'
	bb = r.which('busybox') or BUSYBOX
	make_root(root, r.module_names, bb)
	rel = (r.build_dir / 'include' / 'config' / 'kernel.release').read_text().strip()
	say(f'modules_install into {root} (kernel {rel})')
	rc = stream(['make', 'ARCH=um', f'O={r.build_dir}', f'INSTALL_MOD_PATH={root}',
		     'DEPMOD=true', 'modules_install'], cwd=wt, log=r.out_dir / 'modules_install.log')
	if rc != 0:
		raise RunnerError(codes['build'], f'modules_install failed (exit {rc})')
	rc = stream([bb, 'depmod', '-b', root, rel], cwd=wt)
	if rc != 0:
		raise RunnerError(codes['build'], f'busybox depmod failed (exit {rc})')
	log = r.out_dir / 'test.log'
	cmd = [r.build_dir / 'linux'] + boot_args(root, r.args.filter)
	say('boot: ' + ' '.join(str(c) for c in cmd))
	try:
		with open(log, 'w') as lf:
			subprocess.run([str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=lf,
				       stderr=subprocess.STDOUT, timeout=BOOT_TIMEOUT, env=r.env)
	except subprocess.TimeoutExpired:
		say(f'the UML kernel did not halt within {BOOT_TIMEOUT} s')
	console = log.read_text(errors='backslashreplace')
	ktap = r.out_dir / 'ktap.log'
	ktap.write_text(merge_ktap(console))
	js, ju = r.out_dir / 'results.json', r.out_dir / 'results.xml'
	for f in (js, ju):
		if f.exists():
			f.unlink()
	say(f'kunit.py parse (the modules\' KTAP documents merged into {ktap})')
	stream(r.kunit_py(wt) + ['parse', f'--json={js}', f'--junit={ju}', ktap], cwd=wt)
	return console, js, ju


def counts(js, console, modules, splat_re, say):
	"""(passed, failed, skipped), case counts or None: as Runner.exec_step()."""
	passed = failed = skipped = 0
	cases = None
	try:
		misc = json.loads(Path(js).read_text())['misc']
		passed, skipped = misc['passed'], misc['skipped']
		failed = misc['failed'] + misc['crashed'] + misc.get('errors', 0)
		cases = (passed, failed, skipped)
	except (OSError, ValueError, KeyError, TypeError):
		say(f'no readable test results in {js}; counting one failure')
		failed = 1
	for m, code in modprobe_failures(console, modules):
		say(f'modprobe {m}: {code}; counting one failure')
		failed += 1
	if passed + failed + skipped == 0:
		say('no test ran; counting one failure')
		failed = 1
	splats = [l for l in console.splitlines() if splat_re.search(l)]
	for l in splats:
		say(f'kernel splat: {l.strip()}')
	return (passed, failed + len(splats), skipped), cases

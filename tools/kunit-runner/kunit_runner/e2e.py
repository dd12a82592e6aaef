#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""e2e: end-to-end test of virtio noirq system sleep under QEMU.

Builds a minimal x86_64 kernel with the series and the test driver
drivers/virtio/tests/virtio_noirq_e2e.c (CONFIG_VIRTIO_NOIRQ_E2E_TEST),
packs a busybox initramfs, boots QEMU's microvm machine with a real
virtio-rng-device on virtio-mmio (with --arch arm64: an arm64 kernel on
QEMU's virt machine, whose device tree lists its virtio-mmio transports,
and an arm64 busybox), and lets the init script (e2e/init) run
s2idle cycles and hibernation freeze/thaw cycles through the real PM core
with pm_test (no wakeup source and no image needed), and real s2idle cycles
(pm_test=none) that only a byte sent by this script to the guest's console
UART wakes. The serial log is then checked:

  - every transition returned success and no kernel warning or oops showed;
  - virtio-mmio's noirq callbacks ran (pm_print_times lines);
  - the driver fetched data through its virtqueue by polling inside
    restore_noirq, before the noirq phase ended and before the first
    normal-phase resume callback of any device;
  - the device still works after resume (an interrupt-driven fetch);
  - no buffer was lost or left outstanding, no cycle was skipped;
  - a consumer platform device, linked after the virtio device, fetched
    through it in its own resume_noirq callback;
  - each real s2idle cycle slept until the wake byte came, was woken by the
    UART's interrupt, and counted as a success in suspend_stats.

Python 3 standard library only.

Exit codes:
  0  every check passed
  1  a check failed (including a boot that timed out or never finished)
  2  bad usage or input (options, kernel tree without the series/driver)
  3  missing environment (QEMU, busybox-static or build tools absent)
  5  kernel configuration or build failed
  8  internal error
"""

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

from kunit_runner import buildlock, e2e_timeline, hostenv
from kunit_runner.cache import TOOL_DIR, CacheLayout, cache_root
from kunit_runner.kbuild import kunit_py

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENV = 3
EXIT_BUILD = 5
EXIT_INTERNAL = 8

HERE = TOOL_DIR
E2E_DIR = HERE / 'e2e'
FRAGMENT = E2E_DIR / 'e2e.config'
FRAGMENT_ARM64 = E2E_DIR / 'e2e-arm64.config'
INIT_SCRIPT = E2E_DIR / 'init'
BUILD_LOCK = buildlock.build_lock_path()
NOIRQ_HIB_LEVELS = ('platform', 'processors', 'core')
BUSYBOX_APPLETS = ('sh', 'mount', 'mkdir', 'cat', 'echo', 'ls', 'tr', 'cut',
		   'sleep', 'sync', 'reboot', 'poweroff', 'stty',
		   'mkswap', 'swapon')
# Debian package providing each tool, for --install (hostenv.py's table).
PACKAGES = hostenv.packages(hostenv.E2E_TOOLS)
PACKAGES_ARM64 = hostenv.packages(hostenv.E2E_ARM64_TOOLS)
HEADERS = hostenv.packages(hostenv.E2E_HEADERS)
EM_AARCH64 = 183	# e_machine of an arm64 ELF file
PT_INTERP = 3

# The machine of each --arch: how to build its kernel and boot it.
#   make, image     make's ARCH (and CROSS_COMPILE) and the image target
#   image_path      the image in the build dir
#   fragment        the Kconfig fragment on top of allnoconfig
#   qemu, machine   the default QEMU binary, its machine and CPU options
#   tty             the console UART, the wake source of a real s2idle
#   tty_events      its driver reports a wakeup event for each byte it
#                   receives while armed for wakeup (8250 does, PL011 not)
#   append          extra command line of every e2e boot
#   hibimg_append   extra command line of the --hib-image boots
#   busybox_deb     the Debian architecture of a foreign static busybox
#   no_platform     why /sys/power/disk offers no platform mode
#   rtc_wake        rtc0's alarm can wake a real s2idle (--rtc)
ARCHES = {
	'x86_64': {
		'make': ['ARCH=x86_64'], 'image': 'bzImage',
		'image_path': 'arch/x86/boot/bzImage', 'fragment': FRAGMENT,
		'qemu': 'qemu-system-x86_64',
		'machine': ['-M', 'microvm,acpi=off'], 'tty': 'ttyS0',
		'tty_events': True, 'append': 'hibernate=nocompress ',
		# under TCG the APIC timer fails its verification at boot
		# and is not used, but that verification left its
		# clockevent's handler on lapic_cal_handler (__init,
		# freed); now and then the restored kernel then took an
		# APIC timer interrupt and oopsed on it right after the
		# syscore resume (3 of 8 restores under load).
		'hibimg_append': 'noapictimer ',
		'busybox_deb': None,
		'no_platform': 'no hibernation_ops, no ACPI S4 on this machine',
		'rtc_wake': False,
	},
	'arm64': {
		'make': ['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-'],
		'image': 'Image', 'image_path': 'arch/arm64/boot/Image',
		'fragment': FRAGMENT_ARM64, 'qemu': 'qemu-system-aarch64',
		'machine': ['-M', 'virt', '-cpu', 'cortex-a57'],
		'tty': 'ttyAMA0', 'tty_events': False,
		# The image is compressed (lzo), as by default: an
		# uncompressed one is read with clean_pages_on_read, and
		# hib_end_io() then calls flush_icache_range() from the
		# bio's completion interrupt: on arm64 kick_all_cpus_sync()
		# warns twice (irqs disabled, !in_task()). The compressed
		# path cleans the pages in its decompression threads.
		'append': '', 'hibimg_append': '',
		'busybox_deb': 'arm64',
		'no_platform': 'no hibernation_ops: nothing registers them on '
		'arm64',
		'rtc_wake': True,
	},
}

DRV = 'virtio_noirq_e2e'
CONSUMER = 'virtio_noirq_e2e_consumer'
CONSUMER_RX = re.compile(rf'{CONSUMER}: cycle (\d+): resume_noirq '
			 r'(?:fetched (\d+) bytes|fetch failed: (-?\d+))')
# Real s2idle cycles: the wake byte goes out this long after the cycle
# began (the guest suspends in well under 0.1 s under TCG), then again at
# the same interval, at most WAKE_TRIES times.
WAKE_DELAY = 1.0
WAKE_TRIES = 5
SOAK_CYCLES = 1000
# swap.c starts reading the image: "Loading image data pages (N pages)",
# or with compression "Loading and decompressing image data (N pages)".
IMAGE_LOAD_RE = r'Loading (and decompressing )?image data'
LINE_RE = re.compile(r'^\[\s*(\d+\.\d+)\]\s?(.*)$')
SPLAT_RE = re.compile(r'WARNING:|BUG:|Oops|Kernel panic|Call Trace:|'
		      r'general protection fault|INFO: task .* blocked')


class E2EError(Exception):
	def __init__(self, code, message):
		super().__init__(message)
		self.code = code


def say(msg=''):
	print(f'e2e: {msg}', flush=True)


# ---------------------------------------------------------------- environment

def missing_packages(qemu, arch='x86_64'):
	miss = []
	for tool, pkg in (PACKAGES_ARM64 if arch == 'arm64' else PACKAGES).items():
		if tool == ARCHES[arch]['qemu']:
			if not shutil.which(qemu):
				miss.append(pkg)
		elif tool == 'busybox':
			if not hostenv.find_busybox() or not hostenv.is_static(hostenv.find_busybox()):
				miss.append(pkg)
		elif not shutil.which(tool):
			miss.append(pkg)
	for hdr, pkg in HEADERS.items():
		if not os.path.exists(hdr):
			miss.append(pkg)
	return sorted(set(miss))


def ensure_env(args):
	miss = missing_packages(args.qemu, args.arch)
	if not miss:
		return
	if args.install and os.geteuid() == 0:
		say(f'installing: {" ".join(miss)}')
		env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
		subprocess.run(['apt-get', 'update'], env=env,
			       stdout=subprocess.DEVNULL, check=False)
		r = subprocess.run(['apt-get', 'install', '-y',
				    '--no-install-recommends'] + miss, env=env,
				   stdout=subprocess.DEVNULL, check=False)
		if r.returncode == 0:
			miss = missing_packages(args.qemu, args.arch)
	if miss:
		raise E2EError(EXIT_ENV, 'missing packages: ' + ' '.join(miss) +
			       ' (install them, or run as root with --install)')


def elf_info(path):
	"""(e_machine, has PT_INTERP) of the 64-bit little-endian ELF file
	@path, or None: a static busybox has no program interpreter."""
	try:
		with open(path, 'rb') as f:
			data = f.read(1 << 16)
	except OSError:
		return None
	if data[:6] != b'\x7fELF\x02\x01':
		return None
	machine = int.from_bytes(data[18:20], 'little')
	phoff = int.from_bytes(data[32:40], 'little')
	phentsize = int.from_bytes(data[54:56], 'little')
	phnum = int.from_bytes(data[56:58], 'little')
	interp = False
	for i in range(phnum):
		off = phoff + i * phentsize
		if off + 4 > len(data):
			return None
		if int.from_bytes(data[off:off + 4], 'little') == PT_INTERP:
			interp = True
	return machine, interp


def host_archive(apt_etc='/etc/apt'):
	"""(URI, suite) of the host's Debian main archive, from its apt sources."""
	import kunit_runner
	for types, uris, suites, comps in kunit_runner.apt_source_entries(apt_etc):
		if 'deb' not in types or not uris or not suites:
			continue
		if 'security' in uris[0] or (comps and 'main' not in comps):
			continue
		suite = next((x for x in suites if '-' not in x and '/' not in x),
			     None)
		if suite:
			return uris[0].rstrip('/'), suite
	raise E2EError(EXIT_ENV, f'no Debian archive in the apt sources under '
		       f'{apt_etc}: pass --busybox')


def foreign_busybox(deb_arch, cache):
	"""The static busybox of the host's Debian release for @deb_arch.

	The guest of --arch arm64 needs an arm64 busybox: the host's busybox
	package (hostenv.py's table) of that architecture, fetched with
	apt-get download in a private apt setup under @cache (the host's
	dpkg is not touched) and unpacked there; later runs reuse it."""
	bb = cache / 'root' / 'bin' / 'busybox'
	pkg = hostenv.packages(('busybox',))['busybox']
	if elf_info(bb) == (EM_AARCH64, False):
		return bb
	uri, suite = host_archive(os.environ.get('NOIRQ_KUNIT_APT_ETC',
						 '/etc/apt'))
	for d in ('lists/partial', 'cache/archives/partial', 'state', 'deb'):
		(cache / d).mkdir(parents=True, exist_ok=True)
	import kunit_runner
	(cache / 'sources.list').write_text(
		f'deb [signed-by={kunit_runner.KEYRING}] {uri} {suite} main\n')
	opts = ['-o', f'Dir::Etc::SourceList={cache}/sources.list',
		'-o', 'Dir::Etc::SourceParts=/dev/null',
		'-o', f'Dir::State={cache}/state',
		'-o', f'Dir::State::Lists={cache}/lists',
		'-o', f'Dir::Cache={cache}/cache',
		'-o', 'Dir::State::status=/var/lib/dpkg/status',
		'-o', f'APT::Architecture={deb_arch}',
		'-o', f'APT::Architectures={deb_arch}',
		'-o', 'Acquire::Languages=none']
	if os.geteuid() == 0:
		opts += ['-o', 'APT::Sandbox::User=root']
	say(f'fetching {pkg} for {deb_arch} from {suite} (private apt setup '
	    f'in {cache})')
	log = cache / 'fetch.log'
	log.write_text('')
	for old in (cache / 'deb').glob('*.deb'):
		old.unlink()
	rc = run_logged(['apt-get'] + opts + ['update'], cache, log)
	if not rc:
		rc = run_logged(['apt-get'] + opts + ['download', pkg],
				cache / 'deb', log)
	debs = sorted((cache / 'deb').glob('*.deb'))
	if rc or not debs:
		raise E2EError(EXIT_ENV, f'cannot fetch {pkg} for {deb_arch} '
			       f'(network?), see {log}; or pass --busybox')
	rc = run_logged(['dpkg-deb', '-x', str(debs[0]), str(cache / 'root')],
			cache, log)
	if rc or elf_info(bb) != (EM_AARCH64, False):
		raise E2EError(EXIT_ENV, f'{debs[0].name} holds no static '
			       f'{deb_arch} bin/busybox, see {log}')
	return bb


def guest_busybox(args, bdir):
	"""The static busybox of the initramfs: the host's, or the guest
	architecture's (--busybox, else fetched)."""
	deb_arch = ARCHES[args.arch]['busybox_deb']
	if args.busybox:
		bb = Path(args.busybox)
		want = (EM_AARCH64, False) if deb_arch == 'arm64' else None
		if want and elf_info(bb) != want:
			raise E2EError(EXIT_USAGE, f'--busybox {bb} is not a static '
				       f'{deb_arch} ELF executable')
		return bb
	if deb_arch:
		return foreign_busybox(deb_arch, bdir / f'busybox-{deb_arch}')
	return hostenv.find_busybox()


def check_kernel_tree(kdir):
	need = {
		'include/linux/virtio.h': 'freeze_noirq',
		'drivers/virtio/virtio_mmio.c': 'virtio_mmio_restore_noirq',
		'drivers/virtio/tests/Kconfig': 'VIRTIO_NOIRQ_E2E_TEST',
		'drivers/virtio/tests/Makefile': 'CONFIG_VIRTIO_NOIRQ_E2E_TEST',
		'drivers/virtio/tests/virtio_noirq_e2e.c': 'restore_noirq',
	}
	if not (kdir / 'Makefile').is_file():
		raise E2EError(EXIT_USAGE, f'{kdir} is not a kernel tree')
	for rel, word in need.items():
		p = kdir / rel
		try:
			text = p.read_text(errors='replace')
		except OSError:
			raise E2EError(EXIT_USAGE, f'{p} missing: the tree needs the '
				       'series and drivers/virtio/tests/')
		if word not in text:
			raise E2EError(EXIT_USAGE, f'{p} lacks {word}: the tree needs '
				       'the series and the e2e driver')


# ---------------------------------------------------------------- build

class BuildLock(buildlock.FileLock):
	"""The machine-wide build lock of the runner (buildlock.py)."""

	def __init__(self, path):
		super().__init__(path, 'build', shared=True, say=say)

	def __enter__(self):
		try:
			return super().__enter__()
		except buildlock.LockError as e:
			raise E2EError(EXIT_ENV, str(e)) from None


def fragment_symbols(fragment=FRAGMENT):
	want_y, want_n = [], []
	for line in fragment.read_text().splitlines():
		m = re.match(r'^(CONFIG_\w+)=y$', line)
		if m:
			want_y.append(m.group(1))
		m = re.match(r'^# (CONFIG_\w+) is not set$', line)
		if m:
			want_n.append(m.group(1))
	return want_y, want_n


def run_logged(cmd, cwd, log):
	with open(log, 'a') as f:
		f.write('$ ' + ' '.join(cmd) + '\n')
		f.flush()
		return subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
				      stdin=subprocess.DEVNULL).returncode


def build_kernel(args, kdir, bdir):
	bdir.mkdir(parents=True, exist_ok=True)
	log = bdir / 'e2e-build.log'
	log.write_text('')
	prof = ARCHES[args.arch]
	make = ['make'] + prof['make'] + [f'O={bdir}']
	with BuildLock(args.lock):
		t0 = time.monotonic()
		rc = run_logged(make + [f'KCONFIG_ALLCONFIG={prof["fragment"]}',
					'allnoconfig'], kdir, log)
		if rc:
			raise E2EError(EXIT_BUILD, f'allnoconfig failed, see {log}')
		config = (bdir / '.config').read_text()
		want_y, want_n = fragment_symbols(prof['fragment'])
		lost = [s for s in want_y if f'\n{s}=y\n' not in '\n' + config]
		lost += [s for s in want_n if re.search(rf'^{s}=[ym]$', config, re.M)]
		if lost:
			raise E2EError(EXIT_BUILD, 'config lost symbols of the '
				       f'fragment: {" ".join(lost)}')
		rc = run_logged(make + [f'-j{args.jobs}', prof['image']], kdir,
				log)
		dt = time.monotonic() - t0
	if rc:
		tail = log.read_text(errors='replace').splitlines()[-25:]
		for line in tail:
			print('  ' + line)
		raise E2EError(EXIT_BUILD, f'kernel build failed, see {log}')
	say(f'kernel built in {dt:.0f}s (under the lock)')
	return dt


# ---------------------------------------------------------------- initramfs

def _newc(out, name, mode, data=b'', rdev=(0, 0), ino=[1]):
	ino[0] += 1
	nb = name.encode() + b'\0'
	hdr = '070701' + ''.join(f'{v:08x}' for v in (
		ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
		len(nb), 0))
	out.write(hdr.encode())
	out.write(nb)
	out.write(b'\0' * ((4 - (110 + len(nb)) % 4) % 4))
	out.write(data)
	out.write(b'\0' * ((4 - len(data) % 4) % 4))


def build_initramfs(path, busybox):
	"""An uncompressed newc archive: no cpio tool needed."""
	with open(path, 'wb') as out:
		for d in ('bin', 'sbin', 'proc', 'sys', 'dev', 'tmp'):
			_newc(out, d, stat.S_IFDIR | 0o755)
		_newc(out, 'dev/console', stat.S_IFCHR | 0o600, rdev=(5, 1))
		_newc(out, 'bin/busybox', stat.S_IFREG | 0o755,
		      Path(busybox).read_bytes())
		for a in BUSYBOX_APPLETS:
			_newc(out, f'bin/{a}', stat.S_IFLNK | 0o777, b'busybox')
		_newc(out, 'init', stat.S_IFREG | 0o755, INIT_SCRIPT.read_bytes())
		_newc(out, 'TRAILER!!!', 0)
		pad = out.tell() % 512
		if pad:
			out.write(b'\0' * (512 - pad))


# ---------------------------------------------------------------- boot

def host_tsc_args(args):
	"""Under TCG on an x86 host the guest reads the host's TSC, but cannot
	calibrate it on microvm (no PIT gate, no HPET): tell it the frequency,
	or the clocksource is jiffies and timestamps have 1 ms resolution."""
	if not args.tsc or args.arch != 'x86_64':
		return ''
	try:
		info = Path('/proc/cpuinfo').read_text()
	except OSError:
		return ''
	flags = re.search(r'^flags\s*:(.*)$', info, re.M)
	mhz = re.search(r'^cpu MHz\s*:\s*([\d.]+)', info, re.M)
	if not flags or not mhz:
		return ''
	flags = flags.group(1).split()
	if not all(f in flags for f in ('constant_tsc', 'nonstop_tsc',
					 'tsc_known_freq')):
		return ''
	return f'tsc_early_khz={int(float(mhz.group(1)) * 1000)} tsc=reliable '


class Waker:
	"""Wakes the guest's real s2idle cycles through its console UART.

	A cycle starts at the "E2E: real s2idle N begin" line; WAKE_DELAY later
	one byte goes to QEMU's stdio serial, and again every WAKE_DELAY until
	the "end" line shows up. A guest that did not really sleep ends the
	cycle before any byte is sent, which the checks catch."""
	BEGIN_RE = re.compile(r'E2E: real s2idle (\d+) begin')
	END_RE = re.compile(r'E2E: real s2idle (\d+) end')

	def __init__(self, delay):
		self.delay = delay
		self.cycles = {}
		self.current = None
		self.lock = threading.Lock()

	def line(self, line, now):
		with self.lock:
			m = self.BEGIN_RE.search(line)
			if m:
				self.current = m.group(1)
				self.cycles[self.current] = {'begin': now, 'sent': [],
							     'end': None}
				return
			m = self.END_RE.search(line)
			if m and m.group(1) in self.cycles:
				self.cycles[m.group(1)]['end'] = now
				self.current = None

	def poll(self, proc, now):
		with self.lock:
			if self.current is None:
				return
			c = self.cycles[self.current]
			last = c['sent'][-1] if c['sent'] else c['begin']
			if now - last < self.delay or len(c['sent']) >= WAKE_TRIES:
				return
			try:
				proc.stdin.write(b'w')
				proc.stdin.flush()
			except OSError:
				return
			c['sent'].append(now)


def boot(args, bzimage, initrd, cmdline_extra, log_path, timeout,
	 mmio_version, waker=None, qemu_extra=(), stop='E2E: done'):
	# The kernel also carries the KUnit suite (run_kunit()): not here.
	prof = ARCHES[args.arch]
	cmdline = (f'console={prof["tty"]} ignore_loglevel panic=-1 ' +
		   prof['append'] + 'kunit.enable=0 ' + host_tsc_args(args) +
		   f'e2e.tty={prof["tty"]} ' + cmdline_extra)
	cmd = [args.qemu] + prof['machine'] + ['-accel', 'tcg',
	       '-m', '256M', '-smp', '1', '-nographic', '-no-reboot',
	       '-kernel', str(bzimage), '-initrd', str(initrd),
	       '-append', cmdline, '-device', 'virtio-rng-device']
	cmd += list(qemu_extra)
	# virtio-mmio version 1 (legacy; QEMU's default on microvm and virt)
	# or 2 (modern) register layout.
	legacy = 'on' if mmio_version == 1 else 'off'
	cmd[-2 - len(qemu_extra):-2 - len(qemu_extra)] = [
		'-global', f'virtio-mmio.force-legacy={legacy}']
	say('boot: ' + ' '.join(cmd))
	lines = []
	t0 = time.monotonic()
	# stdin is the guest's console input (-nographic): the wake source of
	# the real s2idle cycles.
	proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
				stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
	done_at = [None]

	def reader():
		with open(log_path, 'w') as log:
			for raw in proc.stdout:
				line = raw.decode(errors='replace').rstrip('\r\n')
				if done_at[0] is not None:
					continue
				lines.append(line)
				log.write(line + '\n')
				if stop in line or 'E2E: done' in line:
					done_at[0] = time.monotonic()
				if waker:
					waker.line(line, time.monotonic())
				if args.verbose:
					print('  | ' + line, flush=True)

	th = threading.Thread(target=reader, daemon=True)
	th.start()
	timed_out = False
	while proc.poll() is None:
		now = time.monotonic()
		if done_at[0] is not None and now - done_at[0] > 1:
			# Finished. microvm without ACPI can neither power off
			# nor reliably honour -no-reboot: stop it here.
			break
		if now - t0 > timeout:
			timed_out = True
			break
		if waker:
			waker.poll(proc, now)
		time.sleep(0.05)
	try:
		proc.stdin.close()
	except OSError:
		pass
	if proc.poll() is None:
		proc.terminate()
		try:
			proc.wait(10)
		except subprocess.TimeoutExpired:
			proc.kill()
			proc.wait()
	th.join(10)
	if not th.is_alive():
		proc.stdout.close()
	dt = time.monotonic() - t0
	return lines, dt, timed_out


# ---------------------------------------------------------------- checks

class Checks:
	def __init__(self, max_report=20):
		self.passed = 0
		self.failed = 0
		self.max_report = max_report
		self.reported = 0

	def check(self, ok, what):
		if ok:
			self.passed += 1
		else:
			self.failed += 1
			if self.reported < self.max_report:
				say(f'FAIL: {what}')
			elif self.reported == self.max_report:
				say('FAIL: (further failures not shown)')
			self.reported += 1
		return ok


def parse(lines):
	"""Timestamped kernel log lines as (time, text), in order."""
	out = []
	for line in lines:
		m = LINE_RE.match(line)
		if m:
			out.append((float(m.group(1)), m.group(2)))
	return out


def segments(log, kind):
	"""Map cycle name -> (begin index, end index, end text)."""
	segs = {}
	begin = {}
	for i, (_, text) in enumerate(log):
		m = re.search(rf'E2E: {kind} (\S+) begin', text)
		if m:
			begin[m.group(1)] = i
			continue
		m = re.search(rf'E2E: {kind} (\S+) end (.*)$', text)
		if m and m.group(1) in begin:
			segs[m.group(1)] = (begin[m.group(1)], i, m.group(2))
	return segs


def find(log, lo, hi, pattern):
	rx = re.compile(pattern)
	for i in range(lo, hi):
		if rx.search(log[i][1]):
			return i
	return None


def rfind(log, lo, hi, pattern):
	rx = re.compile(pattern)
	for i in range(hi - 1, lo - 1, -1):
		if rx.search(log[i][1]):
			return i
	return None


def analyse_cycle(log, lo, hi, end_text, name, expect_noirq, noirq_mode,
		  timed, chk, timeline,
		  cbs=('virtio_mmio_freeze_noirq', 'virtio_mmio_restore_noirq')):
	"""Check one sleep transition; return the index of the driver's fetch."""
	m = re.search(r'rc=(\d+)', end_text)
	chk.check(m and m.group(1) == '0', f'{name}: transition failed ({end_text})')
	m = re.search(r'check=(\S+)', end_text)
	chk.check(m and m.group(1).startswith('ok:') and
		  int(m.group(1)[3:] or 0) > 0,
		  f'{name}: device check after resume: {end_text}')
	bad = find(log, lo, hi, rf'{DRV}: .*(failed|stuck|outstanding)')
	chk.check(bad is None, f'{name}: driver reported: '
		  f'{log[bad][1] if bad is not None else ""}')
	splat = find(log, lo, hi, SPLAT_RE.pattern)
	chk.check(splat is None, f'{name}: kernel splat: '
		  f'{log[splat][1] if splat is not None else ""}')
	if not expect_noirq:
		return None
	phase = 'restore_noirq' if noirq_mode else 'restore'
	fetch_rx = rf'{DRV}: cycle (\d+): {phase} fetched (\d+) bytes'
	fetches = [i for i in range(lo, hi) if re.search(fetch_rx, log[i][1])]
	check_consumer(log, lo, hi, name, fetches[0] if fetches else None,
		       noirq_mode, timed, chk)
	if not chk.check(len(fetches) == 1,
			 f'{name}: {len(fetches)} {phase} fetch lines, want 1'):
		return None
	fi = fetches[0]
	fm = re.search(fetch_rx, log[fi][1])
	chk.check(int(fm.group(2)) > 0, f'{name}: fetched 0 bytes')
	if not timed:
		return fi
	# pm_print_times: "<dev>: calling <cb> @ <pid>, parent: <p>" and
	# "<dev>: <cb> returned <err> after <n> usecs".
	if noirq_mode:
		for cb in cbs:
			c = find(log, lo, hi, rf'calling {cb}\b')
			r = find(log, lo, hi, rf'{cb} returned 0 after')
			chk.check(c is not None and r is not None and c < r,
				  f'{name}: {cb} did not run and return 0')
		# The callback around the fetch: with a second virtio-mmio
		# device (--hib-image) the first one may be the other's.
		c = rfind(log, lo, fi, r'calling virtio_mmio_restore_noirq\b')
		r = find(log, fi, hi, r'virtio_mmio_restore_noirq returned 0 after')
		chk.check(c is not None and r is not None and
			  log[c][1].split(': ')[0] == log[r][1].split(': ')[0],
			  f'{name}: fetch not inside virtio_mmio_restore_noirq')
	noirq_end = find(log, lo, hi,
			 r'noirq (resume|restore|thaw) of devices complete')
	early_end = find(log, lo, hi,
			 r'early (resume|restore|thaw) of devices complete')
	if not chk.check(noirq_end is not None and early_end is not None,
			 f'{name}: PM phase markers (pm_debug_messages) missing'):
		return fi
	first_normal = find(log, early_end + 1, hi, r': calling \S+ @')
	# The normal-phase callback the PM core runs for virtio-mmio is the
	# platform bus's (platform_pm_resume/_thaw/_restore), which calls
	# virtio_mmio_restore(): a driver without noirq callbacks gets the
	# device back only there. The device is virtio-mmio.N on microvm
	# (command line), ADDR.virtio_mmio on virt (device tree); bound to
	# the virtio-mmio driver either way.
	restore_call = find(log, early_end + 1, hi,
			    r'^virtio-mmio \S+: (PM: )?calling ')
	if noirq_mode:
		chk.check(fi < noirq_end,
			  f'{name}: fetch not inside the noirq resume phase')
		chk.check(first_normal is not None and fi < first_normal,
			  f'{name}: fetch not before the first normal-phase '
			  'resume callback')
	else:
		chk.check(restore_call is not None and fi > restore_call,
			  f'{name}: restore fetch not in virtio_mmio_restore')
	if timeline is not None:
		timeline.append({
			'name': name,
			'fetch': log[fi][0],
			'fetch_text': log[fi][1],
			'noirq_end': log[noirq_end][0],
			'early_end': log[early_end][0],
			'first_normal': (log[first_normal][0], log[first_normal][1])
			if first_normal is not None else None,
			'restore_call': log[restore_call][0]
			if restore_call is not None else None,
		})
	return fi


def check_consumer(log, lo, hi, name, fi, noirq_mode, timed, chk):
	"""The consumer platform device's resume_noirq fetch: it works only if
	the virtio device is live before the noirq phase ends, i.e. only with
	the driver's noirq callbacks."""
	cons = [i for i in range(lo, hi) if CONSUMER_RX.search(log[i][1])]
	if not chk.check(len(cons) == 1,
			 f'{name}: {len(cons)} consumer resume_noirq lines, want 1'):
		return
	ci = cons[0]
	cm = CONSUMER_RX.search(log[ci][1])
	noirq_end = find(log, lo, hi,
			 r'noirq (resume|restore|thaw) of devices complete')
	chk.check(noirq_end is None or ci < noirq_end,
		  f'{name}: consumer callback not in the noirq resume phase')
	if not noirq_mode:
		# Expected to fail: the virtio device comes back only in the
		# normal phase, after the consumer's resume_noirq.
		chk.check(cm.group(3) is not None and (fi is None or ci < fi),
			  f'{name}: the consumer did not fail without the '
			  f'driver\'s noirq callbacks: {log[ci][1]}')
		return
	chk.check(cm.group(2) is not None and int(cm.group(2)) > 0,
		  f'{name}: consumer: {log[ci][1]}')
	chk.check(fi is not None and ci > fi,
		  f'{name}: consumer fetched without a prior fetch in the virtio '
		  'driver\'s restore_noirq')
	if timed:
		# The device link: the PM core calls the consumer only after
		# virtio-mmio's restore_noirq (the parent of the supplier).
		r = find(log, lo, hi, r'virtio_mmio_restore_noirq returned 0 after')
		c = find(log, lo, hi, r'calling e2e_consumer_resume_noirq\b')
		chk.check(r is not None and c is not None and r < c < ci,
			  f'{name}: consumer resume_noirq not called after '
			  'virtio_mmio_restore_noirq returned')


def woken_cycle(log, seg, name, waker, chk):
	"""The checks every real s2idle cycle shares, whatever woke it.

	@seg is the cycle's (first line, last line, end marker text) and
	@waker names what should wake it ("console UART", "RTC"). Checks that
	pm_test was off, the wakeup_count handshake was accepted, suspend_stats
	counted one success, pm_wakeup_irq is the waker's IRQ and the kernel
	logged suspend-to-idle, the wakeup from that IRQ and the resume in
	that order.

	Return: None without the init script's "before" marker, else (kv0,
	kv1, irq, s2i, trig, seq_ok): the before and after key=value maps, the
	waker's IRQ, the log indexes of "suspend-to-idle" and of the wakeup
	line, and whether the sequence check passed.
	"""
	lo, hi, end_text = seg
	before = None
	for i in range(lo - 1, max(lo - 40, -1), -1):
		m = re.search(rf'E2E: {name} before (.*)$', log[i][1])
		if m:
			before = m.group(1)
			break
	if not chk.check(before is not None, f'{name}: no "before" marker'):
		return None
	kv0 = dict(w.split('=', 1) for w in before.split() if '=' in w)
	kv1 = dict(w.split('=', 1) for w in end_text.split() if '=' in w)
	chk.check(kv0.get('pm_test', '').startswith('[none]'),
		  f'{name}: pm_test is not none: {kv0.get("pm_test")}')
	chk.check('wakeup_count_write=ok' in log[lo][1],
		  f'{name}: wakeup_count handshake refused')
	ok = ('success' in kv0 and 'success' in kv1 and
	      int(kv1['success']) == int(kv0['success']) + 1 and
	      kv1.get('fail') == kv0.get('fail'))
	chk.check(ok, f'{name}: suspend_stats before {kv0.get("success")}/'
		  f'{kv0.get("fail")} after {kv1.get("success")}/'
		  f'{kv1.get("fail")} (success/fail), want +1/+0')
	irq = kv0.get('irq')
	chk.check(irq and kv1.get('wakeup_irq') == irq,
		  f'{name}: pm_wakeup_irq {kv1.get("wakeup_irq")!r}, want the '
		  f'{waker}\'s IRQ {irq!r}')
	s2i = find(log, lo, hi, r'PM: suspend-to-idle$')
	trig = find(log, lo, hi, rf'Triggering wakeup from IRQ {irq}$')
	res = find(log, lo, hi, r'PM: resume from suspend-to-idle$')
	seq_ok = chk.check(s2i is not None and trig is not None and
			   res is not None and s2i < trig < res,
			   f'{name}: no "suspend-to-idle", "Triggering wakeup '
			   f'from IRQ {irq}", "resume from suspend-to-idle" '
			   'sequence')
	return kv0, kv1, irq, s2i, trig, seq_ok


def analyse_real(log, seg, n, waker, chk, tty_events=True):
	"""Proof that real s2idle cycle n slept and what woke it.

	@tty_events: the UART's driver reports a wakeup event for each byte
	it receives while armed for wakeup (8250 does, PL011 does not: there
	the wakeup IRQ is the proof)."""
	name = f'real s2idle {n}'
	got = woken_cycle(log, seg, name, 'console UART', chk)
	if got is None:
		return
	kv0, kv1, irq, s2i, trig, _ = got
	# The 8250 driver reports a wakeup event of ttyS0 for each byte it
	# receives while its IRQ is armed for wakeup: the wake byte. PL011
	# reports none: no other source may have reported one either.
	try:
		ev = int(kv1['wakeup_count']) - int(kv0['wakeup_count'])
		tev = int(kv1['tty_wakeup_count']) - int(kv0['tty_wakeup_count'])
	except (KeyError, ValueError):
		ev = tev = -1
	if tty_events:
		chk.check(ev >= 1 and tev == ev,
			  f'{name}: wakeup_count +{ev}, console UART wakeup_count '
			  f'+{tev}: want the same, at least 1 (the wake byte)')
	else:
		chk.check(ev == 0 and tev == 0,
			  f'{name}: wakeup_count +{ev}, console UART wakeup_count '
			  f'+{tev}: want +0, +0 (its driver reports no event)')
	w = waker.cycles.get(str(n)) if waker else None
	if not chk.check(w is not None and w['end'] is not None,
			 f'{name}: the harness did not see the cycle'):
		return
	slept = bool(w['sent']) and w['end'] > w['sent'][0]
	chk.check(slept, f'{name}: ended {w["end"] - w["begin"]:.2f}s after it '
		  'began without a wake byte: the machine did not sleep')
	gap = (log[trig][0] - log[s2i][0]) if s2i is not None and \
		trig is not None else float('nan')
	say(f'{name}: slept until wake byte {len(w["sent"])} '
	    f'({w["sent"][-1] - w["begin"]:.2f}s after begin, wall); '
	    f'kernel clock suspend-to-idle -> wakeup IRQ {irq}: {gap:.3f}s; '
	    f'suspend_stats success {kv0.get("success")} -> '
	    f'{kv1.get("success")}, fail {kv0.get("fail")} -> {kv1.get("fail")}; '
	    f'wakeup_count {kv0.get("wakeup_count")} -> '
	    f'{kv1.get("wakeup_count")} (UART {kv0.get("tty_wakeup_count")} -> '
	    f'{kv1.get("tty_wakeup_count")}); pm_wakeup_irq '
	    f'{kv1.get("wakeup_irq")}'
	    if w['sent'] else f'{name}: no wake byte was sent')


def analyse_rtc(log, seg, n, chk):
	"""Proof that RTC s2idle cycle n slept until rtc0's alarm woke it."""
	name = f'rtc s2idle {n}'
	got = woken_cycle(log, seg, name, 'RTC', chk)
	if got is None or not got[5]:
		return
	kv0, kv1, irq, s2i, trig, _ = got
	# The alarm was set 2 s ahead (whole seconds): the machine slept
	# until the RTC reached it, for about a second at least.
	try:
		reached = int(kv1['now']) >= int(kv0['alarm'])
	except (KeyError, ValueError):
		reached = False
	gap = log[trig][0] - log[s2i][0]
	chk.check(reached and gap >= 0.5,
		  f'{name}: woken {gap:.3f}s after suspend-to-idle, RTC at '
		  f'{kv1.get("now")}, alarm {kv0.get("alarm")}: want the alarm '
		  'reached, at least 0.5 s of sleep')
	# The alarm interrupt reports a wakeup event of the RTC's device
	# (rtc_update_irq(): pm_stay_awake()): the only one.
	try:
		ev = int(kv1['wakeup_count']) - int(kv0['wakeup_count'])
		rev = int(kv1['rtc_wakeup_count']) - int(kv0['rtc_wakeup_count'])
	except (KeyError, ValueError):
		ev = rev = -1
	chk.check(ev >= 1 and rev == ev,
		  f'{name}: wakeup_count +{ev}, RTC wakeup_count +{rev}: want the '
		  'same, at least 1 (the alarm)')
	say(f'{name}: slept {gap:.3f}s (kernel clock) until the RTC alarm '
	    f'(IRQ {irq}); suspend_stats success {kv0.get("success")} -> '
	    f'{kv1.get("success")}; wakeup_count {kv0.get("wakeup_count")} -> '
	    f'{kv1.get("wakeup_count")} (RTC {kv0.get("rtc_wakeup_count")} -> '
	    f'{kv1.get("rtc_wakeup_count")})')


def analyse(lines, args, cycles, hib_levels, noirq_mode, times, real=0,
	    waker=None, tty_events=True, rtc=0):
	chk = Checks()
	log = parse(lines)
	timeline = []
	text = '\n'.join(t for _, t in log)
	chk.check('E2E: start' in text, 'init script did not start')
	m = re.search(r'E2E: device /sys/bus/virtio/drivers/' + DRV +
		      r'/\S+(?: features ([01]+))?', text)
	chk.check(m, 'no virtio device bound to the test driver')
	if m and m.group(1) and len(m.group(1)) > 32:
		say('device: ' + ('modern (VIRTIO_F_VERSION_1)'
				  if m.group(1)[32] == '1' else
				  'legacy (no VIRTIO_F_VERSION_1)'))
	chk.check(re.search(r'E2E: check boot ok \d+', text),
		  'device check before any sleep failed')
	for knob in ('pm_print_times', 'pm_debug_messages', 'pm_test'):
		chk.check(re.search(rf'E2E: knob /sys/power/{knob}=', text),
			  f'/sys/power/{knob} could not be set')
	for mod in ('suspend', 'hibernate'):
		if f'knob /sys/module/{mod}/parameters/pm_test_delay missing' in text:
			say(f'note: {mod}.pm_test_delay missing, pm_test waits 5 s '
			    'a cycle')
	chk.check('E2E: done' in text, 'init script did not finish')

	s2 = segments(log, 's2idle cycle')
	chk.check(len(s2) == cycles, f'{len(s2)} of {cycles} s2idle cycles ran')
	fetch_cycles = []
	for n in range(1, cycles + 1):
		seg = s2.get(str(n))
		if not seg:
			continue
		timed = times < 0 or n <= times
		fi = analyse_cycle(log, seg[0], seg[1], seg[2], f's2idle cycle {n}',
				   True, noirq_mode, timed, chk,
				   timeline if n == 1 else None)
		if fi is not None:
			fetch_cycles.append(int(re.search(r'cycle (\d+):',
							  log[fi][1]).group(1)))
	# Real s2idle cycles, woken by the UART's byte or by the RTC's alarm:
	# what woke them is checked apart, the noirq path as for any cycle.
	woken = (('real s2idle', 'real', real,
		  lambda seg, n: analyse_real(log, seg, n, waker, chk, tty_events)),
		 ('rtc s2idle', 'RTC', rtc,
		  lambda seg, n: analyse_rtc(log, seg, n, chk)))
	for kind, what, count, analyse_waker in woken:
		rs = segments(log, kind)
		chk.check(len(rs) == count,
			  f'{len(rs)} of {count} {what} s2idle cycles ran')
		for n in range(1, count + 1):
			seg = rs.get(str(n))
			if not seg:
				continue
			analyse_waker(seg, n)
			fi = analyse_cycle(log, seg[0], seg[1], seg[2], f'{kind} {n}',
					   True, noirq_mode, True, chk, None)
			if fi is not None:
				fetch_cycles.append(int(re.search(
					r'cycle (\d+):', log[fi][1]).group(1)))
	hib = segments(log, 'hibernate')
	for lvl in hib_levels:
		seg = hib.get(lvl)
		if not chk.check(seg is not None, f'hibernate {lvl} did not run'):
			continue
		fi = analyse_cycle(log, seg[0], seg[1], seg[2], f'hibernate {lvl}',
				   lvl in NOIRQ_HIB_LEVELS, noirq_mode, True, chk,
				   timeline)
		if fi is not None:
			fetch_cycles.append(int(re.search(r'cycle (\d+):',
							  log[fi][1]).group(1)))
	# The driver numbers its restores: none skipped, none repeated.
	chk.check(fetch_cycles == list(range(1, len(fetch_cycles) + 1)),
		  'driver cycle numbers not consecutive: '
		  f'{fetch_cycles[:10]}...')
	m = re.search(r'E2E: stats (.*)$', text, re.M)
	if chk.check(m, 'no final driver stats'):
		st = dict(kv.split('=', 1) for kv in m.group(1).split())
		expect = cycles + real + rtc + sum(1 for lvl in hib_levels
					     if lvl in NOIRQ_HIB_LEVELS)
		chk.check(st.get('cycles') == str(expect),
			  f'driver saw {st.get("cycles")} restores, want {expect}')
		chk.check(st.get('fetch_fail') == '0' and
			  st.get('fetch_ok') == str(expect),
			  f'driver fetches: {m.group(1)}')
		chk.check(st.get('noirq') == ('1' if noirq_mode else '0'),
			  f'driver mode noirq={st.get("noirq")}, '
			  f'want {int(noirq_mode)}')
		chk.check(st.get('outstanding') == '0',
			  'a buffer is still outstanding at the end')
		chk.check(st.get('checks_fail') == '0', 'a device check failed')
		want = (str(expect), '0') if noirq_mode else ('0', str(expect))
		chk.check((st.get('consumer_ok'), st.get('consumer_fail')) == want,
			  f'consumer fetches ok={st.get("consumer_ok")} '
			  f'fail={st.get("consumer_fail")}, want ok={want[0]} '
			  f'fail={want[1]}')
	splat = re.search(SPLAT_RE, '\n'.join(lines))
	chk.check(splat is None, 'kernel splat in the log')
	return chk, timeline


def print_timeline(tl, label):
	for t in tl:
		say(f'{label} {t["name"]}:')
		say(f'  driver fetch          @ {t["fetch"]:.6f}  ({t["fetch_text"]})')
		say(f'  noirq phase complete  @ {t["noirq_end"]:.6f}')
		say(f'  early phase complete  @ {t["early_end"]:.6f}')
		if t['first_normal']:
			say(f'  first normal callback @ {t["first_normal"][0]:.6f}  '
			    f'({t["first_normal"][1]})')
		if t['restore_call']:
			say(f'  virtio-mmio normal cb @ {t["restore_call"]:.6f}  '
			    '(-> virtio_mmio_restore)')
		if t['first_normal']:
			d = (t['first_normal'][0] - t['fetch']) * 1000
			say(f'  fetch is {d:+.3f} ms before the first normal-phase '
			    'callback' if d >= 0 else
			    f'  fetch is {-d:.3f} ms AFTER the first normal-phase '
			    'callback')


def default_out_dir(bdir, arch='x86_64'):
	"""CACHE/out/e2e (e2e-ARCH but for x86_64) for a build dir
	CACHE/build/NAME, else BDIR/out."""
	if bdir.parent.name == 'build':
		return bdir.parent.parent / 'out' / (
			'e2e' if arch == 'x86_64' else f'e2e-{arch}')
	return bdir / 'out'


def write_timeline(log, lo, hi, title, path, chk):
	"""Draw the resume in log[lo:hi] (a parse() list) to the SVG @path and
	check that the picture holds the three phases, virtio-mmio's
	restore_noirq, the driver's fetch inside it and the consumer's fetch
	after it."""
	text = ''.join(f'[{t:12.6f}] {s}\n' for t, s in log[lo:hi])
	ev = e2e_timeline.resume_events(e2e_timeline.parse_log(text))
	svg = e2e_timeline.timeline_svg(text, title)
	ok = ev is not None and svg is not None
	if ok:
		ph, f, c, m = (ev['phases'], ev['fetch'], ev['consumer'],
			       ev['mmio_noirq'])
		ok = (all(ph[p][0] <= ph[p][1] for p in e2e_timeline.PHASES) and
		      m is not None and f is not None and f[2] and
		      m[0] <= f[1] <= m[1] <= ph['noirq'][1] and
		      c is not None and c[2] and f[1] < c[1] <= ph['noirq'][1])
	if not chk.check(ok, f'timeline {path.name}: the resume lacks the '
			 'phases, restore_noirq, the fetch inside it or the '
			 'consumer after it'):
		return
	path.parent.mkdir(parents=True, exist_ok=True)
	path.write_text(svg)
	say(f'timeline: {path} (device usable '
	    f'{(f[1] - ph["noirq"][0]) * 1000:.3f} ms into the noirq phase, '
	    f'{(ph["noirq"][1] - f[1]) * 1000:.3f} ms before its end; consumer '
	    f'{(c[1] - f[1]) * 1000:.3f} ms after the device)')


def s2idle_timeline(lines, outdir, ver, chk):
	"""The timeline of the first real s2idle cycle (else pm_test s2idle)."""
	log = parse(lines)
	for kind in ('real s2idle', 's2idle cycle'):
		seg = segments(log, kind).get('1')
		if seg:
			write_timeline(log, seg[0], seg[1] + 1,
				       f'{kind} 1, virtio-mmio version {ver}: resume',
				       outdir / f'timeline-s2idle-v{ver}.svg', chk)
			return
	chk.check(False, 'timeline: no s2idle cycle to draw')


# ---------------------------------------------------------------- main

def default_build_dir(arch='x86_64'):
	"""CACHE/build/e2e-ARCH of the runner's cache (the build dir of test-all)."""
	return str(CacheLayout(cache_root()).build_dir(f'e2e-{arch}'))


def poweroff_noirq_note(l1, chk,
			why=ARCHES['x86_64']['no_platform']):
	"""What the image write of boot 1 can say about poweroff_noirq.

	Only hibernation_platform_enter() (/sys/power/disk = platform) runs
	dpm_suspend_end(PMSG_HIBERNATE), the power-off phase with its
	poweroff_noirq callbacks, and the kernel offers platform only with
	hibernation_ops: on x86 from ACPI, when the firmware has an _S4
	state. microvm has none (no ACPI with acpi=off; with acpi=on its
	DSDT has only _S5), so boot 1 writes the image in shutdown mode:
	kernel_power_off(), device shutdown callbacks, no power-off phase.
	On arm64 nothing registers hibernation_ops (PSCI offers none).
	Checked: the mode list was logged and has no platform mode, the
	premise of "not reachable here"; a machine that offers it fails the
	check, and this test must then exercise the power-off phase."""
	m = None
	for _, text in l1:
		m = re.search(r'E2E: hibimg disk modes (.*)$', text) or m
	if not chk.check(m, 'hibernation image: /sys/power/disk not logged'):
		return
	modes = m.group(1)
	if not chk.check('platform' not in modes,
			 f'poweroff_noirq: /sys/power/disk offers platform '
			 f'({modes}): the power-off phase is reachable, but this '
			 'test writes the image in shutdown mode'):
		return
	say(f'poweroff_noirq: not reachable: /sys/power/disk is "{modes}" '
	    f'(no platform mode: {why}); the image is written in shutdown mode, which runs no '
	    'power-off phase (its noirq callback is virtio_mmio_freeze_noirq, '
	    'run by every freeze)')


def hib_image(args, bzimage, initrd, bdir, chk, ver=None, outdir=None):
	"""A real hibernation image on swap on virtio-blk: boot 1 writes it
	(test_resume, then hibernate and power off), boot 2 restores it.
	With @outdir, the restore's timeline goes there."""
	ver = ver or args.mmio_version[0]
	say(f'hibernation image on virtio-mmio version {ver}')
	disk = bdir / 'e2e-swap.img'
	with open(disk, 'wb') as f:
		f.truncate(64 << 20)
	blk = ['-drive', f'file={disk},format=raw,if=none,id=swap',
	       '-device', 'virtio-blk-device,drive=swap']
	# Consoles stay up: the write ends in a power off, and the restore
	# in a jump into the image, with no console resume in between.
	# x86_64 adds noapictimer (ARCHES).
	prof = ARCHES[args.arch]
	base = ('e2e.cycles=1 e2e.hib=none e2e.real=0 e2e.times=-1 '
		'no_console_suspend ' + prof['hibimg_append'])
	log1 = bdir / f'e2e-serial-hibimg-v{ver}-1.log'
	lines1, dt1, to1 = boot(args, bzimage, initrd, base + 'e2e.hibimg=1',
				log1, 180, ver, qemu_extra=blk, stop='reboot: ')
	say(f'hibernation image: boot 1 (write) {dt1:.1f}s, serial log {log1}')
	log2 = bdir / f'e2e-serial-hibimg-v{ver}-2.log'
	lines2, dt2, to2 = boot(args, bzimage, initrd,
				base + 'e2e.hibimg=2 resume=/dev/vda', log2, 180,
				ver, qemu_extra=blk)
	say(f'hibernation image: boot 2 (restore) {dt2:.1f}s, serial log {log2}')
	chk.check(not to1 and not to2, 'hibernation image: a boot timed out')
	l1, l2 = parse(lines1), parse(lines2)
	t1 = '\n'.join(t for _, t in l1)
	chk.check('E2E: swap on /dev/vda' in t1, 'hibernation image: no swap')
	# The transport version the image is written and restored on: a
	# modern device offers VIRTIO_F_VERSION_1 (feature bit 32).
	m = re.search(r'E2E: device \S+ features ([01]{33,})', t1)
	chk.check(m and m.group(1)[32] == ('1' if ver == 2 else '0'),
		  f'hibernation image: the device is not virtio-mmio version {ver}')
	m = re.search(r'E2E: hibimg data=(\S+) .*cycles=(\d+)', t1)
	if not chk.check(m, 'hibernation image: no data marker'):
		return
	data, k = m.group(1), int(m.group(2))
	poweroff_noirq_note(l1, chk, prof['no_platform'])
	# test_resume: image written and read back within boot 1.
	seg = segments(l1, 'hibimg').get('test_resume')
	if chk.check(seg, 'hibernation image: test_resume did not finish'):
		ld = find(l1, seg[0], seg[1], IMAGE_LOAD_RE)
		chk.check(ld is not None,
			  'test_resume: no "Loading image data pages"')
		chk.check(f'data={data} ' in seg[2],
			  'test_resume: the data file changed')
		# The thaw after the snapshot fetched as cycle k + 1, then the
		# image (taken with k) is restored: cycle k + 1 again.
		fi = analyse_cycle(l1, ld or seg[0], seg[1], seg[2], 'test_resume',
				   True, True, True, chk, None)
		if fi is not None:
			chk.check(f'cycle {k + 1}:' in l1[fi][1],
				  f'test_resume: {l1[fi][1]}, want cycle {k + 1}')
	b = find(l1, 0, len(l1), r'E2E: hibimg shutdown begin')
	chk.check(b is not None and
		  find(l1, b, len(l1), r'reboot: (Power down|System halted)')
		  is not None and
		  find(l1, b, len(l1), r'E2E: hibimg shutdown end') is None,
		  'boot 1 did not power off after writing the image')
	# Boot 2: a fresh kernel loads the image and jumps into it; the rest
	# of the log is the restored boot 1 kernel.
	ld = find(l2, 0, len(l2), IMAGE_LOAD_RE)
	end = find(l2, 0, len(l2), r'E2E: hibimg shutdown end')
	if not chk.check(ld is not None and end is not None and ld < end,
			 'boot 2: no "Loading image data pages" before the '
			 'restored init\'s "hibimg shutdown end"'):
		return
	end_text = re.search(r'E2E: hibimg shutdown end (.*)$',
			     l2[end][1]).group(1)
	chk.check(f'data={data} ' in end_text,
		  f'boot 2: data file {end_text.split()[2]}, want data={data}')
	# The loader kernel quiesced the devices with pm_print_times off:
	# only the restore_noirq of the restored kernel is in the log.
	fi = analyse_cycle(l2, ld, end, end_text, 'hibernation image restore',
			   True, True, True, chk, None,
			   cbs=('virtio_mmio_restore_noirq',))
	if fi is not None:
		chk.check(f'cycle {k + 2}:' in l2[fi][1],
			  f'boot 2: {l2[fi][1]}, want cycle {k + 2} (the '
			  'restored driver\'s count)')
	chk.check('E2E: FATAL' not in '\n'.join(t for _, t in l2),
		  'boot 2: init ran afresh: the image was not restored')
	say(f'hibernation image: data {data} before and after; the driver\'s '
	    f'restore count {k} -> {k + 2} ({l2[fi][1] if fi else "none"})')
	if outdir is not None:
		write_timeline(l2, ld, end + 1, 'hibernation image restored by a '
			       f'second boot, virtio-mmio version {ver}: restore',
			       outdir / f'timeline-hibernate-v{ver}.svg', chk)


def run_kunit(args, kdir, bzimage, bdir):
	"""Boot the e2e kernel once with its KUnit suite enabled.

	The same bzImage as the e2e boots, on the same machine, without an
	initramfs or a device: the tests run from the KUnit executor, then
	kunit_shutdown reboots and QEMU (-no-reboot) exits. kunit.py's own
	parser reads the serial log and writes --kunit-json and --kunit-junit.
	Returns the exit code of e2e.py.
	"""
	log_path = bdir / 'kunit-serial.log'
	js = Path(args.kunit_json or bdir / 'kunit-results.json').resolve()
	cmdline = ('console=ttyS0 panic=-1 kunit.enable=1 kunit_shutdown=reboot '
		   'reboot=t')
	cmd = [args.qemu, '-M', 'microvm,acpi=off', '-accel', 'tcg', '-m', '256M',
	       '-smp', '1', '-nographic', '-no-reboot', '-kernel', str(bzimage),
	       '-append', cmdline]
	timeout = args.timeout or 600
	say('kunit boot: ' + ' '.join(cmd))
	t0 = time.monotonic()
	timed_out = False
	with open(log_path, 'wb') as log:
		proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
					stderr=subprocess.STDOUT)
		try:
			proc.wait(timeout=timeout)
		except subprocess.TimeoutExpired:
			timed_out = True
			proc.kill()
			proc.wait()
	say(f'kunit boot finished in {time.monotonic() - t0:.1f}s, serial log {log_path}')
	if timed_out:
		say(f'kunit boot timed out after {timeout}s')
	for f in (js, args.kunit_junit):
		if f and Path(f).exists():
			Path(f).unlink()
	parse = kunit_py(kdir) + ['parse', f'--json={js}']
	if args.kunit_junit:
		parse.append(f'--junit={Path(args.kunit_junit).resolve()}')
	rc = subprocess.run(parse + [str(log_path)], stdin=subprocess.DEVNULL,
			    check=False).returncode
	if not js.is_file():
		say(f'kunit.py parse (exit {rc}) wrote no {js}')
		return EXIT_FAILED
	return EXIT_FAILED if rc or timed_out else EXIT_OK


def parse_args(argv):
	p = argparse.ArgumentParser(
		prog='e2e.py',
		description='End-to-end test of virtio noirq system sleep: real '
		'QEMU virtio-mmio device, real PM core.',
		epilog='Exit codes: 0 all checks passed, 1 a check failed, '
		'2 bad usage, 3 missing environment, 5 build failed, '
		'8 internal error.')
	p.add_argument('--kernel', metavar='DIR',
		       help='kernel tree with the series applied and '
		       'drivers/virtio/tests/ present (default: the work tree '
		       'of "tools/kunit-runner/run tree": pinned base, '
		       'patches/series and the repo\'s new files)')
	p.add_argument('--arch', choices=sorted(ARCHES), default='x86_64',
		       help='x86_64: QEMU microvm; arm64: QEMU virt (cortex-a57, '
		       'TCG), the kernel cross-compiled with '
		       'aarch64-linux-gnu-gcc and e2e/e2e-arm64.config '
		       '(default %(default)s)')
	p.add_argument('--build-dir',
		       help='kernel build directory (default '
		       f'{default_build_dir("ARCH")})')
	p.add_argument('--cycles', type=int, default=SOAK_CYCLES,
		       help='s2idle cycles in the boot (default %(default)s: '
		       'about 30 s under TCG, so CI runs the soak)')
	p.add_argument('--soak', action='store_true',
		       help=f'soak run: {SOAK_CYCLES} s2idle cycles (overrides '
		       '--cycles)')
	p.add_argument('--hib', default=','.join(NOIRQ_HIB_LEVELS),
		       help='hibernation pm_test levels, comma separated, or '
		       '"none" (default %(default)s)')
	p.add_argument('--times', type=int, default=-1,
		       help='pm_print_times only for the first N s2idle cycles '
		       '(default: all; ordering is checked where on)')
	p.add_argument('--real', type=int, default=1, metavar='N',
		       help='real s2idle cycles (pm_test=none) per boot, each '
		       f'woken by a byte to the console UART {WAKE_DELAY:.0f} s '
		       'after it began (default %(default)s)')
	p.add_argument('--rtc', type=int, metavar='N',
		       help='real s2idle cycles per boot woken by an alarm of '
		       'rtc0 2 s ahead, after the --real ones (default: 1 on '
		       'arm64, whose virt machine has a PL031; 0 on x86_64: '
		       'microvm has no wake-capable RTC)')
	p.add_argument('--append', default='', metavar='ARGS',
		       help='extra kernel command line for the main boots, e.g. '
		       f'"{DRV}.noirq=0" to see the noirq checks fail')
	p.add_argument('--hib-image', action='store_true',
		       help='also hibernate for real: swap on a virtio-blk '
		       'device, test_resume, then an image written, QEMU '
		       'stopped, and a second boot with resume= restores it '
		       '(two more boots per --mmio-version, about 9 s each)')
	p.add_argument('--compare', action='store_true',
		       help='also boot the driver without noirq callbacks '
		       '(virtio_noirq_e2e.noirq=0) and compare when the device '
		       'becomes usable')
	p.add_argument('--out', metavar='DIR',
		       help='where the resume timelines (SVG) go (default: '
		       'CACHE/out/e2e for a --build-dir CACHE/build/NAME)')
	p.add_argument('--kunit', action='store_true',
		       help='instead of the e2e boots, boot the same kernel once '
		       'with its KUnit suite enabled (kunit.py parse reads the '
		       'serial log): the KUnit suite under x86_64')
	p.add_argument('--kunit-json', metavar='FILE',
		       help='--kunit: kunit.py\'s JSON results (default: '
		       'BUILD_DIR/kunit-results.json)')
	p.add_argument('--kunit-junit', metavar='FILE',
		       help='--kunit: also kunit.py\'s JUnit XML')
	p.add_argument('--no-build', action='store_true',
		       help='reuse the kernel image in --build-dir')
	p.add_argument('--busybox', metavar='FILE',
		       help='static busybox of the guest\'s architecture for the '
		       'initramfs (default: the host\'s for x86_64; for arm64 '
		       'busybox-static of Debian\'s arm64 archive, fetched with '
		       'apt-get into BUILD_DIR/busybox-arm64)')
	p.add_argument('--install', action=argparse.BooleanOptionalAction,
		       default=True, help='apt-get install missing packages '
		       'when root (default on)')
	p.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
	p.add_argument('--lock', default=BUILD_LOCK,
		       help='build lock file (default %(default)s)')
	p.add_argument('--qemu', help='QEMU binary (default: '
		       'qemu-system-x86_64, qemu-system-aarch64 for arm64)')
	p.add_argument('--mmio-version', type=int, choices=(1, 2),
		       action='append',
		       help='boot with virtio-mmio version 1 (legacy) or 2 '
		       '(modern); may be repeated (default: 1 and 2, one boot '
		       'each)')
	p.add_argument('--tsc', action=argparse.BooleanOptionalAction,
		       default=True, help='pass the host TSC frequency to the '
		       'guest for fine timestamps, when the host has an '
		       'invariant TSC of known frequency (default on)')
	p.add_argument('--timeout', type=int, default=0,
		       help='boot timeout in seconds (default: scaled by cycles)')
	p.add_argument('--verbose', '-v', action='store_true',
		       help='echo the serial console')
	a = p.parse_args(argv)
	a.qemu = a.qemu or ARCHES[a.arch]['qemu']
	a.build_dir = a.build_dir or default_build_dir(a.arch)
	if a.kunit and a.arch != 'x86_64':
		p.error('--kunit runs on x86_64 only (the KUnit suite under arm64 '
			'is series_checks.py\'s arm64 group)')
	if a.soak:
		a.cycles = SOAK_CYCLES
	if a.cycles < 1:
		p.error('--cycles must be at least 1')
	if a.real < 0:
		p.error('--real must be at least 0')
	if a.rtc is None:
		a.rtc = 1 if ARCHES[a.arch]['rtc_wake'] else 0
	if a.rtc < 0 or (a.rtc and not ARCHES[a.arch]['rtc_wake']):
		p.error(f'--rtc: 0 on {a.arch} (no wake-capable RTC), at least 0 '
			'elsewhere')
	a.mmio_version = a.mmio_version or [1, 2]
	a.hib_levels = [] if a.hib == 'none' else a.hib.split(',')
	for lvl in a.hib_levels:
		if lvl not in ('freezer', 'devices') + NOIRQ_HIB_LEVELS:
			p.error(f'unknown hibernation pm_test level {lvl}')
	return a


def runner_tree():
	"""The kunit-runner's work tree, prepared from this repository."""
	say('preparing the work tree with tools/kunit-runner/run tree')
	r = subprocess.run([str(HERE / 'run'), 'tree'], stdin=subprocess.DEVNULL,
			   stdout=subprocess.PIPE, text=True, check=False)
	path = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ''
	if r.returncode or not path:
		raise E2EError(EXIT_ENV if r.returncode == 3 else EXIT_USAGE,
			       f'"run tree" failed with exit code {r.returncode}')
	return path


def run(args):
	ensure_env(args)
	kdir = Path(args.kernel or runner_tree()).resolve()
	bdir = Path(args.build_dir).resolve()
	check_kernel_tree(kdir)
	bzimage = bdir / ARCHES[args.arch]['image_path']
	if args.no_build:
		if not bzimage.is_file():
			raise E2EError(EXIT_USAGE, f'--no-build: no {bzimage}')
	else:
		build_kernel(args, kdir, bdir)
	if args.kunit:
		return run_kunit(args, kdir, bzimage, bdir)
	initrd = bdir / 'e2e-initramfs.cpio'
	build_initramfs(initrd, guest_busybox(args, bdir))
	outdir = (Path(args.out).resolve() if args.out else
		  default_out_dir(bdir, args.arch))

	# Measured: about 2 s to boot and 30 ms a cycle under TCG.
	timeout = args.timeout or int(180 + 0.5 * args.cycles +
				      WAKE_DELAY * WAKE_TRIES * args.real +
				      5 * args.rtc)
	extra = (f'e2e.cycles={args.cycles} e2e.hib={args.hib} '
		 f'e2e.times={args.times} e2e.real={args.real} '
		 f'e2e.rtc={args.rtc} {args.append}')
	chk = Checks()
	timeline = []
	for ver in args.mmio_version:
		log_path = bdir / f'e2e-serial-v{ver}.log'
		say(f'virtio-mmio version {ver}: {args.cycles} s2idle cycles, '
		    f'{args.real} real s2idle, {args.rtc} RTC s2idle, '
		    f'hibernation levels {args.hib}')
		waker = Waker(WAKE_DELAY)
		lines, dt, timed_out = boot(args, bzimage, initrd, extra, log_path,
					    timeout, ver, waker)
		say(f'boot finished in {dt:.1f}s, serial log {log_path}')
		c, tl = analyse(lines, args, args.cycles, args.hib_levels, True,
				args.times, args.real, waker,
				ARCHES[args.arch]['tty_events'], args.rtc)
		c.check(not timed_out, f'boot timed out after {timeout}s')
		chk.passed += c.passed
		chk.failed += c.failed
		m = re.search(r'E2E: s2idle total cycles=(\d+) uptime_start=([\d.]+) '
			      r'uptime_end=([\d.]+)', '\n'.join(lines))
		if m:
			n, a, b = int(m.group(1)), float(m.group(2)), float(m.group(3))
			say(f's2idle: {n} cycles in {b - a:.1f}s guest time '
			    f'({(b - a) / n * 1000:.0f} ms/cycle), boot total '
			    f'{dt:.1f}s wall time')
		print_timeline(tl, f'v{ver} noirq driver')
		timeline = timeline or tl
		s2idle_timeline(lines, outdir, ver, chk)

	if args.hib_image:
		for ver in args.mmio_version:
			hib_image(args, bzimage, initrd, bdir, chk, ver, outdir)

	if args.compare:
		log2 = bdir / 'e2e-serial-nonoirq.log'
		lines2, dt2, to2 = boot(args, bzimage, initrd,
					'e2e.cycles=1 e2e.hib=none e2e.times=-1 '
					f'{DRV}.noirq=0', log2, 180,
					args.mmio_version[0])
		say(f'comparison boot finished in {dt2:.1f}s, serial log {log2}')
		chk2, tl2 = analyse(lines2, args, 1, [], False, -1)
		chk2.check(not to2, 'comparison boot timed out')
		chk.passed += chk2.passed
		chk.failed += chk2.failed
		print_timeline(tl2, 'normal-phase driver')
		if timeline and tl2:
			a, b = timeline[0], tl2[0]
			say('device usable, relative to the end of the noirq resume '
			    'phase: noirq driver '
			    f'{(a["fetch"] - a["noirq_end"]) * 1000:+.3f} ms, '
			    'driver without noirq callbacks '
			    f'{(b["fetch"] - b["noirq_end"]) * 1000:+.3f} ms')

	verdict = 'PASS' if chk.failed == 0 else 'FAIL'
	say(f'verdict: {verdict}')
	print(f'{chk.passed} passed, {chk.failed} failed', flush=True)
	return EXIT_OK if chk.failed == 0 else EXIT_FAILED


def main(argv=None):
	args = parse_args(sys.argv[1:] if argv is None else argv)
	try:
		return run(args)
	except E2EError as e:
		say(f'error: {e}')
		print('0 passed, 1 failed', flush=True)
		return e.code

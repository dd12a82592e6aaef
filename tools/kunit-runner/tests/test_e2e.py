# SPDX-License-Identifier: GPL-2.0
"""Self-tests of e2e.py's pure parts: the serial log analysis, the waker,
the initramfs writer (no QEMU, no kernel build).

The serial logs in test_data/ are trimmed logs of one boot each, written
by hand for this test from what e2e/init prints, the driver's messages
(drivers/virtio/tests/virtio_noirq_e2e.c) and the PM core's
(drivers/base/power/main.c: pm_print_times and dpm_show_time();
kernel/power/suspend.c, hibernate.c, swap.c; drivers/base/power/wakeup.c)
of the 7.3.4 base with the series: no recorded log was at hand.

  e2e-serial-noirq.log    2 s2idle cycles (pm_test), 1 real s2idle cycle
                          woken by IRQ 4, hibernation pm_test=core; the
                          driver with noirq callbacks, virtio-mmio v2
  e2e-serial-nonoirq.log  1 s2idle cycle of the driver without noirq
                          callbacks (e2e.py --compare), virtio-mmio v1
"""

import io
import os
import stat
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from kunit_runner import e2e  # noqa: E402

DATA = HERE / 'test_data'


def log_lines(name):
	return (DATA / name).read_text().splitlines()


def waker(sent=(11.0,), end=11.4):
	w = e2e.Waker(e2e.WAKE_DELAY)
	w.cycles = {'1': {'begin': 10.0, 'sent': list(sent), 'end': end}}
	return w


def replace(lines, old, new, count=1):
	"""@lines with the first @count lines holding @old rewritten to @new
	(None drops them, a list replaces them)."""
	res, n = [], 0
	for l in lines:
		if old in l and n < count:
			n += 1
			if new is None:
				continue
			if isinstance(new, list):
				res += new
				continue
			l = l.replace(old, new)
		res.append(l)
	assert n, f'{old!r} not in the log'
	return res


class AnalyseTest(unittest.TestCase):
	def setUp(self):
		self.said = []
		p = mock.patch.object(e2e, 'say', self.said.append)
		p.start()
		self.addCleanup(p.stop)

	def noirq(self, lines=None, w=None, **kw):
		a = dict(cycles=2, hib_levels=['core'], noirq_mode=True, times=-1, real=1)
		a.update(kw)
		return e2e.analyse(lines if lines is not None else log_lines('e2e-serial-noirq.log'),
				   None, a['cycles'], a['hib_levels'], a['noirq_mode'], a['times'],
				   a['real'], w or waker())

	def failures(self):
		return [s for s in self.said if s.startswith('FAIL: ')]

	def assertFails(self, chk, *texts):
		self.assertGreater(chk.failed, 0)
		fails = '\n'.join(self.failures())
		for t in texts:
			self.assertIn(t, fails)

	def test_recorded_noirq_log_passes(self):
		chk, tl = self.noirq()
		self.assertEqual(chk.failed, 0, self.failures())
		self.assertGreater(chk.passed, 50)
		self.assertIn('device: modern (VIRTIO_F_VERSION_1)', self.said)
		# the timeline of s2idle cycle 1 and of the hibernation level
		self.assertEqual([t['name'] for t in tl], ['s2idle cycle 1', 'hibernate core'])
		for t in tl:
			self.assertLess(t['fetch'], t['noirq_end'])
			self.assertLess(t['noirq_end'], t['early_end'])
			self.assertLess(t['early_end'], t['first_normal'][0])

	def test_recorded_comparison_log_passes(self):
		lines = log_lines('e2e-serial-nonoirq.log')
		chk, tl = e2e.analyse(lines, None, 1, [], False, -1)
		self.assertEqual(chk.failed, 0, self.failures())
		self.assertIn('device: legacy (no VIRTIO_F_VERSION_1)', self.said)
		self.assertGreater(tl[0]['fetch'], tl[0]['noirq_end'])
		# the same log cannot pass as a noirq driver's
		chk, _ = e2e.analyse(lines, None, 1, [], True, -1)
		self.assertFails(chk, 'restore_noirq fetch lines, want 1')

	def test_fetch_after_the_noirq_phase(self):
		lines = log_lines('e2e-serial-noirq.log')
		fetch = next(l for l in lines if 'cycle 1: restore_noirq fetched' in l)
		lines.remove(fetch)
		i = next(i for i, l in enumerate(lines) if 'early resume of devices complete' in l)
		lines.insert(i, fetch)
		chk, _ = self.noirq(lines)
		self.assertFails(chk, 's2idle cycle 1: fetch not inside the noirq resume phase',
				 's2idle cycle 1: fetch not inside virtio_mmio_restore_noirq')

	def test_consumer_missing_or_failing(self):
		chk, _ = self.noirq(replace(log_lines('e2e-serial-noirq.log'),
					    'consumer: cycle 2: resume_noirq fetched', None))
		self.assertFails(chk, 's2idle cycle 2: 0 consumer resume_noirq lines, want 1')
		self.said.clear()
		chk, _ = self.noirq(replace(log_lines('e2e-serial-noirq.log'),
					    'cycle 4: resume_noirq fetched 8 bytes in 57 us',
					    'cycle 4: resume_noirq fetch failed: -5'))
		self.assertFails(chk, 'hibernate core: consumer: ')

	def test_splat_and_failed_transition(self):
		chk, _ = self.noirq(replace(log_lines('e2e-serial-noirq.log'), 'PM: suspend exit',
					    ['[    0.500000] WARNING: CPU: 0 PID: 1 at drivers/virtio/virtio.c:10',
					     '[    0.500001] PM: suspend exit']))
		self.assertFails(chk, 's2idle cycle 1: kernel splat: WARNING:', 'kernel splat in the log')
		self.said.clear()
		chk, _ = self.noirq(replace(log_lines('e2e-serial-noirq.log'),
					    's2idle cycle 2 end rc=0', 's2idle cycle 2 end rc=1'))
		self.assertFails(chk, 's2idle cycle 2: transition failed (rc=1')

	def test_cycles_lost_or_repeated(self):
		chk, _ = self.noirq(cycles=3)
		self.assertFails(chk, '2 of 3 s2idle cycles ran', 'driver saw 4 restores, want 5')
		self.said.clear()
		chk, _ = self.noirq(replace(log_lines('e2e-serial-noirq.log'),
					    'cycle 2: restore_noirq fetched', 'cycle 1: restore_noirq fetched'))
		self.assertFails(chk, 'driver cycle numbers not consecutive')
		self.said.clear()
		chk, _ = self.noirq(replace(log_lines('e2e-serial-noirq.log'), 'outstanding=0',
					    'outstanding=1'))
		self.assertFails(chk, 'a buffer is still outstanding at the end')

	def test_real_cycle_that_did_not_sleep(self):
		chk, _ = self.noirq(w=waker(sent=(), end=10.05))
		self.assertFails(chk, 'real s2idle 1: ended 0.05s after it began without a wake byte')
		self.said.clear()
		chk, _ = self.noirq(replace(log_lines('e2e-serial-noirq.log'),
					    'PM: Triggering wakeup from IRQ 4', 'PM: Triggering wakeup from IRQ 9'))
		self.assertFails(chk, 'real s2idle 1: no "suspend-to-idle", "Triggering wakeup from IRQ 4"')
		self.said.clear()
		chk, _ = self.noirq(replace(log_lines('e2e-serial-noirq.log'), 'success=3 fail=0',
					    'success=2 fail=1'))
		self.assertFails(chk, 'real s2idle 1: suspend_stats before 2/0 after 2/1')

	def test_unfinished_boot(self):
		lines = log_lines('e2e-serial-noirq.log')
		cut = next(i for i, l in enumerate(lines) if 'E2E: hibernate core begin' in l)
		chk, _ = self.noirq(lines[:cut])
		self.assertFails(chk, 'hibernate core did not run', 'init script did not finish',
				 'no final driver stats')

	def test_parse_and_segments(self):
		log = e2e.parse(['noise', '[    1.500000] E2E: s2idle cycle 1 begin', '[    2.000000]',
				 '[   10.250000] E2E: s2idle cycle 1 end rc=0 check=ok:8',
				 '[   11.000000] E2E: s2idle cycle 2 begin'])
		self.assertEqual(log[0], (1.5, 'E2E: s2idle cycle 1 begin'))
		self.assertEqual(len(log), 4)
		self.assertEqual(e2e.segments(log, 's2idle cycle'), {'1': (0, 2, 'rc=0 check=ok:8')})


class FakeQemu:
	def __init__(self):
		self.stdin = io.BytesIO()


class WakerTest(unittest.TestCase):
	def test_wakes_only_a_cycle_that_sleeps(self):
		w, q = e2e.Waker(1.0), FakeQemu()
		w.line('E2E: real s2idle 1 begin wakeup_count_write=ok', 0.0)
		w.poll(q, 0.5)
		self.assertEqual(q.stdin.getvalue(), b'')
		w.poll(q, 1.0)
		w.poll(q, 1.5)
		w.poll(q, 2.0)
		self.assertEqual(q.stdin.getvalue(), b'ww')
		w.line('E2E: real s2idle 1 end rc=0', 2.2)
		w.poll(q, 5.0)
		self.assertEqual(q.stdin.getvalue(), b'ww')
		self.assertEqual(w.cycles['1'], {'begin': 0.0, 'sent': [1.0, 2.0], 'end': 2.2})

	def test_gives_up_after_wake_tries(self):
		w, q = e2e.Waker(1.0), FakeQemu()
		w.line('E2E: real s2idle 1 begin', 0.0)
		for i in range(1, 20):
			w.poll(q, float(i))
		self.assertEqual(len(q.stdin.getvalue()), e2e.WAKE_TRIES)


def newc_entries(data):
	"""(name, mode, content) of a newc archive."""
	res, off = [], 0
	while True:
		hdr = data[off:off + 110].decode()
		assert hdr[:6] == '070701', hdr
		f = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
		size, namesize = f[6], f[11]
		off += 110
		name = data[off:off + namesize - 1].decode()
		off = (off + namesize + 3) & ~3
		res.append((name, f[1], data[off:off + size]))
		off = (off + size + 3) & ~3
		if name == 'TRAILER!!!':
			return res


class InitramfsTest(unittest.TestCase):
	def test_archive_holds_init_busybox_and_applets(self):
		with tempfile.TemporaryDirectory() as d:
			bb = Path(d) / 'busybox'
			bb.write_bytes(b'\x7fELF static busybox')
			out = Path(d) / 'initrd.cpio'
			e2e.build_initramfs(out, bb)
			data = out.read_bytes()
		self.assertEqual(len(data) % 512, 0)
		ent = {n: (m, c) for n, m, c in newc_entries(data)}
		self.assertEqual(ent['init'][1], e2e.INIT_SCRIPT.read_bytes())
		self.assertEqual(stat.S_IMODE(ent['init'][0]), 0o755)
		self.assertEqual(ent['bin/busybox'][1], b'\x7fELF static busybox')
		self.assertTrue(stat.S_ISCHR(ent['dev/console'][0]))
		for a in e2e.BUSYBOX_APPLETS:
			self.assertTrue(stat.S_ISLNK(ent[f'bin/{a}'][0]), a)
			self.assertEqual(ent[f'bin/{a}'][1], b'busybox')


FAKE_QEMU = """#!/bin/sh
# fake qemu-system-x86_64: record the command line, print a KTAP document
echo "$*" > "$FAKE_DIR/qemu-args"
[ -n "$FAKE_HANG" ] && exec sleep 30
echo "[    1.000] KTAP version 1"
echo "[    1.000] 1..1"
echo "[    1.001] ok 1 virtio_demo"
"""

FAKE_KUNIT_PY = """#!/usr/bin/env python3
import os, sys
a = sys.argv[1:]
open(os.environ['FAKE_DIR'] + '/parse-args', 'w').write(' '.join(a))
log = open(a[-1]).read()
js = [x[len('--json='):] for x in a if x.startswith('--json=')][0]
ok = 'not ok' not in log
open(js, 'w').write('{"misc": {"passed": %d}}' % ok)
sys.exit(0 if ok else 1)
"""


class KunitBootTest(unittest.TestCase):
	"""e2e.py --kunit: the e2e kernel booted with its tests, kunit.py parse."""

	def setUp(self):
		self._tmp = tempfile.TemporaryDirectory()
		self.d = Path(self._tmp.name)
		self.addCleanup(self._tmp.cleanup)
		self.kdir = self.d / 'linux'
		kpy = self.kdir / 'tools/testing/kunit/kunit.py'
		kpy.parent.mkdir(parents=True)
		kpy.write_text(FAKE_KUNIT_PY)
		self.qemu = self.d / 'qemu'
		self.qemu.write_text(FAKE_QEMU)
		self.qemu.chmod(0o755)
		self.bdir = self.d / 'build'
		self.bdir.mkdir()
		env = mock.patch.dict(os.environ, {'FAKE_DIR': str(self.d)})
		env.start()
		self.addCleanup(env.stop)

	def run_kunit(self, *argv):
		args = e2e.parse_args(['--kunit', '--qemu', str(self.qemu), *argv])
		with mock.patch('sys.stdout', io.StringIO()):
			return e2e.run_kunit(args, self.kdir, self.bdir / 'bzImage', self.bdir)

	def test_tests_enabled_and_log_parsed(self):
		js, ju = self.d / 'out.json', self.d / 'out.xml'
		self.assertEqual(self.run_kunit('--kunit-json', str(js), '--kunit-junit', str(ju)),
				 e2e.EXIT_OK)
		qemu = (self.d / 'qemu-args').read_text()
		self.assertIn('kunit.enable=1 kunit_shutdown=reboot', qemu)
		self.assertIn('-no-reboot', qemu)
		self.assertIn(f'-kernel {self.bdir / "bzImage"}', qemu)
		self.assertNotIn('-initrd', qemu)
		self.assertIn('ok 1 virtio_demo', (self.bdir / 'kunit-serial.log').read_text())
		self.assertEqual((self.d / 'parse-args').read_text(),
				 f'parse --json={js} --junit={ju} {self.bdir / "kunit-serial.log"}')
		self.assertEqual(js.read_text(), '{"misc": {"passed": 1}}')

	def test_failed_parse_or_hang_fails(self):
		self.qemu.write_text(FAKE_QEMU.replace('ok 1 virtio_demo', 'not ok 1 virtio_demo'))
		self.assertEqual(self.run_kunit(), e2e.EXIT_FAILED)
		self.assertTrue((self.bdir / 'kunit-results.json').is_file())
		with mock.patch.dict(os.environ, {'FAKE_HANG': '1'}):
			self.qemu.write_text(FAKE_QEMU)
			self.assertEqual(self.run_kunit('--timeout', '1'), e2e.EXIT_FAILED)


def elf64(machine, interp=False):
	"""The start of a 64-bit little-endian ELF executable: PT_LOAD, and
	PT_INTERP with @interp."""
	types = [1] + ([e2e.PT_INTERP] if interp else [])
	hdr = bytearray(64)
	hdr[:6] = b'\x7fELF\x02\x01'
	hdr[18:20] = machine.to_bytes(2, 'little')
	hdr[32:40] = (64).to_bytes(8, 'little')
	hdr[54:56] = (56).to_bytes(2, 'little')
	hdr[56:58] = len(types).to_bytes(2, 'little')
	for t in types:
		hdr += t.to_bytes(4, 'little') + bytes(52)
	return bytes(hdr) + b'busybox'


FAKE_APT_GET = """#!/bin/sh
# fake apt-get: record the command line; "download" leaves a .deb here
echo "$*" >> "$FAKE_DIR/apt-args"
[ -n "$FAKE_APT_FAIL" ] && exit 100
case "$*" in *" download "*) echo deb > busybox-static_1_arm64.deb ;; esac
exit 0
"""

FAKE_DPKG_DEB = """#!/bin/sh
# fake dpkg-deb -x DEB DIR: an arm64 static busybox in DIR/bin
mkdir -p "$3/bin"
cp "$FAKE_DIR/payload" "$3/bin/busybox"
"""


class Arm64Test(unittest.TestCase):
	"""--arch arm64: QEMU virt, PL011, the arm64 busybox, a compressed
	hibernation image.

	test_data/e2e-arm64-*.log are serial logs of e2e.py --arch arm64 on
	QEMU 7.2 virt (cortex-a57, TCG), virtio-mmio version 2, trimmed: the
	callbacks of virt's 31 empty virtio-mmio transports and of platform
	devices without PM callbacks of their own, the image loading
	progress and the boot before the kernel command line are left out.
	  e2e-arm64-serial.log    2 s2idle cycles (pm_test), 1 real s2idle
	                          woken by the PL011 (IRQ 13), 1 woken by the
	                          PL031's alarm, hibernation pm_test=core
	  e2e-arm64-hibimg-1.log  --hib-image boot 1: test_resume, shutdown
	  e2e-arm64-hibimg-2.log  --hib-image boot 2: the restore
	"""

	def setUp(self):
		self._tmp = tempfile.TemporaryDirectory()
		self.d = Path(self._tmp.name)
		self.addCleanup(self._tmp.cleanup)
		self.said = []
		p = mock.patch.object(e2e, 'say', self.said.append)
		p.start()
		self.addCleanup(p.stop)
		env = mock.patch.dict(os.environ, {'FAKE_DIR': str(self.d)})
		env.start()
		self.addCleanup(env.stop)

	def args(self, *argv):
		return e2e.parse_args(['--arch', 'arm64', '--build-dir', str(self.d),
				       *argv])

	def failures(self):
		return [s[6:] for s in self.said if s.startswith('FAIL: ')]

	def analyse(self, lines=None, tty_events=False, rtc=1):
		return e2e.analyse(lines or log_lines('e2e-arm64-serial.log'), None, 2,
				   ['core'], True, -1, 1, waker(), tty_events, rtc)

	def test_recorded_log_passes(self):
		chk, tl = self.analyse()
		self.assertEqual(chk.failed, 0, self.failures())
		self.assertGreater(chk.passed, 50)
		self.assertEqual([t['name'] for t in tl], ['s2idle cycle 1', 'hibernate core'])
		self.assertTrue(any('pm_wakeup_irq 13' in s for s in self.said), self.said)

	def test_comparison_on_device_tree_names(self):
		# virt names its transports ADDR.virtio_mmio, microvm virtio-mmio.N
		lines = [l.replace('virtio-mmio.0', 'a003e00.virtio_mmio')
			 for l in log_lines('e2e-serial-nonoirq.log')]
		self.assertTrue(any('virtio-mmio a003e00.virtio_mmio: PM: calling' in l
				    for l in lines))
		chk, tl = e2e.analyse(lines, None, 1, [], False, -1)
		self.assertEqual(chk.failed, 0, self.failures())
		self.assertGreater(tl[0]['fetch'], tl[0]['restore_call'])

	def test_real_cycle_wakeup_events(self):
		# PL011 reports no wakeup event for the byte: +0 is what arm64
		# must see, and what x86's check (8250: at least 1) refuses
		chk, _ = self.analyse(tty_events=True)
		self.assertEqual(self.failures(), ['real s2idle 1: wakeup_count +0, console '
						   'UART wakeup_count +0: want the same, at '
						   'least 1 (the wake byte)'])
		self.said.clear()
		# another source's event (the RTC's alarm) is not the UART's wake
		chk, _ = self.analyse(replace(log_lines('e2e-arm64-serial.log'),
					      'wakeup_irq=13 wakeup_count=0',
					      'wakeup_irq=13 wakeup_count=1'))
		self.assertIn('real s2idle 1: wakeup_count +1, console UART wakeup_count +0: '
			      'want +0, +0 (its driver reports no event)', self.failures())
		self.said.clear()
		chk, _ = self.analyse(replace(log_lines('e2e-arm64-serial.log'),
					      'wakeup_irq=13', 'wakeup_irq=15'))
		self.assertIn("real s2idle 1: pm_wakeup_irq '15', want the console UART's IRQ '13'",
			      self.failures())

	def test_rtc_cycle(self):
		chk, _ = self.analyse()
		self.assertTrue(any(s.startswith('rtc s2idle 1: slept ') for s in self.said),
				self.said)
		rtc = next(l for l in log_lines('e2e-arm64-serial.log')
			   if 'E2E: rtc s2idle 1 before' in l)
		irq = rtc.split(' irq=')[1].split()[0]
		alarm = rtc.split(' alarm=')[1].split()[0]
		# woken by the UART instead of the alarm
		self.said.clear()
		chk, _ = self.analyse(replace(log_lines('e2e-arm64-serial.log'),
					      f'wakeup_irq={irq} ', 'wakeup_irq=13 ', 2))
		self.assertIn(f"rtc s2idle 1: pm_wakeup_irq '13', want the RTC's IRQ '{irq}'",
			      self.failures())
		# the RTC never reached the alarm: something else woke it
		self.said.clear()
		lines = log_lines('e2e-arm64-serial.log')
		end = next(i for i, l in enumerate(lines) if 'E2E: rtc s2idle 1 end' in l)
		lines[end] = e2e.re.sub(r' now=\d+', f' now={int(alarm) - 1}', lines[end])
		chk, _ = self.analyse(lines)
		self.assertTrue(any('want the alarm reached' in f for f in self.failures()),
				self.failures())
		# no wakeup event of the RTC
		self.said.clear()
		lines = log_lines('e2e-arm64-serial.log')
		lines[end] = e2e.re.sub(r'rtc_wakeup_count=(\d+)',
					lambda m: f'rtc_wakeup_count={int(m.group(1)) - 1}',
					lines[end])
		chk, _ = self.analyse(lines)
		self.assertTrue(any('RTC wakeup_count +0: want the same, at least 1' in f
				    for f in self.failures()), self.failures())
		# the cycle missing, or not asked for
		self.said.clear()
		chk, _ = self.analyse(rtc=2)
		self.assertIn('1 of 2 RTC s2idle cycles ran', self.failures())

	def test_defaults(self):
		with mock.patch.dict(os.environ, {'NOIRQ_KUNIT_CACHE': '/c'}):
			a = e2e.parse_args(['--arch', 'arm64'])
			x = e2e.parse_args([])
		self.assertEqual((a.qemu, a.build_dir, a.rtc),
				 ('qemu-system-aarch64', '/c/build/e2e-arm64', 1))
		self.assertEqual((x.qemu, x.build_dir, x.rtc),
				 ('qemu-system-x86_64', '/c/build/e2e-x86_64', 0))
		self.assertEqual(e2e.default_out_dir(Path('/c/build/e2e-arm64'), 'arm64'),
				 Path('/c/out/e2e-arm64'))
		self.assertEqual(e2e.default_out_dir(Path('/c/build/e2e-x86_64')),
				 Path('/c/out/e2e'))
		# the KUnit suite under arm64 is series_checks.py's
		with mock.patch('sys.stderr', io.StringIO()), \
		     self.assertRaises(SystemExit):
			e2e.parse_args(['--arch', 'arm64', '--kunit'])
		# microvm has no wake-capable RTC
		with mock.patch('sys.stderr', io.StringIO()), \
		     self.assertRaises(SystemExit):
			e2e.parse_args(['--rtc', '1'])
		# the arm64 fragment has the machine's drivers, not x86's
		want_y, want_n = e2e.fragment_symbols(e2e.FRAGMENT_ARM64)
		for sym in ('CONFIG_SERIAL_AMBA_PL011_CONSOLE', 'CONFIG_VIRTIO_MMIO',
			    'CONFIG_HIBERNATION', 'CONFIG_VIRTIO_BLK',
			    'CONFIG_VIRTIO_NOIRQ_E2E_TEST'):
			self.assertIn(sym, want_y)
		self.assertNotIn('CONFIG_SERIAL_8250', want_y)
		self.assertIn('CONFIG_HW_RANDOM_VIRTIO', want_n)

	def test_boot_command_line(self):
		qemu = self.d / 'qemu'
		qemu.write_text('#!/bin/sh\necho "$*" > "$FAKE_DIR/qemu-args"\n'
				'echo "[    1.000000] E2E: done"\n')
		qemu.chmod(0o755)
		a = self.args('--qemu', str(qemu))
		lines, _, timed_out = e2e.boot(a, self.d / 'Image', self.d / 'initrd',
					       'e2e.cycles=1', self.d / 'log', 30, 2)
		self.assertFalse(timed_out)
		self.assertEqual(lines, ['[    1.000000] E2E: done'])
		q = (self.d / 'qemu-args').read_text()
		self.assertTrue(q.startswith('-M virt -cpu cortex-a57 -accel tcg '), q)
		self.assertIn('console=ttyAMA0 ', q)
		self.assertIn(' e2e.tty=ttyAMA0 e2e.cycles=1', q)
		# a compressed image, and nothing of x86
		for opt in ('hibernate=nocompress', 'tsc_early_khz', 'noapictimer'):
			self.assertNotIn(opt, q)
		self.assertIn('-global virtio-mmio.force-legacy=off -device '
			      'virtio-rng-device', q)

	def test_elf_info(self):
		bb = self.d / 'busybox'
		bb.write_bytes(elf64(e2e.EM_AARCH64))
		self.assertEqual(e2e.elf_info(bb), (e2e.EM_AARCH64, False))
		bb.write_bytes(elf64(e2e.EM_AARCH64, interp=True))
		self.assertEqual(e2e.elf_info(bb), (e2e.EM_AARCH64, True))
		bb.write_bytes(elf64(62))
		self.assertEqual(e2e.elf_info(bb), (62, False))
		bb.write_bytes(b'#!/bin/sh\n')
		self.assertIsNone(e2e.elf_info(bb))
		self.assertIsNone(e2e.elf_info(self.d / 'none'))

	def test_busybox_given(self):
		bb = self.d / 'bb'
		bb.write_bytes(elf64(62))
		with self.assertRaises(e2e.E2EError) as e:
			e2e.guest_busybox(self.args('--busybox', str(bb)), self.d)
		self.assertEqual(e.exception.code, e2e.EXIT_USAGE)
		bb.write_bytes(elf64(e2e.EM_AARCH64))
		self.assertEqual(e2e.guest_busybox(self.args('--busybox', str(bb)), self.d), bb)

	def fake_apt(self):
		bin_ = self.d / 'bin'
		bin_.mkdir()
		for name, text in (('apt-get', FAKE_APT_GET), ('dpkg-deb', FAKE_DPKG_DEB)):
			(bin_ / name).write_text(text)
			(bin_ / name).chmod(0o755)
		etc = self.d / 'etc'
		(etc / 'sources.list.d').mkdir(parents=True)
		(etc / 'sources.list.d' / 'debian.sources').write_text(
			'Types: deb\nURIs: http://archive.invalid/debian\n'
			'Suites: trixie trixie-updates\nComponents: main\n\n'
			'Types: deb\nURIs: http://archive.invalid/debian-security\n'
			'Suites: trixie-security\nComponents: main\n')
		(self.d / 'payload').write_bytes(elf64(e2e.EM_AARCH64))
		env = mock.patch.dict(os.environ, {
			'PATH': f'{bin_}:{os.environ["PATH"]}',
			'NOIRQ_KUNIT_APT_ETC': str(etc)})
		env.start()
		self.addCleanup(env.stop)

	def test_busybox_fetched_once(self):
		self.fake_apt()
		bb = e2e.guest_busybox(self.args(), self.d)
		cache = self.d / 'busybox-arm64'
		self.assertEqual(bb, cache / 'root' / 'bin' / 'busybox')
		self.assertEqual(bb.read_bytes(), elf64(e2e.EM_AARCH64))
		update, download = (self.d / 'apt-args').read_text().splitlines()
		for call in (update, download):
			# a private apt setup of the foreign architecture
			self.assertIn(f'Dir::State={cache}/state', call)
			self.assertIn('APT::Architecture=arm64', call)
			self.assertIn('Dir::State::status=/var/lib/dpkg/status', call)
		self.assertTrue(update.endswith(' update'))
		self.assertTrue(download.endswith(' download busybox-static'))
		self.assertEqual((cache / 'sources.list').read_text().split()[-3:],
				 ['http://archive.invalid/debian', 'trixie', 'main'])
		# kept: no second fetch
		(self.d / 'apt-args').unlink()
		self.assertEqual(e2e.guest_busybox(self.args(), self.d), bb)
		self.assertFalse((self.d / 'apt-args').exists())

	def test_busybox_fetch_fails(self):
		self.fake_apt()
		with mock.patch.dict(os.environ, {'FAKE_APT_FAIL': '1'}), \
		     self.assertRaises(e2e.E2EError) as e:
			e2e.guest_busybox(self.args(), self.d)
		self.assertEqual(e.exception.code, e2e.EXIT_ENV)
		self.assertIn('cannot fetch busybox-static for arm64', str(e.exception))
		# a package without a static arm64 busybox is refused
		(self.d / 'payload').write_bytes(elf64(e2e.EM_AARCH64, interp=True))
		with self.assertRaises(e2e.E2EError) as e:
			e2e.guest_busybox(self.args(), self.d)
		self.assertIn('holds no static arm64 bin/busybox', str(e.exception))

	def hib_image(self, lines1=None, lines2=None):
		"""e2e.hib_image() on the recorded boots; the QEMU command lines."""
		boots = [(lines1 or log_lines('e2e-arm64-hibimg-1.log'), 5.0, False),
			 (lines2 or log_lines('e2e-arm64-hibimg-2.log'), 2.0, False)]
		calls = []

		def boot(args, image, initrd, cmdline, *a, **kw):
			calls.append(cmdline)
			return boots[len(calls) - 1]
		chk = e2e.Checks()
		with mock.patch.object(e2e, 'boot', boot):
			e2e.hib_image(self.args(), self.d / 'Image', self.d / 'initrd',
				      self.d, chk, 2, self.d / 'out')
		return chk, calls

	def test_recorded_hibernation_image_passes(self):
		chk, calls = self.hib_image()
		self.assertEqual(chk.failed, 0, self.failures())
		self.assertGreater(chk.passed, 30)
		self.assertNotIn('noapictimer', calls[0])
		self.assertIn('e2e.hibimg=1', calls[0])
		self.assertIn('e2e.hibimg=2 resume=/dev/vda', calls[1])
		self.assertTrue(any('no hibernation_ops: nothing registers them on arm64'
				    in s for s in self.said), self.said)
		self.assertTrue((self.d / 'out' / 'timeline-hibernate-v2.svg').is_file())

	def test_hibernation_image_failures(self):
		# the compressed image's load line is what marks the restore
		chk, _ = self.hib_image(lines2=replace(log_lines('e2e-arm64-hibimg-2.log'),
						       'Loading and decompressing image data', 'Loading'))
		self.assertIn('boot 2: no "Loading image data pages" before the restored '
			      'init\'s "hibimg shutdown end"', self.failures())
		# the base kernel's warning of an uncompressed image on arm64
		self.said.clear()
		chk, _ = self.hib_image(lines2=replace(
			log_lines('e2e-arm64-hibimg-2.log'), 'hibernate: Hibernated on CPU 0',
			['[    0.831000] hibernate: Hibernated on CPU 0 [mpidr:0x0]',
			 '[    0.832000] WARNING: at smp_call_function_many_cond+0x80c/0x880, '
			 'CPU#0: pr/ttyAMA0/22']))
		self.assertIn('hibernation image restore: kernel splat: WARNING: at '
			      'smp_call_function_many_cond+0x80c/0x880, CPU#0: pr/ttyAMA0/22',
			      self.failures())
		# a platform mode would make poweroff_noirq reachable
		self.said.clear()
		chk, _ = self.hib_image(lines1=replace(log_lines('e2e-arm64-hibimg-1.log'),
						       'disk modes [shutdown]',
						       'disk modes platform [shutdown]'))
		self.assertEqual(chk.failed, 1, self.failures())
		self.assertIn('/sys/power/disk offers platform', self.failures()[0])


if __name__ == '__main__':
	unittest.main()

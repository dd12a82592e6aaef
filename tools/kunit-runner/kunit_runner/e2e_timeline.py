# SPDX-License-Identifier: GPL-2.0
"""Timeline of one resume from the e2e serial log, as an SVG picture.

A pure function of the log text: resume_events() reads the lines of one
sleep transition (the kernel's "[  t.tttttt] text" lines, as the serial
console printed them) and timeline_svg() draws them. Nothing here runs a
kernel or touches a file, so the self-tests (tests/test_e2e_timeline.py)
run it on a recorded log.

What is read:
  - the PM core's phase ends (pm_debug_messages): "PM: noirq resume of
    devices complete after ...", "PM: early ...", "PM: resume of devices
    complete after ..." (restore/thaw for hibernation);
  - every callback (pm_print_times): "<drv> <dev>: PM: calling <cb> @
    <pid>, parent: <p>" and "<drv> <dev>: PM: <cb> returned <err> after
    <n> usecs";
  - the e2e driver's own lines: "virtio_noirq_e2e: cycle K: restore_noirq
    fetched B bytes in U us ..." (the device usable: its first polled
    fetch), "... restore at ..." and the consumer's "cycle K: resume_noirq
    fetched B bytes" (or "fetch failed");
  - for a real s2idle, the wake: "PM: Triggering wakeup from IRQ N" and
    "PM: resume from suspend-to-idle".

Each phase is drawn from its end line back over the time that line gives
("after X msecs"): the PM core prints no line when a phase begins.

Python 3 standard library only.
"""

import math
import re
from xml.sax.saxutils import escape

LINE_RE = re.compile(r'^\[\s*(\d+\.\d+)\]\s?(.*)$')
CALL_RE = re.compile(r'^(\S+ \S+): (?:PM: )?calling (\S+) @ ')
RET_RE = re.compile(r'^(\S+ \S+): (?:PM: )?(\S+) returned (-?\d+) after '
		    r'(\d+) usecs')
PHASE_MS_RE = re.compile(r'complete after (\d+\.\d+) msecs')
PHASE_END_RE = {
	'noirq': re.compile(r'PM: noirq (resume|restore|thaw) of devices '
			    r'complete after'),
	'early': re.compile(r'PM: early (resume|restore|thaw) of devices '
			    r'complete after'),
	'normal': re.compile(r'PM: (resume|restore|thaw) of devices complete '
			     r'after'),
}
# Where the resume side begins at the latest: the end of the suspend side.
SUSPEND_SIDE_RE = re.compile(r'of devices complete after|'
			     r'resume from suspend-to-idle|'
			     r'Triggering wakeup from IRQ|'
			     r'Loading (and decompressing )?image data')
WAKE_RE = re.compile(r'PM: (Triggering wakeup from IRQ \d+|resume from '
		     r'suspend-to-idle)$')
FETCH_RE = re.compile(r'virtio_noirq_e2e: cycle (\d+): (restore_noirq|restore) '
		      r'(?:fetched (\d+) bytes in (\d+) us|fetch failed: (-?\d+))')
RESTORE_RE = re.compile(r'virtio_noirq_e2e: cycle (\d+): restore at ')
CONSUMER_RE = re.compile(r'virtio_noirq_e2e_consumer: cycle (\d+): '
			 r'resume_noirq (?:fetched (\d+) bytes in (\d+) us|'
			 r'fetch failed: (-?\d+))')
PHASES = ('noirq', 'early', 'normal')
PHASE_FILL = {'noirq': '#dbe9f6', 'early': '#e6f2dc', 'normal': '#f6ecd9'}


def parse_log(text):
	"""Timestamped kernel lines as (seconds, text), in log order."""
	out = []
	for line in text.splitlines():
		m = LINE_RE.match(line.rstrip('\r'))
		if m:
			out.append((float(m.group(1)), m.group(2)))
	return out


def _first(log, lo, hi, rx):
	for i in range(lo, hi):
		if rx.search(log[i][1]):
			return i
	return None


def _callbacks(log, lo, hi):
	"""Callback spans [(device, callback, start, end, error)] in [lo, hi)."""
	open_calls = {}
	spans = []
	for i in range(lo, hi):
		t, text = log[i]
		m = CALL_RE.match(text)
		if m:
			open_calls[(m.group(1), m.group(2))] = t
			continue
		m = RET_RE.match(text)
		if m:
			key = (m.group(1), m.group(2))
			start = open_calls.pop(key, None)
			if start is None:
				start = t - int(m.group(4)) / 1e6
			spans.append((key[0], key[1], start, t, int(m.group(3))))
	return spans


def resume_events(log):
	"""The events of the (first) resume in @log, a parse_log() list.

	Returns None if no noirq resume phase end is in the log, else a dict:
	  phases: {name: (start, end)} for noirq, early, normal (seconds), in
	    order, not overlapping (a phase can start after the last ended);
	  kind: 'resume', 'restore' or 'thaw';
	  wake: [(t, text)] wake lines just before the noirq phase;
	  mmio_noirq, mmio_normal: (start, end, device) of virtio-mmio's
	    restore_noirq around the driver's fetch, and of the same device's
	    normal-phase callback, or None;
	  fetch: (t_start, t_end, ok, text) of the driver's first fetch after
	    the sleep (the device usable), or None;
	  restore: (t, text) of the driver's restore line, or None;
	  consumer: (t_start, t_end, ok, text) of the consumer's fetch, or
	    None; consumer_cb: (start, end) of its resume_noirq callback;
	  others: [(device, callback, start, end)] every other callback.
	"""
	end_noirq = _first(log, 0, len(log), PHASE_END_RE['noirq'])
	if end_noirq is None:
		return None
	end_early = _first(log, end_noirq + 1, len(log), PHASE_END_RE['early'])
	end_normal = None
	if end_early is not None:
		end_normal = _first(log, end_early + 1, len(log),
				    PHASE_END_RE['normal'])
	hi = (end_normal if end_normal is not None else
	      end_early if end_early is not None else end_noirq) + 1
	# The resume side starts after the last suspend-side line before the
	# noirq end, and never across a step back of the clock (the loader
	# kernel of a hibernation image restore has its own clock).
	lo = 0
	for i in range(end_noirq - 1, -1, -1):
		if SUSPEND_SIDE_RE.search(log[i][1]) or \
		   log[i][0] > log[i + 1][0]:
			lo = i + 1
			break
	wake = []
	for i in range(lo - 1, max(lo - 6, -1), -1):
		if log[i][0] > log[lo][0]:
			break
		if WAKE_RE.search(log[i][1]):
			wake.insert(0, (log[i][0], log[i][1].split('PM: ', 1)[1]))
	kind = PHASE_END_RE['noirq'].search(log[end_noirq][1]).group(1)
	spans = _callbacks(log, lo, hi)

	def phase(i, after):
		if i is None:
			return (after, after)
		t, text = log[i]
		m = PHASE_MS_RE.search(text)
		return (max(t - float(m.group(1)) / 1000, after) if m else after,
			t)

	# No earlier than the last line of the suspend side.
	bound = log[lo][0]
	if lo > 0 and log[lo - 1][0] <= bound:
		bound = log[lo - 1][0]
	phases = {'noirq': phase(end_noirq, bound)}
	phases['early'] = phase(end_early, phases['noirq'][1])
	phases['normal'] = phase(end_normal, phases['early'][1])
	t_early = phases['early'][1]

	fetch = restore = consumer = None
	for i in range(lo, hi):
		t, text = log[i]
		m = FETCH_RE.search(text)
		if m and fetch is None:
			us = int(m.group(4) or 0)
			fetch = (t - us / 1e6, t, m.group(3) is not None,
				 m.group(0))
		m = CONSUMER_RE.search(text)
		if m and consumer is None:
			us = int(m.group(3) or 0)
			consumer = (t - us / 1e6, t, m.group(2) is not None,
				    m.group(0))
		m = RESTORE_RE.search(text)
		if m and restore is None:
			restore = (t, m.group(0).split(' at ')[0])

	mmio_noirq = mmio_normal = consumer_cb = None
	others = []
	for dev, cb, start, end, _ in spans:
		if cb == 'virtio_mmio_restore_noirq' and (
				mmio_noirq is None or (fetch and
						       start <= fetch[1] <= end)):
			if mmio_noirq is not None:
				others.append((mmio_noirq[2], cb, mmio_noirq[0],
					       mmio_noirq[1]))
			mmio_noirq = (start, end, dev)
			continue
		if cb == 'e2e_consumer_resume_noirq' and consumer_cb is None:
			consumer_cb = (start, end)
			continue
		others.append((dev, cb, start, end))
	if mmio_noirq is not None:
		for o in others:
			if o[0] == mmio_noirq[2] and o[2] >= t_early:
				mmio_normal = (o[2], o[3], o[0])
				others.remove(o)
				break
	return {'phases': phases, 'kind': kind, 'wake': wake,
		'mmio_noirq': mmio_noirq, 'mmio_normal': mmio_normal,
		'fetch': fetch, 'restore': restore, 'consumer': consumer,
		'consumer_cb': consumer_cb, 'others': others}


def _tick_step(span_ms, most=10):
	"""A 1, 2 or 5 times a power of ten step giving at most @most ticks."""
	if span_ms <= 0:
		return 1.0
	step = 10 ** math.floor(math.log10(span_ms / most))
	for f in (1, 2, 5, 10):
		if span_ms / (step * f) <= most:
			return step * f
	return step * 10


def timeline_svg(log_text, title):
	"""The resume of @log_text (one transition's log) as SVG text.

	Returns None when the log holds no noirq resume phase. Times on the
	axis are milliseconds from the start of the noirq resume phase.
	"""
	ev = resume_events(parse_log(log_text))
	if ev is None:
		return None
	ph = ev['phases']
	t0 = ph['noirq'][0]
	times = [t0, ph['normal'][1]]
	times += [w[0] for w in ev['wake']]
	for key in ('fetch', 'consumer', 'mmio_noirq', 'mmio_normal'):
		if ev[key]:
			times += [ev[key][0], ev[key][1]]
	lo_t, hi_t = min(times), max(times)
	span = max(hi_t - lo_t, 1e-6)

	left, width, top, row = 250, 680, 72, 26
	lanes = [
		('wake', 'wake (s2idle)'),
		('mmio_noirq', 'virtio-mmio restore_noirq'),
		('fetch', 'e2e driver: device usable'),
		('consumer', 'consumer resume_noirq'),
		('mmio_normal', 'virtio-mmio normal-phase cb'),
		('restore', 'e2e driver restore()'),
		('others', 'other devices\' callbacks'),
	]
	if not ev['wake']:
		lanes = lanes[1:]
	height = top + row * len(lanes) + 58

	def x(t):
		return left + (t - lo_t) / span * width

	def ms(t):
		return (t - t0) * 1000

	out = []
	put = out.append
	put('<?xml version="1.0" encoding="UTF-8"?>')
	put(f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" '
	    f'height="{height}" viewBox="0 0 {left + width + 20} {height}" '
	    'font-family="sans-serif" font-size="12">')
	put(f'<title>{escape(title)}</title>')
	put(f'<rect x="0" y="0" width="{left + width + 20}" height="{height}" '
	    'fill="white"/>')
	put(f'<text x="10" y="20" font-size="15" font-weight="bold">'
	    f'{escape(title)}</text>')
	bottom = top + row * len(lanes)
	for name in PHASES:
		a, b = ph[name]
		put(f'<rect class="phase" data-phase="{name}" x="{x(a):.1f}" '
		    f'y="{top - 44}" width="{max(x(b) - x(a), 0.5):.1f}" '
		    f'height="{bottom - top + 44}" fill="{PHASE_FILL[name]}">'
		    f'<title>{name} {ev["kind"]} phase: {ms(a):.3f} .. '
		    f'{ms(b):.3f} ms ({(b - a) * 1000:.3f} ms)</title></rect>')
	# Over the bands, staggered: a short phase's label must not hide the
	# next one. Near the right edge a label ends at its band's end.
	for n, name in enumerate(PHASES):
		a, b = ph[name]
		pos = (f'x="{x(a) + 3:.1f}"' if x(a) < left + width - 150 else
		       f'x="{x(b) - 3:.1f}" text-anchor="end"')
		put(f'<text {pos} y="{top - 32 + 13 * (n % 2)}" font-size="11">'
		    f'{name} {escape(ev["kind"])} {(b - a) * 1000:.2f} ms</text>')

	def bar(y, a, b, color, tip, cls):
		w = max(x(b) - x(a), 2)
		put(f'<rect class="{cls}" x="{x(a):.1f}" y="{y + 6}" '
		    f'width="{w:.1f}" height="{row - 12}" fill="{color}">'
		    f'<title>{escape(tip)}</title></rect>')

	def mark(y, t, color, tip, cls, label=''):
		put(f'<path class="{cls}" d="M{x(t):.1f},{y + 4} l5,9 l-5,9 '
		    f'l-5,-9 z" fill="{color}"><title>{escape(tip)}</title>'
		    '</path>')
		if label:
			put(f'<text x="{x(t) + 8:.1f}" y="{y + 17}" '
			    f'font-size="11">{escape(label)}</text>')

	for n, (key, label) in enumerate(lanes):
		y = top + n * row
		put(f'<text x="10" y="{y + 17}">{escape(label)}</text>')
		put(f'<line x1="{left}" y1="{y + row}" x2="{left + width}" '
		    f'y2="{y + row}" stroke="#dddddd"/>')
		v = ev[key]
		if key == 'wake':
			for t, text in v:
				mark(y, t, '#555555', f'{text} @ {ms(t):.3f} ms',
				     'wake')
			if v:
				put(f'<text x="{x(v[-1][0]) + 8:.1f}" y="{y + 17}" '
				    'font-size="11">woken</text>')
		elif key in ('mmio_noirq', 'mmio_normal') and v:
			bar(y, v[0], v[1], '#3b6ea8', f'{v[2]}: '
			    f'{ms(v[0]):.3f} .. {ms(v[1]):.3f} ms', key)
		elif key == 'fetch' and v:
			color = '#2e8b3e' if v[2] else '#c0392b'
			bar(y, v[0], v[1], color, v[3], 'fetch')
			mark(y, v[1], color, f'{v[3]} @ {ms(v[1]):.3f} ms',
			     'fetch-mark', f'{ms(v[1]):.3f} ms' +
			     ('' if v[2] else ' FAILED'))
		elif key == 'consumer':
			if ev['consumer_cb']:
				a, b = ev['consumer_cb']
				bar(y, a, b, '#9db7d5', 'e2e_consumer_resume_noirq '
				    f'{ms(a):.3f} .. {ms(b):.3f} ms', 'consumer-cb')
			if v:
				color = '#2e8b3e' if v[2] else '#c0392b'
				mark(y, v[1], color, f'{v[3]} @ {ms(v[1]):.3f} ms',
				     'consumer', f'{ms(v[1]):.3f} ms' +
				     (' used the device' if v[2] else ' FAILED'))
		elif key == 'restore' and v:
			mark(y, v[0], '#3b6ea8', f'{v[1]} @ {ms(v[0]):.3f} ms',
			     'restore')
		elif key == 'others':
			for dev, cb, a, b in v:
				bar(y, a, b, '#b0b0b0', f'{dev}: {cb} {ms(a):.3f} .. '
				    f'{ms(b):.3f} ms', 'other')

	step = _tick_step(span * 1000)
	k = math.ceil(ms(lo_t) / step)
	put(f'<line x1="{left}" y1="{bottom}" x2="{left + width}" '
	    f'y2="{bottom}" stroke="black"/>')
	while k * step <= ms(hi_t) + 1e-9:
		t = t0 + k * step / 1000
		put(f'<line x1="{x(t):.1f}" y1="{bottom}" x2="{x(t):.1f}" '
		    f'y2="{bottom + 5}" stroke="black"/>')
		put(f'<text x="{x(t):.1f}" y="{bottom + 18}" font-size="11" '
		    f'text-anchor="middle">{k * step:g}</text>')
		k += 1
	put(f'<text x="{left + width / 2:.0f}" y="{bottom + 36}" '
	    'font-size="11" text-anchor="middle">ms from the start of the '
	    f'noirq {escape(ev["kind"])} phase (kernel clock)</text>')
	put('</svg>')
	return '\n'.join(out) + '\n'

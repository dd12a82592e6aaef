# SPDX-License-Identifier: GPL-2.0
"""Self-tests of e2e_timeline.py (no kernel, no QEMU).

test_data/e2e-s2idle-serial.log is the serial log of one real s2idle cycle
of an e2e.py run (virtio-mmio version 1), from its "begin" marker to its
"end" marker, trimmed of nothing inside the resume. test_data/
e2e-hibimg-serial.log is the second boot of a --hib-image run, from
"Loading image data pages" to the restored init's "end" marker: the loader
kernel's lines, then the restored kernel's resume. The tests that need a
failure change a copy of them in memory.
"""

import sys
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from kunit_runner import e2e_timeline  # noqa: E402

S2IDLE = HERE / 'test_data' / 'e2e-s2idle-serial.log'
HIBIMG = HERE / 'test_data' / 'e2e-hibimg-serial.log'
SVG_NS = '{http://www.w3.org/2000/svg}'


def recorded(path):
	return path.read_text(encoding='utf-8')


def events(text):
	return e2e_timeline.resume_events(e2e_timeline.parse_log(text))


def svg_tree(text, title='t'):
	svg = e2e_timeline.timeline_svg(text, title)
	return ET.fromstring(svg.encode())


def by_class(root, cls):
	return [e for e in root.iter() if e.get('class') == cls]


class ResumeEventsTest(unittest.TestCase):
	def check_order(self, ev):
		ph = ev['phases']
		self.assertLess(ph['noirq'][0], ph['noirq'][1])
		self.assertLessEqual(ph['noirq'][1], ph['early'][0])
		self.assertLess(ph['early'][0], ph['early'][1])
		self.assertLessEqual(ph['early'][1], ph['normal'][0])
		self.assertLess(ph['normal'][0], ph['normal'][1])
		m, f, c = ev['mmio_noirq'], ev['fetch'], ev['consumer']
		self.assertTrue(f[2] and c[2])
		# The device is usable inside virtio-mmio's restore_noirq, and
		# the consumer uses it after that, all in the noirq phase.
		self.assertTrue(ph['noirq'][0] <= m[0] <= f[0] <= f[1] <= m[1])
		self.assertTrue(m[1] <= ev['consumer_cb'][0] <= c[1] <=
				ev['consumer_cb'][1] <= ph['noirq'][1])
		self.assertGreater(ev['mmio_normal'][0], ph['early'][1])
		self.assertGreater(ev['restore'][0], ph['early'][1])
		self.assertTrue(ev['others'])

	def test_s2idle(self):
		ev = events(recorded(S2IDLE))
		self.assertEqual(ev['kind'], 'resume')
		self.check_order(ev)
		self.assertEqual([w[1].split()[0] for w in ev['wake']],
				 ['Triggering', 'resume'])
		self.assertLess(ev['wake'][-1][0], ev['phases']['noirq'][0])
		self.assertIn('restore_noirq fetched', ev['fetch'][3])
		# From "calling" to "returned" of virtio-mmio.0's callback.
		self.assertEqual(ev['mmio_noirq'][:2], (3.278533, 3.280862))
		# From the PM core's own duration: "after 2.726 msecs".
		self.assertAlmostEqual(ev['phases']['noirq'][1] -
				       ev['phases']['noirq'][0], 0.002726)

	def test_hibernation_restore(self):
		ev = events(recorded(HIBIMG))
		self.assertEqual(ev['kind'], 'restore')
		self.check_order(ev)
		self.assertEqual(ev['wake'], [])
		self.assertEqual(ev['mmio_noirq'][:2], (2.289455, 2.293170))
		# The second virtio-mmio device (virtio-blk) is another device.
		self.assertEqual(ev['mmio_noirq'][2], 'virtio-mmio virtio-mmio.0')
		self.assertIn(('virtio-mmio virtio-mmio.1',
			       'virtio_mmio_restore_noirq'),
			      [o[:2] for o in ev['others']])
		# The loader kernel's lines (its own clock) are not drawn.
		loader = e2e_timeline.parse_log(recorded(HIBIMG))[0][0]
		self.assertGreater(ev['phases']['noirq'][0], loader)

	def test_no_resume(self):
		text = ''.join(line for line in recorded(S2IDLE).splitlines(True)
			       if 'of devices complete' not in line)
		self.assertIsNone(events(text))
		self.assertIsNone(e2e_timeline.timeline_svg(text, 't'))

	def test_failed_fetches(self):
		text = recorded(S2IDLE)
		text = e2e_timeline.re.sub(
			r'(virtio_noirq_e2e_consumer: cycle \d+: resume_noirq) '
			r'fetched .*', r'\1 fetch failed: -19', text)
		text = e2e_timeline.re.sub(
			r'(virtio_noirq_e2e: cycle \d+: restore_noirq) fetched .*',
			r'\1 fetch failed: -110 (outstanding 1) at 1 ns', text)
		ev = events(text)
		self.assertFalse(ev['fetch'][2])
		self.assertFalse(ev['consumer'][2])
		labels = ' '.join(t.text or '' for t in svg_tree(text).iter(
			f'{SVG_NS}text'))
		self.assertEqual(labels.count('FAILED'), 2)


class TimelineSvgTest(unittest.TestCase):
	def test_picture(self):
		for path, lanes in ((S2IDLE, 7), (HIBIMG, 6)):
			with self.subTest(path.name):
				text = recorded(path)
				root = svg_tree(text, 'a <title> & more')
				self.assertEqual(root.tag, f'{SVG_NS}svg')
				self.assertEqual(root.find(f'{SVG_NS}title').text,
						 'a <title> & more')
				phases = by_class(root, 'phase')
				self.assertEqual([p.get('data-phase') for p in phases],
						 list(e2e_timeline.PHASES))
				xs = [float(p.get('x')) for p in phases]
				self.assertEqual(xs, sorted(xs))
				for cls in ('mmio_noirq', 'fetch', 'fetch-mark',
					    'consumer', 'consumer-cb', 'mmio_normal',
					    'restore'):
					self.assertEqual(len(by_class(root, cls)), 1, cls)
				# The fetch is drawn inside the noirq band.
				f = by_class(root, 'fetch')[0]
				n = phases[0]
				self.assertGreaterEqual(float(f.get('x')), float(n.get('x')))
				self.assertLessEqual(
					float(f.get('x')) + float(f.get('width')),
					float(n.get('x')) + float(n.get('width')) + 2)
				self.assertTrue(by_class(root, 'other'))
				self.assertEqual(len(by_class(root, 'wake')),
						 2 if path == S2IDLE else 0)
				labels = [t.text for t in root.iter(f'{SVG_NS}text')]
				self.assertEqual(len([lb for lb in labels if lb in
						      self.lane_labels()]), lanes)

	@staticmethod
	def lane_labels():
		return ('wake (s2idle)', 'virtio-mmio restore_noirq',
			'e2e driver: device usable', 'consumer resume_noirq',
			'virtio-mmio normal-phase cb', 'e2e driver restore()',
			'other devices\' callbacks')

	def test_tick_step(self):
		self.assertEqual(e2e_timeline._tick_step(10), 1)
		self.assertEqual(e2e_timeline._tick_step(35), 5)
		self.assertEqual(e2e_timeline._tick_step(0.7), 0.1)


if __name__ == '__main__':
	unittest.main()

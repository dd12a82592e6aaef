# SPDX-License-Identifier: GPL-2.0
"""Self-tests of mutate.py (no kernel, no build).

The end-to-end tests run mutate.main() on a small git tree whose
tools/testing/kunit/kunit.py is a stand-in: it writes kunit.py-style JSON
in which one case fails while the source file holds the word BROKEN, and
signals its parent while it holds the word INTERRUPT.
"""

import contextlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import mutate  # noqa: E402
from kunit_runner import verdict  # noqa: E402

RECORDED = HERE / 'test_data' / 'kunit-all-suites.json'

BLOCK = """# a comment
mutation drop-check
file src/dev.c
why the check is gone
find
| \tif (bad)
| \t\treturn -EIO;
|
replace
end
"""

SOURCE = 'int f(int bad)\n{\n\tif (bad)\n\t\treturn -EIO;\n\n\treturn 0;\n}\n'

# The stand-in for kunit.py: two suites, one contract and one extras.
STAND_IN = r'''import json, os, signal, sys, time
args = dict(a[2:].split('=', 1) for a in sys.argv[2:] if '=' in a)
src = open('src/dev.c').read()
if 'NOBUILD' in src:
	sys.exit(1)
if 'INTERRUPT' in src:
	os.kill(os.getppid(), signal.SIGTERM)
	time.sleep(30)
broken = 'BROKEN' in src
def case(name, ok):
	return {'name': name, 'status': 'PASS' if ok else 'FAIL'}
res = {'name': 'root', 'sub_groups': [
	{'name': 'virtio_noirq_freeze', 'sub_groups': [], 'test_cases': [
		case('catches_it', not broken), case('never_fails', True)]},
	{'name': 'virtio_noirq_extras', 'sub_groups': [], 'test_cases': [
		case('extra', True)]}], 'test_cases': []}
json.dump(res, open(args['json'], 'w'))
'''


def git(tree, *args):
	subprocess.run(['git', '-C', str(tree)] + list(args), check=True,
		       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_tree(root):
	tree = Path(root) / 'linux'
	(tree / 'src').mkdir(parents=True)
	(tree / 'tools' / 'testing' / 'kunit').mkdir(parents=True)
	(tree / 'src' / 'dev.c').write_text(SOURCE)
	os.chmod(tree / 'src' / 'dev.c', 0o640)
	(tree / 'tools' / 'testing' / 'kunit' / 'kunit.py').write_text(STAND_IN)
	git(tree, 'init', '-q')
	git(tree, 'add', '.')
	git(tree, '-c', 'user.name=t', '-c', 'user.email=t@example.org',
	    'commit', '-q', '-m', 'base')
	return tree


def mutations_text(*pairs):
	out = []
	for ident, find, replace in pairs:
		out += [f'mutation {ident}', 'file src/dev.c', f'why {ident}', 'find']
		out += ['| ' + line for line in find.splitlines()]
		out.append('replace')
		out += ['| ' + line for line in replace.splitlines()]
		out.append('end')
	return '\n'.join(out) + '\n'


class ParseTest(unittest.TestCase):

	def test_block(self):
		(m,) = mutate.parse_mutations(BLOCK)
		self.assertEqual(m.ident, 'drop-check')
		self.assertEqual(m.path, 'src/dev.c')
		self.assertEqual(m.why, 'the check is gone')
		self.assertEqual(m.find, '\tif (bad)\n\t\treturn -EIO;\n\n')
		self.assertEqual(m.replace, '')
		self.assertEqual(m.line, 2)

	def test_errors_name_the_line(self):
		bad = {
			BLOCK.replace('end\n', ''): ':2: mutation drop-check has no "end"',
			BLOCK + BLOCK: ':12: mutation drop-check is defined twice',
			BLOCK.replace('file src/dev.c\n', ''): 'has no "file"',
			BLOCK.replace('why the check is gone', 'why'): ':4: "why" needs a value',
			BLOCK.replace('find\n', 'find me\n'): ':5: unexpected line: find me',
			'file x\n': ':1: "file" outside a mutation block',
			'# nothing\n': 'no mutations',
			BLOCK.replace('replace\n', 'replace\n| \tif (bad)\n| \t\treturn -EIO;\n|\n'):
				'changes nothing',
		}
		for text, msg in bad.items():
			with self.assertRaises(mutate.Refused) as cm:
				mutate.parse_mutations(text, 'm.txt')
			self.assertIn(msg, str(cm.exception))
			self.assertEqual(cm.exception.code, mutate.EXIT_USAGE)

	def test_shipped_files_parse(self):
		muts = mutate.parse_mutations(mutate.DEFAULT_MUTATIONS.read_text())
		self.assertGreater(len(muts), 40)
		harden = mutate.HERE / 'mutations-harden.txt'
		muts += mutate.parse_mutations(harden.read_text(), str(harden))
		for m in muts:
			self.assertTrue(m.path.startswith(('drivers/virtio/', 'include/linux/')),
					m.ident)

	def test_shipped_fake_mutations_apply_to_the_repo_files(self):
		# Mutations of the repo's own files can be checked here; the
		# others need a work tree (mutate.py --list).
		repo = mutate.REPO
		for m in mutate.parse_mutations(mutate.DEFAULT_MUTATIONS.read_text()):
			if m.path.startswith('drivers/virtio/tests/'):
				text = (repo / m.path).read_text()
				self.assertNotEqual(mutate.apply_mutation(text, m), text)

	def test_find_must_occur_once(self):
		(m,) = mutate.parse_mutations(BLOCK)
		self.assertEqual(mutate.apply_mutation(SOURCE, m),
				 'int f(int bad)\n{\n\treturn 0;\n}\n')
		for text in ('nothing\n', SOURCE + SOURCE):
			with self.assertRaises(mutate.Refused):
				mutate.apply_mutation(text, m)


class JudgeTest(unittest.TestCase):

	def setUp(self):
		self.base = verdict.load_results(str(RECORDED))
		(self.m,) = mutate.parse_mutations(BLOCK)

	def test_statuses(self):
		self.assertEqual(mutate.judge(self.m, None, self.base).status, mutate.NO_BUILD)
		self.assertEqual(mutate.judge(self.m, self.base, self.base).status,
				 mutate.SURVIVED)
		r0 = self.base[0]
		failed = [verdict.Result(r0.suite, r0.case, r0.param, verdict.FAIL)] + \
			self.base[1:-1]
		o = mutate.judge(self.m, failed, self.base)
		self.assertEqual(o.status, mutate.KILLED)
		self.assertEqual(o.failed, [r0.name])
		# The last result did not run (a crash): not caught, but killed.
		self.assertEqual(o.vanished, [self.base[-1].name])
		o = mutate.judge(self.m, self.base[:-1], self.base)
		self.assertEqual((o.status, o.failed), (mutate.KILLED, []))

	def test_ledger_counts_mutations_and_contract_cases(self):
		extras = verdict.load_map(str(verdict.DEFAULT_ITEMS)).extras_suites
		cases = mutate.contract_cases(self.base, extras)
		self.assertFalse([c for c in cases if c.split('.')[0] in extras])
		r0 = next(r for r in self.base if r.param is not None)
		killed = mutate.Outcome(self.m, mutate.KILLED, [r0.name])
		survived = mutate.Outcome(self.m, mutate.SURVIVED)
		lines = mutate.ledger([killed, survived], cases)
		self.assertEqual(lines[-1], f'2 passed, {1 + len(cases) - 1} failed')
		self.assertIn(f'ok     {r0.suite}.{r0.case}: drop-check', lines)


class CommandTest(unittest.TestCase):

	def test_kunit_cmd(self):
		cmd = mutate.kunit_cmd(Path('/t'), Path('/t/.b'), [Path('/k')],
				       Path('/o.json'), 60,
				       ['KCFLAGS=-DCONFIG_VIRTIO_HARDEN_NOTIFICATION'])
		self.assertEqual(cmd[1:], [
			'/t/tools/testing/kunit/kunit.py', 'run', '--build_dir=/t/.b',
			'--arch=um', '--timeout=60', '--json=/o.json', '--kunitconfig=/k',
			'--make_options=KCFLAGS=-DCONFIG_VIRTIO_HARDEN_NOTIFICATION'])


class MainTest(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory()
		self.addCleanup(self.tmp.cleanup)
		self.tree = make_tree(self.tmp.name)
		self.kc = Path(self.tmp.name) / 'kunitconfig'
		self.kc.write_text('CONFIG_KUNIT=y\n')
		self.out = Path(self.tmp.name) / 'out'
		env = {'NOIRQ_KUNIT_LOCK': str(Path(self.tmp.name) / 'lock'),
		       'NOIRQ_KUNIT_CCACHE': '0'}
		old = {k: os.environ.get(k) for k in env}
		os.environ.update(env)
		self.addCleanup(self._restore_env, old)
		for sig in (signal.SIGTERM, signal.SIGHUP):
			self.addCleanup(signal.signal, sig, signal.getsignal(sig))

	@staticmethod
	def _restore_env(old):
		for k, v in old.items():
			if v is None:
				os.environ.pop(k, None)
			else:
				os.environ[k] = v

	def run_main(self, text, *extra):
		mfile = Path(self.tmp.name) / 'm.txt'
		mfile.write_text(text)
		argv = ['--kernel', str(self.tree), '--kunitconfig', str(self.kc),
			'--mutations', str(mfile), '--out', str(self.out)] + list(extra)
		buf = io.StringIO()
		with contextlib.redirect_stdout(buf):
			try:
				rc = mutate.main(argv)
			except mutate.Refused as e:
				rc = e.code
				print(e)
		return rc, buf.getvalue()

	def source(self):
		return (self.tree / 'src' / 'dev.c').read_bytes()

	def test_killed_survived_and_no_build(self):
		text = mutations_text(
			('breaks', '\t\treturn -EIO;\n', '\t\treturn -EIO; /* BROKEN */\n'),
			('harmless', '\treturn 0;\n', '\treturn 0; /* fine */\n'),
			('nobuild', '\treturn 0;\n', '\treturn 0; NOBUILD\n'))
		rc, out = self.run_main(text)
		self.assertEqual(rc, mutate.EXIT_SURVIVORS)
		self.assertEqual(self.source(), SOURCE.encode())
		self.assertEqual(stat.S_IMODE((self.tree / 'src' / 'dev.c').stat().st_mode), 0o640)
		self.assertIn('KILLED   breaks (src/dev.c)', out)
		self.assertIn('failed: virtio_noirq_freeze.catches_it', out)
		self.assertIn('SURVIVED harmless', out)
		self.assertIn('NO BUILD nobuild', out)
		self.assertIn('ok     virtio_noirq_freeze.catches_it: breaks', out)
		self.assertIn('NEVER  virtio_noirq_freeze.never_fails', out)
		self.assertNotIn('extras.extra', out.split('# Contract cases')[1])
		# breaks, catches_it; harmless, nobuild, never_fails
		self.assertEqual(out.splitlines()[-1], '2 passed, 3 failed')
		data = json.loads((self.out / 'mutation-ledger.json').read_text())
		self.assertEqual([m['status'] for m in data['mutations']],
				 ['KILLED', 'SURVIVED', 'NO BUILD'])

	def test_only_and_all_caught(self):
		text = mutations_text(
			('breaks', '\t\treturn -EIO;\n', '\t\treturn -EIO; /* BROKEN */\n'),
			('harmless', '\treturn 0;\n', '\treturn 0; /* fine */\n'))
		# never_fails is never caught, so one failure stays.
		rc, out = self.run_main(text, '--only', 'breaks')
		self.assertEqual(out.splitlines()[-1], '2 passed, 1 failed')
		rc, out = self.run_main(text, '--only', 'nosuch')
		self.assertEqual(rc, mutate.EXIT_USAGE)
		self.assertIn('no such mutation: nosuch', out)

	def test_refuses_a_target_with_edits_not_in_head(self):
		edited = SOURCE.replace('return 0;', 'return 1;')
		(self.tree / 'src' / 'dev.c').write_text(edited)
		rc, out = self.run_main(mutations_text(
			('breaks', '\t\treturn -EIO;\n', '\t\treturn -EIO; /* BROKEN */\n')))
		self.assertEqual(rc, mutate.EXIT_DIRTY)
		self.assertIn('src/dev.c differ(s) from HEAD', out)
		self.assertEqual(self.source(), edited.encode())
		self.assertFalse(self.out.exists())

	def test_refuses_a_failing_baseline(self):
		(self.tree / 'src' / 'dev.c').write_text(SOURCE + '/* BROKEN */\n')
		git(self.tree, '-c', 'user.name=t', '-c', 'user.email=t@example.org',
		    'commit', '-qam', 'broken')
		rc, out = self.run_main(mutations_text(
			('harmless', '\treturn 0;\n', '\treturn 0; /* fine */\n')))
		self.assertEqual(rc, mutate.EXIT_BASELINE)
		self.assertIn('does not pass (1 not passed, first '
			      'virtio_noirq_freeze.catches_it)', out)

	def test_interrupted_run_puts_the_file_back(self):
		text = mutations_text(
			('stop', '\treturn 0;\n', '\treturn 0; /* INTERRUPT */\n'))
		with self.assertRaises(KeyboardInterrupt):
			self.run_main(text)
		self.assertEqual(self.source(), SOURCE.encode())

	def test_list_checks_every_find(self):
		text = mutations_text(
			('ok', '\treturn 0;\n', '\treturn 1;\n'),
			('gone', '\treturn 2;\n', '\treturn 3;\n'),
			('gone2', '\treturn 4;\n', '\treturn 5;\n'))
		rc, out = self.run_main(text, '--list')
		self.assertEqual(rc, mutate.EXIT_USAGE)
		self.assertIn('mutation gone: its find text occurs 0 times', out)
		self.assertIn('mutation gone2: its find text occurs 0 times', out)
		self.assertNotIn('mutation ok:', out)


if __name__ == '__main__':
	unittest.main()

# SPDX-License-Identifier: GPL-2.0
"""Self-tests of buildseed.seed() on two small git trees (no kernel)."""
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from kunit_runner import buildseed

ENV = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t', GIT_COMMITTER_NAME='t',
	   GIT_COMMITTER_EMAIL='t@t', LC_ALL='C')
OLD = 1_000_000_000 * 10**9  # an mtime far in the past (ns)


def git(tree, *args):
	subprocess.run(['git', '-C', str(tree)] + list(args), env=ENV, check=True,
		       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def write(path, text):
	path.parent.mkdir(parents=True, exist_ok=True)
	path.write_text(text)


def mtime(path):
	return os.stat(path, follow_symlinks=False).st_mtime_ns


class SeedTest(unittest.TestCase):
	def setUp(self):
		self.tmp = Path(tempfile.mkdtemp(prefix='buildseed-test-'))
		self.addCleanup(shutil.rmtree, self.tmp)
		# The full series' tree: base, then a patch to a.c; a built dir.
		self.src = self.tmp / 'linux'
		for name, text in (('a.c', 'a\n'), ('b.c', 'b\n'), ('c.c', 'c\n'), ('d.c', 'd\n'),
				   ('inc/x.h', 'x\n')):
			write(self.src / name, text)
		os.symlink('b.c', self.src / 'link')
		git(self.src, 'init', '-q')
		git(self.src, 'add', '-A')
		git(self.src, 'commit', '-q', '-m', 'base')
		git(self.src, 'tag', 'base')
		write(self.src / 'a.c', 'a patched\n')
		git(self.src, 'commit', '-q', '-am', 'patch')
		for name in ('b.c', 'c.c', 'd.c', 'inc/x.h'):
			os.utime(self.src / name, ns=(OLD, OLD))
		os.utime(self.src / 'link', ns=(OLD, OLD), follow_symlinks=False)
		self.sbuild = self.src / '.build-um'
		write(self.sbuild / '.config', 'CONFIG_X=y\n')
		write(self.sbuild / 'vmlinux', 'elf\n')
		write(self.sbuild / 'b.o', 'object\n')
		os.utime(self.sbuild / 'b.o', ns=(OLD + 5, OLD + 5))
		# The --upto tree: a clone at base, a prefix that changes c.c.
		self.dst = self.tmp / 'linux-upto'
		subprocess.run(['git', 'clone', '-q', str(self.src), str(self.dst)], env=ENV, check=True)
		git(self.dst, 'checkout', '-q', 'base')
		write(self.dst / 'c.c', 'c patched\n')
		git(self.dst, 'commit', '-q', '-am', 'prefix')
		self.dbuild = self.dst / '.build-um'

	def seed(self):
		return buildseed.seed(self.src, self.sbuild, self.dst, self.dbuild, env=ENV)

	def test_unchanged_files_take_the_other_trees_mtime(self):
		# An unexported edit of d.c and a new file in the full series' tree
		write(self.src / 'd.c', 'd edited\n')
		write(self.src / 'new.c', 'new\n')
		new_in_dst = mtime(self.dst / 'd.c')
		self.assertEqual(self.seed(), 3)  # b.c, inc/x.h and the symlink
		self.assertEqual(mtime(self.dst / 'b.c'), OLD)
		self.assertEqual(mtime(self.dst / 'inc/x.h'), OLD)
		self.assertEqual(mtime(self.dst / 'link'), OLD)
		# changed by the series (a.c), by the prefix (c.c), edited (d.c):
		# rebuilt, so they keep the mtime git gave them
		for name in ('a.c', 'c.c', 'd.c'):
			self.assertNotEqual(mtime(self.dst / name), OLD, name)
		self.assertEqual(mtime(self.dst / 'd.c'), new_in_dst)
		self.assertFalse((self.dst / 'new.c').exists())
		# the build dir is a copy with its mtimes
		self.assertEqual((self.dbuild / 'b.o').read_text(), 'object\n')
		self.assertEqual(mtime(self.dbuild / 'b.o'), OLD + 5)
		self.assertFalse(self.dbuild.with_name('.build-um.seed').exists())

	def test_edits_in_the_new_tree_keep_their_mtime(self):
		write(self.dst / 'b.c', 'b edited in the upto tree\n')
		write(self.dst / 'inc/y.h', 'untracked\n')
		self.assertEqual(self.seed(), 3)  # d.c, inc/x.h and the symlink
		self.assertNotEqual(mtime(self.dst / 'b.c'), OLD)
		self.assertNotEqual(mtime(self.dst / 'inc/y.h'), OLD)
		self.assertEqual(mtime(self.dst / 'd.c'), OLD)

	def test_nothing_written_when_the_trees_do_not_qualify(self):
		before = {p: mtime(p) for p in self.dst.rglob('*.c')}
		# the new build dir exists already
		self.dbuild.mkdir()
		self.assertIsNone(self.seed())
		self.dbuild.rmdir()
		# a build dir that is not directly below its tree
		self.assertIsNone(buildseed.seed(self.src, self.sbuild, self.dst,
						 self.tmp / 'elsewhere', env=ENV))
		# no finished build to copy
		(self.sbuild / 'vmlinux').unlink()
		self.assertIsNone(self.seed())
		write(self.sbuild / 'vmlinux', 'elf\n')
		# another base
		git(self.dst, 'tag', '-f', 'base', 'HEAD')
		self.assertIsNone(self.seed())
		self.assertFalse(self.dbuild.exists())
		self.assertFalse((self.tmp / 'elsewhere').exists())
		self.assertEqual(before, {p: mtime(p) for p in self.dst.rglob('*.c')})


if __name__ == '__main__':
	unittest.main()

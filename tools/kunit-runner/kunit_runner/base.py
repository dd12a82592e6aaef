# SPDX-License-Identifier: GPL-2.0
"""The base kernel: a --kernel tree, or the pinned Debian linux-source .deb,
fetched through a private apt setup, checked against its SHA-256 and
unpacked once."""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .apt import KEYRING, debian_mirror
from .errors import EXIT_CHECKSUM, EXIT_ENV, EXIT_USAGE, RunnerError
from .filesig import file_sig, sha256_file, tree_stat_id
from .proc import Git, run_cmd, say

# The pinned base.
BASE_PACKAGE = 'linux-source-7.3'
BASE_VERSION = '7.3.4-1~bpo13+1'
BASE_SUITE = 'trixie-backports'
BASE_COMPONENT = 'main'
BASE_SHA256 = '703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3'
BASE_TARBALL = './usr/src/linux-source-7.3.tar.xz'
BASE_TOPDIR = 'linux-source-7.3'
BASE_DEB = f'{BASE_PACKAGE}_{BASE_VERSION}_all.deb'

# apt-get messages of an archive that answers but lacks the pinned package
# version or the suite itself (not a network problem).
NOT_LISTED_RE = re.compile(r"^E: (Version '[^']*' for '[^']*' was not found|Unable to locate package "
			   r"|Package '[^']*' has no installation candidate|The repository '.*' does not "
			   r"have a Release file)")


class BaseFetch:
	"""The base kernel of a Runner: --kernel DIR, or the pinned .deb."""

	def check_kernel_dir(self, path):
		path = Path(path)
		if not path.is_dir():
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: no such directory')
		mk = path / 'Makefile'
		if not mk.is_file():
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: not a kernel tree (no Makefile)')
		head = mk.read_text(errors='replace')[:4000]
		if not re.search(r'^VERSION\s*=', head, re.M) or not re.search(r'^PATCHLEVEL\s*=', head, re.M):
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: not a kernel tree (Makefile has no VERSION)')
		if not (path / 'drivers' / 'virtio').is_dir():
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: not a kernel tree (no drivers/virtio)')
		if not (path / 'tools' / 'testing' / 'kunit' / 'kunit.py').is_file():
			raise RunnerError(EXIT_USAGE, f'kernel tree {path}: no tools/testing/kunit/kunit.py')

	def base_source(self):
		"""Return (tree, base id) of the base kernel.

		For --kernel DIR the id changes with every edit of what copy_tree()
		copies, so that an edited tree is copied again: for a git checkout
		its HEAD plus the content of every file that differs from HEAD,
		otherwise the size, mtime and ctime of every file.
		"""
		if self.kernel:
			self.check_kernel_dir(self.kernel)
			if (self.kernel / '.git').exists():
				return self.kernel, f'kernel:{self.kernel}:{self.git_tree_id(self.kernel)}'
			return self.kernel, f'kernel:{self.kernel}:stat:{tree_stat_id(self.kernel)}'
		# None: the pinned .deb, unpacked by create_base() when a work
		# tree needs it (not on every run)
		return None, f'debian:{BASE_PACKAGE}={BASE_VERSION}:{BASE_SHA256}'

	def base_info(self):
		"""The base tested, for reports."""
		if self.kernel:
			return {'kind': 'kernel', 'path': str(self.kernel)}
		return {'kind': 'debian', 'package': BASE_PACKAGE, 'version': BASE_VERSION,
			'sha256': BASE_SHA256}

	def git_tree_id(self, tree):
		"""HEAD of the checkout @tree plus the content of its changed tracked files."""
		g = Git(tree, self.env)
		head = g.try_out('rev-parse', 'HEAD') or 'nohead'
		raw = g('--no-optional-locks', 'status', '--porcelain', '-z', '--no-renames',
			'--untracked-files=no', check=False).stdout
		h = hashlib.sha256()
		for path in sorted(p[3:] for p in raw.split('\0') if p):
			h.update(f'{path}\0{file_sig(Path(tree) / path)}\0'.encode())
		return f'{head}:{h.hexdigest()[:16]}'

	def unpack_base(self, dst):
		"""Unpack the kernel tree of the pinned .deb into @dst.

		Straight from the .deb, without its top directory: no tarball
		and no second tree on disk, and the files get fresh mtimes
		(objects of an older build dir must not look newer than them).
		"""
		deb = self.download_deb()
		self.ensure_tools(('dpkg-deb', 'xz', 'tar'))
		say(f'unpacking {deb.name} (about 15 s)')
		p1 = subprocess.Popen(['dpkg-deb', '--fsys-tarfile', str(deb)], stdout=subprocess.PIPE,
				      stderr=subprocess.DEVNULL)
		p2 = subprocess.Popen(['tar', '-xO', BASE_TARBALL], stdin=p1.stdout, stdout=subprocess.PIPE,
				      stderr=subprocess.DEVNULL)
		p1.stdout.close()
		r = subprocess.run(['tar', '-xJm', '-C', str(dst), '--strip-components=1', f'{BASE_TOPDIR}/'],
				   stdin=p2.stdout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
		p2.stdout.close()
		if p1.wait() != 0 or p2.wait() != 0 or r.returncode != 0:
			raise RunnerError(EXIT_ENV, f'cannot unpack {deb}: {r.stdout.strip() or "dpkg-deb or tar failed"}')
		if not (dst / 'Makefile').is_file():
			raise RunnerError(EXIT_ENV, f'{deb} does not contain {BASE_TOPDIR}/')

	def download_deb(self):
		dl = self.layout.dl
		dl.mkdir(parents=True, exist_ok=True)
		deb = self.layout.deb(BASE_DEB)
		if deb.exists():
			if sha256_file(deb) == BASE_SHA256:
				return deb
			say(f'cached {deb.name} has a wrong checksum; fetching it again')
			deb.unlink()
		self.ensure_tools(('apt-get',))
		uri = debian_mirror(self.apt_etc)
		c = self.layout.apt
		for d in ('lists/partial', 'cache/archives/partial', 'state'):
			(c / d).mkdir(parents=True, exist_ok=True)
		(c / 'sources.list').write_text(
			f'deb [signed-by={KEYRING}] {uri} {BASE_SUITE} {BASE_COMPONENT}\n')
		opts = ['-o', f'Dir::Etc::SourceList={c}/sources.list', '-o', 'Dir::Etc::SourceParts=/dev/null',
			'-o', f'Dir::State={c}/state', '-o', f'Dir::State::Lists={c}/lists',
			'-o', f'Dir::Cache={c}/cache', '-o', 'Dir::State::status=/var/lib/dpkg/status',
			'-o', 'APT::Architecture=amd64', '-o', 'Acquire::Languages=none']
		if self.is_root:
			opts += ['-o', 'APT::Sandbox::User=root']
		say(f'fetching {BASE_PACKAGE}={BASE_VERSION} from {BASE_SUITE} (private apt setup in {c})')
		r = run_cmd(['apt-get'] + opts + ['update'], env=self.env, check=False)
		if r.returncode != 0 or re.search(r'^(E:|Err:)', r.stdout or '', re.M):
			self.fetch_failed('update', r.stdout, uri, deb)
		tmp = Path(tempfile.mkdtemp(prefix='partial-', dir=dl))
		try:
			r = run_cmd(['apt-get'] + opts + ['download', f'{BASE_PACKAGE}={BASE_VERSION}'],
				    cwd=tmp, env=self.env, check=False)
			debs = sorted(tmp.glob('*.deb'))
			if r.returncode != 0 or not debs:
				self.fetch_failed('download', r.stdout, uri, deb)
			got = sha256_file(debs[0])
			if got != BASE_SHA256:
				raise RunnerError(EXIT_CHECKSUM, f'checksum mismatch for {debs[0].name}: '
						  f'sha256 {got}, expected {BASE_SHA256}')
			os.rename(debs[0], deb)
		finally:
			shutil.rmtree(tmp, ignore_errors=True)
		return deb

	@staticmethod
	def fetch_failed(step, output, uri, deb):
		"""Raise the one-line error of a failed apt-get @step.

		An archive that answers but does not list the pinned version (or
		the suite) is told apart from no network: the fix differs.
		"""
		lines = [l for l in (output or '').splitlines() if l.strip()]
		if any(NOT_LISTED_RE.search(l) for l in lines):
			raise RunnerError(EXIT_ENV, f'{BASE_PACKAGE}={BASE_VERSION} is not listed by the archive '
					  f'{uri} {BASE_SUITE} (the pin is out of date; not a network problem); '
					  f'put the .deb at {deb} (it is checked against the pinned SHA-256) '
					  'or use --kernel DIR')
		last = lines[-1] if lines else ''
		raise RunnerError(EXIT_ENV, f'cannot fetch base (network?): apt-get {step} failed: {last}')

# SPDX-License-Identifier: GPL-2.0
"""buildseed: start a new build dir from another work tree's build.

The runner's work trees of one cache (the full series', the --upto one)
hold the same kernel but for the files the series changes.  A new build
dir of one tree need not be a cold build: copy the other tree's build
dir (mtimes kept) and give every file that both trees hold unchanged
from the base the other tree's mtime.  make then rebuilds only what
differs -- the objects of files the patches in between change, and
those that use a config option whose value differs (Kbuild records
both per object) -- instead of the whole kernel.

This is only right when both build dirs lie directly below their work
trees (the compile commands then name sources relative to the build
dir: "../drivers/..."), both trees have the same base commit, and the
files given the other tree's mtime have the same content in both.  A
file is taken as the same when neither tree changes it from the base,
in a commit or in its work tree (tracked or not); everything else keeps
the mtime git gave it and is rebuilt.
"""
import os
import shutil
import subprocess
from pathlib import Path


def _git(tree, env, *args):
	r = subprocess.run(['git', '-C', str(tree)] + list(args), env=env, stdout=subprocess.PIPE,
			   stderr=subprocess.DEVNULL, check=False)
	return r.stdout.decode('utf-8', 'surrogateescape') if r.returncode == 0 else None


def _changed(tree, env):
	"""Paths @tree changes from its base tag (commits, edits, untracked), or None."""
	committed = _git(tree, env, 'diff', '--name-only', '-z', 'base', 'HEAD')
	status = _git(tree, env, 'status', '--porcelain', '-z', '--untracked-files=all')
	if committed is None or status is None:
		return None
	paths = set(filter(None, committed.split('\0')))
	entries = status.split('\0')
	i = 0
	while i < len(entries):
		e = entries[i]
		i += 1
		if len(e) < 4:
			continue
		paths.add(e[3:])
		if e[0] in 'RC':  # a rename or copy: the next entry is its source
			paths.add(entries[i])
			i += 1
	return paths


def seed(src_wt, src_build, dst_wt, dst_build, env=None):
	"""Make @dst_build (new) a copy of @src_build for the tree @dst_wt.

	Returns the number of files of @dst_wt that took @src_wt's mtime, or
	None (nothing written) when the two trees or build dirs do not
	qualify; see the module's comment.
	"""
	src_wt, src_build = Path(src_wt), Path(src_build)
	dst_wt, dst_build = Path(dst_wt), Path(dst_build)
	if dst_build.exists() or src_build.parent != src_wt or dst_build.parent != dst_wt:
		return None
	if not (src_build / '.config').is_file() or not (src_build / 'vmlinux').is_file():
		return None
	bases = [_git(t, env, 'rev-parse', '-q', '--verify', 'base^{tree}') for t in (src_wt, dst_wt)]
	if bases[0] is None or bases[0] != bases[1]:
		return None
	src_changed, dst_changed = _changed(src_wt, env), _changed(dst_wt, env)
	tracked = _git(dst_wt, env, 'ls-files', '-z')
	if src_changed is None or dst_changed is None or tracked is None:
		return None
	skip = src_changed | dst_changed
	tmp = dst_build.with_name(dst_build.name + '.seed')
	if tmp.exists():
		shutil.rmtree(tmp)
	r = subprocess.run(['cp', '-a', str(src_build), str(tmp)], stdout=subprocess.DEVNULL,
			   stderr=subprocess.DEVNULL, check=False)
	if r.returncode != 0:
		shutil.rmtree(tmp, ignore_errors=True)
		return None
	n = 0
	for name in filter(None, tracked.split('\0')):
		if name in skip:
			continue
		try:
			st = os.stat(src_wt / name, follow_symlinks=False)
			os.utime(dst_wt / name, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
		except OSError:
			continue
		n += 1
	os.rename(tmp, dst_build)
	return n

# SPDX-License-Identifier: GPL-2.0
"""Content signatures of files and trees (what tells a change from none)."""

import hashlib
import os


def sha256_bytes(data):
	return hashlib.sha256(data).hexdigest()


def sha256_file(path):
	h = hashlib.sha256()
	with open(path, 'rb') as f:
		for chunk in iter(lambda: f.read(1 << 20), b''):
			h.update(chunk)
	return h.hexdigest()


def file_sig(path):
	"""Content hash plus exec bit of @path, or None if it does not exist."""
	try:
		st = os.lstat(path)
	except FileNotFoundError:
		return None
	if not os.path.isfile(path):
		return None
	return sha256_file(path) + (':x' if st.st_mode & 0o100 else '')


def tree_stat_id(root):
	"""Hash of the path, size, mtime and ctime of every file of @root but .git/."""
	h = hashlib.sha256()
	for dirpath, dirnames, filenames in os.walk(root):
		dirnames[:] = sorted(d for d in dirnames if not (d == '.git' and dirpath == str(root)))
		for fn in sorted(filenames):
			p = os.path.join(dirpath, fn)
			try:
				st = os.lstat(p)
			except FileNotFoundError:
				continue
			h.update(f'{os.path.relpath(p, root)}\0{st.st_size}\0{st.st_mtime_ns}\0'
				 f'{st.st_ctime_ns}\0'.encode())
	return h.hexdigest()[:16]

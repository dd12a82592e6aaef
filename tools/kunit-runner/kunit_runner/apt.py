# SPDX-License-Identifier: GPL-2.0
"""The system's apt configuration, read only: where the Debian archive is."""

import re
from pathlib import Path

from .errors import EXIT_ENV, RunnerError

KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'


def _deb822_paragraphs(text):
	para = {}
	key = None
	for line in text.splitlines():
		if line.startswith('#'):
			continue
		if not line.strip():
			if para:
				yield para
			para, key = {}, None
			continue
		if line[0] in ' \t' and key:
			para[key] += ' ' + line.strip()
			continue
		if ':' in line:
			key, val = line.split(':', 1)
			key = key.strip().lower()
			para[key] = val.strip()
	if para:
		yield para


def apt_source_entries(apt_etc='/etc/apt'):
	"""Yield (types, uris, suites, components) of the system apt sources."""
	apt_etc = Path(apt_etc)
	files = []
	if (apt_etc / 'sources.list').is_file():
		files.append(apt_etc / 'sources.list')
	d = apt_etc / 'sources.list.d'
	if d.is_dir():
		files += sorted(p for p in d.iterdir() if p.suffix in ('.list', '.sources'))
	for f in files:
		try:
			text = f.read_text()
		except OSError:
			continue
		if f.suffix == '.sources':
			for para in _deb822_paragraphs(text):
				if para.get('enabled', 'yes').lower() == 'no':
					continue
				yield (para.get('types', '').split(), para.get('uris', '').split(),
				       para.get('suites', '').split(), para.get('components', '').split())
		else:
			for line in text.splitlines():
				line = line.split('#', 1)[0].strip()
				if not line:
					continue
				line = re.sub(r'\[[^\]]*\]', ' ', line)
				tok = line.split()
				if len(tok) < 3:
					continue
				yield [tok[0]], [tok[1]], [tok[2]], tok[3:]


def debian_mirror(apt_etc='/etc/apt'):
	"""First URI of the Debian main archive in the system's apt sources."""
	for types, uris, suites, comps in apt_source_entries(apt_etc):
		if 'deb' not in types or not uris or not suites:
			continue
		if all(s.endswith('-security') or '/' in s for s in suites):
			continue
		if 'security' in uris[0]:
			continue
		if comps and 'main' not in comps:
			continue
		return uris[0].rstrip('/')
	raise RunnerError(EXIT_ENV, f'cannot find a Debian archive in the apt sources under {apt_etc}')

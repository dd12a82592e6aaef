# SPDX-License-Identifier: GPL-2.0
"""The one process helper of the runner: status lines (say, out), commands
(run_cmd, stream_cmd) and git (Git)."""

import subprocess
import sys
import threading
from pathlib import Path

from .errors import EXIT_ENV, EXIT_INTERNAL, RunnerError

PROG = 'tools/kunit-runner/run'


# Status lines go to stdout, except for `tree`, whose stdout is the path only.
_say_stream = None
# A thread with a list in _held.lines keeps its say() and out() lines there
# (test-all's work tree prepare beside the self-tests).
_held = threading.local()


def say(msg=''):
	held = getattr(_held, 'lines', None)
	if held is not None:
		held.append(f'kunit-runner: {msg}')
		return
	print(f'kunit-runner: {msg}', file=_say_stream or sys.stdout, flush=True)


def out(line=''):
	held = getattr(_held, 'lines', None)
	if held is not None:
		held.append(line.rstrip('\n'))
		return
	sys.stdout.write(line if line.endswith('\n') else line + '\n')
	sys.stdout.flush()


def fmt_time(seconds):
	m, s = divmod(int(seconds), 60)
	return f'{m}m{s:02d}s'


def run_cmd(cmd, cwd=None, env=None, check=True, capture=True, input=None):
	try:
		r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, input=input,
				   stdout=subprocess.PIPE if capture else None,
				   stderr=subprocess.STDOUT if capture else None,
				   text=True, errors='backslashreplace')
	except FileNotFoundError:
		raise RunnerError(EXIT_ENV, f'cannot run {cmd[0]}: not installed')
	if check and r.returncode != 0:
		raise RunnerError(EXIT_INTERNAL, f'{" ".join(map(str, cmd))} failed ({r.returncode}): '
				  f'{(r.stdout or "").strip()[-2000:]}')
	return r


class Git:
	def __init__(self, path, env):
		self.path = Path(path)
		self.env = env

	def __call__(self, *args, check=True, extra_env=None, input=None):
		env = dict(self.env)
		if extra_env:
			env.update(extra_env)
		return run_cmd(['git', '-C', self.path] + list(args), env=env, check=check, input=input)

	def out(self, *args, **kw):
		return self(*args, **kw).stdout.strip()

	def try_out(self, *args):
		r = self(*args, check=False)
		return r.stdout.strip() if r.returncode == 0 else None

	def subject(self, rev):
		return self.out('log', '-1', '--format=%s', rev)


def stream_cmd(cmd, env=None, cwd=None, stdin=subprocess.DEVNULL):
	"""Run @cmd, echoing its output; return (exit code, output lines).

	@stdin None leaves the runner's standard input to @cmd.
	"""
	try:
		p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdin=stdin,
				     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
				     errors='backslashreplace')
	except OSError as e:
		raise RunnerError(EXIT_ENV, f'cannot run {cmd[0]}: {e}')
	lines = []
	for line in p.stdout:
		out(line)
		lines.append(line.rstrip('\n'))
	return p.wait(), lines

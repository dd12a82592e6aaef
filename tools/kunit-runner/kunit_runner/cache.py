# SPDX-License-Identifier: GPL-2.0
"""Where things are: the runner's own files, and the one layout of the cache
directory."""

from pathlib import Path

# tools/kunit-runner: the runner's own files; RUN is its entry point.
TOOL_DIR = Path(__file__).resolve().parent.parent
RUN = TOOL_DIR / 'run'

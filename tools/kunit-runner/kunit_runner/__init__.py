# SPDX-License-Identifier: GPL-2.0
"""kunit-runner: run this project's KUnit suite against the pinned base kernel.

The runner fetches and caches the pinned base kernel (a Debian linux-source
package), builds a git work tree from it (base commit, one commit per patch
of patches/series, one commit with the project's new files), and runs
tools/testing/kunit/kunit.py config, build and exec as separate steps under
UML.  Python 3 standard library only.

Exit codes (also in README.md):
  0  all tests passed
  1  tests failed, kernel splats, or no test ran
  2  bad usage or input (options, wrong --kernel path, bad patches/series,
     a --series PATH that is missing or holds no patch)
  3  missing environment (tool not installed, base cannot be fetched, disk
     full); test-all: every failed stage failed for such a reason
  4  the series does not apply (git am failed; aborted)
  5  build failed (kunit.py config or the kernel build)
  6  work tree has unexported edits; refusing to overwrite it
  7  downloaded base failed checksum verification
  8  internal error of the runner
  9  export refused: the work tree does not hold the whole series and the
     placed files (a patch did not apply, a prepare was interrupted, or
     patches/ changed since the work tree was prepared), or it holds a
     series given with --series/--applied
 10  clean refused: a work tree in the cache has unexported edits (or
     cannot be told from them); nothing was deleted
130  interrupted (Ctrl-C)

This package has one module per job; README.md ("What it needs") has the
module map.  Entry points: run (and python3 -m kunit_runner), e2e.py,
series_checks.py and verdict.py beside this package.
"""

# What callers use (run, mutate.py, e2e.py, the self-tests), from the
# module of its job.  A test that mock-patches a name patches it there.
from .errors import (EXIT_OK, EXIT_TESTS_FAILED, EXIT_USAGE, EXIT_ENV, EXIT_SERIES,  # noqa: F401
		     EXIT_BUILD, EXIT_DIRTY, EXIT_CHECKSUM, EXIT_INTERNAL, EXIT_EXPORT, EXIT_CLEAN,
		     EXIT_INTERRUPTED, EXIT_CODES, INFRA_CODES, RunnerError, disk_error)
from .proc import PROG, Git, fmt_time, out, run_cmd, say, stream_cmd  # noqa: F401
from .filesig import file_sig, sha256_bytes, sha256_file, tree_stat_id  # noqa: F401
from .cache import CLEAN_DIRS, RUN, TOOL_DIR, CacheLayout, cache_root  # noqa: F401
from .series import (read_series, read_series_input, select_upto, series_input_kind,  # noqa: F401
		     series_record, tree_has_hook)
from .apt import KEYRING, apt_source_entries, debian_mirror  # noqa: F401
from .base import (BASE_COMPONENT, BASE_PACKAGE, BASE_SHA256, BASE_SUITE,  # noqa: F401
		   BASE_TARBALL, BASE_TOPDIR, BASE_VERSION)
from .worktree import (COMMITTER_ENV, PLACED_ROOTS, PLACED_SUBJECT, WORK_BRANCH,  # noqa: F401
		       collect_placed)
from .lock import FileLock  # noqa: F401
from .results import (SPLAT_RE, add_counts, junit_report, kunit_json_cases,  # noqa: F401
		      kunit_json_counts, kunit_json_suite_counts, parse_summary, summary_line)
from .coverage import (COVERAGE_ENFORCED, COVERAGE_EXTRA, COVERAGE_FILES, COVERAGE_FRAGMENT,  # noqa: F401
		       COVERAGE_KCFLAGS, added_lines, parse_lcov_info, print_coverage, series_coverage)
from .kbuild import RUNNER_FRAGMENT, kunit_py, merge_kcflags  # noqa: F401
from .runner import BUILD_LOCK, BUILD_TOOLS, FETCH_TOOLS, TOOL_PACKAGES, Runner  # noqa: F401
from .selftest import cmd_selftest, run_selftests  # noqa: F401
from .stages import (BASE_KUNITCONFIG, E2E_ARM64_CYCLES, E2E_CI_CYCLES, E2E_PY,  # noqa: F401
		     FIX_PROOF_SUITE, HARDEN_DEFINE, SERIES_CHECKS_PY, contract_verdict,
		     harden_applied)
from .testall import StageRecord, TestAll, cmd_test_all  # noqa: F401
from .doctor import DOCTOR_DISK_GB, cmd_doctor, kvm_finding  # noqa: F401
from .clean import cmd_clean  # noqa: F401
from .cli import COMMANDS, build_parser, main  # noqa: F401

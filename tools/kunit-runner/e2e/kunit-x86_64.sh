#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the project's KUnit suite under QEMU x86_64 (TCG) instead of UML.
#
#   kunit-x86_64.sh KERNEL_TREE BUILD_DIR [more kunit.py run options]
#
# KERNEL_TREE must carry the series and drivers/virtio/tests/ (for instance
# the output of "tools/kunit-runner/run tree"). The whole run holds the build
# lock. kunit.py always passes "-accel kvm" first; on a machine whose
# /dev/kvm exists but cannot run the guest (KVM "emulation failure", the
# guest hangs until kunit.py's timeout), QEMU must fall back to TCG, so the
# run happens in a private mount namespace with /dev/kvm masked by
# /dev/null.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 KERNEL_TREE BUILD_DIR [kunit.py run options]" >&2
	exit 2
fi
tree=$1
build=$2
shift 2
conf=$(cd "$(dirname "$0")" && pwd)/x86_64.kunitconfig
lock=${NOIRQ_KUNIT_LOCK:-/tmp/noirq-kunit-build.lock}

cd "$tree"
run="python3 tools/testing/kunit/kunit.py run --arch=x86_64 --kunitconfig=$conf --build_dir=$build $*"
if [ -e /dev/kvm ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	exec flock "$lock" unshare --mount sh -c \
		"mount --bind /dev/null /dev/kvm && exec $run"
fi
exec flock "$lock" sh -c "exec $run"

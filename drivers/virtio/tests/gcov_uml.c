// SPDX-License-Identifier: GPL-2.0-only
/*
 * Coverage runs of the virtio PM tests under UML.
 *
 * With CONFIG_GCOV, UML links libgcov and used to write the .gcda files
 * when the UML process exits. The process that runs the kernel now ends
 * by killing itself on halt, before any exit handler runs, so no coverage
 * data is ever written. Write it from a reboot notifier instead, which
 * runs on halt (kunit_shutdown=halt) while the kernel can still do I/O.
 */

#include <linux/init.h>
#include <linux/notifier.h>
#include <linux/reboot.h>

/* From libgcov, which UML links with CONFIG_GCOV. */
void __gcov_dump(void);

static int gcov_uml_dump(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	__gcov_dump();
	return NOTIFY_DONE;
}

static struct notifier_block gcov_uml_nb = {
	.notifier_call = gcov_uml_dump,
};

static int __init gcov_uml_init(void)
{
	return register_reboot_notifier(&gcov_uml_nb);
}
late_initcall(gcov_uml_init);

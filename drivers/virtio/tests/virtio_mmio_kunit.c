// SPDX-License-Identifier: GPL-2.0-only
/**
 * DOC: virtio-mmio KUnit tests
 *
 * KUnit tests for the virtio-mmio transport: queue setup and the system
 * sleep paths, normal and noirq, checked register by register on an
 * emulated device (fake_mmio.h) that the real virtio-mmio platform driver
 * binds to, with a level-triggered interrupt and buffers the device uses
 * a few ticks after the notification.
 *
 * A small virtio driver is registered by each test. It asks for three
 * queues of which the middle one has no name, so the third array entry gets
 * queue index 1: the transport must select queues by index, not by array
 * position. The suites whose cases share one device with the driver bound
 * build it in their .init (mmio_test_init_noirq(), mmio_test_init_plain());
 * everything is torn down by KUnit actions.
 *
 * The contract suites (virtio_mmio_probe, _noirq, _plain, _pfn) pin only
 * the noirq PM contract; virtio_mmio_config checks the emulated device and
 * the unchanged transport together; virtio_mmio_extras holds this series'
 * own choices.
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/platform_device.h>
#include <linux/pm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <uapi/linux/virtio_mmio.h>

#include "fake_mmio.h"

/* Device ID the noirq-capable test driver binds to. */
#define MMIO_TEST_ID_NOIRQ	FAKE_MMIO_DEVICE_ID
/* Device ID the test driver without noirq callbacks binds to. */
#define MMIO_TEST_ID_PLAIN	(FAKE_MMIO_DEVICE_ID + 1)
/* Entries in the test driver's virtqueue array. */
#define MMIO_TEST_NVQS		3
/* Queues the emulated device has. */
#define MMIO_TEST_DEV_QUEUES	2
/* Size of the receive buffer moved through a queue. */
#define MMIO_TEST_BUF_SIZE	64
/* Capacity of an expected register write sequence. */
#define MMIO_TEST_SEQ_MAX	64
/* Polls of the used ring before a buffer counts as lost. */
#define MMIO_TEST_POLLS		1000
/* Bus address from which a legacy ring cannot be described by a PFN. */
#define MMIO_TEST_PFN_LIMIT	BIT_ULL(32 + PAGE_SHIFT)
/* Ticks an interrupt-driven wait gives the device before it gives up. */
#define MMIO_TEST_TICKS		100

/**
 * enum mmio_test_cycle - a system sleep transition through &dev_pm_ops
 * @MMIO_TEST_SUSPEND: suspend, suspend_noirq, resume_noirq, resume
 * @MMIO_TEST_THAW: freeze, freeze_noirq, thaw_noirq, thaw
 * @MMIO_TEST_RESTORE: poweroff, poweroff_noirq, restore_noirq, restore
 */
enum mmio_test_cycle {
	MMIO_TEST_SUSPEND,
	MMIO_TEST_THAW,
	MMIO_TEST_RESTORE,
};

/**
 * enum mmio_test_call - callbacks of the test driver, for counting
 * @MMIO_TEST_FREEZE: &virtio_driver.freeze
 * @MMIO_TEST_FREEZE_NOIRQ: &virtio_driver.freeze_noirq
 * @MMIO_TEST_RESTORE_NOIRQ: &virtio_driver.restore_noirq
 * @MMIO_TEST_RESTORE_CB: &virtio_driver.restore
 * @MMIO_TEST_CONFIG_CHANGED: &virtio_driver.config_changed
 * @MMIO_TEST_NR_CALLS: number of counted callbacks
 */
enum mmio_test_call {
	MMIO_TEST_FREEZE,
	MMIO_TEST_FREEZE_NOIRQ,
	MMIO_TEST_RESTORE_NOIRQ,
	MMIO_TEST_RESTORE_CB,
	MMIO_TEST_CONFIG_CHANGED,
	MMIO_TEST_NR_CALLS,
};

/**
 * struct mmio_test_param - parameter of a test case
 * @version: virtio-mmio version of the emulated device
 * @cycle: the system sleep transition to go through
 * @desc: description shown in the test results
 */
struct mmio_test_param {
	u32 version;
	enum mmio_test_cycle cycle;
	const char *desc;
};

/**
 * struct mmio_test_phases - the four PM callbacks of one transition
 * @suspend: normal phase, going down
 * @suspend_noirq: noirq phase, going down
 * @resume_noirq: noirq phase, coming up
 * @resume: normal phase, coming up
 */
struct mmio_test_phases {
	int (*suspend)(struct device *dev);
	int (*suspend_noirq)(struct device *dev);
	int (*resume_noirq)(struct device *dev);
	int (*resume)(struct device *dev);
};

/**
 * struct mmio_test_run - what one transition did
 * @ret: return value of each phase, in the order of &struct mmio_test_phases
 * @mark: log length before each phase, and after the last one
 */
struct mmio_test_run {
	int ret[4];
	unsigned int mark[5];
};

/**
 * struct mmio_test_ctx - one emulated device and the test driver on it
 * @test: the running test
 * @fdev: the emulated device
 * @vdev: the virtio device registered by virtio-mmio
 * @pm: the PM callbacks of virtio-mmio
 * @vqs_info: the queues the driver asks for
 * @nvqs: entries used in @vqs_info
 * @vqs: the virtqueues, by array position
 * @probe_err: return value of the last find_vqs() of the driver
 * @poll_in_restore_noirq: restore_noirq moves a buffer through the last
 *	queue by polling
 * @post_in_restore_noirq: restore_noirq also posts @buf2 on the first
 *	queue, for the interrupt handler to collect later
 * @restore_noirq_len: length of that buffer as the device reported it, or
 *	a negative error code
 * @restore_noirq_polls: polls of the used ring it took
 * @restore_noirq_end: log length when restore_noirq returned
 * @restore_noirq_irqs_off: local interrupts were disabled in restore_noirq
 * @status_at_restore: device status when the restore callback ran
 * @after_suspend: if set, run between the suspend and suspend_noirq phases
 *	of mmio_test_cycle()
 * @calls: calls of each driver callback, by &enum mmio_test_call
 * @config_changed_at: log length at the last config_changed call
 * @cb_calls: calls of the virtqueue callbacks
 * @cb_bufs: buffers the virtqueue callbacks got back
 * @cb_len: length of the last of them
 * @cb_token: token of the last of them
 * @buf: receive buffer
 * @buf2: second receive buffer
 */
struct mmio_test_ctx {
	struct kunit *test;
	struct fake_mmio_dev *fdev;
	struct virtio_device *vdev;
	const struct dev_pm_ops *pm;
	struct virtqueue_info vqs_info[MMIO_TEST_NVQS];
	unsigned int nvqs;
	struct virtqueue *vqs[MMIO_TEST_NVQS];
	int probe_err;
	bool poll_in_restore_noirq;
	bool post_in_restore_noirq;
	int restore_noirq_len;
	unsigned int restore_noirq_polls;
	unsigned int restore_noirq_end;
	bool restore_noirq_irqs_off;
	u32 status_at_restore;
	void (*after_suspend)(struct mmio_test_ctx *ctx);
	unsigned int calls[MMIO_TEST_NR_CALLS];
	unsigned int config_changed_at;
	unsigned int cb_calls;
	unsigned int cb_bufs;
	unsigned int cb_len;
	void *cb_token;
	u8 *buf;
	u8 *buf2;
};

/**
 * struct mmio_test_seq - an expected sequence of register writes
 * @w: the writes
 * @n: number of writes added (may exceed the capacity of @w)
 */
struct mmio_test_seq {
	struct fake_mmio_access w[MMIO_TEST_SEQ_MAX];
	unsigned int n;
};

/**
 * mmio_test_ctx_of - the test context of a virtio device
 * @vdev: a virtio device on an emulated device
 *
 * Return: the context, or NULL if @vdev is not on an emulated device.
 */
static struct mmio_test_ctx *mmio_test_ctx_of(struct virtio_device *vdev)
{
	struct fake_mmio_dev *fdev = fake_mmio_from_vdev(vdev);

	return fdev ? fdev->priv : NULL;
}

/**
 * mmio_test_vq_done - virtqueue callback: collect the used buffers
 * @vq: the virtqueue
 */
static void mmio_test_vq_done(struct virtqueue *vq)
{
	struct mmio_test_ctx *ctx = vq->vdev->priv;
	unsigned int len;
	void *token;

	ctx->cb_calls++;
	while ((token = virtqueue_get_buf(vq, &len))) {
		ctx->cb_bufs++;
		ctx->cb_len = len;
		ctx->cb_token = token;
	}
}

/**
 * mmio_test_find_vqs - set up the queues of the test driver
 * @ctx: the test context
 *
 * Return: the result of virtio_find_vqs(), also kept in @ctx.
 */
static int mmio_test_find_vqs(struct mmio_test_ctx *ctx)
{
	ctx->probe_err = virtio_find_vqs(ctx->vdev, ctx->nvqs, ctx->vqs,
					 ctx->vqs_info, NULL);
	return ctx->probe_err;
}

/**
 * mmio_test_probe - &virtio_driver.probe of the test drivers
 * @vdev: the virtio device
 *
 * Return: 0 or a negative error code.
 */
static int mmio_test_probe(struct virtio_device *vdev)
{
	struct mmio_test_ctx *ctx = mmio_test_ctx_of(vdev);
	int err;

	if (!ctx)
		return -ENODEV;

	vdev->priv = ctx;
	err = mmio_test_find_vqs(ctx);
	if (err)
		return err;

	virtio_device_ready(vdev);
	return 0;
}

/**
 * mmio_test_remove - &virtio_driver.remove of the test drivers
 * @vdev: the virtio device
 */
static void mmio_test_remove(struct virtio_device *vdev)
{
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
}

/**
 * mmio_test_count - count a call of a driver callback
 * @vdev: the virtio device
 * @call: the callback
 *
 * Return: the test context.
 */
static struct mmio_test_ctx *mmio_test_count(struct virtio_device *vdev,
					     enum mmio_test_call call)
{
	struct mmio_test_ctx *ctx = vdev->priv;

	ctx->calls[call]++;
	return ctx;
}

/**
 * mmio_test_post - post a receive buffer on a queue and kick the device
 * @vq: the virtqueue
 * @buf: the buffer, %MMIO_TEST_BUF_SIZE bytes, cleared first; also the token
 * @gfp: allocation flags for virtqueue_add_inbuf()
 *
 * Return: 0 or the error of virtqueue_add_inbuf().
 */
static int mmio_test_post(struct virtqueue *vq, u8 *buf, gfp_t gfp)
{
	struct scatterlist sg;
	int err;

	memset(buf, 0, MMIO_TEST_BUF_SIZE);
	sg_init_one(&sg, buf, MMIO_TEST_BUF_SIZE);
	err = virtqueue_add_inbuf(vq, &sg, 1, buf, gfp);
	if (!err)
		virtqueue_kick(vq);
	return err;
}

/**
 * mmio_test_poll_buffer - move one buffer through a queue without interrupts
 * @ctx: the test context
 * @vq: the virtqueue
 * @polls: if not NULL, set to the number of polls that found nothing
 *
 * Posts the receive buffer and polls the used ring, as a driver does in
 * the noirq phase; the device gets one tick per poll, and uses the buffer
 * only some ticks after the notification.
 *
 * Return: the length the device wrote, or a negative error code.
 */
static int mmio_test_poll_buffer(struct mmio_test_ctx *ctx,
				 struct virtqueue *vq, unsigned int *polls)
{
	unsigned int len, i;
	int err;

	err = mmio_test_post(vq, ctx->buf, GFP_ATOMIC);
	if (err)
		return err;

	for (i = 0; i < MMIO_TEST_POLLS; i++) {
		if (virtqueue_get_buf(vq, &len) == ctx->buf) {
			if (polls)
				*polls = i;
			return len;
		}
		fake_mmio_tick(ctx->fdev);
	}

	return -ETIMEDOUT;
}

/**
 * mmio_test_irq_buffer - move one buffer through a queue, interrupt driven
 * @ctx: the test context
 * @vq: the virtqueue
 *
 * Posts the receive buffer and lets the device run until the virtqueue
 * callback, called from the interrupt handler, has collected it.
 *
 * Return: the length the device wrote, or a negative error code.
 */
static int mmio_test_irq_buffer(struct mmio_test_ctx *ctx,
				struct virtqueue *vq)
{
	unsigned int i;
	int err;

	ctx->cb_token = NULL;
	err = mmio_test_post(vq, ctx->buf, GFP_KERNEL);
	if (err)
		return err;

	for (i = 0; i < MMIO_TEST_TICKS && ctx->cb_token != ctx->buf; i++)
		fake_mmio_tick(ctx->fdev);

	return ctx->cb_token == ctx->buf ? ctx->cb_len : -ETIMEDOUT;
}

/**
 * mmio_test_last_vq - the last virtqueue of the driver's array
 * @ctx: the test context
 *
 * Return: the virtqueue (index 1 with the default table).
 */
static struct virtqueue *mmio_test_last_vq(struct mmio_test_ctx *ctx)
{
	return ctx->vqs[ctx->nvqs - 1];
}

/**
 * mmio_test_freeze_keep - &virtio_driver.freeze keeping the queues
 * @vdev: the virtio device
 *
 * Return: 0.
 */
static int mmio_test_freeze_keep(struct virtio_device *vdev)
{
	mmio_test_count(vdev, MMIO_TEST_FREEZE);
	return 0;
}

/**
 * mmio_test_freeze_noirq - &virtio_driver.freeze_noirq
 * @vdev: the virtio device
 *
 * Return: 0; no buffers are outstanding.
 */
static int mmio_test_freeze_noirq(struct virtio_device *vdev)
{
	mmio_test_count(vdev, MMIO_TEST_FREEZE_NOIRQ);
	return 0;
}

/**
 * mmio_test_restore_noirq - &virtio_driver.restore_noirq
 * @vdev: the virtio device
 *
 * Marks the device ready and, if asked to, posts a buffer on the first
 * queue and moves one through the last queue by polling.
 *
 * Return: 0.
 */
static int mmio_test_restore_noirq(struct virtio_device *vdev)
{
	struct mmio_test_ctx *ctx = mmio_test_count(vdev,
						    MMIO_TEST_RESTORE_NOIRQ);

	ctx->restore_noirq_irqs_off = irqs_disabled();
	virtio_device_ready_noirq(vdev);
	if (ctx->post_in_restore_noirq &&
	    mmio_test_post(ctx->vqs[0], ctx->buf2, GFP_ATOMIC))
		return -EIO;
	if (ctx->poll_in_restore_noirq)
		ctx->restore_noirq_len =
			mmio_test_poll_buffer(ctx, mmio_test_last_vq(ctx),
					      &ctx->restore_noirq_polls);
	ctx->restore_noirq_end = fake_mmio_log_len(ctx->fdev);

	return 0;
}

/**
 * mmio_test_restore_keep - &virtio_driver.restore of the noirq driver
 * @vdev: the virtio device
 *
 * Return: 0.
 */
static int mmio_test_restore_keep(struct virtio_device *vdev)
{
	struct mmio_test_ctx *ctx = mmio_test_count(vdev, MMIO_TEST_RESTORE_CB);

	ctx->status_at_restore = fake_mmio_get_status(ctx->fdev);
	return 0;
}

/**
 * mmio_test_config_changed - &virtio_driver.config_changed
 * @vdev: the virtio device
 *
 * Counts the call and notes where in the register log it came.
 */
static void mmio_test_config_changed(struct virtio_device *vdev)
{
	struct mmio_test_ctx *ctx = mmio_test_count(vdev,
						    MMIO_TEST_CONFIG_CHANGED);

	ctx->config_changed_at = fake_mmio_log_len(ctx->fdev);
}

/**
 * mmio_test_freeze_teardown - &virtio_driver.freeze of the plain driver
 * @vdev: the virtio device
 *
 * Resets the device and deletes the queues, as virtio drivers do today.
 *
 * Return: 0.
 */
static int mmio_test_freeze_teardown(struct virtio_device *vdev)
{
	mmio_test_count(vdev, MMIO_TEST_FREEZE);
	mmio_test_remove(vdev);
	return 0;
}

/**
 * mmio_test_restore_rebuild - &virtio_driver.restore of the plain driver
 * @vdev: the virtio device
 *
 * Sets the queues up again and marks the device ready.
 *
 * Return: 0 or the error of virtio_find_vqs().
 */
static int mmio_test_restore_rebuild(struct virtio_device *vdev)
{
	struct mmio_test_ctx *ctx = mmio_test_count(vdev, MMIO_TEST_RESTORE_CB);
	int err;

	ctx->status_at_restore = fake_mmio_get_status(ctx->fdev);
	err = mmio_test_find_vqs(ctx);
	if (err)
		return err;

	virtio_device_ready(vdev);
	return 0;
}

static const struct virtio_device_id mmio_test_noirq_ids[] = {
	{ MMIO_TEST_ID_NOIRQ, VIRTIO_DEV_ANY_ID },
	{ }
};

static const struct virtio_device_id mmio_test_plain_ids[] = {
	{ MMIO_TEST_ID_PLAIN, VIRTIO_DEV_ANY_ID },
	{ }
};

/* Restores in the noirq phase; keeps its queues over the transition. */
static struct virtio_driver mmio_test_noirq_driver = {
	.driver.name	= "virtio_mmio_kunit_noirq",
	.id_table	= mmio_test_noirq_ids,
	.probe		= mmio_test_probe,
	.remove		= mmio_test_remove,
	.freeze		= mmio_test_freeze_keep,
	.restore	= mmio_test_restore_keep,
	.freeze_noirq	= mmio_test_freeze_noirq,
	.restore_noirq	= mmio_test_restore_noirq,
	.config_changed	= mmio_test_config_changed,
};

/* No noirq callbacks: tears its queues down and sets them up again. */
static struct virtio_driver mmio_test_plain_driver = {
	.driver.name	= "virtio_mmio_kunit_plain",
	.id_table	= mmio_test_plain_ids,
	.probe		= mmio_test_probe,
	.remove		= mmio_test_remove,
	.freeze		= mmio_test_freeze_teardown,
	.restore	= mmio_test_restore_rebuild,
};

KUNIT_DEFINE_ACTION_WRAPPER(mmio_test_unregister_driver,
			    unregister_virtio_driver, struct virtio_driver *);

/**
 * mmio_test_register - register a test driver for the rest of the test
 * @test: the test
 * @drv: the driver; it binds to the devices with its ID right away
 */
static void mmio_test_register(struct kunit *test, struct virtio_driver *drv)
{
	KUNIT_ASSERT_EQ(test, register_virtio_driver(drv), 0);
	KUNIT_ASSERT_EQ(test,
			kunit_add_action_or_reset(test,
						  mmio_test_unregister_driver,
						  drv),
			0);
}

/**
 * mmio_test_new_dev - an emulated device for one of the test drivers
 * @test: the test
 * @cfg: the device; its ID is set from @drv
 * @drv: the test driver that is to bind to the device
 * @nqueues: named queues the driver asks for: 2 (with an unnamed one
 *	between them) or 1
 *
 * The driver binds when it is registered (mmio_test_register()).
 *
 * Return: the test context of the device.
 */
static struct mmio_test_ctx *mmio_test_new_dev(struct kunit *test,
					       struct fake_mmio_config *cfg,
					       struct virtio_driver *drv,
					       unsigned int nqueues)
{
	struct mmio_test_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->buf = kunit_kzalloc(test, MMIO_TEST_BUF_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->buf);
	ctx->buf2 = kunit_kzalloc(test, MMIO_TEST_BUF_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->buf2);

	ctx->test = test;
	ctx->probe_err = -EPROBE_DEFER;
	ctx->restore_noirq_len = -ENODATA;
	ctx->vqs_info[0].name = "rx0";
	ctx->vqs_info[0].callback = mmio_test_vq_done;
	if (nqueues == 2) {
		/* No name: no queue, and the next one gets index 1. */
		ctx->vqs_info[1].name = NULL;
		ctx->vqs_info[2].name = "rx1";
		ctx->vqs_info[2].callback = mmio_test_vq_done;
		ctx->nvqs = 3;
	} else {
		ctx->nvqs = 1;
	}

	cfg->device_id = drv == &mmio_test_noirq_driver ? MMIO_TEST_ID_NOIRQ :
							   MMIO_TEST_ID_PLAIN;
	if (!cfg->num_queues)
		cfg->num_queues = MMIO_TEST_DEV_QUEUES;

	ctx->fdev = fake_mmio_create(test, cfg, ctx);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->fdev);
	ctx->vdev = fake_mmio_vdev(ctx->fdev);
	KUNIT_ASSERT_NOT_NULL(test, ctx->vdev);
	ctx->pm = fake_mmio_pm_ops(ctx->fdev);
	KUNIT_ASSERT_NOT_NULL(test, ctx->pm);

	return ctx;
}

/**
 * mmio_test_setup - one emulated device with a test driver bound to it
 * @test: the test
 * @drv: the test driver
 * @nqueues: named queues, see mmio_test_new_dev()
 *
 * The device has the version of the test parameter. The log starts with
 * the registration of the device by virtio-mmio.
 *
 * Return: the test context.
 */
static struct mmio_test_ctx *mmio_test_setup(struct kunit *test,
					     struct virtio_driver *drv,
					     unsigned int nqueues)
{
	const struct mmio_test_param *param = test->param_value;
	struct fake_mmio_config cfg = { .version = param->version };
	struct mmio_test_ctx *ctx;

	ctx = mmio_test_new_dev(test, &cfg, drv, nqueues);
	mmio_test_register(test, drv);
	KUNIT_ASSERT_EQ(test, ctx->probe_err, 0);
	KUNIT_ASSERT_EQ(test, ctx->fdev->errors, 0);

	return ctx;
}

/**
 * mmio_test_init_noirq - suite .init: the noirq test driver on a device
 * @test: the test
 *
 * Builds a device of the version of the test parameter with two queues,
 * binds the noirq-capable test driver and leaves the context in
 * test->priv. KUnit actions tear it all down.
 *
 * Return: 0.
 */
static int mmio_test_init_noirq(struct kunit *test)
{
	test->priv = mmio_test_setup(test, &mmio_test_noirq_driver, 2);
	return 0;
}

/**
 * mmio_test_init_plain - suite .init: the plain test driver on a device
 * @test: the test
 *
 * As mmio_test_init_noirq(), with the driver that has no noirq callbacks.
 *
 * Return: 0.
 */
static int mmio_test_init_plain(struct kunit *test)
{
	test->priv = mmio_test_setup(test, &mmio_test_plain_driver, 2);
	return 0;
}

/**
 * mmio_test_get_phases - pick the callbacks of a transition
 * @test: the test
 * @pm: the PM callbacks of virtio-mmio
 * @cycle: the transition
 * @ph: filled with the four callbacks, all present
 */
static void mmio_test_get_phases(struct kunit *test,
				 const struct dev_pm_ops *pm,
				 enum mmio_test_cycle cycle,
				 struct mmio_test_phases *ph)
{
	switch (cycle) {
	case MMIO_TEST_SUSPEND:
		*ph = (struct mmio_test_phases){ pm->suspend, pm->suspend_noirq,
						 pm->resume_noirq, pm->resume };
		break;
	case MMIO_TEST_THAW:
		*ph = (struct mmio_test_phases){ pm->freeze, pm->freeze_noirq,
						 pm->thaw_noirq, pm->thaw };
		break;
	case MMIO_TEST_RESTORE:
		*ph = (struct mmio_test_phases){ pm->poweroff,
						 pm->poweroff_noirq,
						 pm->restore_noirq,
						 pm->restore };
		break;
	}

	KUNIT_ASSERT_NOT_NULL(test, ph->suspend);
	KUNIT_ASSERT_NOT_NULL(test, ph->suspend_noirq);
	KUNIT_ASSERT_NOT_NULL(test, ph->resume_noirq);
	KUNIT_ASSERT_NOT_NULL(test, ph->resume);
}

/**
 * mmio_test_noirq_phase - run a noirq phase callback as the PM core would
 * @ctx: the test context
 * @cb: the callback
 *
 * The device interrupt is disabled, as suspend_device_irqs() does. The PM
 * core runs the callback in process context with local interrupts enabled;
 * for version 1 and 2 devices, whose reset does not sleep, local interrupts
 * are disabled too for good measure. A version 3 reset polls with a sleep.
 *
 * Return: the callback's return value.
 */
static int mmio_test_noirq_phase(struct mmio_test_ctx *ctx,
				 int (*cb)(struct device *dev))
{
	unsigned long flags;
	int ret;

	disable_irq(ctx->fdev->irq);
	if (ctx->fdev->version >= 3) {
		ret = cb(&ctx->fdev->pdev->dev);
	} else {
		local_irq_save(flags);
		ret = cb(&ctx->fdev->pdev->dev);
		local_irq_restore(flags);
	}
	enable_irq(ctx->fdev->irq);

	return ret;
}

/**
 * mmio_test_cycle - go through one transition of the test parameter
 * @ctx: the test context
 * @cycle: the transition
 * @run: filled with the results and the log marks of each phase
 *
 * A phase that fails does not stop the transition: the PM core carries on
 * resuming the device too. Suspend to RAM and power off lose power in
 * between: the platform resets the device (fake_mmio_power_loss()).
 */
static void mmio_test_cycle(struct mmio_test_ctx *ctx,
			    enum mmio_test_cycle cycle,
			    struct mmio_test_run *run)
{
	struct device *dev = &ctx->fdev->pdev->dev;
	struct mmio_test_phases ph;

	mmio_test_get_phases(ctx->test, ctx->pm, cycle, &ph);

	run->mark[0] = fake_mmio_log_len(ctx->fdev);
	run->ret[0] = ph.suspend(dev);
	if (ctx->after_suspend)
		ctx->after_suspend(ctx);
	run->mark[1] = fake_mmio_log_len(ctx->fdev);
	run->ret[1] = mmio_test_noirq_phase(ctx, ph.suspend_noirq);
	if (cycle != MMIO_TEST_THAW)
		fake_mmio_power_loss(ctx->fdev);
	run->mark[2] = fake_mmio_log_len(ctx->fdev);
	run->ret[2] = mmio_test_noirq_phase(ctx, ph.resume_noirq);
	run->mark[3] = fake_mmio_log_len(ctx->fdev);
	run->ret[3] = ph.resume(dev);
	run->mark[4] = fake_mmio_log_len(ctx->fdev);
}

/**
 * mmio_test_seq_add - add a write to an expected sequence
 * @s: the sequence
 * @offset: register offset
 * @value: value written
 */
static void mmio_test_seq_add(struct mmio_test_seq *s, u32 offset, u32 value)
{
	if (s->n < MMIO_TEST_SEQ_MAX) {
		s->w[s->n].offset = offset;
		s->w[s->n].width = 4;
		s->w[s->n].write = true;
		s->w[s->n].value = value;
	}
	s->n++;
}

/**
 * mmio_test_seq_reset - the writes of vm_reset()
 * @s: the sequence
 * @version: device version
 *
 * Legacy devices get their page size again right after the reset.
 */
static void mmio_test_seq_reset(struct mmio_test_seq *s, u32 version)
{
	mmio_test_seq_add(s, VIRTIO_MMIO_STATUS, 0);
	if (version == 1)
		mmio_test_seq_add(s, VIRTIO_MMIO_GUEST_PAGE_SIZE, PAGE_SIZE);
}

/**
 * mmio_test_seq_bringup - the writes of a re-init up to FEATURES_OK
 * @s: the sequence
 * @fdev: the device; the driver accepts every feature it offers
 *
 * ACKNOWLEDGE, DRIVER, the driver features (high word first) and, for a
 * modern device, FEATURES_OK.
 */
static void mmio_test_seq_bringup(struct mmio_test_seq *s,
				  struct fake_mmio_dev *fdev)
{
	u32 status = VIRTIO_CONFIG_S_ACKNOWLEDGE;

	mmio_test_seq_add(s, VIRTIO_MMIO_STATUS, status);
	status |= VIRTIO_CONFIG_S_DRIVER;
	mmio_test_seq_add(s, VIRTIO_MMIO_STATUS, status);
	mmio_test_seq_add(s, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_test_seq_add(s, VIRTIO_MMIO_DRIVER_FEATURES,
			  upper_32_bits(fdev->device_features));
	mmio_test_seq_add(s, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_test_seq_add(s, VIRTIO_MMIO_DRIVER_FEATURES,
			  lower_32_bits(fdev->device_features));
	if (fdev->version != 1) {
		status |= VIRTIO_CONFIG_S_FEATURES_OK;
		mmio_test_seq_add(s, VIRTIO_MMIO_STATUS, status);
	}
}

/**
 * mmio_test_ready_status - the status once the driver is ready
 * @version: device version
 *
 * Return: ACKNOWLEDGE | DRIVER | DRIVER_OK, and FEATURES_OK if modern.
 */
static u32 mmio_test_ready_status(u32 version)
{
	u32 status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_DRIVER_OK;

	if (version != 1)
		status |= VIRTIO_CONFIG_S_FEATURES_OK;
	return status;
}

/**
 * mmio_test_seq_queue - the writes that program one queue
 * @s: the sequence
 * @version: device version
 * @vq: the virtqueue
 *
 * QUEUE_SEL by vq->index, QUEUE_NUM, then legacy: QUEUE_ALIGN, QUEUE_PFN;
 * modern: descriptor, available and used ring addresses, QUEUE_READY.
 */
static void mmio_test_seq_queue(struct mmio_test_seq *s, u32 version,
				struct virtqueue *vq)
{
	dma_addr_t desc = virtqueue_get_desc_addr(vq);
	dma_addr_t avail = virtqueue_get_avail_addr(vq);
	dma_addr_t used = virtqueue_get_used_addr(vq);

	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_SEL, vq->index);
	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_NUM,
			  virtqueue_get_vring_size(vq));
	if (version == 1) {
		mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_ALIGN, PAGE_SIZE);
		mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_PFN, desc >> PAGE_SHIFT);
		return;
	}

	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_DESC_LOW, lower_32_bits(desc));
	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_DESC_HIGH, upper_32_bits(desc));
	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_AVAIL_LOW, lower_32_bits(avail));
	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
			  upper_32_bits(avail));
	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_USED_LOW, lower_32_bits(used));
	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_USED_HIGH, upper_32_bits(used));
	mmio_test_seq_add(s, VIRTIO_MMIO_QUEUE_READY, 1);
}

/**
 * mmio_test_seq_queues - the writes that program every queue of the driver
 * @s: the sequence
 * @ctx: the test context
 */
static void mmio_test_seq_queues(struct mmio_test_seq *s,
				 struct mmio_test_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < ctx->nvqs; i++)
		if (ctx->vqs[i])
			mmio_test_seq_queue(s, ctx->fdev->version, ctx->vqs[i]);
}

/**
 * mmio_test_is_queue_reg - whether a register belongs to queue setup
 * @offset: register offset
 *
 * Return: true for QUEUE_SEL, QUEUE_NUM, QUEUE_ALIGN, QUEUE_PFN,
 * QUEUE_READY and the ring address registers.
 */
static bool mmio_test_is_queue_reg(u32 offset)
{
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_SEL:
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_ALIGN:
	case VIRTIO_MMIO_QUEUE_PFN:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return true;
	}
	return false;
}

/**
 * mmio_test_expect_writes - compare logged writes with an expected sequence
 * @test: the test
 * @fdev: the emulated device
 * @from: first log index
 * @to: log index to stop at (exclusive)
 * @only: if not NULL, compare only the writes for which it returns true
 * @exp: the expected writes, in order
 * @what: what the sequence is, for messages
 */
static void mmio_test_expect_writes(struct kunit *test,
				    struct fake_mmio_dev *fdev,
				    unsigned int from, unsigned int to,
				    bool (*only)(u32 offset),
				    const struct mmio_test_seq *exp,
				    const char *what)
{
	struct fake_mmio_access *got;
	unsigned int n, i, k = 0;

	got = kunit_kcalloc(test, MMIO_TEST_SEQ_MAX * 2, sizeof(*got),
			    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_LE(test, exp->n, MMIO_TEST_SEQ_MAX);

	n = fake_mmio_log_writes(fdev, from, to, got, MMIO_TEST_SEQ_MAX * 2);
	KUNIT_ASSERT_LE(test, n, MMIO_TEST_SEQ_MAX * 2);

	for (i = 0; i < n; i++) {
		if (only && !only(got[i].offset))
			continue;
		if (k < exp->n) {
			KUNIT_EXPECT_EQ_MSG(test, got[i].offset,
					    exp->w[k].offset,
					    "%s: write %u is to %s, expected %s",
					    what, k,
					    fake_mmio_reg_name(got[i].offset),
					    fake_mmio_reg_name(exp->w[k].offset));
			KUNIT_EXPECT_EQ_MSG(test, got[i].value, exp->w[k].value,
					    "%s: write %u to %s", what, k,
					    fake_mmio_reg_name(got[i].offset));
		}
		k++;
	}
	KUNIT_EXPECT_EQ_MSG(test, k, exp->n, "%s: number of writes", what);
}

/**
 * mmio_test_expect_page_size_after_resets - legacy page size after resets
 * @test: the test
 * @fdev: the emulated device
 * @from: first log index
 * @to: log index to stop at (exclusive)
 * @resets: number of resets expected in [@from, @to)
 *
 * A legacy device gets GUEST_PAGE_SIZE = PAGE_SIZE right after every
 * STATUS = 0 write, the very next access; a modern device never does.
 */
static void mmio_test_expect_page_size_after_resets(struct kunit *test,
						    struct fake_mmio_dev *fdev,
						    unsigned int from,
						    unsigned int to,
						    unsigned int resets)
{
	unsigned int n = 0;
	int i = from;

	while ((i = fake_mmio_log_find(fdev, i, true, VIRTIO_MMIO_STATUS,
				       0)) >= 0 && i < (int)to) {
		if (fdev->version == 1)
			KUNIT_EXPECT_EQ_MSG(test,
					    fake_mmio_log_find(fdev, i, true,
							       VIRTIO_MMIO_GUEST_PAGE_SIZE,
							       PAGE_SIZE),
					    i + 1, "reset %u", n);
		n++;
		i++;
	}
	KUNIT_EXPECT_EQ(test, n, resets);
	if (fdev->version != 1)
		KUNIT_EXPECT_EQ(test, fake_mmio_log_count(fdev, from, to, true,
							  VIRTIO_MMIO_GUEST_PAGE_SIZE),
				0);
}

/**
 * mmio_test_ram_in_bus_window - whether a bus offset can reach all RAM
 *
 * Return: true if all directly mapped RAM lies below
 * %FAKE_MMIO_BUS_WINDOW, the part of RAM a bus offset applies to.
 */
static bool mmio_test_ram_in_bus_window(void)
{
	return virt_to_phys(high_memory - 1) < FAKE_MMIO_BUS_WINDOW;
}

static const struct mmio_test_param mmio_test_versions[] = {
	{ .version = 1, .desc = "legacy (version 1)" },
	{ .version = 2, .desc = "modern (version 2)" },
};

KUNIT_ARRAY_PARAM_DESC(mmio_test_version, mmio_test_versions, desc);

static const struct mmio_test_param mmio_test_cycles[] = {
	{ 1, MMIO_TEST_SUSPEND, "legacy, suspend/resume" },
	{ 1, MMIO_TEST_THAW, "legacy, freeze/thaw" },
	{ 1, MMIO_TEST_RESTORE, "legacy, poweroff/restore" },
	{ 2, MMIO_TEST_SUSPEND, "modern, suspend/resume" },
	{ 2, MMIO_TEST_THAW, "modern, freeze/thaw" },
	{ 2, MMIO_TEST_RESTORE, "modern, poweroff/restore" },
};

KUNIT_ARRAY_PARAM_DESC(mmio_test_cycle, mmio_test_cycles, desc);

/* Probe programs each named queue by its index, with the exact writes. */
static void probe_programs_queues_by_index(struct kunit *test)
{
	const struct mmio_test_param *param = test->param_value;
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_seq *exp;
	unsigned int end;

	exp = kunit_kzalloc(test, sizeof(*exp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp);
	end = fake_mmio_log_len(ctx->fdev);

	/* The unnamed entry gets no queue; the next one gets index 1. */
	KUNIT_ASSERT_NOT_NULL(test, ctx->vqs[0]);
	KUNIT_EXPECT_NULL(test, ctx->vqs[1]);
	KUNIT_ASSERT_NOT_NULL(test, ctx->vqs[2]);
	KUNIT_EXPECT_EQ(test, ctx->vqs[0]->index, 0);
	KUNIT_EXPECT_EQ(test, ctx->vqs[2]->index, 1);

	mmio_test_seq_queues(exp, ctx);
	mmio_test_expect_writes(test, ctx->fdev, 0, end,
				mmio_test_is_queue_reg, exp, "queue setup");

	/* Each queue was checked to be unused and sized from NUM_MAX. */
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, 0, end, false,
						  VIRTIO_MMIO_QUEUE_NUM_MAX),
			2);
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, 0, end, false,
						  param->version == 1 ?
						  VIRTIO_MMIO_QUEUE_PFN :
						  VIRTIO_MMIO_QUEUE_READY),
			2);
	KUNIT_EXPECT_EQ(test, fake_mmio_get_status(ctx->fdev),
			mmio_test_ready_status(param->version));
	/* The reset of the registration gave a legacy device its page size. */
	mmio_test_expect_page_size_after_resets(test, ctx->fdev, 0, end, 1);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
	KUNIT_EXPECT_EQ(test, ctx->fdev->log_dropped, 0);
}

/*
 * A full transition with a noirq driver: resume_noirq resets once, gives a
 * legacy device its page size again (lost with the power in suspend to RAM
 * and power off) and reprograms each queue by index; no other phase writes
 * anything.
 */
static void noirq_cycle_reprograms_queues_by_index(struct kunit *test)
{
	const struct mmio_test_param *param = test->param_value;
	struct mmio_test_ctx *ctx = test->priv;
	struct fake_mmio_dev *fdev = ctx->fdev;
	struct mmio_test_run run = { };
	struct mmio_test_seq *exp;

	exp = kunit_kzalloc(test, sizeof(*exp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp);

	mmio_test_cycle(ctx, param->cycle, &run);
	KUNIT_EXPECT_EQ(test, run.ret[0], 0);
	KUNIT_EXPECT_EQ(test, run.ret[1], 0);
	KUNIT_EXPECT_EQ(test, run.ret[2], 0);
	KUNIT_EXPECT_EQ(test, run.ret[3], 0);

	/* Going down only reads the status; suspend_noirq touches nothing. */
	KUNIT_EXPECT_EQ(test, run.mark[1] - run.mark[0], 1);
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(fdev, run.mark[0],
						  run.mark[1], false,
						  VIRTIO_MMIO_STATUS), 1);
	KUNIT_EXPECT_EQ(test, run.mark[2], run.mark[1]);

	/* resume_noirq: vm_reset, bring-up, vm_reset_vqs, DRIVER_OK. */
	mmio_test_seq_reset(exp, param->version);
	mmio_test_seq_bringup(exp, fdev);
	mmio_test_seq_queues(exp, ctx);
	mmio_test_seq_add(exp, VIRTIO_MMIO_STATUS,
			  mmio_test_ready_status(param->version));
	mmio_test_expect_writes(test, fdev, run.mark[2], run.mark[3], NULL,
				exp, "resume_noirq");

	/* resume: no reset, no write at all; the device is live already. */
	KUNIT_EXPECT_EQ(test, fake_mmio_log_writes(fdev, run.mark[3],
						   run.mark[4], NULL, 0), 0);
	mmio_test_expect_page_size_after_resets(test, fdev, run.mark[0],
						run.mark[4], 1);
	KUNIT_EXPECT_EQ(test, ctx->status_at_restore,
			mmio_test_ready_status(param->version));
	KUNIT_EXPECT_EQ(test, fake_mmio_get_status(fdev),
			mmio_test_ready_status(param->version));
	KUNIT_EXPECT_EQ(test, fdev->guest_page_size,
			param->version == 1 ? PAGE_SIZE : 0);

	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_FREEZE], 1);
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_FREEZE_NOIRQ], 1);
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_RESTORE_NOIRQ], 1);
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_RESTORE_CB], 1);
	KUNIT_EXPECT_TRUE(test, ctx->restore_noirq_irqs_off);
	KUNIT_EXPECT_EQ(test, fdev->errors, 0);
	KUNIT_EXPECT_EQ(test, fdev->log_dropped, 0);
}

/* The rings handed back at restore are the ones programmed at probe. */
static void noirq_restore_reuses_ring_memory(struct kunit *test)
{
	struct fake_mmio_queue before[MMIO_TEST_DEV_QUEUES];
	struct fake_mmio_queue after[MMIO_TEST_DEV_QUEUES];
	struct virtqueue *vqs[MMIO_TEST_NVQS];
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };
	unsigned int i;

	memcpy(vqs, ctx->vqs, sizeof(vqs));
	for (i = 0; i < MMIO_TEST_DEV_QUEUES; i++)
		fake_mmio_get_queue(ctx->fdev, i, &before[i]);

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_ASSERT_EQ(test, run.ret[2], 0);

	for (i = 0; i < MMIO_TEST_NVQS; i++)
		KUNIT_EXPECT_PTR_EQ(test, ctx->vqs[i], vqs[i]);

	for (i = 0; i < MMIO_TEST_DEV_QUEUES; i++) {
		fake_mmio_get_queue(ctx->fdev, i, &after[i]);
		KUNIT_EXPECT_NE(test, after[i].num, 0);
		KUNIT_EXPECT_EQ(test, after[i].num, before[i].num);
		KUNIT_EXPECT_EQ(test, after[i].pfn, before[i].pfn);
		KUNIT_EXPECT_EQ(test, after[i].desc, before[i].desc);
		KUNIT_EXPECT_EQ(test, after[i].avail, before[i].avail);
		KUNIT_EXPECT_EQ(test, after[i].used, before[i].used);
		KUNIT_EXPECT_EQ(test, after[i].ready, before[i].ready);
	}
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

/**
 * mmio_test_expect_one_irq - the handler ran once, after restore_noirq
 * @ctx: the test context, after a suspend/resume transition
 * @run: the transition
 *
 * Nothing in restore_noirq read or acknowledged an interrupt. The buffers
 * the device used meanwhile left the line raised, so once resume_noirq
 * unmasked it the handler ran, exactly once, and acknowledged them; the
 * line is low again.
 */
static void mmio_test_expect_one_irq(struct mmio_test_ctx *ctx,
				     const struct mmio_test_run *run)
{
	struct kunit *test = ctx->test;
	int ack;

	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, run->mark[0],
						  ctx->restore_noirq_end, false,
						  VIRTIO_MMIO_INTERRUPT_STATUS),
			0);
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev,
						  ctx->restore_noirq_end,
						  run->mark[3], false,
						  VIRTIO_MMIO_INTERRUPT_STATUS),
			1);
	ack = fake_mmio_log_find(ctx->fdev, ctx->restore_noirq_end, true,
				 VIRTIO_MMIO_INTERRUPT_ACK,
				 VIRTIO_MMIO_INT_VRING);
	KUNIT_EXPECT_GE(test, ack, 0);
	KUNIT_EXPECT_LT(test, ack, (int)run->mark[3]);
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, run->mark[3],
						  run->mark[4], false,
						  VIRTIO_MMIO_INTERRUPT_STATUS),
			0);
	KUNIT_EXPECT_FALSE(test, fake_mmio_irq_line(ctx->fdev));
}

/*
 * restore_noirq moves a buffer by polling, with no interrupt: the device
 * uses it only some ticks after the kick, so the poll loop has to go round
 * several times. The used buffer left the level-triggered line raised;
 * when interrupts come back the handler runs once and finds nothing, so
 * the polled buffer is not handed to the callback a second time.
 */
static void noirq_restore_polls_buffer_without_irq(struct kunit *test)
{
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };
	struct fake_mmio_queue q;
	int notify;

	ctx->poll_in_restore_noirq = true;

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_EXPECT_EQ(test, run.ret[2], 0);
	KUNIT_EXPECT_EQ(test, run.ret[3], 0);
	KUNIT_EXPECT_EQ(test, ctx->restore_noirq_len, MMIO_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, ctx->restore_noirq_polls,
			FAKE_MMIO_COMPLETE_TICKS);
	KUNIT_EXPECT_EQ(test, ctx->buf[0], FAKE_MMIO_FILL);
	KUNIT_EXPECT_EQ(test, ctx->buf[MMIO_TEST_BUF_SIZE - 1], FAKE_MMIO_FILL);

	/* The device saw the kick for queue index 1, after DRIVER_OK. */
	notify = fake_mmio_log_find(ctx->fdev, run.mark[2], true,
				    VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	KUNIT_EXPECT_GE(test, notify, 0);
	KUNIT_EXPECT_GE(test, notify,
			fake_mmio_log_find(ctx->fdev, run.mark[2], true,
					   VIRTIO_MMIO_STATUS,
					   mmio_test_ready_status(ctx->fdev->version)));
	KUNIT_EXPECT_LT(test, notify, (int)ctx->restore_noirq_end);
	fake_mmio_get_queue(ctx->fdev, 1, &q);
	KUNIT_EXPECT_EQ(test, q.completed, 1);
	fake_mmio_get_queue(ctx->fdev, 0, &q);
	KUNIT_EXPECT_EQ(test, q.completed, 0);

	mmio_test_expect_one_irq(ctx, &run);
	KUNIT_EXPECT_EQ(test, ctx->cb_bufs, 0);
	KUNIT_EXPECT_TRUE(test, ctx->restore_noirq_irqs_off);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

/*
 * A buffer the device uses while the driver polls another queue in the
 * noirq phase raises the line, which stays raised while device interrupts
 * are off. When they come back the handler runs once: the callback gets
 * that buffer once, the polled one is not handed out again, and the
 * handler never finds INTERRUPT_STATUS empty (it would return IRQ_NONE,
 * which counts towards "nobody cared").
 */
static void noirq_used_buffer_interrupts_when_irqs_return(struct kunit *test)
{
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };
	unsigned int from, len;

	ctx->poll_in_restore_noirq = true;
	ctx->post_in_restore_noirq = true;
	from = fake_mmio_log_len(ctx->fdev);

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_EXPECT_EQ(test, run.ret[2], 0);
	KUNIT_EXPECT_EQ(test, run.ret[3], 0);
	KUNIT_EXPECT_EQ(test, ctx->restore_noirq_len, MMIO_TEST_BUF_SIZE);

	mmio_test_expect_one_irq(ctx, &run);
	KUNIT_EXPECT_EQ(test, ctx->cb_calls, 1);
	KUNIT_EXPECT_EQ(test, ctx->cb_bufs, 1);
	KUNIT_EXPECT_PTR_EQ(test, ctx->cb_token, (void *)ctx->buf2);
	KUNIT_EXPECT_EQ(test, ctx->cb_len, MMIO_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, ctx->buf2[0], FAKE_MMIO_FILL);
	KUNIT_ASSERT_EQ(test, ctx->fdev->log_dropped, 0);
	KUNIT_EXPECT_EQ(test,
			fake_mmio_log_find(ctx->fdev, from, false,
					   VIRTIO_MMIO_INTERRUPT_STATUS, 0),
			-ENOENT);

	/* Nothing is left on either queue. */
	KUNIT_EXPECT_NULL(test, virtqueue_get_buf(ctx->vqs[0], &len));
	KUNIT_EXPECT_NULL(test, virtqueue_get_buf(mmio_test_last_vq(ctx), &len));
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

/*
 * After a noirq restore both queues move buffers, interrupt driven. Each
 * queue moved a buffer before the suspend too, so its indices are past 0;
 * the reset device starts again at 0, and so must the re-initialised ring:
 * the device consumes exactly the one new buffer on each queue.
 */
static void queues_move_buffers_after_noirq_restore(struct kunit *test)
{
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };
	struct fake_mmio_queue q;
	unsigned int i;

	for (i = 0; i < MMIO_TEST_NVQS; i++) {
		if (!ctx->vqs[i])
			continue;
		KUNIT_ASSERT_EQ(test, mmio_test_irq_buffer(ctx, ctx->vqs[i]),
				MMIO_TEST_BUF_SIZE);
	}

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_ASSERT_EQ(test, run.ret[2], 0);
	KUNIT_ASSERT_EQ(test, run.ret[3], 0);

	for (i = 0; i < MMIO_TEST_NVQS; i++) {
		unsigned int mark = fake_mmio_log_len(ctx->fdev);
		struct virtqueue *vq = ctx->vqs[i];

		if (!vq)
			continue;

		ctx->cb_bufs = 0;
		KUNIT_EXPECT_EQ(test, mmio_test_irq_buffer(ctx, vq),
				MMIO_TEST_BUF_SIZE);
		KUNIT_EXPECT_EQ(test, ctx->cb_bufs, 1);
		KUNIT_EXPECT_EQ(test, ctx->buf[0], FAKE_MMIO_FILL);
		KUNIT_EXPECT_GE(test, fake_mmio_log_find(ctx->fdev, mark, true,
							 VIRTIO_MMIO_QUEUE_NOTIFY,
							 vq->index), 0);
		/* The interrupt handler read and acknowledged the interrupt. */
		KUNIT_EXPECT_GE(test,
				fake_mmio_log_find(ctx->fdev, mark, true,
						   VIRTIO_MMIO_INTERRUPT_ACK,
						   VIRTIO_MMIO_INT_VRING), 0);
		fake_mmio_get_queue(ctx->fdev, vq->index, &q);
		KUNIT_EXPECT_EQ(test, q.last_avail, 1);
		KUNIT_EXPECT_EQ(test, q.used_idx, 1);
	}
	KUNIT_EXPECT_FALSE(test, fake_mmio_irq_line(ctx->fdev));
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

/**
 * mmio_test_expect_noirq_restore_failed - check a failed noirq restore
 * @ctx: the test context
 * @run: the suspend/resume transition
 * @err: the error resume_noirq was to return
 *
 * Suspend went well, resume_noirq failed with @err and resume with -EIO,
 * FAILED is set, the driver's restore_noirq never ran, and the queues
 * refuse a new buffer at once.
 */
static void mmio_test_expect_noirq_restore_failed(struct mmio_test_ctx *ctx,
						  const struct mmio_test_run *run,
						  int err)
{
	struct kunit *test = ctx->test;
	struct virtqueue *vq = mmio_test_last_vq(ctx);
	struct scatterlist sg;

	KUNIT_EXPECT_EQ(test, run->ret[0], 0);
	KUNIT_EXPECT_EQ(test, run->ret[1], 0);
	KUNIT_EXPECT_EQ(test, run->ret[2], err);
	KUNIT_EXPECT_EQ(test, run->ret[3], -EIO);
	KUNIT_EXPECT_TRUE(test, fake_mmio_get_status(ctx->fdev) &
			  VIRTIO_CONFIG_S_FAILED);
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_RESTORE_NOIRQ], 0);
	KUNIT_EXPECT_TRUE(test, virtqueue_is_broken(vq));
	sg_init_one(&sg, ctx->buf, MMIO_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, virtqueue_add_inbuf(vq, &sg, 1, ctx->buf,
						  GFP_KERNEL), -EIO);
}

/*
 * A device that does not keep FEATURES_OK: the noirq restore of a modern
 * device fails with -ENODEV and FAILED, resume then fails with -EIO.
 * Legacy devices have no FEATURES_OK step, so theirs succeeds.
 */
static void features_ok_dropped_fails_noirq_restore(struct kunit *test)
{
	const struct mmio_test_param *param = test->param_value;
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };
	u32 status;

	fake_mmio_set_drop_features_ok(ctx->fdev, true);

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_EXPECT_EQ(test, run.ret[0], 0);
	KUNIT_EXPECT_EQ(test, run.ret[1], 0);
	status = fake_mmio_get_status(ctx->fdev);

	if (param->version == 1) {
		KUNIT_EXPECT_EQ(test, run.ret[2], 0);
		KUNIT_EXPECT_EQ(test, run.ret[3], 0);
		KUNIT_EXPECT_EQ(test, status, mmio_test_ready_status(1));
		KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_RESTORE_NOIRQ], 1);
		return;
	}

	mmio_test_expect_noirq_restore_failed(ctx, &run, -ENODEV);
	KUNIT_EXPECT_FALSE(test, status & VIRTIO_CONFIG_S_DRIVER_OK);
	/* Neither the queues nor the driver were touched after the refusal. */
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, run.mark[2],
						  run.mark[4], true,
						  VIRTIO_MMIO_QUEUE_SEL), 0);
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_RESTORE_CB], 0);
	/* resume did not reset the device again. */
	KUNIT_EXPECT_EQ(test, fake_mmio_log_find(ctx->fdev, run.mark[3], true,
						 VIRTIO_MMIO_STATUS, 0),
			-ENOENT);
}

/* A configuration space with every byte changed. */
static const u8 mmio_test_new_config[FAKE_MMIO_CONFIG_SIZE] = {
	0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
};

/**
 * mmio_test_change_config - &mmio_test_ctx.after_suspend: change the config
 * @ctx: the test context
 *
 * The device changes its configuration space at once and interrupts.
 */
static void mmio_test_change_config(struct mmio_test_ctx *ctx)
{
	fake_mmio_change_config(ctx->fdev, mmio_test_new_config, 0);
}

/*
 * A config change interrupt after the driver's freeze: the handler runs
 * while config delivery is off, so the change waits; restore_noirq sets
 * DRIVER_OK and the noirq config enable delivers it, exactly once, in
 * resume_noirq; resume does not deliver it again.
 */
static void config_change_while_suspended_delivered_once(struct kunit *test)
{
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };

	ctx->after_suspend = mmio_test_change_config;
	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_EXPECT_EQ(test, run.ret[0], 0);
	KUNIT_EXPECT_EQ(test, run.ret[2], 0);
	KUNIT_EXPECT_EQ(test, run.ret[3], 0);

	/* The interrupt came and was acknowledged before suspend_noirq. */
	KUNIT_EXPECT_GE(test, fake_mmio_log_find(ctx->fdev, run.mark[0], true,
						 VIRTIO_MMIO_INTERRUPT_ACK,
						 VIRTIO_MMIO_INT_CONFIG |
						 VIRTIO_MMIO_INT_VRING), 0);
	KUNIT_EXPECT_LT(test, fake_mmio_log_find(ctx->fdev, run.mark[0], true,
						 VIRTIO_MMIO_INTERRUPT_ACK,
						 VIRTIO_MMIO_INT_CONFIG |
						 VIRTIO_MMIO_INT_VRING),
			(int)run.mark[1]);

	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_CONFIG_CHANGED], 1);
	KUNIT_EXPECT_GT(test, ctx->config_changed_at, run.mark[2]);
	KUNIT_EXPECT_LE(test, ctx->config_changed_at, run.mark[3]);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

/* Without noirq callbacks, suspend_noirq and resume_noirq touch nothing. */
static void plain_driver_noirq_phases_do_nothing(struct kunit *test)
{
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);

	KUNIT_EXPECT_EQ(test, run.ret[1], 0);
	KUNIT_EXPECT_EQ(test, run.ret[2], 0);
	KUNIT_EXPECT_EQ(test, run.mark[2], run.mark[1]);
	KUNIT_EXPECT_EQ(test, run.mark[3], run.mark[2]);
	/* freeze tore the queues down, resume set them up again. */
	KUNIT_EXPECT_GT(test, run.mark[1], run.mark[0]);
	KUNIT_EXPECT_GT(test, run.mark[4], run.mark[3]);
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_FREEZE], 1);
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_RESTORE_CB], 1);
}

/*
 * Without noirq callbacks the normal restore re-inits fully, with today's
 * exact writes: reset, bring-up, then the driver's queue setup, DRIVER_OK.
 */
static void plain_driver_restore_reinits_fully(struct kunit *test)
{
	const struct mmio_test_param *param = test->param_value;
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };
	struct mmio_test_seq *exp;

	exp = kunit_kzalloc(test, sizeof(*exp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp);

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_ASSERT_EQ(test, run.ret[0], 0);
	KUNIT_ASSERT_EQ(test, run.ret[3], 0);
	KUNIT_ASSERT_EQ(test, ctx->probe_err, 0);

	mmio_test_seq_reset(exp, param->version);
	mmio_test_seq_bringup(exp, ctx->fdev);
	mmio_test_seq_queues(exp, ctx);
	mmio_test_seq_add(exp, VIRTIO_MMIO_STATUS,
			  mmio_test_ready_status(param->version));
	mmio_test_expect_writes(test, ctx->fdev, run.mark[3], run.mark[4],
				NULL, exp, "resume");

	/*
	 * One reset in freeze (the driver's), one in the core's restore, each
	 * followed by the legacy page size.
	 */
	mmio_test_expect_page_size_after_resets(test, ctx->fdev, run.mark[0],
						run.mark[4], 2);
	KUNIT_EXPECT_EQ(test, ctx->fdev->guest_page_size,
			param->version == 1 ? PAGE_SIZE : 0);
	KUNIT_EXPECT_EQ(test, ctx->status_at_restore,
			mmio_test_ready_status(param->version) &
			~VIRTIO_CONFIG_S_DRIVER_OK);
	KUNIT_EXPECT_EQ(test, fake_mmio_get_status(ctx->fdev),
			mmio_test_ready_status(param->version));

	/* The queue set up by restore works. */
	KUNIT_EXPECT_EQ(test, mmio_test_irq_buffer(ctx, mmio_test_last_vq(ctx)),
			MMIO_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

/**
 * mmio_test_config_value - a 64-bit field of a configuration space
 * @config: the configuration space, little endian
 *
 * Return: the field at offset 0.
 */
static u64 mmio_test_config_value(const u8 config[FAKE_MMIO_CONFIG_SIZE])
{
	u64 val = 0;
	int i;

	for (i = FAKE_MMIO_CONFIG_SIZE - 1; i >= 0; i--)
		val = val << 8 | config[i];
	return val;
}

/*
 * A config change raises the level-triggered line with INT_CONFIG: the
 * handler acknowledges it and the driver's config_changed runs once; a
 * modern device bumps CONFIG_GENERATION by one. The driver then reads the
 * new value.
 */
static void config_change_interrupt_bumps_generation(struct kunit *test)
{
	const struct mmio_test_param *param = test->param_value;
	struct mmio_test_ctx *ctx = test->priv;
	u32 generation = ctx->fdev->config_generation;
	unsigned int mark = fake_mmio_log_len(ctx->fdev);

	fake_mmio_change_config(ctx->fdev, mmio_test_new_config, 0);

	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_CONFIG_CHANGED], 1);
	KUNIT_EXPECT_GE(test, fake_mmio_log_find(ctx->fdev, mark, true,
						 VIRTIO_MMIO_INTERRUPT_ACK,
						 VIRTIO_MMIO_INT_CONFIG |
						 VIRTIO_MMIO_INT_VRING), 0);
	KUNIT_EXPECT_FALSE(test, fake_mmio_irq_line(ctx->fdev));
	KUNIT_EXPECT_EQ(test, ctx->fdev->config_generation, generation + 1);
	KUNIT_EXPECT_EQ(test, virtio_cread64(ctx->vdev, 0),
			mmio_test_config_value(mmio_test_new_config));
	/* Only a modern device has the register; legacy reads none. */
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, mark, UINT_MAX,
						  false,
						  VIRTIO_MMIO_CONFIG_GENERATION) > 0,
			param->version != 1);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

/*
 * A config change that lands between the two halves of a 64-bit read:
 * CONFIG_GENERATION changed, so the driver reads the field again and gets
 * the new value whole, never half old and half new. The interrupt of the
 * change then reaches the driver once.
 */
static void config_read_retries_on_generation_change(struct kunit *test)
{
	struct mmio_test_ctx *ctx = test->priv;
	unsigned int mark = fake_mmio_log_len(ctx->fdev);

	fake_mmio_change_config(ctx->fdev, mmio_test_new_config, 2);
	KUNIT_EXPECT_EQ(test, virtio_cread64(ctx->vdev, 0),
			mmio_test_config_value(mmio_test_new_config));
	/* Each half twice: the first round was thrown away. */
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, mark, UINT_MAX,
						  false, VIRTIO_MMIO_CONFIG),
			2);
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, mark, UINT_MAX,
						  false, VIRTIO_MMIO_CONFIG + 4),
			2);

	/* The line went up during the read; the CPU takes it now. */
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_CONFIG_CHANGED], 0);
	KUNIT_EXPECT_TRUE(test, fake_mmio_irq_line(ctx->fdev));
	fake_mmio_tick(ctx->fdev);
	KUNIT_EXPECT_EQ(test, ctx->calls[MMIO_TEST_CONFIG_CHANGED], 1);
	KUNIT_EXPECT_FALSE(test, fake_mmio_irq_line(ctx->fdev));
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

#if IS_ENABLED(CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST)
/*
 * Series extras: the number of register accesses per restore is this
 * series' own figure, not part of the noirq contract.
 */

/**
 * mmio_test_count_one - accesses of the resume phases of one transition
 * @test: the test
 * @ctx: the test context, with a driver bound
 * @noirq: count resume_noirq (true) or resume (false)
 *
 * Return: the number of register accesses in that phase.
 */
static unsigned int mmio_test_count_one(struct kunit *test,
					struct mmio_test_ctx *ctx, bool noirq)
{
	struct mmio_test_run run = { };

	KUNIT_ASSERT_EQ(test, ctx->probe_err, 0);
	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_EXPECT_EQ(test, run.ret[2], 0);
	KUNIT_EXPECT_EQ(test, run.ret[3], 0);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);

	return noirq ? run.mark[3] - run.mark[2] : run.mark[4] - run.mark[3];
}

/*
 * Register accesses per restore: noirq (fixed part and per queue, from a
 * one- and a two-queue device) and normal, printed and checked.
 */
static void restore_access_counts(struct kunit *test)
{
	const struct mmio_test_param *param = test->param_value;
	struct fake_mmio_config cfg = { .version = param->version };
	struct mmio_test_ctx *noirq[2], *plain[2];
	unsigned int n_noirq[2], n_plain[2];
	unsigned int fixed, per_queue, exp_fixed, exp_per_queue;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		cfg.num_queues = 0;
		noirq[i] = mmio_test_new_dev(test, &cfg,
					     &mmio_test_noirq_driver, i + 1);
		cfg.num_queues = 0;
		plain[i] = mmio_test_new_dev(test, &cfg,
					     &mmio_test_plain_driver, i + 1);
	}
	mmio_test_register(test, &mmio_test_noirq_driver);
	mmio_test_register(test, &mmio_test_plain_driver);

	for (i = 0; i < 2; i++) {
		n_noirq[i] = mmio_test_count_one(test, noirq[i], true);
		n_plain[i] = mmio_test_count_one(test, plain[i], false);
	}

	per_queue = n_noirq[1] - n_noirq[0];
	fixed = n_noirq[0] - per_queue;
	kunit_info(test,
		   "v%u restore_noirq: %u accesses fixed + %u per queue (1 queue: %u, 2 queues: %u)\n",
		   param->version, fixed, per_queue, n_noirq[0], n_noirq[1]);
	kunit_info(test,
		   "v%u normal restore: %u accesses fixed + %u per queue (1 queue: %u, 2 queues: %u)\n",
		   param->version, n_plain[0] - (n_plain[1] - n_plain[0]),
		   n_plain[1] - n_plain[0], n_plain[0], n_plain[1]);

	/*
	 * Fixed: reset (STATUS, legacy also GUEST_PAGE_SIZE), ACKNOWLEDGE and
	 * DRIVER (read-modify-write each), four feature writes, FEATURES_OK
	 * with its read-back (modern), DRIVER_OK by the driver
	 * (read-modify-write), the core's final status read.
	 * Per queue: QUEUE_SEL, the two checks of setup (queue not live,
	 * QUEUE_NUM_MAX), QUEUE_NUM, then QUEUE_ALIGN and QUEUE_PFN, or six
	 * ring address halves and QUEUE_READY.
	 */
	if (param->version == 1) {
		exp_fixed = 2 + 2 + 2 + 4 + 0 + 2 + 1;
		exp_per_queue = 1 + 2 + 1 + 2;
	} else {
		exp_fixed = 1 + 2 + 2 + 4 + 3 + 2 + 1;
		exp_per_queue = 1 + 2 + 1 + 6 + 1;
	}
	KUNIT_EXPECT_EQ(test, fixed, exp_fixed);
	KUNIT_EXPECT_EQ(test, per_queue, exp_per_queue);
	/* The normal restore makes the same checks when it sets up a queue. */
	KUNIT_EXPECT_EQ(test, n_plain[1] - n_plain[0], exp_per_queue);
}
#endif /* CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST */

/*
 * A legacy ring cannot be above 2^(32 + PAGE_SHIFT). The platform hands
 * out rings above that window: all RAM is behind a bus offset of 2^44 and
 * the coherent DMA mask is widened to 64 bits after virtio-mmio set it
 * (the legacy device offers VIRTIO_F_ACCESS_PLATFORM, so the rings come
 * from the DMA API). Queue setup then fails with -E2BIG and no truncated
 * PFN is ever programmed; probe fails, the device is left FAILED and no
 * queue is left behind. A modern device takes the 64-bit addresses and
 * moves buffers.
 */
static void legacy_ring_above_pfn_limit_never_programmed(struct kunit *test)
{
	const struct mmio_test_param *param = test->param_value;
	struct fake_mmio_config cfg = {
		.version = param->version,
		.bus_offset = MMIO_TEST_PFN_LIMIT,
	};
	struct fake_mmio_access w[16];
	struct mmio_test_ctx *ctx;
	struct device *dma_dev;
	unsigned int n, i;

	if (!mmio_test_ram_in_bus_window())
		kunit_skip(test, "RAM above the bus window of the emulated device");

	ctx = mmio_test_new_dev(test, &cfg, &mmio_test_noirq_driver, 2);
	dma_dev = &ctx->fdev->pdev->dev;
	KUNIT_ASSERT_EQ(test, dma_set_coherent_mask(dma_dev, DMA_BIT_MASK(64)),
			0);
	fake_mmio_log_clear(ctx->fdev);
	mmio_test_register(test, &mmio_test_noirq_driver);

	if (param->version != 1) {
		KUNIT_ASSERT_EQ(test, ctx->probe_err, 0);
		KUNIT_EXPECT_GE(test, virtqueue_get_desc_addr(ctx->vqs[0]),
				MMIO_TEST_PFN_LIMIT);
		KUNIT_EXPECT_EQ(test,
				mmio_test_irq_buffer(ctx, mmio_test_last_vq(ctx)),
				MMIO_TEST_BUF_SIZE);
		KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
		return;
	}

	KUNIT_EXPECT_EQ(test, ctx->probe_err, -E2BIG);
	KUNIT_EXPECT_NULL(test, ctx->vdev->dev.driver);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->vdev->vqs));
	KUNIT_EXPECT_TRUE(test,
			  fake_mmio_get_status(ctx->fdev) & VIRTIO_CONFIG_S_FAILED);

	/* The only QUEUE_PFN write is the 0 of the error path. */
	n = fake_mmio_log_writes(ctx->fdev, 0, UINT_MAX, w, ARRAY_SIZE(w));
	KUNIT_EXPECT_LE(test, n, ARRAY_SIZE(w));
	for (i = 0; i < min_t(unsigned int, n, ARRAY_SIZE(w)); i++) {
		if (w[i].offset == VIRTIO_MMIO_QUEUE_PFN)
			KUNIT_EXPECT_EQ(test, w[i].value, 0);
		KUNIT_EXPECT_NE(test, w[i].offset, VIRTIO_MMIO_QUEUE_ALIGN);
	}
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, 0, UINT_MAX, true,
						  VIRTIO_MMIO_QUEUE_PFN), 1);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

/*
 * A legacy ring just below 2^(32 + PAGE_SHIFT) passes the PFN check, at
 * probe and at noirq restore, with a PFN that uses all 32 bits.
 */
static void legacy_pfn_top_of_range_restores(struct kunit *test)
{
	struct fake_mmio_config cfg = {
		.version = 1,
		.bus_offset = MMIO_TEST_PFN_LIMIT - FAKE_MMIO_BUS_WINDOW,
	};
	struct mmio_test_run run = { };
	struct fake_mmio_queue before, after;
	struct mmio_test_ctx *ctx;

	if (!mmio_test_ram_in_bus_window())
		kunit_skip(test, "RAM above the bus window of the emulated device");

	ctx = mmio_test_new_dev(test, &cfg, &mmio_test_noirq_driver, 2);
	mmio_test_register(test, &mmio_test_noirq_driver);
	KUNIT_ASSERT_EQ(test, ctx->probe_err, 0);
	ctx->poll_in_restore_noirq = true;

	fake_mmio_get_queue(ctx->fdev, 1, &before);
	KUNIT_EXPECT_GE(test, before.pfn,
			(u32)((MMIO_TEST_PFN_LIMIT - FAKE_MMIO_BUS_WINDOW) >>
			      PAGE_SHIFT));
	KUNIT_EXPECT_EQ(test, (u64)before.pfn << PAGE_SHIFT,
			virtqueue_get_desc_addr(mmio_test_last_vq(ctx)));

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_EXPECT_EQ(test, run.ret[2], 0);
	KUNIT_EXPECT_EQ(test, ctx->restore_noirq_len, MMIO_TEST_BUF_SIZE);
	fake_mmio_get_queue(ctx->fdev, 1, &after);
	KUNIT_EXPECT_EQ(test, after.pfn, before.pfn);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

static const struct mmio_test_param mmio_test_v3[] = {
	{ .version = 3, .desc = "version 3" },
};

KUNIT_ARRAY_PARAM_DESC(mmio_test_v3, mmio_test_v3, desc);

/*
 * A version 3 device completes its reset only after a few STATUS reads:
 * every reset of a noirq cycle waits for it, and the cycle then works (a
 * buffer moves on the restored queue).
 */
static void v3_reset_is_waited_for(struct kunit *test)
{
	struct mmio_test_ctx *ctx = test->priv;
	struct mmio_test_run run = { };
	int reset, ack;

	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	KUNIT_EXPECT_EQ(test, run.ret[0], 0);
	KUNIT_EXPECT_EQ(test, run.ret[1], 0);
	KUNIT_EXPECT_EQ(test, run.ret[2], 0);
	KUNIT_EXPECT_EQ(test, run.ret[3], 0);
	KUNIT_EXPECT_EQ(test, fake_mmio_get_status(ctx->fdev),
			mmio_test_ready_status(3));

	/*
	 * The noirq restore read STATUS until the reset had completed, and
	 * only then wrote ACKNOWLEDGE on the cleared status.
	 */
	reset = fake_mmio_log_find(ctx->fdev, run.mark[2], true,
				   VIRTIO_MMIO_STATUS, 0);
	KUNIT_ASSERT_GE(test, reset, 0);
	ack = fake_mmio_log_find(ctx->fdev, reset, true, VIRTIO_MMIO_STATUS,
				 VIRTIO_CONFIG_S_ACKNOWLEDGE);
	KUNIT_ASSERT_GT(test, ack, reset);
	KUNIT_EXPECT_LE(test, ack, run.mark[3]);
	KUNIT_EXPECT_GE(test, fake_mmio_log_count(ctx->fdev, reset, ack, false,
						  VIRTIO_MMIO_STATUS),
			FAKE_MMIO_RESET_POLLS + 1);
	KUNIT_EXPECT_EQ(test, mmio_test_irq_buffer(ctx, mmio_test_last_vq(ctx)),
			MMIO_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, ctx->fdev->errors, 0);
}

#if IS_ENABLED(CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST)
/*
 * This series bounds the reset wait of a version 3 device: a device that
 * stops completing its reset makes the noirq restore give up (-EIO) instead
 * of hanging resume; FAILED is set, the driver's restore_noirq is not
 * called, its queues refuse new buffers, and resume fails with -EIO. (The
 * stuck device reads back its old status, so the status the driver writes
 * back is not checked beyond FAILED.) The device then recovers, so that
 * the driver can be unbound, which resets it.
 */
static void v3_reset_that_never_completes_fails_resume(struct kunit *test)
{
	struct mmio_test_ctx *ctx = mmio_test_setup(test,
						    &mmio_test_noirq_driver, 2);
	struct mmio_test_run run = { };

	fake_mmio_set_reset_polls(ctx->fdev, FAKE_MMIO_RESET_NEVER);
	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	mmio_test_expect_noirq_restore_failed(ctx, &run, -EIO);

	fake_mmio_set_reset_polls(ctx->fdev, FAKE_MMIO_RESET_POLLS);
}

/*
 * This series' vm_reset_vqs() checks a queue as setup does: a device that
 * comes back from the reset offering smaller queues than the rings it had
 * makes the noirq restore fail with -ENOENT before any queue is
 * programmed; FAILED is set and resume fails with -EIO.
 */
static void reset_vqs_refuses_smaller_queue(struct kunit *test)
{
	struct mmio_test_ctx *ctx = mmio_test_setup(test,
						    &mmio_test_noirq_driver, 2);
	struct mmio_test_run run = { };

	fake_mmio_set_num_max(ctx->fdev,
			      virtqueue_get_vring_size(mmio_test_last_vq(ctx)) / 2);
	mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
	mmio_test_expect_noirq_restore_failed(ctx, &run, -ENOENT);
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, run.mark[2],
						  run.mark[4], true,
						  VIRTIO_MMIO_QUEUE_NUM), 0);
}

/*
 * This series' virtqueue_reinit_vring() refuses a ring that still holds a
 * buffer (-EBUSY, warning once per boot), and vm_reset_vqs() passes the
 * refusal on: a buffer posted before suspend and never used by the device
 * makes the noirq restore fail with -EBUSY before any queue is programmed;
 * FAILED is set and resume fails with -EIO.
 */
static void reset_vqs_refuses_outstanding_buffer(struct kunit *test)
{
	struct mmio_test_ctx *ctx = mmio_test_setup(test,
						    &mmio_test_noirq_driver, 2);
	struct mmio_test_run run = { };

	KUNIT_ASSERT_EQ(test, mmio_test_post(ctx->vqs[0], ctx->buf2,
					     GFP_KERNEL), 0);
	kunit_warning_suppress(test) {
		mmio_test_cycle(ctx, MMIO_TEST_SUSPEND, &run);
		KUNIT_EXPECT_LE(test, KUNIT_SUPPRESSED_WARNING_COUNT(), 1);
	}
	mmio_test_expect_noirq_restore_failed(ctx, &run, -EBUSY);
	KUNIT_EXPECT_EQ(test, fake_mmio_log_count(ctx->fdev, run.mark[2],
						  run.mark[4], true,
						  VIRTIO_MMIO_QUEUE_NUM), 0);
	KUNIT_EXPECT_EQ(test, ctx->vqs[0]->num_free,
			virtqueue_get_vring_size(ctx->vqs[0]) - 1);
}
#endif /* CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST */

static const struct mmio_test_param mmio_test_legacy[] = {
	{ .version = 1, .desc = "legacy (version 1)" },
};

KUNIT_ARRAY_PARAM_DESC(mmio_test_legacy, mmio_test_legacy, desc);

static struct kunit_case virtio_mmio_probe_cases[] = {
	KUNIT_CASE_PARAM(probe_programs_queues_by_index,
			 mmio_test_version_gen_params),
	{ }
};

static struct kunit_suite virtio_mmio_probe_suite = {
	.name = "virtio_mmio_probe",
	.init = mmio_test_init_noirq,
	.test_cases = virtio_mmio_probe_cases,
};

static struct kunit_case virtio_mmio_noirq_cases[] = {
	KUNIT_CASE_PARAM(noirq_cycle_reprograms_queues_by_index,
			 mmio_test_cycle_gen_params),
	KUNIT_CASE_PARAM(noirq_restore_reuses_ring_memory,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(noirq_restore_polls_buffer_without_irq,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(noirq_used_buffer_interrupts_when_irqs_return,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(queues_move_buffers_after_noirq_restore,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(features_ok_dropped_fails_noirq_restore,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(config_change_while_suspended_delivered_once,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(v3_reset_is_waited_for, mmio_test_v3_gen_params),
	{ }
};

static struct kunit_suite virtio_mmio_noirq_suite = {
	.name = "virtio_mmio_noirq",
	.init = mmio_test_init_noirq,
	.test_cases = virtio_mmio_noirq_cases,
};

static struct kunit_case virtio_mmio_plain_cases[] = {
	KUNIT_CASE_PARAM(plain_driver_noirq_phases_do_nothing,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(plain_driver_restore_reinits_fully,
			 mmio_test_version_gen_params),
	{ }
};

static struct kunit_suite virtio_mmio_plain_suite = {
	.name = "virtio_mmio_plain",
	.init = mmio_test_init_plain,
	.test_cases = virtio_mmio_plain_cases,
};

static const struct mmio_test_param mmio_test_modern[] = {
	{ .version = 2, .desc = "modern (version 2)" },
	{ .version = 3, .desc = "version 3" },
};

KUNIT_ARRAY_PARAM_DESC(mmio_test_modern, mmio_test_modern, desc);

static struct kunit_case virtio_mmio_config_cases[] = {
	KUNIT_CASE_PARAM(config_change_interrupt_bumps_generation,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(config_read_retries_on_generation_change,
			 mmio_test_modern_gen_params),
	{ }
};

static struct kunit_suite virtio_mmio_config_suite = {
	.name = "virtio_mmio_config",
	.init = mmio_test_init_noirq,
	.test_cases = virtio_mmio_config_cases,
};

#if IS_ENABLED(CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST)
static struct kunit_case virtio_mmio_counts_cases[] = {
	KUNIT_CASE_PARAM(restore_access_counts, mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(reset_vqs_refuses_smaller_queue,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(reset_vqs_refuses_outstanding_buffer,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM_ATTR(v3_reset_that_never_completes_fails_resume,
			      mmio_test_v3_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	{ }
};

static struct kunit_suite virtio_mmio_extras_suite = {
	.name = "virtio_mmio_extras",
	.test_cases = virtio_mmio_counts_cases,
};

kunit_test_suite(virtio_mmio_extras_suite);
#endif /* CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST */

static struct kunit_case virtio_mmio_pfn_cases[] = {
	KUNIT_CASE_PARAM(legacy_ring_above_pfn_limit_never_programmed,
			 mmio_test_version_gen_params),
	KUNIT_CASE_PARAM(legacy_pfn_top_of_range_restores,
			 mmio_test_legacy_gen_params),
	{ }
};

static struct kunit_suite virtio_mmio_pfn_suite = {
	.name = "virtio_mmio_pfn",
	.test_cases = virtio_mmio_pfn_cases,
};

kunit_test_suites(&virtio_mmio_probe_suite, &virtio_mmio_noirq_suite,
		  &virtio_mmio_plain_suite, &virtio_mmio_pfn_suite,
		  &virtio_mmio_config_suite);

MODULE_DESCRIPTION("KUnit tests for the virtio-mmio transport");
MODULE_LICENSE("GPL");

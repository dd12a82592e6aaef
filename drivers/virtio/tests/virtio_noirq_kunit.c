// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the noirq system sleep PM paths of the virtio core.
 *
 * A fake driver is bound through the real virtio bus to a fake transport,
 * then the PM entry points are called in the orders the PM core uses (and
 * in the orders it uses when a suspend is aborted). The tests check what
 * the fake observed: every status write and reset, the driver callbacks
 * and their order, virtqueue re-initialisation, config change delivery,
 * return codes and &virtio_device.noirq_state.
 */

#include <kunit/test.h>
#include <linux/bitops.h>
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/panic.h>
#include <linux/scatterlist.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "fake_noirq.h"

/* An expected event, in an initialiser and as a value. */
#define EV(t, v)	FAKE_EV(FAKE_EV_##t, v)
#define EVV(t, v)	((struct fake_event)EV(t, v))

/**
 * struct noirq_env - a fake device with a fake driver bound to it
 * @fv: the fake device
 * @fd: the fake driver, bound
 */
struct noirq_env {
	struct fake_vdev *fv;
	struct fake_driver *fd;
};

/**
 * noirq_env_create() - a fake device with a fake driver bound to it
 * @test: the test
 * @ops: the transport flavour
 * @features: device features
 * @tmpl: the driver's callback table
 *
 * Both are torn down by the KUnit actions of fake_vdev_create() and
 * fake_driver_create().
 *
 * Return: the bound pair; logs and counters start cleared.
 */
static struct noirq_env noirq_env_create(struct kunit *test,
					 const struct virtio_config_ops *ops,
					 u64 features,
					 const struct virtio_driver *tmpl)
{
	struct noirq_env env;

	env.fv = fake_vdev_create(test, ops, features);
	env.fd = fake_driver_create(test, env.fv, tmpl);
	return env;
}

/**
 * bare_vdev() - a modern fake device on @ops with no driver bound
 * @test: the test
 * @ops: the transport flavour
 *
 * Return: the device, its logs cleared after the registration.
 */
static struct fake_vdev *bare_vdev(struct kunit *test,
				   const struct virtio_config_ops *ops)
{
	struct fake_vdev *fv = fake_vdev_create(test, ops,
						FAKE_FEATURES_MODERN);

	fake_vdev_clear_logs(fv);
	return fv;
}

/**
 * noirq_env_default() - the usual pair: noirq_safe transport, noirq driver
 * @test: the test
 *
 * Return: a modern device on &fake_noirq_ops with &fake_driver_noirq bound.
 */
static struct noirq_env noirq_env_default(struct kunit *test)
{
	return noirq_env_create(test, &fake_noirq_ops, FAKE_FEATURES_MODERN,
				&fake_driver_noirq);
}

/**
 * expect_calls() - check the driver's PM callback counts, the others zero
 * @test: the test
 * @fd: the fake driver
 * @freeze: expected freeze calls
 * @freeze_noirq: expected freeze_noirq calls
 * @restore_noirq: expected restore_noirq calls
 * @restore: expected restore calls
 */
static void expect_calls(struct kunit *test, const struct fake_driver *fd,
			 unsigned int freeze, unsigned int freeze_noirq,
			 unsigned int restore_noirq, unsigned int restore)
{
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_FREEZE], freeze);
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_FREEZE_NOIRQ], freeze_noirq);
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_RESTORE_NOIRQ],
			restore_noirq);
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_RESTORE], restore);
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_RESET_PREPARE], 0);
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_RESET_DONE], 0);
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_PROBE], 0);
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_REMOVE], 0);
}

/**
 * config_delivery_enabled() - raise a config change and see it delivered
 * @fd: the fake driver
 *
 * Return: true if the change reached the driver's config_changed at once.
 */
static bool config_delivery_enabled(struct fake_driver *fd)
{
	unsigned int before = fd->calls[FAKE_DRV_CONFIG_CHANGED];

	virtio_config_changed(&fd->fv->vdev);
	return fd->calls[FAKE_DRV_CONFIG_CHANGED] == before + 1;
}

/**
 * expect_vqs_refuse_buffers() - check that the driver's virtqueues are broken
 * @test: the test
 * @fd: the fake driver, with at least one virtqueue
 *
 * A broken device: each of the driver's virtqueues reports it, and refuses
 * a new buffer at once with -EIO instead of queueing it for a device that
 * will not answer.
 */
static void expect_vqs_refuse_buffers(struct kunit *test,
				      const struct fake_driver *fd)
{
	struct scatterlist sg;
	unsigned int i, n = 0;
	u8 *buf = kunit_kzalloc(test, 16, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	sg_init_one(&sg, buf, 16);
	for (i = 0; i < FAKE_DRV_MAX_VQS; i++) {
		if (!fd->vqs[i])
			continue;
		n++;
		KUNIT_EXPECT_TRUE_MSG(test, virtqueue_is_broken(fd->vqs[i]),
				      "vq %u", i);
		KUNIT_EXPECT_EQ_MSG(test,
				    virtqueue_add_outbuf(fd->vqs[i], &sg, 1, buf,
							 GFP_KERNEL),
				    -EIO, "vq %u", i);
	}
	KUNIT_EXPECT_GT(test, n, 0);
}

/**
 * freeze_expect_refusal_without_warn() - freeze a device that must be refused
 * @test: the test
 * @fv: the fake device
 *
 * The user can trigger a refusal at will, so it must not WARN: no
 * backtrace, no taint. (Whether and how often it logs is the
 * implementation's choice.)
 *
 * Return: what virtio_device_freeze() returned.
 */
static int freeze_expect_refusal_without_warn(struct kunit *test,
					      struct fake_vdev *fv)
{
	bool tainted = test_taint(TAINT_WARN);
	int ret;

	kunit_warning_suppress(test) {
		ret = virtio_device_freeze(&fv->vdev);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 0);
	}
	if (!tainted)
		KUNIT_EXPECT_FALSE(test, test_taint(TAINT_WARN));
	return ret;
}

/**
 * expect_vqs_unmoved() - check that both virtqueues kept their ring memory
 * @test: the test
 * @fv: the fake device
 */
static void expect_vqs_unmoved(struct kunit *test, const struct fake_vdev *fv)
{
	KUNIT_EXPECT_TRUE(test, fake_vdev_rings_unmoved(fv, 0));
	KUNIT_EXPECT_TRUE(test, fake_vdev_rings_unmoved(fv, 1));
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_FIND_VQS].calls, 0);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_DEL_VQS].calls, 0);
}

/* The noirq re-init of a bound modern device with two vqs, in order. */
static const struct fake_event noirq_reinit_events[] = {
	EV(RESET, 0),
	EV(SET_STATUS, ST_ACK),
	EV(SET_STATUS, ST_ACK | ST_DRV),
	EV(FINALIZE, 0),
	EV(SET_STATUS, ST_ACK | ST_DRV | ST_FOK),
	EV(RESET_VQS, 2),
	EV(DRV_RESTORE_NOIRQ, 0),
};

/* ---------------------------------------------------------------------- */
/* The noirq helpers                                                      */
/* ---------------------------------------------------------------------- */

/* virtio_add_status_noirq() adds bits with one status write, no warning. */
static void add_status_noirq_adds_bits(struct kunit *test)
{
	struct fake_vdev *fv = bare_vdev(test, &fake_noirq_ops);
	const struct fake_status_write exp[] = {
		FAKE_SW(ST_ACK | ST_DRV),
	};

	kunit_warning_suppress(test) {
		virtio_add_status_noirq(&fv->vdev, ST_DRV);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 0);
	}
	fake_vdev_expect_status_log(test, fv, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK | ST_DRV);
}

/* virtio_add_status_noirq() warns on a transport that is not noirq_safe. */
static void add_status_noirq_warns_on_unsafe_transport(struct kunit *test)
{
	struct fake_vdev *fv = bare_vdev(test, &fake_unsafe_ops);

	kunit_warning_suppress(test) {
		virtio_add_status_noirq(&fv->vdev, ST_DRV);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK | ST_DRV);
}

/* virtio_reset_device_noirq() resets once and never synchronises. */
static void reset_device_noirq_resets_without_sync(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);
	const struct fake_status_write exp[] = { FAKE_SW_RESET };

	kunit_warning_suppress(test) {
		virtio_reset_device_noirq(&env.fv->vdev);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 0);
	}
	fake_vdev_expect_status_log(test, env.fv, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, env.fv->resets, 1);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_SYNC_CBS].calls, 0);
	KUNIT_EXPECT_EQ(test, virtqueue_is_broken(env.fd->vqs[0]),
			IS_ENABLED(CONFIG_VIRTIO_HARDEN_NOTIFICATION));
}

/* virtio_reset_device_noirq() warns on a transport that is not noirq_safe. */
static void reset_device_noirq_warns_on_unsafe_transport(struct kunit *test)
{
	struct fake_vdev *fv = bare_vdev(test, &fake_unsafe_ops);

	kunit_warning_suppress(test) {
		virtio_reset_device_noirq(&fv->vdev);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_EXPECT_EQ(test, fv->resets, 1);
}

/* virtio_device_ready_noirq() sets DRIVER_OK and never synchronises. */
static void device_ready_noirq_sets_driver_ok(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);
	const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK | ST_DRV | ST_FOK),
		FAKE_SW(ST_ACK | ST_DRV | ST_FOK | ST_DOK),
	};

	virtio_reset_device_noirq(&env.fv->vdev);
	virtio_add_status_noirq(&env.fv->vdev, ST_ACK | ST_DRV | ST_FOK);
	kunit_warning_suppress(test) {
		virtio_device_ready_noirq(&env.fv->vdev);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 0);
	}
	fake_vdev_expect_status_log(test, env.fv, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_SYNC_CBS].calls, 0);
	KUNIT_EXPECT_FALSE(test, virtqueue_is_broken(env.fd->vqs[0]));
}

/* virtio_device_ready_noirq() warns if DRIVER_OK is set already. */
static void device_ready_noirq_warns_if_already_ready(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);

	KUNIT_ASSERT_EQ(test, env.fv->status, ST_LIVE);
	kunit_warning_suppress(test) {
		virtio_device_ready_noirq(&env.fv->vdev);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
}

/* virtio_device_ready_noirq() warns on a transport that is not noirq_safe. */
static void device_ready_noirq_warns_on_unsafe_transport(struct kunit *test)
{
	struct fake_vdev *fv = bare_vdev(test, &fake_unsafe_ops);

	kunit_warning_suppress(test) {
		virtio_device_ready_noirq(&fv->vdev);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK | ST_DOK);
}

/*
 * With notification hardening, the noirq reset breaks the vqs and the noirq
 * ready unbreaks them, neither synchronising; the vqs work afterwards.
 */
static void noirq_helpers_break_and_unbreak_vqs(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);
	bool harden = IS_ENABLED(CONFIG_VIRTIO_HARDEN_NOTIFICATION);

	virtio_reset_device_noirq(&env.fv->vdev);
	KUNIT_EXPECT_EQ(test, virtqueue_is_broken(env.fd->vqs[0]), harden);
	KUNIT_EXPECT_EQ(test, virtqueue_is_broken(env.fd->vqs[1]), harden);

	virtio_add_status_noirq(&env.fv->vdev, ST_ACK | ST_DRV | ST_FOK);
	virtio_device_ready_noirq(&env.fv->vdev);
	KUNIT_EXPECT_FALSE(test, virtqueue_is_broken(env.fd->vqs[0]));
	KUNIT_EXPECT_FALSE(test, virtqueue_is_broken(env.fd->vqs[1]));
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_SYNC_CBS].calls, 0);

	fake_driver_queue_buf(test, env.fd, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vqs[0].kicks, 1);
}

/*
 * The helpers and the whole noirq restore work with local interrupts
 * disabled: every op ran with interrupts off, and no "sleeping function
 * called from invalid context" report tainted the kernel.
 */
static void noirq_paths_run_with_irqs_disabled(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);
	bool tainted = test_taint(TAINT_WARN);
	unsigned long flags;
	int ret;

	if (!IS_ENABLED(CONFIG_DEBUG_ATOMIC_SLEEP))
		kunit_skip(test, "might_sleep() checks need DEBUG_ATOMIC_SLEEP");
	KUNIT_ASSERT_FALSE_MSG(test, tainted,
			       "tainted by an earlier warning: cannot tell");

	env.fd->ready_in_restore_noirq = true;
	env.fd->use_vq_in_restore_noirq = true;
	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	fake_vdev_clear_logs(env.fv);

	local_irq_save(flags);
	ret = virtio_device_restore_noirq(&env.fv->vdev);
	virtio_reset_device_noirq(&env.fv->vdev);
	virtio_add_status_noirq(&env.fv->vdev, ST_ACK | ST_DRV | ST_FOK);
	virtio_device_ready_noirq(&env.fv->vdev);
	local_irq_restore(flags);

	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_RESET].irqs_off, 2);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_RESET_VQS].irqs_off, 1);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_FINALIZE].irqs_off, 1);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_NOTIFY].irqs_off, 1);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_SET_STATUS].irqs_off,
			env.fv->ops[FAKE_OP_SET_STATUS].calls);
	KUNIT_EXPECT_EQ(test, env.fd->irqs_off[FAKE_DRV_RESTORE_NOIRQ], 1);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_SYNC_CBS].calls, 0);
	KUNIT_EXPECT_FALSE_MSG(test, test_taint(TAINT_WARN),
			       "a might_sleep() check fired");
}

static struct kunit_case noirq_helpers_cases[] = {
	KUNIT_CASE(add_status_noirq_adds_bits),
	KUNIT_CASE(add_status_noirq_warns_on_unsafe_transport),
	KUNIT_CASE(reset_device_noirq_resets_without_sync),
	KUNIT_CASE(reset_device_noirq_warns_on_unsafe_transport),
	KUNIT_CASE(device_ready_noirq_sets_driver_ok),
	KUNIT_CASE(device_ready_noirq_warns_if_already_ready),
	KUNIT_CASE(device_ready_noirq_warns_on_unsafe_transport),
	KUNIT_CASE(noirq_helpers_break_and_unbreak_vqs),
	KUNIT_CASE(noirq_paths_run_with_irqs_disabled),
	{}
};

static struct kunit_suite virtio_noirq_helpers_suite = {
	.name = "virtio_noirq_helpers",
	.test_cases = noirq_helpers_cases,
};

/* ---------------------------------------------------------------------- */
/* Entering system sleep                                                  */
/* ---------------------------------------------------------------------- */

/**
 * struct unpaired_param - a driver with one PM callback missing its pair
 * @desc: description of the case
 * @drv: the driver's callback table
 */
struct unpaired_param {
	const char *desc;
	struct virtio_driver drv;
};

static const struct unpaired_param unpaired_params[] = {
	{
		.desc = "freeze without restore",
		.drv = {
			.freeze = fake_drv_freeze,
			.config_changed = fake_drv_config_changed,
			.freeze_noirq = fake_drv_freeze_noirq,
			.restore_noirq = fake_drv_restore_noirq,
		},
	},
	{
		.desc = "restore without freeze",
		.drv = {
			.restore = fake_drv_restore,
			.config_changed = fake_drv_config_changed,
		},
	},
	{
		.desc = "freeze_noirq without restore_noirq",
		.drv = {
			.freeze = fake_drv_freeze,
			.restore = fake_drv_restore,
			.config_changed = fake_drv_config_changed,
			.freeze_noirq = fake_drv_freeze_noirq,
		},
	},
	{
		.desc = "restore_noirq without freeze_noirq",
		.drv = {
			.freeze = fake_drv_freeze,
			.restore = fake_drv_restore,
			.config_changed = fake_drv_config_changed,
			.restore_noirq = fake_drv_restore_noirq,
		},
	},
};

KUNIT_ARRAY_PARAM_DESC(unpaired, unpaired_params, desc);

/*
 * Unpaired PM callbacks: freeze refuses with -EINVAL without a WARN, calls
 * no driver callback, writes no status and re-enables config delivery.
 */
static void freeze_refuses_unpaired_callbacks(struct kunit *test)
{
	const struct unpaired_param *p = test->param_value;
	struct noirq_env env = noirq_env_create(test, &fake_noirq_ops,
						FAKE_FEATURES_MODERN, &p->drv);

	KUNIT_EXPECT_EQ(test, freeze_expect_refusal_without_warn(test, env.fv),
			-EINVAL);
	expect_calls(test, env.fd, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, env.fv->status_log_len, 0);
	KUNIT_EXPECT_EQ(test, env.fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
	KUNIT_EXPECT_TRUE(test, config_delivery_enabled(env.fd));
}

/*
 * A driver that restores in the noirq phase on a transport that is not
 * noirq_safe: freeze refuses with -EOPNOTSUPP without a WARN, before the
 * driver's freeze runs, and re-enables config delivery.
 */
static void freeze_refuses_noirq_driver_on_unsafe_transport(struct kunit *test)
{
	struct noirq_env env = noirq_env_create(test, &fake_unsafe_ops,
						FAKE_FEATURES_MODERN,
						&fake_driver_noirq);

	KUNIT_EXPECT_EQ(test, freeze_expect_refusal_without_warn(test, env.fv),
			-EOPNOTSUPP);
	expect_calls(test, env.fd, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, env.fv->status_log_len, 0);
	KUNIT_EXPECT_TRUE(test, config_delivery_enabled(env.fd));
}

/* A driver without noirq callbacks still suspends on an unsafe transport. */
static void freeze_allows_plain_driver_on_unsafe_transport(struct kunit *test)
{
	struct noirq_env env = noirq_env_create(test, &fake_unsafe_ops,
						FAKE_FEATURES_MODERN,
						&fake_driver_default);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fd->calls[FAKE_DRV_FREEZE], 1);
	KUNIT_EXPECT_EQ(test, env.fd->calls[FAKE_DRV_RESTORE], 1);
	KUNIT_EXPECT_EQ(test, env.fv->resets, 1);
	KUNIT_EXPECT_EQ(test, env.fv->status, ST_LIVE);
}

/* A failing freeze returns its error and re-enables config delivery. */
static void freeze_failure_reenables_config(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);

	env.fd->err[FAKE_DRV_FREEZE] = -EBUSY;
	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), -EBUSY);
	expect_calls(test, env.fd, 1, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
	KUNIT_EXPECT_EQ(test, env.fv->status_log_len, 0);
	KUNIT_EXPECT_TRUE(test, config_delivery_enabled(env.fd));
}

/* freeze_noirq with no driver bound does nothing and succeeds. */
static void freeze_noirq_without_driver_is_noop(struct kunit *test)
{
	struct fake_vdev *fv = bare_vdev(test, &fake_noirq_ops);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
	KUNIT_EXPECT_EQ(test, fv->events_len, 0);
}

/* freeze_noirq on a transport that is not noirq_safe: -EOPNOTSUPP. */
static void freeze_noirq_refuses_unsafe_transport(struct kunit *test)
{
	struct noirq_env env = noirq_env_create(test, &fake_unsafe_ops,
						FAKE_FEATURES_MODERN,
						&fake_driver_noirq);

	fake_vdev_noirq_phase(env.fv, true);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev),
			-EOPNOTSUPP);
	fake_vdev_noirq_phase(env.fv, false);

	expect_calls(test, env.fd, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, env.fv->noirq_violations, 0);
	KUNIT_EXPECT_EQ(test, env.fv->events_len, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
}

/* freeze_noirq with virtqueues but no reset_vqs: -EOPNOTSUPP. */
static void freeze_noirq_refuses_vqs_without_reset_vqs(struct kunit *test)
{
	struct noirq_env env = noirq_env_create(test,
						&fake_noirq_no_reset_vqs_ops,
						FAKE_FEATURES_MODERN,
						&fake_driver_noirq);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev),
			-EOPNOTSUPP);
	expect_calls(test, env.fd, 1, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
}

/* Without virtqueues, reset_vqs is not needed for a full noirq cycle. */
static void noirq_cycle_without_vqs_needs_no_reset_vqs(struct kunit *test)
{
	struct fake_vdev *fv = fake_vdev_create(test,
						&fake_noirq_no_reset_vqs_ops,
						FAKE_FEATURES_MODERN);
	struct fake_driver *fd = fake_driver_init(test, fv, &fake_driver_noirq);

	fd->nvqs = 0;
	fd->ready_in_restore_noirq = true;
	fake_driver_register(test, fd);
	KUNIT_ASSERT_TRUE(test, fake_driver_bound(fd));
	fake_vdev_clear_logs(fv);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, fv->resets, 1);
	KUNIT_EXPECT_EQ(test, fv->vdev.noirq_state, VIRTIO_NOIRQ_RESTORED);
	KUNIT_EXPECT_EQ(test, fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, fake_vdev_count_events(fv, FAKE_EV_RESET_VQS), 0);
}

/* A failing freeze_noirq keeps noirq_state NONE. */
static void freeze_noirq_failure_keeps_state_none(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);

	env.fd->err[FAKE_DRV_FREEZE_NOIRQ] = -EAGAIN;
	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev),
			-EAGAIN);
	expect_calls(test, env.fd, 1, 1, 0, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
	KUNIT_EXPECT_EQ(test, env.fv->status_log_len, 0);
}

/* Every freeze starts from noirq_state NONE, whatever the last cycle left. */
static void freeze_resets_noirq_state(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);

	env.fd->err[FAKE_DRV_RESTORE_NOIRQ] = -EIO;
	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), -EIO);
	KUNIT_ASSERT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_ENTERED);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
}

/**
 * current_taint_flags() - the taint flags set right now
 *
 * Return: a mask of the TAINT_* bits that test_taint() reports set.
 */
static unsigned long current_taint_flags(void)
{
	unsigned long mask = 0;
	unsigned int i;

	for (i = 0; i < TAINT_FLAGS_COUNT; i++)
		if (test_taint(i))
			mask |= BIT(i);
	return mask;
}

/* freeze_noirq of this driver is not pinned by the contract: not called. */
#define REFUSAL_UNPINNED	1

/**
 * struct refusal_param - a driver callback table on a transport flavour
 * @desc: description of the case
 * @drv: the driver's callback table, or NULL for no driver bound
 * @safe: the transport is noirq_safe (else it is not, like virtio-pci)
 * @freeze: what virtio_device_freeze() returns
 * @freeze_noirq: what virtio_device_freeze_noirq() returns, or
 *		  %REFUSAL_UNPINNED
 * @restore_noirq: what virtio_device_restore_noirq() returns for a device
 *		   in state ENTERED
 */
struct refusal_param {
	const char *desc;
	const struct virtio_driver *drv;
	bool safe;
	int freeze;
	int freeze_noirq;
	int restore_noirq;
};

#define UNPAIRED(i)	(&unpaired_params[i].drv)

static const struct refusal_param refusal_params[] = {
	{ "no driver, noirq_safe", NULL, true, 0, 0, 0 },
	{ "no driver, not noirq_safe", NULL, false, 0, 0, 0 },
	{ "no noirq callbacks, noirq_safe", &fake_driver_default, true,
	  0, 0, 0 },
	{ "no noirq callbacks, not noirq_safe", &fake_driver_default, false,
	  0, 0, 0 },
	{ "noirq pair, noirq_safe", &fake_driver_noirq, true, 0, 0, 0 },
	{ "noirq pair, not noirq_safe", &fake_driver_noirq, false,
	  -EOPNOTSUPP, -EOPNOTSUPP, -EOPNOTSUPP },
	{ "freeze without restore, noirq_safe", UNPAIRED(0), true,
	  -EINVAL, 0, 0 },
	{ "freeze without restore, not noirq_safe", UNPAIRED(0), false,
	  -EINVAL, -EOPNOTSUPP, -EOPNOTSUPP },
	{ "restore without freeze, noirq_safe", UNPAIRED(1), true,
	  -EINVAL, 0, 0 },
	{ "restore without freeze, not noirq_safe", UNPAIRED(1), false,
	  -EINVAL, 0, 0 },
	{ "freeze_noirq alone, noirq_safe", UNPAIRED(2), true,
	  -EINVAL, 0, 0 },
	{ "freeze_noirq alone, not noirq_safe", UNPAIRED(2), false,
	  -EINVAL, -EOPNOTSUPP, 0 },
	{ "restore_noirq alone, noirq_safe", UNPAIRED(3), true,
	  -EINVAL, REFUSAL_UNPINNED, 0 },
	{ "restore_noirq alone, not noirq_safe", UNPAIRED(3), false,
	  -EINVAL, REFUSAL_UNPINNED, -EOPNOTSUPP },
};

KUNIT_ARRAY_PARAM_DESC(refusal, refusal_params, desc);

/**
 * expect_refusal_counts() - check every counter of a refusal matrix row
 * @test: the test
 * @step: the entry point just called, for the messages
 * @fv: the fake device
 * @fd: the fake driver
 * @calls: expected calls per driver callback, indexed by &enum fake_drv_cb
 * @writes: expected status writes
 * @resets: expected resets
 *
 * Checks the driver callbacks that ran (config_changed only through the
 * probe of config_delivery_enabled()), the status writes and resets, and
 * that no interrupt-waiting op ran in the noirq phase.
 */
static void expect_refusal_counts(struct kunit *test, const char *step,
				  const struct fake_vdev *fv,
				  const struct fake_driver *fd,
				  const unsigned int *calls,
				  unsigned int writes, unsigned int resets)
{
	enum fake_drv_cb cb;

	KUNIT_EXPECT_EQ_MSG(test, fv->status_log_len, writes, "%s", step);
	KUNIT_EXPECT_EQ_MSG(test, fv->resets, resets, "%s", step);
	KUNIT_EXPECT_EQ_MSG(test, fv->noirq_violations, 0, "%s", step);
	if (!fd)
		return;
	for (cb = 0; cb < FAKE_DRV_NR; cb++)
		KUNIT_EXPECT_EQ_MSG(test, fd->calls[cb], calls[cb],
				    "%s: driver callback %d", step, cb);
}

/*
 * The refusal matrix: each driver callback table on a noirq_safe and on
 * an unsafe transport. Each entry point returns what the contract says,
 * and after each call every counter is as expected: a refused call runs
 * no driver callback, writes no status and resets nothing, a refused
 * freeze leaves config delivery enabled, and no refusal WARNs (the taint
 * flags do not change and no "WARNING:" line is printed). The noirq
 * restore is called for a device in state ENTERED, the only state the PM
 * core resumes in the noirq phase.
 */
static void refusal_matrix(struct kunit *test)
{
	const struct refusal_param *p = test->param_value;
	const struct virtio_config_ops *ops = p->safe ? &fake_noirq_ops :
							&fake_unsafe_ops;
	unsigned long taint = current_taint_flags();
	unsigned int calls[FAKE_DRV_NR] = { };
	struct fake_console_watch *warn;
	struct fake_driver *fd = NULL;
	struct virtio_device *vdev;
	struct fake_vdev *fv;
	bool runs, refused;
	int ret;

	if (p->drv) {
		struct noirq_env env = noirq_env_create(test, ops,
							FAKE_FEATURES_MODERN,
							p->drv);

		fv = env.fv;
		fd = env.fd;
	} else {
		fv = bare_vdev(test, ops);
	}
	vdev = &fv->vdev;
	warn = fake_console_watch(test, "WARNING:");

	/* freeze */
	ret = virtio_device_freeze(vdev);
	KUNIT_EXPECT_EQ(test, ret, p->freeze);
	refused = ret != 0;
	calls[FAKE_DRV_FREEZE] = p->drv && p->drv->freeze && !refused;
	expect_refusal_counts(test, "freeze", fv, fd, calls, 0, 0);
	KUNIT_EXPECT_EQ(test, vdev->noirq_state, VIRTIO_NOIRQ_NONE);
	if (fd) {
		/* Delivered now if enabled, else left pending. */
		KUNIT_EXPECT_EQ(test, config_delivery_enabled(fd), refused);
		calls[FAKE_DRV_CONFIG_CHANGED] = refused;
	}

	/* freeze_noirq, in the noirq phase */
	if (p->freeze_noirq != REFUSAL_UNPINNED) {
		fake_vdev_noirq_phase(fv, true);
		ret = virtio_device_freeze_noirq(vdev);
		fake_vdev_noirq_phase(fv, false);
		KUNIT_EXPECT_EQ(test, ret, p->freeze_noirq);
		calls[FAKE_DRV_FREEZE_NOIRQ] = p->drv && p->drv->freeze_noirq &&
					       !ret;
		expect_refusal_counts(test, "freeze_noirq", fv, fd, calls,
				      0, 0);
		KUNIT_EXPECT_EQ(test, vdev->noirq_state,
				calls[FAKE_DRV_FREEZE_NOIRQ] ?
				VIRTIO_NOIRQ_ENTERED : VIRTIO_NOIRQ_NONE);
	}

	/* restore_noirq of a device whose noirq phase was entered */
	vdev->noirq_state = VIRTIO_NOIRQ_ENTERED;
	fake_vdev_noirq_phase(fv, true);
	ret = virtio_device_restore_noirq(vdev);
	fake_vdev_noirq_phase(fv, false);
	KUNIT_EXPECT_EQ(test, ret, p->restore_noirq);
	runs = p->drv && p->drv->restore_noirq && p->safe;
	calls[FAKE_DRV_RESTORE_NOIRQ] = runs;
	/* A re-init: reset, ACKNOWLEDGE, DRIVER, FEATURES_OK; no DRIVER_OK. */
	expect_refusal_counts(test, "restore_noirq", fv, fd, calls,
			      runs ? 4 : 0, runs);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_RESET_VQS].calls, runs);
	if (runs)
		KUNIT_EXPECT_EQ(test, vdev->noirq_state,
				VIRTIO_NOIRQ_RESTORED);
	if (fd) {
		KUNIT_EXPECT_EQ(test, config_delivery_enabled(fd), refused);
		calls[FAKE_DRV_CONFIG_CHANGED] += refused;
		KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_CONFIG_CHANGED],
				calls[FAKE_DRV_CONFIG_CHANGED]);
	}

	KUNIT_EXPECT_EQ(test, current_taint_flags(), taint);
	KUNIT_EXPECT_EQ(test, atomic_read(&warn->lines), 0);
}

static struct kunit_case noirq_freeze_cases[] = {
	KUNIT_CASE_PARAM(freeze_refuses_unpaired_callbacks,
			 unpaired_gen_params),
	KUNIT_CASE(freeze_refuses_noirq_driver_on_unsafe_transport),
	KUNIT_CASE(freeze_allows_plain_driver_on_unsafe_transport),
	KUNIT_CASE(freeze_failure_reenables_config),
	KUNIT_CASE(freeze_noirq_without_driver_is_noop),
	KUNIT_CASE(freeze_noirq_refuses_unsafe_transport),
	KUNIT_CASE(freeze_noirq_refuses_vqs_without_reset_vqs),
	KUNIT_CASE(noirq_cycle_without_vqs_needs_no_reset_vqs),
	KUNIT_CASE(freeze_noirq_failure_keeps_state_none),
	KUNIT_CASE(freeze_resets_noirq_state),
	KUNIT_CASE_PARAM(refusal_matrix, refusal_gen_params),
	{}
};

static struct kunit_suite virtio_noirq_freeze_suite = {
	.name = "virtio_noirq_freeze",
	.test_cases = noirq_freeze_cases,
};

/* ---------------------------------------------------------------------- */
/* Resuming                                                               */
/* ---------------------------------------------------------------------- */

/**
 * struct cycle_param - a full suspend/resume cycle
 * @desc: description of the case
 * @features: device features
 * @ready_in_noirq: the driver sets DRIVER_OK in restore_noirq
 * @failed_before: FAILED was set before the freeze
 */
struct cycle_param {
	const char *desc;
	u64 features;
	bool ready_in_noirq;
	bool failed_before;
};

static const struct cycle_param cycle_params[] = {
	{ "modern, ready in restore_noirq", FAKE_FEATURES_MODERN, true, false },
	{ "modern, ready in restore", FAKE_FEATURES_MODERN, false, false },
	{ "legacy, ready in restore_noirq", FAKE_FEATURES_LEGACY, true, false },
	{ "legacy, ready in restore", FAKE_FEATURES_LEGACY, false, false },
	{ "modern, failed before freeze", FAKE_FEATURES_MODERN, true, true },
	{ "legacy, failed before freeze", FAKE_FEATURES_LEGACY, false, true },
};

KUNIT_ARRAY_PARAM_DESC(cycle, cycle_params, desc);

/*
 * A full cycle: the exact event sequence (one reset, FEATURES_OK only for
 * VERSION_1, FAILED kept, reset_vqs before restore_noirq, DRIVER_OK once),
 * the rings reused in place, and no second re-init in the normal phase.
 */
static void full_cycle_event_sequence(struct kunit *test)
{
	const struct cycle_param *p = test->param_value;
	struct noirq_env env = noirq_env_create(test, &fake_noirq_ops,
						p->features,
						&fake_driver_noirq);
	bool modern = p->features & BIT_ULL(VIRTIO_F_VERSION_1);
	u8 failed = p->failed_before ? ST_FAIL : 0;
	u8 feat_ok = modern ? ST_FOK : 0;
	u8 live = ST_ACK | ST_DRV | feat_ok | failed;
	bool harden = IS_ENABLED(CONFIG_VIRTIO_HARDEN_NOTIFICATION);
	struct fake_event exp[16];
	unsigned int n = 0;

	if (failed) {
		virtio_add_status(&env.fv->vdev, ST_FAIL);
		fake_vdev_clear_logs(env.fv);
	}
	env.fd->ready_in_restore_noirq = p->ready_in_noirq;

	exp[n++] = EVV(DRV_FREEZE, 0);
	exp[n++] = EVV(DRV_FREEZE_NOIRQ, 0);
	exp[n++] = EVV(RESET, 0);
	exp[n++] = EVV(SET_STATUS, ST_ACK);
	if (failed)
		exp[n++] = EVV(SET_STATUS, ST_ACK | ST_FAIL);
	exp[n++] = EVV(SET_STATUS, ST_ACK | ST_DRV | failed);
	exp[n++] = EVV(FINALIZE, 0);
	if (modern)
		exp[n++] = EVV(SET_STATUS, live);
	exp[n++] = EVV(RESET_VQS, 2);
	exp[n++] = EVV(DRV_RESTORE_NOIRQ, 0);
	if (p->ready_in_noirq)
		exp[n++] = EVV(SET_STATUS, live | ST_DOK);
	exp[n++] = EVV(DRV_RESTORE, 0);
	if (!p->ready_in_noirq)
		exp[n++] = EVV(SET_STATUS, live | ST_DOK);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_ENTERED);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_RESTORED);
	KUNIT_EXPECT_EQ(test, env.fd->status_seen[FAKE_DRV_RESTORE_NOIRQ],
			live);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);

	fake_vdev_expect_events_nosync(test, env.fv, exp, n);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_SYNC_CBS].calls,
			harden && !p->ready_in_noirq);
	expect_calls(test, env.fd, 1, 1, 1, 1);
	KUNIT_EXPECT_EQ(test, env.fv->resets, 1);
	KUNIT_EXPECT_EQ(test, env.fv->status, live | ST_DOK);
	KUNIT_EXPECT_EQ(test, env.fv->vqs[0].reinits, 1);
	KUNIT_EXPECT_EQ(test, env.fv->vqs[1].reinits, 1);
	expect_vqs_unmoved(test, env.fv);
	fake_vdev_expect_process_context(test, env.fv);
}

/* The vqs work after a noirq cycle: inside restore_noirq and afterwards. */
static void vqs_usable_after_noirq_restore(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);

	env.fd->ready_in_restore_noirq = true;
	env.fd->use_vq_in_restore_noirq = true;
	fake_driver_queue_buf(test, env.fd, 0);
	KUNIT_ASSERT_EQ(test, env.fv->vqs[0].kicks, 1);

	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fv->vqs[0].kicks, 2);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);

	fake_driver_queue_buf(test, env.fd, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vqs[0].kicks, 3);
	KUNIT_EXPECT_EQ(test, env.fd->vqs[0]->num_free, FAKE_VQ_NUM - 1);
	expect_vqs_unmoved(test, env.fv);
}

/**
 * struct restore_fail_param - a failure injected into the noirq restore
 * @desc: description of the case
 * @inject: sets up the failure
 * @err: the error restore_noirq must return
 * @last: the last event before FAILED is written
 * @events: number of events restore_noirq logs up to and including @last
 */
struct restore_fail_param {
	const char *desc;
	void (*inject)(struct noirq_env *env);
	int err;
	enum fake_event_type last;
	unsigned int events;
};

/**
 * inject_finalize() - finalize_features fails with -ENOSPC
 * @env: the device and driver
 */
static void inject_finalize(struct noirq_env *env)
{
	env->fv->ops[FAKE_OP_FINALIZE].err = -ENOSPC;
}

/**
 * inject_features_ok() - the device drops FEATURES_OK
 * @env: the device and driver
 */
static void inject_features_ok(struct noirq_env *env)
{
	env->fv->refuse_features_ok = true;
}

/**
 * inject_reset_vqs() - reset_vqs fails with -EREMOTEIO
 * @env: the device and driver
 */
static void inject_reset_vqs(struct noirq_env *env)
{
	env->fv->ops[FAKE_OP_RESET_VQS].err = -EREMOTEIO;
}

/**
 * inject_restore_noirq() - the driver's restore_noirq fails with -ETIMEDOUT
 * @env: the device and driver
 */
static void inject_restore_noirq(struct noirq_env *env)
{
	env->fd->err[FAKE_DRV_RESTORE_NOIRQ] = -ETIMEDOUT;
}

static const struct restore_fail_param restore_fail_params[] = {
	{ "finalize_features fails", inject_finalize, -ENOSPC,
	  FAKE_EV_FINALIZE, 4 },
	{ "device refuses FEATURES_OK", inject_features_ok, -ENODEV,
	  FAKE_EV_SET_STATUS, 5 },
	{ "reset_vqs fails", inject_reset_vqs, -EREMOTEIO,
	  FAKE_EV_RESET_VQS, 6 },
	{ "driver restore_noirq fails", inject_restore_noirq, -ETIMEDOUT,
	  FAKE_EV_DRV_RESTORE_NOIRQ, 7 },
};

KUNIT_ARRAY_PARAM_DESC(restore_fail, restore_fail_params, desc);

/*
 * A failure inside the noirq restore: its error is returned, the steps
 * before it ran in order, FAILED is set, the device is broken (its
 * virtqueues refuse new buffers) and the state stays ENTERED. The normal
 * restore then fails with -EIO, calls nothing, and the device stays broken.
 */
static void restore_noirq_failure_makes_restore_fail(struct kunit *test)
{
	const struct restore_fail_param *p = test->param_value;
	struct noirq_env env = noirq_env_default(test);
	const struct fake_event *last;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	fake_vdev_clear_logs(env.fv);
	fake_driver_clear_counts(env.fd);
	p->inject(&env);

	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev),
			p->err);
	KUNIT_ASSERT_EQ(test, env.fv->events_len, p->events + 1);
	for (i = 0; i < p->events; i++)
		KUNIT_EXPECT_EQ_MSG(test, env.fv->events[i].type,
				    noirq_reinit_events[i].type, "event %u", i);
	KUNIT_EXPECT_EQ(test, env.fv->events[p->events - 1].type, p->last);
	last = &env.fv->events[p->events];
	KUNIT_EXPECT_EQ(test, last->type, FAKE_EV_SET_STATUS);
	KUNIT_EXPECT_TRUE(test, last->value & ST_FAIL);
	KUNIT_EXPECT_FALSE(test, env.fv->status & ST_DOK);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_ENTERED);
	KUNIT_EXPECT_FALSE(test, config_delivery_enabled(env.fd));
	expect_vqs_refuse_buffers(test, env.fd);

	fake_vdev_clear_logs(env.fv);
	fake_driver_clear_counts(env.fd);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), -EIO);
	expect_calls(test, env.fd, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, env.fv->resets, 0);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_FINALIZE].calls, 0);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_RESET_VQS].calls, 0);
	KUNIT_EXPECT_TRUE(test, env.fv->status & ST_FAIL);
	KUNIT_EXPECT_FALSE(test, env.fv->status & ST_DOK);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_ENTERED);
	expect_vqs_refuse_buffers(test, env.fd);
}

/**
 * ready_then_fail_restore_noirq() - restore_noirq that readies, then fails
 * @vdev: the virtio device
 *
 * Marks the device ready with virtio_device_ready_noirq() and then fails.
 *
 * Return: -EPROTO.
 */
static int ready_then_fail_restore_noirq(struct virtio_device *vdev)
{
	fake_drv_enter(vdev, FAKE_DRV_RESTORE_NOIRQ, FAKE_EV_DRV_RESTORE_NOIRQ);
	virtio_device_ready_noirq(vdev);
	return -EPROTO;
}

static const struct virtio_driver ready_then_fail_driver = {
	.config_changed = fake_drv_config_changed,
	.freeze = fake_drv_freeze,
	.restore = fake_drv_restore,
	.freeze_noirq = fake_drv_freeze_noirq,
	.restore_noirq = ready_then_fail_restore_noirq,
};

/**
 * struct noirq_phase_param - one way through the noirq phase
 * @desc: description of the case
 * @drv: the driver's callback table
 * @inject: sets up a failure of the noirq restore, or NULL
 * @err: what the noirq restore returns
 */
struct noirq_phase_param {
	const char *desc;
	const struct virtio_driver *drv;
	void (*inject)(struct noirq_env *env);
	int err;
};

static const struct noirq_phase_param noirq_phase_params[] = {
	{ "success", &fake_driver_noirq, NULL, 0 },
	{ "finalize_features fails", &fake_driver_noirq, inject_finalize,
	  -ENOSPC },
	{ "device refuses FEATURES_OK", &fake_driver_noirq, inject_features_ok,
	  -ENODEV },
	{ "reset_vqs fails", &fake_driver_noirq, inject_reset_vqs,
	  -EREMOTEIO },
	{ "driver restore_noirq fails", &fake_driver_noirq,
	  inject_restore_noirq, -ETIMEDOUT },
	{ "driver fails after DRIVER_OK", &ready_then_fail_driver, NULL,
	  -EPROTO },
};

KUNIT_ARRAY_PARAM_DESC(noirq_phase, noirq_phase_params, desc);

/**
 * noirq_phase_setup() - bind the driver of @p, freeze it, arm its failure
 * @test: the test
 * @p: the way through the noirq restore
 *
 * Return: the device and driver, frozen.
 */
static struct noirq_env noirq_phase_setup(struct kunit *test,
					  const struct noirq_phase_param *p)
{
	struct noirq_env env = noirq_env_create(test, &fake_noirq_ops,
						FAKE_FEATURES_MODERN, p->drv);

	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	if (p->inject)
		p->inject(&env);
	return env;
}

/**
 * expect_noirq_restore_result() - check what a noirq restore left
 * @test: the test
 * @env: the device and driver
 * @err: what virtio_device_restore_noirq() was expected to return
 *
 * On success the device is live but without DRIVER_OK; on failure FAILED
 * is set, the state is ENTERED, the virtqueues are broken (even if the
 * driver had marked the device ready, which unbreaks them with
 * notification hardening) and config delivery is still off, a config
 * change raised now staying pending.
 */
static void expect_noirq_restore_result(struct kunit *test,
					struct noirq_env *env, int err)
{
	if (!err) {
		KUNIT_EXPECT_EQ(test, env->fv->status,
				ST_ACK | ST_DRV | ST_FOK);
		KUNIT_EXPECT_EQ(test, env->fv->vdev.noirq_state,
				VIRTIO_NOIRQ_RESTORED);
		return;
	}
	KUNIT_EXPECT_TRUE(test, env->fv->status & ST_FAIL);
	KUNIT_EXPECT_EQ(test, env->fv->vdev.noirq_state,
			VIRTIO_NOIRQ_ENTERED);
	KUNIT_EXPECT_FALSE(test, config_delivery_enabled(env->fd));
	KUNIT_EXPECT_EQ(test, env->fd->calls[FAKE_DRV_CONFIG_CHANGED], 0);
	expect_vqs_refuse_buffers(test, env->fd);
}

/*
 * Every way through the noirq restore, the failures included, runs with
 * local interrupts disabled: every status write and the reset were made
 * with interrupts off, nothing synchronised the callbacks, and no
 * "sleeping function called from invalid context" report was printed (a
 * console probe sees it, whatever the taint flags were before). The
 * report is rate-limited to one a second, so a report in the second
 * before this test can hide one here.
 */
static void restore_noirq_irqs_off_never_sleeps(struct kunit *test)
{
	const struct noirq_phase_param *p = test->param_value;
	struct noirq_env env;
	struct fake_console_watch *w;
	unsigned long flags;
	int ret;

	if (!IS_ENABLED(CONFIG_DEBUG_ATOMIC_SLEEP))
		kunit_skip(test, "might_sleep() checks need DEBUG_ATOMIC_SLEEP");

	env = noirq_phase_setup(test, p);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	fake_vdev_clear_logs(env.fv);
	fake_driver_clear_counts(env.fd);
	w = fake_console_watch(test, "BUG: sleeping function");

	local_irq_save(flags);
	ret = virtio_device_restore_noirq(&env.fv->vdev);
	local_irq_restore(flags);

	KUNIT_EXPECT_EQ(test, ret, p->err);
	KUNIT_EXPECT_EQ(test, atomic_read(&w->lines), 0);
	KUNIT_EXPECT_EQ(test, env.fv->resets, 1);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_RESET].irqs_off, 1);
	KUNIT_EXPECT_GE(test, env.fv->ops[FAKE_OP_SET_STATUS].calls, 3);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_SET_STATUS].irqs_off,
			env.fv->ops[FAKE_OP_SET_STATUS].calls);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_SYNC_CBS].calls, 0);
	expect_noirq_restore_result(test, &env, p->err);
}

/*
 * No way through the noirq phase allocates: from freeze_noirq to the end
 * of restore_noirq, the test's task makes no slab allocation, on success
 * and on every failure.
 */
static void noirq_phase_allocates_nothing(struct kunit *test)
{
	const struct noirq_phase_param *p = test->param_value;
	struct noirq_env env = noirq_phase_setup(test, p);
	struct fake_alloc_watch *w = fake_alloc_watch(test);
	int freeze_ret, restore_ret;

	fake_alloc_watch_arm(w, true);
	freeze_ret = virtio_device_freeze_noirq(&env.fv->vdev);
	restore_ret = virtio_device_restore_noirq(&env.fv->vdev);
	fake_alloc_watch_arm(w, false);

	KUNIT_EXPECT_EQ(test, freeze_ret, 0);
	KUNIT_EXPECT_EQ(test, restore_ret, p->err);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&w->allocs), 0,
			    "last allocation from %pS",
			    (void *)READ_ONCE(w->last_site));
	expect_noirq_restore_result(test, &env, p->err);
}

/**
 * struct hibernation_param - the device at the start of the noirq restore
 * @desc: description of the case
 * @boot_kernel: a boot kernel drove the device before it loaded the image
 */
struct hibernation_param {
	const char *desc;
	bool boot_kernel;
};

static const struct hibernation_param hibernation_params[] = {
	{ "freeze, freeze_noirq, thaw_noirq, thaw", false },
	{ "image restore after a boot kernel used the device", true },
};

KUNIT_ARRAY_PARAM_DESC(hibernation, hibernation_params, desc);

/*
 * Hibernation. Thaw: the device is as freeze_noirq left it. Image restore:
 * the image says ENTERED, but a boot kernel drove the device since: it set
 * DRIVER_OK (and NEEDS_RESET) and negotiated other features. (The fake has
 * no queue registers; the virtio_mmio suite checks their reprogramming.)
 * Either way restore_noirq starts with a reset, writes no bit the boot
 * kernel left, and the device ends as after a fresh probe: the features of
 * this kernel's probe, DRIVER_OK, the same rings, working.
 */
static void hibernation_restore_starts_from_reset(struct kunit *test)
{
	const struct hibernation_param *p = test->param_value;
	struct noirq_env env = noirq_env_default(test);
	u64 features = env.fv->driver_features;
	const struct fake_event exp[] = {
		EV(RESET, 0),
		EV(SET_STATUS, ST_ACK),
		EV(SET_STATUS, ST_ACK | ST_DRV),
		EV(FINALIZE, 0),
		EV(SET_STATUS, ST_ACK | ST_DRV | ST_FOK),
		EV(RESET_VQS, 2),
		EV(DRV_RESTORE_NOIRQ, 0),
		EV(DRV_RESTORE, 0),
		EV(SET_STATUS, ST_LIVE),
	};

	KUNIT_ASSERT_TRUE(test, features & BIT_ULL(VIRTIO_F_VERSION_1));
	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	if (p->boot_kernel) {
		env.fv->status = ST_LIVE | VIRTIO_CONFIG_S_NEEDS_RESET;
		env.fv->driver_features = BIT_ULL(FAKE_F_B) |
					  BIT_ULL(FAKE_F_UNKNOWN);
		env.fv->vdev.noirq_state = VIRTIO_NOIRQ_ENTERED;
	}
	fake_vdev_clear_logs(env.fv);
	fake_driver_clear_counts(env.fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fd->status_seen[FAKE_DRV_RESTORE_NOIRQ],
			ST_ACK | ST_DRV | ST_FOK);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);

	fake_vdev_expect_events_nosync(test, env.fv, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, env.fv->resets, 1);
	KUNIT_EXPECT_EQ(test, env.fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, env.fv->driver_features, features);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_RESTORED);
	KUNIT_EXPECT_TRUE(test, config_delivery_enabled(env.fd));
	expect_vqs_unmoved(test, env.fv);
	fake_driver_queue_buf(test, env.fd, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vqs[0].kicks, 1);
}

/* Receive buffers of the rx driver. */
#define RX_BUFS		5

/**
 * struct rx_state - receive buffers of the rx driver
 * @bufs: the buffers
 * @posted: buffers in the receive queue, one bit each
 * @held: buffers detached by freeze_noirq, to post again
 * @unknown: tokens detached that were not posted buffers
 * @post_err: first error of posting a buffer again
 */
struct rx_state {
	u8 bufs[RX_BUFS][16];
	unsigned long posted;
	unsigned long held;
	unsigned int unknown;
	int post_err;
};

/**
 * rx_state_of() - the receive buffers of the rx driver bound to @vdev
 * @vdev: the virtio device
 *
 * Return: the &struct rx_state the test keeps in its priv.
 */
static struct rx_state *rx_state_of(struct virtio_device *vdev)
{
	return to_fake_driver(vdev)->test->priv;
}

/**
 * rx_buf_index() - which receive buffer a token is
 * @rx: the receive buffers
 * @token: a token the virtqueue handed back
 *
 * Return: the index of the buffer, or %RX_BUFS for none of them.
 */
static unsigned int rx_buf_index(const struct rx_state *rx, const void *token)
{
	unsigned int i;

	for (i = 0; i < RX_BUFS; i++)
		if (token == rx->bufs[i])
			return i;
	return RX_BUFS;
}

/**
 * rx_post() - post receive buffer @i, without allocating
 * @vq: the receive virtqueue
 * @rx: the receive buffers
 * @i: index of the buffer
 *
 * Return: what virtqueue_add_inbuf() returned.
 */
static int rx_post(struct virtqueue *vq, struct rx_state *rx, unsigned int i)
{
	struct scatterlist sg;
	int err;

	sg_init_one(&sg, rx->bufs[i], sizeof(rx->bufs[i]));
	err = virtqueue_add_inbuf(vq, &sg, 1, rx->bufs[i], GFP_ATOMIC);
	if (!err)
		rx->posted |= BIT(i);
	return err;
}

/**
 * rx_detach_all() - take every unused buffer back from the receive queue
 * @vq: the receive virtqueue, its device reset
 * @rx: the receive buffers
 * @into: bitmap of buffer indexes to add the detached buffers to
 */
static void rx_detach_all(struct virtqueue *vq, struct rx_state *rx,
			  unsigned long *into)
{
	unsigned int i;
	void *token;

	while ((token = virtqueue_detach_unused_buf(vq))) {
		i = rx_buf_index(rx, token);
		if (i == RX_BUFS || !(rx->posted & BIT(i))) {
			rx->unknown++;
			continue;
		}
		rx->posted &= ~BIT(i);
		*into |= BIT(i);
	}
}

/**
 * rx_freeze_noirq() - freeze_noirq of a driver with an rx queue
 * @vdev: the virtio device
 *
 * Resets the device and takes its unused buffers back.
 *
 * Return: 0.
 */
static int rx_freeze_noirq(struct virtio_device *vdev)
{
	struct rx_state *rx = rx_state_of(vdev);

	fake_drv_enter(vdev, FAKE_DRV_FREEZE_NOIRQ, FAKE_EV_DRV_FREEZE_NOIRQ);
	virtio_reset_device_noirq(vdev);
	rx_detach_all(to_fake_driver(vdev)->vqs[0], rx, &rx->held);
	return 0;
}

/**
 * rx_restore_noirq() - restore_noirq of a driver with an rx queue
 * @vdev: the virtio device
 *
 * Marks the device ready, then posts the buffers it took back again and
 * kicks the queue.
 *
 * Return: 0, or the first error of rx_post() (the others are still tried).
 */
static int rx_restore_noirq(struct virtio_device *vdev)
{
	struct virtqueue *vq = to_fake_driver(vdev)->vqs[0];
	struct rx_state *rx = rx_state_of(vdev);
	unsigned int i;
	int err;

	fake_drv_enter(vdev, FAKE_DRV_RESTORE_NOIRQ, FAKE_EV_DRV_RESTORE_NOIRQ);
	virtio_device_ready_noirq(vdev);
	for_each_set_bit(i, &rx->held, RX_BUFS) {
		err = rx_post(vq, rx, i);
		if (err) {
			rx->post_err = rx->post_err ?: err;
			continue;
		}
		rx->held &= ~BIT(i);
	}
	virtqueue_kick(vq);
	return rx->post_err;
}

static const struct virtio_driver rx_driver = {
	.config_changed = fake_drv_config_changed,
	.freeze = fake_drv_freeze,
	.restore = fake_drv_restore,
	.freeze_noirq = rx_freeze_noirq,
	.restore_noirq = rx_restore_noirq,
};

/*
 * A driver with posted receive buffers: its freeze_noirq resets the device
 * and detaches the unused buffers, its restore_noirq posts them again after
 * virtio_device_ready_noirq(). After the cycle the receive queue holds each
 * buffer exactly once, in the same ring, and the device got them after
 * DRIVER_OK.
 */
static void rx_buffers_survive_noirq_cycle(struct kunit *test)
{
	const unsigned long all = GENMASK(RX_BUFS - 1, 0);
	struct rx_state *rx = kunit_kzalloc(test, sizeof(*rx), GFP_KERNEL);
	const struct fake_event exp[] = {
		EV(DRV_FREEZE, 0),
		EV(DRV_FREEZE_NOIRQ, 0),
		EV(RESET, 0),
		EV(RESET, 0),
		EV(SET_STATUS, ST_ACK),
		EV(SET_STATUS, ST_ACK | ST_DRV),
		EV(FINALIZE, 0),
		EV(SET_STATUS, ST_ACK | ST_DRV | ST_FOK),
		EV(RESET_VQS, 2),
		EV(DRV_RESTORE_NOIRQ, 0),
		EV(SET_STATUS, ST_LIVE),
		EV(NOTIFY, 0),
		EV(DRV_RESTORE, 0),
	};
	struct noirq_env env;
	unsigned long back = 0;
	struct virtqueue *vq;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, rx);
	test->priv = rx;
	env = noirq_env_create(test, &fake_noirq_ops, FAKE_FEATURES_MODERN,
			       &rx_driver);
	vq = env.fd->vqs[0];
	for (i = 0; i < RX_BUFS; i++)
		KUNIT_ASSERT_EQ(test, rx_post(vq, rx, i), 0);
	virtqueue_kick(vq);
	fake_vdev_clear_logs(env.fv);

	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, rx->held, all);
	KUNIT_EXPECT_EQ(test, rx->posted, 0);
	KUNIT_EXPECT_EQ(test, vq->num_free, FAKE_VQ_NUM);

	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);

	fake_vdev_expect_events_nosync(test, env.fv, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, rx->post_err, 0);
	KUNIT_EXPECT_EQ(test, rx->held, 0);
	KUNIT_EXPECT_EQ(test, rx->posted, all);
	KUNIT_EXPECT_EQ(test, vq->num_free, FAKE_VQ_NUM - RX_BUFS);
	KUNIT_EXPECT_EQ(test, env.fv->status, ST_LIVE);
	KUNIT_EXPECT_FALSE(test, virtqueue_is_broken(vq));
	expect_vqs_unmoved(test, env.fv);

	/* The ring holds each buffer once, and nothing else. */
	rx_detach_all(vq, rx, &back);
	KUNIT_EXPECT_EQ(test, back, all);
	KUNIT_EXPECT_EQ(test, rx->unknown, 0);
	KUNIT_EXPECT_EQ(test, vq->num_free, FAKE_VQ_NUM);
}

/*
 * The normal restore of a device whose noirq restore did not succeed (state
 * ENTERED) fails with -EIO on its own: FAILED is set, nothing is
 * re-initialised, and the device is broken, whatever broke it before.
 */
static void restore_in_entered_state_fails_and_breaks(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);

	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	fake_vdev_clear_logs(env.fv);
	fake_driver_clear_counts(env.fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), -EIO);
	expect_calls(test, env.fd, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, env.fv->resets, 0);
	KUNIT_EXPECT_TRUE(test, env.fv->status & ST_FAIL);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_ENTERED);
	expect_vqs_refuse_buffers(test, env.fd);
}

/*
 * restore_noirq with virtqueues but without reset_vqs fails: FAILED set, the
 * virtqueues broken, and the normal restore then fails with -EIO.
 */
static void restore_noirq_without_reset_vqs_fails(struct kunit *test)
{
	struct noirq_env env = noirq_env_create(test,
						&fake_noirq_no_reset_vqs_ops,
						FAKE_FEATURES_MODERN,
						&fake_driver_noirq);

	/* freeze_noirq refuses this device; force the state it would set. */
	env.fv->vdev.noirq_state = VIRTIO_NOIRQ_ENTERED;
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, env.fd->calls[FAKE_DRV_RESTORE_NOIRQ], 0);
	KUNIT_EXPECT_TRUE(test, env.fv->status & ST_FAIL);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_ENTERED);
	expect_vqs_refuse_buffers(test, env.fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), -EIO);
	KUNIT_EXPECT_EQ(test, env.fd->calls[FAKE_DRV_RESTORE], 0);
	expect_vqs_refuse_buffers(test, env.fd);
}

/* restore_noirq does nothing without a driver or without restore_noirq. */
static void restore_noirq_is_noop_without_noirq_driver(struct kunit *test)
{
	struct fake_vdev *bare = bare_vdev(test, &fake_noirq_ops);
	struct noirq_env env = noirq_env_create(test, &fake_noirq_ops,
						FAKE_FEATURES_MODERN,
						&fake_driver_default);

	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&bare->vdev), 0);
	KUNIT_EXPECT_EQ(test, bare->events_len, 0);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
	KUNIT_EXPECT_EQ(test, env.fv->events_len, 1);
	KUNIT_EXPECT_EQ(test, env.fv->resets, 0);
}

/**
 * struct pm_order_param - an order in which the PM core calls a device
 * @desc: description of the case
 * @freeze_noirq: the PM core reaches the noirq phase for this device
 * @freeze_noirq_err: error injected into the driver's freeze_noirq
 * @restore_noirq: the PM core calls resume_noirq for this device
 * @resets: expected device resets
 * @state: expected &virtio_device.noirq_state at the end
 */
struct pm_order_param {
	const char *desc;
	bool freeze_noirq;
	int freeze_noirq_err;
	bool restore_noirq;
	unsigned int resets;
	enum virtio_noirq_state state;
};

static const struct pm_order_param pm_order_params[] = {
	{ "full cycle", true, 0, true, 1, VIRTIO_NOIRQ_RESTORED },
	{ "suspend aborted before the noirq phase", false, 0, false, 0,
	  VIRTIO_NOIRQ_NONE },
	{ "this device fails freeze_noirq", true, -EBUSY, false, 0,
	  VIRTIO_NOIRQ_NONE },
	{ "another device fails freeze_noirq later", true, 0, true, 1,
	  VIRTIO_NOIRQ_RESTORED },
};

KUNIT_ARRAY_PARAM_DESC(pm_order, pm_order_params, desc);

/*
 * Whatever the PM core got to, the normal restore brings the device back:
 * re-initialised at most once, DRIVER_OK set, config delivery enabled.
 */
static void restore_after_each_pm_order(struct kunit *test)
{
	const struct pm_order_param *p = test->param_value;
	struct noirq_env env = noirq_env_default(test);
	int ret;

	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	if (p->freeze_noirq) {
		env.fd->err[FAKE_DRV_FREEZE_NOIRQ] = p->freeze_noirq_err;
		ret = virtio_device_freeze_noirq(&env.fv->vdev);
		KUNIT_EXPECT_EQ(test, ret, p->freeze_noirq_err);
	}
	if (p->restore_noirq)
		KUNIT_EXPECT_EQ(test,
				virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);

	expect_calls(test, env.fd, 1, p->freeze_noirq, p->restore_noirq, 1);
	KUNIT_EXPECT_EQ(test, env.fv->resets, p->resets);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, p->state);
	KUNIT_EXPECT_EQ(test, env.fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, fake_vdev_count_events(env.fv,
						     FAKE_EV_SET_STATUS),
			p->resets ? 4 : 0);
	KUNIT_EXPECT_TRUE(test, config_delivery_enabled(env.fd));
	expect_vqs_unmoved(test, env.fv);
}

/* A driver without noirq callbacks: noirq entry points are no-ops. */
static void plain_driver_cycle_is_unchanged(struct kunit *test)
{
	struct noirq_env env = noirq_env_create(test, &fake_noirq_ops,
						FAKE_FEATURES_MODERN,
						&fake_driver_default);
	const struct fake_event exp[] = {
		EV(DRV_FREEZE, 0),
		EV(RESET, 0),
		EV(SET_STATUS, ST_ACK),
		EV(SET_STATUS, ST_ACK | ST_DRV),
		EV(FINALIZE, 0),
		EV(SET_STATUS, ST_ACK | ST_DRV | ST_FOK),
		EV(DRV_RESTORE, 0),
		EV(SET_STATUS, ST_LIVE),
	};

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);

	fake_vdev_expect_events_nosync(test, env.fv, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, env.fv->resets, 1);
	KUNIT_EXPECT_EQ(test, env.fv->ops[FAKE_OP_RESET_VQS].calls, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
}

/* No driver bound: all four entry points succeed, restore stops at ACK. */
static void no_driver_all_entry_points(struct kunit *test)
{
	struct fake_vdev *fv = bare_vdev(test, &fake_noirq_ops);
	const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK),
	};

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_freeze_noirq(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, fv->status_log_len, 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fv->vdev), 0);
	fake_vdev_expect_status_log(test, fv, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
}

/**
 * config_change_event() - where the config change was delivered
 * @fv: the fake device
 *
 * Return: the index of the only config change event in the log, or 0 if
 * there is none (or more than one).
 */
static unsigned int config_change_event(const struct fake_vdev *fv)
{
	unsigned int i, found = 0, n = 0;

	for (i = 0; i < fv->events_len; i++) {
		if (fv->events[i].type == FAKE_EV_DRV_CONFIG_CHANGED) {
			found = i;
			n++;
		}
	}
	return n == 1 ? found : 0;
}

/**
 * struct config_param - a config change raised while the device sleeps
 * @desc: description of the case
 * @ready_in_noirq: the driver sets DRIVER_OK in restore_noirq
 * @driver_disabled: the driver disabled config delivery before the freeze
 */
struct config_param {
	const char *desc;
	bool ready_in_noirq;
	bool driver_disabled;
};

static const struct config_param config_params[] = {
	{ "delivered by the noirq enable", true, false },
	{ "delivered by the normal enable", false, false },
	{ "held while the driver disabled delivery", true, true },
};

KUNIT_ARRAY_PARAM_DESC(config, config_params, desc);

/*
 * A config change raised while asleep is delivered exactly once: in the
 * noirq phase if restore_noirq set DRIVER_OK, else after the normal
 * restore, and only once the driver enables delivery if it disabled it.
 */
static void pending_config_change_delivered_once(struct kunit *test)
{
	const struct config_param *p = test->param_value;
	struct noirq_env env = noirq_env_default(test);
	unsigned int *calls = &env.fd->calls[FAKE_DRV_CONFIG_CHANGED];
	unsigned int restored, i;

	env.fd->ready_in_restore_noirq = p->ready_in_noirq;
	if (p->driver_disabled)
		virtio_config_driver_disable(&env.fv->vdev);

	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	virtio_config_changed(&env.fv->vdev);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	virtio_config_changed(&env.fv->vdev);
	KUNIT_EXPECT_EQ(test, *calls, 0);

	KUNIT_ASSERT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	restored = p->ready_in_noirq && !p->driver_disabled;
	KUNIT_EXPECT_EQ(test, *calls, restored);
	KUNIT_ASSERT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, *calls, p->driver_disabled ? 0 : 1);

	if (p->driver_disabled)
		virtio_config_driver_enable(&env.fv->vdev);
	KUNIT_EXPECT_EQ(test, *calls, 1);

	/* Delivered right after DRIVER_OK, or when the driver enabled it. */
	i = config_change_event(env.fv);
	KUNIT_ASSERT_GT(test, i, 0);
	if (p->driver_disabled) {
		KUNIT_EXPECT_EQ(test, i, env.fv->events_len - 1);
	} else {
		KUNIT_EXPECT_EQ(test, env.fv->events[i - 1].type,
				FAKE_EV_SET_STATUS);
		KUNIT_EXPECT_TRUE(test, env.fv->events[i - 1].value & ST_DOK);
	}
	KUNIT_EXPECT_TRUE(test, config_delivery_enabled(env.fd));
}

/* Repeated cycles behave the same: nothing leaks from one to the next. */
static void repeated_cycles_are_identical(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);
	unsigned int cycle, i;

	env.fd->ready_in_restore_noirq = true;
	for (cycle = 0; cycle < 3; cycle++) {
		fake_vdev_clear_logs(env.fv);
		fake_driver_clear_counts(env.fd);

		KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
		KUNIT_ASSERT_EQ(test, env.fv->vdev.noirq_state,
				VIRTIO_NOIRQ_NONE);
		KUNIT_ASSERT_EQ(test,
				virtio_device_freeze_noirq(&env.fv->vdev), 0);
		KUNIT_ASSERT_EQ(test,
				virtio_device_restore_noirq(&env.fv->vdev), 0);
		KUNIT_ASSERT_EQ(test, virtio_device_restore(&env.fv->vdev), 0);

		KUNIT_EXPECT_EQ_MSG(test, env.fv->resets, 1, "cycle %u", cycle);
		KUNIT_EXPECT_EQ_MSG(test, env.fv->events_len, 11,
				    "cycle %u", cycle);
		for (i = 0; i < ARRAY_SIZE(noirq_reinit_events); i++)
			KUNIT_EXPECT_EQ_MSG(test, env.fv->events[i + 2].type,
					    noirq_reinit_events[i].type,
					    "cycle %u event %u", cycle, i + 2);
		expect_calls(test, env.fd, 1, 1, 1, 1);
		KUNIT_EXPECT_EQ(test, env.fv->status, ST_LIVE);
		KUNIT_EXPECT_EQ(test, env.fv->vqs[0].reinits, cycle + 1);
	}
	expect_vqs_unmoved(test, env.fv);
}

/**
 * struct flr_param - the state a noirq cycle leaves before an FLR
 * @desc: description of the case
 * @restore_noirq_err: error injected into the driver's restore_noirq
 */
struct flr_param {
	const char *desc;
	int restore_noirq_err;
};

static const struct flr_param flr_params[] = {
	{ "after a successful noirq cycle", 0 },
	{ "after a failed noirq restore", -EIO },
};

KUNIT_ARRAY_PARAM_DESC(flr, flr_params, desc);

/* reset_prepare/reset_done after a noirq cycle: always a full re-init. */
static void reset_done_after_noirq_cycle_reinits(struct kunit *test)
{
	const struct flr_param *p = test->param_value;
	struct noirq_env env = noirq_env_default(test);
	u8 failed = p->restore_noirq_err ? ST_FAIL : 0;
	const struct fake_event exp[] = {
		EV(DRV_RESET_PREPARE, 0),
		EV(RESET, 0),
		EV(SET_STATUS, ST_ACK),
		EV(SET_STATUS, ST_ACK | failed),
		EV(SET_STATUS, ST_ACK | ST_DRV | failed),
		EV(FINALIZE, 0),
		EV(SET_STATUS, ST_ACK | ST_DRV | ST_FOK | failed),
		EV(DRV_RESET_DONE, 0),
		EV(SET_STATUS, ST_LIVE | failed),
	};

	env.fd->err[FAKE_DRV_RESTORE_NOIRQ] = p->restore_noirq_err;
	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_freeze_noirq(&env.fv->vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev),
			p->restore_noirq_err);
	virtio_device_restore(&env.fv->vdev);
	fake_vdev_clear_logs(env.fv);
	fake_driver_clear_counts(env.fd);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_prepare(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&env.fv->vdev), 0);

	/* Without a failure there is no separate FAILED write. */
	if (failed) {
		fake_vdev_expect_events_nosync(test, env.fv, exp, ARRAY_SIZE(exp));
	} else {
		const struct fake_event clean[] = {
			exp[0], exp[1], exp[2], exp[4], exp[5], exp[6],
			exp[7], exp[8],
		};

		fake_vdev_expect_events_nosync(test, env.fv, clean, ARRAY_SIZE(clean));
	}
	KUNIT_EXPECT_EQ(test, env.fv->resets, 1);
	KUNIT_EXPECT_EQ(test, env.fd->calls[FAKE_DRV_RESET_DONE], 1);
}

static struct kunit_case noirq_restore_cases[] = {
	KUNIT_CASE_PARAM(full_cycle_event_sequence, cycle_gen_params),
	KUNIT_CASE(vqs_usable_after_noirq_restore),
	KUNIT_CASE_PARAM(restore_noirq_failure_makes_restore_fail,
			 restore_fail_gen_params),
	KUNIT_CASE_PARAM(restore_noirq_irqs_off_never_sleeps,
			 noirq_phase_gen_params),
	KUNIT_CASE_PARAM(noirq_phase_allocates_nothing,
			 noirq_phase_gen_params),
	KUNIT_CASE_PARAM(hibernation_restore_starts_from_reset,
			 hibernation_gen_params),
	KUNIT_CASE(rx_buffers_survive_noirq_cycle),
	KUNIT_CASE(restore_noirq_without_reset_vqs_fails),
	KUNIT_CASE(restore_in_entered_state_fails_and_breaks),
	KUNIT_CASE(restore_noirq_is_noop_without_noirq_driver),
	KUNIT_CASE_PARAM(restore_after_each_pm_order, pm_order_gen_params),
	KUNIT_CASE(plain_driver_cycle_is_unchanged),
	KUNIT_CASE(no_driver_all_entry_points),
	KUNIT_CASE_PARAM(pending_config_change_delivered_once,
			 config_gen_params),
	KUNIT_CASE(repeated_cycles_are_identical),
	KUNIT_CASE_PARAM(reset_done_after_noirq_cycle_reinits,
			 flr_gen_params),
	{}
};

static struct kunit_suite virtio_noirq_restore_suite = {
	.name = "virtio_noirq_restore",
	.test_cases = noirq_restore_cases,
};

/* ---------------------------------------------------------------------- */
/* Re-initialising a ring in place                                        */
/* ---------------------------------------------------------------------- */

/**
 * struct layout_param - a virtqueue layout
 * @desc: description of the case
 * @features: device features that select the layout
 * @packed: the layout is packed
 * @in_order: the layout is in-order
 */
struct layout_param {
	const char *desc;
	u64 features;
	bool packed;
	bool in_order;
};

#define F_PACKED	BIT_ULL(VIRTIO_F_RING_PACKED)
#define F_IN_ORDER	BIT_ULL(VIRTIO_F_IN_ORDER)

static const struct layout_param layout_params[] = {
	{ "split", FAKE_FEATURES_MODERN, false, false },
	{ "packed", FAKE_FEATURES_MODERN | F_PACKED, true, false },
	{ "split in-order", FAKE_FEATURES_MODERN | F_IN_ORDER, false, true },
	{ "packed in-order", FAKE_FEATURES_MODERN | F_PACKED | F_IN_ORDER,
	  true, true },
};

KUNIT_ARRAY_PARAM_DESC(layout, layout_params, desc);

/**
 * layout_vq() - bind a noirq driver to a device of the ring layout @p
 * @test: the test
 * @env: filled with the device and driver
 * @p: the ring layout
 *
 * Return: the driver's first virtqueue.
 */
static struct virtqueue *layout_vq(struct kunit *test, struct noirq_env *env,
				   const struct layout_param *p)
{
	struct virtio_device *vdev;

	*env = noirq_env_create(test, &fake_noirq_ops, p->features,
				&fake_driver_noirq);
	vdev = &env->fv->vdev;
	KUNIT_ASSERT_EQ(test, virtio_has_feature(vdev, VIRTIO_F_RING_PACKED),
			p->packed);
	KUNIT_ASSERT_EQ(test, virtio_has_feature(vdev, VIRTIO_F_IN_ORDER),
			p->in_order);
	return env->fd->vqs[0];
}

/**
 * first_avail_addr() - where the ring describes the first buffer made available
 * @vq: the virtqueue
 * @packed: the ring is packed
 * @head: set to the descriptor index of that buffer
 *
 * Return: the buffer address in that descriptor, or 0 if no buffer is
 * available.
 */
static u64 first_avail_addr(struct virtqueue *vq, bool packed,
			    unsigned int *head)
{
	struct virtio_device *vdev = vq->vdev;
	struct vring_packed_desc *pdesc;
	struct vring_avail *avail;
	struct vring_desc *desc;

	if (packed) {
		pdesc = phys_to_virt(virtqueue_get_desc_addr(vq));
		*head = 0;
		if (!(le16_to_cpu(pdesc[0].flags) &
		      BIT(VRING_PACKED_DESC_F_AVAIL)))
			return 0;
		return le64_to_cpu(pdesc[0].addr);
	}

	avail = phys_to_virt(virtqueue_get_avail_addr(vq));
	desc = phys_to_virt(virtqueue_get_desc_addr(vq));
	if (virtio16_to_cpu(vdev, avail->idx) != 1)
		return 0;
	*head = virtio16_to_cpu(vdev, avail->ring[0]);
	return virtio64_to_cpu(vdev, desc[*head].addr);
}

/*
 * After buffers went through the ring, re-initialising it in place (same
 * memory) makes the next buffer start the ring again, in-order rings
 * from descriptor 0.
 */
static void reinit_vring_restarts_ring(struct kunit *test)
{
	const struct layout_param *p = test->param_value;
	struct noirq_env env;
	struct virtqueue *vq = layout_vq(test, &env, p);
	struct scatterlist sg;
	unsigned int i, head = ~0U;
	u8 *buf;

	for (i = 0; i < 3; i++)
		fake_driver_queue_buf(test, env.fd, 0);
	while (virtqueue_detach_unused_buf(vq))
		;
	KUNIT_ASSERT_EQ(test, vq->num_free, FAKE_VQ_NUM);

	virtqueue_reinit_vring(vq);
	KUNIT_EXPECT_EQ(test, vq->num_free, FAKE_VQ_NUM);
	KUNIT_EXPECT_TRUE(test, fake_vdev_rings_unmoved(env.fv, 0));

	buf = kunit_kzalloc(test, 16, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	sg_init_one(&sg, buf, 16);
	KUNIT_ASSERT_EQ(test, virtqueue_add_outbuf(vq, &sg, 1, buf,
						   GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, first_avail_addr(vq, p->packed, &head),
			(u64)virt_to_phys(buf));
	if (p->in_order)
		KUNIT_EXPECT_EQ(test, head, 0);
	KUNIT_EXPECT_PTR_EQ(test, virtqueue_detach_unused_buf(vq), buf);
}

static struct kunit_case noirq_ring_cases[] = {
	KUNIT_CASE_PARAM(reinit_vring_restarts_ring, layout_gen_params),
	{}
};

static struct kunit_suite virtio_noirq_ring_suite = {
	.name = "virtio_noirq_ring",
	.test_cases = noirq_ring_cases,
};

kunit_test_suites(&virtio_noirq_helpers_suite, &virtio_noirq_freeze_suite,
		  &virtio_noirq_restore_suite, &virtio_noirq_ring_suite);

#if IS_ENABLED(CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST)
/* ---------------------------------------------------------------------- */
/* Series extras: choices the contract leaves to the implementation        */
/* ---------------------------------------------------------------------- */

/*
 * This series logs a refusal: the first refusal on a quiet log prints a
 * line that names the device (rate-limited, never a WARN).
 */
static void extras_refusal_logs_a_line(struct kunit *test)
{
	struct noirq_env env = noirq_env_create(test, &fake_unsafe_ops,
						FAKE_FEATURES_MODERN,
						&fake_driver_noirq);
	struct fake_console_watch *w;

	w = fake_console_watch(test, dev_name(&env.fv->vdev.dev));
	KUNIT_EXPECT_EQ(test,
			freeze_expect_refusal_without_warn(test, env.fv),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, atomic_read(&w->lines), 1);
}

/*
 * This series' guard: restore_noirq leaves a device alone whose noirq
 * phase never started (the PM core never calls it so).
 */
static void extras_restore_noirq_ignores_device_not_entered(struct kunit *test)
{
	struct noirq_env env = noirq_env_default(test);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&env.fv->vdev), 0);
	fake_vdev_clear_logs(env.fv);
	KUNIT_EXPECT_EQ(test, virtio_device_restore_noirq(&env.fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, env.fv->events_len, 0);
	KUNIT_EXPECT_EQ(test, env.fv->vdev.noirq_state, VIRTIO_NOIRQ_NONE);
}

/*
 * This series' virtqueue_reinit_vring() returns an error code: a ring
 * with a buffer outstanding is not re-initialised: -EBUSY, a
 * warning (once per boot), and the buffer is still there.
 */
static void extras_reinit_vring_refuses_outstanding_buffers(struct kunit *test)
{
	const struct layout_param *p = test->param_value;
	struct noirq_env env;
	struct virtqueue *vq = layout_vq(test, &env, p);
	unsigned int head;
	int ret;

	fake_driver_queue_buf(test, env.fd, 0);
	kunit_warning_suppress(test) {
		ret = virtqueue_reinit_vring(vq);
		KUNIT_EXPECT_LE(test, KUNIT_SUPPRESSED_WARNING_COUNT(), 1);
	}
	KUNIT_EXPECT_EQ(test, ret, -EBUSY);
	KUNIT_EXPECT_EQ(test, vq->num_free, FAKE_VQ_NUM - 1);
	KUNIT_EXPECT_NE(test, first_avail_addr(vq, p->packed, &head), 0);
	KUNIT_EXPECT_NOT_NULL(test, virtqueue_detach_unused_buf(vq));
}

static struct kunit_case noirq_extras_cases[] = {
	KUNIT_CASE(extras_refusal_logs_a_line),
	KUNIT_CASE(extras_restore_noirq_ignores_device_not_entered),
	KUNIT_CASE_PARAM(extras_reinit_vring_refuses_outstanding_buffers,
			 layout_gen_params),
	{}
};

static struct kunit_suite virtio_noirq_extras_suite = {
	.name = "virtio_noirq_extras",
	.test_cases = noirq_extras_cases,
};

kunit_test_suite(virtio_noirq_extras_suite);
#endif /* CONFIG_VIRTIO_NOIRQ_EXTRAS_KUNIT_TEST */

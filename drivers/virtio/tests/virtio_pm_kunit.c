// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the system sleep and FLR paths of the virtio core:
 * virtio_device_freeze(), virtio_device_restore(),
 * virtio_device_reset_prepare() and virtio_device_reset_done().
 *
 * A fake driver is bound to a fake transport through the real virtio bus;
 * the tests check what the fake device observed: status writes, resets,
 * feature negotiation, virtqueue operations and driver callbacks, in order.
 */

#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "fake_transport.h"

/* Expected event: a set_status of @s, or an event without a value. */
#define EV_ST(s)	FAKE_EV(FAKE_EV_SET_STATUS, s)
#define EV(t)		FAKE_EV(FAKE_EV_##t, 0)

/* Expected call counts, indexed by enum fake_drv_cb / enum fake_op. */
#define DRV_CALLS(...)	((const unsigned int [FAKE_DRV_NR]) { __VA_ARGS__ })
#define OP_CALLS(...)	((const unsigned int [FAKE_OP_NR]) { __VA_ARGS__ })

/* The status writes of a full re-init of a bound modern device. */
static const struct fake_status_write reinit_log_modern[] = {
	FAKE_SW_RESET,
	FAKE_SW(ST_ACK),
	FAKE_SW(ST_ACK | ST_DRV),
	FAKE_SW(ST_ACK | ST_DRV | ST_FOK),
	FAKE_SW(ST_LIVE),
};

/* The same for a legacy device: no FEATURES_OK. */
static const struct fake_status_write reinit_log_legacy[] = {
	FAKE_SW_RESET,
	FAKE_SW(ST_ACK),
	FAKE_SW(ST_ACK | ST_DRV),
	FAKE_SW(ST_ACK | ST_DRV | ST_DOK),
};

/* Transport ops of a successful re-init of a device without virtqueue work. */
#define REINIT_OPS(nstatus) \
	OP_CALLS([FAKE_OP_RESET] = 1, [FAKE_OP_SET_STATUS] = (nstatus), \
		 [FAKE_OP_FINALIZE] = 1)

/* Driver templates: which optional callbacks the driver implements. */
static const struct virtio_driver drv_no_callbacks = { };

static const struct virtio_driver drv_config_only = {
	.config_changed = fake_drv_config_changed,
};

static const struct virtio_driver drv_reset_prepare_only = {
	.config_changed = fake_drv_config_changed,
	.reset_prepare = fake_drv_reset_prepare,
};

static const struct virtio_driver drv_reset_done_only = {
	.config_changed = fake_drv_config_changed,
	.reset_done = fake_drv_reset_done,
};

static void expect_drv_calls(struct kunit *test, const struct fake_driver *fd,
			     const unsigned int *exp)
{
	enum fake_drv_cb cb;

	for (cb = 0; cb < FAKE_DRV_NR; cb++)
		KUNIT_EXPECT_EQ_MSG(test, fd->calls[cb], exp[cb],
				    "driver callback %d", cb);
}

/*
 * Check every counted transport op except the side-effect free reads
 * (get_status, get), whose number is an implementation detail, and the
 * callback synchronisations, which notification hardening adds before each
 * reset and DRIVER_OK: fake_vdev_expect_syncs() checks those.
 */
static void expect_op_calls(struct kunit *test, const struct fake_vdev *fv,
			    const unsigned int *exp)
{
	enum fake_op op;

	KUNIT_EXPECT_EQ(test, exp[FAKE_OP_SYNC_CBS], 0);
	fake_vdev_expect_syncs(test, fv);
	for (op = 0; op < FAKE_OP_NR; op++) {
		if (op == FAKE_OP_GET_STATUS || op == FAKE_OP_GET ||
		    op == FAKE_OP_SYNC_CBS)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, fv->ops[op].calls, exp[op],
				    "transport op %d", op);
	}
}

static struct fake_driver *bind_fake(struct kunit *test, u64 features,
				     const struct virtio_driver *tmpl)
{
	struct fake_vdev *fv;

	fv = fake_vdev_create(test, &fake_virtio_config_ops, features);
	return fake_driver_create(test, fv, tmpl);
}

static void clear_all(struct fake_driver *fd)
{
	fake_driver_clear_counts(fd);
	fake_vdev_clear_logs(fd->fv);
}

/* Freeze a bound device and forget what the freeze did. */
static void freeze_and_clear(struct kunit *test, struct fake_driver *fd)
{
	KUNIT_ASSERT_EQ(test, virtio_device_freeze(&fd->fv->vdev), 0);
	clear_all(fd);
}

/* ---- virtio_pm_fake: the fake itself, bound through the real bus ---- */

/* Registration resets the device and sets ACKNOWLEDGE, nothing else. */
static void fake_registration_resets_and_acknowledges(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK),
	};
	struct fake_vdev *fv;

	fv = fake_vdev_create(test, &fake_virtio_config_ops,
			      FAKE_FEATURES_MODERN);

	FAKE_EXPECT_STATUS_LOG(test, fv, exp);
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK);
	KUNIT_EXPECT_EQ(test, fv->resets, 1);
	expect_op_calls(test, fv, OP_CALLS([FAKE_OP_RESET] = 1,
					   [FAKE_OP_SET_STATUS] = 1));
	KUNIT_EXPECT_NULL(test, fv->vdev.dev.driver);
}

/* Binding goes through virtio_dev_probe(): the real probe status sequence. */
static void fake_probe_negotiates_through_real_bus(struct kunit *test)
{
	static const struct fake_event exp[] = {
		EV_ST(ST_ACK | ST_DRV),
		EV(FINALIZE),
		EV_ST(ST_ACK | ST_DRV | ST_FOK),
		EV(DRV_PROBE),
		FAKE_EV(FAKE_EV_FIND_VQS, FAKE_DRV_MAX_VQS),
		EV_ST(ST_LIVE),
	};
	struct fake_driver *fd;
	struct fake_vdev *fv;

	fv = fake_vdev_create(test, &fake_virtio_config_ops,
			      FAKE_FEATURES_MODERN);
	fake_vdev_clear_logs(fv);
	fd = fake_driver_init(test, fv, &fake_driver_default);
	fake_driver_register(test, fd);

	KUNIT_ASSERT_TRUE(test, fake_driver_bound(fd));
	FAKE_EXPECT_EVENTS(test, fv, exp);
	KUNIT_EXPECT_EQ(test, fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, fv->driver_features,
			BIT_ULL(FAKE_F_A) | BIT_ULL(VIRTIO_F_VERSION_1));
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_PROBE],
			ST_ACK | ST_DRV | ST_FOK);
	KUNIT_EXPECT_NOT_NULL(test, fd->vqs[0]);
	KUNIT_EXPECT_NOT_NULL(test, fd->vqs[1]);
	KUNIT_EXPECT_EQ(test, fv->vqs[0].created, 1);
	KUNIT_EXPECT_EQ(test, fv->vqs[1].created, 1);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_PROBE] = 1));
	expect_op_calls(test, fv, OP_CALLS([FAKE_OP_SET_STATUS] = 3,
					   [FAKE_OP_FINALIZE] = 1,
					   [FAKE_OP_GET_FEATURES] = 1,
					   [FAKE_OP_FIND_VQS] = 1));
	fake_vdev_expect_process_context(test, fv);
}

/* Unbinding runs remove, which resets and deletes the virtqueues. */
static void fake_unbind_resets_and_deletes_vqs(struct kunit *test)
{
	static const struct fake_event exp[] = {
		EV(DRV_REMOVE),
		EV(RESET),
		EV(DEL_VQS),
		EV_ST(ST_ACK),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	fake_driver_unregister(test, fd);

	KUNIT_EXPECT_FALSE(test, fake_driver_bound(fd));
	FAKE_EXPECT_EVENTS(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_ACK);
	KUNIT_EXPECT_NULL(test, fd->fv->vqs[0].vq);
	KUNIT_EXPECT_NULL(test, fd->fv->vqs[1].vq);
	KUNIT_EXPECT_TRUE(test, list_empty(&fd->fv->vdev.vqs));
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_REMOVE] = 1));
}

/* The fake records interrupts-off and atomic context per op call. */
static void fake_records_calling_context(struct kunit *test)
{
	struct fake_vdev *fv;
	unsigned long flags;

	fv = fake_vdev_create(test, &fake_virtio_config_ops,
			      FAKE_FEATURES_MODERN);
	fake_vdev_clear_logs(fv);

	local_irq_save(flags);
	fv->vdev.config->reset(&fv->vdev);
	local_irq_restore(flags);

	preempt_disable();
	fv->vdev.config->get_status(&fv->vdev);
	preempt_enable();

	fv->vdev.config->get_status(&fv->vdev);

	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_RESET].calls, 1);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_RESET].irqs_off, 1);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_RESET].atomic, 0);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_GET_STATUS].calls, 2);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_GET_STATUS].irqs_off, 0);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_GET_STATUS].atomic, 1);
	KUNIT_ASSERT_EQ(test, fv->events_len, 1);
	KUNIT_EXPECT_TRUE(test, fv->events[0].irqs_off);
}

/* A failing find_vqs fails probe: FAILED is set, the driver is unbound. */
static void fake_find_vqs_failure_fails_probe(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW(ST_ACK | ST_DRV),
		FAKE_SW(ST_ACK | ST_DRV | ST_FOK),
		FAKE_SW(ST_ACK | ST_DRV | ST_FOK | ST_FAIL),
	};
	struct fake_driver *fd;
	struct fake_vdev *fv;

	fv = fake_vdev_create(test, &fake_virtio_config_ops,
			      FAKE_FEATURES_MODERN);
	fake_vdev_clear_logs(fv);
	fv->ops[FAKE_OP_FIND_VQS].err = -ENOSPC;
	fd = fake_driver_init(test, fv, &fake_driver_default);
	fake_driver_register(test, fd);

	KUNIT_EXPECT_FALSE(test, fake_driver_bound(fd));
	FAKE_EXPECT_STATUS_LOG(test, fv, exp);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_FIND_VQS].calls, 1);
	KUNIT_EXPECT_EQ(test, fv->vqs[0].created, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&fv->vdev.vqs));
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_PROBE] = 1));
}

/* A device that drops FEATURES_OK makes probe fail before the driver runs. */
static void fake_refused_features_ok_fails_probe(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW(ST_ACK | ST_DRV),
		FAKE_SW(ST_ACK | ST_DRV | ST_FOK),
		FAKE_SW(ST_ACK | ST_DRV | ST_FAIL),
	};
	struct fake_driver *fd;
	struct fake_vdev *fv;

	fv = fake_vdev_create(test, &fake_virtio_config_ops,
			      FAKE_FEATURES_MODERN);
	fake_vdev_clear_logs(fv);
	fv->refuse_features_ok = true;
	fd = fake_driver_init(test, fv, &fake_driver_default);
	fake_driver_register(test, fd);

	KUNIT_EXPECT_FALSE(test, fake_driver_bound(fd));
	FAKE_EXPECT_STATUS_LOG(test, fv, exp);
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK | ST_DRV | ST_FAIL);
	expect_drv_calls(test, fd, DRV_CALLS());
}

static struct kunit_case virtio_pm_fake_cases[] = {
	KUNIT_CASE(fake_registration_resets_and_acknowledges),
	KUNIT_CASE(fake_probe_negotiates_through_real_bus),
	KUNIT_CASE(fake_unbind_resets_and_deletes_vqs),
	KUNIT_CASE(fake_records_calling_context),
	KUNIT_CASE(fake_find_vqs_failure_fails_probe),
	KUNIT_CASE(fake_refused_features_ok_fails_probe),
	{}
};

static struct kunit_suite virtio_pm_fake_suite = {
	.name = "virtio_pm_fake",
	.test_cases = virtio_pm_fake_cases,
};

/* ---- virtio_pm_restore: virtio_device_freeze() and _restore() ---- */

/* Freeze only calls the driver: no status write, no reset. */
static void freeze_calls_driver_and_leaves_device_alone(struct kunit *test)
{
	static const struct fake_event exp[] = {
		EV(DRV_FREEZE),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_FREEZE], ST_LIVE);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_FREEZE] = 1));
	expect_op_calls(test, fd->fv, OP_CALLS());
}

/* Restore: reset, ACK, DRIVER, FEATURES_OK, driver restore, DRIVER_OK. */
static void restore_writes_exact_status_sequence(struct kunit *test)
{
	static const struct fake_event exp[] = {
		EV(RESET),
		EV_ST(ST_ACK),
		EV_ST(ST_ACK | ST_DRV),
		EV(FINALIZE),
		EV_ST(ST_ACK | ST_DRV | ST_FOK),
		EV(DRV_RESTORE),
		EV_ST(ST_LIVE),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	freeze_and_clear(test, fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp);
	FAKE_EXPECT_STATUS_LOG(test, fd->fv, reinit_log_modern);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, fd->fv->resets, 1);
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_RESTORE],
			ST_ACK | ST_DRV | ST_FOK);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1));
	expect_op_calls(test, fd->fv, REINIT_OPS(4));
	fake_vdev_expect_process_context(test, fd->fv);
}

/* Restore finalises the same features that probe negotiated. */
static void restore_finalizes_probed_features(struct kunit *test)
{
	struct fake_driver *fd;
	u64 probed;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	probed = fd->fv->driver_features;
	fd->fv->driver_features = 0;
	freeze_and_clear(test, fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, fd->fv->ops[FAKE_OP_FINALIZE].calls, 1);
	KUNIT_EXPECT_EQ(test, fd->fv->ops[FAKE_OP_GET_FEATURES].calls, 0);
	KUNIT_EXPECT_EQ(test, fd->fv->driver_features, probed);
	KUNIT_EXPECT_EQ(test, fd->fv->driver_features,
			BIT_ULL(FAKE_F_A) | BIT_ULL(VIRTIO_F_VERSION_1));
}

/* Every freeze/restore cycle resets once and writes the same sequence. */
static void restore_repeated_cycles_reset_once_each(struct kunit *test)
{
	struct fake_driver *fd;
	unsigned int cycle;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);

	for (cycle = 0; cycle < 3; cycle++) {
		freeze_and_clear(test, fd);
		KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
		FAKE_EXPECT_STATUS_LOG(test, fd->fv, reinit_log_modern);
		KUNIT_EXPECT_EQ(test, fd->fv->resets, 1);
		KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
		expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1));
		expect_op_calls(test, fd->fv, REINIT_OPS(4));
	}
}

/**
 * struct pm_features_param - a device flavour
 * @name: description
 * @features: device features
 * @log: expected status writes of a re-init
 * @log_len: number of entries in @log
 */
struct pm_features_param {
	const char *name;
	u64 features;
	const struct fake_status_write *log;
	unsigned int log_len;
};

static const struct pm_features_param pm_features_params[] = {
	{
		.name = "modern",
		.features = FAKE_FEATURES_MODERN,
		.log = reinit_log_modern,
		.log_len = ARRAY_SIZE(reinit_log_modern),
	},
	{
		.name = "legacy",
		.features = FAKE_FEATURES_LEGACY,
		.log = reinit_log_legacy,
		.log_len = ARRAY_SIZE(reinit_log_legacy),
	},
};

static void pm_features_desc(const struct pm_features_param *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pm_features, pm_features_params, pm_features_desc);

/* FEATURES_OK is written (and checked) only for VERSION_1 devices. */
static void restore_features_ok_only_with_version_1(struct kunit *test)
{
	const struct pm_features_param *p = test->param_value;
	struct fake_driver *fd;

	fd = bind_fake(test, p->features, &fake_driver_default);
	freeze_and_clear(test, fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	fake_vdev_expect_status_log(test, fd->fv, p->log, p->log_len);
	KUNIT_EXPECT_EQ(test, fd->fv->status, p->log[p->log_len - 1].status);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1));
	expect_op_calls(test, fd->fv, REINIT_OPS(p->log_len - 1));
}

/* FAILED set before freeze comes back right after ACKNOWLEDGE. */
static void restore_keeps_failed_status(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK),
		FAKE_SW(ST_ACK | ST_FAIL),
		FAKE_SW(ST_ACK | ST_FAIL | ST_DRV),
		FAKE_SW(ST_ACK | ST_FAIL | ST_DRV | ST_FOK),
		FAKE_SW(ST_LIVE | ST_FAIL),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	virtio_add_status(&fd->fv->vdev, ST_FAIL);
	freeze_and_clear(test, fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	FAKE_EXPECT_STATUS_LOG(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE | ST_FAIL);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1));
	expect_op_calls(test, fd->fv, REINIT_OPS(5));
}

/**
 * struct pm_failure_param - one failure injected into a re-init
 * @name: description
 * @finalize_err: error of finalize_features
 * @refuse_features_ok: the device drops FEATURES_OK
 * @drv_err: error of the driver's restore (or reset_done)
 * @ret: expected return value
 * @drv_calls: expected calls of the driver's restore (or reset_done)
 * @log: expected status writes
 * @log_len: number of entries in @log
 */
struct pm_failure_param {
	const char *name;
	int finalize_err;
	bool refuse_features_ok;
	int drv_err;
	int ret;
	unsigned int drv_calls;
	struct fake_status_write log[6];
	unsigned int log_len;
};

static const struct pm_failure_param pm_failure_params[] = {
	{
		.name = "finalize_features -EIO",
		.finalize_err = -EIO,
		.ret = -EIO,
		.log = {
			FAKE_SW_RESET,
			FAKE_SW(ST_ACK),
			FAKE_SW(ST_ACK | ST_DRV),
			FAKE_SW(ST_ACK | ST_DRV | ST_FAIL),
		},
		.log_len = 4,
	},
	{
		.name = "finalize_features -ENOMEM",
		.finalize_err = -ENOMEM,
		.ret = -ENOMEM,
		.log = {
			FAKE_SW_RESET,
			FAKE_SW(ST_ACK),
			FAKE_SW(ST_ACK | ST_DRV),
			FAKE_SW(ST_ACK | ST_DRV | ST_FAIL),
		},
		.log_len = 4,
	},
	{
		.name = "device refuses FEATURES_OK",
		.refuse_features_ok = true,
		.ret = -ENODEV,
		.log = {
			FAKE_SW_RESET,
			FAKE_SW(ST_ACK),
			FAKE_SW(ST_ACK | ST_DRV),
			FAKE_SW(ST_ACK | ST_DRV | ST_FOK),
			FAKE_SW(ST_ACK | ST_DRV | ST_FAIL),
		},
		.log_len = 5,
	},
	{
		.name = "driver callback -EIO",
		.drv_err = -EIO,
		.ret = -EIO,
		.drv_calls = 1,
		.log = {
			FAKE_SW_RESET,
			FAKE_SW(ST_ACK),
			FAKE_SW(ST_ACK | ST_DRV),
			FAKE_SW(ST_ACK | ST_DRV | ST_FOK),
			FAKE_SW(ST_ACK | ST_DRV | ST_FOK | ST_FAIL),
		},
		.log_len = 5,
	},
	{
		.name = "driver callback -EAGAIN",
		.drv_err = -EAGAIN,
		.ret = -EAGAIN,
		.drv_calls = 1,
		.log = {
			FAKE_SW_RESET,
			FAKE_SW(ST_ACK),
			FAKE_SW(ST_ACK | ST_DRV),
			FAKE_SW(ST_ACK | ST_DRV | ST_FOK),
			FAKE_SW(ST_ACK | ST_DRV | ST_FOK | ST_FAIL),
		},
		.log_len = 5,
	},
};

static void pm_failure_desc(const struct pm_failure_param *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pm_failure, pm_failure_params, pm_failure_desc);

static void inject_failure(struct fake_driver *fd,
			   const struct pm_failure_param *p, enum fake_drv_cb cb)
{
	fd->fv->ops[FAKE_OP_FINALIZE].err = p->finalize_err;
	fd->fv->refuse_features_ok = p->refuse_features_ok;
	fd->err[cb] = p->drv_err;
}

/* Check the device state after a failed re-init. */
static void expect_failed_reinit(struct kunit *test, struct fake_driver *fd,
				 const struct pm_failure_param *p)
{
	const struct fake_status_write *last = &p->log[p->log_len - 1];

	fake_vdev_expect_status_log(test, fd->fv, p->log, p->log_len);
	KUNIT_EXPECT_EQ(test, fd->fv->status & ST_FAIL, ST_FAIL);
	KUNIT_EXPECT_EQ(test, fd->fv->status & ST_DOK, 0);
	KUNIT_EXPECT_EQ(test, fd->fv->status, last->status);
	KUNIT_EXPECT_EQ(test, fd->fv->resets, 1);
	KUNIT_EXPECT_EQ(test, fd->fv->ops[FAKE_OP_FINALIZE].calls, 1);
	KUNIT_EXPECT_EQ(test, fd->fv->ops[FAKE_OP_SET_STATUS].calls,
			p->log_len - 1);

	/* Config delivery stays off after a failed re-init. */
	virtio_config_changed(&fd->fv->vdev);
	KUNIT_EXPECT_EQ(test, fd->calls[FAKE_DRV_CONFIG_CHANGED], 0);
}

/* A failing step of restore returns its error, sets FAILED, no DRIVER_OK. */
static void restore_failure_sets_failed(struct kunit *test)
{
	const struct pm_failure_param *p = test->param_value;
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	freeze_and_clear(test, fd);
	inject_failure(fd, p, FAKE_DRV_RESTORE);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), p->ret);
	expect_failed_reinit(test, fd, p);
	expect_drv_calls(test, fd,
			 DRV_CALLS([FAKE_DRV_RESTORE] = p->drv_calls));
}

/* Restore with DRIVER_OK set by the driver does not write it again. */
static void restore_driver_sets_driver_ok_itself(struct kunit *test)
{
	static const struct fake_event exp[] = {
		EV(RESET),
		EV_ST(ST_ACK),
		EV_ST(ST_ACK | ST_DRV),
		EV(FINALIZE),
		EV_ST(ST_ACK | ST_DRV | ST_FOK),
		EV(DRV_RESTORE),
		EV_ST(ST_LIVE),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	fd->ready_in_restore = true;
	freeze_and_clear(test, fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1));
	expect_op_calls(test, fd->fv, REINIT_OPS(4));
}

/**
 * struct pm_table_param - a driver callback table
 * @name: description
 * @tmpl: the driver template
 */
struct pm_table_param {
	const char *name;
	const struct virtio_driver *tmpl;
};

/*
 * A table with freeze but no restore (or the reverse) is refused by the
 * noirq series, which requires the PM callbacks in pairs; see
 * freeze_refuses_unpaired_callbacks in virtio_noirq_kunit.c.
 */
static const struct pm_table_param pm_table_params[] = {
	{ "all callbacks", &fake_driver_default },
	{ "no callbacks", &drv_no_callbacks },
	{ "config_changed only", &drv_config_only },
	{ "reset_prepare only", &drv_reset_prepare_only },
	{ "reset_done only", &drv_reset_done_only },
};

static void pm_table_desc(const struct pm_table_param *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pm_table, pm_table_params, pm_table_desc);

/* Any callback table: restore re-inits, calls what exists, sets DRIVER_OK. */
static void restore_cycle_with_callback_table(struct kunit *test)
{
	const struct pm_table_param *p = test->param_value;
	unsigned int has_freeze = !!p->tmpl->freeze;
	unsigned int has_restore = !!p->tmpl->restore;
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, p->tmpl);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fd->fv->vdev), 0);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_FREEZE] = has_freeze));
	expect_op_calls(test, fd->fv, OP_CALLS());
	clear_all(fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	FAKE_EXPECT_STATUS_LOG(test, fd->fv, reinit_log_modern);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test,
			fake_vdev_count_events(fd->fv, FAKE_EV_DRV_RESTORE),
			has_restore);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = has_restore));
	expect_op_calls(test, fd->fv, REINIT_OPS(4));
}

/* No driver bound: freeze does nothing, restore resets and ACKs only. */
static void restore_without_driver_stops_after_ack(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK),
	};
	struct fake_vdev *fv;

	fv = fake_vdev_create(test, &fake_virtio_config_ops,
			      FAKE_FEATURES_MODERN);
	fake_vdev_clear_logs(fv);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fv->vdev), 0);
	expect_op_calls(test, fv, OP_CALLS());

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fv->vdev), 0);
	FAKE_EXPECT_STATUS_LOG(test, fv, exp);
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK);
	expect_op_calls(test, fv, OP_CALLS([FAKE_OP_RESET] = 1,
					   [FAKE_OP_SET_STATUS] = 1));
}

/* No driver after a failed probe: restore resets, ACKs, sets FAILED again. */
static void restore_without_driver_keeps_failed_status(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK),
		FAKE_SW(ST_ACK | ST_FAIL),
	};
	struct fake_driver *fd;
	struct fake_vdev *fv;

	fv = fake_vdev_create(test, &fake_virtio_config_ops,
			      FAKE_FEATURES_MODERN);
	fd = fake_driver_init(test, fv, &fake_driver_default);
	fd->err[FAKE_DRV_PROBE] = -ENODEV;
	fake_driver_register(test, fd);
	KUNIT_ASSERT_FALSE(test, fake_driver_bound(fd));
	KUNIT_ASSERT_EQ(test, fv->status & ST_FAIL, ST_FAIL);
	clear_all(fd);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fv->vdev), 0);
	FAKE_EXPECT_STATUS_LOG(test, fv, exp);
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK | ST_FAIL);
	expect_drv_calls(test, fd, DRV_CALLS());
	expect_op_calls(test, fv, OP_CALLS([FAKE_OP_RESET] = 1,
					   [FAKE_OP_SET_STATUS] = 2));
}

/* After the driver was unbound, freeze/restore treat the device as unbound. */
static void restore_after_unbind_stops_after_ack(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	fake_driver_unregister(test, fd);
	clear_all(fd);

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fd->fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	FAKE_EXPECT_STATUS_LOG(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_ACK);
	expect_drv_calls(test, fd, DRV_CALLS());
	expect_op_calls(test, fd->fv, OP_CALLS([FAKE_OP_RESET] = 1,
					       [FAKE_OP_SET_STATUS] = 1));
}

/**
 * struct pm_errno_param - an error returned by a driver callback
 * @name: description
 * @err: the error
 */
struct pm_errno_param {
	const char *name;
	int err;
};

static const struct pm_errno_param pm_errno_params[] = {
	{ "-EBUSY", -EBUSY },
	{ "-EIO", -EIO },
	{ "-ENOMEM", -ENOMEM },
};

static void pm_errno_desc(const struct pm_errno_param *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pm_errno, pm_errno_params, pm_errno_desc);

/* A failing driver freeze is returned and config delivery is back on. */
static void freeze_failure_reenables_config(struct kunit *test)
{
	const struct pm_errno_param *p = test->param_value;
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	fd->err[FAKE_DRV_FREEZE] = p->err;

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fd->fv->vdev), p->err);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_FREEZE] = 1));
	expect_op_calls(test, fd->fv, OP_CALLS());
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);

	virtio_config_changed(&fd->fv->vdev);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_FREEZE] = 1,
					     [FAKE_DRV_CONFIG_CHANGED] = 1));
}

static struct kunit_case virtio_pm_restore_cases[] = {
	KUNIT_CASE(freeze_calls_driver_and_leaves_device_alone),
	KUNIT_CASE_PARAM(freeze_failure_reenables_config, pm_errno_gen_params),
	KUNIT_CASE(restore_writes_exact_status_sequence),
	KUNIT_CASE(restore_finalizes_probed_features),
	KUNIT_CASE(restore_repeated_cycles_reset_once_each),
	KUNIT_CASE_PARAM(restore_features_ok_only_with_version_1,
			 pm_features_gen_params),
	KUNIT_CASE(restore_keeps_failed_status),
	KUNIT_CASE_PARAM(restore_failure_sets_failed, pm_failure_gen_params),
	KUNIT_CASE(restore_driver_sets_driver_ok_itself),
	KUNIT_CASE_PARAM(restore_cycle_with_callback_table,
			 pm_table_gen_params),
	KUNIT_CASE(restore_without_driver_stops_after_ack),
	KUNIT_CASE(restore_without_driver_keeps_failed_status),
	KUNIT_CASE(restore_after_unbind_stops_after_ack),
	{}
};

static struct kunit_suite virtio_pm_restore_suite = {
	.name = "virtio_pm_restore",
	.test_cases = virtio_pm_restore_cases,
};

/* ---- virtio_pm_config: config change delivery around freeze/restore ---- */

/* A config change on a live device reaches the driver at once. */
static void config_change_when_live_is_delivered(struct kunit *test)
{
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);

	virtio_config_changed(&fd->fv->vdev);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_CONFIG_CHANGED] = 1));
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_CONFIG_CHANGED],
			ST_LIVE);
	/* Delivered under the config lock, interrupts off. */
	KUNIT_EXPECT_EQ(test, fd->irqs_off[FAKE_DRV_CONFIG_CHANGED], 1);
}

/* Changes raised while frozen are delivered once, after DRIVER_OK. */
static void config_change_while_frozen_delivered_once(struct kunit *test)
{
	static const struct fake_event exp[] = {
		EV(RESET),
		EV_ST(ST_ACK),
		EV_ST(ST_ACK | ST_DRV),
		EV(FINALIZE),
		EV_ST(ST_ACK | ST_DRV | ST_FOK),
		EV(DRV_RESTORE),
		EV_ST(ST_LIVE),
		EV(DRV_CONFIG_CHANGED),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	freeze_and_clear(test, fd);

	virtio_config_changed(&fd->fv->vdev);
	virtio_config_changed(&fd->fv->vdev);
	expect_drv_calls(test, fd, DRV_CALLS());

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_CONFIG_CHANGED],
			ST_LIVE);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1,
					     [FAKE_DRV_CONFIG_CHANGED] = 1));

	/* Nothing is left pending. */
	KUNIT_EXPECT_FALSE(test, fd->fv->vdev.config_change_pending);
}

/* A driver-disabled config change waits for virtio_config_driver_enable(). */
static void config_change_waits_for_driver_enable(struct kunit *test)
{
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	virtio_config_driver_disable(&fd->fv->vdev);
	freeze_and_clear(test, fd);

	virtio_config_changed(&fd->fv->vdev);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1));
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);

	virtio_config_driver_enable(&fd->fv->vdev);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1,
					     [FAKE_DRV_CONFIG_CHANGED] = 1));

	virtio_config_driver_disable(&fd->fv->vdev);
	virtio_config_driver_enable(&fd->fv->vdev);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1,
					     [FAKE_DRV_CONFIG_CHANGED] = 1));
}

/* A driver without config_changed: the change stays pending forever. */
static void config_change_without_callback_stays_pending(struct kunit *test)
{
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &drv_no_callbacks);
	freeze_and_clear(test, fd);

	virtio_config_changed(&fd->fv->vdev);
	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	FAKE_EXPECT_STATUS_LOG(test, fd->fv, reinit_log_modern);
	expect_drv_calls(test, fd, DRV_CALLS());
	KUNIT_EXPECT_EQ(test,
			fake_vdev_count_events(fd->fv,
					       FAKE_EV_DRV_CONFIG_CHANGED), 0);
	KUNIT_EXPECT_TRUE(test, fd->fv->vdev.config_change_pending);
}

static struct kunit_case virtio_pm_config_cases[] = {
	KUNIT_CASE(config_change_when_live_is_delivered),
	KUNIT_CASE(config_change_while_frozen_delivered_once),
	KUNIT_CASE(config_change_waits_for_driver_enable),
	KUNIT_CASE(config_change_without_callback_stays_pending),
	{}
};

static struct kunit_suite virtio_pm_config_suite = {
	.name = "virtio_pm_config",
	.test_cases = virtio_pm_config_cases,
};

/* ---- virtio_pm_reset: virtio_device_reset_prepare() and _done() ---- */

/* Prepare then done: the driver's prepare, then a full re-init and done. */
static void reset_done_writes_exact_status_sequence(struct kunit *test)
{
	static const struct fake_event exp[] = {
		EV(DRV_RESET_PREPARE),
		EV(RESET),
		EV_ST(ST_ACK),
		EV_ST(ST_ACK | ST_DRV),
		EV(FINALIZE),
		EV_ST(ST_ACK | ST_DRV | ST_FOK),
		EV(DRV_RESET_DONE),
		EV_ST(ST_LIVE),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_prepare(&fd->fv->vdev), 0);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_PREPARE] = 1));
	expect_op_calls(test, fd->fv, OP_CALLS());

	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_RESET_DONE],
			ST_ACK | ST_DRV | ST_FOK);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_PREPARE] = 1,
					     [FAKE_DRV_RESET_DONE] = 1));
	expect_op_calls(test, fd->fv, REINIT_OPS(4));
	fake_vdev_expect_process_context(test, fd->fv);
}

/* Any callback table: reset_prepare/_done need their own callback each. */
static void reset_with_callback_table(struct kunit *test)
{
	const struct pm_table_param *p = test->param_value;
	unsigned int has_prepare = !!p->tmpl->reset_prepare;
	unsigned int has_done = !!p->tmpl->reset_done;
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, p->tmpl);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_prepare(&fd->fv->vdev),
			has_prepare ? 0 : -EOPNOTSUPP);
	expect_drv_calls(test, fd,
			 DRV_CALLS([FAKE_DRV_RESET_PREPARE] = has_prepare));
	expect_op_calls(test, fd->fv, OP_CALLS());
	clear_all(fd);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fd->fv->vdev),
			has_done ? 0 : -EOPNOTSUPP);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_DONE] = has_done));
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	if (has_done) {
		FAKE_EXPECT_STATUS_LOG(test, fd->fv, reinit_log_modern);
		expect_op_calls(test, fd->fv, REINIT_OPS(4));
	} else {
		expect_op_calls(test, fd->fv, OP_CALLS());
	}
}

/* reset_prepare without reset_done: config delivery stays off for good. */
static void reset_prepare_without_done_leaves_config_off(struct kunit *test)
{
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &drv_reset_prepare_only);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_prepare(&fd->fv->vdev), 0);
	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fd->fv->vdev),
			-EOPNOTSUPP);
	virtio_config_changed(&fd->fv->vdev);

	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_PREPARE] = 1));
	expect_op_calls(test, fd->fv, OP_CALLS());
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	KUNIT_EXPECT_TRUE(test, fd->fv->vdev.config_change_pending);
}

/* No driver bound: both FLR entry points refuse and touch nothing. */
static void reset_without_driver_not_supported(struct kunit *test)
{
	struct fake_vdev *fv;

	fv = fake_vdev_create(test, &fake_virtio_config_ops,
			      FAKE_FEATURES_MODERN);
	fake_vdev_clear_logs(fv);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_prepare(&fv->vdev),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fv->vdev),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK);
	KUNIT_EXPECT_EQ(test, fv->status_log_len, 0);
	KUNIT_EXPECT_EQ(test, fv->events_len, 0);
}

/* A failing reset_prepare is returned and config delivery is back on. */
static void reset_prepare_failure_reenables_config(struct kunit *test)
{
	const struct pm_errno_param *p = test->param_value;
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	fd->err[FAKE_DRV_RESET_PREPARE] = p->err;

	KUNIT_EXPECT_EQ(test, virtio_device_reset_prepare(&fd->fv->vdev),
			p->err);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_PREPARE] = 1));
	expect_op_calls(test, fd->fv, OP_CALLS());
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);

	virtio_config_changed(&fd->fv->vdev);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_PREPARE] = 1,
					     [FAKE_DRV_CONFIG_CHANGED] = 1));
}

/* A failing step of reset_done returns its error, sets FAILED. */
static void reset_done_failure_sets_failed(struct kunit *test)
{
	const struct pm_failure_param *p = test->param_value;
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	KUNIT_ASSERT_EQ(test, virtio_device_reset_prepare(&fd->fv->vdev), 0);
	clear_all(fd);
	inject_failure(fd, p, FAKE_DRV_RESET_DONE);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fd->fv->vdev), p->ret);
	expect_failed_reinit(test, fd, p);
	expect_drv_calls(test, fd,
			 DRV_CALLS([FAKE_DRV_RESET_DONE] = p->drv_calls));
}

/* FAILED set before reset_prepare comes back right after ACKNOWLEDGE. */
static void reset_done_keeps_failed_status(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK),
		FAKE_SW(ST_ACK | ST_FAIL),
		FAKE_SW(ST_ACK | ST_FAIL | ST_DRV),
		FAKE_SW(ST_ACK | ST_FAIL | ST_DRV | ST_FOK),
		FAKE_SW(ST_LIVE | ST_FAIL),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	virtio_add_status(&fd->fv->vdev, ST_FAIL);
	KUNIT_ASSERT_EQ(test, virtio_device_reset_prepare(&fd->fv->vdev), 0);
	clear_all(fd);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fd->fv->vdev), 0);
	FAKE_EXPECT_STATUS_LOG(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE | ST_FAIL);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_DONE] = 1));
	expect_op_calls(test, fd->fv, REINIT_OPS(5));
}

/* reset_done writes FEATURES_OK only for VERSION_1 devices. */
static void reset_done_features_ok_only_with_version_1(struct kunit *test)
{
	const struct pm_features_param *p = test->param_value;
	struct fake_driver *fd;

	fd = bind_fake(test, p->features, &fake_driver_default);
	KUNIT_ASSERT_EQ(test, virtio_device_reset_prepare(&fd->fv->vdev), 0);
	clear_all(fd);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fd->fv->vdev), 0);
	fake_vdev_expect_status_log(test, fd->fv, p->log, p->log_len);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_DONE] = 1));
	expect_op_calls(test, fd->fv, REINIT_OPS(p->log_len - 1));
}

/* A config change during the FLR is delivered once after reset_done. */
static void reset_done_delivers_pending_config_once(struct kunit *test)
{
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	KUNIT_ASSERT_EQ(test, virtio_device_reset_prepare(&fd->fv->vdev), 0);
	clear_all(fd);

	virtio_config_changed(&fd->fv->vdev);
	expect_drv_calls(test, fd, DRV_CALLS());

	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fd->fv->vdev), 0);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESET_DONE] = 1,
					     [FAKE_DRV_CONFIG_CHANGED] = 1));
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_CONFIG_CHANGED],
			ST_LIVE);
}

static struct kunit_case virtio_pm_reset_cases[] = {
	KUNIT_CASE(reset_done_writes_exact_status_sequence),
	KUNIT_CASE_PARAM(reset_with_callback_table, pm_table_gen_params),
	KUNIT_CASE(reset_prepare_without_done_leaves_config_off),
	KUNIT_CASE(reset_without_driver_not_supported),
	KUNIT_CASE_PARAM(reset_prepare_failure_reenables_config,
			 pm_errno_gen_params),
	KUNIT_CASE_PARAM(reset_done_failure_sets_failed, pm_failure_gen_params),
	KUNIT_CASE(reset_done_keeps_failed_status),
	KUNIT_CASE_PARAM(reset_done_features_ok_only_with_version_1,
			 pm_features_gen_params),
	KUNIT_CASE(reset_done_delivers_pending_config_once),
	{}
};

static struct kunit_suite virtio_pm_reset_suite = {
	.name = "virtio_pm_reset",
	.test_cases = virtio_pm_reset_cases,
};

/* ---- virtio_pm_vqs: virtqueues across freeze/restore ---- */

/* Virtqueues kept across restore still take buffers and kick the device. */
static void vqs_kept_across_restore_still_kick(struct kunit *test)
{
	struct fake_driver *fd;
	dma_addr_t desc;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	desc = virtqueue_get_desc_addr(fd->vqs[0]);
	fake_driver_queue_buf(test, fd, 0);
	KUNIT_EXPECT_EQ(test, fd->fv->vqs[0].kicks, 1);
	freeze_and_clear(test, fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	expect_op_calls(test, fd->fv, REINIT_OPS(4));

	fake_driver_queue_buf(test, fd, 0);
	KUNIT_EXPECT_EQ(test, fd->fv->vqs[0].kicks, 1);
	KUNIT_EXPECT_EQ(test, fd->fv->vqs[1].kicks, 0);
	KUNIT_EXPECT_EQ(test, fd->fv->ops[FAKE_OP_NOTIFY].calls, 1);
	KUNIT_EXPECT_EQ(test, fd->fv->vqs[0].created, 1);
	KUNIT_EXPECT_PTR_EQ(test, fd->fv->vqs[0].vq, fd->vqs[0]);
	KUNIT_EXPECT_EQ(test, virtqueue_get_desc_addr(fd->vqs[0]), desc);
	KUNIT_EXPECT_EQ(test, fd->fv->vqs[0].desc_addr, desc);
}

/* A driver that re-creates its virtqueues in restore gets usable ones. */
static void vqs_recreated_by_restore_kick(struct kunit *test)
{
	static const struct fake_event exp_freeze[] = {
		EV(DRV_FREEZE),
		EV(RESET),
		EV(DEL_VQS),
	};
	static const struct fake_event exp_restore[] = {
		EV(RESET),
		EV_ST(ST_ACK),
		EV_ST(ST_ACK | ST_DRV),
		EV(FINALIZE),
		EV_ST(ST_ACK | ST_DRV | ST_FOK),
		EV(DRV_RESTORE),
		FAKE_EV(FAKE_EV_FIND_VQS, FAKE_DRV_MAX_VQS),
		EV_ST(ST_LIVE),
		FAKE_EV(FAKE_EV_NOTIFY, 1),
	};
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	fd->recreate_vqs = true;

	KUNIT_EXPECT_EQ(test, virtio_device_freeze(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp_freeze);
	KUNIT_EXPECT_EQ(test, fd->fv->status, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&fd->fv->vdev.vqs));
	clear_all(fd);

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), 0);
	KUNIT_ASSERT_NOT_NULL(test, fd->vqs[1]);
	fake_driver_queue_buf(test, fd, 1);

	FAKE_EXPECT_EVENTS(test, fd->fv, exp_restore);
	KUNIT_EXPECT_EQ(test, fd->fv->resets, 1);
	KUNIT_EXPECT_EQ(test, fd->fv->vqs[0].created, 2);
	KUNIT_EXPECT_EQ(test, fd->fv->vqs[1].created, 2);
	KUNIT_EXPECT_EQ(test, fd->fv->vqs[1].kicks, 1);
	KUNIT_EXPECT_PTR_EQ(test, fd->fv->vqs[1].vq, fd->vqs[1]);
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_RESTORE],
			ST_ACK | ST_DRV | ST_FOK);
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1));
	expect_op_calls(test, fd->fv, OP_CALLS([FAKE_OP_RESET] = 1,
					       [FAKE_OP_SET_STATUS] = 4,
					       [FAKE_OP_FINALIZE] = 1,
					       [FAKE_OP_FIND_VQS] = 1,
					       [FAKE_OP_NOTIFY] = 1));
}

/* A driver whose re-creation of virtqueues fails makes restore fail. */
static void vqs_recreate_failure_fails_restore(struct kunit *test)
{
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	fd->recreate_vqs = true;
	freeze_and_clear(test, fd);
	fd->fv->ops[FAKE_OP_FIND_VQS].err = -ENOMEM;

	KUNIT_EXPECT_EQ(test, virtio_device_restore(&fd->fv->vdev), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fd->fv->status,
			ST_ACK | ST_DRV | ST_FOK | ST_FAIL);
	KUNIT_EXPECT_TRUE(test, list_empty(&fd->fv->vdev.vqs));
	expect_drv_calls(test, fd, DRV_CALLS([FAKE_DRV_RESTORE] = 1));
	expect_op_calls(test, fd->fv, OP_CALLS([FAKE_OP_RESET] = 1,
					       [FAKE_OP_SET_STATUS] = 4,
					       [FAKE_OP_FINALIZE] = 1,
					       [FAKE_OP_FIND_VQS] = 1));
}

static struct kunit_case virtio_pm_vqs_cases[] = {
	KUNIT_CASE(vqs_kept_across_restore_still_kick),
	KUNIT_CASE(vqs_recreated_by_restore_kick),
	KUNIT_CASE(vqs_recreate_failure_fails_restore),
	{}
};

static struct kunit_suite virtio_pm_vqs_suite = {
	.name = "virtio_pm_vqs",
	.test_cases = virtio_pm_vqs_cases,
};

kunit_test_suites(&virtio_pm_fake_suite, &virtio_pm_restore_suite,
		  &virtio_pm_config_suite, &virtio_pm_reset_suite,
		  &virtio_pm_vqs_suite);

MODULE_DESCRIPTION("KUnit tests for virtio system sleep PM");
MODULE_LICENSE("GPL");

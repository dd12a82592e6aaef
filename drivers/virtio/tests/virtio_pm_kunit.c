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

/**
 * expect_drv_calls() - check the call count of every driver callback
 * @test: the test
 * @fd: the fake driver
 * @exp: expected calls, indexed by &enum fake_drv_cb (DRV_CALLS())
 */
static void expect_drv_calls(struct kunit *test, const struct fake_driver *fd,
			     const unsigned int *exp)
{
	enum fake_drv_cb cb;

	for (cb = 0; cb < FAKE_DRV_NR; cb++)
		KUNIT_EXPECT_EQ_MSG(test, fd->calls[cb], exp[cb],
				    "driver callback %d", cb);
}

/**
 * expect_op_calls() - check the call count of every transport op
 * @test: the test
 * @fv: the fake device
 * @exp: expected calls, indexed by &enum fake_op (OP_CALLS())
 *
 * Checks every counted transport op except the side-effect free reads
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

/**
 * pm_device_init() - suite init: register the case's fake device
 * @test: the test
 *
 * Every case of the virtio_pm_* suites starts from one fake device on
 * &fake_virtio_config_ops, registered (reset and ACKNOWLEDGE logged) but
 * with no driver bound, in @test->priv. fake_vdev_create() registers its
 * teardown with kunit_add_action_or_reset(), so the suites need no exit.
 *
 * Context: Process context.
 * Return: 0; a failure to create the device fails the case.
 */
static int pm_device_init(struct kunit *test)
{
	test->priv = fake_vdev_create(test, &fake_virtio_config_ops,
				      FAKE_FEATURES_MODERN);
	return 0;
}

/**
 * pm_device() - the fake device of the case, offering @features
 * @test: the test
 * @features: device features; a driver bound later negotiates them
 *
 * Return: the fake device that pm_device_init() registered.
 */
static struct fake_vdev *pm_device(struct kunit *test, u64 features)
{
	struct fake_vdev *fv = test->priv;

	fv->device_features = features;
	return fv;
}

/**
 * bind_fake() - bind a fake driver to the fake device of the case
 * @test: the test
 * @features: device features offered to the driver's probe
 * @tmpl: the driver's callback table
 *
 * Return: the bound fake driver; logs and counters start cleared.
 */
static struct fake_driver *bind_fake(struct kunit *test, u64 features,
				     const struct virtio_driver *tmpl)
{
	return fake_driver_create(test, pm_device(test, features), tmpl);
}

/**
 * clear_all() - forget the driver's counts and the device's logs
 * @fd: the fake driver
 */
static void clear_all(struct fake_driver *fd)
{
	fake_driver_clear_counts(fd);
	fake_vdev_clear_logs(fd->fv);
}

/**
 * struct pm_entry - a way down and back up through the virtio core
 * @name: description
 * @down: virtio_device_freeze() or virtio_device_reset_prepare()
 * @up: virtio_device_restore() or virtio_device_reset_done(); both do the
 *	same full re-init of a driver without noirq callbacks
 * @down_cb: the driver callback @down calls
 * @up_cb: the driver callback @up calls
 * @down_ev: the event @down_cb logs
 * @up_ev: the event @up_cb logs
 */
struct pm_entry {
	const char *name;
	int (*down)(struct virtio_device *dev);
	int (*up)(struct virtio_device *dev);
	enum fake_drv_cb down_cb;
	enum fake_drv_cb up_cb;
	enum fake_event_type down_ev;
	enum fake_event_type up_ev;
};

/* Indexes of pm_entries[]. */
enum {
	PM_SLEEP,
	PM_FLR,
};

static const struct pm_entry pm_entries[] = {
	[PM_SLEEP] = {
		.name = "freeze/restore",
		.down = virtio_device_freeze,
		.up = virtio_device_restore,
		.down_cb = FAKE_DRV_FREEZE,
		.up_cb = FAKE_DRV_RESTORE,
		.down_ev = FAKE_EV_DRV_FREEZE,
		.up_ev = FAKE_EV_DRV_RESTORE,
	},
	[PM_FLR] = {
		.name = "reset_prepare/reset_done",
		.down = virtio_device_reset_prepare,
		.up = virtio_device_reset_done,
		.down_cb = FAKE_DRV_RESET_PREPARE,
		.up_cb = FAKE_DRV_RESET_DONE,
		.down_ev = FAKE_EV_DRV_RESET_PREPARE,
		.up_ev = FAKE_EV_DRV_RESET_DONE,
	},
};

KUNIT_ARRAY_PARAM_DESC(pm_entry, pm_entries, name);

/**
 * struct pm_entry_param - a parameter of a case run for each entry point
 * @entry: the entry point pair
 * @sub: an element of the case's own parameter table, whose first member
 *	 is its name (a ``const char *``)
 */
struct pm_entry_param {
	const struct pm_entry *entry;
	const void *sub;
};

static void pm_entry_param_desc(struct kunit *test, const void *param,
				char *desc)
{
	const struct pm_entry_param *p = param;

	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s: %s", p->entry->name,
		 *(const char * const *)p->sub);
}

/**
 * pm_entry_params_register() - run a case for each entry point and element
 * @test: the parameterised test context, in a param_init function
 * @table: the case's own parameter table
 * @n: number of elements of @table
 * @size: size of one element of @table
 *
 * Registers every (entry point, element of @table) pair as a parameter of
 * @test, for kunit_array_gen_params().
 *
 * Context: Process context.
 * Return: 0, or -ENOMEM.
 */
static int pm_entry_params_register(struct kunit *test, const void *table,
				    size_t n, size_t size)
{
	struct pm_entry_param *params;
	size_t i, j, k = 0;

	params = kunit_kcalloc(test, ARRAY_SIZE(pm_entries) * n,
			       sizeof(*params), GFP_KERNEL);
	if (!params)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(pm_entries); i++) {
		for (j = 0; j < n; j++) {
			params[k].entry = &pm_entries[i];
			params[k].sub = (const char *)table + j * size;
			k++;
		}
	}
	kunit_register_params_array(test, params, k, pm_entry_param_desc);
	return 0;
}

/**
 * down_and_clear() - take a bound device down and forget what that did
 * @test: the test
 * @fd: the bound fake driver
 * @e: the entry point pair whose @down to call
 */
static void down_and_clear(struct kunit *test, struct fake_driver *fd,
			   const struct pm_entry *e)
{
	KUNIT_ASSERT_EQ(test, e->down(&fd->fv->vdev), 0);
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

	fv = pm_device(test, FAKE_FEATURES_MODERN);

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

	fv = pm_device(test, FAKE_FEATURES_MODERN);
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

	fv = pm_device(test, FAKE_FEATURES_MODERN);
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

	fv = pm_device(test, FAKE_FEATURES_MODERN);
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

	fv = pm_device(test, FAKE_FEATURES_MODERN);
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
	.init = pm_device_init,
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

/* Restore finalises the same features that probe negotiated. */
static void restore_finalizes_probed_features(struct kunit *test)
{
	struct fake_driver *fd;
	u64 probed;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	probed = fd->fv->driver_features;
	fd->fv->driver_features = 0;
	down_and_clear(test, fd, &pm_entries[PM_SLEEP]);

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
		down_and_clear(test, fd, &pm_entries[PM_SLEEP]);
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

/**
 * inject_failure() - arm the failure of @p for the next re-init
 * @fd: the fake driver
 * @p: the failure
 * @cb: the driver callback that fails with @p->drv_err
 */
static void inject_failure(struct fake_driver *fd,
			   const struct pm_failure_param *p, enum fake_drv_cb cb)
{
	fd->fv->ops[FAKE_OP_FINALIZE].err = p->finalize_err;
	fd->fv->refuse_features_ok = p->refuse_features_ok;
	fd->err[cb] = p->drv_err;
}

/**
 * expect_failed_reinit() - check the device state after a failed re-init
 * @test: the test
 * @fd: the fake driver
 * @p: the failure that was injected
 */
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
	down_and_clear(test, fd, &pm_entries[PM_SLEEP]);

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

	fv = pm_device(test, FAKE_FEATURES_MODERN);
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

	fv = pm_device(test, FAKE_FEATURES_MODERN);
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

static struct kunit_case virtio_pm_restore_cases[] = {
	KUNIT_CASE(freeze_calls_driver_and_leaves_device_alone),
	KUNIT_CASE(restore_finalizes_probed_features),
	KUNIT_CASE(restore_repeated_cycles_reset_once_each),
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
	.init = pm_device_init,
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

/* A driver-disabled config change waits for virtio_config_driver_enable(). */
static void config_change_waits_for_driver_enable(struct kunit *test)
{
	struct fake_driver *fd;

	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	virtio_config_driver_disable(&fd->fv->vdev);
	down_and_clear(test, fd, &pm_entries[PM_SLEEP]);

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
	down_and_clear(test, fd, &pm_entries[PM_SLEEP]);

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
	KUNIT_CASE(config_change_waits_for_driver_enable),
	KUNIT_CASE(config_change_without_callback_stays_pending),
	{}
};

static struct kunit_suite virtio_pm_config_suite = {
	.name = "virtio_pm_config",
	.init = pm_device_init,
	.test_cases = virtio_pm_config_cases,
};

/* ---- virtio_pm_reset: virtio_device_reset_prepare() and _done() ---- */

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

	fv = pm_device(test, FAKE_FEATURES_MODERN);
	fake_vdev_clear_logs(fv);

	KUNIT_EXPECT_EQ(test, virtio_device_reset_prepare(&fv->vdev),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, virtio_device_reset_done(&fv->vdev),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, fv->status, ST_ACK);
	KUNIT_EXPECT_EQ(test, fv->status_log_len, 0);
	KUNIT_EXPECT_EQ(test, fv->events_len, 0);
}

static struct kunit_case virtio_pm_reset_cases[] = {
	KUNIT_CASE_PARAM(reset_with_callback_table, pm_table_gen_params),
	KUNIT_CASE(reset_prepare_without_done_leaves_config_off),
	KUNIT_CASE(reset_without_driver_not_supported),
	{}
};

static struct kunit_suite virtio_pm_reset_suite = {
	.name = "virtio_pm_reset",
	.init = pm_device_init,
	.test_cases = virtio_pm_reset_cases,
};

/* ---- virtio_pm_reinit: what restore and reset_done both do ---- */

/*
 * virtio_device_restore() of a driver without noirq callbacks and
 * virtio_device_reset_done() do the same full re-init (contract item 14:
 * reset_done always does, even after a noirq cycle), so every case of this
 * suite runs for both entry point pairs. Where they differ (reset_prepare
 * and reset_done need their own driver callback, freeze and restore do
 * not) the cases are in virtio_pm_restore and virtio_pm_reset.
 */

/* Down calls the driver only; up re-inits: reset, ACK ... DRIVER_OK. */
static void reinit_writes_exact_status_sequence(struct kunit *test)
{
	const struct pm_entry *e = test->param_value;
	const struct fake_event exp_down[] = {
		FAKE_EV(e->down_ev, 0),
	};
	const struct fake_event exp_up[] = {
		EV(RESET),
		EV_ST(ST_ACK),
		EV_ST(ST_ACK | ST_DRV),
		EV(FINALIZE),
		EV_ST(ST_ACK | ST_DRV | ST_FOK),
		FAKE_EV(e->up_ev, 0),
		EV_ST(ST_LIVE),
	};
	unsigned int down_calls[FAKE_DRV_NR] = {};
	unsigned int up_calls[FAKE_DRV_NR] = {};
	struct fake_driver *fd;

	down_calls[e->down_cb] = 1;
	up_calls[e->up_cb] = 1;
	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);

	KUNIT_EXPECT_EQ(test, e->down(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp_down);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	expect_drv_calls(test, fd, down_calls);
	expect_op_calls(test, fd->fv, OP_CALLS());
	clear_all(fd);

	KUNIT_EXPECT_EQ(test, e->up(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp_up);
	FAKE_EXPECT_STATUS_LOG(test, fd->fv, reinit_log_modern);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);
	KUNIT_EXPECT_EQ(test, fd->fv->resets, 1);
	KUNIT_EXPECT_EQ(test, fd->status_seen[e->up_cb],
			ST_ACK | ST_DRV | ST_FOK);
	expect_drv_calls(test, fd, up_calls);
	expect_op_calls(test, fd->fv, REINIT_OPS(4));
	fake_vdev_expect_process_context(test, fd->fv);
}

/* FAILED set before going down comes back right after ACKNOWLEDGE. */
static void reinit_keeps_failed_status(struct kunit *test)
{
	static const struct fake_status_write exp[] = {
		FAKE_SW_RESET,
		FAKE_SW(ST_ACK),
		FAKE_SW(ST_ACK | ST_FAIL),
		FAKE_SW(ST_ACK | ST_FAIL | ST_DRV),
		FAKE_SW(ST_ACK | ST_FAIL | ST_DRV | ST_FOK),
		FAKE_SW(ST_LIVE | ST_FAIL),
	};
	const struct pm_entry *e = test->param_value;
	unsigned int up_calls[FAKE_DRV_NR] = {};
	struct fake_driver *fd;

	up_calls[e->up_cb] = 1;
	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	virtio_add_status(&fd->fv->vdev, ST_FAIL);
	down_and_clear(test, fd, e);

	KUNIT_EXPECT_EQ(test, e->up(&fd->fv->vdev), 0);
	FAKE_EXPECT_STATUS_LOG(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE | ST_FAIL);
	expect_drv_calls(test, fd, up_calls);
	expect_op_calls(test, fd->fv, REINIT_OPS(5));
}

/* param_init: each entry point with each element of pm_features_params[]. */
static int pm_features_entry_params_init(struct kunit *test)
{
	return pm_entry_params_register(test, pm_features_params,
					ARRAY_SIZE(pm_features_params),
					sizeof(pm_features_params[0]));
}

/* FEATURES_OK is written (and checked) only for VERSION_1 devices. */
static void reinit_features_ok_only_with_version_1(struct kunit *test)
{
	const struct pm_entry_param *param = test->param_value;
	const struct pm_features_param *p = param->sub;
	const struct pm_entry *e = param->entry;
	unsigned int up_calls[FAKE_DRV_NR] = {};
	struct fake_driver *fd;

	up_calls[e->up_cb] = 1;
	fd = bind_fake(test, p->features, &fake_driver_default);
	down_and_clear(test, fd, e);

	KUNIT_EXPECT_EQ(test, e->up(&fd->fv->vdev), 0);
	fake_vdev_expect_status_log(test, fd->fv, p->log, p->log_len);
	KUNIT_EXPECT_EQ(test, fd->fv->status, p->log[p->log_len - 1].status);
	expect_drv_calls(test, fd, up_calls);
	expect_op_calls(test, fd->fv, REINIT_OPS(p->log_len - 1));
}

/* param_init: each entry point with each element of pm_failure_params[]. */
static int pm_failure_entry_params_init(struct kunit *test)
{
	return pm_entry_params_register(test, pm_failure_params,
					ARRAY_SIZE(pm_failure_params),
					sizeof(pm_failure_params[0]));
}

/* A failing step of the re-init returns its error and sets FAILED. */
static void reinit_failure_sets_failed(struct kunit *test)
{
	const struct pm_entry_param *param = test->param_value;
	const struct pm_failure_param *p = param->sub;
	const struct pm_entry *e = param->entry;
	unsigned int up_calls[FAKE_DRV_NR] = {};
	struct fake_driver *fd;

	up_calls[e->up_cb] = p->drv_calls;
	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	down_and_clear(test, fd, e);
	inject_failure(fd, p, e->up_cb);

	KUNIT_EXPECT_EQ(test, e->up(&fd->fv->vdev), p->ret);
	expect_failed_reinit(test, fd, p);
	expect_drv_calls(test, fd, up_calls);
}

/* param_init: each entry point with each element of pm_errno_params[]. */
static int pm_errno_entry_params_init(struct kunit *test)
{
	return pm_entry_params_register(test, pm_errno_params,
					ARRAY_SIZE(pm_errno_params),
					sizeof(pm_errno_params[0]));
}

/* A driver callback failing on the way down: config delivery is back on. */
static void down_failure_reenables_config(struct kunit *test)
{
	const struct pm_entry_param *param = test->param_value;
	const struct pm_errno_param *p = param->sub;
	const struct pm_entry *e = param->entry;
	unsigned int down_calls[FAKE_DRV_NR] = {};
	struct fake_driver *fd;

	down_calls[e->down_cb] = 1;
	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	fd->err[e->down_cb] = p->err;

	KUNIT_EXPECT_EQ(test, e->down(&fd->fv->vdev), p->err);
	expect_drv_calls(test, fd, down_calls);
	expect_op_calls(test, fd->fv, OP_CALLS());
	KUNIT_EXPECT_EQ(test, fd->fv->status, ST_LIVE);

	virtio_config_changed(&fd->fv->vdev);
	down_calls[FAKE_DRV_CONFIG_CHANGED] = 1;
	expect_drv_calls(test, fd, down_calls);
}

/* Changes raised while down are delivered once, after DRIVER_OK. */
static void reinit_delivers_pending_config_once(struct kunit *test)
{
	const struct pm_entry *e = test->param_value;
	const struct fake_event exp[] = {
		EV(RESET),
		EV_ST(ST_ACK),
		EV_ST(ST_ACK | ST_DRV),
		EV(FINALIZE),
		EV_ST(ST_ACK | ST_DRV | ST_FOK),
		FAKE_EV(e->up_ev, 0),
		EV_ST(ST_LIVE),
		EV(DRV_CONFIG_CHANGED),
	};
	unsigned int calls[FAKE_DRV_NR] = {};
	struct fake_driver *fd;

	calls[e->up_cb] = 1;
	calls[FAKE_DRV_CONFIG_CHANGED] = 1;
	fd = bind_fake(test, FAKE_FEATURES_MODERN, &fake_driver_default);
	down_and_clear(test, fd, e);

	virtio_config_changed(&fd->fv->vdev);
	virtio_config_changed(&fd->fv->vdev);
	expect_drv_calls(test, fd, DRV_CALLS());

	KUNIT_EXPECT_EQ(test, e->up(&fd->fv->vdev), 0);
	FAKE_EXPECT_EVENTS(test, fd->fv, exp);
	KUNIT_EXPECT_EQ(test, fd->status_seen[FAKE_DRV_CONFIG_CHANGED],
			ST_LIVE);
	expect_drv_calls(test, fd, calls);

	/* Nothing is left pending. */
	KUNIT_EXPECT_FALSE(test, fd->fv->vdev.config_change_pending);
}

static struct kunit_case virtio_pm_reinit_cases[] = {
	KUNIT_CASE_PARAM(reinit_writes_exact_status_sequence,
			 pm_entry_gen_params),
	KUNIT_CASE_PARAM(reinit_keeps_failed_status, pm_entry_gen_params),
	KUNIT_CASE_PARAM_WITH_INIT(reinit_features_ok_only_with_version_1,
				   kunit_array_gen_params,
				   pm_features_entry_params_init, NULL),
	KUNIT_CASE_PARAM_WITH_INIT(reinit_failure_sets_failed,
				   kunit_array_gen_params,
				   pm_failure_entry_params_init, NULL),
	KUNIT_CASE_PARAM_WITH_INIT(down_failure_reenables_config,
				   kunit_array_gen_params,
				   pm_errno_entry_params_init, NULL),
	KUNIT_CASE_PARAM(reinit_delivers_pending_config_once,
			 pm_entry_gen_params),
	{}
};

static struct kunit_suite virtio_pm_reinit_suite = {
	.name = "virtio_pm_reinit",
	.init = pm_device_init,
	.test_cases = virtio_pm_reinit_cases,
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
	down_and_clear(test, fd, &pm_entries[PM_SLEEP]);

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
	down_and_clear(test, fd, &pm_entries[PM_SLEEP]);
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
	.init = pm_device_init,
	.test_cases = virtio_pm_vqs_cases,
};

kunit_test_suites(&virtio_pm_fake_suite, &virtio_pm_restore_suite,
		  &virtio_pm_config_suite, &virtio_pm_reset_suite,
		  &virtio_pm_reinit_suite, &virtio_pm_vqs_suite);

MODULE_DESCRIPTION("KUnit tests for virtio system sleep PM");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Random PM sequences against a reference model of the virtio noirq PM
 * state machine.
 *
 * Each sequence is a seeded random run of PM episodes, in the orders in
 * which the PM core and the PCI core call a device: a system suspend or a
 * hibernation freeze/thaw (freeze, freeze_noirq, restore_noirq, restore),
 * aborted before the noirq phase, by this device's freeze_noirq or by
 * another device after it; the restore of a hibernation image, which finds
 * the device as the boot kernel left it; and an FLR (reset_prepare,
 * reset_done). Failures are injected at random steps, config changes and
 * the driver's own config enable/disable come at random points outside the
 * noirq phase. After every step the return code, the device status, the
 * device resets, &virtio_device.noirq_state and the driver callbacks that
 * ran (config changes delivered included) are compared with a small model
 * written from the contract, not from the code; no other field of the core
 * is looked at. A mismatch stops the test and names the seed and the step,
 * so the sequence can be replayed by setting the seed module parameter.
 */

#include <kunit/test.h>
#include <linux/moduleparam.h>
#include <linux/prandom.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "fake_noirq.h"

#define MODEL_SEQUENCES	10000
#define MODEL_EPISODES	4

static unsigned int seed = 1;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "first seed of the random PM sequences");

static unsigned int sequences = MODEL_SEQUENCES;
module_param(sequences, uint, 0444);
MODULE_PARM_DESC(sequences, "number of random PM sequences");

/**
 * enum model_step - what a step of a sequence does
 * @STEP_FREEZE: virtio_device_freeze()
 * @STEP_FREEZE_NOIRQ: virtio_device_freeze_noirq()
 * @STEP_RESTORE_NOIRQ: virtio_device_restore_noirq()
 * @STEP_RESTORE: virtio_device_restore()
 * @STEP_RESET_PREPARE: virtio_device_reset_prepare()
 * @STEP_RESET_DONE: virtio_device_reset_done()
 * @STEP_CONFIG_CHANGED: the device raises a config change
 * @STEP_DRIVER_DISABLE: the driver disables config delivery
 * @STEP_DRIVER_ENABLE: the driver enables config delivery
 * @STEP_NR: number of step kinds
 */
enum model_step {
	STEP_FREEZE,
	STEP_FREEZE_NOIRQ,
	STEP_RESTORE_NOIRQ,
	STEP_RESTORE,
	STEP_RESET_PREPARE,
	STEP_RESET_DONE,
	STEP_CONFIG_CHANGED,
	STEP_DRIVER_DISABLE,
	STEP_DRIVER_ENABLE,
	STEP_NR,
};

/**
 * enum model_fault - where a step fails
 * @FAULT_NONE: nowhere
 * @FAULT_DRIVER: the driver callback of the step returns an error
 * @FAULT_FINALIZE: finalize_features fails
 * @FAULT_FEATURES_OK: the device does not keep FEATURES_OK
 * @FAULT_RESET_VQS: reset_vqs fails
 * @FAULT_NR: number of fault kinds
 */
enum model_fault {
	FAULT_NONE,
	FAULT_DRIVER,
	FAULT_FINALIZE,
	FAULT_FEATURES_OK,
	FAULT_RESET_VQS,
	FAULT_NR,
};

/**
 * struct model - what the contract says the device and the core hold
 * @noirq_driver: the bound driver has the noirq callbacks
 * @modern: the device offers VERSION_1 (FEATURES_OK is negotiated)
 * @ready_in_noirq: the driver sets DRIVER_OK in restore_noirq
 * @status: the device status
 * @failed: FAILED saved at the last freeze or reset_prepare
 * @state: &virtio_device.noirq_state
 * @state_known: @state is what the contract says (an FLR leaves it open)
 * @core_enabled: config delivery enabled by the core
 * @driver_disabled: config delivery disabled by the driver
 * @pending: a config change waits for delivery
 * @calls: expected driver callback counts, by &enum fake_drv_cb
 * @resets: expected device resets
 */
struct model {
	bool noirq_driver;
	bool modern;
	bool ready_in_noirq;
	u8 status;
	bool failed;
	enum virtio_noirq_state state;
	bool state_known;
	bool core_enabled;
	bool driver_disabled;
	bool pending;
	unsigned int calls[FAKE_DRV_NR];
	unsigned int resets;
};

/**
 * struct model_ctx - one random PM sequence in progress
 * @test: the test
 * @rnd: the sequence's random state
 * @seed: the sequence's seed
 * @step: the step number within the sequence
 * @in_noirq: between a successful freeze_noirq and restore_noirq
 * @fv: the fake device
 * @fd: the fake driver bound to @fv
 * @m: the model
 */
struct model_ctx {
	struct kunit *test;
	struct rnd_state rnd;
	unsigned int seed;
	unsigned int step;
	bool in_noirq;
	struct fake_vdev *fv;
	struct fake_driver *fd;
	struct model m;
};

/**
 * model_deliver() - a config change reaches the model driver, or waits
 * @m: the model
 *
 * It is delivered if both the core and the driver have config delivery
 * enabled, else it stays pending.
 */
static void model_deliver(struct model *m)
{
	if (!m->core_enabled || m->driver_disabled) {
		m->pending = true;
		return;
	}
	m->calls[FAKE_DRV_CONFIG_CHANGED]++;
	m->pending = false;
}

/**
 * model_core_enable() - the core enables config delivery again
 * @m: the model
 *
 * Delivers a pending config change.
 */
static void model_core_enable(struct model *m)
{
	m->core_enabled = true;
	if (m->pending)
		model_deliver(m);
}

/**
 * model_fail() - a step failed: the device gets FAILED
 * @m: the model
 * @err: the error of the step
 *
 * Return: @err.
 */
static int model_fail(struct model *m, int err)
{
	m->status |= ST_FAIL;
	return err;
}

/**
 * model_reinit() - the bring-up shared by every re-init
 * @m: the model
 * @fault: the fault injected into this step
 *
 * Reset, ACKNOWLEDGE, FAILED if it was failed, DRIVER, finalize_features and
 * FEATURES_OK (VERSION_1 only).
 *
 * Return: 0 or the error of the failed step.
 */
static int model_reinit(struct model *m, enum model_fault fault)
{
	m->resets++;
	m->status = ST_ACK | (m->failed ? ST_FAIL : 0) | ST_DRV;
	if (fault == FAULT_FINALIZE)
		return model_fail(m, -ENOSPC);
	if (!m->modern)
		return 0;
	if (fault == FAULT_FEATURES_OK)
		return model_fail(m, -ENODEV);
	m->status |= ST_FOK;
	return 0;
}

/**
 * model_freeze() - virtio_device_freeze() in the model
 * @m: the model
 * @fault: the fault injected into this step
 *
 * Return: what the real call must return.
 */
static int model_freeze(struct model *m, enum model_fault fault)
{
	m->core_enabled = false;
	m->failed = m->status & ST_FAIL;
	m->state = VIRTIO_NOIRQ_NONE;
	m->state_known = true;
	m->calls[FAKE_DRV_FREEZE]++;
	if (fault == FAULT_DRIVER) {
		model_core_enable(m);
		return -EBUSY;
	}
	return 0;
}

/**
 * model_freeze_noirq() - virtio_device_freeze_noirq() in the model
 * @m: the model
 * @fault: the fault injected into this step
 *
 * Return: what the real call must return.
 */
static int model_freeze_noirq(struct model *m, enum model_fault fault)
{
	if (!m->noirq_driver)
		return 0;
	m->calls[FAKE_DRV_FREEZE_NOIRQ]++;
	if (fault == FAULT_DRIVER)
		return -EAGAIN;
	m->state = VIRTIO_NOIRQ_ENTERED;
	return 0;
}

/**
 * model_restore_noirq() - virtio_device_restore_noirq() in the model
 * @m: the model
 * @fault: the fault injected into this step
 *
 * Only called after a freeze_noirq that succeeded: the PM core's rule.
 *
 * Return: what the real call must return.
 */
static int model_restore_noirq(struct model *m, enum model_fault fault)
{
	int err;

	if (!m->noirq_driver)
		return 0;

	err = model_reinit(m, fault);
	if (err)
		return err;
	if (fault == FAULT_RESET_VQS)
		return model_fail(m, -EREMOTEIO);
	m->calls[FAKE_DRV_RESTORE_NOIRQ]++;
	if (fault == FAULT_DRIVER)
		return model_fail(m, -ETIMEDOUT);
	if (m->ready_in_noirq)
		m->status |= ST_DOK;
	m->state = VIRTIO_NOIRQ_RESTORED;
	if (m->status & ST_DOK)
		model_core_enable(m);
	return 0;
}

/**
 * model_reinit_done() - the tail shared by restore and reset_done
 * @m: the model
 *
 * Once the driver succeeded: DRIVER_OK and config delivery back on.
 */
static void model_reinit_done(struct model *m)
{
	m->status |= ST_DOK;
	model_core_enable(m);
}

/**
 * model_restore() - virtio_device_restore() in the model
 * @m: the model
 * @fault: the fault injected into this step
 *
 * Return: what the real call must return.
 */
static int model_restore(struct model *m, enum model_fault fault)
{
	int err;

	if (m->noirq_driver) {
		if (m->state == VIRTIO_NOIRQ_ENTERED)
			return model_fail(m, -EIO);
	} else {
		err = model_reinit(m, fault);
		if (err)
			return err;
	}
	m->calls[FAKE_DRV_RESTORE]++;
	if (fault == FAULT_DRIVER)
		return model_fail(m, -EPROTO);
	model_reinit_done(m);
	return 0;
}

/**
 * model_reset_prepare() - virtio_device_reset_prepare() in the model
 * @m: the model
 * @fault: the fault injected into this step
 *
 * Return: what the real call must return.
 */
static int model_reset_prepare(struct model *m, enum model_fault fault)
{
	m->core_enabled = false;
	m->failed = m->status & ST_FAIL;
	m->state_known = false;
	m->calls[FAKE_DRV_RESET_PREPARE]++;
	if (fault == FAULT_DRIVER) {
		model_core_enable(m);
		return -EBUSY;
	}
	return 0;
}

/**
 * model_reset_done() - virtio_device_reset_done() in the model
 * @m: the model
 * @fault: the fault injected into this step
 *
 * Return: what the real call must return.
 */
static int model_reset_done(struct model *m, enum model_fault fault)
{
	int err;

	err = model_reinit(m, fault);
	if (err)
		return err;
	m->calls[FAKE_DRV_RESET_DONE]++;
	if (fault == FAULT_DRIVER)
		return model_fail(m, -EPROTO);
	model_reinit_done(m);
	return 0;
}

/**
 * model_apply() - apply a step to the model
 * @m: the model
 * @step: the step
 * @fault: the fault injected into this step
 *
 * Return: what the real call must return.
 */
static int model_apply(struct model *m, enum model_step step,
		       enum model_fault fault)
{
	switch (step) {
	case STEP_FREEZE:
		return model_freeze(m, fault);
	case STEP_FREEZE_NOIRQ:
		return model_freeze_noirq(m, fault);
	case STEP_RESTORE_NOIRQ:
		return model_restore_noirq(m, fault);
	case STEP_RESTORE:
		return model_restore(m, fault);
	case STEP_RESET_PREPARE:
		return model_reset_prepare(m, fault);
	case STEP_RESET_DONE:
		return model_reset_done(m, fault);
	case STEP_CONFIG_CHANGED:
		model_deliver(m);
		return 0;
	case STEP_DRIVER_DISABLE:
		m->driver_disabled = true;
		return 0;
	case STEP_DRIVER_ENABLE:
		m->driver_disabled = false;
		if (m->pending)
			model_deliver(m);
		return 0;
	default:
		return 0;
	}
}

/**
 * fake_arm() - arm a fault in the fake for a step
 * @c: the sequence
 * @step: the step about to run
 * @fault: the fault; the driver's error depends on @step
 */
static void fake_arm(struct model_ctx *c, enum model_step step,
		     enum model_fault fault)
{
	static const struct {
		enum fake_drv_cb cb;
		int err;
	} drv_fault[STEP_NR] = {
		[STEP_FREEZE] = { FAKE_DRV_FREEZE, -EBUSY },
		[STEP_FREEZE_NOIRQ] = { FAKE_DRV_FREEZE_NOIRQ, -EAGAIN },
		[STEP_RESTORE_NOIRQ] = { FAKE_DRV_RESTORE_NOIRQ, -ETIMEDOUT },
		[STEP_RESTORE] = { FAKE_DRV_RESTORE, -EPROTO },
		[STEP_RESET_PREPARE] = { FAKE_DRV_RESET_PREPARE, -EBUSY },
		[STEP_RESET_DONE] = { FAKE_DRV_RESET_DONE, -EPROTO },
	};

	switch (fault) {
	case FAULT_DRIVER:
		c->fd->err[drv_fault[step].cb] = drv_fault[step].err;
		break;
	case FAULT_FINALIZE:
		c->fv->ops[FAKE_OP_FINALIZE].err = -ENOSPC;
		break;
	case FAULT_FEATURES_OK:
		c->fv->refuse_features_ok = true;
		break;
	case FAULT_RESET_VQS:
		c->fv->ops[FAKE_OP_RESET_VQS].err = -EREMOTEIO;
		break;
	default:
		break;
	}
}

/**
 * fake_disarm() - clear every fault armed in the fake
 * @c: the sequence
 */
static void fake_disarm(struct model_ctx *c)
{
	memset(c->fd->err, 0, sizeof(c->fd->err));
	c->fv->ops[FAKE_OP_FINALIZE].err = 0;
	c->fv->ops[FAKE_OP_RESET_VQS].err = 0;
	c->fv->refuse_features_ok = false;
}

/**
 * fake_run() - run a step on the device under test
 * @c: the sequence
 * @step: the step
 *
 * Return: what the real call returned (0 for the steps that return nothing).
 */
static int fake_run(struct model_ctx *c, enum model_step step)
{
	struct virtio_device *vdev = &c->fv->vdev;

	switch (step) {
	case STEP_FREEZE:
		return virtio_device_freeze(vdev);
	case STEP_FREEZE_NOIRQ:
		return virtio_device_freeze_noirq(vdev);
	case STEP_RESTORE_NOIRQ:
		return virtio_device_restore_noirq(vdev);
	case STEP_RESTORE:
		return virtio_device_restore(vdev);
	case STEP_RESET_PREPARE:
		return virtio_device_reset_prepare(vdev);
	case STEP_RESET_DONE:
		return virtio_device_reset_done(vdev);
	case STEP_CONFIG_CHANGED:
		virtio_config_changed(vdev);
		return 0;
	case STEP_DRIVER_DISABLE:
		virtio_config_driver_disable(vdev);
		return 0;
	case STEP_DRIVER_ENABLE:
		virtio_config_driver_enable(vdev);
		return 0;
	default:
		return 0;
	}
}

/**
 * model_pick_fault() - a fault that can happen in a step, picked at random
 * @c: the sequence
 * @step: the step
 *
 * Return: the fault, mostly %FAULT_NONE.
 */
static enum model_fault model_pick_fault(struct model_ctx *c,
					 enum model_step step)
{
	u32 r = prandom_u32_state(&c->rnd) % 32;

	if (step >= STEP_CONFIG_CHANGED || r >= 6)
		return FAULT_NONE;
	if (r < 3)
		return FAULT_DRIVER;
	if (step == STEP_RESTORE_NOIRQ && r == 3)
		return FAULT_RESET_VQS;
	/* The normal restore of a noirq driver does not re-init. */
	if (step == STEP_RESTORE && c->m.noirq_driver)
		return FAULT_NONE;
	if (step == STEP_RESTORE_NOIRQ || step == STEP_RESTORE ||
	    step == STEP_RESET_DONE)
		return r == 5 && c->m.modern ? FAULT_FEATURES_OK :
					       FAULT_FINALIZE;
	return FAULT_NONE;
}

/**
 * model_check() - compare the device and the core with the model
 * @c: the sequence
 * @step: the step just run
 * @fault: the fault injected into this step
 * @want: what the model says the call returns
 * @got: what the call returned
 *
 * Return: false on a mismatch, which fails the test.
 */
static bool model_check(struct model_ctx *c, enum model_step step,
			enum model_fault fault, int want, int got)
{
	struct kunit *test = c->test;
	struct virtio_device *vdev = &c->fv->vdev;
	const struct model *m = &c->m;
	enum fake_drv_cb cb;
	bool ok = true;

#define MODEL_EXPECT(cond, what)					\
	do {								\
		if (!(cond)) {						\
			KUNIT_FAIL(test, "seed %u step %u (%d, fault %d): %s", \
				   c->seed, c->step, step, fault, what);	\
			ok = false;					\
		}							\
	} while (0)

	MODEL_EXPECT(got == want, "return code");
	MODEL_EXPECT(c->fv->status == m->status, "device status");
	MODEL_EXPECT(!m->state_known || vdev->noirq_state == m->state,
		     "noirq_state");
	MODEL_EXPECT(c->fv->resets == m->resets, "device resets");
	for (cb = 0; cb < FAKE_DRV_NR; cb++)
		MODEL_EXPECT(c->fd->calls[cb] == m->calls[cb],
			     cb == FAKE_DRV_CONFIG_CHANGED ?
			     "config changes delivered" : "driver callbacks");
#undef MODEL_EXPECT
	return ok;
}

/**
 * model_live_status() - the status of a device that a driver brought up
 * @m: the model
 *
 * Return: the status, without FEATURES_OK for a legacy device.
 */
static u8 model_live_status(const struct model *m)
{
	return m->modern ? ST_LIVE : ST_LIVE & ~ST_FOK;
}

/**
 * model_start() - start a sequence from a live device, through the API only
 * @c: the sequence
 * @seq_seed: the sequence's seed
 *
 * The driver enables config delivery, an FLR re-initialises the device with
 * FAILED clear (the fake's status register is written before reset_prepare
 * saves it) and delivers whatever was pending. What the FLR leaves in
 * &virtio_device.noirq_state is not the contract's business: it is known
 * again after the first freeze.
 */
static void model_start(struct model_ctx *c, unsigned int seq_seed)
{
	struct kunit *test = c->test;
	struct virtio_device *vdev = &c->fv->vdev;

	c->seed = seq_seed;
	c->step = 0;
	c->in_noirq = false;
	prandom_seed_state(&c->rnd, seq_seed);

	virtio_config_driver_enable(vdev);
	c->fv->status = ST_LIVE;
	KUNIT_ASSERT_EQ(test, virtio_device_reset_prepare(vdev), 0);
	KUNIT_ASSERT_EQ(test, virtio_device_reset_done(vdev), 0);
	KUNIT_ASSERT_EQ(test, c->fv->status, model_live_status(&c->m));
	fake_vdev_clear_logs(c->fv);
	fake_driver_clear_counts(c->fd);

	memset(c->m.calls, 0, sizeof(c->m.calls));
	c->m.ready_in_noirq = prandom_u32_state(&c->rnd) & 1;
	c->fd->ready_in_restore_noirq = c->m.ready_in_noirq;
	c->m.status = c->fv->status;
	c->m.failed = false;
	c->m.state_known = false;
	c->m.core_enabled = true;
	c->m.driver_disabled = false;
	c->m.pending = false;
	c->m.resets = 0;
}

/**
 * model_step() - run a step with a random fault on the model and the device
 * @c: the sequence
 * @step: the step
 * @ret: if not NULL, set to what the call returned
 *
 * Return: false on a mismatch.
 */
static bool model_step(struct model_ctx *c, enum model_step step, int *ret)
{
	enum model_fault fault = model_pick_fault(c, step);
	int want, got;

	want = model_apply(&c->m, step, fault);
	fake_arm(c, step, fault);
	got = fake_run(c, step);
	fake_disarm(c);
	c->step++;
	if (ret)
		*ret = got;
	return model_check(c, step, fault, want, got);
}

/**
 * model_noise() - what may happen between two PM steps
 * @c: the sequence
 *
 * Outside the noirq phase, now and then the device raises a config change,
 * or the driver disables or enables config delivery (device interrupts are
 * off in the noirq phase).
 *
 * Return: false on a mismatch.
 */
static bool model_noise(struct model_ctx *c)
{
	u32 r = prandom_u32_state(&c->rnd) % 8;

	if (c->in_noirq || r >= 3)
		return true;
	return model_step(c, (enum model_step)(STEP_CONFIG_CHANGED + r), NULL);
}

/**
 * model_pm_step() - one step of an episode and the noise after it
 * @c: the sequence
 * @step: the step
 * @ret: as for model_step()
 *
 * Return: false on a mismatch.
 */
static bool model_pm_step(struct model_ctx *c, enum model_step step, int *ret)
{
	return model_step(c, step, ret) && model_noise(c);
}

/**
 * model_suspend() - a system suspend or a hibernation freeze and thaw
 * @c: the sequence
 *
 * As the PM core runs it for this device: nothing more if its freeze fails;
 * restore alone if the suspend is aborted before the noirq phase or its
 * freeze_noirq fails; else restore_noirq and restore, also when another
 * device fails its noirq suspend. Now and then it is the restore of a
 * hibernation image: the boot kernel probed the device and left it running.
 *
 * Return: false on a mismatch.
 */
static bool model_suspend(struct model_ctx *c)
{
	u32 r = prandom_u32_state(&c->rnd) % 8;
	int ret;

	if (!model_pm_step(c, STEP_FREEZE, &ret))
		return false;
	if (ret)
		return true;
	if (r == 0)
		return model_pm_step(c, STEP_RESTORE, NULL);
	if (!model_pm_step(c, STEP_FREEZE_NOIRQ, &ret))
		return false;
	if (ret)
		return model_pm_step(c, STEP_RESTORE, NULL);
	if (r == 1) {
		c->fv->status = model_live_status(&c->m);
		c->m.status = c->fv->status;
	}
	c->in_noirq = true;
	if (!model_step(c, STEP_RESTORE_NOIRQ, NULL))
		return false;
	c->in_noirq = false;
	return model_noise(c) && model_pm_step(c, STEP_RESTORE, NULL);
}

/**
 * model_flr() - an FLR: reset_done only after reset_prepare succeeded
 * @c: the sequence
 *
 * Return: false on a mismatch.
 */
static bool model_flr(struct model_ctx *c)
{
	int ret;

	if (!model_pm_step(c, STEP_RESET_PREPARE, &ret))
		return false;
	return ret || model_pm_step(c, STEP_RESET_DONE, NULL);
}

/**
 * model_run_sequence() - run one random sequence
 * @c: the sequence
 * @seq_seed: the sequence's seed
 *
 * Return: false if it diverged from the model.
 */
static bool model_run_sequence(struct model_ctx *c, unsigned int seq_seed)
{
	unsigned int i;

	model_start(c, seq_seed);
	for (i = 0; i < MODEL_EPISODES; i++) {
		bool ok = prandom_u32_state(&c->rnd) % 4 ? model_suspend(c) :
							     model_flr(c);

		if (!ok)
			return false;
	}
	return true;
}

/**
 * struct model_param - which driver the random sequences run against
 * @desc: description of the case
 * @tmpl: the driver's callback table
 * @features: the features the device offers
 */
struct model_param {
	const char *desc;
	const struct virtio_driver *tmpl;
	u64 features;
};

static const struct model_param model_params[] = {
	{ "noirq driver, modern device", &fake_driver_noirq,
	  FAKE_FEATURES_MODERN },
	{ "noirq driver, legacy device", &fake_driver_noirq,
	  FAKE_FEATURES_LEGACY },
	{ "plain driver, modern device", &fake_driver_default,
	  FAKE_FEATURES_MODERN },
	{ "plain driver, legacy device", &fake_driver_default,
	  FAKE_FEATURES_LEGACY },
};

KUNIT_ARRAY_PARAM_DESC(model, model_params, desc);

/*
 * Seeded random PM sequences, failures and config changes included, never
 * diverge from the reference model of the contract.
 */
static void random_pm_sequences_match_model(struct kunit *test)
{
	const struct model_param *p = test->param_value;
	struct model_ctx *c;
	unsigned int i;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	c->test = test;
	c->fv = fake_vdev_create(test, &fake_noirq_ops, p->features);
	c->fd = fake_driver_create(test, c->fv, p->tmpl);
	c->m.noirq_driver = !!p->tmpl->restore_noirq;
	c->m.modern = p->features & BIT_ULL(VIRTIO_F_VERSION_1);

	for (i = 0; i < sequences; i++) {
		if (!model_run_sequence(c, seed + i)) {
			KUNIT_FAIL(test,
				   "replay: --kernel_args virtio_pm_test.seed=%u --kernel_args virtio_pm_test.sequences=1",
				   seed + i);
			return;
		}
	}
	kunit_info(test, "%u sequences of %u episodes from seed %u\n",
		   sequences, MODEL_EPISODES, seed);
}

static struct kunit_case model_cases[] = {
	KUNIT_CASE_PARAM(random_pm_sequences_match_model, model_gen_params),
	{}
};

static struct kunit_suite virtio_noirq_model_suite = {
	.name = "virtio_noirq_model",
	.test_cases = model_cases,
};

kunit_test_suites(&virtio_noirq_model_suite);

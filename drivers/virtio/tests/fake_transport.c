// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fake virtio transport and fake virtio driver for KUnit tests.
 *
 * The fake device is registered on the real virtio bus, so the fake driver
 * binds through virtio_dev_probe() and every status write of the core is
 * seen by the fake. Virtqueues are real split rings created with
 * vring_create_virtqueue(); only the notification goes to the fake.
 */

#include <kunit/device.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/preempt.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/tracepoint.h>
#include <trace/events/kmem.h>
#include <trace/events/printk.h>

#include "fake_transport.h"

static atomic_t fake_vdev_ids = ATOMIC_INIT(0);

/**
 * fake_atomic() - whether the caller runs in atomic context
 *
 * This is in_atomic(), which drivers must not use to pick a behaviour; the
 * fake only records it, so that tests can see where the virtio core calls
 * the transport from. It relies on CONFIG_PREEMPT_COUNT (selected by
 * CONFIG_DEBUG_ATOMIC_SLEEP).
 *
 * Return: true in atomic context.
 */
static bool fake_atomic(void)
{
	return preempt_count() != 0;
}

/**
 * fake_vdev_log() - append an entry to the event log
 * @fv: the fake device
 * @type: what happened
 * @value: argument of the event, see &enum fake_event_type
 *
 * Records the status register and the calling context with the entry. Never
 * sleeps and never allocates, so it may be called with interrupts disabled.
 */
void fake_vdev_log(struct fake_vdev *fv, enum fake_event_type type, u8 value)
{
	struct fake_event *ev;

	if (fv->events_len >= FAKE_EVENT_LOG_MAX) {
		fv->log_overflow++;
		return;
	}

	ev = &fv->events[fv->events_len++];
	ev->type = type;
	ev->value = value;
	ev->status = fv->status;
	ev->irqs_off = irqs_disabled();
	ev->atomic = fake_atomic();
}

/**
 * fake_op_enter() - account one call of a transport operation
 * @fv: the fake device
 * @op: the operation
 *
 * Counts the call and whether it was made with interrupts disabled or in
 * atomic context. Every fake operation starts with this; an operation added
 * by another ops table should too. Never sleeps.
 */
void fake_op_enter(struct fake_vdev *fv, enum fake_op op)
{
	struct fake_op_stats *st = &fv->ops[op];

	st->calls++;
	if (irqs_disabled())
		st->irqs_off++;
	if (fake_atomic())
		st->atomic++;
}

/**
 * fake_status_log() - append a status write or a reset to the status log
 * @fv: the fake device
 * @status: the value written (0 for a reset)
 * @reset: the entry is a reset
 *
 * A full log counts the entry in &fake_vdev.log_overflow instead.
 */
static void fake_status_log(struct fake_vdev *fv, u8 status, bool reset)
{
	struct fake_status_write *sw;

	if (fv->status_log_len >= FAKE_STATUS_LOG_MAX) {
		fv->log_overflow++;
		return;
	}

	sw = &fv->status_log[fv->status_log_len++];
	sw->status = status;
	sw->reset = reset;
}

/**
 * fake_vdev_get() - read config space
 * @vdev: the virtio device
 * @offset: offset into config space
 * @buf: destination
 * @len: number of bytes
 *
 * Accesses beyond the config space are counted in &fake_vdev.config_oob and
 * read as zeroes.
 */
void fake_vdev_get(struct virtio_device *vdev, unsigned int offset,
		   void *buf, unsigned int len)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_GET);
	if (offset > FAKE_CONFIG_SIZE || len > FAKE_CONFIG_SIZE - offset) {
		fv->config_oob++;
		memset(buf, 0, len);
		return;
	}
	memcpy(buf, fv->config + offset, len);
}

/**
 * fake_vdev_set() - write config space
 * @vdev: the virtio device
 * @offset: offset into config space
 * @buf: source
 * @len: number of bytes
 *
 * Accesses beyond the config space are counted in &fake_vdev.config_oob and
 * dropped.
 */
void fake_vdev_set(struct virtio_device *vdev, unsigned int offset,
		   const void *buf, unsigned int len)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_SET);
	if (offset > FAKE_CONFIG_SIZE || len > FAKE_CONFIG_SIZE - offset) {
		fv->config_oob++;
		return;
	}
	memcpy(fv->config + offset, buf, len);
}

/**
 * fake_vdev_get_status() - read the status register
 * @vdev: the virtio device
 *
 * Return: the status register.
 */
u8 fake_vdev_get_status(struct virtio_device *vdev)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_GET_STATUS);
	return fv->status;
}

/**
 * fake_vdev_set_status() - write the status register
 * @vdev: the virtio device
 * @status: the new status
 *
 * Logs the written value. With &fake_vdev.refuse_features_ok set the device
 * does not keep %VIRTIO_CONFIG_S_FEATURES_OK.
 */
void fake_vdev_set_status(struct virtio_device *vdev, u8 status)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_SET_STATUS);
	fake_status_log(fv, status, false);
	fv->status = status;
	if (fv->refuse_features_ok)
		fv->status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	fake_vdev_log(fv, FAKE_EV_SET_STATUS, status);
}

/**
 * fake_vdev_reset() - reset the device
 * @vdev: the virtio device
 *
 * Clears the status register and logs a reset entry.
 */
void fake_vdev_reset(struct virtio_device *vdev)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_RESET);
	fv->resets++;
	fv->status = 0;
	fake_status_log(fv, 0, true);
	fake_vdev_log(fv, FAKE_EV_RESET, 0);
}

/**
 * fake_vq_notify() - notify callback of the fake's virtqueues
 * @vq: the kicked virtqueue
 *
 * Return: true (the device was notified).
 */
static bool fake_vq_notify(struct virtqueue *vq)
{
	struct fake_vdev *fv = to_fake_vdev(vq->vdev);

	fake_op_enter(fv, FAKE_OP_NOTIFY);
	if (vq->index < FAKE_VDEV_MAX_VQS)
		fv->vqs[vq->index].kicks++;
	fake_vdev_log(fv, FAKE_EV_NOTIFY, vq->index);
	return true;
}

/**
 * fake_vdev_free_vqs() - delete every virtqueue of the device
 * @fv: the fake device
 */
static void fake_vdev_free_vqs(struct fake_vdev *fv)
{
	struct virtqueue *vq, *n;

	list_for_each_entry_safe(vq, n, &fv->vdev.vqs, list) {
		if (vq->index < FAKE_VDEV_MAX_VQS)
			fv->vqs[vq->index].vq = NULL;
		vring_del_virtqueue(vq);
	}
}

/**
 * fake_vdev_setup_vq() - create one virtqueue and note its rings
 * @fv: the fake device
 * @index: the virtqueue index
 * @info: the driver's name, callback and context for it
 * @vqp: set to the new virtqueue
 *
 * Return: 0 or -ENOMEM.
 */
static int fake_vdev_setup_vq(struct fake_vdev *fv, unsigned int index,
			      struct virtqueue_info *info,
			      struct virtqueue **vqp)
{
	struct fake_vq *fvq = &fv->vqs[index];
	struct virtqueue *vq;

	vq = vring_create_virtqueue(index, FAKE_VQ_NUM, PAGE_SIZE, &fv->vdev,
				    true, false, info->ctx, fake_vq_notify,
				    info->callback, info->name);
	if (!vq)
		return -ENOMEM;

	fvq->vq = vq;
	fvq->desc_addr = virtqueue_get_desc_addr(vq);
	fvq->avail_addr = virtqueue_get_avail_addr(vq);
	fvq->used_addr = virtqueue_get_used_addr(vq);
	fvq->created++;
	*vqp = vq;
	return 0;
}

/**
 * fake_vdev_find_vqs() - create virtqueues
 * @vdev: the virtio device
 * @nvqs: number of entries in @vqs and @vqs_info
 * @vqs: the created virtqueues (NULL where @vqs_info has no name)
 * @vqs_info: name, callback and context flag of each virtqueue
 * @desc: interrupt affinity hint (ignored)
 *
 * Creates real split rings of %FAKE_VQ_NUM entries and records their ring
 * addresses in &fake_vdev.vqs. Named entries get consecutive indexes.
 *
 * Return: 0, the injected error, -EINVAL for too many virtqueues or
 * -ENOMEM.
 */
int fake_vdev_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		       struct virtqueue *vqs[],
		       struct virtqueue_info vqs_info[],
		       struct irq_affinity *desc)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);
	unsigned int i, index = 0;
	int err;

	fake_op_enter(fv, FAKE_OP_FIND_VQS);
	fake_vdev_log(fv, FAKE_EV_FIND_VQS, nvqs);
	if (fv->ops[FAKE_OP_FIND_VQS].err)
		return fv->ops[FAKE_OP_FIND_VQS].err;

	for (i = 0; i < nvqs; i++) {
		if (!vqs_info[i].name) {
			vqs[i] = NULL;
			continue;
		}
		if (index >= FAKE_VDEV_MAX_VQS) {
			err = -EINVAL;
			goto err_free;
		}
		err = fake_vdev_setup_vq(fv, index++, &vqs_info[i], &vqs[i]);
		if (err)
			goto err_free;
	}
	return 0;

err_free:
	fake_vdev_free_vqs(fv);
	return err;
}

/**
 * fake_vdev_del_vqs() - delete all virtqueues
 * @vdev: the virtio device
 */
void fake_vdev_del_vqs(struct virtio_device *vdev)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_DEL_VQS);
	fake_vdev_log(fv, FAKE_EV_DEL_VQS, 0);
	fake_vdev_free_vqs(fv);
}

/**
 * fake_vdev_synchronize_cbs() - synchronise with virtqueue callbacks
 * @vdev: the virtio device
 *
 * The fake raises no interrupts, so this only counts and logs.
 */
void fake_vdev_synchronize_cbs(struct virtio_device *vdev)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_SYNC_CBS);
	fake_vdev_log(fv, FAKE_EV_SYNC_CBS, 0);
}

/**
 * fake_vdev_get_features() - read the device features
 * @vdev: the virtio device
 *
 * Return: &fake_vdev.device_features.
 */
u64 fake_vdev_get_features(struct virtio_device *vdev)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_GET_FEATURES);
	return fv->device_features;
}

/**
 * fake_vdev_finalize_features() - accept the driver features
 * @vdev: the virtio device
 *
 * Filters the transport features as a real transport does and records the
 * result in &fake_vdev.driver_features, unless an error is injected.
 *
 * Return: 0 or the injected error.
 */
int fake_vdev_finalize_features(struct virtio_device *vdev)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fake_op_enter(fv, FAKE_OP_FINALIZE);
	fake_vdev_log(fv, FAKE_EV_FINALIZE, 0);
	if (fv->ops[FAKE_OP_FINALIZE].err)
		return fv->ops[FAKE_OP_FINALIZE].err;

	vring_transport_features(vdev);
	fv->driver_features = vdev->features;
	return 0;
}

/**
 * fake_vdev_bus_name() - name of the fake bus
 * @vdev: the virtio device
 *
 * Return: "fake".
 */
const char *fake_vdev_bus_name(struct virtio_device *vdev)
{
	return "fake";
}

/**
 * fake_vq_disable_and_reset() - queue reset for virtqueue_reset()
 * @vq: the virtqueue
 *
 * The fake device has no queue state beyond the ring memory, so there is
 * nothing to stop or start.
 *
 * Return: 0.
 */
static int fake_vq_disable_and_reset(struct virtqueue *vq)
{
	vq->reset = true;
	return 0;
}

/**
 * fake_vq_enable_after_reset() - the queue runs again after virtqueue_reset()
 * @vq: the virtqueue
 *
 * Return: 0.
 */
static int fake_vq_enable_after_reset(struct virtqueue *vq)
{
	vq->reset = false;
	return 0;
}

const struct virtio_config_ops fake_virtio_config_ops = {
	.get = fake_vdev_get,
	.set = fake_vdev_set,
	.get_status = fake_vdev_get_status,
	.set_status = fake_vdev_set_status,
	.reset = fake_vdev_reset,
	.find_vqs = fake_vdev_find_vqs,
	.del_vqs = fake_vdev_del_vqs,
	.synchronize_cbs = fake_vdev_synchronize_cbs,
	.get_features = fake_vdev_get_features,
	.finalize_features = fake_vdev_finalize_features,
	.bus_name = fake_vdev_bus_name,
	.disable_vq_and_reset = fake_vq_disable_and_reset,
	.enable_vq_after_reset = fake_vq_enable_after_reset,
};

/**
 * fake_vdev_release() - release callback of the device: free the fake
 * @dev: the device of the &struct fake_vdev
 */
static void fake_vdev_release(struct device *dev)
{
	kfree(to_fake_vdev(dev_to_virtio(dev)));
}

/**
 * fake_vdev_unregister() - unregister the device, the KUnit action of fake_vdev_create()
 * @fv: the fake device
 */
static void fake_vdev_unregister(struct fake_vdev *fv)
{
	unregister_virtio_device(&fv->vdev);
}

KUNIT_DEFINE_ACTION_WRAPPER(fake_vdev_unregister_action, fake_vdev_unregister,
			    struct fake_vdev *);

/**
 * fake_vdev_create() - create and register a fake virtio device
 * @test: the test that owns the fake
 * @ops: transport operations, normally &fake_virtio_config_ops or a table
 *	 built from the fake_vdev_*() operations
 * @device_features: features the device offers
 *
 * The device is registered on the virtio bus (which resets it and sets
 * ACKNOWLEDGE) and unregistered when the test ends; the memory is freed by
 * the device release callback. The logs keep the reset and ACKNOWLEDGE of
 * the registration. Fails the test on error.
 *
 * Return: the fake device.
 */
struct fake_vdev *fake_vdev_create(struct kunit *test,
				   const struct virtio_config_ops *ops,
				   u64 device_features)
{
	char name[32];
	struct fake_vdev *fv;
	unsigned int id;
	int ret;

	id = atomic_inc_return(&fake_vdev_ids);

	fv = kzalloc_obj(*fv);
	KUNIT_ASSERT_NOT_NULL(test, fv);

	fv->test = test;
	fv->device_features = device_features;
	snprintf(name, sizeof(name), "fake-virtio-%u", id);
	fv->parent = kunit_device_register(test, name);
	if (IS_ERR(fv->parent)) {
		kfree(fv);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, fv->parent);
	}

	fv->vdev.dev.parent = fv->parent;
	fv->vdev.dev.release = fake_vdev_release;
	fv->vdev.config = ops;
	fv->vdev.id.device = FAKE_VDEV_DEVICE_BASE + id;
	fv->vdev.id.vendor = FAKE_VDEV_VENDOR;

	ret = register_virtio_device(&fv->vdev);
	if (ret) {
		put_device(&fv->vdev.dev);
		KUNIT_ASSERT_EQ(test, ret, 0);
	}

	ret = kunit_add_action_or_reset(test, fake_vdev_unregister_action, fv);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return fv;
}

/**
 * fake_vdev_clear_logs() - forget everything observed so far
 * @fv: the fake device
 *
 * Clears the status and event logs, the reset count and the call counters.
 * Injected errors, knobs, the status register and the virtqueues are kept.
 */
void fake_vdev_clear_logs(struct fake_vdev *fv)
{
	enum fake_op op;
	unsigned int i;

	for (op = 0; op < FAKE_OP_NR; op++) {
		fv->ops[op].calls = 0;
		fv->ops[op].irqs_off = 0;
		fv->ops[op].atomic = 0;
	}
	for (i = 0; i < FAKE_VDEV_MAX_VQS; i++)
		fv->vqs[i].kicks = 0;
	fv->resets = 0;
	fv->status_log_len = 0;
	fv->events_len = 0;
	fv->log_overflow = 0;
	fv->config_oob = 0;
	fv->noirq_violations = 0;
}

/**
 * fake_vdev_count_events() - count the event log entries of one type
 * @fv: the fake device
 * @type: the event type
 *
 * Return: the number of logged events of @type.
 */
unsigned int fake_vdev_count_events(const struct fake_vdev *fv,
				    enum fake_event_type type)
{
	unsigned int i, n = 0;

	for (i = 0; i < fv->events_len; i++)
		if (fv->events[i].type == type)
			n++;
	return n;
}

/**
 * fake_vdev_expect_status_log() - check the status log
 * @test: the test
 * @fv: the fake device
 * @exp: expected entries, built with FAKE_SW() and FAKE_SW_RESET
 * @n: number of entries in @exp
 *
 * Expects the status log to be exactly @exp, and nothing dropped.
 */
void fake_vdev_expect_status_log(struct kunit *test,
				 const struct fake_vdev *fv,
				 const struct fake_status_write *exp,
				 unsigned int n)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(test, fv->log_overflow, 0);
	KUNIT_EXPECT_EQ(test, fv->status_log_len, n);
	for (i = 0; i < min(n, fv->status_log_len); i++) {
		KUNIT_EXPECT_EQ_MSG(test, fv->status_log[i].reset, exp[i].reset,
				    "status log entry %u", i);
		KUNIT_EXPECT_EQ_MSG(test, fv->status_log[i].status,
				    exp[i].status, "status log entry %u", i);
	}
}

/**
 * fake_vdev_expect_events_nosync() - check the event log, syncs left out
 * @test: the test
 * @fv: the fake device
 * @exp: expected events, built with FAKE_EV(); only type and value count
 * @n: number of entries in @exp
 *
 * Expects the event log, less the callback synchronisations, to be exactly
 * @exp, and nothing dropped. For logs whose synchronisations the caller
 * checks on its own (the noirq paths never synchronise).
 */
void fake_vdev_expect_events_nosync(struct kunit *test,
				    const struct fake_vdev *fv,
				    const struct fake_event *exp,
				    unsigned int n)
{
	unsigned int i, j = 0;

	KUNIT_EXPECT_EQ(test, fv->log_overflow, 0);
	for (i = 0; i < fv->events_len; i++) {
		if (fv->events[i].type == FAKE_EV_SYNC_CBS)
			continue;
		if (j < n) {
			KUNIT_EXPECT_EQ_MSG(test, fv->events[i].type,
					    exp[j].type, "event %u", i);
			KUNIT_EXPECT_EQ_MSG(test, fv->events[i].value,
					    exp[j].value, "event %u", i);
		}
		j++;
	}
	KUNIT_EXPECT_EQ(test, j, n);
}

/**
 * fake_vdev_expect_events() - check the event log
 * @test: the test
 * @fv: the fake device
 * @exp: expected events, built with FAKE_EV(); only type and value count
 * @n: number of entries in @exp
 *
 * As fake_vdev_expect_events_nosync(); the synchronisations are then
 * checked with fake_vdev_expect_syncs().
 */
void fake_vdev_expect_events(struct kunit *test, const struct fake_vdev *fv,
			     const struct fake_event *exp, unsigned int n)
{
	fake_vdev_expect_events_nosync(test, fv, exp, n);
	fake_vdev_expect_syncs(test, fv);
}

/**
 * fake_event_needs_sync() - does an event need a callback synchronisation first
 * @fv: the fake device
 * @i: index of the event in the log
 * @known: set false when the status before event @i is not in the log
 *
 * Return: true if notification hardening synchronises the callbacks before
 * event @i: a reset, or the write that turns DRIVER_OK on.
 */
static bool fake_event_needs_sync(const struct fake_vdev *fv, unsigned int i,
				  bool *known)
{
	const struct fake_event *ev = &fv->events[i];
	u8 before;

	*known = true;
	if (ev->type == FAKE_EV_RESET)
		return true;
	if (ev->type != FAKE_EV_SET_STATUS ||
	    !(ev->value & VIRTIO_CONFIG_S_DRIVER_OK))
		return false;
	/* Only the write that turns DRIVER_OK on; unknown for entry 0. */
	if (!i) {
		*known = false;
		return false;
	}
	before = fv->events[i - 1].status;
	return !(before & VIRTIO_CONFIG_S_DRIVER_OK);
}

/**
 * fake_vdev_expect_syncs() - check where the virtqueue callbacks were synced
 * @test: the test
 * @fv: the fake device
 *
 * For paths that use only the normal (not noirq) helpers. Without
 * CONFIG_VIRTIO_HARDEN_NOTIFICATION nothing synchronises the callbacks.
 * With it, virtio_reset_device() does right before the reset and
 * virtio_device_ready() right before the status write that sets
 * DRIVER_OK: each %FAKE_EV_SYNC_CBS event must come right before such an
 * event, and each such event right after one. The count of the transport
 * op must match the log.
 */
void fake_vdev_expect_syncs(struct kunit *test, const struct fake_vdev *fv)
{
	bool harden = IS_ENABLED(CONFIG_VIRTIO_HARDEN_NOTIFICATION);
	unsigned int i, syncs = 0;
	bool synced = false;
	bool needs, known;

	for (i = 0; i < fv->events_len; i++) {
		if (fv->events[i].type == FAKE_EV_SYNC_CBS) {
			KUNIT_EXPECT_FALSE_MSG(test, synced,
					       "event %u: synced twice", i);
			synced = true;
			syncs++;
			continue;
		}
		needs = fake_event_needs_sync(fv, i, &known);
		if (known)
			KUNIT_EXPECT_EQ_MSG(test, synced, harden && needs,
					    "event %u: callback sync before it",
					    i);
		synced = false;
	}
	KUNIT_EXPECT_FALSE_MSG(test, synced, "the log ends with a sync");
	if (!harden)
		KUNIT_EXPECT_EQ(test, syncs, 0);
	KUNIT_EXPECT_EQ(test, fv->ops[FAKE_OP_SYNC_CBS].calls, syncs);
}

/**
 * fake_vdev_expect_process_context() - check that no op ran in atomic context
 * @test: the test
 * @fv: the fake device
 *
 * Expects every counted operation since the last fake_vdev_clear_logs() to
 * have run with interrupts enabled and outside atomic context.
 */
void fake_vdev_expect_process_context(struct kunit *test,
				      const struct fake_vdev *fv)
{
	enum fake_op op;

	for (op = 0; op < FAKE_OP_NR; op++) {
		KUNIT_EXPECT_EQ_MSG(test, fv->ops[op].irqs_off, 0, "op %d", op);
		KUNIT_EXPECT_EQ_MSG(test, fv->ops[op].atomic, 0, "op %d", op);
	}
}

static const unsigned int fake_drv_features[] = {
	FAKE_F_A,
	FAKE_F_B,
};

/**
 * to_fake_driver() - get the fake driver bound to a virtio device
 * @vdev: a virtio device bound to a fake driver
 *
 * Return: the &struct fake_driver bound to @vdev.
 */
struct fake_driver *to_fake_driver(struct virtio_device *vdev)
{
	struct virtio_driver *drv = drv_to_virtio(vdev->dev.driver);

	return container_of(drv, struct fake_driver, drv);
}

/**
 * fake_drv_enter() - account one call of a fake driver callback
 * @vdev: the virtio device the callback was called for
 * @cb: the callback
 * @ev: the event to log for it
 *
 * Counts the call, notes whether interrupts were disabled and the device
 * status at entry, and logs @ev. Every fake driver callback starts with
 * this; a callback added by another driver template should too. Never
 * sleeps.
 *
 * Return: the error injected for @cb (&fake_driver.err), usually 0.
 */
int fake_drv_enter(struct virtio_device *vdev, enum fake_drv_cb cb,
		   enum fake_event_type ev)
{
	struct fake_driver *fd = to_fake_driver(vdev);
	struct fake_vdev *fv = to_fake_vdev(vdev);

	fd->calls[cb]++;
	if (irqs_disabled())
		fd->irqs_off[cb]++;
	fd->status_seen[cb] = fv->status;
	fake_vdev_log(fv, ev, 0);
	return fd->err[cb];
}

/**
 * fake_drv_vq_done() - virtqueue callback of the fake driver
 * @vq: the virtqueue
 */
static void fake_drv_vq_done(struct virtqueue *vq)
{
	to_fake_driver(vq->vdev)->vq_done++;
}

/**
 * fake_drv_find_vqs() - find the driver's &fake_driver.nvqs virtqueues
 * @fd: the fake driver
 *
 * The first one has a callback that counts in &fake_driver.vq_done.
 *
 * Return: what virtio_find_vqs() returned.
 */
static int fake_drv_find_vqs(struct fake_driver *fd)
{
	struct virtqueue_info info[FAKE_DRV_MAX_VQS] = {
		{ "fake-req", fake_drv_vq_done },
		{ "fake-evt" },
	};

	return virtio_find_vqs(&fd->fv->vdev, fd->nvqs, fd->vqs, info, NULL);
}

/**
 * fake_drv_del_vqs() - take every unused buffer back and delete the virtqueues
 * @fd: the fake driver
 */
static void fake_drv_del_vqs(struct fake_driver *fd)
{
	unsigned int i;

	if (list_empty(&fd->fv->vdev.vqs))
		return;

	for (i = 0; i < FAKE_DRV_MAX_VQS; i++) {
		if (!fd->vqs[i])
			continue;
		while (virtqueue_detach_unused_buf(fd->vqs[i]))
			;
		fd->vqs[i] = NULL;
	}
	fd->fv->vdev.config->del_vqs(&fd->fv->vdev);
}

/**
 * fake_drv_probe() - probe callback of the fake driver
 * @vdev: the virtio device
 *
 * Finds &fake_driver.nvqs virtqueues.
 *
 * Return: 0, the injected error or the error of find_vqs.
 */
static int fake_drv_probe(struct virtio_device *vdev)
{
	struct fake_driver *fd = to_fake_driver(vdev);
	int err;

	err = fake_drv_enter(vdev, FAKE_DRV_PROBE, FAKE_EV_DRV_PROBE);
	if (err || !fd->nvqs)
		return err;

	return fake_drv_find_vqs(fd);
}

/**
 * fake_drv_remove() - remove callback of the fake driver
 * @vdev: the virtio device
 *
 * Resets the device and deletes the virtqueues, as the virtio core expects.
 */
static void fake_drv_remove(struct virtio_device *vdev)
{
	struct fake_driver *fd = to_fake_driver(vdev);

	fake_drv_enter(vdev, FAKE_DRV_REMOVE, FAKE_EV_DRV_REMOVE);
	virtio_reset_device(vdev);
	fake_drv_del_vqs(fd);
}

/**
 * fake_drv_config_changed() - config_changed callback of the fake driver
 * @vdev: the virtio device
 *
 * Only counts and logs; called with the config lock held.
 */
void fake_drv_config_changed(struct virtio_device *vdev)
{
	fake_drv_enter(vdev, FAKE_DRV_CONFIG_CHANGED,
		       FAKE_EV_DRV_CONFIG_CHANGED);
}

/**
 * fake_drv_quiesce() - common tail of freeze and reset_prepare
 * @fd: the fake driver
 *
 * With &fake_driver.recreate_vqs, resets the device and deletes the
 * virtqueues.
 */
static void fake_drv_quiesce(struct fake_driver *fd)
{
	if (fd->recreate_vqs) {
		virtio_reset_device(&fd->fv->vdev);
		fake_drv_del_vqs(fd);
	}
}

/**
 * fake_drv_freeze() - freeze callback of the fake driver
 * @vdev: the virtio device
 *
 * With &fake_driver.recreate_vqs, resets the device and deletes the
 * virtqueues.
 *
 * Return: 0 or the injected error (then the device is untouched).
 */
int fake_drv_freeze(struct virtio_device *vdev)
{
	struct fake_driver *fd = to_fake_driver(vdev);
	int err;

	err = fake_drv_enter(vdev, FAKE_DRV_FREEZE, FAKE_EV_DRV_FREEZE);
	if (err)
		return err;

	fake_drv_quiesce(fd);
	return 0;
}

/**
 * fake_drv_bring_up() - common tail of restore and reset_done
 * @fd: the fake driver
 *
 * With &fake_driver.recreate_vqs, finds the virtqueues again; with
 * &fake_driver.ready_in_restore, sets DRIVER_OK itself.
 *
 * Return: 0 or the error of finding the virtqueues.
 */
static int fake_drv_bring_up(struct fake_driver *fd)
{
	int err;

	if (fd->recreate_vqs && fd->nvqs) {
		err = fake_drv_find_vqs(fd);
		if (err)
			return err;
	}
	if (fd->ready_in_restore)
		virtio_device_ready(&fd->fv->vdev);
	return 0;
}

/**
 * fake_drv_restore() - restore callback of the fake driver
 * @vdev: the virtio device
 *
 * With &fake_driver.recreate_vqs, finds the virtqueues again; with
 * &fake_driver.ready_in_restore, sets DRIVER_OK itself.
 *
 * Return: 0, the injected error or the error of find_vqs.
 */
int fake_drv_restore(struct virtio_device *vdev)
{
	int err;

	err = fake_drv_enter(vdev, FAKE_DRV_RESTORE, FAKE_EV_DRV_RESTORE);
	if (err)
		return err;

	return fake_drv_bring_up(to_fake_driver(vdev));
}

/**
 * fake_drv_reset_prepare() - reset_prepare callback of the fake driver
 * @vdev: the virtio device
 *
 * Behaves like fake_drv_freeze().
 *
 * Return: 0 or the injected error.
 */
int fake_drv_reset_prepare(struct virtio_device *vdev)
{
	struct fake_driver *fd = to_fake_driver(vdev);
	int err;

	err = fake_drv_enter(vdev, FAKE_DRV_RESET_PREPARE,
			     FAKE_EV_DRV_RESET_PREPARE);
	if (err)
		return err;

	fake_drv_quiesce(fd);
	return 0;
}

/**
 * fake_drv_reset_done() - reset_done callback of the fake driver
 * @vdev: the virtio device
 *
 * Behaves like fake_drv_restore().
 *
 * Return: 0, the injected error or the error of find_vqs.
 */
int fake_drv_reset_done(struct virtio_device *vdev)
{
	int err;

	err = fake_drv_enter(vdev, FAKE_DRV_RESET_DONE, FAKE_EV_DRV_RESET_DONE);
	if (err)
		return err;

	return fake_drv_bring_up(to_fake_driver(vdev));
}

/*
 * The default driver template: every optional callback of today's
 * struct virtio_driver. probe and remove are always the fake ones.
 */
const struct virtio_driver fake_driver_default = {
	.config_changed = fake_drv_config_changed,
	.freeze = fake_drv_freeze,
	.restore = fake_drv_restore,
	.reset_prepare = fake_drv_reset_prepare,
	.reset_done = fake_drv_reset_done,
};

/**
 * fake_driver_init() - prepare a fake driver for one fake device
 * @test: the test that owns the driver
 * @fv: the fake device the driver is to bind to
 * @tmpl: template for the optional callbacks, e.g. &fake_driver_default
 *
 * Copies @tmpl, sets the fake probe and remove, an id table matching only
 * @fv and the fake feature table. Knobs can be set before
 * fake_driver_register().
 *
 * Return: the driver, not yet registered.
 */
struct fake_driver *fake_driver_init(struct kunit *test, struct fake_vdev *fv,
				     const struct virtio_driver *tmpl)
{
	struct fake_driver *fd;

	fd = kunit_kzalloc(test, sizeof(*fd), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fd);

	fd->drv = *tmpl;
	fd->test = test;
	fd->fv = fv;
	fd->nvqs = FAKE_DRV_MAX_VQS;
	fd->id_table[0].device = fv->vdev.id.device;
	fd->id_table[0].vendor = fv->vdev.id.vendor;
	snprintf(fd->name, sizeof(fd->name), "fake-virtio-drv-%x",
		 fv->vdev.id.device);
	fd->drv.driver.name = fd->name;
	fd->drv.id_table = fd->id_table;
	fd->drv.feature_table = fake_drv_features;
	fd->drv.feature_table_size = ARRAY_SIZE(fake_drv_features);
	fd->drv.probe = fake_drv_probe;
	fd->drv.remove = fake_drv_remove;
	return fd;
}

/**
 * fake_driver_unregister_drv() - unregister the driver (a KUnit action)
 * @fd: the fake driver
 */
static void fake_driver_unregister_drv(struct fake_driver *fd)
{
	unregister_virtio_driver(&fd->drv);
}

KUNIT_DEFINE_ACTION_WRAPPER(fake_driver_unregister_action,
			    fake_driver_unregister_drv, struct fake_driver *);

/**
 * fake_driver_register() - register a fake driver on the virtio bus
 * @test: the test that owns the driver
 * @fd: the driver from fake_driver_init()
 *
 * Binding happens through the real virtio_dev_probe(); a failing probe
 * leaves the driver registered but unbound. The driver is unregistered when
 * the test ends. Fails the test if the registration fails.
 */
void fake_driver_register(struct kunit *test, struct fake_driver *fd)
{
	int ret;

	ret = register_virtio_driver(&fd->drv);
	KUNIT_ASSERT_EQ(test, ret, 0);
	ret = kunit_add_action_or_reset(test, fake_driver_unregister_action,
					fd);
	KUNIT_ASSERT_EQ(test, ret, 0);
}

/**
 * fake_driver_unregister() - unregister a fake driver before the test ends
 * @test: the test that owns the driver
 * @fd: a driver registered with fake_driver_register()
 *
 * Unbinds the driver (its remove runs) and unregisters it.
 */
void fake_driver_unregister(struct kunit *test, struct fake_driver *fd)
{
	kunit_release_action(test, fake_driver_unregister_action, fd);
}

/**
 * fake_driver_create() - create, register and bind a fake driver
 * @test: the test that owns the driver
 * @fv: the fake device to bind to
 * @tmpl: template for the optional callbacks, e.g. &fake_driver_default
 *
 * Fails the test unless the driver is bound to @fv afterwards. Logs and
 * counters of @fv and of the driver are cleared after the binding.
 *
 * Return: the bound driver.
 */
struct fake_driver *fake_driver_create(struct kunit *test,
				       struct fake_vdev *fv,
				       const struct virtio_driver *tmpl)
{
	struct fake_driver *fd = fake_driver_init(test, fv, tmpl);

	fake_driver_register(test, fd);
	KUNIT_ASSERT_TRUE(test, fake_driver_bound(fd));
	fake_driver_clear_counts(fd);
	fake_vdev_clear_logs(fv);
	return fd;
}

/**
 * fake_driver_bound() - check whether a fake driver is bound to its device
 * @fd: the fake driver
 *
 * Return: true if @fd is bound to &fake_driver.fv.
 */
bool fake_driver_bound(const struct fake_driver *fd)
{
	return fd->fv->vdev.dev.driver == &fd->drv.driver;
}

/**
 * fake_driver_clear_counts() - forget the callback counts of a fake driver
 * @fd: the fake driver
 *
 * Injected errors and knobs are kept.
 */
void fake_driver_clear_counts(struct fake_driver *fd)
{
	memset(fd->calls, 0, sizeof(fd->calls));
	memset(fd->irqs_off, 0, sizeof(fd->irqs_off));
	memset(fd->status_seen, 0, sizeof(fd->status_seen));
	fd->vq_done = 0;
}

/**
 * fake_driver_queue_buf() - add one buffer to a virtqueue and kick it
 * @test: the test
 * @fd: the bound fake driver
 * @index: which of the driver's virtqueues
 *
 * Fails the test if the buffer cannot be added.
 */
void fake_driver_queue_buf(struct kunit *test, struct fake_driver *fd,
			   unsigned int index)
{
	struct scatterlist sg;
	void *buf;
	int ret;

	KUNIT_ASSERT_LT(test, index, FAKE_DRV_MAX_VQS);
	KUNIT_ASSERT_NOT_NULL(test, fd->vqs[index]);

	buf = kunit_kzalloc(test, 16, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	sg_init_one(&sg, buf, 16);

	ret = virtqueue_add_outbuf(fd->vqs[index], &sg, 1, buf, GFP_KERNEL);
	KUNIT_ASSERT_EQ(test, ret, 0);
	virtqueue_kick(fd->vqs[index]);
}

/*
 * The console watch of the running test. Tests run one at a time, and the
 * probe only reads the pointer, so no lock is needed.
 */
static struct fake_console_watch *fake_console_watch_active;

/**
 * fake_console_probe() - console tracepoint probe of fake_console_watch()
 * @ignore: unused probe data
 * @text: the text of the log line
 * @len: its length
 */
static void fake_console_probe(void *ignore, const char *text, size_t len)
{
	struct fake_console_watch *w = READ_ONCE(fake_console_watch_active);

	if (w && strnstr(text, w->needle, len))
		atomic_inc(&w->lines);
}

/**
 * fake_console_unwatch() - end the console watch, its KUnit action
 * @data: unused
 */
static void fake_console_unwatch(void *data)
{
	WRITE_ONCE(fake_console_watch_active, NULL);
	unregister_trace_console(fake_console_probe, NULL);
	tracepoint_synchronize_unregister();
}

/**
 * fake_console_watch() - count kernel log lines that mention a string
 * @test: the test; the watch ends with it
 * @needle: the string to look for, e.g. dev_name() of a device
 *
 * Every line printed from now on that contains @needle increments
 * &fake_console_watch.lines. The lines are seen when they are stored, at
 * any log level and whatever the console log level, through the console
 * tracepoint. The test is skipped if the kernel has no tracepoints.
 *
 * Return: the watch, owned by @test.
 */
struct fake_console_watch *fake_console_watch(struct kunit *test,
					      const char *needle)
{
	struct fake_console_watch *w;

	if (!IS_ENABLED(CONFIG_TRACEPOINTS))
		kunit_skip(test, "needs CONFIG_TRACEPOINTS for the console probe");

	w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	strscpy(w->needle, needle, sizeof(w->needle));
	KUNIT_ASSERT_NULL(test, READ_ONCE(fake_console_watch_active));
	KUNIT_ASSERT_EQ(test, register_trace_console(fake_console_probe, NULL),
			0);
	WRITE_ONCE(fake_console_watch_active, w);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							fake_console_unwatch,
							NULL), 0);
	return w;
}

/**
 * fake_alloc_count() - count one allocation of the watched task while armed
 * @w: the watch
 * @site: the call site of the allocation
 */
static void fake_alloc_count(struct fake_alloc_watch *w, unsigned long site)
{
	if (!READ_ONCE(w->armed) || current != w->task || !in_task())
		return;
	WRITE_ONCE(w->last_site, site);
	atomic_inc(&w->allocs);
}

/**
 * fake_alloc_probe_kmalloc() - kmalloc tracepoint probe of fake_alloc_watch()
 * @data: the &struct fake_alloc_watch
 * @call_site: the call site
 * @ptr: the allocation
 * @bytes_req: bytes asked for
 * @bytes_alloc: bytes allocated
 * @gfp_flags: the GFP flags
 * @node: the NUMA node
 */
static void fake_alloc_probe_kmalloc(void *data, unsigned long call_site,
				     const void *ptr, size_t bytes_req,
				     size_t bytes_alloc, gfp_t gfp_flags,
				     int node)
{
	fake_alloc_count(data, call_site);
}

/**
 * fake_alloc_probe_cache() - kmem_cache_alloc tracepoint probe of fake_alloc_watch()
 * @data: the &struct fake_alloc_watch
 * @call_site: the call site
 * @ptr: the allocation
 * @s: the cache
 * @gfp_flags: the GFP flags
 * @node: the NUMA node
 */
static void fake_alloc_probe_cache(void *data, unsigned long call_site,
				   const void *ptr, struct kmem_cache *s,
				   gfp_t gfp_flags, int node)
{
	fake_alloc_count(data, call_site);
}

/**
 * fake_alloc_unwatch() - end the allocation watch, its KUnit action
 * @data: the &struct fake_alloc_watch
 */
static void fake_alloc_unwatch(void *data)
{
	unregister_trace_kmem_cache_alloc(fake_alloc_probe_cache, data);
	unregister_trace_kmalloc(fake_alloc_probe_kmalloc, data);
	tracepoint_synchronize_unregister();
}

/**
 * fake_alloc_watch() - count the slab allocations of the running test
 * @test: the test; the watch ends with it
 *
 * Registers probes on the kmalloc and kmem_cache_alloc tracepoints, which
 * every slab allocation passes, whatever its GFP flags and whether it
 * succeeds. While the watch is armed with fake_alloc_watch_arm(), each
 * allocation made by the test's task in task context (not by an interrupt
 * that happens to hit it) increments &fake_alloc_watch.allocs. Page
 * allocator calls are not seen: their tracepoint is not exported. The test
 * is skipped if the kernel has no tracepoints.
 *
 * Return: the watch, disarmed, owned by @test.
 */
struct fake_alloc_watch *fake_alloc_watch(struct kunit *test)
{
	struct fake_alloc_watch *w;
	int ret;

	if (!IS_ENABLED(CONFIG_TRACEPOINTS))
		kunit_skip(test, "needs CONFIG_TRACEPOINTS for the kmem probes");

	w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	w->task = current;

	ret = register_trace_kmalloc(fake_alloc_probe_kmalloc, w);
	KUNIT_ASSERT_EQ(test, ret, 0);
	ret = register_trace_kmem_cache_alloc(fake_alloc_probe_cache, w);
	if (ret)
		unregister_trace_kmalloc(fake_alloc_probe_kmalloc, w);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							fake_alloc_unwatch,
							w), 0);
	return w;
}

/**
 * fake_alloc_watch_arm() - start or stop counting allocations
 * @w: the watch from fake_alloc_watch()
 * @on: whether to count the allocations that follow
 *
 * Never allocates, so it can bracket exactly the code under test.
 */
void fake_alloc_watch_arm(struct fake_alloc_watch *w, bool on)
{
	WRITE_ONCE(w->armed, on);
}

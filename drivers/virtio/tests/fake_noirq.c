// SPDX-License-Identifier: GPL-2.0-only
/*
 * noirq flavours of the fake virtio transport and the fake virtio driver.
 *
 * Built only with the noirq PM infrastructure: the ops tables set
 * &virtio_config_ops.noirq_safe and &virtio_config_ops.reset_vqs, and the
 * driver template sets the noirq callbacks of &struct virtio_driver.
 */

#include <kunit/test.h>
#include <linux/scatterlist.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "fake_noirq.h"

/**
 * fake_vdev_reset_vqs() - re-initialise the virtqueues in place
 * @vdev: the virtio device
 *
 * Re-initialises every live virtqueue with virtqueue_reinit_vring(), as a
 * noirq_safe transport does, counting each queue in &fake_vq.reinits. Logs
 * one %FAKE_EV_RESET_VQS event with the number of queues re-initialised.
 *
 * Return: 0, the injected error, or -EBUSY for a virtqueue that still holds
 * buffers (it is not re-initialised).
 */
int fake_vdev_reset_vqs(struct virtio_device *vdev)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);
	struct virtqueue *vq;
	unsigned int n = 0;

	fake_op_enter(fv, FAKE_OP_RESET_VQS);
	if (fv->ops[FAKE_OP_RESET_VQS].err) {
		fake_vdev_log(fv, FAKE_EV_RESET_VQS, 0);
		return fv->ops[FAKE_OP_RESET_VQS].err;
	}

	virtio_device_for_each_vq(vdev, vq) {
		/*
		 * The precondition of virtqueue_reinit_vring(), checked here
		 * so that the fake works with any implementation of it,
		 * whatever it returns or does when the precondition is broken.
		 */
		if (vq->num_free != virtqueue_get_vring_size(vq)) {
			fake_vdev_log(fv, FAKE_EV_RESET_VQS, n);
			return -EBUSY;
		}
		virtqueue_reinit_vring(vq);
		if (vq->index < FAKE_VDEV_MAX_VQS)
			fv->vqs[vq->index].reinits++;
		n++;
	}

	fake_vdev_log(fv, FAKE_EV_RESET_VQS, n);
	return 0;
}

/**
 * fake_unsafe_op() - a transport op that may wait for an interrupt ran
 * @vdev: the virtio device
 *
 * Counts a violation in &fake_vdev.noirq_violations during the noirq
 * phase the test declared with fake_vdev_noirq_phase().
 */
static void fake_unsafe_op(struct virtio_device *vdev)
{
	struct fake_vdev *fv = to_fake_vdev(vdev);

	if (fv->noirq_phase)
		fv->noirq_violations++;
}

/**
 * fake_unsafe_get_status() - get_status of the transport that is not noirq_safe
 * @vdev: the virtio device
 *
 * Return: the status register.
 */
static u8 fake_unsafe_get_status(struct virtio_device *vdev)
{
	fake_unsafe_op(vdev);
	return fake_vdev_get_status(vdev);
}

/**
 * fake_unsafe_set_status() - set_status of the transport that is not noirq_safe
 * @vdev: the virtio device
 * @status: the new status
 */
static void fake_unsafe_set_status(struct virtio_device *vdev, u8 status)
{
	fake_unsafe_op(vdev);
	fake_vdev_set_status(vdev, status);
}

/**
 * fake_unsafe_reset() - reset of the transport that is not noirq_safe
 * @vdev: the virtio device
 */
static void fake_unsafe_reset(struct virtio_device *vdev)
{
	fake_unsafe_op(vdev);
	fake_vdev_reset(vdev);
}

/**
 * fake_unsafe_finalize_features() - finalize_features, not noirq_safe
 * @vdev: the virtio device
 *
 * Return: 0 or the injected error.
 */
static int fake_unsafe_finalize_features(struct virtio_device *vdev)
{
	fake_unsafe_op(vdev);
	return fake_vdev_finalize_features(vdev);
}

/* noirq_safe, with reset_vqs: what virtio-mmio provides. */
const struct virtio_config_ops fake_noirq_ops = {
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
	.reset_vqs = fake_vdev_reset_vqs,
	.noirq_safe = true,
};

/* noirq_safe, but unable to re-initialise virtqueues in place. */
const struct virtio_config_ops fake_noirq_no_reset_vqs_ops = {
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
	.noirq_safe = true,
};

/*
 * Not noirq_safe, like virtio-pci or virtio-ccw: status, reset and feature
 * operations may wait for an interrupt, which is a violation in the noirq
 * phase. It has reset_vqs, so that only noirq_safe stands in the way.
 */
const struct virtio_config_ops fake_unsafe_ops = {
	.get = fake_vdev_get,
	.set = fake_vdev_set,
	.get_status = fake_unsafe_get_status,
	.set_status = fake_unsafe_set_status,
	.reset = fake_unsafe_reset,
	.find_vqs = fake_vdev_find_vqs,
	.del_vqs = fake_vdev_del_vqs,
	.synchronize_cbs = fake_vdev_synchronize_cbs,
	.get_features = fake_vdev_get_features,
	.finalize_features = fake_unsafe_finalize_features,
	.bus_name = fake_vdev_bus_name,
	.reset_vqs = fake_vdev_reset_vqs,
};

/**
 * fake_vdev_noirq_phase() - declare the noirq phase
 * @fv: the fake device
 * @on: whether the noirq phase starts or ends
 *
 * While it lasts, every call of an operation of &fake_unsafe_ops that could
 * wait for an interrupt counts in &fake_vdev.noirq_violations.
 */
void fake_vdev_noirq_phase(struct fake_vdev *fv, bool on)
{
	fv->noirq_phase = on;
}

/**
 * fake_vdev_rings_unmoved() - check that a virtqueue kept its ring memory
 * @fv: the fake device
 * @index: the virtqueue index
 *
 * Return: true if the virtqueue at @index was created exactly once and its
 * descriptor, driver and device rings are still where they were created.
 */
bool fake_vdev_rings_unmoved(const struct fake_vdev *fv, unsigned int index)
{
	const struct fake_vq *fvq = &fv->vqs[index];

	return fvq->vq && fvq->created == 1 &&
	       virtqueue_get_desc_addr(fvq->vq) == fvq->desc_addr &&
	       virtqueue_get_avail_addr(fvq->vq) == fvq->avail_addr &&
	       virtqueue_get_used_addr(fvq->vq) == fvq->used_addr;
}

/**
 * fake_drv_drain_vqs() - drop every buffer the driver still has queued
 * @fd: the fake driver
 *
 * As a noirq freeze must, before the rings are re-initialised.
 */
static void fake_drv_drain_vqs(struct fake_driver *fd)
{
	unsigned int i;

	for (i = 0; i < FAKE_DRV_MAX_VQS; i++) {
		if (!fd->vqs[i])
			continue;
		while (virtqueue_detach_unused_buf(fd->vqs[i]))
			;
	}
}

/**
 * fake_drv_freeze_noirq() - freeze_noirq callback of the fake driver
 * @vdev: the virtio device
 *
 * Leaves no buffer outstanding in the virtqueues.
 *
 * Return: 0 or the injected error (then nothing is touched).
 */
int fake_drv_freeze_noirq(struct virtio_device *vdev)
{
	struct fake_driver *fd = to_fake_driver(vdev);
	int err;

	err = fake_drv_enter(vdev, FAKE_DRV_FREEZE_NOIRQ,
			     FAKE_EV_DRV_FREEZE_NOIRQ);
	if (err)
		return err;

	fake_drv_drain_vqs(fd);
	return 0;
}

/**
 * fake_drv_poke_vq() - queue a buffer and kick, then take it back
 * @fd: the fake driver
 *
 * Shows that the first virtqueue works, without allocating.
 *
 * Return: 0 or the error of using the virtqueue.
 */
static int fake_drv_poke_vq(struct fake_driver *fd)
{
	struct scatterlist sg;
	int err;

	sg_init_one(&sg, fd->noirq_buf, sizeof(fd->noirq_buf));
	err = virtqueue_add_outbuf(fd->vqs[0], &sg, 1, fd->noirq_buf,
				   GFP_ATOMIC);
	if (err)
		return err;

	if (!virtqueue_kick(fd->vqs[0]))
		return -EIO;

	return virtqueue_detach_unused_buf(fd->vqs[0]) ? 0 : -EIO;
}

/**
 * fake_drv_restore_noirq() - restore_noirq callback of the fake driver
 * @vdev: the virtio device
 *
 * With &fake_driver.ready_in_restore_noirq, sets DRIVER_OK with
 * virtio_device_ready_noirq(); with &fake_driver.use_vq_in_restore_noirq,
 * then queues a buffer in the first virtqueue and kicks it.
 *
 * Return: 0, the injected error, or the error of using the virtqueue.
 */
int fake_drv_restore_noirq(struct virtio_device *vdev)
{
	struct fake_driver *fd = to_fake_driver(vdev);
	int err;

	err = fake_drv_enter(vdev, FAKE_DRV_RESTORE_NOIRQ,
			     FAKE_EV_DRV_RESTORE_NOIRQ);
	if (err)
		return err;

	if (fd->ready_in_restore_noirq)
		virtio_device_ready_noirq(vdev);
	if (fd->use_vq_in_restore_noirq && fd->vqs[0])
		return fake_drv_poke_vq(fd);
	return 0;
}

/* Every PM callback, the noirq pair included. */
const struct virtio_driver fake_driver_noirq = {
	.config_changed = fake_drv_config_changed,
	.freeze = fake_drv_freeze,
	.restore = fake_drv_restore,
	.freeze_noirq = fake_drv_freeze_noirq,
	.restore_noirq = fake_drv_restore_noirq,
	.reset_prepare = fake_drv_reset_prepare,
	.reset_done = fake_drv_reset_done,
};

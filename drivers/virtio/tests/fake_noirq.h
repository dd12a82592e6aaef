/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DOC: noirq flavours of the fake virtio transport and driver
 *
 * Three transport flavours share the fake_vdev_*() operations of
 * fake_transport.h: &fake_noirq_ops is noirq_safe and re-initialises its
 * virtqueues in place, &fake_noirq_no_reset_vqs_ops is noirq_safe without
 * reset_vqs, and &fake_unsafe_ops is not noirq_safe and records a
 * violation for every operation that could wait for an interrupt while the
 * test has declared the noirq phase (fake_vdev_noirq_phase()).
 * &fake_driver_noirq adds the fake driver's freeze_noirq and restore_noirq
 * callbacks to &fake_driver_default.
 */

#ifndef _VIRTIO_TESTS_FAKE_NOIRQ_H
#define _VIRTIO_TESTS_FAKE_NOIRQ_H

#include "fake_transport.h"

extern const struct virtio_config_ops fake_noirq_ops;
extern const struct virtio_config_ops fake_noirq_no_reset_vqs_ops;
extern const struct virtio_config_ops fake_unsafe_ops;

extern const struct virtio_driver fake_driver_noirq;

int fake_vdev_reset_vqs(struct virtio_device *vdev);

int fake_drv_freeze_noirq(struct virtio_device *vdev);
int fake_drv_restore_noirq(struct virtio_device *vdev);

void fake_vdev_noirq_phase(struct fake_vdev *fv, bool on);
bool fake_vdev_rings_unmoved(const struct fake_vdev *fv, unsigned int index);

#endif /* _VIRTIO_TESTS_FAKE_NOIRQ_H */

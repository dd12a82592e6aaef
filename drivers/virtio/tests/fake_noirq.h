/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * noirq flavours of the fake virtio transport and the fake virtio driver.
 *
 * Three transport flavours share the fake_vdev_*() operations: one that is
 * noirq_safe and re-initialises its virtqueues in place, one that is
 * noirq_safe without reset_vqs, and one that is not noirq_safe and records
 * a violation for every operation that could wait for an interrupt while
 * the test has declared the noirq phase.
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

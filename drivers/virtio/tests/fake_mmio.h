/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * DOC: emulated virtio-mmio device
 *
 * An emulated virtio-mmio device for KUnit. Its registers are backed by C
 * callbacks (logic_iomem) behind a platform device named "virtio-mmio", so
 * the real virtio-mmio platform driver binds to it and registers a virtio
 * device that a test driver can bind to. The device logs every register
 * access, moves buffers through split virtqueues, and has a level-triggered
 * interrupt line: it stays raised while INTERRUPT_STATUS is not zero.
 *
 * The device runs on "ticks" (fake_mmio_tick()): a notified queue is
 * consumed a few ticks after the QUEUE_NOTIFY write, never inside it, as a
 * device working beside the CPU would. A driver that polls its used ring
 * ticks the device once per poll; an interrupt-driven test ticks it until
 * its callback has run. See fake_mmio.c for the details and for what still
 * differs from QEMU's virtio-mmio model.
 */

#ifndef _VIRTIO_TESTS_FAKE_MMIO_H
#define _VIRTIO_TESTS_FAKE_MMIO_H

#include <linux/sizes.h>
#include <linux/types.h>

struct dev_pm_ops;
struct kunit;
struct platform_device;
struct virtio_device;

/* Device ID of the emulated device; no in-tree virtio driver claims it. */
#define FAKE_MMIO_DEVICE_ID	0x7e57
/* Vendor ID the emulated device reports. */
#define FAKE_MMIO_VENDOR_ID	0x4b554e54
/* Number of virtqueues the emulated device has. */
#define FAKE_MMIO_MAX_QUEUES	4
/* Default QUEUE_NUM_MAX of every virtqueue. */
#define FAKE_MMIO_NUM_MAX	16
/* Size of the device-specific configuration space, in bytes. */
#define FAKE_MMIO_CONFIG_SIZE	8
/* Number of register accesses the log keeps. */
#define FAKE_MMIO_LOG_SIZE	512
/* Byte the device writes into device-writable buffers. */
#define FAKE_MMIO_FILL		0xa5
/* RAM below this physical address is reachable with a bus offset. */
#define FAKE_MMIO_BUS_WINDOW	SZ_4G
/* Ticks from a QUEUE_NOTIFY write until the device consumes the queue. */
#define FAKE_MMIO_COMPLETE_TICKS	3
/* Readable and writable bytes of a chain a queue handler sees, at most. */
#define FAKE_MMIO_CHAIN_MAX	512

/**
 * typedef fake_mmio_queue_handler_t - the device's side of a virtqueue
 * @ctx: what the test passed to fake_mmio_set_queue_handler()
 * @index: queue index
 * @in: the device-readable bytes of the chain, in chain order
 * @in_len: number of bytes at @in
 * @out: where to build the reply; the device writes it into the
 *	device-writable buffers of the chain, in chain order
 * @out_len: room at @out: the device-writable bytes of the chain, at most
 *	%FAKE_MMIO_CHAIN_MAX
 *
 * Called when the device consumes a chain of the queue, at a tick, with
 * the device's lock held and local interrupts disabled: it must not call
 * the fake_mmio_*() helpers. Returning -EAGAIN leaves the chain and those
 * after it available; the device looks at them again at the next
 * notification of the queue.
 *
 * Return: the used length (bytes of the reply, clamped to @out_len),
 * -EAGAIN, or another negative error code, which counts as a protocol
 * error.
 */
typedef int (*fake_mmio_queue_handler_t)(void *ctx, unsigned int index,
					 const void *in, u32 in_len,
					 void *out, u32 out_len);

/**
 * struct fake_mmio_handler - the handler of one virtqueue
 * @fn: the handler, NULL to fill writable buffers with %FAKE_MMIO_FILL
 * @ctx: passed to @fn
 */
struct fake_mmio_handler {
	fake_mmio_queue_handler_t fn;
	void *ctx;
};

/**
 * struct fake_mmio_access - one register access seen by the device
 * @offset: register offset from the start of the window
 * @width: access width in bytes (1, 2 or 4)
 * @write: true for a write by the driver, false for a read
 * @value: value written, or value returned to the read
 */
struct fake_mmio_access {
	u32 offset;
	u8 width;
	bool write;
	u32 value;
};

/**
 * struct fake_mmio_queue - device-side state of one virtqueue
 * @num_max: QUEUE_NUM_MAX reported for this queue
 * @num: QUEUE_NUM written by the driver
 * @align: QUEUE_ALIGN written by the driver (legacy)
 * @pfn: QUEUE_PFN written by the driver (legacy)
 * @ready: QUEUE_READY written by the driver (modern)
 * @desc: descriptor table bus address (QUEUE_DESC_LOW/HIGH, modern)
 * @avail: available ring bus address (QUEUE_AVAIL_LOW/HIGH, modern)
 * @used: used ring bus address (QUEUE_USED_LOW/HIGH, modern)
 * @last_avail: next available ring index the device will consume
 * @used_idx: next used ring index the device will fill
 * @kick_ticks: ticks left until the device consumes the queue after a
 *	QUEUE_NOTIFY write, 0 if no notification is pending
 * @completed: buffers completed since the device was created
 */
struct fake_mmio_queue {
	u32 num_max;
	u32 num;
	u32 align;
	u32 pfn;
	u32 ready;
	u64 desc;
	u64 avail;
	u64 used;
	u16 last_avail;
	u16 used_idx;
	u32 kick_ticks;
	unsigned int completed;
};

/**
 * struct fake_mmio_config - how to build an emulated device
 * @version: virtio-mmio version, 1 (legacy), 2 (modern) or 3 (modern, with
 *	a reset that completes only after the driver polled STATUS)
 * @device_id: DEVICE_ID register, 0 for %FAKE_MMIO_DEVICE_ID
 * @features: feature bits offered in addition to VIRTIO_F_VERSION_1, which
 *	a version 2 or 3 device always offers; a legacy device offers only
 *	bits 0 to 31 of it, as QEMU's does
 * @num_queues: number of virtqueues (at most %FAKE_MMIO_MAX_QUEUES)
 * @num_max: QUEUE_NUM_MAX of every queue, 0 for %FAKE_MMIO_NUM_MAX
 * @bus_offset: if not 0, bus addresses of RAM below %FAKE_MMIO_BUS_WINDOW
 *	are its physical addresses plus this offset, as described to the DMA
 *	API by a dma_range_map on the platform device; the device then offers
 *	VIRTIO_F_ACCESS_PLATFORM, so that the driver uses the DMA API. A legacy
 *	device offers it too (QEMU's never does): it stands for a platform that
 *	puts its legacy device behind an address translation
 * @complete_ticks: ticks from a QUEUE_NOTIFY write until the device
 *	consumes the queue, 0 for %FAKE_MMIO_COMPLETE_TICKS
 * @reset_polls: version 3: STATUS reads after a reset that still return
 *	the old status, 0 for %FAKE_MMIO_RESET_POLLS, or
 *	%FAKE_MMIO_RESET_NEVER for a device that never completes a reset
 */
struct fake_mmio_config {
	u32 version;
	u32 device_id;
	u64 features;
	unsigned int num_queues;
	u32 num_max;
	u64 bus_offset;
	u32 reset_polls;
	u32 complete_ticks;
};

/* STATUS reads a version 3 device takes to complete a reset. */
#define FAKE_MMIO_RESET_POLLS	2
/* A version 3 device that never completes a reset. */
#define FAKE_MMIO_RESET_NEVER	U32_MAX

/**
 * struct fake_mmio_dev - an emulated virtio-mmio device
 * @test: the test that owns the device
 * @pdev: the platform device the virtio-mmio driver binds to
 * @irq: interrupt line of the device
 * @slot: index of the device's window in the emulated MMIO region
 * @version: virtio-mmio version (VERSION register)
 * @device_id: DEVICE_ID register
 * @device_features: feature bits the device offers
 * @driver_features: feature bits the driver wrote
 * @device_features_sel: DEVICE_FEATURES_SEL
 * @driver_features_sel: DRIVER_FEATURES_SEL
 * @status: device status
 * @drop_features_ok: knob: the device does not keep FEATURES_OK
 * @reset_polls: version 3: STATUS reads a reset takes to complete, or
 *	%FAKE_MMIO_RESET_NEVER
 * @reset_pending: STATUS reads left before the last reset completes
 * @reset_status: what STATUS reads while the reset is pending
 * @guest_page_size: GUEST_PAGE_SIZE (legacy); kept by a device reset,
 *	0 after a platform reset (fake_mmio_power_loss())
 * @queue_sel: QUEUE_SEL
 * @num_queues: number of virtqueues
 * @queues: device-side virtqueue state
 * @handlers: per-queue handlers (fake_mmio_set_queue_handler())
 * @chain_in: the readable bytes of the chain a handler is looking at
 * @chain_out: the reply a handler builds
 * @interrupt_status: INTERRUPT_STATUS
 * @config_generation: CONFIG_GENERATION; bumped by every config change
 * @config: device-specific configuration space
 * @config_next: configuration space of a change still to come
 * @config_change_reads: configuration space reads until @config_next
 *	replaces @config, 0 if no change is pending
 * @complete_ticks: ticks from a QUEUE_NOTIFY write until the device
 *	consumes the queue
 * @bus_offset: offset of bus addresses over physical addresses
 * @notifies: number of QUEUE_NOTIFY writes
 * @irqs_delivered: times the emulated interrupt controller signalled the
 *	raised, unmasked line to the CPU
 * @errors: protocol violations seen (bad offsets, widths, ring addresses)
 * @priv: for the test
 * @log: register accesses, oldest first
 * @log_len: number of valid entries in @log
 * @log_dropped: accesses not logged because @log was full
 *
 * All device state is protected by the lock of the emulated MMIO region:
 * access it through the helpers below while the device is live. Plain
 * reads of a counter are fine between two driver calls of a test.
 */
struct fake_mmio_dev {
	struct kunit *test;
	struct platform_device *pdev;
	int irq;
	int slot;
	u32 version;
	u32 device_id;
	u64 device_features;
	u64 driver_features;
	u32 device_features_sel;
	u32 driver_features_sel;
	u32 status;
	bool drop_features_ok;
	u32 reset_polls;
	u32 reset_pending;
	u32 reset_status;
	u32 guest_page_size;
	u32 queue_sel;
	unsigned int num_queues;
	struct fake_mmio_queue queues[FAKE_MMIO_MAX_QUEUES];
	struct fake_mmio_handler handlers[FAKE_MMIO_MAX_QUEUES];
	u8 chain_in[FAKE_MMIO_CHAIN_MAX];
	u8 chain_out[FAKE_MMIO_CHAIN_MAX];
	u32 interrupt_status;
	u32 config_generation;
	u8 config[FAKE_MMIO_CONFIG_SIZE];
	u8 config_next[FAKE_MMIO_CONFIG_SIZE];
	unsigned int config_change_reads;
	u32 complete_ticks;
	u64 bus_offset;
	unsigned int notifies;
	unsigned int irqs_delivered;
	unsigned int errors;
	void *priv;
	struct fake_mmio_access log[FAKE_MMIO_LOG_SIZE];
	unsigned int log_len;
	unsigned int log_dropped;
};

struct fake_mmio_dev *fake_mmio_create(struct kunit *test,
				       const struct fake_mmio_config *cfg,
				       void *priv);
struct fake_mmio_dev *fake_mmio_from_vdev(struct virtio_device *vdev);
struct virtio_device *fake_mmio_vdev(struct fake_mmio_dev *fdev);
const struct dev_pm_ops *fake_mmio_pm_ops(struct fake_mmio_dev *fdev);

void fake_mmio_set_drop_features_ok(struct fake_mmio_dev *fdev, bool drop);
void fake_mmio_set_reset_polls(struct fake_mmio_dev *fdev, u32 polls);
void fake_mmio_set_num_max(struct fake_mmio_dev *fdev, u32 num_max);
void fake_mmio_set_queue_handler(struct fake_mmio_dev *fdev,
				 unsigned int index,
				 fake_mmio_queue_handler_t fn, void *ctx);
unsigned int fake_mmio_tick(struct fake_mmio_dev *fdev);
void fake_mmio_change_config(struct fake_mmio_dev *fdev,
			     const u8 config[FAKE_MMIO_CONFIG_SIZE],
			     unsigned int after_reads);
void fake_mmio_power_loss(struct fake_mmio_dev *fdev);
bool fake_mmio_irq_line(struct fake_mmio_dev *fdev);
void fake_mmio_get_queue(struct fake_mmio_dev *fdev, unsigned int index,
			 struct fake_mmio_queue *q);
u32 fake_mmio_get_status(struct fake_mmio_dev *fdev);

void fake_mmio_log_clear(struct fake_mmio_dev *fdev);
unsigned int fake_mmio_log_len(struct fake_mmio_dev *fdev);
unsigned int fake_mmio_log_count(struct fake_mmio_dev *fdev,
				 unsigned int from, unsigned int to,
				 bool write, u32 offset);
int fake_mmio_log_find(struct fake_mmio_dev *fdev, unsigned int from,
		       bool write, u32 offset, u32 value);
unsigned int fake_mmio_log_writes(struct fake_mmio_dev *fdev,
				  unsigned int from, unsigned int to,
				  struct fake_mmio_access *out,
				  unsigned int max);
const char *fake_mmio_reg_name(u32 offset);

#endif /* _VIRTIO_TESTS_FAKE_MMIO_H */

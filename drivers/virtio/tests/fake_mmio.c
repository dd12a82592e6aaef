// SPDX-License-Identifier: GPL-2.0-only
/**
 * DOC: how the emulated virtio-mmio device works
 *
 * One emulated MMIO region is registered with logic_iomem at first use; it
 * cannot be removed again, so it stays for the life of the kernel and the
 * module is pinned. The region is cut into windows (slots), one per live
 * emulated device. Each device sits behind a platform device named
 * "virtio-mmio" with its window as MEM resource and an interrupt of its
 * own, so the real virtio-mmio platform driver probes it.
 *
 * Registers follow include/uapi/linux/virtio_mmio.h for version 1 (legacy)
 * and version 2 and 3 (modern) devices, with QEMU's hw/virtio/virtio-mmio.c
 * as the model of a real one: a STATUS = 0 write resets the device but
 * keeps the legacy guest page size, which only a platform reset (a power
 * loss, fake_mmio_power_loss()) clears; a legacy QUEUE_PFN = 0 write resets
 * the whole device; a legacy device offers no feature bit above 31
 * (DEVICE_FEATURES reads 0 with DEVICE_FEATURES_SEL = 1). A version 3
 * device completes a reset only after the driver has read STATUS a few
 * times, as a device that needs time to reset does. Registers of the other
 * version, unknown offsets and accesses that are not 32 bits wide outside
 * the configuration space count as protocol errors (&fake_mmio_dev.errors).
 *
 * Interrupt: the line is level-triggered, raised while INTERRUPT_STATUS is
 * not zero; bits stay set until the driver writes them to INTERRUPT_ACK,
 * and a reset clears them. The line's interrupt chip uses handle_level_irq.
 * The emulated controller signals the raised line to the CPU (runs the
 * flow handler with local interrupts disabled) whenever the line is
 * raised or unmasked and not masked: at a device tick, at a config change,
 * and when the driver or the test unmasks the line (enable_irq(), through
 * the chip's irq_bus_sync_unlock, which the IRQ core calls with no lock
 * held). A line disabled by disable_irq() takes one more delivery, which
 * the IRQ core answers by masking it and marking it pending, as on real
 * hardware; resume_device_irqs() takes no bus lock, so a test that used it
 * would need a tick to see the line again.
 *
 * Time: the device does nothing on its own. fake_mmio_tick() is one unit
 * of device time: a queue is consumed %FAKE_MMIO_COMPLETE_TICKS ticks after
 * its QUEUE_NOTIFY write (never inside it), then INT_VRING is latched and
 * the line raised. A config change (fake_mmio_change_config()) bumps
 * CONFIG_GENERATION and, once the driver has set DRIVER_OK, latches
 * INT_CONFIG with INT_VRING as QEMU does; it can be made to land between
 * two reads of the configuration space, in the middle of a driver's read
 * of a wide field.
 *
 * What still differs from QEMU's virtio-mmio model:
 *
 * - QEMU bumps CONFIG_GENERATION only when it signals a change (DRIVER_OK
 *   set); this device bumps it on every change, as the virtio spec asks.
 * - Only split rings without indirect descriptors; a device-writable
 *   buffer is filled with %FAKE_MMIO_FILL and readable ones are not read,
 *   unless the test gave the queue a handler
 *   (fake_mmio_set_queue_handler()), which gets the readable bytes of each
 *   chain and returns the reply the device writes into the writable ones.
 * - QUEUE_NUM_MAX is per device (16 by default), QEMU's is 1024 for every
 *   queue; QUEUE_SEL out of range is kept (queue accesses then count as
 *   errors) where QEMU ignores the write.
 * - Protocol errors are counted, where QEMU logs a guest error and ignores
 *   the access; no features are validated at FEATURES_OK beyond the knob
 *   that drops it (fake_mmio_set_drop_features_ok()).
 * - No shared memory regions, no notification data, no ioeventfd, no
 *   migration; version 3 (QEMU has no such version) exists to model a
 *   device whose reset takes time.
 * - A legacy device may offer VIRTIO_F_ACCESS_PLATFORM (with a bus offset),
 *   to model a platform that hands out rings above the legacy PFN window;
 *   so it takes the high word of DRIVER_FEATURES, which QEMU's ignores.
 */

#include <kunit/platform_device.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/logic_iomem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_byteorder.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <uapi/linux/virtio_mmio.h>

#include "fake_mmio.h"

/* Physical base address of the emulated MMIO region. */
#define FAKE_MMIO_REGION_BASE	0xe0000000
/* Number of windows in the region, i.e. of devices live at once. */
#define FAKE_MMIO_SLOTS		8
/* Distance between two windows. */
#define FAKE_MMIO_SLOT_STRIDE	SZ_4K
/* Size of one window: registers and configuration space. */
#define FAKE_MMIO_WINDOW_SIZE	(VIRTIO_MMIO_CONFIG + FAKE_MMIO_CONFIG_SIZE)
/* The MAGIC_VALUE register: "virt". */
#define FAKE_MMIO_MAGIC		('v' | 'i' << 8 | 'r' << 16 | 't' << 24)
/* Deliveries of a line nobody acknowledges before it counts as an error. */
#define FAKE_MMIO_IRQ_STORM	16

/* Protects the slots and the state of every emulated device. */
static DEFINE_SPINLOCK(fake_mmio_lock);
/* Serialises the one-time registration of the region. */
static DEFINE_MUTEX(fake_mmio_region_mutex);
static bool fake_mmio_region_added;
static struct fake_mmio_dev *fake_mmio_slots[FAKE_MMIO_SLOTS];

static struct resource fake_mmio_region = {
	.name	= "fake virtio-mmio",
	.start	= FAKE_MMIO_REGION_BASE,
	.end	= FAKE_MMIO_REGION_BASE +
		  FAKE_MMIO_SLOTS * FAKE_MMIO_SLOT_STRIDE - 1,
	.flags	= IORESOURCE_MEM,
};

/**
 * fake_mmio_le - whether the rings of the device are little endian
 * @fdev: the emulated device
 *
 * Return: true for a modern device or a legacy one on a little-endian guest.
 */
static bool fake_mmio_le(const struct fake_mmio_dev *fdev)
{
	return fdev->version != 1 || virtio_legacy_is_little_endian();
}

/**
 * fake_mmio_log - append an access to the log of a device
 * @fdev: the emulated device
 * @offset: register offset
 * @width: access width in bytes
 * @write: true for a write
 * @value: value written or read
 *
 * Called with fake_mmio_lock held. A full log counts the access as dropped.
 */
static void fake_mmio_log(struct fake_mmio_dev *fdev, u32 offset, int width,
			  bool write, u32 value)
{
	struct fake_mmio_access *a;

	if (fdev->log_len == FAKE_MMIO_LOG_SIZE) {
		fdev->log_dropped++;
		return;
	}

	a = &fdev->log[fdev->log_len++];
	a->offset = offset;
	a->width = width;
	a->write = write;
	a->value = value;
}

/**
 * fake_mmio_selected - the queue QUEUE_SEL points at
 * @fdev: the emulated device
 *
 * Return: the queue, or NULL if QUEUE_SEL is out of range.
 */
static struct fake_mmio_queue *fake_mmio_selected(struct fake_mmio_dev *fdev)
{
	if (fdev->queue_sel >= fdev->num_queues)
		return NULL;
	return &fdev->queues[fdev->queue_sel];
}

/**
 * fake_mmio_reset - reset the device, as a write of 0 to STATUS does
 * @fdev: the emulated device
 *
 * Clears the status, the negotiated features, the selectors, the pending
 * interrupt (the line drops) and the state of every queue, including a
 * notification not consumed yet. As in QEMU, a legacy device keeps its
 * guest page size: that is transport state, which only a platform reset
 * clears.
 */
static void fake_mmio_reset(struct fake_mmio_dev *fdev)
{
	unsigned int i;

	fdev->status = 0;
	fdev->driver_features = 0;
	fdev->device_features_sel = 0;
	fdev->driver_features_sel = 0;
	fdev->queue_sel = 0;
	fdev->interrupt_status = 0;

	for (i = 0; i < fdev->num_queues; i++) {
		struct fake_mmio_queue *q = &fdev->queues[i];
		u32 num_max = q->num_max;
		unsigned int completed = q->completed;

		memset(q, 0, sizeof(*q));
		q->num_max = num_max;
		q->completed = completed;
	}
}

/**
 * fake_mmio_bus_to_virt - find the memory the device reaches at a bus address
 * @fdev: the emulated device
 * @addr: bus address, as the driver programmed it
 * @len: number of bytes the device wants to access
 *
 * Translates the bus address back to a physical address (minus the bus
 * offset the device was built with) and to a kernel pointer: on UML, ring
 * and buffer memory is ordinary kernel memory.
 *
 * Return: the kernel address, or NULL if the range is not RAM.
 */
static void *fake_mmio_bus_to_virt(struct fake_mmio_dev *fdev, u64 addr,
				   size_t len)
{
	phys_addr_t phys;

	if (!len || addr < fdev->bus_offset)
		return NULL;

	phys = addr - fdev->bus_offset;
	if (!pfn_valid(PHYS_PFN(phys)) || !pfn_valid(PHYS_PFN(phys + len - 1)))
		return NULL;

	return phys_to_virt(phys);
}

/**
 * fake_mmio_rings - locate the rings of a queue the driver programmed
 * @fdev: the emulated device
 * @q: the queue
 * @vr: filled with the ring pointers
 *
 * Legacy: the rings start at QUEUE_PFN * GUEST_PAGE_SIZE with the layout of
 * vring_init() and QUEUE_ALIGN. Modern: QUEUE_DESC/AVAIL/USED.
 *
 * Return: true if the queue is live and its rings are in RAM.
 */
static bool fake_mmio_rings(struct fake_mmio_dev *fdev,
			    struct fake_mmio_queue *q, struct vring *vr)
{
	void *base;

	if (!q->num)
		return false;

	if (fdev->version == 1) {
		if (!q->pfn || !q->align || !fdev->guest_page_size)
			return false;
		base = fake_mmio_bus_to_virt(fdev,
					     (u64)q->pfn * fdev->guest_page_size,
					     vring_size(q->num, q->align));
		if (!base)
			return false;
		vring_init(vr, q->num, base, q->align);
		return true;
	}

	if (!q->ready)
		return false;

	vr->num = q->num;
	vr->desc = fake_mmio_bus_to_virt(fdev, q->desc,
					 q->num * sizeof(*vr->desc));
	vr->avail = fake_mmio_bus_to_virt(fdev, q->avail,
					  struct_size(vr->avail, ring, q->num));
	vr->used = fake_mmio_bus_to_virt(fdev, q->used,
					 struct_size(vr->used, ring, q->num));

	return vr->desc && vr->avail && vr->used;
}

/**
 * enum fake_mmio_pass - what a walk over a descriptor chain does
 * @FAKE_MMIO_PASS_FILL: fill every device-writable buffer with
 *	%FAKE_MMIO_FILL; readable buffers are left alone
 * @FAKE_MMIO_PASS_GATHER: copy the device-readable bytes into
 *	&fake_mmio_dev.chain_in and measure the device-writable ones
 * @FAKE_MMIO_PASS_SCATTER: copy the reply in &fake_mmio_dev.chain_out into
 *	the device-writable buffers, in chain order
 */
enum fake_mmio_pass {
	FAKE_MMIO_PASS_FILL,
	FAKE_MMIO_PASS_GATHER,
	FAKE_MMIO_PASS_SCATTER,
};

/**
 * struct fake_mmio_chain - the sizes one walk over a chain finds
 * @in_len: device-readable bytes (gathered into &fake_mmio_dev.chain_in)
 * @out_len: device-writable bytes, or bytes written into them
 * @reply_len: bytes of &fake_mmio_dev.chain_out to scatter
 */
struct fake_mmio_chain {
	u32 in_len;
	u32 out_len;
	u32 reply_len;
};

/**
 * fake_mmio_walk_chain - walk one descriptor chain
 * @fdev: the emulated device
 * @vr: rings of the queue
 * @head: first descriptor of the chain
 * @pass: what to do with each buffer
 * @c: the sizes; zeroed by the caller before a walk, except
 *	&fake_mmio_chain.reply_len for %FAKE_MMIO_PASS_SCATTER
 *
 * Called with fake_mmio_lock held. A fill walk sets &fake_mmio_chain.out_len
 * to the number of bytes written, as a scatter walk does.
 *
 * Return: 0, or a negative error code for a malformed chain or, when
 * gathering, more readable bytes than %FAKE_MMIO_CHAIN_MAX.
 */
static int fake_mmio_walk_chain(struct fake_mmio_dev *fdev, struct vring *vr,
				u16 head, enum fake_mmio_pass pass,
				struct fake_mmio_chain *c)
{
	bool le = fake_mmio_le(fdev);
	unsigned int n;
	u16 idx = head;

	for (n = 0; n < vr->num; n++) {
		struct vring_desc *d;
		bool write, copy;
		u32 dlen, part;
		u16 flags;
		void *buf;

		if (idx >= vr->num)
			return -EINVAL;

		d = &vr->desc[idx];
		flags = __virtio16_to_cpu(le, d->flags);
		dlen = __virtio32_to_cpu(le, d->len);
		if (flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;

		write = flags & VRING_DESC_F_WRITE;
		/* The fill pass never reads a readable buffer. */
		copy = write || pass == FAKE_MMIO_PASS_GATHER;
		buf = NULL;
		if (copy) {
			buf = fake_mmio_bus_to_virt(fdev,
						    __virtio64_to_cpu(le, d->addr),
						    dlen);
			if (!buf)
				return -EFAULT;
		}

		switch (pass) {
		case FAKE_MMIO_PASS_FILL:
			if (write) {
				memset(buf, FAKE_MMIO_FILL, dlen);
				c->out_len += dlen;
			}
			break;
		case FAKE_MMIO_PASS_GATHER:
			if (write) {
				c->out_len += dlen;
				break;
			}
			if (dlen > FAKE_MMIO_CHAIN_MAX - c->in_len)
				return -ENOSPC;
			memcpy(fdev->chain_in + c->in_len, buf, dlen);
			c->in_len += dlen;
			break;
		case FAKE_MMIO_PASS_SCATTER:
			if (!write)
				break;
			part = min(dlen, c->reply_len - c->out_len);
			memcpy(buf, fdev->chain_out + c->out_len, part);
			c->out_len += part;
			break;
		}

		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		idx = __virtio16_to_cpu(le, d->next);
	}

	return -ELOOP;
}

/**
 * fake_mmio_consume_chain - the device consumes one descriptor chain
 * @fdev: the emulated device
 * @index: queue index
 * @vr: rings of the queue
 * @head: first descriptor of the chain
 * @len: set to the number of bytes written into the chain
 *
 * Called with fake_mmio_lock held. Without a queue handler, fills every
 * device-writable buffer with %FAKE_MMIO_FILL. With one, gathers the
 * readable bytes, lets the handler build the reply and writes the reply
 * into the writable buffers.
 *
 * Return: 0, -EAGAIN if the handler leaves the chain available, or another
 * negative error code for a malformed chain.
 */
static int fake_mmio_consume_chain(struct fake_mmio_dev *fdev,
				   unsigned int index, struct vring *vr,
				   u16 head, u32 *len)
{
	const struct fake_mmio_handler *h = &fdev->handlers[index];
	struct fake_mmio_chain c = {};
	u32 room;
	int ret;

	*len = 0;
	if (!h->fn) {
		ret = fake_mmio_walk_chain(fdev, vr, head, FAKE_MMIO_PASS_FILL,
					   &c);
		*len = c.out_len;
		return ret;
	}

	ret = fake_mmio_walk_chain(fdev, vr, head, FAKE_MMIO_PASS_GATHER, &c);
	if (ret)
		return ret;

	room = min_t(u32, c.out_len, FAKE_MMIO_CHAIN_MAX);
	ret = h->fn(h->ctx, index, fdev->chain_in, c.in_len, fdev->chain_out,
		    room);
	if (ret < 0)
		return ret;

	c.reply_len = min_t(u32, ret, room);
	c.out_len = 0;
	ret = fake_mmio_walk_chain(fdev, vr, head, FAKE_MMIO_PASS_SCATTER, &c);
	*len = c.out_len;
	return ret;
}

/**
 * fake_mmio_complete - complete every buffer the driver made available
 * @fdev: the emulated device
 * @index: queue index
 *
 * Called with fake_mmio_lock held. Puts each consumed chain in the used
 * ring and latches VIRTIO_MMIO_INT_VRING, which raises the line; the
 * caller delivers the interrupt once the lock is dropped.
 *
 * Return: the number of buffers completed.
 */
static unsigned int fake_mmio_complete(struct fake_mmio_dev *fdev,
				       unsigned int index)
{
	struct fake_mmio_queue *q = &fdev->queues[index];
	bool le = fake_mmio_le(fdev);
	unsigned int done = 0;
	struct vring vr;
	u16 avail_idx;
	int ret;

	if (!fake_mmio_rings(fdev, q, &vr)) {
		fdev->errors++;
		return 0;
	}

	avail_idx = __virtio16_to_cpu(le, READ_ONCE(vr.avail->idx));
	/* Read the ring entries only after the index that covers them. */
	virt_rmb();

	while (q->last_avail != avail_idx) {
		struct vring_used_elem *e = &vr.used->ring[q->used_idx % vr.num];
		u16 head;
		u32 len;

		head = __virtio16_to_cpu(le,
					 vr.avail->ring[q->last_avail % vr.num]);
		ret = fake_mmio_consume_chain(fdev, index, &vr, head, &len);
		if (ret == -EAGAIN)
			break;
		if (ret) {
			fdev->errors++;
			break;
		}

		e->id = __cpu_to_virtio32(le, head);
		e->len = __cpu_to_virtio32(le, len);
		q->last_avail++;
		q->used_idx++;
		/* Publish the used element before the index that covers it. */
		virt_wmb();
		WRITE_ONCE(vr.used->idx, __cpu_to_virtio16(le, q->used_idx));

		q->completed++;
		done++;
	}

	if (done)
		fdev->interrupt_status |= VIRTIO_MMIO_INT_VRING;

	return done;
}

/**
 * fake_mmio_apply_config - the configuration change comes into effect
 * @fdev: the emulated device
 *
 * Called with fake_mmio_lock held. Bumps CONFIG_GENERATION and, once the
 * driver has set DRIVER_OK, latches a config interrupt; like QEMU, the
 * device sets INT_VRING with INT_CONFIG.
 */
static void fake_mmio_apply_config(struct fake_mmio_dev *fdev)
{
	memcpy(fdev->config, fdev->config_next, FAKE_MMIO_CONFIG_SIZE);
	fdev->config_generation++;
	if (fdev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		fdev->interrupt_status |= VIRTIO_MMIO_INT_CONFIG |
					  VIRTIO_MMIO_INT_VRING;
}

/**
 * fake_mmio_config_read - read from the device-specific configuration space
 * @fdev: the emulated device
 * @off: offset into the configuration space
 * @width: access width in bytes
 *
 * Return: the value, little endian as the space is laid out.
 */
static u32 fake_mmio_config_read(struct fake_mmio_dev *fdev, u32 off,
				 int width)
{
	u32 val = 0;
	int i;

	if (width > 4 || off + width > FAKE_MMIO_CONFIG_SIZE) {
		fdev->errors++;
		return 0;
	}

	if (fdev->config_change_reads && !--fdev->config_change_reads)
		fake_mmio_apply_config(fdev);

	for (i = width - 1; i >= 0; i--)
		val = val << 8 | fdev->config[off + i];

	return val;
}

/**
 * fake_mmio_config_write - write to the device-specific configuration space
 * @fdev: the emulated device
 * @off: offset into the configuration space
 * @width: access width in bytes
 * @val: the value, little endian as the space is laid out
 */
static void fake_mmio_config_write(struct fake_mmio_dev *fdev, u32 off,
				   int width, u32 val)
{
	int i;

	if (width > 4 || off + width > FAKE_MMIO_CONFIG_SIZE) {
		fdev->errors++;
		return;
	}

	for (i = 0; i < width; i++, val >>= 8)
		fdev->config[off + i] = val & 0xff;
}

/**
 * fake_mmio_reg_read - the device's answer to a register read
 * @fdev: the emulated device
 * @offset: register offset
 * @width: access width in bytes
 *
 * Return: the register value.
 */
static u32 fake_mmio_reg_read(struct fake_mmio_dev *fdev, u32 offset,
			      int width)
{
	struct fake_mmio_queue *q = fake_mmio_selected(fdev);
	bool legacy = fdev->version == 1;

	if (offset >= VIRTIO_MMIO_CONFIG)
		return fake_mmio_config_read(fdev, offset - VIRTIO_MMIO_CONFIG,
					     width);
	if (width != 4)
		goto bad;

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return FAKE_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return fdev->version;
	case VIRTIO_MMIO_DEVICE_ID:
		return fdev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return FAKE_MMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		/* fake_mmio_create() left a legacy device no bits above 31. */
		return fdev->device_features >> (32 * fdev->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->num_max : 0;
	case VIRTIO_MMIO_QUEUE_PFN:
		if (!legacy)
			goto bad;
		return q ? q->pfn : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		if (legacy)
			goto bad;
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return fdev->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		if (fdev->reset_pending) {
			if (fdev->reset_pending != FAKE_MMIO_RESET_NEVER)
				fdev->reset_pending--;
			return fdev->reset_status;
		}
		return fdev->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		/* No shared memory regions: length -1. */
		if (legacy)
			goto bad;
		return U32_MAX;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		if (legacy)
			goto bad;
		return fdev->config_generation;
	}

bad:
	fdev->errors++;
	return 0;
}

/**
 * fake_mmio_set_lo_hi - update one half of a 64-bit queue address
 * @addr: the address to update
 * @high: true for bits 63:32, false for bits 31:0
 * @val: the half written by the driver
 */
static void fake_mmio_set_lo_hi(u64 *addr, bool high, u32 val)
{
	if (high)
		*addr = (*addr & GENMASK_ULL(31, 0)) | (u64)val << 32;
	else
		*addr = (*addr & GENMASK_ULL(63, 32)) | val;
}

/**
 * fake_mmio_queue_write - a write to a per-queue register
 * @fdev: the emulated device
 * @q: the selected queue, NULL if QUEUE_SEL is out of range
 * @offset: register offset
 * @val: the value written
 *
 * Return: false if @offset is not a queue register of this version.
 */
static bool fake_mmio_queue_write(struct fake_mmio_dev *fdev,
				  struct fake_mmio_queue *q, u32 offset,
				  u32 val)
{
	bool legacy = fdev->version == 1;

	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (q && val > q->num_max)
			fdev->errors++;
		if (q)
			q->num = val;
		break;
	case VIRTIO_MMIO_QUEUE_ALIGN:
		if (!legacy)
			return false;
		if (q)
			q->align = val;
		break;
	case VIRTIO_MMIO_QUEUE_PFN:
		if (!legacy)
			return false;
		/* As in QEMU, a legacy device resets on QUEUE_PFN = 0. */
		if (!val) {
			fake_mmio_reset(fdev);
			return true;
		}
		/* The ring address is meaningless without the page size. */
		if (!fdev->guest_page_size)
			fdev->errors++;
		if (q)
			q->pfn = val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (legacy)
			return false;
		if (q)
			q->ready = val & 1;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (legacy)
			return false;
		if (q)
			fake_mmio_set_lo_hi(&q->desc,
					    offset == VIRTIO_MMIO_QUEUE_DESC_HIGH,
					    val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (legacy)
			return false;
		if (q)
			fake_mmio_set_lo_hi(&q->avail,
					    offset == VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
					    val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (legacy)
			return false;
		if (q)
			fake_mmio_set_lo_hi(&q->used,
					    offset == VIRTIO_MMIO_QUEUE_USED_HIGH,
					    val);
		break;
	default:
		return false;
	}

	/* A queue register with QUEUE_SEL out of range. */
	if (!q)
		fdev->errors++;

	return true;
}

/**
 * fake_mmio_reg_write - the device's reaction to a register write
 * @fdev: the emulated device
 * @offset: register offset
 * @width: access width in bytes
 * @val: the value written
 */
static void fake_mmio_reg_write(struct fake_mmio_dev *fdev, u32 offset,
				int width, u32 val)
{
	if (offset >= VIRTIO_MMIO_CONFIG) {
		fake_mmio_config_write(fdev, offset - VIRTIO_MMIO_CONFIG,
				       width, val);
		return;
	}
	if (width != 4)
		goto bad;

	if (fake_mmio_queue_write(fdev, fake_mmio_selected(fdev), offset, val))
		return;

	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		/* As QEMU: any value but 0 selects the high word. */
		fdev->device_features_sel = !!val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		fake_mmio_set_lo_hi(&fdev->driver_features,
				    fdev->driver_features_sel, val);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		fdev->driver_features_sel = !!val;
		return;
	case VIRTIO_MMIO_GUEST_PAGE_SIZE:
		if (fdev->version != 1)
			goto bad;
		fdev->guest_page_size = val;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		fdev->queue_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		fdev->notifies++;
		if (val >= fdev->num_queues)
			goto bad;
		/* Consumed a few ticks from now, not inside the write. */
		if (!fdev->queues[val].kick_ticks)
			fdev->queues[val].kick_ticks = fdev->complete_ticks;
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		fdev->interrupt_status &= ~val;
		return;
	case VIRTIO_MMIO_STATUS:
		if (!val) {
			if (fdev->version >= 3 && fdev->reset_polls) {
				fdev->reset_status = fdev->status ?: 1;
				fdev->reset_pending = fdev->reset_polls;
			}
			fake_mmio_reset(fdev);
			return;
		}
		if (fdev->drop_features_ok)
			val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		fdev->status = val;
		return;
	case VIRTIO_MMIO_SHM_SEL:
		if (fdev->version == 1)
			goto bad;
		return;
	}

bad:
	fdev->errors++;
}

/**
 * fake_mmio_read - &logic_iomem_ops.read of the emulated region
 * @priv: the slot of the window
 * @offset: offset into the window
 * @size: access width in bytes
 *
 * Return: the register value, all ones if no device sits in the window.
 */
static unsigned long fake_mmio_read(void *priv, unsigned int offset, int size)
{
	struct fake_mmio_dev **slot = priv;
	unsigned long flags;
	u32 val = U32_MAX;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	if (*slot) {
		val = fake_mmio_reg_read(*slot, offset, size);
		fake_mmio_log(*slot, offset, size, false, val);
	}
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return val;
}

/**
 * fake_mmio_write - &logic_iomem_ops.write of the emulated region
 * @priv: the slot of the window
 * @offset: offset into the window
 * @size: access width in bytes
 * @val: the value written
 */
static void fake_mmio_write(void *priv, unsigned int offset, int size,
			    unsigned long val)
{
	struct fake_mmio_dev **slot = priv;
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	if (*slot) {
		fake_mmio_log(*slot, offset, size, true, val);
		fake_mmio_reg_write(*slot, offset, size, val);
	}
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

static const struct logic_iomem_ops fake_mmio_ops = {
	.read	= fake_mmio_read,
	.write	= fake_mmio_write,
};

/**
 * fake_mmio_map - &logic_iomem_region_ops.map of the emulated region
 * @offset: offset of the mapping into the region
 * @size: size of the mapping
 * @ops: set to the access operations
 * @priv: set to the slot of the window
 *
 * Return: the offset of the mapping into its window, or -EINVAL for a
 * mapping that does not fit in one window.
 */
static long fake_mmio_map(unsigned long offset, size_t size,
			  const struct logic_iomem_ops **ops, void **priv)
{
	unsigned long slot = offset / FAKE_MMIO_SLOT_STRIDE;
	unsigned long start = offset % FAKE_MMIO_SLOT_STRIDE;

	if (slot >= FAKE_MMIO_SLOTS || start + size > FAKE_MMIO_WINDOW_SIZE)
		return -EINVAL;

	*ops = &fake_mmio_ops;
	*priv = &fake_mmio_slots[slot];
	return start;
}

static const struct logic_iomem_region_ops fake_mmio_region_ops = {
	.map	= fake_mmio_map,
};

/**
 * fake_mmio_add_region - register the emulated MMIO region, once
 *
 * logic_iomem cannot remove a region, so the module is pinned once the
 * region refers to it.
 *
 * Return: 0 or a negative error code.
 */
static int fake_mmio_add_region(void)
{
	int ret = 0;

	mutex_lock(&fake_mmio_region_mutex);
	if (!fake_mmio_region_added) {
		ret = logic_iomem_add_region(&fake_mmio_region,
					     &fake_mmio_region_ops);
		if (!ret) {
			fake_mmio_region_added = true;
			__module_get(THIS_MODULE);
		}
	}
	mutex_unlock(&fake_mmio_region_mutex);

	return ret;
}

/**
 * fake_mmio_claim_slot - give a device a free window
 * @fdev: the emulated device
 *
 * Return: the slot, or -EBUSY if every window is taken.
 */
static int fake_mmio_claim_slot(struct fake_mmio_dev *fdev)
{
	unsigned long flags;
	int slot;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	for (slot = 0; slot < FAKE_MMIO_SLOTS; slot++) {
		if (!fake_mmio_slots[slot]) {
			fake_mmio_slots[slot] = fdev;
			break;
		}
	}
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return slot < FAKE_MMIO_SLOTS ? slot : -EBUSY;
}

/**
 * fake_mmio_release_slot - kunit action: free the window of a device
 * @data: the emulated device
 *
 * Runs after the platform device is gone; accesses to the window read all
 * ones and are ignored from then on.
 */
static void fake_mmio_release_slot(void *data)
{
	struct fake_mmio_dev *fdev = data;
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	fake_mmio_slots[fdev->slot] = NULL;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_irq_line - whether the interrupt line of a device is raised
 * @fdev: the emulated device
 *
 * The line is level-triggered: raised while INTERRUPT_STATUS is not zero.
 *
 * Return: true if the line is raised.
 */
bool fake_mmio_irq_line(struct fake_mmio_dev *fdev)
{
	unsigned long flags;
	bool raised;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	raised = fdev->interrupt_status;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return raised;
}

/**
 * fake_mmio_deliver - signal a raised, unmasked line to the CPU
 * @fdev: the emulated device
 *
 * Runs the flow handler (handle_level_irq) with local interrupts disabled,
 * as a hardware interrupt would, for as long as the line stays raised and
 * unmasked: a handler that does not acknowledge the interrupt is called
 * again, up to a bound past which the storm counts as a protocol error.
 * Must not be called with fake_mmio_lock held: the handler reads registers.
 */
static void fake_mmio_deliver(struct fake_mmio_dev *fdev)
{
	struct irq_data *d = irq_get_irq_data(fdev->irq);
	unsigned long flags;
	unsigned int n;

	for (n = 0; n < FAKE_MMIO_IRQ_STORM; n++) {
		if (!fake_mmio_irq_line(fdev) || irqd_irq_masked(d))
			return;

		spin_lock_irqsave(&fake_mmio_lock, flags);
		fdev->irqs_delivered++;
		spin_unlock_irqrestore(&fake_mmio_lock, flags);

		generic_handle_irq_safe(fdev->irq);
	}

	spin_lock_irqsave(&fake_mmio_lock, flags);
	fdev->errors++;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_irq_nop - &irq_chip callback with nothing to do
 * @d: interrupt data of the line
 *
 * The IRQ core keeps the masked state of the line itself (IRQD_IRQ_MASKED),
 * which is all the emulated controller needs.
 */
static void fake_mmio_irq_nop(struct irq_data *d)
{
}

/**
 * fake_mmio_irq_bus_sync_unlock - &irq_chip.irq_bus_sync_unlock
 * @d: interrupt data of the line
 *
 * Called by the IRQ core, with no lock held, at the end of every change of
 * the line's state (enable_irq(), disable_irq(), request and free): the
 * controller looks at the line again, so a line that is still raised when
 * it gets unmasked interrupts at once, as a level-triggered one does.
 */
static void fake_mmio_irq_bus_sync_unlock(struct irq_data *d)
{
	fake_mmio_deliver(irq_data_get_irq_chip_data(d));
}

static struct irq_chip fake_mmio_irq_chip = {
	.name			= "fake-virtio-mmio",
	.irq_mask		= fake_mmio_irq_nop,
	.irq_unmask		= fake_mmio_irq_nop,
	.irq_bus_lock		= fake_mmio_irq_nop,
	.irq_bus_sync_unlock	= fake_mmio_irq_bus_sync_unlock,
};

/**
 * fake_mmio_free_irq - kunit action: free the interrupt of a device
 * @data: the emulated device
 */
static void fake_mmio_free_irq(void *data)
{
	struct fake_mmio_dev *fdev = data;

	irq_free_desc(fdev->irq);
}

/**
 * fake_mmio_set_bus_offset - make bus addresses differ from physical ones
 * @pdev: the platform device, not added yet
 * @offset: bus address of physical address 0
 *
 * Describes RAM below %FAKE_MMIO_BUS_WINDOW to the DMA API at @offset with a
 * dma_range_map, which the driver core frees with the device.
 *
 * Return: 0 or -ENOMEM.
 */
static int fake_mmio_set_bus_offset(struct platform_device *pdev, u64 offset)
{
	struct bus_dma_region *map;

	map = kcalloc(2, sizeof(*map), GFP_KERNEL);
	if (!map)
		return -ENOMEM;

	map[0].cpu_start = 0;
	map[0].dma_start = offset;
	map[0].size = FAKE_MMIO_BUS_WINDOW;
	pdev->dev.dma_range_map = map;

	return 0;
}

/**
 * fake_mmio_add_pdev - create the platform device of an emulated device
 * @fdev: the emulated device, with its slot and interrupt
 * @bus_offset: bus offset of RAM, 0 for none
 *
 * The virtio-mmio platform driver binds while the device is added.
 *
 * Return: 0, or a negative error code if the device could not be added or
 * virtio-mmio did not bind.
 */
static int fake_mmio_add_pdev(struct fake_mmio_dev *fdev, u64 bus_offset)
{
	struct kunit *test = fdev->test;
	struct platform_device *pdev;
	struct resource res[] = {
		DEFINE_RES_MEM(FAKE_MMIO_REGION_BASE +
			       fdev->slot * FAKE_MMIO_SLOT_STRIDE,
			       FAKE_MMIO_WINDOW_SIZE),
		DEFINE_RES_IRQ(fdev->irq),
	};
	int ret;

	pdev = kunit_platform_device_alloc(test, "virtio-mmio",
					   PLATFORM_DEVID_AUTO);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);

	ret = platform_device_add_resources(pdev, res, ARRAY_SIZE(res));
	if (ret)
		return ret;

	if (bus_offset) {
		ret = fake_mmio_set_bus_offset(pdev, bus_offset);
		if (ret)
			return ret;
	}

	fdev->pdev = pdev;
	ret = kunit_platform_device_add(test, pdev);
	if (ret)
		return ret;

	return pdev->dev.driver ? 0 : -ENODEV;
}

/**
 * fake_mmio_create - build an emulated virtio-mmio device
 * @test: the test; everything is torn down when it ends
 * @cfg: what device to build
 * @priv: stored in &fake_mmio_dev.priv for the test
 *
 * Registers the platform device; the virtio-mmio driver binds to it and
 * registers a virtio device with the configured ID, which a test driver
 * bound already, or registered later, binds to. The device consumes a
 * notified queue after &fake_mmio_config.complete_ticks ticks.
 *
 * Return: the device, or an ERR_PTR().
 */
struct fake_mmio_dev *fake_mmio_create(struct kunit *test,
				       const struct fake_mmio_config *cfg,
				       void *priv)
{
	struct fake_mmio_dev *fdev;
	unsigned int i;
	int ret;

	if (cfg->version < 1 || cfg->version > 3 ||
	    cfg->num_queues > FAKE_MMIO_MAX_QUEUES)
		return ERR_PTR(-EINVAL);

	ret = fake_mmio_add_region();
	if (ret)
		return ERR_PTR(ret);

	fdev = kunit_kzalloc(test, sizeof(*fdev), GFP_KERNEL);
	if (!fdev)
		return ERR_PTR(-ENOMEM);

	fdev->test = test;
	fdev->priv = priv;
	fdev->version = cfg->version;
	fdev->device_id = cfg->device_id ?: FAKE_MMIO_DEVICE_ID;
	fdev->device_features = cfg->features;
	if (cfg->version == 1)
		fdev->device_features &= GENMASK_ULL(31, 0);
	if (cfg->version >= 3)
		fdev->reset_polls = cfg->reset_polls ?: FAKE_MMIO_RESET_POLLS;
	if (cfg->version != 1)
		fdev->device_features |= BIT_ULL(VIRTIO_F_VERSION_1);
	if (cfg->bus_offset)
		fdev->device_features |= BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
	fdev->num_queues = cfg->num_queues;
	for (i = 0; i < cfg->num_queues; i++)
		fdev->queues[i].num_max = cfg->num_max ?: FAKE_MMIO_NUM_MAX;
	for (i = 0; i < FAKE_MMIO_CONFIG_SIZE; i++)
		fdev->config[i] = i;
	fdev->complete_ticks = cfg->complete_ticks ?: FAKE_MMIO_COMPLETE_TICKS;
	fdev->bus_offset = cfg->bus_offset;

	fdev->irq = irq_alloc_desc(NUMA_NO_NODE);
	if (fdev->irq < 0)
		return ERR_PTR(fdev->irq);
	ret = kunit_add_action_or_reset(test, fake_mmio_free_irq, fdev);
	if (ret)
		return ERR_PTR(ret);
	irq_set_chip_data(fdev->irq, fdev);
	irq_set_chip_and_handler(fdev->irq, &fake_mmio_irq_chip,
				 handle_level_irq);
	irq_set_status_flags(fdev->irq, IRQ_LEVEL);

	fdev->slot = fake_mmio_claim_slot(fdev);
	if (fdev->slot < 0)
		return ERR_PTR(fdev->slot);
	/* Registered before the platform device, so it runs after it is gone. */
	ret = kunit_add_action_or_reset(test, fake_mmio_release_slot, fdev);
	if (ret)
		return ERR_PTR(ret);

	ret = fake_mmio_add_pdev(fdev, cfg->bus_offset);
	if (ret)
		return ERR_PTR(ret);

	return fdev;
}

/**
 * fake_mmio_from_vdev - the emulated device behind a virtio device
 * @vdev: a virtio device registered by virtio-mmio
 *
 * Return: the emulated device, or NULL if @vdev is not on one.
 */
struct fake_mmio_dev *fake_mmio_from_vdev(struct virtio_device *vdev)
{
	struct fake_mmio_dev *found = NULL;
	unsigned long flags;
	int slot;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	for (slot = 0; slot < FAKE_MMIO_SLOTS; slot++) {
		struct fake_mmio_dev *fdev = fake_mmio_slots[slot];

		if (fdev && fdev->pdev && &fdev->pdev->dev == vdev->dev.parent) {
			found = fdev;
			break;
		}
	}
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return found;
}

/**
 * fake_mmio_vdev - the virtio device virtio-mmio registered for a device
 * @fdev: the emulated device
 *
 * Return: the virtio device, or NULL if there is none.
 */
struct virtio_device *fake_mmio_vdev(struct fake_mmio_dev *fdev)
{
	struct device *child = device_find_any_child(&fdev->pdev->dev);

	if (!child)
		return NULL;

	/* The virtio device lives as long as virtio-mmio is bound. */
	put_device(child);
	return dev_to_virtio(child);
}

/**
 * fake_mmio_pm_ops - the PM callbacks of the driver bound to a device
 * @fdev: the emulated device
 *
 * Return: the &dev_pm_ops of virtio-mmio, or NULL if it is not bound.
 */
const struct dev_pm_ops *fake_mmio_pm_ops(struct fake_mmio_dev *fdev)
{
	struct device_driver *drv = fdev->pdev->dev.driver;

	return drv ? drv->pm : NULL;
}

/**
 * fake_mmio_set_drop_features_ok - knob: the device drops FEATURES_OK
 * @fdev: the emulated device
 * @drop: true to clear FEATURES_OK from every status the driver writes
 */
void fake_mmio_set_drop_features_ok(struct fake_mmio_dev *fdev, bool drop)
{
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	fdev->drop_features_ok = drop;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_set_reset_polls - knob: how long a version 3 reset takes
 * @fdev: the emulated device, version 3
 * @polls: STATUS reads a reset takes from now on, or
 *	%FAKE_MMIO_RESET_NEVER for a device that stops completing resets
 *
 * A reset left pending by %FAKE_MMIO_RESET_NEVER completes @polls reads
 * after a call with another value: the device recovers.
 */
void fake_mmio_set_reset_polls(struct fake_mmio_dev *fdev, u32 polls)
{
	unsigned long flags;

	KUNIT_ASSERT_GE(fdev->test, fdev->version, 3);
	spin_lock_irqsave(&fake_mmio_lock, flags);
	fdev->reset_polls = polls;
	if (fdev->reset_pending == FAKE_MMIO_RESET_NEVER)
		fdev->reset_pending = polls;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_set_num_max - knob: change QUEUE_NUM_MAX of every queue
 * @fdev: the emulated device
 * @num_max: the new maximum queue size
 *
 * As a device that comes back from a reset smaller than it was.
 */
void fake_mmio_set_num_max(struct fake_mmio_dev *fdev, u32 num_max)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	for (i = 0; i < fdev->num_queues; i++)
		fdev->queues[i].num_max = num_max;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_set_queue_handler - the device's side of a virtqueue
 * @fdev: the emulated device
 * @index: queue index, below &fake_mmio_dev.num_queues
 * @fn: called for each chain the device consumes from the queue, or NULL
 *	to fill the device-writable buffers with %FAKE_MMIO_FILL again
 * @ctx: passed to @fn
 *
 * Instead of filling the device-writable buffers of a chain with the
 * pattern, the device hands @fn the chain's device-readable bytes and
 * writes what @fn returns into the device-writable ones, as a device that
 * answers requests does. The handler stays set across device resets.
 */
void fake_mmio_set_queue_handler(struct fake_mmio_dev *fdev,
				 unsigned int index,
				 fake_mmio_queue_handler_t fn, void *ctx)
{
	unsigned long flags;

	KUNIT_ASSERT_LT(fdev->test, index, fdev->num_queues);
	spin_lock_irqsave(&fake_mmio_lock, flags);
	fdev->handlers[index].fn = fn;
	fdev->handlers[index].ctx = ctx;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_tick - let one unit of device time pass
 * @fdev: the emulated device
 *
 * Every queue with a notification pending gets one tick closer to being
 * consumed; a queue whose time has come is consumed whole (INT_VRING is
 * latched if a buffer was used). Then a raised, unmasked line is signalled
 * to the CPU, which runs the driver's interrupt handler. Call it where a
 * driver polls its used ring, or in a loop to wait for a callback.
 *
 * Context: process or atomic context; the interrupt handler runs with
 * local interrupts disabled.
 * Return: the number of buffers the device used in this tick.
 */
unsigned int fake_mmio_tick(struct fake_mmio_dev *fdev)
{
	unsigned int done = 0, i;
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	for (i = 0; i < fdev->num_queues; i++) {
		struct fake_mmio_queue *q = &fdev->queues[i];

		if (q->kick_ticks && !--q->kick_ticks)
			done += fake_mmio_complete(fdev, i);
	}
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	fake_mmio_deliver(fdev);
	return done;
}

/**
 * fake_mmio_change_config - the device changes its configuration space
 * @fdev: the emulated device
 * @config: the new configuration space
 * @after_reads: 0 to change it now; otherwise the change lands just before
 *	the configuration space read number @after_reads from now, e.g. 2
 *	to land between the two 32-bit halves of a 64-bit field
 *
 * The change bumps CONFIG_GENERATION and, if the driver has set DRIVER_OK,
 * raises the line with INT_CONFIG (and INT_VRING, as QEMU does). A change
 * made now is signalled to the CPU at once if the line is unmasked; one
 * that lands during a read is signalled at the next tick.
 */
void fake_mmio_change_config(struct fake_mmio_dev *fdev,
			     const u8 config[FAKE_MMIO_CONFIG_SIZE],
			     unsigned int after_reads)
{
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	memcpy(fdev->config_next, config, FAKE_MMIO_CONFIG_SIZE);
	fdev->config_change_reads = after_reads;
	if (!after_reads)
		fake_mmio_apply_config(fdev);
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	if (!after_reads)
		fake_mmio_deliver(fdev);
}

/**
 * fake_mmio_power_loss - the platform resets the device
 * @fdev: the emulated device
 *
 * What a power loss in suspend to RAM or power off does: a device reset
 * that also forgets the transport state the driver programmed once, the
 * legacy guest page size (QEMU clears it only in the reset of the device
 * model, not on a STATUS = 0 write). A version 3 reset in progress ends.
 */
void fake_mmio_power_loss(struct fake_mmio_dev *fdev)
{
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	fake_mmio_reset(fdev);
	fdev->guest_page_size = 0;
	fdev->reset_pending = 0;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_get_queue - snapshot the device-side state of a queue
 * @fdev: the emulated device
 * @index: queue index, below &fake_mmio_dev.num_queues
 * @q: filled with the state
 */
void fake_mmio_get_queue(struct fake_mmio_dev *fdev, unsigned int index,
			 struct fake_mmio_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	*q = fdev->queues[index];
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_get_status - the device status, without logging an access
 * @fdev: the emulated device
 *
 * Return: the status.
 */
u32 fake_mmio_get_status(struct fake_mmio_dev *fdev)
{
	unsigned long flags;
	u32 status;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	status = fdev->status;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return status;
}

/**
 * fake_mmio_log_clear - empty the access log
 * @fdev: the emulated device
 */
void fake_mmio_log_clear(struct fake_mmio_dev *fdev)
{
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	fdev->log_len = 0;
	fdev->log_dropped = 0;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);
}

/**
 * fake_mmio_log_len - the number of accesses in the log
 * @fdev: the emulated device
 *
 * Useful as a mark: accesses made after it start at that index.
 *
 * Return: the number of logged accesses.
 */
unsigned int fake_mmio_log_len(struct fake_mmio_dev *fdev)
{
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	len = fdev->log_len;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return len;
}

/**
 * fake_mmio_log_count - count logged accesses to one register
 * @fdev: the emulated device
 * @from: first log index to look at
 * @to: log index to stop at (exclusive); clamped to the log length
 * @write: count writes (true) or reads (false)
 * @offset: register offset
 *
 * Return: the number of matching accesses in [@from, @to).
 */
unsigned int fake_mmio_log_count(struct fake_mmio_dev *fdev,
				 unsigned int from, unsigned int to,
				 bool write, u32 offset)
{
	unsigned int i, n = 0;
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	for (i = from; i < min(to, fdev->log_len); i++)
		if (fdev->log[i].write == write && fdev->log[i].offset == offset)
			n++;
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return n;
}

/**
 * fake_mmio_log_find - find the next logged access to a register
 * @fdev: the emulated device
 * @from: first log index to look at
 * @write: look for a write (true) or a read (false)
 * @offset: register offset
 * @value: value of the access
 *
 * Return: the log index of the first match at or after @from, or -ENOENT.
 */
int fake_mmio_log_find(struct fake_mmio_dev *fdev, unsigned int from,
		       bool write, u32 offset, u32 value)
{
	unsigned long flags;
	unsigned int i;
	int found = -ENOENT;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	for (i = from; i < fdev->log_len; i++) {
		const struct fake_mmio_access *a = &fdev->log[i];

		if (a->write == write && a->offset == offset &&
		    a->value == value) {
			found = i;
			break;
		}
	}
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return found;
}

/**
 * fake_mmio_log_writes - copy the logged writes of a range of the log
 * @fdev: the emulated device
 * @from: first log index to look at
 * @to: log index to stop at (exclusive); clamped to the log length
 * @out: where to copy the writes, in order
 * @max: capacity of @out
 *
 * Return: the number of writes in [@from, @to), which may exceed @max; only
 * the first @max are copied.
 */
unsigned int fake_mmio_log_writes(struct fake_mmio_dev *fdev,
				  unsigned int from, unsigned int to,
				  struct fake_mmio_access *out,
				  unsigned int max)
{
	unsigned int i, n = 0;
	unsigned long flags;

	spin_lock_irqsave(&fake_mmio_lock, flags);
	for (i = from; i < min(to, fdev->log_len); i++) {
		if (!fdev->log[i].write)
			continue;
		if (n < max)
			out[n] = fdev->log[i];
		n++;
	}
	spin_unlock_irqrestore(&fake_mmio_lock, flags);

	return n;
}

/**
 * fake_mmio_reg_name - name of a virtio-mmio register, for messages
 * @offset: register offset
 *
 * Return: the name, "CONFIG" for the configuration space or "?" if unknown.
 */
const char *fake_mmio_reg_name(u32 offset)
{
	static const char * const names[] = {
		[VIRTIO_MMIO_MAGIC_VALUE / 4] = "MAGIC_VALUE",
		[VIRTIO_MMIO_VERSION / 4] = "VERSION",
		[VIRTIO_MMIO_DEVICE_ID / 4] = "DEVICE_ID",
		[VIRTIO_MMIO_VENDOR_ID / 4] = "VENDOR_ID",
		[VIRTIO_MMIO_DEVICE_FEATURES / 4] = "DEVICE_FEATURES",
		[VIRTIO_MMIO_DEVICE_FEATURES_SEL / 4] = "DEVICE_FEATURES_SEL",
		[VIRTIO_MMIO_DRIVER_FEATURES / 4] = "DRIVER_FEATURES",
		[VIRTIO_MMIO_DRIVER_FEATURES_SEL / 4] = "DRIVER_FEATURES_SEL",
		[VIRTIO_MMIO_GUEST_PAGE_SIZE / 4] = "GUEST_PAGE_SIZE",
		[VIRTIO_MMIO_QUEUE_SEL / 4] = "QUEUE_SEL",
		[VIRTIO_MMIO_QUEUE_NUM_MAX / 4] = "QUEUE_NUM_MAX",
		[VIRTIO_MMIO_QUEUE_NUM / 4] = "QUEUE_NUM",
		[VIRTIO_MMIO_QUEUE_ALIGN / 4] = "QUEUE_ALIGN",
		[VIRTIO_MMIO_QUEUE_PFN / 4] = "QUEUE_PFN",
		[VIRTIO_MMIO_QUEUE_READY / 4] = "QUEUE_READY",
		[VIRTIO_MMIO_QUEUE_NOTIFY / 4] = "QUEUE_NOTIFY",
		[VIRTIO_MMIO_INTERRUPT_STATUS / 4] = "INTERRUPT_STATUS",
		[VIRTIO_MMIO_INTERRUPT_ACK / 4] = "INTERRUPT_ACK",
		[VIRTIO_MMIO_STATUS / 4] = "STATUS",
		[VIRTIO_MMIO_QUEUE_DESC_LOW / 4] = "QUEUE_DESC_LOW",
		[VIRTIO_MMIO_QUEUE_DESC_HIGH / 4] = "QUEUE_DESC_HIGH",
		[VIRTIO_MMIO_QUEUE_AVAIL_LOW / 4] = "QUEUE_AVAIL_LOW",
		[VIRTIO_MMIO_QUEUE_AVAIL_HIGH / 4] = "QUEUE_AVAIL_HIGH",
		[VIRTIO_MMIO_QUEUE_USED_LOW / 4] = "QUEUE_USED_LOW",
		[VIRTIO_MMIO_QUEUE_USED_HIGH / 4] = "QUEUE_USED_HIGH",
		[VIRTIO_MMIO_SHM_SEL / 4] = "SHM_SEL",
		[VIRTIO_MMIO_SHM_LEN_LOW / 4] = "SHM_LEN_LOW",
		[VIRTIO_MMIO_SHM_LEN_HIGH / 4] = "SHM_LEN_HIGH",
		[VIRTIO_MMIO_SHM_BASE_LOW / 4] = "SHM_BASE_LOW",
		[VIRTIO_MMIO_SHM_BASE_HIGH / 4] = "SHM_BASE_HIGH",
		[VIRTIO_MMIO_CONFIG_GENERATION / 4] = "CONFIG_GENERATION",
	};

	if (offset >= VIRTIO_MMIO_CONFIG)
		return "CONFIG";
	if (offset % 4 || !names[offset / 4])
		return "?";
	return names[offset / 4];
}

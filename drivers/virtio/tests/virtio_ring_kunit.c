// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for virtqueue_reset() on IN_ORDER rings.
 *
 * A fake driver is bound to the fake transport with VIRTIO_F_IN_ORDER
 * negotiated, in the split and in the packed layout. The tests play the
 * device side of the ring by hand (reading the available buffers, writing
 * used entries) so that the ring can be used past its first descriptor, or
 * left with a used batch half read, before virtqueue_reset(). After the
 * reset the device starts again at the first descriptor, and so must the
 * driver side of the ring.
 */

#include <kunit/test.h>
#include <linux/io.h>
#include <linux/scatterlist.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "fake_transport.h"

/**
 * struct ring_layout - an in-order layout under test
 * @desc: description of the case
 * @features: device features that select the layout
 * @packed: the layout is packed
 */
struct ring_layout {
	const char *desc;
	u64 features;
	bool packed;
};

static const struct ring_layout ring_layouts[] = {
	{ "split in-order",
	  FAKE_FEATURES_MODERN | BIT_ULL(VIRTIO_F_IN_ORDER), false },
	{ "packed in-order",
	  FAKE_FEATURES_MODERN | BIT_ULL(VIRTIO_F_IN_ORDER) |
	  BIT_ULL(VIRTIO_F_RING_PACKED), true },
};

KUNIT_ARRAY_PARAM_DESC(ring_layout, ring_layouts, desc);

/**
 * struct ring_dev - the device side of one ring, played by the test
 * @test: the test
 * @vq: the virtqueue
 * @packed: the ring is packed
 * @next: next available entry the device reads (reset to 0 with the ring)
 * @used: used entries the device has made (split: its used index)
 */
struct ring_dev {
	struct kunit *test;
	struct virtqueue *vq;
	bool packed;
	unsigned int next;
	unsigned int used;
};

/**
 * ring_dev_init() - suite init: a driver with an IN_ORDER ring, and its device
 * @test: the test; @test->param_value is the &struct ring_layout
 *
 * Binds the fake driver to a fake device that offers the layout's
 * features and leaves the device side of the driver's first virtqueue, a
 * &struct ring_dev, in @test->priv. Everything is released by the KUnit
 * actions of fake_vdev_create() and fake_driver_create() and by the
 * test's managed memory.
 *
 * Context: Process context.
 * Return: 0, or -ENOMEM.
 */
static int ring_dev_init(struct kunit *test)
{
	const struct ring_layout *p = test->param_value;
	struct fake_vdev *fv = fake_vdev_create(test, &fake_virtio_config_ops,
						p->features);
	struct fake_driver *fd = fake_driver_create(test, fv,
						    &fake_driver_default);
	struct ring_dev *rd = kunit_kzalloc(test, sizeof(*rd), GFP_KERNEL);

	if (!rd)
		return -ENOMEM;
	KUNIT_ASSERT_TRUE(test, virtio_has_feature(&fv->vdev,
						   VIRTIO_F_IN_ORDER));
	KUNIT_ASSERT_EQ(test, virtio_has_feature(&fv->vdev,
						 VIRTIO_F_RING_PACKED),
			p->packed);
	rd->test = test;
	rd->vq = fd->vqs[0];
	rd->packed = p->packed;
	test->priv = rd;
	return 0;
}

/**
 * ring_dev_peek() - what the device would read next
 * @rd: the device side of the ring
 *
 * Return: the descriptor id of the next available buffer, or -1 if there
 * is none.
 */
static int ring_dev_peek(struct ring_dev *rd)
{
	struct virtio_device *vdev = rd->vq->vdev;
	unsigned int num = virtqueue_get_vring_size(rd->vq);
	struct vring_packed_desc *pdesc;
	struct vring_avail *avail;
	u16 flags;

	KUNIT_ASSERT_LT(rd->test, rd->next, num);
	if (rd->packed) {
		pdesc = phys_to_virt(virtqueue_get_desc_addr(rd->vq));
		flags = le16_to_cpu(READ_ONCE(pdesc[rd->next].flags));
		/* Available in the first lap: AVAIL set, USED clear. */
		if (!(flags & BIT(VRING_PACKED_DESC_F_AVAIL)) ||
		    (flags & BIT(VRING_PACKED_DESC_F_USED)))
			return -1;
		return le16_to_cpu(pdesc[rd->next].id);
	}

	avail = phys_to_virt(virtqueue_get_avail_addr(rd->vq));
	if (virtio16_to_cpu(vdev, READ_ONCE(avail->idx)) == (u16)rd->next)
		return -1;
	return virtio16_to_cpu(vdev, avail->ring[rd->next]);
}

/**
 * ring_dev_use() - the device uses buffers as one in-order batch
 * @rd: the device side of the ring
 * @n: how many of the next available one-descriptor buffers to use
 *
 * Writes a single used entry, for the last of them, where the first one
 * would have gone.
 *
 * Return: the id of that last buffer.
 */
static unsigned int ring_dev_use(struct ring_dev *rd, unsigned int n)
{
	struct virtio_device *vdev = rd->vq->vdev;
	struct vring_packed_desc *pdesc;
	struct vring_used *used;
	unsigned int first = rd->next, i;
	int id = -1;

	for (i = 0; i < n; i++) {
		id = ring_dev_peek(rd);
		KUNIT_ASSERT_GE(rd->test, id, 0);
		rd->next++;
	}

	if (rd->packed) {
		pdesc = phys_to_virt(virtqueue_get_desc_addr(rd->vq));
		pdesc[first].id = cpu_to_le16(id);
		pdesc[first].len = cpu_to_le32(0);
		/*
		 * Used in the first lap: AVAIL and USED both set. Order the
		 * id and len before the flags, as a device does.
		 */
		dma_wmb();
		WRITE_ONCE(pdesc[first].flags,
			   cpu_to_le16(BIT(VRING_PACKED_DESC_F_AVAIL) |
				       BIT(VRING_PACKED_DESC_F_USED)));
	} else {
		used = phys_to_virt(virtqueue_get_used_addr(rd->vq));
		used->ring[rd->used].id = cpu_to_virtio32(vdev, id);
		used->ring[rd->used].len = cpu_to_virtio32(vdev, 0);
		rd->used += n;
		/* Order the used entry before the index, as a device does. */
		virt_wmb();
		WRITE_ONCE(used->idx, cpu_to_virtio16(vdev, rd->used));
	}
	return id;
}

/**
 * ring_add() - the driver adds one buffer of the test's own
 * @rd: the ring
 *
 * Return: the buffer, which is also its token.
 */
static void *ring_add(struct ring_dev *rd)
{
	struct scatterlist sg;
	void *buf = kunit_kzalloc(rd->test, 16, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(rd->test, buf);
	sg_init_one(&sg, buf, 16);
	KUNIT_ASSERT_EQ(rd->test,
			virtqueue_add_outbuf(rd->vq, &sg, 1, buf, GFP_KERNEL),
			0);
	return buf;
}

/**
 * ring_recycle() - recycle callback of virtqueue_reset(): nothing to free
 * @vq: the virtqueue
 * @buf: an unused buffer (test-managed memory)
 */
static void ring_recycle(struct virtqueue *vq, void *buf)
{
}

/**
 * ring_reset() - virtqueue_reset(); the device starts again at its first entry
 * @rd: the ring
 */
static void ring_reset(struct ring_dev *rd)
{
	KUNIT_ASSERT_EQ(rd->test, virtqueue_reset(rd->vq, ring_recycle, NULL),
			0);
	rd->next = 0;
	rd->used = 0;
}

/*
 * A ring used past its first descriptor and then reset puts the next
 * buffer at the first descriptor, and that buffer comes back when the
 * device uses it.
 */
static void reset_restarts_ring_at_first_descriptor(struct kunit *test)
{
	struct ring_dev *rd = test->priv;
	unsigned int len, i;
	void *buf;

	for (i = 0; i < 3; i++) {
		buf = ring_add(rd);
		KUNIT_ASSERT_EQ(test, ring_dev_use(rd, 1), i);
		KUNIT_ASSERT_PTR_EQ(test, virtqueue_get_buf(rd->vq, &len), buf);
	}

	ring_reset(rd);

	buf = ring_add(rd);
	KUNIT_EXPECT_EQ(test, ring_dev_peek(rd), 0);
	ring_dev_use(rd, 1);
	KUNIT_EXPECT_PTR_EQ(test, virtqueue_get_buf(rd->vq, &len), buf);
	KUNIT_EXPECT_FALSE(test, virtqueue_is_broken(rd->vq));
	KUNIT_EXPECT_NULL(test, virtqueue_get_buf(rd->vq, &len));
}

/*
 * A used batch half read before the reset is forgotten: a buffer added
 * after the reset is not returned before the device has used it, and is
 * returned once it has.
 */
static void reset_forgets_used_batch(struct kunit *test)
{
	struct ring_dev *rd = test->priv;
	unsigned int len, i;
	void *bufs[3], *buf;

	for (i = 0; i < ARRAY_SIZE(bufs); i++)
		bufs[i] = ring_add(rd);
	ring_dev_use(rd, ARRAY_SIZE(bufs));
	KUNIT_ASSERT_PTR_EQ(test, virtqueue_get_buf(rd->vq, &len), bufs[0]);

	ring_reset(rd);
	KUNIT_ASSERT_EQ(test, rd->vq->num_free, virtqueue_get_vring_size(rd->vq));

	buf = ring_add(rd);
	KUNIT_EXPECT_NULL(test, virtqueue_get_buf(rd->vq, &len));
	ring_dev_use(rd, 1);
	KUNIT_EXPECT_PTR_EQ(test, virtqueue_get_buf(rd->vq, &len), buf);
	KUNIT_EXPECT_FALSE(test, virtqueue_is_broken(rd->vq));
}

static struct kunit_case ring_reset_cases[] = {
	KUNIT_CASE_PARAM(reset_restarts_ring_at_first_descriptor,
			 ring_layout_gen_params),
	KUNIT_CASE_PARAM(reset_forgets_used_batch, ring_layout_gen_params),
	{}
};

static struct kunit_suite virtio_ring_reset_suite = {
	.name = "virtio_ring_reset",
	.init = ring_dev_init,
	.test_cases = ring_reset_cases,
};

kunit_test_suite(virtio_ring_reset_suite);

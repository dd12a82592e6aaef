// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for SCMI over virtio on an emulated virtio-mmio SCMI device.
 *
 * The real SCMI core (drivers/firmware/arm_scmi) and its virtio transport
 * bind to an emulated virtio-mmio device with the SCMI device ID: a device
 * tree overlay adds an "arm,scmi-virtio" node, the transport pairs it with
 * the virtio device, and the core discovers the protocols the emulated
 * platform implements. A test SCMI driver then reads and sets power domain
 * states through the protocol operations, as a consumer would.
 *
 * The emulated SCMI platform is the handler of the command queue of the
 * emulated virtio-mmio device (fake_mmio.c): the device hands it each
 * request and writes its reply into the chain. A periodic timer lets the
 * device time pass (fake_mmio_tick()), in hard interrupt context, so that
 * requests the SCMI core completes by polling are served too.
 */

#include <kunit/of.h>
#include <kunit/test.h>
#include <linux/bitfield.h>
#include <linux/device.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/scmi_protocol.h>
#include <linux/string.h>
#include <linux/unaligned.h>
#include <linux/virtio.h>
#include <uapi/linux/virtio_ids.h>
#include <uapi/linux/virtio_scmi.h>

#include "fake_mmio.h"

/* SCMI message header fields (SCMI specification, section 4.1.1). */
#define SCMI_EMU_HDR_MSG_ID	GENMASK(7, 0)
#define SCMI_EMU_HDR_TYPE	GENMASK(9, 8)
#define SCMI_EMU_HDR_PROTOCOL	GENMASK(17, 10)

/* SCMI status codes. */
#define SCMI_EMU_SUCCESS	0
#define SCMI_EMU_NOT_SUPPORTED	(-1)
#define SCMI_EMU_INVALID_PARAMS	(-2)
#define SCMI_EMU_NOT_FOUND	(-4)

/* Protocols and their messages. */
#define SCMI_EMU_PROTOCOL_BASE		0x10
#define SCMI_EMU_PROTOCOL_POWER		0x11
#define SCMI_EMU_PROTOCOL_VERSION	0x0
#define SCMI_EMU_PROTOCOL_ATTRIBUTES	0x1
#define SCMI_EMU_PROTOCOL_MSG_ATTRIBUTES 0x2
#define SCMI_EMU_BASE_DISCOVER_VENDOR	0x3
#define SCMI_EMU_BASE_DISCOVER_SUB_VENDOR 0x4
#define SCMI_EMU_BASE_DISCOVER_IMPL_VERSION 0x5
#define SCMI_EMU_BASE_DISCOVER_LIST_PROTOCOLS 0x6
#define SCMI_EMU_POWER_DOMAIN_ATTRIBUTES 0x3
#define SCMI_EMU_POWER_STATE_SET	0x4
#define SCMI_EMU_POWER_STATE_GET	0x5

/* What the emulated platform reports. */
#define SCMI_EMU_BASE_VERSION		0x20000
#define SCMI_EMU_POWER_VERSION		0x30000
#define SCMI_EMU_IMPL_VERSION		0x00070003
#define SCMI_EMU_VENDOR			"KUnit"
#define SCMI_EMU_SUB_VENDOR		"virtio-mmio"
#define SCMI_EMU_NAME_SIZE		16
#define SCMI_EMU_NUM_DOMAINS		2
/* Power domain attribute: the domain supports synchronous state changes. */
#define SCMI_EMU_PD_SYNC		BIT(29)
/* Power domain states (generic ON and OFF). */
#define SCMI_EMU_PD_ON			0
#define SCMI_EMU_PD_OFF			BIT(30)

/* The virtio transport's message size (128) plus header and status. */
#define SCMI_EMU_MAX_REPLY		(128 + 2 * sizeof(__le32))
/* How often the emulated platform looks at its command queue. */
#define SCMI_EMU_PERIOD_US		200

/**
 * struct scmi_emu - an emulated SCMI platform behind a virtio-mmio device
 * @fdev: the emulated virtio-mmio device
 * @timer: ticks the device every %SCMI_EMU_PERIOD_US
 * @ticks: device ticks so far
 * @instance: the SCMI instance's device ("arm-scmi"), held until its
 *	protocol devices are gone
 * @pd_state: state of each power domain
 * @requests: requests answered, by protocol (base, power, other)
 * @errors: malformed requests
 */
struct scmi_emu {
	struct fake_mmio_dev *fdev;
	struct hrtimer timer;
	unsigned int ticks;
	struct device *instance;
	u32 pd_state[SCMI_EMU_NUM_DOMAINS];
	unsigned int requests[3];
	unsigned int errors;
};

static void scmi_emu_put32(u8 *p, unsigned int *len, u32 val)
{
	put_unaligned_le32(val, p + *len);
	*len += sizeof(u32);
}

static void scmi_emu_put_name(u8 *p, unsigned int *len, const char *name)
{
	memset(p + *len, 0, SCMI_EMU_NAME_SIZE);
	strscpy(p + *len, name, SCMI_EMU_NAME_SIZE);
	*len += SCMI_EMU_NAME_SIZE;
}

/*
 * Builds the payload of the reply after the status word; returns the status.
 * @in is the request payload, @in_len its length in bytes.
 */
static int scmi_emu_base(struct scmi_emu *emu, u32 msg, const u8 *in,
			 unsigned int in_len, u8 *out, unsigned int *len)
{
	switch (msg) {
	case SCMI_EMU_PROTOCOL_VERSION:
		scmi_emu_put32(out, len, SCMI_EMU_BASE_VERSION);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_PROTOCOL_ATTRIBUTES:
		/* One protocol besides base, no other agent. */
		scmi_emu_put32(out, len, 1);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_PROTOCOL_MSG_ATTRIBUTES:
		if (in_len < sizeof(u32))
			return SCMI_EMU_INVALID_PARAMS;
		if (get_unaligned_le32(in) > SCMI_EMU_BASE_DISCOVER_LIST_PROTOCOLS)
			return SCMI_EMU_NOT_FOUND;
		scmi_emu_put32(out, len, 0);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_BASE_DISCOVER_VENDOR:
		scmi_emu_put_name(out, len, SCMI_EMU_VENDOR);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_BASE_DISCOVER_SUB_VENDOR:
		scmi_emu_put_name(out, len, SCMI_EMU_SUB_VENDOR);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_BASE_DISCOVER_IMPL_VERSION:
		scmi_emu_put32(out, len, SCMI_EMU_IMPL_VERSION);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_BASE_DISCOVER_LIST_PROTOCOLS:
		if (in_len < sizeof(u32))
			return SCMI_EMU_INVALID_PARAMS;
		if (get_unaligned_le32(in) >= 1) {
			scmi_emu_put32(out, len, 0);
			return SCMI_EMU_SUCCESS;
		}
		/* One protocol ID, padded to a word. */
		scmi_emu_put32(out, len, 1);
		scmi_emu_put32(out, len, SCMI_EMU_PROTOCOL_POWER);
		return SCMI_EMU_SUCCESS;
	}

	return SCMI_EMU_NOT_SUPPORTED;
}

static int scmi_emu_power(struct scmi_emu *emu, u32 msg, const u8 *in,
			  unsigned int in_len, u8 *out, unsigned int *len)
{
	u32 domain;

	switch (msg) {
	case SCMI_EMU_PROTOCOL_VERSION:
		scmi_emu_put32(out, len, SCMI_EMU_POWER_VERSION);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_PROTOCOL_ATTRIBUTES:
		/* Domains; no statistics area. */
		scmi_emu_put32(out, len, SCMI_EMU_NUM_DOMAINS);
		scmi_emu_put32(out, len, 0);
		scmi_emu_put32(out, len, 0);
		scmi_emu_put32(out, len, 0);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_PROTOCOL_MSG_ATTRIBUTES:
		if (in_len < sizeof(u32))
			return SCMI_EMU_INVALID_PARAMS;
		msg = get_unaligned_le32(in);
		if (msg > SCMI_EMU_POWER_STATE_GET)
			return SCMI_EMU_NOT_FOUND;
		scmi_emu_put32(out, len, 0);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_POWER_DOMAIN_ATTRIBUTES:
		if (in_len < sizeof(u32))
			return SCMI_EMU_INVALID_PARAMS;
		domain = get_unaligned_le32(in);
		if (domain >= SCMI_EMU_NUM_DOMAINS)
			return SCMI_EMU_NOT_FOUND;
		scmi_emu_put32(out, len, SCMI_EMU_PD_SYNC);
		scmi_emu_put_name(out, len, domain ? "kunit-pd1" : "kunit-pd0");
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_POWER_STATE_SET:
		/* flags, domain, state */
		if (in_len < 3 * sizeof(u32))
			return SCMI_EMU_INVALID_PARAMS;
		domain = get_unaligned_le32(in + 4);
		if (domain >= SCMI_EMU_NUM_DOMAINS)
			return SCMI_EMU_NOT_FOUND;
		emu->pd_state[domain] = get_unaligned_le32(in + 8);
		return SCMI_EMU_SUCCESS;
	case SCMI_EMU_POWER_STATE_GET:
		if (in_len < sizeof(u32))
			return SCMI_EMU_INVALID_PARAMS;
		domain = get_unaligned_le32(in);
		if (domain >= SCMI_EMU_NUM_DOMAINS)
			return SCMI_EMU_NOT_FOUND;
		scmi_emu_put32(out, len, emu->pd_state[domain]);
		return SCMI_EMU_SUCCESS;
	}

	return SCMI_EMU_NOT_SUPPORTED;
}

/* Builds the reply to one request; returns its length in bytes. */
static u32 scmi_emu_answer(struct scmi_emu *emu, const u8 *req,
			   unsigned int req_len, u8 *out)
{
	unsigned int len = 2 * sizeof(u32);
	u32 hdr, proto, msg;
	int status;

	if (req_len < sizeof(u32)) {
		emu->errors++;
		return 0;
	}

	hdr = get_unaligned_le32(req);
	proto = FIELD_GET(SCMI_EMU_HDR_PROTOCOL, hdr);
	msg = FIELD_GET(SCMI_EMU_HDR_MSG_ID, hdr);
	req += sizeof(u32);
	req_len -= sizeof(u32);

	switch (proto) {
	case SCMI_EMU_PROTOCOL_BASE:
		emu->requests[0]++;
		status = scmi_emu_base(emu, msg, req, req_len, out, &len);
		break;
	case SCMI_EMU_PROTOCOL_POWER:
		emu->requests[1]++;
		status = scmi_emu_power(emu, msg, req, req_len, out, &len);
		break;
	default:
		emu->requests[2]++;
		status = SCMI_EMU_NOT_SUPPORTED;
		break;
	}

	if (status != SCMI_EMU_SUCCESS)
		len = 2 * sizeof(u32);
	/* A reply echoes the header of its command. */
	put_unaligned_le32(hdr, out);
	put_unaligned_le32((u32)status, out + sizeof(u32));

	return len;
}

/*
 * The device side of both queues, called by fake_mmio when the device
 * consumes a chain. The command queue gets its reply; the event queue's
 * buffers stay posted, as the platform sends no notifications.
 */
static int scmi_emu_handle(void *ctx, unsigned int index, const void *in,
			   u32 in_len, void *out, u32 out_len)
{
	struct scmi_emu *emu = ctx;
	u8 reply[SCMI_EMU_MAX_REPLY];
	u32 len;

	if (index != VIRTIO_SCMI_VQ_TX)
		return -EAGAIN;

	if (out_len < 2 * sizeof(u32)) {
		emu->errors++;
		return -EINVAL;
	}

	len = min(scmi_emu_answer(emu, in, in_len, reply), out_len);
	memcpy(out, reply, len);

	return len;
}

static enum hrtimer_restart scmi_emu_tick(struct hrtimer *timer)
{
	struct scmi_emu *emu = container_of(timer, struct scmi_emu, timer);

	emu->ticks++;
	fake_mmio_tick(emu->fdev);
	hrtimer_forward_now(timer, us_to_ktime(SCMI_EMU_PERIOD_US));

	return HRTIMER_RESTART;
}

static void scmi_emu_stop(void *data)
{
	struct scmi_emu *emu = data;

	hrtimer_cancel(&emu->timer);
}

/* The consumer: a test SCMI driver on the power domain protocol. */
struct scmi_kunit_consumer {
	struct scmi_device *sdev;
	const struct scmi_power_proto_ops *ops;
	const struct scmi_protocol_handle *ph;
};

static struct scmi_kunit_consumer scmi_kunit_consumer;

static int scmi_kunit_probe(struct scmi_device *sdev)
{
	const struct scmi_power_proto_ops *ops;
	struct scmi_protocol_handle *ph;

	ops = sdev->handle->devm_protocol_get(sdev, SCMI_PROTOCOL_POWER, &ph);
	if (IS_ERR(ops))
		return PTR_ERR(ops);

	scmi_kunit_consumer.sdev = sdev;
	scmi_kunit_consumer.ops = ops;
	scmi_kunit_consumer.ph = ph;

	return 0;
}

static void scmi_kunit_remove(struct scmi_device *sdev)
{
	memset(&scmi_kunit_consumer, 0, sizeof(scmi_kunit_consumer));
}

static const struct scmi_device_id scmi_kunit_id_table[] = {
	{ SCMI_PROTOCOL_POWER, "virtio-scmi-kunit" },
	{ }
};

static struct scmi_driver scmi_kunit_driver = {
	.name = "virtio-scmi-kunit",
	.probe = scmi_kunit_probe,
	.remove = scmi_kunit_remove,
	.id_table = scmi_kunit_id_table,
};

static void scmi_kunit_unregister(void *data)
{
	scmi_driver_unregister(data);
}

static void scmi_kunit_enable_irq(void *data)
{
	struct scmi_emu *emu = data;

	enable_irq(emu->fdev->irq);
}

/* Prefix of the names of the SCMI core's own transport devices. */
#define SCMI_KUNIT_TRANSPORT_PREFIX	"__scmi_transport_device"

static int scmi_kunit_unregister_protocol_dev(struct device *dev, void *data)
{
	struct scmi_device *sdev;

	if (dev->bus != scmi_kunit_driver.driver.bus)
		return 0;

	sdev = to_scmi_dev(dev);
	/* The core destroys its transport devices with their channels. */
	if (str_has_prefix(sdev->name, SCMI_KUNIT_TRANSPORT_PREFIX))
		return 0;

	device_unregister(dev);
	return 0;
}

/*
 * The SCMI core's remove leaves the protocol devices it created for the
 * instance (this suite's consumer, scmi_pm_domain's "genpd") registered:
 * they go only when their driver unregisters. Each holds a reference to
 * the protocol node of the overlay, so they must go before the overlay.
 */
static void scmi_kunit_unregister_protocol_devs(void *data)
{
	struct scmi_emu *emu = data;

	device_for_each_child(emu->instance, NULL,
			      scmi_kunit_unregister_protocol_dev);
	put_device(emu->instance);
}

/**
 * scmi_kunit_bring_up - the emulated SCMI device, the SCMI stack and the
 *	consumer
 * @test: the test; everything is torn down when it ends
 * @polled: the SCMI core completes every request by polling (the DT
 *	property arm,no-completion-irq), and the interrupt line of the device
 *	is disabled from the start, as device interrupts are in the noirq phase
 *
 * Return: the emulated platform. Fails the test if the consumer did not
 * probe.
 */
static struct scmi_emu *scmi_kunit_bring_up(struct kunit *test, bool polled)
{
	const struct fake_mmio_config cfg = {
		.version = 2,
		.device_id = VIRTIO_ID_SCMI,
		.features = BIT_ULL(VIRTIO_SCMI_F_P2A_CHANNELS),
		.num_queues = VIRTIO_SCMI_VQ_MAX_CNT,
	};
	struct scmi_emu *emu;

	emu = kunit_kzalloc(test, sizeof(*emu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, emu);
	emu->pd_state[0] = SCMI_EMU_PD_ON;
	emu->pd_state[1] = SCMI_EMU_PD_OFF;

	emu->fdev = fake_mmio_create(test, &cfg, emu);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, emu->fdev);
	fake_mmio_set_queue_handler(emu->fdev, VIRTIO_SCMI_VQ_TX,
				    scmi_emu_handle, emu);
	fake_mmio_set_queue_handler(emu->fdev, VIRTIO_SCMI_VQ_RX,
				    scmi_emu_handle, emu);
	KUNIT_ASSERT_NOT_NULL(test, fake_mmio_vdev(emu->fdev));
	KUNIT_ASSERT_NOT_NULL(test, fake_mmio_vdev(emu->fdev)->dev.driver);

	hrtimer_setup(&emu->timer, scmi_emu_tick, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, scmi_emu_stop, emu));
	hrtimer_start(&emu->timer, us_to_ktime(SCMI_EMU_PERIOD_US),
		      HRTIMER_MODE_REL);

	KUNIT_ASSERT_EQ(test, 0, scmi_register(&scmi_kunit_driver));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, scmi_kunit_unregister,
						  &scmi_kunit_driver));

	if (polled) {
		disable_irq(emu->fdev->irq);
		KUNIT_ASSERT_EQ(test, 0,
				kunit_add_action_or_reset(test,
							  scmi_kunit_enable_irq,
							  emu));
		KUNIT_ASSERT_EQ(test, 0,
				of_overlay_apply_kunit(test,
						       virtio_scmi_kunit_polled));
	} else {
		KUNIT_ASSERT_EQ(test, 0,
				of_overlay_apply_kunit(test,
						       virtio_scmi_kunit_overlay));
	}
	wait_for_device_probe();

	KUNIT_ASSERT_NOT_NULL(test, scmi_kunit_consumer.ops);
	emu->instance = get_device(scmi_kunit_consumer.sdev->dev.parent);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  scmi_kunit_unregister_protocol_devs,
						  emu));
	KUNIT_EXPECT_EQ(test, emu->errors, 0);

	return emu;
}

static void scmi_kunit_probe_discovers_protocols(struct kunit *test)
{
	struct scmi_kunit_consumer *c = &scmi_kunit_consumer;
	const struct scmi_base_info *rev;
	struct scmi_emu *emu;

	emu = scmi_kunit_bring_up(test, false);

	rev = c->sdev->handle->version;
	KUNIT_EXPECT_EQ(test, rev->major_ver, SCMI_EMU_BASE_VERSION >> 16);
	KUNIT_EXPECT_EQ(test, rev->num_protocols, 1);
	KUNIT_EXPECT_STREQ(test, rev->vendor_id, SCMI_EMU_VENDOR);
	KUNIT_EXPECT_STREQ(test, rev->sub_vendor_id, SCMI_EMU_SUB_VENDOR);
	KUNIT_EXPECT_EQ(test, rev->impl_ver, SCMI_EMU_IMPL_VERSION);

	KUNIT_EXPECT_EQ(test, c->ops->num_domains_get(c->ph),
			SCMI_EMU_NUM_DOMAINS);
	KUNIT_EXPECT_STREQ(test, c->ops->name_get(c->ph, 1), "kunit-pd1");
	KUNIT_EXPECT_GT(test, emu->requests[0], 0);
	KUNIT_EXPECT_GT(test, emu->requests[1], 0);
	KUNIT_EXPECT_EQ(test, emu->errors, 0);
}

static void scmi_kunit_power_state_get_set(struct kunit *test)
{
	struct scmi_kunit_consumer *c = &scmi_kunit_consumer;
	unsigned int irqs;
	struct scmi_emu *emu;
	u32 state = U32_MAX;

	emu = scmi_kunit_bring_up(test, false);
	irqs = READ_ONCE(emu->fdev->irqs_delivered);

	KUNIT_EXPECT_EQ(test, 0, c->ops->state_get(c->ph, 1, &state));
	KUNIT_EXPECT_EQ(test, state, SCMI_EMU_PD_OFF);

	KUNIT_EXPECT_EQ(test, 0,
			c->ops->state_set(c->ph, 1, SCMI_EMU_PD_ON));
	KUNIT_EXPECT_EQ(test, emu->pd_state[1], SCMI_EMU_PD_ON);
	KUNIT_EXPECT_EQ(test, 0, c->ops->state_get(c->ph, 1, &state));
	KUNIT_EXPECT_EQ(test, state, SCMI_EMU_PD_ON);

	/* An unknown domain is refused by the platform. */
	KUNIT_EXPECT_NE(test, 0, c->ops->state_get(c->ph, 7, &state));
	KUNIT_EXPECT_EQ(test, emu->errors, 0);
	/* The replies came with the device's interrupt. */
	KUNIT_EXPECT_GE(test, READ_ONCE(emu->fdev->irqs_delivered) - irqs, 4);
}

/*
 * With the interrupt line disabled, the core probes and the consumer's
 * requests complete by polling the command queue: what a request issued
 * in the noirq phase needs.
 */
static void scmi_kunit_polled_without_irq(struct kunit *test)
{
	struct scmi_kunit_consumer *c = &scmi_kunit_consumer;
	unsigned int completed, ticks;
	struct fake_mmio_queue q;
	struct scmi_emu *emu;
	u32 state = U32_MAX;

	emu = scmi_kunit_bring_up(test, true);

	KUNIT_EXPECT_STREQ(test, c->sdev->handle->version->vendor_id,
			   SCMI_EMU_VENDOR);
	fake_mmio_get_queue(emu->fdev, VIRTIO_SCMI_VQ_TX, &q);
	completed = q.completed;
	ticks = READ_ONCE(emu->ticks);

	KUNIT_EXPECT_EQ(test, 0,
			c->ops->state_set(c->ph, 0, SCMI_EMU_PD_OFF));
	KUNIT_EXPECT_EQ(test, 0, c->ops->state_get(c->ph, 0, &state));
	KUNIT_EXPECT_EQ(test, state, SCMI_EMU_PD_OFF);
	KUNIT_EXPECT_EQ(test, emu->errors, 0);

	/* Both requests were consumed by the device on the timer's ticks. */
	fake_mmio_get_queue(emu->fdev, VIRTIO_SCMI_VQ_TX, &q);
	KUNIT_EXPECT_EQ(test, q.completed - completed, 2);
	KUNIT_EXPECT_GE(test, READ_ONCE(emu->ticks) - ticks,
			2 * FAKE_MMIO_COMPLETE_TICKS);
	/* No handler ran to acknowledge the interrupt: the line is raised. */
	KUNIT_EXPECT_TRUE(test, fake_mmio_irq_line(emu->fdev));
}

static struct kunit_case virtio_scmi_cases[] = {
	KUNIT_CASE(scmi_kunit_probe_discovers_protocols),
	KUNIT_CASE(scmi_kunit_power_state_get_set),
	KUNIT_CASE(scmi_kunit_polled_without_irq),
	{}
};

static struct kunit_suite virtio_scmi_suite = {
	.name = "virtio_scmi",
	.test_cases = virtio_scmi_cases,
};

kunit_test_suites(&virtio_scmi_suite);

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DOC: Fake virtio transport and fake virtio driver
 *
 * The fake device (&struct fake_vdev) is a small emulated register file: a
 * status register, a 64-bit feature word and a few bytes of config space,
 * registered on the real virtio bus. Every transport op counts its calls,
 * notes the context it was called in and appends to an event log that the
 * fake driver (&struct fake_driver) shares, so a test can check the exact
 * interleaving of status writes and driver callbacks.
 *
 * One vocabulary:
 *
 * - fake_vdev_*(): the transport operations and the device helpers;
 *   fake_vdev_create() registers the device and its teardown.
 * - fake_drv_*(): the fake driver's callbacks, which count their calls and
 *   obey the knobs of &struct fake_driver.
 * - fake_driver_*(): create, register, unregister and inspect the driver.
 * - fake_vdev_expect_*() and FAKE_EXPECT_*(): checks of what the fake
 *   observed (logs, syncs, calling context).
 * - fake_console_watch() and fake_alloc_watch(): tracepoint probes of the
 *   kernel log and of slab allocations.
 *
 * Everything a helper creates is released by a KUnit action at the end of
 * the test, so a case needs no teardown of its own.
 */

#ifndef _VIRTIO_TESTS_FAKE_TRANSPORT_H
#define _VIRTIO_TESTS_FAKE_TRANSPORT_H

#include <kunit/test.h>
#include <linux/types.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

/* Device status bits, short for the tables of expected status writes. */
#define ST_ACK		VIRTIO_CONFIG_S_ACKNOWLEDGE
#define ST_DRV		VIRTIO_CONFIG_S_DRIVER
#define ST_FOK		VIRTIO_CONFIG_S_FEATURES_OK
#define ST_DOK		VIRTIO_CONFIG_S_DRIVER_OK
#define ST_FAIL		VIRTIO_CONFIG_S_FAILED

/* Status of a bound modern device after probe. */
#define ST_LIVE		(ST_ACK | ST_DRV | ST_FOK | ST_DOK)

/* Vendor id of every fake device; the device id is unique per fake. */
#define FAKE_VDEV_VENDOR	0x4b554e54
/* First device id handed out; a driver only matches its own fake. */
#define FAKE_VDEV_DEVICE_BASE	0x10000

/* Device feature bits the fake driver knows about. */
#define FAKE_F_A		0
#define FAKE_F_B		1
/* A device feature bit the fake driver does not offer. */
#define FAKE_F_UNKNOWN		2

/* Device features of a modern (VIRTIO_F_VERSION_1) fake device. */
#define FAKE_FEATURES_MODERN	(BIT_ULL(FAKE_F_A) | BIT_ULL(FAKE_F_UNKNOWN) | \
				 BIT_ULL(VIRTIO_F_VERSION_1))
/* Device features of a legacy fake device. */
#define FAKE_FEATURES_LEGACY	(BIT_ULL(FAKE_F_A) | BIT_ULL(FAKE_F_UNKNOWN))

#define FAKE_VDEV_MAX_VQS	4
#define FAKE_VQ_NUM		8
#define FAKE_CONFIG_SIZE	8
#define FAKE_STATUS_LOG_MAX	32
#define FAKE_EVENT_LOG_MAX	64

/**
 * enum fake_op - transport operations counted by the fake
 * @FAKE_OP_GET: &virtio_config_ops.get
 * @FAKE_OP_SET: &virtio_config_ops.set
 * @FAKE_OP_GET_STATUS: &virtio_config_ops.get_status
 * @FAKE_OP_SET_STATUS: &virtio_config_ops.set_status
 * @FAKE_OP_RESET: &virtio_config_ops.reset
 * @FAKE_OP_FIND_VQS: &virtio_config_ops.find_vqs
 * @FAKE_OP_DEL_VQS: &virtio_config_ops.del_vqs
 * @FAKE_OP_SYNC_CBS: &virtio_config_ops.synchronize_cbs
 * @FAKE_OP_GET_FEATURES: &virtio_config_ops.get_features
 * @FAKE_OP_FINALIZE: &virtio_config_ops.finalize_features
 * @FAKE_OP_NOTIFY: the virtqueue notify callback (a kick)
 * @FAKE_OP_RESET_VQS: &virtio_config_ops.reset_vqs
 * @FAKE_OP_NR: number of counted operations
 */
enum fake_op {
	FAKE_OP_GET,
	FAKE_OP_SET,
	FAKE_OP_GET_STATUS,
	FAKE_OP_SET_STATUS,
	FAKE_OP_RESET,
	FAKE_OP_FIND_VQS,
	FAKE_OP_DEL_VQS,
	FAKE_OP_SYNC_CBS,
	FAKE_OP_GET_FEATURES,
	FAKE_OP_FINALIZE,
	FAKE_OP_NOTIFY,
	FAKE_OP_RESET_VQS,
	FAKE_OP_NR,
};

/**
 * struct fake_op_stats - call accounting of one transport operation
 * @calls: number of calls
 * @irqs_off: number of calls made with local interrupts disabled
 * @atomic: number of calls made in atomic context (in_atomic())
 * @err: errno the operation returns while non-zero; only fallible
 *	 operations (find_vqs, finalize_features, reset_vqs) look at it
 */
struct fake_op_stats {
	unsigned int calls;
	unsigned int irqs_off;
	unsigned int atomic;
	int err;
};

/**
 * enum fake_event_type - kinds of entries in the shared event log
 * @FAKE_EV_RESET: the transport reset the device
 * @FAKE_EV_SET_STATUS: the transport wrote the status; value is the written
 *	status
 * @FAKE_EV_FINALIZE: the transport finalised the features
 * @FAKE_EV_FIND_VQS: the transport created virtqueues; value is the count
 * @FAKE_EV_DEL_VQS: the transport deleted all virtqueues
 * @FAKE_EV_SYNC_CBS: the transport synchronised the vq callbacks
 * @FAKE_EV_NOTIFY: a virtqueue was kicked; value is its index
 * @FAKE_EV_DRV_PROBE: the driver's probe ran
 * @FAKE_EV_DRV_REMOVE: the driver's remove ran
 * @FAKE_EV_DRV_CONFIG_CHANGED: the driver's config_changed ran
 * @FAKE_EV_DRV_FREEZE: the driver's freeze ran
 * @FAKE_EV_DRV_RESTORE: the driver's restore ran
 * @FAKE_EV_DRV_RESET_PREPARE: the driver's reset_prepare ran
 * @FAKE_EV_DRV_RESET_DONE: the driver's reset_done ran
 * @FAKE_EV_RESET_VQS: the transport re-initialised the virtqueues in
 *	place; value is the number of virtqueues done
 * @FAKE_EV_DRV_FREEZE_NOIRQ: the driver's freeze_noirq ran
 * @FAKE_EV_DRV_RESTORE_NOIRQ: the driver's restore_noirq ran
 * @FAKE_EV_NR: number of event types
 */
enum fake_event_type {
	FAKE_EV_RESET,
	FAKE_EV_SET_STATUS,
	FAKE_EV_FINALIZE,
	FAKE_EV_FIND_VQS,
	FAKE_EV_DEL_VQS,
	FAKE_EV_SYNC_CBS,
	FAKE_EV_NOTIFY,
	FAKE_EV_DRV_PROBE,
	FAKE_EV_DRV_REMOVE,
	FAKE_EV_DRV_CONFIG_CHANGED,
	FAKE_EV_DRV_FREEZE,
	FAKE_EV_DRV_RESTORE,
	FAKE_EV_DRV_RESET_PREPARE,
	FAKE_EV_DRV_RESET_DONE,
	FAKE_EV_RESET_VQS,
	FAKE_EV_DRV_FREEZE_NOIRQ,
	FAKE_EV_DRV_RESTORE_NOIRQ,
	FAKE_EV_NR,
};

/**
 * struct fake_event - one entry of the event log
 * @type: what happened
 * @value: argument of the event (see &enum fake_event_type), else 0
 * @status: device status register right after the event
 * @irqs_off: local interrupts were disabled
 * @atomic: the event happened in atomic context
 */
struct fake_event {
	enum fake_event_type type;
	u8 value;
	u8 status;
	bool irqs_off;
	bool atomic;
};

/* Initialiser of an expected event for fake_vdev_expect_events(). */
#define FAKE_EV(t, v)		{ .type = (t), .value = (v) }

/**
 * struct fake_status_write - one entry of the status log
 * @status: value written by set_status (0 for a reset)
 * @reset: the entry is a reset, not a set_status
 */
struct fake_status_write {
	u8 status;
	bool reset;
};

/* Initialisers of expected entries for fake_vdev_expect_status_log(). */
#define FAKE_SW(s)		{ .status = (s) }
#define FAKE_SW_RESET		{ .reset = true }

/**
 * struct fake_vq - what the fake knows about one virtqueue slot
 * @vq: the live virtqueue at this index, or NULL
 * @desc_addr: descriptor ring address at the last creation
 * @avail_addr: driver (avail) ring address at the last creation
 * @used_addr: device (used) ring address at the last creation
 * @created: number of times a virtqueue was created at this index
 * @kicks: number of notifications of this virtqueue
 * @reinits: number of in-place re-initialisations by reset_vqs since the
 *	     virtqueue was created
 */
struct fake_vq {
	struct virtqueue *vq;
	dma_addr_t desc_addr;
	dma_addr_t avail_addr;
	dma_addr_t used_addr;
	unsigned int created;
	unsigned int kicks;
	unsigned int reinits;
};

/**
 * struct fake_vdev - a fake virtio device and its transport state
 * @vdev: the virtio device registered on the virtio bus
 * @test: the test that owns the fake
 * @parent: KUnit device used as the parent of @vdev
 * @status: the status register
 * @refuse_features_ok: knob: set_status drops VIRTIO_CONFIG_S_FEATURES_OK
 * @device_features: features offered by the device
 * @driver_features: features seen by the last finalize_features call
 * @config: config space
 * @config_oob: number of config accesses outside @config (ignored)
 * @ops: per-operation call accounting, indexed by &enum fake_op
 * @resets: number of resets
 * @status_log: every status write and reset, in order
 * @status_log_len: number of used entries of @status_log
 * @events: the event log shared with the fake driver
 * @events_len: number of used entries of @events
 * @log_overflow: number of log entries dropped because a log was full
 * @vqs: virtqueue slots, indexed by virtqueue index
 * @noirq_phase: the test declared the noirq phase, see
 *		 fake_vdev_noirq_phase()
 * @noirq_violations: calls of an operation that may wait for an interrupt
 *		      made during the noirq phase on a transport that is not
 *		      noirq_safe
 */
struct fake_vdev {
	struct virtio_device vdev;
	struct kunit *test;
	struct device *parent;
	u8 status;
	bool refuse_features_ok;
	u64 device_features;
	u64 driver_features;
	u8 config[FAKE_CONFIG_SIZE];
	unsigned int config_oob;
	struct fake_op_stats ops[FAKE_OP_NR];
	unsigned int resets;
	struct fake_status_write status_log[FAKE_STATUS_LOG_MAX];
	unsigned int status_log_len;
	struct fake_event events[FAKE_EVENT_LOG_MAX];
	unsigned int events_len;
	unsigned int log_overflow;
	struct fake_vq vqs[FAKE_VDEV_MAX_VQS];
	bool noirq_phase;
	unsigned int noirq_violations;
};

/**
 * to_fake_vdev() - get the fake from its virtio device
 * @vdev: a virtio device created by fake_vdev_create()
 *
 * Return: the &struct fake_vdev that embeds @vdev.
 */
static inline struct fake_vdev *to_fake_vdev(struct virtio_device *vdev)
{
	return container_of(vdev, struct fake_vdev, vdev);
}

/**
 * enum fake_drv_cb - fake driver callbacks
 * @FAKE_DRV_PROBE: &virtio_driver.probe
 * @FAKE_DRV_REMOVE: &virtio_driver.remove
 * @FAKE_DRV_CONFIG_CHANGED: &virtio_driver.config_changed
 * @FAKE_DRV_FREEZE: &virtio_driver.freeze
 * @FAKE_DRV_RESTORE: &virtio_driver.restore
 * @FAKE_DRV_RESET_PREPARE: &virtio_driver.reset_prepare
 * @FAKE_DRV_RESET_DONE: &virtio_driver.reset_done
 * @FAKE_DRV_FREEZE_NOIRQ: &virtio_driver.freeze_noirq
 * @FAKE_DRV_RESTORE_NOIRQ: &virtio_driver.restore_noirq
 * @FAKE_DRV_NR: number of callbacks
 */
enum fake_drv_cb {
	FAKE_DRV_PROBE,
	FAKE_DRV_REMOVE,
	FAKE_DRV_CONFIG_CHANGED,
	FAKE_DRV_FREEZE,
	FAKE_DRV_RESTORE,
	FAKE_DRV_RESET_PREPARE,
	FAKE_DRV_RESET_DONE,
	FAKE_DRV_FREEZE_NOIRQ,
	FAKE_DRV_RESTORE_NOIRQ,
	FAKE_DRV_NR,
};

#define FAKE_DRV_MAX_VQS	2

/**
 * struct fake_driver - a fake virtio driver bound to one fake device
 * @drv: the virtio driver registered on the virtio bus
 * @id_table: matches only @fv (plus the terminating entry)
 * @name: driver name, unique per fake device
 * @test: the test that owns the driver
 * @fv: the fake device the driver is meant for
 * @calls: calls per callback, indexed by &enum fake_drv_cb
 * @irqs_off: calls per callback made with local interrupts disabled
 * @status_seen: device status at entry of the last call of each callback
 * @err: knob: errno each callback returns while non-zero (probe, freeze,
 *	 restore, reset_prepare, reset_done)
 * @nvqs: knob: number of virtqueues probe (and a re-creating restore)
 *	  asks for, at most %FAKE_DRV_MAX_VQS; the second has no callback
 * @recreate_vqs: knob: freeze resets the device and deletes the
 *		  virtqueues, restore and reset_done find them again, as most
 *		  real drivers do
 * @ready_in_restore: knob: restore and reset_done call
 *		      virtio_device_ready() themselves
 * @vqs: the virtqueues found by the driver
 * @vq_done: calls of the virtqueue callback
 * @ready_in_restore_noirq: knob: restore_noirq calls
 *			    virtio_device_ready_noirq()
 * @use_vq_in_restore_noirq: knob: restore_noirq then queues a buffer in the
 *			     first virtqueue, kicks it and takes it back
 * @noirq_buf: the buffer restore_noirq queues, so it needs no allocation
 */
struct fake_driver {
	struct virtio_driver drv;
	struct virtio_device_id id_table[2];
	char name[32];
	struct kunit *test;
	struct fake_vdev *fv;
	unsigned int calls[FAKE_DRV_NR];
	unsigned int irqs_off[FAKE_DRV_NR];
	u8 status_seen[FAKE_DRV_NR];
	int err[FAKE_DRV_NR];
	unsigned int nvqs;
	bool recreate_vqs;
	bool ready_in_restore;
	struct virtqueue *vqs[FAKE_DRV_MAX_VQS];
	unsigned int vq_done;
	bool ready_in_restore_noirq;
	bool use_vq_in_restore_noirq;
	u8 noirq_buf[16];
};

extern const struct virtio_config_ops fake_virtio_config_ops;
extern const struct virtio_driver fake_driver_default;

/* Transport operations, for building other ops tables. */
void fake_vdev_get(struct virtio_device *vdev, unsigned int offset,
		   void *buf, unsigned int len);
void fake_vdev_set(struct virtio_device *vdev, unsigned int offset,
		   const void *buf, unsigned int len);
u8 fake_vdev_get_status(struct virtio_device *vdev);
void fake_vdev_set_status(struct virtio_device *vdev, u8 status);
void fake_vdev_reset(struct virtio_device *vdev);
int fake_vdev_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		       struct virtqueue *vqs[],
		       struct virtqueue_info vqs_info[],
		       struct irq_affinity *desc);
void fake_vdev_del_vqs(struct virtio_device *vdev);
void fake_vdev_synchronize_cbs(struct virtio_device *vdev);
u64 fake_vdev_get_features(struct virtio_device *vdev);
int fake_vdev_finalize_features(struct virtio_device *vdev);
const char *fake_vdev_bus_name(struct virtio_device *vdev);

void fake_op_enter(struct fake_vdev *fv, enum fake_op op);

/* Test helpers. */
struct fake_vdev *fake_vdev_create(struct kunit *test,
				   const struct virtio_config_ops *ops,
				   u64 device_features);
void fake_vdev_clear_logs(struct fake_vdev *fv);
void fake_vdev_log(struct fake_vdev *fv, enum fake_event_type type, u8 value);
unsigned int fake_vdev_count_events(const struct fake_vdev *fv,
				    enum fake_event_type type);
void fake_vdev_expect_status_log(struct kunit *test,
				 const struct fake_vdev *fv,
				 const struct fake_status_write *exp,
				 unsigned int n);
void fake_vdev_expect_events_nosync(struct kunit *test,
				    const struct fake_vdev *fv,
				    const struct fake_event *exp,
				    unsigned int n);
void fake_vdev_expect_events(struct kunit *test, const struct fake_vdev *fv,
			     const struct fake_event *exp, unsigned int n);
void fake_vdev_expect_syncs(struct kunit *test, const struct fake_vdev *fv);

/* Check a whole log against an array of expected entries. */
#define FAKE_EXPECT_STATUS_LOG(test, fv, exp) \
	fake_vdev_expect_status_log(test, fv, exp, ARRAY_SIZE(exp))
#define FAKE_EXPECT_EVENTS(test, fv, exp) \
	fake_vdev_expect_events(test, fv, exp, ARRAY_SIZE(exp))

void fake_vdev_expect_process_context(struct kunit *test,
				      const struct fake_vdev *fv);

/**
 * struct fake_console_watch - kernel log lines seen by fake_console_watch()
 * @needle: the string a line must contain to be counted
 * @lines: lines seen so far
 */
struct fake_console_watch {
	char needle[32];
	atomic_t lines;
};

struct fake_console_watch *fake_console_watch(struct kunit *test,
					      const char *needle);

/**
 * struct fake_alloc_watch - slab allocations seen by fake_alloc_watch()
 * @task: the task whose allocations are counted
 * @armed: allocations are counted only while this is set
 * @allocs: allocations counted so far
 * @last_site: call site of the last allocation counted
 */
struct fake_alloc_watch {
	struct task_struct *task;
	bool armed;
	atomic_t allocs;
	unsigned long last_site;
};

struct fake_alloc_watch *fake_alloc_watch(struct kunit *test);
void fake_alloc_watch_arm(struct fake_alloc_watch *w, bool on);

/* Fake driver callbacks, for building other driver templates. */
void fake_drv_config_changed(struct virtio_device *vdev);
int fake_drv_freeze(struct virtio_device *vdev);
int fake_drv_restore(struct virtio_device *vdev);
int fake_drv_reset_prepare(struct virtio_device *vdev);
int fake_drv_reset_done(struct virtio_device *vdev);

int fake_drv_enter(struct virtio_device *vdev, enum fake_drv_cb cb,
		   enum fake_event_type ev);

/* Fake driver helpers. */
struct fake_driver *to_fake_driver(struct virtio_device *vdev);
struct fake_driver *fake_driver_init(struct kunit *test, struct fake_vdev *fv,
				     const struct virtio_driver *tmpl);
void fake_driver_register(struct kunit *test, struct fake_driver *fd);
void fake_driver_unregister(struct kunit *test, struct fake_driver *fd);
struct fake_driver *fake_driver_create(struct kunit *test,
				       struct fake_vdev *fv,
				       const struct virtio_driver *tmpl);
bool fake_driver_bound(const struct fake_driver *fd);
void fake_driver_clear_counts(struct fake_driver *fd);
void fake_driver_queue_buf(struct kunit *test, struct fake_driver *fd,
			   unsigned int index);

#endif /* _VIRTIO_TESTS_FAKE_TRANSPORT_H */

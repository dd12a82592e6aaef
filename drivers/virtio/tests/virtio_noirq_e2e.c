// SPDX-License-Identifier: GPL-2.0-only
/*
 * End-to-end test driver for noirq system sleep on virtio-mmio.
 *
 * Binds to a virtio entropy device (QEMU's virtio-rng-device) in place of
 * the hw_random driver and uses it the way a virtio clock or regulator
 * driver would: in the noirq phase of resume, before any normal-phase
 * resume callback runs, it marks the device ready and fetches data through
 * its virtqueue by polling, since device interrupts are not delivered in
 * that phase. After resume the device can be checked again with a normal,
 * interrupt-driven request through the e2e_check attribute.
 *
 * With virtio_noirq_e2e.noirq=0 the driver registers without noirq
 * callbacks and does the same fetch in its restore callback, as every
 * virtio driver has to today, for comparison.
 *
 * A consumer platform device, linked to the virtio device by a stateless
 * device link so that the PM core resumes the virtio device first, fetches
 * through it by polling in its own resume_noirq callback: the dependency
 * the noirq callbacks exist for. It succeeds only when the virtio driver
 * has noirq callbacks.
 *
 * This is a test driver: it only exists for tools/kunit-runner/e2e.py.
 */

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/pm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#define E2E_NAME		"virtio_noirq_e2e"
#define E2E_CONSUMER_NAME	"virtio_noirq_e2e_consumer"
#define E2E_BUF_SIZE		16
/* Generous: the device model may run in an emulator without acceleration. */
#define E2E_POLL_TIMEOUT_US	(2 * USEC_PER_SEC)
#define E2E_POLL_STEP_US	5
#define E2E_IRQ_TIMEOUT_MS	5000

static bool noirq = true;
module_param(noirq, bool, 0444);
MODULE_PARM_DESC(noirq,
		 "Restore in the noirq phase (default); 0: only in restore, for comparison");

struct e2e_dev {
	struct virtio_device *vdev;
	struct virtqueue *vq;
	u8 *buf;
	/* Protects the virtqueue, @outstanding and @last_len. */
	spinlock_t lock;
	bool outstanding;
	unsigned int last_len;
	struct completion done;
	/* Serialises interrupt-driven fetches. */
	struct mutex fetch_lock;
	bool suspended;

	/* A device that depends on this one in the noirq phase. */
	struct platform_device *consumer;
	struct device_link *link;
	unsigned int consumer_cycles;
	unsigned int consumer_ok;
	unsigned int consumer_fail;

	unsigned int cycles;
	unsigned int fetch_ok;
	unsigned int fetch_fail;
	unsigned int checks_ok;
	unsigned int checks_fail;
	s64 last_fetch_ns;
	s64 last_restore_ns;
};

static void e2e_recv_done(struct virtqueue *vq)
{
	struct e2e_dev *e = vq->vdev->priv;
	unsigned long flags;
	unsigned int len;
	void *buf;

	spin_lock_irqsave(&e->lock, flags);
	buf = virtqueue_get_buf(vq, &len);
	if (buf) {
		e->outstanding = false;
		e->last_len = len;
	}
	spin_unlock_irqrestore(&e->lock, flags);

	if (buf)
		complete(&e->done);
}

static int e2e_queue_buf(struct e2e_dev *e, gfp_t gfp)
{
	struct scatterlist sg;
	unsigned long flags;
	int err;

	sg_init_one(&sg, e->buf, E2E_BUF_SIZE);

	spin_lock_irqsave(&e->lock, flags);
	if (!e->vq) {
		err = -ENODEV;
		goto out;
	}
	if (e->outstanding) {
		err = -EBUSY;
		goto out;
	}
	err = virtqueue_add_inbuf(e->vq, &sg, 1, e->buf, gfp);
	if (err)
		goto out;
	e->outstanding = true;
	if (!virtqueue_kick(e->vq))
		err = -EIO;
out:
	spin_unlock_irqrestore(&e->lock, flags);
	return err;
}

/*
 * Reap a used buffer without waiting for an interrupt: the only way in the
 * noirq phase. Returns true once nothing is outstanding any more.
 */
static bool e2e_reap(struct e2e_dev *e)
{
	unsigned long flags;
	unsigned int len;
	bool idle;

	spin_lock_irqsave(&e->lock, flags);
	if (e->outstanding && virtqueue_get_buf(e->vq, &len)) {
		e->outstanding = false;
		e->last_len = len;
	}
	idle = !e->outstanding;
	spin_unlock_irqrestore(&e->lock, flags);

	return idle;
}

static bool e2e_poll_idle(struct e2e_dev *e, s64 timeout_us)
{
	ktime_t deadline = ktime_add_us(ktime_get(), timeout_us);

	while (!e2e_reap(e)) {
		if (ktime_after(ktime_get(), deadline))
			return e2e_reap(e);
		udelay(E2E_POLL_STEP_US);
	}
	return true;
}

/* Fetch by polling the used ring with a bounded wait: no interrupt needed. */
static int e2e_fetch_poll(struct e2e_dev *e, unsigned int *len)
{
	int err;

	err = e2e_queue_buf(e, GFP_ATOMIC);
	if (err)
		return err;

	if (!e2e_poll_idle(e, E2E_POLL_TIMEOUT_US))
		return -ETIMEDOUT;

	*len = e->last_len;
	return *len ? 0 : -ENODATA;
}

/* Fetch the usual way: kick, sleep, get woken by the virtqueue callback. */
static int e2e_fetch_irq(struct e2e_dev *e, unsigned int *len)
{
	int err;

	mutex_lock(&e->fetch_lock);
	if (e->suspended) {
		err = -EBUSY;
		goto out;
	}

	reinit_completion(&e->done);
	err = e2e_queue_buf(e, GFP_KERNEL);
	if (err)
		goto out;

	if (!wait_for_completion_timeout(&e->done,
					 msecs_to_jiffies(E2E_IRQ_TIMEOUT_MS))) {
		err = -ETIMEDOUT;
		goto out;
	}

	*len = e->last_len;
	err = *len ? 0 : -ENODATA;
out:
	mutex_unlock(&e->fetch_lock);
	return err;
}

static void e2e_report(struct e2e_dev *e, const char *phase, int err,
		       unsigned int len, ktime_t start)
{
	ktime_t now = ktime_get();

	e->last_fetch_ns = ktime_to_ns(now);
	if (err) {
		e->fetch_fail++;
		pr_err(E2E_NAME ": cycle %u: %s fetch failed: %d (outstanding %d) at %lld ns\n",
		       e->cycles, phase, err, e->outstanding,
		       ktime_to_ns(now));
	} else {
		e->fetch_ok++;
		pr_info(E2E_NAME ": cycle %u: %s fetched %u bytes in %lld us at %lld ns\n",
			e->cycles, phase, len,
			ktime_to_us(ktime_sub(now, start)), ktime_to_ns(now));
	}
}

static int e2e_freeze(struct virtio_device *vdev)
{
	struct e2e_dev *e = vdev->priv;

	mutex_lock(&e->fetch_lock);
	e->suspended = true;
	mutex_unlock(&e->fetch_lock);

	/* A late completion of an earlier check may still be in flight. */
	if (!e2e_poll_idle(e, E2E_POLL_TIMEOUT_US)) {
		pr_err(E2E_NAME ": freeze: a buffer is stuck in the device\n");
		e->suspended = false;
		return -EBUSY;
	}

	if (!noirq) {
		/*
		 * Without reset_vqs the rings cannot be handed back to the
		 * reset device: drop them, as virtio drivers do today.
		 */
		virtio_reset_device(vdev);
		vdev->config->del_vqs(vdev);
		e->vq = NULL;
	}
	return 0;
}

static int e2e_freeze_noirq(struct virtio_device *vdev)
{
	struct e2e_dev *e = vdev->priv;

	/* The transport re-initialises the rings in place on restore. */
	if (!e2e_poll_idle(e, E2E_POLL_TIMEOUT_US)) {
		pr_err(E2E_NAME ": freeze_noirq: a buffer is outstanding\n");
		return -EBUSY;
	}
	return 0;
}

static int e2e_restore_noirq(struct virtio_device *vdev)
{
	struct e2e_dev *e = vdev->priv;
	unsigned int len = 0;
	ktime_t start;
	int err;

	e->cycles++;
	start = ktime_get();

	virtio_device_ready_noirq(vdev);
	/* Interrupts are not delivered now; do not ask for any. */
	virtqueue_disable_cb(e->vq);

	err = e2e_fetch_poll(e, &len);
	e2e_report(e, "restore_noirq", err, len, start);
	return err;
}

static int e2e_restore(struct virtio_device *vdev)
{
	struct e2e_dev *e = vdev->priv;
	unsigned int len = 0;
	ktime_t start;
	int err = 0;

	e->last_restore_ns = ktime_to_ns(ktime_get());

	if (noirq) {
		/* The device is live since restore_noirq; only rearm. */
		virtqueue_enable_cb(e->vq);
		pr_info(E2E_NAME ": cycle %u: restore at %lld ns\n",
			e->cycles, e->last_restore_ns);
	} else {
		/* Re-initialised by the core; usable only from here on. */
		e->cycles++;
		start = ktime_get();
		e->vq = virtio_find_single_vq(vdev, e2e_recv_done, "input");
		if (IS_ERR(e->vq)) {
			err = PTR_ERR(e->vq);
			e->vq = NULL;
			e2e_report(e, "restore", err, 0, start);
			return err;
		}
		virtio_device_ready(vdev);
		mutex_lock(&e->fetch_lock);
		e->suspended = false;
		mutex_unlock(&e->fetch_lock);
		err = e2e_fetch_irq(e, &len);
		e2e_report(e, "restore", err, len, start);
	}

	mutex_lock(&e->fetch_lock);
	e->suspended = false;
	mutex_unlock(&e->fetch_lock);
	return err;
}

static ssize_t e2e_check_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct e2e_dev *e = dev_to_virtio(dev)->priv;
	unsigned int len = 0;
	int err;

	err = e2e_fetch_irq(e, &len);
	if (err) {
		e->checks_fail++;
		pr_err(E2E_NAME ": check after cycle %u failed: %d\n",
		       e->cycles, err);
		return sysfs_emit(buf, "fail %d\n", err);
	}
	e->checks_ok++;
	return sysfs_emit(buf, "ok %u\n", len);
}
static DEVICE_ATTR_RO(e2e_check);

static ssize_t e2e_stats_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct e2e_dev *e = dev_to_virtio(dev)->priv;

	return sysfs_emit(buf,
			  "noirq=%d cycles=%u fetch_ok=%u fetch_fail=%u checks_ok=%u checks_fail=%u consumer_ok=%u consumer_fail=%u outstanding=%d last_fetch_ns=%lld last_restore_ns=%lld\n",
			  noirq, e->cycles, e->fetch_ok, e->fetch_fail,
			  e->checks_ok, e->checks_fail, e->consumer_ok,
			  e->consumer_fail, e->outstanding,
			  e->last_fetch_ns, e->last_restore_ns);
}
static DEVICE_ATTR_RO(e2e_stats);

static struct attribute *e2e_attrs[] = {
	&dev_attr_e2e_check.attr,
	&dev_attr_e2e_stats.attr,
	NULL
};
ATTRIBUTE_GROUPS(e2e);

/*
 * The consumer: a platform device whose resume_noirq needs the virtio device
 * to work already, as a device clocked or powered by a virtio clock or
 * regulator would. The device link orders it after the virtio device (and
 * so after its virtio-mmio parent) in every resume phase.
 */
static int e2e_consumer_resume_noirq(struct device *dev)
{
	struct e2e_dev *e = *(struct e2e_dev **)dev_get_platdata(dev);
	unsigned int len = 0;
	ktime_t start;
	int err;

	e->consumer_cycles++;
	start = ktime_get();
	err = e2e_fetch_poll(e, &len);
	if (err) {
		e->consumer_fail++;
		pr_err(E2E_CONSUMER_NAME ": cycle %u: resume_noirq fetch failed: %d\n",
		       e->consumer_cycles, err);
		return err;
	}
	e->consumer_ok++;
	pr_info(E2E_CONSUMER_NAME ": cycle %u: resume_noirq fetched %u bytes in %lld us\n",
		e->consumer_cycles, len,
		ktime_to_us(ktime_sub(ktime_get(), start)));
	return 0;
}

static const struct dev_pm_ops e2e_consumer_pm_ops = {
	NOIRQ_SYSTEM_SLEEP_PM_OPS(NULL, e2e_consumer_resume_noirq)
};

static int e2e_consumer_probe(struct platform_device *pdev)
{
	if (!dev_get_platdata(&pdev->dev))
		return -EINVAL;
	return 0;
}

static struct platform_driver e2e_consumer_driver = {
	.driver = {
		.name	= E2E_CONSUMER_NAME,
		.pm	= pm_sleep_ptr(&e2e_consumer_pm_ops),
	},
	.probe		= e2e_consumer_probe,
};

static int e2e_consumer_add(struct e2e_dev *e)
{
	struct platform_device *pdev;

	pdev = platform_device_register_data(NULL, E2E_CONSUMER_NAME,
					     PLATFORM_DEVID_NONE, &e, sizeof(e));
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);

	/* Consumer after supplier in every resume phase; no runtime PM. */
	e->link = device_link_add(&pdev->dev, &e->vdev->dev, DL_FLAG_STATELESS);
	if (!e->link) {
		platform_device_unregister(pdev);
		return -EINVAL;
	}
	e->consumer = pdev;
	return 0;
}

static void e2e_consumer_del(struct e2e_dev *e)
{
	device_link_del(e->link);
	platform_device_unregister(e->consumer);
}

static int e2e_probe(struct virtio_device *vdev)
{
	struct e2e_dev *e;
	int err;

	e = kzalloc_obj(*e);
	if (!e)
		return -ENOMEM;

	e->buf = kmalloc(E2E_BUF_SIZE, GFP_KERNEL);
	if (!e->buf) {
		err = -ENOMEM;
		goto err_free;
	}

	e->vdev = vdev;
	spin_lock_init(&e->lock);
	mutex_init(&e->fetch_lock);
	init_completion(&e->done);
	vdev->priv = e;

	e->vq = virtio_find_single_vq(vdev, e2e_recv_done, "input");
	if (IS_ERR(e->vq)) {
		err = PTR_ERR(e->vq);
		goto err_buf;
	}

	virtio_device_ready(vdev);

	err = e2e_consumer_add(e);
	if (err)
		goto err_vqs;

	dev_info(&vdev->dev, "bound, %s callbacks, consumer %s\n",
		 noirq ? "noirq" : "normal-phase only",
		 dev_name(&e->consumer->dev));
	return 0;

err_vqs:
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
err_buf:
	kfree(e->buf);
err_free:
	kfree(e);
	vdev->priv = NULL;
	return err;
}

static void e2e_remove(struct virtio_device *vdev)
{
	struct e2e_dev *e = vdev->priv;

	e2e_consumer_del(e);
	virtio_reset_device(vdev);
	if (e->vq)
		vdev->config->del_vqs(vdev);
	kfree(e->buf);
	kfree(e);
}

static const struct virtio_device_id e2e_id_table[] = {
	{ VIRTIO_ID_RNG, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct virtio_driver e2e_driver_noirq = {
	.driver.name	= E2E_NAME,
	.driver.dev_groups = e2e_groups,
	.id_table	= e2e_id_table,
	.probe		= e2e_probe,
	.remove		= e2e_remove,
	.freeze		= e2e_freeze,
	.restore	= e2e_restore,
	.freeze_noirq	= e2e_freeze_noirq,
	.restore_noirq	= e2e_restore_noirq,
};

/* The same driver as every virtio driver is today: no noirq callbacks. */
static struct virtio_driver e2e_driver_normal = {
	.driver.name	= E2E_NAME,
	.driver.dev_groups = e2e_groups,
	.id_table	= e2e_id_table,
	.probe		= e2e_probe,
	.remove		= e2e_remove,
	.freeze		= e2e_freeze,
	.restore	= e2e_restore,
};

static struct virtio_driver *e2e_driver(void)
{
	return noirq ? &e2e_driver_noirq : &e2e_driver_normal;
}

static int __init e2e_init(void)
{
	int err;

	err = platform_driver_register(&e2e_consumer_driver);
	if (err)
		return err;

	err = register_virtio_driver(e2e_driver());
	if (err)
		platform_driver_unregister(&e2e_consumer_driver);
	return err;
}
module_init(e2e_init);

static void __exit e2e_exit(void)
{
	unregister_virtio_driver(e2e_driver());
	platform_driver_unregister(&e2e_consumer_driver);
}
module_exit(e2e_exit);

MODULE_DEVICE_TABLE(virtio, e2e_id_table);
MODULE_DESCRIPTION("End-to-end test driver for virtio noirq system sleep");
MODULE_LICENSE("GPL");

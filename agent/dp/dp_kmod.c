// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel-module backend: sluice.ko, where XDP cannot be used, programmed
 * through its generic netlink family (include/sluice/genl.h) with libmnl.
 * The flows, their statistics and the verdict counters live in the module,
 * per network namespace, so a sluiced that restarts finds its calls' flows
 * there and adopts them, as the XDP backend adopts its pinned maps.
 *
 * Before anything else the family's registered version is compared with
 * this sluiced's ABI: a module of another build is refused with a reason
 * that names both versions, and never programmed. Every request carries
 * the ABI in its header too, and the module refuses others in the same way.
 *
 * One socket, one request at a time (the agent has one thread), each
 * acknowledged: the reply, if any, comes before the acknowledgement.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <sluice/genl.h>

#include "core/log.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"
#include "dp/dp_kmod.h"

#define KMOD_TX_BUF	16384
#define KMOD_RX_BUF	65536	/* a dump buffer of the kernel's largest size */

struct dp_kmod {
	struct dp		dp;
	struct mnl_socket	*nl;
	__u32			portid;
	__u32			seq;
	__u16			family;		/* its genetlink id */
	__u32			family_version;
	char			errmsg[160];	/* the module's extended ack, if any */
	char			tx[KMOD_TX_BUF];
	char			rx[KMOD_RX_BUF];
};

/* Called for each data message of a reply; non-zero stops the callbacks. */
typedef int (*kmod_msg_fn)(const struct nlmsghdr *nlh, void *arg);

static struct dp_kmod *to_kmod(struct dp *dp)
{
	return (struct dp_kmod *)dp;
}

/* ---- netlink plumbing ---- */

static struct nlmsghdr *kmod_msg(struct dp_kmod *k, __u16 type, __u8 cmd, __u8 version,
				 __u16 flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(k->tx);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++k->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

static struct nlmsghdr *kmod_req(struct dp_kmod *k, __u8 cmd, __u16 flags)
{
	return kmod_msg(k, k->family, cmd, SLUICE_GENL_VERSION, flags);
}

/* Keeps the reason an extended acknowledgement gives with an error. */
static void kmod_save_extack(struct dp_kmod *k, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e);	/* NETLINK_CAP_ACK: no copy of our request */

	k->errmsg[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(k->errmsg, sizeof(k->errmsg), "%s", mnl_attr_get_str(a));
	}
}

/*
 * Reads the answer to request seq: data messages go to fn, and the
 * acknowledgement (or a dump's NLMSG_DONE) ends it. Leftovers of an earlier
 * request are skipped. Returns 0, fn's non-zero result, or -errno.
 */
static int kmod_recv(struct dp_kmod *k, __u32 seq, kmod_msg_fn fn, void *arg)
{
	int rc = 0;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(k->nl, k->rx, sizeof(k->rx));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)k->rx;
		int len = (int)n;

		if (n < 0)
			return -errno;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != k->portid)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (e->error)
					kmod_save_extack(k, nlh);
				return e->error ? e->error : rc;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				const int *err = mnl_nlmsg_get_payload(nlh);

				return *err ? *err : rc;
			}
			if (nlh->nlmsg_type == k->family && fn && !rc)
				rc = fn(nlh, arg);
		}
	}
}

static int kmod_send(struct dp_kmod *k, const struct nlmsghdr *nlh)
{
	k->errmsg[0] = '\0';
	if (mnl_socket_sendto(k->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

static int kmod_call(struct dp_kmod *k, const struct nlmsghdr *nlh, kmod_msg_fn fn, void *arg)
{
	int err = kmod_send(k, nlh);

	return err ? err : kmod_recv(k, nlh->nlmsg_seq, fn, arg);
}

/* The payload of attribute type in a genetlink message, or NULL. */
static const struct nlattr *kmod_attr(const struct nlmsghdr *nlh, __u16 type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == type)
			return a;
	}
	return NULL;
}

/* Copies an attribute of exactly len bytes (netlink aligns to 4 only). */
static int kmod_attr_copy(const struct nlmsghdr *nlh, __u16 type, void *out, size_t len)
{
	const struct nlattr *a = kmod_attr(nlh, type);

	if (!a || mnl_attr_get_payload_len(a) != len)
		return -EPROTO;
	memcpy(out, mnl_attr_get_payload(a), len);
	return 0;
}

/* ---- dp_ops ---- */

static int kmod_flow_cmd(struct dp_kmod *k, __u8 cmd, const struct sluice_flow_key *key,
			 const struct sluice_flow_action *act)
{
	struct nlmsghdr *nlh = kmod_req(k, cmd, NLM_F_ACK);

	mnl_attr_put(nlh, SLUICE_A_FLOW_KEY, sizeof(*key), key);
	if (act)
		mnl_attr_put(nlh, SLUICE_A_FLOW_ACTION, sizeof(*act), act);
	return kmod_call(k, nlh, NULL, NULL);
}

/* Add, or replace the action of a flow that is there (its counters stay). */
static int kmod_flow_put(struct dp *dp, const struct sluice_flow_key *key,
			 const struct sluice_flow_action *act)
{
	struct dp_kmod *k = to_kmod(dp);
	int err, tries;

	if (key->family != act->family || key->comp > SLUICE_KEY_MUXED_RTCP)
		return -EINVAL;
	/* A flow deleted or added between the two requests is tried once more. */
	for (tries = 0; tries < 2; tries++) {
		err = kmod_flow_cmd(k, SLUICE_CMD_FLOW_ADD, key, act);
		if (err != -EEXIST)
			break;
		err = kmod_flow_cmd(k, SLUICE_CMD_FLOW_UPDATE, key, act);
		if (err != -ENOENT)
			break;
	}
	return err;
}

static int kmod_flow_del(struct dp *dp, const struct sluice_flow_key *key)
{
	return kmod_flow_cmd(to_kmod(dp), SLUICE_CMD_FLOW_DEL, key, NULL);
}

struct kmod_stats_want {
	struct sluice_flow_stats	*out;
	size_t				n;
};

static int kmod_stats_reply(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *a = kmod_attr(nlh, SLUICE_A_STATS_ARRAY);
	struct kmod_stats_want *want = arg;

	if (!a || mnl_attr_get_payload_len(a) != want->n * sizeof(*want->out))
		return -EPROTO;
	memcpy(want->out, mnl_attr_get_payload(a), want->n * sizeof(*want->out));
	return 0;
}

/* SLUICE_GENL_STATS_BATCH keys per request. */
static int kmod_stats_read(struct dp *dp, const struct sluice_flow_key *keys,
			   struct sluice_flow_stats *out, size_t n)
{
	struct dp_kmod *k = to_kmod(dp);
	size_t done;

	for (done = 0; done < n; done += SLUICE_GENL_STATS_BATCH) {
		struct kmod_stats_want want = {
			.out = out + done,
			.n = n - done < SLUICE_GENL_STATS_BATCH ? n - done : SLUICE_GENL_STATS_BATCH,
		};
		struct nlmsghdr *nlh = kmod_req(k, SLUICE_CMD_STATS_GET, NLM_F_ACK);
		int err;

		mnl_attr_put(nlh, SLUICE_A_FLOW_KEYS, want.n * sizeof(*keys), keys + done);
		err = kmod_call(k, nlh, kmod_stats_reply, &want);
		if (err)
			return err;
	}
	return 0;
}

struct kmod_iter {
	dp_flow_fn	fn;
	void		*arg;
};

static int kmod_iter_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct kmod_iter *it = arg;
	struct sluice_flow_action act;
	struct sluice_flow_stats st;
	struct sluice_flow_key key;

	if (kmod_attr_copy(nlh, SLUICE_A_FLOW_KEY, &key, sizeof(key)) ||
	    kmod_attr_copy(nlh, SLUICE_A_FLOW_ACTION, &act, sizeof(act)) ||
	    kmod_attr_copy(nlh, SLUICE_A_FLOW_STATS, &st, sizeof(st)))
		return -EPROTO;
	return it->fn(&key, &act, &st, it->arg);
}

/*
 * One dump of the table. A flow added or removed meanwhile may be missed
 * or seen twice (the module marks such a dump NLM_F_DUMP_INTR), as with
 * the XDP backend's batched map reads; callers use it for listings.
 */
static int kmod_flow_iter(struct dp *dp, dp_flow_fn fn, void *arg)
{
	struct dp_kmod *k = to_kmod(dp);
	struct kmod_iter it = { .fn = fn, .arg = arg };

	return kmod_call(k, kmod_req(k, SLUICE_CMD_FLOW_GET, NLM_F_DUMP), kmod_iter_msg, &it);
}

static int kmod_verdicts_reply(const struct nlmsghdr *nlh, void *arg)
{
	return kmod_attr_copy(nlh, SLUICE_A_VERDICTS, arg, SLUICE_V_MAX * sizeof(struct sluice_verdict));
}

static int kmod_verdicts(struct dp *dp, struct sluice_verdict out[SLUICE_V_MAX])
{
	struct dp_kmod *k = to_kmod(dp);

	return kmod_call(k, kmod_req(k, SLUICE_CMD_VERDICTS_GET, NLM_F_ACK), kmod_verdicts_reply,
			 out);
}

static int kmod_u32_reply(const struct nlmsghdr *nlh, void *arg)
{
	return kmod_attr_copy(nlh, SLUICE_A_N_FLOWS, arg, sizeof(__u32));
}

static void kmod_free(struct dp_kmod *k)
{
	if (k->nl)
		mnl_socket_close(k->nl);
	free(k);
}

/* keep: the flows stay in the module for the next sluiced, and go on forwarding. */
static void kmod_close(struct dp *dp, bool keep)
{
	struct dp_kmod *k = to_kmod(dp);
	__u32 n = 0;
	int err;

	if (keep) {
		LOG(L_INFO, "[dp] flows left in sluice.ko for the next sluiced");
	} else {
		err = kmod_call(k, kmod_req(k, SLUICE_CMD_FLUSH, NLM_F_ACK), kmod_u32_reply, &n);
		if (err)
			LOG(L_WARN, "[dp] flushing sluice.ko's flows: %s", strerror(-err));
		else
			LOG(L_INFO, "[dp] %u flows removed from sluice.ko", n);
	}
	kmod_free(k);
}

static const struct dp_ops dp_kmod_ops = {
	.name = "kmod",
	.flow_put = kmod_flow_put,
	.flow_del = kmod_flow_del,
	.stats_read = kmod_stats_read,
	.flow_iter = kmod_flow_iter,
	.verdicts = kmod_verdicts,
	.close = kmod_close,
};

/* ---- opening ---- */

static int kmod_family_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct dp_kmod *k = arg;
	const struct nlattr *id = kmod_attr(nlh, CTRL_ATTR_FAMILY_ID);
	const struct nlattr *ver = kmod_attr(nlh, CTRL_ATTR_VERSION);

	if (!id || mnl_attr_validate(id, MNL_TYPE_U16) ||
	    !ver || mnl_attr_validate(ver, MNL_TYPE_U32))
		return -EPROTO;
	k->family = mnl_attr_get_u16(id);
	k->family_version = mnl_attr_get_u32(ver);
	return 0;
}

/* The family's id and version, from the generic netlink controller. */
static int kmod_resolve(struct dp_kmod *k, char *why, size_t whylen)
{
	struct nlmsghdr *nlh;
	__u16 ctrl = GENL_ID_CTRL;
	int err;

	/* kmod_recv() passes messages of k->family to the callback. */
	k->family = ctrl;
	nlh = kmod_msg(k, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, SLUICE_GENL_NAME);
	err = kmod_call(k, nlh, kmod_family_reply, k);
	if (err == -ENOENT)
		snprintf(why, whylen, "sluice.ko is not loaded (modprobe sluice)");
	else if (err)
		snprintf(why, whylen, "looking up the genetlink family \"%s\": %s",
			 SLUICE_GENL_NAME, strerror(-err));
	else if (k->family == ctrl)
		err = -EPROTO;
	return err;
}

static int kmod_socket(struct dp_kmod *k, char *why, size_t whylen)
{
	int on = 1, err;

	k->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!k->nl || mnl_socket_bind(k->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		snprintf(why, whylen, "generic netlink socket: %s", strerror(errno));
		return err;
	}
	/* Reasons with errors, and acknowledgements without a copy of the request. */
	mnl_socket_setsockopt(k->nl, NETLINK_EXT_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(k->nl, NETLINK_CAP_ACK, &on, sizeof(on));
	k->portid = mnl_socket_get_portid(k->nl);
	return 0;
}

struct kmod_hello {
	__u32	abi;
	__u32	max_flows;
	__u32	n_flows;
};

static int kmod_hello_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct kmod_hello *h = arg;

	if (kmod_attr_copy(nlh, SLUICE_A_ABI_VERSION, &h->abi, sizeof(h->abi)) ||
	    kmod_attr_copy(nlh, SLUICE_A_MAX_FLOWS, &h->max_flows, sizeof(h->max_flows)) ||
	    kmod_attr_copy(nlh, SLUICE_A_N_FLOWS, &h->n_flows, sizeof(h->n_flows)))
		return -EPROTO;
	return 0;
}

static int kmod_hello(struct dp_kmod *k, __u32 abi, struct kmod_hello *h, char *why,
		      size_t whylen)
{
	struct nlmsghdr *nlh = kmod_msg(k, k->family, SLUICE_CMD_HELLO, (__u8)abi, NLM_F_ACK);
	int err;

	mnl_attr_put_u32(nlh, SLUICE_A_ABI_VERSION, abi);
	err = kmod_call(k, nlh, kmod_hello_reply, h);
	if (err)
		snprintf(why, whylen, "handshake with sluice.ko: %s%s%s", strerror(-err),
			 k->errmsg[0] ? ": " : "", k->errmsg);
	return err;
}

static struct dp_kmod *kmod_alloc(void)
{
	struct dp_kmod *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->dp.ops = &dp_kmod_ops;
	k->dp.kind = DP_KMOD;
	k->dp.priv = k;
	return k;
}

int dp_kmod_open(struct dp **out, char *why, size_t whylen)
{
	struct kmod_hello h = { 0 };
	struct dp_kmod *k = kmod_alloc();
	int err;

	if (!k)
		return -ENOMEM;
	err = kmod_socket(k, why, whylen);
	if (!err)
		err = kmod_resolve(k, why, whylen);
	if (!err && k->family_version != SLUICE_ABI_VERSION) {
		snprintf(why, whylen, "sluice.ko is ABI %u, this sluiced is ABI %u: "
			 "install the module of the same release", k->family_version,
			 SLUICE_ABI_VERSION);
		err = -EPROTO;
	}
	if (!err)
		err = kmod_hello(k, SLUICE_ABI_VERSION, &h, why, whylen);
	if (err) {
		kmod_free(k);
		return err;
	}
	snprintf(k->dp.desc, sizeof(k->dp.desc), "kernel module sluice.ko (ABI %u, %u flows adopted)",
		 h.abi, h.n_flows);
	*out = &k->dp;
	return 0;
}

int dp_kmod_hello_as(__u32 abi, char *why, size_t whylen)
{
	struct kmod_hello h = { 0 };
	struct dp_kmod *k = kmod_alloc();
	int err;

	if (!k)
		return -ENOMEM;
	err = kmod_socket(k, why, whylen);
	if (!err)
		err = kmod_resolve(k, why, whylen);
	if (!err)
		err = kmod_hello(k, abi, &h, why, whylen);
	kmod_free(k);
	return err;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel module's control interface: a generic netlink family shared by
 * kmod/ (which registers it) and agent/dp/dp_kmod.c (which speaks it with
 * libmnl). Its payloads are the structs of abi.h carried whole as binary
 * attributes, so the module and the agent never hold two copies of a flow's
 * layout.
 *
 * The family's version is the data-plane ABI version. Every request carries
 * it in its genetlink header and the module refuses any other with -EPROTO
 * and one log line naming both versions; the agent reads the version of the
 * registered family before it sends anything and refuses a module of
 * another ABI in the same way. SLUICE_CMD_HELLO is the explicit handshake:
 * it also returns the module's capacity and the flows it already holds
 * (a restarted sluiced adopts them, as it adopts pinned BPF maps).
 *
 * Flows live in the network namespace of the socket that installs them,
 * where the module's netfilter hook sees that namespace's packets.
 *
 * History: follows SLUICE_ABI_VERSION (abi.h).
 *   1  hello, flow add/update/delete/get/dump, batched stats, verdicts, flush.
 *   2  the same messages; FLOW_KEY's comp and the action's SLUICE_F_DEMUX
 *      (abi.h) are taken and honoured.
 */
#ifndef SLUICE_GENL_H
#define SLUICE_GENL_H

#include <linux/types.h>

#include <sluice/abi.h>

#define SLUICE_GENL_NAME	"sluice"
#define SLUICE_GENL_VERSION	SLUICE_ABI_VERSION

/* Keys per SLUICE_CMD_STATS_GET request; override at build time. */
#ifndef SLUICE_GENL_STATS_BATCH
#define SLUICE_GENL_STATS_BATCH	256
#endif

/*
 * Commands. "req" is what a request carries, "reply" what comes back;
 * every mutating command and every read but HELLO needs CAP_NET_ADMIN in
 * the namespace's user namespace.
 */
enum sluice_genl_cmd {
	SLUICE_CMD_UNSPEC = 0,
	SLUICE_CMD_HELLO,	/* req: ABI_VERSION; reply: ABI_VERSION, MAX_FLOWS, N_FLOWS */
	SLUICE_CMD_FLOW_ADD,	/* req: FLOW_KEY, FLOW_ACTION; -EEXIST if there */
	SLUICE_CMD_FLOW_UPDATE,	/* req: FLOW_KEY, FLOW_ACTION; -ENOENT if not there;
				 * replaces the action, keeps the statistics */
	SLUICE_CMD_FLOW_DEL,	/* req: FLOW_KEY; -ENOENT if not there */
	SLUICE_CMD_FLOW_GET,	/* req: FLOW_KEY; reply: FLOW_KEY, FLOW_ACTION, FLOW_STATS.
				 * With NLM_F_DUMP: every flow, one message each */
	SLUICE_CMD_STATS_GET,	/* req: FLOW_KEYS; reply: STATS_ARRAY, in key order,
				 * zeroes for a key without a flow */
	SLUICE_CMD_VERDICTS_GET, /* reply: VERDICTS, summed over CPUs */
	SLUICE_CMD_FLUSH,	/* deletes every flow of the namespace; reply: N_FLOWS removed */
	__SLUICE_CMD_MAX
};
#define SLUICE_CMD_MAX (__SLUICE_CMD_MAX - 1)

enum sluice_genl_attr {
	SLUICE_A_UNSPEC = 0,
	SLUICE_A_PAD,		/* alignment of 64-bit payloads (nla_put_64bit) */
	SLUICE_A_ABI_VERSION,	/* u32: SLUICE_ABI_VERSION of the sender */
	SLUICE_A_MAX_FLOWS,	/* u32: flows a namespace may hold */
	SLUICE_A_N_FLOWS,	/* u32: flows it holds (or removed, for FLUSH) */
	SLUICE_A_FLOW_KEY,	/* struct sluice_flow_key */
	SLUICE_A_FLOW_ACTION,	/* struct sluice_flow_action */
	SLUICE_A_FLOW_STATS,	/* struct sluice_flow_stats */
	SLUICE_A_FLOW_KEYS,	/* struct sluice_flow_key[1..SLUICE_GENL_STATS_BATCH] */
	SLUICE_A_STATS_ARRAY,	/* struct sluice_flow_stats[n], as many as FLOW_KEYS */
	SLUICE_A_VERDICTS,	/* struct sluice_verdict[SLUICE_V_MAX] */
	__SLUICE_A_MAX
};
#define SLUICE_A_MAX (__SLUICE_A_MAX - 1)

/* Numbers on the wire: a renumbering is an ABI change. */
_Static_assert(SLUICE_CMD_HELLO == 1 && SLUICE_CMD_FLUSH == 8, "genl command numbers");
_Static_assert(SLUICE_A_ABI_VERSION == 2 && SLUICE_A_VERDICTS == 10, "genl attribute numbers");
/* An attribute's length is 16 bits, header included. */
_Static_assert(SLUICE_GENL_STATS_BATCH * sizeof(struct sluice_flow_stats) + 4 <= 0xffff,
	       "stats batch fits one attribute");
_Static_assert(SLUICE_V_MAX * sizeof(struct sluice_verdict) + 4 <= 0xffff,
	       "verdicts fit one attribute");

#endif /* SLUICE_GENL_H */

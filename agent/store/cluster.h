/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a node knows of the others sharing its PostgreSQL store, in the
 * loop's memory: the other nodes' SIP addresses (a request from one is a
 * peer's, taken without digest like the trunk's), and for each AOR
 * registered on another node, the address of the node that owns its
 * flow. A call to a subscriber with no binding here goes to that node,
 * which sends it down the phone's own flow (the connection or NAT pinhole
 * the REGISTER opened): see docs/store.md, "Several nodes".
 *
 * The writer thread fills it (pg.c): everything at connect, then one AOR
 * per NOTIFY from the node that changed it. The loop reads it only.
 */
#ifndef SLUICE_STORE_CLUSTER_H
#define SLUICE_STORE_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "store/subscriber.h"

#define CLUSTER_ADDR_MAX	64	/* "192.0.2.1:5060", "[2001:db8::1]:5060" */
#ifndef CLUSTER_PEERS_MAX
#define CLUSTER_PEERS_MAX	32
#endif

struct cluster_entry {
	char		aor[SUB_IMPU_MAX];
	char		addr[CLUSTER_ADDR_MAX];	/* "": the AOR has no remote binding now */
	int64_t		expires;		/* unix seconds, the latest binding's */
};

/* From the writer to the loop: some AORs, or all of them (full), and the peers. */
struct cluster_update {
	bool			full;		/* replaces every entry */
	bool			has_peers;
	bool			blacklist;	/* another node changed the blacklist: reload it */
	int			npeers;
	char			peers[CLUSTER_PEERS_MAX][CLUSTER_ADDR_MAX];
	int			n;
	struct cluster_entry	e[];
};

struct cluster {
	struct cluster_entry	*e;
	int			n, cap;
	struct sockaddr_storage	peers[CLUSTER_PEERS_MAX];
	socklen_t		peer_len[CLUSTER_PEERS_MAX];
	int			npeers;
};

/* "IP:port" or "[IPv6]:port" (port 5060 when absent) into ss; -EINVAL otherwise. */
int cluster_addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len);
struct cluster_update *cluster_update_new(int n);
void cluster_apply(struct cluster *c, const struct cluster_update *u);
/* The node that owns aor's flow at now, into ss; false when none. */
bool cluster_lookup(const struct cluster *c, const char *aor, int64_t now,
		    struct sockaddr_storage *ss, socklen_t *len);
/* A request from addr is another node's (by IP address, as the trunk). */
bool cluster_is_peer(const struct cluster *c, const struct sockaddr_storage *addr);
void cluster_free(struct cluster *c);

#endif /* SLUICE_STORE_CLUSTER_H */

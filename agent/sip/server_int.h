/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the server's request handlers share (server.c, b2bua.c): the
 * request in hand, the answers to it, authentication, and our address
 * towards a peer for Via and Contact.
 */
#ifndef SLUICE_SIP_SERVER_INT_H
#define SLUICE_SIP_SERVER_INT_H

#include "sip/server.h"

/* What a handler knows of the request it handles. */
struct rx {
	const struct sip_peer	*from;
	const char		*buf;		/* the raw message */
	const struct sip_scan	*sc;
	osip_message_t		*req;
	struct sip_txn		*t;		/* its server transaction */
};

/* A response to rx's request, with our stateless To tag and received/rport. */
osip_message_t *sip_srv_response(struct sip_server *s, const struct rx *rx, int code,
				 const char *reason);
/* Sends resp (taken) through rx's transaction, or statelessly without one. */
void sip_srv_send(struct sip_server *s, const struct rx *rx, osip_message_t *resp);
void sip_srv_reply(struct sip_server *s, const struct rx *rx, int code, const char *reason);
/*
 * 0 with *sub set when the request carries valid credentials of an ACTIVE
 * subscriber; otherwise it has been answered (challenge, 400, 403).
 */
int sip_srv_authenticate(struct sip_server *s, const struct rx *rx, struct subscriber *sub);
/* Our address and port towards to ("[v6]" bracketed), for Via and Contact. */
int sip_srv_local_for(struct sip_server *s, const struct sip_peer *to, char *host, size_t hlen,
		      uint16_t *port);
/*
 * A record (store/cdr.h) of type for the request in rx, from it: Call-ID,
 * caller (From), callee (the URI given), source, user agent, CSeq, our
 * address. NULL without CDRs; the caller frees it after cdr_write().
 */
struct cdr_rec;
struct cdr_rec *sip_srv_cdr_new(struct sip_server *s, const struct rx *rx, const char *type,
				const osip_uri_t *callee);
/* The same address without brackets, for records; "" and 0 when unknown. */
void sip_srv_local_ip(struct sip_server *s, const struct sip_peer *to, char *ip, size_t n,
		      uint16_t *port);
/* Replaces m's Vias by ours towards to, with a fresh branch. */
int sip_srv_set_top_via(struct sip_server *s, osip_message_t *m, const struct sip_peer *to);

#endif /* SLUICE_SIP_SERVER_INT_H */

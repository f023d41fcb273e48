/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the server gives its request handlers (its own in server.c, and
 * the B2BUA's files, see b2bua_int.h): the request in hand, the answers
 * to it, authentication, our address towards a peer for Via and
 * Contact; and struct sip_call_ops, through which the server hands calls
 * to the handler that registered itself, so that the handlers depend on
 * the server and never the other way round.
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
 * A response to rx's request printed as text (sip_msg_resp_text()), with
 * no response tree: from the head its transaction kept, else from rx's raw
 * bytes (an INVITE's transaction keeps that head at its first provisional,
 * for the responses that come later). extra: whole header lines. Returns
 * its length with tag (our To tag) set, or -EINVAL/-ENOSPC/-ENOMEM when it
 * cannot be printed so: build the tree then (sip_srv_response()).
 */
int sip_srv_response_text(struct sip_server *s, const struct rx *rx, int code,
			  const char *reason, const char *extra, size_t extra_len,
			  const char *body, size_t body_len, char *out, size_t outlen,
			  char tag[SIP_TAG_LEN + 1]);
/* Sends a response printed so through rx's transaction, or statelessly without one. */
void sip_srv_send_text(struct sip_server *s, const struct rx *rx, int code, const char *reason,
		       const char *text, size_t len, const char *tag);
/* Both: 0 when sent, else (nothing sent) the caller builds the tree. */
int sip_srv_reply_text(struct sip_server *s, const struct rx *rx, int code, const char *reason,
		       const char *extra, size_t extra_len);
/*
 * Back-pressure (store/queue.h): true, and rx answered 503 with
 * Retry-After, while the store's writer has [store] queue changes waiting.
 */
bool sip_srv_store_full(struct sip_server *s, const struct rx *rx);
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
/* Our Via towards to, a fresh branch in it: the value, for a request we print ourselves. */
#define SIP_VIA_MAX	160
int sip_srv_via_for(struct sip_server *s, const struct sip_peer *to, char *via, size_t n);

/*
 * What takes calls (s->calls): the B2BUA registers it with b2bua_init().
 * Without one, in-dialog requests get 481, ACKs and CANCELs reach no call,
 * and an INVITE gets what any other method gets (405, once authenticated).
 */
struct sip_call_ops {
	/* An INVITE outside any dialog from the authenticated subscriber caller (NULL: the trunk). */
	void	(*invite)(struct sip_server *s, struct rx *rx, const struct subscriber *caller);
	/* A request in a dialog (To tag): true when one of the calls took it. */
	bool	(*in_dialog)(struct sip_server *s, struct rx *rx);
	/* An ACK outside a transaction: it may bring the answer to an offer in a 2xx. */
	void	(*ack)(struct sip_server *s, struct rx *rx);
	/* A CANCEL matching the INVITE server transaction inv (answered 200 already). */
	void	(*cancel)(struct sip_server *s, struct sip_txn *inv);
	/* Whether from is the trunk's address (its INVITEs need no digest). */
	bool	(*from_trunk)(const struct sip_server *s, const struct sip_peer *from);
	/* At sip_server_fini(), before the transactions go: the calls end, or are kept. */
	void	(*fini)(struct sip_server *s);
};

#endif /* SLUICE_SIP_SERVER_INT_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIP transactions, RFC 3261 §17, hand-written on the agent's loop: the
 * four state machines (client INVITE and non-INVITE, server INVITE and
 * non-INVITE) with their timers A-K on loop timers, so tests drive them on
 * a fake clock. Server transactions absorb retransmitted requests by
 * sending the last response again, and take the ACK of a non-2xx final
 * response (§17.2.1); client INVITE transactions send the ACK of a non-2xx
 * final response themselves (§17.1.1.3).
 *
 * RFC 6026 is followed where it corrects §17: after a 2xx the INVITE
 * transactions enter Accepted for 64*T1 (Timers L and M) instead of ending
 * at once, so a retransmitted INVITE is absorbed rather than taken for a
 * new call, and retransmitted 2xx reach the client's TU. The UAS core's
 * retransmission of a 2xx until its ACK (§13.3.1.4: T1 doubling to T2, for
 * 64*T1) lives here too, as a fifth kind keyed by the dialog's Call-ID,
 * From tag and CSeq number, which the ACK for the 2xx carries.
 *
 * Transactions are matched by the top Via's branch, sent-by and method
 * (§17.2.3), and requests from RFC 2543 peers (no magic cookie) by
 * Request-URI, From tag, Call-ID, CSeq number and top Via; their To tags
 * are not compared, which only matters for an RFC 2543 client that forks.
 * The ACK of a non-2xx final response is also matched by Call-ID, From
 * tag, CSeq number and the To tag of the response sent, as Kamailio does:
 * some UACs (sipp scenarios that write [branch] there) send it with a
 * fresh branch, and unmatched it would leave the response retransmitted
 * for 32 s, its To tag taken by the UAC for its dialog's.
 *
 * Every timer is embedded in its transaction; a transaction is one
 * allocation holding its key, plus the text of the message it retransmits.
 * A transaction ends by a zero-delay timer, so a pointer the TU holds
 * stays valid until the loop runs timers again.
 */
#ifndef SLUICE_SIP_TXN_H
#define SLUICE_SIP_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include <osipparser2/osip_message.h>

#include "core/loop.h"
#include "sip/msg.h"
#include "sip/transport.h"

#define SIP_T1_MS		500
#define SIP_T2_MS		4000
#define SIP_T4_MS		5000
#define SIP_TIMER_D_MS		32000	/* "at least 32 seconds" */
#define SIP_TRYING_MS		200	/* 100 Trying unless the TU answers sooner */
#ifndef SIP_TXN_BUCKETS
#define SIP_TXN_BUCKETS		65536	/* power of two */
#endif
#ifndef SIP_TXN_MAX
#define SIP_TXN_MAX		262144	/* then new requests get 503 */
#endif
#ifndef SIP_TXN_ACK_BUCKETS
#define SIP_TXN_ACK_BUCKETS	16384	/* power of two: INVITEs answered non-2xx */
#endif
#define SIP_TXN_KEY_MAX		2048

enum sip_txn_kind {
	SIP_TXN_ICT = 0,	/* client INVITE */
	SIP_TXN_NICT,		/* client non-INVITE */
	SIP_TXN_IST,		/* server INVITE */
	SIP_TXN_NIST,		/* server non-INVITE */
	SIP_TXN_2XX,		/* the UAS core's 2xx, until its ACK */
};

enum sip_txn_state {
	SIP_TXN_CALLING = 0,
	SIP_TXN_TRYING,
	SIP_TXN_PROCEEDING,
	SIP_TXN_COMPLETED,
	SIP_TXN_CONFIRMED,
	SIP_TXN_ACCEPTED,
	SIP_TXN_TERMINATED,
};

struct sip_txn;

typedef int (*sip_send_fn)(void *arg, const struct sip_peer *to, const char *buf, size_t len);

/*
 * Client TU: every response passed up (resp set, code its status), or
 * the end without one: code 408 (Timer B or F) or 503 (transport error),
 * resp NULL. After a final code the TU must forget t, except that an
 * INVITE's 2xx retransmissions still reach it unless it gave the
 * transaction its ACK (sip_txn_set_ack()).
 */
typedef void (*sip_txn_resp_fn)(struct sip_txn *t, const osip_message_t *resp, int code,
				void *arg);
/*
 * Server TU: the transaction ended before the TU's final response (503: a
 * response could not be sent; 500: the TU never answered a non-INVITE), or
 * no ACK came for its 2xx (408; RFC 3261 §13.3.1.4: send a BYE).
 */
typedef void (*sip_txn_end_fn)(struct sip_txn *t, int code, void *arg);

struct sip_txns {
	struct loop		*loop;
	sip_send_fn		send;
	void			*send_arg;
	struct sip_txn		**buckets;
	struct sip_txn		**acks;		/* ISTs by their non-2xx's dialog fields */
	struct sip_txn		*all;		/* every transaction, for fini */
	unsigned		count;
	uint64_t		branch_seq;
	struct sip_hash_key	key;
	struct {
		uint64_t	created, retransmits, absorbed, timeouts;
	} stats;
};

enum sip_txn_match {
	SIP_TXN_NEW = 0,	/* no transaction: a new request, or an ACK for a 2xx */
	SIP_TXN_ABSORBED,	/* a retransmission or a non-2xx ACK, handled here */
};

int sip_txns_init(struct sip_txns *tx, struct loop *loop, sip_send_fn send, void *arg);
void sip_txns_fini(struct sip_txns *tx);

/* ---- server ---- */

/* A request's transaction, when it has one: returns enum sip_txn_match or -EINVAL. */
int sip_txn_server_match(struct sip_txns *tx, const osip_message_t *req,
			 const struct sip_peer *from);
/*
 * A server transaction for req, which it owns from then on (until the
 * TU's final response). Returns 0, -EBUSY when SIP_TXN_MAX are alive,
 * -EINVAL or -ENOMEM; on error req is still the caller's.
 */
int sip_txn_server_new(struct sip_txns *tx, osip_message_t *req, const struct sip_peer *from,
		       struct sip_txn **out);
/* The INVITE server transaction a CANCEL names (RFC 3261 §9.2), or NULL. */
struct sip_txn *sip_txn_find_invite(struct sip_txns *tx, const osip_message_t *cancel);
/*
 * Sends resp (taken) through t. After a final response the TU must forget
 * t. Returns 0 or -errno (-EALREADY: t has its final response already).
 */
int sip_txn_reply(struct sip_txn *t, osip_message_t *resp);
/*
 * A response the TU printed itself (text, len: copied; sip_msg_resp_text()),
 * sent and kept as sip_txn_reply() keeps one; to_tag: the tag it gave the
 * To (for the ACK of a non-2xx final when the request's To had none).
 * Returns 0, -EALREADY after the final, -EINVAL, -ENOMEM.
 */
int sip_txn_reply_text(struct sip_txn *t, int code, const char *text, size_t len,
		       const char *to_tag);
/*
 * Keeps a copy of h (the lines of t's responses, sip_msg_resp_head()) for
 * the responses the TU sends later, when the request's raw bytes are gone;
 * dropped at the final response. A head already kept stays.
 */
int sip_txn_keep_head(struct sip_txn *t, const struct sip_resp_head *h);
/* The head kept, or NULL. */
const struct sip_resp_head *sip_txn_head(const struct sip_txn *t);
void sip_txn_set_end(struct sip_txn *t, sip_txn_end_fn fn, void *arg);
/* The request of a server transaction, until its final response. */
const osip_message_t *sip_txn_request(const struct sip_txn *t);
const struct sip_peer *sip_txn_peer(const struct sip_txn *t);
enum sip_txn_state sip_txn_state(const struct sip_txn *t);
enum sip_txn_kind sip_txn_kind(const struct sip_txn *t);
/* Stops the 2xx retransmission an ACK acknowledges: true when there was one. */
bool sip_txn_ack_2xx(struct sip_txns *tx, const osip_message_t *ack);

/* ---- client ---- */

/* A fresh branch: the magic cookie and 16 hex digits. */
void sip_txn_new_branch(struct sip_txns *tx, char out[32]);
/*
 * Sends req (taken; its top Via must carry a branch) to to and runs its
 * transaction; fn sees the responses. Returns 0 or -errno (then nothing
 * was sent and req is freed).
 */
int sip_txn_client_new(struct sip_txns *tx, osip_message_t *req, const struct sip_peer *to,
		       sip_txn_resp_fn fn, void *arg, struct sip_txn **out);
/*
 * The same for a request the caller printed itself and parsed into req,
 * unchanged since: text is sent (and resent) as it is, without printing
 * req again. req NULL: not parsed at all; the method is text's first word
 * and the branch its first "Via: " line's (an INVITE's text is parsed only
 * if the ACK of a non-2xx final is to be built from it).
 */
int sip_txn_client_new_raw(struct sip_txns *tx, osip_message_t *req, const char *text,
			   size_t len, const struct sip_peer *to, sip_txn_resp_fn fn, void *arg,
			   struct sip_txn **out);
/*
 * The ACK the TU sent for an INVITE's 2xx: sent again for every 2xx
 * retransmission while the transaction is Accepted, and the TU hears of
 * no more 2xx (it may forget t after the first).
 */
int sip_txn_set_ack(struct sip_txn *t, const char *ack, size_t len);
/* A response: true when a client transaction took it. */
bool sip_txn_client_match(struct sip_txns *tx, const osip_message_t *resp);

#endif /* SLUICE_SIP_TXN_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluiced's SIP server: the inbound path from the transports to the
 * transaction layer and the request handlers, the digest authentication
 * every subscriber request passes, and the registrar's upkeep (expiry,
 * NAT keepalives).
 *
 * The inbound path, in order (sip_server_input()):
 *   1. a blocked source (blacklist, too many failed authentications) is
 *      dropped without a word; STUN on the SIP port is answered;
 *   2. sip_msg_scan/parse/check: a faulty request gets 400 (505, 483,
 *      513, 416 where those fit) with a reason phrase naming the fault,
 *      built from its raw lines when libosip2 cannot parse it; a request
 *      no response can be addressed to, and any faulty response, is
 *      dropped;
 *   3. a configured scanner User-Agent is dropped;
 *   4. responses go to the client transaction they answer; requests are
 *      matched to their server transaction, whose retransmissions and
 *      ACKs the transaction layer absorbs;
 *   5. ACK for a 2xx, CANCEL, in-dialog requests (to the calls' handler,
 *      481 when no call has the dialog), OPTIONS (200, no authentication:
 *      phones and monitors poll with it), Require with extensions we lack
 *      (420);
 *   6. every other request is authenticated: REGISTER with 401, the
 *      others with 407, challenging with the subscriber's own digest
 *      algorithms or [sip] digest's; an unknown user and a wrong password
 *      get the same challenge, and each failure is counted against its
 *      source address;
 *   7. REGISTER goes to the registrar, MESSAGE to every binding of its
 *      target, INVITE to the calls' handler, anything else gets 405 with
 *      Allow.
 *
 * Calls are not the server's: a handler registers itself (the B2BUA, with
 * b2bua_init()) through struct sip_call_ops (server_int.h), and the server
 * hands it INVITEs, in-dialog requests, ACKs and CANCELs without knowing
 * it.
 */
#ifndef SLUICE_SIP_SERVER_H
#define SLUICE_SIP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/loop.h"
#include "net/digest.h"
#include "net/hep.h"
#include "sip/msg.h"
#include "sip/protect.h"
#include "sip/registrar.h"
#include "sip/trace.h"
#include "sip/transport.h"
#include "sip/txn.h"
#include "sip/uri.h"
#include "store/store.h"

#define SIP_ALLOW	"INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, UPDATE, INFO, PRACK"
#define SIP_ACCEPT	"application/sdp, text/plain, message/cpim"
#define SIP_PURGE_MS	10000	/* expired bindings are purged this often */
#define SIP_STORE_RETRY_AFTER	"5"	/* seconds, in a 503 for a store that is behind */

struct sip_pending;
struct owned;
struct b2bua;
struct sip_call_ops;
struct media_ctx;

struct cdr_ctx;

/* The methods /metrics counts by name; the last is every other. */
#define SIP_STAT_METHOD_NAMES { "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", \
				"MESSAGE", "UPDATE", "PRACK", "INFO", "REFER", "NOTIFY", \
				"SUBSCRIBE", "PUBLISH", "other" }
#define SIP_STAT_METHODS	15

/* Slots of sip_server's source-address cache, and how long one holds (ms). */
#define SIP_SRC_CACHE		64
#define SIP_SRC_CACHE_MS	1000

struct sip_server {
	struct loop		*loop;
	const struct conf	*conf;
	struct store		*store;
	struct sip_transport	tp;
	bool			tp_open;
	struct tls_ctx		tls;		/* [sip] listen_tls's certificate */
	bool			tls_on;
	struct sip_txns		txns;
	struct digest_ctx	digest;
	struct sip_host_addrs	host_addrs;	/* what a digest-uri may name behind 0.0.0.0 */
	struct registrar	reg;
	struct protect		protect;
	const struct sip_call_ops *calls;	/* who takes calls; NULL: nobody */
	struct b2bua		*b2b;		/* that handler's own state */
	struct media_ctx	*media;		/* their media; NULL: calls get 503 */
	struct cdr_ctx		*cdr;		/* call and event records; NULL: none */
	bool			keep_calls;	/* fini leaves calls for the next sluiced */
	struct sip_hash_key	tag_key;
	struct loop_timer	purge_timer;
	struct loop_timer	keepalive_timer;
	int			stun_fd;
	/* 200s to REGISTERs whose bindings wait for the group commit. */
	struct sip_pending	*pending;
	struct owned		*owned;		/* MESSAGE forks, keepalive probes */
	struct loop_timer	flush_timer;
	struct hep		hep;		/* [hep] collector: a copy of each message */
	struct sip_trace	trace;		/* [http] trace: the recent messages */
	struct loop_timer	qos_timer;	/* quality reports to the collector (hep_qos.h) */
	/*
	 * Behind 0.0.0.0 or [::]: the source address the kernel picks
	 * towards a peer's address, asked (a socket connected and closed) at
	 * most once a second per slot rather than for every Via and Contact.
	 */
	struct sip_src_cache {
		struct sockaddr_storage	to, src;	/* port-less */
		uint64_t		until_ms;
	} src_cache[SIP_SRC_CACHE];
	/* Where messages go out: the transports, or a test's capture. */
	sip_send_fn		send;
	void			*send_arg;
	/* Unix seconds: time(), or a test's clock. */
	int64_t			(*now)(void);
	uint64_t		call_seq;	/* Call-IDs of our own requests */
	struct {
		uint64_t	requests, responses, bad, dropped, blocked, scanners;
		uint64_t	challenges, auth_ok, auth_failed, stale;
		uint64_t	messages, keepalives, keepalive_dead, stun;
		uint64_t	store_refused;	/* 503: the store's writer was behind */
		uint64_t	calls;		/* calls the B2BUA took */
		/* For /metrics: requests in by method, responses by code. */
		uint64_t	in_method[SIP_STAT_METHODS];
		uint64_t	in_code[600], out_code[600];	/* [code - 100] */
	} stats;
};

/*
 * Everything but the sockets: transactions, digest context, registrar
 * (its bindings loaded from st, which may be NULL), protection. Messages
 * go out through send (NULL: the transports, once sip_server_listen()).
 */
int sip_server_init(struct sip_server *s, struct loop *loop, const struct conf *c,
		    struct store *st, sip_send_fn send, void *send_arg);
/*
 * Opens [sip] listen (UDP and TCP), listen_tls when its certificate loads
 * (else TLS stays off, said in one line) and [sip] stun; arms the timers.
 */
int sip_server_listen(struct sip_server *s);
void sip_server_fini(struct sip_server *s);

/* One message from a transport (see transport.h's sip_rx_fn). */
void sip_server_input(struct sip_server *s, const struct sip_peer *from, char *buf, size_t len,
		      unsigned flags);

/* "1.2.3.4:5060", "[::1]:5060". */
const char *sip_addr_str(const struct sockaddr *sa, char *buf, size_t len);

/*
 * Commits the registrations of the messages handed in since the last
 * flush and sends their answers (the transports call it after each burst;
 * a zero-delay timer does too).
 */
void sip_server_flush(struct sip_server *s);

/* The blacklist again: [sip] blacklist's file and the database's (ADD BLACKLIST). */
int sip_server_blacklist(struct sip_server *s);
/* SIGHUP: the blacklist file again, and the TLS certificate and key. */
void sip_server_reload(struct sip_server *s, const struct conf *fresh);
/*
 * The SIP tracker on (a fresh, empty ring of size messages; -ENOMEM, and
 * it stays off) or off (its messages and memory let go at once: as
 * [http] trace = off); the same state again changes nothing.
 */
int sip_server_trace(struct sip_server *s, bool on, unsigned size);

#endif /* SLUICE_SIP_SERVER_H */

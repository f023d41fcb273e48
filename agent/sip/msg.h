/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIP messages: libosip2 parses and prints them; this module checks what
 * libosip2 lets through or cannot explain, and builds responses.
 *
 * Inbound, a message goes through three steps. sip_msg_scan() reads the
 * raw bytes once, without allocating: the start line (strictly, as RFC
 * 3261 §25 writes it), where the header section ends, every
 * Content-Length, and the raw lines of the headers a response needs. It
 * is also how TCP frames messages. Then osip_message_parse() over exactly
 * the header section and Content-Length bytes of body. Then
 * sip_msg_check() for the rules libosip2 does not enforce: mandatory
 * headers, CSeq against the request line, scalar ranges, Via, and header
 * values libosip2 accepts but RFC 3261's grammar does not. Each failure is
 * a status code and a reason phrase that says what was wrong. A request
 * libosip2 cannot parse at all still gets its 400 when the raw lines a
 * response needs are there (sip_msg_raw_response()); anything less is
 * dropped.
 *
 * libosip2 pitfalls handled here: it maps only the compact forms v f t i
 * m c e l (the others, k s o r b u x y a j d n, stay generic headers under
 * their one-letter name: sip_msg_header() looks both up); Max-Forwards,
 * Require, Supported, Date, Expires are reachable by name only; a NUL byte
 * (legal in a quoted-pair) ends its strings early, so the scan replaces a
 * quoted NUL by a space; osip_message_force_update() must precede printing
 * after a field is edited in place (sip_msg_print() does it).
 */
#ifndef SLUICE_SIP_MSG_H
#define SLUICE_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <osipparser2/osip_message.h>

/* The largest message accepted; a larger one gets 513 or is dropped. */
#ifndef SIP_MAX_MSG
#define SIP_MAX_MSG		65536
#endif
#define SIP_MAGIC_COOKIE	"z9hG4bK"
#define SIP_TAG_LEN		16	/* hex digits of a tag we make */

enum sip_hdr {
	SIP_HDR_VIA = 0,
	SIP_HDR_FROM,
	SIP_HDR_TO,
	SIP_HDR_CALL_ID,
	SIP_HDR_CSEQ,
	SIP_HDR_CONTENT_LENGTH,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_CONTACT,
	SIP_HDR_DATE,
	SIP_HDR__N,
};

/* A piece of the scanned buffer: offset and length. */
struct sip_span {
	uint32_t	off;
	uint32_t	len;
};

struct sip_scan {
	bool		request;
	struct sip_span	method;		/* request line */
	struct sip_span	uri;
	struct sip_span	version;
	int		status;		/* status line: 100..699 */
	uint32_t	hdr_end;	/* offset of the body, past the blank line */
	int64_t		content_length;	/* -1: absent */
	uint16_t	count[SIP_HDR__N];
	struct sip_span	line[SIP_HDR__N];	/* first one: name to end, folds included */
	struct sip_span	value[SIP_HDR__N];	/* its value, trimmed */
	/* The first fault found, as the response that names it: 0 = none. */
	int		code;
	const char	*reason;
	bool		framing_bad;	/* Content-Length unusable to frame a stream */
};

/* 128-bit key of the keyed hash (SipHash-2-4) used for tags and tables. */
struct sip_hash_key {
	uint64_t	k0, k1;
};

struct sip_hash {
	uint64_t	v0, v1, v2, v3;
	uint64_t	tail;
	size_t		total;
};

/* Routes libosip2's own messages to the debug log. Idempotent. */
void sip_msg_init(void);

/*
 * Scans buf (header NULs inside quoted pairs are replaced in place).
 * Returns 0 with sc filled (sc->code set when the message is faulty),
 * -EAGAIN when the header section does not end within len, -EBADMSG when
 * this is not a SIP message at all (nothing to answer).
 */
int sip_msg_scan(char *buf, size_t len, struct sip_scan *sc);

/*
 * TCP framing: skips nothing, expects buf to start at a message. Returns
 * the length of the first complete message, 0 when more bytes are needed,
 * or -EMSGSIZE (header section or message beyond SIP_MAX_MSG) / -EBADMSG
 * (Content-Length unusable): then *hdr_len is the header section's length
 * when it is complete (so the caller can answer it), else 0.
 */
long sip_msg_frame(char *buf, size_t len, size_t *hdr_len);

/*
 * Parses the scanned message with libosip2: the header section and at
 * most Content-Length bytes of body (a datagram's excess is ignored, RFC
 * 3261 §18.3). Returns 0, -EBADMSG or -ENOMEM.
 */
int sip_msg_parse(const char *buf, size_t len, const struct sip_scan *sc,
		  osip_message_t **out);

/*
 * Why libosip2 refused a message the scan found no fault in: 416 for a
 * Request-URI scheme that is not sip, sips or tel, else 400 with a reason
 * (written to reason) naming the first header libosip2 cannot parse.
 */
int sip_msg_diagnose(const char *buf, const struct sip_scan *sc, char *reason, size_t rlen);

/*
 * The checks libosip2 does not make (RFC 3261 §8.2, §20, §25). Returns 0,
 * or the status code to answer (400, 505) with *reason set; for a response
 * a non-zero return means drop it.
 */
int sip_msg_check(const osip_message_t *m, const struct sip_scan *sc, const char **reason);

/* A header by long or compact name (lower case), pos-th occurrence. */
const char *sip_msg_header(const osip_message_t *m, const char *name, int pos);
/* Header values without their osip struct: NULL when absent. */
const char *sip_msg_branch(const osip_message_t *m);
const char *sip_msg_from_tag(const osip_message_t *m);
const char *sip_msg_to_tag(const osip_message_t *m);
bool sip_msg_uri_scheme_ok(const char *scheme);

/*
 * A response to req (RFC 3261 §8.2.6): every Via, From, To (with to_tag
 * added when it has none and code > 100), Call-ID and CSeq copied, and on
 * the top Via received= and, when asked for, rport= (RFC 3581) from src.
 * reason NULL: the standard phrase.
 */
int sip_msg_response(const osip_message_t *req, int code, const char *reason,
		     const char *to_tag, const struct sockaddr *src, osip_message_t **out);

/* Prints m (after osip_message_force_update) into osip-allocated *text. */
int sip_msg_print(osip_message_t *m, char **text, size_t *len);

/*
 * A response built from the raw lines of a request libosip2 could not
 * parse: Via lines, From, To (+ to_tag), Call-ID, CSeq copied as they
 * came (those missing left out: a request without From gets its 400 all
 * the same). Returns its length, or -EINVAL when it has no Via or is an ACK, -ENOSPC when out is too small.
 */
int sip_msg_raw_response(const char *buf, const struct sip_scan *sc, int code,
			 const char *reason, const char *to_tag, char *out, size_t outlen);

/*
 * The lines every response to a request repeats (RFC 3261 §8.2.6), printed
 * once so that each response is a status line, these, its own headers and
 * body, with no response tree to clone, print and free: each Via of req
 * printed from the parsed request (the top one with received= and rport=
 * for src, as sip_msg_response() marks it), then From, To, Call-ID and
 * CSeq as their raw lines came in buf.
 */
struct sip_resp_head {
	char		*text;		/* the lines, each ending CRLF */
	uint32_t	len;
	uint32_t	to_end;		/* past the To line's value: where a tag goes */
	bool		to_tagged;	/* the request's To has a tag: none added */
};

/*
 * Prints the head of the responses to req (scanned as sc from buf) into
 * out; h->text points there. Returns 0, -EINVAL when req has no Via or
 * one of From, To, Call-ID, CSeq is missing or repeated (print through
 * sip_msg_response() then), -ENOSPC when out is too small, -ENOMEM.
 */
int sip_msg_resp_head(const osip_message_t *req, const char *buf, const struct sip_scan *sc,
		      const struct sockaddr *src, char *out, size_t outlen,
		      struct sip_resp_head *h);

/*
 * A response from its head: the status line (reason NULL: the standard
 * phrase), the head with ";tag=to_tag" after the To line when code > 100
 * and the request's To had none, extra (whole header lines, each ending
 * CRLF), Content-Length and the body. Returns its length, -ENOSPC when
 * out is too small, -EINVAL for a code outside 100..699.
 */
int sip_msg_resp_text(const struct sip_resp_head *h, int code, const char *reason,
		      const char *to_tag, const char *extra, size_t extra_len,
		      const char *body, size_t body_len, char *out, size_t outlen);

/*
 * A 100 Trying to req, parsed from buf (scanned as sc): its head
 * (sip_msg_resp_head()) after the status line. Returns its length, -EINVAL when req has
 * no Via or one of those four is missing or repeated (print it through
 * sip_msg_response() then), -ENOSPC when out is too small, -ENOMEM.
 */
int sip_msg_trying_text(const osip_message_t *req, const char *buf, const struct sip_scan *sc,
			const struct sockaddr *src, char *out, size_t outlen);

/* The scanned message's start-line method (request) as a span check. */
bool sip_scan_method_is(const char *buf, const struct sip_scan *sc, const char *method);

/*
 * The To tag we give the responses to a request: a keyed hash of Call-ID,
 * From tag and CSeq number, so a retransmission, its ACK and a CANCEL of
 * it get the same tag with no state kept (RFC 3261 §9.2, §17.2.3).
 */
void sip_msg_make_tag(const struct sip_hash_key *k, const osip_message_t *req,
		      char out[SIP_TAG_LEN + 1]);
/* The same from the raw Call-ID, From and CSeq lines, for raw responses. */
void sip_msg_make_tag_raw(const struct sip_hash_key *k, const char *buf,
			  const struct sip_scan *sc, char out[SIP_TAG_LEN + 1]);

void sip_hash_key_random(struct sip_hash_key *k);
void sip_hash_init(struct sip_hash *h, const struct sip_hash_key *k);
void sip_hash_update(struct sip_hash *h, const void *data, size_t len);
uint64_t sip_hash_final(struct sip_hash *h);
uint64_t sip_hash_buf(const struct sip_hash_key *k, const void *data, size_t len);

#endif /* SLUICE_SIP_MSG_H */

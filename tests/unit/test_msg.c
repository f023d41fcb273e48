// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP messages (agent/sip/msg.c): the scan of start lines, header section
 * and Content-Length; TCP framing; the checks after libosip2; responses
 * (parsed and raw); stateless To tags; SipHash-2-4 against the reference
 * vectors; and the 49 RFC 4475 torture messages (tests/unit/sip-torture/)
 * through the inbound path, whole and cut at every byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/ip_str.h"
#include "sip/msg.h"

#define CRLF "\r\n"

static const char invite[] =
	"INVITE sip:bob@example.com SIP/2.0" CRLF
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc" CRLF
	"Max-Forwards: 70" CRLF
	"From: \"Alice\" <sip:alice@example.com>;tag=a1" CRLF
	"To: <sip:bob@example.com>" CRLF
	"Call-ID: c1@192.0.2.1" CRLF
	"CSeq: 1 INVITE" CRLF
	"Contact: <sip:alice@192.0.2.1>" CRLF
	"Content-Length: 0" CRLF
	CRLF;

/* What the inbound path (scan, parse, check or diagnose) made of a message. */
struct outcome {
	int		scan_err;	/* sip_msg_scan's return */
	int		code;		/* 0: accepted */
	char		reason[128];
	bool		parsed;
	bool		request;
	osip_message_t	*msg;		/* when parsed and kept */
};

/* Runs the inbound path over a private copy of len bytes (exact size, for ASan). */
static void inbound(const char *text, size_t len, struct outcome *o, bool keep)
{
	char *buf = malloc(len ? len : 1);
	struct sip_scan sc;
	const char *reason = NULL;

	assert_non_null(buf);
	memcpy(buf, text, len);
	memset(o, 0, sizeof(*o));
	o->scan_err = sip_msg_scan(buf, len, &sc);
	if (o->scan_err) {
		free(buf);
		return;
	}
	o->request = sc.request;
	if (sc.code) {
		o->code = sc.code;
		snprintf(o->reason, sizeof(o->reason), "%s", sc.reason);
		free(buf);
		return;
	}
	if (sip_msg_parse(buf, len, &sc, &o->msg)) {
		o->code = sip_msg_diagnose(buf, &sc, o->reason, sizeof(o->reason));
		free(buf);
		return;
	}
	o->parsed = true;
	o->code = sip_msg_check(o->msg, &sc, &reason);
	if (o->code)
		snprintf(o->reason, sizeof(o->reason), "%s", reason ? reason : "(null)");
	if (!keep) {
		osip_message_free(o->msg);
		o->msg = NULL;
	}
	free(buf);
}

/*
 * A request (a string literal of size bytes) copied into buf and scanned,
 * as the receive path keeps a datagram for the replies built as text.
 */
static void scanned(const char *req, size_t size, char *buf, struct sip_scan *sc)
{
	memcpy(buf, req, size);
	assert_int_equal(sip_msg_scan(buf, size - 1, sc), 0);
}

static void inbound_str(const char *text, struct outcome *o)
{
	inbound(text, strlen(text), o, false);
}

/* invite with the line starting with `prefix` replaced by `line` (NULL: removed). */
static char *edit(const char *base, const char *prefix, const char *line)
{
	const char *p = strstr(base, prefix), *e;
	char *out;

	assert_non_null(p);
	e = strstr(p, CRLF) + 2;
	out = malloc(strlen(base) + (line ? strlen(line) : 0) + 3);
	assert_non_null(out);
	sprintf(out, "%.*s%s%s%s", (int)(p - base), base, line ? line : "", line ? CRLF : "", e);
	return out;
}

static void expect_code(const char *text, int code, const char *reason_has)
{
	struct outcome o;

	inbound_str(text, &o);
	assert_int_equal(o.scan_err, 0);
	if (o.code != code)
		fail_msg("got %d \"%s\", want %d for:\n%s", o.code, o.reason, code, text);
	if (reason_has && !strstr(o.reason, reason_has))
		fail_msg("reason \"%s\" does not name \"%s\"", o.reason, reason_has);
}

static void expect_edit(const char *prefix, const char *line, int code, const char *reason_has)
{
	char *m = edit(invite, prefix, line);

	expect_code(m, code, reason_has);
	free(m);
}

/* ---- SipHash-2-4: the reference vectors (key 00..0f, input 00..n-1) ---- */

static void test_siphash_vectors(void **state)
{
	static const struct { size_t n; uint64_t h; } vec[] = {
		{ 0, 0x726fdb47dd0e0e31ULL },
		{ 1, 0x74f839c593dc67fdULL },
		{ 2, 0x0d6c8009d9a94f5aULL },
		{ 15, 0xa129ca6149be45e5ULL },
		{ 32, 0x7127512f72f27cceULL },
	};
	struct sip_hash_key k = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	unsigned char in[32];
	struct sip_hash h;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		assert_int_equal(sip_hash_buf(&k, in, vec[i].n), vec[i].h);
		/* Fed in uneven pieces, the same value. */
		sip_hash_init(&h, &k);
		for (size_t j = 0, step = 1; j < vec[i].n; j += step, step = step % 5 + 1)
			sip_hash_update(&h, in + j, j + step > vec[i].n ? vec[i].n - j : step);
		assert_int_equal(sip_hash_final(&h), vec[i].h);
	}
	k.k1 ^= 1;
	assert_int_not_equal(sip_hash_buf(&k, in, 15), 0xa129ca6149be45e5ULL);
}

/* ---- scan: start lines ---- */

static void test_start_line(void **state)
{
	struct outcome o;
	char *m;

	(void)state;
	expect_code(invite, 0, NULL);
	expect_edit("INVITE ", "INVITE  sip:bob@example.com SIP/2.0", 400, "Request-Line");
	expect_edit("INVITE ", "INVITE sip:bob@example.com  SIP/2.0", 400, "Request-Line");
	expect_edit("INVITE ", "INVITE sip:bob@example.com SIP/2.0 ", 400, "Request-Line");
	expect_edit("INVITE ", "INVITE\tsip:bob@example.com SIP/2.0", 400, "Request-Line");
	/* RFC 3261 §7.1: the version is case-insensitive. */
	expect_edit("INVITE ", "INVITE sip:bob@example.com sip/2.0", 0, NULL);
	expect_edit("INVITE ", "INVITE sip:bob@example.com SIP/7.0", 505, "Version");
	expect_edit("INVITE ", "INVITE sip:bob@example.com SIP/2.00", 505, "Version");
	expect_edit("INVITE ", "INVITE <sip:bob@example.com> SIP/2.0", 400, "Request-URI");
	/* Not SIP at all: nothing to answer. */
	m = edit(invite, "INVITE ", "GET / HTTP/1.1");
	inbound_str(m, &o);
	assert_int_equal(o.scan_err, -EBADMSG);
	free(m);

	/* Status lines. */
	inbound_str("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		    "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\n"
		    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n", &o);
	assert_int_equal(o.scan_err, 0);
	assert_false(o.request);
	assert_int_equal(o.code, 0);	/* no Max-Forwards needed in a response */
	static const char *const bad_status[] = {
		"SIP/2.0 099 Odd\r\n\r\n", "SIP/2.0 700 Odd\r\n\r\n", "SIP/2.0 999 Odd\r\n\r\n",
		"SIP/2.0 20 Short\r\n\r\n", "SIP/2.0 2000 Long\r\n\r\n", "SIP/2.0 abc X\r\n\r\n",
		"SIP/2.0  200 OK\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad_status) / sizeof(bad_status[0]); i++) {
		inbound_str(bad_status[i], &o);
		if (o.scan_err != -EBADMSG)
			fail_msg("%s: scan %d", bad_status[i], o.scan_err);
	}
}

/* ---- scan: where the header section ends ---- */

static void test_header_end(void **state)
{
	char buf[1024], lf[1024];
	struct sip_scan sc;
	size_t n = strlen(invite), j = 0;

	(void)state;
	memcpy(buf, invite, n);
	assert_int_equal(sip_msg_scan(buf, n, &sc), 0);
	assert_int_equal(sc.hdr_end, n);
	assert_true(sc.request);
	assert_int_equal(sc.method.len, 6);
	assert_true(sip_scan_method_is(buf, &sc, "INVITE"));
	assert_false(sip_scan_method_is(buf, &sc, "INVIT"));
	/* Any shorter prefix lacks the blank line. */
	for (size_t cut = 0; cut < n; cut++) {
		memcpy(buf, invite, n);
		assert_int_equal(sip_msg_scan(buf, cut, &sc), -EAGAIN);
	}
	/* Bare LF line ends, the same message. */
	for (size_t i = 0; i < n; i++)
		if (invite[i] != '\r')
			lf[j++] = invite[i];
	assert_int_equal(sip_msg_scan(lf, j, &sc), 0);
	assert_int_equal(sc.hdr_end, j);
	assert_int_equal(sc.code, 0);
	assert_int_equal(sc.content_length, 0);
	assert_int_equal(sc.count[SIP_HDR_VIA], 1);
	/* A body after the blank line is not headers. */
	n = (size_t)snprintf(buf, sizeof(buf), "%.*sContent-Length: 10\r\n\r\nVia: x\r\n\r\n",
			     (int)(strstr(invite, "Content-Length") - invite), invite);
	assert_int_equal(sip_msg_scan(buf, n, &sc), 0);
	assert_int_equal(sc.count[SIP_HDR_VIA], 1);
	assert_int_equal(sc.content_length, 10);
	assert_int_equal(sc.hdr_end, n - 10);
	assert_int_equal(sc.code, 0);
}

/* ---- scan: Content-Length ---- */

static void test_content_length(void **state)
{
	struct outcome o;
	struct sip_scan sc;
	char *m, buf[1024];
	size_t n;

	(void)state;
	/* Absent: over a datagram the body is the rest. */
	m = edit(invite, "Content-Length", NULL);
	n = strlen(m);
	memcpy(buf, m, n);
	assert_int_equal(sip_msg_scan(buf, n, &sc), 0);
	assert_int_equal(sc.content_length, -1);
	assert_int_equal(sc.code, 0);
	assert_false(sc.framing_bad);
	expect_code(m, 0, NULL);
	free(m);

	expect_edit("Content-Length", "Content-Length: 0000", 0, NULL);
	expect_edit("Content-Length", "Content-Length: -1", 400, "Content-Length");
	expect_edit("Content-Length", "Content-Length: 1x", 400, "Content-Length");
	expect_edit("Content-Length", "Content-Length:", 400, "Content-Length");
	expect_edit("Content-Length", "Content-Length: 99999999999999999999", 400, "Content-Length");
	expect_edit("Content-Length", "Content-Length: 4294967296", 400, "Content-Length");
	/* RFC 3261 §18.3: a datagram shorter than its Content-Length gets 400. */
	expect_edit("Content-Length", "Content-Length: 1", 400, "Content-Length");
	/* Several: one is the rule (libosip2 refuses even equal ones). */
	m = edit(invite, "Content-Length", "Content-Length: 0\r\nl: 0");
	n = strlen(m);
	memcpy(buf, m, n);
	assert_int_equal(sip_msg_scan(buf, n, &sc), 0);
	assert_false(sc.framing_bad);		/* TCP can still frame it */
	expect_code(m, 400, "Duplicate Content-Length");
	free(m);
	m = edit(invite, "Content-Length", "Content-Length: 0\r\nContent-Length: 3");
	n = strlen(m);
	memcpy(buf, m, n);
	assert_int_equal(sip_msg_scan(buf, n, &sc), 0);
	assert_true(sc.framing_bad);
	expect_code(m, 400, "Content-Length");
	free(m);

	/* A body shorter than the datagram: the excess is ignored (§18.3). */
	n = (size_t)snprintf(buf, sizeof(buf), "%.*sContent-Type: text/plain\r\n"
			     "Content-Length: 5\r\n\r\nhello, and more",
			     (int)(strstr(invite, "Content-Length") - invite), invite);
	inbound(buf, n, &o, true);
	assert_int_equal(o.code, 0);
	assert_non_null(o.msg);
	osip_body_t *b = osip_list_get(&o.msg->bodies, 0);
	assert_non_null(b);
	assert_int_equal(b->length, 5);
	assert_memory_equal(b->body, "hello", 5);
	osip_message_free(o.msg);
}

/* ---- compact header names (RFC 3261 §7.3.3, §20) ---- */

static void test_compact(void **state)
{
	static const char compact[] =
		"MESSAGE sip:bob@example.com SIP/2.0\r\n"
		"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc1\r\n"
		"Max-Forwards: 70\r\n"
		"f: <sip:alice@example.com>;tag=9\r\n"
		"t: <sip:bob@example.com>\r\n"
		"i: cpt@192.0.2.1\r\n"
		"CSeq: 4 MESSAGE\r\n"
		"m: <sip:alice@192.0.2.1>\r\n"
		"k: path\r\n"
		"s: hi\r\n"
		"o: presence\r\n"
		"c: text/plain\r\n"
		"l: 2\r\n"
		"\r\n"
		"ok";
	struct outcome o;
	struct sip_scan sc;
	char buf[sizeof(compact)];

	(void)state;
	memcpy(buf, compact, sizeof(compact));
	assert_int_equal(sip_msg_scan(buf, sizeof(compact) - 1, &sc), 0);
	assert_int_equal(sc.code, 0);
	assert_int_equal(sc.count[SIP_HDR_VIA], 1);
	assert_int_equal(sc.count[SIP_HDR_FROM], 1);
	assert_int_equal(sc.count[SIP_HDR_TO], 1);
	assert_int_equal(sc.count[SIP_HDR_CALL_ID], 1);
	assert_int_equal(sc.count[SIP_HDR_CONTACT], 1);
	assert_int_equal(sc.content_length, 2);
	assert_memory_equal(buf + sc.value[SIP_HDR_CALL_ID].off, "cpt@192.0.2.1", 13);

	inbound(compact, sizeof(compact) - 1, &o, true);
	assert_int_equal(o.code, 0);
	assert_non_null(o.msg->call_id);
	assert_string_equal(o.msg->call_id->number, "cpt");
	assert_string_equal(sip_msg_from_tag(o.msg), "9");
	assert_string_equal(sip_msg_branch(o.msg), "z9hG4bKc1");
	assert_non_null(o.msg->content_type);
	assert_string_equal(sip_msg_header(o.msg, "supported", 0), "path");
	assert_string_equal(sip_msg_header(o.msg, "subject", 0), "hi");
	assert_string_equal(sip_msg_header(o.msg, "event", 0), "presence");
	assert_null(sip_msg_header(o.msg, "event", 1));
	assert_string_equal(sip_msg_header(o.msg, "max-forwards", 0), "70");
	osip_message_free(o.msg);

	/* Long and compact forms of one header count together. */
	char *m = edit(invite, "To:", "To: <sip:bob@example.com>\r\nt: <sip:carol@example.com>");
	expect_code(m, 400, "To");
	free(m);
}

/* ---- TCP framing ---- */

static void test_frame(void **state)
{
	size_t n = strlen(invite), hl;
	char *two, *body, *big;
	long r;

	(void)state;
	two = malloc(2 * n + 16);
	memcpy(two, invite, n);
	memcpy(two + n, invite, n);
	assert_int_equal(sip_msg_frame(two, 2 * n, &hl), (long)n);
	assert_int_equal(hl, n);
	assert_int_equal(sip_msg_frame(two + n, n, &hl), (long)n);
	/* Every partial message asks for more. */
	for (size_t cut = 0; cut < n; cut++) {
		memcpy(two, invite, n);
		assert_int_equal(sip_msg_frame(two, cut, &hl), 0);
	}
	free(two);

	/* A body: complete only with all Content-Length bytes. */
	body = edit(invite, "Content-Length", "Content-Length: 4");
	n = strlen(body);
	body = realloc(body, n + 8);
	memcpy(body + n, "abcdXYZ", 8);
	assert_int_equal(sip_msg_frame(body, n + 3, &hl), 0);
	assert_int_equal(hl, n);
	assert_int_equal(sip_msg_frame(body, n + 4, &hl), (long)(n + 4));
	assert_int_equal(sip_msg_frame(body, n + 7, &hl), (long)(n + 4));
	free(body);

	/* Unusable Content-Length: -EBADMSG with the header section's length. */
	body = edit(invite, "Content-Length", "Content-Length: -5");
	n = strlen(body);
	assert_int_equal(sip_msg_frame(body, n, &hl), -EBADMSG);
	assert_int_equal(hl, n);
	free(body);
	body = edit(invite, "Content-Length", "Content-Length: 1\r\nContent-Length: 2");
	n = strlen(body);
	assert_int_equal(sip_msg_frame(body, n, &hl), -EBADMSG);
	assert_int_equal(hl, n);
	free(body);

	/* Too large: by Content-Length, or a header section without end. */
	body = edit(invite, "Content-Length", "Content-Length: 65536");
	n = strlen(body);
	assert_int_equal(sip_msg_frame(body, n, &hl), -EMSGSIZE);
	assert_int_equal(hl, n);
	free(body);
	big = malloc(SIP_MAX_MSG + 100);
	n = strlen(invite) - 2;			/* without the blank line */
	memcpy(big, invite, n);
	memset(big + n, 'a', SIP_MAX_MSG + 100 - n);
	assert_int_equal(sip_msg_frame(big, SIP_MAX_MSG, &hl), 0);
	r = sip_msg_frame(big, SIP_MAX_MSG + 100, &hl);
	assert_int_equal(r, -EMSGSIZE);
	assert_int_equal(hl, 0);
	/* One endless start line, too. */
	memset(big, 'a', SIP_MAX_MSG + 100);
	assert_int_equal(sip_msg_frame(big, SIP_MAX_MSG + 100, &hl), -EMSGSIZE);
	free(big);
	/* Garbage: nothing to frame. */
	char junk[] = "HELLO WORLD\r\n\r\n";
	assert_int_equal(sip_msg_frame(junk, sizeof(junk) - 1, &hl), -EBADMSG);
}

/* ---- checks after libosip2 ---- */

static void test_mandatory(void **state)
{
	static const struct { const char *prefix, *name; } hdr[] = {
		{ "Via:", "Via" }, { "From:", "From" }, { "To:", "To" },
		{ "Call-ID:", "Call-ID" }, { "CSeq:", "CSeq" }, { "Max-Forwards:", "Max-Forwards" },
	};
	char *m, *r;

	(void)state;
	for (size_t i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++)
		expect_edit(hdr[i].prefix, NULL, 400, hdr[i].name);
	/* An RFC 2543 client (no magic cookie) may leave Max-Forwards out. */
	m = edit(invite, "Via:", "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=old2543");
	expect_code(m, 0, NULL);
	r = edit(m, "Max-Forwards:", NULL);
	expect_code(r, 0, NULL);
	free(r);
	free(m);
	/* No branch at all (RFC 2543): allowed. */
	m = edit(invite, "Via:", "Via: SIP/2.0/UDP 192.0.2.1:5060");
	expect_code(m, 0, NULL);
	free(m);
	/* A response needs no Max-Forwards either. */
	expect_code("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		    "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\n"
		    "CSeq: 1 OPTIONS\r\n\r\n", 0, NULL);
	/* Duplicates of the single ones. */
	expect_edit("Call-ID:", "Call-ID: a\r\ni: b", 400, "Call-ID");
	expect_edit("CSeq:", "CSeq: 1 INVITE\r\nCSeq: 2 INVITE", 400, "CSeq");
	expect_edit("Max-Forwards:", "Max-Forwards: 70\r\nMax-Forwards: 69", 400, "Max-Forwards");
	/* Values. */
	expect_edit("Via:", "Via: SIP/3.0/UDP 192.0.2.1:5060;branch=z9hG4bKx", 400, "Via");
	expect_edit("Via:", "Via: SIP/2.0/UDP 192.0.2.1:99999;branch=z9hG4bKx", 400, "Via");
	expect_edit("Via:", "Via: SIP/2.0/UDP 192.0.2.1;branch=", 400, "Via");
	expect_edit("CSeq:", "CSeq: 4294967296 INVITE", 400, "CSeq");
	expect_edit("CSeq:", "CSeq: 2147483647 INVITE", 0, NULL);
	expect_edit("From:", "From: Alice Smith <sip:alice@example.com>;tag=1", 0, NULL);
	expect_edit("From:", "From: Alice@Smith <sip:alice@example.com>;tag=1", 400, "From");
	expect_edit("From:", "From: < sip:alice@example.com>;tag=1", 400, "From");
	expect_edit("To:", "To: sip:bob@example.com?x=y", 400, "To");
	expect_edit("Contact:", "Contact: *", 0, NULL);
	expect_edit("Contact:", "Contact: <sip:a@h>, \"B\" <sip:b@h>;q=0.5", 0, NULL);
	expect_edit("Contact:", "Contact: <sip:a@h>, <sip:b@h>", 0, NULL);
	expect_edit("Contact:", "Contact: sip:a@h , sip:b@h;expires=5", 0, NULL);
	expect_edit("Contact:", "Contact: sip:a@h, sip:b@h?x", 400, "Contact");
	expect_edit("Contact:", "Date: Sat, 13 Nov 2010 23:29:00 GMT", 0, NULL);
	expect_edit("Contact:", "Date: Sat, 13 Nov 2010 23:29:00 PST", 400, "Date");
	expect_edit("Contact:", "Bad Header: x", 400, "header");
}

static void test_cseq_max_forwards(void **state)
{
	struct outcome o;
	char *m;

	(void)state;
	expect_edit("CSeq:", "CSeq: 1 BYE", 400, "CSeq");
	expect_edit("CSeq:", "CSeq: 1 invite", 400, "CSeq");	/* methods are case-sensitive */
	expect_edit("Max-Forwards:", "Max-Forwards: abc", 400, "Max-Forwards");
	expect_edit("Max-Forwards:", "Max-Forwards: 256", 400, "Max-Forwards");
	expect_edit("Max-Forwards:", "Max-Forwards: -1", 400, "Max-Forwards");
	expect_edit("Max-Forwards:", "Max-Forwards: 255", 0, NULL);
	/*
	 * Max-Forwards 0 is a legal message: whether it is 483 depends on
	 * forwarding (RFC 3261 §16.3, RFC 4475 §3.3.11), which the server
	 * decides (server.c request_limits). The value must reach it intact.
	 */
	m = edit(invite, "Max-Forwards:", "Max-Forwards: 0");
	inbound(m, strlen(m), &o, true);
	assert_int_equal(o.code, 0);
	assert_string_equal(sip_msg_header(o.msg, "max-forwards", 0), "0");
	osip_message_free(o.msg);
	free(m);
}

/* ---- responses ---- */

static osip_generic_param_t *via_param(osip_via_t *v, const char *name)
{
	osip_generic_param_t *p = NULL;

	if (osip_generic_param_get_byname(&v->via_params, (char *)name, &p))
		return NULL;
	return p;
}

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static void test_response(void **state)
{
	static const char req[] =
		"OPTIONS sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtop, SIP/2.0/TCP p1.example.com;branch=z9hG4bKp1\r\n"
		"Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:alice@example.com>;tag=a1\r\n"
		"To: \"Bob\" <sip:bob@example.com>\r\n"
		"Call-ID: resp@192.0.2.1\r\n"
		"CSeq: 7 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sockaddr_in same = sin4("192.0.2.1", 5060), nat = sin4("198.51.100.9", 40000);
	struct outcome o, back;
	osip_message_t *r;
	osip_via_t *v;
	char *text, *m;
	size_t len;

	(void)state;
	inbound(req, sizeof(req) - 1, &o, true);
	assert_int_equal(o.code, 0);

	/* Same host as sent-by, no rport: no received=. */
	assert_int_equal(sip_msg_response(o.msg, 200, NULL, "t0", (struct sockaddr *)&same, &r), 0);
	assert_int_equal(osip_message_get_status_code(r), 200);
	assert_string_equal(osip_message_get_reason_phrase(r), "OK");
	assert_int_equal(osip_list_size(&r->vias), 3);
	v = osip_list_get(&r->vias, 0);
	assert_string_equal(v->host, "192.0.2.1");
	assert_null(via_param(v, "received"));
	assert_null(via_param(v, "rport"));
	assert_string_equal(((osip_via_t *)osip_list_get(&r->vias, 1))->host, "p1.example.com");
	assert_string_equal(((osip_via_t *)osip_list_get(&r->vias, 2))->host, "p2.example.com");
	assert_string_equal(sip_msg_to_tag(r), "t0");
	assert_string_equal(sip_msg_from_tag(r), "a1");
	assert_string_equal(r->call_id->number, "resp");
	assert_string_equal(r->call_id->host, "192.0.2.1");
	assert_string_equal(r->cseq->number, "7");
	assert_string_equal(r->cseq->method, "OPTIONS");
	assert_string_equal(r->to->displayname, "\"Bob\"");
	/* Printed and read back, it is a valid response. */
	assert_int_equal(sip_msg_print(r, &text, &len), 0);
	/* In a buffer its size, not libosip2's 8,000 bytes: transactions keep it. */
	assert_int_equal(text[len], '\0');
	assert_true(malloc_usable_size(text) < len + 64);
	inbound(text, len, &back, false);
	assert_int_equal(back.scan_err, 0);
	assert_false(back.request);
	assert_int_equal(back.code, 0);
	assert_non_null(strstr(text, "SIP/2.0 200 OK\r\n"));
	assert_non_null(strstr(text, "branch=z9hG4bKp2"));
	osip_free(text);
	osip_message_free(r);

	/* Another host: received= only. */
	assert_int_equal(sip_msg_response(o.msg, 404, "Nobody Here", "t0", (struct sockaddr *)&nat, &r), 0);
	assert_string_equal(osip_message_get_reason_phrase(r), "Nobody Here");
	v = osip_list_get(&r->vias, 0);
	assert_non_null(via_param(v, "received"));
	assert_string_equal(via_param(v, "received")->gvalue, "198.51.100.9");
	assert_null(via_param(v, "rport"));
	assert_null(via_param(osip_list_get(&r->vias, 1), "received"));
	osip_message_free(r);

	/* 100 Trying gets no To tag; no source: no Via change. */
	assert_int_equal(sip_msg_response(o.msg, 100, NULL, "t0", NULL, &r), 0);
	assert_null(sip_msg_to_tag(r));
	assert_null(via_param(osip_list_get(&r->vias, 0), "received"));
	osip_message_free(r);
	osip_message_free(o.msg);

	/* rport asked for (RFC 3581): rport= and received= even when the same. */
	m = edit(req, "Via: SIP/2.0/UDP 192.0.2.1", "Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKtop");
	inbound(m, strlen(m), &o, true);
	assert_int_equal(o.code, 0);
	assert_int_equal(sip_msg_response(o.msg, 200, NULL, "t0", (struct sockaddr *)&same, &r), 0);
	v = osip_list_get(&r->vias, 0);
	assert_string_equal(via_param(v, "rport")->gvalue, "5060");
	assert_string_equal(via_param(v, "received")->gvalue, "192.0.2.1");
	assert_int_equal(osip_list_size(&r->vias), 2);
	osip_message_free(r);
	assert_int_equal(sip_msg_response(o.msg, 200, NULL, "t0", (struct sockaddr *)&nat, &r), 0);
	v = osip_list_get(&r->vias, 0);
	assert_string_equal(via_param(v, "rport")->gvalue, "40000");
	assert_string_equal(via_param(v, "received")->gvalue, "198.51.100.9");
	osip_message_free(r);
	osip_message_free(o.msg);
	free(m);

	/* A To tag already there is kept, not doubled. */
	m = edit(req, "To:", "To: <sip:bob@example.com>;tag=theirs");
	inbound(m, strlen(m), &o, true);
	assert_int_equal(sip_msg_response(o.msg, 486, NULL, "t0", NULL, &r), 0);
	assert_string_equal(sip_msg_to_tag(r), "theirs");
	assert_int_equal(sip_msg_print(r, &text, &len), 0);
	assert_null(strstr(text, "t0"));
	osip_free(text);
	osip_message_free(r);
	osip_message_free(o.msg);
	free(m);
}

/* ---- a 100 Trying printed from the request's lines ---- */

static void test_trying_text(void **state)
{
	static const char req[] =
		"INVITE sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKtop, SIP/2.0/TCP p1.example.com;branch=z9hG4bKp1\r\n"
		"v: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2\r\n"
		"Max-Forwards: 70\r\n"
		"f: <sip:alice@example.com>;tag=a1\r\n"
		"To: \"Bob\" <sip:bob@example.com>\r\n"
		"Call-ID: try@192.0.2.1\r\n"
		"CSeq: 7 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sockaddr_in nat = sin4("198.51.100.9", 40000);
	char buf[sizeof(req)], out[2048], *m;
	struct outcome o, back;
	struct sip_scan sc;
	osip_via_t *v;
	int n;

	(void)state;
	scanned(req, sizeof(req), buf, &sc);
	inbound(req, sizeof(req) - 1, &o, true);
	assert_int_equal(o.code, 0);
	n = sip_msg_trying_text(o.msg, buf, &sc, (struct sockaddr *)&nat, out, sizeof(out));
	assert_true(n > 0);
	assert_memory_equal(out, "SIP/2.0 100 Trying\r\n", 20);
	/* Read back: a valid response, the request's Vias in order, the top one marked. */
	inbound(out, (size_t)n, &back, true);
	assert_int_equal(back.scan_err, 0);
	assert_false(back.request);
	assert_int_equal(back.code, 0);
	assert_int_equal(osip_message_get_status_code(back.msg), 100);
	assert_int_equal(osip_list_size(&back.msg->vias), 3);
	v = osip_list_get(&back.msg->vias, 0);
	assert_string_equal(v->host, "192.0.2.1");
	assert_string_equal(via_param(v, "rport")->gvalue, "40000");
	assert_string_equal(via_param(v, "received")->gvalue, "198.51.100.9");
	assert_null(via_param(osip_list_get(&back.msg->vias, 1), "received"));
	assert_string_equal(((osip_via_t *)osip_list_get(&back.msg->vias, 2))->host, "p2.example.com");
	assert_string_equal(sip_msg_from_tag(back.msg), "a1");
	assert_null(sip_msg_to_tag(back.msg));
	assert_string_equal(back.msg->call_id->number, "try");
	assert_string_equal(back.msg->cseq->number, "7");
	assert_string_equal(back.msg->cseq->method, "INVITE");
	osip_message_free(back.msg);
	/* Too small: -ENOSPC. */
	assert_int_equal(sip_msg_trying_text(o.msg, buf, &sc, NULL, out, 60), -ENOSPC);
	osip_message_free(o.msg);

	/* Two From headers: not printed here (the caller takes the tree's way). */
	m = edit(req, "To:", "From: <sip:eve@example.com>;tag=e1\r\nTo: \"Bob\" <sip:bob@example.com>");
	inbound(m, strlen(m), &o, true);
	if (o.msg) {
		char *b2 = strdup(m);

		assert_int_equal(sip_msg_scan(b2, strlen(m), &sc), 0);
		assert_int_equal(sip_msg_trying_text(o.msg, b2, &sc, NULL, out, sizeof(out)), -EINVAL);
		osip_message_free(o.msg);
		free(b2);
	}
	free(m);
}

/* ---- any response printed from the request's lines ---- */

static void test_resp_text(void **state)
{
	static const char req[] =
		"INVITE sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKtop\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:alice@example.com>;tag=a1\r\n"
		"t: \"Bob\" <sip:bob@example.com>\r\n"
		"Call-ID: resp@192.0.2.1\r\n"
		"CSeq: 9 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char extra[] = "Contact: <sip:10.0.0.1:5060>\r\nSupported: timer\r\n";
	static const char body[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n";
	struct sockaddr_in nat = sin4("198.51.100.9", 40000);
	char buf[sizeof(req)], head[1024], out[2048], *m;
	struct sip_resp_head h;
	struct outcome o, back;
	struct sip_scan sc;
	osip_body_t *b;
	int n;

	(void)state;
	scanned(req, sizeof(req), buf, &sc);
	inbound(req, sizeof(req) - 1, &o, true);
	assert_int_equal(o.code, 0);
	assert_int_equal(sip_msg_resp_head(o.msg, buf, &sc, (struct sockaddr *)&nat, head,
					   sizeof(head), &h), 0);
	assert_false(h.to_tagged);
	n = sip_msg_resp_text(&h, 200, NULL, "t9", extra, sizeof(extra) - 1, body,
			      sizeof(body) - 1, out, sizeof(out));
	assert_true(n > 0);
	assert_memory_equal(out, "SIP/2.0 200 OK\r\n", 16);
	inbound(out, (size_t)n, &back, true);
	assert_int_equal(back.scan_err, 0);
	assert_int_equal(back.code, 0);
	assert_int_equal(osip_message_get_status_code(back.msg), 200);
	assert_string_equal(sip_msg_to_tag(back.msg), "t9");
	assert_string_equal(sip_msg_from_tag(back.msg), "a1");
	assert_string_equal(via_param(osip_list_get(&back.msg->vias, 0), "rport")->gvalue, "40000");
	assert_non_null(sip_msg_header(back.msg, "supported", 0));
	assert_int_equal(osip_list_size(&back.msg->contacts), 1);
	assert_int_equal(osip_list_get(&back.msg->bodies, 0) != NULL, 1);
	b = osip_list_get(&back.msg->bodies, 0);
	assert_int_equal(b->length, sizeof(body) - 1);
	assert_memory_equal(b->body, body, sizeof(body) - 1);
	osip_message_free(back.msg);
	/* A 100 gets no tag; a reason of our own; too small: -ENOSPC. */
	n = sip_msg_resp_text(&h, 100, NULL, "t9", NULL, 0, NULL, 0, out, sizeof(out));
	assert_true(n > 0);
	assert_null(memmem(out, (size_t)n, "t9", 2));
	n = sip_msg_resp_text(&h, 480, "Gone fishing", "t9", NULL, 0, NULL, 0, out, sizeof(out));
	assert_memory_equal(out, "SIP/2.0 480 Gone fishing\r\n", 26);
	assert_int_equal(sip_msg_resp_text(&h, 200, NULL, "t9", extra, sizeof(extra) - 1, body,
					   sizeof(body) - 1, out, 100), -ENOSPC);
	assert_int_equal(sip_msg_resp_text(&h, 99, NULL, "t9", NULL, 0, NULL, 0, out,
					   sizeof(out)), -EINVAL);
	osip_message_free(o.msg);

	/* A To tag already there is kept, not doubled. */
	m = edit(req, "t:", "To: <sip:bob@example.com>;tag=theirs");
	{
		char *b2 = strdup(m);

		assert_int_equal(sip_msg_scan(b2, strlen(m), &sc), 0);
		inbound(m, strlen(m), &o, true);
		assert_int_equal(sip_msg_resp_head(o.msg, b2, &sc, NULL, head, sizeof(head), &h), 0);
		assert_true(h.to_tagged);
		n = sip_msg_resp_text(&h, 486, NULL, "t9", NULL, 0, NULL, 0, out, sizeof(out));
		assert_true(n > 0);
		assert_null(memmem(out, (size_t)n, "t9", 2));
		assert_non_null(memmem(out, (size_t)n, "tag=theirs", 10));
		osip_message_free(o.msg);
		free(b2);
	}
	free(m);
}

/*
 * The Via lines of a response head are printed from the parsed request
 * without a copy: the same as the tree's response (sip_msg_response(),
 * printed by libosip2) gives, with or without rport and received already
 * there, several Vias in a line, IPv6, a comment, from the same host.
 */
static void test_resp_head_vias(void **state)
{
	static const char *const vias[] = {
		"Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKa\r\n",
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa\r\n",
		"Via: SIP/2.0/UDP 198.51.100.9:40000;branch=z9hG4bKa\r\n",
		"Via: SIP/2.0/UDP host.example.com;received=1.2.3.4;branch=z9hG4bKa;rport=9\r\n",
		"Via: SIP/2.0/TCP 192.0.2.1;BRANCH=z9hG4bKa;RPort, SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKb\r\n"
		"v: SIP/2.0/UDP 192.0.2.8:5070;branch=z9hG4bKc;ttl=3 (a comment)\r\n",
		"Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa;x\r\n",
	};
	struct sockaddr_in nat = sin4("198.51.100.9", 40000);
	struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_port = htons(5062) };

	(void)state;
	inet_pton(AF_INET6, "2001:db8::1", &six.sin6_addr);
	for (size_t k = 0; k < sizeof(vias) / sizeof(vias[0]); k++) {
		for (int from = 0; from < 3; from++) {
			const struct sockaddr *src = from == 0 ? NULL : from == 1 ?
						     (const struct sockaddr *)&nat :
						     (const struct sockaddr *)&six;
			char req[1024], buf[1024], head[2048], want[2048];
			struct sip_resp_head h;
			struct outcome o;
			struct sip_scan sc;
			osip_message_t *r;
			size_t wlen = 0;
			char *text, *p;
			size_t len;
			int n;

			n = snprintf(req, sizeof(req),
				     "INVITE sip:bob@example.com SIP/2.0\r\n%s"
				     "Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=a1\r\n"
				     "To: <sip:bob@example.com>\r\nCall-ID: v@h\r\nCSeq: 1 INVITE\r\n"
				     "Content-Length: 0\r\n\r\n", vias[k]);
			scanned(req, (size_t)n + 1, buf, &sc);
			inbound(req, (size_t)n, &o, true);
			assert_int_equal(o.code, 0);
			assert_int_equal(sip_msg_resp_head(o.msg, buf, &sc, src, head, sizeof(head),
							   &h), 0);
			assert_int_equal(sip_msg_response(o.msg, 200, NULL, "t", src, &r), 0);
			assert_int_equal(sip_msg_print(r, &text, &len), 0);
			for (p = text; (p = strstr(p, "\r\nVia: ")); p += 2) {
				size_t l = (size_t)(strstr(p + 2, "\r\n") - p);

				memcpy(want + wlen, p + 2, l);
				wlen += l;
			}
			assert_true(wlen > 0);
			assert_memory_equal(head, want, wlen);
			assert_memory_equal(head + wlen, "From: ", 6);
			osip_free(text);
			osip_message_free(r);
			osip_message_free(o.msg);
		}
	}
}

/* ---- raw responses ---- */

static void test_raw_response(void **state)
{
	static const char req[] =
		"INVITE sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
		"Max-Forwards: 70\r\n"
		"v: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n"
		"From: <sip:alice@example.com>;tag=a\r\n"
		"To: <sip:bob@example.com>\r\n"
		"Call-ID: raw1\r\n"
		"CSeq: 1 INVITE\r\n"
		"X-Junk: \x01\x02\r\n"
		"Content-Length: 0\r\n\r\n";
	char buf[sizeof(req)], out[1024], tag[SIP_TAG_LEN + 1], tag2[SIP_TAG_LEN + 1], *m;
	struct sip_hash_key k = { 1, 2 };
	struct sip_scan sc;
	struct outcome o;
	int n;

	(void)state;
	scanned(req, sizeof(req), buf, &sc);
	sip_msg_make_tag_raw(&k, buf, &sc, tag);
	assert_int_equal(strlen(tag), SIP_TAG_LEN);
	sip_msg_make_tag_raw(&k, buf, &sc, tag2);
	assert_string_equal(tag, tag2);
	n = sip_msg_raw_response(buf, &sc, 400, "Bad X-Junk header", tag, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_int_equal(strncmp(out, "SIP/2.0 400 Bad X-Junk header\r\n", 31), 0);
	assert_non_null(strstr(out, "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
				    "v: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n"));
	assert_non_null(strstr(out, "\r\nFrom: <sip:alice@example.com>;tag=a\r\n"));
	snprintf(buf, sizeof(buf), "\r\nTo: <sip:bob@example.com>;tag=%s\r\n", tag);
	assert_non_null(strstr(out, buf));
	assert_non_null(strstr(out, "\r\nCall-ID: raw1\r\n"));
	assert_non_null(strstr(out, "\r\nCSeq: 1 INVITE\r\n"));
	assert_null(strstr(out, "Junk:"));
	assert_null(strstr(out, "Max-Forwards"));
	assert_int_equal(strcmp(out + n - 21, "Content-Length: 0\r\n\r\n"), 0);
	/* And it is a response libosip2 and our checks accept. */
	inbound(out, (size_t)n, &o, true);
	assert_int_equal(o.code, 0);
	assert_int_equal(osip_message_get_status_code(o.msg), 400);
	assert_int_equal(osip_list_size(&o.msg->vias), 2);
	assert_string_equal(sip_msg_to_tag(o.msg), tag);
	osip_message_free(o.msg);

	/* Too small a buffer; a default reason; no tag for 100. */
	scanned(req, sizeof(req), buf, &sc);
	assert_int_equal(sip_msg_raw_response(buf, &sc, 400, NULL, tag, out, 40), -ENOSPC);
	n = sip_msg_raw_response(buf, &sc, 100, NULL, tag, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_int_equal(strncmp(out, "SIP/2.0 100 Trying\r\n", 20), 0);
	assert_non_null(strstr(out, "\r\nTo: <sip:bob@example.com>\r\n"));

	/* Missing From: still answered, without it. A CSeq with a tag kept. */
	m = edit(req, "From:", NULL);
	memcpy(buf, m, strlen(m));
	assert_int_equal(sip_msg_scan(buf, strlen(m), &sc), 0);
	assert_int_equal(sc.code, 400);
	n = sip_msg_raw_response(buf, &sc, sc.code, sc.reason, tag, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "400 Missing From\r\n"));
	assert_null(strstr(out, "From:"));
	free(m);

	/* No Via: nowhere to send it. ACK: never answered. A response: no. */
	{
		char *tmp = edit(req, "Via:", NULL);

		m = edit(tmp, "v:", NULL);
		free(tmp);
	}
	memcpy(buf, m, strlen(m));
	assert_int_equal(sip_msg_scan(buf, strlen(m), &sc), 0);
	assert_int_equal(sip_msg_raw_response(buf, &sc, 400, NULL, tag, out, sizeof(out)), -EINVAL);
	free(m);
	strcpy(buf, "ACK sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n");
	assert_int_equal(sip_msg_scan(buf, strlen(buf), &sc), 0);
	assert_int_equal(sip_msg_raw_response(buf, &sc, 400, NULL, tag, out, sizeof(out)), -EINVAL);
	strcpy(buf, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n");
	assert_int_equal(sip_msg_scan(buf, strlen(buf), &sc), 0);
	assert_int_equal(sip_msg_raw_response(buf, &sc, 400, NULL, tag, out, sizeof(out)), -EINVAL);

	/* The raw tag follows CSeq. */
	m = edit(req, "CSeq:", "CSeq: 2 INVITE");
	memcpy(buf, m, strlen(m));
	assert_int_equal(sip_msg_scan(buf, strlen(m), &sc), 0);
	sip_msg_make_tag_raw(&k, buf, &sc, tag2);
	assert_string_not_equal(tag, tag2);
	free(m);
}

/* ---- To tags ---- */

static void make_tag_of(const struct sip_hash_key *k, const char *text, char out[SIP_TAG_LEN + 1])
{
	struct outcome o;

	inbound(text, strlen(text), &o, true);
	assert_int_equal(o.code, 0);
	sip_msg_make_tag(k, o.msg, out);
	osip_message_free(o.msg);
}

static void test_tags(void **state)
{
	struct sip_hash_key k = { 0x1111, 0x2222 }, k2 = { 0x1111, 0x2223 };
	char t[SIP_TAG_LEN + 1], u[SIP_TAG_LEN + 1], *m;

	(void)state;
	make_tag_of(&k, invite, t);
	assert_int_equal(strlen(t), SIP_TAG_LEN);
	assert_int_equal(strspn(t, "0123456789abcdef"), SIP_TAG_LEN);
	make_tag_of(&k, invite, u);
	assert_string_equal(t, u);
	/* A retransmission through another hop, its ACK: the same tag. */
	m = edit(invite, "Via:", "Via: SIP/2.0/TCP 192.0.2.7;branch=z9hG4bKother");
	make_tag_of(&k, m, u);
	assert_string_equal(t, u);
	free(m);
	m = edit(invite, "CSeq:", "CSeq: 01 INVITE");
	make_tag_of(&k, m, u);
	assert_string_equal(t, u);
	free(m);
	/* Another CSeq, Call-ID, From tag or key: another tag. */
	m = edit(invite, "CSeq:", "CSeq: 2 INVITE");
	make_tag_of(&k, m, u);
	assert_string_not_equal(t, u);
	free(m);
	m = edit(invite, "Call-ID:", "Call-ID: c2@192.0.2.1");
	make_tag_of(&k, m, u);
	assert_string_not_equal(t, u);
	free(m);
	m = edit(invite, "From:", "From: <sip:alice@example.com>;tag=a2");
	make_tag_of(&k, m, u);
	assert_string_not_equal(t, u);
	free(m);
	make_tag_of(&k2, invite, u);
	assert_string_not_equal(t, u);
}

/* ---- RFC 4475 torture messages ---- */

static char *slurp(const char *name, size_t *len)
{
	char path[512], *buf;
	const char *src = __FILE__;
	size_t dir = strrchr(src, '/') ? (size_t)(strrchr(src, '/') - src) : 0;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%.*s%ssip-torture/%s.dat", (int)dir, src, dir ? "/" : "", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#define DROP	(-1)	/* no answer: not SIP, or a faulty response */

/*
 * What RFC 4475 wants, at this layer. The code is what the inbound path
 * answers (0: handled further). Application-layer answers are the
 * server's: 416 for a scheme it does not serve is checked here through
 * sip_msg_uri_scheme_ok() as server.c does; 420 (bext01), 415 (invut),
 * 401 (regaut01), 406 (sdp01) and 483 (zeromf, for what it forwards)
 * come after, so these messages must pass this layer.
 */
static const struct torture {
	const char	*name;
	int		code;
	const char	*reason_has;
} torture[] = {
	/* §3.1.1 valid */
	{ "wsinv", 0, NULL }, { "intmeth", 0, NULL }, { "esc01", 0, NULL },
	{ "escnull", 0, NULL }, { "esc02", 0, NULL }, { "lwsdisp", 0, NULL },
	{ "longreq", 0, NULL }, { "dblreq", 0, NULL }, { "semiuri", 0, NULL },
	{ "transports", 0, NULL }, { "mpart01", 0, NULL }, { "unreason", 0, NULL },
	{ "noreason", 0, NULL },
	/* §3.1.2 invalid */
	{ "badinv01", 400, "Via" }, { "clerr", 400, "Content-Length" },
	{ "ncl", 400, "Content-Length" }, { "scalar02", 400, NULL },
	{ "scalarlg", DROP, NULL }, { "quotbal", 400, "To" },
	{ "ltgtruri", 400, "Request-URI" }, { "lwsruri", 400, "Request-Line" },
	{ "lwsstart", 400, "Request-Line" }, { "trws", 400, "Request-Line" },
	{ "escruri", 400, "Request-URI" }, { "baddate", 400, "Date" },
	{ "regbadct", 400, "Contact" }, { "badaspec", 400, NULL },
	{ "baddn", 400, "From" }, { "badvers", 505, NULL },
	{ "mismatch01", 400, "CSeq" }, { "mismatch02", 400, "CSeq" },
	{ "bigcode", DROP, NULL },
	/* §3.2 transaction layer: a bare magic cookie is a legal branch */
	{ "badbranch", 0, NULL },
	/* §3.3 application layer */
	{ "insuf", 400, "Missing" }, { "unkscm", 416, NULL }, { "novelsc", 416, NULL },
	{ "unksm2", 0, NULL }, { "bext01", 0, NULL }, { "invut", 0, NULL },
	{ "regaut01", 0, NULL }, { "multi01", 400, "Duplicate" },
	{ "mcl01", 400, "Content-Length" }, { "bcast", 0, NULL }, { "zeromf", 0, NULL },
	{ "cparam01", 0, NULL }, { "cparam02", 0, NULL }, { "regescrt", 0, NULL },
	{ "sdp01", 0, NULL },
	/* §3.4 RFC 2543 */
	{ "inv2543", 0, NULL },
};

/* The answer the inbound path gives, as server.c would give it. */
static int torture_answer(const char *buf, size_t len, struct outcome *o)
{
	inbound(buf, len, o, true);
	if (o->scan_err)
		return DROP;
	if (!o->request && o->code) {
		if (o->msg)
			osip_message_free(o->msg);
		o->msg = NULL;
		return DROP;
	}
	if (!o->code && o->request && o->msg &&
	    !(o->msg->req_uri && sip_msg_uri_scheme_ok(o->msg->req_uri->scheme)))
		o->code = 416;
	return o->code;
}

static void test_torture(void **state)
{
	struct sockaddr_in src = sin4("203.0.113.5", 5060);
	int bad = 0;

	(void)state;
	assert_int_equal(sizeof(torture) / sizeof(torture[0]), 49);
	for (size_t i = 0; i < sizeof(torture) / sizeof(torture[0]); i++) {
		const struct torture *t = &torture[i];
		struct outcome o;
		size_t len;
		char *buf = slurp(t->name, &len);
		int code = torture_answer(buf, len, &o);

		if (code != t->code || (t->reason_has && !strstr(o.reason, t->reason_has))) {
			print_message("%s: got %d \"%s\", want %d (%s)\n", t->name, code,
				      o.reason, t->code, t->reason_has ? t->reason_has : "-");
			bad++;
		}
		/* Every request we answer can be answered. */
		if (o.msg && o.request && code > 0 && strcmp(o.msg->sip_method, "ACK")) {
			osip_message_t *r;
			char *text;
			size_t n;

			assert_int_equal(sip_msg_response(o.msg, code, o.reason, "tt",
							  (struct sockaddr *)&src, &r), 0);
			assert_int_equal(sip_msg_print(r, &text, &n), 0);
			osip_free(text);
			osip_message_free(r);
		} else if (!o.msg && code > 0) {
			char out[8192];
			struct sip_scan sc;

			assert_int_equal(sip_msg_scan(buf, len, &sc), 0);
			assert_true(sip_msg_raw_response(buf, &sc, code, o.reason, "tt", out,
							 sizeof(out)) > 0);
		}
		if (o.msg)
			osip_message_free(o.msg);
		free(buf);
	}
	assert_int_equal(bad, 0);
}

/* The whole path over every prefix of every torture message: no crash, no leak. */
static void test_torture_truncated(void **state)
{
	struct sockaddr_in src = sin4("203.0.113.5", 5060);
	struct sip_hash_key k = { 3, 4 };

	(void)state;
	for (size_t i = 0; i < sizeof(torture) / sizeof(torture[0]); i++) {
		size_t len, hl, full_end = 0;
		char *whole = slurp(torture[i].name, &len);
		struct sip_scan sc;

		if (!sip_msg_scan(whole, len, &sc))
			full_end = sc.hdr_end;
		free(whole);
		whole = slurp(torture[i].name, &len);
		for (size_t cut = 0; cut <= len; cut++) {
			char *buf = malloc(cut ? cut : 1), reason[128], out[4096], tag[SIP_TAG_LEN + 1];
			osip_message_t *m = NULL, *r;
			const char *why;
			int err, code;

			memcpy(buf, whole, cut);
			(void)sip_msg_frame(buf, cut, &hl);
			memcpy(buf, whole, cut);
			err = sip_msg_scan(buf, cut, &sc);
			if (full_end && cut < full_end && !err)
				fail_msg("%s cut at %zu: scanned without its blank line", torture[i].name, cut);
			if (err) {
				free(buf);
				continue;
			}
			if (sc.request) {
				(void)sip_msg_raw_response(buf, &sc, 400, NULL, "t", out, sizeof(out));
				sip_msg_make_tag_raw(&k, buf, &sc, tag);
			}
			if (sip_msg_parse(buf, cut, &sc, &m)) {
				(void)sip_msg_diagnose(buf, &sc, reason, sizeof(reason));
				free(buf);
				continue;
			}
			code = sip_msg_check(m, &sc, &why);
			if (MSG_IS_REQUEST(m)) {
				sip_msg_make_tag(&k, m, tag);
				if (!sip_msg_response(m, code ? code : 200, NULL, tag,
						      (struct sockaddr *)&src, &r)) {
					char *text;
					size_t n;

					if (!sip_msg_print(r, &text, &n))
						osip_free(text);
					osip_message_free(r);
				}
			}
			osip_message_free(m);
			free(buf);
		}
		free(whole);
	}
}

/* ip_ntop's IPv4 text is inet_ntop's, for every octet value in each place. */
static void test_ip_ntop(void **state)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	uint8_t q[16] = { 0 };

	(void)state;
	for (int v = 0; v < 256; v++)
		for (int i = 0; i < 4; i++) {
			memset(q, 0, 4);
			q[i] = (uint8_t)v;
			q[(i + 1) % 4] = (uint8_t)(255 - v);
			assert_string_equal(ip_ntop(AF_INET, q, a, sizeof(a)),
					    inet_ntop(AF_INET, q, b, sizeof(b)));
		}
	memset(q, 0, sizeof(q));
	q[0] = 0xfd;
	q[15] = 1;
	assert_string_equal(ip_ntop(AF_INET6, q, a, sizeof(a)), "fd00::1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_ip_ntop),
		cmocka_unit_test(test_start_line),
		cmocka_unit_test(test_header_end),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_mandatory),
		cmocka_unit_test(test_cseq_max_forwards),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_raw_response),
		cmocka_unit_test(test_trying_text),
		cmocka_unit_test(test_resp_text),
		cmocka_unit_test(test_resp_head_vias),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_torture),
		cmocka_unit_test(test_torture_truncated),
	};

	sip_msg_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

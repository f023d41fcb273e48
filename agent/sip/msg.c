// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP message scanning, checking and response building (see msg.h).
 *
 * The scan is strict where RFC 3261's grammar is and libosip2 is not: the
 * start line has exactly two single spaces and nothing after the version;
 * name-addr values have no whitespace inside their angle brackets and an
 * unquoted display name is tokens; an addr-spec without brackets carries
 * no '?' or ','. It is lenient where real phones are sloppy and nothing
 * is ambiguous: bare LF line ends, and UTF-8 in unquoted display names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "core/log.h"
#include "net/ip_str.h"
#include "sip/msg.h"

/* ---- the keyed hash: SipHash-2-4 ---- */

static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_round(struct sip_hash *h)
{
	h->v0 += h->v1;
	h->v1 = rotl64(h->v1, 13) ^ h->v0;
	h->v0 = rotl64(h->v0, 32);
	h->v2 += h->v3;
	h->v3 = rotl64(h->v3, 16) ^ h->v2;
	h->v0 += h->v3;
	h->v3 = rotl64(h->v3, 21) ^ h->v0;
	h->v2 += h->v1;
	h->v1 = rotl64(h->v1, 17) ^ h->v2;
	h->v2 = rotl64(h->v2, 32);
}

static void sip_hash_word(struct sip_hash *h, uint64_t m)
{
	h->v3 ^= m;
	sip_round(h);
	sip_round(h);
	h->v0 ^= m;
}

void sip_hash_key_random(struct sip_hash_key *k)
{
	if (getrandom(k, sizeof(*k), 0) != sizeof(*k)) {
		/* Only without a kernel RNG: still keyed, just guessable. */
		k->k0 = (uint64_t)(uintptr_t)k ^ 0x9e3779b97f4a7c15ULL;
		k->k1 = (uint64_t)time(NULL) * 0xbf58476d1ce4e5b9ULL;
	}
}

void sip_hash_init(struct sip_hash *h, const struct sip_hash_key *k)
{
	h->v0 = k->k0 ^ 0x736f6d6570736575ULL;
	h->v1 = k->k1 ^ 0x646f72616e646f6dULL;
	h->v2 = k->k0 ^ 0x6c7967656e657261ULL;
	h->v3 = k->k1 ^ 0x7465646279746573ULL;
	h->tail = 0;
	h->total = 0;
}

void sip_hash_update(struct sip_hash *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h->tail |= (uint64_t)p[i] << (8 * (h->total & 7));
		if ((++h->total & 7) == 0) {
			sip_hash_word(h, h->tail);
			h->tail = 0;
		}
	}
}

uint64_t sip_hash_final(struct sip_hash *h)
{
	sip_hash_word(h, h->tail | ((uint64_t)h->total << 56));
	h->v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(h);
	return h->v0 ^ h->v1 ^ h->v2 ^ h->v3;
}

uint64_t sip_hash_buf(const struct sip_hash_key *k, const void *data, size_t len)
{
	struct sip_hash h;

	sip_hash_init(&h, k);
	sip_hash_update(&h, data, len);
	return sip_hash_final(&h);
}

/* ---- libosip2's own messages ---- */

static void osip_trace_to_log(const char *fi, int li, osip_trace_level_t level,
			      const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	(void)fi;
	(void)li;
	(void)level;
	if (log_level_cur < L_DEBUG)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	LOG(L_DEBUG, "[sip] osip: %s", line);
}

void sip_msg_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	parser_init();
	osip_trace_initialize_func(OSIP_INFO1, osip_trace_to_log);
}

/* ---- scanning ---- */

static const char *const hdr_names[SIP_HDR__N][2] = {
	[SIP_HDR_VIA]		 = { "via", "v" },
	[SIP_HDR_FROM]		 = { "from", "f" },
	[SIP_HDR_TO]		 = { "to", "t" },
	[SIP_HDR_CALL_ID]	 = { "call-id", "i" },
	[SIP_HDR_CSEQ]		 = { "cseq", NULL },
	[SIP_HDR_CONTENT_LENGTH] = { "content-length", "l" },
	[SIP_HDR_MAX_FORWARDS]	 = { "max-forwards", NULL },
	[SIP_HDR_CONTACT]	 = { "contact", "m" },
	[SIP_HDR_DATE]		 = { "date", NULL },
};

static const char *const hdr_missing[SIP_HDR__N] = {
	[SIP_HDR_VIA]		= "Missing Via",
	[SIP_HDR_FROM]		= "Missing From",
	[SIP_HDR_TO]		= "Missing To",
	[SIP_HDR_CALL_ID]	= "Missing Call-ID",
	[SIP_HDR_CSEQ]		= "Missing CSeq",
};

static const char *const hdr_duplicate[SIP_HDR__N] = {
	[SIP_HDR_FROM]		= "Duplicate From",
	[SIP_HDR_TO]		= "Duplicate To",
	[SIP_HDR_CALL_ID]	= "Duplicate Call-ID",
	[SIP_HDR_CSEQ]		= "Duplicate CSeq",
	[SIP_HDR_MAX_FORWARDS]	= "Duplicate Max-Forwards",
	/* Even equal ones: libosip2 refuses a second Content-Length. */
	[SIP_HDR_CONTENT_LENGTH] = "Duplicate Content-Length",
};

/* RFC 3261 §25.1 token characters. */
static bool is_token(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-.!%*_+`'~", c));
}

static bool is_lws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static void fault(struct sip_scan *sc, int code, const char *reason)
{
	if (!sc->code) {
		sc->code = code;
		sc->reason = reason;
	}
}

static void trim(const char **p, size_t *n)
{
	while (*n && is_lws((unsigned char)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_lws((unsigned char)(*p)[*n - 1]))
		(*n)--;
}

/* A status line, or a request line held to RFC 3261 §25's exact form. */
static int scan_start_line(const char *p, size_t n, struct sip_scan *sc)
{
	size_t m, u, e, v, t;

	if (n >= 4 && !strncasecmp(p, "SIP/", 4)) {
		if (n < 11 || strncasecmp(p, "SIP/2.0 ", 8) || !is_digit(p[8]) ||
		    !is_digit(p[9]) || !is_digit(p[10]) || (n > 11 && p[11] != ' ') ||
		    p[8] < '1' || p[8] > '6')
			return -EBADMSG;
		sc->status = (p[8] - '0') * 100 + (p[9] - '0') * 10 + (p[10] - '0');
		sc->version = (struct sip_span){ 0, 7 };
		return 0;
	}
	/* Whatever ends in a SIP version is a SIP request, however malformed. */
	for (t = n; t && (p[t - 1] == ' ' || p[t - 1] == '\t'); t--)
		;
	for (v = t; v && p[v - 1] != ' ' && p[v - 1] != '\t'; v--)
		;
	for (m = 0; m < n && is_token((unsigned char)p[m]); m++)
		;
	if (!v || t - v < 5 || strncasecmp(p + v, "SIP/", 4) || !m)
		return -EBADMSG;
	sc->request = true;
	sc->method = (struct sip_span){ 0, (uint32_t)m };
	sc->version = (struct sip_span){ (uint32_t)v, (uint32_t)(t - v) };
	for (u = m + 1, e = u; e < n && p[e] != ' ' && p[e] != '\t'; e++)
		;
	sc->uri = (struct sip_span){ (uint32_t)u, (uint32_t)(e > u ? e - u : 0) };
	if (t - v != 7 || strncasecmp(p + v, "SIP/2.0", 7))
		fault(sc, 505, "Version Not Supported");
	if (p[m] != ' ' || e == u || e + 1 != v || p[e] != ' ' || t != n)
		fault(sc, 400, "Malformed Request-Line");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			fault(sc, 400, "Malformed Request-Line");
	if (!(p[u] >= 'a' && p[u] <= 'z') && !(p[u] >= 'A' && p[u] <= 'Z'))
		fault(sc, 400, "Malformed Request-URI");
	return 0;
}

/* Index just past the closing quote of the quoted string at p[i], or 0. */
static size_t quoted_end(const char *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return 0;
}

/*
 * One name-addr or addr-spec (RFC 3261 §20.10, §25.1), as libosip2 does
 * not check it: whitespace inside <>, an unquoted display name that is not
 * tokens, and '?' or ',' in an addr-spec outside brackets are refused.
 */
static bool addr_ok(const char *p, size_t n, bool star)
{
	size_t i, lt, gt;

	trim(&p, &n);
	if (!n)
		return false;
	lt = n;		/* after the trim: "a, b" has a blank after its comma */
	if (star && n == 1 && p[0] == '*')
		return true;
	for (i = 0; i < n && lt == n; i++) {
		if (p[i] == '"') {
			gt = quoted_end(p, n, i);
			if (!gt)
				return false;
			i = gt - 1;
		} else if (p[i] == '<') {
			lt = i;
		}
	}
	if (lt == n) {
		for (i = 0; i < n && p[i] != ';'; i++)
			if (strchr("?,\"<> \t\r\n", p[i]))
				break;
		if (i < n && p[i] != ';') {
			/* Whitespace before the parameters is LWS, not the URI. */
			while (i < n && is_lws((unsigned char)p[i]))
				i++;
			return i == n || p[i] == ';';
		}
		return true;
	}
	if (p[0] == '"') {
		i = quoted_end(p, n, 0);
		while (i < lt && is_lws((unsigned char)p[i]))
			i++;
		if (i != lt)
			return false;
	} else {
		for (i = 0; i < lt; i++)
			if (!is_token((unsigned char)p[i]) && !is_lws((unsigned char)p[i]) &&
			    (unsigned char)p[i] < 0x80)
				return false;
	}
	for (gt = lt + 1; gt < n && p[gt] != '>'; gt++)
		if (is_lws((unsigned char)p[gt]))
			return false;
	return gt < n && gt > lt + 1;
}

/* Contact: a list split at commas outside quotes and brackets. */
static bool addr_list_ok(const char *p, size_t n)
{
	bool inq = false, inb = false;
	size_t s = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || (!inq && !inb && p[i] == ',')) {
			if (!addr_ok(p + s, i - s, true))
				return false;
			s = i + 1;
		} else if (inq) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				inq = false;
		} else if (p[i] == '"') {
			inq = true;
		} else if (p[i] == '<') {
			inb = true;
		} else if (p[i] == '>') {
			inb = false;
		}
	}
	return true;
}

static void scan_content_length(const char *p, size_t n, struct sip_scan *sc)
{
	int64_t x = 0;

	trim(&p, &n);
	if (!n || n > 10)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			goto bad;
		x = x * 10 + (p[i] - '0');
	}
	if (sc->content_length >= 0 && sc->content_length != x) {
		fault(sc, 400, "Conflicting Content-Length");
		sc->framing_bad = true;
	}
	sc->content_length = x;
	return;
bad:
	fault(sc, 400, "Bad Content-Length");
	sc->framing_bad = true;
}

/*
 * A NUL byte is legal only as a quoted-pair inside a quoted string; there
 * it becomes a space, since libosip2's strings would end at it.
 */
static bool fix_nuls(char *p, size_t n)
{
	bool inq = false;

	for (size_t i = 0; i < n; i++) {
		if (!p[i])
			return false;
		if (inq && p[i] == '\\' && i + 1 < n) {
			if (!p[++i])
				p[i] = ' ';
		} else if (p[i] == '"') {
			inq = !inq;
		}
	}
	return true;
}

static int hdr_kind(const char *name, size_t n)
{
	for (int k = 0; k < SIP_HDR__N; k++)
		for (int j = 0; j < 2; j++)
			if (hdr_names[k][j] && strlen(hdr_names[k][j]) == n &&
			    !strncasecmp(hdr_names[k][j], name, n))
				return k;
	return -1;
}

struct hdr_line {
	struct sip_span	name;
	struct sip_span	line;	/* name to the last byte before the final line end */
	struct sip_span	value;	/* trimmed */
	bool		ok;	/* name and colon well formed */
};

/*
 * The header line at *pos (below end, the offset of the blank line),
 * folded continuation lines included. Returns false at the blank line.
 */
static bool hdr_next(const char *buf, size_t end, size_t *pos, struct hdr_line *h)
{
	size_t s = *pos, e, c;
	const char *nl, *v;
	size_t vn;

	if (s >= end)
		return false;
	nl = memchr(buf + s, '\n', end - s);
	e = nl ? (size_t)(nl - buf) + 1 : end;
	while (e < end && (buf[e] == ' ' || buf[e] == '\t')) {
		nl = memchr(buf + e, '\n', end - e);
		e = nl ? (size_t)(nl - buf) + 1 : end;
	}
	*pos = e;
	while (e > s && (buf[e - 1] == '\n' || buf[e - 1] == '\r'))
		e--;
	h->line = (struct sip_span){ (uint32_t)s, (uint32_t)(e - s) };
	for (c = s; c < e && is_token((unsigned char)buf[c]); c++)
		;
	h->name = (struct sip_span){ (uint32_t)s, (uint32_t)(c - s) };
	while (c < e && (buf[c] == ' ' || buf[c] == '\t'))
		c++;
	h->ok = h->name.len && c < e && buf[c] == ':';
	v = buf + c + 1;
	vn = c < e ? e - c - 1 : 0;
	trim(&v, &vn);
	h->value = (struct sip_span){ (uint32_t)(v - buf), (uint32_t)vn };
	return true;
}

static void scan_header(char *buf, const struct hdr_line *h, struct sip_scan *sc)
{
	const char *v = buf + h->value.off;
	int k;

	if (!h->ok || !fix_nuls(buf + h->line.off, h->line.len)) {
		fault(sc, 400, "Malformed header line");
		return;
	}
	k = hdr_kind(buf + h->name.off, h->name.len);
	if (k < 0)
		return;
	if (!sc->count[k]++) {
		sc->line[k] = h->line;
		sc->value[k] = h->value;
	}
	switch (k) {
	case SIP_HDR_CONTENT_LENGTH:
		scan_content_length(v, h->value.len, sc);
		break;
	case SIP_HDR_FROM:
		if (!addr_ok(v, h->value.len, false))
			fault(sc, 400, "Bad From header");
		break;
	case SIP_HDR_TO:
		if (!addr_ok(v, h->value.len, false))
			fault(sc, 400, "Bad To header");
		break;
	case SIP_HDR_CONTACT:
		if (!addr_list_ok(v, h->value.len))
			fault(sc, 400, "Bad Contact header");
		break;
	}
}

/* Offset just past the blank line that ends the header section, or 0. */
static size_t find_hdr_end(const char *buf, size_t len, size_t from)
{
	const char *nl;

	for (size_t i = from; i < len; i = (size_t)(nl - buf) + 1) {
		nl = memchr(buf + i, '\n', len - i);
		if (!nl || (size_t)(nl - buf) + 1 >= len)
			return 0;
		if (nl[1] == '\n')
			return (size_t)(nl - buf) + 2;
		if (nl[1] == '\r' && (size_t)(nl - buf) + 2 < len && nl[2] == '\n')
			return (size_t)(nl - buf) + 3;
	}
	return 0;
}

int sip_msg_scan(char *buf, size_t len, struct sip_scan *sc)
{
	struct hdr_line h;
	const char *nl;
	size_t sl, pos, end;
	int err;

	memset(sc, 0, sizeof(*sc));
	sc->content_length = -1;
	nl = memchr(buf, '\n', len);
	if (!nl)
		return -EAGAIN;
	sl = (size_t)(nl - buf);
	if (memchr(buf, '\0', sl))
		return -EBADMSG;
	err = scan_start_line(buf, sl && buf[sl - 1] == '\r' ? sl - 1 : sl, sc);
	if (err)
		return err;
	end = find_hdr_end(buf, len, sl);
	if (!end)
		return -EAGAIN;
	sc->hdr_end = (uint32_t)end;
	/* The blank line's own line end is not part of any header. */
	end -= buf[end - 2] == '\r' ? 2 : 1;
	for (pos = sl + 1; hdr_next(buf, end, &pos, &h);)
		scan_header(buf, &h, sc);
	/* A datagram shorter than its Content-Length (RFC 3261 §18.3). */
	if (sc->content_length > (int64_t)(len - sc->hdr_end))
		fault(sc, 400, "Content-Length larger than the message");
	for (int k = 0; k < SIP_HDR__N; k++) {
		if (hdr_missing[k] && !sc->count[k])
			fault(sc, 400, hdr_missing[k]);
		if (hdr_duplicate[k] && sc->count[k] > 1)
			fault(sc, 400, hdr_duplicate[k]);
	}
	return 0;
}

bool sip_scan_method_is(const char *buf, const struct sip_scan *sc, const char *method)
{
	return sc->request && strlen(method) == sc->method.len &&
	       !memcmp(buf + sc->method.off, method, sc->method.len);
}

long sip_msg_frame(char *buf, size_t len, size_t *hdr_len)
{
	struct sip_scan sc;
	int err;

	*hdr_len = 0;
	err = sip_msg_scan(buf, len, &sc);
	if (err == -EAGAIN)
		return len > SIP_MAX_MSG ? -EMSGSIZE : 0;
	if (err)
		return err;
	*hdr_len = sc.hdr_end;
	if (sc.framing_bad)
		return -EBADMSG;
	if (sc.content_length < 0)
		sc.content_length = 0;
	if ((uint64_t)sc.hdr_end + (uint64_t)sc.content_length > SIP_MAX_MSG)
		return -EMSGSIZE;
	if (sc.hdr_end + (size_t)sc.content_length > len)
		return 0;
	return (long)(sc.hdr_end + (size_t)sc.content_length);
}

/* ---- parsing ---- */

int sip_msg_parse(const char *buf, size_t len, const struct sip_scan *sc,
		  osip_message_t **out)
{
	osip_message_t *m;
	size_t n = len;

	if (sc->content_length >= 0 && (uint64_t)sc->hdr_end + (uint64_t)sc->content_length < len)
		n = sc->hdr_end + (size_t)sc->content_length;
	if (osip_message_init(&m))
		return -ENOMEM;
	/*
	 * Given a multipart body, libosip2 5.3 parses its parts itself and
	 * leaks a part's Content-Type when it has two (found by fuzz_sip);
	 * sluiced never looks inside a body but SDP, it only relays it. So the
	 * header section is parsed alone, its Content-Length read as 0, and
	 * the body attached as one opaque part with its real length.
	 */
	if (n > sc->hdr_end && sc->count[SIP_HDR_CONTENT_LENGTH] > 1) {
		osip_message_free(m);
		return -EBADMSG;	/* a body and several lengths: which one? */
	}
	if (n > sc->hdr_end) {
		const struct sip_span *v = &sc->value[SIP_HDR_CONTENT_LENGTH];
		char *head = malloc(sc->hdr_end + 1), len[24];
		int rc;

		if (!head) {
			osip_message_free(m);
			return -ENOMEM;
		}
		memcpy(head, buf, sc->hdr_end);
		head[sc->hdr_end] = '\0';
		if (sc->count[SIP_HDR_CONTENT_LENGTH]) {	/* none: a datagram's rest */
			memset(head + v->off, ' ', v->len);
			head[v->off] = '0';
		}
		rc = osip_message_parse(m, head, sc->hdr_end);
		free(head);
		snprintf(len, sizeof(len), "%zu", n - sc->hdr_end);
		osip_content_length_free(m->content_length);
		m->content_length = NULL;
		if (rc || osip_message_set_body(m, buf + sc->hdr_end, n - sc->hdr_end) ||
		    osip_message_set_content_length(m, len)) {
			osip_message_free(m);
			return -EBADMSG;
		}
	} else if (osip_message_parse(m, buf, n)) {
		osip_message_free(m);
		return -EBADMSG;
	}
	*out = m;
	return 0;
}

static const char *const canon_names[SIP_HDR__N] = {
	[SIP_HDR_VIA] = "Via", [SIP_HDR_FROM] = "From", [SIP_HDR_TO] = "To",
	[SIP_HDR_CALL_ID] = "Call-ID", [SIP_HDR_CSEQ] = "CSeq",
	[SIP_HDR_CONTENT_LENGTH] = "Content-Length", [SIP_HDR_MAX_FORWARDS] = "Max-Forwards",
	[SIP_HDR_CONTACT] = "Contact", [SIP_HDR_DATE] = "Date",
};

bool sip_msg_uri_scheme_ok(const char *scheme)
{
	return scheme && (!strcasecmp(scheme, "sip") || !strcasecmp(scheme, "sips") ||
			  !strcasecmp(scheme, "tel"));
}

/* Does libosip2 parse this one header line, alone under a plain request line? */
static bool header_parses(const char *line, size_t n, char *tmp)
{
	static const char head[] = "OPTIONS sip:x SIP/2.0\r\n";
	osip_message_t *m;
	size_t k = sizeof(head) - 1;
	bool ok;

	memcpy(tmp, head, k);
	memcpy(tmp + k, line, n);
	memcpy(tmp + k + n, "\r\n\r\n", 4);
	if (osip_message_init(&m))
		return true;
	ok = !osip_message_parse(m, tmp, k + n + 4);
	osip_message_free(m);
	return ok;
}

int sip_msg_diagnose(const char *buf, const struct sip_scan *sc, char *reason, size_t rlen)
{
	struct hdr_line h;
	char scheme[16], *tmp;
	size_t pos, end = sc->hdr_end, i;
	int code = 400;

	snprintf(reason, rlen, "Malformed message");
	if (sc->request) {
		for (i = 0; i < sc->uri.len && i < sizeof(scheme) - 1 &&
		     buf[sc->uri.off + i] != ':'; i++)
			scheme[i] = buf[sc->uri.off + i];
		scheme[i] = '\0';
		/* A scheme only when a colon ends it: "foo" is no URI at all. */
		if (i && i < sc->uri.len && buf[sc->uri.off + i] == ':' &&
		    !sip_msg_uri_scheme_ok(scheme)) {
			snprintf(reason, rlen, "Unsupported URI Scheme");
			return 416;
		}
	}
	tmp = malloc(end + 64);
	if (!tmp)
		return code;
	end -= buf[end - 2] == '\r' ? 2 : 1;
	pos = (const char *)memchr(buf, '\n', end) - buf + 1;
	while (hdr_next(buf, end, &pos, &h)) {
		int k;

		if (header_parses(buf + h.line.off, h.line.len, tmp))
			continue;
		k = hdr_kind(buf + h.name.off, h.name.len);
		if (k >= 0)
			snprintf(reason, rlen, "Bad %s header", canon_names[k]);
		else
			snprintf(reason, rlen, "Bad %.*s header", (int)(h.name.len > 40 ? 40 : h.name.len),
				 buf + h.name.off);
		break;
	}
	free(tmp);
	return code;
}

/* ---- checking ---- */

const char *sip_msg_header(const osip_message_t *m, const char *name, int pos)
{
	static const char *const compact[][2] = {
		{ "supported", "k" }, { "subject", "s" }, { "event", "o" },
		{ "refer-to", "r" }, { "referred-by", "b" }, { "allow-events", "u" },
		{ "session-expires", "x" }, { "identity", "y" }, { "accept-contact", "a" },
		{ "reject-contact", "j" }, { "request-disposition", "d" },
		{ "identity-info", "n" },
	};
	const char *alt = NULL;
	osip_header_t *h;

	for (size_t i = 0; i < sizeof(compact) / sizeof(compact[0]); i++)
		if (!strcasecmp(name, compact[i][0]))
			alt = compact[i][1];
	for (int i = 0; (h = osip_list_get(&m->headers, i)); i++) {
		if (!h->hname || (strcasecmp(h->hname, name) && (!alt || strcasecmp(h->hname, alt))))
			continue;
		if (pos-- == 0)
			return h->hvalue ? h->hvalue : "";
	}
	return NULL;
}

static const char *gen_param(osip_list_t *params, const char *name)
{
	osip_generic_param_t *p;

	if (osip_generic_param_get_byname(params, (char *)name, &p) || !p)
		return NULL;
	return p->gvalue ? p->gvalue : "";
}

const char *sip_msg_branch(const osip_message_t *m)
{
	osip_via_t *v = osip_list_get(&m->vias, 0);

	return v ? gen_param(&v->via_params, "branch") : NULL;
}

const char *sip_msg_from_tag(const osip_message_t *m)
{
	return m->from ? gen_param(&m->from->gen_params, "tag") : NULL;
}

const char *sip_msg_to_tag(const osip_message_t *m)
{
	return m->to ? gen_param(&m->to->gen_params, "tag") : NULL;
}

/* 1*DIGIT no larger than max (leading zeros allowed, as in "0068"). */
static bool number_ok(const char *s, unsigned long max)
{
	unsigned long x = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (!is_digit(*s))
			return false;
		x = x * 10 + (unsigned long)(*s - '0');
		if (x > max)
			return false;
	}
	return true;
}

static bool via_ok(const osip_via_t *v)
{
	return v->version && !strcmp(v->version, "2.0") && v->protocol && *v->protocol &&
	       v->host && *v->host && (!v->port || number_ok(v->port, 65535));
}

static int check_request(const osip_message_t *m, const char **reason)
{
	const char *mf = sip_msg_header(m, "max-forwards", 0);
	const char *branch = sip_msg_branch(m);
	const char *date;

	if (strcmp(m->cseq->method, m->sip_method)) {
		*reason = "CSeq method does not match the request";
		return 400;
	}
	/*
	 * A bare "z9hG4bK" is a legal token (RFC 4475 §3.2.1 badbranch): the
	 * request is handled, and the transaction layer matches it the RFC
	 * 2543 way since the branch names nothing unique.
	 */
	if (branch && !*branch) {
		*reason = "Bad Via branch";
		return 400;
	}
	/* RFC 2543 clients (no magic cookie) need not send Max-Forwards. */
	if (!mf && branch && !strncmp(branch, SIP_MAGIC_COOKIE, 7)) {
		*reason = "Missing Max-Forwards";
		return 400;
	}
	if (mf && !number_ok(mf, 255)) {
		*reason = "Bad Max-Forwards";
		return 400;
	}
	if (!m->req_uri || !m->req_uri->scheme) {
		*reason = "Malformed Request-URI";
		return 400;
	}
	if (osip_list_size(&m->req_uri->url_headers)) {
		*reason = "Headers in the Request-URI";
		return 400;
	}
	date = sip_msg_header(m, "date", 0);
	if (date && (strlen(date) < 4 || strcmp(date + strlen(date) - 4, " GMT"))) {
		*reason = "Bad Date";
		return 400;
	}
	return 0;
}

int sip_msg_check(const osip_message_t *m, const struct sip_scan *sc, const char **reason)
{
	osip_via_t *v;

	if (sc->code) {
		*reason = sc->reason;
		return sc->code;
	}
	if (!m->call_id || !m->call_id->number || !*m->call_id->number) {
		*reason = "Bad Call-ID";
		return 400;
	}
	if (!m->from || !m->from->url || !m->to || !m->to->url) {
		*reason = m->from && m->from->url ? "Bad To header" : "Bad From header";
		return 400;
	}
	if (!m->cseq || !m->cseq->method || !number_ok(m->cseq->number, 0x7fffffffUL)) {
		*reason = "Bad CSeq";
		return 400;
	}
	for (int i = 0; (v = osip_list_get(&m->vias, i)); i++) {
		if (!via_ok(v)) {
			*reason = "Bad Via";
			return 400;
		}
	}
	if (!osip_list_size(&m->vias)) {
		*reason = "Missing Via";
		return 400;
	}
	if (MSG_IS_REQUEST(m))
		return check_request(m, reason);
	return 0;
}

/* ---- tags ---- */

static void tag_hex(uint64_t x, char out[SIP_TAG_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = SIP_TAG_LEN - 1; i >= 0; i--, x >>= 4)
		out[i] = hex[x & 15];
	out[SIP_TAG_LEN] = '\0';
}

static void hash_str(struct sip_hash *h, const char *s)
{
	if (s)
		sip_hash_update(h, s, strlen(s));
	sip_hash_update(h, "\x01", 1);
}

void sip_msg_make_tag(const struct sip_hash_key *k, const osip_message_t *req,
		      char out[SIP_TAG_LEN + 1])
{
	const char *num = req->cseq ? req->cseq->number : NULL;
	struct sip_hash h;

	sip_hash_init(&h, k);
	if (req->call_id) {
		hash_str(&h, req->call_id->number);
		hash_str(&h, req->call_id->host);
	}
	hash_str(&h, sip_msg_from_tag(req));
	while (num && *num == '0' && num[1])
		num++;
	hash_str(&h, num);
	tag_hex(sip_hash_final(&h), out);
}

void sip_msg_make_tag_raw(const struct sip_hash_key *k, const char *buf,
			  const struct sip_scan *sc, char out[SIP_TAG_LEN + 1])
{
	static const int parts[] = { SIP_HDR_CALL_ID, SIP_HDR_FROM, SIP_HDR_CSEQ };
	struct sip_hash h;

	sip_hash_init(&h, k);
	sip_hash_update(&h, "raw", 3);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		sip_hash_update(&h, buf + sc->value[parts[i]].off, sc->value[parts[i]].len);
		sip_hash_update(&h, "\x01", 1);
	}
	tag_hex(sip_hash_final(&h), out);
}

/* ---- responses ---- */

static int set_param(osip_list_t *params, const char *name, const char *value)
{
	osip_generic_param_t *p;

	if (!osip_generic_param_get_byname(params, (char *)name, &p) && p) {
		osip_free(p->gvalue);
		p->gvalue = osip_strdup(value);
		return p->gvalue ? 0 : -ENOMEM;
	}
	return osip_generic_param_add(params, osip_strdup(name), osip_strdup(value)) ? -ENOMEM : 0;
}

/*
 * RFC 3261 §18.2.1 and RFC 3581: received= when the sent-by host is not
 * the source address (always when rport is asked for), rport= the source
 * port when asked for. Says which v needs, with their values: false when
 * src is of neither family (nothing to add).
 */
static bool via_source(const osip_via_t *v, const struct sockaddr *src,
		       char ip[INET6_ADDRSTRLEN], char port[8], bool *rport, bool *received)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char a[16];
	bool same = false;
	int fam = src->sa_family;
	const void *sa;
	size_t n;

	if (fam == AF_INET) {
		sa = &((const struct sockaddr_in *)src)->sin_addr;
		snprintf(port, 8, "%u", ntohs(((const struct sockaddr_in *)src)->sin_port));
	} else if (fam == AF_INET6) {
		sa = &((const struct sockaddr_in6 *)src)->sin6_addr;
		snprintf(port, 8, "%u", ntohs(((const struct sockaddr_in6 *)src)->sin6_port));
	} else {
		return false;
	}
	ip_ntop(fam, sa, ip, INET6_ADDRSTRLEN);
	n = v->host ? strlen(v->host) : 0;
	if (n && n < sizeof(host)) {
		if (v->host[0] == '[' && v->host[n - 1] == ']')
			snprintf(host, sizeof(host), "%.*s", (int)n - 2, v->host + 1);
		else
			snprintf(host, sizeof(host), "%s", v->host);
		same = inet_pton(fam, host, a) == 1 &&
		       !memcmp(a, sa, fam == AF_INET ? 4 : 16);
	}
	*rport = gen_param((osip_list_t *)&v->via_params, "rport") != NULL;
	*received = *rport || !same;
	return true;
}

/* Marks v, a copy of a request's top Via, with src (via_source()). */
static int via_mark_source(osip_via_t *v, const struct sockaddr *src)
{
	char ip[INET6_ADDRSTRLEN], port[8];
	bool rport, received;
	int err;

	if (!via_source(v, src, ip, port, &rport, &received))
		return 0;
	if (rport) {
		err = set_param(&v->via_params, "rport", port);
		if (err)
			return err;
	}
	if (received)
		return set_param(&v->via_params, "received", ip);
	return 0;
}

int sip_msg_response(const osip_message_t *req, int code, const char *reason,
		     const char *to_tag, const struct sockaddr *src, osip_message_t **out)
{
	const char *phrase = reason ? reason : osip_message_get_reason(code);
	osip_message_t *r;
	osip_via_t *v, *c;
	int err = -ENOMEM;

	if (osip_message_init(&r))
		return -ENOMEM;
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, code);
	osip_message_set_reason_phrase(r, osip_strdup(phrase ? phrase : "Unknown"));
	for (int i = 0; (v = osip_list_get(&req->vias, i)); i++) {
		err = -ENOMEM;
		if (osip_via_clone(v, &c))
			goto out_free;
		osip_list_add(&r->vias, c, -1);
		if (i == 0 && src && (err = via_mark_source(c, src)))
			goto out_free;
	}
	err = -ENOMEM;
	if ((req->from && osip_from_clone(req->from, &r->from)) ||
	    (req->to && osip_to_clone(req->to, &r->to)) ||
	    (req->call_id && osip_call_id_clone(req->call_id, &r->call_id)) ||
	    (req->cseq && osip_cseq_clone(req->cseq, &r->cseq)))
		goto out_free;
	if (r->to && code > 100 && to_tag && !sip_msg_to_tag(r) &&
	    osip_to_set_tag(r->to, osip_strdup(to_tag)))
		goto out_free;
	if (osip_message_set_content_length(r, "0"))
		goto out_free;
	*out = r;
	return 0;

out_free:
	osip_message_free(r);
	return err;
}

int sip_msg_print(osip_message_t *m, char **text, size_t *len)
{
	char *fit;

	osip_message_force_update(m);
	if (osip_message_to_str(m, text, len))
		return -ENOMEM;
	/*
	 * libosip2 prints into a buffer of SIP_MESSAGE_MAX_LENGTH (8,000 bytes)
	 * whatever the message's length; a transaction keeps what it sends for
	 * up to 32 s, so a 300-byte 200 to a REGISTER held 8 KB that long
	 * (500 MB at 2,000 registrations a second). Shrunk in place to fit.
	 */
	fit = realloc(*text, *len + 1);
	if (fit)
		*text = fit;
	return 0;
}

/* ---- raw responses ---- */

struct obuf {
	char	*p;
	size_t	len, cap;
	bool	over;
};

static void put(struct obuf *o, const char *s, size_t n)
{
	if (o->len + n >= o->cap) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_str(struct obuf *o, const char *s)
{
	put(o, s, strlen(s));
}

/*
 * A Via line printed from v as osip_via_to_str() prints it; given src, as
 * via_mark_source() would have marked it (the first rport and received
 * parameters get their values in place, a missing received goes last),
 * without copying v or allocating.
 */
static int put_via(struct obuf *o, const osip_via_t *v, const struct sockaddr *src)
{
	char ip[INET6_ADDRSTRLEN], port[8];
	bool rport = false, received = false;
	osip_generic_param_t *p;
	bool v6;

	if (!v->version || !v->protocol || !v->host)
		return -EINVAL;
	if (src)	/* leaves both false for a source of neither family */
		via_source(v, src, ip, port, &rport, &received);
	v6 = strchr(v->host, ':') != NULL;
	put_str(o, "Via: SIP/");
	put_str(o, v->version);
	put(o, "/", 1);
	put_str(o, v->protocol);
	put(o, v6 ? " [" : " ", v6 ? 2 : 1);
	put_str(o, v->host);
	if (v6)
		put(o, "]", 1);
	if (v->port) {
		put(o, ":", 1);
		put_str(o, v->port);
	}
	for (int i = 0; (p = osip_list_get(&v->via_params, i)); i++) {
		const char *value = p->gvalue;

		if (!p->gname)
			continue;
		if (rport && !strcasecmp(p->gname, "rport")) {
			value = port;
			rport = false;
		} else if (received && !strcasecmp(p->gname, "received")) {
			value = ip;
			received = false;
		}
		put(o, ";", 1);
		put_str(o, p->gname);
		if (value) {
			put(o, "=", 1);
			put_str(o, value);
		}
	}
	if (received) {
		put_str(o, ";received=");
		put_str(o, ip);
	}
	if (v->comment) {
		put(o, " (", 2);
		put_str(o, v->comment);
		put(o, ")", 1);
	}
	put(o, "\r\n", 2);
	return 0;
}

/* Is there a tag parameter after the address in this raw From/To value? */
static bool raw_has_tag(const char *p, size_t n)
{
	bool inq = false, inb = false;

	for (size_t i = 0; i < n; i++) {
		if (inq) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				inq = false;
			continue;
		}
		if (p[i] == '"')
			inq = true;
		else if (p[i] == '<')
			inb = true;
		else if (p[i] == '>')
			inb = false;
		else if (p[i] == ';' && !inb) {
			size_t j = i + 1;

			while (j < n && is_lws((unsigned char)p[j]))
				j++;
			if (j + 3 <= n && !strncasecmp(p + j, "tag", 3)) {
				j += 3;
				while (j < n && is_lws((unsigned char)p[j]))
					j++;
				if (j < n && p[j] == '=')
					return true;
			}
		}
	}
	return false;
}

int sip_msg_raw_response(const char *buf, const struct sip_scan *sc, int code,
			 const char *reason, const char *to_tag, char *out, size_t outlen)
{
	static const int once[] = { SIP_HDR_FROM, SIP_HDR_TO, SIP_HDR_CALL_ID, SIP_HDR_CSEQ };
	struct obuf o = { out, 0, outlen, false };
	struct hdr_line h;
	size_t pos, end = sc->hdr_end;
	char head[64];

	if (!sc->request || !sc->hdr_end || !sc->count[SIP_HDR_VIA] || sip_scan_method_is(buf, sc, "ACK"))
		return -EINVAL;
	if (!reason)
		reason = osip_message_get_reason(code);
	snprintf(head, sizeof(head), "SIP/2.0 %d ", code);
	put_str(&o, head);
	put_str(&o, reason ? reason : "Error");
	put(&o, "\r\n", 2);
	end -= buf[end - 2] == '\r' ? 2 : 1;
	pos = (const char *)memchr(buf, '\n', end) - buf + 1;
	while (hdr_next(buf, end, &pos, &h)) {
		if (hdr_kind(buf + h.name.off, h.name.len) != SIP_HDR_VIA)
			continue;
		put(&o, buf + h.line.off, h.line.len);
		put(&o, "\r\n", 2);
	}
	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		const struct sip_span *l = &sc->line[once[i]];

		/* What is missing stays missing (RFC 4475 §3.3.? insuf): still a 400. */
		if (!sc->count[once[i]])
			continue;
		put(&o, buf + l->off, l->len);
		if (once[i] == SIP_HDR_TO && to_tag && code > 100 &&
		    !raw_has_tag(buf + sc->value[SIP_HDR_TO].off, sc->value[SIP_HDR_TO].len)) {
			put(&o, ";tag=", 5);
			put_str(&o, to_tag);
		}
		put(&o, "\r\n", 2);
	}
	put_str(&o, "Content-Length: 0\r\n\r\n");
	return o.over ? -ENOSPC : (int)o.len;
}

int sip_msg_resp_head(const osip_message_t *req, const char *buf, const struct sip_scan *sc,
		      const struct sockaddr *src, char *out, size_t outlen,
		      struct sip_resp_head *h)
{
	static const int once[] = { SIP_HDR_FROM, SIP_HDR_TO, SIP_HDR_CALL_ID, SIP_HDR_CSEQ };
	struct obuf o = { out, 0, outlen, false };
	osip_via_t *v;
	int i, err;

	if (!sc->request || !sc->hdr_end)
		return -EINVAL;
	for (size_t k = 0; k < sizeof(once) / sizeof(once[0]); k++)
		if (sc->count[once[k]] != 1)
			return -EINVAL;
	for (i = 0; (v = osip_list_get(&req->vias, i)); i++) {
		err = put_via(&o, v, i == 0 ? src : NULL);
		if (err)
			return err;
	}
	if (!i)
		return -EINVAL;
	for (size_t k = 0; k < sizeof(once) / sizeof(once[0]); k++) {
		const struct sip_span *l = &sc->line[once[k]];

		put(&o, buf + l->off, l->len);
		if (once[k] == SIP_HDR_TO)
			h->to_end = (uint32_t)o.len;
		put(&o, "\r\n", 2);
	}
	if (o.over)
		return -ENOSPC;
	h->text = out;
	h->len = (uint32_t)o.len;
	h->to_tagged = sip_msg_to_tag(req) != NULL;
	return 0;
}

int sip_msg_resp_text(const struct sip_resp_head *h, int code, const char *reason,
		      const char *to_tag, const char *extra, size_t extra_len,
		      const char *body, size_t body_len, char *out, size_t outlen)
{
	struct obuf o = { out, 0, outlen, false };
	char num[32];

	if (code < 100 || code > 699 || h->to_end > h->len)
		return -EINVAL;
	if (!reason)
		reason = osip_message_get_reason(code);
	snprintf(num, sizeof(num), "SIP/2.0 %d ", code);
	put_str(&o, num);
	put_str(&o, reason ? reason : "Unknown");
	put(&o, "\r\n", 2);
	put(&o, h->text, h->to_end);
	if (code > 100 && to_tag && !h->to_tagged) {
		put(&o, ";tag=", 5);
		put_str(&o, to_tag);
	}
	put(&o, h->text + h->to_end, h->len - h->to_end);
	if (extra_len)
		put(&o, extra, extra_len);
	snprintf(num, sizeof(num), "Content-Length: %zu\r\n\r\n", body ? body_len : 0);
	put_str(&o, num);
	if (body && body_len)
		put(&o, body, body_len);
	return o.over ? -ENOSPC : (int)o.len;
}

int sip_msg_trying_text(const osip_message_t *req, const char *buf, const struct sip_scan *sc,
			const struct sockaddr *src, char *out, size_t outlen)
{
	struct sip_resp_head h;
	char head[8192];
	int err = sip_msg_resp_head(req, buf, sc, src, head,
				    outlen < sizeof(head) ? outlen : sizeof(head), &h);

	if (err)
		return err;
	return sip_msg_resp_text(&h, 100, "Trying", NULL, NULL, 0, NULL, 0, out, outlen);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * SDP parsing and rewriting over libosip2's SDP parser (see sdp.h).
 *
 * libosip2 accepts much that the relay cannot use (no c= for a stream, a
 * port that is not a number, an address family it does not know), so
 * every field the relay acts on is checked here and a precise reason is
 * given. The rewrite edits libosip2's tree in place and prints it again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_port.h>
#include <osipparser2/sdp_message.h>

#include "media/sdp.h"

static const char *const dir_names[] = { "sendrecv", "sendonly", "recvonly", "inactive" };

const char *sdp_dir_name(enum sdp_dir dir)
{
	return dir_names[dir];
}

static int fail(char *err, size_t errlen, const char *fmt, const char *what)
{
	snprintf(err, errlen, fmt, what ? what : "");
	return -EINVAL;
}

/* The clock of the RTP/AVP static payload types (RFC 3551) sluice meets. */
static uint32_t static_clock(int pt)
{
	if (pt >= 0 && pt <= 8)
		return 8000;
	switch (pt) {
	case 9:		/* G722: 8000 on the wire, RFC 3551's historical error */
	case 13:	/* CN */
	case 18:	/* G729 */
		return 8000;
	case 10:
	case 11:
		return 44100;
	case 26:
	case 31:
	case 32:
	case 33:
	case 34:
		return 90000;
	default:
		return 0;
	}
}

static bool parse_port(const char *s, uint16_t *out)
{
	char *end;
	long v;

	/* Digits only: strtol would also take a sign or leading blanks. */
	if (!s || *s < '0' || *s > '9')
		return false;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static int attr_dir(const char *field)
{
	int d;

	for (d = 0; d < 4; d++)
		if (!strcmp(field, dir_names[d]))
			return d;
	return -1;
}

/*
 * The family of a unicast "IN IP4 a.b.c.d" or "IN IP6 x::y", or 0. No
 * names (the relay would have to resolve them on the call path) and no
 * multicast (a relay forwards to one peer).
 */
static int unicast_family(const char *nettype, const char *addrtype, const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (!nettype || strcmp(nettype, "IN") || !addrtype || !addr)
		return 0;
	if (!strcmp(addrtype, "IP4") && inet_pton(AF_INET, addr, &a4) == 1)
		return IN_MULTICAST(ntohl(a4.s_addr)) ? 0 : AF_INET;
	if (!strcmp(addrtype, "IP6") && inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_MULTICAST(&a6) ? 0 : AF_INET6;
	return 0;
}

/* The old hold form "do not send to me" (RFC 2543), and its IPv6 twin. */
static bool is_hold_addr(const char *addr)
{
	return !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::");
}

/* Checks a c= line and gives its family. */
static int parse_conn(const sdp_connection_t *c, struct sdp_stream *st, char *err,
		      size_t errlen)
{
	if (!c->c_nettype || strcmp(c->c_nettype, "IN") || !c->c_addrtype || !c->c_addr)
		return fail(err, errlen, "c=: only IN IP4 and IN IP6 are supported%s", NULL);
	st->family = unicast_family(c->c_nettype, c->c_addrtype, c->c_addr);
	if (!st->family)
		return fail(err, errlen, "c=: bad or multicast address '%s'", c->c_addr);
	if (strlen(c->c_addr) >= sizeof(st->addr))
		return fail(err, errlen, "c=: address too long%s", NULL);
	strcpy(st->addr, c->c_addr);
	st->hold = is_hold_addr(c->c_addr);
	return 0;
}

/*
 * a=rtcp:PORT [IN IP4 ADDR] (RFC 3605). The address, when there is one,
 * must be of the stream's family: one relay address serves both ports.
 * That is checked once c= is known (rtcp_family).
 */
static int parse_rtcp(const char *v, struct sdp_stream *st, int *rtcp_family, char *err,
		      size_t errlen)
{
	char port[8], nettype[4], addrtype[4], addr[SDP_ADDR_MAX];
	int n = sscanf(v ? v : "", "%7s %3s %3s %63s", port, nettype, addrtype, addr);

	if (n < 1 || !parse_port(port, &st->rtcp_port) || !st->rtcp_port || (n > 1 && n != 4))
		return fail(err, errlen, "a=rtcp: bad value '%s'", v);
	if (n == 4) {
		*rtcp_family = unicast_family(nettype, addrtype, addr);
		if (!*rtcp_family)
			return fail(err, errlen, "a=rtcp: bad or multicast address '%s'", addr);
		strcpy(st->rtcp_addr, addr);
	}
	return 0;
}

/* a=rtpmap:PT NAME/CLOCK[/CHANNELS], for the stream's first payload type. */
static void parse_rtpmap(const char *v, struct sdp_stream *st)
{
	const char *slash;
	char *end;
	long pt;

	/* By hand, not sscanf: every offer has several of these. */
	if (!v)
		return;
	pt = strtol(v, &end, 10);
	if (end == v || *end != ' ' || pt != st->pt)
		return;
	slash = strchr(end, '/');
	if (slash)
		st->clock_rate = (uint32_t)strtoul(slash + 1, NULL, 10);
}

/* a=crypto (RFC 4568): the usable ones kept, every one counted. */
static void parse_crypto(const char *v, struct sdp_stream *st)
{
	if (st->ncrypto_seen < 255)
		st->ncrypto_seen++;
	if (st->ncrypto < SDES_MAX_LINES && !sdes_parse(v, &st->crypto[st->ncrypto]))
		st->ncrypto++;
}

/* a=fingerprint:sha-256 AB:CD:... (RFC 8122); another hash is not usable. */
static void parse_fingerprint(const char *v, struct sdp_stream *st)
{
	size_t n;

	if (!v || strncasecmp(v, "sha-256 ", 8))
		return;
	v += 8;
	n = strlen(v);
	/* 32 bytes: 95 characters of hex and colons. */
	if (n != 95 || strspn(v, "0123456789abcdefABCDEF:") != n)
		return;
	strcpy(st->fingerprint, v);
}

static void parse_setup(const char *v, struct sdp_stream *st)
{
	static const char *const names[] = { "", "actpass", "active", "passive", "holdconn" };

	for (int i = 1; v && i < 5; i++)
		if (!strcmp(v, names[i]))
			st->setup = (enum sdp_setup)i;
}

static int parse_attrs(const osip_list_t *attrs, struct sdp_stream *st, bool media_level,
		       int *rtcp_family, char *err, size_t errlen)
{
	int i, d, rc;

	for (i = 0; i < osip_list_size(attrs); i++) {
		const sdp_attribute_t *a = osip_list_get(attrs, i);

		if (!a->a_att_field)
			continue;
		d = attr_dir(a->a_att_field);
		if (d >= 0) {
			st->dir = (enum sdp_dir)d;
		} else if (media_level && !strcmp(a->a_att_field, "rtcp")) {
			rc = parse_rtcp(a->a_att_value, st, rtcp_family, err, errlen);
			if (rc)
				return rc;
		} else if (media_level && !strcmp(a->a_att_field, "rtcp-mux")) {
			st->rtcp_mux = true;
		} else if (media_level && !strcmp(a->a_att_field, "rtpmap")) {
			parse_rtpmap(a->a_att_value, st);
		} else if (media_level && !strcmp(a->a_att_field, "crypto")) {
			parse_crypto(a->a_att_value, st);
		} else if (!strcmp(a->a_att_field, "fingerprint")) {
			parse_fingerprint(a->a_att_value, st);
		} else if (!strcmp(a->a_att_field, "setup")) {
			parse_setup(a->a_att_value, st);
		} else if (media_level && !strcmp(a->a_att_field, "mid") && a->a_att_value &&
			   strlen(a->a_att_value) < sizeof(st->mid)) {
			strcpy(st->mid, a->a_att_value);
		}
	}
	return 0;
}

/*
 * The first format of the m= line: an RTP payload type for RTP profiles,
 * -1 for anything else (T.38's "t38", a data channel's name), which has
 * no RTP clock.
 */
static int first_pt(const sdp_media_t *m)
{
	const char *fmt = osip_list_get(&m->m_payloads, 0);
	char *end;
	long pt;

	if (!fmt || *fmt < '0' || *fmt > '9')
		return -1;
	pt = strtol(fmt, &end, 10);
	return *end || pt > 127 ? -1 : (int)pt;
}

/* The m= line itself: media, protocol, port, first format. */
static int parse_mline(const sdp_media_t *m, struct sdp_stream *st, char *err, size_t errlen)
{
	if (!m->m_media || !m->m_proto || strlen(m->m_media) >= sizeof(st->media) ||
	    strlen(m->m_proto) >= sizeof(st->proto))
		return fail(err, errlen, "m=: incomplete media line%s", NULL);
	strcpy(st->media, m->m_media);
	strcpy(st->proto, m->m_proto);
	if (!parse_port(m->m_port, &st->port))
		return fail(err, errlen, "m=: bad port '%s'", m->m_port);
	/* "m=audio 4000/2": layered encodings on several pairs; one is relayed. */
	if (m->m_number_of_port)
		return fail(err, errlen, "m=: port counts ('/%s') are not supported",
			    m->m_number_of_port);
	/* libosip2 takes an m= line without a format, RFC 4566 does not. */
	if (st->port && !osip_list_size(&m->m_payloads))
		return fail(err, errlen, "m=%s: no format", st->media);
	st->pt = first_pt(m);
	st->clock_rate = static_clock(st->pt);
	return 0;
}

static int parse_media(const sdp_message_t *sdp, const sdp_media_t *m, struct sdp_stream *st,
		       char *err, size_t errlen)
{
	const sdp_connection_t *c;
	int rc, rtcp_family = 0;

	memset(st, 0, sizeof(*st));
	rc = parse_mline(m, st, err, errlen);
	if (rc)
		return rc;

	/* Session-level direction first, the media's own wins. */
	rc = parse_attrs(&sdp->a_attributes, st, false, &rtcp_family, err, errlen);
	if (!rc)
		rc = parse_attrs(&m->a_attributes, st, true, &rtcp_family, err, errlen);
	if (rc)
		return rc;

	if (!st->port)
		st->rtcp_port = 0;	/* rejected: a=rtcp means nothing either */
	c = osip_list_get(&m->c_connections, 0);
	if (!c)
		c = sdp->c_connection;
	if (!c) {
		if (!st->port)
			return 0;	/* rejected: no address needed */
		return fail(err, errlen, "m=%s: no c= line for the stream", st->media);
	}
	rc = parse_conn(c, st, err, errlen);
	if (rc)
		return rc;
	if (rtcp_family && rtcp_family != st->family)
		return fail(err, errlen, "a=rtcp: address family differs from c= ('%s')",
			    st->rtcp_addr);
	if (!st->rtcp_port && st->port) {
		if (!st->rtcp_mux && st->port == 65535)
			return fail(err, errlen, "m=%s: no port left for RTCP above 65535",
				    st->media);
		st->rtcp_port = st->rtcp_mux ? st->port : (uint16_t)(st->port + 1);
	}
	if (!st->rtcp_addr[0])
		strcpy(st->rtcp_addr, st->addr);
	return 0;
}

/*
 * Every line ended by CRLF, the last one included. Phones send bare LF now
 * and then, and libosip2 5.3 reads past the end of a body whose lines end
 * in a mix of the two (found by tests/fuzz/fuzz_sdp.c).
 */
static char *normalize(const char *body, size_t len)
{
	char *text = malloc(2 * len + 3), *o = text;
	size_t i;

	if (!text)
		return NULL;
	for (i = 0; i < len; i++) {
		if (body[i] == '\r' || body[i] == '\n') {
			if (body[i] == '\r' && i + 1 < len && body[i + 1] == '\n')
				i++;
			*o++ = '\r';
			*o++ = '\n';
		} else {
			*o++ = body[i];
		}
	}
	if (o == text || o[-1] != '\n') {
		*o++ = '\r';
		*o++ = '\n';
	}
	*o = '\0';
	return text;
}

static int load(const char *body, size_t len, sdp_message_t **sdp, char *err, size_t errlen)
{
	char *text;
	int rc;

	if (!len || memchr(body, '\0', len))
		return fail(err, errlen, "empty SDP or a NUL byte in it%s", NULL);
	text = normalize(body, len);
	if (!text)
		return -ENOMEM;
	if (sdp_message_init(sdp)) {
		free(text);
		return -ENOMEM;
	}
	rc = sdp_message_parse(*sdp, text);
	free(text);
	if (rc) {
		sdp_message_free(*sdp);
		return fail(err, errlen, "SDP does not parse%s", NULL);
	}
	if (!(*sdp)->v_version || strcmp((*sdp)->v_version, "0") || !(*sdp)->o_addr ||
	    !(*sdp)->s_name) {
		sdp_message_free(*sdp);
		return fail(err, errlen, "SDP lacks v=0, o= or s=%s", NULL);
	}
	return 0;
}

/* Fills info from a loaded tree; what it refuses is not rewritten either. */
static int parse_tree(const sdp_message_t *sdp, struct sdp_info *info, char *err, size_t errlen)
{
	int i, n = osip_list_size(&sdp->m_medias), rc;

	memset(info, 0, sizeof(*info));
	if (n > SDP_MAX_STREAMS) {
		snprintf(err, errlen, "more than %d m= lines", SDP_MAX_STREAMS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		rc = parse_media(sdp, osip_list_get(&sdp->m_medias, i), &info->streams[i], err,
				 errlen);
		if (rc)
			return rc;
	}
	info->nstreams = n;
	return 0;
}

int sdp_parse(const char *body, size_t len, struct sdp_info *out, char *err, size_t errlen)
{
	sdp_message_t *sdp;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = load(body, len, &sdp, err, errlen);
	if (rc)
		return rc;
	rc = parse_tree(sdp, out, err, errlen);
	sdp_message_free(sdp);
	return rc;
}

/* RFC 8839's attributes, RFC 8840's end-of-candidates, and any later ice-*. */
static bool is_ice(const char *field)
{
	return !strncmp(field, "ice-", 4) || !strcmp(field, "candidate") ||
	       !strcmp(field, "remote-candidates") || !strcmp(field, "end-of-candidates");
}

static int replace_str(char **field, const char *value)
{
	char *dup = osip_strdup(value);

	if (!dup)
		return -ENOMEM;
	osip_free(*field);
	*field = dup;
	return 0;
}

static int rewrite_conn(sdp_connection_t *c, const char *addr, const char *addrtype)
{
	if (!c)
		return 0;
	/* The old hold form keeps meaning "do not send to me". */
	if (c->c_addr && is_hold_addr(c->c_addr))
		return 0;
	if (replace_str(&c->c_addr, addr) || replace_str(&c->c_addrtype, addrtype))
		return -ENOMEM;
	return 0;
}

static void drop_attr(osip_list_t *attrs, int i)
{
	sdp_attribute_t *a = osip_list_get(attrs, i);

	osip_list_remove(attrs, i);
	sdp_attribute_free(a);
}

/* a=rtcp-mux at the end of a media section that lacks it. */
static int add_mux(osip_list_t *attrs)
{
	sdp_attribute_t *a;

	if (sdp_attribute_init(&a))
		return -ENOMEM;
	a->a_att_field = osip_strdup("rtcp-mux");
	if (!a->a_att_field || osip_list_add(attrs, a, -1) < 0) {
		sdp_attribute_free(a);
		return -ENOMEM;
	}
	return 0;
}

/* The relay's RTCP port in a=rtcp, by the multiplexing that goes out. */
static uint16_t rtcp_port_out(const sdp_attribute_t *a, enum sdp_mux_out mux, uint16_t old_port,
			      uint16_t port)
{
	if (mux == SDP_MUX_ONLY)
		return port;
	if (mux == SDP_MUX_KEEP && a->a_att_value && atoi(a->a_att_value) == old_port)
		return port;	/* the offer muxed RTCP onto the RTP port (RFC 5761 5.1.3) */
	return (uint16_t)(port + 1);
}

/*
 * Drops ICE, points a=rtcp at the relay and puts a=rtcp-mux in or out as
 * mux says. A rejected stream (port 0) loses its a=rtcp, which would only
 * reveal the peer's address.
 */
static int rewrite_attrs(osip_list_t *attrs, const struct sdp_rewrite *rw, const char *addrtype,
			 bool media, uint16_t old_port, uint16_t port, enum sdp_mux_out mux)
{
	bool has_mux = false;
	int i;

	for (i = 0; i < osip_list_size(attrs); i++) {
		sdp_attribute_t *a = osip_list_get(attrs, i);
		char v[96];

		if (!a->a_att_field)
			continue;
		if ((!rw->keep_ice || rw->ice_ufrag) && is_ice(a->a_att_field)) {
			drop_attr(attrs, i--);
		} else if (media && !strcmp(a->a_att_field, "rtcp-mux")) {
			if (mux == SDP_MUX_OFF && port)
				drop_attr(attrs, i--);
			else
				has_mux = true;
		} else if (media && !strcmp(a->a_att_field, "rtcp")) {
			if (!port) {
				drop_attr(attrs, i--);
				continue;
			}
			snprintf(v, sizeof(v), "%u IN %s %s", rtcp_port_out(a, mux, old_port, port),
				 addrtype, rw->addr);
			if (replace_str(&a->a_att_value, v))
				return -ENOMEM;
		}
	}
	if (media && port && !has_mux && (mux == SDP_MUX_OFFER || mux == SDP_MUX_ONLY))
		return add_mux(attrs);
	return 0;
}

enum sdp_proto_kind sdp_proto_kind(const char *p)
{
	if (!strcasecmp(p, "RTP/AVP") || !strcasecmp(p, "RTP/AVPF"))
		return SDP_PROTO_RTP;
	if (!strcasecmp(p, "RTP/SAVP") || !strcasecmp(p, "RTP/SAVPF"))
		return SDP_PROTO_SRTP;
	if (!strcasecmp(p, "UDP/TLS/RTP/SAVP") || !strcasecmp(p, "UDP/TLS/RTP/SAVPF"))
		return SDP_PROTO_DTLS;
	return SDP_PROTO_OTHER;
}

int sdp_proto_convert(const char *from, const char *to, char *err, size_t errlen)
{
	enum sdp_proto_kind f = sdp_proto_kind(from), t = sdp_proto_kind(to);

	if (!strcasecmp(from, to))
		return 0;
	if (t == SDP_PROTO_OTHER)
		return fail(err, errlen, "transport-protocol %s: not an RTP profile", to);
	if (f == SDP_PROTO_OTHER) {
		snprintf(err, errlen, "transport-protocol %s: %s is not an RTP profile", to, from);
		return -EINVAL;
	}
	return 0;
}

bool sdp_proto_is_srtp(const char *proto)
{
	return sdp_proto_kind(proto) == SDP_PROTO_SRTP;
}

/* A profile with RTCP feedback (RFC 4585): its name ends in F. */
static bool has_feedback(const char *proto)
{
	size_t n = strlen(proto);

	return n && (proto[n - 1] == 'F' || proto[n - 1] == 'f');
}

/* Its transport protocol, and a=rtcp-fb gone where the new one has no feedback. */
static int rewrite_proto(sdp_media_t *m, const char *proto)
{
	int i;

	if (!proto || !m->m_proto || !strcmp(m->m_proto, proto))
		return 0;
	if (replace_str(&m->m_proto, proto))
		return -ENOMEM;
	if (has_feedback(proto))
		return 0;
	for (i = 0; i < osip_list_size(&m->a_attributes); i++) {
		sdp_attribute_t *a = osip_list_get(&m->a_attributes, i);

		if (a->a_att_field && !strcmp(a->a_att_field, "rtcp-fb"))
			drop_attr(&m->a_attributes, i--);
	}
	return 0;
}

static bool has_attr(const osip_list_t *attrs, const char *field);

static bool is_keying(const char *field)
{
	return !strcmp(field, "crypto") || !strcmp(field, "fingerprint") || !strcmp(field, "setup");
}

/* The keying replaced by the relay's own (sdp.h), or kept (NULL); a=mid added. */
static int rewrite_crypto(sdp_media_t *m, const char *crypto, const char *mid)
{
	const char *p, *nl, *colon;
	int i;

	if (mid && !has_attr(&m->a_attributes, "mid")) {
		sdp_attribute_t *a;

		if (sdp_attribute_init(&a))
			return -ENOMEM;
		a->a_att_field = osip_strdup("mid");
		a->a_att_value = osip_strdup(mid);
		if (!a->a_att_field || !a->a_att_value || osip_list_add(&m->a_attributes, a, -1) < 0) {
			sdp_attribute_free(a);
			return -ENOMEM;
		}
	}
	if (!crypto)
		return 0;
	for (i = 0; i < osip_list_size(&m->a_attributes); i++) {
		sdp_attribute_t *a = osip_list_get(&m->a_attributes, i);

		if (a->a_att_field && is_keying(a->a_att_field))
			drop_attr(&m->a_attributes, i--);
	}
	for (p = crypto; (nl = strchr(p, '\n')); p = nl + 1) {
		sdp_attribute_t *a;

		colon = memchr(p, ':', (size_t)(nl - p));
		if (!colon)
			continue;
		if (sdp_attribute_init(&a))
			return -ENOMEM;
		a->a_att_field = osip_malloc((size_t)(colon - p) + 1);
		if (a->a_att_field)
			osip_strncpy(a->a_att_field, p, (size_t)(colon - p));
		a->a_att_value = osip_malloc((size_t)(nl - colon));
		if (a->a_att_value)
			osip_strncpy(a->a_att_value, colon + 1, (size_t)(nl - colon - 1));
		if (!a->a_att_field || !a->a_att_value ||
		    osip_list_add(&m->a_attributes, a, -1) < 0) {
			sdp_attribute_free(a);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * One m= section: its relay port, every c= and its attributes. A rejected
 * stream stays rejected, but its c= too points at the relay (topology
 * hiding) and it loses ICE like the others.
 */
static int rewrite_media(sdp_media_t *m, const struct sdp_rewrite *rw, const char *addrtype,
			 uint16_t relay_port, const char *proto, const char *crypto,
			 const char *mid, enum sdp_mux_out mux, char *err, size_t errlen)
{
	uint16_t old = 0;
	char port[8];
	int c;

	parse_port(m->m_port, &old);	/* parse_mline() checked it */
	if (old) {
		if (!relay_port)
			return fail(err, errlen, "m=%s: no relay port for the stream", m->m_media);
		snprintf(port, sizeof(port), "%u", relay_port);
		if (replace_str(&m->m_port, port))
			return -ENOMEM;
	}
	for (c = 0; c < osip_list_size(&m->c_connections); c++)
		if (rewrite_conn(osip_list_get(&m->c_connections, c), rw->addr, addrtype))
			return -ENOMEM;
	if (rewrite_proto(m, proto) || rewrite_crypto(m, crypto, mid))
		return -ENOMEM;
	return rewrite_attrs(&m->a_attributes, rw, addrtype, true, old, old ? relay_port : 0, mux);
}

/* Adds an attribute at session level (pos -1) or to m= line pos. */
static int add_attr(sdp_message_t *sdp, int pos, const char *field, const char *value)
{
	char *f = osip_strdup(field), *v = value ? osip_strdup(value) : NULL;

	if (f && (v || !value) && !sdp_message_a_attribute_add(sdp, pos, f, v))
		return 0;
	osip_free(f);
	osip_free(v);
	return -ENOMEM;
}

static bool has_attr(const osip_list_t *attrs, const char *field)
{
	for (int i = 0; i < osip_list_size(attrs); i++) {
		const sdp_attribute_t *a = osip_list_get(attrs, i);

		if (a->a_att_field && !strcmp(a->a_att_field, field))
			return true;
	}
	return false;
}

/*
 * RFC 8445 §5.1.2.1's recommended priority of a host candidate (type
 * preference 126, one address: local preference 65535) of component comp.
 */
#define ICE_HOST_PRIORITY(comp)	((126u << 24) | (65535u << 8) | (256u - (comp)))

static int add_candidate(sdp_message_t *sdp, int pos, unsigned comp, const char *addr,
			 unsigned port)
{
	char v[128];

	/* One foundation: same type, same base address, same transport. */
	snprintf(v, sizeof(v), "1 %u UDP %u %s %u typ host", comp, ICE_HOST_PRIORITY(comp),
		 addr, port);
	return add_attr(sdp, pos, "candidate", v);
}

/* The relay's ICE-lite agent in place of the peer's ICE (sdp.h). */
static int add_ice(sdp_message_t *sdp, const struct sdp_rewrite *rw)
{
	int i, rc, n = osip_list_size(&sdp->m_medias);

	if (!rw->ice_ufrag)
		return 0;
	if (add_attr(sdp, -1, "ice-lite", NULL) || add_attr(sdp, -1, "ice-ufrag", rw->ice_ufrag) ||
	    add_attr(sdp, -1, "ice-pwd", rw->ice_pwd))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		sdp_media_t *m = osip_list_get(&sdp->m_medias, i);
		uint16_t port = 0;

		if (!parse_port(m->m_port, &port) || !port)
			continue;	/* rejected: no candidates */
		/* RTCP's own candidate unless it is muxed for sure (an offer may be declined). */
		rc = add_candidate(sdp, i, 1, rw->addr, port);
		if (!rc && rw->mux[i] != SDP_MUX_ONLY &&
		    (rw->mux[i] == SDP_MUX_OFFER || !has_attr(&m->a_attributes, "rtcp-mux")))
			rc = add_candidate(sdp, i, 2, rw->addr, port + 1u);
		if (rc)
			return rc;
	}
	return 0;
}

static int rewrite_tree(sdp_message_t *sdp, const struct sdp_rewrite *rw, char *err,
			size_t errlen)
{
	const char *addrtype;
	int i, n = osip_list_size(&sdp->m_medias), rc;

	if (!rw->addr)
		return fail(err, errlen, "no relay address to rewrite to%s", NULL);
	addrtype = strchr(rw->addr, ':') ? "IP6" : "IP4";
	if (n > SDP_MAX_STREAMS)
		return -EINVAL;		/* parse_tree() refused it already */
	if (replace_str(&sdp->o_addr, rw->addr) || replace_str(&sdp->o_addrtype, addrtype) ||
	    rewrite_conn(sdp->c_connection, rw->addr, addrtype) ||
	    rewrite_attrs(&sdp->a_attributes, rw, addrtype, false, 0, 0, SDP_MUX_KEEP))
		return -ENOMEM;
	/* The relay keys a stream itself: the sender's session-level DTLS keying goes too. */
	for (i = 0; i < n && !rw->crypto[i]; i++)
		;
	for (int k = 0; i < n && k < osip_list_size(&sdp->a_attributes); k++) {
		sdp_attribute_t *a = osip_list_get(&sdp->a_attributes, k);

		if (a->a_att_field && is_keying(a->a_att_field))
			drop_attr(&sdp->a_attributes, k--);
	}
	for (i = 0; i < n; i++) {
		rc = rewrite_media(osip_list_get(&sdp->m_medias, i), rw, addrtype, rw->ports[i],
				   rw->proto[i], rw->crypto[i], rw->mid[i],
				   (enum sdp_mux_out)rw->mux[i], err, errlen);
		if (rc)
			return rc;
	}
	return add_ice(sdp, rw);
}

static int print_tree(sdp_message_t *sdp, char **out, char *err, size_t errlen)
{
	char *text = NULL;

	if (sdp_message_to_str(sdp, &text))
		return fail(err, errlen, "SDP cannot be printed%s", NULL);
	/* libosip2 allocates with its own allocator; hand out plain malloc. */
	*out = strdup(text);
	osip_free(text);
	return *out ? 0 : -ENOMEM;
}

int sdp_negotiate(const char *body, size_t len, struct sdp_rewrite *rw, sdp_stream_fn fn,
		  void *arg, char **out, char *err, size_t errlen)
{
	struct sdp_info info;
	sdp_message_t *sdp;
	int i, rc;

	*out = NULL;
	rc = load(body, len, &sdp, err, errlen);
	if (rc)
		return rc;
	rc = parse_tree(sdp, &info, err, errlen);
	for (i = 0; !rc && i < info.nstreams; i++)
		rc = fn(i, &info.streams[i], &rw->ports[i], arg, err, errlen);
	if (!rc)
		rc = fn(-1, NULL, NULL, arg, err, errlen);	/* the end: info.nstreams seen */
	if (!rc)
		rc = rewrite_tree(sdp, rw, err, errlen);
	if (!rc)
		rc = print_tree(sdp, out, err, errlen);
	sdp_message_free(sdp);
	return rc;
}

int sdp_rewrite(const char *body, size_t len, const struct sdp_rewrite *rw, char **out,
		char *err, size_t errlen)
{
	struct sdp_info info;
	sdp_message_t *sdp;
	int rc;

	*out = NULL;
	rc = load(body, len, &sdp, err, errlen);
	if (rc)
		return rc;
	rc = parse_tree(sdp, &info, err, errlen);
	if (!rc)
		rc = rewrite_tree(sdp, rw, err, errlen);
	if (!rc)
		rc = print_tree(sdp, out, err, errlen);
	sdp_message_free(sdp);
	return rc;
}

int sdp_first_codec(const char *body, size_t len, char *out, size_t n)
{
	struct sdp_info info;
	char err[64], want[32];
	const char *map;
	int pt;

	out[0] = '\0';
	if (sdp_parse(body, len, &info, err, sizeof(err)) || !info.nstreams || info.streams[0].pt < 0)
		return -EINVAL;
	pt = info.streams[0].pt;
	snprintf(want, sizeof(want), "a=rtpmap:%d ", pt);
	map = memmem(body, len, want, strlen(want));
	if (map) {
		const char *v = map + strlen(want), *end = body + len;
		size_t k = 0;

		while (v + k < end && v[k] != '\r' && v[k] != '\n')
			k++;
		snprintf(out, n, "%.*s", (int)k, v);
	}
	if (!out[0]) {
		/* RFC 3551's static types a relay meets. */
		snprintf(out, n, "%s", pt == 0 ? "PCMU/8000" : pt == 8 ? "PCMA/8000" :
			 pt == 9 ? "G722/8000" : pt == 18 ? "G729/8000" : pt == 3 ? "GSM/8000" : "");
		if (!out[0])
			snprintf(out, n, "%d", pt);
	}
	return 0;
}

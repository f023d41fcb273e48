// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rtpproxy protocol (see rtpproxy.h): commands, sessions, the reply
 * cache. The sockets are in rtpproxy_sock.c.
 *
 * A command is whitespace-separated words, the first one a letter and its
 * modifiers, case-insensitive:
 *
 *   V                                      -> 20040107
 *   VF <datestamp>                         -> 1 if that extension is here, else 0
 *   U<mods> call-id addr port from-tag [to-tag [notify-sock notify-tag]]
 *   L<mods> call-id addr port from-tag to-tag
 *                                          -> <port> <address>[ 6]
 *   D<w> call-id from-tag [to-tag]         -> 0
 *   Q<v> call-id from-tag to-tag [names]   -> ttl in out relayed dropped
 *   I<b>                                   -> counters, one per line
 *   X                                      -> 0 (every session deleted)
 *
 * Tags carry the media number after a ';' (Kamailio always sends one:
 * "tag;1"); each media number is a session of its own, as in rtpproxy.
 * The side whose tag comes first in U sends the offer; L's address is the
 * other side's, its first tag still the offerer's. A session is leg 0 of
 * sluice's media layer for its creator's tag, leg 1 for the other.
 *
 * Modifiers that ask for what a kernel relay does not do (A: no latching,
 * Z: re-packetization, c: codec filtering, E/I: bridging two interfaces,
 * l/r: a local address, W: weak sessions, n: a new port) are accepted and
 * change nothing: media flows symmetric and latched, as sent.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ctl/rtpproxy.h"
#include "store/queue.h"

#define RTPP_MAX_ARGS	12
#define RTPP_REPLY_MAX	1024
#define RTPP_OWNER	"rtpproxy\n"

struct rtpp_sess {
	struct rtpp_sess	*next;
	struct rtpproxy		*rp;
	char			call_id[256];
	char			tag[2][128];	/* leg 0: the creator's, leg 1 */
	unsigned		medianum;	/* the tags' ";N", 0: none */
	struct media_session	*s;
};

/* Extensions (VF) this relay answers 1 to: what its U/L/Q accept. */
static const char *const rtpp_caps[] = {
	RTPP_VERSION,	/* basic functionality */
	"20050322",	/* multiple streams per call (media numbers) */
	"20071116",	/* Z<ptime>: accepted, the relay forwards as sent */
	"20080403",	/* Q: statistics */
	"20081102",	/* c<codecs>: accepted */
};

struct rtpp_cmd {
	int		argc;
	char		*argv[RTPP_MAX_ARGS];
};

/* A handler's error: negative, E0 included. */
static int rtpp_err(int ecode)
{
	return -1 - ecode;
}

/* ---- sessions ---- */

/* "tag;3" -> "tag", 3; no ';': 0, which matches only sessions without one. */
static void split_tag(const char *in, char *tag, size_t len, unsigned *medianum)
{
	const char *semi = strrchr(in, ';');
	size_t n = semi ? (size_t)(semi - in) : strlen(in);

	*medianum = 0;
	if (semi && semi[1] && strspn(semi + 1, "0123456789") == strlen(semi + 1))
		*medianum = (unsigned)strtoul(semi + 1, NULL, 10);
	else
		n = strlen(in);
	if (n >= len)
		n = len - 1;
	memcpy(tag, in, n);
	tag[n] = '\0';
}

static void sess_owner_data(struct rtpp_sess *r)
{
	snprintf(r->s->owner_data, sizeof(r->s->owner_data), RTPP_OWNER "%s\n%s\n%s\n%u",
		 r->call_id, r->tag[0], r->tag[1], r->medianum);
}

static void sess_free(struct rtpproxy *rp, struct rtpp_sess *r)
{
	struct rtpp_sess **pp;

	for (pp = &rp->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			rp->nsessions--;
			break;
		}
	}
	media_session_destroy(r->s);
	free(r);
}

/* rtpproxy forgets a session whose media stopped; the module learns it on D. */
static void on_dead(struct media_session *s, void *owner)
{
	struct rtpp_sess *r = owner;

	(void)s;
	LOG(L_INFO, "[ctl] rtpproxy: session %s;%u timed out, deleted", r->call_id,
	    r->medianum);
	sess_free(r->rp, r);
}

/*
 * The session of call_id and medianum that tag `a` or `b` names, and the
 * index rtpproxy gives the match: 0 when `a` is its creator's tag, 1 when
 * `b` is. b may be "".
 */
static struct rtpp_sess *sess_find(struct rtpproxy *rp, const char *call_id, const char *a,
				   const char *b, unsigned medianum, int *idx)
{
	struct rtpp_sess *r;

	for (r = rp->sessions; r; r = r->next) {
		if (strcmp(r->call_id, call_id) || r->medianum != medianum)
			continue;
		if (!strcmp(r->tag[0], a)) {
			*idx = 0;
			return r;
		}
		if (b[0] && !strcmp(r->tag[0], b)) {
			*idx = 1;
			return r;
		}
	}
	return NULL;
}

static struct rtpp_sess *sess_new(struct rtpproxy *rp, const char *call_id, const char *tag,
				  unsigned medianum)
{
	struct rtpp_sess *r = calloc(1, sizeof(*r));
	char id[64];

	if (!r)
		return NULL;
	/* The media layer's id is its database key: unique, not the call-id alone. */
	snprintf(id, sizeof(id), "rtpp-%" PRIx64 "-%u-%.30s", loop_now_ms(rp->loop), rp->seq++,
		 call_id);
	r->s = media_session_new(rp->media, id, on_dead, r);
	if (!r->s) {
		free(r);
		return NULL;
	}
	r->rp = rp;
	snprintf(r->call_id, sizeof(r->call_id), "%s", call_id);
	snprintf(r->tag[0], sizeof(r->tag[0]), "%s", tag);
	r->medianum = medianum;
	r->next = rp->sessions;
	rp->sessions = r;
	rp->nsessions++;
	rp->created++;
	return r;
}

/* ---- U and L ---- */

struct ul_opts {
	int		family;
	int		pt;		/* first of c<codecs>, -1: none */
};

/*
 * U and L modifiers; a number right after Z or c (Z20, c0,8,101) and an
 * address after l or r belong to them. -1 when all parse, else the E-code.
 */
static int ul_modifiers(const char *p, struct ul_opts *o)
{
	char *end;
	long v;

	o->family = AF_INET;
	o->pt = -1;
	for (; *p; p++) {
		switch (tolower((unsigned char)*p)) {
		case 'a': case 's': case 'w': case 'e': case 'i': case 'n':
			break;
		case '6':
			o->family = AF_INET6;
			break;
		case 'z':
			v = strtol(p + 1, &end, 10);
			if (end == p + 1 || v <= 0 || v >= 1000)
				return RTPP_E_PTIME;
			p = end - 1;
			break;
		case 'c':
			if (!isdigit((unsigned char)p[1]))
				return RTPP_E_CODECS;
			o->pt = (int)strtol(p + 1, NULL, 10);
			while (isdigit((unsigned char)p[1]) || p[1] == ',')
				p++;
			break;
		case 'l': case 'r':
			/* An address up to the next modifier letter that cannot be in one. */
			if (!p[1] || !(isxdigit((unsigned char)p[1]) || p[1] == ':' || p[1] == '['))
				return RTPP_E_LOCAL_ADDR;
			while (isxdigit((unsigned char)p[1]) || p[1] == '.' || p[1] == ':' ||
			       p[1] == '[' || p[1] == ']')
				p++;
			break;
		default:
			return RTPP_E_BAD_MOD;
		}
	}
	return -1;
}

/*
 * What the media layer reads: a one-stream SDP at the peer's address and
 * port. Port 0 or a null address is a peer not ready to receive (hold).
 */
static int ul_sdp(char *buf, size_t len, const struct ul_opts *o, const char *addr,
		  unsigned port)
{
	const char *ip = o->family == AF_INET6 ? "IP6" : "IP4";
	int pt = o->pt >= 0 && o->pt < 128 ? o->pt : 0;

	if (!port)
		addr = o->family == AF_INET6 ? "::" : "0.0.0.0";
	return snprintf(buf, len, "v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\n"
			"m=audio %u RTP/AVP %d\r\n", ip, addr, ip, addr, port ? port : 9, pt);
}

/* The peer's address and port: -1, or the E-code. */
static int ul_parse_peer(const struct rtpp_cmd *c, const struct ul_opts *o, unsigned *port)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char *end;
	unsigned long v;

	if (inet_pton(o->family, c->argv[2], buf) != 1)
		return RTPP_E_BAD_ADDR;
	errno = 0;
	v = strtoul(c->argv[3], &end, 10);
	if (errno || end == c->argv[3] || *end || v > 65535)
		return RTPP_E_BAD_ADDR;
	*port = (unsigned)v;
	return -1;
}

static int media_ecode(int rc)
{
	if (rc == -EADDRNOTAVAIL)
		return RTPP_E_NO_PORTS;
	if (rc == -ENOMEM)
		return RTPP_E_NOMEM;
	return RTPP_E_FAMILY;
}

/* The relay's port and address the other leg's peer is to send to. */
static int ul_reply(const struct rtpp_sess *r, int leg, char *out, size_t len)
{
	const struct media_sstream *st = &r->s->st[0];
	const struct media_plane *pl = &r->s->m->plane[st->plane[!leg]];

	if (!st->active)
		return snprintf(out, len, "0");
	return snprintf(out, len, "%u %s%s", st->port[!leg], pl->addr,
			pl->family == AF_INET6 ? " 6" : "");
}

static int cmd_ul(struct rtpproxy *rp, const struct rtpp_cmd *c, bool update, char *out,
		  size_t len)
{
	char tag[2][128] = { "", "" }, sdp[512], err[160], *rewritten = NULL;
	unsigned medianum, m2, port;
	struct ul_opts o;
	struct rtpp_sess *r;
	int e, idx = 0, leg, rc;
	bool fresh = false;

	if (c->argc < (update ? 5 : 6) || c->argc > (update ? 8 : 6))
		return rtpp_err(RTPP_E_NARGS);
	e = ul_modifiers(c->argv[0] + 1, &o);
	if (e < 0)
		e = ul_parse_peer(c, &o, &port);
	if (e >= 0)
		return rtpp_err(e);
	split_tag(c->argv[4], tag[0], sizeof(tag[0]), &medianum);
	/* U's 7-argument form is a notify socket and tag with no to-tag. */
	if (c->argc >= 6 && c->argc != 7)
		split_tag(c->argv[5], tag[1], sizeof(tag[1]), &m2);
	r = sess_find(rp, c->argv[1], tag[0], tag[1], medianum, &idx);
	if (!r && !update)
		return snprintf(out, len, "0");	/* as rtpproxy: no session, port 0 */
	if (!r) {
		if (rp->max_sessions && rp->nsessions >= rp->max_sessions)
			return rtpp_err(RTPP_E_NO_PORTS);	/* the set's next relay takes it */
		/* The store's writer is behind (store/queue.h): refused the same way. */
		if (rp->media->store && rp->media->store->wq && store_q_full(rp->media->store->wq))
			return rtpp_err(RTPP_E_NO_PORTS);
		r = sess_new(rp, c->argv[1], tag[0], medianum);
		if (!r)
			return rtpp_err(RTPP_E_NOMEM);
		fresh = true;
	}
	/* U updates the side of its first tag, L the other one. */
	leg = update ? idx : !idx;
	if (!r->tag[1][0] && tag[!idx][0])
		snprintf(r->tag[1], sizeof(r->tag[1]), "%s", tag[!idx]);
	sess_owner_data(r);
	ul_sdp(sdp, sizeof(sdp), &o, c->argv[2], port);
	rc = update ? media_offer(r->s, leg, sdp, strlen(sdp), &rewritten, err, sizeof(err)) :
		      media_answer(r->s, leg, sdp, strlen(sdp), &rewritten, err, sizeof(err));
	free(rewritten);
	if (rc) {
		LOG(L_INFO, "[ctl] rtpproxy: %s %s: %s", update ? "U" : "L", c->argv[1], err);
		if (fresh)
			sess_free(rp, r);
		return rtpp_err(media_ecode(rc));
	}
	return ul_reply(r, leg, out, len);
}

/* ---- D, Q, I, V ---- */

static int cmd_delete(struct rtpproxy *rp, const struct rtpp_cmd *c, char *out, size_t len)
{
	char from[128], to[128] = "";
	unsigned mf, mt = 0;
	struct rtpp_sess *r, *next;
	int n = 0;

	if (c->argc < 3 || c->argc > 4)
		return rtpp_err(RTPP_E_NARGS);
	if (c->argv[0][1] && strcasecmp(c->argv[0] + 1, "w"))
		return rtpp_err(RTPP_E_DELETE_MOD);
	split_tag(c->argv[2], from, sizeof(from), &mf);
	if (c->argc == 4)
		split_tag(c->argv[3], to, sizeof(to), &mt);
	/* Tags without a media number delete every stream of the call. */
	for (r = rp->sessions; r; r = next) {
		next = r->next;
		if (strcmp(r->call_id, c->argv[1]))
			continue;
		if (!strcmp(r->tag[0], from) && (!mf || mf == r->medianum)) {
			sess_free(rp, r);
			n++;
		} else if (to[0] && !strcmp(r->tag[0], to) && (!mt || mt == r->medianum)) {
			sess_free(rp, r);
			n++;
		}
	}
	if (!n)
		return rtpp_err(RTPP_E_NO_SESSION);
	return snprintf(out, len, "0");
}

static uint64_t leg_packets(struct media_session *s, int leg)
{
	struct media_leg_report rep;

	if (!s->nstreams || media_leg_report(s, 0, leg, &rep))
		return 0;
	return rep.packets;
}

/* Seconds left before the media timeout, as rtpproxy's ttl. */
static unsigned sess_ttl(const struct rtpp_sess *r)
{
	return r->s->m->timeout_ms / 1000;
}

static int cmd_query(struct rtpproxy *rp, const struct rtpp_cmd *c, char *out, size_t len)
{
	char from[128], to[128] = "";
	unsigned mf, mt;
	uint64_t in, other;
	struct rtpp_sess *r;
	bool verbose = false;
	int idx, i, n;

	if (c->argc < 4)
		return rtpp_err(RTPP_E_NARGS);
	if (c->argv[0][1] && strcasecmp(c->argv[0] + 1, "v"))
		return rtpp_err(RTPP_E_QUERY_MOD);
	verbose = c->argv[0][1] != '\0';
	split_tag(c->argv[2], from, sizeof(from), &mf);
	split_tag(c->argv[3], to, sizeof(to), &mt);
	r = sess_find(rp, c->argv[1], from, to, mf, &idx);
	if (!r)
		return rtpp_err(RTPP_E_NO_SESSION);
	in = leg_packets(r->s, idx);
	other = leg_packets(r->s, !idx);
	if (c->argc == 4 && !verbose)
		return snprintf(out, len, "%u %" PRIu64 " %" PRIu64 " %" PRIu64 " 0",
				sess_ttl(r), in, other, in + other);
	/* Named counters (Qv: all of them, or those Q names): the ones a relay has. */
	n = 0;
	out[0] = '\0';
	for (i = c->argc > 4 ? 4 : 0; i < (c->argc > 4 ? c->argc : 5); i++) {
		static const char *const all[] = { "ttl", "npkts_ina", "npkts_ino",
						   "nrelayed", "ndropped" };
		const char *name = c->argc > 4 ? c->argv[i] : all[i];
		uint64_t v;

		if (!strcmp(name, "ttl"))
			v = sess_ttl(r);
		else if (!strcmp(name, "npkts_ina"))
			v = in;
		else if (!strcmp(name, "npkts_ino"))
			v = other;
		else if (!strcmp(name, "nrelayed"))
			v = in + other;
		else if (!strcmp(name, "ndropped"))
			v = 0;
		else
			continue;
		n += snprintf(out + n, len - (size_t)n, "%s%s=%" PRIu64, n ? " " : "", name, v);
		if ((size_t)n >= len)
			return (int)len - 1;
	}
	return n;
}

static int cmd_info(struct rtpproxy *rp, const struct rtpp_cmd *c, char *out, size_t len)
{
	uint64_t in = 0, relayed = 0;
	unsigned active = 0;
	struct rtpp_sess *r;
	const char *p;

	if (c->argc != 1)
		return rtpp_err(RTPP_E_NARGS);
	for (p = c->argv[0] + 1; *p; p++)
		if (tolower((unsigned char)*p) != 'b' && tolower((unsigned char)*p) != 'l')
			return rtpp_err(RTPP_E_INFO_MOD);
	for (r = rp->sessions; r; r = r->next) {
		uint64_t a = leg_packets(r->s, 0), b = leg_packets(r->s, 1);

		active++;
		in += a + b;
		relayed += a + b;
	}
	return snprintf(out, len, "sessions created: %" PRIu64 "\nactive sessions: %u\n"
			"active streams: %u\npackets received: %" PRIu64 "\n"
			"packets transmitted: %" PRIu64, rp->created, active, active, in, relayed);
}

static int cmd_version(const struct rtpp_cmd *c, char *out, size_t len)
{
	size_t i;

	if (!c->argv[0][1]) {
		if (c->argc != 1)
			return rtpp_err(RTPP_E_NARGS);
		return snprintf(out, len, "%s", RTPP_VERSION);
	}
	if (strcasecmp(c->argv[0], "VF"))
		return rtpp_err(RTPP_E_MODS);
	if (c->argc != 2)
		return rtpp_err(RTPP_E_NARGS);
	for (i = 0; i < sizeof(rtpp_caps) / sizeof(rtpp_caps[0]); i++)
		if (!strcmp(c->argv[1], rtpp_caps[i]))
			return snprintf(out, len, "1");
	return snprintf(out, len, "0");
}

/* Answers c into out (no newline): its length, or rtpp_err(code). */
static int dispatch(struct rtpproxy *rp, struct rtpp_cmd *c, char *out, size_t len)
{
	switch (toupper((unsigned char)c->argv[0][0])) {
	case 'V':
		return cmd_version(c, out, len);
	case 'U':
		return cmd_ul(rp, c, true, out, len);
	case 'L':
		return cmd_ul(rp, c, false, out, len);
	case 'D':
		return cmd_delete(rp, c, out, len);
	case 'Q':
		return cmd_query(rp, c, out, len);
	case 'I':
		return cmd_info(rp, c, out, len);
	case 'X':
		if (c->argc != 1 || c->argv[0][1])
			return rtpp_err(RTPP_E_NARGS);
		while (rp->sessions)
			sess_free(rp, rp->sessions);
		return snprintf(out, len, "0");
	default:
		/* Record, play, copy and the rest need a media server, not a relay. */
		return rtpp_err(RTPP_E_UNKNOWN_CMD);
	}
}

/* Splits buf (NUL-terminated, modified) into words. */
static void split(char *buf, struct rtpp_cmd *c)
{
	char *save = NULL, *w;

	c->argc = 0;
	for (w = strtok_r(buf, " \t\r\n", &save); w && c->argc < RTPP_MAX_ARGS;
	     w = strtok_r(NULL, " \t\r\n", &save))
		c->argv[c->argc++] = w;
}

/* prefix ("cookie " or ""), then the answer or E<n>, then a newline. */
static void answer(struct rtpproxy *rp, struct rtpp_cmd *c, const char *prefix, char **reply,
		   size_t *rlen)
{
	char body[RTPP_REPLY_MAX];
	int n;

	if (!c->argc)
		n = rtpp_err(RTPP_E_NARGS);
	else
		n = dispatch(rp, c, body, sizeof(body));
	if (n < 0)
		n = snprintf(body, sizeof(body), "E%d", -n - 1);
	LOG(L_DEBUG, "[ctl] rtpproxy: %s%s%s -> %s", prefix, c->argc ? c->argv[0] : "",
	    c->argc > 1 ? " ..." : "", body);
	if (asprintf(reply, "%s%s\n", prefix, body) < 0) {
		*reply = NULL;
		return;
	}
	*rlen = strlen(*reply);
}

static char *dup_msg(const char *msg, size_t len)
{
	char *buf = malloc(len + 1);

	if (buf) {
		memcpy(buf, msg, len);
		buf[len] = '\0';
	}
	return buf;
}

void rtpproxy_handle(struct rtpproxy *rp, const char *msg, size_t len, char **reply,
		     size_t *rlen)
{
	uint64_t now = loop_now_ms(rp->loop);
	struct rtpp_cmd c;
	char *buf, prefix[CTL_COOKIE_MAX + 2], cookie[CTL_COOKIE_MAX];

	*reply = NULL;
	*rlen = 0;
	buf = dup_msg(msg, len);
	if (!buf)
		return;
	/* A NUL ends the command, as it ends rtpproxy's read. */
	split(buf, &c);
	if (!c.argc || strlen(c.argv[0]) >= sizeof(cookie))
		goto out_free;		/* no cookie: nothing to answer to */
	snprintf(cookie, sizeof(cookie), "%s", c.argv[0]);
	*reply = ctl_replies_get(&rp->replies, cookie, now, RTPP_CACHE_MS, rlen);
	if (*reply)
		goto out_free;
	snprintf(prefix, sizeof(prefix), "%s ", cookie);
	c.argc--;
	memmove(c.argv, c.argv + 1, (size_t)c.argc * sizeof(c.argv[0]));
	answer(rp, &c, prefix, reply, rlen);
	if (*reply)
		ctl_replies_put(&rp->replies, cookie, *reply, *rlen, now);
out_free:
	free(buf);
}

void rtpproxy_handle_stream(struct rtpproxy *rp, const char *msg, size_t len, char **reply,
			    size_t *rlen)
{
	struct rtpp_cmd c;
	char *buf;

	*reply = NULL;
	*rlen = 0;
	buf = dup_msg(msg, len);
	if (!buf)
		return;
	split(buf, &c);
	answer(rp, &c, "", reply, rlen);
	free(buf);
}

/* ---- persistence ---- */

bool rtpproxy_owns(const char *owner_data)
{
	return !strncmp(owner_data, RTPP_OWNER, strlen(RTPP_OWNER));
}

/* The next line of *p (NUL-terminated in place), "" past the end. */
static const char *next_line(char **p)
{
	char *line = *p, *nl;

	if (!line)
		return "";
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = NULL;
	}
	return line;
}

void rtpproxy_adopt(struct media_session *s, const char *owner_data, void *arg)
{
	struct rtpproxy *rp = arg;
	const char *call_id;
	struct rtpp_sess *r;
	char *copy, *p;

	/* "rtpproxy", the call-id, the two tags (the second may be empty), the media number. */
	copy = strdup(owner_data);
	r = calloc(1, sizeof(*r));
	p = copy;
	if (!copy || !r || !rtpproxy_owns(owner_data)) {
		LOG(L_WARN, "[ctl] %s: not an rtpproxy session, dropped", s->id);
		goto out_drop;
	}
	next_line(&p);
	call_id = next_line(&p);
	snprintf(r->call_id, sizeof(r->call_id), "%s", call_id);
	snprintf(r->tag[0], sizeof(r->tag[0]), "%s", next_line(&p));
	snprintf(r->tag[1], sizeof(r->tag[1]), "%s", next_line(&p));
	r->medianum = (unsigned)strtoul(next_line(&p), NULL, 10);
	if (!r->call_id[0] || !r->tag[0][0]) {
		LOG(L_WARN, "[ctl] %s: an rtpproxy session without call-id or tag, dropped",
		    s->id);
		goto out_drop;
	}
	free(copy);
	r->rp = rp;
	r->s = s;
	s->dead = on_dead;
	s->owner = r;
	r->next = rp->sessions;
	rp->sessions = r;
	rp->nsessions++;
	LOG(L_INFO, "[ctl] rtpproxy: adopted session %s;%u", r->call_id, r->medianum);
	return;

out_drop:
	free(r);
	free(copy);
	media_session_destroy(s);
}

void rtpproxy_reset(struct rtpproxy *rp)
{
	while (rp->sessions)
		sess_free(rp, rp->sessions);
	ctl_replies_clear(&rp->replies);
}

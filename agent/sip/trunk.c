// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a call goes, and the trunk ([trunk]) that takes what is no
 * subscriber: a Request-URI naming a subscriber goes to its bindings; a
 * dialable number from one of ours goes to the trunk's address, its
 * prefix rewritten by [trunk] rewrite; anything else gets 404 (480 for a
 * subscriber that is not active or not registered). Requests to the
 * trunk answer its challenges with [trunk]'s credentials
 * (b2b_trunk_credentials()), and an INVITE from the trunk's address is
 * known by that address alone (b2bua_from_trunk()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "core/conf.h"
#include "sip/b2bua_int.h"
#include "net/digest.h"
#include "sip/hdr.h"
#include "sip/registrar.h"
#include "store/cluster.h"
#include "store/subscriber.h"

/* [trunk] transport, as conf.c numbers it, is enum sip_proto's count. */
_Static_assert(SIP_UDP == 0 && SIP_TCP == 1 && SIP_TLS == 2, "[trunk] transport's values");
static const char *const trunk_param[] = { "", ";transport=tcp", ";transport=tls" };

static bool trunk_on(const struct sip_server *s)
{
	return s->conf->trunk_address.ss.ss_family != AF_UNSPEC;
}

bool b2bua_from_trunk(const struct sip_server *s, const struct sip_peer *from)
{
	const struct sockaddr_storage *t = &s->conf->trunk_address.ss;

	/* Another node of the shared store: trusted by address as the trunk is. */
	if (s->store && cluster_is_peer(s->store->cluster, &from->addr))
		return true;
	if (!trunk_on(s) || t->ss_family != from->addr.ss_family)
		return false;
	if (t->ss_family == AF_INET)
		return ((const struct sockaddr_in *)t)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&from->addr)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)t)->sin6_addr,
		       &((const struct sockaddr_in6 *)&from->addr)->sin6_addr,
		       sizeof(struct in6_addr));
}

/* A number the trunk can take: digits, with + * # allowed. */
static bool dialable(const char *user)
{
	return user && *user && strspn(user, "0123456789+*#") == strlen(user) &&
	       strpbrk(user, "0123456789");
}

/*
 * [trunk] rewrite = "FROM=TO, ...": the longest FROM that begins number
 * is replaced by its TO.
 */
static void rewrite_number(const char *rules, const char *number, char *out, size_t n)
{
	size_t best = 0, blen = 0, to_len = 0;
	const char *to = NULL;

	for (const char *p = rules; *p;) {
		size_t f, t;

		p += strspn(p, ", ");
		f = strspn(p, "0123456789+*#");
		if (!f || p[f] != '=')
			break;
		t = strspn(p + f + 1, "0123456789+*#");
		if (f > blen && !strncmp(number, p, f)) {
			blen = f;
			best = 1;
			to = p + f + 1;
			to_len = t;
		}
		p += f + 1 + t;
	}
	if (best)
		snprintf(out, n, "%.*s%s", (int)to_len, to, number + blen);
	else
		snprintf(out, n, "%s", number);
}

/* Host[:port] of the trunk's Request-URIs. */
static void trunk_host(const struct sip_server *s, char *out, size_t n)
{
	const struct sockaddr_storage *ss = &s->conf->trunk_address.ss;
	char ip[INET6_ADDRSTRLEN] = "";
	uint16_t port;

	if (s->conf->trunk_domain[0]) {
		snprintf(out, n, "%s", s->conf->trunk_domain);
		return;
	}
	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		snprintf(out, n, "[%s]:%u", ip, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
		snprintf(out, n, "%s:%u", ip, port);
	}
}

/*
 * An Authorization (401) or Proxy-Authorization (407) header line, CRLF
 * ended, answering resp's challenge with the trunk's credentials for
 * method on uri (SHA-256 preferred when offered, qop=auth when offered).
 */
int b2b_trunk_credentials(struct sip_server *s, const osip_message_t *resp,
			  const char *method, const char *uri, char *out, size_t n)
{
	const struct conf *cf = s->conf;
	bool proxy = resp->status_code == 407, qop;
	osip_www_authenticate_t *w, *pick = NULL;
	enum digest_alg alg = DIGEST_MD5, a;
	char realm[DIGEST_REALM_MAX], nonce[DIGEST_NONCE_MAX], opaque[DIGEST_OPAQUE_MAX] = "";
	char ha1[DIGEST_HEX_MAX], rsp[DIGEST_HEX_MAX], cnonce[24], algname[16], qops[64] = "";
	int len;

	if (!cf->trunk_username[0])
		return -EPERM;
	for (int i = 0;
	     (proxy ? osip_message_get_proxy_authenticate(resp, i, &w) :
		      osip_message_get_www_authenticate(resp, i, &w)) >= 0;
	     i++) {
		if (!w->auth_type || strcasecmp(w->auth_type, "Digest"))
			continue;
		if (sip_hdr_unquote(w->algorithm ? w->algorithm : "MD5", algname,
				    sizeof(algname)) ||
		    digest_alg_parse(algname, &a))
			continue;
		if (!pick || a == DIGEST_SHA256) {
			pick = w;
			alg = a;
		}
	}
	if (!pick || sip_hdr_unquote(pick->realm, realm, sizeof(realm)) ||
	    sip_hdr_unquote(pick->nonce, nonce, sizeof(nonce)) ||
	    (pick->opaque && sip_hdr_unquote(pick->opaque, opaque, sizeof(opaque))))
		return -EPROTO;
	if (pick->qop_options)
		sip_hdr_unquote(pick->qop_options, qops, sizeof(qops));
	qop = sip_hdr_list_has(qops, "auth");
	random_token(s, s->b2b, cnonce, sizeof(cnonce));
	if (digest_ha1(alg, cf->trunk_username, realm, cf->trunk_password, ha1) ||
	    digest_response(alg, ha1, nonce, qop ? "00000001" : NULL, qop ? cnonce : NULL,
			    qop ? "auth" : NULL, method, uri, rsp))
		return -EINVAL;
	len = snprintf(out, n,
		       "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
		       "response=\"%s\", algorithm=%s",
		       proxy ? "Proxy-Authorization" : "Authorization", cf->trunk_username, realm,
		       nonce, uri, rsp, digest_alg_name(alg));
	if (qop && len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, ", qop=auth, nc=00000001, cnonce=\"%s\"",
				cnonce);
	if (*opaque && len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, ", opaque=\"%s\"", opaque);
	if (len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, "\r\n");
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

/*
 * A callee registered on another node (store/cluster.h): the call goes to
 * that node, which owns the phone's flow, as a trunk hop; never from one
 * node's hop to a third (a binding moved meanwhile gets 480, not a loop).
 */
static bool via_node(struct sip_server *s, struct rx *rx, struct target *tg)
{
	struct cluster *cl = s->store ? s->store->cluster : NULL;

	if (!cl || cluster_is_peer(cl, &rx->from->addr) ||
	    !cluster_lookup(cl, tg->aor, s->now(), &tg->hop.addr, &tg->hop.len))
		return false;
	tg->hop.proto = SIP_UDP;
	tg->via_node = true;
	snprintf(tg->ruri, sizeof(tg->ruri), "%s", tg->aor);
	return true;
}

int b2b_trunk_target(struct sip_server *s, const char *number, struct target *tg)
{
	char rewritten[128], host[128];

	if (!trunk_on(s) || !number || !dialable(number))
		return -ENOENT;
	rewrite_number(s->conf->trunk_rewrite, number, rewritten, sizeof(rewritten));
	trunk_host(s, host, sizeof(host));
	tg->trunk = true;
	snprintf(tg->ruri, sizeof(tg->ruri), "sip:%s@%s%s", rewritten, host,
		 trunk_param[s->conf->trunk_transport % 3]);
	snprintf(tg->to, sizeof(tg->to), "<sip:%s@%s>", rewritten, host);
	snprintf(tg->aor, sizeof(tg->aor), "%.*s", (int)sizeof(tg->aor) - 1, tg->ruri);
	return 0;
}

/* Where the call goes (tg): the callee's bindings, another node, or the trunk. 0, or answered. */
int b2b_route(struct sip_server *s, struct rx *rx, const struct subscriber *caller,
	      struct target *tg)
{
	const osip_uri_t *ru = rx->req->req_uri;
	struct subscriber callee;

	memset(tg, 0, sizeof(*tg));
	if (registrar_aor(ru, s->conf->sip_domain, tg->aor, sizeof(tg->aor))) {
		b2b_reject(s, rx, 404, NULL);
		return -ENOENT;
	}
	if (!s->store || subscriber_get_by_impu(s->store, tg->aor, &callee)) {
		/* Not a subscriber: a number, for the trunk, when the caller is ours. */
		if (!caller || b2b_trunk_target(s, ru->username, tg)) {
			b2b_reject(s, rx, 404, NULL);
			return -ENOENT;
		}
		return 0;
	}
	if (callee.status != SUB_ACTIVE) {
		b2b_reject(s, rx, 480, "Subscriber not active");
		return -EAGAIN;
	}
	tg->a = registrar_lookup(&s->reg, tg->aor, s->now());
	if (!tg->a && via_node(s, rx, tg))
		return 0;
	if (!tg->a) {
		b2b_reject(s, rx, 480, NULL);
		return -EAGAIN;
	}
	return 0;
}

struct sip_peer b2b_trunk_peer(const struct sip_server *s)
{
	struct sip_peer p = { 0 };

	memcpy(&p.addr, &s->conf->trunk_address.ss, sizeof(p.addr));
	p.len = s->conf->trunk_address.len;
	p.proto = s->conf->trunk_transport < SIP_NPROTO ? s->conf->trunk_transport : SIP_UDP;
	return p;
}

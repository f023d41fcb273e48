/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIP URIs compared as RFC 3261 section 19.1.4 says (not as strings), and
 * the question digest authentication asks of a URI: may the digest-uri of
 * a request's credentials stand for that request?
 *
 * The digest-uri rule: the credentials' uri must be equivalent to the
 * Request-URI, or name this server: a sip or sips URI whose host is the
 * domain (any port), or an address this server listens on with its port
 * (an absent port meaning 5060, 5061 for sips), without a user part or
 * with the Request-URI's. sipp by default, and phones behind an outbound
 * proxy, answer with sip:ADDRESS:PORT of the server while the Request-URI
 * is sip:DOMAIN; Kamailio takes that. Nothing weaker: a digest-uri naming
 * another host or another user is refused. The nonce and its nonce-count
 * already bind an answer to this server and to one request.
 */
#ifndef SLUICE_SIP_URI_H
#define SLUICE_SIP_URI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <osipparser2/osip_uri.h>

#define SIP_SELF_MAX	8	/* as many as the transports' listeners */
#ifndef SIP_HOST_ADDRS_MAX
#define SIP_HOST_ADDRS_MAX	64	/* interface addresses kept; more: read each time */
#endif
#define SIP_HOST_ADDRS_MS	1000	/* how long they are trusted before read again */

/*
 * This host's interface addresses, for a wildcard listener: reading them
 * (getifaddrs, a netlink dump) costs tens of microseconds, too much for
 * every request, so they are kept for SIP_HOST_ADDRS_MS.
 */
struct sip_host_addrs {
	uint64_t	read_ms;	/* when, on the caller's clock; 0: never */
	int		n;
	bool		truncated;	/* more than SIP_HOST_ADDRS_MAX */
	struct {
		uint8_t	family;
		uint8_t	a[16];		/* network byte order */
	} addr[SIP_HOST_ADDRS_MAX];
};

/*
 * What names this server: its domain and the addresses it listens on
 * (port included). A wildcard address (0.0.0.0, or [::], which listens on
 * both families) stands for every address of this host's interfaces,
 * looked up in host (read again when older than SIP_HOST_ADDRS_MS at
 * now_ms), or read afresh when host is NULL.
 */
struct sip_self {
	const char		*domain;
	struct sockaddr_storage	addr[SIP_SELF_MAX];
	int			n;
	struct sip_host_addrs	*host;
	uint64_t		now_ms;
};

/*
 * RFC 3261 section 19.1.4: scheme, user and password (case-sensitive, as
 * unescaped), host (case-insensitive; addresses by value), port (absent
 * only matches absent), the user, ttl, method, maddr and transport
 * parameters (in both or in neither), other parameters where both have
 * them (a parameter named twice counts once, the first), and every header
 * (in any order). URIs of other schemes compare as written.
 */
bool sip_uri_equal(const osip_uri_t *a, const osip_uri_t *b);
/* Whether u is a sip or sips URI whose host and port name self (above). */
bool sip_uri_names_self(const osip_uri_t *u, const struct sip_self *self);
/* The digest-uri rule (above) for the text of a credentials' uri. */
bool sip_digest_uri_ok(const char *digest_uri, const osip_uri_t *request_uri,
		       const struct sip_self *self);

#endif /* SLUICE_SIP_URI_H */

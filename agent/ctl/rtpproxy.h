/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rtpproxy control protocol (Sippy RTPproxy's, as Kamailio's and
 * OpenSIPS's rtpproxy modules speak it) on [control] rtpproxy, a UDP
 * socket where every command starts with a cookie that its reply repeats,
 * and on [control] rtpproxy_unix, a unix stream socket where commands and
 * replies go without one. There is no SDP in this protocol: U (update,
 * the offer) and L (lookup, the answer) name a peer's address and port
 * and get back the relay's port and address for the other side.
 *
 * Each rtpproxy session (a call-id and a media number) is one of sluice's
 * own media sessions with one stream, so calls Kamailio sets up this way
 * get the kernel relay, latching, timeouts and statistics of sluice's own
 * calls, and survive a restart of sluiced like them.
 *
 * UDP replies are cached by cookie for RTPP_CACHE_MS: the module resends
 * a command it got no answer to with the same cookie, and must get the
 * first answer back, not a second session.
 */
#ifndef SLUICE_CTL_RTPPROXY_H
#define SLUICE_CTL_RTPPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "ctl/replies.h"
#include "media/session.h"

#define RTPP_CACHE_MS	30000
#ifndef RTPP_MAX_CONNS
#define RTPP_MAX_CONNS	64		/* unix socket clients at once */
#endif

/* The protocol's base version, what V answers and what the modules check. */
#define RTPP_VERSION	"20040107"

/* The error codes this relay answers with ("E<n>"), rtpproxy's numbers. */
enum rtpp_ecode {
	RTPP_E_UNKNOWN_CMD	= 0,	/* not a command */
	RTPP_E_NARGS		= 1,	/* wrong number of arguments */
	RTPP_E_MODS		= 2,	/* modifiers where none are allowed */
	RTPP_E_DELETE_MOD	= 8,	/* D: unknown modifier */
	RTPP_E_QUERY_MOD	= 9,	/* Q: unknown modifier */
	RTPP_E_INFO_MOD		= 18,	/* I: unknown modifier */
	RTPP_E_PTIME		= 13,	/* Z: not a packet time */
	RTPP_E_CODECS		= 14,	/* c: no codec list */
	RTPP_E_LOCAL_ADDR	= 15,	/* l / r: no address */
	RTPP_E_FAMILY		= 36,	/* no relay address in that family */
	RTPP_E_BAD_MOD		= 35,	/* U / L: unknown modifier */
	RTPP_E_BAD_ADDR		= 37,	/* U / L: not an address or port */
	RTPP_E_NO_SESSION	= 50,	/* no such session */
	RTPP_E_NO_PORTS		= 71,	/* no relay ports left */
	RTPP_E_NOMEM		= 81,	/* out of memory */
};

struct rtpp_sess;
struct rtpp_conn;

struct rtpproxy {
	struct loop		*loop;
	struct media_ctx	*media;
	int			fd;		/* UDP, -1: off */
	int			ufd;		/* unix listener, -1: off */
	char			upath[108];
	struct rtpp_sess	*sessions;
	struct rtpp_conn	*conns;
	unsigned		nconns;
	uint64_t		created;	/* sessions since start, for I */
	unsigned		seq;		/* media session ids */
	unsigned		nsessions;
	unsigned		max_sessions;	/* 0: the ports are the limit */
	struct ctl_replies	replies;	/* by cookie, for RTPP_CACHE_MS */
};

/*
 * Serves on loop: UDP on addr (NULL or AF_UNSPEC: not), a unix stream
 * socket on unix_path (NULL or "": not). With neither it only sets rp up,
 * for rtpproxy_adopt().
 */
int rtpproxy_open(struct rtpproxy *rp, struct loop *loop, struct media_ctx *media,
		  const struct sockaddr *addr, socklen_t addrlen, const char *unix_path);
void rtpproxy_close(struct rtpproxy *rp);
/* Deletes every session and forgets every cached reply (tests, fuzzing). */
void rtpproxy_reset(struct rtpproxy *rp);

/* A persisted media session is an rtpproxy one (its owner data says so). */
bool rtpproxy_owns(const char *owner_data);
/* media_restore()'s callback for those: rebuilds the rtpproxy session. */
void rtpproxy_adopt(struct media_session *s, const char *owner_data, void *arg);

/*
 * One UDP datagram, "<cookie> <command>": the reply "<cookie> <answer>\n"
 * (malloc'ed) goes to *reply; none (0 length) when there is no cookie to
 * answer to. Exposed for the unit tests and the fuzz target.
 */
void rtpproxy_handle(struct rtpproxy *rp, const char *msg, size_t len, char **reply,
		     size_t *rlen);
/* One command from the unix socket: no cookie, the answer alone. */
void rtpproxy_handle_stream(struct rtpproxy *rp, const char *msg, size_t len, char **reply,
			    size_t *rlen);

#endif /* SLUICE_CTL_RTPPROXY_H */

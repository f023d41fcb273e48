/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The relay's ICE-lite agent (RFC 8445 §2.5, a lite implementation), for
 * NG's ICE=force: towards a leg whose SDP it forces, the relay announces
 * itself as the only candidate (its address and ports, typ host), with
 * credentials of its own, and answers the peer's connectivity checks and
 * consent checks (RFC 7675) on its media sockets. A lite agent keeps no
 * check lists and sends no checks: it answers, and the full agent on the
 * other side nominates.
 *
 * Credentials are per session and leg, random (getrandom), and stay for
 * the session's life (a re-offer is not an ICE restart), persisted with it
 * so that a restarted sluiced keeps answering.
 */
#ifndef SLUICE_MEDIA_ICE_H
#define SLUICE_MEDIA_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* RFC 8445 §5.3: a ufrag of at least 24 bits, a password of at least 128. */
#define MEDIA_ICE_UFRAG_LEN	8	/* 48 bits */
#define MEDIA_ICE_PWD_LEN	24	/* 144 bits */

struct media_ice_agent {
	bool		force;				/* the relay's ICE goes to this leg */
	char		ufrag[MEDIA_ICE_UFRAG_LEN + 1];	/* "": none yet */
	char		pwd[MEDIA_ICE_PWD_LEN + 1];
};

/* Gives the agent credentials if it has none. 0 or -errno (getrandom). */
int media_ice_start(struct media_ice_agent *ice);

/* Are ufrag and pwd usable credentials (RFC 8839 ice-chars, lengths)? */
bool media_ice_cred_ok(const char *ufrag, const char *pwd);

/*
 * A STUN message that arrived from src on the relay's socket fd: answered
 * on fd when it is a check (stun_ice_answer()). Returns true when it is an
 * authenticated check that nominates src (USE-CANDIDATE); *authenticated
 * when it was an authenticated check at all.
 */
bool media_ice_input(const struct media_ice_agent *ice, int fd, const struct sockaddr *src,
		     socklen_t srclen, const uint8_t *pkt, size_t len, bool *authenticated);

#endif /* SLUICE_MEDIA_ICE_H */

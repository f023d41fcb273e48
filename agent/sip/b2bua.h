/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The B2BUA: a call between two subscribers is two dialogs, the caller's
 * (leg A, the dialog its INVITE made with us) and one we make towards the
 * callee (leg B: our own Call-ID, tags, Via and Contact), so that neither
 * side sees the other's addresses. The SDP of each side goes through the
 * media layer, which relays the streams (in the kernel once latched) and
 * writes the relay's addresses into what the other side receives.
 *
 * An INVITE forks to every binding of the callee in parallel: provisional
 * responses go to the caller (183 with SDP starts early media through the
 * relay), the first 2xx wins and the other branches are cancelled (and
 * sent BYE if they answer anyway). Failure: no subscriber 404, no binding
 * 480, every branch failed: the best final (486 passed on; timeouts as
 * 480), no answer within [sip] ring_timeout: 480 and CANCEL, no media
 * ports 503. In a dialog, BYE ends both legs; re-INVITE, UPDATE, INFO and
 * MESSAGE are relayed to the other leg (SDP through the media layer, 491
 * on glare). A media session found dead hangs up both legs with a Reason
 * header.
 *
 * Reliable provisionals (RFC 3262) work on each leg: the callee's are
 * PRACKed by us, and a caller that supports 100rel gets ours reliably
 * (resent until its PRACK). An INVITE without SDP (late offer) goes on
 * without one; the callee's offer in the 2xx is rewritten for the caller
 * and the ACK to the callee waits for the caller's ACK with the answer
 * (a re-INVITE without SDP likewise). Session timers (RFC 4028) run per
 * leg: we refresh (UPDATE where the peer allows it, else re-INVITE) at
 * half the interval when we are the refresher, and hang up both legs when
 * the peer that should refresh has not by a third before the end.
 *
 * The trunk ([trunk]): a number that is no subscriber goes there, its
 * prefix rewritten, with the trunk's challenges answered from its
 * credentials; an INVITE from the trunk's address needs no digest and
 * reaches subscribers only.
 *
 * Every answered call lives in its media session's database row as well
 * (the session's owner data), so a sluiced restarted after a crash or a
 * SIGUSR2 adopts it: the kernel kept forwarding, and either side can still
 * hang up.
 *
 * The SIP server knows the B2BUA only as the calls' handler that
 * b2bua_init() registers (struct sip_call_ops); b2bua_int.h lists the
 * files that make it, one concern each.
 */
#ifndef SLUICE_SIP_B2BUA_H
#define SLUICE_SIP_B2BUA_H

#include <stdbool.h>
#include <stdint.h>

#include "sip/server.h"

struct b2bua;

/*
 * Takes s's calls (after sip_server_init()): from then on the server
 * hands INVITEs, in-dialog requests, ACKs and CANCELs to the B2BUA, and
 * sip_server_fini() ends its calls (or leaves them, s->keep_calls).
 * 0 or -ENOMEM.
 */
int b2bua_init(struct sip_server *s);

/* Whether a restored media session's owner data is a call of ours. */
bool b2bua_owns(const char *owner_data);
/* Takes such a session back with its call: 0, or -EINVAL (the caller drops it). */
struct media_session;
int b2bua_adopt(struct sip_server *s, struct media_session *ms, const char *owner_data);
/* Calls in progress or up. */
unsigned b2bua_calls(const struct sip_server *s);

/* The calls up by state, counted as they change (no walk): what b2bua_list() would count. */
struct b2bua_states {
	unsigned	trying, ringing, active, other;
};
void b2bua_states(const struct sip_server *s, struct b2bua_states *out);

/* What DSP CALL shows of a call. */
struct b2bua_call_info {
	const char		*caller, *callee;	/* IMPUs (or trunk:NUMBER) */
	const char		*a_call_id, *b_call_id;
	const char		*state;		/* TRYING, RINGING, ACTIVE */
	const struct sip_peer	*a_peer, *b_peer;	/* b_peer NULL until answered */
	int64_t			invite_ms;	/* unix ms; 0 without a CDR */
	int64_t			answer_ms;
	int64_t			cdr_id;		/* 0: none */
	struct media_session	*media;
};

typedef int (*b2bua_call_fn)(const struct b2bua_call_info *ci, void *arg);
/* Each live call, newest first; fn's non-zero return stops and is returned. */
int b2bua_list(struct sip_server *s, b2bua_call_fn fn, void *arg);
/*
 * RMV CALL: the call whose A or B Call-ID is call_id ends: BYE to both legs
 * when it is up (CANCEL and 480 while it rings), its media freed, its CDR
 * closed with close reason admin. -ENOENT when there is none.
 */
int b2bua_remove(struct sip_server *s, const char *call_id);

/* The media session of the live call whose A or B Call-ID is call_id; NULL: none. */
struct media_session *b2bua_find_media(struct sip_server *s, const char *call_id);
/* STR LISTEN: op goes into the call's CDR (listened_by), once. */
void b2bua_listened(struct sip_server *s, const char *call_id, const char *op);

/*
 * ORG TESTCALL: sluiced calls the registered subscriber user (every
 * binding, as a call would) and plays it prompt, a WAV file in [testcall]
 * prompts, then hangs up; or, with bridge (a subscriber too), calls
 * bridge's first binding once user answers and connects the two
 * (click-to-dial). Its CDR is marked test_call. The call's id (its
 * side A Call-ID, for DSP CALL and RMV CALL) goes to call_id. -EBUSY over
 * [testcall] rate, -ENOENT not registered or no such prompt, -EINVAL a
 * bad prompt, with why in err.
 */
int b2bua_testcall(struct sip_server *s, const char *user, const char *bridge,
		   const char *prompt, const char *op, char *call_id, size_t n, char *err,
		   size_t errlen);

#endif /* SLUICE_SIP_B2BUA_H */

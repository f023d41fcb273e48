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
 * Not yet: reliable provisionals (100rel/PRACK), late offer (an INVITE
 * without SDP is refused with 488), session timers, the trunk, calls
 * surviving a restart.
 */
#ifndef SLUICE_SIP_B2BUA_H
#define SLUICE_SIP_B2BUA_H

#include <stdbool.h>

#include "sip/server_int.h"

struct b2bua;

int b2bua_init(struct sip_server *s);
void b2bua_fini(struct sip_server *s);

/* An INVITE outside any dialog from the authenticated subscriber caller. */
void b2bua_invite(struct sip_server *s, struct rx *rx, const struct subscriber *caller);
/* A request in a dialog (To tag): true when one of our calls took it. */
bool b2bua_in_dialog(struct sip_server *s, struct rx *rx);
/* A CANCEL matching the INVITE server transaction inv. */
void b2bua_cancel(struct sip_server *s, struct sip_txn *inv);
/* Calls in progress or up. */
unsigned b2bua_calls(const struct sip_server *s);

#endif /* SLUICE_SIP_B2BUA_H */

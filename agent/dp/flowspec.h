/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flows written as an operator types them, for sluicectl and logs:
 *
 *	LOCAL from PEER via RELAY to DEST [rtp|rtcp] [clock HZ] [dscp N] [stream ID]
 *
 * "packets arriving at LOCAL from PEER leave from RELAY towards DEST".
 * Endpoints are ADDRESS:PORT or [IPV6]:PORT; PEER may be `any` (no source
 * check: only for tests and trusted links, it opens the RTP Bleed hole).
 */
#ifndef SLUICE_DP_FLOWSPEC_H
#define SLUICE_DP_FLOWSPEC_H

#include <stddef.h>

#include <sluice/abi.h>

/* Parses "1.2.3.4:5" or "[2001:db8::1]:5" (port 1..65535). */
int dp_parse_endpoint(const char *s, __u8 addr[16], __u16 *port, __u8 *family);
/* Writes an endpoint back in the same form. */
void dp_format_endpoint(const __u8 addr[16], __u16 port, __u8 family, char *out, size_t len);

/* Parses the words of a flow (argv[0] is LOCAL); err says what was wrong. */
int dp_parse_flow(int argc, char *const *argv, struct sluice_flow_key *key,
		  struct sluice_flow_action *act, char *err, size_t errlen);
/* One line: the flow in the grammar above. */
void dp_format_flow(const struct sluice_flow_key *key, const struct sluice_flow_action *act,
		    char *out, size_t len);

#endif /* SLUICE_DP_FLOWSPEC_H */

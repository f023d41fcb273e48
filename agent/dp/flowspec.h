/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flows written as an operator types them, for sluicectl and logs:
 *
 *	LOCAL [rtcp-mux] from PEER via RELAY to DEST [rtp|rtcp] [demux] [clock HZ]
 *		[dscp N] [stream ID]
 *
 * "packets arriving at LOCAL from PEER leave from RELAY towards DEST".
 * `rtcp-mux` after LOCAL keys the flow SLUICE_KEY_MUXED_RTCP: it takes the
 * RTCP muxed on LOCAL when the port's own flow says `demux` (abi.h).
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

/*
 * LOCAL and its optional `rtcp-mux` at argv[0..]: the key, and how many
 * words it took (1 or 2), or -EINVAL. For `flow del`.
 */
int dp_parse_flow_key(int argc, char *const *argv, struct sluice_flow_key *key);

/* Parses the words of a flow (argv[0] is LOCAL); err says what was wrong. */
int dp_parse_flow(int argc, char *const *argv, struct sluice_flow_key *key,
		  struct sluice_flow_action *act, char *err, size_t errlen);
/* One line: the flow in the grammar above. */
void dp_format_flow(const struct sluice_flow_key *key, const struct sluice_flow_action *act,
		    char *out, size_t len);

#endif /* SLUICE_DP_FLOWSPEC_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nftables table that sluiced keeps beside a kernel data path (nft.c):
 * `table inet sluice`, with notrack rules for the media port range and,
 * with [media] firewall = yes, accept rules for the SIP and media ports.
 * It is replaced whole in one netlink batch, so installing it again (a
 * restarted sluiced) never duplicates it and never leaves a moment
 * without it.
 */
#ifndef SLUICE_DP_NFT_H
#define SLUICE_DP_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_NFT_TABLE	"sluice"	/* in family inet */
#define DP_NFT_MAX_SIP	4

struct dp_nft_spec {
	uint16_t	media_low;		/* host order; RTP and RTCP ports alike */
	uint16_t	media_high;
	uint16_t	sip_ports[DP_NFT_MAX_SIP];	/* host order, UDP and TCP */
	int		n_sip;
	bool		firewall;		/* add the input chain's accepts */
};

/*
 * Replaces table inet sluice with what spec describes. 0, or -errno with
 * why (at most whylen bytes) naming the step the kernel refused.
 */
int dp_nft_install(const struct dp_nft_spec *spec, char *why, size_t whylen);

/* Removes table inet sluice; a table that is not there is not an error. */
int dp_nft_remove(char *why, size_t whylen);

/* Whether table inet sluice is there (a previous sluiced's, for the doctor). */
int dp_nft_table_present(bool *present, char *why, size_t whylen);

/* "notrack udp 16384-32767, firewall accepts udp 16384-32767, udp/tcp 5060" */
void dp_nft_describe(const struct dp_nft_spec *spec, char *buf, size_t len);

#endif /* SLUICE_DP_NFT_H */

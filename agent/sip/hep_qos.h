/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Quality reports to the [hep] collector: every SIP_HEP_QOS_MS, each
 * live stream direction that received media gets one report, in the JSON
 * that heplify makes of an RTCP receiver report (HEP protocol type 5),
 * correlated to its call by the Call-ID, so that Homer shows it beside
 * the call's SIP. The figures are the relay's own measure of what it
 * received from the peer (the kernel's counters merged, as DSP STREAM
 * shows them), not the phones' RTCP.
 */
#ifndef SLUICE_SIP_HEP_QOS_H
#define SLUICE_SIP_HEP_QOS_H

#include <stddef.h>

#define SIP_HEP_QOS_MS	5000

struct sip_server;
struct media_session;

/* Arms the reports' timer when the collector is open and there is media. */
void sip_hep_qos_start(struct sip_server *s);
void sip_hep_qos_stop(struct sip_server *s);
/* The report of one stream direction into out (JSON); its length, 0: none to send. */
size_t sip_hep_qos_json(struct media_session *ms, int stream, int leg, char *out, size_t n);

#endif /* SLUICE_SIP_HEP_QOS_H */

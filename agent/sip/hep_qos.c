// SPDX-License-Identifier: GPL-2.0-only
/*
 * The [hep] collector's quality reports (see hep_qos.h). The report is
 * heplify's RTCP JSON for a receiver report with one block: source_ssrc
 * the SSRC the relay latched, packets_lost the cumulative loss,
 * fraction_lost the loss over the stream so far (of 256), ia_jitter in
 * RTP timestamp units; the sender's and the relay's own SSRC are 0 (the
 * relay sends no RTCP of its own), and mos and packets are ours, which
 * Homer keeps with the rest.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "media/session.h"
#include "sip/hep_qos.h"
#include "sip/server.h"

size_t sip_hep_qos_json(struct media_session *ms, int stream, int leg, char *out, size_t n)
{
	const struct media_sstream *st = &ms->st[stream];
	struct media_leg_report q;
	uint64_t expected;
	unsigned fraction;
	int len;

	if (media_leg_report(ms, stream, leg, &q) || !q.packets)
		return 0;
	expected = q.packets + (uint64_t)(q.lost > 0 ? q.lost : 0);
	fraction = expected ? (unsigned)(256 * (uint64_t)(q.lost > 0 ? q.lost : 0) / expected) : 0;
	len = snprintf(out, n,
		       "{\"type\":201,\"ssrc\":0,\"report_count\":1,\"report_blocks\":[{"
		       "\"source_ssrc\":%" PRIu32 ",\"fraction_lost\":%u,\"packets_lost\":%" PRId64
		       ",\"highest_seq_no\":0,\"ia_jitter\":%" PRIu64 ",\"lsr\":0,\"dlsr\":0}],"
		       "\"sender_information\":{\"ntp_timestamp_sec\":0,\"ntp_timestamp_usec\":0,"
		       "\"rtp_timestamp\":0,\"packets\":0,\"octets\":0},\"sdes_ssrc\":0,"
		       "\"mos\":%.2f,\"packets\":%" PRIu64 "}",
		       st->relay.leg[leg].ssrc[0], fraction > 255 ? 255 : fraction,
		       q.lost > 0 ? q.lost : 0,
		       (uint64_t)(q.jitter_ms * (st->clock_rate ? st->clock_rate : 8000) / 1000.0),
		       q.mos, q.packets);
	return len > 0 && (size_t)len < n ? (size_t)len : 0;
}

/* Where the stream comes from (the peer) and goes to (the relay's port). */
static bool endpoints(struct media_session *ms, int stream, int leg,
		      struct sockaddr_storage *src, struct sockaddr_storage *dst)
{
	const struct media_sstream *st = &ms->st[stream];
	const struct media_leg *l = &st->relay.leg[leg];
	const struct media_endpoint *peer = l->latched[0] ? &l->peer[0] : &l->sdp[0];
	const struct media_plane *pl;

	if (!peer->len || st->plane[leg] < 0 || st->plane[leg] >= ms->m->nplanes)
		return false;
	pl = &ms->m->plane[st->plane[leg]];
	memcpy(src, &peer->ss, sizeof(*src));
	memcpy(dst, &pl->relay.ss, sizeof(*dst));
	if (dst->ss_family != src->ss_family)
		return false;
	if (dst->ss_family == AF_INET)
		((struct sockaddr_in *)dst)->sin_port = htons(st->port[leg]);
	else
		((struct sockaddr_in6 *)dst)->sin6_port = htons(st->port[leg]);
	return true;
}

static void on_qos(struct loop *loop, void *arg)
{
	struct sip_server *s = arg;
	char json[768];

	for (struct media_session *ms = s->media->sessions; ms; ms = ms->next)
		for (int i = 0; i < ms->nstreams; i++)
			for (int leg = 0; leg < 2; leg++) {
				struct sockaddr_storage src, dst;
				size_t n;

				if (!ms->st[i].active || !endpoints(ms, i, leg, &src, &dst))
					continue;
				n = sip_hep_qos_json(ms, i, leg, json, sizeof(json));
				if (n)
					hep_rtcp_json(&s->hep, (struct sockaddr *)&src,
						      (struct sockaddr *)&dst, ms->id, json, n);
			}
	loop_timer_arm(loop, &s->qos_timer, SIP_HEP_QOS_MS);
}

void sip_hep_qos_start(struct sip_server *s)
{
	loop_timer_init(&s->qos_timer, on_qos, s);
	if (s->hep.fd >= 0 && s->media)
		loop_timer_arm(s->loop, &s->qos_timer, SIP_HEP_QOS_MS);
}

void sip_hep_qos_stop(struct sip_server *s)
{
	loop_timer_cancel(s->loop, &s->qos_timer);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * /metrics (see metrics.h). Counters that only grow are *_total; what the
 * live calls hold now (streams, their packets) are gauges, so a call that
 * ends takes its packets with it, exactly as DSP STREAM shows them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp/dp.h"
#include "http/metrics.h"
#include "media/session.h"
#include "mml/server.h"
#include "sip/b2bua.h"
#include "sip/server.h"
#include "store/cdr.h"
#include "store/queue.h"
#include "store/subscriber.h"
#include "version.h"

enum { PATH_USER, PATH_KERNEL, NPATHS };

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	head(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* A label value: backslash, quote and newline escaped. */
static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* The ended calls' MOS per stream direction, a Prometheus histogram. */
static void mos_metrics(FILE *f, const struct cdr_ctx *c)
{
	static const double bounds[] = CDR_MOS_BOUNDS;
	uint64_t n = 0;

	head(f, "sluice_call_mos", "histogram",
	     "MOS (E-model) of each measured stream direction of ended calls.");
	for (int i = 0; i < CDR_MOS_NBOUNDS; i++) {
		n += c->mos_le[i];
		fprintf(f, "sluice_call_mos_bucket{le=\"%.1f\"} %" PRIu64 "\n", bounds[i], n);
	}
	n += c->mos_le[CDR_MOS_NBOUNDS];
	fprintf(f, "sluice_call_mos_bucket{le=\"+Inf\"} %" PRIu64 "\n", n);
	fprintf(f, "sluice_call_mos_sum %.2f\nsluice_call_mos_count %" PRIu64 "\n", c->mos_sum, n);
}

static void sip_metrics(FILE *f, struct sip_server *s)
{
	static const char *const methods[] = SIP_STAT_METHOD_NAMES;
	struct b2bua_states calls;

	one(f, "sluice_registrations", "gauge", "Registered contacts (bindings).",
	    s->reg.nbindings);
	one(f, "sluice_registered_aors", "gauge", "Subscribers with a registration.",
	    s->reg.naors);
	one(f, "sluice_calls_started_total", "counter",
	    "Calls the B2BUA took (rate() of it: calls per second).", s->stats.calls);
	if (sip_trace_on(&s->trace)) {
		one(f, "sluice_sip_trace_messages", "gauge", "SIP messages the tracker holds.",
		    s->trace.n);
		one(f, "sluice_sip_trace_evicted_total", "counter",
		    "SIP messages the tracker let go for newer ones.", s->trace.evicted);
	}
	b2bua_states(s, &calls);
	head(f, "sluice_calls", "gauge", "Calls in progress by state.");
	fprintf(f, "sluice_calls{state=\"trying\"} %u\nsluice_calls{state=\"ringing\"} %u\n"
		   "sluice_calls{state=\"active\"} %u\nsluice_calls{state=\"other\"} %u\n",
		calls.trying, calls.ringing, calls.active, calls.other);
	head(f, "sluice_sip_requests_received_total", "counter", "SIP requests received by method.");
	for (int i = 0; i < SIP_STAT_METHODS; i++)
		fprintf(f, "sluice_sip_requests_received_total{method=\"%s\"} %" PRIu64 "\n",
			methods[i], s->stats.in_method[i]);
	head(f, "sluice_sip_responses_received_total", "counter", "SIP responses received by code.");
	for (int i = 0; i < 600; i++)
		if (s->stats.in_code[i])
			fprintf(f, "sluice_sip_responses_received_total{code=\"%d\"} %" PRIu64 "\n",
				i + 100, s->stats.in_code[i]);
	head(f, "sluice_sip_responses_sent_total", "counter", "SIP responses sent by code.");
	for (int i = 0; i < 600; i++)
		if (s->stats.out_code[i])
			fprintf(f, "sluice_sip_responses_sent_total{code=\"%d\"} %" PRIu64 "\n",
				i + 100, s->stats.out_code[i]);
	one(f, "sluice_sip_malformed_total", "counter", "SIP messages that did not parse or check.",
	    s->stats.bad);
	one(f, "sluice_sip_blocked_total", "counter",
	    "SIP messages dropped from blocked or blacklisted sources.", s->stats.blocked);
	one(f, "sluice_sip_scanners_total", "counter", "SIP messages dropped from known scanners.",
	    s->stats.scanners);
	one(f, "sluice_auth_challenges_total", "counter", "Digest challenges sent.",
	    s->stats.challenges);
	one(f, "sluice_auth_ok_total", "counter", "Digest answers accepted.", s->stats.auth_ok);
	one(f, "sluice_auth_failures_total", "counter", "Digest answers refused.",
	    s->stats.auth_failed);
	if (s->hep.fd >= 0) {
		one(f, "sluice_hep_sent_total", "counter", "HEP3 copies sent to [hep] collector.",
		    s->hep.sent);
		one(f, "sluice_hep_dropped_total", "counter",
		    "HEP3 copies the socket did not take.", s->hep.dropped);
	}
}

void http_streams_by_path(struct media_ctx *m, struct dp *dp, struct http_path_sums *out)
{
	memset(out, 0, sizeof(*out));
	out->kernel = dp ? dp->ops->name : "user";
	for (struct media_session *s = m->sessions; s; s = s->next)
		for (int i = 0; i < s->nstreams; i++)
			for (int leg = 0; leg < 2; leg++) {
				struct media_leg_report q;
				int p;

				if (media_leg_report(s, i, leg, &q))
					continue;
				p = q.offloaded && strcmp(out->kernel, "user") ? PATH_KERNEL : PATH_USER;
				out->streams[p]++;
				out->packets[p] += q.packets;
				out->bytes[p] += q.bytes;
				out->lost[p] += q.lost;
			}
}

static void stream_metrics(FILE *f, struct media_ctx *m, struct dp *dp)
{
	struct http_path_sums sums;
	const char *kernel;
	uint64_t *n = sums.streams, *pk = sums.packets, *by = sums.bytes;
	int64_t *lost = sums.lost;
	bool same;

	http_streams_by_path(m, dp, &sums);
	kernel = sums.kernel;
	same = !strcmp(kernel, "user");	/* no kernel path: one label, not two */
	one(f, "sluice_media_sessions", "gauge", "Media sessions (calls and NG/rtpproxy offers).",
	    m->nsessions);
	one(f, "sluice_srtp_auth_failures_total", "counter",
	    "SRTP packets that failed authentication on terminated legs, dropped.", m->srtp_failed);
	one(f, "sluice_dtls_refused_total", "counter",
	    "DTLS records refused (strangers) and DTLS-SRTP handshakes given up.", m->dtls_refused);
	head(f, "sluice_streams", "gauge", "Stream directions by the path that relays them.");
	fprintf(f, "sluice_streams{path=\"user\"} %" PRIu64 "\n", n[PATH_USER]);
	if (!same)
		fprintf(f, "sluice_streams{path=\"%s\"} %" PRIu64 "\n", kernel, n[PATH_KERNEL]);
	head(f, "sluice_stream_packets", "gauge", "Packets of the live streams by path.");
	fprintf(f, "sluice_stream_packets{path=\"user\"} %" PRIu64 "\n", pk[PATH_USER]);
	if (!same)
		fprintf(f, "sluice_stream_packets{path=\"%s\"} %" PRIu64 "\n", kernel, pk[PATH_KERNEL]);
	head(f, "sluice_stream_bytes", "gauge", "Bytes of the live streams by path.");
	fprintf(f, "sluice_stream_bytes{path=\"user\"} %" PRIu64 "\n", by[PATH_USER]);
	if (!same)
		fprintf(f, "sluice_stream_bytes{path=\"%s\"} %" PRIu64 "\n", kernel, by[PATH_KERNEL]);
	head(f, "sluice_stream_lost", "gauge", "RTP packets lost on the live streams by path.");
	fprintf(f, "sluice_stream_lost{path=\"user\"} %" PRId64 "\n", lost[PATH_USER]);
	if (!same)
		fprintf(f, "sluice_stream_lost{path=\"%s\"} %" PRId64 "\n", kernel, lost[PATH_KERNEL]);
}

static void dp_metrics(FILE *f, struct dp *dp)
{
	static const char *const vnames[] = SLUICE_VERDICT_NAMES;
	struct sluice_verdict v[SLUICE_V_MAX];

	head(f, "sluice_datapath_info", "gauge", "The data path in use.");
	fputs("sluice_datapath_info{path=\"", f);
	label(f, dp->ops->name);
	fputs("\",desc=\"", f);
	label(f, dp->desc);
	fputs("\"} 1\n", f);
	one(f, "sluice_datapath_fallbacks_total", "counter",
	    "Times the delivery watch moved media to a safer path.", dp->health.fallbacks);
	one(f, "sluice_datapath_driver_drops_total", "counter",
	    "Frames a driver dropped after the XDP program's verdict.", dp->health.driver_drops);
	if (dp->kind == DP_USER || dp_verdicts(dp, v))
		return;
	head(f, "sluice_kernel_verdict_packets_total", "counter",
	     "Packets by the kernel program's verdict.");
	for (int i = 0; i < SLUICE_V_MAX; i++)
		fprintf(f, "sluice_kernel_verdict_packets_total{verdict=\"%s\"} %" PRIu64 "\n",
			vnames[i], (uint64_t)v[i].packets);
	head(f, "sluice_kernel_verdict_bytes_total", "counter",
	     "Bytes by the kernel program's verdict.");
	for (int i = 0; i < SLUICE_V_MAX; i++)
		fprintf(f, "sluice_kernel_verdict_bytes_total{verdict=\"%s\"} %" PRIu64 "\n",
			vnames[i], (uint64_t)v[i].bytes);
}

int http_metrics(struct mml_server *m, char **out, size_t *len)
{
	const struct mml_env *e = &m->env;
	FILE *f = open_memstream(out, len);
	int subs = 0;

	if (!f)
		return -ENOMEM;
	head(f, "sluice_build_info", "gauge", "sluiced's version.");
	fprintf(f, "sluice_build_info{version=\"%s\"} 1\n", SLUICE_VERSION);
	one(f, "sluice_uptime_seconds", "gauge", "Seconds since sluiced started.",
	    (uint64_t)(time(NULL) - m->started));
	if (e->sip)
		sip_metrics(f, e->sip);
	if (e->media)
		stream_metrics(f, e->media, e->dp);
	if (e->dp)
		dp_metrics(f, e->dp);
	if (e->store && !subscriber_count(e->store, &subs))
		one(f, "sluice_subscribers", "gauge", "Subscribers in the database.",
		    (uint64_t)subs);
	if (e->store && e->store->wq)
		one(f, "sluice_store_queue", "gauge",
		    "Changes waiting for the database writer ([store] queue).", e->store->wq->depth);
	if (e->cdr)
		mos_metrics(f, e->cdr);
	if (e->cdr) {
		one(f, "sluice_cdr_queue", "gauge", "CDRs waiting to be written.", e->cdr->npending);
		one(f, "sluice_cdr_written_total", "counter", "CDRs written.", e->cdr->written);
		one(f, "sluice_cdr_write_failures_total", "counter", "Failed CDR writes.",
		    e->cdr->flush_failures);
	}
	one(f, "sluice_operator_logins_total", "counter", "Operator logins (MML and web).",
	    m->stats.logins);
	one(f, "sluice_operator_login_failures_total", "counter",
	    "Failed operator logins (MML and web).", m->stats.login_failures);
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * DSP SIPTRACE: the SIP tracker's messages (sip/trace.h), the one
 * implementation behind MML and the console's ladder diagrams
 * (GET /api/siptrace). Three answers:
 *
 *	DSP SIPTRACE;			the newest calls and registrations
 *	DSP SIPTRACE: NUMBER="1001";	the newest that carry a number
 *	DSP SIPTRACE: CALLID="...";	a call's messages, both legs, in order
 *	DSP SIPTRACE: SEQ=42;		one message whole
 *
 * and SET SIPTRACE: STATE=ON|OFF; (PUT /api/siptrace), the tracker on or
 * off while sluiced runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "mml/cmd.h"
#include "sip/server.h"
#include "sip/trace.h"

static void fmt_us(uint64_t us, char *out, size_t n)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char day[24];

	localtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, n, "%s.%03u", day, (unsigned)(us % 1000000 / 1000));
}

static void addr_of(const union sip_trace_addr *a, char *out, size_t n)
{
	if (a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6)
		sip_addr_str(&a->sa, out, n);
	else
		snprintf(out, n, "-");
}

static void calls_table(struct mml_call *c, const struct sip_trace *t, const char *number)
{
	static const char *const cols[] = { "CALLID", "OTHERLEG", "START", "MESSAGES", "FIRST" };
	char ids[SIP_TRACE_MAX_IDS][SIP_TRACE_CALLID_MAX];
	int n = sip_trace_ids(t, NULL, number, ids, SIP_TRACE_MAX_IDS);

	mml_reply_table_begin(c->r, "Traced calls", 5, cols);
	mml_reply_table_types(c->r, "sssns");
	for (int i = 0; i < n; i++) {
		const char *other = sip_trace_linked(t, ids[i], NULL);
		const struct sip_trace_msg *first = NULL;
		char start[40] = "-", count[16];
		const char *row[] = { ids[i], other ? other : "-", start, count, "-" };
		unsigned k = 0;

		for (unsigned j = 0; j < t->n; j++) {
			const struct sip_trace_msg *m = sip_trace_at(t, j);

			if (!sip_trace_match(m, ids[i], other))
				continue;
			if (!first)
				first = m;
			k++;
		}
		if (first) {
			fmt_us(first->ts_us, start, sizeof(start));
			row[4] = first->summary;
		}
		snprintf(count, sizeof(count), "%u", k);
		mml_reply_row(c->r, row);
	}
	mml_reply_table_end(c->r);
}

static void messages_table(struct mml_call *c, const struct sip_trace *t, const char *id)
{
	static const char *const cols[] = { "SEQ", "TIME", "US", "DIR", "PROTO", "SRC", "DST",
					    "LEG", "BYTES", "CALLID", "MESSAGE" };
	int side;
	const char *other = sip_trace_linked(t, id, &side);

	mml_reply_table_begin(c->r, "Messages", 11, cols);
	mml_reply_table_types(c->r, "nsnsssssnss");
	for (unsigned j = 0; j < t->n; j++) {
		const struct sip_trace_msg *m = sip_trace_at(t, j);
		char seq[24], when[40], us[24], local[64], remote[64], bytes[16];
		const char *leg = "-";
		const char *row[] = { seq, when, us, m->out ? "OUT" : "IN",
				      sip_proto_name(m->proto), m->out ? local : remote,
				      m->out ? remote : local, leg, bytes, m->call_id, m->summary };

		if (!sip_trace_match(m, id, other))
			continue;
		if (other)
			row[7] = !strcmp(m->call_id, id) == !side ? "A" : "B";
		snprintf(seq, sizeof(seq), "%" PRIu64, m->seq);
		fmt_us(m->ts_us, when, sizeof(when));
		snprintf(us, sizeof(us), "%" PRIu64, m->ts_us);
		addr_of(&m->local, local, sizeof(local));
		addr_of(&m->remote, remote, sizeof(remote));
		snprintf(bytes, sizeof(bytes), "%zu", m->len);
		mml_reply_row(c->r, row);
	}
	mml_reply_table_end(c->r);
}

/* One message whole: its head as a one-row table, its lines as text. */
static int one_message(struct mml_call *c, const struct sip_trace *t, const char *seq_s)
{
	static const char *const cols[] = { "SEQ", "TIME", "DIR", "PROTO", "SRC", "DST",
					    "CALLID", "CUT" };
	char *end;
	unsigned long long seq = strtoull(seq_s, &end, 10);
	const struct sip_trace_msg *m = NULL;
	char when[40], local[64], remote[64];

	if (*end || !seq)
		return mml_fail(c, MML_RET_PARAM, "SEQ must be a message's number");
	for (unsigned j = 0; j < t->n && !m; j++)
		if (sip_trace_at(t, j)->seq == seq)
			m = sip_trace_at(t, j);
	if (!m)
		return mml_fail(c, MML_RET_NOT_FOUND, "no message %llu in the trace (gone, or never)",
				seq);
	fmt_us(m->ts_us, when, sizeof(when));
	addr_of(&m->local, local, sizeof(local));
	addr_of(&m->remote, remote, sizeof(remote));
	mml_ok(c);
	{
		const char *row[] = { seq_s, when, m->out ? "OUT" : "IN", sip_proto_name(m->proto),
				      m->out ? local : remote, m->out ? remote : local,
				      m->call_id, m->cut ? "YES" : "NO" };

		mml_reply_table_begin(c->r, "Message", 8, cols);
		mml_reply_table_types(c->r, "nsssssss");
		mml_reply_row(c->r, row);
		mml_reply_table_end(c->r);
	}
	for (const char *p = m->text, *e = m->text + m->len; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t k = nl ? (size_t)(nl - p) : (size_t)(e - p);

		if (k && p[k - 1] == '\r')
			k--;
		mml_reply_printf(c->r, "%.*s", (int)k, p);
		p = nl ? nl + 1 : e;
	}
	return 0;
}

int mml_dsp_siptrace(struct mml_call *c)
{
	const struct sip_trace *t = &c->m->env.sip->trace;
	const char *id = mml_param(c->cmd, "CALLID"), *number = mml_param(c->cmd, "NUMBER");
	const char *seq = mml_param(c->cmd, "SEQ");

	if (!sip_trace_on(t))
		return mml_fail(c, MML_RET_NOT_FOUND, "the SIP tracker is off ([http] trace, SET SIPTRACE)");
	if (!!id + !!number + !!seq > 1)
		return mml_fail(c, MML_RET_PARAM, "one of CALLID, NUMBER or SEQ");
	if (number && (!number[0] || strlen(number) > 64 || strpbrk(number, "@:;<> ")))
		return mml_fail(c, MML_RET_PARAM, "NUMBER is a user part, 1 to 64 characters");
	if (id && (!id[0] || strlen(id) >= SIP_TRACE_CALLID_MAX))
		return mml_fail(c, MML_RET_PARAM, "CALLID is 1 to %d characters",
				SIP_TRACE_CALLID_MAX - 1);
	if (seq)
		return one_message(c, t, seq);
	mml_ok(c);
	if (id)
		messages_table(c, t, id);
	else
		calls_table(c, t, number);
	return 0;
}

/*
 * SET SIPTRACE: STATE=ON|OFF: off lets the messages and their memory go
 * at once (what [http] trace = off does at start: the path of each SIP
 * message then tests one pointer); on takes a fresh, empty ring of
 * [http] trace_size. Until the next restart; DSP CFG shows it.
 */
int mml_set_siptrace(struct mml_call *c)
{
	struct conf *conf = c->m->env.conf;
	const char *state = mml_param(c->cmd, "STATE");
	bool on;
	int err;

	if (state && !strcasecmp(state, "ON"))
		on = true;
	else if (state && !strcasecmp(state, "OFF"))
		on = false;
	else
		return mml_fail(c, MML_RET_PARAM, "STATE: ON or OFF");
	err = sip_server_trace(c->m->env.sip, on, conf->http_trace_size);
	if (err)
		return mml_fail(c, MML_RET_INTERNAL, "no memory for %u traced messages: %s",
				conf->http_trace_size, strerror(-err));
	conf->http_trace = on;
	conf_note(conf, "http", "trace", on ? "on" : "off");
	LOG(L_INFO, "[mml] %s turned the SIP tracker %s", c->op, on ? "on" : "off");
	mml_ok(c);
	return 0;
}

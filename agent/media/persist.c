// SPDX-License-Identifier: GPL-2.0-only
/*
 * Media sessions in the database (see persist.h), one row per session
 * holding its state as JSON:
 *
 *   { "owner": "...", "iface": ["", "external"],
 *     "streams": [ { "family": 4, "iface": ["default", "external"],
 *     "ports": [30000, 30002], "clock": 8000, "mux_flags": 0, "mux_offered": false,
 *     "legs": [ { "sdp": ["10.0.0.2:4000", "10.0.0.2:4001"],
 *                 "peer": ["10.0.0.9:51000", null], "ssrc": [51966, 0],
 *                 "wants": true, "mux": false, "muxed": false, "hold": false,
 *                 "addr": "10.0.0.2", "asym": false, "srtp": false }, { ... } ] }, ... ],
 *     "ice": [ { "force": true, "ufrag": "...", "pwd": "..." }, null ] }
 *
 * "mux" is what the peer's SDP said, "muxed" what was negotiated (a row
 * from before "muxed" existed takes "mux" for it, as sluiced then did).
 * "ice" (per leg, the relay's ICE-lite agent: ice.h) is there only when a
 * leg has credentials; rows written before it load without ICE. "srtp"
 * says the relay terminated the leg's SRTP: the keys are not written, so
 * such a session is dropped at restart rather than relayed without them.
 * JSON rather than a binary image, so that a newer sluiced can read an
 * older one's rows. Written on every offer, answer and latch; deleted with
 * the session.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/jbuf.h"
#include "core/log.h"
#include "media/persist.h"
#include "media/session.h"
#include "net/ip_str.h"
#include "store/queue.h"

static int ep_parse(const json_t *j, struct media_endpoint *e)
{
	const char *s = json_string_value(j), *colon;
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen;

	memset(e, 0, sizeof(*e));
	if (!s)
		return 0;	/* null: none */
	colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	hlen = (size_t)(colon - s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (host[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&e->ss;

		host[hlen - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)atoi(colon + 1));
		e->len = sizeof(*a);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&e->ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)atoi(colon + 1));
		e->len = sizeof(*a);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
	}
}

/* "host:port" or "[host]:port", or null for none. */
static void jb_ep(struct jbuf *b, const struct media_endpoint *e)
{
	char host[INET6_ADDRSTRLEN];

	if (!e->len) {
		jb_lit(b, "null");
		return;
	}
	jb_put(b, "\"", 1);
	if (e->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&e->ss;

		ip_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		jb_lit(b, host);
		jb_put(b, ":", 1);
		jb_uint(b, ntohs(a->sin_port));
	} else {
		const struct sockaddr_in6 *a = (const void *)&e->ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		jb_put(b, "[", 1);
		jb_lit(b, host);
		jb_put(b, "]:", 2);
		jb_uint(b, ntohs(a->sin6_port));
	}
	jb_put(b, "\"", 1);
}

static void leg_json(struct jbuf *b, const struct media_sstream *st, int i)
{
	const struct media_leg *l = &st->relay.leg[i];
	static const struct media_endpoint none;

	jb_lit(b, "{\"sdp\":[");
	jb_ep(b, &l->sdp[0]);
	jb_put(b, ",", 1);
	jb_ep(b, &l->sdp[1]);
	jb_lit(b, "],\"peer\":[");
	jb_ep(b, l->latched[0] ? &l->peer[0] : &none);
	jb_put(b, ",", 1);
	jb_ep(b, l->latched[1] ? &l->peer[1] : &none);
	jb_lit(b, "],\"ssrc\":[");
	jb_uint(b, l->ssrc[0]);
	jb_put(b, ",", 1);
	jb_uint(b, l->ssrc[1]);
	jb_lit(b, "],\"wants\":");
	jb_bool(b, l->wants_media);
	jb_lit(b, ",\"mux\":");
	jb_bool(b, st->sdp[i].rtcp_mux);
	jb_lit(b, ",\"muxed\":");
	jb_bool(b, l->mux);
	jb_lit(b, ",\"hold\":");
	jb_bool(b, st->sdp[i].hold);
	jb_lit(b, ",\"addr\":");
	jb_str(b, st->sdp[i].addr);
	jb_lit(b, ",\"asym\":");
	jb_bool(b, l->asymmetric);
	jb_lit(b, ",\"srtp\":");
	jb_bool(b, l->srtp || l->dtls);
	jb_put(b, "}", 1);
}

static void stream_json(struct jbuf *b, const struct media_session *s,
			const struct media_sstream *st)
{
	if (!st->active) {
		jb_lit(b, "null");
		return;
	}
	jb_lit(b, "{\"family\":");
	jb_uint(b, s->m->plane[st->plane[0]].family == AF_INET6 ? 6 : 4);
	jb_lit(b, ",\"iface\":[");
	jb_str(b, s->m->plane[st->plane[0]].name);
	jb_put(b, ",", 1);
	jb_str(b, s->m->plane[st->plane[1]].name);
	jb_lit(b, "],\"ports\":[");
	jb_uint(b, st->port[0]);
	jb_put(b, ",", 1);
	jb_uint(b, st->port[1]);
	jb_lit(b, "],\"clock\":");
	jb_uint(b, st->clock_rate);
	jb_lit(b, ",\"mux_flags\":");
	jb_uint(b, st->mux_flags);
	jb_lit(b, ",\"mux_offered\":");
	jb_bool(b, st->mux_offered);
	jb_lit(b, ",\"legs\":[");
	leg_json(b, st, 0);
	jb_put(b, ",", 1);
	leg_json(b, st, 1);
	jb_lit(b, "]}");
}

static void ice_json(struct jbuf *b, const struct media_ice_agent *ice)
{
	if (!ice->ufrag[0]) {
		jb_lit(b, "null");
		return;
	}
	jb_lit(b, "{\"force\":");
	jb_bool(b, ice->force);
	jb_lit(b, ",\"ufrag\":");
	jb_str(b, ice->ufrag);
	jb_lit(b, ",\"pwd\":");
	jb_str(b, ice->pwd);
	jb_put(b, "}", 1);
}

/*
 * The session's row (see the top of this file), malloc'd; NULL: out of
 * memory. Written straight as text (core/jbuf.h), not as a jansson tree:
 * it is written on every offer, answer and latch.
 */
static char *session_json(const struct media_session *s)
{
	struct jbuf b = { 0 };
	int i;

	jb_lit(&b, "{\"owner\":");
	jb_str(&b, s->owner_data);
	jb_lit(&b, ",\"streams\":[");
	for (i = 0; i < s->nstreams; i++) {
		if (i)
			jb_put(&b, ",", 1);
		stream_json(&b, s, &s->st[i]);
	}
	jb_lit(&b, "],\"iface\":[");
	jb_str(&b, s->iface[0]);
	jb_put(&b, ",", 1);
	jb_str(&b, s->iface[1]);
	jb_put(&b, "]", 1);
	if (s->ice[0].ufrag[0] || s->ice[1].ufrag[0]) {
		jb_lit(&b, ",\"ice\":[");
		ice_json(&b, &s->ice[0]);
		jb_put(&b, ",", 1);
		ice_json(&b, &s->ice[1]);
		jb_put(&b, "]", 1);
	}
	jb_put(&b, "}", 1);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static void write_session(struct store *db, struct media_session *s)
{
	sqlite3_stmt *q;
	char *text = session_json(s);
	int rc;

	if (!text)
		return;
	rc = sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO media_sessions (id, state, updated)"
				" VALUES (?, ?, ?)", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, s->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	store_err(db, rc, "saving a media session");
	free(text);
}

static void delete_session(struct store *db, const char *id)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(db->db, "DELETE FROM media_sessions WHERE id = ?", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	store_err(db, rc, "forgetting a media session");
}

/*
 * With a writer thread (store/queue.h), the batch goes to it as ops, in
 * the same order: it commits them, retrying while the database is locked,
 * so that no delete is lost and no row outlives its session.
 */
static void to_writer(struct media_ctx *m, struct store_q *wq)
{
	struct store_op *op;

	while (m->gone) {
		struct media_gone *g = m->gone;

		op = store_op_new(STORE_OP_MEDIA_DEL);
		if (!op)
			break;
		snprintf(op->u.media.id, sizeof(op->u.media.id), "%s", g->id);
		store_q_submit(wq, op, NULL, NULL);
		m->gone = g->next;
		free(g);
	}
	while (m->dirty) {
		struct media_session *s = m->dirty;

		op = store_op_new(STORE_OP_MEDIA_PUT);
		if (!op || !(op->u.media.state = session_json(s))) {
			store_op_free(op);
			break;
		}
		snprintf(op->u.media.id, sizeof(op->u.media.id), "%s", s->id);
		op->u.media.updated = (int64_t)time(NULL);
		store_q_submit(wq, op, NULL, NULL);
		m->dirty = s->dirty_next;
		s->dirty = false;
	}
	if (m->gone || m->dirty) {	/* out of memory: the rest waits for the next flush */
		LOG(L_ERROR, "[media] out of memory saving media sessions: retrying");
		loop_timer_arm(m->loop, &m->flush_timer, MEDIA_FLUSH_MS);
	}
}

void media_flush(struct media_ctx *m)
{
	struct store *db = m->store;
	bool have_db = db && db->db, txn;

	loop_timer_cancel(m->loop, &m->flush_timer);
	if (!m->dirty && !m->gone)
		return;
	if (have_db && db->wq) {
		to_writer(m, db->wq);
		return;
	}
	txn = have_db && sqlite3_exec(db->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	/* Deletes first: an id forgotten and used again in one batch is saved. */
	while (m->gone) {
		struct media_gone *g = m->gone;

		m->gone = g->next;
		if (have_db)
			delete_session(db, g->id);
		free(g);
	}
	while (m->dirty) {
		struct media_session *s = m->dirty;

		m->dirty = s->dirty_next;
		s->dirty = false;
		if (have_db)
			write_session(db, s);
	}
	if (txn)
		store_err(db, sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL),
			  "committing media sessions");
}

static void on_flush(struct loop *loop, void *arg)
{
	(void)loop;
	media_flush(arg);
}

static void schedule(struct media_ctx *m)
{
	if (m->flush_timer.cb != on_flush)
		loop_timer_init(&m->flush_timer, on_flush, m);
	if (!loop_timer_armed(&m->flush_timer))
		loop_timer_arm(m->loop, &m->flush_timer, MEDIA_FLUSH_MS);
}

void media_persist(struct media_session *s)
{
	struct media_ctx *m = s->m;

	if (!m->store || !m->store->db || s->dirty)
		return;
	s->dirty = true;
	s->dirty_next = m->dirty;
	m->dirty = s;
	schedule(m);
}

void media_forget(struct media_session *s)
{
	struct media_ctx *m = s->m;
	struct media_gone *g;

	if (s->dirty) {
		for (struct media_session **pp = &m->dirty; *pp; pp = &(*pp)->dirty_next)
			if (*pp == s) {
				*pp = s->dirty_next;
				break;
			}
		s->dirty = false;
	}
	if (!m->store || !m->store->db || !(g = calloc(1, sizeof(*g))))
		return;
	snprintf(g->id, sizeof(g->id), "%s", s->id);
	g->next = m->gone;
	m->gone = g;
	schedule(m);
}

static const struct media_keeper keeper = {
	.changed = media_persist,
	.gone = media_forget,
	.flush = media_flush,
};

void media_persist_init(struct media_ctx *m, struct store *db)
{
	m->store = db;
	m->keeper = &keeper;
}

static int restore_leg(struct media_sstream *st, int i, json_t *j)
{
	struct media_leg *l = &st->relay.leg[i];
	json_t *sdp = json_object_get(j, "sdp"), *peer = json_object_get(j, "peer");
	json_t *ssrc = json_object_get(j, "ssrc"), *muxed;
	const char *addr = json_string_value(json_object_get(j, "addr"));
	int c;

	/* SRTP keys never go to disk: a terminated stream cannot come back. */
	if (json_is_true(json_object_get(j, "srtp")))
		return -ENOKEY;
	for (c = 0; c < 2; c++) {
		if (ep_parse(json_array_get(sdp, (size_t)c), &l->sdp[c]) ||
		    ep_parse(json_array_get(peer, (size_t)c), &l->peer[c]))
			return -EINVAL;
		l->latched[c] = l->peer[c].len != 0;
		l->ssrc[c] = (uint32_t)json_integer_value(json_array_get(ssrc, (size_t)c));
	}
	l->wants_media = json_is_true(json_object_get(j, "wants"));
	l->asymmetric = json_is_true(json_object_get(j, "asym"));
	st->sdp[i].rtcp_mux = json_is_true(json_object_get(j, "mux"));
	muxed = json_object_get(j, "muxed");
	l->mux = muxed ? json_is_true(muxed) : st->sdp[i].rtcp_mux;
	st->sdp[i].hold = json_is_true(json_object_get(j, "hold"));
	snprintf(st->sdp[i].addr, sizeof(st->sdp[i].addr), "%s", addr ? addr : "");
	st->has_sdp[i] = l->sdp[0].len != 0;
	return 0;
}

/* A stream's planes by interface name and family; rows without names: the first listed. */
static int restore_planes(struct media_ctx *m, struct media_sstream *st, json_t *js)
{
	int family = json_integer_value(json_object_get(js, "family")) == 6 ? AF_INET6 : AF_INET;
	json_t *iface = json_object_get(js, "iface");

	for (int leg = 0; leg < 2; leg++) {
		st->plane[leg] = media_plane_find(m, json_string_value(json_array_get(iface,
							(size_t)leg)), family);
		if (st->plane[leg] < 0)
			return -EAFNOSUPPORT;
	}
	return 0;
}

/* A leg's ICE-lite agent; anything unusable leaves it without ICE. */
static void restore_ice(struct media_ice_agent *ice, const json_t *j)
{
	const char *ufrag = json_string_value(json_object_get(j, "ufrag"));
	const char *pwd = json_string_value(json_object_get(j, "pwd"));

	memset(ice, 0, sizeof(*ice));
	if (!ufrag || !pwd || !media_ice_cred_ok(ufrag, pwd))
		return;
	snprintf(ice->ufrag, sizeof(ice->ufrag), "%s", ufrag);
	snprintf(ice->pwd, sizeof(ice->pwd), "%s", pwd);
	ice->force = json_is_true(json_object_get(j, "force"));
}

static int restore_one(struct media_ctx *m, const char *id, const char *text,
		       media_restore_fn fn, void *arg)
{
	json_t *root = json_loads(text, 0, NULL), *streams;
	struct media_session *s;
	size_t i;
	int err = -EINVAL;

	streams = json_object_get(root, "streams");
	if (!json_is_array(streams) || json_array_size(streams) > SDP_MAX_STREAMS)
		goto out_decref;
	s = media_session_new(m, id, NULL, NULL);
	if (!s) {
		err = -ENOMEM;
		goto out_decref;
	}
	snprintf(s->owner_data, sizeof(s->owner_data), "%s",
		 json_string_value(json_object_get(root, "owner")) ?: "");
	for (i = 0; i < 2; i++) {
		snprintf(s->iface[i], sizeof(s->iface[i]), "%s", json_string_value(
			 json_array_get(json_object_get(root, "iface"), i)) ?: "");
		restore_ice(&s->ice[i], json_array_get(json_object_get(root, "ice"), i));
	}
	s->nstreams = (int)json_array_size(streams);
	for (i = 0; i < json_array_size(streams); i++) {
		json_t *js = json_array_get(streams, i), *ports = json_object_get(js, "ports");
		json_t *legs = json_object_get(js, "legs");
		struct media_sstream *st = &s->st[i];
		uint16_t p[2];

		if (json_is_null(js))
			continue;
		if (restore_planes(m, st, js)) {
			LOG(L_WARN, "[media] %s: its interface or address family is no longer "
			    "served, dropped", id);
			media_session_destroy(s);
			err = -EAFNOSUPPORT;
			goto out_decref;
		}
		p[0] = (uint16_t)json_integer_value(json_array_get(ports, 0));
		p[1] = (uint16_t)json_integer_value(json_array_get(ports, 1));
		err = media_stream_open(s, (int)i, p);
		if (!err)
			err = restore_leg(st, 0, json_array_get(legs, 0));
		if (!err)
			err = restore_leg(st, 1, json_array_get(legs, 1));
		if (err) {
			LOG(L_WARN, "[media] %s: cannot take back ports %u/%u (%s), session dropped",
			    id, p[0], p[1], strerror(-err));
			media_session_destroy(s);
			goto out_decref;
		}
		st->clock_rate = (uint32_t)json_integer_value(json_object_get(js, "clock"));
		st->mux_flags = (unsigned)json_integer_value(json_object_get(js, "mux_flags"));
		st->mux_offered = json_is_true(json_object_get(js, "mux_offered"));
		st->hold = !st->relay.leg[0].wants_media || !st->relay.leg[1].wants_media;
		/* Puts the flows back over the adopted ones: same keys, counters kept. */
		media_stream_offload(s, st);
	}
	if (fn)
		fn(s, s->owner_data, arg);
	err = 0;
out_decref:
	json_decref(root);
	return err;
}

int media_restore(struct media_ctx *m, media_restore_fn fn, void *arg)
{
	struct store *db = m->store;
	sqlite3_stmt *q;
	int rc, n = 0;

	if (!db || !db->db)
		return 0;
	rc = sqlite3_prepare_v2(db->db, "SELECT id, state FROM media_sessions", -1, &q, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		const char *text = (const char *)sqlite3_column_text(q, 1);

		if (id && text && !restore_one(m, id, text, fn, arg))
			n++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE && rc != SQLITE_OK)
		return store_err(db, rc, "reading media sessions");
	return n;
}

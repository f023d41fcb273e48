// SPDX-License-Identifier: GPL-2.0-only
/*
 * A call's live state in the database, for a restart to adopt: the call
 * rides in its media session's row (media/persist.h) as the session's
 * owner data, OWNER_TAG and a JSON object of both dialogs (Call-IDs,
 * tags, URIs, targets, peers, CSeqs, the last SDP each side was sent,
 * session timers) and the id of its record. It is written when the call
 * is answered and whenever a dialog moves on; b2bua_adopt() (b2bua.c)
 * reads it back with b2b_leg_from_json().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/conf.h"
#include "core/jbuf.h"
#include "core/log.h"
#include "media/persist.h"
#include "media/session.h"
#include "sip/b2bua_int.h"
#include "store/cdr.h"

static void peer_json(struct jbuf *b, const struct sip_peer *p)
{
	char buf[64];

	sip_addr_str((const struct sockaddr *)&p->addr, buf, sizeof(buf));
	jb_lit(b, "{\"addr\":");
	jb_str(b, buf);
	jb_lit(b, ",\"proto\":");
	jb_uint(b, p->proto);
	jb_lit(b, ",\"lidx\":");
	jb_uint(b, p->lidx);
	jb_put(b, "}", 1);
}

static void key_str(struct jbuf *b, const char *key, const char *v)
{
	jb_lit(b, key);
	jb_str(b, v);
}

static void leg_json(struct jbuf *b, const struct leg *l)
{
	key_str(b, "{\"call_id\":", l->call_id);
	key_str(b, ",\"local_tag\":", l->local_tag);
	key_str(b, ",\"remote_tag\":", l->remote_tag);
	key_str(b, ",\"local_uri\":", l->local_uri);
	key_str(b, ",\"remote_uri\":", l->remote_uri);
	key_str(b, ",\"target\":", l->target);
	jb_lit(b, ",\"peer\":");
	peer_json(b, &l->peer);
	jb_lit(b, ",\"cseq\":");
	jb_uint(b, l->cseq);
	jb_lit(b, ",\"invite_cseq\":");
	jb_uint(b, l->invite_cseq);
	jb_lit(b, ",\"trunk\":");
	jb_bool(b, l->trunk);
	jb_lit(b, ",\"update_ok\":");
	jb_bool(b, l->update_ok);
	jb_lit(b, ",\"sdp\":");
	if (l->sdp)
		jb_str(b, l->sdp);
	else
		jb_lit(b, "null");
	jb_lit(b, ",\"se\":");
	jb_uint(b, l->se);
	jb_lit(b, ",\"se_ours\":");
	jb_bool(b, l->se_ours);
	jb_put(b, "}", 1);
}

/*
 * Written as text straight into the owner's data (core/jbuf.h): this runs
 * at every answer and dialog change of every call.
 */
void b2b_persist_call(struct call *c)
{
	struct jbuf b = { 0 };

	if (!c->media || c->tc)
		return;		/* a test call's player does not survive a restart */
	jb_lit(&b, OWNER_TAG);
	key_str(&b, "{\"caller\":", c->caller);
	key_str(&b, ",\"callee\":", c->callee);
	jb_lit(&b, ",\"legs\":[");
	leg_json(&b, &c->leg[SIDE_A]);
	jb_put(&b, ",", 1);
	leg_json(&b, &c->leg[SIDE_B]);
	jb_lit(&b, "],\"cdr\":");
	jb_uint(&b, c->cdr ? (uint64_t)c->cdr->id : 0);
	jb_put(&b, "}", 1);
	if (b.oom) {
		free(b.p);
		return;
	}
	if (b.len < sizeof(c->media->owner_data)) {
		memcpy(c->media->owner_data, b.p, b.len + 1);
		media_persist(c->media);
	} else {
		LOG(L_WARN, "[call] %s -> %s: its dialogs are too large to be kept for a "
		    "restart", c->caller, c->callee);
	}
	free(b.p);
}

int b2b_str_of(json_t *o, const char *key, char *out, size_t n)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (!v || strlen(v) >= n)
		return -EINVAL;
	strcpy(out, v);
	return 0;
}

int b2b_leg_from_json(struct leg *l, json_t *j)
{
	json_t *peer = json_object_get(j, "peer");
	struct conf_addr a;
	const char *sdp;
	char addr[64];

	if (b2b_str_of(j, "call_id", l->call_id, sizeof(l->call_id)) ||
	    b2b_str_of(j, "local_tag", l->local_tag, sizeof(l->local_tag)) ||
	    b2b_str_of(j, "remote_tag", l->remote_tag, sizeof(l->remote_tag)) ||
	    b2b_str_of(j, "local_uri", l->local_uri, sizeof(l->local_uri)) ||
	    b2b_str_of(j, "remote_uri", l->remote_uri, sizeof(l->remote_uri)) ||
	    b2b_str_of(j, "target", l->target, sizeof(l->target)) ||
	    b2b_str_of(peer, "addr", addr, sizeof(addr)) || conf_parse_addr(addr, &a) ||
	    a.ss.ss_family == AF_UNSPEC)
		return -EINVAL;
	memcpy(&l->peer.addr, &a.ss, sizeof(a.ss));
	l->peer.len = a.len;
	l->peer.proto = (uint8_t)json_integer_value(json_object_get(peer, "proto"));
	l->peer.lidx = (uint8_t)json_integer_value(json_object_get(peer, "lidx"));
	l->cseq = (uint32_t)json_integer_value(json_object_get(j, "cseq"));
	l->invite_cseq = (uint32_t)json_integer_value(json_object_get(j, "invite_cseq"));
	l->trunk = json_is_true(json_object_get(j, "trunk"));
	l->update_ok = json_is_true(json_object_get(j, "update_ok"));
	l->se = (uint32_t)json_integer_value(json_object_get(j, "se"));
	l->se_ours = json_is_true(json_object_get(j, "se_ours"));
	sdp = json_string_value(json_object_get(j, "sdp"));
	l->sdp = sdp ? strdup(sdp) : NULL;
	return 0;
}

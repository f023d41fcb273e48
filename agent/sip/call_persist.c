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
#include "core/log.h"
#include "media/persist.h"
#include "media/session.h"
#include "sip/b2bua_int.h"
#include "store/cdr.h"

static json_t *peer_json(const struct sip_peer *p)
{
	char buf[64];

	sip_addr_str((const struct sockaddr *)&p->addr, buf, sizeof(buf));
	return json_pack("{s:s,s:i,s:i}", "addr", buf, "proto", p->proto, "lidx", p->lidx);
}

static json_t *leg_json(const struct leg *l)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:b,s:b,s:s?,s:I,s:b}",
			 "call_id", l->call_id, "local_tag", l->local_tag,
			 "remote_tag", l->remote_tag, "local_uri", l->local_uri,
			 "remote_uri", l->remote_uri, "target", l->target,
			 "peer", peer_json(&l->peer), "cseq", (json_int_t)l->cseq,
			 "invite_cseq", (json_int_t)l->invite_cseq, "trunk", l->trunk,
			 "update_ok", l->update_ok, "sdp", l->sdp, "se", (json_int_t)l->se,
			 "se_ours", l->se_ours);
}

void b2b_persist_call(struct call *c)
{
	json_t *root;
	char *text;

	if (!c->media || c->tc)
		return;		/* a test call's player does not survive a restart */
	root = json_pack("{s:s,s:s,s:[o,o],s:I}", "caller", c->caller, "callee", c->callee, "legs",
			 leg_json(&c->leg[SIDE_A]), leg_json(&c->leg[SIDE_B]), "cdr",
			 (json_int_t)(c->cdr ? c->cdr->id : 0));
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (!text)
		return;
	if (strlen(OWNER_TAG) + strlen(text) < sizeof(c->media->owner_data)) {
		snprintf(c->media->owner_data, sizeof(c->media->owner_data), OWNER_TAG "%s", text);
		media_persist(c->media);
	} else {
		LOG(L_WARN, "[call] %s -> %s: its dialogs are too large to be kept for a "
		    "restart", c->caller, c->callee);
	}
	free(text);
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

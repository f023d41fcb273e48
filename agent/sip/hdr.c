// SPDX-License-Identifier: GPL-2.0-only
/*
 * Header and body helpers over libosip2's messages (see hdr.h): what the
 * B2BUA reads from and writes into the messages it relays, kept with the
 * message code rather than with any one of its users.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "sip/hdr.h"
#include "sip/msg.h"

void sip_hdr_call_id(const osip_message_t *m, char *out, size_t n)
{
	if (m->call_id && m->call_id->host)
		snprintf(out, n, "%s@%s", m->call_id->number, m->call_id->host);
	else
		snprintf(out, n, "%s", m->call_id && m->call_id->number ? m->call_id->number : "");
}

/* "Name" <uri> of a From or To, without its tag. */
int sip_hdr_name_addr(const osip_from_t *f, char *out, size_t n)
{
	char *uri = NULL;
	int len;

	if (!f || !f->url || osip_uri_to_str(f->url, &uri))
		return -EINVAL;
	if (f->displayname && *f->displayname)
		len = snprintf(out, n, "%s <%s>", f->displayname, uri);
	else
		len = snprintf(out, n, "<%s>", uri);
	osip_free(uri);
	return len >= (int)n ? -ENAMETOOLONG : 0;
}

int sip_hdr_contact(const osip_message_t *m, char *out, size_t n)
{
	osip_contact_t *c;
	char *uri = NULL;
	int len;

	if (osip_message_get_contact(m, 0, &c) < 0 || !c->url || osip_uri_to_str(c->url, &uri))
		return -ENOENT;
	len = snprintf(out, n, "%s", uri);
	osip_free(uri);
	return len >= (int)n ? -ENAMETOOLONG : 0;
}

bool sip_hdr_has_sdp(const osip_message_t *m, const char **body, size_t *len)
{
	osip_body_t *b = osip_list_get(&m->bodies, 0);

	if (!b || !b->body || !b->length || !m->content_type || !m->content_type->type ||
	    strcasecmp(m->content_type->type, "application") ||
	    !m->content_type->subtype || strcasecmp(m->content_type->subtype, "sdp"))
		return false;
	*body = b->body;
	*len = b->length;
	return true;
}

void sip_hdr_set_sdp(osip_message_t *m, const char *sdp)
{
	char len[24];

	if (!sdp)
		return;
	osip_message_set_body(m, sdp, strlen(sdp));
	osip_message_set_content_type(m, "application/sdp");
	osip_content_length_free(m->content_length);
	m->content_length = NULL;
	snprintf(len, sizeof(len), "%zu", strlen(sdp));
	osip_message_set_content_length(m, len);
}

/* Whether a comma-separated list ("auth, auth-int", "100rel;x, timer") names tag. */
bool sip_hdr_list_has(const char *list, const char *tag)
{
	size_t n = strlen(tag);

	for (const char *p = list; *p;) {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t;");
		if (len == n && !strncasecmp(p, tag, n))
			return true;
		p += len;
		p += strcspn(p, ",");
	}
	return false;
}

bool sip_hdr_has_option(const osip_message_t *m, const char *name, const char *tag)
{
	osip_allow_t *al;
	const char *v;

	/* libosip2 keeps Allow apart, one value per entry. */
	if (!strcasecmp(name, "allow"))
		for (int i = 0; (al = osip_list_get(&m->allows, i)); i++)
			if (al->value && !strcasecmp(al->value, tag))
				return true;
	for (int i = 0; (v = sip_msg_header(m, name, i)); i++)
		if (sip_hdr_list_has(v, tag))
			return true;
	return false;
}

/*
 * Session-Expires: delta-seconds[;refresher=uac|uas] (RFC 4028 §4): the
 * interval, 0 when absent or malformed; *refresher 'c', 's' or 0.
 */
uint32_t sip_hdr_session_expires(const osip_message_t *m, char *refresher)
{
	const char *v = sip_msg_header(m, "session-expires", 0), *r;
	unsigned long n;
	char *end;

	*refresher = 0;
	if (!v)
		return 0;
	n = strtoul(v, &end, 10);
	if (end == v || n > 86400)
		return 0;
	r = strcasestr(end, "refresher=");
	if (r && !strncasecmp(r + 10, "uac", 3))
		*refresher = 'c';
	else if (r && !strncasecmp(r + 10, "uas", 3))
		*refresher = 's';
	return (uint32_t)n;
}

uint32_t sip_hdr_min_se(const osip_message_t *m)
{
	const char *v = sip_msg_header(m, "min-se", 0);
	unsigned long n = v ? strtoul(v, NULL, 10) : 0;

	return n > 86400 ? 86400 : (uint32_t)n;
}

/* A quoted-string's contents, unescaped; -ENAMETOOLONG when it does not fit. */
int sip_hdr_unquote(const char *in, char *out, size_t n)
{
	size_t o = 0;

	if (!in)
		return -ENOENT;
	if (*in == '"')
		in++;
	for (; *in && *in != '"'; in++) {
		if (*in == '\\' && in[1])
			in++;
		if (o + 1 >= n)
			return -ENAMETOOLONG;
		out[o++] = *in;
	}
	out[o] = '\0';
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Header and body helpers over libosip2's messages, beside msg.h's
 * checks: a dialog's identifiers (Call-ID, name-addr of From and To, the
 * Contact URI), the SDP body, option tags (Supported, Require, Allow),
 * the session timer's headers (RFC 4028) and quoted strings. They read or
 * edit one message and keep no state.
 */
#ifndef SLUICE_SIP_HDR_H
#define SLUICE_SIP_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <osipparser2/osip_message.h>

/* "number@host" of m's Call-ID (or the number alone). */
void sip_hdr_call_id(const osip_message_t *m, char *out, size_t n);
/* "Name" <uri> of a From or To, without its tag: 0, -EINVAL or -ENAMETOOLONG. */
int sip_hdr_name_addr(const osip_from_t *f, char *out, size_t n);
/* The URI of m's first Contact: 0, -ENOENT or -ENAMETOOLONG. */
int sip_hdr_contact(const osip_message_t *m, char *out, size_t n);

/* Whether m carries an application/sdp body: then *body and *len are it. */
bool sip_hdr_has_sdp(const osip_message_t *m, const char **body, size_t *len);
/* sdp (NULL: nothing is done) as m's body, with its Content-Type and Content-Length. */
void sip_hdr_set_sdp(osip_message_t *m, const char *sdp);

/* Whether a comma-separated list ("auth, auth-int", "100rel;x, timer") names tag. */
bool sip_hdr_list_has(const char *list, const char *tag);
/* Whether m's header name ("supported", "require", "allow") names tag. */
bool sip_hdr_has_option(const osip_message_t *m, const char *name, const char *tag);

/*
 * Session-Expires: delta-seconds[;refresher=uac|uas] (RFC 4028 §4): the
 * interval, 0 when absent or malformed; *refresher 'c', 's' or 0.
 */
uint32_t sip_hdr_session_expires(const osip_message_t *m, char *refresher);
/* Min-SE's seconds (at most 86400), 0 when absent. */
uint32_t sip_hdr_min_se(const osip_message_t *m);

/* A quoted-string's contents, unescaped: 0, -ENOENT (in NULL) or -ENAMETOOLONG. */
int sip_hdr_unquote(const char *in, char *out, size_t n);

#endif /* SLUICE_SIP_HDR_H */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Digest header values (see digest_hdr.h): credentials parsed from what a
 * client sends, challenges built for what the server sends.
 *
 * The credentials parser is our own rather than libosip2's
 * osip_authorization_parse: that one leaves the quotes and backslash
 * escapes in the values, drops parameters it does not know (so a client's
 * userhash=true would go unnoticed) and refuses some legal forms (an
 * unquoted username). This one reads the RFC 7235 grammar:
 *
 *   credentials = "Digest" 1*SP auth-param *( OWS "," OWS auth-param )
 *   auth-param  = token BWS "=" BWS ( token / quoted-string )
 *
 * with SIP's folding whitespace allowed, empty list elements skipped, every
 * value bounded by its field and duplicates refused. It is lenient about
 * which parameters are quoted (phones differ), strict about their values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "sip/digest_hdr.h"

/* Parameters we read, as bits of parse_state.seen. */
enum {
	P_USERNAME,
	P_REALM,
	P_NONCE,
	P_URI,
	P_RESPONSE,
	P_ALGORITHM,
	P_CNONCE,
	P_OPAQUE,
	P_QOP,
	P_NC,
	P_USERHASH,
	P_USERNAME_EXT,		/* username*, RFC 7616 section 3.4.4 */
	P_OTHER,		/* ignored, as RFC 7616 asks */
};

struct parse_state {
	struct digest_creds	*c;
	const char		*p, *end;
	unsigned		seen;
	char			algorithm[16];
	char			qop[16];
	char			response[DIGEST_HEX_MAX];
	char			userhash[8];
};

static const char *const param_names[] = {
	[P_USERNAME] = "username",	[P_REALM] = "realm",
	[P_NONCE] = "nonce",		[P_URI] = "uri",
	[P_RESPONSE] = "response",	[P_ALGORITHM] = "algorithm",
	[P_CNONCE] = "cnonce",		[P_OPAQUE] = "opaque",
	[P_QOP] = "qop",		[P_NC] = "nc",
	[P_USERHASH] = "userhash",	[P_USERNAME_EXT] = "username*",
};

static bool is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_ws(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void skip_ws(struct parse_state *ps)
{
	while (ps->p < ps->end && is_ws(*ps->p))
		ps->p++;
}

static size_t token_len(const struct parse_state *ps)
{
	const char *q = ps->p;

	while (q < ps->end && is_tchar(*q))
		q++;
	return q - ps->p;
}

/* Where a parameter's value goes; NULL with size 0 for one we ignore. */
static char *param_buf(struct parse_state *ps, int param, size_t *size)
{
	struct digest_creds *c = ps->c;

#define BUF(field) (*size = sizeof(field), field)
	switch (param) {
	case P_USERNAME:	return BUF(c->username);
	case P_REALM:		return BUF(c->realm);
	case P_NONCE:		return BUF(c->nonce);
	case P_URI:		return BUF(c->uri);
	case P_RESPONSE:	return BUF(ps->response);
	case P_ALGORITHM:	return BUF(ps->algorithm);
	case P_CNONCE:		return BUF(c->cnonce);
	case P_OPAQUE:		return BUF(c->opaque);
	case P_QOP:		return BUF(ps->qop);
	case P_NC:		return BUF(c->nc_text);
	case P_USERHASH:	return BUF(ps->userhash);
	default:		*size = 0; return NULL;
	}
#undef BUF
}

/*
 * A token or quoted-string into buf (unescaped, NUL-terminated); buf NULL
 * checks the syntax only. Control bytes other than HTAB are refused.
 */
static int parse_value(struct parse_state *ps, char *buf, size_t size)
{
	size_t n = 0, len;

	if (ps->p < ps->end && *ps->p != '"') {
		len = token_len(ps);
		if (!len || (buf && len >= size))
			return -EINVAL;
		if (buf) {
			memcpy(buf, ps->p, len);
			buf[len] = '\0';
		}
		ps->p += len;
		return 0;
	}
	if (ps->p++ >= ps->end)
		return -EINVAL;
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char ch = *ps->p++;

		if (ch == '\\') {
			if (ps->p >= ps->end)
				return -EINVAL;
			ch = *ps->p++;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return -EINVAL;
		if (buf) {
			if (n + 1 >= size)
				return -EINVAL;
			buf[n++] = (char)ch;
		}
	}
	if (ps->p >= ps->end)
		return -EINVAL;		/* unterminated */
	ps->p++;
	if (buf)
		buf[n] = '\0';
	return 0;
}

static int parse_param(struct parse_state *ps)
{
	size_t len = token_len(ps), size;
	int param;
	char *buf;

	if (!len)
		return -EINVAL;
	for (param = 0; param < P_OTHER; param++)
		if (strlen(param_names[param]) == len &&
		    !strncasecmp(param_names[param], ps->p, len))
			break;
	ps->p += len;
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '=')
		return -EINVAL;
	ps->p++;
	skip_ws(ps);
	if (param != P_OTHER) {
		if (ps->seen & 1u << param)
			return -EINVAL;
		ps->seen |= 1u << param;
	}
	buf = param_buf(ps, param, &size);
	return parse_value(ps, buf, size);
}

static bool is_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return s[len] == '\0';
}

/* The parameters are all read: check them and fill in the derived fields. */
static int finish(struct parse_state *ps)
{
	const unsigned required = 1u << P_USERNAME | 1u << P_REALM | 1u << P_NONCE |
				  1u << P_URI | 1u << P_RESPONSE;
	struct digest_creds *c = ps->c;
	size_t i, hexlen;

	if ((ps->seen & 1u << P_USERNAME_EXT) ||
	    ((ps->seen & 1u << P_USERHASH) && strcasecmp(ps->userhash, "false")))
		return -EPROTONOSUPPORT;	/* we never offer userhash */
	if ((ps->seen & required) != required)
		return -EINVAL;
	c->alg = DIGEST_MD5;
	if ((ps->seen & 1u << P_ALGORITHM) && digest_alg_parse(ps->algorithm, &c->alg))
		return -EPROTONOSUPPORT;
	hexlen = c->alg == DIGEST_SHA256 ? 64 : 32;
	if (!is_hex(ps->response, hexlen))
		return -EINVAL;
	for (i = 0; i < hexlen; i++)
		c->response[i] = ps->response[i] | 0x20;	/* lowercase hex */
	c->response[hexlen] = '\0';
	if (!(ps->seen & 1u << P_QOP)) {
		/* Without qop they take no part in the response: forget them. */
		memset(c->nc_text, 0, sizeof(c->nc_text));
		memset(c->cnonce, 0, sizeof(c->cnonce));
		return 0;
	}
	c->qop = strcasecmp(ps->qop, "auth") ? DIGEST_QOP_OTHER : DIGEST_QOP_AUTH;
	if (!(ps->seen & 1u << P_NC) || !(ps->seen & 1u << P_CNONCE) || !is_hex(c->nc_text, 8))
		return -EINVAL;
	c->nc = (uint32_t)strtoul(c->nc_text, NULL, 16);
	return 0;
}

int digest_creds_parse(const char *value, size_t len, struct digest_creds *out)
{
	struct parse_state ps = { .c = out, .p = value, .end = value + len };
	size_t n;

	memset(out, 0, sizeof(*out));
	if (memchr(value, '\0', len))
		return -EINVAL;
	skip_ws(&ps);
	n = token_len(&ps);
	if (!n)
		return -EINVAL;
	if (n != 6 || strncasecmp(ps.p, "Digest", 6))
		return -EPROTONOSUPPORT;
	ps.p += n;
	if (ps.p >= ps.end || !is_ws(*ps.p))
		return -EINVAL;
	for (;;) {
		skip_ws(&ps);
		while (ps.p < ps.end && *ps.p == ',') {
			ps.p++;
			skip_ws(&ps);
		}
		if (ps.p >= ps.end)
			break;
		if (parse_param(&ps))
			return -EINVAL;
		skip_ws(&ps);
		if (ps.p < ps.end && *ps.p != ',')
			return -EINVAL;
	}
	return finish(&ps);
}

int digest_creds_from_osip(const struct osip_authorization *a, struct digest_creds *out)
{
	char *text = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (osip_authorization_to_str(a, &text) || !text)
		return -EINVAL;
	err = digest_creds_parse(text, strlen(text), out);
	osip_free(text);
	return err;
}

/* realm as the inside of a quoted-string. */
static int quote(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in; in++) {
		unsigned char ch = *in;

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return -EINVAL;
		if (n + 3 > size)
			return -ENOBUFS;
		if (ch == '"' || ch == '\\')
			out[n++] = '\\';
		out[n++] = (char)ch;
	}
	if (n >= size)
		return -ENOBUFS;
	out[n] = '\0';
	return 0;
}

int digest_challenge(enum digest_alg alg, const char *realm, const char *nonce, bool stale,
		     char *out, size_t size)
{
	char qrealm[2 * DIGEST_REALM_MAX];
	int err = quote(realm, qrealm, sizeof(qrealm)), n;

	if (err)
		return err;
	if (!*nonce || strpbrk(nonce, "\"\\"))
		return -EINVAL;
	n = snprintf(out, size, "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s",
		     qrealm, nonce, digest_alg_name(alg), stale ? ", stale=true" : "");
	return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

int digest_challenges(struct digest_ctx *dc, const char *realm, const struct digest_algs *algs,
		      bool stale, uint64_t now_s, char out[DIGEST_ALG_N][DIGEST_CHALLENGE_MAX])
{
	unsigned n = algs->n < DIGEST_ALG_N ? algs->n : DIGEST_ALG_N;
	char nonce[NONCE_LEN + 1];
	int err;

	if (!n)
		return -EINVAL;
	err = digest_nonce(dc, now_s, nonce);
	for (unsigned i = 0; !err && i < n; i++)
		err = digest_challenge(algs->alg[i], realm, nonce, stale, out[i],
				       DIGEST_CHALLENGE_MAX);
	return err ? err : (int)n;
}

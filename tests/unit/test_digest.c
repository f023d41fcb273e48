// SPDX-License-Identifier: GPL-2.0-only
/*
 * Digest authentication: the arithmetic against the published examples
 * (RFC 7616 section 3.9.1, MD5 and SHA-256, qop=auth; RFC 2617 section
 * 3.5), the credentials parser over the RFC's own header and a table of
 * good and bad values, the algorithm lists a subscriber or [sip] digest
 * names, the challenges byte for byte and in the order asked, and
 * verification on a fake clock: stale nonces, foreign nonces, nonce-count
 * replays, realm mismatches and a tampered digest-uri, unknown users
 * failing like wrong passwords.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <osipparser2/osip_parser.h>

#include "sip/digest_hdr.h"

#define RFC7616_NONCE	"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define RFC7616_CNONCE	"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

static void test_rfc7616(void **state)
{
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];

	(void)state;
	assert_int_equal(digest_ha1(DIGEST_MD5, "Mufasa", "http-auth@example.org",
				    "Circle of Life", ha1), 0);
	assert_int_equal(digest_response(DIGEST_MD5, ha1, RFC7616_NONCE, "00000001",
					 RFC7616_CNONCE, "auth", "GET", "/dir/index.html",
					 resp), 0);
	assert_string_equal(resp, "8ca523f5e9506fed4657c9700eebdbec");

	assert_int_equal(digest_ha1(DIGEST_SHA256, "Mufasa", "http-auth@example.org",
				    "Circle of Life", ha1), 0);
	assert_int_equal(digest_response(DIGEST_SHA256, ha1, RFC7616_NONCE, "00000001",
					 RFC7616_CNONCE, "auth", "GET", "/dir/index.html",
					 resp), 0);
	assert_string_equal(resp,
			    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

static void test_rfc2617(void **state)
{
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];

	(void)state;
	assert_int_equal(digest_ha1(DIGEST_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life",
				    ha1), 0);
	assert_int_equal(digest_response(DIGEST_MD5, ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093",
					 "00000001", "0a4f113b", "auth", "GET", "/dir/index.html",
					 resp), 0);
	assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
}

static void test_names_and_compare(void **state)
{
	enum digest_alg alg;

	(void)state;
	assert_int_equal(digest_alg_parse("sha-256", &alg), 0);
	assert_int_equal(alg, DIGEST_SHA256);
	assert_int_equal(digest_alg_parse("MD5", &alg), 0);
	assert_int_equal(alg, DIGEST_MD5);
	assert_int_equal(digest_alg_parse("SHA-512-256", &alg), -EINVAL);
	assert_string_equal(digest_alg_name(DIGEST_SHA256), "SHA-256");
	assert_true(digest_equal("abc", "abc"));
	assert_false(digest_equal("abc", "abd"));
	assert_false(digest_equal("abc", "ab"));
	assert_false(digest_equal("ab", "abc"));
	assert_false(digest_equal("", "a"));
}

static void test_algs(void **state)
{
	static const struct {
		const char	*text;
		int		err;
		const char	*canon;
	} cases[] = {
		{ "md5", 0, "MD5" },
		{ "SHA-256", 0, "SHA-256" },
		{ "sha-256, md5", 0, "SHA-256, MD5" },
		{ " md5,sha-256 ", 0, "MD5, SHA-256" },
		{ "md5 sha-256", 0, "MD5, SHA-256" },
		{ "", -EINVAL, NULL },
		{ " , ", -EINVAL, NULL },
		{ "md5, md5", -EINVAL, NULL },
		{ "MD5, sha-256, md5", -EINVAL, NULL },
		{ "sha-512-256", -EINVAL, NULL },
		{ "md5-sess", -EINVAL, NULL },
		{ "sha-256-and-a-name-longer-than-a-buffer", -EINVAL, NULL },
	};
	struct digest_algs a;
	char text[DIGEST_ALGS_TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = digest_algs_parse(cases[i].text, &a);

		if (err != cases[i].err)
			fail_msg("\"%s\": %d, expected %d", cases[i].text, err, cases[i].err);
		if (err)
			continue;
		assert_int_equal(digest_algs_format(&a, text, sizeof(text)), 0);
		assert_string_equal(text, cases[i].canon);
	}
	assert_int_equal(digest_algs_parse("sha-256, md5", &a), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.alg[0], DIGEST_SHA256);
	assert_true(digest_algs_has(&a, DIGEST_MD5));
	assert_int_equal(digest_algs_format(&a, text, 12), -ENOBUFS);
	assert_int_equal(digest_algs_parse("sha-256", &a), 0);
	assert_false(digest_algs_has(&a, DIGEST_MD5));
	a.n = 0;
	assert_int_equal(digest_algs_format(&a, text, sizeof(text)), 0);
	assert_string_equal(text, "");
	assert_false(digest_algs_has(&a, DIGEST_SHA256));
}

/* RFC 7616 section 3.9.1, the SHA-256 request (the MD5 one differs in two values). */
static const char rfc7616_auth[] =
	"Digest username=\"Mufasa\",\r\n"
	"       realm=\"http-auth@example.org\",\r\n"
	"       uri=\"/dir/index.html\",\r\n"
	"       algorithm=%s,\r\n"
	"       nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"
	"       nc=00000001,\r\n"
	"       cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n"
	"       qop=auth,\r\n"
	"       response=\"%s\",\r\n"
	"       opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

static int parse(const char *s, struct digest_creds *c)
{
	return digest_creds_parse(s, strlen(s), c);
}

static void check_rfc7616_header(enum digest_alg alg, const char *response)
{
	char text[1024], ha1[DIGEST_HEX_MAX], expect[DIGEST_HEX_MAX];
	struct digest_creds c;

	snprintf(text, sizeof(text), rfc7616_auth, digest_alg_name(alg), response);
	assert_int_equal(parse(text, &c), 0);
	assert_int_equal(c.alg, alg);
	assert_int_equal(c.qop, DIGEST_QOP_AUTH);
	assert_int_equal(c.nc, 1);
	assert_string_equal(c.nc_text, "00000001");
	assert_string_equal(c.username, "Mufasa");
	assert_string_equal(c.realm, "http-auth@example.org");
	assert_string_equal(c.uri, "/dir/index.html");
	assert_string_equal(c.nonce, RFC7616_NONCE);
	assert_string_equal(c.cnonce, RFC7616_CNONCE);
	assert_string_equal(c.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	assert_string_equal(c.response, response);
	/* The response the server computes from the parsed values is the RFC's. */
	assert_int_equal(digest_ha1(alg, c.username, c.realm, "Circle of Life", ha1), 0);
	assert_int_equal(digest_response(alg, ha1, c.nonce, c.nc_text, c.cnonce, "auth", "GET",
					 c.uri, expect), 0);
	assert_true(digest_equal(expect, c.response));
}

static void test_parse_rfc7616(void **state)
{
	(void)state;
	check_rfc7616_header(DIGEST_SHA256,
			     "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
	check_rfc7616_header(DIGEST_MD5, "8ca523f5e9506fed4657c9700eebdbec");
}

#define R32 "0123456789abcdef0123456789abcdef"
#define BASE "username=\"1001\", realm=\"ims.local\", nonce=\"n\", uri=\"sip:ims.local\", "

static const struct parse_case {
	const char *text;
	int err;
} parse_cases[] = {
	/* good */
	{ "Digest " BASE "response=\"" R32 "\"", 0 },
	{ "digest " BASE "response=" R32, 0 },				/* token value */
	{ "Digest\t" BASE "response=\"" R32 "\", algorithm=md5", 0 },
	{ "Digest " BASE "response=\"" R32 "\",,, ,", 0 },		/* empty elements */
	{ "Digest " BASE "RESPONSE = \"" R32 "\" , Foo=\"a,b=\\\"c\", bar=baz", 0 },
	{ "Digest " BASE "response=\"" R32 "\", qop=\"auth\", nc=\"0000000a\", cnonce=x", 0 },
	{ "Digest " BASE "response=\"" R32 "\", userhash=false", 0 },
	{ "Digest " BASE "response=\"0123456789ABCDEF0123456789ABCDEF\"", 0 },
	/* another scheme or algorithm, userhash */
	{ "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", -EPROTONOSUPPORT },
	{ "Digest " BASE "response=\"" R32 "\", algorithm=MD5-sess", -EPROTONOSUPPORT },
	{ "Digest " BASE "response=\"" R32 "\", algorithm=SHA-512-256", -EPROTONOSUPPORT },
	{ "Digest " BASE "response=\"" R32 "\", userhash=true", -EPROTONOSUPPORT },
	{ "Digest username*=UTF-8''J%C3%A4s%C3%B8n, realm=\"r\", nonce=n, uri=u, response=" R32,
	  -EPROTONOSUPPORT },
	/* malformed */
	{ "", -EINVAL },
	{ "Digest", -EINVAL },
	{ "Digest ", -EINVAL },
	{ "Digestusername=\"1001\"", -EPROTONOSUPPORT },
	{ "Digest " BASE "response=\"" R32, -EINVAL },			/* unterminated */
	{ "Digest " BASE "response=\"" R32 "\\", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\" x", -EINVAL },		/* no comma */
	{ "Digest " BASE "response=\"" R32 "\", =x", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", x=", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", x", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", username=\"1002\"", -EINVAL },	/* twice */
	{ "Digest " BASE "response=\"" R32 "\", Realm=\"ims.local\"", -EINVAL },
	{ "Digest username=\"1001\", realm=\"r\", uri=u, response=" R32, -EINVAL },	/* nonce */
	{ "Digest " BASE "response=\"" R32 "0\"", -EINVAL },		/* length */
	{ "Digest " BASE "response=\"" R32 "\", algorithm=SHA-256", -EINVAL },
	{ "Digest " BASE "response=\"0123456789abcdef0123456789abcdeg\"", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", qop=auth, cnonce=x", -EINVAL },	/* no nc */
	{ "Digest " BASE "response=\"" R32 "\", qop=auth, nc=00000001", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", qop=auth, nc=1, cnonce=x", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", qop=auth, nc=0000000g, cnonce=x", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", qop=auth, nc=000000001, cnonce=x", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", opaque=\"a\x01\"", -EINVAL },	/* control */
	{ "Digest " BASE "response=\"" R32 "\", opaque=\"a\x7f\"", -EINVAL },
	{ "Digest " BASE "response=\"" R32 "\", opaque=a\"b\"", -EINVAL },
};

static void test_parse_table(void **state)
{
	struct digest_creds c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		int err = parse(parse_cases[i].text, &c);

		if (err != parse_cases[i].err)
			fail_msg("case %zu: \"%s\": %d, expected %d", i, parse_cases[i].text, err,
				 parse_cases[i].err);
	}
}

static void test_parse_values(void **state)
{
	char text[1024], big[DIGEST_USER_MAX + 1];
	struct digest_creds c;

	(void)state;
	/* Escapes undone, folded whitespace, unknown parameters skipped, hex lowered. */
	assert_int_equal(parse("Digest username=\"a\\\"b\\\\c,d\",\r\n\trealm=\"r\" , "
			       "x-foo=\"username=evil\", nonce=n,uri=\"sip:a@b;transport=tcp\","
			       "response=0123456789ABCDEF0123456789ABCDEF, qop=AUTH, nc=FFFFFFFF, "
			       "cnonce=\"\"", &c), 0);
	assert_string_equal(c.username, "a\"b\\c,d");
	assert_string_equal(c.realm, "r");
	assert_string_equal(c.uri, "sip:a@b;transport=tcp");
	assert_string_equal(c.response, R32);
	assert_int_equal(c.qop, DIGEST_QOP_AUTH);
	assert_int_equal(c.nc, 0xffffffff);
	assert_string_equal(c.nc_text, "FFFFFFFF");	/* hashed as sent */
	assert_string_equal(c.cnonce, "");
	assert_int_equal(c.alg, DIGEST_MD5);
	assert_int_equal(parse("Digest " BASE "response=" R32 ", qop=auth-int, nc=00000001, "
			       "cnonce=c", &c), 0);
	assert_int_equal(c.qop, DIGEST_QOP_OTHER);
	assert_int_equal(parse("Digest " BASE "response=" R32, &c), 0);
	assert_int_equal(c.qop, DIGEST_QOP_NONE);

	/* Bounded fields: the longest username fits, one more byte does not. */
	memset(big, 'u', sizeof(big));
	big[DIGEST_USER_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "Digest username=\"%s\", realm=r, nonce=n, uri=u, "
		 "response=" R32, big);
	assert_int_equal(parse(text, &c), 0);
	assert_int_equal(strlen(c.username), DIGEST_USER_MAX - 1);
	big[DIGEST_USER_MAX - 1] = 'u';
	big[DIGEST_USER_MAX] = '\0';
	snprintf(text, sizeof(text), "Digest username=\"%s\", realm=r, nonce=n, uri=u, "
		 "response=" R32, big);
	assert_int_equal(parse(text, &c), -EINVAL);
	/* The length is the caller's: a NUL inside, or bytes beyond, are not read past. */
	assert_int_equal(digest_creds_parse("Digest " BASE "response=" R32 "\0, x=y",
					    strlen("Digest " BASE "response=" R32) + 6, &c),
			 -EINVAL);
	assert_int_equal(digest_creds_parse("Digest " BASE "response=\"" R32 "\"garbage",
					    strlen("Digest " BASE "response=\"" R32 "\""), &c), 0);
}

static void test_from_osip(void **state)
{
	char text[1024];
	osip_authorization_t *a;
	struct digest_creds c, d;
	char *fold;

	(void)state;
	snprintf(text, sizeof(text), rfc7616_auth, "SHA-256",
		 "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
	/* libosip2 reads headers its message parser has unfolded already. */
	while ((fold = strstr(text, "\r\n       ")))
		memmove(fold, fold + 9, strlen(fold + 9) + 1);
	assert_int_equal(osip_authorization_init(&a), 0);
	assert_int_equal(osip_authorization_parse(a, text), 0);
	assert_int_equal(digest_creds_from_osip(a, &c), 0);
	osip_authorization_free(a);
	assert_int_equal(parse(text, &d), 0);
	assert_memory_equal(&c, &d, sizeof(c));
}

static void test_challenge(void **state)
{
	char out[DIGEST_CHALLENGE_MAX];

	(void)state;
	assert_int_equal(digest_challenge(DIGEST_SHA256, "ims.local", "abc", false, out,
					  sizeof(out)), 0);
	assert_string_equal(out, "Digest realm=\"ims.local\", nonce=\"abc\", algorithm=SHA-256, "
			    "qop=\"auth\"");
	assert_int_equal(digest_challenge(DIGEST_MD5, "a\"b\\c", "abc", true, out, sizeof(out)), 0);
	assert_string_equal(out, "Digest realm=\"a\\\"b\\\\c\", nonce=\"abc\", algorithm=MD5, "
			    "qop=\"auth\", stale=true");
	assert_int_equal(digest_challenge(DIGEST_MD5, "a\nb", "abc", false, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(digest_challenge(DIGEST_MD5, "ims.local", "abc", false, out, 20),
			 -ENOBUFS);
}

/* A client: answers a challenge the way a phone does. */
struct client {
	const char	*user, *password, *realm, *method, *uri;
	enum digest_alg	alg;
	uint32_t	nc;
	char		nonce[DIGEST_NONCE_MAX];
};

static void take_nonce(struct client *cl, const char *challenge)
{
	const char *p = strstr(challenge, "nonce=\"");

	assert_non_null(p);
	p += 7;
	assert_true(strchr(p, '"') - p < (long)sizeof(cl->nonce));
	snprintf(cl->nonce, strchr(p, '"') - p + 1, "%s", p);
}

static void answer(const struct client *cl, struct digest_creds *c)
{
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX], nc[9], text[1024];

	snprintf(nc, sizeof(nc), "%08x", cl->nc);
	assert_int_equal(digest_ha1(cl->alg, cl->user, cl->realm, cl->password, ha1), 0);
	assert_int_equal(digest_response(cl->alg, ha1, cl->nonce, nc, "0a4f113b", "auth",
					 cl->method, cl->uri, resp), 0);
	snprintf(text, sizeof(text),
		 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
		 "response=\"%s\", algorithm=%s, cnonce=\"0a4f113b\", qop=auth, nc=%s",
		 cl->user, cl->realm, cl->nonce, cl->uri, resp, digest_alg_name(cl->alg), nc);
	assert_int_equal(parse(text, c), 0);
}

static struct digest_ctx ctx;

static int ctx_setup(void **state)
{
	(void)state;
	return digest_ctx_init(&ctx, 30);
}

static int ctx_teardown(void **state)
{
	(void)state;
	digest_ctx_fini(&ctx);
	return 0;
}

static enum digest_verdict verify_as(const struct digest_creds *c, const char *password,
				     uint64_t now)
{
	char ha1[DIGEST_HEX_MAX];

	if (!password)
		return digest_verify(&ctx, c, "ims.local", "REGISTER", NULL, now);
	assert_int_equal(digest_ha1(c->alg, c->username, "ims.local", password, ha1), 0);
	return digest_verify(&ctx, c, "ims.local", "REGISTER", ha1, now);
}

static const struct digest_algs both = { 2, { DIGEST_SHA256, DIGEST_MD5 } };

static void test_challenges(void **state)
{
	char ch[DIGEST_ALG_N][DIGEST_CHALLENGE_MAX], other[DIGEST_ALG_N][DIGEST_CHALLENGE_MAX];
	const struct digest_algs md5 = { 1, { DIGEST_MD5 } }, none = { 0, { 0 } };
	const struct digest_algs md5_first = { 2, { DIGEST_MD5, DIGEST_SHA256 } };
	struct client a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(digest_challenges(&ctx, "ims.local", &both, false, 1000, ch), 2);
	assert_non_null(strstr(ch[0], "algorithm=SHA-256"));
	assert_non_null(strstr(ch[1], "algorithm=MD5"));
	assert_null(strstr(ch[0], "stale"));
	take_nonce(&a, ch[0]);
	take_nonce(&b, ch[1]);
	assert_string_equal(a.nonce, b.nonce);
	assert_int_equal(strlen(a.nonce), NONCE_LEN);
	/* Two challenges differ in their nonce only. */
	assert_int_equal(digest_challenges(&ctx, "ims.local", &both, false, 1000, other), 2);
	take_nonce(&b, other[0]);
	assert_string_not_equal(a.nonce, b.nonce);
	assert_int_equal(strlen(ch[0]), strlen(other[0]));
	assert_memory_equal(ch[0], other[0], strstr(ch[0], a.nonce) - ch[0]);
	assert_string_equal(strstr(ch[0], a.nonce) + NONCE_LEN,
			    strstr(other[0], b.nonce) + NONCE_LEN);
	assert_int_equal(digest_challenges(&ctx, "ims.local", &both, true, 1000, ch), 2);
	assert_non_null(strstr(ch[0], ", stale=true"));
	assert_non_null(strstr(ch[1], ", stale=true"));
	/* As many as asked for, in their order. */
	assert_int_equal(digest_challenges(&ctx, "ims.local", &md5, false, 1000, ch), 1);
	assert_non_null(strstr(ch[0], "algorithm=MD5"));
	assert_int_equal(digest_challenges(&ctx, "ims.local", &md5_first, false, 1000, ch), 2);
	assert_non_null(strstr(ch[0], "algorithm=MD5"));
	assert_non_null(strstr(ch[1], "algorithm=SHA-256"));
	assert_int_equal(digest_challenges(&ctx, "ims.local", &none, false, 1000, ch), -EINVAL);
}

static void test_verify(void **state)
{
	char ch[DIGEST_ALG_N][DIGEST_CHALLENGE_MAX];
	struct client cl = { .user = "1001", .password = "secret", .realm = "ims.local",
			     .method = "REGISTER", .uri = "sip:ims.local", .nc = 1 };
	struct digest_creds c;
	int alg;

	(void)state;
	for (alg = DIGEST_MD5; alg <= DIGEST_SHA256; alg++) {
		cl.alg = alg;
		cl.nc = 1;
		assert_int_equal(digest_challenges(&ctx, "ims.local", &both, false, 1000, ch), 2);
		take_nonce(&cl, ch[0]);
		answer(&cl, &c);
		assert_int_equal(c.alg, alg);
		/* Wrong password and unknown user first: they spend no count. */
		assert_int_equal(verify_as(&c, "Secret", 1001), DIGEST_FAILED);
		assert_int_equal(verify_as(&c, NULL, 1001), DIGEST_FAILED);
		assert_int_equal(verify_as(&c, "secret", 1001), DIGEST_OK);
		assert_int_equal(verify_as(&c, "secret", 1001), DIGEST_REPLAY);
		assert_int_equal(verify_as(&c, "secret", 1002), DIGEST_REPLAY);
		cl.nc = 3;
		answer(&cl, &c);
		assert_int_equal(verify_as(&c, "secret", 1002), DIGEST_OK);
		cl.nc = 2;				/* overtaken by 3 */
		answer(&cl, &c);
		assert_int_equal(verify_as(&c, "secret", 1030), DIGEST_OK);
		assert_int_equal(verify_as(&c, "secret", 1030), DIGEST_REPLAY);
		/* Lifetime over: stale for the right password, failed for a wrong one. */
		cl.nc = 4;
		answer(&cl, &c);
		assert_int_equal(verify_as(&c, "secret", 1031), DIGEST_STALE);
		assert_int_equal(verify_as(&c, "Secret", 1031), DIGEST_FAILED);
		assert_int_equal(verify_as(&c, NULL, 1031), DIGEST_FAILED);
		/* A fresh nonce after the stale one. */
		assert_int_equal(digest_challenges(&ctx, "ims.local", &both, true, 1031, ch), 2);
		take_nonce(&cl, ch[1]);
		cl.nc = 1;
		answer(&cl, &c);
		assert_int_equal(verify_as(&c, "secret", 1031), DIGEST_OK);
	}
}

static void test_verify_mismatch(void **state)
{
	char ch[DIGEST_ALG_N][DIGEST_CHALLENGE_MAX];
	struct client cl = { .user = "1001", .password = "secret", .realm = "ims.local",
			     .method = "REGISTER", .uri = "sip:ims.local", .nc = 1,
			     .alg = DIGEST_SHA256 };
	struct digest_creds c;

	(void)state;
	assert_int_equal(digest_challenges(&ctx, "ims.local", &both, false, 1000, ch), 2);
	take_nonce(&cl, ch[0]);
	/* Another realm: refused before the password is looked at. */
	cl.realm = "other.local";
	answer(&cl, &c);
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_WRONG_REALM);
	cl.realm = "ims.local";
	/* The digest-uri is part of the hash: changed on the way, the response is wrong. */
	answer(&cl, &c);
	snprintf(c.uri, sizeof(c.uri), "sip:other.local");
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_FAILED);
	/* A response for another method. */
	cl.method = "INVITE";
	answer(&cl, &c);
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_FAILED);
	cl.method = "REGISTER";
	/* A nonce of someone else's, or tampered with. */
	snprintf(cl.nonce, sizeof(cl.nonce), "%s", RFC7616_NONCE);
	answer(&cl, &c);
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_BAD_NONCE);
	take_nonce(&cl, ch[0]);
	cl.nonce[3] ^= 1;
	answer(&cl, &c);
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_BAD_NONCE);
	take_nonce(&cl, ch[0]);
	/* nc 0 is no count. */
	cl.nc = 0;
	answer(&cl, &c);
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_REPLAY);
	/* No qop, or auth-int: refused. */
	assert_int_equal(parse("Digest username=\"1001\", realm=\"ims.local\", nonce=\"n\", "
			       "uri=\"sip:ims.local\", response=" R32, &c), 0);
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_BAD_QOP);
	c.qop = DIGEST_QOP_OTHER;
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_BAD_QOP);
	/* Still unspent after all of that. */
	cl.nc = 1;
	answer(&cl, &c);
	assert_int_equal(verify_as(&c, "secret", 1000), DIGEST_OK);
	assert_string_equal(digest_verdict_name(DIGEST_WRONG_REALM), "wrong realm");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7616),
		cmocka_unit_test(test_rfc2617),
		cmocka_unit_test(test_names_and_compare),
		cmocka_unit_test(test_algs),
		cmocka_unit_test(test_parse_rfc7616),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_from_osip),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_challenges),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_verify_mismatch),
	};

	return cmocka_run_group_tests(tests, ctx_setup, ctx_teardown);
}

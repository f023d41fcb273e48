// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SIP server's digest authentication as a phone meets it, messages in
 * and out through sip_server_input() against a subscriber table in
 * memory, with the shipped [sip] digest: a subscriber without algorithms
 * of its own, and an unknown user, are challenged with MD5 alone (what
 * sipp and baresip answer); a hardened subscriber with its own list, in
 * its order, and its answer in another algorithm is refused (no
 * downgrade) and challenged again; wrong passwords and unknown users get
 * the same answer; the digest-uri may name this server instead of the
 * Request-URI (sipp's default), not anything else.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/conf.h"
#include "core/loop.h"
#include "net/digest.h"
#include "sip/server.h"
#include "sip/server_int.h"
#include "store/subscriber.h"

static char last[8192];		/* the last message sluiced sent */
static int nsent;
static uint64_t fake_ms = 1000000;

static int capture(void *arg, const struct sip_peer *to, const char *buf, size_t len)
{
	(void)arg;
	(void)to;
	snprintf(last, sizeof(last), "%.*s", (int)len, buf);
	nsent++;
	return 0;
}

static uint64_t fake_clock(void)
{
	return fake_ms;
}

static int64_t fake_now(void)
{
	return (int64_t)(fake_ms / 1000);
}

struct fx {
	struct loop		*loop;
	struct conf		conf;
	struct store		store;
	struct sip_server	s;
	int			cseq;
};

static struct fx *fx;

static void add(const char *user, const char *password, const char *digest)
{
	struct subscriber sub;

	assert_int_equal(subscriber_init(&sub, user, "ims.local", password, NULL), 0);
	assert_int_equal(subscriber_digest_parse(digest, &sub.digest), 0);
	assert_int_equal(subscriber_add(&fx->store, &sub), 0);
}

static int setup(void **state)
{
	fx = calloc(1, sizeof(*fx));
	if (!fx || loop_new(&fx->loop) || store_open(&fx->store, ":memory:"))
		return -1;
	loop_set_clock(fx->loop, fake_clock);
	conf_defaults(&fx->conf);	/* [sip] digest as shipped; listen 0.0.0.0:5060 */
	strcpy(fx->conf.sip_domain, "ims.local");
	add("1001", "secret1001", "");
	add("1002", "secret1002", "SHA-256");
	add("1003", "secret1003", "sha-256, md5");
	if (sip_server_init(&fx->s, fx->loop, &fx->conf, &fx->store, capture, NULL))
		return -1;
	fx->s.now = fake_now;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sip_server_fini(&fx->s);
	store_close(&fx->store);
	loop_free(fx->loop);
	free(fx);
	return 0;
}

/*
 * One request from 127.0.0.1:5099 (auth: a whole header line, or NULL) from
 * user; To is the Request-URI, or for a REGISTER sip:AOR@ims.local (aor
 * NULL: user's own). Returns the answer.
 */
static const char *send_as(const char *method, const char *ruri, const char *user,
			   const char *aor, const char *auth)
{
	struct sip_peer from = { .proto = SIP_UDP, .len = sizeof(struct sockaddr_in) };
	struct sockaddr_in *sin = (struct sockaddr_in *)&from.addr;
	char buf[4096], to[128];
	int n;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(5099);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!strcmp(method, "REGISTER"))
		snprintf(to, sizeof(to), "sip:%s@ims.local", aor ? aor : user);
	else
		snprintf(to, sizeof(to), "%s", ruri);
	fx->cseq++;
	n = snprintf(buf, sizeof(buf),
		     "%s %s SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKauth%d;rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:%s@ims.local>;tag=f%d\r\n"
		     "To: <%s>\r\n"
		     "Call-ID: auth-%d@127.0.0.1\r\n"
		     "CSeq: %d %s\r\n"
		     "Contact: <sip:%s@127.0.0.1:5099>\r\n"
		     "%s%s"
		     "Content-Length: 0\r\n\r\n",
		     method, ruri, fx->cseq, user, fx->cseq, to, fx->cseq, fx->cseq, method, user,
		     auth ? auth : "", auth ? "\r\n" : "");
	last[0] = '\0';
	sip_server_input(&fx->s, &from, buf, (size_t)n, 0);
	sip_server_flush(&fx->s);
	return last;
}

static const char *send_req(const char *method, const char *ruri, const char *user,
			    const char *auth)
{
	return send_as(method, ruri, user, NULL, auth);
}

/* The algorithms of a 401/407's challenges, in order: "MD5", "SHA-256,MD5"... */
static void algs_of(const char *resp, char *out, size_t size)
{
	const char *p = resp;

	out[0] = '\0';
	while ((p = strstr(p, "-Authenticate: Digest "))) {
		const char *a = strstr(p, "algorithm=");
		size_t len;

		assert_non_null(a);
		a += strlen("algorithm=");
		len = strcspn(a, ", \r");
		snprintf(out + strlen(out), size - strlen(out), "%s%.*s", *out ? "," : "",
			 (int)len, a);
		p = a;
	}
}

/* The status line and challenge headers, the nonces cut out: what a prober compares. */
static void shape(const char *resp, char *out, size_t size)
{
	const char *p = resp;
	size_t n = 0;

	out[0] = '\0';
	while (*p && n + 1 < size) {
		size_t len = strcspn(p, "\r");

		if (!strncmp(p, "SIP/2.0", 7) || strstr(p, "-Authenticate:") == p + 3 ||
		    !strncmp(p, "WWW-Authenticate:", 17) || !strncmp(p, "Proxy-Authenticate:", 19))
			n += (size_t)snprintf(out + n, size - n, "%.*s|", (int)len, p);
		p += len;
		p += strspn(p, "\r\n");
	}
	for (char *q = strstr(out, "nonce=\""); q; q = strstr(q + 1, "nonce=\"")) {
		char *end = strchr(q + 7, '"');

		assert_non_null(end);
		memmove(q + 7, end, strlen(end) + 1);
	}
}

/* The credentials a phone sends for alg, user and password, with digest-uri duri. */
static void answer(const char *challenge, const char *hdr, enum digest_alg alg,
		   const char *user, const char *password, const char *method,
		   const char *duri, char *out, size_t size)
{
	char nonce[DIGEST_NONCE_MAX], ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
	const char *p = strstr(challenge, "nonce=\"");

	assert_non_null(p);
	p += 7;
	snprintf(nonce, sizeof(nonce), "%.*s", (int)strcspn(p, "\""), p);
	assert_int_equal(digest_ha1(alg, user, "ims.local", password, ha1), 0);
	assert_int_equal(digest_response(alg, ha1, nonce, "00000001", "c0ffee", "auth", method,
					 duri, resp), 0);
	snprintf(out, size, "%s: Digest username=\"%s\", realm=\"ims.local\", nonce=\"%s\", "
		 "uri=\"%s\", response=\"%s\", algorithm=%s, cnonce=\"c0ffee\", qop=auth, "
		 "nc=00000001", hdr, user, nonce, duri, resp, digest_alg_name(alg));
}

/* REGISTER as user: challenged, then answered in alg with password and duri. */
static const char *register_as(const char *user, enum digest_alg alg, const char *password,
			       const char *duri)
{
	char chal[8192], auth[1024];

	snprintf(chal, sizeof(chal), "%s", send_req("REGISTER", "sip:ims.local", user, NULL));
	assert_non_null(strstr(chal, "SIP/2.0 401"));
	answer(chal, "Authorization", alg, user, password, "REGISTER", duri, auth, sizeof(auth));
	return send_req("REGISTER", "sip:ims.local", user, auth);
}

static void test_challenge_per_subscriber(void **state)
{
	char algs[64], known[2048], unknown[2048];

	(void)state;
	/* The shipped default: MD5 alone, for a subscriber without a list and for nobody. */
	algs_of(send_req("REGISTER", "sip:ims.local", "1001", NULL), algs, sizeof(algs));
	assert_string_equal(algs, "MD5");
	shape(last, known, sizeof(known));
	algs_of(send_req("REGISTER", "sip:ims.local", "7777", NULL), algs, sizeof(algs));
	assert_string_equal(algs, "MD5");
	shape(last, unknown, sizeof(unknown));
	assert_string_equal(known, unknown);
	/* Hardened subscribers: their own list, in their order. */
	algs_of(send_req("REGISTER", "sip:ims.local", "1002", NULL), algs, sizeof(algs));
	assert_string_equal(algs, "SHA-256");
	algs_of(send_req("REGISTER", "sip:ims.local", "1003", NULL), algs, sizeof(algs));
	assert_string_equal(algs, "SHA-256,MD5");
	/* A REGISTER for another's AOR: the one in From answers, with its own. */
	algs_of(send_as("REGISTER", "sip:ims.local", "1001", "1002", NULL), algs, sizeof(algs));
	assert_string_equal(algs, "MD5");
	algs_of(send_as("REGISTER", "sip:ims.local", "1002", "1001", NULL), algs, sizeof(algs));
	assert_string_equal(algs, "SHA-256");
	/* Other requests name theirs in From too, and get 407. */
	send_req("MESSAGE", "sip:1001@ims.local", "1002", NULL);
	assert_non_null(strstr(last, "SIP/2.0 407"));
	algs_of(last, algs, sizeof(algs));
	assert_string_equal(algs, "SHA-256");
	send_req("MESSAGE", "sip:1002@ims.local", "1001", NULL);
	algs_of(last, algs, sizeof(algs));
	assert_string_equal(algs, "MD5");
}

static void test_answers(void **state)
{
	char algs[64], wrong[2048], nouser[2048];
	uint64_t failed;

	(void)state;
	/* Each registers in an algorithm it is offered. */
	assert_non_null(strstr(register_as("1001", DIGEST_MD5, "secret1001", "sip:ims.local"),
			       "SIP/2.0 200"));
	assert_non_null(strstr(register_as("1002", DIGEST_SHA256, "secret1002", "sip:ims.local"),
			       "SIP/2.0 200"));
	assert_non_null(strstr(register_as("1003", DIGEST_MD5, "secret1003", "sip:ims.local"),
			       "SIP/2.0 200"));
	/* The hardened one's MD5, the right password or not: refused, SHA-256 again. */
	failed = fx->s.stats.auth_failed;
	register_as("1002", DIGEST_MD5, "secret1002", "sip:ims.local");
	assert_non_null(strstr(last, "SIP/2.0 401"));
	algs_of(last, algs, sizeof(algs));
	assert_string_equal(algs, "SHA-256");
	assert_int_equal(fx->s.stats.auth_failed, failed + 1);
	/* A SHA-256 answer where only MD5 is offered: refused too. */
	register_as("1001", DIGEST_SHA256, "secret1001", "sip:ims.local");
	assert_non_null(strstr(last, "SIP/2.0 401"));
	algs_of(last, algs, sizeof(algs));
	assert_string_equal(algs, "MD5");
	/* A wrong password and an unknown user: the same answer, nonce aside. */
	register_as("1001", DIGEST_MD5, "wrong", "sip:ims.local");
	shape(last, wrong, sizeof(wrong));
	register_as("7777", DIGEST_MD5, "wrong", "sip:ims.local");
	shape(last, nouser, sizeof(nouser));
	assert_non_null(strstr(wrong, "SIP/2.0 401"));
	assert_string_equal(wrong, nouser);
}

static void test_digest_uri(void **state)
{
	(void)state;
	/* sipp's default: sip:SERVER:PORT while the Request-URI is sip:DOMAIN. */
	assert_non_null(strstr(register_as("1001", DIGEST_MD5, "secret1001",
					   "sip:127.0.0.1:5060"), "SIP/2.0 200"));
	assert_non_null(strstr(register_as("1002", DIGEST_SHA256, "secret1002",
					   "sip:IMS.LOCAL"), "SIP/2.0 200"));
	/* A digest-uri naming another host, or our address with another port. */
	assert_non_null(strstr(register_as("1001", DIGEST_MD5, "secret1001",
					   "sip:192.0.2.9:5060"),
			       "SIP/2.0 400 Digest URI does not match the Request-URI"));
	assert_non_null(strstr(register_as("1001", DIGEST_MD5, "secret1001",
					   "sip:127.0.0.1:5999"), "SIP/2.0 400"));
	/* An unknown user gets the same 400: the URI is looked at before the password. */
	assert_non_null(strstr(register_as("7777", DIGEST_MD5, "x", "sip:192.0.2.9:5060"),
			       "SIP/2.0 400 Digest URI does not match the Request-URI"));
}

/*
 * Behind 0.0.0.0 (no listener open here): our address towards a peer is
 * the one the routes pick, asked once and then remembered for a second.
 */
static void test_local_address(void **state)
{
	struct sip_peer to = { .proto = SIP_UDP, .len = sizeof(struct sockaddr_in) };
	struct sockaddr_in *sin = (struct sockaddr_in *)&to.addr;
	char host[64];
	uint16_t port;

	(void)state;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5099);
	inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
	for (int i = 0; i < 3; i++) {	/* asked, then remembered */
		assert_int_equal(sip_srv_local_for(&fx->s, &to, host, sizeof(host), &port), 0);
		assert_string_equal(host, "127.0.0.1");
	}
	sin->sin_port = htons(5098);	/* another port of the same address */
	assert_int_equal(sip_srv_local_for(&fx->s, &to, host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_challenge_per_subscriber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_uri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_address, setup, teardown),
	};

	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP URI equivalence over RFC 3261 section 19.1.4's own examples, what
 * names this server (its domain; an address it listens on, by value, or
 * any address of the host behind a wildcard, kept for a second), and the
 * digest-uri rule: sipp's default digest-uri (sip:ADDRESS:PORT of the
 * server while the Request-URI is sip:DOMAIN) is taken, one naming another
 * host or user is not.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <osipparser2/osip_parser.h>

#include "sip/uri.h"

static osip_uri_t *uri(const char *text)
{
	osip_uri_t *u;

	assert_int_equal(osip_uri_init(&u), 0);
	if (osip_uri_parse(u, text))
		fail_msg("libosip2 does not parse %s", text);
	return u;
}

static bool equal(const char *a, const char *b)
{
	osip_uri_t *x = uri(a), *y = uri(b);
	bool eq = sip_uri_equal(x, y), back = sip_uri_equal(y, x);

	if (eq != back)
		fail_msg("%s and %s: not symmetric", a, b);
	if (!sip_uri_equal(x, x) || !sip_uri_equal(y, y))
		fail_msg("%s or %s: not reflexive", a, b);
	osip_uri_free(x);
	osip_uri_free(y);
	return eq;
}

static void test_rfc3261_equivalence(void **state)
{
	static const char *const same[][2] = {
		/* RFC 3261 section 19.1.4's equivalent pairs */
		{ "sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp" },
		{ "sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5" },
		{ "sip:carol@chicago.com", "sip:carol@chicago.com;security=on" },
		{ "sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on" },
		{ "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
		  "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com" },
		{ "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
		  "sip:alice@atlanta.com?priority=urgent&subject=project%20x" },
		/* addresses by value */
		{ "sip:[2001:db8::1]:5060", "sip:[2001:DB8:0:0::1]:5060" },
		{ "sips:ims.local", "SIPS:IMS.local" },
		{ "tel:+4930123", "tel:+4930123" },
	};
	static const char *const differ[][2] = {
		/* and its pairs that are not */
		{ "SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP" },
		{ "sip:bob@biloxi.com", "sip:bob@biloxi.com:5060" },
		{ "sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp" },
		{ "sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp" },
		{ "sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting" },
		{ "sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4" },
		/* a parameter both have, with other values; one only one has */
		{ "sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off" },
		{ "sip:1002@ims.local", "sip:1002@ims.local;user=phone" },
		{ "sip:ims.local", "sip:ims.local;maddr=192.0.2.1" },
		{ "sip:ims.local", "sips:ims.local" },
		{ "sip:a:pw@ims.local", "sip:a@ims.local" },
		{ "sip:a@ims.local?x=1", "sip:a@ims.local?x=2" },
		{ "tel:+4930123", "sip:+4930123@ims.local" },
		{ "tel:+4930123", "tel:+4930124" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (!equal(same[i][0], same[i][1]))
			fail_msg("%s and %s should be equivalent", same[i][0], same[i][1]);
	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++)
		if (equal(differ[i][0], differ[i][1]))
			fail_msg("%s and %s should differ", differ[i][0], differ[i][1]);
}

static void put(struct sip_self *self, const char *addr, uint16_t port)
{
	struct sockaddr_storage *ss = &self->addr[self->n++];

	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	}
}

static bool names(const char *text, const struct sip_self *self)
{
	osip_uri_t *u = uri(text);
	bool yes = sip_uri_names_self(u, self);

	osip_uri_free(u);
	return yes;
}

static void test_names_self(void **state)
{
	struct sip_self one = { .domain = "ims.local" }, any = { .domain = "ims.local" };

	(void)state;
	put(&one, "127.0.0.1", 5060);
	put(&one, "2001:db8::1", 5070);
	/* The domain, whatever the port; the scheme must be SIP's. */
	assert_true(names("sip:ims.local", &one));
	assert_true(names("sip:IMS.Local:5099", &one));
	assert_true(names("sips:ims.local", &one));
	assert_false(names("sip:ims.local.example", &one));
	assert_false(names("tel:+4930123", &one));
	/* A listening address with its port; no port is 5060 (5061 for sips). */
	assert_true(names("sip:127.0.0.1:5060", &one));
	assert_true(names("sip:127.0.0.1", &one));
	assert_false(names("sips:127.0.0.1", &one));
	assert_false(names("sip:127.0.0.1:5070", &one));
	assert_false(names("sip:127.0.0.2:5060", &one));
	assert_true(names("sip:[2001:db8:0::1]:5070", &one));
	assert_false(names("sip:[2001:db8::1]", &one));
	assert_false(names("sip:[2001:db8::2]:5070", &one));
	/* Behind a wildcard, the host's own addresses only ([::] both families). */
	put(&any, "0.0.0.0", 5062);
	assert_true(names("sip:127.0.0.1:5062", &any));
	assert_false(names("sip:127.0.0.1:5060", &any));
	assert_false(names("sip:192.0.2.9:5062", &any));
	any.n = 0;
	put(&any, "::", 5064);
	assert_true(names("sip:127.0.0.1:5064", &any));
	assert_false(names("sip:192.0.2.9:5064", &any));
	assert_false(names("sip:[2001:db8::9]:5064", &any));
}

/* Behind a wildcard the host's addresses are kept for SIP_HOST_ADDRS_MS, then read again. */
static void test_host_addrs_kept(void **state)
{
	struct sip_host_addrs host = { 0 };
	struct sip_self any = { .domain = "ims.local", .host = &host, .now_ms = 5000 };

	(void)state;
	put(&any, "0.0.0.0", 5062);
	assert_true(names("sip:127.0.0.1:5062", &any));
	assert_int_equal(host.read_ms, 5000);
	assert_true(host.n >= 1);
	/* Forgotten on purpose: while fresh the kept list answers, not the kernel. */
	host.n = 0;
	any.now_ms = 5000 + SIP_HOST_ADDRS_MS - 1;
	assert_false(names("sip:127.0.0.1:5062", &any));
	any.now_ms = 5000 + SIP_HOST_ADDRS_MS;
	assert_true(names("sip:127.0.0.1:5062", &any));
	assert_int_equal(host.read_ms, 5000 + SIP_HOST_ADDRS_MS);
	/* A clock that went back reads again too. */
	host.n = 0;
	any.now_ms = 10;
	assert_true(names("sip:127.0.0.1:5062", &any));
}

static bool digest_ok(const char *duri, const char *ruri, const struct sip_self *self)
{
	osip_uri_t *r = uri(ruri);
	bool ok = sip_digest_uri_ok(duri, r, self);

	osip_uri_free(r);
	return ok;
}

static void test_digest_uri(void **state)
{
	struct sip_self self = { .domain = "ims.local" };

	(void)state;
	put(&self, "0.0.0.0", 5060);
	/* REGISTER sip:ims.local: the same URI, an equivalent one, sipp's default. */
	assert_true(digest_ok("sip:ims.local", "sip:ims.local", &self));
	assert_true(digest_ok("sip:IMS.LOCAL", "sip:ims.local", &self));
	assert_true(digest_ok("sip:127.0.0.1:5060", "sip:ims.local", &self));
	assert_true(digest_ok("sip:127.0.0.1", "sip:ims.local", &self));
	assert_true(digest_ok("sip:ims.local:5060", "sip:ims.local", &self));
	/* Another host, port or scheme names something else. */
	assert_false(digest_ok("sip:192.0.2.9:5060", "sip:ims.local", &self));
	assert_false(digest_ok("sip:127.0.0.1:5080", "sip:ims.local", &self));
	assert_false(digest_ok("sip:other.example", "sip:ims.local", &self));
	assert_false(digest_ok("http://ims.local/", "sip:ims.local", &self));
	assert_false(digest_ok("tel:+4930123", "sip:ims.local", &self));
	assert_false(digest_ok("", "sip:ims.local", &self));
	assert_false(digest_ok("not a uri", "sip:ims.local", &self));
	/* INVITE sip:1002@ims.local: this server for that user, or for none. */
	assert_true(digest_ok("sip:1002@ims.local", "sip:1002@ims.local", &self));
	assert_true(digest_ok("sip:%31002@ims.local", "sip:1002@ims.local", &self));
	assert_true(digest_ok("sip:1002@127.0.0.1:5060", "sip:1002@ims.local", &self));
	assert_true(digest_ok("sip:127.0.0.1:5060", "sip:1002@ims.local", &self));
	assert_false(digest_ok("sip:1003@ims.local", "sip:1002@ims.local", &self));
	assert_false(digest_ok("sip:1003@127.0.0.1:5060", "sip:1002@ims.local", &self));
	assert_false(digest_ok("sip:1002@192.0.2.9:5060", "sip:1002@ims.local", &self));
	/* A Request-URI elsewhere (the trunk's numbers): only itself. */
	assert_true(digest_ok("sip:+4930123@gw.example", "sip:+4930123@gw.example", &self));
	assert_false(digest_ok("sip:+4930123@other.example", "sip:+4930123@gw.example", &self));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3261_equivalence),
		cmocka_unit_test(test_names_self),
		cmocka_unit_test(test_host_addrs_kept),
		cmocka_unit_test(test_digest_uri),
	};

	parser_init();
	return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Digest arithmetic against the published examples: RFC 7616 section
 * 3.9.1 (MD5 and SHA-256, qop=auth) and RFC 2617 section 3.5 (MD5).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sip/digest.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7616),
		cmocka_unit_test(test_rfc2617),
		cmocka_unit_test(test_names_and_compare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The STUN Binding server: answers to IPv4 and IPv6 sources (the
 * XOR-MAPPED-ADDRESS of RFC 5769 §2.2 for 192.0.2.1:32853), FINGERPRINT
 * checked with a CRC-32 written here bit by bit, 420 for an unknown
 * comprehension-required attribute, and silence for everything that is
 * not a well-formed Binding request. Then the ICE checks of the media
 * ports: RFC 5769's short-term MESSAGE-INTEGRITY vectors, and answers
 * whose MESSAGE-INTEGRITY is recomputed here from the raw bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "net/stun.h"

/* CRC-32 (IEEE 802.3, reflected), independent of zlib's. */
static uint32_t crc32_bits(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

static size_t request(uint8_t *buf, uint16_t extra_attr, bool fingerprint, bool bad_fp)
{
	size_t len = 20;

	memset(buf, 0, 64);
	buf[1] = 0x01;					/* Binding request */
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	for (int i = 0; i < 12; i++)
		buf[8 + i] = (uint8_t)(0xb0 + i);	/* transaction ID */
	if (extra_attr) {
		buf[len] = (uint8_t)(extra_attr >> 8);
		buf[len + 1] = (uint8_t)extra_attr;
		buf[len + 3] = 4;
		memcpy(buf + len + 4, "abcd", 4);
		len += 8;
	}
	if (fingerprint) {
		uint32_t fp;

		buf[3] = (uint8_t)(len + 8 - 20);
		fp = crc32_bits(buf, len) ^ 0x5354554eu;
		if (bad_fp)
			fp ^= 1;
		buf[len] = 0x80, buf[len + 1] = 0x28, buf[len + 3] = 4;
		buf[len + 4] = (uint8_t)(fp >> 24), buf[len + 5] = (uint8_t)(fp >> 16);
		buf[len + 6] = (uint8_t)(fp >> 8), buf[len + 7] = (uint8_t)fp;
		len += 8;
	}
	buf[3] = (uint8_t)(len - 20);
	return len;
}

/* The value of attribute type in msg, or NULL. */
static const uint8_t *find_attr(const uint8_t *msg, size_t len, uint16_t type, uint16_t *alen)
{
	for (size_t off = 20; off + 4 <= len;) {
		uint16_t t = (uint16_t)(msg[off] << 8 | msg[off + 1]);
		uint16_t l = (uint16_t)(msg[off + 2] << 8 | msg[off + 3]);

		if (t == type) {
			*alen = l;
			return msg + off + 4;
		}
		off += 4 + ((l + 3u) & ~3u);
	}
	return NULL;
}

static void check_fingerprint(const uint8_t *out, int n)
{
	uint16_t alen;
	const uint8_t *fp = find_attr(out, (size_t)n, 0x8028, &alen);
	uint32_t want, got;

	assert_non_null(fp);
	assert_ptr_equal(fp, out + n - 4);			/* the last attribute */
	want = crc32_bits(out, (size_t)n - 8) ^ 0x5354554eu;
	got = (uint32_t)fp[0] << 24 | (uint32_t)fp[1] << 16 | (uint32_t)fp[2] << 8 | fp[3];
	assert_int_equal(got, want);
	assert_int_equal(out[2] << 8 | out[3], n - 20);		/* length covers it all */
}

static void test_ipv4(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(32853) };
	const uint8_t want[] = { 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43 };	/* RFC 5769 */
	uint8_t req[64], out[STUN_MAX_RESPONSE];
	const uint8_t *x;
	uint16_t alen;
	int n;

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", &src.sin_addr);
	n = stun_answer(req, request(req, 0, true, false), (struct sockaddr *)&src, out,
			sizeof(out));
	assert_true(n > 20);
	assert_int_equal(out[0] << 8 | out[1], 0x0101);		/* Binding success */
	assert_memory_equal(out + 4, req + 4, 16);		/* cookie and ID */
	x = find_attr(out, (size_t)n, 0x0020, &alen);
	assert_non_null(x);
	assert_int_equal(alen, 8);
	assert_memory_equal(x, want, 8);
	check_fingerprint(out, n);
	/* Without FINGERPRINT in the request too. */
	assert_true(stun_answer(req, request(req, 0, false, false), (struct sockaddr *)&src, out,
				sizeof(out)) > 20);
}

static void test_ipv6(void **state)
{
	struct sockaddr_in6 src = { .sin6_family = AF_INET6, .sin6_port = htons(32853) };
	uint8_t req[64], out[STUN_MAX_RESPONSE], key[16];
	const uint8_t *x;
	uint16_t alen;
	int n;

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &src.sin6_addr);
	request(req, 0, false, false);
	n = stun_answer(req, 20, (struct sockaddr *)&src, out, sizeof(out));
	assert_true(n > 20);
	x = find_attr(out, (size_t)n, 0x0020, &alen);
	assert_non_null(x);
	assert_int_equal(alen, 20);
	assert_int_equal(x[1], 0x02);
	assert_int_equal(x[2] << 8 | x[3], 32853 ^ 0x2112);
	memcpy(key, req + 4, 16);				/* cookie then ID */
	for (int i = 0; i < 16; i++)
		assert_int_equal(x[4 + i] ^ key[i], src.sin6_addr.s6_addr[i]);
	check_fingerprint(out, n);
}

static void test_unknown_attributes(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(5060) };
	uint8_t req[64], out[STUN_MAX_RESPONSE];
	const uint8_t *v;
	uint16_t alen;
	int n;

	(void)state;
	n = stun_answer(req, request(req, 0x0033, true, false), (struct sockaddr *)&src, out,
			sizeof(out));
	assert_true(n > 20);
	assert_int_equal(out[0] << 8 | out[1], 0x0111);		/* Binding error */
	v = find_attr(out, (size_t)n, 0x0009, &alen);
	assert_non_null(v);
	assert_int_equal(v[2] * 100 + v[3], 420);
	v = find_attr(out, (size_t)n, 0x000a, &alen);
	assert_non_null(v);
	assert_int_equal(alen, 2);
	assert_int_equal(v[0] << 8 | v[1], 0x0033);
	check_fingerprint(out, n);
	/* An unknown comprehension-optional attribute is ignored. */
	n = stun_answer(req, request(req, 0x8033, true, false), (struct sockaddr *)&src, out,
			sizeof(out));
	assert_int_equal(out[0] << 8 | out[1], 0x0101);
}

static void test_dropped(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(5060) };
	uint8_t req[64], out[STUN_MAX_RESPONSE];
	size_t len;

	(void)state;
	len = request(req, 0, true, true);			/* damaged FINGERPRINT */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0, false, false);
	req[1] = 0x11;						/* an indication */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	req[0] = 0x01, req[1] = 0x01;				/* a response */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0x0033, false, false);
	req[3] += 4;						/* length beyond the datagram */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0x0033, false, false);
	req[23] = 40;						/* attribute beyond the message */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0, false, false);
	req[4] = 0;						/* no magic cookie: RFC 3489 */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	assert_false(stun_is_packet("OPTIONS sip:x SIP/2.0\r\n", 23));
	for (size_t cut = 0; cut < 20; cut++)
		assert_int_equal(stun_answer(req, cut, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0, false, false);
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, 30), -ENOBUFS);
}

/* RFC 5769 §2.1 and §2.2: a request and a response, password below. */
static const char rfc5769_pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const char rfc5769_request[] =
	"000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420"
	"636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a"
	"3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a28028"
	"0004e57a3bcf";
static const char rfc5769_response4[] =
	"0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f"
	"7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53"
	"f06be7d780280004c07d4c96";

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
	return n;
}

/* HMAC-SHA1 as RFC 5389 §15.4 defines it, for the MI attribute at mi. */
static void mi_of(const uint8_t *msg, size_t mi, const char *key, uint8_t *mac)
{
	uint8_t copy[512];
	unsigned int len = 0;

	memcpy(copy, msg, mi);
	copy[2] = (uint8_t)((mi + 24 - 20) >> 8);
	copy[3] = (uint8_t)(mi + 24 - 20);
	assert_non_null(HMAC(EVP_sha1(), key, (int)strlen(key), copy, mi, mac, &len));
	assert_int_equal(len, 20);
}

static void test_rfc5769_integrity(void **state)
{
	uint8_t msg[256];
	size_t n;

	(void)state;
	n = unhex(rfc5769_request, msg);
	assert_true(stun_check_integrity(msg, n, rfc5769_pwd));
	assert_false(stun_check_integrity(msg, n, "VOkJxbRl1RmTxUk/WvJxBT"));
	n = unhex(rfc5769_response4, msg);
	assert_true(stun_check_integrity(msg, n, rfc5769_pwd));
	msg[30] ^= 1;						/* SOFTWARE changed */
	assert_false(stun_check_integrity(msg, n, rfc5769_pwd));
}

struct check {
	const char	*username;
	const char	*pwd;		/* NULL: no MESSAGE-INTEGRITY */
	bool		use_candidate;
	bool		controlled;	/* ICE-CONTROLLED, else ICE-CONTROLLING */
	uint16_t	extra;		/* another attribute, 0: none */
};

/* An ICE check as a full agent sends it, signed and fingerprinted. */
static size_t build_check(uint8_t *buf, const struct check *c)
{
	size_t len = 20, ulen = c->username ? strlen(c->username) : 0;
	uint32_t fp;

	memset(buf, 0, 256);
	buf[1] = 0x01;
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	for (int i = 0; i < 12; i++)
		buf[8 + i] = (uint8_t)(0x40 + i);
	if (c->username) {
		buf[len + 1] = 0x06, buf[len + 3] = (uint8_t)ulen;
		memcpy(buf + len + 4, c->username, ulen);
		len += 4 + ((ulen + 3) & ~3u);
	}
	buf[len + 1] = 0x24, buf[len + 3] = 4;			/* PRIORITY */
	buf[len + 4] = 0x6e, buf[len + 7] = 0xff;
	len += 8;
	buf[len] = 0x80, buf[len + 1] = c->controlled ? 0x29 : 0x2a, buf[len + 3] = 8;
	memset(buf + len + 4, 0x5a, 8);				/* tie-breaker */
	len += 12;
	if (c->use_candidate) {
		buf[len + 1] = 0x25;
		len += 4;
	}
	if (c->extra) {
		buf[len] = (uint8_t)(c->extra >> 8), buf[len + 1] = (uint8_t)c->extra;
		buf[len + 3] = 4;
		len += 8;
	}
	if (c->pwd) {
		buf[len + 1] = 0x08, buf[len + 3] = 20;
		mi_of(buf, len, c->pwd, buf + len + 4);
		len += 24;
	}
	buf[2] = (uint8_t)((len + 8 - 20) >> 8), buf[3] = (uint8_t)(len + 8 - 20);
	fp = crc32_bits(buf, len) ^ 0x5354554eu;
	buf[len] = 0x80, buf[len + 1] = 0x28, buf[len + 3] = 4;
	buf[len + 4] = (uint8_t)(fp >> 24), buf[len + 5] = (uint8_t)(fp >> 16);
	buf[len + 6] = (uint8_t)(fp >> 8), buf[len + 7] = (uint8_t)fp;
	return len + 8;
}

static const struct stun_ice_cred relay_cred = { "Rl4y", "relaypassword0123456789" };

/* The answer's error code, 0 for a success; its MI checked when signed. */
static int answer_code(const uint8_t *out, int n, bool signed_)
{
	const uint8_t *mi, *e;
	uint16_t alen;
	uint8_t mac[20];

	assert_true(n > 20);
	check_fingerprint(out, n);
	mi = find_attr(out, (size_t)n, 0x0008, &alen);
	if (!signed_) {
		assert_null(mi);
	} else {
		assert_non_null(mi);
		assert_int_equal(alen, 20);
		assert_ptr_equal(mi + 20 + 8, out + n);		/* only FINGERPRINT after */
		mi_of(out, (size_t)(mi - 4 - out), relay_cred.pwd, mac);
		assert_memory_equal(mac, mi, 20);
	}
	if ((out[0] << 8 | out[1]) == 0x0101)
		return 0;
	assert_int_equal(out[0] << 8 | out[1], 0x0111);
	e = find_attr(out, (size_t)n, 0x0009, &alen);
	assert_non_null(e);
	return e[2] * 100 + e[3];
}

static void test_ice_success(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(32853) };
	const uint8_t want[] = { 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43 };	/* RFC 5769 */
	struct check c = { "Rl4y:peer", relay_cred.pwd, true, false, 0 };
	uint8_t req[256], out[STUN_MAX_RESPONSE];
	const uint8_t *x;
	unsigned flags;
	uint16_t alen;
	size_t len;
	int n;

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", &src.sin_addr);
	len = build_check(req, &c);
	assert_true(stun_check_integrity(req, len, relay_cred.pwd));
	n = stun_ice_answer(req, len, (struct sockaddr *)&src, &relay_cred, out, sizeof(out),
			    &flags);
	assert_int_equal(answer_code(out, n, true), 0);
	assert_memory_equal(out + 4, req + 4, 16);
	assert_int_equal(flags, STUN_ICE_AUTHENTICATED | STUN_ICE_USE_CANDIDATE);
	x = find_attr(out, (size_t)n, 0x0020, &alen);
	assert_non_null(x);
	assert_int_equal(alen, 8);
	/* The transaction ID does not enter an IPv4 XOR-MAPPED-ADDRESS. */
	assert_memory_equal(x, want, 8);
	assert_true(stun_check_integrity(out, (size_t)n, relay_cred.pwd));

	/* A consent check (RFC 7675): no USE-CANDIDATE. */
	c.use_candidate = false;
	len = build_check(req, &c);
	n = stun_ice_answer(req, len, (struct sockaddr *)&src, &relay_cred, out, sizeof(out),
			    &flags);
	assert_int_equal(answer_code(out, n, true), 0);
	assert_int_equal(flags, STUN_ICE_AUTHENTICATED);
}

static void test_ice_rejected(void **state)
{
	struct sockaddr_in6 src = { .sin6_family = AF_INET6, .sin6_port = htons(4000) };
	const struct { struct check c; int code; bool signed_; } cases[] = {
		{ { "Rl4y:peer", "wrongpassword0123456789", true, false, 0 }, 401, false },
		{ { "XXXX:peer", relay_cred.pwd, true, false, 0 }, 401, false },
		{ { "Rl4y", relay_cred.pwd, true, false, 0 }, 401, false },	/* no ':' */
		{ { "Rl4y:", relay_cred.pwd, true, false, 0 }, 401, false },
		{ { "Rl4yz:peer", relay_cred.pwd, true, false, 0 }, 401, false },
		{ { "Rl4y:peer", NULL, true, false, 0 }, 400, false },		/* no MI */
		{ { NULL, relay_cred.pwd, true, false, 0 }, 400, false },	/* no USERNAME */
		{ { "Rl4y:peer", relay_cred.pwd, true, false, 0x0033 }, 420, true },
		{ { "Rl4y:peer", relay_cred.pwd, true, true, 0 }, 487, true },	/* both controlled */
	};
	uint8_t req[256], out[STUN_MAX_RESPONSE];
	unsigned flags;
	uint16_t alen;
	size_t len;
	int n;

	(void)state;
	inet_pton(AF_INET6, "2001:db8::1", &src.sin6_addr);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("  %s %s -> %d\n", cases[i].c.username ?: "(none)",
			      cases[i].c.pwd ?: "(none)", cases[i].code);
		len = build_check(req, &cases[i].c);
		n = stun_ice_answer(req, len, (struct sockaddr *)&src, &relay_cred, out,
				    sizeof(out), &flags);
		assert_int_equal(answer_code(out, n, cases[i].signed_), cases[i].code);
		assert_int_equal(flags, cases[i].signed_ ? STUN_ICE_AUTHENTICATED : 0);
		assert_null(find_attr(out, (size_t)n, 0x0020, &alen));	/* no address */
	}
}

/* RFC 5769's request: right credentials, but it claims the controlled role. */
static void test_ice_rfc5769(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(32853) };
	const struct stun_ice_cred cred = { "evtj", rfc5769_pwd };
	const struct stun_ice_cred wrong = { "evtj", "VOkJxbRl1RmTxUk/WvJxBT" };
	uint8_t req[256], out[STUN_MAX_RESPONSE];
	unsigned flags;
	size_t len;
	int n;

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", &src.sin_addr);
	len = unhex(rfc5769_request, req);
	n = stun_ice_answer(req, len, (struct sockaddr *)&src, &cred, out, sizeof(out), &flags);
	assert_true(n > 20);
	check_fingerprint(out, n);
	assert_true(stun_check_integrity(out, (size_t)n, rfc5769_pwd));
	assert_int_equal(flags, STUN_ICE_AUTHENTICATED);
	assert_int_equal(out[1], 0x11);
	n = stun_ice_answer(req, len, (struct sockaddr *)&src, &wrong, out, sizeof(out), &flags);
	assert_true(n > 20);
	assert_int_equal(flags, 0);
	assert_false(stun_check_integrity(out, (size_t)n, rfc5769_pwd));
}

/* Damaged, truncated or not requests: no answer, no crash (ASan build). */
static void test_ice_dropped(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(4000) };
	struct check c = { "Rl4y:peer", relay_cred.pwd, true, false, 0 };
	uint8_t req[256], out[STUN_MAX_RESPONSE], *cut;
	unsigned flags;
	size_t len;

	(void)state;
	len = build_check(req, &c);
	for (size_t n = 0; n < len; n++) {
		cut = malloc(n ? n : 1);			/* ASan sees any overread */
		memcpy(cut, req, n);
		assert_int_equal(stun_ice_answer(cut, n, (struct sockaddr *)&src, &relay_cred,
						 out, sizeof(out), &flags), 0);
		free(cut);
	}
	req[len - 1] ^= 1;					/* FINGERPRINT wrong */
	assert_int_equal(stun_ice_answer(req, len, (struct sockaddr *)&src, &relay_cred, out,
					 sizeof(out), &flags), 0);
	len = build_check(req, &c);
	req[0] = 0x01, req[1] = 0x01;				/* a response */
	assert_int_equal(stun_ice_answer(req, len, (struct sockaddr *)&src, &relay_cred, out,
					 sizeof(out), &flags), 0);
	len = build_check(req, &c);
	assert_int_equal(stun_ice_answer(req, len, (struct sockaddr *)&src, &relay_cred, out,
					 40, &flags), -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_unknown_attributes),
		cmocka_unit_test(test_dropped),
		cmocka_unit_test(test_rfc5769_integrity),
		cmocka_unit_test(test_ice_success),
		cmocka_unit_test(test_ice_rejected),
		cmocka_unit_test(test_ice_rfc5769),
		cmocka_unit_test(test_ice_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

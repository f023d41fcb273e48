// SPDX-License-Identifier: GPL-2.0-only
/*
 * Protection: failures counted per source in a window, the block and its
 * end, a table flooded by many sources that still keeps its blocks, the
 * blacklist file (prefixes of both families, IPv4 in mapped form, bad
 * lines skipped and counted, the old list kept when the file is gone),
 * and scanner User-Agents.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "sip/protect.h"

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss = { 0 };

	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		fail_msg("bad address %s", text);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void test_block_and_expiry(void **state)
{
	struct sockaddr_storage a = addr("192.0.2.7"), b = addr("192.0.2.8");
	struct protect p;
	int i;

	(void)state;
	assert_int_equal(protect_init(&p, 3, 60, 300), 0);
	for (i = 0; i < 3; i++)
		assert_false(protect_fail(&p, SA(a), 1000 + i));
	assert_false(protect_blocked(&p, SA(a), 1003));		/* at the limit: not yet */
	assert_true(protect_fail(&p, SA(a), 1004));		/* over it: blocked */
	assert_true(protect_blocked(&p, SA(a), 1004));
	assert_false(protect_blocked(&p, SA(b), 1004));		/* others are not */
	assert_false(protect_fail(&p, SA(a), 1005));		/* no second "block starts" */
	assert_true(protect_blocked(&p, SA(a), 1004 + 299));
	assert_false(protect_blocked(&p, SA(a), 1004 + 300));	/* the block ends */

	/* Failures spread wider than the window never block. */
	for (i = 0; i < 10; i++)
		assert_false(protect_fail(&p, SA(b), 2000 + i * 30));
	assert_false(protect_blocked(&p, SA(b), 2300));
	assert_int_equal(p.stats.blocks, 1);
	protect_fini(&p);
}

static void test_flood_keeps_blocks(void **state)
{
	struct sockaddr_storage bad = addr("2001:db8::bad");
	struct protect p;
	char text[64];

	(void)state;
	assert_int_equal(protect_init(&p, 1, 60, 300), 0);
	protect_fail(&p, SA(bad), 100);
	assert_true(protect_fail(&p, SA(bad), 100));
	/* 200,000 other sources fail once each: the table is full many times over. */
	for (int i = 0; i < 200000; i++) {
		struct sockaddr_storage o;

		snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		o = addr(text);
		protect_fail(&p, SA(o), 101);
	}
	assert_true(protect_blocked(&p, SA(bad), 102));
	protect_fini(&p);
}

static char *write_file(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/sluice-bl.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_blacklist(void **state)
{
	struct sockaddr_storage in4 = addr("198.51.100.77"), out4 = addr("198.51.101.1");
	struct sockaddr_storage mapped = addr("::ffff:198.51.100.9"), one = addr("203.0.113.5");
	struct sockaddr_storage in6 = addr("2001:db8:1:2::99"), out6 = addr("2001:db8:2::1");
	struct protect p;
	char *path;

	(void)state;
	assert_int_equal(protect_init(&p, 10, 60, 300), 0);
	path = write_file("# scanners seen last week\n"
			  "198.51.100.0/24   # a whole /24\n"
			  "\n"
			  "   203.0.113.5\n"
			  "2001:db8:1::/48\n"
			  "not-an-address\n"
			  "10.0.0.0/33\n"
			  "2001:db8::/129\n");
	assert_int_equal(protect_blacklist_load(&p, path, NULL, 0), 3);	/* 3 bad lines skipped */
	assert_true(protect_blocked(&p, SA(in4), 0));
	assert_true(protect_blocked(&p, SA(mapped), 0));
	assert_true(protect_blocked(&p, SA(one), 0));
	assert_true(protect_blocked(&p, SA(in6), 0));
	assert_false(protect_blocked(&p, SA(out4), 0));
	assert_false(protect_blocked(&p, SA(out6), 0));

	/* The file gone: an error, and the list in force stays. */
	unlink(path);
	assert_int_equal(protect_blacklist_load(&p, path, NULL, 0), -ENOENT);
	assert_true(protect_blocked(&p, SA(in4), 0));
	/* Replaced by an empty file: nothing is blacklisted. */
	path = write_file("# nobody\n");
	assert_int_equal(protect_blacklist_load(&p, path, NULL, 0), 0);
	assert_false(protect_blocked(&p, SA(in4), 0));
	unlink(path);
	/* /0 catches everything of its family. */
	path = write_file("::/0\n");
	assert_int_equal(protect_blacklist_load(&p, path, NULL, 0), 1);
	assert_true(protect_blocked(&p, SA(out6), 0));
	assert_true(protect_blocked(&p, SA(out4), 0));		/* mapped IPv4 lies in ::/0 */
	unlink(path);
	protect_fini(&p);
}

static void test_prefix_parse(void **state)
{
	uint8_t a[16];
	unsigned len;

	(void)state;
	assert_int_equal(protect_parse_prefix("192.0.2.1", a, &len), 0);
	assert_int_equal(len, 128);
	assert_int_equal(protect_parse_prefix("192.0.2.255/25", a, &len), 0);
	assert_int_equal(len, 96 + 25);
	assert_int_equal(a[15], 0x80);				/* masked */
	assert_int_equal(protect_parse_prefix("::/0", a, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(protect_parse_prefix("1.2.3.4/", a, &len), -EINVAL);
	assert_int_equal(protect_parse_prefix("1.2.3.4/-1", a, &len), -EINVAL);
	assert_int_equal(protect_parse_prefix("1.2.3", a, &len), -EINVAL);
}

static void test_scanners(void **state)
{
	struct protect p;

	(void)state;
	assert_int_equal(protect_init(&p, 10, 60, 300), 0);
	protect_set_scanners(&p, "friendly-scanner,  sipvicious ,VaxSIPUserAgent,");
	assert_int_equal(p.nscanners, 3);
	assert_true(protect_scanner_ua(&p, "friendly-scanner"));
	assert_true(protect_scanner_ua(&p, "SIPVicious 0.3.3"));
	assert_true(protect_scanner_ua(&p, "x vaxsipuseragent/3.1"));
	assert_false(protect_scanner_ua(&p, "Linphone/5.2 (belle-sip)"));
	assert_false(protect_scanner_ua(&p, NULL));
	protect_set_scanners(&p, "");
	assert_false(protect_scanner_ua(&p, "friendly-scanner"));
	protect_fini(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_and_expiry),
		cmocka_unit_test(test_flood_keeps_blocks),
		cmocka_unit_test(test_blacklist),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_scanners),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

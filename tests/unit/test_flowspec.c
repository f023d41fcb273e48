// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluicectl's flow grammar: what an operator types becomes the key and
 * action the kernel uses (ports in host order, addresses in network
 * order), prints back the same way, and typos get a reason.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp/flowspec.h"

static int parse(const char *line, struct sluice_flow_key *key,
		 struct sluice_flow_action *act, char *err)
{
	char buf[512], *argv[32], *tok, *save = NULL;
	int argc = 0;

	strcpy(buf, line);
	for (tok = strtok_r(buf, " ", &save); tok && argc < 32; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	return dp_parse_flow(argc, argv, key, act, err, 160);
}

static void test_ipv4_round_trip(void **state)
{
	static const char line[] = "10.0.0.1:30000 from 192.0.2.7:4000 via 10.0.1.1:30002 "
				   "to 198.51.100.9:5004 rtp clock 8000 dscp 46 stream 12";
	struct sluice_flow_action act;
	struct sluice_flow_key key;
	char err[160], out[400];
	uint8_t want[4];

	(void)state;
	assert_int_equal(parse(line, &key, &act, err), 0);
	inet_pton(AF_INET, "10.0.0.1", want);
	assert_memory_equal(key.addr, want, 4);
	assert_int_equal(key.port, 30000);
	assert_int_equal(key.family, SLUICE_FAMILY_IPV4);
	assert_int_equal(act.expect_src_port, 4000);
	assert_int_equal(act.new_dst_port, 5004);
	assert_int_equal(act.flags, SLUICE_F_RTP | SLUICE_F_STRICT_SRC | SLUICE_F_DSCP);
	assert_int_equal(act.dscp, 46);
	assert_int_equal(act.clock_rate, 8000);
	assert_int_equal(act.stream_id, 12);
	dp_format_flow(&key, &act, out, sizeof(out));
	assert_string_equal(out, line);
}

static void test_ipv6_any_source(void **state)
{
	struct sluice_flow_action act;
	struct sluice_flow_key key;
	char err[160], out[400];

	(void)state;
	assert_int_equal(parse("[2001:db8::1]:30000 from any via [2001:db8:1::1]:30002 "
			       "to [2001:db8:2::5]:5004 rtcp", &key, &act, err), 0);
	assert_int_equal(key.family, SLUICE_FAMILY_IPV6);
	assert_int_equal(act.flags, SLUICE_F_RTCP);
	dp_format_flow(&key, &act, out, sizeof(out));
	assert_string_equal(out, "[2001:db8::1]:30000 from any via [2001:db8:1::1]:30002 "
			    "to [2001:db8:2::5]:5004 rtcp");
}

/* rtcp-mux demux: the RTP flow that hands muxed RTCP on, and the flow that takes it. */
static void test_demux_pair(void **state)
{
	static const char rtp[] = "10.0.0.1:30000 from 192.0.2.7:4000 via 10.0.1.1:30002 "
				  "to 198.51.100.9:5004 rtp demux clock 8000";
	static const char rtcp[] = "10.0.0.1:30000 rtcp-mux from 192.0.2.7:4000 via "
				   "10.0.1.1:30003 to 198.51.100.9:5005 rtcp";
	struct sluice_flow_action act;
	struct sluice_flow_key key;
	char err[160], out[400];
	char *del[] = { "10.0.0.1:30000", "rtcp-mux" };

	(void)state;
	assert_int_equal(parse(rtp, &key, &act, err), 0);
	assert_int_equal(key.comp, SLUICE_KEY_PORT);
	assert_int_equal(act.flags, SLUICE_F_RTP | SLUICE_F_STRICT_SRC | SLUICE_F_DEMUX);
	dp_format_flow(&key, &act, out, sizeof(out));
	assert_string_equal(out, rtp);
	assert_int_equal(parse(rtcp, &key, &act, err), 0);
	assert_int_equal(key.comp, SLUICE_KEY_MUXED_RTCP);
	assert_int_equal(key.port, 30000);
	assert_int_equal(act.flags, SLUICE_F_RTCP | SLUICE_F_STRICT_SRC);
	dp_format_flow(&key, &act, out, sizeof(out));
	assert_string_equal(out, rtcp);
	/* `flow del` takes the key alone. */
	assert_int_equal(dp_parse_flow_key(2, del, &key), 2);
	assert_int_equal(key.comp, SLUICE_KEY_MUXED_RTCP);
	assert_int_equal(dp_parse_flow_key(1, del, &key), 1);
	assert_int_equal(key.comp, SLUICE_KEY_PORT);
}

static void expect_error(const char *line, const char *why)
{
	struct sluice_flow_action act;
	struct sluice_flow_key key;
	char err[160] = "";

	assert_int_equal(parse(line, &key, &act, err), -22);
	assert_string_equal(err, why);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("10.0.0.1 from 1.2.3.4:5 via 1.2.3.4:6 to 1.2.3.4:7",
		     "bad local endpoint '10.0.0.1'");
	expect_error("10.0.0.1:0 from 1.2.3.4:5 via 1.2.3.4:6 to 1.2.3.4:7",
		     "bad local endpoint '10.0.0.1:0'");
	expect_error("10.0.0.1:1 to 1.2.3.4:5", "'from ADDRESS:PORT' expected");
	expect_error("10.0.0.1:1 from 1.2.3.4:5 via 1.2.3:6 to 1.2.3.4:7",
		     "bad endpoint (ADDRESS:PORT or [IPV6]:PORT) '1.2.3:6'");
	expect_error("10.0.0.1:1 from 1.2.3.4:5 via 1.2.3.4:6", "'to ADDRESS:PORT' expected");
	expect_error("10.0.0.1:1 from [::1]:5 via 1.2.3.4:6 to 1.2.3.4:7",
		     "all endpoints of a flow must be one family");
	expect_error("10.0.0.1:1 from 1.2.3.4:5 via 1.2.3.4:6 to 1.2.3.4:7 dscp 64",
		     "bad or missing number after 'dscp'");
	expect_error("10.0.0.1:1 from 1.2.3.4:5 via 1.2.3.4:6 to 1.2.3.4:7 fast",
		     "unknown flow option 'fast'");
	expect_error("10.0.0.1:1 from 1.2.3.4:5 via 1.2.3.4:6 to 1.2.3.4:7 rtp rtcp",
		     "a flow is rtp or rtcp, not both");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_round_trip),
		cmocka_unit_test(test_ipv6_any_source),
		cmocka_unit_test(test_demux_pair),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

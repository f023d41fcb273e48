// SPDX-License-Identifier: GPL-2.0-only
/*
 * conf.c: the shipped configuration parses, every key reaches its field,
 * and each kind of mistake names the file, the line and the key.
 */
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

#include "core/conf.h"
#include "core/log.h"

static char tmp_path[64];

static int load_text(struct conf *c, const char *text, char *err, size_t len)
{
	FILE *f;
	int fd;

	strcpy(tmp_path, "/tmp/sluice-conf-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	conf_defaults(c);
	err[0] = '\0';
	int ret = conf_load(c, tmp_path, err, len);
	unlink(tmp_path);
	return ret;
}

static void test_shipped_conf_parses(void **state)
{
	struct conf c;
	char err[256] = "";

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, "conf/sluice.conf", err, sizeof(err)), 0);
	assert_string_equal(c.sip_domain, "ims.local");
	assert_int_equal(c.media_port_min, 16384);
	assert_int_equal(c.media_port_max, 32767);
	assert_int_equal(c.media_datapath, CONF_DP_AUTO);
	assert_int_equal(c.media_timeout, 60);
	assert_int_equal(c.media_relatch, 1);
	assert_false(c.media_keep_ice);
	assert_false(c.media_firewall);
	assert_string_equal(c.store_db, "var/sluice.db");
	assert_int_equal(c.mml_listen.ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&c.mml_listen.ss)->sin_port), 7777);
}

/* The shipped file shows every key with its default, in its section. */
static int shipped_has(const char *section, const char *key, const char *value, void *arg)
{
	FILE *f = fopen("conf/sluice.conf", "r");
	char line[512], sec[32] = "", want[400];
	bool found = false;

	(void)arg;
	assert_non_null(f);
	snprintf(want, sizeof(want), "%s = %s\n", key, value);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '[')
			sscanf(line, "[%31[^]]", sec);
		else if (!strcmp(sec, section) && (!strcmp(line, want) ||
						   (!value[0] && !strncmp(line, want, strlen(key) + 2))))
			found = true;
	}
	fclose(f);
	if (!found)
		fail_msg("conf/sluice.conf lacks [%s] %s = %s", section, key, value);
	return 0;
}

static void test_shipped_shows_defaults(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_dump(&c, shipped_has, NULL), 0);
}

static int no_secret(const char *section, const char *key, const char *value, void *arg)
{
	(void)section;
	(*(int *)arg)++;
	if (strstr(key, "password"))
		assert_string_equal(value, "***");
	assert_null(strstr(value, "s3cret"));
	return 0;
}

static void test_dump_hides_passwords(void **state)
{
	struct conf c;
	char err[256];
	int n = 0;

	(void)state;
	assert_int_equal(load_text(&c, "[mml]\nadmin_password = s3cret\n[trunk]\n"
				   "password = s3cret2\n[log]\nlevel = debug\n", err, sizeof(err)), 0);
	assert_string_equal(c.mml_admin_password, "s3cret");
	assert_int_equal(conf_dump(&c, no_secret, &n), 0);
	assert_true(n > 40);
}

static void test_every_key(void **state)
{
	struct conf c;
	char err[256];
	const char *text =
		"# comment\n"
		"[sip]\nlisten = [::1]:5070\ndomain = lab.example ; trailing\n"
		"[media]\ninterface = veth0, veth1\naddress = 192.0.2.1, 2001:db8::1\n"
		"ports = 40000-40099\ndatapath = xdp-generic\ntimeout = 5\n"
		"hold_timeout = 100\nbpf_pin_dir = /sys/fs/bpf/t\nrelatch = any\nice = keep\n"
		"firewall = YES\n"
		"[store]\ndb = \"/tmp/x y.db\"\n"
		"[mml]\nlisten = 127.0.0.1:7000\n"
		"[control]\nng = off\nrtpproxy = 7722\nrtpproxy_unix = /run/sluice/rtpproxy.sock\n"
		"[log]\nlevel = debug\ntarget = syslog\n";

	(void)state;
	assert_int_equal(load_text(&c, text, err, sizeof(err)), 0);
	assert_int_equal(c.sip_listen.ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&c.sip_listen.ss)->sin6_port), 5070);
	assert_string_equal(c.sip_domain, "lab.example");
	assert_int_equal(c.media_n_ifaces, 2);
	assert_string_equal(c.media_ifaces[1], "veth1");
	assert_string_equal(c.media_address, "192.0.2.1, 2001:db8::1");
	assert_int_equal(c.media_port_min, 40000);
	assert_int_equal(c.media_port_max, 40099);
	assert_int_equal(c.media_datapath, CONF_DP_XDP_GENERIC);
	assert_int_equal(c.media_timeout, 5);
	assert_int_equal(c.media_hold_timeout, 100);
	assert_string_equal(c.media_pin_dir, "/sys/fs/bpf/t");
	assert_int_equal(c.media_relatch, 2);
	assert_true(c.media_keep_ice);
	assert_true(c.media_firewall);
	assert_string_equal(c.store_db, "/tmp/x y.db");
	assert_int_equal(c.ctl_ng.ss.ss_family, AF_UNSPEC);
	assert_int_equal(c.ctl_rtpproxy.ss.ss_family, AF_INET);
	assert_string_equal(c.ctl_rtpproxy_unix, "/run/sluice/rtpproxy.sock");
	assert_int_equal(c.log_level, L_DEBUG);
	assert_string_equal(c.log_target, "syslog");
	/* Logical interfaces: a name may have one address of each family. */
	assert_int_equal(load_text(&c, "[media]\naddress = int/10.0.0.1, ext/192.0.2.1, "
				   "ext/2001:db8::1, 10.9.9.9\n", err, sizeof(err)), 0);
	assert_string_equal(c.media_address, "int/10.0.0.1, ext/192.0.2.1, ext/2001:db8::1, "
			    "10.9.9.9");
}

/* Each mistake: the message names line 3 and the key, and says what is wanted. */
static void test_errors_name_line_and_key(void **state)
{
	static const struct {
		const char *body;
		const char *expect;
	} cases[] = {
		{ "colour = red\n", "[media] colour: unknown key 'red'" },
		{ "ports = 30001-30100\n", "[media] ports: bad value '30001-30100', expected LOW-HIGH" },
		{ "ports = 9-8\n", "[media] ports: bad value" },
		{ "datapath = dpdk\n", "[media] datapath: bad value 'dpdk', expected auto, xdp" },
		{ "timeout = 0\n", "[media] timeout: bad value '0'" },
		{ "relatch = maybe\n", "[media] relatch: bad value 'maybe', expected off, ssrc or any" },
		{ "address = 10.0.0.1, 10.0.0.2\n", "[media] address: bad value '10.0.0.1, 10.0.0.2'" },
		{ "timeout = ten\n", "[media] timeout: bad value 'ten'" },
		{ "address = 1.2.3\n", "[media] address: bad value '1.2.3'" },
		{ "address = ext/10.0.0.1, ext/10.0.0.2\n", "[media] address: bad value 'ext/10.0.0.1" },
		{ "address = /10.0.0.1\n", "[media] address: bad value '/10.0.0.1'" },
		{ "interface = \n", "[media] interface: bad value ''" },
		{ "firewall = on\n", "[media] firewall: bad value 'on', expected yes or no" },
		{ "no equals sign\n", "expected 'key = value'" },
	};
	struct conf c;
	char err[256], text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "# x\n[media]\n%s", cases[i].body);
		assert_int_not_equal(load_text(&c, text, err, sizeof(err)), 0);
		if (!strstr(err, ":3: ") || !strstr(err, cases[i].expect))
			fail_msg("case %zu: got \"%s\"", i, err);
		assert_non_null(strstr(err, "/tmp/sluice-conf-"));
	}
}

/* [sip] session timers and the [trunk] section: values, defaults and refusals. */
static void test_trunk_and_timers(void **state)
{
	static const char *const bad[] = {
		"[sip]\nsession_expires = 5\n",	/* under 10 s */
		"[trunk]\ntransport = sctp\n",
		"[trunk]\nrewrite = 0=+49, x=1\n",
		"[trunk]\nrewrite = 0+49\n",
		"[trunk]\naddress = gateway\n",
		"[sip]\nlisten_tls = 5061x\n",
		"[sip]\nlisten_wss = example.org:443\n",
	};
	const char *text =
		"[sip]\nsession_expires = 600\nmin_se = off\n"
		"[trunk]\naddress = 192.0.2.7:5080\ntransport = TCP\nusername = op\n"
		"password = s3cret\ndomain = pstn.example\nrewrite = 0=+49, 00=+\n";
	struct conf c;
	char err[256];

	(void)state;
	conf_defaults(&c);
	assert_int_equal(c.sip_session_expires, 1800);
	assert_int_equal(c.sip_min_se, 90);
	assert_int_equal(c.trunk_address.ss.ss_family, AF_UNSPEC);
	assert_int_equal(load_text(&c, text, err, sizeof(err)), 0);
	assert_int_equal(c.sip_session_expires, 600);
	assert_int_equal(c.sip_min_se, 0);
	assert_int_equal(c.trunk_address.ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&c.trunk_address.ss)->sin_port), 5080);
	assert_int_equal(c.trunk_transport, 1);	/* tcp */
	assert_string_equal(c.trunk_username, "op");
	assert_string_equal(c.trunk_password, "s3cret");
	assert_string_equal(c.trunk_domain, "pstn.example");
	assert_string_equal(c.trunk_rewrite, "0=+49, 00=+");
	assert_int_equal(c.sip_listen_tls.ss.ss_family, AF_UNSPEC);	/* off by default */
	assert_int_equal(c.sip_listen_ws.ss.ss_family, AF_UNSPEC);
	assert_int_equal(load_text(&c, "[trunk]\ntransport = tls\n[sip]\nlisten_tls = 5061\n"
				   "listen_wss = [::]:8443\ntls_cert = /etc/sluice/cert.pem\n"
				   "[trunk]\ntls_ca = /etc/ssl/certs/ca-certificates.crt\n",
				   err, sizeof(err)), 0);
	assert_int_equal(c.trunk_transport, 2);		/* tls */
	assert_int_equal(ntohs(((struct sockaddr_in *)&c.sip_listen_tls.ss)->sin_port), 5061);
	assert_int_equal(c.sip_listen_wss.ss.ss_family, AF_INET6);
	assert_string_equal(c.sip_tls_cert, "/etc/sluice/cert.pem");
	assert_string_equal(c.trunk_tls_ca, "/etc/ssl/certs/ca-certificates.crt");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!load_text(&c, bad[i], err, sizeof(err)))
			fail_msg("case %zu accepted", i);
}

static void test_unknown_section_and_missing_file(void **state)
{
	struct conf c;
	char err[256];

	(void)state;
	assert_int_not_equal(load_text(&c, "[sip]\n[voip]\nx = 1\n", err, sizeof(err)), 0);
	assert_non_null(strstr(err, ":2: unknown section [voip]"));
	assert_int_not_equal(load_text(&c, "listen = 1\n", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "inside a [section]"));
	conf_defaults(&c);
	assert_int_not_equal(conf_load(&c, "/nonexistent/sluice.conf", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/sluice.conf: No such file"));
}

static void test_parse_addr(void **state)
{
	struct conf_addr a;

	(void)state;
	assert_int_equal(conf_parse_addr("10.1.2.3:5060", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_int_equal(conf_parse_addr("[2001:db8::5]:5061", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(conf_parse_addr("off", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_UNSPEC);
	assert_int_not_equal(conf_parse_addr("10.1.2.3:0", &a), 0);
	assert_int_not_equal(conf_parse_addr("10.1.2.3:65536", &a), 0);
	assert_int_not_equal(conf_parse_addr("host.example:5060", &a), 0);
	assert_int_not_equal(conf_parse_addr("[::1:5060", &a), 0);
	assert_int_not_equal(conf_parse_addr("", &a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_conf_parses),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_trunk_and_timers),
		cmocka_unit_test(test_unknown_section_and_missing_file),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_shipped_shows_defaults),
		cmocka_unit_test(test_dump_hides_passwords),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}

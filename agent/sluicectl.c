// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluicectl: the operator's and the tests' hand on a running data path.
 * It works on the pinned state directly (maps and links under the pin
 * directory), so it needs no running sluiced: load the XDP program on an
 * interface, add, delete and list flows with their statistics, read the
 * verdict counters, and unload everything.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"
#include "dp/flowspec.h"
#include "store/import.h"
#include "store/store.h"
#include "version.h"

static const char *pin_dir = SLUICE_PIN_DIR;
static const char *conf_path = "conf/sluice.conf";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluicectl [-p PIN_DIR] [-c CONF] COMMAND\n"
		"  flow add LOCAL from PEER|any via RELAY to DEST [rtp|rtcp] [clock HZ]\n"
		"           [dscp N] [stream ID]\n"
		"                 packets to LOCAL from PEER leave from RELAY to DEST\n"
		"                 (endpoints ADDRESS:PORT or [IPV6]:PORT)\n"
		"  flow add -     the same, one flow per line on stdin\n"
		"  flow del LOCAL\n"
		"  flow list      every flow with its statistics\n"
		"  verdicts       the XDP program's verdict counters\n"
		"  load IFACE[,IFACE...] [native|generic]\n"
		"                 attach the XDP program and pin it (default: native, else generic)\n"
		"  unload         detach the program everywhere and remove the pins\n"
		"  import-users FILE\n"
		"                 the previous server's users.json into the subscribers of\n"
		"                 CONF's [store] db, for its [sip] domain (again: updates)\n"
		"  -p PIN_DIR     pinned state (default %s)\n"
		"  -c CONF        sluiced's configuration (default conf/sluice.conf)\n",
		SLUICE_PIN_DIR);
}

static int open_pinned(struct dp **dp)
{
	int err = dp_open_pinned(pin_dir, dp);

	if (err == -EPROTO)
		fprintf(stderr, "sluicectl: the maps pinned in %s are not of this sluicectl's ABI "
			"version %d: stop the sluiced that made them and run `sluicectl unload`\n",
			pin_dir, SLUICE_ABI_VERSION);
	else if (err)
		fprintf(stderr, "sluicectl: no XDP state pinned in %s (%s): load it first\n",
			pin_dir, strerror(-err));
	return err;
}

/* `flow add -`: one flow per line on stdin, for batches (benchmarks, scripts). */
static int flow_add_lines(struct dp *dp)
{
	char line[512], *words[32], *tok, *save;
	unsigned lineno = 0, n = 0;

	while (fgets(line, sizeof(line), stdin)) {
		struct sluice_flow_action act;
		struct sluice_flow_key key;
		char err[160];
		int argc = 0, rc;

		lineno++;
		save = NULL;
		for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 32;
		     tok = strtok_r(NULL, " \t\r\n", &save))
			words[argc++] = tok;
		if (!argc || words[0][0] == '#')
			continue;
		if (dp_parse_flow(argc, words, &key, &act, err, sizeof(err))) {
			fprintf(stderr, "sluicectl: stdin:%u: %s\n", lineno, err);
			return 2;
		}
		rc = dp_flow_put(dp, &key, &act);
		if (rc) {
			fprintf(stderr, "sluicectl: stdin:%u: %s\n", lineno, strerror(-rc));
			return 1;
		}
		n++;
	}
	printf("%u flows added\n", n);
	return 0;
}

static int cmd_flow_add(int argc, char **argv)
{
	struct sluice_flow_action act;
	struct sluice_flow_key key;
	struct dp *dp;
	char err[160];
	int rc;

	if (argc == 1 && !strcmp(argv[0], "-")) {
		if (open_pinned(&dp))
			return 1;
		rc = flow_add_lines(dp);
		dp_close(dp, true);
		return rc;
	}
	if (dp_parse_flow(argc, argv, &key, &act, err, sizeof(err))) {
		fprintf(stderr, "sluicectl: flow add: %s\n", err);
		return 2;
	}
	if (open_pinned(&dp))
		return 1;
	rc = dp_flow_put(dp, &key, &act);
	if (rc)
		fprintf(stderr, "sluicectl: flow add: %s\n", strerror(-rc));
	dp_close(dp, true);
	return rc ? 1 : 0;
}

static int cmd_flow_del(int argc, char **argv)
{
	struct sluice_flow_key key = { 0 };
	struct dp *dp;
	int rc;

	if (argc != 1 || dp_parse_endpoint(argv[0], key.addr, &key.port, &key.family)) {
		fprintf(stderr, "sluicectl: flow del: LOCAL ADDRESS:PORT expected\n");
		return 2;
	}
	if (open_pinned(&dp))
		return 1;
	rc = dp_flow_del(dp, &key);
	if (rc)
		fprintf(stderr, "sluicectl: flow del %s: %s\n", argv[0],
			rc == -ENOENT ? "no such flow" : strerror(-rc));
	dp_close(dp, true);
	return rc ? 1 : 0;
}

static int print_flow(const struct sluice_flow_key *key, const struct sluice_flow_action *act,
		      const struct sluice_flow_stats *st, void *arg)
{
	char line[400];

	(*(unsigned *)arg)++;
	dp_format_flow(key, act, line, sizeof(line));
	printf("%s: packets %" PRIu64 " bytes %" PRIu64, line, (uint64_t)st->packets,
	       (uint64_t)st->bytes);
	if ((act->flags & SLUICE_F_RTP) && st->received) {
		uint32_t expected = st->ext_max_seq - st->base_seq + 1;

		printf(" ssrc 0x%08x expected %u received %u lost %" PRId64, st->ssrc, expected,
		       st->received, (int64_t)expected - st->received);
		if (act->clock_rate)
			printf(" jitter %.2f ms", st->jitter / 16.0 * 1000.0 / act->clock_rate);
	}
	if (st->rtp_errors)
		printf(" rtp_errors %" PRIu64, (uint64_t)st->rtp_errors);
	printf("\n");
	return 0;
}

static int cmd_flow_list(void)
{
	unsigned n = 0;
	struct dp *dp;
	int rc;

	if (open_pinned(&dp))
		return 1;
	rc = dp_flow_iter(dp, print_flow, &n);
	if (rc)
		fprintf(stderr, "sluicectl: flow list: %s\n", strerror(-rc));
	else
		printf("%u flow%s\n", n, n == 1 ? "" : "s");
	dp_close(dp, true);
	return rc ? 1 : 0;
}

static int cmd_verdicts(void)
{
	static const char *const names[] = SLUICE_VERDICT_NAMES;
	struct sluice_verdict v[SLUICE_V_MAX];
	struct dp *dp;
	int i, rc;

	if (open_pinned(&dp))
		return 1;
	rc = dp_verdicts(dp, v);
	if (rc)
		fprintf(stderr, "sluicectl: verdicts: %s\n", strerror(-rc));
	for (i = 0; !rc && i < SLUICE_V_MAX; i++)
		printf("%-22s %12" PRIu64 " packets %14" PRIu64 " bytes\n", names[i],
		       (uint64_t)v[i].packets, (uint64_t)v[i].bytes);
	dp_close(dp, true);
	return rc ? 1 : 0;
}

static int cmd_load(int argc, char **argv)
{
	static struct conf conf;
	struct dp *dp;
	char *list, *tok, *save = NULL;

	if (argc < 1 || argc > 2) {
		usage(stderr);
		return 2;
	}
	conf_defaults(&conf);
	snprintf(conf.media_pin_dir, sizeof(conf.media_pin_dir), "%s", pin_dir);
	conf.media_datapath = CONF_DP_XDP;
	if (argc == 2 && !strcmp(argv[1], "native")) {
		conf.media_datapath = CONF_DP_XDP_NATIVE;
	} else if (argc == 2 && !strcmp(argv[1], "generic")) {
		conf.media_datapath = CONF_DP_XDP_GENERIC;
	} else if (argc == 2) {
		fprintf(stderr, "sluicectl: load: mode is native or generic, not '%s'\n", argv[1]);
		return 2;
	}
	list = argv[0];
	conf.media_n_ifaces = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (conf.media_n_ifaces == CONF_MAX_IFACES || strlen(tok) >= 32) {
			fprintf(stderr, "sluicectl: load: too many or too long interface names\n");
			return 2;
		}
		strcpy(conf.media_ifaces[conf.media_n_ifaces++], tok);
	}
	if (dp_open(&conf, &dp))
		return 1;
	printf("%s, pinned in %s\n", dp->desc, pin_dir);
	dp_close(dp, true);
	return 0;
}

static int cmd_unload(void)
{
	int n = dp_xdp_unload(pin_dir);

	if (n < 0) {
		fprintf(stderr, "sluicectl: unload %s: %s\n", pin_dir, strerror(-n));
		return 1;
	}
	printf("detached %d link%s, removed %s\n", n, n == 1 ? "" : "s", pin_dir);
	return 0;
}

static int cmd_import_users(const char *file)
{
	struct import_report r;
	struct store st = { 0 };
	struct conf c;
	char err[512];
	int rc;

	conf_defaults(&c);
	if (conf_load(&c, conf_path, err, sizeof(err))) {
		fprintf(stderr, "sluicectl: %s\n", err);
		return 1;
	}
	if (store_open(&st, c.store_db)) {
		fprintf(stderr, "sluicectl: cannot open the database %s\n", c.store_db);
		return 1;
	}
	rc = users_import(&st, c.sip_domain, file, &r, stderr);
	store_close(&st);
	if (rc) {
		fprintf(stderr, "sluicectl: %s: nothing imported (%s)\n", file, strerror(-rc));
		return 1;
	}
	printf("%s: %d added, %d updated, %d unchanged, %d skipped (realm %s, %s)\n", file,
	       r.added, r.updated, r.unchanged, r.skipped, c.sip_domain, c.store_db);
	return r.skipped ? 1 : 0;
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "+p:c:hV")) != -1) {
		switch (opt) {
		case 'p':
			pin_dir = optarg;
			break;
		case 'c':
			conf_path = optarg;
			break;
		case 'V':
			printf("sluicectl %s (ABI %d)\n", SLUICE_VERSION, SLUICE_ABI_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	log_init("stderr", L_WARN);

	if (argc >= 2 && !strcmp(argv[0], "flow") && !strcmp(argv[1], "add"))
		return cmd_flow_add(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[0], "flow") && !strcmp(argv[1], "del"))
		return cmd_flow_del(argc - 2, argv + 2);
	if (argc == 2 && !strcmp(argv[0], "flow") && !strcmp(argv[1], "list"))
		return cmd_flow_list();
	if (argc == 1 && !strcmp(argv[0], "verdicts"))
		return cmd_verdicts();
	if (argc >= 1 && !strcmp(argv[0], "load"))
		return cmd_load(argc - 1, argv + 1);
	if (argc == 1 && !strcmp(argv[0], "unload"))
		return cmd_unload();
	if (argc == 2 && !strcmp(argv[0], "import-users"))
		return cmd_import_users(argv[1]);
	usage(stderr);
	return 2;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluicectl: the operator's and the tests' hand on a running data path.
 * It works on the pinned state directly (maps and links under the pin
 * directory), so it needs no running sluiced: load the XDP program on an
 * interface, add, delete and list flows with their statistics, read the
 * verdict counters, and unload everything. It also imports users into the
 * database, and runs MML commands against a running sluiced for scripts.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "dp/dp.h"
#include "dp/nft.h"
#include "dp/dp_impl.h"
#include "dp/dp_kmod.h"
#include "dp/flowspec.h"
#include "dp/xdp_pass.h"
#include "doctor/doctor.h"
#include "store/import.h"
#include "store/store.h"
#include "version.h"

static const char *pin_dir = SLUICE_PIN_DIR;
static bool use_kmod;		/* -k: the kernel module's flows, not the pinned XDP maps */
static const char *conf_path = "conf/sluice.conf";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluicectl [-p PIN_DIR | -k] [-c CONF] COMMAND\n"
		"  flow add LOCAL [rtcp-mux] from PEER|any via RELAY to DEST [rtp|rtcp]\n"
		"           [demux] [clock HZ] [dscp N] [stream ID]\n"
		"                 packets to LOCAL from PEER leave from RELAY to DEST\n"
		"                 (endpoints ADDRESS:PORT or [IPV6]:PORT); demux: RTCP muxed\n"
		"                 on LOCAL goes by LOCAL's rtcp-mux flow instead\n"
		"  flow add -     the same, one flow per line on stdin\n"
		"  flow del LOCAL [rtcp-mux]\n"
		"  flow list      every flow with its statistics\n"
		"  verdicts       the XDP program's verdict counters\n"
		"  load IFACE[,IFACE...] [native|generic]\n"
		"                 attach the XDP program and pin it (default: native, else generic)\n"
		"  unload         detach the program everywhere, remove the pins and the\n"
		"                 nftables table inet sluice\n"
		"  doctor         check this host against CONF: interfaces, veth peers and\n"
		"                 whether XDP native delivers there, sysctls, bpffs, nftables,\n"
		"                 ports, the open-file limit; each fault with its fix. Exit 1\n"
		"                 when something would lose media or calls\n"
		"  xdp-pass [-d] IFACE\n"
		"                 attach (-d: detach) a do-nothing native XDP program on IFACE,\n"
		"                 the peer of a veth sluiced runs on, so that the veth driver\n"
		"                 delivers what sluiced's XDP sends (run where IFACE lives)\n"
		"  -k hello [ABI] shake hands with sluice.ko as sluiced does (as ABI, to see\n"
		"                 a module refuse another release)\n"
		"  import-users FILE\n"
		"                 the previous server's users.json into the subscribers of\n"
		"                 CONF's [store] db, for its [sip] domain (again: updates)\n"
		"  mml [-a CREDFILE] 'COMMAND;' ['COMMAND;' ...]\n"
		"                 log in to the MML of the sluiced at CONF's [mml] listen, run\n"
		"                 each command and print its reply; exit 1 when a RETCODE is\n"
		"                 not 0. CREDFILE holds user=NAME and password=SECRET lines,\n"
		"                 is yours and mode 0600 (default $SLUICE_MML_CREDENTIALS,\n"
		"                 else var/mml.credentials)\n"
		"  -p PIN_DIR     pinned state (default %s)\n"
		"  -k             flow and verdicts act on the kernel module sluice.ko in this\n"
		"                 network namespace instead of the pinned XDP maps\n"
		"  -c CONF        sluiced's configuration (default conf/sluice.conf)\n",
		SLUICE_PIN_DIR);
}

static int open_pinned(struct dp **dp)
{
	char why[256] = "";
	int err;

	if (use_kmod) {
		err = dp_kmod_open(dp, why, sizeof(why));
		if (err)
			fprintf(stderr, "sluicectl: kernel module: %s\n", why);
		return err;
	}
	err = dp_open_pinned(pin_dir, dp);

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
	struct sluice_flow_key key;
	struct dp *dp;
	int rc;

	if (argc < 1 || dp_parse_flow_key(argc, argv, &key) != argc) {
		fprintf(stderr, "sluicectl: flow del: LOCAL ADDRESS:PORT [rtcp-mux] expected\n");
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

	if (argc == 3 && !strncmp(argv[2], "skip=", 5)) {
		/* The benchmark's breakdown: steps the program leaves out. */
		dp_xdp_set_prof_skip((unsigned)strtoul(argv[2] + 5, NULL, 0));
		argc--;
	}
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

/* `doctor`: the host checks against CONF (doctor/doctor.h); exit 1 on a fault. */
static int cmd_doctor(void)
{
	static struct conf conf;
	char err[512];
	int fails;

	conf_defaults(&conf);
	if (conf_load(&conf, conf_path, err, sizeof(err))) {
		fprintf(stderr, "sluicectl: %s\n", err);
		return 2;
	}
	printf("sluicectl doctor: %s\n", conf_path);
	fails = doctor_run(&conf, 0, doctor_print, stdout);
	printf("%d fault%s that would lose media or calls\n", fails, fails == 1 ? "" : "s");
	return fails ? 1 : 0;
}

static int cmd_xdp_pass(int argc, char **argv)
{
	bool attach = !(argc == 2 && !strcmp(argv[0], "-d"));
	char msg[256];
	int err;

	if (argc != 1 && !(argc == 2 && !attach)) {
		usage(stderr);
		return 2;
	}
	err = dp_xdp_pass(argv[argc - 1], attach, msg, sizeof(msg));
	fprintf(err ? stderr : stdout, "%s%s\n", err ? "sluicectl: " : "", msg);
	return err ? 1 : 0;
}

/*
 * Everything a sluiced leaves for the next one on a handover: the program
 * on its links, the pins, and the nftables table of this namespace.
 */
static int cmd_unload(void)
{
	int n = dp_xdp_unload(pin_dir), err;
	char why[160];

	if (n < 0) {
		fprintf(stderr, "sluicectl: unload %s: %s\n", pin_dir, strerror(-n));
		return 1;
	}
	printf("detached %d link%s, removed %s\n", n, n == 1 ? "" : "s", pin_dir);
	err = dp_nft_remove(why, sizeof(why));
	if (err) {
		fprintf(stderr, "sluicectl: nftables table inet %s: %s\n", DP_NFT_TABLE, why);
		return 1;
	}
	printf("removed nftables table inet %s (if there was one)\n", DP_NFT_TABLE);
	return 0;
}

/*
 * -k hello [ABI]: the module's handshake, as this sluicectl's ABI (or the
 * given one, to see a module refuse another release) would make it.
 */
static int cmd_hello(int argc, char **argv)
{
	unsigned long abi = SLUICE_ABI_VERSION;
	char why[256] = "", *end = NULL;

	if (!use_kmod || argc > 1) {
		usage(stderr);
		return 2;
	}
	if (argc == 1) {
		abi = strtoul(argv[0], &end, 0);
		if (*end || abi > UINT32_MAX) {
			fprintf(stderr, "sluicectl: hello: ABI is a number, not '%s'\n", argv[0]);
			return 2;
		}
	}
	if (dp_kmod_hello_as((__u32)abi, why, sizeof(why))) {
		fprintf(stderr, "sluicectl: %s\n", why);
		return 1;
	}
	printf("sluice.ko accepts ABI %lu\n", abi);
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
	if (store_is_pg(c.store_db)) {
		/* The node's own copy; the shared store is fed through MML (docs/store.md). */
		fprintf(stderr, "sluicectl: [store] db is PostgreSQL: import through one "
			"node's MML (ADD USER), which every node sees\n");
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

/*
 * `sluicectl mml`: an MML client for scripts. One TCP connection to [mml]
 * listen: LGI with the credentials file's user and password, each command
 * with its reply, LGO. A reply ends with the line "---    END"; the server
 * answers each command once, so replies are read one at a time, each
 * within MML_TIMEOUT_MS.
 */
#define MML_TIMEOUT_MS		10000
#define MML_LGO_TIMEOUT_MS	2000	/* the goodbye is a courtesy */
#define MML_REPLY_MAX		(16 << 20)	/* a long LST is big, not endless */
#define MML_CRED_MAX		256

struct mml_cred {
	char	user[MML_CRED_MAX];
	char	password[MML_CRED_MAX];
};

struct mml_client {
	int	fd;
	char	peer[64];	/* ADDRESS:PORT, for messages */
	char	*buf;		/* bytes received, not yet consumed */
	size_t	len;
	size_t	cap;
};

/*
 * One line of the credentials file, "key=value": the value is everything
 * after '=' up to the line end, blanks included (a password may have them).
 */
static int cred_line(struct mml_cred *cr, const char *path, unsigned lineno, char *line)
{
	char *eq = strchr(line, '='), *dst;

	if (!eq) {
		fprintf(stderr, "sluicectl: %s:%u: user=NAME or password=SECRET expected\n", path,
			lineno);
		return -EINVAL;
	}
	*eq = '\0';
	if (!strcmp(line, "user")) {
		dst = cr->user;
	} else if (!strcmp(line, "password")) {
		dst = cr->password;
	} else {
		fprintf(stderr, "sluicectl: %s:%u: unknown key '%s'\n", path, lineno, line);
		return -EINVAL;
	}
	if (*dst) {
		fprintf(stderr, "sluicectl: %s:%u: %s given twice\n", path, lineno, line);
		return -EINVAL;
	}
	if (strlen(eq + 1) >= MML_CRED_MAX) {
		fprintf(stderr, "sluicectl: %s:%u: %s too long\n", path, lineno, line);
		return -EINVAL;
	}
	strcpy(dst, eq + 1);
	return 0;
}

/* Control characters would end the LGI line early: refuse them here. */
static bool cred_text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/*
 * The file is checked through the descriptor it is read from, so that it
 * cannot be swapped between the check and the read. A password that others
 * can read is no longer a secret, and one that others can write lets them
 * choose who this script logs in as: both are refused, not warned about.
 */
static int read_credentials(const char *path, struct mml_cred *cr)
{
	char *line = NULL, *p;
	size_t cap = 0;
	unsigned lineno = 0;
	struct stat sb;
	ssize_t n;
	FILE *f;
	int fd, err = 0;

	memset(cr, 0, sizeof(*cr));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "sluicectl: mml: credentials %s: %s\n", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "sluicectl: mml: credentials %s: not a regular file\n", path);
		close(fd);
		return -EINVAL;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 077)) {
		fprintf(stderr, "sluicectl: mml: credentials %s refused: %s (owner uid %u, "
			"mode %04o); it must be yours with mode 0600\n", path,
			sb.st_uid != geteuid() ? "not owned by you" :
			"open to group or others", (unsigned)sb.st_uid,
			(unsigned)(sb.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!err && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (!*p || *p == '#')
			continue;
		err = cred_line(cr, path, lineno, p);
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
	fclose(f);
	if (!err && (!*cr->user || !*cr->password)) {
		fprintf(stderr, "sluicectl: mml: credentials %s: no %s= line\n", path,
			*cr->user ? "password" : "user");
		err = -EINVAL;
	}
	if (!err && (!cred_text_ok(cr->user) || !cred_text_ok(cr->password))) {
		fprintf(stderr, "sluicectl: mml: credentials %s: control characters\n", path);
		err = -EINVAL;
	}
	return err;
}

static void addr_format(const struct conf_addr *a, char *out, size_t outlen)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
	char host[INET6_ADDRSTRLEN];

	if (a->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(sin->sin_port));
	}
}

/* Until ms runs out, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec now;
	int64_t left;
	int rc;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = deadline_ms - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int64_t deadline_in(int ms)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + ms;
}

/* Non-blocking from the start, so that no step can hang past its timeout. */
static int mml_connect(struct mml_client *c, const struct conf_addr *a)
{
	socklen_t len = sizeof(int);
	int fd, err, soerr = 0;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) && errno != EINPROGRESS) {
		err = -errno;
		goto out_close;
	}
	err = wait_fd(fd, POLLOUT, deadline_in(MML_TIMEOUT_MS));
	if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		err = -errno;
	if (!err && soerr)
		err = -soerr;
	if (err)
		goto out_close;
	c->fd = fd;
	return 0;

out_close:
	close(fd);
	return err;
}

static int mml_send(struct mml_client *c, const char *buf, size_t len)
{
	int64_t deadline = deadline_in(MML_TIMEOUT_MS);
	ssize_t n;
	int err;

	while (len) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);	/* a closed peer is an error, not a signal */
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return errno == EPIPE ? -ECONNRESET : -errno;
		err = wait_fd(c->fd, POLLOUT, deadline);
		if (err)
			return err;
	}
	return 0;
}

/* The reply's last line, with its CRLF (a bare LF is taken too). */
static bool end_line(const char *line, size_t len)
{
	static const char end[] = "---    END";

	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	return len == sizeof(end) - 1 && !memcmp(line, end, len);
}

/*
 * Reads one reply: its length in *rlen, at the start of c->buf. Returns
 * -ETIMEDOUT, -ECONNRESET when the server closed first, -EMSGSIZE.
 */
static int mml_read_reply(struct mml_client *c, int timeout_ms, size_t *rlen)
{
	int64_t deadline = deadline_in(timeout_ms);
	size_t scanned = 0, ncap;
	char *nl, *nb;
	ssize_t n;
	int err;

	for (;;) {
		/* c->buf is NULL before the first read: memchr must not see it. */
		while (c->len > scanned && (nl = memchr(c->buf + scanned, '\n', c->len - scanned))) {
			size_t end = (size_t)(nl - c->buf) + 1;

			if (end_line(c->buf + scanned, end - scanned)) {
				*rlen = end;
				return 0;
			}
			scanned = end;
		}
		if (c->len == c->cap) {
			if (c->cap >= MML_REPLY_MAX)
				return -EMSGSIZE;
			ncap = c->cap ? 2 * c->cap : 4096;
			nb = realloc(c->buf, ncap);
			if (!nb)
				return -ENOMEM;
			c->buf = nb;
			c->cap = ncap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		err = wait_fd(c->fd, POLLIN, deadline);
		if (err)
			return err;
	}
}

static void mml_consume(struct mml_client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* True when the reply's RETCODE line says 0; a reply without one failed. */
static bool reply_ok(const char *r, size_t len)
{
	static const char key[] = "RETCODE = ";
	const size_t klen = sizeof(key) - 1;
	const char *line = r, *nl;

	for (; line < r + len; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(r + len - line));
		if (!nl)
			break;
		if ((size_t)(nl - line) > klen && !memcmp(line, key, klen))
			return line[klen] == '0' &&
			       (line[klen + 1] == ' ' || line[klen + 1] == '\r' ||
				line[klen + 1] == '\n');
	}
	return false;
}

/* A reply for a Unix pipe: CRLF becomes LF. */
static void reply_print(FILE *f, const char *r, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!(r[i] == '\r' && i + 1 < len && r[i + 1] == '\n'))
			putc(r[i], f);
	fflush(f);
}

static void mml_fail(const struct mml_client *c, const char *what, int err)
{
	if (err == -ETIMEDOUT)
		fprintf(stderr, "sluicectl: mml: %s: no complete reply from %s within %d s\n",
			what, c->peer, MML_TIMEOUT_MS / 1000);
	else if (err == -ECONNRESET)
		fprintf(stderr, "sluicectl: mml: %s: %s closed the connection\n", what, c->peer);
	else
		fprintf(stderr, "sluicectl: mml: %s: %s\n", what, strerror(-err));
}

/* A value for a quoted MML parameter: '"' and '\\' escaped, as parse.c reads them. */
static int mml_quote(char *out, size_t outlen, const char *in)
{
	size_t n = 0;

	for (; *in; in++) {
		if (n + 3 > outlen)
			return -ENAMETOOLONG;
		if (*in == '"' || *in == '\\')
			out[n++] = '\\';
		out[n++] = *in;
	}
	out[n] = '\0';
	return 0;
}

/*
 * Sends one line and reads its reply. 0 with the reply at c->buf (*rlen
 * bytes, consumed by the caller), or -errno, already reported.
 */
static int mml_exchange(struct mml_client *c, const char *what, const char *line,
			size_t *rlen)
{
	int err = mml_send(c, line, strlen(line));

	if (!err)
		err = mml_read_reply(c, MML_TIMEOUT_MS, rlen);
	if (err)
		mml_fail(c, what, err);
	return err;
}

/* 0 when logged in, 1 when refused (the reply on stderr), 2 on an error. */
static int mml_login(struct mml_client *c, const struct mml_cred *cr)
{
	char user[2 * MML_CRED_MAX], pw[2 * MML_CRED_MAX], line[5 * MML_CRED_MAX];
	size_t rlen;
	int rc = 2;

	if (mml_quote(user, sizeof(user), cr->user) || mml_quote(pw, sizeof(pw), cr->password)) {
		fprintf(stderr, "sluicectl: mml: user or password too long\n");
		goto out_cleanse;
	}
	snprintf(line, sizeof(line), "LGI: OP=\"%s\", PWD=\"%s\";\r\n", user, pw);
	if (mml_exchange(c, "LGI", line, &rlen))
		goto out_cleanse;
	rc = 0;
	if (!reply_ok(c->buf, rlen)) {
		fprintf(stderr, "sluicectl: mml: %s refused the login of %s:\n", c->peer, cr->user);
		reply_print(stderr, c->buf, rlen);
		rc = 1;
	}
	mml_consume(c, rlen);

out_cleanse:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(line, sizeof(line));
	return rc;
}

/* Runs each command; 0 when all succeeded, 1 when one failed, 2 on an error. */
static int mml_run(struct mml_client *c, int n, char **cmds)
{
	char *line;
	size_t len, rlen;
	int i, rc = 0, err;

	for (i = 0; i < n; i++) {
		len = strlen(cmds[i]);
		while (len && isspace((unsigned char)cmds[i][len - 1]))
			len--;
		if (asprintf(&line, "%.*s%s\r\n", (int)len, cmds[i],
			     len && cmds[i][len - 1] == ';' ? "" : ";") < 0)
			return 2;
		err = mml_exchange(c, cmds[i], line, &rlen);
		free(line);
		if (err)
			return 2;
		reply_print(stdout, c->buf, rlen);
		if (!reply_ok(c->buf, rlen))
			rc = 1;
		mml_consume(c, rlen);
	}
	return rc;
}

/*
 * LGO, then its reply read (when the server sends one) before closing, so
 * that the close does not reset a connection with unread data in it.
 */
static void mml_logout(struct mml_client *c)
{
	size_t rlen;

	if (mml_send(c, "LGO;\r\n", 6))
		return;
	shutdown(c->fd, SHUT_WR);
	mml_read_reply(c, MML_LGO_TIMEOUT_MS, &rlen);
}

/* Each command one line: a CR or LF inside would send two. */
static bool mml_cmds_ok(int n, char **cmds)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!cmds[i][strspn(cmds[i], " \t;")] || strpbrk(cmds[i], "\r\n")) {
			fprintf(stderr, "sluicectl: mml: '%s': one command per argument, on one "
				"line\n", cmds[i]);
			return false;
		}
	}
	return true;
}

static int cmd_mml(int argc, char **argv)
{
	static struct conf conf;
	struct mml_client c = { .fd = -1 };
	const char *cred_path = NULL;
	struct mml_cred cr;
	char err[512];
	int opt, rc;

	optind = 0;	/* glibc: a new scan, of argv after "mml" */
	while ((opt = getopt(argc, argv, "+a:")) != -1) {
		if (opt != 'a') {
			usage(stderr);
			return 2;
		}
		cred_path = optarg;
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	if (!mml_cmds_ok(argc - optind, argv + optind))
		return 2;
	if (!cred_path)
		cred_path = getenv("SLUICE_MML_CREDENTIALS");
	if (!cred_path || !*cred_path)
		cred_path = "var/mml.credentials";

	conf_defaults(&conf);
	if (conf_load(&conf, conf_path, err, sizeof(err))) {
		fprintf(stderr, "sluicectl: %s\n", err);
		return 2;
	}
	if (conf.mml_listen.ss.ss_family == AF_UNSPEC) {
		fprintf(stderr, "sluicectl: mml: [mml] listen is off in %s\n", conf_path);
		return 2;
	}
	if (read_credentials(cred_path, &cr)) {
		rc = 2;
		goto out_cleanse;
	}
	addr_format(&conf.mml_listen, c.peer, sizeof(c.peer));
	rc = mml_connect(&c, &conf.mml_listen);
	if (rc) {
		fprintf(stderr, "sluicectl: mml: cannot connect to %s: %s\n", c.peer,
			rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		rc = 2;
		goto out_cleanse;
	}
	rc = mml_login(&c, &cr);
	if (!rc)
		rc = mml_run(&c, argc - optind, argv + optind);
	if (rc < 2)
		mml_logout(&c);
	close(c.fd);
	free(c.buf);

out_cleanse:
	explicit_bzero(&cr, sizeof(cr));
	return rc;
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "+p:c:khV")) != -1) {
		switch (opt) {
		case 'k':
			use_kmod = true;
			break;
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
	if (argc == 1 && !strcmp(argv[0], "doctor"))
		return cmd_doctor();
	if (argc >= 1 && !strcmp(argv[0], "xdp-pass"))
		return cmd_xdp_pass(argc - 1, argv + 1);
	if (argc >= 1 && !strcmp(argv[0], "hello"))
		return cmd_hello(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[0], "import-users"))
		return cmd_import_users(argv[1]);
	if (argc >= 1 && !strcmp(argv[0], "mml"))
		return cmd_mml(argc, argv);
	usage(stderr);
	return 2;
}

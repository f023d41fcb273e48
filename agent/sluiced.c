// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluiced: the agent. Reads the configuration, opens the data path on the
 * media interfaces (adopting whatever a previous sluiced left pinned), with
 * its nftables table beside a kernel path, and runs the one event loop
 * until SIGTERM or SIGINT. SIP, media, MML and the control protocols hang
 * their sockets and timers off that loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/ng.h"
#include "ctl/rtpproxy.h"
#include "dp/dp.h"
#include "dp/nft.h"
#include "doctor/doctor.h"
#include "media/persist.h"
#include "media/session.h"
#include "mml/cmd.h"
#include "mml/server.h"
#include "http/http.h"
#include "sip/b2bua.h"
#include "sip/server.h"
#include "store/cdr.h"
#include "store/cluster.h"
#include "store/operator.h"
#include "store/queue.h"
#include "store/store.h"
#include "version.h"

#ifndef SLUICE_FD_TABLE
#define SLUICE_FD_TABLE	65535	/* descriptors the table is grown to before threads start */
#endif

struct sluiced {
	struct conf	conf;
	struct loop	*loop;
	struct dp	*dp;
	struct media_ctx media;
	struct ng	ng;
	struct rtpproxy	rtpp;
	struct store	store;
	bool		store_ok;
	struct store_q	wq;		/* the store's writer thread (store/queue.h) */
	struct store_q	work;		/* a worker thread without a database: MML logins' hashes */
	struct cluster	cluster;	/* the other nodes of a PostgreSQL store */
	struct sip_server sip;
	struct cdr_ctx	cdr;
	bool		cdr_ok;
	struct mml_server mml;
	struct http_server *http;
	bool		keep_media;	/* leave the kernel path to a restart */
	struct loop_timer dp_watch;
};

/* The sqlite file this node opens: [store] db, or [store] local beside PostgreSQL. */
static const char *lite_path(const struct conf *c)
{
	return store_is_pg(c->store_db) ? c->store_local : c->store_db;
}

/*
 * The relay's media addresses: [media] address (one, or an IPv4 and an
 * IPv6 one, comma separated), or with "auto" the first IPv4 address and
 * the first global IPv6 address of the first [media] interface (IPv4 from
 * any interface but loopback if it has none).
 */
static int media_address(const struct conf *c, char *out, size_t len)
{
	char v4[INET_ADDRSTRLEN] = "", v6[INET6_ADDRSTRLEN] = "";
	struct ifaddrs *ifa, *i;
	int pass;

	if (strcmp(c->media_address, "auto")) {
		snprintf(out, len, "%s", c->media_address);
		return 0;
	}
	if (getifaddrs(&ifa))
		return -errno;
	for (pass = 0; pass < 2 && !v4[0]; pass++) {
		for (i = ifa; i && !v4[0]; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			if (!pass && (!c->media_n_ifaces || strcmp(i->ifa_name, c->media_ifaces[0])))
				continue;
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, v4,
				  sizeof(v4));
		}
	}
	for (i = ifa; i && !v6[0] && c->media_n_ifaces; i = i->ifa_next) {
		const struct in6_addr *a6;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 ||
		    strcmp(i->ifa_name, c->media_ifaces[0]))
			continue;
		a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_LOOPBACK(a6))
			continue;
		inet_ntop(AF_INET6, a6, v6, sizeof(v6));
	}
	freeifaddrs(ifa);
	if (!v4[0] && !v6[0])
		return -EADDRNOTAVAIL;
	snprintf(out, len, "%s%s%s", v4, v4[0] && v6[0] ? "," : "", v6);
	return 0;
}

/*
 * The rtpproxy protocol on [control] rtpproxy (UDP) and rtpproxy_unix.
 * Set up even with both off, so that its sessions a previous sluiced
 * left are adopted and run to their end.
 */
static int start_rtpproxy(struct sluiced *sd)
{
	const struct conf *c = &sd->conf;
	const struct sockaddr *sa = (const struct sockaddr *)&c->ctl_rtpproxy.ss;
	int err;

	err = rtpproxy_open(&sd->rtpp, sd->loop, &sd->media, sa, c->ctl_rtpproxy.len,
			    c->ctl_rtpproxy_unix);
	if (err) {
		LOG(L_ERROR, "[ctl] rtpproxy socket: %s", strerror(-err));
		return err;
	}
	sd->rtpp.max_sessions = c->ctl_max_sessions;
	/* sin_port and sin6_port sit at the same offset. */
	if (sa->sa_family != AF_UNSPEC)
		LOG(L_INFO, "[ctl] rtpproxy protocol on udp port %u",
		    ntohs(((const struct sockaddr_in *)sa)->sin_port));
	if (c->ctl_rtpproxy_unix[0])
		LOG(L_INFO, "[ctl] rtpproxy protocol on unix socket %s", c->ctl_rtpproxy_unix);
	return 0;
}

static int start_media(struct sluiced *sd)
{
	const struct conf *c = &sd->conf;
	char addr[sizeof(c->media_address)];
	int err;

	err = media_address(c, addr, sizeof(addr));
	if (err) {
		LOG(L_ERROR, "[media] no media address: set [media] address (%s)", strerror(-err));
		return err;
	}
	err = media_init(&sd->media, sd->loop, sd->dp, addr, c->media_port_min, c->media_port_max,
			 (enum media_relatch)c->media_relatch, c->media_timeout,
			 c->media_hold_timeout);
	if (err) {
		LOG(L_ERROR, "[media] cannot use %s, ports %u-%u: %s", addr, c->media_port_min,
		    c->media_port_max, strerror(-err));
		return err;
	}
	sd->media.keep_ice = c->media_keep_ice;
	sd->media.srtp = (enum media_srtp_mode)c->media_srtp;
	media_set_batch(&sd->media, c->media_relay_batch_us);
	LOG(L_INFO, "[media] relaying on %s, ports %u-%u", addr, c->media_port_min,
	    c->media_port_max);
	if (sd->store_ok)
		media_persist_init(&sd->media, &sd->store);
	else
		LOG(L_WARN, "[store] %s unusable: calls will not survive a restart",
		    lite_path(c));
	sd->ng.fd = -1;
	if (c->ctl_ng.ss.ss_family != AF_UNSPEC) {
		err = ng_open(&sd->ng, sd->loop, &sd->media, (const struct sockaddr *)&c->ctl_ng.ss,
			      c->ctl_ng.len, c->ctl_max_sessions);
		if (err) {
			LOG(L_ERROR, "[ctl] NG socket: %s", strerror(-err));
			media_fini(&sd->media);
			return err;
		}
		sd->ng.cdr = sd->cdr_ok ? &sd->cdr : NULL;
		LOG(L_INFO, "[ctl] NG protocol on udp port %u",
		    ntohs(((struct sockaddr_in *)&c->ctl_ng.ss)->sin_port));
	}
	err = start_rtpproxy(sd);
	if (err) {
		ng_close(&sd->ng);
		media_fini(&sd->media);
	}
	return err;
}

/* The port of a [sip] listen key, host order; 0 when it is off. */
static uint16_t sip_port(const struct conf_addr *a)
{
	const struct sockaddr_storage *ss = &a->ss;

	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* [sip] listen, listen_tls, listen_ws, listen_wss into spec: each port once. */
static void nft_sip_ports(const struct conf *c, struct dp_nft_spec *spec)
{
	const struct conf_addr *l[] = { &c->sip_listen, &c->sip_listen_tls, &c->sip_listen_ws,
					&c->sip_listen_wss };

	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]) && spec->n_sip < DP_NFT_MAX_SIP; i++) {
		uint16_t port = sip_port(l[i]);
		bool dup = !port;

		for (int j = 0; j < spec->n_sip; j++)
			dup |= spec->sip_ports[j] == port;
		if (!dup)
			spec->sip_ports[spec->n_sip++] = port;
	}
}

/*
 * With a kernel data path, table inet sluice (dp/nft.h): the media ports
 * untracked and, with [media] firewall = yes, SIP and media accepted. It
 * replaces what a handed-over sluiced left. Without it media still flows;
 * the packets the stack sees just cost conntrack's work, so warn and go on.
 * The userspace relay gets no table: it may run without CAP_NET_ADMIN.
 */
static void start_nft(struct sluiced *sd)
{
	const struct conf *c = &sd->conf;
	struct dp_nft_spec spec = {
		.media_low = c->media_port_min,
		.media_high = c->media_port_max,
		.firewall = c->media_firewall,
	};
	char why[256], desc[160];

	if (sd->dp->kind == DP_USER)
		return;
	nft_sip_ports(c, &spec);
	dp_nft_describe(&spec, desc, sizeof(desc));
	if (dp_nft_install(&spec, why, sizeof(why)))
		LOG(L_WARN, "[dp] nftables: table inet sluice not installed (%s); media stays "
		    "connection-tracked", why);
	else
		LOG(L_INFO, "[dp] nftables: table inet sluice installed (%s)", desc);
}

/* A clean stop takes the table away; a hand-over leaves it for the next sluiced. */
static void stop_nft(struct sluiced *sd)
{
	char why[256];

	if (sd->dp->kind == DP_USER || sd->keep_media)
		return;
	if (dp_nft_remove(why, sizeof(why)))
		LOG(L_WARN, "[dp] nftables: table inet sluice not removed: %s", why);
	else
		LOG(L_INFO, "[dp] nftables: table inet sluice removed");
}

/* A restored media session goes back to its owner: a SIP call, an rtpproxy or an NG one. */
static void adopt(struct media_session *ms, const char *owner_data, void *arg)
{
	struct sluiced *sd = arg;

	if (b2bua_owns(owner_data)) {
		if (!sd->sip.loop || b2bua_adopt(&sd->sip, ms, owner_data)) {
			LOG(L_WARN, "[media] %s: a call that cannot be taken back, dropped", ms->id);
			media_session_destroy(ms);
		}
		return;
	}
	if (rtpproxy_owns(owner_data)) {
		rtpproxy_adopt(ms, owner_data, &sd->rtpp);
		return;
	}
	ng_adopt(ms, owner_data, &sd->ng);
}

/* Calls a killed or handed-over sluiced left behind: their media never stopped. */
static void adopt_sessions(struct sluiced *sd)
{
	int n = media_restore(&sd->media, adopt, sd);

	if (n > 0)
		LOG(L_INFO, "[media] adopted %d media session%s from %s", n, n == 1 ? "" : "s",
		    lite_path(&sd->conf));
}

/* The SIP server on [sip] listen; off leaves sluiced a media relay only. */
static int start_sip(struct sluiced *sd)
{
	const struct conf *c = &sd->conf;
	char addr[64];
	int err;

	if (c->sip_listen.ss.ss_family == AF_UNSPEC) {
		LOG(L_INFO, "[sip] listen = off: no SIP server, media relay only");
		return 0;
	}
	if (!sd->store_ok)
		LOG(L_WARN, "[sip] without a database no subscriber can register");
	err = sip_server_init(&sd->sip, sd->loop, c, sd->store_ok ? &sd->store : NULL, NULL,
			      NULL);
	if (!err)
		err = b2bua_init(&sd->sip);	/* the calls */
	if (!err) {
		sd->sip.media = &sd->media;
		sd->sip.cdr = sd->cdr_ok ? &sd->cdr : NULL;
		err = sip_server_listen(&sd->sip);
	}
	if (err) {
		LOG(L_ERROR, "[sip] cannot listen on %s: %s",
		    sip_addr_str((const struct sockaddr *)&c->sip_listen.ss, addr, sizeof(addr)),
		    strerror(-err));
		sip_server_fini(&sd->sip);
		return err;
	}
	LOG(L_INFO, "[sip] listening on %s (udp, tcp), domain %s",
	    sip_addr_str((const struct sockaddr *)&c->sip_listen.ss, addr, sizeof(addr)),
	    c->sip_domain);
	return 0;
}

/* The data path's own events: for XDP, route and neighbour changes. */
static void on_dp_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct sluiced *sd = arg;

	(void)loop;
	(void)fd;
	(void)events;
	dp_on_event(sd->dp);
}

/* Once a second: is what the kernel forwards delivered? (dp/xdp_watch.c) */
static void on_dp_watch(struct loop *loop, void *arg)
{
	struct sluiced *sd = arg;

	dp_watch(sd->dp);
	loop_timer_arm(loop, &sd->dp_watch, DP_WATCH_MS);
}

static void on_handover_signal(struct loop *loop, int signo, void *arg);

/* SIGTERM, SIGINT: calls end with BYE and their CDRs close, unless [media] on_stop = keep. */
static void on_stop_signal(struct loop *loop, int signo, void *arg)
{
	struct sluiced *sd = arg;

	if (sd->conf.media_keep_on_stop) {
		on_handover_signal(loop, signo, arg);
		return;
	}
	LOG(L_INFO, "[core] %s: stopping, calls are hung up", strsignal(signo));
	loop_stop(loop);
}

/*
 * SIGUSR2: stop for a restart or an upgrade. The calls' flows stay in the
 * kernel and their sessions in the database, the XDP program stays
 * attached, and the next sluiced adopts all of it, as after a crash: media
 * does not stop. SIGTERM is the clean stop that ends calls and detaches.
 */
static void on_handover_signal(struct loop *loop, int signo, void *arg)
{
	struct sluiced *sd = arg;

	sd->keep_media = true;
	sd->sip.keep_calls = true;
	LOG(L_INFO, "[core] %s: stopping, calls' media stays in the kernel for the next "
	    "sluiced%s", strsignal(signo), signo == SIGUSR2 ? "" : " ([media] on_stop = keep)");
	loop_stop(loop);
}

/* Tears the media layer down without undoing what the next sluiced adopts. */
static void hand_over_media(struct sluiced *sd)
{
	unsigned n = sd->media.nsessions;
	bool kernel = sd->dp->kind != DP_USER;

	dp_hand_over(sd->dp);
	media_flush(&sd->media);	/* what waited for the next batch */
	sd->media.store = NULL;		/* their rows stay in the database */
	LOG(L_INFO, "[media] %u media session%s left in %s for the next sluiced; %s", n,
	    n == 1 ? "" : "s", lite_path(&sd->conf),
	    kernel ? "the kernel keeps forwarding" : "userspace media pauses until it starts");
}

static void on_hup(struct loop *loop, int signo, void *arg)
{
	struct sluiced *sd = arg;
	struct conf fresh;
	char err[512];

	(void)loop;
	(void)signo;
	conf_defaults(&fresh);
	if (conf_load(&fresh, sd->conf.path, err, sizeof(err))) {
		LOG(L_ERROR, "[core] reload refused, keeping the running configuration: %s",
		    err);
		return;
	}
	/* Only what can change without re-opening sockets is taken over. */
	log_set_level((enum log_level)fresh.log_level);
	if (sd->sip.loop)
		sip_server_reload(&sd->sip, &fresh);
	sd->conf.log_level = fresh.log_level;
	conf_note(&sd->conf, "log", "level", log_level_name((enum log_level)fresh.log_level));
	LOG(L_INFO, "[core] configuration reloaded from %s (log level %s)",
	    sd->conf.path, log_level_name((enum log_level)fresh.log_level));
}

/*
 * The writer thread: from here on the loop's connection only reads, and
 * every change goes through the queue (store/queue.h). Without it (it
 * could not open the database a second time) the loop writes itself, as
 * before, and says so.
 */
/* The writer read the subscribers again (another process changed them). */
static void on_subs(struct sub_cache *c, void *arg)
{
	struct sluiced *sd = arg;

	sub_cache_free(sd->store.subs);
	sd->store.subs = c;
	subscriber_changed_outside(&sd->store);
	LOG(L_DEBUG, "[store] %u subscribers read again after a change from outside", c->n);
}

/*
 * Grows the descriptor table now, while sluiced has one thread. Once it
 * has more, each time the kernel grows the table (media sockets crossing
 * 256, 512, 1024...) it waits for an RCU grace period, ~10 ms, and the
 * event loop with it.
 */
static void grow_fd_table(void)
{
	struct rlimit rl;
	int fd, top = SLUICE_FD_TABLE;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur <= (rlim_t)top)
		top = (int)rl.rlim_cur - 1;
	fd = fcntl(0, F_DUPFD_CLOEXEC, top);
	if (fd >= 0)
		close(fd);
}

/* The writer read another node's bindings or addresses (store/cluster.h). */
static void blacklist_changed(void *arg);

static void on_cluster(void *update, void *arg)
{
	struct sluiced *sd = arg;
	const struct cluster_update *u = update;

	cluster_apply(&sd->cluster, u);
	if (u->blacklist)
		blacklist_changed(sd);
}

/* A PostgreSQL store: its writer, and this node's name and address in it. */
static int open_pg_writer(struct sluiced *sd)
{
	struct store_pg_conf pc = { sd->conf.store_db, sd->conf.store_local,
				    sd->conf.store_node, sd->conf.store_node_address };
	char host[64] = "";
	int err;

	if (!pc.node[0]) {
		gethostname(host, sizeof(host) - 1);
		pc.node = host;
	}
	err = store_q_open_pg(&sd->wq, &pc, sd->loop, sd->conf.store_queue);
	if (!err) {
		sd->store.cluster = &sd->cluster;
		store_q_watch_cluster(&sd->wq, on_cluster, sd);
	}
	return err;
}

static void start_writer(struct sluiced *sd)
{
	int err;

	if (!sd->store_ok)
		return;
	grow_fd_table();
	/* Digest authentication reads these, never the database. */
	sd->store.subs = subscriber_cache_load(&sd->store);
	if (!sd->store.subs)
		LOG(L_WARN, "[store] subscribers not kept in memory: each authentication reads "
		    "%s", lite_path(&sd->conf));
	if (store_is_pg(sd->conf.store_db))
		err = open_pg_writer(sd);
	else
		err = store_q_open(&sd->wq, lite_path(&sd->conf), sd->loop, sd->conf.store_queue);
	if (err) {
		LOG(L_ERROR, "[store] no writer thread (%s): the event loop writes to %s itself "
		    "and waits on it", strerror(-err), lite_path(&sd->conf));
		return;
	}
	sd->store.wq = &sd->wq;
	if (store_q_open(&sd->work, NULL, sd->loop, 0))
		LOG(L_WARN, "[mml] no worker thread: logins hash on the event loop");
	/* It only reads (MML's changes go to the writer too): a rare wait bounded. */
	sqlite3_busy_timeout(sd->store.db, STORE_LOOP_BUSY_MS);
	if (sd->store.subs)
		store_q_watch_subs(&sd->wq, on_subs, sd);
	LOG(L_INFO, "[store] %s: writes go to a writer thread (group commit, queue of %u)",
	    sd->wq.path, sd->conf.store_queue);
}

/*
 * The database's parts beyond media: CDRs (rows left open by a crash are
 * closed after adoption) and, on the first run, the MML's admin.
 */
static void start_store(struct sluiced *sd)
{
	char pw[OP_PASSWORD_MAX];
	int rc;

	if (!sd->store_ok) {
		LOG(L_WARN, "[cdr] %s unusable: no CDRs and no MML logins", lite_path(&sd->conf));
		return;
	}
	sd->cdr_ok = !cdr_init(&sd->cdr, &sd->store, sd->loop);
	if (!sd->cdr_ok)
		LOG(L_ERROR, "[cdr] cannot use the cdr table of %s: no CDRs", lite_path(&sd->conf));
	rc = operator_bootstrap(&sd->store, sd->conf.mml_admin_password, pw, sizeof(pw));
	if (rc == 1 && sd->conf.mml_admin_password[0])
		LOG(L_INFO, "[mml] first run: operator admin created with [mml] admin_password");
	else if (rc == 1)
		LOG(L_INFO, "[mml] first run: operator admin created with password %s (shown "
		    "this once)", pw);
	else if (rc < 0)
		LOG(L_ERROR, "[mml] cannot create the first operator: %s", strerror(-rc));
	if (rc == 1 && sd->store.wq)	/* a shared store's first node: the others log in too */
		store_q_sync(sd->store.wq, "operators", "admin");
}

static int collect_cdr(const struct b2bua_call_info *ci, void *arg)
{
	struct { int64_t *ids; int n, cap; } *k = arg;

	if (ci->cdr_id && k->n < k->cap)
		k->ids[k->n++] = ci->cdr_id;
	return 0;
}

/* After adoption: open records of calls that did not come back end as "restart". */
static void close_stale_cdrs(struct sluiced *sd)
{
	struct { int64_t *ids; int n, cap; } keep = { NULL, 0, 0 };
	int n;

	if (!sd->cdr_ok)
		return;
	keep.cap = (int)b2bua_calls(&sd->sip) + (int)sd->media.nsessions + 1;
	keep.ids = calloc((size_t)keep.cap, sizeof(*keep.ids));
	if (!keep.ids)
		return;
	if (sd->sip.loop)
		b2bua_list(&sd->sip, collect_cdr, &keep);
	if (sd->ng.fd >= 0)
		keep.n += ng_cdr_ids(&sd->ng, keep.ids + keep.n, keep.cap - keep.n);
	n = cdr_close_stale(&sd->cdr, keep.ids, keep.n, cdr_now_ms());
	if (n > 0)
		LOG(L_INFO, "[cdr] %d record%s of calls lost in a restart closed", n,
		    n == 1 ? "" : "s");
	else if (n < 0)
		LOG(L_WARN, "[cdr] closing the records of calls lost in a restart: %s",
		    strerror(-n));
	free(keep.ids);
}

static void blacklist_changed(void *arg)
{
	struct sluiced *sd = arg;

	if (sd->sip.loop)
		sip_server_blacklist(&sd->sip);
}

static void start_mml(struct sluiced *sd)
{
	struct mml_env env = {
		.conf = &sd->conf,
		.store = sd->store_ok ? &sd->store : NULL,
		.sip = sd->sip.loop ? &sd->sip : NULL,
		.media = &sd->media,
		.dp = sd->dp,
		.cdr = sd->cdr_ok ? &sd->cdr : NULL,
		.worker = sd->work.running ? &sd->work : NULL,
		.blacklist_changed = blacklist_changed,
		.arg = sd,
	};
	char addr[64];
	int err = mml_open(&sd->mml, sd->loop, &env, mml_run);

	sip_addr_str((const struct sockaddr *)&sd->conf.mml_listen.ss, addr, sizeof(addr));
	if (err)
		LOG(L_ERROR, "[mml] cannot listen on %s: %s; running without MML", addr,
		    strerror(-err));
	else if (sd->mml.fd >= 0)
		LOG(L_INFO, "[mml] listening on %s (tcp)", addr);
}

/* The web console and API, on the MML's commands (the MML listener may be off). */
static void start_http(struct sluiced *sd)
{
	char addr[64];
	int err = http_open(&sd->http, sd->loop, &sd->mml);

	sip_addr_str((const struct sockaddr *)&sd->conf.http_listen.ss, addr, sizeof(addr));
	if (err)
		LOG(L_ERROR, "[http] cannot listen on %s: %s; running without the web console",
		    addr, strerror(-err));
	else if (sd->http)
		LOG(L_INFO, "[http] listening on %s (%s)", addr,
		    sd->conf.http_tls_cert[0] ? "https" : "http");
}

/* A finding of the start-up checks as one log line (doctor/doctor.h). */
static void log_finding(const struct doctor_finding *f, void *arg)
{
	(void)arg;
	if (f->level == DOCTOR_OK)
		return;
	LOG(f->level == DOCTOR_FAIL ? L_ERROR : L_WARN, "[core] %s: %s%s%s", f->topic, f->what,
	    f->fix[0] ? "; fix: " : "", f->fix);
}

/*
 * Every media port is a socket while a call uses it: take the hard limit
 * on open files, which a shell's soft 1024 hides (the systemd unit sets
 * both).
 */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (!setrlimit(RLIMIT_NOFILE, &rl))
		LOG(L_INFO, "[core] open files: limit raised from %lu to %lu", (unsigned long)was,
		    (unsigned long)rl.rlim_max);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluiced [-c FILE] [-t] [-V]\n"
		"  -c FILE  configuration (default conf/sluice.conf)\n"
		"  -t       check the configuration and this host (as `sluicectl doctor`)\n"
		"           and exit: 1 when something would lose media or calls\n"
		"  -V       print the version and exit\n"
		"signals: TERM, INT  stop: calls end with BYE, their CDRs close, the XDP\n"
		"                    program is detached and table inet sluice removed\n"
		"                    ([media] on_stop = keep: as USR2)\n"
		"         USR2       stop for a restart: calls' media stays in the kernel\n"
		"                    and the next sluiced adopts it\n"
		"         HUP        reload the configuration's log level, the blacklist\n"
		"                    and the TLS certificate\n");
}

static int sluiced_run(struct sluiced *sd)
{
	int err;

	err = loop_new(&sd->loop);
	if (err) {
		LOG(L_ERROR, "[core] event loop: %s", strerror(-err));
		return err;
	}
	if ((err = loop_on_signal(sd->loop, SIGTERM, on_stop_signal, sd)) ||
	    (err = loop_on_signal(sd->loop, SIGINT, on_stop_signal, sd)) ||
	    (err = loop_on_signal(sd->loop, SIGUSR2, on_handover_signal, sd)) ||
	    (err = loop_on_signal(sd->loop, SIGHUP, on_hup, sd))) {
		LOG(L_ERROR, "[core] signals: %s", strerror(-err));
		goto out_free_loop;
	}
	signal(SIGPIPE, SIG_IGN);

	raise_nofile();
	doctor_run(&sd->conf, DOCTOR_AT_START, log_finding, NULL);
	err = dp_open(&sd->conf, &sd->dp);
	if (err) {
		LOG(L_ERROR, "[dp] cannot open the data path: %s", strerror(-err));
		goto out_free_loop;
	}
	start_nft(sd);
	if (dp_event_fd(sd->dp) >= 0 &&
	    loop_add_fd(sd->loop, dp_event_fd(sd->dp), EPOLLIN, on_dp_event, sd))
		LOG(L_WARN, "[dp] cannot watch route and neighbour changes: a flow's egress "
		    "follows them within a second only");
	sd->store_ok = !store_open(&sd->store, lite_path(&sd->conf));
	start_writer(sd);
	start_store(sd);
	err = start_media(sd);
	if (err)
		goto out_close_dp;
	err = start_sip(sd);
	if (err)
		goto out_stop_media;
	adopt_sessions(sd);
	close_stale_cdrs(sd);
	start_mml(sd);
	start_http(sd);
	loop_timer_init(&sd->dp_watch, on_dp_watch, sd);
	loop_timer_arm(sd->loop, &sd->dp_watch, DP_WATCH_MS);
	LOG(L_INFO, "[core] sluiced %s running (data path: %s)", SLUICE_VERSION,
	    sd->dp->desc);

	err = loop_run(sd->loop);
	if (err)
		LOG(L_ERROR, "[core] event loop failed: %s", strerror(-err));

	http_close(sd->http);
	mml_close(&sd->mml);
	store_q_close(&sd->work);	/* logins still hashing find their connection gone */
	sip_server_fini(&sd->sip);
out_stop_media:
	if (sd->keep_media)
		hand_over_media(sd);
	sd->ng.handing_over = sd->keep_media;
	ng_close(&sd->ng);
	rtpproxy_close(&sd->rtpp);
	media_fini(&sd->media);
out_close_dp:
	if (sd->cdr_ok)
		cdr_fini(&sd->cdr);	/* the last records, hung up calls' among them */
	store_q_close(&sd->wq);		/* everything queued is written first */
	sd->store.wq = NULL;
	sub_cache_free(sd->store.subs);
	sd->store.subs = NULL;
	store_close(&sd->store);
	cluster_free(&sd->cluster);
	stop_nft(sd);
	if (dp_event_fd(sd->dp) >= 0)
		loop_del_fd(sd->loop, dp_event_fd(sd->dp));
	dp_close(sd->dp, sd->keep_media);
	LOG(L_INFO, "[core] stopped");
out_free_loop:
	loop_free(sd->loop);
	return err;
}

#ifndef SLUICE_TCACHE_COUNT
#define SLUICE_TCACHE_COUNT "1024"	/* freed blocks glibc keeps per size and thread */
#endif
#define TCACHE_TUNABLE "glibc.malloc.tcache_count"

/*
 * glibc keeps 7 freed blocks of each size per thread (its tcache) before
 * they go back to the arena's bins, whence every later malloc() of that
 * size sorts and splits its way out again. libosip2 allocates and frees a
 * message's hundred-odd small blocks at once, SDP's as many, and a call's
 * nine messages went that slow way: _int_malloc() was 11% of sluiced's
 * samples at 300 calls a second, 1% with 1,024 blocks kept, and a call's
 * CPU 17% less (docs/benchmarks.md). The count is a tunable glibc reads
 * only at start, from the environment: so sluiced starts itself again
 * with it, unless the environment names it already (an operator's own
 * choice, or this very start). Where that cannot be (no /proc, the
 * binary gone) it runs on glibc's defaults. Other C libraries ignore the variable.
 */
static void tune_tcache(char **argv)
{
	const char *was = getenv("GLIBC_TUNABLES");
	char env[1024], self[4096];
	ssize_t n;

	if (was && strstr(was, TCACHE_TUNABLE))
		return;
	/* The binary by its own name, so that the process keeps it (comm, ps). */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || n >= (ssize_t)sizeof(self) - 1)
		return;
	self[n] = '\0';
	if ((size_t)snprintf(env, sizeof(env), "%s%s" TCACHE_TUNABLE "=" SLUICE_TCACHE_COUNT,
			     was ? was : "", was ? ":" : "") >= sizeof(env))
		return;
	if (setenv("GLIBC_TUNABLES", env, 1))
		return;
	execv(self, argv);
	/* Still here: carry on as started. */
	if (was)
		setenv("GLIBC_TUNABLES", was, 1);
	else
		unsetenv("GLIBC_TUNABLES");
}

int main(int argc, char **argv)
{
	static struct sluiced sd;
	const char *path = "conf/sluice.conf";
	bool check_only = false;
	char err[512];
	int opt;

	tune_tcache(argv);
	while ((opt = getopt(argc, argv, "c:tVh")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'V':
			printf("sluiced %s (ABI %d)\n", SLUICE_VERSION, SLUICE_ABI_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	/*
	 * A call allocates and frees tens of KB (a media session alone is
	 * 34 KB): with glibc's default thresholds the heap's top was given
	 * back and faulted in again every few calls (about 5% of a call's
	 * CPU in page faults at 200 calls a second). Keep what the heap grew
	 * to; what a peak took stays in the process (its RSS) until the end.
	 */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 4 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	conf_defaults(&sd.conf);
	if (conf_load(&sd.conf, path, err, sizeof(err))) {
		fprintf(stderr, "sluiced: %s\n", err);
		return 1;
	}
	if (check_only) {
		printf("sluiced: %s: configuration OK\n", path);
		return doctor_run(&sd.conf, 0, doctor_print, stdout) ? 1 : 0;
	}
	if (log_init(sd.conf.log_target, (enum log_level)sd.conf.log_level)) {
		fprintf(stderr, "sluiced: bad log target %s\n", sd.conf.log_target);
		return 1;
	}
	return sluiced_run(&sd) ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The doctor's look at sockets and limits (doctor.h): the addresses sluiced
 * listens on (free, and there), the media addresses and port range (held
 * by another program? inside the kernel's ephemeral range?), and the open
 * file limit against the media ports, every one of which is a socket
 * while a call uses it.
 *
 * Who holds a port is read from /proc/net (this network namespace) and the
 * holder from /proc/PID/fd, as `ss -p` does. A port held by a running
 * sluiced is its own, not a fault.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doctor/ports.h"

/* Descriptors beyond the media ports: SIP over TCP, MML, the database, logs. */
#ifndef DOCTOR_FD_RESERVE
#define DOCTOR_FD_RESERVE 1024
#endif
#define DOCTOR_MAX_HITS	64

struct holder {
	unsigned long	inode;
	int		pid;		/* 0 when no process of ours can see it */
	char		comm[32];
};

/* The process holding socket inode, from /proc/PID/fd. */
static void find_holder(struct holder *h)
{
	char want[48], path[600], link[64];
	struct dirent *p, *f;
	DIR *procs, *fds;

	snprintf(want, sizeof(want), "socket:[%lu]", h->inode);
	procs = opendir("/proc");
	if (!procs)
		return;
	while (!h->pid && (p = readdir(procs))) {
		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want))
				continue;
			h->pid = atoi(p->d_name);
			break;
		}
		closedir(fds);
	}
	closedir(procs);
	if (h->pid) {
		FILE *c;

		snprintf(path, sizeof(path), "/proc/%d/comm", h->pid);
		c = fopen(path, "r");
		if (c && fgets(h->comm, sizeof(h->comm), c))
			h->comm[strcspn(h->comm, "\n")] = '\0';
		if (c)
			fclose(c);
	}
}

/*
 * Sockets of /proc/net/FILE (udp, udp6, tcp, tcp6) bound to a local port
 * in [lo, hi], listening ones only for TCP. Returns how many, at most max.
 */
static int find_bound(const char *file, bool tcp, unsigned lo, unsigned hi, struct holder *out,
		      int max)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/net/%s", file);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) {	/* the header */
		fclose(f);
		return 0;
	}
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned port, state, uid;
		unsigned long inode;
		char local[64];

		if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %u %*d %lu", local,
			   &port, &state, &uid, &inode) != 5)
			continue;
		if (port < lo || port > hi || (tcp && state != 0x0a /* LISTEN */))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n++].inode = inode;
	}
	fclose(f);
	return n;
}

/* Who holds port of proto: 0 for nobody, else the count, the first holder in *h. */
static int port_holder(bool tcp, unsigned port, struct holder *h)
{
	struct holder hits[4];
	int n = find_bound(tcp ? "tcp" : "udp", tcp, port, port, hits, 4);

	n += find_bound(tcp ? "tcp6" : "udp6", tcp, port, port, hits + n, 4 - n);
	if (!n)
		return 0;
	*h = hits[0];
	find_holder(h);
	return n;
}

static unsigned addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	const void *a = ss->ss_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	inet_ntop(ss->ss_family, a, host, sizeof(host));
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, addr_port(ss));
	return buf;
}

/* Binds (and closes) a socket of type on addr: 0 or -errno. */
static int try_bind(const struct sockaddr_storage *ss, socklen_t len, int type)
{
	int one = 1, err = 0, fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (type == SOCK_STREAM)	/* as sluiced does: a TIME_WAIT is no conflict */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len))
		err = -errno;
	close(fd);
	return err;
}

/* One address sluiced listens on: free (or sluiced's own), and there. */
static void check_listen(struct doctor *d, const char *what, const struct conf_addr *a,
			 bool udp, bool tcp, enum doctor_level busy_level)
{
	char buf[80], fix[200];
	int i;

	if (a->ss.ss_family == AF_UNSPEC)
		return;
	addr_str(&a->ss, buf, sizeof(buf));
	for (i = 0; i < 2; i++) {
		bool is_tcp = i == 1;
		struct holder h = { 0 };
		int err;

		if ((is_tcp && !tcp) || (!is_tcp && !udp))
			continue;
		err = try_bind(&a->ss, a->len, is_tcp ? SOCK_STREAM : SOCK_DGRAM);
		if (!err)
			continue;
		if (err == -EADDRNOTAVAIL) {
			doctor_add(d, DOCTOR_FAIL, "ports", "use an address of this host, or 0.0.0.0",
				   "%s %s: no interface has this address", what, buf);
			return;
		}
		if (err == -EADDRINUSE && port_holder(is_tcp, addr_port(&a->ss), &h) &&
		    !strcmp(h.comm, "sluiced")) {
			doctor_add(d, DOCTOR_OK, "ports", NULL, "%s %s: held by a running sluiced "
				   "(pid %d)", what, buf, h.pid);
			return;
		}
		if (err == -EADDRINUSE) {
			snprintf(fix, sizeof(fix), "stop %s, or move %s", h.pid ? h.comm :
				 "the other program (ss -lnp)", what);
			if (h.pid)
				doctor_add(d, busy_level, "ports", fix, "%s %s (%s): in use by %s "
					   "(pid %d)", what, buf, is_tcp ? "tcp" : "udp", h.comm, h.pid);
			else
				doctor_add(d, busy_level, "ports", fix, "%s %s (%s): in use by "
					   "another program", what, buf, is_tcp ? "tcp" : "udp");
			return;
		}
		doctor_add(d, busy_level, "ports", NULL, "%s %s (%s): cannot bind: %s", what, buf,
			   is_tcp ? "tcp" : "udp", strerror(-err));
		return;
	}
	doctor_add(d, DOCTOR_OK, "ports", NULL, "%s %s is free", what, buf);
}

/* [media] address: each literal one must be this host's. */
static void check_media_addresses(struct doctor *d)
{
	char list[sizeof(d->conf->media_address)], *tok, *save = NULL;

	if (!strcmp(d->conf->media_address, "auto"))
		return;
	snprintf(list, sizeof(list), "%s", d->conf->media_address);
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct sockaddr_storage ss = { 0 };
		const char *addr = strchr(tok, '/') ? strchr(tok, '/') + 1 : tok;
		socklen_t len;

		if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
			ss.ss_family = AF_INET;
			len = sizeof(struct sockaddr_in);
		} else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
			ss.ss_family = AF_INET6;
			len = sizeof(struct sockaddr_in6);
		} else {
			continue;
		}
		if (try_bind(&ss, len, SOCK_DGRAM) == -EADDRNOTAVAIL)
			doctor_add(d, DOCTOR_FAIL, "media", "set [media] address to an address of "
				   "this host", "[media] address %s: no interface has it, so no media "
				   "port can be bound", addr);
	}
}

/* The media ports: anyone else's? (sluiced skips those: fewer calls fit). */
static void check_media_ports(struct doctor *d)
{
	struct holder hits[DOCTOR_MAX_HITS];
	unsigned lo = d->conf->media_port_min, hi = d->conf->media_port_max;
	int n, i, ours = 0, sluiced_pid = 0;
	char who[160] = "";

	n = find_bound("udp", false, lo, hi, hits, DOCTOR_MAX_HITS);
	n += find_bound("udp6", false, lo, hi, hits + n, DOCTOR_MAX_HITS - n);
	for (i = 0; i < n; i++) {
		find_holder(&hits[i]);
		if (!strcmp(hits[i].comm, "sluiced")) {
			ours++;
			sluiced_pid = hits[i].pid;
		} else if (!strstr(who, hits[i].comm[0] ? hits[i].comm : "?")) {
			size_t w = strlen(who);

			snprintf(who + w, sizeof(who) - w, "%s%s", w ? ", " : "",
				 hits[i].comm[0] ? hits[i].comm : "?");
		}
	}
	if (n > ours)
		doctor_add(d, DOCTOR_WARN, "ports", "give the other program other ports, or move "
			   "[media] ports", "%d%s media port%s of %u-%u held by %s: sluiced skips "
			   "them", n - ours, n == DOCTOR_MAX_HITS ? " or more" : "",
			   n - ours == 1 ? "" : "s", lo, hi, who);
	else if (ours)
		doctor_add(d, DOCTOR_OK, "ports", NULL, "media ports %u-%u: %d in use by a running "
			   "sluiced (pid %d), no other program", lo, hi, ours, sluiced_pid);
	else
		doctor_add(d, DOCTOR_OK, "ports", NULL, "media ports %u-%u are free", lo, hi);
}

/* Does the media range overlap the ports the kernel hands out for outgoing sockets? */
static void check_ephemeral(struct doctor *d)
{
	unsigned lo = d->conf->media_port_min, hi = d->conf->media_port_max, elo, ehi;
	char reserved[256] = "", fix[200];
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int got = f ? fscanf(f, "%u %u", &elo, &ehi) : 0;

	if (f)
		fclose(f);
	if (got != 2 || hi < elo || lo > ehi)
		return;
	f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "r");
	if (f) {
		if (!fgets(reserved, sizeof(reserved), f))
			reserved[0] = '\0';
		fclose(f);
	}
	reserved[strcspn(reserved, "\n")] = '\0';
	if (reserved[0]) {
		char want[32];

		snprintf(want, sizeof(want), "%u-%u", lo, hi);
		if (strstr(reserved, want))
			return;
	}
	snprintf(fix, sizeof(fix), "sysctl -w net.ipv4.ip_local_reserved_ports=%u-%u, or "
		 "[media] ports outside %u-%u", lo, hi, elo, ehi);
	doctor_add(d, DOCTOR_WARN, "ports", fix, "media ports %u-%u overlap the kernel's "
		   "ephemeral range %u-%u: an outgoing connection of any program can take one "
		   "(sluiced skips it)", lo, hi, elo, ehi);
}

/* Every media port is a socket while a call uses it: can the process have them all? */
static void check_fd_limit(struct doctor *d)
{
	unsigned long ports = (unsigned long)d->conf->media_port_max - d->conf->media_port_min + 1;
	unsigned long planes = 1, need;
	struct rlimit rl;
	const char *p;

	for (p = d->conf->media_address; (p = strchr(p, ',')); p++)
		planes++;
	need = ports * planes + DOCTOR_FD_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		char fix[200];

		snprintf(fix, sizeof(fix), "LimitNOFILE=%lu or more (the systemd unit has 1048576), "
			 "or `ulimit -Hn %lu` before starting sluiced", need, need);
		doctor_add(d, DOCTOR_FAIL, "limits", fix, "open files: at most %lu, but %lu media "
			   "ports (%lu per interface address) need %lu with sluiced's own: about "
			   "%lu calls at once get media ports, the rest are refused",
			   (unsigned long)rl.rlim_max, ports * planes, ports, need,
			   (unsigned long)(rl.rlim_max > DOCTOR_FD_RESERVE ?
			   (rl.rlim_max - DOCTOR_FD_RESERVE) / 4 : 0));
		return;
	}
	doctor_add(d, DOCTOR_OK, "limits", NULL, "open files: %s %lu, enough for %lu media ports%s",
		   rl.rlim_max == RLIM_INFINITY ? "unlimited," : "up to",
		   (unsigned long)rl.rlim_max, ports * planes,
		   rl.rlim_cur < need ? " (sluiced raises its soft limit to it)" : "");
}

void doctor_check_ports(struct doctor *d)
{
	const struct conf *c = d->conf;

	if (!(d->flags & DOCTOR_AT_START)) {
		check_listen(d, "[sip] listen", &c->sip_listen, true, true, DOCTOR_FAIL);
		check_listen(d, "[control] ng", &c->ctl_ng, true, false, DOCTOR_FAIL);
		check_listen(d, "[control] rtpproxy", &c->ctl_rtpproxy, true, false, DOCTOR_FAIL);
		check_listen(d, "[mml] listen", &c->mml_listen, false, true, DOCTOR_WARN);
		check_media_addresses(d);
	}
	check_media_ports(d);
	check_ephemeral(d);
	check_fd_limit(d);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * ngbench: NG protocol load, offer/answer/delete cycles per second.
 *
 *   ngbench [-w WINDOW] [-t SECONDS] [-p RELAY_PID] [-c CALLER_IP]
 *           [-e CALLEE_IP] HOST:PORT
 *
 * Keeps WINDOW calls in flight on one UDP socket, each an offer, an answer
 * and a delete as Kamailio's rtpengine_manage() sends them (call-id,
 * from-tag, to-tag, received-from, flags and replace lists, a one-stream
 * PCMU SDP from a caller and from a callee), each call with a call-id of
 * its own. Every reply must say "result ok", and an offer's or an answer's
 * must carry an SDP with a non-zero m= port. A request unanswered after
 * NGB_RTO_MS goes again with the same cookie (the relay answers a
 * retransmission from its cache); after NGB_TRIES the call counts as
 * failed and the slot moves on to a new call. After SECONDS it prints
 *
 *   cycles N seconds S per_second R failures F retransmits T relay_cpu_us U
 *
 * where U is the relay's CPU time (utime + stime of RELAY_PID, from
 * /proc/PID/stat, all its threads) per completed cycle, 0 without -p.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NGB_MAX_WINDOW	4096
#define NGB_REQ_MAX	1024
#define NGB_REPLY_MAX	65536
#define NGB_RTO_MS	500
#define NGB_TRIES	5

enum stage { OFFER, ANSWER, DELETE };

struct slot {
	unsigned long	call;		/* which call, for its call-id and tags */
	enum stage	stage;
	char		cookie[40];
	char		req[NGB_REQ_MAX];
	int		len;
	double		sent;
	int		tries;
};

struct bench {
	int		fd;
	unsigned	nonce;		/* keeps call-ids distinct across runs */
	unsigned long	next_call;
	unsigned long	cycles, failures, retransmits;
	const char	*caller, *callee;
	struct slot	*slots;
	int		window;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime of a process in seconds, -1 if it cannot be read. */
static double proc_cpu(int pid)
{
	unsigned long ut, st;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields count from its ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			 &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A bencoded string, appended at *p; returns the new end. */
static char *bstr(char *p, const char *s)
{
	return p + sprintf(p, "%zu:%s", strlen(s), s);
}

static int sdp(char *out, size_t n, const char *ip, unsigned port, unsigned long id)
{
	return snprintf(out, n,
			"v=0\r\no=- %lu 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
			"m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
			id, ip, ip, port);
}

/* The request for a slot's stage, under a fresh cookie. */
static void build(struct bench *b, struct slot *s)
{
	static const char *cmd[] = { "offer", "answer", "delete" };
	char id[64], tag[32], body[512], *p;
	const char *from = s->stage == ANSWER ? b->callee : b->caller;

	snprintf(s->cookie, sizeof(s->cookie), "%ld_%lu_%d", (long)(s - b->slots), s->call,
		 s->stage);
	p = s->req + sprintf(s->req, "%s d", s->cookie);
	snprintf(id, sizeof(id), "ngb-%u-%lu@%s", b->nonce, s->call, b->caller);
	p = bstr(p, "call-id");
	p = bstr(p, id);
	p = bstr(p, "command");
	p = bstr(p, cmd[s->stage]);
	if (s->stage != DELETE) {
		p = bstr(p, "flags");
		p += sprintf(p, "l");
		p = bstr(p, "trust-address");
		p += sprintf(p, "e");
	}
	snprintf(tag, sizeof(tag), "f%lu", s->call);
	p = bstr(p, "from-tag");
	p = bstr(p, tag);
	p = bstr(p, "received-from");
	p += sprintf(p, "l");
	p = bstr(p, "IP4");
	p = bstr(p, from);
	p += sprintf(p, "e");
	if (s->stage != DELETE) {
		p = bstr(p, "replace");
		p += sprintf(p, "l");
		p = bstr(p, "origin");
		p = bstr(p, "session-connection");
		p += sprintf(p, "e");
		sdp(body, sizeof(body), from, s->stage == OFFER ? 4000 : 5000 + 2 * (s->call % 20000),
		    s->call);
		p = bstr(p, "sdp");
		p = bstr(p, body);
	}
	if (s->stage != OFFER) {
		snprintf(tag, sizeof(tag), "t%lu", s->call);
		p = bstr(p, "to-tag");
		p = bstr(p, tag);
	}
	p += sprintf(p, "e");
	s->len = (int)(p - s->req);
	s->tries = 0;
}

static void send_slot(struct bench *b, struct slot *s)
{
	s->sent = now();
	s->tries++;
	if (send(b->fd, s->req, (size_t)s->len, 0) < 0 && errno != EAGAIN && errno != ENOBUFS)
		perror("ngbench: send");
}

static void start_call(struct bench *b, struct slot *s)
{
	s->call = b->next_call++;
	s->stage = OFFER;
	build(b, s);
	send_slot(b, s);
}

/* A reply that is "result ok", with an SDP whose m= port is set where one is due. */
static bool reply_ok(const char *r, size_t len, enum stage stage)
{
	const char *m;

	if (!memmem(r, len, "6:result2:ok", 12))
		return false;
	if (stage == DELETE)
		return true;
	m = memmem(r, len, "m=audio ", 8);
	return m && atoi(m + 8) > 0;
}

static void on_reply(struct bench *b, char *r, size_t len)
{
	char *sp = memchr(r, ' ', len);
	unsigned long call;
	struct slot *s;
	int idx, stage;

	if (!sp)
		return;
	*sp = '\0';
	if (sscanf(r, "%d_%lu_%d", &idx, &call, &stage) != 3 || idx < 0 || idx >= b->window)
		return;
	s = &b->slots[idx];
	if (s->call != call || (int)s->stage != stage)
		return;		/* an answer to a retransmission already handled */
	if (!reply_ok(sp + 1, len - (size_t)(sp + 1 - r), s->stage)) {
		b->failures++;
		if (b->failures <= 5)
			fprintf(stderr, "ngbench: call %lu stage %d: %.200s\n", call, stage, sp + 1);
		start_call(b, s);
		return;
	}
	if (s->stage == DELETE) {
		b->cycles++;
		start_call(b, s);
		return;
	}
	s->stage++;
	build(b, s);
	send_slot(b, s);
}

static void retransmit(struct bench *b, double t)
{
	for (int i = 0; i < b->window; i++) {
		struct slot *s = &b->slots[i];

		if (t - s->sent < NGB_RTO_MS / 1000.0)
			continue;
		if (s->tries >= NGB_TRIES) {
			b->failures++;
			start_call(b, s);
			continue;
		}
		b->retransmits++;
		send_slot(b, s);
	}
}

static int connect_to(const char *hostport)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char host[64];
	unsigned port;
	int fd, sz = 4 << 20;

	if (sscanf(hostport, "%63[^:]:%u", host, &port) != 2 || !inet_pton(AF_INET, host, &a.sin_addr))
		return -EINVAL;
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void run(struct bench *b, double secs)
{
	static char buf[NGB_REPLY_MAX];
	double t0 = now(), t = t0, last_check = t0;
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN };

	for (int i = 0; i < b->window; i++)
		start_call(b, &b->slots[i]);
	while (t - t0 < secs) {
		if (poll(&pfd, 1, 50) > 0) {
			for (int n = 0; n < 256; n++) {
				ssize_t len = recv(b->fd, buf, sizeof(buf) - 1, 0);

				if (len < 0)
					break;
				buf[len] = '\0';
				on_reply(b, buf, (size_t)len);
			}
		}
		t = now();
		if (t - last_check >= 0.05) {
			retransmit(b, t);
			last_check = t;
		}
	}
}

int main(int argc, char **argv)
{
	struct bench b = { .window = 64, .caller = "10.90.1.2", .callee = "10.90.2.2" };
	double secs = 5, t0, c0 = 0, c1 = 0, el;
	int opt, pid = 0;

	while ((opt = getopt(argc, argv, "w:t:p:c:e:")) != -1) {
		switch (opt) {
		case 'w':
			b.window = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'p':
			pid = atoi(optarg);
			break;
		case 'c':
			b.caller = optarg;
			break;
		case 'e':
			b.callee = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || b.window < 1 || b.window > NGB_MAX_WINDOW || secs <= 0)
		goto usage;
	b.fd = connect_to(argv[optind]);
	if (b.fd < 0) {
		fprintf(stderr, "ngbench: %s: %s\n", argv[optind], strerror(-b.fd));
		return 1;
	}
	b.slots = calloc((size_t)b.window, sizeof(*b.slots));
	if (!b.slots)
		return 1;
	b.nonce = (unsigned)getpid() ^ (unsigned)time(NULL);
	if (pid)
		c0 = proc_cpu(pid);
	t0 = now();
	run(&b, secs);
	el = now() - t0;
	if (pid)
		c1 = proc_cpu(pid);
	printf("cycles %lu seconds %.2f per_second %.0f failures %lu retransmits %lu relay_cpu_us %.1f\n",
	       b.cycles, el, b.cycles / el, b.failures, b.retransmits,
	       (pid && c0 >= 0 && c1 >= 0 && b.cycles) ? (c1 - c0) * 1e6 / b.cycles : 0.0);
	free(b.slots);
	close(b.fd);
	return b.cycles ? 0 : 1;
usage:
	fprintf(stderr, "usage: ngbench [-w WINDOW] [-t SECONDS] [-p RELAY_PID] [-c CALLER_IP] "
			"[-e CALLEE_IP] HOST:PORT\n");
	return 2;
}

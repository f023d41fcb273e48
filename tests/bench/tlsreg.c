// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsreg: REGISTER load over TLS, for tests/bench/sip.sh (Debian's sipp is
 * built without TLS). CONC connections at once, each a closed loop:
 * REGISTER, the 401's challenge answered with an MD5 digest (qop=auth when
 * offered), 200; then the next registration, over the same connection or
 * (-N) a new connection and a full handshake each. Users USER..USER+USERS-1
 * in turn, password "pw<i>" for user USER+i (the benchmark's subscribers).
 * One thread, non-blocking sockets and epoll. Prints "RATE FAILED":
 * registrations completed per second and those that failed (a connection
 * lost, an answer other than 401 then 200, or no answer within 10 s).
 *
 *   tlsreg [-c CONC] [-n COUNT] [-N] [-u USER] [-U USERS] [-d DOMAIN] HOST PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 8192
#define TIMEOUT_MS 10000

enum state { S_HANDSHAKE, S_WAIT_401, S_WAIT_200 };

struct conn {
	int fd;
	SSL *ssl;
	enum state st;
	bool connected;
	unsigned id;		/* the connection's number, for its Call-IDs and port */
	unsigned long user;
	unsigned long reg;	/* the registration's number, for its Call-ID */
	unsigned seq;
	char in[BUF];
	size_t inlen;
	char out[BUF];
	size_t outlen, outoff;
	double started;		/* this registration's first REGISTER, ms */
};

static SSL_CTX *ctx;
static struct sockaddr_in server;
static const char *domain = "ims.local";
static unsigned long user0 = 2000000, users = 10000, next_user;
static unsigned long count = 10000, started, done, failed;
static bool new_conn;
static int ep;
static unsigned long run_id;	/* in every Call-ID: runs do not reuse each other's */
static char local_ip[INET_ADDRSTRLEN] = "127.0.0.1";

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void md5_hex(const char *s, char out[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), d, &n, EVP_md5(), NULL);
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* The value of param in a challenge ("nonce", "realm", "qop"), quotes off. */
static bool param(const char *h, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);

	for (const char *p = h; (p = strstr(p, name)); p += nl) {
		const char *v, *e;

		if (p > h && p[-1] != ' ' && p[-1] != ',' && p[-1] != '\t')
			continue;
		v = p + nl;
		if (*v != '=')
			continue;
		v++;
		if (*v == '"')
			e = strchr(++v, '"');
		else
			e = v + strcspn(v, ",\r\n");
		if (!e || (size_t)(e - v) >= len)
			return false;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = '\0';
		return true;
	}
	return false;
}

static void queue_register(struct conn *c, const char *auth)
{
	c->seq++;
	c->outlen = (size_t)snprintf(c->out, sizeof(c->out),
		"REGISTER sip:%s SIP/2.0\r\n"
		"Via: SIP/2.0/TLS %s:%u;branch=z9hG4bK-%lu-%u;rport\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:%lu@%s>;tag=t%lu\r\n"
		"To: <sip:%lu@%s>\r\n"
		"Call-ID: %lu-%u-%lx@tlsreg\r\n"
		"CSeq: %u REGISTER\r\n"
		"Contact: <sip:%lu@%s:%u;transport=tls>\r\n"
		"Expires: 3600\r\n"
		"%s"
		"User-Agent: tlsreg\r\n"
		"Content-Length: 0\r\n\r\n",
		domain, local_ip, 10000 + c->id, c->reg, c->seq, c->user, domain, c->reg,
		c->user, domain, c->reg, c->id, run_id, c->seq, c->user, local_ip, 10000 + c->id,
		auth ? auth : "");
	c->outoff = 0;
}

static void next_registration(struct conn *c)
{
	c->user = user0 + next_user++ % users;
	c->seq = 0;
	c->started = now_ms();
	c->reg = started++;
	queue_register(c, NULL);
	c->st = S_WAIT_401;
}

static int conn_open(struct conn *c);

static void conn_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
}

/* The current registration failed or finished: on to the next, if any. */
static void finish(struct conn *c, bool ok);

/* A failure, its reason on stderr (the first 20). */
static void fail(struct conn *c, const char *why, int ssl_err)
{
	if (failed < 20) {
		unsigned long e = ERR_peek_last_error();

		fprintf(stderr, "tlsreg: user %lu, connection %u: %s (SSL error %d%s%s, errno %s)\n",
			c->user, c->id, why, ssl_err, e ? ": " : "", e ? ERR_reason_error_string(e) : "",
			strerror(errno));
	}
	ERR_clear_error();
	finish(c, false);
}

static void finish(struct conn *c, bool ok)
{
	if (ok)
		done++;
	else
		failed++;
	if (!ok || new_conn) {
		conn_close(c);
		if (started < count && conn_open(c))
			failed++;
		return;
	}
	if (started < count)
		next_registration(c);
	else
		conn_close(c);
}

static void answer_401(struct conn *c, const char *msg)
{
	char realm[128], nonce[256], qop[64], opaque[256] = "", a1[512], ha1[33], ha2[33];
	char a2[256], resp[33], cnonce[17], line[1536], uri[128], all[1024];
	const char *h = strcasestr(msg, "\nWWW-Authenticate:");
	const char *alg;
	bool has_qop;

	/* The first MD5 challenge (sluiced may offer SHA-256 too). */
	for (; h; h = strcasestr(h + 1, "\nWWW-Authenticate:")) {
		const char *e = strstr(h + 1, "\r\n");
		size_t n = e ? (size_t)(e - h) : strlen(h);

		if (n >= sizeof(all))
			continue;
		memcpy(all, h, n);
		all[n] = '\0';
		alg = strcasestr(all, "algorithm=");
		if (!alg || !strncasecmp(alg + 10, "MD5", 3) || !strncasecmp(alg + 10, "\"MD5\"", 5))
			break;
	}
	if (!h || !param(all, "realm", realm, sizeof(realm)) ||
	    !param(all, "nonce", nonce, sizeof(nonce))) {
		fail(c, "no MD5 challenge in the 401", 0);
		return;
	}
	has_qop = param(all, "qop", qop, sizeof(qop));
	param(all, "opaque", opaque, sizeof(opaque));
	snprintf(uri, sizeof(uri), "sip:%s", domain);
	snprintf(a1, sizeof(a1), "%lu:%s:pw%lu", c->user, realm, c->user - user0);
	md5_hex(a1, ha1);
	snprintf(a2, sizeof(a2), "REGISTER:%s", uri);
	md5_hex(a2, ha2);
	snprintf(cnonce, sizeof(cnonce), "%08x%08x", (unsigned)rand(), c->seq);
	if (has_qop)
		snprintf(a1, sizeof(a1), "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce, ha2);
	else
		snprintf(a1, sizeof(a1), "%s:%s:%s", ha1, nonce, ha2);
	md5_hex(a1, resp);
	if (has_qop)
		snprintf(line, sizeof(line), "Authorization: Digest username=\"%lu\", realm=\"%s\", "
			 "nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, "
			 "nc=00000001, cnonce=\"%s\"%s%s%s\r\n", c->user, realm, nonce, uri, resp,
			 cnonce, *opaque ? ", opaque=\"" : "", opaque, *opaque ? "\"" : "");
	else
		snprintf(line, sizeof(line), "Authorization: Digest username=\"%lu\", realm=\"%s\", "
			 "nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5%s%s%s\r\n",
			 c->user, realm, nonce, uri, resp, *opaque ? ", opaque=\"" : "", opaque,
			 *opaque ? "\"" : "");
	queue_register(c, line);
	c->st = S_WAIT_200;
}

/* One whole message in c->in: its status code handled. */
static void on_message(struct conn *c, const char *msg)
{
	int code = 0;

	if (sscanf(msg, "SIP/2.0 %d", &code) != 1)
		return;		/* a request (OPTIONS, NOTIFY): not ours */
	if (code < 200)
		return;
	if (c->st == S_WAIT_401 && code == 401)
		answer_401(c, msg);
	else if (c->st == S_WAIT_200 && code == 200)
		finish(c, true);
	else
		fail(c, msg, code);
}

static void flush_out(struct conn *c)
{
	while (c->ssl && c->outoff < c->outlen) {
		int n = SSL_write(c->ssl, c->out + c->outoff, (int)(c->outlen - c->outoff));

		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				fail(c, "write failed", e);
			return;
		}
		c->outoff += (size_t)n;
	}
}

static void on_readable(struct conn *c)
{
	for (;;) {
		int n;
		char *end;

		if (c->inlen >= sizeof(c->in) - 1) {
			fail(c, "an answer too long", 0);
			return;
		}
		n = SSL_read(c->ssl, c->in + c->inlen, (int)(sizeof(c->in) - 1 - c->inlen));
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				fail(c, c->st == S_WAIT_401 ? "read failed before the 401" :
					"read failed before the 200", e);
			return;
		}
		c->inlen += (size_t)n;
		c->in[c->inlen] = '\0';
		/* Messages without bodies (Content-Length: 0): each ends at a blank line. */
		while (c->ssl && (end = strstr(c->in, "\r\n\r\n"))) {
			size_t len = (size_t)(end + 4 - c->in);
			char msg[BUF];

			memcpy(msg, c->in, len);
			msg[len] = '\0';
			memmove(c->in, c->in + len, c->inlen - len + 1);
			c->inlen -= len;
			on_message(c, msg);
			if (!c->ssl || c->st == S_HANDSHAKE)
				return;		/* closed, or a new connection (-N) */
			flush_out(c);
		}
		if (!c->ssl)
			return;
	}
}

static void step(struct conn *c)
{
	if (c->st == S_HANDSHAKE) {
		int r = SSL_connect(c->ssl);

		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				fail(c, "handshake failed", e);
			return;
		}
		next_registration(c);
	}
	flush_out(c);
	if (c->ssl)
		on_readable(c);
}

static int conn_open(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
	int one = 1;

	c->inlen = c->outlen = c->outoff = 0;
	c->in[0] = '\0';
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) && errno != EINPROGRESS)
		goto fail;
	c->ssl = SSL_new(ctx);
	if (!c->ssl)
		goto fail;
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_connect_state(c->ssl);
	c->st = S_HANDSHAKE;
	c->started = now_ms();
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
		goto fail;
	return 0;
fail:
	conn_close(c);
	return -1;
}

int main(int argc, char **argv)
{
	unsigned conc = 100;
	struct conn *cs;
	double t0, t1, last_check;
	int opt;

	while ((opt = getopt(argc, argv, "c:n:Nu:U:d:")) != -1) {
		switch (opt) {
		case 'c': conc = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'N': new_conn = true; break;
		case 'u': user0 = strtoul(optarg, NULL, 10); break;
		case 'U': users = strtoul(optarg, NULL, 10); break;
		case 'd': domain = optarg; break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || !conc || !users) {
usage:
		fprintf(stderr, "usage: tlsreg [-c CONC] [-n COUNT] [-N] [-u USER] [-U USERS] "
			"[-d DOMAIN] HOST PORT\n");
		return 2;
	}
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &server.sin_addr) != 1) {
		fprintf(stderr, "tlsreg: %s: not an IPv4 address\n", argv[optind]);
		return 2;
	}
	run_id = (unsigned long)time(NULL) << 16 ^ (unsigned long)getpid();
	srand((unsigned)run_id);
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);	/* the benchmark's own certificate */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);	/* a full handshake each */
	ep = epoll_create1(EPOLL_CLOEXEC);
	cs = calloc(conc, sizeof(*cs));
	if (ep < 0 || !cs)
		return 1;
	if (conc > count)
		conc = (unsigned)count;
	t0 = last_check = now_ms();
	for (unsigned i = 0; i < conc; i++) {
		cs[i].id = i;
		cs[i].fd = -1;
		if (conn_open(&cs[i]))
			failed++;
	}
	while (done + failed < count) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 100);
		double now;

		for (int i = 0; i < n; i++)
			step(evs[i].data.ptr);
		now = now_ms();
		if (now - last_check < 1000)
			continue;
		last_check = now;
		for (unsigned i = 0; i < conc; i++)
			if (cs[i].fd >= 0 && now - cs[i].started > TIMEOUT_MS) {
				fail(&cs[i], "no answer in 10 s", 0);
			}
		bool any = false;

		for (unsigned i = 0; i < conc; i++)
			any |= cs[i].fd >= 0;
		if (!any)
			break;
	}
	t1 = now_ms();
	printf("%.0f %lu\n", done / ((t1 - t0) / 1e3),
	       failed + (done + failed < count ? count - done - failed : 0));
	for (unsigned i = 0; i < conc; i++)
		conn_close(&cs[i]);
	free(cs);
	SSL_CTX_free(ctx);
	return 0;
}

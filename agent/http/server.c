// SPDX-License-Identifier: GPL-2.0-only
/*
 * The web listener (see http.h): libmicrohttpd's thread on one side, the
 * event loop on the other, and between them a queue under a mutex with an
 * eventfd to wake the loop. The listener thread reads requests, serves
 * static files from [http] root and suspends a connection while the loop
 * holds its request; the loop answers and resumes it. Nothing else is
 * shared between the two threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/conf.h"
#include "core/log.h"
#include "http/api.h"
#include "http/http.h"
#include "http/import.h"
#include "http/listen.h"
#include "mml/server.h"
#include "net/ws_frame.h"

#define HTTP_MAX_CONNS		64
#define HTTP_MAX_PER_IP		16
#define HTTP_CONN_TIMEOUT	30	/* seconds a silent connection stays */
#define HTTP_MAX_FILE		(16 * 1024 * 1024)
#define HTTP_MAX_PEM		(1024 * 1024)
#define HTTP_MAX_STREAMS	8	/* dashboards open at once */
#define HTTP_STREAM_MAX_S	600	/* a stream ends; the browser reconnects, logged in again */
#define HTTP_PUSH_MS		1000

/* An open event stream (GET /api/events), the listener thread's. */
struct sse {
	struct sse		*next;
	struct http_server	*h;
	struct MHD_Connection	*conn;
	char			*buf;		/* being sent */
	size_t			off, len;
	uint64_t		seq;		/* of the last event taken */
	time_t			started;
	bool			suspended;	/* waits for the next event */
};

struct http_server {
	struct loop		*loop;
	struct MHD_Daemon	*d;
	int			efd;
	int			rootfd;		/* [http] root, -1: none */
	bool			tls;
	char			*cert, *key;	/* PEM, for the daemon's life */
	struct http_api		*api;
	struct http_listens	*listens;	/* the listen-in WebSockets (listen.h) */

	struct loop_timer	push;		/* the loop's: builds an event each second */

	pthread_mutex_t		lock;		/* guards what follows */
	struct http_req		*head, *tail;
	struct http_upgraded	*ups;		/* connections upgraded, for the loop */
	bool			stopping;
	struct sse		*streams;
	unsigned		nstreams;
	char			*event;		/* the newest event, "data: ...\n\n" */
	size_t			event_len;
	uint64_t		event_seq;
};

/* A listen-in WebSocket after its 101, on its way to the loop. */
struct http_upgraded {
	struct http_upgraded		*next;
	int				fd;
	struct MHD_UpgradeResponseHandle *urh;
	char				ticket[40];
	size_t				extra_len;
	char				extra[];
};

static const char *const sec_headers[][2] = {
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "no-referrer" },
	{ "Content-Security-Policy",
	  "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'" },
};

/* ---- the loop's side ---- */

static void on_queue(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct http_server *h = arg;
	struct http_upgraded *u, *unext;
	struct http_req *r, *next;
	uint64_t n;

	(void)loop;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		(void)0;	/* EAGAIN: another wake-up took them */
	pthread_mutex_lock(&h->lock);
	r = h->head;
	h->head = h->tail = NULL;
	u = h->ups;
	h->ups = NULL;
	pthread_mutex_unlock(&h->lock);
	for (; r; r = next) {
		next = r->next;
		r->next = NULL;
		if (http_listen_request(h->listens, r) || http_api_handle(h->api, r))
			http_answer(r);
	}
	for (; u; u = unext) {
		unext = u->next;
		http_listen_upgraded(h->listens, u->fd, u->urh, u->ticket, u->extra, u->extra_len);
		free(u);
	}
}

/* Under the lock: the streams waiting for an event, marked awake, into wake. */
static unsigned take_suspended(struct http_server *h, struct MHD_Connection **wake)
{
	unsigned k = 0;

	for (struct sse *c = h->streams; c && k < HTTP_MAX_STREAMS; c = c->next)
		if (c->suspended) {
			c->suspended = false;
			wake[k++] = c->conn;
		}
	return k;
}

/* Each second while a dashboard listens: a new event, and the streams waiting for it woken. */
static void on_push(struct loop *loop, void *arg)
{
	struct http_server *h = arg;
	char *text = NULL, *ev = NULL;
	size_t len = 0;
	unsigned n, k = 0;
	struct MHD_Connection *wake[HTTP_MAX_STREAMS];

	pthread_mutex_lock(&h->lock);
	n = h->nstreams;
	pthread_mutex_unlock(&h->lock);
	if (n && (text = http_api_event(h->api, &len)) && (ev = malloc(len + 9))) {
		memcpy(ev, "data: ", 6);
		memcpy(ev + 6, text, len);
		memcpy(ev + 6 + len, "\n\n", 3);
		pthread_mutex_lock(&h->lock);
		free(h->event);
		h->event = ev;
		h->event_len = len + 8;
		h->event_seq++;
		k = take_suspended(h, wake);
		pthread_mutex_unlock(&h->lock);
	}
	/*
	 * Woken outside the lock, so that this thread never holds it while
	 * libmicrohttpd's own locks are taken. Safe: a suspended connection
	 * is not processed, so not freed, until it is resumed, and only this
	 * thread resumes them.
	 */
	while (k)
		MHD_resume_connection(wake[--k]);
	free(text);
	loop_timer_arm(loop, &h->push, HTTP_PUSH_MS);
}

/* ---- the listener thread's side ---- */

/* The next bytes of a stream: the rest of an event, the next event, or a pause. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *c = cls;
	struct http_server *h = c->h;
	size_t n;

	(void)pos;
	if (c->off == c->len) {
		free(c->buf);
		c->buf = NULL;
		c->off = c->len = 0;
		pthread_mutex_lock(&h->lock);
		if (h->stopping || time(NULL) - c->started > HTTP_STREAM_MAX_S) {
			pthread_mutex_unlock(&h->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (!h->event || c->seq == h->event_seq) {
			/* Nothing new: sleep until on_push() wakes the connection. */
			c->suspended = true;
			MHD_suspend_connection(c->conn);
			pthread_mutex_unlock(&h->lock);
			return 0;
		}
		c->buf = malloc(h->event_len);
		if (c->buf) {
			memcpy(c->buf, h->event, h->event_len);
			c->len = h->event_len;
			c->seq = h->event_seq;
		}
		pthread_mutex_unlock(&h->lock);
		if (!c->buf)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = c->len - c->off < max ? c->len - c->off : max;
	memcpy(buf, c->buf + c->off, n);
	c->off += n;
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse *c = cls, **pp;

	pthread_mutex_lock(&c->h->lock);
	for (pp = &c->h->streams; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = c->next;
		c->h->nstreams--;
	}
	pthread_mutex_unlock(&c->h->lock);
	free(c->buf);
	free(c);
}

static void req_free(struct http_req *r)
{
	for (int i = 0; i < r->nargs; i++) {
		free(r->args[i].key);
		free(r->args[i].value);
	}
	free(r->body);
	free(r->out);
	free(r);
}

static void add_headers(struct MHD_Response *resp)
{
	for (size_t i = 0; i < sizeof(sec_headers) / sizeof(sec_headers[0]); i++)
		MHD_add_response_header(resp, sec_headers[i][0], sec_headers[i][1]);
}

static enum MHD_Result send_typed(struct MHD_Connection *conn, unsigned status, const char *type,
				  const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	add_headers(resp);
	MHD_add_response_header(resp, "Content-Type", type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	return send_typed(conn, status, "text/plain; charset=utf-8", text);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text);

/* The loop said yes to GET /api/events: the stream, if there is room for one. */
static enum MHD_Result send_stream(struct MHD_Connection *conn, struct http_req *r)
{
	static const char hello[] = "retry: 2000\n\n";
	struct http_server *h = r->h;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct sse *c = calloc(1, sizeof(*c));

	if (!c || !(c->buf = strdup(hello))) {
		free(c);
		return MHD_NO;
	}
	c->h = h;
	c->conn = conn;
	c->len = sizeof(hello) - 1;
	c->started = time(NULL);
	pthread_mutex_lock(&h->lock);
	if (h->nstreams >= HTTP_MAX_STREAMS || h->stopping) {
		pthread_mutex_unlock(&h->lock);
		free(c->buf);
		free(c);
		return send_typed(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
				  "{\"error\": \"too many event streams open\"}\n");
	}
	c->next = h->streams;
	h->streams = c;
	h->nstreams++;
	pthread_mutex_unlock(&h->lock);
	/* From here sse_free() owns c, whatever happens to the response. */
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, c, sse_free);
	if (!resp) {
		sse_free(c);
		return MHD_NO;
	}
	add_headers(resp);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static bool enqueue_upgraded(struct http_server *h, struct http_upgraded *u);

/* In the listener's thread, after the 101: the connection goes to the loop. */
static void on_upgraded(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra,
			size_t len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct http_server *h = cls;
	struct http_req *r = req_cls;
	struct http_upgraded *u = calloc(1, sizeof(*u) + len);

	(void)conn;
	if (!u) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	u->fd = sock;
	u->urh = urh;
	snprintf(u->ticket, sizeof(u->ticket), "%s", r ? r->ticket : "");
	memcpy(u->extra, extra, len);
	u->extra_len = len;
	if (!enqueue_upgraded(h, u)) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(u);
	}
}

static enum MHD_Result send_upgrade(struct MHD_Connection *conn, struct http_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_for_upgrade(on_upgraded, r->h);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Upgrade", "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", r->ws_accept);
	ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_answer(struct MHD_Connection *conn, struct http_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char retry[16];

	if (r->stream && r->status == 200)
		return send_stream(conn, r);

	if (r->upgrade)
		return send_upgrade(conn, r);

	resp = MHD_create_response_from_buffer(r->out_len, r->out ? r->out : (void *)"",
					       r->out ? MHD_RESPMEM_MUST_FREE
						      : MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	r->out = NULL;
	add_headers(resp);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Content-Type",
				r->out_type ? r->out_type : "application/json");
	if (r->set_cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
	if (r->disposition[0])
		MHD_add_response_header(resp, "Content-Disposition", r->disposition);
	if (r->challenge)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"sluice\"");
	if (r->retry_after) {
		snprintf(retry, sizeof(retry), "%u", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", retry);
	}
	ret = MHD_queue_response(conn, r->status ? (unsigned)r->status : 500, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const char *mime_of(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" }, { ".svg", "image/svg+xml" },
		{ ".png", "image/png" }, { ".ico", "image/x-icon" },
		{ ".json", "application/json" }, { ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

/* A name under root: letters, digits, '-', '_', '.', '/' and no ".." or hidden file. */
static bool static_path_ok(const char *p)
{
	if (strlen(p) > 200 || strstr(p, "..") || strstr(p, "//") || strstr(p, "/."))
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-_./", *p)))
			return false;
	return true;
}

static enum MHD_Result serve_static(struct http_server *h, struct MHD_Connection *conn,
				    const char *url, const char *method)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *name;
	struct stat st;
	int fd;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	name = !strcmp(url, "/") ? "index.html" : url + 1;
	if (h->rootfd < 0 || url[0] != '/' || !static_path_ok(url))
		return send_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	fd = openat(h->rootfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return send_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > HTTP_MAX_FILE) {
		close(fd);
		return send_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	}
	resp = MHD_create_response_from_fd((size_t)st.st_size, fd);	/* closes fd */
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	add_headers(resp);
	MHD_add_response_header(resp, "Content-Type", mime_of(name));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A request body's bound: a users.json may be larger than the rest. */
static size_t max_body(const char *url)
{
	return strcmp(url, HTTP_IMPORT_PATH) ? HTTP_MAX_BODY : HTTP_MAX_IMPORT;
}

static bool dynamic(const char *url)
{
	return !strncmp(url, "/api/", 5) || !strcmp(url, "/api") || !strcmp(url, "/metrics");
}

static enum MHD_Result take_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct http_req *r = cls;

	(void)kind;
	if (r->nargs == HTTP_MAX_ARGS) {
		r->bad_args = true;
		return MHD_NO;
	}
	r->args[r->nargs].key = strdup(key);
	r->args[r->nargs].value = strdup(value ? value : "");
	if (!r->args[r->nargs].key || !r->args[r->nargs].value) {
		r->bad_args = true;
		free(r->args[r->nargs].key);
		free(r->args[r->nargs].value);
		return MHD_NO;
	}
	r->nargs++;
	return MHD_YES;
}

static void copy_header(struct MHD_Connection *conn, enum MHD_ValueKind kind, const char *name,
			char *out, size_t n)
{
	const char *v = MHD_lookup_connection_value(conn, kind, name);

	/* One too long is refused as if it were absent, never cut. */
	if (v && strlen(v) < n)
		snprintf(out, n, "%s", v);
}

static void peer_of(struct MHD_Connection *conn, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci ? ci->client_addr : NULL;
	snprintf(out, n, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)n);
}

/* RFC 6455 4.1's opening handshake, version 13, with its key copied to key. */
static bool ws_handshake(struct MHD_Connection *conn, char *key, size_t n)
{
	const char *up = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");
	const char *co = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Connection");
	const char *ver = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
	const char *k = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");

	if (!up || !ws_has_token(up, "websocket") || !co || !ws_has_token(co, "upgrade") || !ver ||
	    strcmp(ver, "13") || !k || strlen(k) != 24 || strlen(k) >= n)
		return false;
	snprintf(key, n, "%s", k);
	return true;
}

static struct http_req *req_new(struct http_server *h, struct MHD_Connection *conn,
				const char *url, const char *method)
{
	struct http_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->conn = conn;
	r->h = h;
	r->tls = h->tls;
	snprintf(r->method, sizeof(r->method), "%s", method);
	if (strlen(url) >= sizeof(r->path) || strlen(method) >= sizeof(r->method))
		r->bad_args = true;
	else
		snprintf(r->path, sizeof(r->path), "%s", url);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, take_arg, r);
	copy_header(conn, MHD_COOKIE_KIND, "sluice_session", r->session, sizeof(r->session));
	copy_header(conn, MHD_HEADER_KIND, "X-CSRF-Token", r->csrf, sizeof(r->csrf));
	copy_header(conn, MHD_HEADER_KIND, "Authorization", r->auth, sizeof(r->auth));
	copy_header(conn, MHD_HEADER_KIND, "Content-Type", r->ctype, sizeof(r->ctype));
	peer_of(conn, r->peer, sizeof(r->peer));
	r->ws = ws_handshake(conn, r->ws_key, sizeof(r->ws_key));
	return r;
}

static bool enqueue(struct http_server *h, struct http_req *r)
{
	uint64_t one = 1;
	bool ok;

	pthread_mutex_lock(&h->lock);
	ok = !h->stopping;
	if (ok) {
		if (h->tail)
			h->tail->next = r;
		else
			h->head = r;
		h->tail = r;
	}
	pthread_mutex_unlock(&h->lock);
	if (ok && write(h->efd, &one, sizeof(one)) < 0)
		(void)0;	/* the counter is full: the loop is awake anyway */
	return ok;
}

static bool enqueue_upgraded(struct http_server *h, struct http_upgraded *u)
{
	uint64_t one = 1;
	bool ok;

	pthread_mutex_lock(&h->lock);
	ok = !h->stopping;
	if (ok) {
		u->next = h->ups;
		h->ups = u;
	}
	pthread_mutex_unlock(&h->lock);
	if (ok && write(h->efd, &one, sizeof(one)) < 0)
		(void)0;
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct http_server *h = cls;
	struct http_req *r = *con_cls;
	const char *len;

	(void)version;
	if (!r) {
		if (!dynamic(url))
			return serve_static(h, conn, url, method);
		len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (len && strtoull(len, NULL, 10) > max_body(url))
			return send_typed(conn, MHD_HTTP_CONTENT_TOO_LARGE, "application/json",
					  strcmp(url, HTTP_IMPORT_PATH)
					  ? "{\"error\": \"request body larger than 65536 bytes\"}\n"
					  : "{\"error\": \"a users.json larger than 4 MiB\"}\n");
		r = req_new(h, conn, url, method);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (r->answered)
		return send_answer(conn, r);
	if (*upload_size) {
		if (r->too_big || r->body_len + *upload_size > max_body(r->path)) {
			r->too_big = true;
		} else {
			char *grown = realloc(r->body, r->body_len + *upload_size + 1);

			if (!grown)
				return MHD_NO;
			memcpy(grown + r->body_len, upload, *upload_size);
			r->body = grown;
			r->body_len += *upload_size;
			r->body[r->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->queued)
		return MHD_YES;
	r->queued = true;
	MHD_suspend_connection(conn);
	if (!enqueue(h, r)) {
		MHD_resume_connection(conn);
		http_error(r, 503, "sluiced is stopping");
		r->answered = true;
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)conn;
	(void)why;
	if (*con_cls)
		req_free(*con_cls);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\r\n")] = '\0';
	LOG(L_DEBUG, "[http] %s", line);
}

/* ---- opening and closing ---- */

/* A PEM file whole, NUL-terminated (libmicrohttpd takes them in memory); NULL with errno. */
static char *read_pem(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0;

	if (f) {
		buf = calloc(1, HTTP_MAX_PEM + 1);
		n = buf ? fread(buf, 1, HTTP_MAX_PEM + 1, f) : 0;
		fclose(f);
	}
	if (buf && (!n || n > HTTP_MAX_PEM)) {
		free(buf);
		buf = NULL;
		errno = EINVAL;
	}
	return buf;
}

static bool is_loopback(const struct conf_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24) == 127;
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return false;
}

static int start_daemon(struct http_server *h, const struct conf *conf)
{
	const struct conf_addr *a = &conf->http_listen;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
	uint16_t port = ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);

	if (a->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (h->tls)
		flags |= MHD_USE_TLS;
	h->d = MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&a->ss,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_PER_IP,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
				h->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert,
				MHD_OPTION_HTTPS_MEM_KEY, h->key, MHD_OPTION_END);
	return h->d ? 0 : -EADDRNOTAVAIL;
}

int http_open(struct http_server **out, struct loop *loop, struct mml_server *mml)
{
	const struct conf *conf = mml->env.conf;
	struct http_server *h;
	int err = -ENOMEM;

	*out = NULL;
	if (conf->http_listen.ss.ss_family == AF_UNSPEC)
		return 0;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	h->loop = loop;
	h->rootfd = open(conf->http_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (h->rootfd < 0)
		LOG(L_WARN, "[http] root %s: %s; the console's pages are not served, the API is",
		    conf->http_root, strerror(errno));
	if (!!conf->http_tls_cert[0] != !!conf->http_tls_key[0]) {
		LOG(L_ERROR, "[http] tls_cert and tls_key go together");
		err = -EINVAL;
		goto out_free;
	}
	h->tls = conf->http_tls_cert[0];
	if (h->tls && (!(h->cert = read_pem(conf->http_tls_cert)) ||
		       !(h->key = read_pem(conf->http_tls_key)))) {
		err = errno ? -errno : -EINVAL;
		LOG(L_ERROR, "[http] cannot read %s or %s: %s", conf->http_tls_cert,
		    conf->http_tls_key, strerror(-err));
		goto out_free;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0) {
		err = -errno;
		goto out_free;
	}
	err = http_api_new(&h->api, loop, mml, h->tls, is_loopback(&conf->http_listen));
	if (err)
		goto out_close_efd;
	err = http_listens_new(&h->listens, loop, mml);
	if (err)
		goto out_free_api;
	err = loop_add_fd(loop, h->efd, EPOLLIN, on_queue, h);
	if (err)
		goto out_free_api;
	err = start_daemon(h, conf);
	if (err)
		goto out_del_fd;
	loop_timer_init(&h->push, on_push, h);
	loop_timer_arm(loop, &h->push, HTTP_PUSH_MS);
	*out = h;
	return 0;

out_del_fd:
	loop_del_fd(loop, h->efd);
out_free_api:
	http_listens_free(h->listens);
	http_api_free(h->api);
out_close_efd:
	close(h->efd);
out_free:
	if (h->rootfd >= 0)
		close(h->rootfd);
	free(h->cert);
	free(h->key);
	free(h);
	return err;
}

void http_close(struct http_server *h)
{
	struct MHD_Connection *wake[HTTP_MAX_STREAMS];
	struct http_req *r, *next;
	unsigned k;

	if (!h)
		return;
	MHD_quiesce_daemon(h->d);
	loop_timer_cancel(h->loop, &h->push);
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	r = h->head;
	h->head = h->tail = NULL;
	/* Streams end: libmicrohttpd stops only with no connection suspended. */
	k = take_suspended(h, wake);
	pthread_mutex_unlock(&h->lock);
	while (k)
		MHD_resume_connection(wake[--k]);
	for (; r; r = next) {
		next = r->next;
		http_error(r, 503, "sluiced is stopping");
		http_answer(r);
	}
	http_api_free(h->api);	/* answers what it held */
	http_listens_free(h->listens);	/* their connections closed */
	while (h->ups) {
		struct http_upgraded *u = h->ups;

		h->ups = u->next;
		MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
		free(u);
	}
	MHD_stop_daemon(h->d);
	loop_del_fd(h->loop, h->efd);
	close(h->efd);
	pthread_mutex_destroy(&h->lock);
	if (h->rootfd >= 0)
		close(h->rootfd);
	free(h->event);
	free(h->cert);
	free(h->key);
	free(h);
}

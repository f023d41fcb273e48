// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MML listener and its connections (see server.h): bytes in, commands
 * cut at ';' (or at a line end outside quotes), logins, replies out. What
 * each command does is mml/cmd.c, reached through the mml_run_fn that
 * mml_open() was given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "mml/server.h"
#include "store/queue.h"
#include "sip/server.h"

struct mml_conn {
	struct mml_conn		*next, *prev;
	struct mml_server	*m;
	int			fd;
	char			peer[64];
	char			in[MML_MAX_LINE + 1];
	size_t			inlen;
	bool			discarding;	/* a command too long: skip to its end */
	char			*out;		/* what the socket did not take yet */
	size_t			outlen;
	bool			authed;
	char			op[OP_NAME_MAX];
	enum op_role		role;
	unsigned		failures;	/* failed logins on this connection */
	bool			paused;		/* a failed login's delay runs */
	bool			closing;	/* close once out is written */
	char			*delayed;	/* the reply the delay holds back */
	size_t			delayed_len;
	struct loop_timer	delay;
	struct loop_timer	idle;
	struct login_ticket	*ticket;	/* a login's hash runs on the worker */
	struct mml_pending	*pending;	/* a change at the store's writer: its reply */
};

/* What a login hashed off the loop comes back to; c NULL once the connection went. */
struct login_ticket {
	struct mml_conn		*c;
	char			text[MML_MAX_LINE + 64];
};

static const char *const secrets[] = { "PWD", "PASSWORD", NULL };

static void conn_input(struct mml_conn *c);

static void conn_free(struct mml_conn *c)
{
	struct mml_server *m = c->m;

	loop_timer_cancel(m->loop, &c->delay);
	loop_timer_cancel(m->loop, &c->idle);
	if (c->ticket)
		c->ticket->c = NULL;
	if (c->pending)
		c->pending->ready = NULL;	/* the change is made all the same */
	loop_del_fd(m->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	m->nconns--;
	free(c->out);
	free(c->delayed);
	free(c);
}

static void conn_events(struct mml_conn *c)
{
	uint32_t ev = c->paused || c->closing ? 0 : EPOLLIN;

	if (c->outlen)
		ev |= EPOLLOUT;
	loop_mod_fd(c->m->loop, c->fd, ev);
}

/* Writes what it can; the rest waits for EPOLLOUT. Returns -errno when the peer is gone. */
static int conn_flush(struct mml_conn *c)
{
	size_t done = 0;

	while (done < c->outlen) {
		ssize_t n = send(c->fd, c->out + done, c->outlen - done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		done += (size_t)n;
	}
	memmove(c->out, c->out + done, c->outlen - done);
	c->outlen -= done;
	return 0;
}

static int conn_send(struct mml_conn *c, const char *buf, size_t len)
{
	char *grown = realloc(c->out, c->outlen + len);

	if (!grown)
		return -ENOMEM;
	c->out = grown;
	memcpy(c->out + c->outlen, buf, len);
	c->outlen += len;
	return conn_flush(c);
}

/* An error reply to a command that never parsed, or was refused before running. */
static void reply_error(struct mml_conn *c, const char *text, int retcode, const char *reason,
			struct mml_reply *r)
{
	struct mml_server *m = c->m;

	mml_reply_head(r, m->env.conf->mml_node, time(NULL), m->seq++, text, retcode, reason);
	mml_reply_end(r);
	m->stats.errors++;
}

static void on_delay(struct loop *loop, void *arg)
{
	struct mml_conn *c = arg;

	(void)loop;
	c->paused = false;
	if (conn_send(c, c->delayed, c->delayed_len)) {
		conn_free(c);
		return;
	}
	free(c->delayed);
	c->delayed = NULL;
	if (c->failures >= MML_MAX_FAILURES) {
		LOG(L_WARN, "[mml] %s: %u failed logins, connection closed", c->peer,
		    c->failures);
		c->closing = true;
		if (!c->outlen) {
			conn_free(c);
			return;
		}
	}
	conn_input(c);		/* what came during the delay */
	if (c->closing && !c->outlen)
		conn_free(c);
	else
		conn_events(c);
}

/* A login's outcome into r: the session, or a refusal whose answer waits. */
static void login_result(struct mml_conn *c, int rc, enum op_role role, const char *op,
			 const char *text, struct mml_reply *r)
{
	struct mml_server *m = c->m;

	if (!rc) {
		c->authed = true;
		c->role = role;
		c->failures = 0;
		snprintf(c->op, sizeof(c->op), "%s", op);
		m->stats.logins++;
		LOG(L_INFO, "[mml] %s: %s logged in (%s)", c->peer, c->op,
		    operator_role_name(role));
		mml_reply_head(r, m->env.conf->mml_node, time(NULL), m->seq++, text, 0, NULL);
		mml_reply_end(r);
		return;
	}
	m->stats.login_failures++;
	c->failures++;
	LOG(L_WARN, "[mml] %s: login as '%.32s' failed (%u on this connection)", c->peer,
	    op, c->failures);
	reply_error(c, text, MML_RET_DENIED,
		    rc == -ENODEV ? "No operator database" : "Login failed: wrong operator or password",
		    r);
	/* The answer waits: 1 s, 2 s, 4 s, 8 s. */
	c->paused = true;
	loop_timer_arm(m->loop, &c->delay, 1000ull << (c->failures > 4 ? 3 : c->failures - 1));
}

/* Back on the loop: the hash is done; the reply goes out and input resumes. */
static void login_hashed(struct store_op *op, void *arg)
{
	struct login_ticket *t = arg;
	struct op_login *l = op->u.call.data;
	struct mml_conn *c = t->c;
	char name[OP_NAME_MAX];
	enum op_role role = OP_OPERATOR;
	struct mml_reply r;
	int rc;

	if (!c) {
		OPENSSL_cleanse(l, sizeof(*l));
		free(t);
		return;
	}
	c->ticket = NULL;
	c->paused = false;
	snprintf(name, sizeof(name), "%s", l->name);
	rc = operator_login_end(c->m->env.store, l, &role);	/* wipes l */
	mml_reply_init(&r);
	login_result(c, rc, role, name, t->text, &r);
	free(t);
	if (c->paused) {		/* a failure: its delay holds the reply */
		c->delayed = r.buf;
		c->delayed_len = r.len;
		r.buf = NULL;
	} else if (conn_send(c, r.buf, r.len)) {
		c->closing = true;
	}
	mml_reply_free(&r);
	conn_input(c);			/* what came while hashing */
	if (c->closing && !c->outlen)
		conn_free(c);
	else
		conn_events(c);
}

/* With a worker: 0 when the login went there (the connection waits for it). */
static int login_async(struct mml_conn *c, const char *op, const char *pwd, const char *text)
{
	struct mml_server *m = c->m;
	struct login_ticket *t = calloc(1, sizeof(*t));
	struct store_op *sop = store_op_new(STORE_OP_CALL);
	struct op_login *l = calloc(1, sizeof(*l));
	int err = -ENOMEM;

	if (!t || !sop || !l)
		goto out_free;
	err = operator_login_begin(m->env.store, op, pwd, l);
	if (err)
		goto out_free;
	sop->u.call.fn = operator_login_hash_job;
	sop->u.call.data = l;
	t->c = c;
	snprintf(t->text, sizeof(t->text), "%s", text);
	c->ticket = t;
	c->paused = true;
	store_q_submit(m->env.worker, sop, login_hashed, t);
	return 0;

out_free:
	if (l)
		OPENSSL_cleanse(l, sizeof(*l));
	free(l);
	store_op_free(sop);
	free(t);
	return err;
}

static void login(struct mml_conn *c, const struct mml_cmd *cmd, const char *text,
		  struct mml_reply *r)
{
	struct mml_server *m = c->m;
	const char *op = mml_param(cmd, "OP"), *pwd = mml_param(cmd, "PWD");
	enum op_role role = OP_OPERATOR;
	int rc = -EACCES;

	if (op && pwd && m->env.store && m->env.worker && !login_async(c, op, pwd, text))
		return;
	if (op && pwd && m->env.store)
		rc = operator_check(m->env.store, op, pwd, &role);
	else if (!m->env.store)
		rc = -ENODEV;
	login_result(c, rc, role, op ? op : "", text, r);
}

/*
 * Back on the loop: the store's writer made the command's change (or
 * could not): its reply goes out, then what the connection sent meanwhile.
 */
static void written(struct mml_pending *p, void *arg)
{
	struct mml_conn *c = arg;
	struct mml_reply r;

	c->pending = NULL;
	if (p->reply.err || p->gone) {
		mml_reply_init(&r);
		reply_error(c, "", MML_RET_INTERNAL, p->gone ? "stopping" : "Out of memory", &r);
		c->delayed = r.buf;
		c->delayed_len = r.len;
	} else {
		c->delayed = p->reply.buf;	/* ours now */
		c->delayed_len = p->reply.len;
		p->reply.buf = NULL;
		p->reply.len = p->reply.cap = 0;
	}
	on_delay(c->m->loop, c);
}

/* One command, cut from the input (its ';' included, if any). */
static void conn_command(struct mml_conn *c, const char *line, size_t len)
{
	struct mml_server *m = c->m;
	char err[128], text[MML_MAX_LINE + 64];
	struct mml_reply r;
	struct mml_cmd cmd;
	bool bye = false;

	mml_reply_init(&r);
	m->stats.commands++;
	loop_timer_arm(m->loop, &c->idle, MML_IDLE_MS);
	if (mml_parse(line, len, &cmd, err, sizeof(err))) {
		snprintf(text, sizeof(text), "%.*s", (int)strcspn(line, "\r\n"),
			 line);
		reply_error(c, text, MML_RET_SYNTAX, err, &r);
	} else {
		mml_format(&cmd, secrets, text, sizeof(text));
		if (!strcmp(cmd.verb, "LGI") && !cmd.obj[0]) {
			login(c, &cmd, text, &r);
		} else if (!strcmp(cmd.verb, "LGO") && !cmd.obj[0]) {
			mml_reply_head(&r, m->env.conf->mml_node, time(NULL), m->seq++, text, 0,
				       NULL);
			mml_reply_end(&r);
			if (c->authed)
				LOG(L_INFO, "[mml] %s: %s logged out", c->peer, c->op);
			bye = true;
		} else if (!c->authed) {
			reply_error(c, text, MML_RET_DENIED, "Not logged in: LGI first", &r);
		} else {
			m->pending = NULL;
			m->run(m, &cmd, text, c->op, c->role, &r);
			if (m->pending) {
				/* At the store's writer: written() answers. */
				c->pending = m->pending;
				m->pending = NULL;
				c->pending->ready = written;
				c->pending->arg = c;
				c->paused = true;
			}
		}
	}
	if (r.err) {
		mml_reply_free(&r);
		mml_reply_init(&r);
		reply_error(c, "", MML_RET_INTERNAL, "Out of memory", &r);
	}
	if (c->ticket || c->pending) {
		/* A login hashing on the worker, or a change at the writer: they answer. */
	} else if (c->paused) {
		c->delayed = r.buf;
		c->delayed_len = r.len;
		r.buf = NULL;
	} else if (conn_send(c, r.buf, r.len)) {
		c->closing = true;
	}
	mml_reply_free(&r);
	if (bye)
		c->closing = true;
}

/*
 * Where the next command ends in in[0..len): after a ';' or before a line
 * end outside quotes. 0: not complete yet.
 */
static size_t command_end(const char *in, size_t len)
{
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '"')
			quoted = !quoted;
		else if (!quoted && in[i] == ';')
			return i + 1;
		else if (in[i] == '\n')
			return i + 1;	/* a quote left open ends with its line */
	}
	return 0;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* Runs every complete command in the buffer, unless a login delay holds them. */
static void conn_input(struct mml_conn *c)
{
	size_t end;

	while (!c->paused && !c->closing && (end = command_end(c->in, c->inlen))) {
		if (c->discarding)
			c->discarding = false;
		else if (!blank(c->in, end))
			conn_command(c, c->in, end);
		memmove(c->in, c->in + end, c->inlen - end);
		c->inlen -= end;
	}
	if (c->inlen == MML_MAX_LINE) {
		struct mml_reply r;

		/* No terminator in a whole buffer: refuse it and skip to its end. */
		mml_reply_init(&r);
		reply_error(c, "", MML_RET_SYNTAX, "command too long", &r);
		if (conn_send(c, r.buf, r.len))
			c->closing = true;
		mml_reply_free(&r);
		c->inlen = 0;
		c->discarding = true;
	}
}

static void on_conn(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct mml_conn *c = arg;

	(void)loop;
	if (events & EPOLLOUT && conn_flush(c)) {
		conn_free(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) && !c->paused && !c->closing) {
		ssize_t n = recv(fd, c->in + c->inlen, MML_MAX_LINE - c->inlen, 0);

		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			conn_free(c);
			return;
		}
		c->inlen += (size_t)n;
		conn_input(c);
	}
	if (c->closing && !c->outlen) {
		conn_free(c);
		return;
	}
	conn_events(c);
}

static void on_idle(struct loop *loop, void *arg)
{
	struct mml_conn *c = arg;

	(void)loop;
	LOG(L_INFO, "[mml] %s: idle for %u minutes, closed", c->peer, MML_IDLE_MS / 60000);
	conn_free(c);
}

static void on_accept(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct mml_server *m = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct mml_conn *c;
	int cfd;

	(void)events;
	cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	m->stats.connections++;
	if (m->nconns >= MML_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		static const char busy[] = "too many MML connections\r\n";

		m->stats.refused++;
		LOG(L_WARN, "[mml] connection refused: %u open already", m->nconns);
		if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
			(void)0;	/* it is closed either way */
		close(cfd);
		return;
	}
	c->m = m;
	c->fd = cfd;
	sip_addr_str((const struct sockaddr *)&ss, c->peer, sizeof(c->peer));
	loop_timer_init(&c->delay, on_delay, c);
	loop_timer_init(&c->idle, on_idle, c);
	if (loop_add_fd(loop, cfd, EPOLLIN, on_conn, c)) {
		close(cfd);
		free(c);
		return;
	}
	c->next = m->conns;
	if (m->conns)
		m->conns->prev = c;
	m->conns = c;
	m->nconns++;
	loop_timer_arm(loop, &c->idle, MML_IDLE_MS);
	LOG(L_DEBUG, "[mml] connection from %s", c->peer);
}

int mml_open(struct mml_server *m, struct loop *loop, const struct mml_env *env, mml_run_fn run)
{
	const struct conf_addr *a = &env->conf->mml_listen;
	int one = 1, err;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->loop = loop;
	m->env = *env;
	m->run = run;
	m->started = time(NULL);
	m->seq = 1;
	if (a->ss.ss_family == AF_UNSPEC)
		return 0;
	m->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		return -errno;
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->fd, (const struct sockaddr *)&a->ss, a->len) || listen(m->fd, 16)) {
		err = -errno;
		close(m->fd);
		m->fd = -1;
		return err;
	}
	err = loop_add_fd(loop, m->fd, EPOLLIN, on_accept, m);
	if (err) {
		close(m->fd);
		m->fd = -1;
	}
	return err;
}

void mml_close(struct mml_server *m)
{
	while (m->conns)
		conn_free(m->conns);
	/* Changes still at the writer are made; nobody is told (the web API's went first). */
	for (struct mml_pending *p = m->writes; p; p = p->next)
		p->gone = true;
	m->writes = NULL;
	m->pending = NULL;
	if (m->fd >= 0) {
		loop_del_fd(m->loop, m->fd);
		close(m->fd);
	}
	m->fd = -1;
}

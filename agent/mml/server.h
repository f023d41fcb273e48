/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The MML operator interface: a TCP listener on [mml] listen (keep it on
 * loopback) speaking Huawei-style commands (parse.h) and answering in the
 * layout of reply.h. A connection must log in first:
 *
 *	LGI: OP="admin", PWD="...";
 *
 * against the operators in the database (store/operator.h). A failed login
 * is answered only after a delay that doubles with each failure on the
 * connection (1 s, 2 s, 4 s, then 8 s), during which nothing else it sent
 * is read; the fifth closes it. Failures are counted per operator and in
 * DSP SRVSTAT. Errors never close the connection: they are replies with a
 * non-zero RETCODE and a reason.
 *
 * Commands come one per ';' (or per line, in the previous server's form
 * without one) and are answered in order, each reply ending in `---    END`.
 * OPERATOR may look (DSP, HELP, EXP); ADMIN may also change things.
 */
#ifndef SLUICE_MML_SERVER_H
#define SLUICE_MML_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/conf.h"
#include "core/loop.h"
#include "mml/parse.h"
#include "mml/reply.h"
#include "store/operator.h"

#ifndef MML_MAX_CONNS
#define MML_MAX_CONNS		16
#endif
#define MML_MAX_FAILURES	5	/* failed logins before a connection is closed */
#define MML_IDLE_MS		(30 * 60 * 1000)	/* a silent connection is closed */

struct sip_server;
struct media_ctx;
struct dp;
struct cdr_ctx;
struct mml_conn;
struct store_q;

/* What the commands reach; any may be NULL (the command then says so). */
struct mml_env {
	struct conf		*conf;		/* in force; SET LOG changes its level */
	struct store		*store;
	struct sip_server	*sip;
	struct media_ctx	*media;
	struct dp		*dp;
	struct cdr_ctx		*cdr;
	/* A worker thread (store/queue.h, no database): logins hash there, off the loop. */
	struct store_q		*worker;
	/* After ADD/RMV BLACKLIST: the SIP server takes the list again. */
	void			(*blacklist_changed)(void *arg);
	void			*arg;
};

/*
 * Runs one parsed command of an operator logged in as role (op: its name)
 * into r, head to END; returns the RETCODE. The listener knows commands
 * only through this (mml_run() of mml/cmd.h, given to mml_open()).
 */
struct mml_server;

/*
 * A command whose change went to the store's writer (cmd.c): its reply is
 * written once the change is committed, or has failed (a non-zero RETCODE
 * and the reason). The event loop does not wait: the front end that ran
 * the command (an MML connection, the web API) takes m->pending after
 * running it (setting it NULL), sets ready and arg, and holds its answer.
 * ready(p, arg) runs on the loop with p->reply complete and p->retcode its
 * RETCODE; p is freed when it returns. ready NULL: nobody waits any more
 * (the change is made all the same). p->gone: the server closed first
 * (sluiced stopping), p->reply is empty.
 */
struct mml_pending {
	void			(*ready)(struct mml_pending *p, void *arg);
	void			*arg;
	struct mml_reply	reply;
	int			retcode;
	bool			gone;
	struct mml_pending	*next;		/* m->writes */
};

typedef int (*mml_run_fn)(struct mml_server *m, const struct mml_cmd *cmd, const char *text,
			  const char *op, enum op_role role, struct mml_reply *r);

struct mml_server {
	struct loop		*loop;
	int			fd;
	struct mml_env		env;
	mml_run_fn		run;		/* what a command does */
	time_t			started;
	unsigned		seq;		/* O&M #n of the next reply */
	struct mml_pending	*pending;	/* the last command's, for its front end to take */
	struct mml_pending	*writes;	/* changes at the writer (cmd.c) */
	struct mml_conn		*conns;
	unsigned		nconns;
	struct {
		uint64_t	connections, refused, logins, login_failures, commands, errors;
	} stats;
};

/* Listens on [mml] listen (off: does nothing and returns 0); run runs the commands. */
int mml_open(struct mml_server *m, struct loop *loop, const struct mml_env *env, mml_run_fn run);
void mml_close(struct mml_server *m);

#endif /* SLUICE_MML_SERVER_H */

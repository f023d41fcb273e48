// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluiced: the agent. Reads the configuration, opens the data path on the
 * media interfaces (adopting whatever a previous sluiced left pinned), and
 * runs the one event loop until SIGTERM or SIGINT. SIP, media, MML and the
 * control protocols hang their sockets and timers off that loop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "dp/dp.h"
#include "version.h"

struct sluiced {
	struct conf	conf;
	struct loop	*loop;
	struct dp	*dp;
	bool		keep_media;	/* leave the kernel path to a restart */
};

static void on_stop_signal(struct loop *loop, int signo, void *arg)
{
	(void)arg;
	LOG(L_INFO, "[core] %s: stopping", strsignal(signo));
	loop_stop(loop);
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
	sd->conf.log_level = fresh.log_level;
	LOG(L_INFO, "[core] configuration reloaded from %s (log level %s)",
	    sd->conf.path, log_level_name((enum log_level)fresh.log_level));
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluiced [-c FILE] [-t] [-V]\n"
		"  -c FILE  configuration (default conf/sluice.conf)\n"
		"  -t       check the configuration and exit\n"
		"  -V       print the version and exit\n");
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
	    (err = loop_on_signal(sd->loop, SIGHUP, on_hup, sd))) {
		LOG(L_ERROR, "[core] signals: %s", strerror(-err));
		goto out_free_loop;
	}
	signal(SIGPIPE, SIG_IGN);

	err = dp_open(&sd->conf, &sd->dp);
	if (err) {
		LOG(L_ERROR, "[dp] cannot open the data path: %s", strerror(-err));
		goto out_free_loop;
	}
	LOG(L_INFO, "[core] sluiced %s running (data path: %s)", SLUICE_VERSION,
	    sd->dp->desc);

	err = loop_run(sd->loop);
	if (err)
		LOG(L_ERROR, "[core] event loop failed: %s", strerror(-err));

	dp_close(sd->dp, sd->keep_media);
	LOG(L_INFO, "[core] stopped");
out_free_loop:
	loop_free(sd->loop);
	return err;
}

int main(int argc, char **argv)
{
	static struct sluiced sd;
	const char *path = "conf/sluice.conf";
	bool check_only = false;
	char err[512];
	int opt;

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

	conf_defaults(&sd.conf);
	if (conf_load(&sd.conf, path, err, sizeof(err))) {
		fprintf(stderr, "sluiced: %s\n", err);
		return 1;
	}
	if (check_only) {
		printf("sluiced: %s: configuration OK\n", path);
		return 0;
	}
	if (log_init(sd.conf.log_target, (enum log_level)sd.conf.log_level)) {
		fprintf(stderr, "sluiced: bad log target %s\n", sd.conf.log_target);
		return 1;
	}
	return sluiced_run(&sd) ? 1 : 0;
}

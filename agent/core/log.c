// SPDX-License-Identifier: GPL-2.0-only
/*
 * Log output for sluiced and sluicectl: level filtering, a timestamp on
 * stderr, or syslog with the matching priority. libbpf's own messages are
 * routed through the same function so that they obey the same level and
 * land in the same place.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "core/log.h"

enum log_level log_level_cur = L_INFO;
static bool log_to_syslog;

static const char *const level_names[] = {
	[L_ERROR] = "error",
	[L_WARN] = "warn",
	[L_INFO] = "info",
	[L_DEBUG] = "debug",
};

static const int level_prio[] = {
	[L_ERROR] = LOG_ERR,
	[L_WARN] = LOG_WARNING,
	[L_INFO] = LOG_INFO,
	[L_DEBUG] = LOG_DEBUG,
};

static void log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	if (log_to_syslog) {
		vsyslog(level_prio[level], fmt, ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %-5s ", stamp, ts.tv_nsec / 1000000,
		level_names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_write(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
}

/* libbpf ends its lines with '\n'; ours are added by log_vwrite. */
static int log_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	enum log_level level = lvl == LIBBPF_WARN ? L_WARN :
			       lvl == LIBBPF_INFO ? L_DEBUG : L_DEBUG;
	char line[1024];
	size_t n;

	if (level > log_level_cur)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_write(level, "[bpf] %s", line);
	return 0;
}

int log_init(const char *target, enum log_level level)
{
	if (!strcmp(target, "syslog")) {
		openlog("sluiced", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_to_syslog = true;
	} else if (!strcmp(target, "stderr")) {
		log_to_syslog = false;
	} else {
		return -EINVAL;
	}
	log_level_cur = level;
	libbpf_set_print(log_libbpf);
	return 0;
}

void log_set_level(enum log_level level)
{
	log_level_cur = level;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcasecmp(name, level_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return level <= L_DEBUG ? level_names[level] : "?";
}

unsigned log_tally_take(struct log_tally *t, uint64_t now_ms)
{
	unsigned n = t->pending;

	if (n) {
		t->pending = 0;
		t->said_ms = now_ms;
	}
	return n;
}

unsigned log_tally_add(struct log_tally *t, unsigned n, uint64_t now_ms)
{
	t->pending += n;
	if (!n || now_ms - t->said_ms < 1000)
		return 0;
	return log_tally_take(t, now_ms);
}

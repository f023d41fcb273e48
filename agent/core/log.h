/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's one log module. LOG() checks the level before it evaluates
 * its arguments (as redis's serverLog does), so a debug line costs nothing
 * when debug is off. Lines go to stderr or syslog; every line starts with a
 * tag naming the module ("[sip] ", "[dp] ", ...) written by the caller.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdbool.h>

enum log_level {
	L_ERROR = 0,
	L_WARN,
	L_INFO,
	L_DEBUG,
};

extern enum log_level log_level_cur;

#define LOG(level, ...)							\
	do {								\
		if ((level) <= log_level_cur)				\
			log_write((level), __VA_ARGS__);		\
	} while (0)

void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* target: "stderr" or "syslog". Also routes libbpf's messages here. */
int log_init(const char *target, enum log_level level);
void log_set_level(enum log_level level);
/* Returns the level, or -EINVAL for a name that is not one. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

#endif /* SLUICE_LOG_H */

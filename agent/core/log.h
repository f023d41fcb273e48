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
#include <stdint.h>

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

/*
 * Something that happens in bursts (a batch many times a second), said in
 * one line a second at most with how often since the last: add each batch
 * with log_tally_add(), which returns the count to say when a second has
 * passed since the last line (and starts counting again), else 0; a
 * periodic caller says the rest with log_tally_take(). now_ms: any
 * millisecond clock, the same for one tally.
 */
struct log_tally {
	unsigned	pending;
	uint64_t	said_ms;
};

unsigned log_tally_add(struct log_tally *t, unsigned n, uint64_t now_ms);
unsigned log_tally_take(struct log_tally *t, uint64_t now_ms);

#endif /* SLUICE_LOG_H */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * MML command parsing (see parse.h for the grammar). A small hand-written
 * scanner: no library parses Huawei MML, and the grammar is one line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mml/parse.h"

struct scan {
	const char	*p;
	const char	*end;
	char		*err;
	size_t		errlen;
};

static int scan_fail(struct scan *s, const char *fmt, const char *what)
{
	snprintf(s->err, s->errlen, fmt, what);
	return -EINVAL;
}

static void skip_blanks(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
		s->p++;
}

static bool at(struct scan *s, char c)
{
	return s->p < s->end && *s->p == c;
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* A verb, object or key: letters, digits, '_' and '-', upper-cased. */
static int scan_word(struct scan *s, char *out, const char *what)
{
	size_t n = 0;

	skip_blanks(s);
	while (s->p < s->end && is_word_char(*s->p)) {
		if (n + 1 >= MML_MAX_WORD)
			return scan_fail(s, "%s is too long", what);
		out[n++] = (char)toupper((unsigned char)*s->p++);
	}
	out[n] = '\0';
	if (!n)
		return scan_fail(s, "%s expected", what);
	return 0;
}

/* "quoted" (with \" and \\) or a bare run up to ',', ';' or a blank. */
static int scan_value(struct scan *s, struct mml_param *pm)
{
	size_t n = 0;

	skip_blanks(s);
	pm->quoted = at(s, '"');
	if (pm->quoted) {
		s->p++;
		for (;;) {
			char c;

			if (s->p >= s->end)
				return scan_fail(s, "value of %s: missing closing quote", pm->key);
			c = *s->p++;
			if (c == '"')
				break;
			if (c == '\\' && s->p < s->end)
				c = *s->p++;
			if ((unsigned char)c < 0x20)
				return scan_fail(s, "value of %s: control character", pm->key);
			if (n + 1 >= MML_MAX_VALUE)
				return scan_fail(s, "value of %s is too long", pm->key);
			pm->value[n++] = c;
		}
	} else {
		while (s->p < s->end && *s->p != ',' && *s->p != ';' && *s->p != ' ' &&
		       *s->p != '\t') {
			if ((unsigned char)*s->p < 0x20 || *s->p == '"')
				return scan_fail(s, "value of %s: unexpected character", pm->key);
			if (n + 1 >= MML_MAX_VALUE)
				return scan_fail(s, "value of %s is too long", pm->key);
			pm->value[n++] = *s->p++;
		}
	}
	pm->value[n] = '\0';
	return 0;
}

static int scan_param(struct scan *s, struct mml_cmd *cmd)
{
	struct mml_param *pm;
	int err;

	if (cmd->nparams >= MML_MAX_PARAMS)
		return scan_fail(s, "more than %s parameters", "16");
	pm = &cmd->params[cmd->nparams];
	err = scan_word(s, pm->key, "parameter name");
	if (err)
		return err;
	if (mml_param(cmd, pm->key))
		return scan_fail(s, "parameter %s given twice", pm->key);
	skip_blanks(s);
	if (!at(s, '='))
		return scan_fail(s, "'=' expected after %s", pm->key);
	s->p++;
	err = scan_value(s, pm);
	if (err)
		return err;
	cmd->nparams++;
	return 0;
}

/* Parameters after ':' are separated by ','; in the old form by blanks. */
static int scan_params(struct scan *s, struct mml_cmd *cmd, bool commas)
{
	int err;

	for (;;) {
		skip_blanks(s);
		if (s->p >= s->end || at(s, ';'))
			return 0;
		err = scan_param(s, cmd);
		if (err)
			return err;
		skip_blanks(s);
		if (commas && at(s, ','))
			s->p++;
		else if (commas && s->p < s->end && !at(s, ';'))
			return scan_fail(s, "',' or ';' expected after %s",
					 cmd->params[cmd->nparams - 1].key);
	}
}

static bool has_equals_ahead(const struct scan *s)
{
	const char *q = s->p;

	while (q < s->end && (*q == ' ' || *q == '\t'))
		q++;
	while (q < s->end && is_word_char(*q))
		q++;
	while (q < s->end && (*q == ' ' || *q == '\t'))
		q++;
	return q < s->end && *q == '=';
}

int mml_parse(const char *text, size_t len, struct mml_cmd *cmd, char *err, size_t errlen)
{
	struct scan s = { .p = text, .end = text + len, .err = err, .errlen = errlen };
	int rc;

	memset(cmd, 0, sizeof(*cmd));
	if (len > MML_MAX_LINE)
		return scan_fail(&s, "command longer than %s bytes", "4096");
	while (s.end > s.p && (s.end[-1] == '\r' || s.end[-1] == '\n' || s.end[-1] == ' ' ||
			       s.end[-1] == '\t'))
		s.end--;
	if (memchr(s.p, '\0', (size_t)(s.end - s.p)))
		return scan_fail(&s, "%s byte in command", "NUL");

	rc = scan_word(&s, cmd->verb, "command");
	if (rc)
		return rc;
	skip_blanks(&s);
	/* "VERB OBJ" unless the next word is already a KEY=value (or ':'). */
	if (s.p < s.end && is_word_char(*s.p) && !has_equals_ahead(&s)) {
		rc = scan_word(&s, cmd->obj, "object");
		if (rc)
			return rc;
		skip_blanks(&s);
	}
	if (at(&s, ':')) {
		s.p++;
		rc = scan_params(&s, cmd, true);
	} else {
		rc = scan_params(&s, cmd, false);
	}
	if (rc)
		return rc;
	if (at(&s, ';'))
		s.p++;
	skip_blanks(&s);
	if (s.p != s.end)
		return scan_fail(&s, "unexpected text after %s", "';'");
	return 0;
}

const char *mml_param(const struct mml_cmd *cmd, const char *key)
{
	int i;

	for (i = 0; i < cmd->nparams; i++)
		if (!strcasecmp(cmd->params[i].key, key))
			return cmd->params[i].value;
	return NULL;
}

static bool is_secret(const char *key, const char *const *secret)
{
	for (; secret && *secret; secret++)
		if (!strcasecmp(key, *secret))
			return true;
	return false;
}

int mml_format(const struct mml_cmd *cmd, const char *const *secret, char *out, size_t outlen)
{
	size_t n;
	int i, w;

	w = snprintf(out, outlen, "%s%s%s:", cmd->verb, cmd->obj[0] ? " " : "", cmd->obj);
	if (w < 0 || (size_t)w >= outlen)
		return -ENOSPC;
	n = (size_t)w;
	for (i = 0; i < cmd->nparams; i++) {
		const struct mml_param *pm = &cmd->params[i];
		const char *v = is_secret(pm->key, secret) ? "***" : pm->value;

		w = snprintf(out + n, outlen - n, "%s %s=\"", i ? "," : "", pm->key);
		if (w < 0 || (size_t)w >= outlen - n)
			return -ENOSPC;
		n += (size_t)w;
		for (; *v; v++) {
			if (n + 3 > outlen)
				return -ENOSPC;
			if (*v == '"' || *v == '\\')
				out[n++] = '\\';
			out[n++] = *v;
		}
		if (n + 2 > outlen)
			return -ENOSPC;
		out[n++] = '"';
	}
	if (n + 2 > outlen)
		return -ENOSPC;
	out[n++] = ';';
	out[n] = '\0';
	return 0;
}

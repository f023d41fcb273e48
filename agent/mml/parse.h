/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The MML command parser. An operator types Huawei-style commands:
 *
 *	VERB OBJ: KEY=value, KEY="quoted value";
 *	LGI: OP="admin", PWD="secret";
 *	LGO;
 *
 * and the previous server's form is accepted too: `DSP USER USERNAME=1001`
 * (no colon, parameters separated by blanks, no terminating semicolon).
 * Verbs, objects and keys are case-insensitive and come out upper-case;
 * values keep their case. The parser reads bytes from the network, so it
 * bounds everything and says what was wrong in a message the reply carries.
 */
#ifndef SLUICE_MML_PARSE_H
#define SLUICE_MML_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#ifndef MML_MAX_PARAMS
#define MML_MAX_PARAMS	16
#endif
#define MML_MAX_WORD	32	/* verb, object, key */
#define MML_MAX_VALUE	256
#define MML_MAX_LINE	4096

struct mml_param {
	char	key[MML_MAX_WORD];
	char	value[MML_MAX_VALUE];
	bool	quoted;
};

struct mml_cmd {
	char			verb[MML_MAX_WORD];	/* "DSP" */
	char			obj[MML_MAX_WORD];	/* "USER", "" for LGO */
	struct mml_param	params[MML_MAX_PARAMS];
	int			nparams;
};

/*
 * Parses one command of len bytes (a trailing ';', CR or LF is allowed).
 * Returns 0, or -EINVAL with a reason in err ("value of PWD: missing
 * closing quote", ...).
 */
int mml_parse(const char *text, size_t len, struct mml_cmd *cmd, char *err, size_t errlen);

/* The value of key (upper-case), or NULL when the command lacks it. */
const char *mml_param(const struct mml_cmd *cmd, const char *key);

/*
 * Puts the command back in canonical form, `DSP USER: USERNAME="1001";`,
 * for the %%...%% line of the reply. Values of keys named in `secret`
 * (NULL-terminated, e.g. PWD) are written as "***".
 */
int mml_format(const struct mml_cmd *cmd, const char *const *secret, char *out, size_t outlen);

#endif /* SLUICE_MML_PARSE_H */

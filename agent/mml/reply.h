/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MML replies in the Huawei layout that operator scripts parse:
 *
 *	+++    SLUICE        2026-11-24 15:04:05
 *	O&M    #17
 *	%%DSP USER: USERNAME="1001";%%
 *	RETCODE = 0  Operation succeeded
 *
 *	Subscribers
 *	-----------
 *	 USERNAME  IMPU                STATUS
 *	 1001      sip:1001@ims.local  ACTIVE
 *	(Number of results = 1)
 *
 *	---    END
 *
 * An error reply has a non-zero RETCODE and its reason on the RETCODE line,
 * and no table. Lines end in CRLF, as telnet-era clients expect.
 *
 * A command writes its result through these functions only: a head
 * (RETCODE and reason), tables of cells, free lines and at most one blob
 * (EXP CDR's CSV). That sequence is the command's structured result, and
 * the reply renders it one of two ways: as the text above, or, opened with
 * mml_reply_init_json(), as a JSON document for the web API (reply_json.c):
 *
 *	{"retcode": 0, "reason": "Operation succeeded",
 *	 "tables": [{"title": "Subscribers", "rows": [{"username": "1001", ...}]}],
 *	 "text": [...]}
 *
 * so that MML and the API share each command's one implementation.
 */
#ifndef SLUICE_MML_REPLY_H
#define SLUICE_MML_REPLY_H

#include <stddef.h>
#include <time.h>

#define MML_RET_OK		0
#define MML_RET_SYNTAX		1	/* the command does not parse */
#define MML_RET_UNKNOWN		2	/* no such command */
#define MML_RET_PARAM		3	/* a parameter is missing or bad */
#define MML_RET_NOT_FOUND	4
#define MML_RET_EXISTS		5
#define MML_RET_DENIED		6	/* not logged in, or role too low */
#define MML_RET_INTERNAL	7	/* the store or the data path failed */
#define MML_RET_BUSY		8	/* the store's writer is behind ([store] queue): try again */

#ifndef MML_MAX_COLS
#define MML_MAX_COLS		24
#endif

struct mml_render;

struct mml_reply {
	char	*buf;
	size_t	len;
	size_t	cap;
	int	err;		/* -ENOMEM once an append failed */

	/* The table being built: cells are kept until mml_reply_table_end()
	 * knows every column's width. */
	const char *title;
	int	ncols;
	char	**cells;	/* ncols * nrows, owned */
	size_t	ncells;
	size_t	cells_cap;
	const char *types;	/* per column 's' (text) or 'n' (number), NULL: all text */

	/* Another rendering than text (reply_int.h), NULL for text; JSON's
	 * (reply_json.c) keeps its document in json. */
	const struct mml_render *render;
	void	*json;		/* json_t * */
	/* A blob the command produced (EXP CDR's CSV), kept for HTTP too. */
	char	*blob;
	size_t	blob_len;
};

void mml_reply_init(struct mml_reply *r);
/* Renders JSON instead of text; -ENOMEM. mml_reply_take_json() hands it over. */
int mml_reply_init_json(struct mml_reply *r);
void *mml_reply_take_json(struct mml_reply *r);	/* json_t *, the caller's */
void mml_reply_free(struct mml_reply *r);

/* The four head lines; reason NULL means "Operation succeeded". */
void mml_reply_head(struct mml_reply *r, const char *node, time_t when, unsigned seq,
		    const char *command, int retcode, const char *reason);
/* A table: begin with the column names, add rows, end to render. */
void mml_reply_table_begin(struct mml_reply *r, const char *title, int ncols,
			   const char *const *cols);
void mml_reply_row(struct mml_reply *r, const char *const *cells);
void mml_reply_table_end(struct mml_reply *r);
/*
 * After table_begin: which columns are numbers ("ssnn..."), so that JSON
 * gives them as numbers ("-" and "" as null). types must outlive the table.
 */
void mml_reply_table_types(struct mml_reply *r, const char *types);
/* A document of its own (CSV): in text, its lines as they are. */
void mml_reply_blob(struct mml_reply *r, const char *data, size_t len);
/* Free text lines (HELP), each ending in CRLF. */
void mml_reply_printf(struct mml_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mml_reply_end(struct mml_reply *r);

#endif /* SLUICE_MML_REPLY_H */

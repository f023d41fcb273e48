// SPDX-License-Identifier: GPL-2.0-only
/*
 * users.json into the subscribers table (see import.h).
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "store/import.h"
#include "store/subscriber.h"

/* A string member, "" when absent; NULL when present but not a string. */
static const char *member(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (!v || json_is_null(v))
		return "";
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int copy_text(char *dst, size_t size, const char *src, const char *field,
		     const char **why)
{
	if (!src || !subscriber_text_ok(src, size)) {
		*why = field;
		return -EINVAL;
	}
	strcpy(dst, src);
	return 0;
}

/*
 * The digest algorithms of an entry: "sha-256", "SHA-256, MD5"..., "" for
 * [sip] digest's; absent (or null), what the database holds, so importing
 * the previous server's file again keeps what the MML hardened.
 */
static int digest_member(json_t *o, const struct subscriber *existing, struct digest_algs *out,
			 const char **why)
{
	json_t *v = json_object_get(o, "digest");

	if (!v || json_is_null(v)) {
		if (existing)
			*out = existing->digest;
		else
			memset(out, 0, sizeof(*out));
		return 0;
	}
	if (!json_is_string(v) || subscriber_digest_parse(json_string_value(v), out)) {
		*why = "digest: SHA-256, MD5, both in the order offered, or \"\" for [sip] digest";
		return -EINVAL;
	}
	return 0;
}

/* One entry into s (existing: what the database holds for that user, or NULL). */
static int entry(const char *key, json_t *o, const char *realm,
		 const struct subscriber *existing, struct subscriber *s, const char **why)
{
	const char *user = member(o, "username"), *password = member(o, "password");
	const char *status = member(o, "status");
	enum sub_status st = SUB_ACTIVE;
	int err;

	if (!json_is_object(o)) {
		*why = "not an object";
		return -EINVAL;
	}
	if (!user || !*user)
		user = key;
	if (strcmp(user, key)) {
		*why = "username differs from its key";
		return -EINVAL;
	}
	if (!password) {
		*why = "password is not a string";
		return -EINVAL;
	}
	if (*password) {
		err = subscriber_init(s, user, realm, password, why);
		if (err)
			return err;
	} else if (existing) {
		*s = *existing;		/* no password given: the HA1s stay */
	} else {
		*why = "no password";
		return -EINVAL;
	}
	if (!status || (*status && subscriber_status_parse(status, &st))) {
		*why = "status: ACTIVE, INACTIVE or SUSPENDED";
		return -EINVAL;
	}
	s->status = st;
	if (copy_text(s->display_name, sizeof(s->display_name), member(o, "display_name"),
		      "display_name: text of at most 127 bytes", why) ||
	    copy_text(s->phone, sizeof(s->phone), member(o, "phone"),
		      "phone: text of at most 32 bytes", why) ||
	    copy_text(s->email, sizeof(s->email), member(o, "email"),
		      "email: text of at most 127 bytes", why) ||
	    copy_text(s->service_type, sizeof(s->service_type), member(o, "service_type"),
		      "service_type: text of at most 32 bytes", why) ||
	    copy_text(s->role, sizeof(s->role), member(o, "role"),
		      "role: text of at most 32 bytes", why))
		return -EINVAL;
	return digest_member(o, existing, &s->digest, why);
}

int users_import(struct store *st, const char *realm, const char *path,
		 struct import_report *r, FILE *errs)
{
	json_error_t jerr;
	json_t *root;
	int err;

	memset(r, 0, sizeof(*r));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fprintf(errs, "%s:%d: %s\n", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	err = users_import_doc(st, realm, root, path, r, errs);
	json_decref(root);
	return err;
}

int users_import_doc(struct store *st, const char *realm, json_t *root, const char *path,
		     struct import_report *r, FILE *errs)
{
	const char *key;
	json_t *o;
	int err;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(root)) {
		fprintf(errs, "%s: not a JSON object keyed by user name\n", path);
		return -EINVAL;
	}
	err = store_begin(st);
	if (err)
		return err;
	json_object_foreach(root, key, o) {
		struct subscriber s, old;
		const char *why = "invalid";
		enum sub_put how;
		bool exists;

		exists = !subscriber_get(st, key, &old);
		if (entry(key, o, realm, exists ? &old : NULL, &s, &why)) {
			fprintf(errs, "%s: user '%s' skipped: %s\n", path, key, why);
			r->skipped++;
			continue;
		}
		err = subscriber_put(st, &s, &how);
		if (err == -EEXIST || err == -EINVAL) {
			fprintf(errs, "%s: user '%s' skipped: %s\n", path, key,
				err == -EEXIST ? "its IMPU belongs to another user" : "invalid");
			r->skipped++;
			err = 0;
			continue;
		}
		if (err)
			break;
		if (how == SUB_PUT_ADDED)
			r->added++;
		else if (how == SUB_PUT_UPDATED)
			r->updated++;
		else
			r->unchanged++;
	}
	if (err) {
		store_rollback(st);
		memset(r, 0, sizeof(*r));
		return err;
	}
	return store_commit(st);
}

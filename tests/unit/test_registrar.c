// SPDX-License-Identifier: GPL-2.0-only
/*
 * The registrar over a real sqlite database: bindings added, refreshed,
 * removed one by one and all at once, expiry from the parameter and the
 * header, capped, refused below the minimum (423), CSeq order on one
 * Call-ID, the contact limit, NAT detection from the source address, the
 * index purged and rebuilt from the database after a restart.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <osipparser2/osip_parser.h>

#include "sip/registrar.h"

#include "fixtures.h"

struct fixture {
	struct tmp_db	db;
	struct store	st;
	struct registrar r;
	struct subscriber alice;
	struct sip_peer	from;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || tmp_db_make(&f->db, "reg", "db"))
		return -1;
	if (store_open(&f->st, f->db.path) ||
	    subscriber_init(&f->alice, "alice", "example.com", "pw", NULL) ||
	    subscriber_add(&f->st, &f->alice) ||
	    registrar_init(&f->r, &f->st, 60, 3600, 1800))
		return -1;
	f->from.proto = SIP_UDP;
	((struct sockaddr_in *)&f->from.addr)->sin_family = AF_INET;
	((struct sockaddr_in *)&f->from.addr)->sin_port = htons(5070);
	inet_pton(AF_INET, "192.0.2.10", &((struct sockaddr_in *)&f->from.addr)->sin_addr);
	f->from.len = sizeof(struct sockaddr_in);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	registrar_fini(&f->r);
	store_close(&f->st);
	if (tmp_db_remove(&f->db))
		return -1;
	free(f);
	return 0;
}

/* REGISTER with the given CSeq, extra headers (Contact, Expires) and Call-ID. */
static int do_register(struct fixture *f, const char *callid, int cseq, const char *headers,
		       int64_t now, struct reg_result *res)
{
	char text[2048];
	osip_message_t *m;
	int n;

	n = snprintf(text, sizeof(text),
		     "REGISTER sip:example.com SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK%d\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:alice@example.com>;tag=1\r\n"
		     "To: <sip:alice@example.com>\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %d REGISTER\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n", cseq, callid, cseq, headers);
	assert_int_equal(osip_message_init(&m), 0);
	assert_int_equal(osip_message_parse(m, text, (size_t)n), 0);
	registrar_register(&f->r, m, &f->from, &f->alice, now, res);
	osip_message_free(m);
	return res->code;
}

static int count_db(struct fixture *f)
{
	int n = -1;

	assert_int_equal(store_binding_count(&f->st, "sip:alice@example.com", 0, &n), 0);
	return n;
}

static const struct reg_binding *binding(const struct reg_aor *a, const char *contact)
{
	for (const struct reg_binding *rb = a ? a->bindings : NULL; rb; rb = rb->next)
		if (!strcmp(rb->b.contact, contact))
			return rb;
	return NULL;
}

static void test_add_refresh_remove(void **state)
{
	struct fixture *f = *state;
	const struct reg_binding *rb;
	struct reg_result res;

	assert_int_equal(do_register(f, "c1", 1, "Contact: <sip:alice@192.0.2.10:5070>\r\n", 1000,
				     &res), 200);
	assert_non_null(res.aor);
	assert_int_equal(res.aor->n, 1);
	rb = binding(res.aor, "sip:alice@192.0.2.10:5070");
	assert_non_null(rb);
	assert_int_equal(rb->b.expires, 1000 + 1800);		/* default_expires */
	assert_false(rb->b.nat);				/* came from where it says */
	assert_string_equal(rb->b.received_addr, "192.0.2.10");
	assert_int_equal(rb->b.received_port, 5070);
	assert_int_equal(count_db(f), 1);

	/* Refresh with the header's expiry, then the parameter's, capped. */
	assert_int_equal(do_register(f, "c1", 2,
				     "Contact: <sip:alice@192.0.2.10:5070>\r\nExpires: 300\r\n",
				     1010, &res), 200);
	assert_int_equal(res.aor->n, 1);
	assert_int_equal(binding(res.aor, "sip:alice@192.0.2.10:5070")->b.expires, 1310);
	assert_int_equal(do_register(f, "c1", 3,
				     "Contact: <sip:alice@192.0.2.10:5070>;expires=99999\r\n"
				     "Expires: 300\r\n", 1020, &res), 200);
	assert_int_equal(binding(res.aor, "sip:alice@192.0.2.10:5070")->b.expires, 1020 + 3600);

	/* A second contact, from another Call-ID, with a q-value. */
	assert_int_equal(do_register(f, "c2", 1,
				     "Contact: <sip:alice@10.0.0.7:5060>;q=0.5\r\n", 1030, &res),
			 200);
	assert_int_equal(res.aor->n, 2);
	rb = binding(res.aor, "sip:alice@10.0.0.7:5060");
	assert_int_equal(rb->b.q, 500);
	assert_true(rb->b.nat);				/* a private address it is not seen from */
	assert_int_equal(count_db(f), 2);

	/* Expires 0 on one removes that one only. */
	assert_int_equal(do_register(f, "c2", 2,
				     "Contact: <sip:alice@10.0.0.7:5060>\r\nExpires: 0\r\n", 1040,
				     &res), 200);
	assert_int_equal(res.aor->n, 1);
	assert_null(binding(res.aor, "sip:alice@10.0.0.7:5060"));
	assert_int_equal(count_db(f), 1);

	/* No Contact: a query, nothing changes. */
	assert_int_equal(do_register(f, "c3", 1, "", 1050, &res), 200);
	assert_int_equal(res.aor->n, 1);
}

static void test_star_and_errors(void **state)
{
	struct fixture *f = *state;
	struct reg_result res;

	assert_int_equal(do_register(f, "a", 1, "Contact: <sip:alice@192.0.2.10:5070>\r\n"
				     "Contact: <sip:alice@192.0.2.10:5071>\r\n", 1000, &res), 200);
	assert_int_equal(res.aor->n, 2);

	assert_int_equal(do_register(f, "a", 2, "Contact: <sip:alice@192.0.2.10:5070>\r\n"
				     "Expires: 30\r\n", 1000, &res), 423);
	assert_int_equal(do_register(f, "a", 3, "Contact: <sip:alice@192.0.2.10:5070>\r\n"
				     "Expires: soon\r\n", 1000, &res), 400);
	assert_int_equal(do_register(f, "a", 4, "Contact: <sip:alice@192.0.2.10:5070>;q=2\r\n",
				     1000, &res), 400);
	/* An older CSeq on the same Call-ID (RFC 3261 §10.3 step 7). */
	assert_int_equal(do_register(f, "a", 1, "Contact: <sip:alice@192.0.2.10:5070>\r\n",
				     1000, &res), 500);
	assert_int_equal(count_db(f), 2);

	assert_int_equal(do_register(f, "a", 5, "Contact: *\r\n", 1000, &res), 400);
	assert_int_equal(do_register(f, "a", 6, "Contact: *\r\nExpires: 10\r\n", 1000, &res),
			 400);
	assert_int_equal(do_register(f, "a", 7, "Contact: *\r\n"
				     "Contact: <sip:alice@192.0.2.10:5070>\r\nExpires: 0\r\n", 1000,
				     &res), 400);
	assert_int_equal(count_db(f), 2);
	assert_int_equal(do_register(f, "a", 8, "Contact: *\r\nExpires: 0\r\n", 1000, &res), 200);
	assert_int_equal(count_db(f), 0);
	assert_null(registrar_lookup(&f->r, "sip:alice@example.com", 1000));
}

static void test_contact_limit(void **state)
{
	struct fixture *f = *state;
	struct reg_result res;
	char hdr[128];
	int i;

	for (i = 0; i < REG_MAX_CONTACTS; i++) {
		snprintf(hdr, sizeof(hdr), "Contact: <sip:alice@192.0.2.10:%d>\r\n", 6000 + i);
		assert_int_equal(do_register(f, "lim", i + 1, hdr, 1000, &res), 200);
	}
	snprintf(hdr, sizeof(hdr), "Contact: <sip:alice@192.0.2.10:%d>\r\n", 7000);
	assert_int_equal(do_register(f, "lim", i + 1, hdr, 1000, &res), 403);
	assert_int_equal(count_db(f), REG_MAX_CONTACTS);
	/* A refresh of one already there is fine. */
	assert_int_equal(do_register(f, "lim", i + 2, "Contact: <sip:alice@192.0.2.10:6000>\r\n",
				     1000, &res), 200);
}

static void test_expiry_and_restart(void **state)
{
	struct fixture *f = *state;
	struct reg_result res;
	char contacts[4096];

	assert_int_equal(do_register(f, "e", 1, "Contact: <sip:alice@192.0.2.10:5070>\r\n"
				     "Expires: 60\r\n", 1000, &res), 200);
	assert_int_equal(do_register(f, "f", 1, "Contact: <sip:alice@192.0.2.10:5071>\r\n"
				     "Expires: 600\r\n", 1000, &res), 200);
	{
		osip_message_t *resp;
		char *text;
		size_t len;

		assert_int_equal(osip_message_init(&resp), 0);
		osip_message_set_version(resp, osip_strdup("SIP/2.0"));
		osip_message_set_status_code(resp, 200);
		osip_message_set_reason_phrase(resp, osip_strdup("OK"));
		assert_int_equal(registrar_contacts(res.aor, 1010, resp), 0);
		assert_int_equal(osip_message_to_str(resp, &text, &len), 0);
		snprintf(contacts, sizeof(contacts), "%s", text);
		osip_free(text);
		osip_message_free(resp);
	}
	assert_non_null(strstr(contacts, "<sip:alice@192.0.2.10:5070>;expires=50"));
	assert_non_null(strstr(contacts, "<sip:alice@192.0.2.10:5071>;expires=590"));

	/* After 60 s one is gone from lookups, and purged from both places. */
	assert_int_equal(registrar_lookup(&f->r, "sip:alice@example.com", 1060)->n, 2);
	assert_int_equal(registrar_purge(&f->r, 1060), 1);
	assert_int_equal(registrar_lookup(&f->r, "sip:alice@example.com", 1060)->n, 1);
	assert_int_equal(count_db(f), 1);

	/* A restart: the index is rebuilt from the database. */
	registrar_fini(&f->r);
	assert_int_equal(registrar_init(&f->r, &f->st, 60, 3600, 1800), 0);
	assert_int_equal(registrar_load(&f->r, 1070), 1);
	assert_non_null(binding(registrar_lookup(&f->r, "sip:alice@example.com", 1070),
				"sip:alice@192.0.2.10:5071"));
	assert_null(registrar_lookup(&f->r, "sip:alice@example.com", 1600));
	assert_int_equal(registrar_remove(&f->r, "sip:alice@example.com",
					  "sip:alice@192.0.2.10:5071"), 0);
	assert_int_equal(count_db(f), 0);
	assert_int_equal(registrar_remove(&f->r, "sip:alice@example.com",
					  "sip:alice@192.0.2.10:5071"), -ENOENT);
}

static void test_aor(void **state)
{
	char out[SUB_IMPU_MAX];
	osip_uri_t *u;

	(void)state;
	assert_int_equal(osip_uri_init(&u), 0);
	assert_int_equal(osip_uri_parse(u, "sip:1001@10.0.0.1:5060;transport=tcp"), 0);
	assert_int_equal(registrar_aor(u, "ims.local", out, sizeof(out)), 0);
	assert_string_equal(out, "sip:1001@ims.local");
	osip_uri_free(u);
	assert_int_equal(osip_uri_init(&u), 0);
	assert_int_equal(osip_uri_parse(u, "sip:ims.local"), 0);
	assert_int_equal(registrar_aor(u, "ims.local", out, sizeof(out)), -EINVAL);
	osip_uri_free(u);
	assert_int_equal(osip_uri_init(&u), 0);
	assert_int_equal(osip_uri_parse(u, "isbn:2983792873"), 0);
	assert_int_equal(registrar_aor(u, "ims.local", out, sizeof(out)), -EINVAL);
	osip_uri_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_refresh_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_star_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contact_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_restart, setup, teardown),
		cmocka_unit_test(test_aor),
	};

	parser_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluiced's configuration: an INI file ([section] and key = value lines,
 * '#' or ';' comments) read against a table of known keys. An unknown
 * section or key, or a value that does not parse, is an error that names
 * the file, the line and the key, so a typo never silently falls back to a
 * default.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#ifndef CONF_MAX_IFACES
#define CONF_MAX_IFACES 8
#endif
#define CONF_STR_MAX 256
#define CONF_MAX_KEYS 96

/* An address and port; family AF_UNSPEC when the key is empty / off. */
struct conf_addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

enum conf_datapath {
	CONF_DP_AUTO = 0,
	CONF_DP_XDP,
	CONF_DP_XDP_NATIVE,
	CONF_DP_XDP_GENERIC,
	CONF_DP_KMOD,
	CONF_DP_USER,
};

struct conf {
	char		path[CONF_STR_MAX];

	/* [sip] */
	struct conf_addr sip_listen;
	char		sip_domain[CONF_STR_MAX];
	uint32_t	sip_min_expires;	/* seconds: less gets 423 */
	uint32_t	sip_max_expires;	/* longer is shortened to this */
	uint32_t	sip_default_expires;	/* when a REGISTER names none */
	uint8_t		sip_digest[2];		/* enum digest_alg, in challenge order; */
						/* a subscriber's own list overrides it */
	int		sip_ndigest;
	uint32_t	sip_nonce_lifetime;	/* seconds: older nonces are stale */
	uint32_t	sip_keepalive;		/* seconds between NAT keepalives, 0: off */
	uint32_t	sip_ring_timeout;	/* seconds an INVITE may ring unanswered */
	bool		sip_keepalive_options;	/* OPTIONS rather than CRLF */
	uint16_t	sip_stun;		/* STUN Binding server port, 0: off */
	char		sip_blacklist[CONF_STR_MAX];	/* file, "": none */
	uint32_t	sip_auth_fail_limit;	/* failures per window before a block */
	uint32_t	sip_auth_fail_window;	/* seconds */
	uint32_t	sip_auth_block_time;	/* seconds */
	char		sip_scanners[CONF_STR_MAX];	/* User-Agent substrings dropped, "": none */
	uint32_t	sip_session_expires;	/* RFC 4028 interval asked for, 0: off */
	uint32_t	sip_min_se;		/* shortest interval accepted (else 422) */
	struct conf_addr sip_listen_tls;	/* AF_UNSPEC: no TLS */
	char		sip_tls_cert[CONF_STR_MAX];	/* PEM: certificate (and chain) */
	char		sip_tls_key[CONF_STR_MAX];	/* PEM: its private key */
	struct conf_addr sip_listen_ws;		/* SIP over WebSocket; AF_UNSPEC: off */
	struct conf_addr sip_listen_wss;	/* over secure WebSocket (tls_cert) */

	/* [media] */
	char		media_ifaces[CONF_MAX_IFACES][32];
	int		media_n_ifaces;
	char		media_address[384];	/* "auto" or a list of [NAME/]ADDRESS */
	uint16_t	media_port_min;
	uint16_t	media_port_max;
	enum conf_datapath media_datapath;
	uint32_t	media_timeout;		/* seconds */
	uint32_t	media_hold_timeout;	/* seconds */
	uint32_t	media_jitter_sampling;	/* the XDP program's jitter: 1 pair in N */
	char		media_pin_dir[CONF_STR_MAX];
	int		media_relatch;		/* enum media_relatch: off, ssrc, any */
	bool		media_keep_ice;		/* ice = keep: candidates pass through */
	int		media_srtp;		/* enum media_srtp_mode: off, offer, require */
	bool		media_keep_on_stop;	/* on_stop = keep: SIGTERM leaves calls up */
	bool		media_firewall;		/* accepts for SIP and media in table inet sluice */
	uint32_t	media_relay_batch_us;	/* userspace relay's wakeup batching, 0: off */

	/* [trunk]: the gateway numbers that are not subscribers go to */
	struct conf_addr trunk_address;		/* AF_UNSPEC: no trunk */
	uint8_t		trunk_transport;	/* 0 udp, 1 tcp, 2 tls (enum sip_proto) */
	char		trunk_username[128];
	char		trunk_password[128];
	char		trunk_domain[128];	/* host of its Request-URIs, "": the address */
	char		trunk_tls_ca[CONF_STR_MAX];	/* PEM: CAs its certificate is checked against */
	char		trunk_rewrite[CONF_STR_MAX];	/* "FROM=TO, ..." prefix rules */

	/* [store] */
	char		store_db[CONF_STR_MAX];
	uint32_t	store_queue;	/* changes waiting for the writer before new work gets 503 */
	char		store_local[CONF_STR_MAX];	/* the node's sqlite beside PostgreSQL */
	char		store_node[64];		/* this node's name in a shared store, "": hostname */
	char		store_node_address[64];	/* IP:port the other nodes send SIP to */

	/* [mml] */
	struct conf_addr mml_listen;
	char		mml_node[32];		/* the name on the +++ line */
	char		mml_admin_password[128];	/* first run only; "": random */

	/* [http]: the web console, JSON API and /metrics */
	struct conf_addr http_listen;
	char		http_tls_cert[CONF_STR_MAX];	/* PEM files; both set: HTTPS */
	char		http_tls_key[CONF_STR_MAX];
	char		http_root[CONF_STR_MAX];	/* the console's static files */
	char		http_token[128];		/* bearer token for scripts, "": none */
	char		testcall_prompts[CONF_STR_MAX];	/* the test calls' WAV prompts */
	uint32_t	testcall_rate;			/* test calls a minute, 0: no limit */
	uint32_t	http_session_timeout;		/* seconds a console session may idle */
	bool		http_trace;			/* the SIP tracker keeps messages */
	uint32_t	http_trace_size;		/* messages it keeps */

	/* [hep]: copies of the SIP messages to a Homer collector */
	struct conf_addr hep_collector;		/* AF_UNSPEC: off */
	uint32_t	hep_capture_id;

	/* [cdr] */
	unsigned	cdr_events;		/* CDR_EV_* bits: event rows written */
	char		cdr_export_dir[CONF_STR_MAX];	/* EXP CDR FILE= lands here */

	/* [control] */
	struct conf_addr ctl_ng;
	struct conf_addr ctl_rtpproxy;
	uint32_t	ctl_max_sessions;	/* calls per control protocol, 0: the ports */
	char		ctl_rtpproxy_unix[108];	/* unix socket path, "": off */

	/* [log] */
	int		log_level;		/* enum log_level */
	char		log_target[16];		/* stderr | syslog */

	/* Every key's value as last set (default or file), for DSP CFG. */
	char		raw[CONF_MAX_KEYS][CONF_STR_MAX];
};

void conf_defaults(struct conf *c);
/*
 * Reads path over the defaults. On error returns -EINVAL (or -errno when
 * the file cannot be read) and writes a message naming file, line and key
 * into err.
 */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* Parses "1.2.3.4:5060", "[::1]:5060", "5060" (any address) or "off". */
int conf_parse_addr(const char *s, struct conf_addr *out);
const char *conf_datapath_name(enum conf_datapath dp);

/* Each key in order, with its value as set (passwords shown as ***). */
typedef int (*conf_dump_fn)(const char *section, const char *key, const char *value, void *arg);
int conf_dump(const struct conf *c, conf_dump_fn fn, void *arg);
/* A value changed while running (SET LOG, SIGHUP), for conf_dump(). */
void conf_note(struct conf *c, const char *section, const char *key, const char *value);

#endif /* SLUICE_CONF_H */

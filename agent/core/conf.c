// SPDX-License-Identifier: GPL-2.0-only
/*
 * The INI reader for sluice.conf (see conf.h). Each known key is a row of
 * conf_keys[]: its section, its name, a parser and where the value goes.
 * Adding a key is adding a row; the parsers say what a good value looks
 * like, and that sentence is what the operator reads when theirs is not.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "core/log.h"

/*
 * A parser fills the field at dst (inside c), or returns -EINVAL and points
 * want at what a good value looks like.
 */
typedef int (*conf_parse_fn)(struct conf *c, const char *val, void *dst,
			     const char **want);

struct conf_key {
	const char	*section;
	const char	*key;
	const char	*def;
	conf_parse_fn	parse;
	size_t		offset;
	size_t		size;
};

static int parse_str(struct conf *c, const char *val, void *dst,
                     const char **want)
{
	(void)c;
	(void)want;
	/* size is checked by the caller, which knows the field. */
	strcpy(dst, val);
	return 0;
}

static int parse_u32(const char *val, uint32_t *out, uint32_t max,
		     const char **want)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || v > max || val[0] == '-') {
		*want = "a whole number";
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_seconds(struct conf *c, const char *val, void *dst,
                         const char **want)
{
	int err = parse_u32(val, dst, 86400 * 7, want);
	(void)c;

	if (err || *(uint32_t *)dst == 0) {
		*want = "a number of seconds from 1 to 604800";
		return -EINVAL;
	}
	return 0;
}

/* The userspace relay's wakeup batching: 0 (off) to 10 ms. */
static int parse_batch_us(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (parse_u32(val, dst, 10000, want)) {
		*want = "microseconds from 0 (off) to 10000";
		return -EINVAL;
	}
	return 0;
}

/* 0 ("off") or a number of seconds up to a day. */
static int parse_interval(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (!strcmp(val, "off")) {
		*(uint32_t *)dst = 0;
		return 0;
	}
	if (parse_u32(val, dst, 86400, want)) {
		*want = "off or a number of seconds from 0 to 86400";
		return -EINVAL;
	}
	return 0;
}

static int parse_limit(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (parse_u32(val, dst, 10000000, want)) {
		*want = "0 (no limit) or a number up to 10000000";
		return -EINVAL;
	}
	return 0;
}

/* [media] jitter_sampling: 1 (every packet) or a power of two up to 64. */
static int parse_jitter_sampling(struct conf *c, const char *val, void *dst, const char **want)
{
	uint32_t n;

	(void)c;
	if (parse_u32(val, &n, 64, want) || !n || (n & (n - 1))) {
		*want = "1 (every packet), 2, 4, 8, 16, 32 or 64";
		return -EINVAL;
	}
	*(uint32_t *)dst = n;
	return 0;
}

static int parse_count(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (parse_u32(val, dst, 1000000, want) || *(uint32_t *)dst == 0) {
		*want = "a number from 1 to 1000000";
		return -EINVAL;
	}
	return 0;
}

static int parse_keepalive_method(struct conf *c, const char *val, void *dst,
				  const char **want)
{
	(void)c;
	if (strcasecmp(val, "crlf") && strcasecmp(val, "options")) {
		*want = "crlf or options";
		return -EINVAL;
	}
	*(bool *)dst = !strcasecmp(val, "options");
	return 0;
}

static int parse_yes_no(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (strcasecmp(val, "yes") && strcasecmp(val, "no")) {
		*want = "yes or no";
		return -EINVAL;
	}
	*(bool *)dst = !strcasecmp(val, "yes");
	return 0;
}

static int parse_trace_size(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (parse_u32(val, dst, 100000, want) || *(uint32_t *)dst == 0) {
		*want = "a number of messages from 1 to 100000";
		return -EINVAL;
	}
	return 0;
}

static int parse_on_off(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (strcasecmp(val, "on") && strcasecmp(val, "off")) {
		*want = "on or off";
		return -EINVAL;
	}
	*(bool *)dst = !strcasecmp(val, "on");
	return 0;
}

static int parse_on_stop(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (strcasecmp(val, "bye") && strcasecmp(val, "keep")) {
		*want = "bye or keep";
		return -EINVAL;
	}
	*(bool *)dst = !strcasecmp(val, "keep");
	return 0;
}

/* "register, message": the requests that get a CDR event row; "" or none. */
static int parse_cdr_events(struct conf *c, const char *val, void *dst, const char **want)
{
	static const char *const names[] = { "register", "message", "options" };
	char buf[CONF_STR_MAX], *tok, *save = NULL;
	unsigned bits = 0;

	(void)c;
	snprintf(buf, sizeof(buf), "%s", val);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		size_t i;

		if (!strcasecmp(tok, "none"))
			continue;
		for (i = 0; i < 3 && strcasecmp(tok, names[i]); i++)
			;
		if (i == 3) {
			*want = "register, message, options (comma separated) or none";
			return -EINVAL;
		}
		bits |= 1u << i;
	}
	*(unsigned *)dst = bits;
	return 0;
}

static int parse_node(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (!val[0] || strlen(val) >= 32 || strpbrk(val, " \t\r\n")) {
		*want = "a name without blanks, at most 31 characters";
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

/*
 * "md5", "sha-256, md5": the digest algorithms challenged with, in that
 * order, where a subscriber has none of its own (and for unknown users).
 */
static int parse_digest(struct conf *c, const char *val, void *dst, const char **want)
{
	char buf[64], *tok, *save = NULL;
	int n = 0;

	(void)dst;
	*want = "sha-256, md5, or both in the order challenged";
	if (strlen(val) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, val);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		uint8_t alg;

		if (!strcasecmp(tok, "sha-256"))
			alg = 1;	/* DIGEST_SHA256 */
		else if (!strcasecmp(tok, "md5"))
			alg = 0;	/* DIGEST_MD5 */
		else
			return -EINVAL;
		if (n == 2 || (n == 1 && c->sip_digest[0] == alg))
			return -EINVAL;
		c->sip_digest[n++] = alg;
	}
	if (!n)
		return -EINVAL;
	c->sip_ndigest = n;
	return 0;
}

static int parse_port_off(struct conf *c, const char *val, void *dst, const char **want)
{
	uint32_t v;

	(void)c;
	if (!strcmp(val, "off")) {
		*(uint16_t *)dst = 0;
		return 0;
	}
	if (parse_u32(val, &v, 65535, want) || v == 0) {
		*want = "off or a port from 1 to 65535";
		return -EINVAL;
	}
	*(uint16_t *)dst = (uint16_t)v;
	return 0;
}

static int parse_addr(struct conf *c, const char *val, void *dst,
                      const char **want)
{
	(void)c;
	if (conf_parse_addr(val, dst)) {
		*want = "ADDRESS:PORT, [IPV6]:PORT, PORT or off";
		return -EINVAL;
	}
	return 0;
}

/* udp, tcp, tls: 0, 1, 2, as enum sip_proto counts them. */
static int parse_transport(struct conf *c, const char *val, void *dst, const char **want)
{
	static const char *const names[] = { "udp", "tcp", "tls" };

	(void)c;
	for (uint8_t i = 0; i < 3; i++) {
		if (!strcasecmp(val, names[i])) {
			*(uint8_t *)dst = i;
			return 0;
		}
	}
	*want = "udp, tcp or tls";
	return -EINVAL;
}

/* RFC 4028 intervals: off, or 10 s (tests; RFC 4028 itself says 90) to a day. */
static int parse_session_expires(struct conf *c, const char *val, void *dst, const char **want)
{
	if (parse_interval(c, val, dst, want) ||
	    (*(uint32_t *)dst && *(uint32_t *)dst < 10)) {
		*want = "off or a number of seconds from 10 to 86400";
		return -EINVAL;
	}
	return 0;
}

/* "0=+49, 00=+": prefix rewriting rules, checked for their shape. */
static int parse_rewrite(struct conf *c, const char *val, void *dst, const char **want)
{
	const char *p = val;

	*want = "FROM=TO prefix rules separated by commas (digits, + * #)";
	while (*p) {
		size_t from = 0, to = 0;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		while (p[from] && strchr("0123456789+*#", p[from]))
			from++;
		if (!from || p[from] != '=')
			return -EINVAL;
		p += from + 1;
		while (p[to] && strchr("0123456789+*#", p[to]))
			to++;
		p += to;
		if (*p && *p != ',' && *p != ' ')
			return -EINVAL;
	}
	return parse_str(c, val, dst, want);
}

static int parse_ports(struct conf *c, const char *val, void *dst,
                       const char **want)
{
	unsigned lo, hi;
	char extra;
	(void)dst;

	if (sscanf(val, "%u-%u%c", &lo, &hi, &extra) != 2 || lo < 1024 ||
	    hi > 65535 || lo >= hi || (lo % 2) || hi - lo < 3) {
		*want = "LOW-HIGH with an even LOW, 1024 <= LOW < HIGH <= 65535";
		return -EINVAL;
	}
	c->media_port_min = (uint16_t)lo;
	c->media_port_max = (uint16_t)hi;
	return 0;
}

static const char *const datapath_names[] = {
	[CONF_DP_AUTO] = "auto",
	[CONF_DP_XDP] = "xdp",
	[CONF_DP_XDP_NATIVE] = "xdp-native",
	[CONF_DP_XDP_GENERIC] = "xdp-generic",
	[CONF_DP_KMOD] = "kmod",
	[CONF_DP_USER] = "user",
};

const char *conf_datapath_name(enum conf_datapath dp)
{
	return dp <= CONF_DP_USER ? datapath_names[dp] : "?";
}

static int parse_datapath(struct conf *c, const char *val, void *dst,
                          const char **want)
{
	(void)c;
	for (size_t i = 0; i <= CONF_DP_USER; i++) {
		if (!strcasecmp(val, datapath_names[i])) {
			*(enum conf_datapath *)dst = (enum conf_datapath)i;
			return 0;
		}
	}
	*want = "auto, xdp, xdp-native, xdp-generic, kmod or user";
	return -EINVAL;
}

static int parse_relatch(struct conf *c, const char *val, void *dst,
			 const char **want)
{
	static const char *const names[] = { "off", "ssrc", "any" };
	int i;

	(void)c;
	for (i = 0; i < 3; i++) {
		if (!strcasecmp(val, names[i])) {
			*(int *)dst = i;
			return 0;
		}
	}
	*want = "off, ssrc or any";
	return -EINVAL;
}

static int parse_srtp(struct conf *c, const char *val, void *dst, const char **want)
{
	static const char *const names[] = { "off", "offer", "require" };

	(void)c;
	for (int i = 0; i < 3; i++) {
		if (!strcasecmp(val, names[i])) {
			*(int *)dst = i;
			return 0;
		}
	}
	*want = "off, offer or require";
	return -EINVAL;
}

static int parse_ice(struct conf *c, const char *val, void *dst, const char **want)
{
	(void)c;
	if (strcasecmp(val, "remove") && strcasecmp(val, "keep")) {
		*want = "remove or keep";
		return -EINVAL;
	}
	*(bool *)dst = !strcasecmp(val, "keep");
	return 0;
}

static int parse_ifaces(struct conf *c, const char *val, void *dst,
                        const char **want)
{
	char buf[CONF_STR_MAX];
	char *save = NULL, *tok;
	int n = 0;
	(void)dst;

	snprintf(buf, sizeof(buf), "%s", val);
	for (tok = strtok_r(buf, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (n == CONF_MAX_IFACES || strlen(tok) >= sizeof(c->media_ifaces[0])) {
			*want = "up to 8 interface names of at most 15 characters, comma separated";
			return -EINVAL;
		}
		strcpy(c->media_ifaces[n++], tok);
	}
	if (n == 0) {
		*want = "an interface name";
		return -EINVAL;
	}
	c->media_n_ifaces = n;
	return 0;
}

/*
 * auto, or a comma-separated list of ADDRESS or NAME/ADDRESS: logical
 * interfaces (NG's direction names them), each with at most one address of
 * each family; an address without a name belongs to "default".
 */
static int parse_media_address(struct conf *c, const char *val, void *dst,
                               const char **want)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char list[sizeof(c->media_address)], seen[8][40], *tok, *save = NULL;
	int n = 0;

	*want = "auto, or addresses separated by commas, each ADDRESS or NAME/ADDRESS, at most "
		"8 and one of each family per name";
	if (!strcmp(val, "auto")) {
		strcpy(dst, val);
		return 0;
	}
	if (strlen(val) >= sizeof(list))
		return -EINVAL;
	strcpy(list, val);
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *slash = strchr(tok, '/'), *addr = slash ? slash + 1 : tok;
		int family;

		if (inet_pton(AF_INET, addr, buf) == 1)
			family = 4;
		else if (inet_pton(AF_INET6, addr, buf) == 1)
			family = 6;
		else
			return -EINVAL;
		if (n == 8 || (slash && (slash == tok || slash - tok >= 32)))
			return -EINVAL;
		snprintf(seen[n], sizeof(seen[n]), "%d %.*s", family,
			 slash ? (int)(slash - tok) : 7, slash ? tok : "default");
		for (int i = 0; i < n; i++)
			if (!strcmp(seen[i], seen[n]))
				return -EINVAL;
		n++;
	}
	if (!n)
		return -EINVAL;
	strcpy(dst, val);
	return 0;
}

static int parse_log_level(struct conf *c, const char *val, void *dst,
                           const char **want)
{
	int level = log_level_parse(val);
	(void)c;

	if (level < 0) {
		*want = "error, warn, info or debug";
		return -EINVAL;
	}
	*(int *)dst = level;
	return 0;
}

static int parse_log_target(struct conf *c, const char *val, void *dst,
                            const char **want)
{
	(void)c;
	if (strcmp(val, "stderr") && strcmp(val, "syslog")) {
		*want = "stderr or syslog";
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

static int parse_path(struct conf *c, const char *val, void *dst,
                      const char **want)
{
	if (!val[0]) {
		*want = "a path";
		return -EINVAL;
	}
	return parse_str(c, val, dst, want);
}

/* A bearer token: empty (none), or 16 to 127 printable characters without blanks. */
static int parse_token(struct conf *c, const char *val, void *dst, const char **want)
{
	size_t n = strlen(val);

	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)val[i]))
			n = 0;
	if (val[0] && (n < 16 || n > 127)) {
		*want = "empty, or 16 to 127 printable characters without blanks";
		return -EINVAL;
	}
	return parse_str(c, val, dst, want);
}

/* Each key with its default, which conf_defaults() parses like a value read. */
#define KEY(sec, name, def, fn, field) \
	{ sec, name, def, fn, offsetof(struct conf, field), \
	  sizeof(((struct conf *)0)->field) }

static const struct conf_key conf_keys[] = {
	KEY("sip", "listen", "0.0.0.0:5060", parse_addr, sip_listen),
	KEY("sip", "domain", "ims.local", parse_path, sip_domain),
	KEY("sip", "min_expires", "60", parse_seconds, sip_min_expires),
	KEY("sip", "max_expires", "3600", parse_seconds, sip_max_expires),
	KEY("sip", "default_expires", "3600", parse_seconds, sip_default_expires),
	KEY("sip", "digest", "md5", parse_digest, sip_digest),
	KEY("sip", "nonce_lifetime", "300", parse_seconds, sip_nonce_lifetime),
	KEY("sip", "keepalive", "30", parse_interval, sip_keepalive),
	KEY("sip", "ring_timeout", "60", parse_seconds, sip_ring_timeout),
	KEY("sip", "keepalive_method", "crlf", parse_keepalive_method, sip_keepalive_options),
	KEY("sip", "stun", "off", parse_port_off, sip_stun),
	KEY("sip", "blacklist", "", parse_str, sip_blacklist),
	KEY("sip", "auth_fail_limit", "10", parse_count, sip_auth_fail_limit),
	KEY("sip", "auth_fail_window", "60", parse_seconds, sip_auth_fail_window),
	KEY("sip", "auth_block_time", "300", parse_seconds, sip_auth_block_time),
	KEY("sip", "scanners", "friendly-scanner, sipvicious, sipcli, sip-scan, VaxSIPUserAgent, iWar, sundayddr, SIPScan, pplsip", parse_str, sip_scanners),
	KEY("sip", "session_expires", "1800", parse_session_expires, sip_session_expires),
	KEY("sip", "min_se", "90", parse_session_expires, sip_min_se),
	KEY("sip", "listen_tls", "off", parse_addr, sip_listen_tls),
	KEY("sip", "tls_cert", "", parse_str, sip_tls_cert),
	KEY("sip", "tls_key", "", parse_str, sip_tls_key),
	KEY("sip", "listen_ws", "off", parse_addr, sip_listen_ws),
	KEY("sip", "listen_wss", "off", parse_addr, sip_listen_wss),
	KEY("trunk", "address", "off", parse_addr, trunk_address),
	KEY("trunk", "transport", "udp", parse_transport, trunk_transport),
	KEY("trunk", "username", "", parse_str, trunk_username),
	KEY("trunk", "password", "", parse_str, trunk_password),
	KEY("trunk", "domain", "", parse_str, trunk_domain),
	KEY("trunk", "tls_ca", "", parse_str, trunk_tls_ca),
	KEY("trunk", "rewrite", "", parse_rewrite, trunk_rewrite),
	KEY("media", "interface", "eth0", parse_ifaces, media_ifaces),
	KEY("media", "address", "auto", parse_media_address, media_address),
	KEY("media", "ports", "16384-32767", parse_ports, media_port_min),
	KEY("media", "datapath", "auto", parse_datapath, media_datapath),
	KEY("media", "timeout", "60", parse_seconds, media_timeout),
	KEY("media", "hold_timeout", "3600", parse_seconds, media_hold_timeout),
	KEY("media", "jitter_sampling", "8", parse_jitter_sampling, media_jitter_sampling),
	KEY("media", "bpf_pin_dir", "/sys/fs/bpf/sluice", parse_path, media_pin_dir),
	KEY("media", "relatch", "ssrc", parse_relatch, media_relatch),
	KEY("media", "ice", "remove", parse_ice, media_keep_ice),
	KEY("media", "srtp", "off", parse_srtp, media_srtp),
	KEY("media", "on_stop", "bye", parse_on_stop, media_keep_on_stop),
	KEY("media", "firewall", "no", parse_yes_no, media_firewall),
	KEY("media", "relay_batch_us", "1000", parse_batch_us, media_relay_batch_us),
	KEY("store", "db", "var/sluice.db", parse_path, store_db),
	KEY("store", "queue", "10000", parse_count, store_queue),
	KEY("store", "local", "var/sluice.db", parse_path, store_local),
	KEY("store", "node", "", parse_str, store_node),
	KEY("store", "node_address", "", parse_str, store_node_address),
	KEY("mml", "listen", "127.0.0.1:7777", parse_addr, mml_listen),
	KEY("mml", "node", "SLUICE", parse_node, mml_node),
	KEY("mml", "admin_password", "", parse_str, mml_admin_password),
	KEY("http", "listen", "127.0.0.1:8080", parse_addr, http_listen),
	KEY("http", "tls_cert", "", parse_str, http_tls_cert),
	KEY("http", "tls_key", "", parse_str, http_tls_key),
	KEY("http", "root", "web", parse_path, http_root),
	KEY("http", "token", "", parse_token, http_token),
	KEY("http", "session_timeout", "1800", parse_seconds, http_session_timeout),
	KEY("http", "trace", "on", parse_on_off, http_trace),
	KEY("http", "trace_size", "4000", parse_trace_size, http_trace_size),
	KEY("testcall", "prompts", "share/prompts", parse_path, testcall_prompts),
	KEY("testcall", "rate", "6", parse_limit, testcall_rate),
	KEY("hep", "collector", "off", parse_addr, hep_collector),
	KEY("hep", "capture_id", "2001", parse_limit, hep_capture_id),
	KEY("cdr", "events", "register, message", parse_cdr_events, cdr_events),
	KEY("cdr", "export_dir", "var/export", parse_path, cdr_export_dir),
	KEY("control", "ng", "127.0.0.1:2223", parse_addr, ctl_ng),
	KEY("control", "rtpproxy", "127.0.0.1:7722", parse_addr, ctl_rtpproxy),
	KEY("control", "rtpproxy_unix", "", parse_str, ctl_rtpproxy_unix),
	KEY("control", "max_sessions", "0", parse_limit, ctl_max_sessions),
	KEY("log", "level", "info", parse_log_level, log_level),
	KEY("log", "target", "stderr", parse_log_target, log_target),
};

int conf_parse_addr(const char *s, struct conf_addr *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	char host[64];
	const char *port_s;
	unsigned port;
	char *end;

	memset(out, 0, sizeof(*out));
	if (!strcmp(s, "off"))
		return 0;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port_s = close + 2;
	} else if (strchr(s, ':')) {
		const char *colon = strrchr(s, ':');

		if ((size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port_s = colon + 1;
	} else {
		strcpy(host, "0.0.0.0");
		port_s = s;
	}
	errno = 0;
	port = (unsigned)strtoul(port_s, &end, 10);
	if (errno || end == port_s || *end || port == 0 || port > 65535)
		return -EINVAL;

	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*sin6);
	} else {
		return -EINVAL;
	}
	return 0;
}

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))
_Static_assert(NKEYS <= CONF_MAX_KEYS, "raise CONF_MAX_KEYS");

static int conf_set(struct conf *c, const char *sec, const char *key,
		    const char *val, const char **why, const char **want);

void conf_defaults(struct conf *c)
{
	const char *why, *want;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		if (conf_set(c, conf_keys[i].section, conf_keys[i].key, conf_keys[i].def, &why,
			     &want))
			abort();	/* a default that does not parse: a bug here */
}

void conf_note(struct conf *c, const char *section, const char *key, const char *value)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(conf_keys[i].section, section) && !strcmp(conf_keys[i].key, key))
			snprintf(c->raw[i], sizeof(c->raw[i]), "%s", value);
}

/* Keys whose values DSP CFG does not show. */
static bool secret_key(const char *key)
{
	return strstr(key, "password") != NULL || !strcmp(key, "token");
}

int conf_dump(const struct conf *c, conf_dump_fn fn, void *arg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *v = secret_key(conf_keys[i].key) && c->raw[i][0] ? "***" : c->raw[i];
		int rc = fn(conf_keys[i].section, conf_keys[i].key, v, arg);

		if (rc)
			return rc;
	}
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static bool section_known(const char *sec)
{
	for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++)
		if (!strcmp(conf_keys[i].section, sec))
			return true;
	return false;
}

static int conf_set(struct conf *c, const char *sec, const char *key,
		    const char *val, const char **why, const char **want)
{
	for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++) {
		const struct conf_key *k = &conf_keys[i];

		if (strcmp(k->section, sec) || strcasecmp(k->key, key))
			continue;
		if (k->parse == parse_str || k->parse == parse_path ||
		    k->parse == parse_media_address || k->parse == parse_log_target ||
		    k->parse == parse_rewrite) {
			if (strlen(val) >= k->size) {
				*why = "value too long";
				return -EINVAL;
			}
		}
		*why = "bad value";
		if (k->parse(c, val, (char *)c + k->offset, want))
			return -EINVAL;
		snprintf(c->raw[i], sizeof(c->raw[i]), "%s", val);
		return 0;
	}
	*why = "unknown key";
	return -EINVAL;
}

/* Strips an unquoted trailing comment ("# ..." or "; ..."), and quotes. */
static char *conf_value(char *v)
{
	char *p;

	v = trim(v);
	if (v[0] == '"') {
		p = strchr(v + 1, '"');
		if (p) {
			*p = '\0';
			return v + 1;
		}
	}
	for (p = v; *p; p++) {
		if ((*p == '#' || *p == ';') && (p == v || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	}
	return trim(v);
}

int conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	char line[1024], sec[32] = "";
	const char *why, *want;
	unsigned lineno = 0;
	FILE *f;
	int ret = 0;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq, *key, *val;

		lineno++;
		if (!s[0] || s[0] == '#' || s[0] == ';')
			continue;
		if (s[0] == '[') {
			char *close = strchr(s, ']');

			if (!close || close - s - 1 >= (long)sizeof(sec)) {
				snprintf(err, errlen, "%s:%u: malformed section header",
					 path, lineno);
				ret = -EINVAL;
				break;
			}
			*close = '\0';
			snprintf(sec, sizeof(sec), "%s", trim(s + 1));
			if (!section_known(sec)) {
				snprintf(err, errlen, "%s:%u: unknown section [%s]",
					 path, lineno, sec);
				ret = -EINVAL;
				break;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq || !sec[0]) {
			snprintf(err, errlen, "%s:%u: expected 'key = value' %s",
				 path, lineno, sec[0] ? "" : "inside a [section]");
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(s);
		val = conf_value(eq + 1);
		want = "";
		if (conf_set(c, sec, key, val, &why, &want)) {
			snprintf(err, errlen, "%s:%u: [%s] %s: %s '%s'%s%s", path,
				 lineno, sec, key, why, val, want[0] ? ", expected " : "",
				 want);
			ret = -EINVAL;
			break;
		}
	}
	fclose(f);
	return ret;
}

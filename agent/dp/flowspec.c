// SPDX-License-Identifier: GPL-2.0-only
/*
 * Parsing and printing flows in sluicectl's grammar (see flowspec.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp/flowspec.h"

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

int dp_parse_endpoint(const char *s, __u8 addr[16], __u16 *port, __u8 *family)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long p;
	size_t hlen;

	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s - 1);
		s++;
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (parse_uint(colon + 1, 1, 65535, &p))
		return -EINVAL;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, host, addr) == 1)
		*family = SLUICE_FAMILY_IPV4;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		*family = SLUICE_FAMILY_IPV6;
	else
		return -EINVAL;
	*port = (__u16)p;
	return 0;
}

void dp_format_endpoint(const __u8 addr[16], __u16 port, __u8 family, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (family == SLUICE_FAMILY_IPV6) {
		inet_ntop(AF_INET6, addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, port);
	}
}

static int flow_fail(char *err, size_t errlen, const char *what, const char *word)
{
	snprintf(err, errlen, "%s%s%s%s", what, word ? " '" : "", word ? word : "",
		 word ? "'" : "");
	return -EINVAL;
}

/* Reads "KEYWORD ENDPOINT" at argv[*i], for from / via / to. */
static int take_endpoint(int argc, char *const *argv, int *i, const char *kw, __u8 addr[16],
			 __u16 *port, __u8 *family, char *err, size_t errlen)
{
	if (*i + 1 >= argc || strcmp(argv[*i], kw)) {
		snprintf(err, errlen, "'%s ADDRESS:PORT' expected", kw);
		return -EINVAL;
	}
	if (dp_parse_endpoint(argv[*i + 1], addr, port, family))
		return flow_fail(err, errlen, "bad endpoint (ADDRESS:PORT or [IPV6]:PORT)",
				 argv[*i + 1]);
	*i += 2;
	return 0;
}

static int take_options(int argc, char *const *argv, int i, struct sluice_flow_action *act,
			char *err, size_t errlen)
{
	unsigned long v;

	for (; i < argc; i++) {
		const char *w = argv[i];

		if (!strcmp(w, "rtp")) {
			act->flags |= SLUICE_F_RTP;
		} else if (!strcmp(w, "rtcp")) {
			act->flags |= SLUICE_F_RTCP;
		} else if (!strcmp(w, "demux")) {
			act->flags |= SLUICE_F_DEMUX;
		} else if (!strcmp(w, "clock") || !strcmp(w, "dscp") || !strcmp(w, "stream")) {
			unsigned long max = !strcmp(w, "dscp") ? 63 : 0xffffffffUL;

			if (i + 1 >= argc || parse_uint(argv[i + 1], 0, max, &v))
				return flow_fail(err, errlen, "bad or missing number after", w);
			if (w[0] == 'c') {
				act->clock_rate = (__u32)v;
			} else if (w[0] == 'd') {
				act->flags |= SLUICE_F_DSCP;
				act->dscp = (__u8)v;
			} else {
				act->stream_id = (__u32)v;
			}
			i++;
		} else {
			return flow_fail(err, errlen, "unknown flow option", w);
		}
	}
	if ((act->flags & SLUICE_F_RTP) && (act->flags & SLUICE_F_RTCP))
		return flow_fail(err, errlen, "a flow is rtp or rtcp, not both", NULL);
	return 0;
}

int dp_parse_flow_key(int argc, char *const *argv, struct sluice_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	if (argc < 1 || dp_parse_endpoint(argv[0], key->addr, &key->port, &key->family))
		return -EINVAL;
	if (argc < 2 || strcmp(argv[1], "rtcp-mux"))
		return 1;
	key->comp = SLUICE_KEY_MUXED_RTCP;
	return 2;
}

int dp_parse_flow(int argc, char *const *argv, struct sluice_flow_key *key,
		  struct sluice_flow_action *act, char *err, size_t errlen)
{
	__u8 fam_src = 0, fam_relay, fam_dst;
	int i, rc;

	memset(act, 0, sizeof(*act));
	i = dp_parse_flow_key(argc, argv, key);
	if (i < 0)
		return flow_fail(err, errlen, "bad local endpoint", argc ? argv[0] : NULL);
	if (i + 1 < argc && !strcmp(argv[i], "from") && !strcmp(argv[i + 1], "any")) {
		i += 2;
	} else {
		rc = take_endpoint(argc, argv, &i, "from", act->expect_src_addr,
				   &act->expect_src_port, &fam_src, err, errlen);
		if (rc)
			return rc;
		act->flags |= SLUICE_F_STRICT_SRC;
	}
	rc = take_endpoint(argc, argv, &i, "via", act->new_src_addr, &act->new_src_port,
			   &fam_relay, err, errlen);
	if (!rc)
		rc = take_endpoint(argc, argv, &i, "to", act->new_dst_addr, &act->new_dst_port,
				   &fam_dst, err, errlen);
	if (rc)
		return rc;
	if ((fam_src && fam_src != key->family) || fam_relay != key->family ||
	    fam_dst != key->family)
		return flow_fail(err, errlen, "all endpoints of a flow must be one family", NULL);
	act->family = key->family;
	return take_options(argc, argv, i, act, err, errlen);
}

void dp_format_flow(const struct sluice_flow_key *key, const struct sluice_flow_action *act,
		    char *out, size_t len)
{
	char local[64], peer[64] = "any", relay[64], dst[64];
	size_t n;

	dp_format_endpoint(key->addr, key->port, key->family, local, sizeof(local));
	if (act->flags & SLUICE_F_STRICT_SRC)
		dp_format_endpoint(act->expect_src_addr, act->expect_src_port, act->family, peer,
				   sizeof(peer));
	dp_format_endpoint(act->new_src_addr, act->new_src_port, act->family, relay,
			   sizeof(relay));
	dp_format_endpoint(act->new_dst_addr, act->new_dst_port, act->family, dst, sizeof(dst));
	n = (size_t)snprintf(out, len, "%s%s from %s via %s to %s", local,
			     key->comp == SLUICE_KEY_MUXED_RTCP ? " rtcp-mux" : "", peer, relay, dst);
	if (n < len && (act->flags & (SLUICE_F_RTP | SLUICE_F_RTCP)))
		n += (size_t)snprintf(out + n, len - n, " %s",
				      act->flags & SLUICE_F_RTP ? "rtp" : "rtcp");
	if (n < len && (act->flags & SLUICE_F_DEMUX))
		n += (size_t)snprintf(out + n, len - n, " demux");
	if (n < len && act->clock_rate)
		n += (size_t)snprintf(out + n, len - n, " clock %u", act->clock_rate);
	if (n < len && (act->flags & SLUICE_F_DSCP))
		n += (size_t)snprintf(out + n, len - n, " dscp %u", act->dscp);
	if (n < len && act->stream_id)
		snprintf(out + n, len - n, " stream %u", act->stream_id);
}

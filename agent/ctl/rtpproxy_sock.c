// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rtpproxy protocol's sockets (see rtpproxy.h). UDP: one command per
 * datagram, the reply to its sender. Unix: a stream socket, as rtpproxy's
 * "unix:" control socket is; Kamailio's module connects, writes one
 * command (no cookie, often no newline), reads the reply and closes, so a
 * read is a command, as rtpproxy takes it, and newlines within one split
 * several.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "ctl/rtpproxy.h"

#define RTPP_MAX_DGRAM	8192

struct rtpp_conn {
	struct rtpp_conn	*next;
	struct rtpproxy		*rp;
	int			fd;
};

static void on_udp(struct loop *loop, int fd, uint32_t events, void *arg)
{
	static char buf[RTPP_MAX_DGRAM];
	struct rtpproxy *rp = arg;

	(void)loop;
	(void)events;
	for (;;) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &flen);
		char *reply;
		size_t rlen;

		if (n < 0)
			return;
		rtpproxy_handle(rp, buf, (size_t)n, &reply, &rlen);
		if (rlen)
			sendto(fd, reply, rlen, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
		free(reply);
	}
}

static void conn_close(struct rtpproxy *rp, struct rtpp_conn *c)
{
	struct rtpp_conn **pp;

	for (pp = &rp->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	loop_del_fd(rp->loop, c->fd);
	close(c->fd);
	rp->nconns--;
	free(c);
}

/* Each line of what one read brought is a command; its answer goes back at once. */
static void on_conn(struct loop *loop, int fd, uint32_t events, void *arg)
{
	static char buf[RTPP_MAX_DGRAM];
	struct rtpp_conn *c = arg;
	char *line, *end;
	ssize_t n;

	(void)loop;
	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_close(c->rp, c);
		return;
	}
	for (line = buf; line < buf + n; line = end + 1) {
		char *reply;
		size_t rlen;

		end = memchr(line, '\n', (size_t)(buf + n - line));
		if (!end)
			end = buf + n;
		if (end == line)
			continue;
		rtpproxy_handle_stream(c->rp, line, (size_t)(end - line), &reply, &rlen);
		/* A reply is small; a client that does not read it loses it. */
		if (rlen && write(fd, reply, rlen) < 0)
			LOG(L_DEBUG, "[ctl] rtpproxy: unix client: %s", strerror(errno));
		free(reply);
	}
}

static void on_accept(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct rtpproxy *rp = arg;
	struct rtpp_conn *c;
	int cfd;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (rp->nconns >= RTPP_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		c->rp = rp;
		c->fd = cfd;
		if (loop_add_fd(loop, cfd, EPOLLIN, on_conn, c)) {
			close(cfd);
			free(c);
			continue;
		}
		c->next = rp->conns;
		rp->conns = c;
		rp->nconns++;
	}
}

static int open_udp(struct rtpproxy *rp, const struct sockaddr *addr, socklen_t addrlen)
{
	int err;

	rp->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rp->fd < 0)
		return -errno;
	if (bind(rp->fd, addr, addrlen)) {
		err = -errno;
		goto out_close;
	}
	err = loop_add_fd(rp->loop, rp->fd, EPOLLIN, on_udp, rp);
	if (!err)
		return 0;
out_close:
	close(rp->fd);
	rp->fd = -1;
	return err;
}

/* A socket file left by a previous sluiced is replaced, as rtpproxy does. */
static int open_unix(struct rtpproxy *rp, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	rp->ufd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rp->ufd < 0)
		return -errno;
	unlink(path);
	if (bind(rp->ufd, (struct sockaddr *)&sun, sizeof(sun)) || listen(rp->ufd, 16)) {
		err = -errno;
		goto out_close;
	}
	snprintf(rp->upath, sizeof(rp->upath), "%s", path);
	err = loop_add_fd(rp->loop, rp->ufd, EPOLLIN, on_accept, rp);
	if (!err)
		return 0;
	unlink(path);
	rp->upath[0] = '\0';
out_close:
	close(rp->ufd);
	rp->ufd = -1;
	return err;
}

int rtpproxy_open(struct rtpproxy *rp, struct loop *loop, struct media_ctx *media,
		  const struct sockaddr *addr, socklen_t addrlen, const char *unix_path)
{
	int err;

	memset(rp, 0, sizeof(*rp));
	rp->loop = loop;
	rp->media = media;
	rp->fd = -1;
	rp->ufd = -1;
	if (addr && addr->sa_family != AF_UNSPEC) {
		err = open_udp(rp, addr, addrlen);
		if (err)
			return err;
	}
	if (unix_path && unix_path[0]) {
		err = open_unix(rp, unix_path);
		if (err) {
			rtpproxy_close(rp);
			return err;
		}
	}
	return 0;
}

void rtpproxy_close(struct rtpproxy *rp)
{
	rtpproxy_reset(rp);
	while (rp->conns)
		conn_close(rp, rp->conns);
	if (rp->fd >= 0) {
		loop_del_fd(rp->loop, rp->fd);
		close(rp->fd);
		rp->fd = -1;
	}
	if (rp->ufd >= 0) {
		loop_del_fd(rp->loop, rp->ufd);
		close(rp->ufd);
		rp->ufd = -1;
		unlink(rp->upath);
	}
}

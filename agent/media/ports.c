// SPDX-License-Identifier: GPL-2.0-only
/*
 * The media port allocator (see ports.h): two rings of free pair indexes,
 * warm and cold, so that allocation and release are O(1), freed pairs rest
 * before reuse and those that kept their sockets are reused first.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "core/log.h"
#include "core/loop.h"
#include "media/ports.h"

static uint32_t queue_at(const struct media_ports *mp, const struct media_pair_queue *q,
			 uint32_t k)
{
	return q->slot[(q->head + k) % mp->npairs];
}

static void queue_push(struct media_ports *mp, struct media_pair_queue *q, uint32_t i)
{
	q->slot[(q->head + q->n) % mp->npairs] = i;
	q->n++;
}

static uint32_t queue_pop(struct media_ports *mp, struct media_pair_queue *q)
{
	uint32_t i = q->slot[q->head];

	q->head = (q->head + 1) % mp->npairs;
	q->n--;
	return i;
}

/* The coarse clock is enough for a rest of a second, and costs no system call. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int media_ports_init(struct media_ports *mp, const struct sockaddr *addr, socklen_t addrlen,
		     uint16_t min, uint16_t max)
{
	struct rlimit rl;
	uint32_t i;

	memset(mp, 0, sizeof(*mp));
	if (min & 1)
		min++;
	if (!min || max <= min || addrlen > sizeof(mp->addr) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return -EINVAL;
	memcpy(&mp->addr, addr, addrlen);
	mp->addrlen = addrlen;
	mp->min = min;
	mp->npairs = ((uint32_t)max - min + 1) / 2;
	mp->pairs = calloc(mp->npairs, sizeof(*mp->pairs));
	mp->cold.slot = calloc(mp->npairs, sizeof(*mp->cold.slot));
	mp->warm.slot = calloc(mp->npairs, sizeof(*mp->warm.slot));
	if (!mp->pairs || !mp->cold.slot || !mp->warm.slot) {
		media_ports_fini(mp);
		return -ENOMEM;
	}
	for (i = 0; i < mp->npairs; i++) {
		mp->pairs[i].rtp_fd = mp->pairs[i].rtcp_fd = -1;
		mp->cold.slot[i] = i;
	}
	mp->cold.n = mp->npairs;
	mp->rest_ms = MEDIA_PORT_REST_MS;
	mp->own_idle.cap = getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ?
			   4096 : (uint32_t)(rl.rlim_cur / 8);
	mp->idle = &mp->own_idle;
	return 0;
}

void media_ports_share_idle(struct media_ports *mp, struct media_ports *with)
{
	mp->idle = with->idle;
}

static void close_fd(struct media_ports *mp, int fd)
{
	if (fd < 0)
		return;
	if (mp->loop)
		loop_forget_fd(mp->loop, fd);
	close(fd);
}

void media_ports_fini(struct media_ports *mp)
{
	uint32_t i;

	for (i = 0; mp->pairs && i < mp->npairs; i++) {
		close_fd(mp, mp->pairs[i].rtp_fd);
		close_fd(mp, mp->pairs[i].rtcp_fd);
	}
	free(mp->pairs);
	free(mp->cold.slot);
	free(mp->warm.slot);
	memset(mp, 0, sizeof(*mp));
}

/*
 * Media takes every descriptor it can and gives back on EMFILE, but the
 * rest of sluiced needs a few now and then (SIP's route lookups and TCP
 * connections, the store's writer, getifaddrs): media stops this short of
 * the limit, so that those never find the table full.
 */
static bool above_headroom(struct media_ports *mp, int fd)
{
	struct rlimit rl;

	/* The limit as last read: asked again only when fd comes near it. */
	if (mp->fd_limit && (rlim_t)fd + MEDIA_FD_HEADROOM < mp->fd_limit)
		return false;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return false;
	mp->fd_limit = rl.rlim_cur;
	return rl.rlim_cur != RLIM_INFINITY && (rlim_t)fd + MEDIA_FD_HEADROOM >= rl.rlim_cur;
}

static int bind_port(struct media_ports *mp, uint16_t port)
{
	struct sockaddr_storage ss = mp->addr;
	int fd, err;

	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (above_headroom(mp, fd)) {
		close(fd);
		return -EMFILE;
	}
	/*
	 * An IPv6 socket holds its IPv6 port only: with an IPv4 plane beside
	 * it on the same range, a wildcard or v4-mapped bind would take the
	 * IPv4 port too and the two families would skip each other's pairs.
	 */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, sizeof(int)))
		goto out_close;
	if (bind(fd, (struct sockaddr *)&ss, mp->addrlen))
		goto out_close;
	return fd;

out_close:
	err = -errno;
	close(fd);
	return err;
}

static void drain(int fd)
{
	char buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

/* A free pair's socket, watched: what arrives for no call is dropped. */
static void on_idle_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	(void)arg;
	drain(fd);
}

/* A new socket is watched from the start (see ports.h); -errno closes it. */
static int watch(struct media_ports *mp, int fd)
{
	int err;

	if (!mp->loop)
		return 0;
	err = loop_add_fd(mp->loop, fd, EPOLLIN, on_idle_readable, NULL);
	if (err)
		close(fd);
	return err;
}

void media_ports_set_loop(struct media_ports *mp, struct loop *loop)
{
	mp->loop = loop;
}

/*
 * Binds both ports of pair i, or takes back the sockets it kept (without
 * what arrived while it was free); a port someone else holds fails the pair.
 */
static int bind_pair(struct media_ports *mp, uint32_t i)
{
	uint16_t rtp = (uint16_t)(mp->min + 2 * i);
	int rtp_fd, rtcp_fd, err;

	if (mp->pairs[i].rtp_fd >= 0) {
		/* Watched, the loop drained them as datagrams came (ports.h). */
		if (!mp->loop) {
			drain(mp->pairs[i].rtp_fd);
			drain(mp->pairs[i].rtcp_fd);
		}
		if (!mp->pairs[i].in_use)
			mp->idle->open--;
		mp->pairs[i].in_use = true;
		return 0;
	}

	rtp_fd = bind_port(mp, rtp);
	if (rtp_fd < 0)
		return rtp_fd;
	err = watch(mp, rtp_fd);
	if (err)
		return err;
	rtcp_fd = bind_port(mp, (uint16_t)(rtp + 1));
	if (rtcp_fd >= 0)
		err = watch(mp, rtcp_fd);
	if (rtcp_fd < 0 || err) {
		close_fd(mp, rtp_fd);
		return rtcp_fd < 0 ? rtcp_fd : err;
	}
	mp->pairs[i].rtp_fd = rtp_fd;
	mp->pairs[i].rtcp_fd = rtcp_fd;
	mp->pairs[i].in_use = true;
	return 0;
}

static void close_pair(struct media_ports *mp, struct media_pair *p)
{
	close_fd(mp, p->rtp_fd);
	close_fd(mp, p->rtcp_fd);
	p->rtp_fd = p->rtcp_fd = -1;
}

static void say_idle_closed(unsigned n)
{
	if (n)
		LOG(L_INFO, "[media] out of file descriptors: closed the sockets of %u idle port "
		    "pair%s", n, n == 1 ? "" : "s");
}

/*
 * Out of file descriptors: the sockets of up to MEDIA_IDLE_CLOSE free pairs
 * are closed, the most recently freed first (the last the warm queue would
 * hand out), and the pairs wait with the cold ones. A pair's sockets are
 * bound again when it is handed out. Returns how many pairs gave theirs up.
 */
static int close_idle(struct media_ports *mp)
{
	int n = 0;

	while (n < MEDIA_IDLE_CLOSE && mp->warm.n) {
		uint32_t i = queue_at(mp, &mp->warm, mp->warm.n - 1);

		mp->warm.n--;
		close_pair(mp, &mp->pairs[i]);
		mp->idle->open--;
		queue_push(mp, &mp->cold, i);
		n++;
	}
	/* Batches come many a second at a full table: one line a second at most. */
	say_idle_closed(log_tally_add(&mp->idle_closed, (unsigned)n, now_ms()));
	return n;
}

void media_ports_report(struct media_ports *mp)
{
	say_idle_closed(log_tally_take(&mp->idle_closed, now_ms()));
}

/* bind_pair(), again once the idle pairs' sockets are closed if they were the limit. */
static int bind_pair_or_close_idle(struct media_ports *mp, uint32_t i)
{
	int err = bind_pair(mp, i);

	if ((err == -EMFILE || err == -ENFILE) && close_idle(mp) > 0)
		err = bind_pair(mp, i);
	return err;
}

/*
 * The queue to hand out from: the warm one when its oldest has rested (or
 * no cold pair is left), else the cold one; NULL when both are empty.
 */
static struct media_pair_queue *next_queue(struct media_ports *mp)
{
	if (mp->warm.n && (!mp->cold.n || now_ms() - mp->pairs[queue_at(mp, &mp->warm, 0)].freed_ms >=
						   mp->rest_ms))
		return &mp->warm;
	return mp->cold.n ? &mp->cold : NULL;
}

int media_ports_alloc(struct media_ports *mp, uint16_t *rtp_port, int *rtp_fd, int *rtcp_fd)
{
	uint32_t tries = mp->cold.n + mp->warm.n;
	struct media_pair_queue *q;

	/* A pair another program holds goes to the back; each is tried once. */
	while (tries-- && (q = next_queue(mp))) {
		uint32_t i = queue_pop(mp, q);
		int err;

		err = bind_pair_or_close_idle(mp, i);
		if (!err) {
			*rtp_port = (uint16_t)(mp->min + 2 * i);
			*rtp_fd = mp->pairs[i].rtp_fd;
			*rtcp_fd = mp->pairs[i].rtcp_fd;
			mp->exhausted_logged = false;
			return 0;
		}
		/* Whatever bind_pair() failed on has no sockets: cold from now on. */
		queue_push(mp, &mp->cold, i);
		if (err == -EMFILE || err == -ENFILE || err == -ENOMEM) {
			/* The caller may free some (media_ports_release()) and try again. */
			LOG(L_DEBUG, "[media] cannot open media sockets: %s", strerror(-err));
			return err;
		}
		LOG(L_DEBUG, "[media] ports %u/%u taken by another program (%s), skipped",
		    mp->min + 2 * i, mp->min + 2 * i + 1, strerror(-err));
	}
	if (!mp->exhausted_logged) {
		LOG(L_WARN, "[media] out of media ports: all %u pairs of %u-%u in use or held "
		    "by other programs", mp->npairs, mp->min, mp->min + 2 * mp->npairs - 1);
		mp->exhausted_logged = true;
	}
	return -EADDRNOTAVAIL;
}

/* Finds pair i in q and hands it out: the head's pair takes its slot. */
static int take_from(struct media_ports *mp, struct media_pair_queue *q, uint32_t i,
		     int *rtp_fd, int *rtcp_fd)
{
	for (uint32_t k = 0; k < q->n; k++) {
		uint32_t slot = (q->head + k) % mp->npairs;
		int err;

		if (q->slot[slot] != i)
			continue;
		err = bind_pair(mp, i);
		if (err)
			return err;
		q->slot[slot] = q->slot[q->head];
		queue_pop(mp, q);
		*rtp_fd = mp->pairs[i].rtp_fd;
		*rtcp_fd = mp->pairs[i].rtcp_fd;
		return 0;
	}
	return -ENOENT;
}

int media_ports_take(struct media_ports *mp, uint16_t rtp_port, int *rtp_fd, int *rtcp_fd)
{
	uint32_t i = (uint32_t)(rtp_port - mp->min) / 2;
	int err;

	if (rtp_port < mp->min || (rtp_port & 1) || i >= mp->npairs)
		return -EINVAL;
	if (mp->pairs[i].in_use)
		return -EBUSY;
	err = take_from(mp, &mp->cold, i, rtp_fd, rtcp_fd);
	if (err == -ENOENT)
		err = take_from(mp, &mp->warm, i, rtp_fd, rtcp_fd);
	return err == -ENOENT ? -EBUSY : err;
}

void media_ports_release(struct media_ports *mp, uint16_t rtp_port)
{
	struct media_pair *p = &mp->pairs[(uint32_t)(rtp_port - mp->min) / 2];

	if (p->rtp_fd >= 0)
		close_pair(mp, p);
}

int media_ports_rebind(struct media_ports *mp, uint16_t rtp_port, int *rtp_fd, int *rtcp_fd)
{
	uint32_t i = (uint32_t)(rtp_port - mp->min) / 2;
	int err;

	if (rtp_port < mp->min || (rtp_port & 1) || i >= mp->npairs || !mp->pairs[i].in_use)
		return -EINVAL;
	err = bind_pair_or_close_idle(mp, i);
	if (err)
		return err;
	*rtp_fd = mp->pairs[i].rtp_fd;
	*rtcp_fd = mp->pairs[i].rtcp_fd;
	return 0;
}

void media_ports_free(struct media_ports *mp, uint16_t rtp_port)
{
	uint32_t i = (uint32_t)(rtp_port - mp->min) / 2;

	if (rtp_port < mp->min || (rtp_port & 1) || i >= mp->npairs || !mp->pairs[i].in_use) {
		LOG(L_WARN, "[media] freeing port %u, which is not in use", rtp_port);
		return;
	}
	mp->pairs[i].in_use = false;
	if (mp->pairs[i].rtp_fd >= 0 && mp->idle->open >= mp->idle->cap)
		close_pair(mp, &mp->pairs[i]);
	if (mp->pairs[i].rtp_fd < 0) {
		queue_push(mp, &mp->cold, i);
		return;
	}
	mp->idle->open++;
	if (mp->loop) {	/* back from its owner: dropped until handed out again */
		loop_set_fd_cb(mp->loop, mp->pairs[i].rtp_fd, on_idle_readable, NULL);
		loop_set_fd_cb(mp->loop, mp->pairs[i].rtcp_fd, on_idle_readable, NULL);
	}
	mp->pairs[i].freed_ms = now_ms();
	queue_push(mp, &mp->warm, i);
}

uint32_t media_ports_free_count(const struct media_ports *mp)
{
	return mp->cold.n + mp->warm.n;
}

uint32_t media_ports_total(const struct media_ports *mp)
{
	return mp->npairs;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Media ports: the RTP/RTCP pairs of [media] ports (RTP on the even port,
 * RTCP on the odd one above), handed out and taken back by the media
 * sessions.
 *
 * Every pair handed out is bound: sluiced holds a UDP socket on both ports
 * for as long as a stream uses them, so no other program can take them,
 * the userspace relay always has somewhere to receive a stream's first
 * packets, and whatever the kernel does not forward still arrives. A port
 * another program already holds is skipped, not an error. Freed pairs go
 * to the back of a queue and rest there (below), so a port is not reused
 * while late packets of its last call may still be on the way. A freed
 * pair keeps its sockets (what arrives meanwhile is dropped: as it comes
 * when the loop watches them, below, else when the pair is handed out
 * again): binding and closing four sockets per call was most of a call's
 * set-up cost, and
 * a port once sluice's stays sluice's. At most an eighth of the process's
 * file descriptor limit in pairs keeps them (the rest close when freed): one budget for the
 * whole process, which the planes (an IPv4 and an IPv6 range, several
 * interfaces) share (media_ports_share_idle()), so that idle pairs do not
 * fill the descriptor table. Should it run out all the same, the sockets
 * of at most MEDIA_IDLE_CLOSE pairs are closed at a time, the most
 * recently freed first, and bound again on use: closing every idle pair
 * at once (thousands) held the event loop for tens of milliseconds while
 * calls arrived.
 *
 * So there are two queues of free pairs, each oldest first: those that
 * kept their sockets (warm) and those that have none (cold, every pair at
 * the start). A pair is handed out from the warm queue once it has rested
 * there MEDIA_PORT_REST_MS, long enough for the datagrams of its last call
 * still in flight to arrive and be dropped; before that the cold queue's
 * oldest is bound instead. With a single queue the pairs that kept their
 * sockets were reached only after every other free pair (thousands), long
 * after most had had to close them for the cap, and nearly every stream
 * bound afresh. When both queues offer nothing else, a warm pair is handed
 * out however short its rest.
 *
 * Given the event loop (media_ports_set_loop()), every socket a pair holds
 * stays watched from its bind to its close: a free pair's drops what
 * arrives, and whoever a pair is handed out to takes its sockets over with
 * loop_set_fd_cb() and gives them back with media_ports_free(). So a
 * call's set-up and end cost no epoll_ctl() either.
 */
#ifndef SLUICE_MEDIA_PORTS_H
#define SLUICE_MEDIA_PORTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "core/log.h"

#ifndef MEDIA_PORT_REST_MS
#define MEDIA_PORT_REST_MS	1000	/* a freed pair's sockets rest this long before reuse */
#endif
#ifndef MEDIA_IDLE_CLOSE
#define MEDIA_IDLE_CLOSE	64	/* idle pairs closed at a time when out of descriptors */
#endif
#ifndef MEDIA_FD_HEADROOM
#define MEDIA_FD_HEADROOM	16	/* descriptors media leaves to the rest of sluiced */
#endif

struct loop;

struct media_pair {
	int		rtp_fd;		/* -1 until first handed out */
	int		rtcp_fd;
	bool		in_use;
	uint64_t	freed_ms;	/* CLOCK_MONOTONIC, when last freed into the warm queue */
};

/* Free pairs that kept their sockets, and how many may: shared by the planes. */
struct media_idle {
	uint32_t	open;
	uint32_t	cap;	/* an eighth of the fd limit */
};

/* Free pair indexes, oldest first: a ring as long as there are pairs. */
struct media_pair_queue {
	uint32_t	*slot;
	uint32_t	head;
	uint32_t	n;
};

struct media_ports {
	struct sockaddr_storage	addr;	/* the address the sockets bind to */
	socklen_t		addrlen;
	uint16_t		min;	/* even */
	uint32_t		npairs;
	struct media_pair	*pairs;	/* pair i: ports min + 2i, min + 2i + 1 */
	struct media_pair_queue	cold;	/* free pairs without sockets */
	struct media_pair_queue	warm;	/* free pairs that kept them (unless closed since) */
	uint32_t		rest_ms;	/* MEDIA_PORT_REST_MS */
	struct media_idle	own_idle;
	struct media_idle	*idle;	/* &own_idle, or another plane's */
	struct log_tally	idle_closed;	/* pairs close_idle() closed, to be said */
	bool			exhausted_logged;
	rlim_t			fd_limit;	/* RLIMIT_NOFILE as last read, 0: not yet */
	struct loop		*loop;	/* NULL: the owner watches the sockets itself */
};

/*
 * Prepares the pairs of [min, max] on addr (its port is ignored). min is
 * rounded up to even; a range without a whole pair is -EINVAL.
 */
int media_ports_init(struct media_ports *mp, const struct sockaddr *addr, socklen_t addrlen,
		     uint16_t min, uint16_t max);
void media_ports_fini(struct media_ports *mp);
/* mp's idle pairs count against with's budget from now on (before any is freed). */
void media_ports_share_idle(struct media_ports *mp, struct media_ports *with);
/* From now on the pairs' sockets are watched on loop (see above). */
void media_ports_set_loop(struct media_ports *mp, struct loop *loop);

/*
 * Hands out a bound pair: *rtp_port is even, the fds are non-blocking
 * sockets owned by mp until media_ports_free(). Returns -EADDRNOTAVAIL
 * when every pair is in use or held by another program (one log line per
 * exhaustion, not per call).
 */
int media_ports_alloc(struct media_ports *mp, uint16_t *rtp_port, int *rtp_fd, int *rtcp_fd);
/*
 * Binds the pair of rtp_port specifically (a restarted sluiced taking back
 * the ports of the calls it adopts). -EBUSY when it is already handed out.
 */
int media_ports_take(struct media_ports *mp, uint16_t rtp_port, int *rtp_fd, int *rtcp_fd);
/*
 * Out of file descriptors, a pair whose streams are all in the kernel may
 * give its sockets up while it stays handed out (release), and bind them
 * again when userspace needs to see its packets (rebind: -EADDRINUSE when
 * another program took a port meanwhile, -EMFILE still out of fds).
 */
void media_ports_release(struct media_ports *mp, uint16_t rtp_port);
int media_ports_rebind(struct media_ports *mp, uint16_t rtp_port, int *rtp_fd, int *rtcp_fd);
/* Queues the pair for reuse; its sockets stay open and bound. */
void media_ports_free(struct media_ports *mp, uint16_t rtp_port);
/* Says, in one line, the idle pairs closed since the last one (once a second). */
void media_ports_report(struct media_ports *mp);
uint32_t media_ports_free_count(const struct media_ports *mp);
uint32_t media_ports_total(const struct media_ports *mp);

#endif /* SLUICE_MEDIA_PORTS_H */

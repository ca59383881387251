/* SPDX-License-Identifier: MIT */
/*
 * Remote address -> domain. From the dns records the stream carries: the
 * answer that the same process received wins, then one its network
 * namespace received, then anyone's, because one CDN address serves many
 * names. Optionally, a reverse (PTR) lookup through c-ares, which never
 * blocks the stream: its answer names later records of that address.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "json.h"
#include "resolve.h"

#define ADDRS_MAX 65536		/* the most addresses remembered */
#define ANSWERS 4		/* names remembered per address */
#define REVERSE_MAX 64		/* lookups in flight */
#define REVERSE_KEEP_NS (3600ULL * 1000000000ULL)
#define REVERSE_RETRY_NS (600ULL * 1000000000ULL)

struct answer {
	char *qname;		/* JSON-encoded, as the dns record had it */
	uint32_t pid;
	uint64_t netns;
	uint64_t seen, expires;	/* monotonic ns */
};

struct addr_ent {
	char addr[INET6_ADDRSTRLEN];
	struct answer ans[ANSWERS];
	char *rev;		/* JSON-encoded PTR name */
	uint64_t rev_until;	/* keep rev, or do not retry, until then */
	bool rev_pending;
	UT_hash_handle hh;	/* by addr */
};

struct domains {
	const struct resolve_opts *o;
	struct addr_ent *tab;
	ares_channel chan;
	bool have_chan;
	unsigned pending;
};

static void addr_drop(struct domains *d, struct addr_ent *e)
{
	HASH_DEL(d->tab, e);
	for (int k = 0; k < ANSWERS; k++)
		free(e->ans[k].qname);
	free(e->rev);
	free(e);
}

struct domains *domains_new(const struct resolve_opts *o, int *err)
{
	struct domains *d = calloc(1, sizeof(*d));
	struct ares_options opts;
	int r;

	*err = 0;
	if (!d)
		return NULL;
	d->o = o;
	if (!o->reverse_dns)
		return d;
	r = ares_library_init(ARES_LIB_INIT_ALL);
	memset(&opts, 0, sizeof(opts));
	opts.timeout = (int)o->reverse_timeout_ms;
	opts.tries = 1;
	if (r == ARES_SUCCESS)
		r = ares_init_options(&d->chan, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (r != ARES_SUCCESS) {
		*err = r;
		free(d);
		return NULL;
	}
	d->have_chan = true;
	return d;
}

void domains_free(struct domains *d)
{
	struct addr_ent *e, *n;

	if (!d)
		return;
	if (d->have_chan) {
		ares_destroy(d->chan);	/* calls pending callbacks: cancelled */
		ares_library_cleanup();
	}
	HASH_ITER(hh, d->tab, e, n)
		addr_drop(d, e);
	free(d);
}

static struct addr_ent *find(struct domains *d, const char *addr, bool create)
{
	size_t len = strlen(addr);
	struct addr_ent *e;

	HASH_FIND(hh, d->tab, addr, len, e);
	if (e || !create || HASH_COUNT(d->tab) >= ADDRS_MAX || len >= sizeof(e->addr))
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->addr, addr, len + 1);
	HASH_ADD(hh, d->tab, addr, len, e);
	if (!table_added(e, hh)) {
		free(e);
		return NULL;
	}
	return e;
}

void domains_learn(struct domains *d, const char *addr, const char *qname_json,
		   size_t qname_len, uint32_t pid, uint64_t netns,
		   uint64_t ttl_s)
{
	struct addr_ent *e = find(d, addr, true);
	uint64_t now = clock_mono_ns(), keep = d->o->dns_keep_s;
	struct answer *slot = NULL;

	if (!e)
		return;
	/* the same name from the same process: refresh it; else the oldest */
	for (int k = 0; k < ANSWERS; k++) {
		struct answer *a = &e->ans[k];

		if (a->qname && a->pid == pid && a->netns == netns &&
		    strlen(a->qname) == qname_len && !memcmp(a->qname, qname_json, qname_len)) {
			slot = a;
			break;
		}
		if (!slot || !a->qname || (slot->qname && a->seen < slot->seen))
			slot = a;
	}
	if (!slot->qname || strlen(slot->qname) != qname_len ||
	    memcmp(slot->qname, qname_json, qname_len)) {
		char *q = strndup(qname_json, qname_len);
		if (!q)
			return;
		free(slot->qname);
		slot->qname = q;
	}
	slot->pid = pid;
	slot->netns = netns;
	slot->seen = now;
	/* an answer names connections made well after its TTL: keep it */
	slot->expires = now + (ttl_s > keep ? ttl_s : keep) * 1000000000ULL;
}

struct lookup {
	struct domains *d;
	char addr[INET6_ADDRSTRLEN];
};

static void on_reverse(void *arg, int status, int timeouts, struct hostent *h)
{
	struct lookup *l = arg;
	struct domains *d = l->d;
	struct addr_ent *e;
	uint64_t now = clock_mono_ns();

	(void)timeouts;
	d->pending--;
	e = find(d, l->addr, false);
	if (e) {
		e->rev_pending = false;
		if (status == ARES_SUCCESS && h && h->h_name) {
			struct buf b = BUF_INIT;

			json_put_cstr(&b, h->h_name);
			buf_putc(&b, '\0');
			if (!b.oom) {
				free(e->rev);
				e->rev = b.p;
				e->rev_until = now + REVERSE_KEEP_NS;
			} else {
				buf_release(&b);
			}
		} else if (status != ARES_EDESTRUCTION) {
			e->rev_until = now + REVERSE_RETRY_NS;	/* no name: do not ask again soon */
		}
	}
	free(l);
}

static void start_reverse(struct domains *d, struct addr_ent *e)
{
	unsigned char raw[16];
	struct lookup *l;
	int fam = strchr(e->addr, ':') ? AF_INET6 : AF_INET;

	if (d->pending >= REVERSE_MAX || inet_pton(fam, e->addr, raw) != 1)
		return;
	l = malloc(sizeof(*l));
	if (!l)
		return;
	l->d = d;
	strcpy(l->addr, e->addr);
	e->rev_pending = true;
	d->pending++;
	ares_gethostbyaddr(d->chan, raw, fam == AF_INET ? 4 : 16, fam, on_reverse, l);
}

size_t domains_expire(struct domains *d, uint64_t now_ns)
{
	struct addr_ent *e, *tmp;
	size_t gone = 0;

	HASH_ITER(hh, d->tab, e, tmp) {
		bool live = e->rev_pending || (e->rev_until && e->rev_until >= now_ns);

		for (int k = 0; k < ANSWERS && !live; k++)
			live = e->ans[k].qname && e->ans[k].expires >= now_ns;
		if (live)
			continue;
		addr_drop(d, e);
		gone++;
	}
	return gone;
}

size_t domains_count(const struct domains *d)
{
	return HASH_COUNT(d->tab);
}

const char *domains_lookup(struct domains *d, const char *addr, uint32_t pid,
			   uint64_t netns, enum domain_from *from)
{
	struct addr_ent *e = find(d, addr, false);
	uint64_t now = clock_mono_ns();
	const struct answer *best = NULL;
	int best_rank = 0;

	*from = DOMAIN_NONE;
	if (e) {
		for (int k = 0; k < ANSWERS; k++) {
			const struct answer *a = &e->ans[k];
			int rank;

			if (!a->qname || a->expires < now)
				continue;
			rank = a->pid == pid ? 3 : a->netns == netns ? 2 : 1;
			if (rank > best_rank || (rank == best_rank && a->seen > best->seen)) {
				best = a;
				best_rank = rank;
			}
		}
		if (best) {
			*from = best_rank == 3 ? DOMAIN_DNS_PROCESS :
				best_rank == 2 ? DOMAIN_DNS_NETNS : DOMAIN_DNS_ANY;
			return best->qname;
		}
		if (e->rev && e->rev_until >= now) {
			*from = DOMAIN_REVERSE;
			return e->rev;
		}
	}
	if (!d->have_chan)
		return NULL;
	if (!e)
		e = find(d, addr, true);
	if (e && !e->rev_pending && e->rev_until < now)
		start_reverse(d, e);
	return NULL;
}

int domains_pollfds(struct domains *d, struct pollfd *fds, int max,
		    int *timeout_ms)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct timeval tv, *tvp;
	int mask, n = 0;

	if (!d->have_chan || !d->pending)
		return 0;
	mask = ares_getsock(d->chan, socks, ARES_GETSOCK_MAXNUM);
	for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
		short ev = 0;

		/*
		 * c-ares's ARES_GETSOCK_WRITABLE() shifts an int 1 by up to
		 * 31, undefined behaviour UBSan stops on: the same bits
		 * (readable 0..15, writable 16..31), unsigned
		 */
		if ((unsigned)mask & (1U << i))
			ev |= POLLIN;
		if ((unsigned)mask & (1U << (i + ARES_GETSOCK_MAXNUM)))
			ev |= POLLOUT;
		if (ev)
			fds[n++] = (struct pollfd){ .fd = socks[i], .events = ev };
	}
	tvp = ares_timeout(d->chan, NULL, &tv);
	if (tvp) {
		int ms = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) + 1;
		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
	}
	return n;
}

void domains_process(struct domains *d, struct pollfd *fds, int n)
{
	if (!d->have_chan)
		return;
	for (int i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		ares_process_fd(d->chan,
				fds[i].revents & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD,
				fds[i].revents & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD);
	}
	/* timeouts */
	ares_process_fd(d->chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

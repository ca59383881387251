/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * OpenSSL's SHA256_* calls (deprecated in 3.0 in favour of EVP) run the
 * same SHA-NI code without the provider machinery that EVP loads and
 * initialises: 1.8 MB less of libcrypto touched per process, and the
 * same speed (docs/performance.md, memory footprint and snitch-hash).
 */
#define OPENSSL_API_COMPAT 0x10100000L
#include <openssl/sha.h>

#include "sha256.h"

#define READ_BUF (64 * 1024)
/*
 * Streaming a file from the page cache costs this VM about 17% of the
 * in-cache hashing speed in memory stalls (docs/performance.md), whether
 * the file is read() or mmap()ed. A second thread that reads ahead into a
 * ring of small buffers keeps the data in cache for the hashing thread and
 * recovers nearly all of it; it is worth a thread only for large files.
 *
 * The two threads hand buffers over through atomic counters. A thread that
 * must wait spins first (RING_SPIN_NS, yielding the CPU now and then), and
 * only then sleeps: a slot frees every ~40 us, and waking a sleeping
 * thread costs more than that on a VM (semaphores reached 72% of the
 * in-cache speed here, spinning 98%).
 */
#define RING_SLOTS 8
#define PIPELINE_MIN (4 * 1024 * 1024)
#define RING_SPIN_NS 200000

static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

static int hash_read(SHA256_CTX *ctx, int fd, uint64_t *nbytes)
{
	unsigned char *buf = malloc(READ_BUF);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read_full(fd, buf, READ_BUF);

		if (n <= 0) {
			ret = (int)n;
			break;
		}
		if (!SHA256_Update(ctx, buf, (size_t)n)) {
			ret = -EIO;
			break;
		}
		*nbytes += (uint64_t)n;
	}
	free(buf);
	return ret;
}

struct ring {
	int fd;
	unsigned char *slot[RING_SLOTS];
	ssize_t len[RING_SLOTS];	/* bytes, 0 at the end, -errno */
	atomic_uint filled;		/* slots the reader has filled */
	atomic_uint consumed;		/* slots the hasher has used */
	atomic_bool stop;		/* the hasher gave up */
	atomic_int sleepers;		/* threads in the slow path */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Wait until *counter differs from 'stuck' (seq_cst: pairs with ring_kick). */
static void ring_wait(struct ring *r, atomic_uint *counter, unsigned stuck)
{
	uint64_t start = 0;

	for (unsigned spins = 0; atomic_load(counter) == stuck; spins++) {
		if (spins % 64 == 63) {
			uint64_t now = mono_ns();

			if (!start)
				start = now;
			else if (now - start > RING_SPIN_NS)
				break;
			sched_yield();	/* let a busy core run other work */
		}
		cpu_relax();
	}
	if (atomic_load(counter) != stuck)
		return;
	pthread_mutex_lock(&r->mu);
	atomic_fetch_add(&r->sleepers, 1);
	while (atomic_load(counter) == stuck)
		pthread_cond_wait(&r->cv, &r->mu);
	atomic_fetch_sub(&r->sleepers, 1);
	pthread_mutex_unlock(&r->mu);
}

/*
 * After moving a counter: wake a sleeper. A sleeper registers before its
 * last check of the counter, and we move the counter before we look for
 * sleepers, so one of the two always sees the other.
 */
static void ring_kick(struct ring *r)
{
	if (atomic_load(&r->sleepers) == 0)
		return;
	pthread_mutex_lock(&r->mu);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void *ring_reader(void *arg)
{
	struct ring *r = arg;

	for (unsigned h = 0;; h++) {
		ssize_t n;

		/* a free slot: fewer than RING_SLOTS filled and not consumed */
		while (h - atomic_load(&r->consumed) == RING_SLOTS)
			ring_wait(r, &r->consumed, h - RING_SLOTS);
		n = atomic_load(&r->stop) ? 0
			: read_full(r->fd, r->slot[h % RING_SLOTS], READ_BUF);
		r->len[h % RING_SLOTS] = n;
		atomic_store(&r->filled, h + 1);
		ring_kick(r);
		if (n <= 0)
			return NULL;
	}
}

static int hash_pipelined(SHA256_CTX *ctx, int fd, uint64_t *nbytes)
{
	struct ring r = { .fd = fd };
	unsigned char *mem;
	pthread_t tid;
	int ret = 0;

	mem = malloc((size_t)RING_SLOTS * READ_BUF);
	if (!mem)
		return 1;
	for (int i = 0; i < RING_SLOTS; i++)
		r.slot[i] = mem + (size_t)i * READ_BUF;
	atomic_init(&r.filled, 0);
	atomic_init(&r.consumed, 0);
	atomic_init(&r.stop, false);
	atomic_init(&r.sleepers, 0);
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	if (pthread_create(&tid, NULL, ring_reader, &r) != 0) {
		free(mem);
		return 1;	/* no thread: the caller reads it all itself */
	}
	for (unsigned t = 0;; t++) {
		ssize_t n;

		while (atomic_load(&r.filled) == t)
			ring_wait(&r, &r.filled, t);
		n = r.len[t % RING_SLOTS];
		if (n <= 0) {
			if (!ret)
				ret = (int)n;
			break;
		}
		if (!ret && !SHA256_Update(ctx, r.slot[t % RING_SLOTS], (size_t)n)) {
			/* let the reader run to a stop, then report */
			ret = -EIO;
			atomic_store(&r.stop, true);
		}
		if (!ret)
			*nbytes += (uint64_t)n;
		atomic_store(&r.consumed, t + 1);
		ring_kick(&r);
	}
	pthread_join(tid, NULL);
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	free(mem);
	return ret;
}

int sha256_fd(int fd, unsigned char digest[SHA256_LEN], uint64_t *nbytes)
{
	SHA256_CTX ctx;
	struct stat st;
	uint64_t n = 0;
	int ret = 1;

	if (!SHA256_Init(&ctx))
		return -EIO;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= PIPELINE_MIN)
		ret = hash_pipelined(&ctx, fd, &n);
	if (ret == 1)
		ret = hash_read(&ctx, fd, &n);
	if (ret < 0)
		return ret;
	if (!SHA256_Final(digest, &ctx))
		return -EIO;
	*nbytes = n;
	return ret;
}

void sha256_hex(const unsigned char digest[SHA256_LEN],
		char hex[SHA256_HEX_LEN + 1])
{
	static const char d[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = d[digest[i] >> 4];
		hex[2 * i + 1] = d[digest[i] & 15];
	}
	hex[SHA256_HEX_LEN] = '\0';
}

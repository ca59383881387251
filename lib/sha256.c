/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sha256.h"

#define READ_BUF (64 * 1024)
/*
 * Streaming a file from the page cache costs this VM about 17% of the
 * in-cache hashing speed in memory stalls (docs/performance.md), whether
 * the file is read() or mmap()ed. A second thread that reads ahead into a
 * ring of small buffers keeps the data in cache for the hashing thread
 * and recovers nearly all of it; it is worth a thread only for large files.
 */
#define RING_SLOTS 8
#define PIPELINE_MIN (4 * 1024 * 1024)

static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

static int hash_read(EVP_MD_CTX *ctx, int fd, uint64_t *nbytes)
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
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
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
	sem_t free, filled;
	volatile int stop;		/* the hasher gave up */
};

static void *ring_reader(void *arg)
{
	struct ring *r = arg;

	for (unsigned i = 0;; i = (i + 1) % RING_SLOTS) {
		ssize_t n;

		while (sem_wait(&r->free) < 0)
			;
		n = r->stop ? 0 : read_full(r->fd, r->slot[i], READ_BUF);
		r->len[i] = n;
		sem_post(&r->filled);
		if (n <= 0)
			return NULL;
	}
}

static int hash_pipelined(EVP_MD_CTX *ctx, int fd, uint64_t *nbytes)
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
	sem_init(&r.free, 0, RING_SLOTS);
	sem_init(&r.filled, 0, 0);
	if (pthread_create(&tid, NULL, ring_reader, &r) != 0) {
		free(mem);
		return 1;	/* no thread: the caller reads it all itself */
	}
	for (unsigned i = 0;; i = (i + 1) % RING_SLOTS) {
		ssize_t n;

		while (sem_wait(&r.filled) < 0)
			;
		n = r.len[i];
		if (n <= 0) {
			if (!ret)
				ret = (int)n;
			break;
		}
		if (!ret && !EVP_DigestUpdate(ctx, r.slot[i], (size_t)n)) {
			/* let the reader run to a stop, then report */
			ret = -EIO;
			r.stop = 1;
		}
		if (!ret)
			*nbytes += (uint64_t)n;
		sem_post(&r.free);
	}
	pthread_join(tid, NULL);
	sem_destroy(&r.free);
	sem_destroy(&r.filled);
	free(mem);
	return ret;
}

int sha256_fd(int fd, unsigned char digest[SHA256_LEN], uint64_t *nbytes)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct stat st;
	unsigned int dlen = 0;
	uint64_t n = 0;
	int ret = 1;

	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -EIO;
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= PIPELINE_MIN)
		ret = hash_pipelined(ctx, fd, &n);
	if (ret == 1)
		ret = hash_read(ctx, fd, &n);
	if (ret < 0)
		goto out;
	if (!EVP_DigestFinal_ex(ctx, digest, &dlen) || dlen != SHA256_LEN) {
		ret = -EIO;
		goto out;
	}
	*nbytes = n;
out:
	EVP_MD_CTX_free(ctx);
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

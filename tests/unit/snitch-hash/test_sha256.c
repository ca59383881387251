/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "sha256.h"
#include "test.h"

static void hash_bytes(const void *data, size_t n, char hex[65])
{
	char path[] = "/tmp/snitch-test-sha-XXXXXX";
	unsigned char d[SHA256_LEN];
	uint64_t got = 0;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	CHECK(write(fd, data, n) == (ssize_t)n);
	lseek(fd, 0, SEEK_SET);
	CHECK(sha256_fd(fd, d, &got) == 0);
	CHECK_EQ_INT(got, n);
	sha256_hex(d, hex);
	close(fd);
}

int main(void)
{
	char hex[65];

	/* FIPS 180-2 test vectors */
	hash_bytes("", 0, hex);
	CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	hash_bytes("abc", 3, hex);
	CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	/* one million 'a': large enough for the read-ahead thread? no: and a
	 * 16 MiB file is, so both paths are checked against each other */
	{
		size_t n = 1000000;
		char *a = malloc(n);
		memset(a, 'a', n);
		hash_bytes(a, n, hex);
		CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
		free(a);
	}
	{
		size_t n = 16u << 20;
		unsigned char *a = malloc(n);
		char hex2[65];
		int fds[2];
		unsigned char d[SHA256_LEN];
		uint64_t got = 0;

		for (size_t i = 0; i < n; i++)
			a[i] = (unsigned char)(i * 2654435761u >> 13);
		hash_bytes(a, n, hex);			/* file: read-ahead thread */
		/* the same bytes through a pipe: plain reads */
		CHECK(pipe(fds) == 0);
		if (fork() == 0) {
			close(fds[0]);
			for (size_t off = 0; off < n;) {
				ssize_t w = write(fds[1], a + off, n - off);
				if (w <= 0)
					_exit(1);
				off += (size_t)w;
			}
			_exit(0);
		}
		close(fds[1]);
		CHECK(sha256_fd(fds[0], d, &got) == 0);
		CHECK_EQ_INT(got, n);
		sha256_hex(d, hex2);
		CHECK(!strcmp(hex, hex2));
		close(fds[0]);
		free(a);
	}
	/* a descriptor that cannot be read gives an error, not a hash */
	{
		unsigned char d[SHA256_LEN];
		uint64_t got;
		int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
		CHECK(sha256_fd(fd, d, &got) == -EISDIR);
		close(fd);
	}
	TEST_MAIN_END("test_sha256");
}

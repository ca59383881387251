/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomicfile.h"
#include "test.h"

static char dir[] = "/tmp/test_atomicfile.XXXXXX";

/* The whole content of a file, for comparing. */
static const char *slurp(const char *path)
{
	static char text[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return "(missing)";
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n < 0 ? 0 : n] = '\0';
	return text;
}

/* How many entries of d (a directory) start with prefix. */
static int count_entries(const char *d, const char *prefix)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dh)
		return -1;
	while ((e = readdir(dh)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(dh);
	return n;
}

static void test_write_and_overwrite(void)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	CHECK_EQ_INT(atomic_write_file(path, "first\n", 6, 0640, NULL, 0), 0);
	CHECK(!strcmp(slurp(path), "first\n"));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	/* a shorter content replaces, not overlays, the longer one */
	CHECK_EQ_INT(atomic_write_file(path, "2\n", 2, 0640, NULL, 0), 0);
	CHECK(!strcmp(slurp(path), "2\n"));
	CHECK_EQ_INT(atomic_write_file(path, "", 0, 0640, NULL, ATOMIC_NO_SYNC), 0);
	CHECK(stat(path, &st) == 0 && st.st_size == 0);
	CHECK_EQ_INT(count_entries(dir, "state.json"), 1);
}

/* A file already open (a reader) keeps the old content: the name moved. */
static void test_reader_keeps_old(void)
{
	char path[256], text[16] = "";
	int fd;

	snprintf(path, sizeof(path), "%s/status.json", dir);
	CHECK_EQ_INT(atomic_write_file(path, "old", 3, 0644, NULL, ATOMIC_NO_SYNC), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ_INT(atomic_write_file(path, "new", 3, 0644, NULL, ATOMIC_NO_SYNC), 0);
	CHECK(read(fd, text, sizeof(text) - 1) == 3);
	CHECK(!strcmp(text, "old"));
	close(fd);
	CHECK(!strcmp(slurp(path), "new"));
}

static void test_missing_directory(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/no/such/file", dir);
	CHECK_EQ_INT(atomic_write_file(path, "x", 1, 0644, NULL, 0), -ENOENT);
	CHECK_EQ_INT(atomic_write_file("/nonexistent-dir-of-test/x", "x", 1, 0644, NULL, 0),
		     -ENOENT);
	snprintf(path, sizeof(path), "%s/", dir);
	CHECK_EQ_INT(atomic_write_file(path, "x", 1, 0644, NULL, 0), -EISDIR);
}

/* The rename fails (a directory has the name): the temporary goes. */
static void test_rename_fails(void)
{
	char path[256], inner[300];

	snprintf(path, sizeof(path), "%s/taken", dir);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(inner, sizeof(inner), "%s/keep", path);
	CHECK_EQ_INT(atomic_write_file(inner, "k", 1, 0644, NULL, 0), 0);
	CHECK_EQ_INT(atomic_write_file(path, "x", 1, 0644, NULL, 0), -EISDIR);
	CHECK_EQ_INT(count_entries(dir, "taken"), 1);
	CHECK(!strcmp(slurp(inner), "k"));
}

/*
 * The write fails half way (a file size limit stands in for a full disk):
 * the old file stays whole and no temporary is left. In a child, so the
 * limit ends with it.
 */
static void test_write_fails(void)
{
	char path[256];
	static char big[65536];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/big", dir);
	CHECK_EQ_INT(atomic_write_file(path, "whole", 5, 0644, NULL, 0), 0);
	memset(big, 'b', sizeof(big));
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 4096, 4096 };

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		_exit(atomic_write_file(path, big, sizeof(big), 0644, NULL, 0) == -EFBIG ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!strcmp(slurp(path), "whole"));
	CHECK_EQ_INT(count_entries(dir, "big"), 1);
}

/*
 * A directory the writer may not write: EACCES and nothing made. Root
 * may write anywhere, so then the writer is a child turned nobody.
 */
static void test_unwritable_directory(void)
{
	char ro[256], path[300];
	int status;
	pid_t pid;

	snprintf(ro, sizeof(ro), "%s/ro", dir);
	CHECK(mkdir(ro, 0755) == 0);
	snprintf(path, sizeof(path), "%s/file", ro);
	CHECK_EQ_INT(atomic_write_file(path, "old", 3, 0644, NULL, 0), 0);
	CHECK(chmod(ro, 0555) == 0);
	CHECK(chmod(dir, 0755) == 0);
	pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		_exit(atomic_write_file(path, "new", 3, 0644, NULL, 0) == -EACCES ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!strcmp(slurp(path), "old"));
	CHECK_EQ_INT(count_entries(ro, ""), 3);	/* ".", ".." and file */
	CHECK(chmod(ro, 0755) == 0);
	CHECK(chmod(dir, 0700) == 0);
}

/* The permissions are on the file before it has its name. */
static void test_perms(void)
{
	char path[256];
	struct file_perms p = { .uid = (uid_t)-1, .gid = (gid_t)-1, .mode = 0604 };
	struct stat st;

	snprintf(path, sizeof(path), "%s/owned", dir);
	if (geteuid() == 0) {
		p.uid = 65534;
		p.gid = 65534;
		p.set_owner = true;
	}
	CHECK_EQ_INT(atomic_write_file(path, "o", 1, 0600, &p, 0), 0);
	CHECK(stat(path, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0604);
	if (geteuid() == 0) {
		CHECK_EQ_INT(st.st_uid, 65534);
		CHECK_EQ_INT(st.st_gid, 65534);
	}
	/* the mode asked for is the mode got when no perms are given */
	CHECK_EQ_INT(atomic_write_file(path, "o", 1, 0600, NULL, 0), 0);
	CHECK(stat(path, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	CHECK_EQ_INT(st.st_uid, geteuid());
}

static void test_move_aside(void)
{
	char path[256], moved[512], moved2[512], moved3[16];
	size_t n;

	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK_EQ_INT(atomic_write_file(path, "bad1", 4, 0644, NULL, 0), 0);
	CHECK_EQ_INT(file_move_aside(path, NULL, moved, sizeof(moved)), 0);
	n = strlen(path);
	CHECK(!strncmp(moved, path, n) && !strncmp(moved + n, ".corrupt-", 9));
	/* .corrupt-YYYYmmddTHHMMSSZ */
	CHECK_EQ_INT(strlen(moved), n + 9 + 16);
	CHECK(moved[n + 9 + 8] == 'T' && moved[n + 9 + 15] == 'Z');
	CHECK(!strcmp(slurp(moved), "bad1"));
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);

	/* a second one in the same second keeps the first */
	CHECK_EQ_INT(atomic_write_file(path, "bad2", 4, 0644, NULL, 0), 0);
	CHECK_EQ_INT(file_move_aside(path, NULL, moved2, sizeof(moved2)), 0);
	CHECK(strcmp(moved, moved2) != 0);
	CHECK(!strcmp(slurp(moved), "bad1"));
	CHECK(!strcmp(slurp(moved2), "bad2"));
	CHECK_EQ_INT(count_entries(dir, "db.corrupt-"), 2);

	/* another word, a missing file, a name that does not fit */
	CHECK_EQ_INT(atomic_write_file(path, "old", 3, 0644, NULL, 0), 0);
	CHECK_EQ_INT(file_move_aside(path, "old", moved, sizeof(moved)), 0);
	CHECK(!strncmp(moved + n, ".old-", 5));
	CHECK_EQ_INT(file_move_aside(path, NULL, moved, sizeof(moved)), -ENOENT);
	CHECK(moved[0] == '\0');
	CHECK_EQ_INT(atomic_write_file(path, "x", 1, 0644, NULL, 0), 0);
	CHECK_EQ_INT(file_move_aside(path, NULL, moved3, sizeof(moved3)), -ENAMETOOLONG);
	CHECK(moved3[0] == '\0');
	CHECK(!strcmp(slurp(path), "x"));
}

/* Remove the test directory, whatever a failed check left in it. */
static void cleanup(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

int main(void)
{
	umask(022);	/* the modes checked are the modes asked for */
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_write_and_overwrite();
	test_reader_keeps_old();
	test_missing_directory();
	test_rename_fails();
	test_write_fails();
	test_unwritable_directory();
	test_perms();
	test_move_aside();
	cleanup();
	TEST_MAIN_END("test_atomicfile");
}

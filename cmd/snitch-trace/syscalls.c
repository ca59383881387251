/* SPDX-License-Identifier: MIT */
/*
 * System calls counted in the kernel per process (--syscalls): names to
 * this architecture's numbers, and the map read every interval into
 * syscalls records of what each process called since the last one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "trace.h"

/* Generated from <asm/unistd.h> at build time (Makefile): { "name", nr }. */
static const struct {
	const char *name;
	int nr;
} syscall_table[] = {
#include "syscall_names.h"
};

int syscall_number(const char *name)
{
	for (size_t i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++)
		if (!strcmp(syscall_table[i].name, name))
			return syscall_table[i].nr;
	return -1;
}

static int add(struct syscall_set *set, const char *name, size_t len, bool lenient,
	       char *err, size_t errsize)
{
	char word[64];
	int nr;

	if (len >= sizeof(word)) {
		snprintf(err, errsize, "unknown system call '%.*s'", (int)len, name);
		return -EINVAL;
	}
	memcpy(word, name, len);
	word[len] = '\0';
	nr = syscall_number(word);
	if (nr < 0 || nr >= SYSCALL_NR_MAX) {
		if (lenient)
			return 0;	/* the default list names calls some architectures lack */
		snprintf(err, errsize, "unknown system call '%s' (names as in <asm/unistd.h>: connect, execve, ...)",
			 word);
		return -EINVAL;
	}
	for (int i = 0; i < set->n; i++)
		if (set->nr[i] == nr)
			return 0;	/* named twice */
	if (set->n == SYSCALL_SLOTS) {
		snprintf(err, errsize, "more than %d system calls", SYSCALL_SLOTS);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++)
		if (syscall_table[i].nr == nr && !strcmp(syscall_table[i].name, word))
			set->name[set->n] = syscall_table[i].name;
	set->nr[set->n++] = nr;
	return 0;
}

static int add_list(struct syscall_set *set, const char *list, bool lenient,
		    char *err, size_t errsize)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ", \n\t");
		int r;

		if (n == 7 && !strncmp(p, "default", 7))
			r = add_list(set, SYSCALLS_DEFAULT, true, err, errsize);
		else
			r = n ? add(set, p, n, lenient, err, errsize) : 0;
		if (r < 0)
			return r;
		p += n;
		p += strspn(p, ", \n\t");
	}
	return 0;
}

int syscalls_parse(const char *list, struct syscall_set *set, char *err, size_t errsize)
{
	memset(set, 0, sizeof(*set));
	if (!list || !strcmp(list, "none"))
		return 0;
	return add_list(set, list, false, err, errsize);
}

/* ---- the counts ---- */

struct sys_proc {
	struct sys_key key;
	uint64_t last[SYSCALL_SLOTS];
	uint64_t from_real;		/* start of the interval not yet written */
	bool mark;			/* seen in this drain */
	UT_hash_handle hh;
};

struct syscall_procs {
	struct sys_proc *tab;
	long ns_per_tick;
	uint64_t since_boot;	/* when counting began, boottime ns */
};

struct syscall_procs *syscall_procs_new(void)
{
	struct syscall_procs *p = calloc(1, sizeof(*p));
	long hz = sysconf(_SC_CLK_TCK);

	struct timespec ts;

	if (!p)
		return NULL;
	p->ns_per_tick = 1000000000L / (hz > 0 ? hz : 100);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	p->since_boot = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	return p;
}

void syscall_procs_free(struct syscall_procs *p)
{
	struct sys_proc *e, *n;

	if (!p)
		return;
	HASH_ITER(hh, p->tab, e, n) {
		HASH_DEL(p->tab, e);
		free(e);
	}
	free(p);
}

/*
 * Will the process of this key count no more? It has exited (or its pid
 * is another's: /proc's start time, in clock ticks, is the kernel's
 * start_boottime divided down), or it runs another executable now.
 */
static bool gone(const struct syscall_procs *p, const struct sys_key *k)
{
	char path[64], line[1024], *rp;
	unsigned long long ticks;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", k->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return true;
	line[n] = '\0';
	rp = strrchr(line, ')');
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			  &ticks) != 1)
		return false;
	if (ticks != k->start_boot_ns / (uint64_t)p->ns_per_tick)
		return true;
	/* a zombie: counts nothing more either */
	if (rp[2] == 'Z' || rp[2] == 'X')
		return true;
	snprintf(path, sizeof(path), "/proc/%u/exe", k->pid);
	return k->exe_ino && stat(path, &st) == 0 && (uint64_t)st.st_ino != k->exe_ino;
}

void syscall_procs_drain(struct syscall_procs *p, int fd, const struct syscall_set *set,
			 struct output *o, const struct clocks *c, uint64_t now_real)
{
	struct sys_key key, next;
	struct sys_counts v;
	struct sys_proc *e, *tmp;
	struct sys_key *dead = NULL;
	size_t ndead = 0, cap = 0;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		uint64_t delta[SYSCALL_SLOTS];
		bool moved = false;

		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v) < 0)
			continue;
		HASH_FIND(hh, p->tab, &key, sizeof(key), e);
		if (!e && (e = calloc(1, sizeof(*e)))) {
			e->key = key;
			/* counted since it started, or since we did */
			e->from_real = (v.id.proc[0].start_boot_ns > p->since_boot ?
					v.id.proc[0].start_boot_ns : p->since_boot) + c->boot_to_real;
			HASH_ADD(hh, p->tab, key, sizeof(e->key), e);
			if (!table_added(e, hh)) {
				free(e);
				e = NULL;
			}
		}
		if (!e)
			continue;
		e->mark = true;
		for (int i = 0; i < set->n; i++) {
			delta[i] = v.count[i] - e->last[i];
			moved |= delta[i] != 0;
			e->last[i] = v.count[i];
		}
		if (moved) {
			write_syscalls(o, c, &v.id, set->name, delta, set->n, e->from_real, now_real);
			e->from_real = now_real;
		}
		if (gone(p, &key)) {
			if (ndead == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct sys_key *d = realloc(dead, ncap * sizeof(*d));

				if (!d)
					continue;
				dead = d;
				cap = ncap;
			}
			dead[ndead++] = key;
		}
	}
	/*
	 * After the walk (deleting during it would restart it): a process
	 * gone counts no more, so nothing is lost between the read and this.
	 */
	for (size_t i = 0; i < ndead; i++) {
		(void)bpf_map_delete_elem(fd, &dead[i]);
		HASH_FIND(hh, p->tab, &dead[i], sizeof(dead[i]), e);
		if (e) {
			HASH_DEL(p->tab, e);
			free(e);
		}
	}
	free(dead);
	/* entries the map no longer has */
	HASH_ITER(hh, p->tab, e, tmp) {
		if (!e->mark) {
			HASH_DEL(p->tab, e);
			free(e);
		} else {
			e->mark = false;
		}
	}
}

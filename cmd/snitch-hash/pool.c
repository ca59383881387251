/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hash.h"

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work;		/* a job was queued, or stop */
	struct hash_job *todo, *todo_tail;
	struct hash_job *done, *done_tail;
	unsigned busy;			/* queued plus running */
	unsigned running;		/* jobs being worked on */
	bool stop;
	int efd;
	struct watch *watch;
	unsigned nthreads;
	pthread_t threads[];
};

static void *worker(void *arg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct hash_job *job;

		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		job = p->todo;
		p->todo = job->next;
		if (!p->todo)
			p->todo_tail = NULL;
		p->running++;
		pthread_mutex_unlock(&p->mu);

		hash_job_run(job, p->watch);

		pthread_mutex_lock(&p->mu);
		p->running--;
		job->next = NULL;
		if (p->done_tail)
			p->done_tail->next = job;
		else
			p->done = job;
		p->done_tail = job;
		{
			uint64_t one = 1;
			ssize_t n = write(p->efd, &one, sizeof(one));
			(void)n;	/* eventfd: cannot fail short of overflow */
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *pool_new(unsigned threads, struct watch *w)
{
	struct pool *p = calloc(1, sizeof(*p) + threads * sizeof(pthread_t));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	p->watch = w;
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd < 0) {
		free(p);
		return NULL;
	}
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
			break;
		p->nthreads++;
	}
	if (!p->nthreads) {
		close(p->efd);
		free(p);
		return NULL;
	}
	return p;
}

void pool_submit(struct pool *p, struct hash_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->todo_tail)
		p->todo_tail->next = job;
	else
		p->todo = job;
	p->todo_tail = job;
	p->busy++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

int pool_fd(const struct pool *p)
{
	return p->efd;
}

struct hash_job *pool_take_done(struct pool *p)
{
	struct hash_job *list;
	uint64_t n;

	if (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return NULL;
	pthread_mutex_lock(&p->mu);
	list = p->done;
	p->done = p->done_tail = NULL;
	for (struct hash_job *j = list; j; j = j->next)
		p->busy--;
	pthread_mutex_unlock(&p->mu);
	return list;
}

unsigned pool_busy(struct pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->mu);
	n = p->busy;
	pthread_mutex_unlock(&p->mu);
	return n;
}

bool pool_free(struct pool *p, bool wait)
{
	struct hash_job *j;

	if (!p)
		return true;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	if (!wait && p->running) {
		/* a long hash is under way: leave the threads to exit() */
		pthread_mutex_unlock(&p->mu);
		return false;
	}
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while ((j = p->todo)) {
		p->todo = j->next;
		hash_job_free(j);
	}
	while ((j = p->done)) {
		p->done = j->next;
		hash_job_free(j);
	}
	close(p->efd);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return true;
}

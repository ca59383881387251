/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side: libmicrohttpd in its own thread, which answers /metrics
 * and /healthz. The answer is made under the registry's lock, in memory,
 * and sent after the lock is released: a scraper that reads slowly holds
 * up only itself, never the record loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"

#define CONNECTIONS_MAX 16
#define CONNECTION_TIMEOUT_S 10

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

struct http {
	struct MHD_Daemon *d;
	struct exporter *e;
	unsigned port;
};

/* Does the Accept header ask for OpenMetrics (and not refuse it with q=0)? */
static bool wants_openmetrics(const char *accept)
{
	const char *p;

	if (!accept)
		return false;
	for (p = accept; (p = strstr(p, "application/openmetrics-text")); p++) {
		size_t n = strcspn(p, ",");
		const char *q = memmem(p, n, "q=", 2);

		if (!q || strtod(q + 2, NULL) > 0)
			return true;
	}
	return false;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **state)
{
	struct http *h = cls;
	static char not_found[] = "not found: try /metrics or /healthz\n";
	static char bad_method[] = "only GET and HEAD\n";
	static char ok[] = "ok\n";

	(void)version;
	(void)upload;
	if (!*state) {
		/* the first call is for the headers alone */
		*state = h;
		return MHD_YES;
	}
	if (*upload_size)
		return reply(c, MHD_HTTP_BAD_REQUEST, "text/plain", bad_method,
			     sizeof(bad_method) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
			     sizeof(bad_method) - 1, MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/healthz"))
		return reply(c, MHD_HTTP_OK, "text/plain", ok, sizeof(ok) - 1,
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/metrics")) {
		const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								 MHD_HTTP_HEADER_ACCEPT);
		bool om = wants_openmetrics(accept);
		struct buf b = BUF_INIT;

		exporter_render(h->e, &b, om);
		if (b.oom) {
			static char oom[] = "out of memory\n";

			buf_release(&b);
			return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", oom,
				     sizeof(oom) - 1, MHD_RESPMEM_PERSISTENT);
		}
		/* the response frees the buffer once it is sent */
		return reply(c, MHD_HTTP_OK, om ? CT_OPENMETRICS : CT_TEXT, b.p, b.len,
			     MHD_RESPMEM_MUST_FREE);
	}
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1,
		     MHD_RESPMEM_PERSISTENT);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
	/* the daemon's own chatter (a client that went away): not ours to say */
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" into an address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, char *err, size_t err_size)
{
	char host[128];
	const char *colon, *port;
	unsigned long p;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host) || memchr(s, ':', (size_t)(colon - s)))
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p > 65535 || *port == '-' || *port == '+')
		goto bad;
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		if (!*host)
			a->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, err_size, "'%s' is not an address to listen on (HOST:PORT, [IPV6]:PORT or :PORT, HOST numeric)", s);
	return -EINVAL;
}

int http_check_listen(const char *addr, char *err, size_t err_size)
{
	struct sockaddr_storage ss;

	return parse_listen(addr, &ss, err, err_size);
}

int http_listen(const char *addr, char *err, size_t err_size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, e;

	if (parse_listen(addr, &ss, err, err_size) < 0)
		return -EINVAL;
	len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	snprintf(err, err_size, "cannot listen on %s: %s", addr, strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

struct http *http_start(int fd, struct exporter *e, char *err, size_t err_size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct http *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	h->e = e;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				on_request, h,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
				MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, err_size, "cannot start the HTTP server: %s",
			 errno ? strerror(errno) : "libmicrohttpd refused");
		free(h);
		return NULL;
	}
	return h;
}

unsigned http_port(const struct http *h)
{
	return h->port;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

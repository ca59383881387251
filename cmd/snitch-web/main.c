/* SPDX-License-Identifier: MIT */
/*
 * snitch-web: the connection log in a browser. A small HTTP server on
 * libmicrohttpd that hands out a fixed set of compiled-in files (the
 * pages, their script and style, Chart.js) and answers a JSON API from
 * the query core over the database, opened read-only. It never writes
 * the log and refuses to run as root: it parses requests from whoever
 * can reach its socket.
 *
 * Security, in the order a request meets it: the Host header must name
 * the listen address or localhost (a DNS-rebinding page gets 403); with
 * --token, a request needs the bearer token or the cookie that the
 * one-time sign-in URL sets (401); only GET and HEAD; the path must be one
 * of the fixed list (404). Every response carries a strict
 * Content-Security-Policy, X-Content-Type-Options: nosniff and no CORS
 * header.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "exitcode.h"
#include "log.h"
#include "privs.h"
#include "query/query.h"
#include "web.h"

#define PROG "snitch-web"
#define DEFAULT_LISTEN "127.0.0.1:5100"
#define DEFAULT_DB "/var/lib/snitch/snitch.db"
#define COOKIE_NAME "snitch_session"

static const char csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct web {
	pthread_mutex_t lock;		/* the API (one database connection) and once */
	struct web_api *api;
	const char *token;		/* NULL: no authentication (loopback only) */
	char session[65];		/* the cookie's secret */
	char once[33];			/* the one-time sign-in secret; "" once used */
	char host[256];			/* the listen host as written, IPv6 in brackets */
	bool wildcard;			/* 0.0.0.0 or ::: any Host (the token guards) */
	bool loopback_v4, loopback_v6;
	unsigned port;			/* the bound port */
};

/* ---- listen address ---- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
			struct web *w)
{
	char host[256];
	const char *colon, *port_s;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *res;
	uint64_t port;
	size_t n;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - s - 1);
		port_s = end + 2;
		if (n == 0 || n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		n = (size_t)(colon - s);
		port_s = colon + 1;
		if (n == 0 || n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
	}
	host[n] = '\0';
	if (cli_parse_u64(port_s, 0, 65535, &port) < 0)
		return -EINVAL;
	if (strcmp(host, "localhost"))
		hints.ai_flags |= AI_NUMERICHOST;
	if (getaddrinfo(host, port_s, &hints, &res) != 0)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);

	if (ss->ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		uint32_t a = ntohl(sin->sin_addr.s_addr);

		w->loopback_v4 = (a >> 24) == 127;
		w->wildcard = a == INADDR_ANY;
		inet_ntop(AF_INET, &sin->sin_addr, w->host, sizeof(w->host));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		char a[INET6_ADDRSTRLEN];

		w->loopback_v6 = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
		w->wildcard = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(w->host, sizeof(w->host), "[%s]", a);
	}
	return 0;
}

/* the port of the address (MHD_OPTION_SOCK_ADDR wins; this is for its messages) */
static uint16_t listen_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* ---- the checks every request meets ---- */

static bool str_eq_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* The Host header names this listener: its address or localhost, and its port. */
static bool host_ok(const struct web *w, const char *h)
{
	const char *colon, *end;
	char name[256];
	size_t n;
	uint64_t port = 80;

	if (!h || !*h)
		return false;
	if (h[0] == '[') {
		end = strchr(h, ']');
		if (!end)
			return false;
		n = (size_t)(end - h + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (!colon && end[1])
			return false;
	} else {
		colon = strchr(h, ':');
		n = colon ? (size_t)(colon - h) : strlen(h);
	}
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, h, n);
	name[n] = '\0';
	if (colon && cli_parse_u64(colon + 1, 1, 65535, &port) < 0)
		return false;
	if (port != w->port)
		return false;
	if (w->wildcard)
		return true;
	if (!strcasecmp(name, "localhost") || !strcasecmp(name, w->host))
		return true;
	if (w->loopback_v4 && !strcmp(name, "127.0.0.1"))
		return true;
	if (w->loopback_v6 && !strcmp(name, "[::1]"))
		return true;
	return false;
}

static bool cookie_has_session(const struct web *w, const char *cookies)
{
	const char *p = cookies;
	size_t nl = strlen(COOKIE_NAME);

	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, COOKIE_NAME, nl) && p[nl] == '=') {
			char v[sizeof(w->session)];
			const char *e = strchr(p + nl + 1, ';');
			size_t n = e ? (size_t)(e - (p + nl + 1)) : strlen(p + nl + 1);

			if (n < sizeof(v)) {
				memcpy(v, p + nl + 1, n);
				v[n] = '\0';
				if (str_eq_ct(v, w->session))
					return true;
			}
		}
		p = strchr(p, ';');
	}
	return false;
}

static bool authorized(const struct web *w, struct MHD_Connection *c)
{
	const char *auth, *cookies;

	if (!w->token)
		return true;
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth && !strncasecmp(auth, "Bearer ", 7) && str_eq_ct(auth + 7, w->token))
		return true;
	cookies = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	return cookies && cookie_has_session(w, cookies);
}

/* ---- responses ---- */

static enum MHD_Result send_response(struct MHD_Connection *c, unsigned status,
				     struct MHD_Response *r, const char *cache)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	return send_response(c, status, r, "no-store");
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct web_reply *rep)
{
	struct MHD_Response *r;

	if (rep->body.oom) {
		buf_release(&rep->body);
		return send_text(c, 500, "out of memory\n");
	}
	buf_putc(&rep->body, '\n');
	r = MHD_create_response_from_buffer(rep->body.len, rep->body.p, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		buf_release(&rep->body);
		return MHD_NO;
	}
	rep->body.p = NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return send_response(c, rep->status, r, "no-store");
}

static bool accepts_gzip(struct MHD_Connection *c)
{
	const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_ACCEPT_ENCODING);

	return ae && strstr(ae, "gzip");
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const struct web_asset *a)
{
	struct MHD_Response *r;
	bool gz = a->gz && a->gzlen < a->len && accepts_gzip(c);

	r = MHD_create_response_from_buffer(gz ? a->gzlen : a->len,
					    (void *)(gz ? a->gz : a->data),
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (gz)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	return send_response(c, 200, r, "no-cache");
}

/* GET /login?once=SECRET: the one-time URL; sets the cookie, then / */
static enum MHD_Result sign_in(struct web *w, struct MHD_Connection *c, const char *qs)
{
	struct MHD_Response *r;
	char cookie[160];

	bool ok;

	pthread_mutex_lock(&w->lock);
	ok = w->token && w->once[0] && qs && !strncmp(qs, "once=", 5) && str_eq_ct(qs + 5, w->once);
	if (ok)
		w->once[0] = '\0';
	pthread_mutex_unlock(&w->lock);
	if (!ok)
		return send_text(c, 401, "this sign-in link is not valid (it works once): "
				 "restart snitch-web for a new one, or send the token "
				 "as 'Authorization: Bearer TOKEN'\n");
	log_msg("the one-time sign-in URL was used");
	r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict",
		 COOKIE_NAME, w->session);
	MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "/");
	return send_response(c, 303, r, "no-store");
}

/* the raw request target, kept for its undecoded query string */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	return strdup(uri);
}

static void request_done(void *cls, struct MHD_Connection *c, void **req,
			 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	free(*req);
	*req = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **req)
{
	struct web *w = cls;
	const char *raw = *req, *host, *qs;
	const struct web_asset *a;
	char path[256];
	size_t n;

	(void)url;
	(void)version;
	(void)upload;
	if (*upload_size) {
		*upload_size = 0;	/* no request has a body worth reading */
		return MHD_YES;
	}
	host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!host_ok(w, host))
		return send_text(c, 403, "the Host header does not name this server: "
				 "use http://localhost:PORT/ or the address it listens on\n");
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return send_text(c, 405, "only GET and HEAD\n");
	if (!raw)
		return send_text(c, 400, "no request target\n");
	qs = strchr(raw, '?');
	n = qs ? (size_t)(qs - raw) : strlen(raw);
	if (qs)
		qs++;
	if (n >= sizeof(path))
		return send_text(c, 404, "not found\n");
	memcpy(path, raw, n);
	path[n] = '\0';

	if (!strcmp(path, "/login"))
		return sign_in(w, c, qs);
	if (!authorized(w, c))
		return send_text(c, 401, "sign in: open the one-time URL snitch-web printed "
				 "at start, or send 'Authorization: Bearer TOKEN'\n");
	if (!strncmp(path, "/api/", 5)) {
		struct web_reply rep = { .status = 200, .body = BUF_INIT };

		int ret;

		/* one database connection: one API request at a time; files are not held up */
		pthread_mutex_lock(&w->lock);
		ret = web_api_handle(w->api, path + 5, qs, qs ? strlen(qs) : 0, &rep);
		pthread_mutex_unlock(&w->lock);
		if (ret == -ENOENT) {
			buf_release(&rep.body);
			rep.body = (struct buf)BUF_INIT;
			web_reply_error(&rep, 404, NULL, "no such API: '%.64s' (docs/web.md)", path + 5);
		}
		return send_reply(c, &rep);
	}
	a = web_asset_find(path);
	if (!a)
		return send_text(c, 404, "not found\n");
	return send_asset(c, a);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char m[512];
	size_t n;

	(void)cls;
	vsnprintf(m, sizeof(m), fmt, ap);
	n = strlen(m);
	while (n && m[n - 1] == '\n')
		m[--n] = '\0';
	log_limited("libmicrohttpd: %s", m);
}

static void hex_random(char *out, size_t bytes)
{
	unsigned char r[64];
	size_t i;

	if (bytes > sizeof(r) || getrandom(r, bytes, 0) != (ssize_t)bytes) {
		log_msg("cannot get random bytes: %s", strerror(errno));
		exit(SNITCH_EXIT_SOFTWARE);
	}
	for (i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", r[i]);
}

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_NOPERM, SNITCH_EXIT_UNAVAILABLE,
	SNITCH_EXIT_SOFTWARE, -1,
};

/*
 * The server, listening: a thread a connection (small stacks, at most
 * 64), so the files and the checks never wait for a slow query; the API
 * takes turns on its one read-only database connection. NULL, errno set.
 */
static struct MHD_Daemon *serve(struct web *w, const struct sockaddr_storage *ss)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				MHD_USE_POLL |
				MHD_USE_ERROR_LOG | (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				listen_port(ss), NULL, NULL, on_request, w,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
				MHD_OPTION_URI_LOG_CALLBACK, uri_seen, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
				MHD_OPTION_END);
}

int main(int argc, char **argv)
{
	const char *listen_s = DEFAULT_LISTEN, *db = DEFAULT_DB, *token = NULL;
	bool allow_root = false;
	uint64_t max_raw_rows = Q_VIEW_MAX_RAW_ROWS, max_query_ms = 2000;
	const struct cli_opt opts[] = {
		{ .name = "listen", .short_name = 'l', .type = CLI_STRING, .value = &listen_s,
		  .metavar = "ADDR:PORT", .env = "SNITCH_WEB_LISTEN",
		  .help = "where to listen; not loopback needs --token; port 0: any free port" },
		{ .name = "db", .type = CLI_STRING, .value = &db, .metavar = "FILE",
		  .env = "SNITCH_DB", .help = "the SQLite log snitch-store writes (read only)" },
		{ .name = "token", .type = CLI_STRING, .value = &token, .metavar = "TOKEN",
		  .env = "SNITCH_WEB_TOKEN",
		  .help = "require this bearer token, or the cookie of the one-time URL printed at start" },
		{ .name = "max-raw-rows", .type = CLI_UINT, .value = &max_raw_rows, .metavar = "N",
		  .env = "SNITCH_WEB_MAX_RAW_ROWS", .min = 1, .max = UINT64_MAX / 2,
		  .help = "refuse (400) a query that would read more raw rows than N" },
		{ .name = "max-query-ms", .type = CLI_UINT, .value = &max_query_ms, .metavar = "MS",
		  .env = "SNITCH_WEB_MAX_QUERY_MS", .min = 1, .max = 3600000,
		  .help = "stop a query that runs longer than MS milliseconds and say so (400)" },
		{ .name = "allow-root", .type = CLI_FLAG, .value = &allow_root,
		  .help = "run as root anyway (it parses requests from the network: better not)" },
	};
	const struct cli cli = {
		.prog = PROG,
		.usage = "[OPTION]...",
		.summary =
			"Serve the connection log to a browser: an overview (bytes sent and received,\n"
			"connections, executables, a chart of the top groups), an explorer (group by\n"
			"any field, filter, drill down) and the executables with their sha256 values.\n"
			"The database is opened read-only. The pages, their script and Chart.js are\n"
			"compiled in: no request reads a file, nothing is fetched from elsewhere. The\n"
			"JSON API is in docs/web.md. It refuses to run as root.\n"
			"Over SSH: ssh -L 5100:localhost:5100 HOST, then open http://localhost:5100/.",
		.examples =
			"  snitch-web                             # http://localhost:5100/\n"
			"  snitch-web --db /tmp/t.db --listen 127.0.0.1:8080\n"
			"  snitch-web --listen 0.0.0.0:5100 --token \"$(openssl rand -hex 16)\"\n"
			"  curl -H 'Host: localhost:5100' http://127.0.0.1:5100/api/summary?range=1h\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	struct web w = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t sigs;
	int first, ret, sig;

	log_init(PROG);
	ret = cli_parse(&cli, argc, argv, &first);
	if (ret >= 0)
		return ret;
	if (first < argc)
		return cli_usage_error(&cli, "unexpected argument '%s'", argv[first]);
	if (parse_listen(listen_s, &ss, &sslen, &w) < 0)
		return cli_usage_error(&cli, "--listen '%s': expected ADDR:PORT, as 127.0.0.1:5100 or [::1]:5100",
				       listen_s);
	if (token && *token == '\0')
		token = NULL;
	if (!token && !w.loopback_v4 && !w.loopback_v6)
		return cli_usage_error(&cli, "--listen '%s' is not a loopback address: anyone who "
				       "reaches it would read the log; give --token too", listen_s);
	if (token && strlen(token) < 16)
		return cli_usage_error(&cli, "--token: at least 16 characters");
	w.token = token;
	if (geteuid() == 0 && !allow_root) {
		log_msg("refusing to run as root: a server that parses requests from the network "
			"should not hold root's rights; run it as a user who may read the database, "
			"or give --allow-root");
		return SNITCH_EXIT_NOPERM;
	}
	hex_random(w.session, 32);
	hex_random(w.once, 16);

	w.api = web_api_new(db, max_raw_rows, (uint32_t)max_query_ms);
	if (!w.api) {
		log_msg("out of memory");
		return SNITCH_EXIT_SOFTWARE;
	}
	/*
	 * One malloc arena: a thread a connection would otherwise each get
	 * its own, and the resident memory would grow with the connections.
	 */
	mallopt(M_ARENA_MAX, 1);
	/* the server's threads inherit the mask: only this one takes the signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Requests from the network are parsed by a process that reads files
	 * and answers on its socket, and nothing more: no capability (root
	 * with --allow-root gives them up), nothing opened for writing (the
	 * database is read-only; SQLite then maps its -shm read-only too),
	 * no program started.
	 */
	if (privs_drop(&(const struct privs){
		    .allow = PRIVS_OPEN_READ | PRIVS_LISTEN | PRIVS_THREADS }) < 0)
		return SNITCH_EXIT_NOPERM;

	d = serve(&w, &ss);
	(void)sslen;
	if (!d) {
		log_msg("cannot listen on %s: %s", listen_s, strerror(errno ? errno : EADDRINUSE));
		web_api_free(w.api);
		return SNITCH_EXIT_UNAVAILABLE;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	w.port = info ? info->port : 0;
	log_msg("serving '%s' on http://%s:%u/", db, w.host, w.port);
	if (token)
		log_msg("sign in once with http://%s:%u/login?once=%s (or send 'Authorization: Bearer TOKEN')",
			w.wildcard ? "HOST" : w.host, w.port, w.once);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGINT || sig == SIGTERM)
			break;
	}
	MHD_stop_daemon(d);
	web_api_free(w.api);
	return SNITCH_EXIT_OK;
}

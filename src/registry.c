/*
 * The registry client on libcurl's multi interface, driven by libevent
 * (curl's docs/examples/multi-event.c).  A check is a small state machine
 * of HTTP requests: HEAD the manifest, maybe authenticate, maybe fetch an
 * index and HEAD its children, maybe fetch the config blob.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "docker_auth.h"
#include "inspect.h"
#include "log.h"
#include "manifest.h"
#include "registry.h"
#include "www_auth.h"
#include "xmalloc.h"

#define REG_MAX_BODY (4 * 1024 * 1024)
#define REG_MAX_ENTRIES 1024
#define REG_MAX_MANIFESTS 256
#define REG_MAX_TOKENS 256

struct reg_http;
typedef void (*reg_http_done)(struct reg_http *h);

/* One HTTP transfer. */
struct reg_http {
	struct registry *reg;
	struct reg_entry *entry;
	CURL *easy;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	long status;
	CURLcode result;
	char *content_type;
	char *docker_digest;
	char *www_auth;
	char *body;
	size_t body_len;
	bool too_big;
	reg_http_done done;
};

/* A cached manifest body, by digest. */
struct reg_manifest {
	TAILQ_ENTRY(reg_manifest) entry;
	char *digest;
	char *content_type;
	char *body;
	size_t len;
};

/* A bearer token for (host, scope). */
struct reg_token {
	TAILQ_ENTRY(reg_token) entry;
	char *host;
	char *scope;
	char *token;
	time_t expires;
};

enum entry_step {
	STEP_HEAD,   /* HEAD the reference */
	STEP_TOKEN,  /* fetching a bearer token */
	STEP_INDEX,  /* GET the index */
	STEP_CHILD,  /* HEAD children in turn */
	STEP_IMAGE,  /* GET the image manifest (for config) */
	STEP_CONFIG, /* GET the config blob */
	STEP_DONE,
};

/* One (host, repository, reference, platform, flags): running or cached. */
struct reg_entry {
	TAILQ_ENTRY(reg_entry) entry;
	struct registry *reg;
	char *key;
	char *host;	/* as in the reference */
	char *api_host; /* where requests go */
	char *repo;
	char *ref;
	struct registry_platform platform;
	unsigned flags;
	bool done;
	time_t expires;
	TAILQ_HEAD(, registry_check) waiters;

	/* running state */
	enum entry_step step;
	enum entry_step retry_step; /* after a token */
	struct reg_http *http;
	bool authed;	   /* the 401 dance was done */
	char *auth_header; /* "Authorization: ..." */
	struct manifest index;
	bool have_index;
	size_t child;	    /* next child to HEAD */
	char *image_digest; /* the image manifest */
	char *config_path;  /* "/blobs/<config digest>" */

	/* result */
	enum registry_outcome outcome;
	char *digest;
	char *detail;
	bool is_index;
	char *missing_digest;
	char *missing_platform;
	char *version;
	char **labels; /* "K=V", NULL-terminated */
	char **env;
};

struct registry_check {
	TAILQ_ENTRY(registry_check) entry;
	struct reg_entry *e;
	registry_cb cb;
	void *arg;
	struct event *ev;
};

struct curl_sock {
	struct event *ev;
	curl_socket_t fd;
};

struct registry {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct registry_settings set;
	char **owned;	       /* strings behind set */
	const char **lists[3]; /* arrays behind set */
	size_t n_owned;
	char *docker_config; /* file contents (secret) */
	size_t docker_config_len;
	TAILQ_HEAD(, reg_entry) entries;
	size_t n_entries;
	TAILQ_HEAD(, reg_manifest) manifests;
	size_t n_manifests;
	TAILQ_HEAD(, reg_token) tokens;
	size_t n_tokens;
};

static void entry_step(struct reg_entry *e);
static void
entry_finish(struct reg_entry *e, enum registry_outcome o, char *detail);

const char *
registry_outcome_name(enum registry_outcome o)
{
	switch (o) {
	case REGISTRY_PRESENT:
		return "present";
	case REGISTRY_ABSENT:
		return "absent";
	case REGISTRY_UNAUTHORIZED:
		return "unauthorized";
	case REGISTRY_RATE_LIMITED:
		return "rate-limited";
	case REGISTRY_UNREACHABLE:
		return "unreachable";
	}
	return "unreachable";
}

/* ---- libcurl on libevent ---------------------------------------------- */

static void
check_done(struct registry *reg)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(reg->multi, &left)) != NULL) {
		struct reg_http *h = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &h);
		h->result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &h->status);
		curl_multi_remove_handle(reg->multi, msg->easy_handle);
		h->done(h);
	}
}

static void
sock_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct registry *reg = arg;
	int flags = 0, running;

	if (kind & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(reg->multi, fd, flags, &running);
	/* Completions may start the next request, which arms the timer:
	   leave the timer to curl's timer callback. */
	check_done(reg);
}

static void
timer_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct registry *reg = arg;
	int running;

	curl_multi_socket_action(reg->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(reg);
}

static int
curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct registry *reg = userp;
	struct curl_sock *cs = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			event_free(cs->ev);
			free(cs);
		}
		curl_multi_assign(reg->multi, s, NULL);
		return 0;
	}
	if (cs == NULL) {
		cs = xcalloc(1, sizeof *cs);
		cs->fd = s;
		curl_multi_assign(reg->multi, s, cs);
	} else {
		event_free(cs->ev);
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	cs->ev = event_new(reg->base, s, kind, sock_event_cb, reg);
	event_add(cs->ev, NULL);
	return 0;
}

static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct registry *reg = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(reg->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(reg->timer, &tv);
	return 0;
}

/* ---- transfers --------------------------------------------------------- */

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct reg_http *h = arg;
	size_t n = size * nmemb;

	if (h->body_len + n > REG_MAX_BODY) {
		h->too_big = true;
		return 0; /* abort the transfer */
	}
	h->body = xrealloc(h->body, h->body_len + n + 1);
	memcpy(h->body + h->body_len, ptr, n);
	h->body_len += n;
	h->body[h->body_len] = '\0';
	return n;
}

/* Keep a response header's value if it is the one we want. */
static void
keep_header(char **slot, const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *v, *end = line + len;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return;
	v = line + nlen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v &&
	    (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
		end[-1] == '\t'))
		end--;
	free(*slot);
	*slot = xstrndup(v, (size_t)(end - v));
}

static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct reg_http *h = arg;
	size_t n = size * nmemb;

	if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a redirect): forget the last. */
		free(h->content_type);
		free(h->docker_digest);
		free(h->www_auth);
		h->content_type = h->docker_digest = h->www_auth = NULL;
		return n;
	}
	keep_header(&h->content_type, line, n, "Content-Type");
	keep_header(&h->docker_digest, line, n, "Docker-Content-Digest");
	keep_header(&h->www_auth, line, n, "WWW-Authenticate");
	return n;
}

static void
http_free(struct reg_http *h)
{
	if (h == NULL)
		return;
	if (h->easy != NULL) {
		curl_multi_remove_handle(h->reg->multi, h->easy);
		curl_easy_cleanup(h->easy);
	}
	curl_slist_free_all(h->headers);
	free(h->content_type);
	free(h->docker_digest);
	free(h->www_auth);
	free(h->body);
	free(h);
}

static bool
host_is_loopback(const char *host)
{
	char name[256];
	const char *colon;
	struct in_addr a4;
	size_t len;

	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0;
	colon = strrchr(host, ':');
	len = colon != NULL ? (size_t)(colon - host) : strlen(host);
	if (len >= sizeof name)
		return false;
	memcpy(name, host, len);
	name[len] = '\0';
	if (strcasecmp(name, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, name, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}

static bool
list_has_host(const char *const *items, size_t n, const char *host)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i], host) == 0)
			return true;
	}
	return false;
}

/* The value of a "host=value" item for host, or NULL. */
static const char *
host_item(const char *const *items, size_t n, const char *host)
{
	size_t hlen = strlen(host);

	for (size_t i = 0; i < n; i++) {
		if (strncmp(items[i], host, hlen) == 0 && items[i][hlen] == '=')
			return items[i] + hlen + 1;
	}
	return NULL;
}

static struct reg_http *
http_start(struct reg_entry *e, const char *url, bool head, bool with_auth,
    const char *accept, reg_http_done done)
{
	struct registry *reg = e->reg;
	struct reg_http *h = xcalloc(1, sizeof *h);
	const char *ca = host_item(reg->set.ca_files, reg->set.n_ca_files,
	    e->host);

	h->reg = reg;
	h->entry = e;
	h->done = done;
	h->easy = curl_easy_init();
	if (h->easy == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(h->easy, CURLOPT_URL, url);
	curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, reg->set.timeout_ms);
	curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    reg->set.timeout_ms);
	curl_easy_setopt(h->easy, CURLOPT_USERAGENT, "docker-guard");
	curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, head ? 0L : 1L);
	curl_easy_setopt(h->easy, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h->easy, CURLOPT_HEADERDATA, h);
	if (head)
		curl_easy_setopt(h->easy, CURLOPT_NOBODY, 1L);
	if (ca != NULL)
		curl_easy_setopt(h->easy, CURLOPT_CAINFO, ca);
	if (accept != NULL) {
		char *a = xasprintf("Accept: %s", accept);

		h->headers = curl_slist_append(h->headers, a);
		free(a);
	}
	if (with_auth && e->auth_header != NULL)
		h->headers = curl_slist_append(h->headers, e->auth_header);
	if (h->headers != NULL)
		curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
	curl_multi_add_handle(reg->multi, h->easy);
	return h;
}

/* ---- credentials and tokens ------------------------------------------- */

/* Credentials for host as "user:password" (allocated), or NULL. */
static char *
credentials_for(struct registry *reg, const char *host)
{
	const char *item = host_item(reg->set.auth, reg->set.n_auth, host);
	struct docker_cred c = { 0 };
	const char *cause;
	char *out = NULL;

	if (item != NULL)
		return xstrdup(item);
	if (reg->docker_config == NULL)
		return NULL;
	if (docker_auth_lookup(reg->docker_config, reg->docker_config_len, host,
		&c, &cause) == 0 &&
	    c.username != NULL && c.password != NULL)
		out = xasprintf("%s:%s", c.username, c.password);
	docker_cred_reset(&c);
	return out;
}

static char *
basic_header(const char *userpass)
{
	char *b64 = docker_auth_b64encode(userpass, strlen(userpass));
	char *h = xasprintf("Authorization: Basic %s", b64);

	explicit_bzero(b64, strlen(b64));
	free(b64);
	return h;
}

static char *
scope_for(const struct reg_entry *e)
{
	return xasprintf("repository:%s:pull", e->repo);
}

/* Remove a token from the cache, wiping it. */
static void
token_drop(struct registry *reg, struct reg_token *t)
{
	TAILQ_REMOVE(&reg->tokens, t, entry);
	reg->n_tokens--;
	explicit_bzero(t->token, strlen(t->token));
	free(t->token);
	free(t->host);
	free(t->scope);
	free(t);
}

static struct reg_token *
token_find(struct registry *reg, const char *host, const char *scope)
{
	struct reg_token *t, *next;
	time_t now = time(NULL);

	for (t = TAILQ_FIRST(&reg->tokens); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->expires <= now) {
			token_drop(reg, t);
			continue;
		}
		if (strcmp(t->host, host) == 0 && strcmp(t->scope, scope) == 0)
			return t;
	}
	return NULL;
}

static void
token_store(struct registry *reg, const char *host, const char *scope,
    const char *token, long expires_in)
{
	struct reg_token *t;

	if (reg->n_tokens >= REG_MAX_TOKENS) {
		token_drop(reg, TAILQ_FIRST(&reg->tokens));
	}
	t = xcalloc(1, sizeof *t);
	t->host = xstrdup(host);
	t->scope = xstrdup(scope);
	t->token = xstrdup(token);
	/* A little early, so a token never expires in flight. */
	t->expires = time(NULL) +
	    (expires_in > 10 ? expires_in - 5 : expires_in);
	TAILQ_INSERT_TAIL(&reg->tokens, t, entry);
	reg->n_tokens++;
}

static void
set_auth_header(struct reg_entry *e, char *header)
{
	if (e->auth_header != NULL) {
		explicit_bzero(e->auth_header, strlen(e->auth_header));
		free(e->auth_header);
	}
	e->auth_header = header;
}

/* ---- the check's steps ------------------------------------------------- */

static char *
base_url(const struct reg_entry *e)
{
	bool plain = host_is_loopback(e->host) ||
	    list_has_host(e->reg->set.insecure, e->reg->set.n_insecure,
		e->host);

	return xasprintf("%s://%s/v2/%s", plain ? "http" : "https", e->api_host,
	    e->repo);
}

static void http_done_cb(struct reg_http *h);

/* Issue the request of the current step (HEAD or GET of path). */
static void
entry_request(struct reg_entry *e, const char *path, bool head,
    const char *accept)
{
	char *base = base_url(e), *url = xasprintf("%s%s", base, path);

	e->http = http_start(e, url, head, true, accept, http_done_cb);
	free(url);
	free(base);
}

static void
token_done_cb(struct reg_http *h)
{
	struct reg_entry *e = h->entry;
	long expires = 60;
	char *token, *scope;

	e->http = NULL;
	if (h->result != CURLE_OK || h->status != 200) {
		enum registry_outcome o = h->status == 401 || h->status == 403
		    ? REGISTRY_UNAUTHORIZED
		    : h->status == 429 ? REGISTRY_RATE_LIMITED
				       : REGISTRY_UNAUTHORIZED;
		char *d = h->result != CURLE_OK
		    ? xasprintf("the token service could not be reached: %s",
			  h->errbuf[0] ? h->errbuf
				       : curl_easy_strerror(h->result))
		    : xasprintf("the token service answered %ld", h->status);

		if (h->result != CURLE_OK)
			o = REGISTRY_UNREACHABLE;
		http_free(h);
		entry_finish(e, o, d);
		return;
	}
	token = www_auth_token_from_json(h->body, h->body_len, &expires);
	http_free(h);
	if (token == NULL) {
		entry_finish(e, REGISTRY_UNAUTHORIZED,
		    xstrdup("the token "
			    "service answered without a token"));
		return;
	}
	scope = scope_for(e);
	token_store(e->reg, e->host, scope, token, expires);
	free(scope);
	set_auth_header(e, xasprintf("Authorization: Bearer %s", token));
	explicit_bzero(token, strlen(token));
	free(token);
	e->step = e->retry_step;
	entry_step(e);
}

/* A 401: authenticate once, then retry the same request. */
static void
authenticate(struct reg_entry *e, const char *challenge)
{
	struct www_auth wa = { 0 };
	const struct www_auth_challenge *ch;
	char *creds = credentials_for(e->reg, e->host);

	if (e->authed || challenge == NULL ||
	    www_auth_parse(challenge, &wa) != 0) {
		free(creds);
		www_auth_reset(&wa);
		entry_finish(e, REGISTRY_UNAUTHORIZED,
		    xstrdup(e->authed
			    ? "the registry refused the credentials"
			    : "the registry asks for authentication in a form the "
			      "guard does not understand"));
		return;
	}
	e->authed = true;
	if ((ch = www_auth_find(&wa, "bearer")) != NULL) {
		char *scope = scope_for(e),
		     *url = www_auth_token_url(ch, scope);

		free(scope);
		if (url == NULL) {
			www_auth_reset(&wa);
			free(creds);
			entry_finish(e, REGISTRY_UNAUTHORIZED,
			    xstrdup(
				"the "
				"registry's bearer challenge has no realm"));
			return;
		}
		/* Basic credentials go to the token service, not the
		   registry. */
		set_auth_header(e, creds != NULL ? basic_header(creds) : NULL);
		e->retry_step = e->step;
		e->step = STEP_TOKEN;
		e->http = http_start(e, url, false, true, NULL, token_done_cb);
		free(url);
	} else if (www_auth_find(&wa, "basic") != NULL && creds != NULL) {
		set_auth_header(e, basic_header(creds));
		entry_step(e);
	} else {
		entry_finish(e, REGISTRY_UNAUTHORIZED,
		    xstrdup(creds == NULL
			    ? "the registry requires credentials and none are "
			      "configured for it"
			    : "the registry asks for an "
			      "authentication scheme the guard does not support"));
	}
	if (creds != NULL) {
		explicit_bzero(creds, strlen(creds));
		free(creds);
	}
	www_auth_reset(&wa);
}

static void
manifest_drop(struct registry *reg, struct reg_manifest *m)
{
	TAILQ_REMOVE(&reg->manifests, m, entry);
	reg->n_manifests--;
	free(m->digest);
	free(m->content_type);
	free(m->body);
	free(m);
}

static struct reg_manifest *
cache_manifest_get(struct registry *reg, const char *digest)
{
	struct reg_manifest *m;

	TAILQ_FOREACH(m, &reg->manifests, entry)
	{
		if (strcmp(m->digest, digest) == 0) {
			/* Most recently used last. */
			TAILQ_REMOVE(&reg->manifests, m, entry);
			TAILQ_INSERT_TAIL(&reg->manifests, m, entry);
			return m;
		}
	}
	return NULL;
}

static void
cache_manifest_put(struct registry *reg, const char *digest,
    const char *content_type, const char *body, size_t len)
{
	struct reg_manifest *m;

	if (cache_manifest_get(reg, digest) != NULL)
		return;
	if (reg->n_manifests >= REG_MAX_MANIFESTS) {
		manifest_drop(reg, TAILQ_FIRST(&reg->manifests));
	}
	m = xcalloc(1, sizeof *m);
	m->digest = xstrdup(digest);
	m->content_type = content_type != NULL ? xstrdup(content_type) : NULL;
	m->body = xmalloc(len + 1);
	memcpy(m->body, body, len);
	m->body[len] = '\0';
	m->len = len;
	TAILQ_INSERT_TAIL(&reg->manifests, m, entry);
	reg->n_manifests++;
}

static char *
platform_name(const char *os, const char *arch, const char *variant)
{
	return xasprintf("%s/%s%s%s", os ? os : "?", arch ? arch : "?",
	    variant != NULL && *variant != '\0' ? "/" : "",
	    variant != NULL ? variant : "");
}

/* The index is known (parsed into e->index): pick the children to HEAD. */
static void
index_ready(struct reg_entry *e)
{
	const struct manifest_child *want;

	want = manifest_find_platform(&e->index, e->platform.os,
	    e->platform.arch, e->platform.variant);
	if (want == NULL) {
		e->missing_platform = platform_name(e->platform.os,
		    e->platform.arch, e->platform.variant);
		entry_finish(e, REGISTRY_ABSENT,
		    xasprintf("the index %s has "
			      "no image for this host's platform %s",
			e->digest, e->missing_platform));
		return;
	}
	if (want->version != NULL && e->version == NULL)
		e->version = xstrdup(want->version);
	e->image_digest = xstrdup(want->digest);
	e->child = 0;
	e->step = STEP_CHILD;
	entry_step(e);
}

/* Parse a manifest body for the current step. */
static int
take_manifest(struct reg_entry *e, const char *digest, const char *ctype,
    const char *body, size_t len, struct manifest *out)
{
	const char *cause = NULL;
	char *actual = manifest_sha256_digest(body, len);

	if (strcmp(actual, digest) != 0) {
		entry_finish(e, REGISTRY_UNREACHABLE,
		    xasprintf("the manifest "
			      "the registry sent for %s has digest %s",
			digest, actual));
		free(actual);
		return -1;
	}
	free(actual);
	if (manifest_parse(body, len, ctype, out, &cause) != 0) {
		entry_finish(e, REGISTRY_UNREACHABLE,
		    xasprintf("the manifest "
			      "%s cannot be read: %s",
			digest, cause ? cause : "?"));
		return -1;
	}
	cache_manifest_put(e->reg, digest, ctype, body, len);
	return 0;
}

/* Classify a failed request. */
static void
finish_http_error(struct reg_entry *e, struct reg_http *h, const char *what)
{
	enum registry_outcome o;
	char *d;

	if (h->result != CURLE_OK) {
		o = REGISTRY_UNREACHABLE;
		d = xasprintf("%s: %s", what,
		    h->too_big	       ? "the answer is too "
					 "large"
			: h->errbuf[0] ? h->errbuf
				       : curl_easy_strerror(h->result));
	} else if (h->status == 404) {
		o = REGISTRY_ABSENT;
		d = xasprintf("%s: the registry answered 404 (manifest or "
			      "repository unknown)",
		    what);
	} else if (h->status == 401 || h->status == 403) {
		o = REGISTRY_UNAUTHORIZED;
		d = xasprintf("%s: the registry answered %ld (%s)", what,
		    h->status, h->status == 401 ? "unauthorized" : "denied");
	} else if (h->status == 429) {
		o = REGISTRY_RATE_LIMITED;
		d = xasprintf("%s: the registry answered 429 (rate limited)",
		    what);
	} else {
		o = REGISTRY_UNREACHABLE;
		d = xasprintf("%s: the registry answered %ld", what, h->status);
	}
	entry_finish(e, o, d);
}

static void
http_done_cb(struct reg_http *h)
{
	struct reg_entry *e = h->entry;
	char *what;

	e->http = NULL;
	if (h->result == CURLE_OK && h->status == 401) {
		char *challenge = h->www_auth != NULL ? xstrdup(h->www_auth)
						      : NULL;

		http_free(h);
		authenticate(e, challenge);
		free(challenge);
		return;
	}
	switch (e->step) {
	case STEP_HEAD:
		if (h->result != CURLE_OK || h->status != 200) {
			/* "repo@sha256:...", "repo:tag" */
			what = xasprintf("%s/%s%s%s", e->host, e->repo,
			    strchr(e->ref, ':') != NULL ? "@" : ":", e->ref);
			finish_http_error(e, h, what);
			free(what);
			http_free(h);
			return;
		}
		if (strncmp(e->ref, "sha256:", 7) == 0)
			e->digest = xstrdup(e->ref);
		else if (h->docker_digest != NULL)
			e->digest = xstrdup(h->docker_digest);
		e->is_index = manifest_kind_of(h->content_type) ==
		    MANIFEST_INDEX;
		if (e->digest == NULL) {
			http_free(h);
			entry_finish(e, REGISTRY_UNREACHABLE,
			    xstrdup(
				"the "
				"registry did not say the manifest's digest"));
			return;
		}
		http_free(h);
		if (e->flags & REGISTRY_DIGEST_ONLY) {
			entry_finish(e, REGISTRY_PRESENT, NULL);
			return;
		}
		if (e->is_index) {
			e->step = STEP_INDEX;
		} else if (e->flags & REGISTRY_WANT_CONFIG) {
			e->image_digest = xstrdup(e->digest);
			e->step = STEP_IMAGE;
		} else {
			entry_finish(e, REGISTRY_PRESENT, NULL);
			return;
		}
		entry_step(e);
		return;
	case STEP_INDEX:
		if (h->result != CURLE_OK || h->status != 200) {
			what = xasprintf("the index %s", e->digest);
			finish_http_error(e, h, what);
			free(what);
			http_free(h);
			return;
		}
		if (take_manifest(e, e->digest, h->content_type, h->body,
			h->body_len, &e->index) != 0) {
			http_free(h);
			return;
		}
		http_free(h);
		e->have_index = true;
		if (e->version == NULL && e->index.version != NULL)
			e->version = xstrdup(e->index.version);
		index_ready(e);
		return;
	case STEP_CHILD: {
		const struct manifest_child *c = &e->index.children[e->child];

		if (h->result == CURLE_OK && h->status == 404) {
			e->missing_digest = xstrdup(c->digest);
			e->missing_platform = platform_name(c->os,
			    c->architecture, c->variant);
			http_free(h);
			entry_finish(e, REGISTRY_ABSENT,
			    xasprintf(
				"the index "
				"%s lists %s for %s, but the registry no longer "
				"has it",
				e->digest, e->missing_digest,
				e->missing_platform));
			return;
		}
		if (h->result != CURLE_OK || h->status != 200) {
			what = xasprintf("the index child %s", c->digest);
			finish_http_error(e, h, what);
			free(what);
			http_free(h);
			return;
		}
		http_free(h);
		e->child++;
		entry_step(e);
		return;
	}
	case STEP_IMAGE: {
		struct manifest m = { 0 };

		if (h->result != CURLE_OK || h->status != 200) {
			what = xasprintf("the image manifest %s",
			    e->image_digest);
			finish_http_error(e, h, what);
			free(what);
			http_free(h);
			return;
		}
		if (take_manifest(e, e->image_digest, h->content_type, h->body,
			h->body_len, &m) != 0) {
			http_free(h);
			return;
		}
		http_free(h);
		if (e->version == NULL && m.version != NULL)
			e->version = xstrdup(m.version);
		if (m.config_digest == NULL) {
			manifest_reset(&m);
			entry_finish(e, REGISTRY_PRESENT, NULL);
			return;
		}
		free(e->config_path);
		e->config_path = xasprintf("/blobs/%s", m.config_digest);
		manifest_reset(&m);
		e->step = STEP_CONFIG;
		entry_step(e);
		return;
	}
	case STEP_CONFIG: {
		struct inspect_image cfg = { 0 };

		if (h->result == CURLE_OK && h->status == 200 &&
		    inspect_config_blob_parse(h->body, h->body_len, &cfg) ==
			0) {
			e->labels = xcalloc(cfg.n_labels + 1,
			    sizeof *e->labels);
			for (size_t i = 0; i < cfg.n_labels; i++)
				e->labels[i] = xasprintf("%s=%s",
				    cfg.labels[i].key, cfg.labels[i].value);
			e->env = xcalloc(cfg.n_env + 1, sizeof *e->env);
			for (size_t i = 0; i < cfg.n_env; i++)
				e->env[i] = xstrdup(cfg.env[i]);
			inspect_image_reset(&cfg);
		}
		/* A missing config blob does not make the image absent
		   here: the manifest check already answered. */
		http_free(h);
		entry_finish(e, REGISTRY_PRESENT, NULL);
		return;
	}
	default:
		http_free(h);
		entry_finish(e, REGISTRY_UNREACHABLE,
		    xstrdup("internal "
			    "error: unexpected registry answer"));
		return;
	}
}

/* Run the current step. */
static void
entry_step(struct reg_entry *e)
{
	struct reg_manifest *m;
	char *path;

	switch (e->step) {
	case STEP_HEAD:
		path = xasprintf("/manifests/%s", e->ref);
		entry_request(e, path, true, MANIFEST_ACCEPT);
		free(path);
		return;
	case STEP_TOKEN:
		return;
	case STEP_INDEX:
		if ((m = cache_manifest_get(e->reg, e->digest)) != NULL) {
			if (manifest_parse(m->body, m->len, m->content_type,
				&e->index, NULL) == 0) {
				e->have_index = true;
				if (e->version == NULL &&
				    e->index.version != NULL)
					e->version = xstrdup(e->index.version);
				index_ready(e);
				return;
			}
		}
		path = xasprintf("/manifests/%s", e->digest);
		entry_request(e, path, false, MANIFEST_ACCEPT);
		free(path);
		return;
	case STEP_CHILD:
		/* The host's child always; with all_platforms every
		   platform child.  Attestations are informational. */
		while (e->child < e->index.n_children) {
			const struct manifest_child
			    *c = &e->index.children[e->child];

			if (!c->attestation &&
			    (e->reg->set.all_platforms ||
				strcmp(c->digest, e->image_digest) == 0))
				break;
			e->child++;
		}
		if (e->child == e->index.n_children) {
			if (e->flags & REGISTRY_WANT_CONFIG) {
				e->step = STEP_IMAGE;
				entry_step(e);
			} else {
				entry_finish(e, REGISTRY_PRESENT, NULL);
			}
			return;
		}
		path = xasprintf("/manifests/%s",
		    e->index.children[e->child].digest);
		entry_request(e, path, true, MANIFEST_ACCEPT);
		free(path);
		return;
	case STEP_IMAGE:
		path = xasprintf("/manifests/%s", e->image_digest);
		entry_request(e, path, false, MANIFEST_ACCEPT);
		free(path);
		return;
	case STEP_CONFIG:
		entry_request(e, e->config_path, false, NULL);
		return;
	case STEP_DONE:
		return;
	}
}

/* ---- entries, waiters, cache ------------------------------------------ */

static void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
entry_free(struct reg_entry *e)
{
	http_free(e->http);
	free(e->key);
	free(e->host);
	free(e->api_host);
	free(e->repo);
	free(e->ref);
	set_auth_header(e, NULL);
	if (e->have_index)
		manifest_reset(&e->index);
	free(e->image_digest);
	free(e->config_path);
	free(e->digest);
	free(e->detail);
	free(e->missing_digest);
	free(e->missing_platform);
	free(e->version);
	strv_free(e->labels);
	strv_free(e->env);
	free(e);
}

static void
deliver(struct registry_check *c)
{
	struct reg_entry *e = c->e;
	struct registry_result r = { 0 };

	r.outcome = e->outcome;
	r.digest = e->digest;
	r.detail = e->detail;
	r.is_index = e->is_index;
	r.missing_digest = e->missing_digest;
	r.missing_platform = e->missing_platform;
	r.version = e->version;
	r.config_labels = (const char *const *)e->labels;
	r.config_env = (const char *const *)e->env;
	c->cb(&r, c->arg);
}

static void
check_free(struct registry_check *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	free(c);
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct registry_check *c = arg;

	TAILQ_REMOVE(&c->e->waiters, c, entry);
	deliver(c);
	check_free(c);
}

static void
entry_finish(struct reg_entry *e, enum registry_outcome o, char *detail)
{
	struct registry_check *c;
	time_t now = time(NULL);

	e->step = STEP_DONE;
	e->done = true;
	e->outcome = o;
	free(e->detail);
	e->detail = detail;
	if (e->have_index) {
		manifest_reset(&e->index);
		e->have_index = false;
	}
	set_auth_header(e, NULL);
	switch (o) {
	case REGISTRY_PRESENT:
		e->expires = now + e->reg->set.cache_ttl;
		break;
	case REGISTRY_ABSENT:
		e->expires = now + e->reg->set.negative_ttl;
		break;
	default:
		e->expires = now; /* indeterminate: ask again next time */
		break;
	}
	log_debug("registry: %s/%s%s%s is %s%s%s", e->host, e->repo,
	    strchr(e->ref, ':') != NULL ? "@" : ":", e->ref,
	    registry_outcome_name(o), detail ? ": " : "", detail ? detail : "");
	TAILQ_FOREACH(c, &e->waiters, entry)
	event_active(c->ev, EV_TIMEOUT, 0);
}

static void
evict(struct registry *reg)
{
	struct reg_entry *e, *next;
	time_t now = time(NULL);

	for (e = TAILQ_FIRST(&reg->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->done && TAILQ_EMPTY(&e->waiters) &&
		    (e->expires <= now || reg->n_entries > REG_MAX_ENTRIES)) {
			TAILQ_REMOVE(&reg->entries, e, entry);
			reg->n_entries--;
			entry_free(e);
		}
	}
}

struct registry_check *
registry_check(struct registry *reg, const char *domain, const char *path,
    const char *reference, const struct registry_platform *platform,
    unsigned flags, registry_cb cb, void *arg)
{
	struct registry_check *c = xcalloc(1, sizeof *c);
	struct reg_entry *e;
	char *key;
	time_t now = time(NULL);

	evict(reg);
	key = xasprintf("%s/%s@%s|%s/%s/%s|%u", domain, path, reference,
	    platform->os, platform->arch, platform->variant, flags);
	TAILQ_FOREACH(e, &reg->entries, entry)
	{
		if (strcmp(e->key, key) == 0 && (!e->done || e->expires > now))
			break;
	}
	if (e == NULL) {
		struct reg_token *t;
		char *scope;

		e = xcalloc(1, sizeof *e);
		e->reg = reg;
		e->key = key;
		key = NULL;
		e->host = xstrdup(domain);
		e->api_host = xstrdup(strcmp(domain, "docker.io") == 0
			? "registry-1.docker.io"
			: domain);
		e->repo = xstrdup(path);
		e->ref = xstrdup(reference);
		e->platform = *platform;
		e->flags = flags;
		TAILQ_INIT(&e->waiters);
		TAILQ_INSERT_TAIL(&reg->entries, e, entry);
		reg->n_entries++;
		scope = scope_for(e);
		if ((t = token_find(reg, e->host, scope)) != NULL)
			set_auth_header(e,
			    xasprintf("Authorization: Bearer %s", t->token));
		free(scope);
		e->step = STEP_HEAD;
		entry_step(e);
	}
	free(key);
	c->e = e;
	c->cb = cb;
	c->arg = arg;
	c->ev = evtimer_new(reg->base, deliver_cb, c);
	TAILQ_INSERT_TAIL(&e->waiters, c, entry);
	if (e->done)
		event_active(c->ev, EV_TIMEOUT, 0);
	return c;
}

void
registry_cancel(struct registry_check *c)
{
	if (c == NULL)
		return;
	TAILQ_REMOVE(&c->e->waiters, c, entry);
	/* The entry runs on: its answer is cached for the next asker. */
	check_free(c);
}

/* ---- life cycle -------------------------------------------------------- */

struct registry *
registry_new(struct event_base *base)
{
	struct registry *reg = xcalloc(1, sizeof *reg);
	static bool curl_ready;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			fatalx("curl_global_init failed");
		curl_ready = true;
	}
	reg->base = base;
	reg->multi = curl_multi_init();
	if (reg->multi == NULL)
		fatalx("curl_multi_init failed");
	reg->timer = evtimer_new(base, timer_event_cb, reg);
	curl_multi_setopt(reg->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(reg->multi, CURLMOPT_SOCKETDATA, reg);
	curl_multi_setopt(reg->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(reg->multi, CURLMOPT_TIMERDATA, reg);
	TAILQ_INIT(&reg->entries);
	TAILQ_INIT(&reg->manifests);
	TAILQ_INIT(&reg->tokens);
	reg->set.timeout_ms = 10000;
	reg->set.cache_ttl = 600;
	reg->set.negative_ttl = 30;
	return reg;
}

static void
forget_settings(struct registry *reg)
{
	for (size_t i = 0; i < reg->n_owned; i++) {
		explicit_bzero(reg->owned[i], strlen(reg->owned[i]));
		free(reg->owned[i]);
	}
	free(reg->owned);
	reg->owned = NULL;
	reg->n_owned = 0;
	for (size_t i = 0; i < 3; i++) {
		free(reg->lists[i]);
		reg->lists[i] = NULL;
	}
	if (reg->docker_config != NULL) {
		explicit_bzero(reg->docker_config, reg->docker_config_len);
		free(reg->docker_config);
		reg->docker_config = NULL;
	}
}

static const char *
own(struct registry *reg, const char *s)
{
	reg->owned = xreallocarray(reg->owned, reg->n_owned + 1,
	    sizeof *reg->owned);
	reg->owned[reg->n_owned] = xstrdup(s);
	return reg->owned[reg->n_owned++];
}

static const char *const *
own_list(struct registry *reg, int slot, const char *const *items, size_t n)
{
	const char **out = xcalloc(n + 1, sizeof *out);

	for (size_t i = 0; i < n; i++)
		out[i] = own(reg, items[i]);
	reg->lists[slot] = out;
	return out;
}

static int
read_docker_config(struct registry *reg, const char *path, char **cause)
{
	struct stat st;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*cause = xasprintf("docker_config %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || st.st_size > DOCKER_AUTH_MAX_CONFIG) {
		*cause = xasprintf("docker_config %s: not a file of at most "
				   "%d bytes",
		    path, DOCKER_AUTH_MAX_CONFIG);
		close(fd);
		return -1;
	}
	reg->docker_config = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, reg->docker_config + len,
		    (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	reg->docker_config[len] = '\0';
	reg->docker_config_len = len;
	return 0;
}

int
registry_configure(struct registry *reg, const struct registry_settings *set,
    char **cause)
{
	struct registry_settings next = *set;
	struct reg_entry *e, *en;

	forget_settings(reg);
	next.auth = own_list(reg, 0, set->auth, set->n_auth);
	next.ca_files = own_list(reg, 1, set->ca_files, set->n_ca_files);
	next.insecure = own_list(reg, 2, set->insecure, set->n_insecure);
	next.docker_config = set->docker_config != NULL
	    ? own(reg, set->docker_config)
	    : NULL;
	reg->set = next;
	/* Settings changed: finished answers may no longer hold. */
	for (e = TAILQ_FIRST(&reg->entries); e != NULL; e = en) {
		en = TAILQ_NEXT(e, entry);
		if (e->done && TAILQ_EMPTY(&e->waiters)) {
			TAILQ_REMOVE(&reg->entries, e, entry);
			reg->n_entries--;
			entry_free(e);
		}
	}
	if (next.docker_config != NULL && *next.docker_config != '\0')
		return read_docker_config(reg, next.docker_config, cause);
	return 0;
}

void
registry_free(struct registry *reg)
{
	struct reg_entry *e;
	struct reg_manifest *m;
	struct reg_token *t;

	if (reg == NULL)
		return;
	while ((e = TAILQ_FIRST(&reg->entries)) != NULL) {
		struct registry_check *c;

		while ((c = TAILQ_FIRST(&e->waiters)) != NULL) {
			TAILQ_REMOVE(&e->waiters, c, entry);
			check_free(c);
		}
		TAILQ_REMOVE(&reg->entries, e, entry);
		entry_free(e);
	}
	while ((m = TAILQ_FIRST(&reg->manifests)) != NULL)
		manifest_drop(reg, m);
	while ((t = TAILQ_FIRST(&reg->tokens)) != NULL)
		token_drop(reg, t);
	forget_settings(reg);
	curl_multi_cleanup(reg->multi);
	event_free(reg->timer);
	free(reg);
}

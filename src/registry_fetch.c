/*
 * One registry check as a state machine of HTTP requests: HEAD the
 * reference, maybe authenticate, maybe fetch an index and HEAD its
 * children, maybe fetch the image manifest and its config blob.  Each
 * step has a starter (fetch_step) and an answer handler (*_done).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inspect.h"
#include "log.h"
#include "manifest.h"
#include "registry_auth.h"
#include "registry_fetch.h"
#include "registry_http.h"
#include "registry_manifests.h"
#include "www_auth.h"
#include "xmalloc.h"

enum fetch_step {
	STEP_HEAD,   /* HEAD the reference */
	STEP_TOKEN,  /* fetching a bearer token */
	STEP_INDEX,  /* GET the index */
	STEP_CHILD,  /* HEAD children in turn */
	STEP_IMAGE,  /* GET the image manifest (for config) */
	STEP_CONFIG, /* GET the config blob */
	STEP_DONE,
};

struct reg_fetch {
	const struct reg_fetch_env *env;
	reg_fetch_done done;
	void *arg;
	char *host;	/* as in the reference */
	char *api_host; /* where requests go */
	char *repo;
	char *ref;
	struct registry_platform platform;
	unsigned flags;

	/* running state */
	enum fetch_step step;
	enum fetch_step retry_step; /* after a token */
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
	char **env_vars;
};

static void fetch_step(struct reg_fetch *f);

/* ---- settings by host -------------------------------------------------- */

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

/* ---- finishing --------------------------------------------------------- */

static void
set_auth_header(struct reg_fetch *f, char *header)
{
	reg_auth_header_free(f->auth_header);
	f->auth_header = header;
}

/* The answer is known: drop the running state and tell the owner. */
static void
fetch_finish(struct reg_fetch *f, enum registry_outcome o, char *detail)
{
	f->step = STEP_DONE;
	f->outcome = o;
	free(f->detail);
	f->detail = detail;
	if (f->have_index) {
		manifest_reset(&f->index);
		f->have_index = false;
	}
	set_auth_header(f, NULL);
	log_debug("registry: %s/%s%s%s is %s%s%s", f->host, f->repo,
	    strchr(f->ref, ':') != NULL ? "@" : ":", f->ref,
	    registry_outcome_name(o), detail ? ": " : "", detail ? detail : "");
	f->done(f, f->arg);
}

/* Classify a failed request. */
static void
finish_http_error(struct reg_fetch *f, struct reg_http *h, const char *what)
{
	enum registry_outcome o;
	char *d;

	if (h->failed) {
		o = REGISTRY_UNREACHABLE;
		d = xasprintf("%s: %s", what,
		    h->too_big ? "the answer is too large" : reg_http_error(h));
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
	fetch_finish(f, o, d);
}

/* A request that did not answer 200: finish with what it was (allocated,
 * freed here) and free h. */
static void
fail_request(struct reg_fetch *f, struct reg_http *h, char *what)
{
	finish_http_error(f, h, what);
	free(what);
	reg_http_free(h);
}

static bool
answered_ok(const struct reg_http *h)
{
	return !h->failed && h->status == 200;
}

/* ---- requests ---------------------------------------------------------- */

static void http_done_cb(struct reg_http *h, void *arg);

static struct reg_http *
fetch_http(struct reg_fetch *f, const char *url, bool head, const char *accept,
    reg_http_done done)
{
	const struct registry_settings *set = f->env->set;
	struct reg_http_req req = {
		.url = url,
		.head = head,
		.accept = accept,
		.auth_header = f->auth_header,
		.ca_file = host_item(set->ca_files, set->n_ca_files, f->host),
		.timeout_ms = set->timeout_ms,
	};

	return reg_http_start(f->env->transport, &req, done, f);
}

/* Issue the request of the current step (HEAD or GET of path). */
static void
fetch_request(struct reg_fetch *f, const char *path, bool head,
    const char *accept)
{
	const struct registry_settings *set = f->env->set;
	bool plain = host_is_loopback(f->host) ||
	    list_has_host(set->insecure, set->n_insecure, f->host);
	char *url = xasprintf("%s://%s/v2/%s%s", plain ? "http" : "https",
	    f->api_host, f->repo, path);

	f->http = fetch_http(f, url, head, accept, http_done_cb);
	free(url);
}

static void
request_manifest(struct reg_fetch *f, const char *digest_or_ref, bool head)
{
	char *path = xasprintf("/manifests/%s", digest_or_ref);

	fetch_request(f, path, head, MANIFEST_ACCEPT);
	free(path);
}

/* ---- authentication ---------------------------------------------------- */

static void
token_failed(struct reg_fetch *f, struct reg_http *h)
{
	enum registry_outcome o = h->status == 429 ? REGISTRY_RATE_LIMITED
						   : REGISTRY_UNAUTHORIZED;
	char *d = h->failed
	    ? xasprintf("the token service could not be reached: %s",
		  reg_http_error(h))
	    : xasprintf("the token service answered %ld", h->status);

	if (h->failed)
		o = REGISTRY_UNREACHABLE;
	reg_http_free(h);
	fetch_finish(f, o, d);
}

static void
token_done_cb(struct reg_http *h, void *arg)
{
	struct reg_fetch *f = arg;
	long expires = 60;
	char *token, *scope;

	f->http = NULL;
	if (!answered_ok(h)) {
		token_failed(f, h);
		return;
	}
	token = www_auth_token_from_json(h->body, h->body_len, &expires);
	reg_http_free(h);
	if (token == NULL) {
		fetch_finish(f, REGISTRY_UNAUTHORIZED,
		    xstrdup("the token service answered without a token"));
		return;
	}
	scope = reg_auth_scope(f->repo);
	reg_auth_token_store(f->env->auth, f->host, scope, token, expires);
	free(scope);
	set_auth_header(f, reg_auth_bearer_header(token));
	explicit_bzero(token, strlen(token));
	free(token);
	f->step = f->retry_step;
	fetch_step(f);
}

/* A bearer challenge: fetch a token (Basic credentials go to the token
 * service, not the registry), then retry the current step. */
static void
fetch_token(struct reg_fetch *f, const struct www_auth_challenge *ch,
    const char *creds)
{
	char *scope = reg_auth_scope(f->repo),
	     *url = www_auth_token_url(ch, scope);

	free(scope);
	if (url == NULL) {
		fetch_finish(f, REGISTRY_UNAUTHORIZED,
		    xstrdup("the registry's bearer challenge has no realm"));
		return;
	}
	set_auth_header(f, creds != NULL ? reg_auth_basic_header(creds) : NULL);
	f->retry_step = f->step;
	f->step = STEP_TOKEN;
	f->http = fetch_http(f, url, false, NULL, token_done_cb);
	free(url);
}

/* A challenge we understand: answer it with a token or Basic credentials
 * (creds, borrowed, may be NULL), or finish saying why not. */
static void
answer_challenge(struct reg_fetch *f, const struct www_auth *wa,
    const char *creds)
{
	const struct www_auth_challenge *ch;

	f->authed = true;
	if ((ch = www_auth_find(wa, "bearer")) != NULL) {
		fetch_token(f, ch, creds);
	} else if (www_auth_find(wa, "basic") != NULL && creds != NULL) {
		set_auth_header(f, reg_auth_basic_header(creds));
		fetch_step(f);
	} else {
		fetch_finish(f, REGISTRY_UNAUTHORIZED,
		    xstrdup(creds == NULL
			    ? "the registry requires credentials and none are "
			      "configured for it"
			    : "the registry asks for an "
			      "authentication scheme the guard does not support"));
	}
}

/* A 401: authenticate once, then retry the same request. */
static void
authenticate(struct reg_fetch *f, const char *challenge)
{
	struct www_auth wa = { 0 };
	const struct registry_settings *set = f->env->set;
	char *creds = reg_auth_credentials(f->env->auth,
	    host_item(set->auth, set->n_auth, f->host), f->host);

	if (f->authed || challenge == NULL ||
	    www_auth_parse(challenge, &wa) != 0)
		fetch_finish(f, REGISTRY_UNAUTHORIZED,
		    xstrdup(f->authed
			    ? "the registry refused the credentials"
			    : "the registry asks for authentication in a form the "
			      "guard does not understand"));
	else
		answer_challenge(f, &wa, creds);
	if (creds != NULL) {
		explicit_bzero(creds, strlen(creds));
		free(creds);
	}
	www_auth_reset(&wa);
}

static void
unauthorized(struct reg_fetch *f, struct reg_http *h)
{
	char *challenge = h->www_auth != NULL ? xstrdup(h->www_auth) : NULL;

	reg_http_free(h);
	authenticate(f, challenge);
	free(challenge);
}
/* ---- manifests and platforms ------------------------------------------- */

static char *
platform_name(const char *os, const char *arch, const char *variant)
{
	return xasprintf("%s/%s%s%s", os ? os : "?", arch ? arch : "?",
	    variant != NULL && *variant != '\0' ? "/" : "",
	    variant != NULL ? variant : "");
}

/* The index is known (parsed into f->index): pick the children to HEAD. */
static void
index_ready(struct reg_fetch *f)
{
	const struct manifest_child *want;

	f->have_index = true;
	if (f->version == NULL && f->index.version != NULL)
		f->version = xstrdup(f->index.version);
	want = manifest_find_platform(&f->index, f->platform.os,
	    f->platform.arch, f->platform.variant);
	if (want == NULL) {
		f->missing_platform = platform_name(f->platform.os,
		    f->platform.arch, f->platform.variant);
		fetch_finish(f, REGISTRY_ABSENT,
		    xasprintf("the index %s has "
			      "no image for this host's platform %s",
			f->digest, f->missing_platform));
		return;
	}
	if (want->version != NULL && f->version == NULL)
		f->version = xstrdup(want->version);
	f->image_digest = xstrdup(want->digest);
	f->child = 0;
	f->step = STEP_CHILD;
	fetch_step(f);
}

/* Verify and parse a manifest body for the current step, and cache it.
 * Returns 0, or -1 after finishing the fetch. */
static int
take_manifest(struct reg_fetch *f, const char *digest, const struct reg_http *h,
    struct manifest *out)
{
	const char *cause = NULL;
	char *actual = manifest_sha256_digest(h->body, h->body_len);

	if (strcmp(actual, digest) != 0) {
		fetch_finish(f, REGISTRY_UNREACHABLE,
		    xasprintf("the manifest "
			      "the registry sent for %s has digest %s",
			digest, actual));
		free(actual);
		return -1;
	}
	free(actual);
	if (manifest_parse(h->body, h->body_len, h->content_type, out,
		&cause) != 0) {
		fetch_finish(f, REGISTRY_UNREACHABLE,
		    xasprintf("the manifest "
			      "%s cannot be read: %s",
			digest, cause ? cause : "?"));
		return -1;
	}
	reg_manifests_put(f->env->manifests, digest, h->content_type, h->body,
	    h->body_len);
	return 0;
}

/* ---- the steps: start ---------------------------------------------------- */

/* STEP_INDEX: the index from the cache, else GET it. */
static void
start_index(struct reg_fetch *f)
{
	const struct reg_manifest *m = reg_manifests_get(f->env->manifests,
	    f->digest);

	if (m != NULL &&
	    manifest_parse(m->body, m->len, m->content_type, &f->index, NULL) ==
		0) {
		index_ready(f);
		return;
	}
	request_manifest(f, f->digest, false);
}

/* STEP_CHILD: HEAD the next child to check.  The host's child always;
 * with all_platforms every platform child.  Attestations are
 * informational. */
static void
start_child(struct reg_fetch *f)
{
	while (f->child < f->index.n_children) {
		const struct manifest_child *c = &f->index.children[f->child];

		if (!c->attestation &&
		    (f->env->set->all_platforms ||
			strcmp(c->digest, f->image_digest) == 0))
			break;
		f->child++;
	}
	if (f->child < f->index.n_children) {
		request_manifest(f, f->index.children[f->child].digest, true);
	} else if (f->flags & REGISTRY_WANT_CONFIG) {
		f->step = STEP_IMAGE;
		fetch_step(f);
	} else {
		fetch_finish(f, REGISTRY_PRESENT, NULL);
	}
}

/* Run the current step. */
static void
fetch_step(struct reg_fetch *f)
{
	switch (f->step) {
	case STEP_HEAD:
		request_manifest(f, f->ref, true);
		return;
	case STEP_INDEX:
		start_index(f);
		return;
	case STEP_CHILD:
		start_child(f);
		return;
	case STEP_IMAGE:
		request_manifest(f, f->image_digest, false);
		return;
	case STEP_CONFIG:
		fetch_request(f, f->config_path, false, NULL);
		return;
	case STEP_TOKEN:
	case STEP_DONE:
		return;
	}
}

/* ---- the steps: answers ------------------------------------------------ */

/* STEP_HEAD answered: what the reference resolves to, then the next step
 * if the flags ask for more. */
static void
head_done(struct reg_fetch *f, struct reg_http *h)
{
	if (!answered_ok(h)) {
		/* "repo@sha256:...", "repo:tag" */
		fail_request(f, h,
		    xasprintf("%s/%s%s%s", f->host, f->repo,
			strchr(f->ref, ':') != NULL ? "@" : ":", f->ref));
		return;
	}
	if (strncmp(f->ref, "sha256:", 7) == 0)
		f->digest = xstrdup(f->ref);
	else if (h->docker_digest != NULL)
		f->digest = xstrdup(h->docker_digest);
	f->is_index = manifest_kind_of(h->content_type) == MANIFEST_INDEX;
	reg_http_free(h);
	if (f->digest == NULL) {
		fetch_finish(f, REGISTRY_UNREACHABLE,
		    xstrdup("the registry did not say the manifest's digest"));
		return;
	}
	if (f->flags & REGISTRY_DIGEST_ONLY) {
		fetch_finish(f, REGISTRY_PRESENT, NULL);
	} else if (f->is_index) {
		f->step = STEP_INDEX;
		fetch_step(f);
	} else if (f->flags & REGISTRY_WANT_CONFIG) {
		f->image_digest = xstrdup(f->digest);
		f->step = STEP_IMAGE;
		fetch_step(f);
	} else {
		fetch_finish(f, REGISTRY_PRESENT, NULL);
	}
}

/* STEP_INDEX answered: verify, parse and cache the index. */
static void
index_done(struct reg_fetch *f, struct reg_http *h)
{
	int rc;

	if (!answered_ok(h)) {
		fail_request(f, h, xasprintf("the index %s", f->digest));
		return;
	}
	rc = take_manifest(f, f->digest, h, &f->index);
	reg_http_free(h);
	if (rc == 0)
		index_ready(f);
}

/* STEP_CHILD answered: a 404 is a child gone from under its index. */
static void
child_done(struct reg_fetch *f, struct reg_http *h)
{
	const struct manifest_child *c = &f->index.children[f->child];

	if (!h->failed && h->status == 404) {
		f->missing_digest = xstrdup(c->digest);
		f->missing_platform = platform_name(c->os, c->architecture,
		    c->variant);
		reg_http_free(h);
		fetch_finish(f, REGISTRY_ABSENT,
		    xasprintf("the index "
			      "%s lists %s for %s, but the registry no longer "
			      "has it",
			f->digest, f->missing_digest, f->missing_platform));
		return;
	}
	if (!answered_ok(h)) {
		fail_request(f, h, xasprintf("the index child %s", c->digest));
		return;
	}
	reg_http_free(h);
	f->child++;
	fetch_step(f);
}

/* STEP_IMAGE answered: its version, and where its config blob is. */
static void
image_done(struct reg_fetch *f, struct reg_http *h)
{
	struct manifest m = { 0 };
	int rc;

	if (!answered_ok(h)) {
		fail_request(f, h,
		    xasprintf("the image manifest %s", f->image_digest));
		return;
	}
	rc = take_manifest(f, f->image_digest, h, &m);
	reg_http_free(h);
	if (rc != 0)
		return;
	if (f->version == NULL && m.version != NULL)
		f->version = xstrdup(m.version);
	if (m.config_digest == NULL) {
		manifest_reset(&m);
		fetch_finish(f, REGISTRY_PRESENT, NULL);
		return;
	}
	free(f->config_path);
	f->config_path = xasprintf("/blobs/%s", m.config_digest);
	manifest_reset(&m);
	f->step = STEP_CONFIG;
	fetch_step(f);
}

/* STEP_CONFIG answered: the config's labels and environment.  A missing
 * config blob does not make the image absent here: the manifest check
 * already answered. */
static void
config_done(struct reg_fetch *f, struct reg_http *h)
{
	struct inspect_image cfg = { 0 };

	if (answered_ok(h) &&
	    inspect_config_blob_parse(h->body, h->body_len, &cfg) == 0) {
		f->labels = xcalloc(cfg.n_labels + 1, sizeof *f->labels);
		for (size_t i = 0; i < cfg.n_labels; i++)
			f->labels[i] = xasprintf("%s=%s", cfg.labels[i].key,
			    cfg.labels[i].value);
		f->env_vars = xcalloc(cfg.n_env + 1, sizeof *f->env_vars);
		for (size_t i = 0; i < cfg.n_env; i++)
			f->env_vars[i] = xstrdup(cfg.env[i]);
		inspect_image_reset(&cfg);
	}
	reg_http_free(h);
	fetch_finish(f, REGISTRY_PRESENT, NULL);
}

/* A step's request ended: a 401 authenticates, anything else goes to the
 * step's handler, which frees h. */
static void
http_done_cb(struct reg_http *h, void *arg)
{
	struct reg_fetch *f = arg;

	f->http = NULL;
	if (!h->failed && h->status == 401) {
		unauthorized(f, h);
		return;
	}
	switch (f->step) {
	case STEP_HEAD:
		head_done(f, h);
		return;
	case STEP_INDEX:
		index_done(f, h);
		return;
	case STEP_CHILD:
		child_done(f, h);
		return;
	case STEP_IMAGE:
		image_done(f, h);
		return;
	case STEP_CONFIG:
		config_done(f, h);
		return;
	case STEP_TOKEN:
	case STEP_DONE:
		break;
	}
	reg_http_free(h);
	fetch_finish(f, REGISTRY_UNREACHABLE,
	    xstrdup("internal error: unexpected registry answer"));
}

/* ---- life cycle -------------------------------------------------------- */

struct reg_fetch *
reg_fetch_start(const struct reg_fetch_env *env, const char *host,
    const char *repo, const char *ref, const struct registry_platform *platform,
    unsigned flags, reg_fetch_done done, void *arg)
{
	struct reg_fetch *f = xcalloc(1, sizeof *f);
	char *scope;

	f->env = env;
	f->done = done;
	f->arg = arg;
	f->host = xstrdup(host);
	f->api_host = xstrdup(
	    strcmp(host, "docker.io") == 0 ? "registry-1.docker.io" : host);
	f->repo = xstrdup(repo);
	f->ref = xstrdup(ref);
	f->platform = *platform;
	f->flags = flags;
	scope = reg_auth_scope(f->repo);
	f->auth_header = reg_auth_cached_header(env->auth, f->host, scope);
	free(scope);
	f->step = STEP_HEAD;
	fetch_step(f);
	return f;
}

void
reg_fetch_result(const struct reg_fetch *f, struct registry_result *r)
{
	memset(r, 0, sizeof *r);
	r->outcome = f->outcome;
	r->digest = f->digest;
	r->detail = f->detail;
	r->is_index = f->is_index;
	r->missing_digest = f->missing_digest;
	r->missing_platform = f->missing_platform;
	r->version = f->version;
	r->config_labels = (const char *const *)f->labels;
	r->config_env = (const char *const *)f->env_vars;
}

static void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
reg_fetch_free(struct reg_fetch *f)
{
	if (f == NULL)
		return;
	reg_http_free(f->http);
	free(f->host);
	free(f->api_host);
	free(f->repo);
	free(f->ref);
	set_auth_header(f, NULL);
	if (f->have_index)
		manifest_reset(&f->index);
	free(f->image_digest);
	free(f->config_path);
	free(f->digest);
	free(f->detail);
	free(f->missing_digest);
	free(f->missing_platform);
	free(f->version);
	strv_free(f->labels);
	strv_free(f->env_vars);
	free(f);
}

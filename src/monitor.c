/*
 * The engine watcher: version, sync, events.  Container work is a queue
 * handled one at a time (inspect the container, inspect its image, record
 * it), so a burst of events never floods the engine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "engine.h"
#include "imgref.h"
#include "inspect.h"
#include "log.h"
#include "monitor.h"
#include "policy.h"
#include "server.h"
#include "store.h"
#include "xmalloc.h"

/* Events for containers the guard creates arrive before the guard has
 * recorded them: look only after this delay. */
#define MONITOR_EVENT_DELAY_MS	2000
#define MONITOR_MAX_QUEUE	10000
#define MONITOR_BACKOFF_MAX	30

enum job_kind {
	JOB_SYNC,		/* seed: record if unknown, quietly */
	JOB_EVENT,		/* create event: record if unknown, flag it */
	JOB_ADOPT,		/* the guard's own restore: record quietly */
};

struct mon_job {
	TAILQ_ENTRY(mon_job)	 entry;
	char			*id;
	enum job_kind		 kind;
	char			*source;
	int64_t			 due_ms;
};

struct monitor {
	struct server		*srv;
	struct store		*store;
	int			 follow;
	TAILQ_HEAD(, mon_job)	 jobs;
	size_t			 n_jobs;
	struct mon_job		*current;
	struct engine_req	*req;		/* job work in flight */
	struct event		*job_timer;
	struct inspect_container c;		/* the current job's */

	struct engine_req	*stream;	/* GET /events */
	struct engine_req	*version_req;
	struct event		*retry_timer;
	int			 backoff;

	struct engine_req	*list_req;	/* sync: GET /containers/json */
	monitor_done_cb		 sync_done;
	void			*sync_arg;
	int			 sync_pending;	/* jobs of the running sync */
	int			 sync_recorded;
};

static void	job_next(struct monitor *m);
static void	connect_stream(struct monitor *m);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
audit_event(struct monitor *m, enum store_verdict v, const char *rule,
    const char *app, const char *image, const char *digest,
    const char *version, const char *message)
{
	struct store_audit a = { 0 };
	char *cause = NULL;

	a.time_ms = now_ms();
	a.method = "EVENT";
	a.route = "engine";
	a.app = app;
	a.image_ref = image;
	a.digest = digest;
	a.version = version;
	a.rule = rule;
	a.verdict = v;
	a.message = message;
	if (store_audit(m->store, &a, &cause) != 0) {
		log_error("audit: %s", cause);
		free(cause);
	}
}

static void
job_free(struct mon_job *j)
{
	free(j->id);
	free(j->source);
	free(j);
}

static void
enqueue(struct monitor *m, const char *id, enum job_kind kind,
    const char *source, int64_t delay_ms)
{
	struct mon_job *j;

	if (m->n_jobs >= MONITOR_MAX_QUEUE) {
		log_warn("monitor: too much to do; not recording container %.12s",
		    id);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->id = xstrdup(id);
	j->kind = kind;
	j->source = xstrdup(source);
	j->due_ms = now_ms() + delay_ms;
	TAILQ_INSERT_TAIL(&m->jobs, j, entry);
	m->n_jobs++;
	if (kind == JOB_SYNC)
		m->sync_pending++;
	if (m->current == NULL)
		job_next(m);
}

static void
sync_job_done(struct monitor *m, struct mon_job *j, bool recorded)
{
	if (j->kind != JOB_SYNC)
		return;
	if (recorded)
		m->sync_recorded++;
	if (--m->sync_pending == 0 && m->sync_done != NULL) {
		monitor_done_cb done = m->sync_done;

		m->sync_done = NULL;
		done(m->sync_recorded, NULL, m->sync_arg);
	}
}

/* The current job is finished: on to the next. */
static void
job_finish(struct monitor *m, bool recorded)
{
	struct mon_job *j = m->current;

	m->current = NULL;
	inspect_container_reset(&m->c);
	sync_job_done(m, j, recorded);
	job_free(j);
	job_next(m);
}

static void
image_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	struct mon_job *j = m->current;
	struct inspect_image img = { 0 };
	struct policy_image pi = { 0 };
	struct store_deployment d = { 0 };
	struct imgref ref;
	const char *cause = NULL, *source = NULL, *digest = NULL;
	char *app, *version = NULL, *why = NULL;
	bool parsed, ok;

	m->req = NULL;
	app = policy_app_name(&m->c.facts, m->c.name);
	if (status == 200 && inspect_image_parse(body, len, &img) == 0)
		policy_image_of(&pi, &img);
	parsed = m->c.image_ref != NULL &&
	    imgref_parse(m->c.image_ref, &ref, &cause) == 0;
	if (parsed && ref.kind == IMGREF_NAME &&
	    !policy_ref_is_image_id(&ref, m->c.image_ref, img.id)) {
		char *repo = imgref_repository(&ref);

		for (size_t i = 0; repo != NULL && i < img.n_repo_digests;
		    i++) {
			if (strncmp(img.repo_digests[i], repo,
			    strlen(repo)) == 0 &&
			    img.repo_digests[i][strlen(repo)] == '@')
				digest = img.repo_digests[i];
		}
		free(repo);
	}
	/* The image's own version, however the container named it. */
	version = policy_version(m->srv->cfg, &pi, NULL, m->c.image_ref, app,
	    &source);
	if (digest == NULL && img.n_repo_digests > 0)
		digest = img.repo_digests[0];
	if (parsed)
		imgref_reset(&ref);
	d.app = app;
	d.container_id = m->c.id;
	d.container_name = m->c.name;
	d.image_ref = m->c.image_ref != NULL ? m->c.image_ref : "?";
	d.image_id = m->c.image_id;
	d.repo_digest = digest;
	d.version = version;
	d.time = m->c.created > 0 ? m->c.created : now_ms() / 1000;
	d.source = j->source;
	ok = app != NULL;
	if (ok && store_record_deployment(m->store, &d, &why) != 0) {
		log_error("ledger: recording container %.12s: %s", m->c.id, why);
		free(why);
		ok = false;
	}
	if (ok && j->kind == JOB_EVENT) {
		char *msg = xasprintf("container \"%s\" (app \"%s\") was created "
		    "without passing through docker-guard: image %s, version "
		    "%s", m->c.name ? m->c.name : m->c.id, app, d.image_ref,
		    version ? version : "unknown");

		log_warn("%s", msg);
		audit_event(m, STORE_WARN, "out_of_band", app, d.image_ref,
		    digest, version, msg);
		free(msg);
	} else if (ok) {
		log_info("%s: recorded app \"%s\" %s version %s", j->source,
		    app, d.image_ref, version ? version : "unknown");
	}
	free(app);
	free(version);
	inspect_image_reset(&img);
	job_finish(m, ok);
}

static void
container_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	char *path, *esc;

	m->req = NULL;
	if (status != 200 || inspect_container_parse(body, len, &m->c) != 0) {
		/* Gone already (a short-lived container): nothing to keep. */
		job_finish(m, false);
		return;
	}
	esc = engine_path_escape(m->c.image_id != NULL ? m->c.image_id :
	    m->c.image_ref != NULL ? m->c.image_ref : "");
	path = xasprintf("/images/%s/json", esc);
	free(esc);
	m->req = engine_get(m->srv->base, m->srv->cfg->upstream, path,
	    image_cb, m);
	free(path);
}

static void
job_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	job_next(arg);
}

static void
job_next(struct monitor *m)
{
	struct mon_job *j;
	bool known = false;
	char *cause = NULL, *path;
	int64_t now;

	while (m->current == NULL && !TAILQ_EMPTY(&m->jobs)) {
		struct mon_job *due = NULL, *it;
		int64_t next = INT64_MAX;

		/* The first job that is due, in queue order: a delayed event
		   never holds up an adoption behind it. */
		now = now_ms();
		TAILQ_FOREACH(it, &m->jobs, entry) {
			if (it->due_ms <= now) {
				due = it;
				break;
			}
			if (it->due_ms < next)
				next = it->due_ms;
		}
		if (due == NULL) {
			struct timeval tv;

			tv.tv_sec = (next - now) / 1000;
			tv.tv_usec = ((next - now) % 1000) * 1000;
			evtimer_add(m->job_timer, &tv);
			return;
		}
		j = due;
		TAILQ_REMOVE(&m->jobs, j, entry);
		m->n_jobs--;
		if (store_container_known(m->store, j->id, &known,
		    &cause) != 0) {
			log_error("ledger: %s", cause);
			free(cause);
			known = true;	/* cannot tell: do not flag */
		}
		if (known) {
			sync_job_done(m, j, false);
			job_free(j);
			continue;
		}
		m->current = j;
		path = xasprintf("/containers/%s/json", j->id);
		m->req = engine_get(m->srv->base, m->srv->cfg->upstream, path,
		    container_cb, m);
		free(path);
	}
}

/* ---- sync ------------------------------------------------------------- */

static void
list_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	char **ids;
	monitor_done_cb done;

	m->list_req = NULL;
	ids = status == 200 ? inspect_container_ids(body, len) : NULL;
	if (ids == NULL) {
		char *msg = xasprintf("cannot list the engine's containers: %s",
		    error != NULL ? error : "unexpected answer");

		done = m->sync_done;
		m->sync_done = NULL;
		if (done != NULL)
			done(0, msg, m->sync_arg);
		free(msg);
		return;
	}
	m->sync_recorded = 0;
	m->sync_pending = 1;	/* held until every job is queued */
	for (size_t i = 0; ids[i] != NULL; i++) {
		enqueue(m, ids[i], JOB_SYNC, "sync", 0);
		free(ids[i]);
	}
	free(ids);
	/* Drop the hold; finishes at once when nothing was queued. */
	if (--m->sync_pending == 0 && m->sync_done != NULL) {
		done = m->sync_done;
		m->sync_done = NULL;
		done(m->sync_recorded, NULL, m->sync_arg);
	}
}

void
monitor_sync(struct monitor *m, monitor_done_cb done, void *arg)
{
	m->sync_done = done;
	m->sync_arg = arg;
	engine_cancel(m->list_req);
	m->list_req = engine_get(m->srv->base, m->srv->cfg->upstream,
	    "/containers/json?all=1", list_cb, m);
}

static void
first_sync_done(int recorded, const char *error, void *arg)
{
	struct monitor *m = arg;
	char *cause = NULL;

	if (error != NULL) {
		log_warn("sync: %s; will try again at the next reconnect",
		    error);
		return;
	}
	log_info("sync: %d existing container(s) recorded", recorded);
	if (store_meta_set(m->store, "synced", "1", &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
	}
}

void
monitor_adopt(struct monitor *m, const char *container_id, const char *source)
{
	enqueue(m, container_id, JOB_ADOPT, source, 0);
}

/* ---- engine version and events ----------------------------------------- */

static void
version_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	char *version = NULL, *old = NULL, *cause = NULL, *synced = NULL;

	m->version_req = NULL;
	if (status != 200 ||
	    (version = inspect_engine_version(body, len)) == NULL) {
		log_warn("cannot read the engine's version: %s",
		    error != NULL ? error : "unexpected answer");
		return;
	}
	if (store_meta_get(m->store, "engine_version", &old, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		free(version);
		return;
	}
	if (old == NULL || strcmp(old, version) != 0) {
		if (old != NULL) {
			char *msg = xasprintf("the Docker engine changed from "
			    "%s to %s", old, version);

			log_warn("%s", msg);
			audit_event(m, STORE_WARN, "engine_version", NULL, NULL,
			    NULL, version, msg);
			free(msg);
		} else {
			log_info("engine version %s", version);
		}
		if (store_meta_set(m->store, "engine_version", version,
		    &cause) != 0) {
			log_error("ledger: %s", cause);
			free(cause);
		}
	}
	free(old);
	free(version);
	/* Seed the ledger once; later reconnects catch up through the
	   same queue, quietly for what is already known. */
	if (store_meta_get(m->store, "synced", &synced, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
	} else if (synced == NULL) {
		monitor_sync(m, first_sync_done, m);
	}
	free(synced);
}

static void
event_line_cb(const char *line, size_t len, void *arg)
{
	struct monitor *m = arg;
	struct inspect_event ev;
	char *cause = NULL;
	int rc = 0;

	m->backoff = 0;
	if (inspect_event_parse(line, len, &ev) != 0)
		return;
	if (strcmp(ev.action, "create") == 0) {
		enqueue(m, ev.id, JOB_EVENT, "event", MONITOR_EVENT_DELAY_MS);
	} else if (strcmp(ev.action, "destroy") == 0) {
		rc = store_record_removal(m->store, ev.id, now_ms() / 1000,
		    &cause);
	} else if (strcmp(ev.action, "rename") == 0 && ev.name != NULL) {
		rc = store_record_rename(m->store, ev.id, ev.name, &cause);
	}
	if (rc != 0) {
		log_error("ledger: event %s: %s", ev.action, cause);
		free(cause);
	}
	inspect_event_reset(&ev);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	connect_stream(arg);
}

static void
stream_end_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	struct timeval tv = { 0, 0 };

	m->stream = NULL;
	m->backoff = m->backoff == 0 ? 1 : m->backoff * 2;
	if (m->backoff > MONITOR_BACKOFF_MAX)
		m->backoff = MONITOR_BACKOFF_MAX;
	tv.tv_sec = m->backoff;
	log_warn("the engine's event stream ended (%s); reconnecting in %d s",
	    error != NULL ? error : status != 200 && status != 0 ?
	    "unexpected answer" : "closed", m->backoff);
	evtimer_add(m->retry_timer, &tv);
}

static void
connect_stream(struct monitor *m)
{
	/* {"type":["container"]} */
	static const char path[] = "/events?filters=%7B%22type%22%3A%5B%22"
	    "container%22%5D%7D";

	engine_cancel(m->version_req);
	m->version_req = engine_get(m->srv->base, m->srv->cfg->upstream,
	    "/version", version_cb, m);
	m->stream = engine_stream(m->srv->base, m->srv->cfg->upstream, path,
	    event_line_cb, stream_end_cb, m);
}

struct monitor *
monitor_new(struct server *srv, struct store *st, int follow)
{
	struct monitor *m = xcalloc(1, sizeof *m);

	m->srv = srv;
	m->store = st;
	m->follow = follow;
	TAILQ_INIT(&m->jobs);
	m->job_timer = evtimer_new(srv->base, job_timer_cb, m);
	m->retry_timer = evtimer_new(srv->base, retry_cb, m);
	if (follow)
		connect_stream(m);
	return m;
}

void
monitor_free(struct monitor *m)
{
	struct mon_job *j;

	if (m == NULL)
		return;
	engine_cancel(m->req);
	engine_cancel(m->stream);
	engine_cancel(m->version_req);
	engine_cancel(m->list_req);
	while ((j = TAILQ_FIRST(&m->jobs)) != NULL) {
		TAILQ_REMOVE(&m->jobs, j, entry);
		job_free(j);
	}
	if (m->current != NULL)
		job_free(m->current);
	inspect_container_reset(&m->c);
	event_free(m->job_timer);
	event_free(m->retry_timer);
	free(m);
}

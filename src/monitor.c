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

#include "body_inspect.h"
#include "engine.h"
#include "imgref.h"
#include "inspect.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "policy.h"
#include "config.h"
#include "store.h"
#include "xmalloc.h"

/* Events for containers the guard creates arrive before the guard has
 * recorded them: look only after this delay. */
#define MONITOR_EVENT_DELAY_MS 2000
#define MONITOR_MAX_QUEUE 10000
#define MONITOR_BACKOFF_MAX 30
/* While writes wait to land, or the ledger cannot be read, look again
   after this long. */
#define MONITOR_LEDGER_WAIT_MS 100
#define MONITOR_READ_RETRY_MS 500
/* How often the time of the last event seen is saved. */
#define MONITOR_CURSOR_SAVE_MS 1000

enum job_kind {
	JOB_SYNC,    /* seed: record if unknown, quietly */
	JOB_EVENT,   /* create event: record if unknown, flag it */
	JOB_CATCHUP, /* reconcile: record if unknown, flag it */
	JOB_ADOPT,   /* the guard's own restore: record quietly */
};

struct mon_job {
	TAILQ_ENTRY(mon_job) entry;
	char *id;
	enum job_kind kind;
	char *source;
	int64_t due_ms;
};

struct monitor {
	struct event_base *base;
	const struct guard_config *const *cfg; /* the caller's current */
	struct ledger *ledger;
	struct store *store; /* reads */
	int follow;
	TAILQ_HEAD(, mon_job) jobs;
	size_t n_jobs;
	struct mon_job *current;
	struct engine_req *req; /* job work in flight */
	struct event *job_timer;
	struct inspect_container c; /* the current job's */
	char *task_app; /* a swarm task's: its service's app, else NULL */

	struct engine_req *stream; /* GET /events */
	struct engine_req *version_req;
	struct event *retry_timer;
	int backoff;
	int engine_up; /* 1 answered, 0 failed, -1 not asked yet */

	struct engine_req *list_req; /* sync: GET /containers/json */
	monitor_done_cb sync_done;
	void *sync_arg;
	int sync_pending; /* jobs of the running sync */
	int sync_recorded;

	/* Catching up after a start or reconnect. */
	struct engine_req *reconcile_req;
	struct event *reconcile_timer;
	int64_t reconcile_at;  /* unix seconds of the list */
	int64_t last_event_ns; /* of the last event seen */
	bool cursor_dirty;
	struct event *cursor_timer;
};

static void job_next(struct monitor *m);
static void connect_stream(struct monitor *m);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
		log_warn(
		    "monitor: too much to do; not recording container %.12s",
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

/* Drop what was read of the current job's container. */
static void
forget_container(struct monitor *m)
{
	inspect_container_reset(&m->c);
	free(m->task_app);
	m->task_app = NULL;
}

/* The current job is finished: on to the next. */
static void
job_finish(struct monitor *m, bool recorded)
{
	struct mon_job *j = m->current;

	m->current = NULL;
	forget_container(m);
	sync_job_done(m, j, recorded);
	job_free(j);
	job_next(m);
}

/* The label of a swarm task's container naming its service (or NULL). */
static const char *
task_service_name(const struct monitor *m)
{
	return body_facts_label(&m->c.facts, "com.docker.swarm.service.name");
}

/* Why a swarm task the guard did not judge is flagged. */
static char *
task_message(const struct monitor *m, const struct store_deployment *d)
{
	const char *service = task_service_name(m);

	return xasprintf("container \"%s\" is a task of swarm service "
			 "\"%s\" (app \"%s\") running image %s, version "
			 "%s, which docker-guard did not allow for that "
			 "service: the service was created or updated "
			 "without passing through docker-guard (on this "
			 "engine's socket, on another manager, or by swarm "
			 "rolling it back on its own).  Update the service "
			 "through docker-guard (docker service update --image "
			 "REPO@sha256:...) to have what it runs judged",
	    m->c.name ? m->c.name : m->c.id, service ? service : "?", d->app,
	    d->image_ref, d->version ? d->version : "unknown");
}

struct task_match {
	const struct store_deployment *task;
	bool same;
};

static bool
same_string(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
newest_row_cb(const struct store_deployment_row *r, void *arg)
{
	struct task_match *tm = arg;

	tm->same = same_string(r->repo_digest, tm->task->repo_digest) ||
	    same_string(r->image_ref, tm->task->image_ref) ||
	    same_string(r->image_id, tm->task->image_id);
}

/*
 * A swarm task runs what its service's newest deployment in the ledger
 * runs (the guard judged the spec, or an earlier task of it was flagged):
 * 1 if so, 0 if not, -1 if the ledger cannot be read.
 */
static int
task_expected(struct monitor *m, const struct store_deployment *task)
{
	struct task_match tm = { task, false };
	char *cause = NULL;

	if (store_history_newest(m->store, task->app, 1, newest_row_cb, &tm,
		&cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		return -1;
	}
	return tm.same ? 1 : 0;
}

/* Record a container found on the engine: quietly (a seed or the guard's
 * own restore), or flagged as created past the guard. */
static void
record_found(struct monitor *m, const struct mon_job *j,
    const struct store_deployment *d)
{
	struct store_write w = { 0 };
	struct store_audit a = { 0 };
	char *msg = NULL;

	w.deployment = d;
	if (j->kind == JOB_EVENT || j->kind == JOB_CATCHUP) {
		msg = m->task_app != NULL
		    ? task_message(m, d)
		    : xasprintf(
			  "container \"%s\" (app \"%s\") was created "
			  "without passing through docker-guard: image %s, "
			  "version %s",
			  m->c.name ? m->c.name : m->c.id, d->app, d->image_ref,
			  d->version ? d->version : "unknown");
		log_warn("%s", msg);
		a.time_ms = now_ms();
		a.method = "EVENT";
		a.route = "engine";
		a.app = d->app;
		a.image_ref = d->image_ref;
		a.digest = d->repo_digest;
		a.version = d->version;
		a.rule = "out_of_band";
		a.verdict = STORE_WARN;
		a.message = msg;
		w.audit = &a;
	} else {
		log_info("%s: recorded app \"%s\" %s version %s", j->source,
		    d->app, d->image_ref, d->version ? d->version : "unknown");
	}
	ledger_write(m->ledger, &w, NULL, NULL);
	free(msg);
}

/*
 * A container missing from the ledger that a create the guard allowed
 * and forwarded made (the guard stopped before it could record the
 * engine's answer): record it as that create said, with its outcome.
 * Returns 1 if so, 0 if it is not the guard's, -1 if the ledger cannot
 * be read.
 */
static int
own_create(struct monitor *m, const struct store_deployment *found)
{
	struct store_intent_row in;
	struct store_deployment d = { 0 };
	struct store_outcome o = { 0 };
	struct store_audit a = { 0 };
	struct store_write w = { 0 };
	struct peer_cred peer = { 0 };
	char *cause = NULL, *msg;
	bool hit;

	if (store_intent_match(m->store, m->c.name, m->c.image_id, found->time,
		&in, &hit, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		return -1;
	}
	if (!hit)
		return 0;
	peer.uid = (uid_t)in.uid;
	peer.gid = (gid_t)in.gid;
	peer.pid = (pid_t)in.pid;
	snprintf(peer.comm, sizeof peer.comm, "%s", in.comm ? in.comm : "?");
	d = *found;
	d.app = in.app;
	d.image_ref = in.image_ref != NULL ? in.image_ref : found->image_ref;
	d.repo_digest = in.repo_digest;
	d.version = in.version;
	d.time = in.time_ms / 1000;
	d.peer = &peer;
	d.source = "guard";
	o.token = in.token;
	o.status = 201;
	o.container_id = found->container_id;
	o.time_ms = now_ms();
	msg = xasprintf(
	    "outcome of decision %lld: the engine created "
	    "container \"%s\" (%.12s); recorded by the reconcile: the "
	    "guard had not recorded the engine's answer (stopped or killed "
	    "in between)",
	    (long long)in.decision_id, m->c.name ? m->c.name : "?",
	    found->container_id);
	a.time_ms = o.time_ms;
	a.peer = &peer;
	a.method = "POST";
	a.route = "containers/create";
	a.app = in.app;
	a.image_ref = d.image_ref;
	a.digest = in.repo_digest;
	a.version = in.version;
	a.rule = "outcome";
	a.verdict = STORE_ALLOW;
	a.message = msg;
	w.deployment = &d;
	w.outcome = &o;
	w.audit = &a;
	ledger_write(m->ledger, &w, NULL, NULL);
	log_info("%s", msg);
	free(msg);
	store_intent_row_reset(&in);
	return 1;
}

/* The current job cannot go on now: back to the head of the queue. */
static void
job_retry(struct monitor *m, int64_t delay_ms)
{
	struct mon_job *j = m->current;
	struct timeval tv;

	m->current = NULL;
	forget_container(m);
	j->due_ms = now_ms() + delay_ms;
	TAILQ_INSERT_HEAD(&m->jobs, j, entry);
	m->n_jobs++;
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	evtimer_add(m->job_timer, &tv);
}

/*
 * The current job's container, read as deployment d: a task of a service
 * as judged is left to the service's row, a create the guard made is
 * recorded as that create, anything else is recorded as found.  Returns
 * 1 if recorded, 0 if there was nothing to record, -1 if the ledger
 * cannot be read now.
 */
static int
settle_found(struct monitor *m, const struct mon_job *j,
    const struct store_deployment *d)
{
	int judged, own;

	if (m->task_app != NULL && (judged = task_expected(m, d)) != 0) {
		if (judged < 0)
			return -1;
		/* The service's deployment already says what runs. */
		log_debug("monitor: container %s is a task of service \"%s\" "
			  "as judged (app \"%s\")",
		    m->c.name ? m->c.name : m->c.id, task_service_name(m),
		    d->app);
		return 0;
	}
	if (j->kind != JOB_SYNC && j->kind != JOB_ADOPT &&
	    (own = own_create(m, d)) != 0)
		return own;
	record_found(m, j, d);
	return 1;
}

static void
image_cb(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct monitor *m = arg;
	struct mon_job *j = m->current;
	struct inspect_image img = { 0 };
	struct policy_image pi = { 0 };
	struct store_deployment d = { 0 };
	struct imgref ref;
	const char *cause = NULL, *source = NULL, *digest = NULL;
	char *app, *version = NULL;
	bool parsed;
	int settled = 0;

	m->req = NULL;
	app = m->task_app != NULL ? xstrdup(m->task_app)
				  : policy_app_name(&m->c.facts, m->c.name);
	if (status == 200 && inspect_image_parse(body, len, &img) == 0)
		policy_image_of(&pi, &img);
	parsed = m->c.image_ref != NULL &&
	    imgref_parse(m->c.image_ref, &ref, &cause) == 0;
	if (parsed && ref.kind == IMGREF_NAME &&
	    !policy_ref_is_image_id(&ref, m->c.image_ref, img.id)) {
		char *repo = imgref_repository(&ref);

		for (size_t i = 0; repo != NULL && i < img.n_repo_digests;
		     i++) {
			if (strncmp(img.repo_digests[i], repo, strlen(repo)) ==
				0 &&
			    img.repo_digests[i][strlen(repo)] == '@')
				digest = img.repo_digests[i];
		}
		free(repo);
	}
	/* The image's own version, however the container named it. */
	version = policy_version((*m->cfg), &pi, NULL, m->c.image_ref, app,
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
	if (app != NULL)
		settled = settle_found(m, j, &d);
	free(app);
	free(version);
	inspect_image_reset(&img);
	if (settled < 0) {
		/* The ledger cannot be read now: the same job, later. */
		job_retry(m, MONITOR_READ_RETRY_MS);
		return;
	}
	job_finish(m, settled > 0);
}

/* Look up the current job's container's image (image_cb goes on). */
static void
inspect_image(struct monitor *m)
{
	char *path, *esc;

	esc = engine_path_escape(m->c.image_id != NULL ? m->c.image_id
		: m->c.image_ref != NULL	       ? m->c.image_ref
						       : "");
	path = xasprintf("/images/%s/json", esc);
	free(esc);
	m->req = engine_get(m->base, (*m->cfg)->upstream, path, image_cb, m);
	free(path);
}

/* The app of a service as the guard names it when it judges the service's
 * spec (GET /services/{id}'s body), or NULL. */
static char *
service_app(const char *body, size_t len)
{
	struct body_facts facts;
	char *spec, *cause = NULL, *app = NULL;
	size_t spec_len = 0;

	spec = inspect_service_spec(body, len, &spec_len);
	if (spec != NULL &&
	    body_inspect_service_spec(spec, spec_len, &facts, &cause) == 0) {
		app = policy_app_name(&facts, NULL);
		body_facts_reset(&facts);
	}
	free(cause);
	free(spec);
	return app;
}

/* The current job is a swarm task: its app is its service's (by the
 * service's name when the service is gone). */
static void
service_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;

	m->req = NULL;
	free(m->task_app);
	m->task_app = status == 200 ? service_app(body, len) : NULL;
	if (m->task_app == NULL)
		m->task_app = xstrdup(task_service_name(m));
	inspect_image(m);
}

static void
container_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	const char *service_id;
	char *path, *esc;

	m->req = NULL;
	if (status != 200 || inspect_container_parse(body, len, &m->c) != 0) {
		/* Gone already (a short-lived container): nothing to keep. */
		job_finish(m, false);
		return;
	}
	service_id = body_facts_label(&m->c.facts,
	    "com.docker.swarm.service.id");
	if (service_id != NULL && task_service_name(m) != NULL &&
	    body_facts_label(&m->c.facts, "com.docker.swarm.task.id") != NULL) {
		/* A swarm task: it belongs to its service's app. */
		esc = engine_path_escape(service_id);
		path = xasprintf("/services/%s", esc);
		free(esc);
		m->req = engine_get(m->base, (*m->cfg)->upstream, path,
		    service_cb, m);
		free(path);
		return;
	}
	inspect_image(m);
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

		/* What is known is what has landed: let queued writes (the
		   guard's own creates among them) land first. */
		if (ledger_queued(m->ledger) > 0) {
			struct timeval tv = { 0,
				MONITOR_LEDGER_WAIT_MS * 1000 };

			evtimer_add(m->job_timer, &tv);
			return;
		}

		/* The first job that is due, in queue order: a delayed event
		   never holds up an adoption behind it. */
		now = now_ms();
		TAILQ_FOREACH(it, &m->jobs, entry)
		{
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
		if (store_container_known(m->store, j->id, &known, &cause) !=
		    0) {
			struct timeval tv = { 0, MONITOR_READ_RETRY_MS * 1000 };

			/* Cannot tell now: ask again later, never guess. */
			log_error("ledger: %s", cause);
			free(cause);
			evtimer_add(m->job_timer, &tv);
			return;
		}
		TAILQ_REMOVE(&m->jobs, j, entry);
		m->n_jobs--;
		if (known) {
			sync_job_done(m, j, false);
			job_free(j);
			continue;
		}
		m->current = j;
		path = xasprintf("/containers/%s/json", j->id);
		m->req = engine_get(m->base, (*m->cfg)->upstream, path,
		    container_cb, m);
		free(path);
	}
}

/* ---- sync ------------------------------------------------------------- */

static void
list_cb(int status, const char *body, size_t len, const char *error, void *arg)
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
	m->sync_pending = 1; /* held until every job is queued */
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
	m->list_req = engine_get(m->base, (*m->cfg)->upstream,
	    "/containers/json?all=1", list_cb, m);
}

static void
first_sync_done(int recorded, const char *error, void *arg)
{
	struct monitor *m = arg;
	struct store_write w = { 0 };

	if (error != NULL) {
		log_warn("sync: %s; will try again at the next reconnect",
		    error);
		return;
	}
	log_info("sync: %d existing container(s) recorded", recorded);
	w.meta_key = "synced";
	w.meta_value = "1";
	ledger_write(m->ledger, &w, NULL, NULL);
}

void
monitor_adopt(struct monitor *m, const char *container_id, const char *source)
{
	enqueue(m, container_id, JOB_ADOPT, source, 0);
}

/* ---- catching up: reconcile the engine's containers with the ledger ---- */

static bool
listed(char *const *ids, const char *id)
{
	for (size_t i = 0; ids[i] != NULL; i++) {
		if (strcmp(ids[i], id) == 0)
			return true;
	}
	return false;
}

/* Live ledger rows whose container the engine no longer has were removed
 * while nobody watched. */
static void
reconcile_removals(struct monitor *m, char *const *ids)
{
	char **live = NULL, *cause = NULL;
	int n = 0;

	/* Rows younger than the list may be creates it did not see yet. */
	if (store_live_containers(m->store, m->reconcile_at - 2, &live,
		&cause) != 0) {
		log_error("reconcile: %s", cause);
		free(cause);
		return;
	}
	for (size_t i = 0; live[i] != NULL; i++) {
		struct store_write w = { 0 };

		if (!listed(ids, live[i])) {
			w.removed = live[i];
			w.removed_at = m->reconcile_at;
			ledger_write(m->ledger, &w, NULL, NULL);
			log_info("reconcile: container %.12s is gone; recorded "
				 "its removal",
			    live[i]);
			n++;
		}
		free(live[i]);
	}
	free(live);
	if (n > 0)
		log_warn("reconcile: %d container(s) were removed while the "
			 "guard did not see it",
		    n);
}

static void
reconcile_list_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	char **ids;

	m->reconcile_req = NULL;
	ids = status == 200 ? inspect_container_ids(body, len) : NULL;
	if (ids == NULL) {
		log_warn("reconcile: cannot list the engine's containers: %s; "
			 "will try again at the next reconnect",
		    error != NULL ? error : "unexpected answer");
		return;
	}
	for (size_t i = 0; ids[i] != NULL; i++)
		enqueue(m, ids[i], JOB_CATCHUP, "reconcile", 0);
	reconcile_removals(m, ids);
	for (size_t i = 0; ids[i] != NULL; i++)
		free(ids[i]);
	free(ids);
}

/* After a start or reconnect: seed the ledger the first time, else
 * reconcile it with what the engine has. */
static void
catch_up(struct monitor *m)
{
	char *synced = NULL, *cause = NULL;

	if (store_meta_get(m->store, "synced", &synced, &cause) != 0) {
		struct timeval tv = { 1, 0 };

		log_error("ledger: %s; catching up in a second", cause);
		free(cause);
		evtimer_add(m->reconcile_timer, &tv);
		return;
	}
	if (synced == NULL && ledger_queued(m->ledger) > 0) {
		struct timeval tv = { 1, 0 };

		/* "synced" may be among the writes still to land. */
		evtimer_add(m->reconcile_timer, &tv);
		return;
	}
	if (synced == NULL) {
		monitor_sync(m, first_sync_done, m);
		return;
	}
	free(synced);
	engine_cancel(m->reconcile_req);
	m->reconcile_at = now_ms() / 1000;
	m->reconcile_req = engine_get(m->base, (*m->cfg)->upstream,
	    "/containers/json?all=1", reconcile_list_cb, m);
}

static void
reconcile_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	catch_up(arg);
}

/* ---- engine version and events ----------------------------------------- */

/* The engine's version ("26.1.5 (API 1.45)", as inspect_engine_version
 * writes it) into the metrics' engine info. */
static void
engine_info_metric(const char *version)
{
	const char *api = strstr(version, " (API ");
	size_t n = strlen(version);

	if (api != NULL && n > 0 && version[n - 1] == ')') {
		char *v = xstrndup(version, (size_t)(api - version));
		char *a = xstrndup(api + 6, strlen(api + 6) - 1);

		metrics_engine_info_set(v, a);
		free(v);
		free(a);
	} else {
		metrics_engine_info_set(version, NULL);
	}
}

static void
version_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	char *version = NULL, *old = NULL, *cause = NULL;

	m->version_req = NULL;
	m->engine_up = status != 0;
	if (status != 200 ||
	    (version = inspect_engine_version(body, len)) == NULL) {
		log_warn("cannot read the engine's version: %s",
		    error != NULL ? error : "unexpected answer");
		return;
	}
	engine_info_metric(version);
	if (store_meta_get(m->store, "engine_version", &old, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
	} else if (old == NULL || strcmp(old, version) != 0) {
		struct store_write w = { 0 };
		struct store_audit a = { 0 };
		char *msg = NULL;

		if (old != NULL) {
			msg = xasprintf("the Docker engine changed from %s to "
					"%s",
			    old, version);
			log_warn("%s", msg);
			metrics_engine_version_changed();
			a.time_ms = now_ms();
			a.method = "EVENT";
			a.route = "engine";
			a.version = version;
			a.previous_version = old;
			a.rule = "engine_version";
			a.verdict = STORE_WARN;
			a.message = msg;
			w.audit = &a;
		} else {
			log_info("engine version %s", version);
		}
		w.meta_key = "engine_version";
		w.meta_value = version;
		ledger_write(m->ledger, &w, NULL, NULL);
		free(msg);
	}
	free(old);
	free(version);
	catch_up(m);
}

/* Save where the event stream is, so a restart asks from there. */
static void
cursor_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;
	struct store_write w = { 0 };
	char value[64];

	if (!m->cursor_dirty)
		return;
	m->cursor_dirty = false;
	snprintf(value, sizeof value, "%lld.%09lld",
	    (long long)(m->last_event_ns / 1000000000),
	    (long long)(m->last_event_ns % 1000000000));
	w.meta_key = "events_since";
	w.meta_value = value;
	ledger_write(m->ledger, &w, NULL, NULL);
}

static void
event_line_cb(const char *line, size_t len, void *arg)
{
	struct monitor *m = arg;
	struct inspect_event ev;
	struct store_write w = { 0 };
	int64_t t;

	m->backoff = 0;
	m->engine_up = 1;
	if (inspect_event_parse(line, len, &ev) != 0)
		return;
	if (ev.time_nano > m->last_event_ns) {
		m->last_event_ns = ev.time_nano;
		if (!m->cursor_dirty) {
			struct timeval tv = { 0,
				MONITOR_CURSOR_SAVE_MS * 1000 };

			m->cursor_dirty = true;
			evtimer_add(m->cursor_timer, &tv);
		}
	}
	t = ev.time_nano > 0 ? ev.time_nano / 1000000000 : now_ms() / 1000;
	if (ev.time_nano > 0)
		metrics_events_lag(
		    (double)(now_ms() * 1000000 - ev.time_nano) / 1e9);
	if (strcmp(ev.action, "create") == 0) {
		enqueue(m, ev.id, JOB_EVENT, "event", MONITOR_EVENT_DELAY_MS);
	} else if (strcmp(ev.action, "destroy") == 0) {
		w.removed = ev.id;
		w.removed_at = t;
		ledger_write(m->ledger, &w, NULL, NULL);
	} else if (strcmp(ev.action, "rename") == 0 && ev.name != NULL) {
		w.renamed = ev.id;
		w.new_name = ev.name;
		ledger_write(m->ledger, &w, NULL, NULL);
	}
	inspect_event_reset(&ev);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	metrics_events_reconnect();
	connect_stream(arg);
}

static void
stream_end_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct monitor *m = arg;
	struct timeval tv = { 0, 0 };

	m->stream = NULL;
	m->engine_up = 0;
	m->backoff = m->backoff == 0 ? 1 : m->backoff * 2;
	if (m->backoff > MONITOR_BACKOFF_MAX)
		m->backoff = MONITOR_BACKOFF_MAX;
	tv.tv_sec = m->backoff;
	log_warn("the engine's event stream ended (%s); reconnecting in %d s",
	    error != NULL		       ? error
		: status != 200 && status != 0 ? "unexpected answer"
					       : "closed",
	    m->backoff);
	evtimer_add(m->retry_timer, &tv);
}

static void
connect_stream(struct monitor *m)
{
	/* {"type":["container"]} */
	static const char filter[] = "/events?filters=%7B%22type%22%3A%5B%22"
				     "container%22%5D%7D";
	char *path;

	engine_cancel(m->version_req);
	m->version_req = engine_get(m->base, (*m->cfg)->upstream, "/version",
	    version_cb, m);
	/* Nothing seen yet (a new database): the stream starts here, and
	   that is saved at once, so a guard killed before its first saved
	   event still replays from this moment at its next start. */
	if (m->last_event_ns == 0) {
		m->last_event_ns = (now_ms() - 1000) * 1000000;
		m->cursor_dirty = true;
		cursor_timer_cb(-1, 0, m);
	}
	/* From the last event seen: what happened while the stream was
	   down is replayed (the engine keeps its recent events). */
	if (m->last_event_ns > 0)
		path = xasprintf("%s&since=%lld.%09lld", filter,
		    (long long)(m->last_event_ns / 1000000000),
		    (long long)(m->last_event_ns % 1000000000));
	else
		path = xstrdup(filter);
	m->stream = engine_stream(m->base, (*m->cfg)->upstream, path,
	    event_line_cb, stream_end_cb, m);
	free(path);
}

/* The saved stream position ("sec.nsec"), or 0. */
static int64_t
saved_cursor(struct monitor *m)
{
	char *value = NULL, *cause = NULL, *end;
	long long sec, nsec = 0;
	bool ok;

	if (store_meta_get(m->store, "events_since", &value, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		return 0;
	}
	if (value == NULL)
		return 0;
	sec = strtoll(value, &end, 10);
	if (*end == '.')
		nsec = strtoll(end + 1, &end, 10);
	ok = *end == '\0' && sec > 0 && sec < INT64_MAX / 1000000000 - 1 &&
	    nsec >= 0 && nsec <= 999999999;
	free(value);
	return ok ? (int64_t)sec * 1000000000 + nsec : 0;
}

struct monitor *
monitor_new(struct event_base *base, const struct guard_config *const *cfg,
    struct ledger *l, int follow)
{
	struct monitor *m = xcalloc(1, sizeof *m);

	m->base = base;
	m->cfg = cfg;
	m->ledger = l;
	m->store = ledger_store(l);
	m->follow = follow;
	m->engine_up = -1;
	TAILQ_INIT(&m->jobs);
	m->job_timer = evtimer_new(base, job_timer_cb, m);
	m->retry_timer = evtimer_new(base, retry_cb, m);
	m->reconcile_timer = evtimer_new(base, reconcile_timer_cb, m);
	m->cursor_timer = evtimer_new(base, cursor_timer_cb, m);
	if (follow) {
		m->last_event_ns = saved_cursor(m);
		connect_stream(m);
	}
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
	engine_cancel(m->reconcile_req);
	/* Keep the stream position for the next start. */
	cursor_timer_cb(-1, 0, m);
	while ((j = TAILQ_FIRST(&m->jobs)) != NULL) {
		TAILQ_REMOVE(&m->jobs, j, entry);
		job_free(j);
	}
	if (m->current != NULL)
		job_free(m->current);
	forget_container(m);
	event_free(m->job_timer);
	event_free(m->retry_timer);
	event_free(m->reconcile_timer);
	event_free(m->cursor_timer);
	free(m);
}

int
monitor_engine_up(const struct monitor *m)
{
	return m != NULL ? m->engine_up : -1;
}

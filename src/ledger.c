/*
 * The write-behind queue: copies of store writes, landed in order from
 * the event loop, retried on a timer while the database is locked or
 * full.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define LEDGER_BACKOFF_MIN_MS 10
#define LEDGER_BACKOFF_MAX_MS 500
#define LEDGER_MAX_QUEUE 100000
#define LEDGER_SHUTDOWN_WAIT_MS 2000

struct ledger_op {
	TAILQ_ENTRY(ledger_op) entry;
	uint64_t ticket;
	ledger_cb cb;
	void *arg;
	bool barrier;

	/* The owned copy of the write. */
	struct store_write w;
	struct store_deployment d;
	struct store_outcome o;
	struct store_audit a;
	struct store_intent i;
	struct peer_cred peer_d, peer_a, peer_i;
	char **strs;
	size_t n_strs;

	/* The result, for the callback. */
	bool landed;
	struct store_written ids;
	char *cause;
};

TAILQ_HEAD(ledger_ops, ledger_op);

struct ledger {
	struct event_base *base;
	struct store *store;
	struct ledger_ops queue; /* to land, oldest first */
	size_t n_queue;
	struct ledger_ops done; /* callbacks to call */
	struct event *retry_ev;
	struct event *done_ev;
	int backoff_ms; /* 0: not backing off */
	uint64_t next_ticket;
	char *error;
	size_t dropped;
};

static void drain(struct ledger *l);

static const char *
own(struct ledger_op *op, const char *s)
{
	char *copy;

	if (s == NULL)
		return NULL;
	copy = xstrdup(s);
	op->strs = xreallocarray(op->strs, op->n_strs + 1, sizeof *op->strs);
	op->strs[op->n_strs++] = copy;
	return copy;
}

static const struct peer_cred *
own_peer(struct peer_cred *dst, const struct peer_cred *src)
{
	if (src == NULL)
		return NULL;
	*dst = *src;
	return dst;
}

/* Deep-copy w into op. */
static void
op_copy(struct ledger_op *op, const struct store_write *w)
{
	op->w.removed = own(op, w->removed);
	op->w.removed_at = w->removed_at;
	op->w.renamed = own(op, w->renamed);
	op->w.new_name = own(op, w->new_name);
	op->w.meta_key = own(op, w->meta_key);
	op->w.meta_value = own(op, w->meta_value);
	if (w->deployment != NULL) {
		const struct store_deployment *d = w->deployment;

		op->d.app = own(op, d->app);
		op->d.container_id = own(op, d->container_id);
		op->d.container_name = own(op, d->container_name);
		op->d.image_ref = own(op, d->image_ref);
		op->d.image_id = own(op, d->image_id);
		op->d.repo_digest = own(op, d->repo_digest);
		op->d.version = own(op, d->version);
		op->d.time = d->time;
		op->d.peer = own_peer(&op->peer_d, d->peer);
		op->d.source = own(op, d->source);
		op->w.deployment = &op->d;
	}
	if (w->outcome != NULL) {
		op->o = *w->outcome;
		op->o.token = own(op, w->outcome->token);
		op->o.container_id = own(op, w->outcome->container_id);
		op->w.outcome = &op->o;
	}
	if (w->audit != NULL) {
		const struct store_audit *a = w->audit;

		op->a = *a;
		op->a.peer = own_peer(&op->peer_a, a->peer);
		op->a.method = own(op, a->method);
		op->a.route = own(op, a->route);
		op->a.app = own(op, a->app);
		op->a.image_ref = own(op, a->image_ref);
		op->a.digest = own(op, a->digest);
		op->a.version = own(op, a->version);
		op->a.previous_version = own(op, a->previous_version);
		op->a.rule = own(op, a->rule);
		op->a.message = own(op, a->message);
		op->w.audit = &op->a;
	}
	if (w->audit != NULL && w->intent != NULL) {
		const struct store_intent *in = w->intent;

		op->i = *in;
		op->i.token = own(op, in->token);
		op->i.app = own(op, in->app);
		op->i.container_name = own(op, in->container_name);
		op->i.image_ref = own(op, in->image_ref);
		op->i.image_id = own(op, in->image_id);
		op->i.repo_digest = own(op, in->repo_digest);
		op->i.version = own(op, in->version);
		op->i.peer = own_peer(&op->peer_i, in->peer);
		op->w.intent = &op->i;
	}
}

static void
op_free(struct ledger_op *op)
{
	for (size_t i = 0; i < op->n_strs; i++)
		free(op->strs[i]);
	free(op->strs);
	free(op->cause);
	free(op);
}

/* What a write was, for the log when it cannot land. */
static char *
op_describe(const struct ledger_op *op)
{
	const struct store_write *w = &op->w;

	if (w->audit != NULL)
		return xasprintf("audit row (time %lld, rule %s, verdict %s, "
				 "app %s, image %s): %s",
		    (long long)w->audit->time_ms,
		    w->audit->rule ? w->audit->rule : "-",
		    store_verdict_name(w->audit->verdict),
		    w->audit->app ? w->audit->app : "-",
		    w->audit->image_ref ? w->audit->image_ref : "-",
		    w->audit->message ? w->audit->message : "");
	if (w->deployment != NULL)
		return xasprintf(
		    "ledger row of container %s (app %s, image %s, "
		    "version %s)",
		    w->deployment->container_id, w->deployment->app,
		    w->deployment->image_ref,
		    w->deployment->version ? w->deployment->version
					   : "unknown");
	if (w->removed != NULL)
		return xasprintf("removal of container %s", w->removed);
	if (w->renamed != NULL)
		return xasprintf("rename of container %s to %s", w->renamed,
		    w->new_name);
	if (w->meta_key != NULL)
		return xasprintf("%s = %s", w->meta_key,
		    w->meta_value ? w->meta_value : "NULL");
	if (w->outcome != NULL)
		return xasprintf("outcome %d of create %s", w->outcome->status,
		    w->outcome->token ? w->outcome->token : "-");
	return xstrdup("nothing");
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ledger *l = arg;
	struct ledger_op *op;

	/* A callback may queue more: take one at a time. */
	while ((op = TAILQ_FIRST(&l->done)) != NULL) {
		TAILQ_REMOVE(&l->done, op, entry);
		if (op->cb != NULL)
			op->cb(op->landed, &op->ids, op->cause, op->arg);
		op_free(op);
	}
}

/* The head is finished (landed or given up): off the queue. */
static void
finish_head(struct ledger *l, struct ledger_op *op)
{
	TAILQ_REMOVE(&l->queue, op, entry);
	metrics_ledger_queued(--l->n_queue);
	if (op->cb == NULL) {
		op_free(op);
		return;
	}
	TAILQ_INSERT_TAIL(&l->done, op, entry);
	event_active(l->done_ev, EV_TIMEOUT, 0);
}

static void
retry_later(struct ledger *l)
{
	struct timeval tv;

	l->backoff_ms = l->backoff_ms == 0 ? LEDGER_BACKOFF_MIN_MS
					   : l->backoff_ms * 2;
	if (l->backoff_ms > LEDGER_BACKOFF_MAX_MS)
		l->backoff_ms = LEDGER_BACKOFF_MAX_MS;
	tv.tv_sec = l->backoff_ms / 1000;
	tv.tv_usec = (l->backoff_ms % 1000) * 1000;
	evtimer_add(l->retry_ev, &tv);
}

/* Land the head; returns false to stop (try again later). */
static bool
land_head(struct ledger *l, struct ledger_op *op)
{
	char *cause = NULL, *what;

	if (op->barrier ||
	    store_write(l->store, &op->w, &op->ids, &cause) == 0) {
		op->landed = true;
		finish_head(l, op);
		return true;
	}
	if (store_transient(l->store)) {
		if (l->error == NULL || strcmp(l->error, cause) != 0) {
			metrics_ledger_error();
			log_warn("ledger: %s; %zu write(s) kept, trying again",
			    cause, l->n_queue);
		}
		free(l->error);
		l->error = cause;
		return false;
	}
	metrics_ledger_error();
	what = op_describe(op);
	log_error("ledger: cannot write the %s: %s; given up", what, cause);
	free(what);
	op->cause = cause;
	finish_head(l, op);
	return true;
}

static void
drain(struct ledger *l)
{
	struct ledger_op *op;

	while ((op = TAILQ_FIRST(&l->queue)) != NULL) {
		if (!land_head(l, op)) {
			retry_later(l);
			return;
		}
	}
	if (l->error != NULL) {
		log_info("ledger: the database takes writes again");
		free(l->error);
		l->error = NULL;
	}
	l->backoff_ms = 0;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	drain(arg);
}

struct ledger *
ledger_new(struct event_base *base, struct store *st)
{
	struct ledger *l = xcalloc(1, sizeof *l);

	l->base = base;
	l->store = st;
	TAILQ_INIT(&l->queue);
	TAILQ_INIT(&l->done);
	l->retry_ev = evtimer_new(base, retry_cb, l);
	l->done_ev = evtimer_new(base, done_cb, l);
	l->next_ticket = 1;
	return l;
}

void
ledger_free(struct ledger *l)
{
	struct ledger_op *op;

	if (l == NULL)
		return;
	if (!TAILQ_EMPTY(&l->queue)) {
		store_set_busy_timeout(l->store, LEDGER_SHUTDOWN_WAIT_MS);
		while (
		    (op = TAILQ_FIRST(&l->queue)) != NULL && land_head(l, op))
			;
		store_set_busy_timeout(l->store, 0);
	}
	while ((op = TAILQ_FIRST(&l->queue)) != NULL) {
		char *what = op_describe(op);

		log_error("ledger: lost at shutdown (the database still "
			  "refuses: %s): the %s",
		    l->error ? l->error : "?", what);
		free(what);
		TAILQ_REMOVE(&l->queue, op, entry);
		op_free(op);
	}
	while ((op = TAILQ_FIRST(&l->done)) != NULL) {
		TAILQ_REMOVE(&l->done, op, entry);
		op_free(op);
	}
	event_free(l->retry_ev);
	event_free(l->done_ev);
	free(l->error);
	free(l);
}

struct store *
ledger_store(struct ledger *l)
{
	return l->store;
}

/* A meta value still queued for key, to overwrite in place. */
static struct ledger_op *
queued_meta(struct ledger *l, const char *key)
{
	struct ledger_op *op;

	TAILQ_FOREACH(op, &l->queue, entry)
	{
		if (op->cb == NULL && !op->barrier && op->w.meta_key != NULL &&
		    op->w.audit == NULL && op->w.deployment == NULL &&
		    op->w.outcome == NULL && op->w.removed == NULL &&
		    op->w.renamed == NULL && strcmp(op->w.meta_key, key) == 0)
			return op;
	}
	return NULL;
}

static uint64_t
enqueue(struct ledger *l, struct ledger_op *op, ledger_cb cb, void *arg)
{
	uint64_t ticket;

	op->ticket = l->next_ticket++;
	op->cb = cb;
	op->arg = arg;
	if (l->n_queue >= LEDGER_MAX_QUEUE) {
		char *what = op_describe(op);

		/* Memory is finite; the reconcile at the next start or
		   reconnect finds what is missing. */
		metrics_ledger_error();
		if (l->dropped++ % 1000 == 0)
			log_error("ledger: %zu writes wait for the database "
				  "(%s); dropping the %s (%zu dropped so far)",
			    l->n_queue, l->error ? l->error : "?", what,
			    l->dropped);
		free(what);
		op->cause = xstrdup("too many writes wait for the database");
		if (cb == NULL) {
			op_free(op);
			return 0;
		}
		/* Still forgettable by its ticket until the callback. */
		TAILQ_INSERT_TAIL(&l->done, op, entry);
		event_active(l->done_ev, EV_TIMEOUT, 0);
		return op->ticket;
	}
	TAILQ_INSERT_TAIL(&l->queue, op, entry);
	metrics_ledger_queued(++l->n_queue);
	/* drain() may land and free op: keep its ticket. */
	ticket = op->ticket;
	if (l->backoff_ms == 0)
		drain(l);
	return ticket;
}

/* Every audit row is a decision for the metrics, but the engine's
 * answers (rule "outcome"); a refusal because the audit trail cannot be
 * written (verdict error) counts as a deny. */
static void
count_decision(const struct store_write *w)
{
	const struct store_audit *a = w->audit;

	if (a == NULL || (a->rule != NULL && strcmp(a->rule, "outcome") == 0))
		return;
	metrics_decision(a->verdict == STORE_ALLOW ? METRICS_ALLOW
		: a->verdict == STORE_WARN	   ? METRICS_WARN
						   : METRICS_DENY,
	    a->rule);
}

uint64_t
ledger_write(struct ledger *l, const struct store_write *w, ledger_cb cb,
    void *arg)
{
	struct ledger_op *op;

	if (cb == NULL && w->meta_key != NULL && w->audit == NULL &&
	    w->deployment == NULL && w->outcome == NULL && w->removed == NULL &&
	    w->renamed == NULL && (op = queued_meta(l, w->meta_key)) != NULL) {
		/* Only the newest value of a fact matters. */
		op->w.meta_value = own(op, w->meta_value);
		return op->ticket;
	}
	count_decision(w);
	op = xcalloc(1, sizeof *op);
	op_copy(op, w);
	return enqueue(l, op, cb, arg);
}

uint64_t
ledger_barrier(struct ledger *l, ledger_cb cb, void *arg)
{
	struct ledger_op *op = xcalloc(1, sizeof *op);

	op->barrier = true;
	return enqueue(l, op, cb, arg);
}

static struct ledger_op *
find(struct ledger_ops *list, uint64_t ticket)
{
	struct ledger_op *op;

	TAILQ_FOREACH(op, list, entry)
	{
		if (op->ticket == ticket)
			return op;
	}
	return NULL;
}

void
ledger_forget(struct ledger *l, uint64_t ticket)
{
	struct ledger_op *op;

	if (ticket == 0)
		return;
	if ((op = find(&l->queue, ticket)) != NULL ||
	    (op = find(&l->done, ticket)) != NULL)
		op->cb = NULL;
}

bool
ledger_withdraw(struct ledger *l, uint64_t ticket)
{
	struct ledger_op *op;

	if (ticket == 0 || (op = find(&l->queue, ticket)) == NULL)
		return false;
	TAILQ_REMOVE(&l->queue, op, entry);
	metrics_ledger_queued(--l->n_queue);
	op_free(op);
	return true;
}

size_t
ledger_queued(const struct ledger *l)
{
	return l->n_queue;
}

const char *
ledger_error(const struct ledger *l)
{
	return l->error;
}

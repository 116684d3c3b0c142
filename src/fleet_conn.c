/*
 * One libpq connection on the event loop (fleet_conn.h).
 *
 * States: down (a reconnect timer is armed), connecting (PQconnectPoll
 * driven by the socket, which may change from host to host), setup (the
 * setup script runs), up (queued statements run one at a time).  Every
 * wait has a bound: a connection attempt CONN_TIMEOUT_MS, a statement
 * QUERY_TIMEOUT_MS (the server's own timeouts, set by the setup, come
 * first); past it the connection is dropped and made again.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "fleet_conn.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define CONN_TIMEOUT_MS 5000
#define QUERY_TIMEOUT_MS 15000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

struct fleet_job {
	TAILQ_ENTRY(fleet_job) entry;
	const char *sql;
	char *text; /* owned SQL for the simple protocol, or NULL */
	int n;
	char **params;
	bool keep;
	bool next; /* queued next: may run while held */
	fleet_conn_done cb;
	void *arg;
};

TAILQ_HEAD(fleet_jobs, fleet_job);

enum conn_state {
	CONN_DOWN,
	CONN_CONNECTING,
	CONN_SETUP,
	CONN_UP,
};

struct fleet_conn {
	struct event_base *base;
	char *conninfo;
	char *setup;
	fleet_conn_state state_cb;
	void *arg;

	PGconn *pg;
	enum conn_state state;
	struct fleet_jobs queue;
	struct fleet_job *running; /* sent, results not all in */
	PGresult *last;		   /* the running statement's last result */
	int held;
	uint64_t epoch;
	char *error;

	struct event *io_ev;	/* the socket: connect poll, or read */
	struct event *write_ev; /* the socket, while output is pending */
	struct event *timer_ev; /* reconnect, connect or query timeout */
	struct event *lost_ev;	/* a send failed: lose it from the loop */
	int backoff_ms;
};

static void conn_start(struct fleet_conn *c);
static void conn_run(struct fleet_conn *c);

static void
set_error(struct fleet_conn *c, const char *why)
{
	char *copy = xstrdup(why != NULL ? why : "unknown error");
	size_t n = strlen(copy);

	/* libpq's messages end with a newline, and may have two lines. */
	while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == ' '))
		copy[--n] = '\0';
	/* One line: every control character (libpq's newlines and tabs)
	   becomes a space, runs of spaces one. */
	for (char *p = copy, *q = copy;; p++) {
		char ch = (unsigned char)*p < 0x20 && *p != '\0' ? ' ' : *p;

		if (ch == ' ' && q > copy && q[-1] == ' ')
			continue;
		*q++ = ch;
		if (ch == '\0')
			break;
	}
	free(c->error);
	c->error = copy;
}

static void
arm_timer(struct fleet_conn *c, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer_ev, &tv);
}

static void
job_free(struct fleet_job *j)
{
	free(j->text);
	for (int i = 0; i < j->n; i++)
		free(j->params[i]);
	free(j->params);
	free(j);
}

static void
close_events(struct fleet_conn *c)
{
	if (c->io_ev != NULL)
		event_free(c->io_ev);
	if (c->write_ev != NULL)
		event_free(c->write_ev);
	c->io_ev = NULL;
	c->write_ev = NULL;
	evtimer_del(c->timer_ev);
}

/* Fail what cannot wait for the next connection; keep the rest. */
static void
fail_queue(struct fleet_conn *c, const char *cause)
{
	struct fleet_jobs failing;
	struct fleet_job *j, *tmp;

	TAILQ_INIT(&failing);
	if (c->running != NULL) {
		if (c->running->keep)
			TAILQ_INSERT_HEAD(&c->queue, c->running, entry);
		else
			TAILQ_INSERT_TAIL(&failing, c->running, entry);
		c->running = NULL;
	}
	for (j = TAILQ_FIRST(&c->queue); j != NULL; j = tmp) {
		tmp = TAILQ_NEXT(j, entry);
		if (j->keep)
			continue;
		TAILQ_REMOVE(&c->queue, j, entry);
		TAILQ_INSERT_TAIL(&failing, j, entry);
	}
	while ((j = TAILQ_FIRST(&failing)) != NULL) {
		TAILQ_REMOVE(&failing, j, entry);
		if (j->cb != NULL)
			j->cb(NULL, cause, j->arg);
		job_free(j);
	}
}

/* The connection is gone: fail what cannot wait, try again later. */
static void
conn_lost(struct fleet_conn *c, const char *why)
{
	bool was_up = c->state == CONN_UP;

	metrics_fleet_up(false);
	metrics_ledger_error();
	event_del(c->lost_ev);
	set_error(c, why);
	close_events(c);
	if (c->last != NULL)
		PQclear(c->last);
	c->last = NULL;
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	c->state = CONN_DOWN;
	c->held = 0;
	c->backoff_ms = c->backoff_ms == 0 ? BACKOFF_MIN_MS : c->backoff_ms * 2;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	arm_timer(c, c->backoff_ms);
	if (was_up)
		log_warn("fleet ledger: connection lost: %s", c->error);
	fail_queue(c, c->error);
	c->state_cb(false, c->error, c->arg);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet_conn *c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_DOWN:
		conn_start(c);
		break;
	case CONN_CONNECTING:
		conn_lost(c, "no connection within 5 seconds");
		break;
	default:
		conn_lost(c, "no answer within 15 seconds");
		break;
	}
}

static void conn_poll(struct fleet_conn *c);

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_poll(arg);
}

/* The setup script answered: the connection is up, or is dropped. */
static void
finish_setup(struct fleet_conn *c, PGresult *res)
{
	const char *cause = "no answer";

	if (res == NULL || fleet_conn_failed(res, &cause)) {
		char *why = xasprintf("setup: %s", cause);

		if (res != NULL)
			PQclear(res);
		conn_lost(c, why);
		free(why);
		return;
	}
	PQclear(res);
	c->state = CONN_UP;
	c->backoff_ms = 0;
	c->epoch++;
	free(c->error);
	c->error = NULL;
	metrics_fleet_up(true);
	log_info("fleet ledger: connected (%s)", PQhost(c->pg));
	c->state_cb(true, NULL, c->arg);
	conn_run(c);
}

/* The running statement's results are all in. */
static void
finish_job(struct fleet_conn *c, struct fleet_job *j, PGresult *res)
{
	if (j->cb != NULL)
		j->cb(res, res == NULL ? "no answer" : NULL, j->arg);
	if (res != NULL)
		PQclear(res);
	job_free(j);
	conn_run(c);
}

/* Read what came; finish the running statement when its results are
 * all in. */
static void
conn_read(struct fleet_conn *c)
{
	if (PQconsumeInput(c->pg) == 0 || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	while (!PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);
		struct fleet_job *j = c->running;

		if (res != NULL) {
			if (c->last != NULL)
				PQclear(c->last);
			c->last = res;
			continue;
		}
		if (j == NULL)
			return; /* nothing was asked */
		evtimer_del(c->timer_ev);
		c->running = NULL;
		res = c->last;
		c->last = NULL;
		if (c->state == CONN_SETUP) {
			job_free(j);
			finish_setup(c, res);
		} else {
			finish_job(c, j, res);
		}
		return;
	}
}

static void
lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet_conn *c = arg;
	char *why = xstrdup(c->error != NULL ? c->error : "send failed");

	(void)fd;
	(void)what;
	conn_lost(c, why);
	free(why);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet_conn *c = arg;
	int r;

	(void)fd;
	(void)what;
	r = PQflush(c->pg);
	if (r < 0)
		conn_lost(c, PQerrorMessage(c->pg));
	else if (r > 0)
		event_add(c->write_ev, NULL);
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_read(arg);
}

/* Send what libpq holds; wait for the socket if it could not all go.
 * A failure is handled from the loop (the caller may be anyone). */
static void
conn_flush(struct fleet_conn *c)
{
	int r = PQflush(c->pg);

	if (r < 0) {
		set_error(c, PQerrorMessage(c->pg));
		event_active(c->lost_ev, EV_TIMEOUT, 0);
	} else if (r > 0) {
		event_add(c->write_ev, NULL);
	}
}

/* The setup script: the first statement of every connection. */
static void
conn_setup(struct fleet_conn *c)
{
	int fd = PQsocket(c->pg);

	close_events(c);
	PQsetnonblocking(c->pg, 1);
	c->io_ev = event_new(c->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->write_ev = event_new(c->base, fd, EV_WRITE, flush_cb, c);
	event_add(c->io_ev, NULL);
	c->state = CONN_SETUP;
	c->running = xcalloc(1, sizeof *c->running);
	if (PQsendQuery(c->pg, c->setup) == 0) {
		free(c->running);
		c->running = NULL;
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	arm_timer(c, QUERY_TIMEOUT_MS);
	conn_flush(c);
}

/* One step of the connection's making. */
static void
conn_poll(struct fleet_conn *c)
{
	PostgresPollingStatusType st = PQconnectPoll(c->pg);
	short what;

	if (st == PGRES_POLLING_FAILED) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (st == PGRES_POLLING_OK) {
		evtimer_del(c->timer_ev);
		conn_setup(c);
		return;
	}
	what = st == PGRES_POLLING_READING ? EV_READ : EV_WRITE;
	/* The socket can change as libpq moves to the next host. */
	if (c->io_ev != NULL)
		event_free(c->io_ev);
	c->io_ev = event_new(c->base, PQsocket(c->pg), what, poll_cb, c);
	event_add(c->io_ev, NULL);
}

static void
notice_cb(void *arg, const char *message)
{
	(void)arg;
	log_debug("fleet ledger: %s", message);
}

static void
conn_start(struct fleet_conn *c)
{
	c->pg = PQconnectStart(c->conninfo);
	if (c->pg == NULL) {
		conn_lost(c, "out of memory");
		return;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	PQsetNoticeProcessor(c->pg, notice_cb, NULL);
	c->state = CONN_CONNECTING;
	arm_timer(c, CONN_TIMEOUT_MS);
	conn_poll(c);
}

/* Send the next statement that may run now. */
static void
conn_run(struct fleet_conn *c)
{
	struct fleet_job *j = TAILQ_FIRST(&c->queue);

	if (c->state != CONN_UP || c->running != NULL || j == NULL ||
	    (c->held > 0 && !j->next))
		return;
	TAILQ_REMOVE(&c->queue, j, entry);
	c->running = j;
	if ((j->text != NULL ? PQsendQuery(c->pg, j->text)
			     : PQsendQueryParams(c->pg, j->sql, j->n, NULL,
				   (const char *const *)j->params, NULL, NULL,
				   0)) == 0) {
		/* Not from inside the caller's fleet_conn_query. */
		set_error(c, PQerrorMessage(c->pg));
		event_active(c->lost_ev, EV_TIMEOUT, 0);
		return;
	}
	arm_timer(c, QUERY_TIMEOUT_MS);
	conn_flush(c);
}

struct fleet_conn *
fleet_conn_new(struct event_base *base, const char *conninfo, const char *setup,
    fleet_conn_state state, void *arg)
{
	struct fleet_conn *c = xcalloc(1, sizeof *c);

	c->base = base;
	c->conninfo = xstrdup(conninfo);
	c->setup = xstrdup(setup);
	c->state_cb = state;
	c->arg = arg;
	TAILQ_INIT(&c->queue);
	c->timer_ev = evtimer_new(base, timer_cb, c);
	c->lost_ev = event_new(base, -1, 0, lost_cb, c);
	c->state = CONN_DOWN;
	metrics_fleet_up(false); /* a fleet ledger is set: shown from now */
	arm_timer(c, 0);	 /* connect from the loop, not from here */
	return c;
}

void
fleet_conn_free(struct fleet_conn *c)
{
	struct fleet_job *j;

	if (c == NULL)
		return;
	close_events(c);
	event_free(c->timer_ev);
	event_free(c->lost_ev);
	if (c->last != NULL)
		PQclear(c->last);
	if (c->pg != NULL)
		PQfinish(c->pg);
	if (c->running != NULL)
		job_free(c->running);
	while ((j = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, j, entry);
		job_free(j);
	}
	free(c->conninfo);
	free(c->setup);
	free(c->error);
	free(c);
}

bool
fleet_conn_up(const struct fleet_conn *c)
{
	return c->state == CONN_UP;
}

bool
fleet_conn_pending(const struct fleet_conn *c)
{
	return c->state == CONN_CONNECTING || c->state == CONN_SETUP ||
	    (c->state == CONN_DOWN && c->epoch == 0 && c->error == NULL);
}

const char *
fleet_conn_error(const struct fleet_conn *c)
{
	return c->error;
}

uint64_t
fleet_conn_epoch(const struct fleet_conn *c)
{
	return c->epoch;
}

/* Put j in the queue, where asked, and run what may run. */
static void
enqueue(struct fleet_conn *c, struct fleet_job *j, enum fleet_conn_where where)
{
	j->next = where == FLEET_CONN_NEXT;
	if (j->next)
		TAILQ_INSERT_HEAD(&c->queue, j, entry);
	else
		TAILQ_INSERT_TAIL(&c->queue, j, entry);
	conn_run(c);
}

void
fleet_conn_query_text(struct fleet_conn *c, enum fleet_conn_where where,
    char *sql, fleet_conn_done cb, void *arg)
{
	struct fleet_job *j = xcalloc(1, sizeof *j);

	j->text = sql;
	j->cb = cb;
	j->arg = arg;
	enqueue(c, j, where);
}

void
fleet_conn_query(struct fleet_conn *c, enum fleet_conn_where where, bool keep,
    const char *sql, int n, const char *const *params, fleet_conn_done cb,
    void *arg)
{
	struct fleet_job *j = xcalloc(1, sizeof *j);

	j->sql = sql;
	j->n = n;
	j->params = n > 0 ? xcalloc((size_t)n, sizeof *j->params) : NULL;
	for (int i = 0; i < n; i++)
		j->params[i] = params[i] != NULL ? xstrdup(params[i]) : NULL;
	j->keep = keep;
	j->cb = cb;
	j->arg = arg;
	enqueue(c, j, where);
}

void
fleet_conn_hold(struct fleet_conn *c)
{
	c->held++;
}

void
fleet_conn_unhold(struct fleet_conn *c)
{
	if (c->held > 0)
		c->held--;
	conn_run(c);
}

bool
fleet_conn_failed(const PGresult *res, const char **cause)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return false;
	*cause = PQresultErrorMessage(res);
	if (*cause == NULL || **cause == '\0')
		*cause = PQresStatus(st);
	return true;
}

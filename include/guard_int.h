/*
 * Inside the guard module (guard.h): the state the guard's files share.
 * A pending decision (struct decision) is the request and one small state
 * per flow; each flow lives in its own file:
 *
 *   guard.c          the entry points (guard.h), dispatch per route, the
 *                    verdict's delivery, what the engine answered
 *   guard_lookup.c   engine inspects and their cache, the engine's
 *                    platform, registry facts per image
 *   guard_decide.c   history from the ledger, decide.c's verdict taken
 *                    and audited
 *   guard_record.c   audit rows, intents, outcomes, deployments,
 *                    removals, and the bounded wait for them to land
 *   guard_restore.c  snapshots of removed containers, restore after a
 *                    refusal
 *   guard_start.c    starts and restarts of an existing container
 *   guard_pull.c     pulls, builds, BuildKit, plugins
 *   guard_fleet.c    the shared ledger's part: every host's history
 *                    under the app's lock, the version recorded
 *
 * Every step that answers does so through guard_deliver(), which hands the
 * verdict to the proxy from the event loop.  Only the guard's files
 * include this header.
 */
#ifndef GUARD_INT_H
#define GUARD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/queue.h>

#include "body_inspect.h"
#include "config.h"
#include "decide.h"
#include "decision.h"
#include "dockerfile.h"
#include "fleet.h"
#include "inspect.h"
#include "path_policy.h"
#include "peer.h"
#include "policy.h"
#include "registry.h"
#include "route.h"
#include "store.h"

struct engine_req;
struct event;
struct event_base;
struct inspect_cached;
struct ledger;
struct monitor;
struct verify;

/* What the lookups keep across requests (guard_lookup.c). */
struct guard_known {
	TAILQ_HEAD(, inspect_cached) inspects; /* pinned references only */
	size_t n_inspects;
	struct registry_platform platform; /* the engine's, from /info */
	bool have_platform;
};

/* The decider: what it holds across requests. */
struct guard {
	struct guard_known known;
	TAILQ_HEAD(, decision) detached; /* checks whose client left */
	struct event_base *base;
	const struct guard_config *const *cfg; /* the caller's current */
	struct store *store;
	struct ledger *ledger;	     /* writes */
	struct fleet *fleet;	     /* the shared ledger, or NULL */
	struct engine_req *name_req; /* the engine's name, for the fleet */
	struct event *name_ev;	     /* asking again */
	bool serving; /* serve, not a dry run: keeps the host's name */
	struct registry *registry;
	struct monitor *monitor;
	int64_t started;     /* unix seconds, for the status page */
	struct drift *drift; /* the drift watch (serve only) */
};

/* One image reference of the request and what the engine says of it. */
struct guard_image {
	char *ref;
	char *lookup;	  /* what to inspect if not ref: a
			     container's image ID */
	const char *role; /* "image", "image mount", ... */
	bool found;
	struct inspect_image info;
	struct policy_decision decision;

	/* What the registry said (owned copies). */
	bool reg_checked;
	enum registry_outcome reg_outcome;
	char *reg_ref;
	char *reg_digest;
	char *reg_detail;
	char *reg_missing_digest;
	char *reg_missing_platform;
	char *reg_version;
	struct body_label *reg_labels;
	size_t reg_n_labels;
	char **reg_env;
	size_t reg_n_env;
};

/* Looking up the request's images: the engine, then the registry. */
struct guard_lookups {
	struct guard_image *images; /* [0] is what runs */
	size_t n_images;
	size_t next; /* next image to look up */
	struct registry_check *reg_check;
	char *platform_query; /* ?platform= of a create */
};

/* POST /images/create, and the images a build or plugin pulls. */
struct guard_pull {
	char *from_image;
	char *from_tag;
	char *from_src;
	char *import_repo;
	char *ref;
	char *digest; /* the tag's digest, if asked */
	/* Builds, BuildKit and plugins (path_policy.h) */
	struct path_decision path;
	struct dockerfile_images build_imgs; /* base images to judge */
	size_t build_next;
	char *build_df; /* the Dockerfile's path */
};

/* Starts go to the judged container by its full ID. */
struct guard_start {
	char *target;
	char *route_version;
	char *route_query;
};

/* Removals keep the configuration of what they remove (snapshots). */
struct guard_removal {
	char **prune_ids; /* prune: the stopped ones */
	size_t prune_next;
};

/* Restoring the previous container after a refusal. */
struct guard_restore {
	int64_t snapshot_id;
	char *name;
	char *id;
	bool start;
	char *body;		 /* the create that restores */
	struct decision *child;	 /* judging what is restored */
	struct decision *parent; /* this judges p's restore */
};

/* Audit rows to land before the request may go on (ledger.c). */
struct guard_record {
	uint64_t *tickets;
	size_t n_tickets;
	uint64_t barrier;	 /* waiting for queued writes */
	struct event *ledger_ev; /* the bounded wait's end */
	struct event *read_ev;	 /* reading the ledger again */
	bool waiting;
	int64_t deadline_us; /* 0: not waited yet */
	bool settled;	     /* queued writes have landed */
	char *intent;	     /* token of the create it allows */
	int64_t decision_id;
	bool forwarded; /* an answer is due */
	bool timed;	/* its latency is in the metrics */
};

/* The fleet's part of a decision (guard_fleet.c). */
struct guard_fleet_step {
	struct fleet_claim *claim;	/* reading, or held after reading */
	bool locked;			/* read under the app's lock: the
				      optimistic claim's app moved on */
	bool read;			/* the history came (or failed) */
	bool waiting;			/* guard_decide() waits for it */
	struct fleet_history hist;	/* every host's, owned */
	char *unreachable;		/* why it could not be read */
	bool warned;			/* ... and that was logged */
	char *token;			/* the claim row's, once committed */
	struct decide_verdict *verdict; /* held while it is recorded */
	bool committing;
	bool cancelled; /* the client left while committing */
	bool restore;	/* after the commit: restore, not deliver */
};

/* A profile's limits waiting for the engine (guard_profile.c): the
 * mounts of VolumesFrom containers and what named volumes bind. */
struct guard_profile_wait {
	char *name; /* the profile, found again by name when judged */
	void (*cont)(struct decision *p); /* after the limits held */
	char **containers;		  /* VolumesFrom, asked first */
	size_t n_containers;
	char **volumes; /* named volumes, then */
	size_t n_volumes;
	char **joins;	   /* containers whose namespace is joined, last */
	unsigned *join_ns; /* which one (PROFILE_NS_*) */
	size_t n_joins;
	char *target;	   /* the container the request acts in (an exec,
			      start, attach, copy), asked first */
	bool target_asked; /* and answered */
	char *target_id;   /* its full ID, NULL when there is none */
	char *target_body; /* the engine's inspect of it (a start reads it
			      again for its image) */
	size_t target_len;
	char *suffix; /* the path after /containers/{name} */
	char *exec;   /* an exec to start: asked before its container */
	bool exec_asked;
	bool exec_privileged; /* the exec itself is */
	char **networks;      /* a service's network targets, after them */
	size_t n_networks;
	size_t next;		/* the one asked about */
	struct body_host found; /* what they mount, which host namespaces
				   the joined ones are in */
};

/* A pending decision: the request, then one small state per flow. */
struct decision {
	struct guard *g;
	struct decision_reply reply; /* .arg NULL: nobody to answer */
	struct event *ev;
	struct engine_req *lookup; /* the engine request in flight */
	int64_t started_us;
	struct peer_cred peer;
	enum route_id route;
	char *method;
	char *action; /* "create", ... */
	char *what;   /* "container \"web\"" or NULL */
	char *container_name;
	char *container_id; /* removals, verify: by full ID */
	char *service_id;
	char *app;
	struct body_facts facts;
	struct guard_profile_wait prof;
	bool rollback; /* a service update with rollback=previous */

	struct guard_lookups look;
	struct guard_pull pull;
	struct guard_start start;
	struct guard_removal rm;
	struct guard_restore restore;
	struct guard_record rec;
	struct guard_fleet_step fl;

	/* After the engine's 201: what it created is what was judged. */
	struct verify *verify;
	bool verifying;
	bool detached; /* on g->detached */
	TAILQ_ENTRY(decision) detached_entry;

	/* docker-guard check */
	bool dry_run;
	void (*dry_cb)(int, const char *, const char *, void *); /* guard.h */
	void *dry_arg;

	/* The verdict. */
	int status;
	char *message;
	char **warnings;
	size_t n_warnings;
	bool delivered;
};

/* The configuration in force now (swapped on SIGHUP). */
static inline const struct guard_config *
guard_cfg(const struct guard *g)
{
	return *g->cfg;
}

/* The wall clock in microseconds (audit times, latencies, deadlines). */
static inline int64_t
guard_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- guard.c ---- */

/* Free p and all it holds (its restore's child too); cancels what is in
 * flight.  p must not be used after. */
void guard_decision_free(struct decision *p);

/* Hand p's verdict to the proxy from the event loop, once its audit rows
 * have landed (guard_ledger_hold).  p stays the proxy's to cancel. */
void guard_deliver(struct decision *p);

/* Refuse before any policy ran (bad body, bad query, lookup failed):
 * message is stolen; audited under rule, then delivered. */
void
guard_refuse(struct decision *p, int status, const char *rule, char *message);

/* guard_profile.c: the proxy's refusal at the head (req->refusal),
 * recorded and answered 403 with rule "profile". */
void
guard_profile_refusal(struct decision *p, const struct decision_request *req);
/* Judge p->facts by req->profile's limits, asking the engine what
 * VolumesFrom containers and named volumes mount: cont(p) when they hold
 * (or there are none), else p refused (403, rule "profile"). */
void guard_profile_judge(struct decision *p, const struct decision_request *req,
    void (*cont)(struct decision *p));
/* A request that acts in an existing container (route.h's
 * enters_container; req borrowed), under req->profile's limits: the
 * container is asked of the engine and judged as its create would be,
 * with the named volumes and joined containers it names.  cont(p) when
 * they hold (or the profile has none), with p->start.target then the
 * request's target by the container's full ID (NULL when the engine has
 * no such container); else p refused (403, rule "profile"). */
void guard_profile_judge_container(struct decision *p,
    const struct decision_request *req, void (*cont)(struct decision *p));
/* Free w's contents. */
void guard_profile_reset(struct guard_profile_wait *w);
/* path cleaned as the engine cleans it, then its longest existing prefix
 * resolved on this host (allocated). */
char *guard_profile_canonical(const char *path);

/* What a message names: the container or service, or the app, written
 * into buf (size bytes).  Returns buf. */
const char *guard_subject(const struct decision *p, char *buf, size_t size);

/* ---- guard_lookup.c ---- */

/* Add image ref (copied) in role (static string) to p's images. */
void guard_add_image(struct decision *p, const char *ref, const char *role);

/* The facts are in p->facts: name the app, list the images, look each
 * one up, then decide (guard_decide).  Refuses when no image is named. */
void guard_lookup_start(struct decision *p);

/* Look up the next image of p (engine, then registry); when all are
 * looked up, guard_decide().  Answers only from the event loop. */
void guard_lookup_next(struct decision *p);

/* Free what look holds (cancelling its registry check) and zero it. */
void guard_lookup_reset(struct guard_lookups *look);

/* Drop every cached inspect of g (guard_free). */
void guard_lookup_cache_clear(struct guard *g);

/* ---- guard_decide.c ---- */

/* All of p's images are looked up: wait for queued ledger writes, read
 * the app's history, decide (decide.h), audit, then restore or
 * deliver. */
void guard_decide(struct decision *p);

/* Take the verdict v (emptied) into p: audit it, settle the fleet's
 * claim, then restore or deliver. */
void guard_decide_take(struct decision *p, struct decide_verdict *v);

/* The verdict is taken (and the fleet's claim settled): restore or
 * deliver. */
void guard_decide_finish(struct decision *p);

/* ---- guard_fleet.c ---- */

/* With a shared ledger: start reading the app's history of every host
 * (without its lock) while its images are looked up. */
void guard_fleet_prefetch(struct decision *p);

/* With a shared ledger: the app's history of every host (read without
 * the lock first, under it after a stale commit); true while reading
 * (guard_decide() is called again). */
bool guard_fleet_read(struct decision *p);

/* An allowed deployment read without the lock: record its version in
 * the fleet first, if no other claim came since the read (true: v is
 * taken over, and guard_decide_take() or, when another claim came,
 * guard_decide() on the locked history is called later). */
bool guard_fleet_record(struct decision *p, struct decide_verdict *v);

/* The shared ledger could not be read: refuse (ledger_unreachable =
 * deny; true) or go on with this host's history (false). */
bool guard_fleet_unreachable(struct decision *p);

/* The verdict is taken: record an allowed deployment's version under
 * the claim and commit (true: guard_decide_finish() is called later), or
 * let the claim go (false). */
bool guard_fleet_commit(struct decision *p);

/* The engine answered (status; key: the ledger's name of what it made,
 * or NULL): close the claim row, ship the local rows soon. */
void guard_fleet_outcome(struct decision *p, int status, const char *key);

/* p is being freed: let go of its claim and what it holds. */
void guard_fleet_forget(struct decision *p);

/* ---- guard_record.c ---- */

/* Fill what every audit row of p says of its request: the time (now_us),
 * the client, method, route and app (borrowed from p). */
void guard_audit_head(const struct decision *p, int64_t now_us,
    struct store_audit *a);

/* Queue audit row a (borrowed) with the intent of the create it allows
 * (or NULL); p waits for it to land before an allow is delivered. */
void guard_audit_row(struct decision *p, const struct store_audit *a,
    const struct store_intent *intent);

/* Audit p's decision on img (NULL: none) with verdict, rule and message
 * (borrowed); an allowed create also records its intent.  Nothing in a
 * dry run. */
void guard_audit(struct decision *p, const struct guard_image *img,
    enum store_verdict verdict, const char *rule, const char *message);

/* Hold an allowed p until its rows have landed (bounded, then fail
 * closed); true if held: guard_deliver() is called again.  A refused
 * create's intent gets its outcome. */
bool guard_ledger_hold(struct decision *p);

/* Before reading the ledger: let writes queued before now land, so the
 * decision sees them; true if waiting (guard_decide() is called again). */
bool guard_ledger_settle(struct decision *p);

/* Reading the ledger failed: when it may pass and the bounded wait is
 * not over, read again shortly (guard_decide()); true if so. */
bool guard_ledger_read_again(struct decision *p);

/* Let go of p's queued rows and timers (p is being freed). */
void guard_record_forget(struct decision *p);

/* The engine's answer to an allowed request (status, the container's ID
 * or NULL, the deployment d or NULL, what in words; all borrowed), as an
 * audit row linked to the decision, with the create's intent closed. */
void
guard_record_outcome(struct decision *p, int status, const char *container_id,
    const struct store_deployment *d, const char *what);

/* The engine created (or updated) id, named name (may be NULL): record
 * the deployment of p's image for its app, and the outcome. */
void
guard_record_deployment(struct decision *p, const char *id, const char *name);

/* The engine answered a removal or prune (status, body borrowed): record
 * the removals by full ID. */
void guard_record_removals(struct decision *p, int status, const char *body,
    size_t len);

/* ---- guard_restore.c ---- */

/* A create of p's app was refused: bring the app's previous container
 * back if it is gone (judged first), say so in the message, deliver. */
void guard_restore_begin(struct decision *p);

/* The restore p asked for was judged (child, freed here): go on
 * restoring, or say why not, audited, and deliver. */
void guard_restore_judged(struct decision *p, struct decision *child);

/* DELETE /containers/{id} (req borrowed): keep the container's
 * configuration when it belongs to a known app, then deliver. */
void
guard_snapshot_start(struct decision *p, const struct decision_request *req);

/* POST /containers/prune: keep each stopped container of a known app,
 * then deliver. */
void guard_prune_start(struct decision *p);

/* Free what restore and rm hold (the restore's child decision too) and
 * zero them. */
void
guard_restore_reset(struct guard_restore *restore, struct guard_removal *rm);

/* ---- guard_start.c ---- */

/* start->target (replaced) := the container's path by its full id, then
 * suffix ("/start", "/archive", ...), under the request's API version
 * and with its query, as start holds them. */
void guard_start_retarget(struct guard_start *start, const char *id,
    const char *suffix);

/* Free what start holds and zero it. */
void guard_start_reset(struct guard_start *start);

/* POST /containers/{id}/start or restart (req borrowed): judge the image
 * the container runs against its app's history; forward by full ID. */
void guard_start_check(struct decision *p, const struct decision_request *req);

/* An attach, or a copy into or out of a container (req borrowed), under
 * req->profile's limits: judged by what the container has of the host,
 * then forwarded to it by its full ID (404 when there is none). */
void guard_enter_check(struct decision *p, const struct decision_request *req);

/* ---- guard_pull.c ---- */

/* POST /images/create (req borrowed): judge the parameters the engine
 * reads (query and form body) by the pull rules. */
void guard_pull_start(struct decision *p, const struct decision_request *req);

/* Builds, BuildKit and plugins (req borrowed), at their head or, for a
 * build with its context read, on its Dockerfile (path_policy.h). */
void guard_paths_start(struct decision *p, const struct decision_request *req);

/* Decide on the pull in p->pull (its registry digest asked or not),
 * audit, then judge the build's next image or deliver. */
void guard_pull_decide(struct decision *p);

/* Free what pull holds and zero it. */
void guard_pull_reset(struct guard_pull *pull);

#endif

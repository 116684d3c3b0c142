/*
 * Knowing the host: the guard's view of what runs even when it did not
 * see the create.
 *
 *  - The engine's version is recorded at start and on every reconnect; a
 *    change is an audit event with the old and new version.
 *  - On first start (and with docker-guard sync) the containers that
 *    already exist are read from the engine and seeded into the ledger,
 *    so the first downgrade is caught even for apps created before the
 *    guard was installed.
 *  - The engine's event stream is followed: containers created without
 *    passing through the guard are recorded and flagged in the audit as
 *    out-of-band; removals and renames keep the ledger straight.
 *  - Nothing is forgotten: every (re)connect asks for the events since
 *    the last one seen (its time is kept in the meta table) and
 *    reconciles the engine's containers with the ledger: unknown ones
 *    are recorded (the guard's own, by the create it allowed, quietly;
 *    others flagged), live rows of containers that are gone get their
 *    removal.
 */
#ifndef MONITOR_H
#define MONITOR_H

struct event_base;
struct guard_config;
struct ledger;
struct monitor;

/* Called when a sync finishes: how many containers were recorded, or an
 * error (borrowed). */
typedef void (*monitor_done_cb)(int recorded, const char *error, void *arg);

/* A monitor on base of the engine at (*cfg)->upstream, writing through l
 * (borrowed).  cfg points at the caller's current configuration pointer
 * (it may be swapped between events) and outlives the monitor.  follow: also
 * check the engine version, sync on first start, reconcile on every
 * other connect and follow events (the daemon); otherwise only
 * monitor_sync runs (the CLI). */
struct monitor *monitor_new(struct event_base *base,
    const struct guard_config *const *cfg, struct ledger *l, int follow);
/* Cancel what runs (no callback is called), save the event stream's
 * position for the next start, and free m; NULL is ignored. */
void monitor_free(struct monitor *m);

/* Seed the ledger from the engine's containers; done is called once. */
void monitor_sync(struct monitor *m, monitor_done_cb done, void *arg);

/* Record a container the guard itself created (a restore), without
 * flagging it. */
void
monitor_adopt(struct monitor *m, const char *container_id, const char *source);

/* Did the engine answer the monitor's last request (its version, the
 * event stream)?  1 yes, 0 no, -1 not asked yet (or m NULL). */
int monitor_engine_up(const struct monitor *m);

#endif

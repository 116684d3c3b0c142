/*
 * What the engine created is what was judged (time of check vs time of
 * use).  The guard resolves a create's image reference with its own image
 * inspect and judges that image; the engine resolves the reference again
 * when the create reaches it, and a concurrent tag, pull or push in
 * between can make it create the container from another image.  After
 * the engine's 201 the guard inspects the new container and compares
 * the image it runs with the judged image ID; on a mismatch the
 * container is removed (force) before anything can start it.
 */
#ifndef VERIFY_H
#define VERIFY_H

#include <stdbool.h>

struct event_base;
struct verify;

struct verify_result {
	bool same;	      /* it runs the judged image */
	bool gone;	      /* no such container any more */
	bool removed;	      /* !same: the container was removed */
	const char *image_id; /* what it runs, or NULL */
	const char *name;     /* its name, or NULL */
	const char *error;    /* !same && !removed: why not */
};

/* Called once from the event loop; r and its strings are borrowed. */
typedef void (*verify_cb)(const struct verify_result *r, void *arg);

/*
 * Inspect container_id on the engine at upstream and compare its image
 * with judged_id (an image ID "sha256:..."; NULL when nothing was judged
 * by ID, so any image is a mismatch).  Returns a handle for
 * verify_cancel(); done is never called from inside this call.
 */
struct verify *verify_created(struct event_base *base, const char *upstream,
    const char *container_id, const char *judged_id, verify_cb done, void *arg);

/* Drop a verification; done is not called.  NULL is a no-op.  A removal
 * already sent to the engine still happens there. */
void verify_cancel(struct verify *v);

#endif

/*
 * The engine's inspect answers, reduced to what the guard needs.  Pure.
 */
#ifndef INSPECT_H
#define INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "body_inspect.h"

struct inspect_image {
	char *id;	  /* "sha256:<hex>" */
	char **repo_tags; /* "repo:tag": the tags that
						   point at this image now */
	size_t n_repo_tags;
	char **repo_digests; /* "repo@sha256:<hex>" */
	size_t n_repo_digests;
	struct body_label *labels; /* Config.Labels */
	size_t n_labels;
	char **env; /* Config.Env */
	size_t n_env;
};

/* GET /images/{name}/json into *out (zeroed first; its strings are
 * allocated).  0 on success, -1 if the body is not an image inspect;
 * either way the caller may call inspect_image_reset. */
int
inspect_image_parse(const char *body, size_t len, struct inspect_image *out);
/* Free what a parse filled and zero *img; safe on a zeroed one. */
void inspect_image_reset(struct inspect_image *img);

/* An image config blob from a registry ({"config": {"Labels": ..,
 * "Env": [..]}}): only labels and env are filled.  0, or -1. */
int inspect_config_blob_parse(const char *body, size_t len,
    struct inspect_image *out);

/* GET /services/{id}: PreviousSpec as compact JSON, or NULL if the
 * service has none.  Caller frees; *out_len is its length. */
char *
inspect_service_previous_spec(const char *body, size_t len, size_t *out_len);

/* GET /services/{id}: Spec (what the service runs now) as compact JSON,
 * or NULL if absent.  Caller frees; *out_len is its length. */
char *inspect_service_spec(const char *body, size_t len, size_t *out_len);

/* GET /info: the engine's OSType and Architecture into the buffers
 * ("linux", "x86_64").  0, or -1 if absent. */
int inspect_info_platform(const char *body, size_t len, char *os,
    size_t os_size, char *arch, size_t arch_size);

/* GET /info: the engine's host name ("Name"), or NULL if absent, empty,
 * over 253 bytes or holding a NUL.  Caller frees. */
char *inspect_info_name(const char *body, size_t len);

/* GET /version: "20.10.24 (API 1.41)".  Caller frees; NULL if absent. */
char *inspect_engine_version(const char *body, size_t len);

/* One line of GET /events.  Fills the borrowed-into-out strings
 * (allocated, caller frees each).  0, or -1 if not a container event. */
struct inspect_event {
	char *action; /* "create", "destroy", "rename", ... */
	char *id;
	char *name;	   /* Actor.Attributes.name */
	int64_t time_nano; /* timeNano (or time * 1e9); 0 if absent */
};
int
inspect_event_parse(const char *line, size_t len, struct inspect_event *out);
/* Free what inspect_event_parse filled and zero *ev. */
void inspect_event_reset(struct inspect_event *ev);

/* GET /containers/json?all=1: the IDs.  NULL-terminated, caller frees
 * each and the array. */
char **inspect_container_ids(const char *body, size_t len);

/* POST /containers/prune's answer: the IDs in ContainersDeleted.
 * NULL-terminated, caller frees each and the array; NULL if none. */
char **inspect_pruned_ids(const char *body, size_t len);

/* What a container inspect says, for the ledger. */
struct inspect_container {
	char *id;
	char *name;	 /* without the leading '/' */
	char *image_ref; /* Config.Image */
	char *image_id;	 /* Image */
	bool running;
	int64_t created;	 /* unix seconds, 0 if unknown */
	int64_t finished;	 /* State.FinishedAt, 0 if never */
	struct body_facts facts; /* Labels only */
};
/* GET /containers/{id}/json into *out (zeroed first; its strings are
 * allocated).  0, or -1 if the body is not a container inspect; either
 * way the caller may call inspect_container_reset. */
int inspect_container_parse(const char *body, size_t len,
    struct inspect_container *out);
/* Free what inspect_container_parse filled and zero *c. */
void inspect_container_reset(struct inspect_container *c);

/*
 * A POST /containers/create body that recreates the inspected container:
 * its Config (with Image pinned: Config.Image when it carries a digest,
 * else the image ID), HostConfig, and the endpoint of its network mode
 * when that is a user network.  Caller frees; NULL if the inspect is not
 * usable.
 */
char *inspect_restore_body(const char *body, size_t len);

/* The "message" of an engine error body, or NULL.  Caller frees. */
char *inspect_error_message(const char *body, size_t len);

#endif

/*
 * Request and response bodies of guarded Engine API calls, decoded the way
 * the engine decodes them and reduced to plain facts.  Pure: no I/O.
 *
 * The engine uses Go encoding/json: object keys match struct fields
 * case-insensitively (with Unicode simple folding, so U+212A KELVIN SIGN
 * matches 'k' and U+017F LONG S matches 's'), the last duplicate wins,
 * and \u-escaped keys are keys.  A guard that reads the body differently
 * can be bypassed, so this module refuses every body whose meaning could
 * differ between the two readings:
 *   - two keys in one struct-typed object that fold to the same name
 *     ("Image" and "image", "Image" and "\u0049mage"), and exact duplicate
 *     keys anywhere;
 *   - a known field with the wrong JSON type ("Image": 5);
 *   - anything that is not exactly one JSON object (trailing data, invalid
 *     UTF-8, NUL in strings, nesting deeper than 64).
 * Keys inside map-typed fields (Labels, Volumes, DriverOpts, ...) are data:
 * case-sensitive, not folded.
 */
#ifndef BODY_INSPECT_H
#define BODY_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

struct body_label {
	char *key;
	char *value;
};

/* A mount a request asks for, as the engine reads it (what profile
 * limits judge). */
struct body_mount {
	char *where;   /* "HostConfig.Binds[0]", "HostConfig.Mounts[1]" */
	char *source;  /* bind: the host path as written; volume: its name
			 ("" for an anonymous one) */
	bool bind;     /* a host path, else a volume */
	char *driver;  /* volume: its driver when named (DriverConfig.Name,
			 VolumeDriver), else NULL */
	char *device;  /* volume: the driver option "device", else NULL */
	char *type;    /* volume: the driver option "type", else NULL */
	char *options; /* volume: the driver option "o", else NULL */
};

/* What a create, update, exec or volume create asks of the host
 * (profile limits).  Strings as written. */
struct body_host {
	bool privileged; /* HostConfig.Privileged; exec's Privileged */
	char *pid_mode, *ipc_mode, *uts_mode, *network_mode, *userns_mode;
	char *cgroupns_mode; /* HostConfig.CgroupnsMode */
	/* What lifts confinement short of Privileged, one sentence each:
	   "HostConfig.SecurityOpt[0] \"seccomp=unconfined\": no seccomp
	   filter" (SecurityOpt, MaskedPaths, ReadonlyPaths; a service's
	   Privileges); see confinement.h. */
	char **unconfined;
	size_t n_unconfined;
	char **cap_add; /* HostConfig.CapAdd and Capabilities (API 1.40:
			   the whole set); ContainerSpec.CapabilityAdd */
	size_t n_cap_add;
	char **devices; /* Devices[].PathOnHost (creates and updates) */
	size_t n_devices;
	size_t n_device_rules;	   /* DeviceCgroupRules: devices by number */
	size_t n_device_requests;  /* DeviceRequests: GPUs, CDI devices */
	struct body_mount *mounts; /* Binds, Mounts; a volume create's own */
	size_t n_mounts;
	char **networks; /* a service's network targets (name or ID) */
	size_t n_networks;
	char **volumes_from; /* HostConfig.VolumesFrom */
	size_t n_volumes_from;
};

struct body_facts {
	/* containers/create: Image.  services: TaskTemplate.ContainerSpec.Image.
	   NULL when absent or JSON null. */
	char *image;
	/* Sources of mounts of Type "image" (HostConfig.Mounts for
	   containers, matched exactly as the engine does;
	   TaskTemplate.ContainerSpec.Mounts for services, in any case, as
	   swarm upper-cases the type).  Never empty strings: an image
	   mount without a Source is refused. */
	char **mount_images;
	size_t n_mount_images;
	/* services: TaskTemplate.PluginSpec.Remote, else NULL. */
	char *plugin_remote;
	/* containers: Labels.  services: the service's Labels, then
	   TaskTemplate.ContainerSpec.Labels (service labels listed first). */
	struct body_label *labels;
	size_t n_labels;
	/* services: Name, else NULL. */
	char *service_name;
	/* What it asks of the host (profile limits). */
	struct body_host host;
};

/*
 * Inspect a POST /containers/create body.  On success fill *out (caller
 * calls body_facts_reset) and return 0.  On refusal return -1 and set
 * *cause to an allocated English sentence naming the problem, e.g.
 * "the body has two keys for the field Image (\"Image\" and \"image\")".
 */
int body_inspect_container_create(const char *body, size_t len,
    struct body_facts *out, char **cause);

/* The same for a swarm ServiceSpec (services/create, services/{id}/update). */
int body_inspect_service_spec(const char *body, size_t len,
    struct body_facts *out, char **cause);

/*
 * The same for the bodies judged only by profile limits: POST
 * /containers/{id}/exec (Privileged), /volumes/create (its driver and
 * device option as a volume mount), /containers/{id}/update (Devices).
 */
int body_inspect_exec_create(const char *body, size_t len,
    struct body_facts *out, char **cause);
int body_inspect_volume_create(const char *body, size_t len,
    struct body_facts *out, char **cause);
int body_inspect_container_update(const char *body, size_t len,
    struct body_facts *out, char **cause);

/*
 * The source of a HostConfig.Binds entry as the engine's Linux parser
 * reads it ("src:dst[:mode]"): an allocated copy of the source and *bind
 * true when it is a host path (absolute), false for a volume name; NULL
 * for no source (an anonymous volume, or a spec the engine refuses).
 */
char *body_bind_source(const char *spec, bool *bind);

/*
 * The engine's answer to GET /volumes/{name}: its Driver and its
 * Options' "device", "type" and "o" into m's fields (allocated, NULL
 * when absent; the caller sets the rest).  Returns 0, or -1 when the
 * body is not a volume.
 */
int body_volume_options(const char *body, size_t len, struct body_mount *m);

/*
 * The engine's answer to GET /networks/{id}: is it the host's network
 * (named "host", or of the host driver)?  Returns 0 with *host, or -1
 * when the body is not a network.
 */
int body_network_is_host(const char *body, size_t len, bool *host);

/*
 * The engine's answer to GET /containers/{id}/json: its Mounts appended
 * to h (Type bind: the host path; Type volume: the volume's Name, with
 * where set to where).  Returns 0, or -1 when the body is not a
 * container.
 */
int body_container_mounts(const char *body, size_t len, const char *where,
    struct body_host *h);

/*
 * The engine's answer to GET /containers/{id}/json: what the container
 * has of the host (its HostConfig read as a create's, its Mounts as
 * body_container_mounts), appended to h.  Returns 0, or -1 when the body
 * is not a container.
 */
int body_container_host(const char *body, size_t len, struct body_host *h);

/*
 * The engine's answer to GET /containers/{id}/json: its HostConfig's
 * PidMode, IpcMode and NetworkMode (allocated, NULL when absent).
 * Returns 0, or -1 when the body is not a container.
 */
int body_container_modes(const char *body, size_t len, char **pid, char **ipc,
    char **net);

/*
 * The engine's answer to GET /exec/{id}/json: the exec's container (an
 * allocated ID) and whether the exec is privileged (its ProcessConfig's
 * "privileged" is true).  Returns 0, or -1
 * when the body is not an exec with a container.
 */
int body_exec_inspect(const char *body, size_t len, char **container_id,
    bool *privileged);

/* Free h's contents and zero it. */
void body_host_free(struct body_host *h);

void body_facts_reset(struct body_facts *facts);

/* The value of label key (exact, case-sensitive; the last one if listed
 * twice), or NULL. */
const char *body_facts_label(const struct body_facts *facts, const char *key);

/*
 * The engine's CheckForJSON: true if the Content-Type header value's media
 * type is application/json (case-insensitive, parameters such as charset
 * allowed).  A NULL or empty ct is false.
 */
bool body_content_type_is_json(const char *ct);

/*
 * Read the "Id" (containers) or "ID" (services) string of an engine create
 * response.  Returns an allocated string, or NULL if the body is not such
 * an object.
 */
char *body_response_id(const char *body, size_t len);

/*
 * Return a copy of the engine's JSON response object with each of
 * warnings appended to its "Warnings" array (created if absent or null).
 * Returns an allocated buffer (NUL-terminated, not counted in *out_len)
 * and sets *out_len, or NULL if the body is not a JSON object, its
 * "Warnings" is neither an array nor null, or a warning is not valid
 * UTF-8 (then the caller forwards the original).
 */
char *body_add_warnings(const char *body, size_t len,
    const char *const *warnings, size_t n_warnings, size_t *out_len);

#endif

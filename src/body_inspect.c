/*
 * Request and response bodies of guarded Engine API calls.  See
 * body_inspect.h for the contract; the comments here say how the engine's
 * Go encoding/json reading is mirrored.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "body_inspect.h"
#include "confinement.h"
#include "utf8.h"
#include "xmalloc.h"

/* Deepest nesting of objects and arrays accepted; the body is level 1. */
#define BODY_MAX_DEPTH 64

/* Characters of a client-chosen key shown in a cause before "...". */
#define BODY_NAME_MAX 48

/*
 * The schema: which fields the guard knows, which of them are maps (keys
 * are data and are not folded) and which types it checks.  A field that
 * is not listed may hold anything; objects inside it are read as structs,
 * so their keys are fold-checked, which can refuse a map the table misses
 * but never lets an ambiguous struct through.  Names are the engine's
 * spelling; lookups fold them.
 */
enum schema_kind {
	SCHEMA_STRING,	 /* string or null */
	SCHEMA_STRUCT,	 /* object or null, keys fold-checked */
	SCHEMA_MAP,	 /* object or null, keys are data */
	SCHEMA_ARRAY,	 /* array or null */
	SCHEMA_BOOL,	 /* true, false or null */
	SCHEMA_STRSLICE, /* string, array of strings, or null (Go's
			    strslice.StrSlice) */
};

struct schema_field;

struct schema {
	enum schema_kind kind;
	const struct schema_field *fields; /* STRUCT, NULL-terminated */
	const struct schema *elem;	   /* MAP, ARRAY; NULL: any */
};

struct schema_field {
	const char *name;
	const struct schema *schema; /* NULL: any */
};

static const struct schema s_string = { SCHEMA_STRING, NULL, NULL };
static const struct schema s_map = { SCHEMA_MAP, NULL, NULL };
static const struct schema s_map_string = { SCHEMA_MAP, NULL, &s_string };
static const struct schema s_bool = { SCHEMA_BOOL, NULL, NULL };
static const struct schema s_strslice = { SCHEMA_STRSLICE, NULL, NULL };
static const struct schema s_strings = { SCHEMA_ARRAY, NULL, &s_string };

/* container.DeviceMapping. */
static const struct schema_field f_device[] = { { "PathOnHost", &s_string },
	{ "PathInContainer", &s_string }, { "CgroupPermissions", &s_string },
	{ NULL, NULL } };
static const struct schema s_device = { SCHEMA_STRUCT, f_device, NULL };
static const struct schema s_devices = { SCHEMA_ARRAY, NULL, &s_device };

/* mount.Mount, shared by containers and services. */
static const struct schema_field f_driver[] = { { "Options", &s_map_string },
	{ "Name", &s_string }, { NULL, NULL } };
static const struct schema s_driver = { SCHEMA_STRUCT, f_driver, NULL };
static const struct schema_field f_volume_options[] = { { "Labels", &s_map },
	{ "DriverConfig", &s_driver }, { NULL, NULL } };
static const struct schema s_volume_options = { SCHEMA_STRUCT, f_volume_options,
	NULL };
static const struct schema_field f_mount[] = { { "Type", &s_string },
	{ "Source", &s_string }, { "VolumeOptions", &s_volume_options },
	{ NULL, NULL } };
static const struct schema s_mount = { SCHEMA_STRUCT, f_mount, NULL };
static const struct schema s_mounts = { SCHEMA_ARRAY, NULL, &s_mount };

/* container.CreateRequest: Config (embedded), HostConfig, NetworkingConfig. */
static const struct schema_field f_log_config[] = { { "Config", &s_map },
	{ NULL, NULL } };
static const struct schema s_log_config = { SCHEMA_STRUCT, f_log_config, NULL };
static const struct schema_field f_device_request[] = { { "Options", &s_map },
	{ NULL, NULL } };
static const struct schema s_device_request = { SCHEMA_STRUCT, f_device_request,
	NULL };
static const struct schema s_device_requests = { SCHEMA_ARRAY, NULL,
	&s_device_request };
static const struct schema_field f_host_config[] = { { "LogConfig",
							 &s_log_config },
	{ "PortBindings", &s_map }, { "Annotations", &s_map },
	{ "StorageOpt", &s_map }, { "Tmpfs", &s_map }, { "Sysctls", &s_map },
	{ "DeviceRequests", &s_device_requests }, { "Mounts", &s_mounts },
	{ "Binds", &s_strings }, { "Privileged", &s_bool },
	{ "PidMode", &s_string }, { "IpcMode", &s_string },
	{ "UTSMode", &s_string }, { "NetworkMode", &s_string },
	{ "UsernsMode", &s_string }, { "CapAdd", &s_strslice },
	{ "Devices", &s_devices }, { "VolumesFrom", &s_strings },
	{ "Capabilities", &s_strings }, { "DeviceCgroupRules", &s_strings },
	{ "VolumeDriver", &s_string }, { "SecurityOpt", &s_strings },
	{ "MaskedPaths", &s_strings }, { "ReadonlyPaths", &s_strings },
	{ "CgroupnsMode", &s_string }, { NULL, NULL } };
static const struct schema s_host_config = { SCHEMA_STRUCT, f_host_config,
	NULL };
static const struct schema_field f_endpoint[] = { { "DriverOpts", &s_map },
	{ NULL, NULL } };
static const struct schema s_endpoint = { SCHEMA_STRUCT, f_endpoint, NULL };
static const struct schema s_endpoints = { SCHEMA_MAP, NULL, &s_endpoint };
static const struct schema_field f_networking_config[] = {
	{ "EndpointsConfig", &s_endpoints }, { NULL, NULL }
};
static const struct schema s_networking_config = { SCHEMA_STRUCT,
	f_networking_config, NULL };
static const struct schema_field f_create[] = { { "Image", &s_string },
	{ "Labels", &s_map_string }, { "Volumes", &s_map },
	{ "ExposedPorts", &s_map }, { "HostConfig", &s_host_config },
	{ "NetworkingConfig", &s_networking_config }, { NULL, NULL } };
static const struct schema s_create = { SCHEMA_STRUCT, f_create, NULL };

/* swarm.ServiceSpec (Annotations embedded). */
static const struct schema_field f_selinux[] = { { "Disable", &s_bool },
	{ "User", &s_string }, { "Role", &s_string }, { "Type", &s_string },
	{ "Level", &s_string }, { NULL, NULL } };
static const struct schema s_selinux = { SCHEMA_STRUCT, f_selinux, NULL };
static const struct schema_field f_mode[] = { { "Mode", &s_string },
	{ NULL, NULL } };
static const struct schema s_mode = { SCHEMA_STRUCT, f_mode, NULL };
static const struct schema_field f_privileges[] = { { "SELinuxContext",
							&s_selinux },
	{ "Seccomp", &s_mode }, { "AppArmor", &s_mode }, { NULL, NULL } };
static const struct schema s_privileges = { SCHEMA_STRUCT, f_privileges, NULL };
static const struct schema_field f_container_spec[] = { { "Image", &s_string },
	{ "Labels", &s_map_string }, { "Sysctls", &s_map },
	{ "Mounts", &s_mounts }, { "CapabilityAdd", &s_strings },
	{ "Privileges", &s_privileges }, { NULL, NULL } };
static const struct schema s_container_spec = { SCHEMA_STRUCT, f_container_spec,
	NULL };
static const struct schema_field f_plugin_spec[] = { { "Name", &s_string },
	{ "Remote", &s_string }, { NULL, NULL } };
static const struct schema s_plugin_spec = { SCHEMA_STRUCT, f_plugin_spec,
	NULL };
static const struct schema_field f_network_attachment[] = {
	{ "DriverOpts", &s_map }, { "Target", &s_string }, { NULL, NULL }
};
static const struct schema s_network_attachment = { SCHEMA_STRUCT,
	f_network_attachment, NULL };
static const struct schema s_network_attachments = { SCHEMA_ARRAY, NULL,
	&s_network_attachment };
static const struct schema_field f_task_template[] = { { "ContainerSpec",
							   &s_container_spec },
	{ "PluginSpec", &s_plugin_spec },
	{ "Networks", &s_network_attachments }, { "LogDriver", &s_driver },
	{ NULL, NULL } };
static const struct schema s_task_template = { SCHEMA_STRUCT, f_task_template,
	NULL };
static const struct schema_field f_service[] = { { "Name", &s_string },
	{ "Labels", &s_map_string }, { "TaskTemplate", &s_task_template },
	{ "Networks", &s_network_attachments }, { NULL, NULL } };
static const struct schema s_service = { SCHEMA_STRUCT, f_service, NULL };

/* types.ExecConfig, volume.CreateOptions, container.UpdateConfig. */
static const struct schema_field f_exec[] = { { "Privileged", &s_bool },
	{ NULL, NULL } };
static const struct schema s_exec = { SCHEMA_STRUCT, f_exec, NULL };
static const struct schema_field f_volume_create[] = { { "Name", &s_string },
	{ "Driver", &s_string }, { "DriverOpts", &s_map_string },
	{ "Labels", &s_map_string }, { NULL, NULL } };
static const struct schema s_volume_create = { SCHEMA_STRUCT, f_volume_create,
	NULL };
static const struct schema_field f_update[] = { { "Devices", &s_devices },
	{ "DeviceCgroupRules", &s_strings }, { NULL, NULL } };
static const struct schema s_update = { SCHEMA_STRUCT, f_update, NULL };

/* Where a value sits, for causes; lives on the walker's stack. */
enum frame_type {
	FRAME_FIELD,
	FRAME_KEY,
	FRAME_INDEX,
};

struct frame {
	const struct frame *up;
	enum frame_type type;
	const char *name; /* FIELD, KEY */
	size_t index;	  /* INDEX */
};

struct sbuf {
	char *buf;
	size_t len;
	size_t size;
};

struct fkey {
	const char *key;
	size_t pos;
};

static void
sbuf_add(struct sbuf *sb, const char *s, size_t n)
{
	size_t size;

	if (sb->len + n + 1 > sb->size) {
		size = sb->size == 0 ? 64 : sb->size;
		while (size < sb->len + n + 1)
			size *= 2;
		sb->buf = xrealloc(sb->buf, size);
		sb->size = size;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static void
sbuf_addstr(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

/* Return the string built so far; caller frees. */
static char *
sbuf_take(struct sbuf *sb)
{
	if (sb->buf == NULL)
		return xstrdup("");
	return sb->buf;
}

/*
 * Decode one UTF-8 sequence from [s, end) the way Go's utf8.DecodeRune
 * does: an invalid or truncated sequence is U+FFFD of width 1.  Returns
 * the width; s must be before end.
 */
static size_t
utf8_decode_go(const unsigned char *s, const unsigned char *end, uint32_t *r)
{
	size_t n = utf8_decode(s, (size_t)(end - s), r);

	if (n == 0) {
		*r = 0xfffd;
		n = 1;
	}
	return n;
}

/*
 * Go's foldName for one rune of a key: ASCII upper case, and the two
 * non-ASCII runes whose simple-fold orbit holds an ASCII letter (KELVIN
 * SIGN with K, LONG S with S).  Every other rune folds to a non-ASCII
 * rune and so can never match an (ASCII) engine field name; leaving it
 * unfolded only means two such keys are not refused as duplicates, which
 * is harmless because the engine ignores them both.
 */
static uint32_t
fold_rune(uint32_t r)
{
	if (r >= 'a' && r <= 'z')
		return r - 'a' + 'A';
	if (r == 0x212a)
		return 'K';
	if (r == 0x17f)
		return 'S';
	return r;
}

/* Compare two keys under folding: <0, 0 or >0. */
static int
fold_cmp(const char *a, const char *b)
{
	const unsigned char *pa = (const unsigned char *)a;
	const unsigned char *pb = (const unsigned char *)b;
	const unsigned char *ea = pa + strlen(a), *eb = pb + strlen(b);
	uint32_t ra, rb;

	for (;;) {
		if (pa == ea || pb == eb)
			return (pa != ea) - (pb != eb);
		pa += utf8_decode_go(pa, ea, &ra);
		pb += utf8_decode_go(pb, eb, &rb);
		ra = fold_rune(ra);
		rb = fold_rune(rb);
		if (ra != rb)
			return ra < rb ? -1 : 1;
	}
}

static bool
fold_eq(const char *a, const char *b)
{
	return fold_cmp(a, b) == 0;
}

/*
 * Append s for a cause: printable ASCII as is, everything else (and the
 * quote and backslash) as a JSON escape, cut after BODY_NAME_MAX runes.
 */
static void
sbuf_add_escaped(struct sbuf *sb, const char *s, bool quoted)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	uint32_t r;
	size_t count = 0;
	char tmp[16];
	char c;

	if (quoted)
		sbuf_add(sb, "\"", 1);
	while (p < end) {
		if (count++ == BODY_NAME_MAX) {
			sbuf_addstr(sb, "...");
			break;
		}
		p += utf8_decode_go(p, end, &r);
		if (r == '"' || r == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)r;
			sbuf_add(sb, tmp, 2);
		} else if (r >= 0x20 && r < 0x7f) {
			c = (char)r;
			sbuf_add(sb, &c, 1);
		} else if (r < 0x10000) {
			snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)r);
			sbuf_addstr(sb, tmp);
		} else {
			r -= 0x10000;
			snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x",
			    (unsigned)(0xd800 + (r >> 10)),
			    (unsigned)(0xdc00 + (r & 0x3ff)));
			sbuf_addstr(sb, tmp);
		}
	}
	if (quoted)
		sbuf_add(sb, "\"", 1);
}

static void
path_render(struct sbuf *sb, const struct frame *f)
{
	char tmp[32];

	if (f == NULL)
		return;
	path_render(sb, f->up);
	switch (f->type) {
	case FRAME_FIELD:
		if (sb->len != 0)
			sbuf_add(sb, ".", 1);
		sbuf_add_escaped(sb, f->name, false);
		break;
	case FRAME_KEY:
		sbuf_add(sb, "[", 1);
		sbuf_add_escaped(sb, f->name, true);
		sbuf_add(sb, "]", 1);
		break;
	case FRAME_INDEX:
		snprintf(tmp, sizeof tmp, "[%zu]", f->index);
		sbuf_addstr(sb, tmp);
		break;
	}
}

/* The path of f, such as HostConfig.Mounts[0].Type; caller frees. */
static char *
path_string(const struct frame *f)
{
	struct sbuf sb = { NULL, 0, 0 };

	path_render(&sb, f);
	return sbuf_take(&sb);
}

static void
set_cause(char **cause, char *s)
{
	if (cause != NULL)
		*cause = s;
	else
		free(s);
}

static const struct schema_field *
schema_lookup(const struct schema *s, const char *key)
{
	const struct schema_field *f;

	if (s == NULL || s->fields == NULL)
		return NULL;
	for (f = s->fields; f->name != NULL; f++) {
		if (fold_eq(key, f->name))
			return f;
	}
	return NULL;
}

static int
fkey_cmp(const void *a, const void *b)
{
	const struct fkey *ka = a, *kb = b;
	int c;

	c = fold_cmp(ka->key, kb->key);
	if (c != 0)
		return c;
	return (ka->pos > kb->pos) - (ka->pos < kb->pos);
}

/*
 * Refuse a struct-typed object with two keys that fold to one name: Go
 * would let the last one win, and which one that is depends on reading
 * the keys exactly as Go does.  Sorting keeps this O(n log n).
 */
static int
check_folds(json_t *obj, const struct schema *s, const struct frame *up,
    char **cause)
{
	struct fkey *keys;
	const struct schema_field *field;
	struct frame f;
	struct sbuf sb = { NULL, 0, 0 };
	const char *key;
	json_t *v;
	size_t n, i = 0;
	char *path;

	n = json_object_size(obj);
	if (n < 2)
		return 0;
	keys = xreallocarray(NULL, n, sizeof *keys);
	json_object_foreach(obj, key, v)
	{
		keys[i].key = key;
		keys[i].pos = i;
		i++;
	}
	qsort(keys, n, sizeof *keys, fkey_cmp);
	for (i = 1; i < n; i++) {
		if (fold_cmp(keys[i - 1].key, keys[i].key) != 0)
			continue;
		field = schema_lookup(s, keys[i].key);
		f.up = up;
		f.type = FRAME_FIELD;
		f.name = field != NULL ? field->name : keys[i - 1].key;
		f.index = 0;
		path = path_string(&f);
		sbuf_addstr(&sb, "the body has two keys for the field ");
		sbuf_addstr(&sb, path);
		sbuf_addstr(&sb, " (");
		sbuf_add_escaped(&sb, keys[i - 1].key, true);
		sbuf_addstr(&sb, " and ");
		sbuf_add_escaped(&sb, keys[i].key, true);
		sbuf_addstr(&sb, ")");
		free(path);
		free(keys);
		set_cause(cause, sbuf_take(&sb));
		return -1;
	}
	free(keys);
	return 0;
}

static int
type_error(const struct frame *f, const char *what, char **cause)
{
	char *path;

	path = path_string(f);
	set_cause(cause, xasprintf("the field %s must be %s", path, what));
	free(path);
	return -1;
}

static int
walk(json_t *, const struct schema *, const struct frame *, int, char **);

static int
walk_struct(json_t *obj, const struct schema *s, const struct frame *up,
    int depth, char **cause)
{
	const struct schema_field *field;
	struct frame f;
	const char *key;
	json_t *v;

	if (check_folds(obj, s, up, cause) != 0)
		return -1;
	json_object_foreach(obj, key, v)
	{
		field = schema_lookup(s, key);
		f.up = up;
		f.type = FRAME_FIELD;
		f.name = field != NULL ? field->name : key;
		f.index = 0;
		if (walk(v, field != NULL ? field->schema : NULL, &f, depth + 1,
			cause) != 0)
			return -1;
	}
	return 0;
}

static int
walk_map(json_t *obj, const struct schema *elem, const struct frame *up,
    int depth, char **cause)
{
	struct frame f;
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		f.up = up;
		f.type = FRAME_KEY;
		f.name = key;
		f.index = 0;
		if (walk(v, elem, &f, depth + 1, cause) != 0)
			return -1;
	}
	return 0;
}

static int
walk_array(json_t *arr, const struct schema *elem, const struct frame *up,
    int depth, char **cause)
{
	struct frame f;
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		f.up = up;
		f.type = FRAME_INDEX;
		f.name = NULL;
		f.index = i;
		if (walk(v, elem, &f, depth + 1, cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * Check v, at nesting level depth, against schema s (NULL: anything).
 * JSON null is accepted everywhere: Go leaves the field at its zero value.
 */
static int
walk(json_t *v, const struct schema *s, const struct frame *f, int depth,
    char **cause)
{
	if (json_is_null(v))
		return 0;
	if ((json_is_object(v) || json_is_array(v)) && depth > BODY_MAX_DEPTH) {
		set_cause(cause,
		    xasprintf("the body is nested deeper than %d "
			      "levels",
			BODY_MAX_DEPTH));
		return -1;
	}
	if (s == NULL) {
		if (json_is_object(v))
			return walk_struct(v, NULL, f, depth, cause);
		if (json_is_array(v))
			return walk_array(v, NULL, f, depth, cause);
		return 0;
	}
	switch (s->kind) {
	case SCHEMA_STRING:
		if (!json_is_string(v))
			return type_error(f, "a string", cause);
		return 0;
	case SCHEMA_STRUCT:
		if (!json_is_object(v))
			return type_error(f, "an object", cause);
		return walk_struct(v, s, f, depth, cause);
	case SCHEMA_MAP:
		if (!json_is_object(v))
			return type_error(f, "an object", cause);
		return walk_map(v, s->elem, f, depth, cause);
	case SCHEMA_ARRAY:
		if (!json_is_array(v))
			return type_error(f, "an array", cause);
		return walk_array(v, s->elem, f, depth, cause);
	case SCHEMA_BOOL:
		if (!json_is_boolean(v))
			return type_error(f, "true or false", cause);
		return 0;
	case SCHEMA_STRSLICE:
		if (json_is_string(v))
			return 0;
		if (!json_is_array(v))
			return type_error(f, "a string or an array of strings",
			    cause);
		return walk_array(v, &s_string, f, depth, cause);
	}
	return 0;
}

/* Copy text from jansson, which may quote raw input bytes, printably. */
static char *
printable(const char *s)
{
	struct sbuf sb = { NULL, 0, 0 };
	char tmp[8];
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f)
			sbuf_add(&sb, s, 1);
		else {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			sbuf_addstr(&sb, tmp);
		}
	}
	return sbuf_take(&sb);
}

/*
 * Parse body as exactly one JSON object and check it against schema.
 * Returns the root (caller decrefs) or NULL with *cause set.
 */
static json_t *
body_load(const char *body, size_t len, const struct schema *schema,
    char **cause)
{
	json_t *root;
	json_error_t error;
	char *text;

	if (body == NULL || len == 0) {
		set_cause(cause, xstrdup("the request has no body"));
		return NULL;
	}
	/*
	 * No JSON_DISABLE_EOF_CHECK: trailing data is refused.  No
	 * JSON_ALLOW_NUL: a key or value with NUL would be cut short here.
	 */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
	if (root == NULL) {
		text = printable(error.text);
		set_cause(cause,
		    xasprintf("the body is not valid JSON: %s at "
			      "line %d column %d",
			text, error.line, error.column));
		free(text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		set_cause(cause, xstrdup("the body is not a JSON object"));
		return NULL;
	}
	if (walk(root, schema, NULL, 1, cause) != 0) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Field name of a struct object, folded; NULL if absent or not an object. */
static json_t *
struct_get(json_t *obj, const char *name)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	json_object_foreach(obj, key, v)
	{
		if (fold_eq(key, name))
			return v;
	}
	return NULL;
}

/* A copy of a string field, or NULL if absent or null. */
static char *
struct_get_string(json_t *obj, const char *name)
{
	json_t *v;

	v = struct_get(obj, name);
	if (!json_is_string(v))
		return NULL;
	return xstrdup(json_string_value(v));
}

/* Append the labels of a map of strings; a null value is "" as in Go. */
static void
add_labels(struct body_facts *facts, json_t *labels)
{
	const char *key;
	json_t *v;
	size_t n;

	if (!json_is_object(labels))
		return;
	n = json_object_size(labels);
	if (n == 0)
		return;
	facts->labels = xreallocarray(facts->labels, facts->n_labels + n,
	    sizeof *facts->labels);
	json_object_foreach(labels, key, v)
	{
		facts->labels[facts->n_labels].key = xstrdup(key);
		facts->labels[facts->n_labels].value = xstrdup(
		    json_is_string(v) ? json_string_value(v) : "");
		facts->n_labels++;
	}
}

/*
 * Is this mount Type want_lower ("image", "bind", "volume")?  Containers:
 * the engine's mount parser compares the type exactly.  Services: the
 * cluster converter looks strings.ToUpper(Type) up in swarmkit's enum, so
 * any case counts, and Go's ToUpper also maps U+0131 DOTLESS I to 'I' and
 * U+017F LONG S to 'S'.
 */
static bool
mount_type_is(const char *type, const char *want_lower, bool any_case)
{
	const unsigned char *p = (const unsigned char *)type;
	const unsigned char *end = p + strlen(type);
	const char *want = want_lower;
	uint32_t r;

	if (!any_case)
		return strcmp(type, want_lower) == 0;
	while (p < end) {
		p += utf8_decode_go(p, end, &r);
		if (r >= 'a' && r <= 'z')
			r = r - 'a' + 'A';
		else if (r == 0x131)
			r = 'I';
		else if (r == 0x17f)
			r = 'S';
		if (*want == '\0' ||
		    r != (uint32_t)(unsigned char)*want - 'a' + 'A')
			return false;
		want++;
	}
	return *want == '\0';
}

static bool
is_image_type(const char *type, bool any_case)
{
	return mount_type_is(type, "image", any_case);
}

static void
strv_add(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

/* The strings of a string or an array (strslice); others are skipped
 * (the schema refused them). */
static void
add_strings(char ***v, size_t *n, json_t *val)
{
	size_t i;
	json_t *e;

	if (json_is_string(val)) {
		strv_add(v, n, json_string_value(val));
		return;
	}
	json_array_foreach(val, i, e)
	{
		if (json_is_string(e))
			strv_add(v, n, json_string_value(e));
	}
}

static void
add_mount(struct body_host *h, char *where, const char *source, bool bind,
    const char *driver, const char *device)
{
	struct body_mount *m;

	h->mounts = xreallocarray(h->mounts, h->n_mounts + 1,
	    sizeof *h->mounts);
	m = &h->mounts[h->n_mounts++];
	m->where = where;
	m->source = xstrdup(source != NULL ? source : "");
	m->bind = bind;
	m->driver = driver != NULL && *driver != '\0' ? xstrdup(driver) : NULL;
	m->device = device != NULL ? xstrdup(device) : NULL;
	m->type = m->options = NULL;
}

/* A string of a map of strings (exact key), or NULL. */
static const char *
map_string(json_t *map, const char *key)
{
	json_t *v = json_is_object(map) ? json_object_get(map, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The local driver's "type" and "o" options of the mount just added
 * (its "device" is add_mount's). */
static void
add_local_options(struct body_host *h, json_t *opts)
{
	struct body_mount *m = &h->mounts[h->n_mounts - 1];

	m->type = xstrdup_or_null(map_string(opts, "type"));
	m->options = xstrdup_or_null(map_string(opts, "o"));
}

/* Mounts of Type bind and volume (mount.Mount). */
static void
add_host_mounts(struct body_host *h, json_t *mounts, const char *where,
    bool any_case)
{
	json_t *m, *dc;
	const char *type, *source;
	size_t i;

	json_array_foreach(mounts, i, m)
	{
		type = json_string_value(struct_get(m, "Type"));
		source = json_string_value(struct_get(m, "Source"));
		if (type == NULL)
			continue;
		if (mount_type_is(type, "bind", any_case)) {
			add_mount(h, xasprintf("%s[%zu]", where, i), source,
			    true, NULL, NULL);
			continue;
		}
		if (!mount_type_is(type, "volume", any_case))
			continue;
		dc = struct_get(struct_get(m, "VolumeOptions"), "DriverConfig");
		add_mount(h, xasprintf("%s[%zu]", where, i), source, false,
		    json_string_value(struct_get(dc, "Name")),
		    map_string(struct_get(dc, "Options"), "device"));
		add_local_options(h, struct_get(dc, "Options"));
	}
}

/* HostConfig.Binds: host paths and volume names. */
static void
add_binds(struct body_host *h, json_t *binds)
{
	json_t *b;
	size_t i;

	json_array_foreach(binds, i, b)
	{
		bool bind;
		char *src = json_is_string(b)
		    ? body_bind_source(json_string_value(b), &bind)
		    : NULL;

		if (src == NULL)
			continue;
		add_mount(h, xasprintf("HostConfig.Binds[%zu]", i), src, bind,
		    NULL, NULL);
		free(src);
	}
}

static void
add_devices(struct body_host *h, json_t *devices)
{
	json_t *d;
	size_t i;

	json_array_foreach(devices, i, d)
	{
		const char *p = json_string_value(struct_get(d, "PathOnHost"));

		if (p != NULL)
			strv_add(&h->devices, &h->n_devices, p);
	}
}

/* Where a service's privileges sit. */
#define PRIV_WHERE "TaskTemplate.ContainerSpec.Privileges."
/* At most this much of a value is quoted (a seccomp profile is a whole
 * JSON document). */
#define QUOTE_MAX 60

/* One way the request lifts confinement: "where \"value\": what", or
 * "where: what" without a value. */
static void
add_unconfined(struct body_host *h, const char *where, const char *value,
    const char *what)
{
	char *line;

	if (value == NULL)
		line = xasprintf("%s: %s", where, what);
	else if (strlen(value) <= QUOTE_MAX)
		line = xasprintf("%s \"%s\": %s", where, value, what);
	else
		line = xasprintf("%s \"%.*s...\": %s", where, QUOTE_MAX - 3,
		    value, what);
	h->unconfined = xreallocarray(h->unconfined, h->n_unconfined + 1,
	    sizeof *h->unconfined);
	h->unconfined[h->n_unconfined++] = line;
}

/* HostConfig.SecurityOpt.  In a container the engine made (made), the
 * engine's own "label=disable" for a container in the host's PID or IPC
 * namespace is no lift by the client (the namespace is judged). */
static void
add_security_opts(struct body_host *h, json_t *opts, bool made)
{
	bool host_ns = (h->pid_mode != NULL &&
			   strcmp(h->pid_mode, "host") == 0) ||
	    (h->ipc_mode != NULL && strcmp(h->ipc_mode, "host") == 0);
	json_t *o;
	size_t i;

	json_array_foreach(opts, i, o)
	{
		const char *what = json_is_string(o)
		    ? confinement_security_opt(json_string_value(o))
		    : NULL;
		char *where;

		if (what == NULL ||
		    (made && host_ns &&
			strcmp(json_string_value(o), "label=disable") == 0))
			continue;
		where = xasprintf("HostConfig.SecurityOpt[%zu]", i);
		add_unconfined(h, where, json_string_value(o), what);
		free(where);
	}
}

/* A MaskedPaths or ReadonlyPaths list, when given (not null), replaces
 * the engine's defaults: each default left out is lifted. */
static void
add_default_paths(struct body_host *h, json_t *list, const char *where,
    bool masked, bool made)
{
	const char **paths, *missing;
	size_t n = json_array_size(list);
	char *what;

	if (!json_is_array(list))
		return;
	paths = xcalloc(n + 1, sizeof *paths);
	for (size_t i = 0; i < n; i++)
		paths[i] = json_string_value(json_array_get(list, i));
	if (!masked)
		missing = confinement_readonly_missing(paths, n);
	else if (made)
		missing = confinement_masked_missing_made(paths, n);
	else
		missing = confinement_masked_missing(paths, n);
	free(paths);
	if (missing == NULL)
		return;
	what = xasprintf(masked ? "%s not masked" : "%s writable", missing);
	add_unconfined(h, where, NULL, what);
	free(what);
}

/* A service's TaskTemplate.ContainerSpec.Privileges. */
static void
add_privileges(struct body_host *h, json_t *p)
{
	json_t *se = struct_get(p, "SELinuxContext");
	const char *seccomp = json_string_value(
	    struct_get(struct_get(p, "Seccomp"), "Mode"));
	const char *apparmor = json_string_value(
	    struct_get(struct_get(p, "AppArmor"), "Mode"));
	const char *what;

	if ((what = confinement_seccomp_mode(seccomp)) != NULL)
		add_unconfined(h, PRIV_WHERE "Seccomp.Mode", seccomp, what);
	if ((what = confinement_apparmor_mode(apparmor)) != NULL)
		add_unconfined(h, PRIV_WHERE "AppArmor.Mode", apparmor, what);
	if ((what = confinement_selinux(json_is_true(struct_get(se, "Disable")),
		 json_string_value(struct_get(se, "User")),
		 json_string_value(struct_get(se, "Role")),
		 json_string_value(struct_get(se, "Type")),
		 json_string_value(struct_get(se, "Level")))) != NULL)
		add_unconfined(h, PRIV_WHERE "SELinuxContext", NULL, what);
}

/* A service's network attachments (TaskTemplate.Networks and the old
 * top-level Networks): their targets, by name or ID. */
static void
add_networks(struct body_host *h, json_t *nets)
{
	json_t *n;
	size_t i;

	json_array_foreach(nets, i, n)
	{
		const char *t = json_string_value(struct_get(n, "Target"));

		if (t != NULL && *t != '\0')
			strv_add(&h->networks, &h->n_networks, t);
	}
}

/* A create's HostConfig, or (made) that of a container the engine made,
 * as its inspect shows it. */
static void
add_host_config(struct body_host *h, json_t *hc, bool made)
{
	const char *vd;

	if (!json_is_object(hc))
		return;
	h->privileged = json_is_true(struct_get(hc, "Privileged"));
	h->pid_mode = struct_get_string(hc, "PidMode");
	h->ipc_mode = struct_get_string(hc, "IpcMode");
	h->uts_mode = struct_get_string(hc, "UTSMode");
	h->network_mode = struct_get_string(hc, "NetworkMode");
	h->userns_mode = struct_get_string(hc, "UsernsMode");
	h->cgroupns_mode = struct_get_string(hc, "CgroupnsMode");
	add_security_opts(h, struct_get(hc, "SecurityOpt"), made);
	add_default_paths(h, struct_get(hc, "MaskedPaths"),
	    "HostConfig.MaskedPaths", true, made);
	add_default_paths(h, struct_get(hc, "ReadonlyPaths"),
	    "HostConfig.ReadonlyPaths", false, made);
	add_strings(&h->cap_add, &h->n_cap_add, struct_get(hc, "CapAdd"));
	add_strings(&h->cap_add, &h->n_cap_add, struct_get(hc, "Capabilities"));
	add_devices(h, struct_get(hc, "Devices"));
	h->n_device_rules = json_array_size(
	    struct_get(hc, "DeviceCgroupRules"));
	h->n_device_requests = json_array_size(
	    struct_get(hc, "DeviceRequests"));
	add_binds(h, struct_get(hc, "Binds"));
	add_host_mounts(h, struct_get(hc, "Mounts"), "HostConfig.Mounts",
	    false);
	add_strings(&h->volumes_from, &h->n_volumes_from,
	    struct_get(hc, "VolumesFrom"));
	/* The driver of the create's named and anonymous volumes. */
	vd = json_string_value(struct_get(hc, "VolumeDriver"));
	if (vd != NULL && *vd != '\0')
		add_mount(h, xstrdup("HostConfig.VolumeDriver"), "", false, vd,
		    NULL);
}

char *
body_bind_source(const char *spec, bool *bind)
{
	const char *c1 = strchr(spec, ':'), *c2, *c3;

	*bind = false;
	/* SplitN(raw, ":", 4): one part is a destination only; more than
	   three is refused. */
	if (c1 == NULL || c1 == spec)
		return NULL;
	c2 = strchr(c1 + 1, ':');
	c3 = c2 != NULL ? strchr(c2 + 1, ':') : NULL;
	if (c3 != NULL)
		return NULL;
	*bind = spec[0] == '/';
	return xstrndup(spec, (size_t)(c1 - spec));
}

static int
add_mount_images(struct body_facts *facts, json_t *mounts, const char *where,
    bool any_case, char **cause)
{
	json_t *m, *type, *source;
	size_t i;

	if (!json_is_array(mounts))
		return 0;
	json_array_foreach(mounts, i, m)
	{
		type = struct_get(m, "Type");
		if (!json_is_string(type) ||
		    !is_image_type(json_string_value(type), any_case))
			continue;
		source = struct_get(m, "Source");
		if (!json_is_string(source) ||
		    *json_string_value(source) == '\0') {
			set_cause(cause,
			    xasprintf("the image mount %s[%zu] has "
				      "no Source",
				where, i));
			return -1;
		}
		facts->mount_images = xreallocarray(facts->mount_images,
		    facts->n_mount_images + 1, sizeof *facts->mount_images);
		facts->mount_images[facts->n_mount_images++] = xstrdup(
		    json_string_value(source));
	}
	return 0;
}

int
body_inspect_container_create(const char *body, size_t len,
    struct body_facts *out, char **cause)
{
	json_t *root;

	memset(out, 0, sizeof *out);
	if ((root = body_load(body, len, &s_create, cause)) == NULL)
		return -1;
	out->image = struct_get_string(root, "Image");
	add_labels(out, struct_get(root, "Labels"));
	add_host_config(&out->host, struct_get(root, "HostConfig"), false);
	if (add_mount_images(out,
		struct_get(struct_get(root, "HostConfig"), "Mounts"),
		"HostConfig.Mounts", false, cause) != 0) {
		body_facts_reset(out);
		json_decref(root);
		return -1;
	}
	json_decref(root);
	return 0;
}

int
body_inspect_service_spec(const char *body, size_t len, struct body_facts *out,
    char **cause)
{
	json_t *root, *task, *cspec;

	memset(out, 0, sizeof *out);
	if ((root = body_load(body, len, &s_service, cause)) == NULL)
		return -1;
	out->service_name = struct_get_string(root, "Name");
	add_labels(out, struct_get(root, "Labels"));
	task = struct_get(root, "TaskTemplate");
	cspec = struct_get(task, "ContainerSpec");
	out->image = struct_get_string(cspec, "Image");
	add_labels(out, struct_get(cspec, "Labels"));
	out->plugin_remote = struct_get_string(struct_get(task, "PluginSpec"),
	    "Remote");
	add_host_mounts(&out->host, struct_get(cspec, "Mounts"),
	    "TaskTemplate.ContainerSpec.Mounts", true);
	add_strings(&out->host.cap_add, &out->host.n_cap_add,
	    struct_get(cspec, "CapabilityAdd"));
	add_privileges(&out->host, struct_get(cspec, "Privileges"));
	add_networks(&out->host, struct_get(task, "Networks"));
	add_networks(&out->host, struct_get(root, "Networks"));
	if (add_mount_images(out, struct_get(cspec, "Mounts"),
		"TaskTemplate.ContainerSpec.Mounts", true, cause) != 0) {
		body_facts_reset(out);
		json_decref(root);
		return -1;
	}
	json_decref(root);
	return 0;
}

int
body_inspect_exec_create(const char *body, size_t len, struct body_facts *out,
    char **cause)
{
	json_t *root;

	memset(out, 0, sizeof *out);
	if ((root = body_load(body, len, &s_exec, cause)) == NULL)
		return -1;
	out->host.privileged = json_is_true(struct_get(root, "Privileged"));
	json_decref(root);
	return 0;
}

int
body_inspect_volume_create(const char *body, size_t len, struct body_facts *out,
    char **cause)
{
	json_t *root;

	memset(out, 0, sizeof *out);
	if ((root = body_load(body, len, &s_volume_create, cause)) == NULL)
		return -1;
	add_mount(&out->host, xstrdup("DriverOpts"),
	    json_string_value(struct_get(root, "Name")), false,
	    json_string_value(struct_get(root, "Driver")),
	    map_string(struct_get(root, "DriverOpts"), "device"));
	add_local_options(&out->host, struct_get(root, "DriverOpts"));
	json_decref(root);
	return 0;
}

int
body_inspect_container_update(const char *body, size_t len,
    struct body_facts *out, char **cause)
{
	json_t *root;

	memset(out, 0, sizeof *out);
	if ((root = body_load(body, len, &s_update, cause)) == NULL)
		return -1;
	add_devices(&out->host, struct_get(root, "Devices"));
	out->host.n_device_rules = json_array_size(
	    struct_get(root, "DeviceCgroupRules"));
	json_decref(root);
	return 0;
}

int
body_network_is_host(const char *body, size_t len, bool *host)
{
	json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	const char *name, *driver;

	*host = false;
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	name = json_string_value(json_object_get(root, "Name"));
	driver = json_string_value(json_object_get(root, "Driver"));
	*host = (name != NULL && strcmp(name, "host") == 0) ||
	    (driver != NULL && strcmp(driver, "host") == 0);
	json_decref(root);
	return 0;
}

int
body_volume_options(const char *body, size_t len, struct body_mount *m)
{
	json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *opts;

	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	opts = json_object_get(root, "Options");
	m->driver = xstrdup_or_null(
	    json_string_value(json_object_get(root, "Driver")));
	m->device = xstrdup_or_null(map_string(opts, "device"));
	m->type = xstrdup_or_null(map_string(opts, "type"));
	m->options = xstrdup_or_null(map_string(opts, "o"));
	json_decref(root);
	return 0;
}

int
body_container_mounts(const char *body, size_t len, const char *where,
    struct body_host *h)
{
	json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *mounts, *m;
	size_t i;

	mounts = json_is_object(root) ? json_object_get(root, "Mounts") : NULL;
	if (!json_is_array(mounts)) {
		json_decref(root);
		return -1;
	}
	json_array_foreach(mounts, i, m)
	{
		const char *type = json_string_value(
		    json_object_get(m, "Type"));
		const char *src = json_string_value(
		    json_object_get(m, "Source"));
		const char *name = json_string_value(
		    json_object_get(m, "Name"));
		const char *drv = json_string_value(
		    json_object_get(m, "Driver"));

		if (type != NULL && strcmp(type, "bind") == 0 && src != NULL)
			add_mount(h, xstrdup(where), src, true, NULL, NULL);
		else if (type != NULL && strcmp(type, "volume") == 0 &&
		    name != NULL)
			add_mount(h, xstrdup(where), name, false, drv, NULL);
	}
	json_decref(root);
	return 0;
}

int
body_container_host(const char *body, size_t len, struct body_host *h)
{
	json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *hc = json_is_object(root) ? json_object_get(root, "HostConfig")
					  : NULL;

	if (!json_is_object(hc)) {
		json_decref(root);
		return -1;
	}
	add_host_config(h, hc, true);
	/* On a cgroup v1 host the engine's own default is the host's cgroup
	   namespace: what it chose is no lift by the client. */
	free(h->cgroupns_mode);
	h->cgroupns_mode = NULL;
	json_decref(root);
	return body_container_mounts(body, len, "the container's Mounts", h);
}

int
body_container_modes(const char *body, size_t len, char **pid, char **ipc,
    char **net)
{
	json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *hc = json_is_object(root) ? json_object_get(root, "HostConfig")
					  : NULL;
	const char *v;

	*pid = *ipc = *net = NULL;
	if (!json_is_object(hc)) {
		json_decref(root);
		return -1;
	}
	if ((v = json_string_value(json_object_get(hc, "PidMode"))) != NULL)
		*pid = xstrdup(v);
	if ((v = json_string_value(json_object_get(hc, "IpcMode"))) != NULL)
		*ipc = xstrdup(v);
	if ((v = json_string_value(json_object_get(hc, "NetworkMode"))) != NULL)
		*net = xstrdup(v);
	json_decref(root);
	return 0;
}

int
body_exec_inspect(const char *body, size_t len, char **container_id,
    bool *privileged)
{
	json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *pc = json_is_object(root)
	    ? json_object_get(root, "ProcessConfig")
	    : NULL;
	const char *id = json_string_value(
	    json_object_get(root, "ContainerID"));

	*container_id = NULL;
	*privileged = false;
	if (id == NULL || id[0] == '\0') {
		json_decref(root);
		return -1;
	}
	*container_id = xstrdup(id);
	*privileged = json_is_true(json_object_get(pc, "privileged"));
	json_decref(root);
	return 0;
}

static void
body_host_reset(struct body_host *h)
{
	size_t i;

	free(h->pid_mode);
	free(h->ipc_mode);
	free(h->uts_mode);
	free(h->network_mode);
	free(h->userns_mode);
	free(h->cgroupns_mode);
	for (i = 0; i < h->n_networks; i++)
		free(h->networks[i]);
	free(h->networks);
	for (i = 0; i < h->n_unconfined; i++)
		free(h->unconfined[i]);
	free(h->unconfined);
	for (i = 0; i < h->n_cap_add; i++)
		free(h->cap_add[i]);
	free(h->cap_add);
	for (i = 0; i < h->n_devices; i++)
		free(h->devices[i]);
	free(h->devices);
	for (i = 0; i < h->n_mounts; i++) {
		free(h->mounts[i].where);
		free(h->mounts[i].source);
		free(h->mounts[i].driver);
		free(h->mounts[i].device);
		free(h->mounts[i].type);
		free(h->mounts[i].options);
	}
	free(h->mounts);
	for (i = 0; i < h->n_volumes_from; i++)
		free(h->volumes_from[i]);
	free(h->volumes_from);
}

void
body_host_free(struct body_host *h)
{
	body_host_reset(h);
	memset(h, 0, sizeof *h);
}

void
body_facts_reset(struct body_facts *facts)
{
	size_t i;

	body_host_reset(&facts->host);
	free(facts->image);
	for (i = 0; i < facts->n_mount_images; i++)
		free(facts->mount_images[i]);
	free(facts->mount_images);
	free(facts->plugin_remote);
	for (i = 0; i < facts->n_labels; i++) {
		free(facts->labels[i].key);
		free(facts->labels[i].value);
	}
	free(facts->labels);
	free(facts->service_name);
	memset(facts, 0, sizeof *facts);
}

const char *
body_facts_label(const struct body_facts *facts, const char *key)
{
	size_t i;

	for (i = facts->n_labels; i > 0; i--) {
		if (strcmp(facts->labels[i - 1].key, key) == 0)
			return facts->labels[i - 1].value;
	}
	return NULL;
}

/* Go's unicode.IsSpace. */
static bool
go_is_space(uint32_t r)
{
	switch (r) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	}
	return r >= 0x2000 && r <= 0x200a;
}

/* RFC 2045 token character, as Go's mime isTokenChar. */
static bool
mime_is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const unsigned char *
skip_space(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *q;
	uint32_t r;

	while (p < end) {
		q = p + utf8_decode_go(p, end, &r);
		if (!go_is_space(r))
			break;
		p = q;
	}
	return p;
}

static const unsigned char *
skip_token(const unsigned char *p, const unsigned char *end)
{
	while (p < end && mime_is_token_char(*p))
		p++;
	return p;
}

/*
 * Go's mime consumeValue, without keeping the value: a token or a quoted
 * string.  Returns the end of the value, or NULL on failure.
 */
static const unsigned char *
mime_skip_value(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *q;

	if (p == end)
		return NULL;
	if (*p != '"') {
		q = skip_token(p, end);
		return q == p ? NULL : q;
	}
	for (q = p + 1; q < end; q++) {
		if (*q == '"')
			return q + 1;
		/* Go keeps MSIE's unescaped backslashes before tokens. */
		if (*q == '\\' && q + 1 < end && !mime_is_token_char(q[1])) {
			q++;
			continue;
		}
		if (*q == '\r' || *q == '\n')
			return NULL;
	}
	return NULL;
}

struct mime_param {
	const unsigned char *name;
	size_t len;
};

static int
mime_param_cmp(const void *a, const void *b)
{
	const struct mime_param *pa = a, *pb = b;
	size_t i, n = pa->len < pb->len ? pa->len : pb->len;
	int ca, cb;

	for (i = 0; i < n; i++) {
		ca = pa->name[i];
		cb = pb->name[i];
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return ca - cb;
	}
	return (pa->len > pb->len) - (pa->len < pb->len);
}

/*
 * The parameter part of Go's mime.ParseMediaType: true if it parses.
 * Any parameter error makes ParseMediaType fail, and the engine's
 * CheckForJSON with it.
 */
static bool
mime_params_ok(const unsigned char *p, const unsigned char *end)
{
	struct mime_param *params = NULL;
	const unsigned char *q, *name, *t;
	size_t n = 0, i;
	bool ok = true;

	while (p < end) {
		p = skip_space(p, end);
		if (p == end)
			break;
		/* consumeMediaParam: ; token = value */
		q = p;
		if (*q != ';')
			goto bad;
		q = skip_space(q + 1, end);
		name = q;
		q = skip_token(q, end);
		if (q == name)
			goto bad;
		t = q;
		q = skip_space(q, end);
		if (q == end || *q != '=')
			goto bad;
		q = skip_space(q + 1, end);
		if ((q = mime_skip_value(q, end)) == NULL)
			goto bad;
		params = xreallocarray(params, n + 1, sizeof *params);
		params[n].name = name;
		params[n].len = (size_t)(t - name);
		n++;
		p = q;
		continue;
	bad:
		/* A lone trailing ";" is ignored, anything else an error. */
		q = skip_space(p + 1, end);
		ok = *p == ';' && q == end;
		break;
	}
	if (ok && n > 1) {
		/* Duplicate parameter names (case-insensitive) are an error. */
		qsort(params, n, sizeof *params, mime_param_cmp);
		for (i = 1; i < n; i++) {
			if (mime_param_cmp(&params[i - 1], &params[i]) == 0)
				ok = false;
		}
	}
	free(params);
	return ok;
}

bool
body_content_type_is_json(const char *ct)
{
	static const char want[] = "application/json";
	const unsigned char *p, *end, *semi, *base_end, *q;
	uint32_t r;
	size_t i = 0;

	if (ct == NULL || *ct == '\0')
		return false;
	p = (const unsigned char *)ct;
	end = p + strlen(ct);
	semi = memchr(p, ';', (size_t)(end - p));
	base_end = semi != NULL ? semi : end;

	/*
	 * mediatype = strings.TrimSpace(strings.ToLower(base)).  Go's
	 * ToLower maps U+0130 to 'i' and U+212A to 'k'; no other non-ASCII
	 * rune lowers to an ASCII letter.
	 */
	p = skip_space(p, base_end);
	while (p < base_end) {
		q = p + utf8_decode_go(p, base_end, &r);
		if (go_is_space(r) && skip_space(q, base_end) == base_end)
			break;
		if (r >= 'A' && r <= 'Z')
			r += 'a' - 'A';
		else if (r == 0x130)
			r = 'i';
		else if (r == 0x212a)
			r = 'k';
		if (i == sizeof want - 1 || r != (unsigned char)want[i])
			return false;
		i++;
		p = q;
	}
	if (i != sizeof want - 1)
		return false;
	return mime_params_ok(base_end, end);
}

char *
body_response_id(const char *body, size_t len)
{
	json_t *root, *id;
	char *s = NULL;

	if (body == NULL || len == 0)
		return NULL;
	root = json_loadb(body, len, 0, NULL);
	if (root == NULL)
		return NULL;
	if (json_is_object(root)) {
		id = json_object_get(root, "Id");
		if (!json_is_string(id))
			id = json_object_get(root, "ID");
		if (json_is_string(id))
			s = xstrdup(json_string_value(id));
	}
	json_decref(root);
	return s;
}

char *
body_add_warnings(const char *body, size_t len, const char *const *warnings,
    size_t n_warnings, size_t *out_len)
{
	json_t *root, *list, *w;
	size_t i, size;
	char *out = NULL;

	if (body == NULL || len == 0)
		return NULL;
	root = json_loadb(body, len, 0, NULL);
	if (root == NULL)
		return NULL;
	if (!json_is_object(root))
		goto done;
	list = json_object_get(root, "Warnings");
	if (list == NULL || json_is_null(list)) {
		if ((list = json_array()) == NULL ||
		    json_object_set_new(root, "Warnings", list) != 0)
			goto done;
	} else if (!json_is_array(list))
		goto done;
	for (i = 0; i < n_warnings; i++) {
		if ((w = json_string(warnings[i])) == NULL ||
		    json_array_append_new(list, w) != 0)
			goto done;
	}
	size = json_dumpb(root, NULL, 0, JSON_COMPACT);
	if (size == 0)
		goto done;
	out = xmalloc(size + 1);
	if (json_dumpb(root, out, size, JSON_COMPACT) != size) {
		free(out);
		out = NULL;
		goto done;
	}
	out[size] = '\0';
	*out_len = size;
done:
	json_decref(root);
	return out;
}

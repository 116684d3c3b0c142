/*
 * guard.conf parser: a line-oriented "key = value" format driven by one
 * table row per key.  Errors never stop the parse; each one is appended as
 * "FILE:LINE: message" so one run reports everything (relayd's yyerror).
 */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "profile.h"
#include "xmalloc.h"

/* Longest line accepted, not counting the line ending. */
#define CONFIG_MAX_LINE 4096
/* sun_path holds 108 bytes including the terminating NUL. */
#define CONFIG_MAX_SOCKET_PATH 107
/* Longest value quoted back in a message before it is cut short. */
#define CONFIG_MAX_QUOTED 64
/* Docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
#define CONFIG_MAX_TAG 128
/*
 * glibc's regcomp expands x{m,n} and x+ by copying x, so nested counts
 * multiply (((a{100}){100}){100} takes a second; x followed by 40 '+'
 * exhausts memory), and its time grows faster than the copies do
 * ((((.*)*)*){256} takes a second).  Tags are at most 128 bytes, so small
 * patterns with small counts are all anyone needs.
 */
#define CONFIG_MAX_REGEX 256
#define CONFIG_MAX_REGEX_NODES 512

enum key_type {
	KEY_SOCKET_PATH,     /* char *, absolute, <= 107 bytes */
	KEY_PATH,	     /* char *, absolute */
	KEY_MODE,	     /* unsigned, octal 0..0777 */
	KEY_GROUP,	     /* char *, group name or "" */
	KEY_LOG_LEVEL,	     /* enum log_level */
	KEY_LOG_FORMAT,	     /* enum log_format */
	KEY_SIZE,	     /* size_t, with K/M/G suffix, min..max */
	KEY_UINT,	     /* unsigned, decimal, min..max */
	KEY_SECONDS,	     /* unsigned, decimal, min..max */
	KEY_RULE,	     /* enum rule_mode */
	KEY_ALLOW,	     /* bool: allow|deny */
	KEY_TAGS,	     /* string_list of tag names */
	KEY_GLOBS,	     /* string_list of repository globs */
	KEY_SOURCES,	     /* string_list of version sources, >= 1 */
	KEY_OVERRIDES,	     /* string_list, subset of override_names */
	KEY_BOOL,	     /* bool: yes|no */
	KEY_PATH_POLICY,     /* enum path_policy */
	KEY_OPT_PATH,	     /* char *, absolute, or "" for NULL */
	KEY_HOSTS,	     /* string_list of registry hosts */
	KEY_HOST_PAIRS,	     /* string_list of "host=value" */
	KEY_CONNINFO,	     /* char *, a libpq connection string, or "" */
	KEY_HOST_NAME,	     /* char *, a host's name, or "" */
	KEY_OPS_LISTEN,	     /* char *, loopback host:port or socket path, "" */
	KEY_URL,	     /* char *, an http(s) URL, or "" */
	KEY_SOCKET_PROFILES, /* string_list of "socket-path:NAME" */
	KEY_PROFILE_NAME,    /* char *, a profile's name, or "" */
};

struct config_key {
	const char *name;
	enum key_type type;
	size_t off;
	size_t min;
	size_t max;
};

#define OFF(f) offsetof(struct guard_config, f)

static const struct config_key config_keys[] = {
	{ "listen", KEY_SOCKET_PATH, OFF(listen), 0, 0 },
	{ "upstream", KEY_SOCKET_PATH, OFF(upstream), 0, 0 },
	{ "database", KEY_PATH, OFF(database), 0, 0 },
	{ "socket_mode", KEY_MODE, OFF(socket_mode), 0, 0777 },
	{ "socket_group", KEY_GROUP, OFF(socket_group), 0, 0 },
	{ "log_level", KEY_LOG_LEVEL, OFF(log_level), 0, 0 },
	{ "log_format", KEY_LOG_FORMAT, OFF(log_format), 0, 0 },
	{ "max_header_bytes", KEY_SIZE, OFF(max_header_bytes), 1024,
	    1024 * 1024 },
	{ "max_headers", KEY_UINT, OFF(max_headers), 1, 1000 },
	{ "body_limit", KEY_SIZE, OFF(body_limit), 1024, 64 * 1024 * 1024 },
	{ "shutdown_grace", KEY_SECONDS, OFF(shutdown_grace), 0, 3600 },
	{ "idle_timeout", KEY_SECONDS, OFF(idle_timeout), 0, 86400 },
	{ "max_connections", KEY_UINT, OFF(max_connections), 1, 1000000 },
	{ "require_digest", KEY_RULE, OFF(require_digest), 0, 0 },
	{ "downgrade", KEY_RULE, OFF(downgrade), 0, 0 },
	{ "local_images", KEY_ALLOW, OFF(local_images_allow), 0, 0 },
	{ "unknown_version", KEY_ALLOW, OFF(unknown_version_allow), 0, 0 },
	{ "rolling_tags", KEY_TAGS, OFF(rolling_tags), 0, 0 },
	{ "digest_exempt", KEY_GLOBS, OFF(digest_exempt), 0, 0 },
	{ "version_sources", KEY_SOURCES, OFF(version_sources), 0, 0 },
	{ "overrides", KEY_OVERRIDES, OFF(overrides), 0, 0 },
	{ "registry_presence", KEY_RULE, OFF(registry_presence), 0, 0 },
	{ "registry_unreachable", KEY_ALLOW, OFF(registry_unreachable_allow), 0,
	    0 },
	{ "registry_timeout", KEY_SECONDS, OFF(registry_timeout), 1, 300 },
	{ "registry_cache_ttl", KEY_SECONDS, OFF(registry_cache_ttl), 0,
	    86400 },
	{ "registry_negative_ttl", KEY_SECONDS, OFF(registry_negative_ttl), 0,
	    3600 },
	{ "check_all_platforms", KEY_BOOL, OFF(check_all_platforms), 0, 0 },
	{ "docker_config", KEY_OPT_PATH, OFF(docker_config), 0, 0 },
	{ "registry_auth", KEY_HOST_PAIRS, OFF(registry_auth), 0, 0 },
	{ "registry_ca_files", KEY_HOST_PAIRS, OFF(registry_ca_files), 0, 0 },
	{ "registry_insecure", KEY_HOSTS, OFF(registry_insecure), 0, 0 },
	{ "restore_on_refusal", KEY_BOOL, OFF(restore_on_refusal), 0, 0 },
	{ "restore_window", KEY_SECONDS, OFF(restore_window), 0, 604800 },
	{ "pull_require_digest", KEY_RULE, OFF(pull_require_digest), 0, 0 },
	{ "allowed_registries", KEY_GLOBS, OFF(allowed_registries), 0, 0 },
	{ "imports", KEY_ALLOW, OFF(imports_allow), 0, 0 },
	{ "build", KEY_PATH_POLICY, OFF(build), 0, 0 },
	{ "buildkit", KEY_ALLOW, OFF(buildkit_allow), 0, 0 },
	{ "plugins", KEY_PATH_POLICY, OFF(plugins), 0, 0 },
	{ "ledger", KEY_CONNINFO, OFF(ledger), 0, 0 },
	{ "host_name", KEY_HOST_NAME, OFF(host_name), 0, 0 },
	{ "ledger_unreachable", KEY_ALLOW, OFF(ledger_unreachable_allow), 0,
	    0 },
	{ "metrics_listen", KEY_OPS_LISTEN, OFF(metrics_listen), 0, 0 },
	{ "drift_interval", KEY_SECONDS, OFF(drift_interval), 0, 86400 },
	{ "drift_max_containers", KEY_UINT, OFF(drift_max_containers), 1,
	    10000 },
	{ "notify_url", KEY_URL, OFF(notify_url), 0, 0 },
	{ "notify_timeout", KEY_SECONDS, OFF(notify_timeout), 1, 300 },
	{ "notify_tries", KEY_UINT, OFF(notify_tries), 1, 10 },
	{ "listen_profiles", KEY_SOCKET_PROFILES, OFF(listen_profiles), 0, 0 },
	{ "default_profile", KEY_PROFILE_NAME, OFF(default_profile), 0, 0 },
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

struct config_choice {
	const char *name;
	int value;
};

static const struct config_choice rule_choices[] = { { "enforce",
							 RULE_ENFORCE },
	{ "warn", RULE_WARN }, { "off", RULE_OFF }, { NULL, 0 } };

static const struct config_choice log_choices[] = {
	{ "error", LOG_LEVEL_ERROR }, { "warn", LOG_LEVEL_WARN },
	{ "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG }, { NULL, 0 }
};

static const struct config_choice log_format_choices[] = {
	{ "text", LOG_FORMAT_TEXT }, { "json", LOG_FORMAT_JSON }, { NULL, 0 }
};

static const struct config_choice allow_choices[] = { { "allow", 1 },
	{ "deny", 0 }, { NULL, 0 } };

static const struct config_choice path_choices[] = { { "judge", PATH_JUDGE },
	{ "deny", PATH_DENY }, { "allow", PATH_ALLOW }, { NULL, 0 } };

static const struct config_choice bool_choices[] = { { "yes", 1 }, { "no", 0 },
	{ NULL, 0 } };

static const struct config_choice override_choices[] = {
	{ "allow-downgrade", 0 }, { "allow-tag", 1 }, { NULL, 0 }
};

static const char *const default_rolling_tags[] = { "latest", "dev", "edge",
	"nightly", "main", NULL };

static const char *const default_version_sources[] = {
	"label:org.opencontainers.image.version",
	"label:org.label-schema.version", "env:{REPO}_VERSION", "tag", NULL
};

static const char *const default_overrides[] = { "allow-downgrade", "allow-tag",
	NULL };

/* State of one config_parse call. */
struct config_parse_state {
	struct guard_config *cfg;
	const char *filename;
	struct config_errors *errs;
	size_t nerrs;
	size_t lineno;
};

static void
config_list_free(struct string_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* Append a copy of the len bytes at s. */
static void
config_list_add(struct string_list *list, const char *s, size_t len)
{
	list->items = xreallocarray(list->items, list->n + 1,
	    sizeof(*list->items));
	list->items[list->n++] = xstrndup(s, len);
}

static void
config_list_set_defaults(struct string_list *list, const char *const *items)
{
	for (; *items != NULL; items++)
		config_list_add(list, *items, strlen(*items));
}

struct guard_config *
config_new(void)
{
	struct guard_config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->listen = xstrdup("/run/docker-guard.sock");
	cfg->upstream = xstrdup("/var/run/docker.sock");
	cfg->database = xstrdup("/var/lib/docker-guard/guard.db");
	cfg->socket_mode = 0660;
	cfg->socket_group = xstrdup("docker");
	cfg->socket_group_explicit = false;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->log_format = LOG_FORMAT_TEXT;
	cfg->max_header_bytes = 64 * 1024;
	cfg->max_headers = 100;
	cfg->body_limit = 1024 * 1024;
	cfg->shutdown_grace = 10;
	cfg->idle_timeout = 60;
	cfg->max_connections = 1024;
	cfg->require_digest = RULE_ENFORCE;
	cfg->downgrade = RULE_ENFORCE;
	cfg->local_images_allow = true;
	cfg->unknown_version_allow = true;
	config_list_set_defaults(&cfg->rolling_tags, default_rolling_tags);
	/* digest_exempt is empty. */
	config_list_set_defaults(&cfg->version_sources,
	    default_version_sources);
	config_list_set_defaults(&cfg->overrides, default_overrides);
	cfg->registry_presence = RULE_ENFORCE;
	cfg->registry_unreachable_allow = true;
	cfg->registry_timeout = 10;
	cfg->registry_cache_ttl = 600;
	cfg->registry_negative_ttl = 30;
	cfg->check_all_platforms = false;
	cfg->restore_on_refusal = true;
	cfg->restore_window = 3600;
	cfg->pull_require_digest = RULE_ENFORCE;
	cfg->imports_allow = true;
	cfg->build = PATH_JUDGE;
	cfg->buildkit_allow = false;
	cfg->plugins = PATH_JUDGE;
	cfg->drift_interval = 0;
	cfg->drift_max_containers = 100;
	cfg->notify_timeout = 10;
	cfg->notify_tries = 3;
	cfg->profiles = profile_set_new();
	return cfg;
}

void
config_free(struct guard_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->listen);
	free(cfg->upstream);
	free(cfg->database);
	free(cfg->socket_group);
	config_list_free(&cfg->rolling_tags);
	config_list_free(&cfg->digest_exempt);
	config_list_free(&cfg->version_sources);
	config_list_free(&cfg->overrides);
	free(cfg->docker_config);
	free(cfg->ledger);
	free(cfg->metrics_listen);
	free(cfg->host_name);
	free(cfg->notify_url);
	config_list_free(&cfg->registry_auth);
	config_list_free(&cfg->registry_ca_files);
	config_list_free(&cfg->registry_insecure);
	config_list_free(&cfg->allowed_registries);
	config_list_free(&cfg->listen_profiles);
	free(cfg->default_profile);
	profile_set_free(cfg->profiles);
	free(cfg);
}

void
config_errors_reset(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
}

const char *
config_rule_mode_name(enum rule_mode mode)
{
	for (const struct config_choice *c = rule_choices; c->name; c++) {
		if (c->value == (int)mode)
			return c->name;
	}
	return "unknown";
}

const char *
config_path_policy_name(enum path_policy p)
{
	for (const struct config_choice *c = path_choices; c->name; c++) {
		if (c->value == (int)p)
			return c->name;
	}
	return "unknown";
}

int
config_parse_size(const char *s, size_t *out)
{
	size_t n = 0, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (SIZE_MAX - (size_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (size_t)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'K':
	case 'k':
		mult = (size_t)1 << 10;
		break;
	case 'M':
	case 'm':
		mult = (size_t)1 << 20;
		break;
	case 'G':
	case 'g':
		mult = (size_t)1 << 30;
		break;
	default:
		return -1;
	}
	if (mult != 1) {
		p++;
		if (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0)
			p += strlen(p);
	}
	if (*p != '\0')
		return -1;
	if (n > SIZE_MAX / mult)
		return -1;
	*out = n * mult;
	return 0;
}

int
config_ops_addr(const char *s, char *host, size_t hostlen, unsigned *port)
{
	static const char *const hosts[][2] = { { "127.0.0.1:", "127.0.0.1" },
		{ "[::1]:", "::1" }, { "localhost:", "127.0.0.1" } };
	const char *p = NULL, *h = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
		if (strncmp(s, hosts[i][0], strlen(hosts[i][0])) == 0) {
			p = s + strlen(hosts[i][0]);
			h = hosts[i][1];
		}
	}
	if (p == NULL || *p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && n <= 65535; p++)
		n = n * 10 + (size_t)(*p - '0');
	if (*p != '\0' || n > 65535)
		return -1;
	if (host != NULL)
		snprintf(host, hostlen, "%s", h);
	if (port != NULL)
		*port = (unsigned)n;
	return 0;
}

/*
 * Quote s for a message: "...", with '"', '\' and bytes outside printable
 * ASCII escaped, cut short after CONFIG_MAX_QUOTED bytes.  Caller frees.
 */
static char *
config_quote(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(s), n = len, i, o = 0;
	char *q;

	if (n > CONFIG_MAX_QUOTED)
		n = CONFIG_MAX_QUOTED;
	q = xmalloc(n * 4 + sizeof("\"...\""));
	q[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			q[o++] = '\\';
			q[o++] = (char)c;
		} else if (c < 0x20 || c > 0x7e) {
			q[o++] = '\\';
			q[o++] = 'x';
			q[o++] = hex[c >> 4];
			q[o++] = hex[c & 0xf];
		} else
			q[o++] = (char)c;
	}
	if (n < len) {
		memcpy(q + o, "...", 3);
		o += 3;
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

static void __attribute__((format(printf, 2, 3)))
config_error(struct config_parse_state *ps, const char *fmt, ...)
{
	struct config_errors *errs = ps->errs;
	va_list ap;
	char *msg;

	ps->nerrs++;
	if (errs == NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	errs->lines = xreallocarray(errs->lines, errs->n + 1,
	    sizeof(*errs->lines));
	errs->lines[errs->n++] = xasprintf("%s:%zu: %s", ps->filename,
	    ps->lineno, msg);
	free(msg);
}

/* Report "KEY: "VALUE" WHAT". */
static void
config_bad_value(struct config_parse_state *ps, const struct config_key *key,
    const char *value, const char *what)
{
	char *q = config_quote(value);

	config_error(ps, "%s: %s %s", key->name, q, what);
	free(q);
}

static bool
config_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
config_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

/* Parse base 8 or 10 digits into a number <= max: 0 on success. */
static int
config_parse_uint(const char *s, unsigned base, size_t max, size_t *out)
{
	size_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s >= '0' + (int)base)
			return -1;
		n = n * base + (size_t)(*s - '0');
		if (n > max)
			return -1;
	}
	*out = n;
	return 0;
}

/* Look value up in choices: 0 and *out on success. */
static int
config_choose(const struct config_choice *choices, const char *value, int *out)
{
	for (; choices->name != NULL; choices++) {
		if (strcmp(choices->name, value) == 0) {
			*out = choices->value;
			return 0;
		}
	}
	return -1;
}

/* "is not one of a, b, c".  Caller frees. */
static char *
config_choices_text(const struct config_choice *choices)
{
	char *s = xstrdup("is not one of"), *t;
	const char *sep = " ";

	for (; choices->name != NULL; choices++) {
		t = xasprintf("%s%s%s", s, sep, choices->name);
		free(s);
		s = t;
		sep = ", ";
	}
	return s;
}

static void
config_bad_choice(struct config_parse_state *ps, const struct config_key *key,
    const char *value, const struct config_choice *choices)
{
	char *what = config_choices_text(choices);

	config_bad_value(ps, key, value, what);
	free(what);
}

static bool
config_tag_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CONFIG_MAX_TAG)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_')
			continue;
		if (i > 0 && (c == '.' || c == '-'))
			continue;
		return false;
	}
	return true;
}

/* Not empty, printable ASCII, no blanks. */
static bool
config_printable(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < 0x21 || *s > 0x7e)
			return false;
	}
	return true;
}

static bool
config_env_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	while (*s != '\0') {
		if (strncmp(s, "{REPO}", 6) == 0)
			s += 6;
		else if (strncmp(s, "{APP}", 5) == 0)
			s += 5;
		else if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_')
			s++;
		else
			return false;
	}
	return true;
}

static size_t
config_sat_add(size_t a, size_t b)
{
	return a + b > CONFIG_MAX_REGEX_NODES ? CONFIG_MAX_REGEX_NODES + 1
					      : a + b;
}

static size_t
config_sat_mul(size_t a, size_t b)
{
	return a * b > CONFIG_MAX_REGEX_NODES ? CONFIG_MAX_REGEX_NODES + 1
					      : a * b;
}

/*
 * A look at a regex before regcomp sees it, for the two shapes glibc
 * compiles in exponential time: copies of copies (x{m,n} copies x, x+
 * copies it once), and more than one way to match the empty string in
 * one place ((a*|b*), (a*)?), whose epsilon closures glibc enumerates
 * path by path once they sit in a loop.
 */
struct config_re {
	const char *p;
	bool ambiguous; /* the empty string, two ways */
};

struct config_re_node {
	size_t size;   /* roughly, nodes regcomp builds */
	bool nullable; /* can match the empty string */
};

static struct config_re_node config_re_alt(struct config_re *, unsigned);

/* Parse "{m}", "{m,}", "{,n}" or "{m,n}" at re->p: 0 on success. */
static int
config_re_interval(struct config_re *re, size_t *m, size_t *n)
{
	const char *q = re->p + 1;

	*m = *n = 0;
	for (; *q >= '0' && *q <= '9'; q++)
		*m = config_sat_add(config_sat_mul(*m, 10), (size_t)(*q - '0'));
	if (*q == ',') {
		if (q[1] == '}')
			*n = SIZE_MAX;
		for (q++; *q >= '0' && *q <= '9'; q++)
			*n = config_sat_add(config_sat_mul(*n, 10),
			    (size_t)(*q - '0'));
	} else
		*n = *m;
	if (*q != '}' || q == re->p + 1)
		return -1;
	re->p = q + 1;
	return 0;
}

static struct config_re_node
config_re_atom(struct config_re *re, unsigned depth)
{
	struct config_re_node node = { 1, false };
	const char *q;

	switch (*re->p) {
	case '(':
		re->p++;
		node = config_re_alt(re, depth + 1);
		node.size = config_sat_add(node.size, 1);
		if (*re->p == ')')
			re->p++;
		return node;
	case '[':
		/* A ']' first is literal; [:x:], [=x=], [.x.] hold ']'. */
		q = re->p + 1;
		if (*q == '^')
			q++;
		if (*q == ']')
			q++;
		for (; *q != '\0' && *q != ']'; q++) {
			if (*q == '[' &&
			    (q[1] == ':' || q[1] == '=' || q[1] == '.')) {
				const char *end = strchr(q + 2, q[1]);

				while (end != NULL && end[1] != ']')
					end = strchr(end + 1, q[1]);
				if (end == NULL)
					break;
				q = end + 1;
			}
		}
		re->p = *q != '\0' ? q + 1 : q;
		return node;
	case '\\':
		re->p++;
		if (*re->p == '\0')
			return node;
		/* Anchors and back-references can match nothing. */
		node.nullable = strchr("bB<>`'123456789", *re->p) != NULL;
		re->p++;
		return node;
	case '^':
	case '$':
		node.nullable = true;
		re->p++;
		return node;
	default:
		re->p++;
		return node;
	}
}

static struct config_re_node
config_re_branch(struct config_re *re, unsigned depth)
{
	struct config_re_node branch = { 0, true }, piece;
	size_t m, n;

	while (
	    *re->p != '\0' && *re->p != '|' && (*re->p != ')' || depth == 0)) {
		piece = config_re_atom(re, depth);
		for (;;) {
			if (*re->p == '*') {
				re->p++;
				piece.nullable = true;
				piece.size = config_sat_add(piece.size, 1);
			} else if (*re->p == '+') {
				re->p++;
				piece.size =
				    config_sat_add(config_sat_mul(piece.size,
						       2),
					1);
			} else if (*re->p == '?') {
				re->p++;
				if (piece.nullable)
					re->ambiguous = true;
				piece.nullable = true;
				piece.size = config_sat_add(piece.size, 1);
			} else if (*re->p == '{' &&
			    config_re_interval(re, &m, &n) == 0) {
				/* x{m,n} is m copies and n-m optional ones. */
				if (n > m && piece.nullable)
					re->ambiguous = true;
				if (m == 0)
					piece.nullable = true;
				if (n == SIZE_MAX)
					n = config_sat_add(m, 1);
				piece.size = config_sat_mul(piece.size,
				    n > m	? n
					: m > 0 ? m
						: 1);
			} else
				break;
		}
		branch.size = config_sat_add(branch.size, piece.size);
		branch.nullable = branch.nullable && piece.nullable;
	}
	return branch;
}

static struct config_re_node
config_re_alt(struct config_re *re, unsigned depth)
{
	struct config_re_node alt = { 0, false }, branch;
	unsigned nullable = 0;

	for (;;) {
		branch = config_re_branch(re, depth);
		alt.size = config_sat_add(alt.size, branch.size + 1);
		if (branch.nullable && ++nullable > 1)
			re->ambiguous = true;
		if (*re->p != '|')
			break;
		re->p++;
	}
	alt.nullable = nullable > 0;
	return alt;
}

/* Why a tag:REGEX source is bad, or NULL if it is good.  Caller frees. */
static char *
config_regex_error(const char *re)
{
	struct config_re shape;
	regex_t preg;
	char buf[128];
	int rc;

	if (*re == '\0')
		return xstrdup("needs a regular expression after \"tag:\"");
	if (strlen(re) > CONFIG_MAX_REGEX)
		return xasprintf("is longer than %d bytes", CONFIG_MAX_REGEX);
	shape.p = re;
	shape.ambiguous = false;
	if (config_re_alt(&shape, 0).size > CONFIG_MAX_REGEX_NODES)
		return xasprintf("repeats too much: its {m,n} and + would"
				 " expand it to more than %d parts",
		    CONFIG_MAX_REGEX_NODES);
	if (shape.ambiguous)
		return xstrdup(
		    "can match the empty string in more than one"
		    " way, as (a*|b*) or (a*)? can, which regcomp handles too"
		    " slowly");
	if ((rc = regcomp(&preg, re, REG_EXTENDED)) != 0) {
		regerror(rc, &preg, buf, sizeof(buf));
		return xasprintf("is not a valid regular expression: %s", buf);
	}
	rc = preg.re_nsub >= 1;
	regfree(&preg);
	if (!rc)
		return xstrdup(
		    "needs a capture group (...) around the version");
	return NULL;
}

/* Why one version_sources item is bad, or NULL.  Caller frees. */
static char *
config_source_error(const char *item)
{
	if (!config_printable(item))
		return xstrdup("is not printable ASCII");
	if (strcmp(item, "tag") == 0)
		return NULL;
	if (strncmp(item, "tag:", 4) == 0)
		return config_regex_error(item + 4);
	if (strncmp(item, "label:", 6) == 0) {
		if (item[6] == '\0')
			return xstrdup("needs a label name after \"label:\"");
		return NULL;
	}
	if (strncmp(item, "env:", 4) == 0) {
		if (item[4] == '\0')
			return xstrdup("needs a variable name after \"env:\"");
		if (!config_env_name_ok(item + 4))
			return xstrdup("is not a variable name: use letters,"
				       " digits, '_', {REPO} and {APP}");
		return NULL;
	}
	return xstrdup("is not one of label:NAME, env:NAME, tag, tag:REGEX");
}

/* A registry host as image references name it: host[:port], letters,
 * digits, '.', '-', ':', '[' and ']' (IPv6). */
static bool
config_host_ok(const char *s, size_t len)
{
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && strchr(".-:[]", c) == NULL)
			return false;
	}
	return true;
}

/* Why one list item of key is bad, or NULL.  Caller frees. */
static char *
config_item_error(const struct config_key *key, const char *item)
{
	int dummy;

	switch (key->type) {
	case KEY_TAGS:
		if (!config_tag_ok(item))
			return xstrdup("is not a tag ([A-Za-z0-9_]"
				       "[A-Za-z0-9_.-]{0,127})");
		return NULL;
	case KEY_GLOBS:
		if (!config_printable(item))
			return xstrdup("is not a repository pattern"
				       " (printable ASCII only)");
		return NULL;
	case KEY_SOURCES:
		return config_source_error(item);
	case KEY_OVERRIDES:
		if (config_choose(override_choices, item, &dummy) != 0)
			return config_choices_text(override_choices);
		return NULL;
	case KEY_HOSTS:
		if (!config_host_ok(item, strlen(item)))
			return xstrdup("is not a registry host (host or "
				       "host:port)");
		return NULL;
	case KEY_HOST_PAIRS: {
		const char *eq = strchr(item, '=');

		if (eq == NULL || !config_host_ok(item, (size_t)(eq - item)) ||
		    eq[1] == '\0' || !config_printable(eq + 1))
			return xstrdup(
			    "is not host=value (a registry host, "
			    "'=', then a value without blanks or commas)");
		return NULL;
	}
	case KEY_SOCKET_PROFILES: {
		const char *colon = strrchr(item, ':');

		if (item[0] != '/' || colon == NULL || colon[1] == '\0' ||
		    (size_t)(colon - item) > CONFIG_MAX_SOCKET_PATH ||
		    !config_printable(item))
			return xstrdup("is not SOCKET:PROFILE (an absolute "
				       "socket path of at most 107 bytes, ':', "
				       "a profile's name)");
		return NULL;
	}
	default:
		abort();
	}
}

/*
 * Split value at blanks and commas into a list, check every item and
 * replace *list only if all are good.  A comma between '{' and '}' is part
 * of the item, so a tag:REGEX can say {1,3}.
 */
static int
config_set_list(struct config_parse_state *ps, const struct config_key *key,
    const char *value, struct string_list *list)
{
	struct string_list new = { NULL, 0 };
	const char *p = value, *start;
	unsigned depth;
	char *why;
	int bad = 0;

	for (;;) {
		while (config_is_blank(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		depth = 0;
		for (; *p != '\0' && !config_is_blank(*p); p++) {
			if (*p == '{')
				depth++;
			else if (*p == '}' && depth > 0)
				depth--;
			else if (*p == ',' && depth == 0)
				break;
		}
		config_list_add(&new, start, (size_t)(p - start));
	}

	for (size_t i = 0; i < new.n; i++) {
		if ((why = config_item_error(key, new.items[i])) != NULL) {
			config_bad_value(ps, key, new.items[i], why);
			free(why);
			bad = 1;
		}
	}
	if (key->type == KEY_SOURCES && new.n == 0 && !bad) {
		config_error(ps, "%s: needs at least one source", key->name);
		bad = 1;
	}
	if (bad) {
		config_list_free(&new);
		return -1;
	}
	config_list_free(list);
	*list = new;
	return 0;
}

static int
config_set_path(struct config_parse_state *ps, const struct config_key *key,
    const char *value, char **field)
{
	char what[80];

	if (*value != '/') {
		config_bad_value(ps, key, value, "is not an absolute path");
		return -1;
	}
	if (config_has_control(value)) {
		config_bad_value(ps, key, value,
		    "contains a control character");
		return -1;
	}
	if (key->type == KEY_SOCKET_PATH &&
	    strlen(value) > CONFIG_MAX_SOCKET_PATH) {
		snprintf(what, sizeof(what),
		    "is %zu bytes long; a socket path"
		    " may have at most %d",
		    strlen(value), CONFIG_MAX_SOCKET_PATH);
		config_bad_value(ps, key, value, what);
		return -1;
	}
	free(*field);
	*field = xstrdup(value);
	return 0;
}

static int
config_set_group(struct config_parse_state *ps, const struct config_key *key,
    const char *value)
{
	struct guard_config *cfg = ps->cfg;
	const char *p;

	/* Present in the file, even if bad: the caller must not guess. */
	cfg->socket_group_explicit = true;
	for (p = value; *p != '\0'; p++) {
		if (*p == ':' || (unsigned char)*p <= 0x20 || *p == 0x7f)
			break;
	}
	if (*p != '\0') {
		config_bad_value(ps, key, value,
		    "is not a group name"
		    " (no blanks, control characters or ':')");
		return -1;
	}
	free(cfg->socket_group);
	cfg->socket_group = xstrdup(value);
	return 0;
}

static int
config_set_number(struct config_parse_state *ps, const struct config_key *key,
    const char *value, void *field)
{
	char what[80];
	size_t n;

	switch (key->type) {
	case KEY_MODE:
		if (config_parse_uint(value, 8, key->max, &n) != 0) {
			config_bad_value(ps, key, value,
			    "is not an octal mode from 0000 to 0777");
			return -1;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	case KEY_SIZE:
		if (config_parse_size(value, &n) != 0 || n < key->min ||
		    n > key->max) {
			snprintf(what, sizeof(what),
			    "is not a size from %zuK"
			    " to %zuM",
			    key->min >> 10, key->max >> 20);
			config_bad_value(ps, key, value, what);
			return -1;
		}
		*(size_t *)field = n;
		return 0;
	case KEY_UINT:
	case KEY_SECONDS:
		if (config_parse_uint(value, 10, key->max, &n) != 0 ||
		    n < key->min) {
			snprintf(what, sizeof(what),
			    "is not a number%s from"
			    " %zu to %zu",
			    key->type == KEY_SECONDS ? " of seconds" : "",
			    key->min, key->max);
			config_bad_value(ps, key, value, what);
			return -1;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	default:
		abort();
	}
}

/* A libpq connection string: a postgresql:// (or postgres://) URI or
 * key=value pairs; libpq itself judges the rest when it connects. */
static int
config_set_conninfo(struct config_parse_state *ps, const struct config_key *key,
    const char *value, char **field)
{
	if (*value != '\0' && strncmp(value, "postgresql://", 13) != 0 &&
	    strncmp(value, "postgres://", 11) != 0 &&
	    strchr(value, '=') == NULL) {
		config_bad_value(ps, key, value,
		    "is not a PostgreSQL connection string "
		    "(postgresql://... or key=value pairs)");
		return -1;
	}
	if (config_has_control(value)) {
		config_bad_value(ps, key, value,
		    "contains a control character");
		return -1;
	}
	free(*field);
	*field = *value == '\0' ? NULL : xstrdup(value);
	return 0;
}

/* A host's name as the fleet ledger records it: letters, digits, '.',
 * '-' and '_', at most 253 bytes; "" means the engine's own name. */
static int
config_set_host_name(struct config_parse_state *ps,
    const struct config_key *key, const char *value, char **field)
{
	size_t n = strlen(value);

	if (n > 253 ||
	    strspn(value,
		"abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n) {
		config_bad_value(ps, key, value,
		    "is not a host name (letters, digits, '.', '-' and "
		    "'_', at most 253)");
		return -1;
	}
	free(*field);
	*field = n == 0 ? NULL : xstrdup(value);
	return 0;
}

/* An operators' listener: "" (none), an absolute socket path, or a
 * loopback host:port (127.0.0.1, [::1] or localhost; port 1..65535):
 * what it serves is for this host's operators only. */
static int
config_set_ops_listen(struct config_parse_state *ps,
    const struct config_key *key, const char *value, char **field)
{
	if (*value == '\0') {
		free(*field);
		*field = NULL;
		return 0;
	}
	if (*value == '/') {
		if (strlen(value) > CONFIG_MAX_SOCKET_PATH ||
		    config_has_control(value)) {
			config_bad_value(ps, key, value,
			    "is not a socket path (at most 107 bytes, no "
			    "control characters)");
			return -1;
		}
	} else if (config_ops_addr(value, NULL, 0, NULL) != 0) {
		config_bad_value(ps, key, value,
		    "is neither an absolute socket path nor a loopback "
		    "address with a port (127.0.0.1:PORT, [::1]:PORT or "
		    "localhost:PORT); metrics are for this host's "
		    "operators only: to scrape from elsewhere, proxy them");
		return -1;
	}
	free(*field);
	*field = xstrdup(value);
	return 0;
}

/* A webhook URL: http:// or https:// (any case), a host, at most 2048
 * bytes, no blanks or control characters; "" means none. */
static int
config_set_url(struct config_parse_state *ps, const struct config_key *key,
    const char *value, char **field)
{
	size_t n = strlen(value), skip;
	const char *host;

	if (n == 0) {
		free(*field);
		*field = NULL;
		return 0;
	}
	if (strncasecmp(value, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(value, "https://", 8) == 0)
		skip = 8;
	else
		skip = 0;
	host = value + skip;
	if (skip == 0 || n > 2048 || config_has_control(value) ||
	    strpbrk(value, " \t") != NULL || *host == '\0' ||
	    strchr("/?#@:", *host) != NULL) {
		config_bad_value(ps, key, value,
		    "is not an http:// or https:// URL with a host (at most "
		    "2048 bytes, no blanks)");
		return -1;
	}
	free(*field);
	*field = xstrdup(value);
	return 0;
}

/* A profile's name, or "" for none (default_profile). */
static int
config_set_profile_name(struct config_parse_state *ps,
    const struct config_key *key, const char *value, char **field)
{
	size_t n = strlen(value);

	if (n > 64 ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n ||
	    value[0] == '_' || value[0] == '-') {
		config_bad_value(ps, key, value,
		    "is not a profile's name (a-z, 0-9, '_' and '-')");
		return -1;
	}
	free(*field);
	*field = n == 0 ? NULL : xstrdup(value);
	return 0;
}

/* Check value and store it in cfg: 0 on success. */
static int
config_set(struct config_parse_state *ps, const struct config_key *key,
    const char *value)
{
	void *field = (char *)ps->cfg + key->off;
	const struct config_choice *choices;
	int v;

	switch (key->type) {
	case KEY_SOCKET_PATH:
	case KEY_PATH:
		return config_set_path(ps, key, value, field);
	case KEY_GROUP:
		return config_set_group(ps, key, value);
	case KEY_CONNINFO:
		return config_set_conninfo(ps, key, value, field);
	case KEY_HOST_NAME:
		return config_set_host_name(ps, key, value, field);
	case KEY_URL:
		return config_set_url(ps, key, value, field);
	case KEY_OPS_LISTEN:
		return config_set_ops_listen(ps, key, value, field);
	case KEY_PROFILE_NAME:
		return config_set_profile_name(ps, key, value, field);
	case KEY_MODE:
	case KEY_SIZE:
	case KEY_UINT:
	case KEY_SECONDS:
		return config_set_number(ps, key, value, field);
	case KEY_OPT_PATH:
		if (*value == '\0') {
			free(*(char **)field);
			*(char **)field = NULL;
			return 0;
		}
		return config_set_path(ps, key, value, field);
	case KEY_LOG_LEVEL:
	case KEY_LOG_FORMAT:
	case KEY_RULE:
	case KEY_ALLOW:
	case KEY_BOOL:
	case KEY_PATH_POLICY:
		if (key->type == KEY_LOG_LEVEL)
			choices = log_choices;
		else if (key->type == KEY_LOG_FORMAT)
			choices = log_format_choices;
		else if (key->type == KEY_PATH_POLICY)
			choices = path_choices;
		else if (key->type == KEY_RULE)
			choices = rule_choices;
		else if (key->type == KEY_BOOL)
			choices = bool_choices;
		else
			choices = allow_choices;
		if (config_choose(choices, value, &v) != 0) {
			config_bad_choice(ps, key, value, choices);
			return -1;
		}
		if (key->type == KEY_LOG_LEVEL)
			*(enum log_level *)field = (enum log_level)v;
		else if (key->type == KEY_LOG_FORMAT)
			*(enum log_format *)field = (enum log_format)v;
		else if (key->type == KEY_RULE)
			*(enum rule_mode *)field = (enum rule_mode)v;
		else if (key->type == KEY_PATH_POLICY)
			*(enum path_policy *)field = (enum path_policy)v;
		else
			*(bool *)field = v != 0;
		return 0;
	case KEY_TAGS:
	case KEY_GLOBS:
	case KEY_SOURCES:
	case KEY_OVERRIDES:
	case KEY_HOSTS:
	case KEY_HOST_PAIRS:
	case KEY_SOCKET_PROFILES:
		return config_set_list(ps, key, value, field);
	}
	abort();
}

/*
 * Undo the quotes around value in place: "..." with \" and \\ escapes,
 * nothing but blanks after the closing quote.  0 on success.
 */
static int
config_unquote(struct config_parse_state *ps, const struct config_key *key,
    char *value)
{
	char *in = value + 1, *out = value;

	for (;;) {
		if (*in == '\0') {
			config_error(ps, "%s: missing closing quote",
			    key->name);
			return -1;
		}
		if (*in == '"')
			break;
		if (*in == '\\') {
			if (in[1] != '"' && in[1] != '\\') {
				config_error(ps,
				    "%s: unknown escape \"\\%c\""
				    " in quoted value (only \\\" and \\\\)",
				    key->name, in[1] == '\0' ? ' ' : in[1]);
				return -1;
			}
			in++;
		}
		*out++ = *in++;
	}
	for (in++; config_is_blank(*in); in++)
		/* nothing */;
	if (*in != '\0') {
		config_error(ps, "%s: unexpected text after closing quote",
		    key->name);
		return -1;
	}
	*out = '\0';
	return 0;
}

/* A profile.NAME.KEY line: name is the key, value what follows '='. */
static void
config_parse_profile(struct config_parse_state *ps, const char *name,
    char *value)
{
	const struct config_key key = { name, KEY_PROFILE_NAME, 0, 0, 0 };
	char *end, *cause = NULL;

	for (; config_is_blank(*value); value++)
		/* nothing */;
	for (end = value + strlen(value);
	     end > value && config_is_blank(end[-1]); end--)
		/* nothing */;
	*end = '\0';
	if (*value == '"' && config_unquote(ps, &key, value) != 0)
		return;
	if (config_has_control(value)) {
		config_bad_value(ps, &key, value,
		    "contains a control character");
		return;
	}
	if (profile_set_key(ps->cfg->profiles, name + 8, value, ps->lineno,
		&cause) != 0) {
		config_error(ps, "%s", cause);
		free(cause);
	}
}

/*
 * One line, NUL-terminated, without its line ending.  seen[i] is the line
 * that set config_keys[i] (0: not yet); bad[i] says its value was bad.
 */
static void
config_parse_line(struct config_parse_state *ps, char *line, size_t *seen,
    bool *bad)
{
	const struct config_key *key = NULL;
	char *p = line, *eq, *end, *value;
	size_t i;

	while (config_is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return;

	if ((eq = strchr(p, '=')) == NULL) {
		char *q = config_quote(p);

		config_error(ps, "expected \"key = value\", not %s", q);
		free(q);
		return;
	}
	for (end = eq; end > p && config_is_blank(end[-1]); end--)
		/* nothing */;
	*end = '\0';
	if (*p == '\0') {
		config_error(ps, "missing key before '='");
		return;
	}
	if (strncmp(p, "profile.", 8) == 0) {
		config_parse_profile(ps, p, eq + 1);
		return;
	}
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].name, p) == 0) {
			key = &config_keys[i];
			break;
		}
	}
	if (key == NULL) {
		char *q = config_quote(p);

		config_error(ps, "unknown key %s", q);
		free(q);
		return;
	}
	if (seen[i] != 0) {
		config_error(ps, "\"%s\" is already set on line %zu", key->name,
		    seen[i]);
		return;
	}
	seen[i] = ps->lineno;

	for (value = eq + 1; config_is_blank(*value); value++)
		/* nothing */;
	for (end = value + strlen(value);
	     end > value && config_is_blank(end[-1]); end--)
		/* nothing */;
	*end = '\0';
	if (*value == '"' && config_unquote(ps, key, value) != 0) {
		bad[i] = true;
		return;
	}
	if (config_set(ps, key, value) != 0)
		bad[i] = true;
}

static size_t
config_key_index(const char *name)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0)
			return i;
	}
	abort();
}

/* listen_profiles and default_profile name defined profiles; a
 * listen_profiles socket is none of the others. */
static void
config_check_profiles(struct config_parse_state *ps, const size_t *seen)
{
	const struct guard_config *cfg = ps->cfg;
	size_t lp = config_key_index("listen_profiles");

	ps->lineno = seen[lp];
	for (size_t i = 0; i < cfg->listen_profiles.n; i++) {
		const char *item = cfg->listen_profiles.items[i];
		const char *colon = strrchr(item, ':');
		size_t len = (size_t)(colon - item);

		if (profile_find(cfg->profiles, colon + 1) == NULL)
			config_error(ps,
			    "listen_profiles: %s names profile \"%s\", which "
			    "is not defined (no profile.%s.* key)",
			    item, colon + 1, colon + 1);
		if ((strlen(cfg->listen) == len &&
			memcmp(cfg->listen, item, len) == 0) ||
		    (strlen(cfg->upstream) == len &&
			memcmp(cfg->upstream, item, len) == 0))
			config_error(ps,
			    "listen_profiles: %s is the listen or upstream "
			    "socket",
			    item);
		for (size_t j = 0; j < i; j++)
			if (strncmp(cfg->listen_profiles.items[j], item,
				len + 1) == 0)
				config_error(ps,
				    "listen_profiles: socket %.*s is listed "
				    "twice",
				    (int)len, item);
	}
	ps->lineno = seen[config_key_index("default_profile")];
	if (cfg->default_profile != NULL &&
	    profile_find(cfg->profiles, cfg->default_profile) == NULL)
		config_error(ps,
		    "default_profile: profile \"%s\" is not defined (no "
		    "profile.%s.* key)",
		    cfg->default_profile, cfg->default_profile);
}

/* Checks across keys, once every line is read. */
static void
config_check(struct config_parse_state *ps, const size_t *seen, const bool *bad)
{
	size_t l = config_key_index("listen");
	size_t u = config_key_index("upstream");

	/* Binding the listener would unlink dockerd's own socket. */
	if ((seen[l] || seen[u]) && !bad[l] && !bad[u] &&
	    strcmp(ps->cfg->listen, ps->cfg->upstream) == 0) {
		ps->lineno = seen[l] > seen[u] ? seen[l] : seen[u];
		config_error(ps, "listen and upstream are the same path");
	}
	config_check_profiles(ps, seen);
}

size_t
config_parse(struct guard_config *cfg, const char *filename, const char *text,
    size_t len, struct config_errors *errs)
{
	struct config_parse_state ps;
	size_t seen[CONFIG_NKEYS] = { 0 };
	bool bad[CONFIG_NKEYS] = { false };
	char buf[CONFIG_MAX_LINE + 1];
	const char *p = text, *end = text + len, *line, *nl;
	size_t n;

	memset(&ps, 0, sizeof(ps));
	ps.cfg = cfg;
	ps.filename = filename != NULL ? filename : "(config)";
	ps.errs = errs;

	while (p < end) {
		ps.lineno++;
		line = p;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		p = nl < end ? nl + 1 : end;
		n = (size_t)(nl - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\0', n) != NULL) {
			config_error(&ps, "line contains a NUL byte");
			continue;
		}
		if (n > CONFIG_MAX_LINE) {
			config_error(&ps, "line is longer than %d bytes",
			    CONFIG_MAX_LINE);
			continue;
		}
		memcpy(buf, line, n);
		buf[n] = '\0';
		config_parse_line(&ps, buf, seen, bad);
	}
	config_check(&ps, seen, bad);
	return ps.nerrs;
}

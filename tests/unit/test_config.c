/*
 * Golden tables for config.c: text in, the value of one key or the exact
 * error lines out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "xmalloc.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const key_names[] = {
	"listen", "upstream", "database", "socket_mode", "socket_group",
	"log_level", "log_format", "max_header_bytes", "max_headers",
	"body_limit",
	"shutdown_grace", "idle_timeout", "max_connections",
	"require_digest", "downgrade", "local_images",
	"unknown_version", "rolling_tags", "digest_exempt", "version_sources",
	"overrides", "registry_presence", "registry_unreachable",
	"registry_timeout", "registry_cache_ttl", "registry_negative_ttl",
	"check_all_platforms", "docker_config", "registry_auth",
	"registry_ca_files", "registry_insecure", "restore_on_refusal",
	"restore_window", "pull_require_digest", "allowed_registries",
	"imports", "build", "buildkit", "plugins", "ledger", "host_name",
	"ledger_unreachable", "metrics_listen", "drift_interval", "drift_max_containers",
	"notify_url", "notify_timeout", "notify_tries",
	"listen_profiles", "default_profile",
};

/* Items joined with '|', so the separators the parser saw are visible. */
static char *
join_list(const struct string_list *list)
{
	char *s = xstrdup(""), *t;

	for (size_t i = 0; i < list->n; i++) {
		t = xasprintf("%s%s%s", s, i == 0 ? "" : "|", list->items[i]);
		free(s);
		s = t;
	}
	return s;
}

/* The value of one key as text.  Caller frees. */
static char *
field(const struct guard_config *cfg, const char *name)
{
	static const char *const levels[] = { "error", "warn", "info",
	    "debug" };

	if (strcmp(name, "listen") == 0)
		return xstrdup(cfg->listen);
	if (strcmp(name, "upstream") == 0)
		return xstrdup(cfg->upstream);
	if (strcmp(name, "database") == 0)
		return xstrdup(cfg->database);
	if (strcmp(name, "socket_mode") == 0)
		return xasprintf("%04o", cfg->socket_mode);
	if (strcmp(name, "socket_group") == 0)
		return xstrdup(cfg->socket_group);
	if (strcmp(name, "socket_group_explicit") == 0)
		return xstrdup(cfg->socket_group_explicit ? "true" : "false");
	if (strcmp(name, "log_level") == 0)
		return xstrdup(levels[cfg->log_level]);
	if (strcmp(name, "log_format") == 0)
		return xstrdup(cfg->log_format == LOG_FORMAT_JSON ? "json"
								  : "text");
	if (strcmp(name, "max_header_bytes") == 0)
		return xasprintf("%zu", cfg->max_header_bytes);
	if (strcmp(name, "max_headers") == 0)
		return xasprintf("%u", cfg->max_headers);
	if (strcmp(name, "body_limit") == 0)
		return xasprintf("%zu", cfg->body_limit);
	if (strcmp(name, "shutdown_grace") == 0)
		return xasprintf("%u", cfg->shutdown_grace);
	if (strcmp(name, "idle_timeout") == 0)
		return xasprintf("%u", cfg->idle_timeout);
	if (strcmp(name, "max_connections") == 0)
		return xasprintf("%u", cfg->max_connections);
	if (strcmp(name, "require_digest") == 0)
		return xstrdup(config_rule_mode_name(cfg->require_digest));
	if (strcmp(name, "downgrade") == 0)
		return xstrdup(config_rule_mode_name(cfg->downgrade));
	if (strcmp(name, "local_images") == 0)
		return xstrdup(cfg->local_images_allow ? "allow" : "deny");
	if (strcmp(name, "unknown_version") == 0)
		return xstrdup(cfg->unknown_version_allow ? "allow" : "deny");
	if (strcmp(name, "rolling_tags") == 0)
		return join_list(&cfg->rolling_tags);
	if (strcmp(name, "digest_exempt") == 0)
		return join_list(&cfg->digest_exempt);
	if (strcmp(name, "version_sources") == 0)
		return join_list(&cfg->version_sources);
	if (strcmp(name, "overrides") == 0)
		return join_list(&cfg->overrides);
	if (strcmp(name, "registry_presence") == 0)
		return xstrdup(config_rule_mode_name(cfg->registry_presence));
	if (strcmp(name, "registry_unreachable") == 0)
		return xstrdup(cfg->registry_unreachable_allow ? "allow" :
		    "deny");
	if (strcmp(name, "registry_timeout") == 0)
		return xasprintf("%u", cfg->registry_timeout);
	if (strcmp(name, "registry_cache_ttl") == 0)
		return xasprintf("%u", cfg->registry_cache_ttl);
	if (strcmp(name, "registry_negative_ttl") == 0)
		return xasprintf("%u", cfg->registry_negative_ttl);
	if (strcmp(name, "check_all_platforms") == 0)
		return xstrdup(cfg->check_all_platforms ? "yes" : "no");
	if (strcmp(name, "docker_config") == 0)
		return xstrdup(cfg->docker_config != NULL ? cfg->docker_config :
		    "");
	if (strcmp(name, "registry_auth") == 0)
		return join_list(&cfg->registry_auth);
	if (strcmp(name, "registry_ca_files") == 0)
		return join_list(&cfg->registry_ca_files);
	if (strcmp(name, "registry_insecure") == 0)
		return join_list(&cfg->registry_insecure);
	if (strcmp(name, "restore_on_refusal") == 0)
		return xstrdup(cfg->restore_on_refusal ? "yes" : "no");
	if (strcmp(name, "restore_window") == 0)
		return xasprintf("%u", cfg->restore_window);
	if (strcmp(name, "pull_require_digest") == 0)
		return xstrdup(config_rule_mode_name(cfg->pull_require_digest));
	if (strcmp(name, "allowed_registries") == 0)
		return join_list(&cfg->allowed_registries);
	if (strcmp(name, "imports") == 0)
		return xstrdup(cfg->imports_allow ? "allow" : "deny");
	if (strcmp(name, "build") == 0)
		return xstrdup(config_path_policy_name(cfg->build));
	if (strcmp(name, "buildkit") == 0)
		return xstrdup(cfg->buildkit_allow ? "allow" : "deny");
	if (strcmp(name, "plugins") == 0)
		return xstrdup(config_path_policy_name(cfg->plugins));
	if (strcmp(name, "metrics_listen") == 0)
		return xstrdup(cfg->metrics_listen != NULL ?
		    cfg->metrics_listen : "");
	if (strcmp(name, "drift_interval") == 0)
		return xasprintf("%u", cfg->drift_interval);
	if (strcmp(name, "drift_max_containers") == 0)
		return xasprintf("%u", cfg->drift_max_containers);
	if (strcmp(name, "notify_url") == 0)
		return xstrdup(cfg->notify_url != NULL ? cfg->notify_url :
		    "(none)");
	if (strcmp(name, "notify_timeout") == 0)
		return xasprintf("%u", cfg->notify_timeout);
	if (strcmp(name, "notify_tries") == 0)
		return xasprintf("%u", cfg->notify_tries);
	if (strcmp(name, "listen_profiles") == 0)
		return join_list(&cfg->listen_profiles);
	if (strcmp(name, "default_profile") == 0)
		return xstrdup(cfg->default_profile != NULL ?
		    cfg->default_profile : "");
	return xasprintf("(no field %s)", name);
}

/* Every key as "key=value\n".  Caller frees. */
static char *
dump(const struct guard_config *cfg)
{
	char *s = xstrdup(""), *t, *v;

	for (size_t i = 0; i < NITEMS(key_names); i++) {
		v = field(cfg, key_names[i]);
		t = xasprintf("%s%s=%s\n", s, key_names[i], v);
		free(v);
		free(s);
		s = t;
	}
	return s;
}

/* Error lines joined with '\n' ("" for none).  Caller frees. */
static char *
join_errors(const struct config_errors *errs)
{
	char *s = xstrdup(""), *t;

	for (size_t i = 0; i < errs->n; i++) {
		t = xasprintf("%s%s%s", s, i == 0 ? "" : "\n", errs->lines[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Parse text into a fresh config; its errors, joined, into *errors. */
static struct guard_config *
parse(const char *text, size_t len, char **errors)
{
	struct guard_config *cfg = config_new();
	struct config_errors errs = { NULL, 0 };
	size_t n;

	n = config_parse(cfg, "t.conf", text, len, &errs);
	CHECK_INT_EQ(n, errs.n);
	*errors = join_errors(&errs);
	config_errors_reset(&errs);
	CHECK(errs.n == 0 && errs.lines == NULL);
	return cfg;
}

static struct guard_config *
parse_str(const char *text, char **errors)
{
	return parse(text, strlen(text), errors);
}

static void
test_defaults(void)
{
	static const struct {
		const char *key;
		const char *want;
	} rows[] = {
		{ "listen", "/run/docker-guard.sock" },
		{ "upstream", "/var/run/docker.sock" },
		{ "database", "/var/lib/docker-guard/guard.db" },
		{ "socket_mode", "0660" },
		{ "socket_group", "docker" },
		{ "socket_group_explicit", "false" },
		{ "log_level", "info" },
		{ "log_format", "text" },
		{ "max_header_bytes", "65536" },
		{ "max_headers", "100" },
		{ "body_limit", "1048576" },
		{ "shutdown_grace", "10" },
		{ "idle_timeout", "60" },
		{ "max_connections", "1024" },
		{ "require_digest", "enforce" },
		{ "downgrade", "enforce" },
		{ "local_images", "allow" },
		{ "unknown_version", "allow" },
		{ "rolling_tags", "latest|dev|edge|nightly|main" },
		{ "digest_exempt", "" },
		{ "version_sources", "label:org.opencontainers.image.version|"
		    "label:org.label-schema.version|env:{REPO}_VERSION|tag" },
		{ "overrides", "allow-downgrade|allow-tag" },
		{ "registry_presence", "enforce" },
		{ "registry_unreachable", "allow" },
		{ "registry_timeout", "10" },
		{ "registry_cache_ttl", "600" },
		{ "registry_negative_ttl", "30" },
		{ "check_all_platforms", "no" },
		{ "docker_config", "" },
		{ "registry_auth", "" },
		{ "registry_ca_files", "" },
		{ "registry_insecure", "" },
		{ "restore_on_refusal", "yes" },
		{ "restore_window", "3600" },
		{ "pull_require_digest", "enforce" },
		{ "allowed_registries", "" },
		{ "imports", "allow" },
		{ "build", "judge" },
		{ "buildkit", "deny" },
		{ "plugins", "judge" },
	};
	struct guard_config *cfg = config_new();
	char *got, *errors, *before, *after;

	for (size_t i = 0; i < NITEMS(rows); i++) {
		got = field(cfg, rows[i].key);
		CHECKF(strcmp(got, rows[i].want) == 0, "%s is \"%s\", "
		    "expected \"%s\"", rows[i].key, got, rows[i].want);
		free(got);
	}

	/* Empty text, blanks, comments: nothing changes. */
	before = dump(cfg);
	config_free(cfg);
	cfg = parse("", 0, &errors);
	after = dump(cfg);
	CHECK_STR_EQ(errors, "");
	CHECK_STR_EQ(after, before);
	free(errors);
	free(after);
	config_free(cfg);
	cfg = parse_str("\n \t\n# listen = /x\n  \t# c\r\n\r\n", &errors);
	after = dump(cfg);
	CHECK_STR_EQ(errors, "");
	CHECK_STR_EQ(after, before);
	free(errors);
	free(after);
	free(before);
	config_free(cfg);
	config_free(NULL);
}

static const struct valid_row {
	const char	*text;
	const char	*key;
	const char	*want;
} valid_rows[] = {
	/* registry, restore and pull keys */
	{ "registry_presence = warn\n", "registry_presence", "warn" },
	{ "registry_unreachable = deny\n", "registry_unreachable", "deny" },
	{ "registry_timeout = 300\n", "registry_timeout", "300" },
	{ "registry_cache_ttl = 0\n", "registry_cache_ttl", "0" },
	{ "registry_negative_ttl = 3600\n", "registry_negative_ttl", "3600" },
	{ "check_all_platforms = yes\n", "check_all_platforms", "yes" },
	{ "docker_config = /root/.docker/config.json\n", "docker_config",
	    "/root/.docker/config.json" },
	{ "docker_config = \"\"\n", "docker_config", "" },
	{ "registry_auth = 127.0.0.1:5000=u:p, reg.example.com=deploy:s3cret\n",
	    "registry_auth", "127.0.0.1:5000=u:p|reg.example.com=deploy:s3cret" },
	{ "registry_ca_files = reg.example.com=/etc/ssl/reg.pem\n",
	    "registry_ca_files", "reg.example.com=/etc/ssl/reg.pem" },
	{ "registry_insecure = 10.0.0.5:5000 [::1]:5000\n",
	    "registry_insecure", "10.0.0.5:5000|[::1]:5000" },
	{ "restore_on_refusal = no\n", "restore_on_refusal", "no" },
	{ "restore_window = 0\n", "restore_window", "0" },
	{ "pull_require_digest = off\n", "pull_require_digest", "off" },
	{ "allowed_registries = docker.io *.example.com\n",
	    "allowed_registries", "docker.io|*.example.com" },
	{ "imports = deny\n", "imports", "deny" },
	{ "build = allow\n", "build", "allow" },
	{ "build = deny\n", "build", "deny" },
	{ "buildkit = allow\n", "buildkit", "allow" },
	{ "plugins = deny\n", "plugins", "deny" },
	/* layout */
	{ "listen = /tmp/g.sock\n", "listen", "/tmp/g.sock" },
	{ "listen=/tmp/g.sock", "listen", "/tmp/g.sock" },
	{ "  listen \t=\t /tmp/g.sock  \t\n", "listen", "/tmp/g.sock" },
	{ "listen = /tmp/g.sock\r\n", "listen", "/tmp/g.sock" },
	{ "# listen = /x\nlisten = /y\n", "listen", "/y" },
	{ "\t # listen = /x\n\n\nlisten = /y", "listen", "/y" },
	{ "database = /srv/a#b.db # not a comment\n", "database",
	    "/srv/a#b.db # not a comment" },
	{ "database = /srv/a=b.db\n", "database", "/srv/a=b.db" },
	/* quoting */
	{ "listen = \"/tmp/with space.sock\"\n", "listen",
	    "/tmp/with space.sock" },
	{ "database = \"/srv/q\\\"x\\\\y.db\"\n", "database",
	    "/srv/q\"x\\y.db" },
	{ "database = \"/srv/a #b  \"  \t\r\n", "database", "/srv/a #b  " },
	{ "log_level = \"debug\"\n", "log_level", "debug" },
	{ "database = /srv/\"a\".db\n", "database", "/srv/\"a\".db" },
	/* where */
	{ "upstream = /run/docker.sock\n", "upstream", "/run/docker.sock" },
	{ "database = /srv/guard.db\n", "database", "/srv/guard.db" },
	{ "socket_mode = 0600\n", "socket_mode", "0600" },
	{ "socket_mode = 660\n", "socket_mode", "0660" },
	{ "socket_mode = 0\n", "socket_mode", "0000" },
	{ "socket_mode = 0777\n", "socket_mode", "0777" },
	{ "socket_mode = 000777\n", "socket_mode", "0777" },
	{ "socket_group = wheel\n", "socket_group", "wheel" },
	{ "socket_group = wheel\n", "socket_group_explicit", "true" },
	{ "socket_group = \"\"\n", "socket_group", "" },
	{ "socket_group = \"\"\n", "socket_group_explicit", "true" },
	{ "socket_group =\n", "socket_group", "" },
	{ "socket_group = docker\n", "socket_group_explicit", "true" },
	{ "log_level = error\n", "log_level", "error" },
	{ "log_level = warn\n", "log_level", "warn" },
	{ "log_level = info\n", "log_level", "info" },
	{ "log_level = debug\n", "log_level", "debug" },
	{ "log_format = json\n", "log_format", "json" },
	{ "log_format = text\n", "log_format", "text" },
	{ "log_format = \"json\"\n", "log_format", "json" },
	/* HTTP limits */
	{ "max_header_bytes = 1K\n", "max_header_bytes", "1024" },
	{ "max_header_bytes = 1024\n", "max_header_bytes", "1024" },
	{ "max_header_bytes = 1M\n", "max_header_bytes", "1048576" },
	{ "max_header_bytes = 64KiB\n", "max_header_bytes", "65536" },
	{ "max_header_bytes = 8KB\n", "max_header_bytes", "8192" },
	{ "max_header_bytes = 16k\n", "max_header_bytes", "16384" },
	{ "max_headers = 1\n", "max_headers", "1" },
	{ "max_headers = 1000\n", "max_headers", "1000" },
	{ "max_headers = 007\n", "max_headers", "7" },
	{ "body_limit = 1K\n", "body_limit", "1024" },
	{ "body_limit = 2MiB\n", "body_limit", "2097152" },
	{ "body_limit = 64M\n", "body_limit", "67108864" },
	{ "shutdown_grace = 0\n", "shutdown_grace", "0" },
	{ "shutdown_grace = 3600\n", "shutdown_grace", "3600" },
	{ "idle_timeout = 0\n", "idle_timeout", "0" },
	{ "idle_timeout = 86400\n", "idle_timeout", "86400" },
	{ "max_connections = 1\n", "max_connections", "1" },
	{ "max_connections = 1000000\n", "max_connections", "1000000" },
	/* policy */
	{ "require_digest = enforce\n", "require_digest", "enforce" },
	{ "require_digest = warn\n", "require_digest", "warn" },
	{ "require_digest = off\n", "require_digest", "off" },
	{ "downgrade = warn\n", "downgrade", "warn" },
	{ "downgrade = off\n", "downgrade", "off" },
	{ "local_images = deny\n", "local_images", "deny" },
	{ "local_images = allow\n", "local_images", "allow" },
	{ "unknown_version = deny\n", "unknown_version", "deny" },
	{ "rolling_tags = latest\n", "rolling_tags", "latest" },
	{ "rolling_tags = a b,c , d\t,e\n", "rolling_tags", "a|b|c|d|e" },
	{ "rolling_tags = ,,a,,\n", "rolling_tags", "a" },
	{ "rolling_tags =\n", "rolling_tags", "" },
	{ "rolling_tags = \"\"\n", "rolling_tags", "" },
	{ "rolling_tags = \"a b\"\n", "rolling_tags", "a|b" },
	{ "rolling_tags = v1.0-rc_1 _x 9\n", "rolling_tags", "v1.0-rc_1|_x|9" },
	{ "rolling_tags = a b\r\n", "rolling_tags", "a|b" },
	{ "digest_exempt = 127.0.0.1:5000/tools/* busybox\n", "digest_exempt",
	    "127.0.0.1:5000/tools/*|busybox" },
	{ "digest_exempt = docker.io/library/*,ghcr.io/o/[ab]?\n",
	    "digest_exempt", "docker.io/library/*|ghcr.io/o/[ab]?" },
	{ "digest_exempt =\n", "digest_exempt", "" },
	{ "version_sources = tag\n", "version_sources", "tag" },
	{ "version_sources = label:a env:B tag:^v([0-9.]+)$\n",
	    "version_sources", "label:a|env:B|tag:^v([0-9.]+)$" },
	{ "version_sources = env:{APP}_VERSION,env:{REPO}_{APP}_v2\n",
	    "version_sources", "env:{APP}_VERSION|env:{REPO}_{APP}_v2" },
	/* A comma inside {m,n} belongs to the regex. */
	{ "version_sources = tag:^v([0-9]{1,3}(\\.[0-9]{1,3}){0,2})$,tag\n",
	    "version_sources",
	    "tag:^v([0-9]{1,3}(\\.[0-9]{1,3}){0,2})$|tag" },
	{ "version_sources = tag:^([0-9]{4})[}]x$\n", "version_sources",
	    "tag:^([0-9]{4})[}]x$" },
	/* Repeats that regcomp expands to at most 512 parts. */
	{ "version_sources = tag:(a{63}){7}\n", "version_sources",
	    "tag:(a{63}){7}" },
	{ "version_sources = tag:(a{63}){6}b|c\n", "version_sources",
	    "tag:(a{63}){6}b|c" },
	{ "version_sources = tag:(((.*)*)*){50}\n", "version_sources",
	    "tag:(((.*)*)*){50}" },
	{ "version_sources = tag:(a{1,10}b{0,10}c{11}[{]{9})\n",
	    "version_sources", "tag:(a{1,10}b{0,10}c{11}[{]{9})" },
	{ "version_sources = tag:^(x+++++++)\\{999}$\n", "version_sources",
	    "tag:^(x+++++++)\\{999}$" },
	{ "version_sources = tag:(a{0}){128}\n", "version_sources",
	    "tag:(a{0}){128}" },
	/* At most one way to match the empty string in each place. */
	{ "version_sources = tag:^v?([0-9]+(\\.[0-9]+)*)(-[a-z0-9.]+)?$\n",
	    "version_sources", "tag:^v?([0-9]+(\\.[0-9]+)*)(-[a-z0-9.]+)?$" },
	{ "version_sources = tag:(a|)b tag:(a*|b)+ tag:((a*)*)* tag:(a?b?)+\n",
	    "version_sources", "tag:(a|)b|tag:(a*|b)+|tag:((a*)*)*|"
	    "tag:(a?b?)+" },
	{ "version_sources = tag:([[:digit:]]+) tag:([]a]+) tag:([^]|]+)\n",
	    "version_sources", "tag:([[:digit:]]+)|tag:([]a]+)|tag:([^]|]+)" },
	{ "version_sources = label:com.example.version#1\n",
	    "version_sources", "label:com.example.version#1" },
	{ "overrides =\n", "overrides", "" },
	{ "overrides = allow-tag\n", "overrides", "allow-tag" },
	{ "overrides = allow-tag, allow-downgrade\n", "overrides",
	    "allow-tag|allow-downgrade" },
	/* the drift watch and its webhook */
	{ "drift_interval = 0\n", "drift_interval", "0" },
	{ "drift_interval = 300\n", "drift_interval", "300" },
	{ "drift_max_containers = 1\n", "drift_max_containers", "1" },
	{ "notify_url = https://hooks.example.com/T0/B1?token=x\n",
	    "notify_url", "https://hooks.example.com/T0/B1?token=x" },
	{ "notify_url = HTTP://127.0.0.1:9999/drift\n", "notify_url",
	    "HTTP://127.0.0.1:9999/drift" },
	{ "notify_url = \"http://[::1]:8080\"\n", "notify_url",
	    "http://[::1]:8080" },
	{ "notify_url =\n", "notify_url", "(none)" },
	{ "notify_timeout = 300\n", "notify_timeout", "300" },
	{ "notify_tries = 10\n", "notify_tries", "10" },
};

static void
test_valid(void)
{
	for (size_t i = 0; i < NITEMS(valid_rows); i++) {
		const struct valid_row *r = &valid_rows[i];
		struct guard_config *cfg;
		char *errors, *got;

		cfg = parse(r->text, strlen(r->text), &errors);
		got = field(cfg, r->key);
		CHECKF(*errors == '\0', "row %zu: unexpected errors:\n%s", i,
		    errors);
		CHECKF(strcmp(got, r->want) == 0, "row %zu: %s is \"%s\", "
		    "expected \"%s\"", i, r->key, got, r->want);
		free(got);
		free(errors);
		config_free(cfg);
	}
}

#define TAG_SYNTAX	"is not a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"
#define NOT_SOURCE	"is not one of label:NAME, env:NAME, tag, tag:REGEX"
#define TOO_BIG		"repeats too much: its {m,n} and + would expand it" \
			" to more than 512 parts"
#define AMBIGUOUS	"can match the empty string in more than one way, as" \
			" (a*|b*) or (a*)? can, which regcomp handles too" \
			" slowly"
#define NOT_VAR		"is not a variable name: use letters, digits, '_'," \
			" {REPO} and {APP}"

static const struct invalid_row {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	const char	*want;		/* error lines, joined with '\n' */
} invalid_rows[] = {
	/* registry, restore and pull keys */
	{ "registry_timeout = 0\n", 0, "t.conf:1: registry_timeout: \"0\" is "
	    "not a number of seconds from 1 to 300" },
	{ "check_all_platforms = true\n", 0, "t.conf:1: check_all_platforms: "
	    "\"true\" is not one of yes, no" },
	{ "docker_config = relative/config.json\n", 0, "t.conf:1: "
	    "docker_config: \"relative/config.json\" is not an absolute path" },
	{ "registry_auth = user:pass\n", 0, "t.conf:1: registry_auth: "
	    "\"user:pass\" is not host=value (a registry host, '=', then a "
	    "value without blanks or commas)" },
	{ "registry_auth = reg/x=u:p\n", 0, "t.conf:1: registry_auth: "
	    "\"reg/x=u:p\" is not host=value (a registry host, '=', then a "
	    "value without blanks or commas)" },
	{ "registry_insecure = http://reg\n", 0, "t.conf:1: registry_insecure: "
	    "\"http://reg\" is not a registry host (host or host:port)" },
	{ "imports = yes\n", 0, "t.conf:1: imports: \"yes\" is not one of "
	    "allow, deny" },
	{ "build = yes\n", 0, "t.conf:1: build: \"yes\" is not one of "
	    "judge, deny, allow" },
	{ "buildkit = judge\n", 0, "t.conf:1: buildkit: \"judge\" is not one "
	    "of allow, deny" },
	{ "pull_require_digest = strict\n", 0, "t.conf:1: "
	    "pull_require_digest: \"strict\" is not one of enforce, warn, off" },
	{ "restore_window = -1\n", 0, "t.conf:1: restore_window: \"-1\" is not "
	    "a number of seconds from 0 to 604800" },
	/* lines */
	{ "foo = 1\n", 0, "t.conf:1: unknown key \"foo\"" },
	{ "Listen = /x\n", 0, "t.conf:1: unknown key \"Listen\"" },
	{ "log level = warn\n", 0, "t.conf:1: unknown key \"log level\"" },
	{ "l\x80g\t= 1\n", 0, "t.conf:1: unknown key \"l\\x80g\"" },
	{ "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	    " = 1\n", 0, "t.conf:1: unknown key \"kkkkkkkkkkkkkkkkkkkkkkkkkk"
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\"" },
	{ "listen /x\n", 0,
	    "t.conf:1: expected \"key = value\", not \"listen /x\"" },
	{ "  log_level\r\n", 0,
	    "t.conf:1: expected \"key = value\", not \"log_level\"" },
	{ "= x\n", 0, "t.conf:1: missing key before '='" },
	{ " \t= x\n", 0, "t.conf:1: missing key before '='" },
	{ "log_level = w\0rn\n", 16, "t.conf:1: line contains a NUL byte" },
	{ "\0\nfoo = 1", 9, "t.conf:1: line contains a NUL byte\n"
	    "t.conf:2: unknown key \"foo\"" },
	/* Only one CR is a line ending; a lone CR is part of the value. */
	{ "log_level = debug\r\r\n", 0, "t.conf:1: log_level: \"debug\\x0d\""
	    " is not one of error, warn, info, debug" },
	{ "log_level = de\rbug\n", 0, "t.conf:1: log_level: \"de\\x0dbug\""
	    " is not one of error, warn, info, debug" },
	/* repeats */
	{ "log_level = warn\nlog_level = debug\n", 0,
	    "t.conf:2: \"log_level\" is already set on line 1" },
	{ "log_level = x\n\nlog_level = warn\nlog_level = y\n", 0,
	    "t.conf:1: log_level: \"x\" is not one of error, warn, info, debug\n"
	    "t.conf:3: \"log_level\" is already set on line 1\n"
	    "t.conf:4: \"log_level\" is already set on line 1" },
	/* quoting */
	{ "log_level = \"debug\n", 0, "t.conf:1: log_level: missing closing"
	    " quote" },
	{ "log_level = \"debug\\\"\n", 0, "t.conf:1: log_level: missing"
	    " closing quote" },
	{ "log_level = \"de\\bug\"\n", 0, "t.conf:1: log_level: unknown escape"
	    " \"\\b\" in quoted value (only \\\" and \\\\)" },
	{ "log_level = \"debug\" x\n", 0, "t.conf:1: log_level: unexpected"
	    " text after closing quote" },
	{ "log_level = \"warn\"\"\"\n", 0, "t.conf:1: log_level: unexpected"
	    " text after closing quote" },
	{ "log_level = \" debug\"\n", 0, "t.conf:1: log_level: \" debug\" is"
	    " not one of error, warn, info, debug" },
	/* where */
	{ "listen = relative.sock\n", 0,
	    "t.conf:1: listen: \"relative.sock\" is not an absolute path" },
	{ "listen =\n", 0, "t.conf:1: listen: \"\" is not an absolute path" },
	{ "upstream = ~/docker.sock\n", 0,
	    "t.conf:1: upstream: \"~/docker.sock\" is not an absolute path" },
	{ "database = guard.db\n", 0,
	    "t.conf:1: database: \"guard.db\" is not an absolute path" },
	{ "database = /a\tb\n", 0, "t.conf:1: database: \"/a\\x09b\" contains"
	    " a control character" },
	{ "upstream = /run/docker-guard.sock\n", 0,
	    "t.conf:1: listen and upstream are the same path" },
	{ "listen = /a.sock\n#\nupstream = /a.sock\n", 0,
	    "t.conf:3: listen and upstream are the same path" },
	{ "upstream = /a.sock\nlisten = /a.sock\n", 0,
	    "t.conf:2: listen and upstream are the same path" },
	{ "socket_mode = 0778\n", 0, "t.conf:1: socket_mode: \"0778\" is not"
	    " an octal mode from 0000 to 0777" },
	{ "socket_mode = 1000\n", 0, "t.conf:1: socket_mode: \"1000\" is not"
	    " an octal mode from 0000 to 0777" },
	{ "socket_mode = 0o660\n", 0, "t.conf:1: socket_mode: \"0o660\" is"
	    " not an octal mode from 0000 to 0777" },
	{ "socket_mode = -1\n", 0, "t.conf:1: socket_mode: \"-1\" is not"
	    " an octal mode from 0000 to 0777" },
	{ "socket_mode =\n", 0, "t.conf:1: socket_mode: \"\" is not"
	    " an octal mode from 0000 to 0777" },
	{ "socket_mode = 77777777777777777777777777\n", 0,
	    "t.conf:1: socket_mode: \"77777777777777777777777777\" is not"
	    " an octal mode from 0000 to 0777" },
	{ "socket_group = a b\n", 0, "t.conf:1: socket_group: \"a b\" is not"
	    " a group name (no blanks, control characters or ':')" },
	{ "socket_group = a:b\n", 0, "t.conf:1: socket_group: \"a:b\" is not"
	    " a group name (no blanks, control characters or ':')" },
	{ "log_level = verbose\n", 0, "t.conf:1: log_level: \"verbose\" is"
	    " not one of error, warn, info, debug" },
	{ "log_level = DEBUG\n", 0, "t.conf:1: log_level: \"DEBUG\" is"
	    " not one of error, warn, info, debug" },
	{ "log_format = JSON\n", 0, "t.conf:1: log_format: \"JSON\" is"
	    " not one of text, json" },
	{ "log_format = logfmt\n", 0, "t.conf:1: log_format: \"logfmt\" is"
	    " not one of text, json" },
	{ "log_format =\n", 0, "t.conf:1: log_format: \"\" is"
	    " not one of text, json" },
	/* HTTP limits */
	{ "max_header_bytes = 1023\n", 0, "t.conf:1: max_header_bytes:"
	    " \"1023\" is not a size from 1K to 1M" },
	{ "max_header_bytes = 1025K\n", 0, "t.conf:1: max_header_bytes:"
	    " \"1025K\" is not a size from 1K to 1M" },
	{ "max_header_bytes = 2M\n", 0, "t.conf:1: max_header_bytes:"
	    " \"2M\" is not a size from 1K to 1M" },
	{ "max_header_bytes = abc\n", 0, "t.conf:1: max_header_bytes:"
	    " \"abc\" is not a size from 1K to 1M" },
	{ "max_header_bytes = 64 K\n", 0, "t.conf:1: max_header_bytes:"
	    " \"64 K\" is not a size from 1K to 1M" },
	{ "max_header_bytes = -1K\n", 0, "t.conf:1: max_header_bytes:"
	    " \"-1K\" is not a size from 1K to 1M" },
	{ "max_headers = 0\n", 0, "t.conf:1: max_headers: \"0\" is not a"
	    " number from 1 to 1000" },
	{ "max_headers = 1001\n", 0, "t.conf:1: max_headers: \"1001\" is not"
	    " a number from 1 to 1000" },
	{ "max_headers = 1e3\n", 0, "t.conf:1: max_headers: \"1e3\" is not"
	    " a number from 1 to 1000" },
	{ "max_headers = +5\n", 0, "t.conf:1: max_headers: \"+5\" is not"
	    " a number from 1 to 1000" },
	{ "max_headers = 99999999999999999999999\n", 0, "t.conf:1:"
	    " max_headers: \"99999999999999999999999\" is not a number from 1"
	    " to 1000" },
	{ "body_limit = 65M\n", 0, "t.conf:1: body_limit: \"65M\" is not a"
	    " size from 1K to 64M" },
	{ "body_limit = 1G\n", 0, "t.conf:1: body_limit: \"1G\" is not a"
	    " size from 1K to 64M" },
	{ "body_limit = 512\n", 0, "t.conf:1: body_limit: \"512\" is not a"
	    " size from 1K to 64M" },
	{ "shutdown_grace = 3601\n", 0, "t.conf:1: shutdown_grace: \"3601\""
	    " is not a number of seconds from 0 to 3600" },
	{ "shutdown_grace = 10s\n", 0, "t.conf:1: shutdown_grace: \"10s\""
	    " is not a number of seconds from 0 to 3600" },
	{ "idle_timeout = 86401\n", 0, "t.conf:1: idle_timeout: \"86401\""
	    " is not a number of seconds from 0 to 86400" },
	{ "idle_timeout = -1\n", 0, "t.conf:1: idle_timeout: \"-1\""
	    " is not a number of seconds from 0 to 86400" },
	{ "max_connections = 0\n", 0, "t.conf:1: max_connections: \"0\""
	    " is not a number from 1 to 1000000" },
	{ "max_connections = 1000001\n", 0, "t.conf:1: max_connections:"
	    " \"1000001\" is not a number from 1 to 1000000" },
	/* policy */
	{ "require_digest = enfroce\n", 0, "t.conf:1: require_digest:"
	    " \"enfroce\" is not one of enforce, warn, off" },
	{ "require_digest = enforce # strict\n", 0, "t.conf:1: require_digest:"
	    " \"enforce # strict\" is not one of enforce, warn, off" },
	{ "downgrade = ENFORCE\n", 0, "t.conf:1: downgrade: \"ENFORCE\" is"
	    " not one of enforce, warn, off" },
	{ "downgrade =\n", 0, "t.conf:1: downgrade: \"\" is not one of"
	    " enforce, warn, off" },
	{ "local_images = yes\n", 0, "t.conf:1: local_images: \"yes\" is not"
	    " one of allow, deny" },
	{ "unknown_version = true\n", 0, "t.conf:1: unknown_version: \"true\""
	    " is not one of allow, deny" },
	{ "rolling_tags = latest -bad .x ok\n", 0,
	    "t.conf:1: rolling_tags: \"-bad\" " TAG_SYNTAX "\n"
	    "t.conf:1: rolling_tags: \".x\" " TAG_SYNTAX },
	{ "rolling_tags = a/b,a:b\n", 0,
	    "t.conf:1: rolling_tags: \"a/b\" " TAG_SYNTAX "\n"
	    "t.conf:1: rolling_tags: \"a:b\" " TAG_SYNTAX },
	{ "digest_exempt = ok b\x01" "d caf\xc3\xa9\n", 0,
	    "t.conf:1: digest_exempt: \"b\\x01d\" is not a repository pattern"
	    " (printable ASCII only)\n"
	    "t.conf:1: digest_exempt: \"caf\\xc3\\xa9\" is not a repository"
	    " pattern (printable ASCII only)" },
	{ "version_sources =\n", 0,
	    "t.conf:1: version_sources: needs at least one source" },
	{ "version_sources = \" , \"\n", 0,
	    "t.conf:1: version_sources: needs at least one source" },
	{ "version_sources = tags\n", 0,
	    "t.conf:1: version_sources: \"tags\" " NOT_SOURCE },
	{ "version_sources = Tag\n", 0,
	    "t.conf:1: version_sources: \"Tag\" " NOT_SOURCE },
	{ "version_sources = label: tag\n", 0, "t.conf:1: version_sources:"
	    " \"label:\" needs a label name after \"label:\"" },
	{ "version_sources = env:\n", 0, "t.conf:1: version_sources:"
	    " \"env:\" needs a variable name after \"env:\"" },
	{ "version_sources = env:A-B env:{ORG}_V env:{REPO\n", 0,
	    "t.conf:1: version_sources: \"env:A-B\" " NOT_VAR "\n"
	    "t.conf:1: version_sources: \"env:{ORG}_V\" " NOT_VAR "\n"
	    "t.conf:1: version_sources: \"env:{REPO\" " NOT_VAR },
	{ "version_sources = tag:\n", 0, "t.conf:1: version_sources:"
	    " \"tag:\" needs a regular expression after \"tag:\"" },
	{ "version_sources = tag:^v(.*\n", 0, "t.conf:1: version_sources:"
	    " \"tag:^v(.*\" is not a valid regular expression:"
	    " Unmatched ( or \\(" },
	{ "version_sources = tag:^v[0-9.]+$\n", 0, "t.conf:1:"
	    " version_sources: \"tag:^v[0-9.]+$\" needs a capture group"
	    " (...) around the version" },
	{ "version_sources = tag:((a{100}){100})\n", 0, "t.conf:1:"
	    " version_sources: \"tag:((a{100}){100})\" " TOO_BIG },
	{ "version_sources = tag:(a{63}){8}b\n", 0, "t.conf:1:"
	    " version_sources: \"tag:(a{63}){8}b\" " TOO_BIG },
	{ "version_sources = tag:(a{63}){7,8}b\n", 0, "t.conf:1:"
	    " version_sources: \"tag:(a{63}){7,8}b\" " TOO_BIG },
	{ "version_sources = tag:(a{63}){7,}b\n", 0, "t.conf:1:"
	    " version_sources: \"tag:(a{63}){7,}b\" " TOO_BIG },
	{ "version_sources = tag:(a{63}){8}|b\n", 0, "t.conf:1:"
	    " version_sources: \"tag:(a{63}){8}|b\" " TOO_BIG },
	{ "version_sources = tag:(a*|b*)+ tag:((a*)?) tag:(a|||b)\n", 0,
	    "t.conf:1: version_sources: \"tag:(a*|b*)+\" " AMBIGUOUS "\n"
	    "t.conf:1: version_sources: \"tag:((a*)?)\" " AMBIGUOUS "\n"
	    "t.conf:1: version_sources: \"tag:(a|||b)\" " AMBIGUOUS },
	{ "version_sources = tag:(|) tag:(a?){0,3} tag:(a*){2,3} tag:(^|$)(x)"
	    "\n", 0,
	    "t.conf:1: version_sources: \"tag:(|)\" " AMBIGUOUS "\n"
	    "t.conf:1: version_sources: \"tag:(a?){0,3}\" " AMBIGUOUS "\n"
	    "t.conf:1: version_sources: \"tag:(a*){2,3}\" " AMBIGUOUS "\n"
	    "t.conf:1: version_sources: \"tag:(^|$)(x)\" " AMBIGUOUS },
	{ "version_sources = tag:(x+++++++++)\n", 0, "t.conf:1:"
	    " version_sources: \"tag:(x+++++++++)\" " TOO_BIG },
	{ "version_sources = tag:(((.*)*)*){256}\n", 0, "t.conf:1:"
	    " version_sources: \"tag:(((.*)*)*){256}\" " TOO_BIG },
	{ "version_sources = tag:(x+++++++++++++++++++++++++++++++++++++++++++"
	    "+++++++++++++++++++++++++++++++++++++++)\n", 0, "t.conf:1:"
	    " version_sources: \"tag:(x+++++++++++++++++++++++++++++++++++++++"
	    "+++++++++++++++++++...\" " TOO_BIG },
	{ "version_sources = tag:(a{99999999999999999999999})\n", 0,
	    "t.conf:1: version_sources: \"tag:(a{99999999999999999999999})\" "
	    TOO_BIG },
	{ "version_sources = label:a\x7f label:\xc3\xa9 tag:(\x01)\n", 0,
	    "t.conf:1: version_sources: \"label:a\\x7f\" is not printable"
	    " ASCII\n"
	    "t.conf:1: version_sources: \"label:\\xc3\\xa9\" is not"
	    " printable ASCII\n"
	    "t.conf:1: version_sources: \"tag:(\\x01)\" is not printable"
	    " ASCII" },
	{ "overrides = allow-all\n", 0, "t.conf:1: overrides: \"allow-all\""
	    " is not one of allow-downgrade, allow-tag" },
	{ "overrides = allow-tag,,allow_downgrade\n", 0, "t.conf:1: overrides:"
	    " \"allow_downgrade\" is not one of allow-downgrade, allow-tag" },
	/* the drift watch and its webhook */
	{ "drift_interval = 86401\n", 0, "t.conf:1: drift_interval: \"86401\""
	    " is not a number of seconds from 0 to 86400" },
	{ "drift_max_containers = 0\n", 0, "t.conf:1: drift_max_containers: "
	    "\"0\" is not a number from 1 to 10000" },
	{ "notify_url = ftp://example.com/x\n", 0, "t.conf:1: notify_url: "
	    "\"ftp://example.com/x\" is not an http:// or https:// URL with "
	    "a host (at most 2048 bytes, no blanks)" },
	{ "notify_url = example.com/hook\n", 0, "t.conf:1: notify_url: "
	    "\"example.com/hook\" is not an http:// or https:// URL with "
	    "a host (at most 2048 bytes, no blanks)" },
	{ "notify_url = http:///path\n", 0, "t.conf:1: notify_url: "
	    "\"http:///path\" is not an http:// or https:// URL with "
	    "a host (at most 2048 bytes, no blanks)" },
	{ "notify_url = \"http://a b/\"\n", 0, "t.conf:1: notify_url: "
	    "\"http://a b/\" is not an http:// or https:// URL with "
	    "a host (at most 2048 bytes, no blanks)" },
	{ "notify_timeout = 0\n", 0, "t.conf:1: notify_timeout: \"0\" is "
	    "not a number of seconds from 1 to 300" },
	{ "notify_tries = 11\n", 0, "t.conf:1: notify_tries: \"11\" is not "
	    "a number from 1 to 10" },
};

static void
test_invalid(void)
{
	for (size_t i = 0; i < NITEMS(invalid_rows); i++) {
		const struct invalid_row *r = &invalid_rows[i];
		struct guard_config *cfg;
		char *errors;

		cfg = parse(r->text, r->len ? r->len : strlen(r->text),
		    &errors);
		CHECKF(strcmp(errors, r->want) == 0, "row %zu:\n got:\n%s\n"
		    " expected:\n%s", i, errors, r->want);
		free(errors);
		config_free(cfg);
	}
}

/* A bad value leaves the key at its default. */
static void
test_bad_value_keeps_default(void)
{
	struct guard_config *cfg;
	char *errors, *got;

	cfg = parse_str("rolling_tags = ok -bad\nlisten = x\n"
	    "max_headers = 0\n", &errors);
	CHECK(*errors != '\0');
	got = field(cfg, "rolling_tags");
	CHECK_STR_EQ(got, "latest|dev|edge|nightly|main");
	free(got);
	CHECK_STR_EQ(cfg->listen, "/run/docker-guard.sock");
	CHECK_INT_EQ(cfg->max_headers, 100);
	free(errors);
	config_free(cfg);

	/* A bad socket_group still counts as set in the file. */
	cfg = parse_str("socket_group = a b\n", &errors);
	CHECK(*errors != '\0');
	CHECK(cfg->socket_group_explicit);
	CHECK_STR_EQ(cfg->socket_group, "docker");
	free(errors);
	config_free(cfg);
}

static void
test_many_errors(void)
{
	static const char text[] =
	    "# docker-guard\n"				/* 1 */
	    "listen = /run/g.sock\n"			/* 2 */
	    "lisen = /run/g.sock\n"			/* 3 */
	    "\n"					/* 4 */
	    "require_digest = enfroce\r\n"		/* 5 */
	    "downgrade = warn\n"			/* 6 */
	    "downgrade = off\n"				/* 7 */
	    "  # body_limit = 1T\n"			/* 8 */
	    "body_limit = 1T\n"				/* 9 */
	    "just some words\n"				/* 10 */
	    "version_sources = tag:(x tag:y label:\n"	/* 11 */
	    "max_headers = 50";				/* 12 */
	static const char want[] =
	    "g.conf:3: unknown key \"lisen\"\n"
	    "g.conf:5: require_digest: \"enfroce\" is not one of enforce,"
	    " warn, off\n"
	    "g.conf:7: \"downgrade\" is already set on line 6\n"
	    "g.conf:9: body_limit: \"1T\" is not a size from 1K to 64M\n"
	    "g.conf:10: expected \"key = value\", not \"just some words\"\n"
	    "g.conf:11: version_sources: \"tag:(x\" is not a valid regular"
	    " expression: Unmatched ( or \\(\n"
	    "g.conf:11: version_sources: \"tag:y\" needs a capture group (...)"
	    " around the version\n"
	    "g.conf:11: version_sources: \"label:\" needs a label name after"
	    " \"label:\"";
	struct guard_config *cfg = config_new();
	struct config_errors errs = { NULL, 0 };
	char *got;
	size_t n;

	n = config_parse(cfg, "g.conf", text, sizeof(text) - 1, &errs);
	CHECK_INT_EQ(n, 8);
	CHECK_INT_EQ(errs.n, 8);
	got = join_errors(&errs);
	CHECK_STR_EQ(got, want);
	free(got);
	/* The good lines around the bad ones still took effect. */
	CHECK_STR_EQ(cfg->listen, "/run/g.sock");
	CHECK_INT_EQ(cfg->downgrade, RULE_WARN);
	CHECK_INT_EQ(cfg->max_headers, 50);

	/* A second parse appends to the same list. */
	n = config_parse(cfg, "h.conf", "x=1", 3, &errs);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(errs.n, 9);
	if (errs.n == 9)
		CHECK_STR_EQ(errs.lines[8], "h.conf:1: unknown key \"x\"");
	config_errors_reset(&errs);
	CHECK_INT_EQ(errs.n, 0);
	config_errors_reset(&errs);

	/* errs may be NULL: errors are only counted. */
	CHECK_INT_EQ(config_parse(cfg, "g.conf", text, sizeof(text) - 1,
	    NULL), 8);
	config_free(cfg);
}

/* len bounds the text: what follows it is never read. */
static void
test_len(void)
{
	static const char text[] = "log_level = debug\nfoo = 1\n";
	struct guard_config *cfg;
	char *errors;

	cfg = parse(text, 18, &errors);
	CHECK_STR_EQ(errors, "");
	CHECK_INT_EQ(cfg->log_level, LOG_LEVEL_DEBUG);
	free(errors);
	config_free(cfg);

	/* Cut in the middle of the value: "deb" is not a level. */
	cfg = parse(text, 15, &errors);
	CHECK_STR_EQ(errors, "t.conf:1: log_level: \"deb\" is not one of"
	    " error, warn, info, debug");
	free(errors);
	config_free(cfg);
}

/* Limits that need long strings: lines, socket paths, tags, regexes. */
static void
test_lengths(void)
{
	char line[5000], *errors, *want;
	struct guard_config *cfg;
	size_t n;

	/* A line of exactly 4096 bytes, plus CRLF, is fine; 4097 is not. */
	n = (size_t)snprintf(line, sizeof(line), "database = /");
	memset(line + n, 'd', 4096 - n);
	memcpy(line + 4096, "\r\n", 3);
	cfg = parse(line, 4098, &errors);
	CHECK_STR_EQ(errors, "");
	CHECK_INT_EQ(strlen(cfg->database), 4096 - 11);
	free(errors);
	config_free(cfg);
	memcpy(line + 4096, "d\nfoo=1\n", 9);
	cfg = parse(line, 4104, &errors);
	CHECK_STR_EQ(errors, "t.conf:1: line is longer than 4096 bytes\n"
	    "t.conf:2: unknown key \"foo\"");
	CHECK_STR_EQ(cfg->database, "/var/lib/docker-guard/guard.db");
	free(errors);
	config_free(cfg);

	/* A socket path may have 107 bytes, not 108. */
	n = (size_t)snprintf(line, sizeof(line), "listen = /");
	memset(line + n, 's', 106);
	line[n + 106] = '\0';
	cfg = parse_str(line, &errors);
	CHECK_STR_EQ(errors, "");
	CHECK_INT_EQ(strlen(cfg->listen), 107);
	free(errors);
	config_free(cfg);
	memcpy(line + n + 106, "s", 2);
	cfg = parse_str(line, &errors);
	want = xasprintf("t.conf:1: listen: \"/%.63s...\" is 108 bytes long;"
	    " a socket path may have at most 107", line + n + 1);
	CHECK_STR_EQ(errors, want);
	free(want);
	free(errors);
	config_free(cfg);
	n = (size_t)snprintf(line, sizeof(line), "upstream = /");
	memset(line + n, 's', 107);
	line[n + 107] = '\0';
	cfg = parse_str(line, &errors);
	CHECK(strstr(errors, "t.conf:1: upstream: \"/sss") == errors);
	CHECK(strstr(errors, "\" is 108 bytes long;") != NULL);
	free(errors);
	config_free(cfg);

	/* A tag may have 128 bytes, not 129. */
	n = (size_t)snprintf(line, sizeof(line), "rolling_tags = ");
	memset(line + n, 't', 128);
	line[n + 128] = '\0';
	cfg = parse_str(line, &errors);
	CHECK_STR_EQ(errors, "");
	CHECK_INT_EQ(strlen(cfg->rolling_tags.items[0]), 128);
	free(errors);
	config_free(cfg);
	memcpy(line + n + 128, "t", 2);
	cfg = parse_str(line, &errors);
	CHECK(strstr(errors, "\" is not a tag (") != NULL);
	free(errors);
	config_free(cfg);

	/* A tag regex may have 256 bytes, not 257. */
	n = (size_t)snprintf(line, sizeof(line), "version_sources = tag:(");
	memset(line + n, 'r', 254);
	memcpy(line + n + 254, ")", 2);
	cfg = parse_str(line, &errors);
	CHECK_STR_EQ(errors, "");
	free(errors);
	config_free(cfg);
	memcpy(line + n + 254, "r)", 3);
	cfg = parse_str(line, &errors);
	CHECK(strstr(errors, "\" is longer than 256 bytes") != NULL);
	free(errors);
	config_free(cfg);
}

static const struct size_row {
	const char	*text;
	int		 rc;
	size_t		 want;
} size_rows[] = {
	{ "0", 0, 0 },
	{ "4096", 0, 4096 },
	{ "007", 0, 7 },
	{ "64K", 0, 65536 },
	{ "64k", 0, 65536 },
	{ "64KB", 0, 65536 },
	{ "64KiB", 0, 65536 },
	{ "1M", 0, 1048576 },
	{ "1m", 0, 1048576 },
	{ "1MiB", 0, 1048576 },
	{ "1MB", 0, 1048576 },
	{ "2G", 0, 2147483648U },
	{ "3GiB", 0, (size_t)3 << 30 },
	{ "", -1, 0 },
	{ "K", -1, 0 },
	{ "KiB", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1 ", -1, 0 },
	{ "1 K", -1, 0 },
	{ "1B", -1, 0 },
	{ "1iB", -1, 0 },
	{ "1Ki", -1, 0 },
	{ "1KiBB", -1, 0 },
	{ "1Kib", -1, 0 },
	{ "1KB2", -1, 0 },
	{ "1T", -1, 0 },
	{ "1.5M", -1, 0 },
	{ "0x10", -1, 0 },
	{ "1e3", -1, 0 },
#if SIZE_MAX == UINT64_MAX
	{ "18446744073709551615", 0, SIZE_MAX },
	{ "18446744073709551616", -1, 0 },
	{ "99999999999999999999999", -1, 0 },
	{ "17179869183G", 0, (((size_t)1 << 34) - 1) << 30 },
	{ "17179869184G", -1, 0 },
	{ "18014398509481984K", -1, 0 },
#endif
};

static void
test_parse_size(void)
{
	for (size_t i = 0; i < NITEMS(size_rows); i++) {
		const struct size_row *r = &size_rows[i];
		size_t got = 12345;
		int rc;

		rc = config_parse_size(r->text, &got);
		CHECKF(rc == r->rc, "\"%s\": returned %d, expected %d",
		    r->text, rc, r->rc);
		if (r->rc == 0)
			CHECKF(got == r->want, "\"%s\" is %zu, expected %zu",
			    r->text, got, r->want);
		else
			CHECKF(got == 12345, "\"%s\": *out changed to %zu",
			    r->text, got);
	}
}

static void
test_rule_mode_name(void)
{
	CHECK_STR_EQ(config_rule_mode_name(RULE_ENFORCE), "enforce");
	CHECK_STR_EQ(config_rule_mode_name(RULE_WARN), "warn");
	CHECK_STR_EQ(config_rule_mode_name(RULE_OFF), "off");
}

#ifdef SOURCE_ROOT
/* Read a whole file, at most 1 MiB.  Caller frees; NULL on failure. */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = xmalloc(1024 * 1024);
	*len = fread(buf, 1, 1024 * 1024, f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

#endif

/*
 * guard.conf.example parses cleanly as shipped, and again with every
 * "#key = value" line uncommented: then every key is set once, to exactly
 * its default.
 */
static void
test_example_file(void)
{
#ifdef SOURCE_ROOT
	const char *path = SOURCE_ROOT "/guard.conf.example";
	struct guard_config *cfg, *defaults;
	char *text, *on, *errors, *p, *nl, *got, *want;
	size_t len, o = 0, nkeys = 0;
	bool found[NITEMS(key_names)] = { false };

	if ((text = read_file(path, &len)) == NULL) {
		CHECKF(0, "cannot read %s", path);
		return;
	}
	cfg = parse(text, len, &errors);
	CHECKF(*errors == '\0', "%s as shipped:\n%s", path, errors);
	free(errors);
	config_free(cfg);

	/* Uncomment "#key = ..." lines; "# text" lines stay comments. */
	on = xmalloc(len + 1);
	for (p = text; p < text + len; p = nl + 1) {
		size_t n;

		if ((nl = memchr(p, '\n', (size_t)(text + len - p))) == NULL)
			nl = text + len;
		n = (size_t)(nl - p);
		for (size_t i = 0; p[0] == '#' && i < NITEMS(key_names); i++) {
			size_t kl = strlen(key_names[i]);

			if (n > kl + 1 && strncmp(p + 1, key_names[i], kl) == 0 &&
			    (p[kl + 1] == ' ' || p[kl + 1] == '=')) {
				CHECKF(!found[i], "%s twice", key_names[i]);
				found[i] = true;
				nkeys++;
				p++;
				n--;
				break;
			}
		}
		memcpy(on + o, p, n);
		o += n;
		on[o++] = '\n';
		if (nl == text + len)
			break;
	}
	for (size_t i = 0; i < NITEMS(key_names); i++)
		CHECKF(found[i], "no \"#%s = ...\" line in %s", key_names[i],
		    path);
	CHECK_INT_EQ(nkeys, NITEMS(key_names));

	cfg = parse(on, o, &errors);
	CHECKF(*errors == '\0', "%s uncommented:\n%s", path, errors);
	CHECK(cfg->socket_group_explicit);
	defaults = config_new();
	got = dump(cfg);
	want = dump(defaults);
	CHECK_STR_EQ(got, want);
	free(got);
	free(want);
	free(errors);
	config_free(defaults);
	config_free(cfg);
	free(on);
	free(text);
#else
	CHECKF(0, "SOURCE_ROOT is not defined: build with"
	    " -DSOURCE_ROOT=\\\"/path/to/docker-guard\\\"");
#endif
}

/* metrics_listen: loopback host:port or a socket path, nothing else. */
static void
test_metrics_listen(void)
{
	static const struct {
		const char *text;
		const char *want; /* NULL: refused */
		const char *host;
		unsigned port;
	} rows[] = {
		{ "127.0.0.1:9323", "127.0.0.1:9323", "127.0.0.1", 9323 },
		{ "[::1]:1", "[::1]:1", "::1", 1 },
		{ "localhost:65535", "localhost:65535", "127.0.0.1", 65535 },
		{ "/run/docker-guard-ops.sock", "/run/docker-guard-ops.sock",
		    NULL, 0 },
		{ "\"\"", "", NULL, 0 },
		{ "0.0.0.0:9323", NULL, NULL, 0 },
		{ "192.168.1.5:9323", NULL, NULL, 0 },
		{ "[::]:9323", NULL, NULL, 0 },
		{ "127.0.0.2:9323", NULL, NULL, 0 },
		{ "localhost", NULL, NULL, 0 },
		{ "127.0.0.1:", NULL, NULL, 0 },
		{ "127.0.0.1:0", NULL, NULL, 0 },
		{ "127.0.0.1:65536", NULL, NULL, 0 },
		{ "127.0.0.1:99999999999999999999", NULL, NULL, 0 },
		{ "127.0.0.1:80x", NULL, NULL, 0 },
		{ "localhost.evil.example:80", NULL, NULL, 0 },
		{ "relative/path.sock", NULL, NULL, 0 },
	};

	for (size_t i = 0; i < NITEMS(rows); i++) {
		char *text = xasprintf("metrics_listen = %s\n", rows[i].text);
		char *errors, *got, host[16] = "";
		struct guard_config *cfg = parse_str(text, &errors);
		unsigned port = 0;

		got = field(cfg, "metrics_listen");
		if (rows[i].want != NULL) {
			CHECKF(*errors == '\0', "%s: %s", rows[i].text, errors);
			CHECK_STR_EQ(got, rows[i].want);
		} else {
			CHECKF(strstr(errors, "metrics_listen") != NULL &&
				strstr(errors, "loopback") != NULL,
			    "%s: \"%s\"", rows[i].text, errors);
			CHECK_STR_EQ(got, "");
		}
		if (rows[i].host != NULL) {
			CHECK_INT_EQ(config_ops_addr(rows[i].text, host,
					 sizeof host, &port), 0);
			CHECK_STR_EQ(host, rows[i].host);
			CHECK_INT_EQ(port, rows[i].port);
		} else {
			CHECK_INT_EQ(config_ops_addr(rows[i].text, host,
					 sizeof host, &port), -1);
		}
		free(got);
		free(errors);
		free(text);
		config_free(cfg);
	}
}

static const struct check_case cases[] = {
	{ "metrics_listen", test_metrics_listen },
	{ "defaults", test_defaults },
	{ "valid", test_valid },
	{ "invalid", test_invalid },
	{ "bad_value_keeps_default", test_bad_value_keeps_default },
	{ "many_errors", test_many_errors },
	{ "len", test_len },
	{ "lengths", test_lengths },
	{ "parse_size", test_parse_size },
	{ "rule_mode_name", test_rule_mode_name },
	{ "example_file", test_example_file },
};

int
main(void)
{
	return CHECK_RUN("config", cases);
}

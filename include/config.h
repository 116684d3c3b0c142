/*
 * guard.conf: parsed from text into a plain struct.  Pure: the caller
 * reads the file; this module never touches the file system.
 *
 * Grammar, one setting per line:
 *     # comment
 *     key = value
 * Leading and trailing blanks are ignored, as is everything after a '#'
 * that starts a line.  A value may be wrapped in double quotes to keep
 * leading or trailing blanks or a '#'.  List values are separated by
 * blanks and/or commas.  Unknown keys, bad values and repeated keys are
 * errors.  Every error is reported, as "FILE:LINE: message".
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum rule_mode {
	RULE_OFF,
	RULE_WARN,
	RULE_ENFORCE,
};

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* What a log line on stderr looks like (log_format.h). */
enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
};

/* A path by which the engine pulls or runs an image the guard may not see
   whole: judge it by the pull rules, refuse it, or let it through
   (audited either way). */
enum path_policy {
	PATH_JUDGE,
	PATH_DENY,
	PATH_ALLOW,
};

struct profile_set;

struct string_list {
	char **items;
	size_t n;
};

struct guard_config {
	/* where */
	char *listen;		    /* /run/docker-guard.sock */
	char *upstream;		    /* /var/run/docker.sock */
	char *database;		    /* /var/lib/docker-guard/guard.db */
	unsigned socket_mode;	    /* 0660 */
	char *socket_group;	    /* "docker"; "" = keep the
							   process's group */
	bool socket_group_explicit; /* set in the file */
	enum log_level log_level;   /* info */
	enum log_format log_format; /* text */

	/* HTTP limits */
	size_t max_header_bytes;  /* 65536 */
	unsigned max_headers;	  /* 100 */
	size_t body_limit;	  /* 1 MiB: guarded bodies */
	unsigned shutdown_grace;  /* 10 s */
	unsigned idle_timeout;	  /* 60 s before the first
							   request; 0: none */
	unsigned max_connections; /* 1024 clients */

	/* policy */
	enum rule_mode require_digest;	    /* enforce */
	enum rule_mode downgrade;	    /* enforce */
	bool local_images_allow;	    /* allow */
	bool unknown_version_allow;	    /* allow */
	struct string_list rolling_tags;    /* latest dev edge nightly main */
	struct string_list digest_exempt;   /* repository globs */
	struct string_list version_sources; /* see guard.conf.example */
	struct string_list overrides;	    /* allow-downgrade allow-tag */

	/* registry */
	enum rule_mode registry_presence;     /* enforce */
	bool registry_unreachable_allow;      /* allow */
	unsigned registry_timeout;	      /* 10 s */
	unsigned registry_cache_ttl;	      /* 600 s */
	unsigned registry_negative_ttl;	      /* 30 s */
	bool check_all_platforms;	      /* no */
	char *docker_config;		      /* NULL: none */
	struct string_list registry_auth;     /* host=user:password */
	struct string_list registry_ca_files; /* host=/path */
	struct string_list registry_insecure; /* hosts */

	/* restore after a refusal */
	bool restore_on_refusal; /* yes */
	unsigned restore_window; /* 3600 s */

	/* pulls */
	enum rule_mode pull_require_digest;    /* enforce */
	struct string_list allowed_registries; /* globs; empty: any */
	bool imports_allow;		       /* allow */

	/* other paths to an image */
	enum path_policy build;	  /* judge: legacy builder */
	bool buildkit_allow;	  /* deny: /session, /grpc,
							   /build?version=2 */
	enum path_policy plugins; /* judge: plugin pulls */

	/* the fleet (fleet.h) */
	char *ledger;		       /* NULL: this host's SQLite only;
					  else a libpq connection string */
	char *host_name;	       /* NULL: the engine's name */
	bool ledger_unreachable_allow; /* deny */

	/* operators (ops_http.h) */
	char *metrics_listen; /* NULL: none; a socket path or a loopback
				 host:port */

	/* the drift watch (drift.h) and its webhook (notify.h) */
	unsigned drift_interval;       /* 0 s: off */
	unsigned drift_max_containers; /* 100 per round */
	char *notify_url;	       /* NULL: no webhook */
	unsigned notify_timeout;       /* 10 s per POST */
	unsigned notify_tries;	       /* 3 */
	/* per-client profiles (profile.h) */
	struct profile_set *profiles;	    /* profile.NAME.KEY; never NULL */
	struct string_list listen_profiles; /* "socket-path:NAME" */
	char *default_profile;		    /* NULL: none */

	/* Set by the owner, never by the parser: changes with each
	   configuration loaded (sessions choose their profile again). */
	unsigned long generation;
};

struct config_errors {
	char **lines; /* "FILE:LINE: message", owned */
	size_t n;
};

/* A config holding every default.  Caller frees with config_free. */
struct guard_config *config_new(void);
void config_free(struct guard_config *cfg);

/*
 * Parse text (len bytes, need not be NUL-terminated) into cfg, which
 * should come from config_new().  filename is used only in messages.
 * Returns the number of errors appended to errs (0 on success).  On
 * errors cfg may be partly changed: callers parse into a fresh config and
 * swap only on success.
 */
size_t config_parse(struct guard_config *cfg, const char *filename,
    const char *text, size_t len, struct config_errors *errs);

void config_errors_reset(struct config_errors *errs);

/* "judge", "deny", "allow". */
const char *config_path_policy_name(enum path_policy p);

/* "enforce", "warn", "off". */
const char *config_rule_mode_name(enum rule_mode mode);

/* Parse "1048576", "512K", "1M", "1MiB", "2G": 0 on success. */
int config_parse_size(const char *s, size_t *out);

/*
 * A loopback "host:port" (127.0.0.1:P, [::1]:P or localhost:P, P from 1
 * to 65535): 0, with the address to bind ("127.0.0.1" or "::1") copied
 * into host (hostlen bytes; NULL: not wanted) and the port into *port
 * (NULL: not wanted); -1 for anything else.
 */
int config_ops_addr(const char *s, char *host, size_t hostlen, unsigned *port);

#endif

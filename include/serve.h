/*
 * docker-guard serve: the daemon.
 */
#ifndef SERVE_H
#define SERVE_H

struct serve_options {
	const char *config; /* NULL: the default path if present */
	const char *listen; /* overrides, NULL if not given */
	const char *upstream;
	const char *database;
};

/* Run until SIGTERM/SIGINT.  Returns the exit status. */
int serve_main(const struct serve_options *opts);

#endif

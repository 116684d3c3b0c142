/*
 * docker-guard serve: the daemon.  serve.c owns the event loop, the
 * listener and the configuration in force; it creates the guard (the
 * decider), fills the session host with the decision port and the
 * limits, and alone wires the proxy sessions to the guard.
 */
#ifndef SERVE_H
#define SERVE_H

/* The command line's say; every string is borrowed for serve_main(). */
struct serve_options {
	const char *config; /* NULL: the default path if present */
	const char *listen; /* overrides, NULL if not given */
	const char *upstream;
	const char *database;
	const char *ledger;	    /* the fleet ledger's connection string */
	const char *metrics_listen; /* "": none */
	const char *log_format;	    /* "text" or "json" (cli.c checks) */
};

/*
 * Load the configuration (opts override it), open the guard and the
 * listening socket, and serve until SIGTERM or SIGINT (drained: open
 * responses end first); SIGHUP reloads the configuration.  Returns the
 * process exit status (0, or non-zero with the reason logged).
 */
int serve_main(const struct serve_options *opts);

#endif

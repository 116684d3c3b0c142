/*
 * libFuzzer target for config_parse: any bytes must parse without a crash,
 * a leak or an assertion below failing.  The checks hold whatever the
 * input: every error is counted and formatted "FILE:LINE: message", and a
 * config that parsed cleanly holds only values its keys allow.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Like assert, but kept under NDEBUG. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_list(const struct string_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		FUZZ_CHECK(list->items[i] != NULL);
		FUZZ_CHECK(list->items[i][0] != '\0');
		FUZZ_CHECK(strpbrk(list->items[i], " \t\r\n") == NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { NULL, 0 };
	struct guard_config *cfg;
	size_t n;

	/* Config files are small; longer inputs only slow the search. */
	if (size > 64 * 1024)
		return 0;

	cfg = config_new();
	n = config_parse(cfg, "f.conf", (const char *)data, size, &errs);
	FUZZ_CHECK(n == errs.n);
	for (size_t i = 0; i < errs.n; i++) {
		FUZZ_CHECK(strncmp(errs.lines[i], "f.conf:", 7) == 0);
		FUZZ_CHECK(strchr(errs.lines[i], '\n') == NULL);
	}
	if (n == 0) {
		FUZZ_CHECK(cfg->listen[0] == '/' && strlen(cfg->listen) <= 107);
		FUZZ_CHECK(cfg->upstream[0] == '/' &&
		    strlen(cfg->upstream) <= 107);
		FUZZ_CHECK(strcmp(cfg->listen, cfg->upstream) != 0);
		FUZZ_CHECK(cfg->database[0] == '/');
		FUZZ_CHECK(cfg->socket_mode <= 0777);
		FUZZ_CHECK(cfg->log_level <= LOG_LEVEL_DEBUG);
		FUZZ_CHECK(cfg->max_header_bytes >= 1024 &&
		    cfg->max_header_bytes <= 1024 * 1024);
		FUZZ_CHECK(cfg->max_headers >= 1 && cfg->max_headers <= 1000);
		FUZZ_CHECK(cfg->body_limit >= 1024 &&
		    cfg->body_limit <= 64 * 1024 * 1024);
		FUZZ_CHECK(cfg->shutdown_grace <= 3600);
		FUZZ_CHECK(cfg->require_digest <= RULE_ENFORCE);
		FUZZ_CHECK(cfg->downgrade <= RULE_ENFORCE);
		FUZZ_CHECK(cfg->version_sources.n >= 1);
		for (size_t i = 0; i < cfg->overrides.n; i++) {
			FUZZ_CHECK(strcmp(cfg->overrides.items[i],
			    "allow-downgrade") == 0 ||
			    strcmp(cfg->overrides.items[i], "allow-tag") == 0);
		}
	}
	check_list(&cfg->rolling_tags);
	check_list(&cfg->digest_exempt);
	check_list(&cfg->version_sources);
	check_list(&cfg->overrides);
	config_errors_reset(&errs);
	config_free(cfg);
	return 0;
}

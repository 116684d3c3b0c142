/*
 * Reading guard.conf from disk into config.c's parser.
 */
#ifndef CONFFILE_H
#define CONFFILE_H

#include <stdbool.h>

#include "config.h"

#define CONFFILE_DEFAULT_PATH "/etc/docker-guard/guard.conf"

/*
 * Load path into a new config (caller frees with config_free).  When
 * must_exist is false and path does not exist, the defaults are returned.
 * On any error return NULL with every message appended to errs
 * ("FILE:LINE: message" or "FILE: message"; caller resets errs).
 */
struct guard_config *
conffile_load(const char *path, bool must_exist, struct config_errors *errs);

#endif

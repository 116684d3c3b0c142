#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "conffile.h"
#include "profile.h"
#include "xmalloc.h"

#define CONFFILE_MAX (1024 * 1024)

static void
add_error(struct config_errors *errs, char *line)
{
	errs->lines = xreallocarray(errs->lines, errs->n + 1,
	    sizeof *errs->lines);
	errs->lines[errs->n++] = line;
}

static int
user_id(const char *name, unsigned long *id)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		return -1;
	*id = pw->pw_uid;
	return 0;
}

static int
group_id(const char *name, unsigned long *id)
{
	struct group *gr = getgrnam(name);

	if (gr == NULL)
		return -1;
	*id = gr->gr_gid;
	return 0;
}

struct profile_report {
	struct config_errors *errs;
	const char *path;
};

static void
profile_report_cb(void *arg, size_t line, const char *msg)
{
	struct profile_report *r = arg;

	if (line > 0)
		add_error(r->errs, xasprintf("%s:%zu: %s", r->path, line, msg));
	else
		add_error(r->errs, xasprintf("%s: %s", r->path, msg));
}

/* Profiles: user: and group: names resolved on this host, then the
 * checks across profiles.  Returns the number of problems. */
static size_t
profiles_load(struct guard_config *cfg, const char *path,
    struct config_errors *errs)
{
	struct profile_report r = { errs, path };
	size_t bad = profile_set_resolve(cfg->profiles, user_id, group_id,
	    profile_report_cb, &r);

	return bad + profile_set_check(cfg->profiles, profile_report_cb, &r);
}

struct guard_config *
conffile_load(const char *path, bool must_exist, struct config_errors *errs)
{
	struct guard_config *cfg;
	struct stat st;
	char *text;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return config_new();
		add_error(errs, xasprintf("%s: %s", path, strerror(errno)));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFFILE_MAX) {
		add_error(errs,
		    xasprintf("%s: not a regular file of at most "
			      "%d bytes",
			path, CONFFILE_MAX));
		close(fd);
		return NULL;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	cfg = config_new();
	if (config_parse(cfg, path, text, len, errs) != 0 ||
	    profiles_load(cfg, path, errs) != 0) {
		config_free(cfg);
		cfg = NULL;
	}
	free(text);
	return cfg;
}

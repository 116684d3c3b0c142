/*
 * The registry client's credentials and bearer tokens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "docker_auth.h"
#include "registry_auth.h"
#include "xmalloc.h"

/* A bearer token for (host, scope). */
struct reg_token {
	TAILQ_ENTRY(reg_token) entry;
	char *host;
	char *scope;
	char *token;
	time_t expires;
};

void
reg_auth_init(struct reg_auth *a)
{
	TAILQ_INIT(&a->tokens);
	a->n_tokens = 0;
}

/* Remove a token from the cache, wiping it. */
static void
token_drop(struct reg_auth *a, struct reg_token *t)
{
	TAILQ_REMOVE(&a->tokens, t, entry);
	a->n_tokens--;
	explicit_bzero(t->token, strlen(t->token));
	free(t->token);
	free(t->host);
	free(t->scope);
	free(t);
}

void
reg_auth_reset(struct reg_auth *a)
{
	struct reg_token *t;

	while ((t = TAILQ_FIRST(&a->tokens)) != NULL)
		token_drop(a, t);
	reg_auth_forget_config(a);
}

void
reg_auth_forget_config(struct reg_auth *a)
{
	if (a->docker_config != NULL) {
		explicit_bzero(a->docker_config, a->docker_config_len);
		free(a->docker_config);
		a->docker_config = NULL;
	}
}

int
reg_auth_read_config(struct reg_auth *a, const char *path, char **cause)
{
	struct stat st;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*cause = xasprintf("docker_config %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || st.st_size > DOCKER_AUTH_MAX_CONFIG) {
		*cause = xasprintf("docker_config %s: not a file of at most "
				   "%d bytes",
		    path, DOCKER_AUTH_MAX_CONFIG);
		close(fd);
		return -1;
	}
	a->docker_config = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, a->docker_config + len,
		    (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	a->docker_config[len] = '\0';
	a->docker_config_len = len;
	return 0;
}

char *
reg_auth_credentials(const struct reg_auth *a, const char *configured,
    const char *host)
{
	struct docker_cred c = { 0 };
	const char *cause;
	char *out = NULL;

	if (configured != NULL)
		return xstrdup(configured);
	if (a->docker_config == NULL)
		return NULL;
	if (docker_auth_lookup(a->docker_config, a->docker_config_len, host, &c,
		&cause) == 0 &&
	    c.username != NULL && c.password != NULL)
		out = xasprintf("%s:%s", c.username, c.password);
	docker_cred_reset(&c);
	return out;
}

char *
reg_auth_basic_header(const char *userpass)
{
	char *b64 = docker_auth_b64encode(userpass, strlen(userpass));
	char *h = xasprintf("Authorization: Basic %s", b64);

	explicit_bzero(b64, strlen(b64));
	free(b64);
	return h;
}

char *
reg_auth_bearer_header(const char *token)
{
	return xasprintf("Authorization: Bearer %s", token);
}

void
reg_auth_header_free(char *header)
{
	if (header != NULL) {
		explicit_bzero(header, strlen(header));
		free(header);
	}
}

char *
reg_auth_scope(const char *repo)
{
	return xasprintf("repository:%s:pull", repo);
}

char *
reg_auth_cached_header(struct reg_auth *a, const char *host, const char *scope)
{
	struct reg_token *t, *next;
	time_t now = time(NULL);

	for (t = TAILQ_FIRST(&a->tokens); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->expires <= now) {
			token_drop(a, t);
			continue;
		}
		if (strcmp(t->host, host) == 0 && strcmp(t->scope, scope) == 0)
			return reg_auth_bearer_header(t->token);
	}
	return NULL;
}

void
reg_auth_token_store(struct reg_auth *a, const char *host, const char *scope,
    const char *token, long expires_in)
{
	struct reg_token *t;

	if (a->n_tokens >= REG_AUTH_MAX_TOKENS) {
		token_drop(a, TAILQ_FIRST(&a->tokens));
	}
	t = xcalloc(1, sizeof *t);
	t->host = xstrdup(host);
	t->scope = xstrdup(scope);
	t->token = xstrdup(token);
	/* A little early, so a token never expires in flight. */
	t->expires = time(NULL) +
	    (expires_in > 10 ? expires_in - 5 : expires_in);
	TAILQ_INSERT_TAIL(&a->tokens, t, entry);
	a->n_tokens++;
}

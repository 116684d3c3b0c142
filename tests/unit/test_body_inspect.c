/*
 * Golden tables for body_inspect: each row is a request body, whether the
 * guard must accept it, and what it must find.  The bypass rows are the
 * Go encoding/json reading differences from research B4 and B7.
 */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "body_inspect.h"
#include "xmalloc.h"

enum kind {
	CONTAINER,
	SERVICE,
};

struct row {
	const char	*name;
	enum kind	 kind;
	const char	*body;
	size_t		 len;		/* 0: strlen(body) */
	bool		 ok;
	const char	*image;
	const char	*mounts[4];	/* NULL-terminated */
	const char	*plugin;
	const char	*service;
	const char	*cause;		/* refused: must contain this */
};

static const struct row rows[] = {
	/* Plain shapes. */
	{ .name = "plain image", .body = "{\"Image\":\"nginx:1.25\"}",
	  .ok = true, .image = "nginx:1.25" },
	{ .name = "no image", .body = "{\"Cmd\":[\"sh\"]}", .ok = true },
	{ .name = "null image", .body = "{\"Image\":null}", .ok = true },
	{ .name = "empty image", .body = "{\"Image\":\"\"}", .ok = true,
	  .image = "" },
	{ .name = "escaped value", .body = "{\"Image\":\"\\u006eginx\"}",
	  .ok = true, .image = "nginx" },
	{ .name = "Config is not a key",
	  .body = "{\"Config\":{\"Image\":\"evil\"}}", .ok = true },

	/* B4: case-insensitive keys, escapes, duplicates. */
	{ .name = "lowercase image alone", .body = "{\"image\":\"evil:1\"}",
	  .ok = true, .image = "evil:1" },
	{ .name = "uppercase IMAGE alone", .body = "{\"IMAGE\":\"evil:1\"}",
	  .ok = true, .image = "evil:1" },
	{ .name = "Image and image",
	  .body = "{\"Image\":\"good@sha256:aa\",\"image\":\"evil\"}",
	  .cause = "the body has two keys for the field Image "
	  "(\"Image\" and \"image\")" },
	{ .name = "image then Image",
	  .body = "{\"image\":\"evil\",\"Image\":\"good\"}",
	  .cause = "the body has two keys for the field Image "
	  "(\"image\" and \"Image\")" },
	{ .name = "duplicate Image",
	  .body = "{\"Image\":\"good\",\"Image\":\"evil\"}",
	  .cause = "the body is not valid JSON: duplicate object key" },
	{ .name = "escaped key alone", .body = "{\"\\u0049mage\":\"evil\"}",
	  .ok = true, .image = "evil" },
	{ .name = "escaped key and Image",
	  .body = "{\"Image\":\"good\",\"\\u0049mage\":\"evil\"}",
	  .cause = "duplicate object key" },
	{ .name = "escaped lowercase key and Image",
	  .body = "{\"Image\":\"good\",\"\\u0069mage\":\"evil\"}",
	  .cause = "two keys for the field Image" },
	{ .name = "long s alone",
	  .body = "{\"Image\":\"x\",\"Label\\u017f\":{\"v\":\"1\"}}",
	  .ok = true, .image = "x" },
	{ .name = "Labels and Label long s",
	  .body = "{\"Labels\":{\"v\":\"1\"},\"Label\\u017f\":{\"v\":\"2\"}}",
	  .cause = "the body has two keys for the field Labels "
	  "(\"Labels\" and \"Label\\u017f\")" },
	{ .name = "long s raw UTF-8",
	  .body = "{\"Labels\":{},\"Label\xc5\xbf\":{}}",
	  .cause = "two keys for the field Labels" },
	{ .name = "kelvin NetworkingConfig",
	  .body = "{\"NetworkingConfig\":{},\"Networ\\u212aingConfig\":{}}",
	  .cause = "two keys for the field NetworkingConfig" },
	{ .name = "kelvin in unknown field",
	  .body = "{\"key\":1,\"\\u212aey\":2}",
	  .cause = "two keys for the field key (\"key\" and \"\\u212aey\")" },
	{ .name = "unknown fields differing in case",
	  .body = "{\"Foo\":1,\"foo\":2}", .cause = "the field Foo" },
	{ .name = "other non-ASCII is not folded",
	  .body = "{\"Image\":\"x\",\"\\u00e9\":1,\"\\u00c9\":2}",
	  .ok = true, .image = "x" },
	{ .name = "dotless i is not I",
	  .body = "{\"Image\":\"x\",\"\\u0131mage\":\"y\"}",
	  .ok = true, .image = "x" },
	{ .name = "HostConfig and hostconfig",
	  .body = "{\"Image\":\"x\",\"HostConfig\":{},"
	  "\"hostconfig\":{\"Privileged\":true}}",
	  .cause = "two keys for the field HostConfig "
	  "(\"HostConfig\" and \"hostconfig\")" },
	{ .name = "nested duplicate in HostConfig",
	  .body = "{\"Image\":\"x\",\"HostConfig\":{\"Privileged\":false,"
	  "\"privileged\":true}}",
	  .cause = "two keys for the field HostConfig.Privileged" },
	{ .name = "nested exact duplicate",
	  .body = "{\"HostConfig\":{\"Privileged\":false,"
	  "\"Privileged\":true}}", .cause = "duplicate object key" },
	{ .name = "duplicate in unknown nested object",
	  .body = "{\"Healthcheck\":{\"Test\":[],\"test\":[\"x\"]}}",
	  .cause = "the field Healthcheck.Test" },
	{ .name = "duplicate in array of structs",
	  .body = "{\"HostConfig\":{\"Ulimits\":[{\"Name\":\"a\","
	  "\"name\":\"b\"}]}}",
	  .cause = "the field HostConfig.Ulimits[0].Name" },

	/* Map-typed fields: keys are data. */
	{ .name = "labels a and A",
	  .body = "{\"Image\":\"x\",\"Labels\":{\"a\":\"1\",\"A\":\"2\"}}",
	  .ok = true, .image = "x" },
	{ .name = "volumes differing in case",
	  .body = "{\"Volumes\":{\"/data\":{},\"/DATA\":{}}}", .ok = true },
	{ .name = "endpoints differing in case",
	  .body = "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"net\":{},"
	  "\"NET\":{\"DriverOpts\":{\"o\":\"1\",\"O\":\"2\"}}}}}",
	  .ok = true },
	{ .name = "endpoint settings are structs",
	  .body = "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"net\":"
	  "{\"Aliases\":[],\"aliases\":[\"x\"]}}}}",
	  .cause = "the field NetworkingConfig.EndpointsConfig[\"net\"]."
	  "Aliases" },
	{ .name = "host config maps",
	  .body = "{\"HostConfig\":{\"Sysctls\":{\"a\":\"1\",\"A\":\"1\"},"
	  "\"Tmpfs\":{\"/t\":\"\",\"/T\":\"\"},\"StorageOpt\":{\"s\":\"1\","
	  "\"S\":\"1\"},\"Annotations\":{\"k\":\"v\",\"K\":\"v\"},"
	  "\"LogConfig\":{\"Config\":{\"m\":\"1\",\"M\":\"1\"}},"
	  "\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"}],"
	  "\"80/TCP\":[]},\"DeviceRequests\":[{\"Options\":{\"x\":\"1\","
	  "\"X\":\"1\"}}]}}", .ok = true },
	{ .name = "port binding entries are structs",
	  .body = "{\"HostConfig\":{\"PortBindings\":{\"80/tcp\":"
	  "[{\"HostPort\":\"1\",\"hostport\":\"2\"}]}}}",
	  .cause = "the field HostConfig.PortBindings[\"80/tcp\"][0].HostPort" },
	{ .name = "mount volume option maps",
	  .body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\","
	  "\"Source\":\"v\",\"VolumeOptions\":{\"Labels\":{\"l\":\"1\","
	  "\"L\":\"1\"},\"DriverConfig\":{\"Options\":{\"o\":\"1\","
	  "\"O\":\"1\"}}}}]}}", .ok = true },

	/* B7: image mounts. */
	{ .name = "image mount",
	  .body = "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":"
	  "\"image\",\"Source\":\"evil:2\",\"Target\":\"/m\"}]}}",
	  .ok = true, .image = "x", .mounts = { "evil:2" } },
	{ .name = "image mount lowercase keys",
	  .body = "{\"hostConfig\":{\"mounts\":[{\"type\":\"image\","
	  "\"source\":\"evil:3\"}]}}",
	  .ok = true, .mounts = { "evil:3" } },
	{ .name = "image mount long s Source",
	  .body = "{\"HostConfig\":{\"Mount\\u017f\":[{\"Type\":\"image\","
	  "\"\\u017fource\":\"evil:4\"}]}}",
	  .ok = true, .mounts = { "evil:4" } },
	{ .name = "several mounts",
	  .body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"image\","
	  "\"Source\":\"a:1\"},{\"Type\":\"bind\",\"Source\":\"/h\"},null,"
	  "{\"Type\":\"image\",\"Source\":\"b:2\"}]}}",
	  .ok = true, .mounts = { "a:1", "b:2" } },
	{ .name = "mount type IMAGE is not an image mount",
	  .body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"IMAGE\","
	  "\"Source\":\"x:1\"}]}}", .ok = true },
	{ .name = "mounts null", .body = "{\"HostConfig\":{\"Mounts\":null}}",
	  .ok = true },
	{ .name = "mount Type and type",
	  .body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\","
	  "\"type\":\"image\",\"Source\":\"evil\"}]}}",
	  .cause = "two keys for the field HostConfig.Mounts[0].Type "
	  "(\"Type\" and \"type\")" },
	{ .name = "image mount without Source",
	  .body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\"},"
	  "{\"Type\":\"image\"}]}}",
	  .cause = "the image mount HostConfig.Mounts[1] has no Source" },
	{ .name = "image mount with empty Source",
	  .body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"image\","
	  "\"Source\":\"\"}]}}", .cause = "has no Source" },

	/* Not exactly one JSON object. */
	{ .name = "empty body", .body = "", .cause = "the request has no body" },
	{ .name = "whitespace body", .body = " \n",
	  .cause = "the body is not valid JSON: " },
	{ .name = "trailing garbage", .body = "{\"Image\":\"x\"} x",
	  .cause = "the body is not valid JSON: end of file expected" },
	{ .name = "trailing brace", .body = "{\"Image\":\"x\"}}",
	  .cause = "not valid JSON" },
	{ .name = "two objects", .body = "{\"Image\":\"x\"}{\"Image\":\"y\"}",
	  .cause = "not valid JSON" },
	{ .name = "array body", .body = "[{\"Image\":\"x\"}]",
	  .cause = "the body is not a JSON object" },
	{ .name = "string body", .body = "\"Image\"",
	  .cause = "not valid JSON" },
	{ .name = "invalid UTF-8 in value", .body = "{\"Image\":\"\xff\"}",
	  .cause = "not valid JSON: unable to decode byte 0xff" },
	{ .name = "invalid UTF-8 in key", .body = "{\"Ima\xc3\x28ge\":\"x\"}",
	  .cause = "not valid JSON" },
	{ .name = "overlong UTF-8", .body = "{\"Image\":\"\xc1\x81\"}",
	  .cause = "not valid JSON" },
	{ .name = "NUL escape in value", .body = "{\"Image\":\"good\\u0000evil\"}",
	  .cause = "not valid JSON" },
	{ .name = "NUL escape in key",
	  .body = "{\"Image\\u0000x\":\"evil\",\"Image\":\"good\"}",
	  .cause = "not valid JSON" },
	{ .name = "raw NUL byte", .body = "{\"Image\":\"x\"}\0{}", .len = 16,
	  .cause = "not valid JSON" },
	{ .name = "lone surrogate", .body = "{\"Image\":\"\\ud800\"}",
	  .cause = "not valid JSON" },
	{ .name = "BOM", .body = "\xef\xbb\xbf{\"Image\":\"x\"}",
	  .cause = "not valid JSON" },
	{ .name = "comment", .body = "{\"Image\":\"x\" /* y */}",
	  .cause = "not valid JSON" },
	{ .name = "single quotes", .body = "{'Image':'x'}",
	  .cause = "not valid JSON" },
	{ .name = "control char in cause",
	  .body = "{\"Image\":\"x\"}\x01",
	  .cause = "\\x01" },

	/* Wrong types. */
	{ .name = "image number", .body = "{\"Image\":5}",
	  .cause = "the field Image must be a string" },
	{ .name = "image array", .body = "{\"image\":[\"x\"]}",
	  .cause = "the field Image must be a string" },
	{ .name = "image object", .body = "{\"Image\":{\"x\":1}}",
	  .cause = "the field Image must be a string" },
	{ .name = "labels array", .body = "{\"Labels\":[\"a=b\"]}",
	  .cause = "the field Labels must be an object" },
	{ .name = "label value number", .body = "{\"Labels\":{\"a\":1}}",
	  .cause = "the field Labels[\"a\"] must be a string" },
	{ .name = "labels null", .body = "{\"Labels\":null}", .ok = true },
	{ .name = "host config string", .body = "{\"HostConfig\":\"x\"}",
	  .cause = "the field HostConfig must be an object" },
	{ .name = "mounts object",
	  .body = "{\"HostConfig\":{\"Mounts\":{\"Type\":\"image\"}}}",
	  .cause = "the field HostConfig.Mounts must be an array" },
	{ .name = "mount string",
	  .body = "{\"HostConfig\":{\"Mounts\":[\"type=image,src=x\"]}}",
	  .cause = "the field HostConfig.Mounts[0] must be an object" },
	{ .name = "mount type number",
	  .body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":1}]}}",
	  .cause = "the field HostConfig.Mounts[0].Type must be a string" },
	{ .name = "mount source bool",
	  .body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"image\","
	  "\"Source\":true}]}}",
	  .cause = "the field HostConfig.Mounts[0].Source must be a string" },
	{ .name = "endpoints array",
	  .body = "{\"NetworkingConfig\":{\"EndpointsConfig\":[]}}",
	  .cause = "the field NetworkingConfig.EndpointsConfig must be an "
	  "object" },

	/* Services. */
	{ .name = "service image", .kind = SERVICE,
	  .body = "{\"Name\":\"web\",\"TaskTemplate\":{\"ContainerSpec\":"
	  "{\"Image\":\"nginx:1.25@sha256:ab\"}}}",
	  .ok = true, .image = "nginx:1.25@sha256:ab", .service = "web" },
	{ .name = "service lowercase keys", .kind = SERVICE,
	  .body = "{\"name\":\"web\",\"tasktemplate\":{\"containerSpec\":"
	  "{\"image\":\"evil\"}}}",
	  .ok = true, .image = "evil", .service = "web" },
	{ .name = "service long s TaskTemplate", .kind = SERVICE,
	  .body = "{\"Ta\\u017fkTemplate\":{\"ContainerSpec\":"
	  "{\"Image\":\"evil\"}}}", .ok = true, .image = "evil" },
	{ .name = "service two TaskTemplates", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"a\"}},"
	  "\"tasktemplate\":{\"ContainerSpec\":{\"Image\":\"b\"}}}",
	  .cause = "two keys for the field TaskTemplate" },
	{ .name = "service two images", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"a\","
	  "\"IMAGE\":\"b\"}}}",
	  .cause = "the field TaskTemplate.ContainerSpec.Image" },
	{ .name = "service top-level Image is ignored", .kind = SERVICE,
	  .body = "{\"Image\":\"x\"}", .ok = true },
	{ .name = "plugin remote", .kind = SERVICE,
	  .body = "{\"Name\":\"p\",\"TaskTemplate\":{\"PluginSpec\":"
	  "{\"Name\":\"vieux/sshfs\",\"Remote\":\"vieux/sshfs:1.0\"}}}",
	  .ok = true, .plugin = "vieux/sshfs:1.0", .service = "p" },
	{ .name = "plugin remote lowercase", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"PluginSpec\":{\"remote\":\"r:1\"}}}",
	  .ok = true, .plugin = "r:1" },
	{ .name = "plugin Remote and remote", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"PluginSpec\":{\"Remote\":\"a\","
	  "\"remote\":\"b\"}}}",
	  .cause = "the field TaskTemplate.PluginSpec.Remote" },
	{ .name = "service mounts", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x\","
	  "\"Mounts\":[{\"Type\":\"image\",\"Source\":\"m:1\"},"
	  "{\"Type\":\"IMAGE\",\"Source\":\"m:2\"},"
	  "{\"Type\":\"\\u0131mage\",\"Source\":\"m:3\"},"
	  "{\"Type\":\"volume\",\"Source\":\"v\"}]}}}",
	  .ok = true, .image = "x", .mounts = { "m:1", "m:2", "m:3" } },
	{ .name = "service image mount without Source", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":"
	  "[{\"Type\":\"Image\"}]}}}",
	  .cause = "the image mount TaskTemplate.ContainerSpec.Mounts[0] has "
	  "no Source" },
	{ .name = "service task template null", .kind = SERVICE,
	  .body = "{\"Name\":\"n\",\"TaskTemplate\":null}", .ok = true,
	  .service = "n" },
	{ .name = "service container spec string", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"ContainerSpec\":\"nginx\"}}",
	  .cause = "the field TaskTemplate.ContainerSpec must be an object" },
	{ .name = "service task template array", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":[]}",
	  .cause = "the field TaskTemplate must be an object" },
	{ .name = "service plugin spec number", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"PluginSpec\":1}}",
	  .cause = "the field TaskTemplate.PluginSpec must be an object" },
	{ .name = "service name number", .kind = SERVICE,
	  .body = "{\"Name\":7}", .cause = "the field Name must be a string" },
	{ .name = "service labels long s", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"ContainerSpec\":{\"Labels\":{},"
	  "\"label\\u017f\":{}}}}",
	  .cause = "the field TaskTemplate.ContainerSpec.Labels" },
	{ .name = "service maps", .kind = SERVICE,
	  .body = "{\"Labels\":{\"a\":\"1\",\"A\":\"2\"},\"TaskTemplate\":"
	  "{\"ContainerSpec\":{\"Sysctls\":{\"s\":\"1\",\"S\":\"1\"}},"
	  "\"LogDriver\":{\"Options\":{\"o\":\"1\",\"O\":\"1\"}},"
	  "\"Networks\":[{\"Target\":\"n\",\"DriverOpts\":{\"d\":\"1\","
	  "\"D\":\"1\"}}]},\"Networks\":[{\"DriverOpts\":{\"d\":\"1\","
	  "\"D\":\"1\"}}],\"EndpointSpec\":{\"Mode\":\"vip\"}}", .ok = true },
	{ .name = "service network attachment is a struct", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"Networks\":[{\"Target\":\"a\","
	  "\"target\":\"b\"}]}}",
	  .cause = "the field TaskTemplate.Networks[0].Target" },
	{ .name = "service resources are structs", .kind = SERVICE,
	  .body = "{\"TaskTemplate\":{\"Resources\":{\"Limits\":"
	  "{\"MemoryBytes\":1,\"memorybytes\":2}}}}",
	  .cause = "the field TaskTemplate.Resources.Limits.MemoryBytes" },
	{ .name = "service endpoint spec is a struct", .kind = SERVICE,
	  .body = "{\"EndpointSpec\":{\"Mode\":\"vip\",\"mode\":\"dnsrr\"}}",
	  .cause = "the field EndpointSpec.Mode" },
	{ .name = "service trailing data", .kind = SERVICE,
	  .body = "{\"Name\":\"a\"}{\"Name\":\"b\"}", .cause = "not valid JSON" },
	{ .name = "service empty body", .kind = SERVICE, .body = "",
	  .cause = "the request has no body" },
};

static void
check_row(const struct row *r)
{
	struct body_facts	 facts;
	char			*cause = NULL;
	size_t			 len, n, i;
	int			 rc;

	len = r->len != 0 ? r->len : strlen(r->body);
	memset(&facts, 0xa5, sizeof facts);
	if (r->kind == SERVICE)
		rc = body_inspect_service_spec(r->body, len, &facts, &cause);
	else
		rc = body_inspect_container_create(r->body, len, &facts,
		    &cause);
	if (!r->ok) {
		CHECKF(rc == -1, "%s: accepted", r->name);
		CHECKF(cause != NULL, "%s: no cause", r->name);
		if (cause == NULL)
			return;
		CHECKF(r->cause == NULL || strstr(cause, r->cause) != NULL,
		    "%s: cause \"%s\", expected \"%s\"", r->name, cause,
		    r->cause);
		CHECKF(cause[0] >= 'a' && cause[0] <= 'z',
		    "%s: cause \"%s\" is not a lowercase sentence", r->name,
		    cause);
		CHECKF(facts.image == NULL && facts.n_labels == 0 &&
		    facts.n_mount_images == 0, "%s: facts left set", r->name);
		free(cause);
		return;
	}
	CHECKF(rc == 0, "%s: refused: %s", r->name, cause ? cause : "?");
	if (rc != 0) {
		free(cause);
		return;
	}
	CHECKF(cause == NULL, "%s: cause set on success", r->name);
	CHECKF(r->image == NULL ? facts.image == NULL :
	    facts.image != NULL && strcmp(facts.image, r->image) == 0,
	    "%s: image \"%s\", expected \"%s\"", r->name,
	    facts.image ? facts.image : "(null)",
	    r->image ? r->image : "(null)");
	for (n = 0; r->mounts[n] != NULL; n++)
		;
	CHECKF(facts.n_mount_images == n, "%s: %zu mount images, expected %zu",
	    r->name, facts.n_mount_images, n);
	for (i = 0; i < n && i < facts.n_mount_images; i++) {
		CHECKF(strcmp(facts.mount_images[i], r->mounts[i]) == 0,
		    "%s: mount image %zu \"%s\", expected \"%s\"", r->name, i,
		    facts.mount_images[i], r->mounts[i]);
	}
	CHECKF(r->plugin == NULL ? facts.plugin_remote == NULL :
	    facts.plugin_remote != NULL &&
	    strcmp(facts.plugin_remote, r->plugin) == 0,
	    "%s: plugin remote \"%s\"", r->name,
	    facts.plugin_remote ? facts.plugin_remote : "(null)");
	CHECKF(r->service == NULL ? facts.service_name == NULL :
	    facts.service_name != NULL &&
	    strcmp(facts.service_name, r->service) == 0,
	    "%s: service name \"%s\"", r->name,
	    facts.service_name ? facts.service_name : "(null)");
	body_facts_reset(&facts);
	CHECK(facts.image == NULL && facts.labels == NULL &&
	    facts.mount_images == NULL && facts.n_labels == 0);
}

static void
test_golden(void)
{
	size_t	i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_row(&rows[i]);
}

static void
test_exact_causes(void)
{
	struct body_facts	 facts;
	char			*cause = NULL;
	const char		*b;

	b = "{\"Image\":\"a\",\"image\":\"b\"}";
	CHECK_INT_EQ(body_inspect_container_create(b, strlen(b), &facts,
	    &cause), -1);
	CHECK_STR_EQ(cause, "the body has two keys for the field Image "
	    "(\"Image\" and \"image\")");
	free(cause);

	b = "{\"Image\":5}";
	CHECK_INT_EQ(body_inspect_container_create(b, strlen(b), &facts,
	    &cause), -1);
	CHECK_STR_EQ(cause, "the field Image must be a string");
	free(cause);

	b = "{\"Image\":\"x\"} y";
	CHECK_INT_EQ(body_inspect_container_create(b, strlen(b), &facts,
	    &cause), -1);
	CHECK_STR_EQ(cause, "the body is not valid JSON: end of file expected "
	    "near 'y' at line 1 column 15");
	free(cause);

	b = "{}";
	CHECK_INT_EQ(body_inspect_container_create(b, 0, &facts, &cause), -1);
	CHECK_STR_EQ(cause, "the request has no body");
	free(cause);
	CHECK_INT_EQ(body_inspect_container_create(NULL, 0, &facts, &cause),
	    -1);
	CHECK_STR_EQ(cause, "the request has no body");
	free(cause);

	/* A long odd key is escaped and cut in the cause. */
	b = "{\"\\n\\\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "\":1,\"\\n\\\"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	    "XXXXX\":2}";
	cause = NULL;
	CHECK_INT_EQ(body_inspect_container_create(b, strlen(b), &facts,
	    &cause), -1);
	CHECK(cause != NULL && strchr(cause, '\n') == NULL &&
	    strstr(cause, "(\"\\u000a\\\"xxx") != NULL &&
	    strstr(cause, "xxx...\" and \"\\u000a") != NULL);
	free(cause);
}

/* Nested arrays inside a label-free unknown field, depth levels in all. */
static char *
nested_body(int depth)
{
	char	*b;
	size_t	 n = (size_t)depth - 1, i, len;

	len = strlen("{\"X\":") + 2 * n + strlen("}");
	b = xmalloc(len + 1);
	strcpy(b, "{\"X\":");
	for (i = 0; i < n; i++)
		strcat(b, "[");
	for (i = 0; i < n; i++)
		strcat(b, "]");
	strcat(b, "}");
	return (b);
}

static void
test_depth(void)
{
	struct body_facts	 facts;
	char			*b, *cause = NULL;

	b = nested_body(64);
	CHECK_INT_EQ(body_inspect_container_create(b, strlen(b), &facts,
	    &cause), 0);
	body_facts_reset(&facts);
	free(b);

	b = nested_body(65);
	CHECK_INT_EQ(body_inspect_container_create(b, strlen(b), &facts,
	    &cause), -1);
	CHECK_STR_EQ(cause, "the body is nested deeper than 64 levels");
	free(cause);
	cause = NULL;
	free(b);

	/* Past jansson's own limit: refused by the parser. */
	b = nested_body(5000);
	CHECK_INT_EQ(body_inspect_service_spec(b, strlen(b), &facts, &cause),
	    -1);
	CHECK(cause != NULL && strstr(cause, "not valid JSON") != NULL);
	free(cause);
	free(b);
}

static void
test_many_keys(void)
{
	struct body_facts	 facts;
	char			*b, *cause = NULL;
	size_t			 i, n = 50000, off = 0, size;
	clock_t			 t0;

	size = n * 24 + 64;
	b = xmalloc(size);
	off += (size_t)snprintf(b + off, size - off, "{\"Image\":\"x\"");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(b + off, size - off, ",\"k%zu\":1", i);
	off += (size_t)snprintf(b + off, size - off, "}");
	t0 = clock();
	CHECK_INT_EQ(body_inspect_container_create(b, off, &facts, &cause), 0);
	CHECK_STR_EQ(facts.image, "x");
	body_facts_reset(&facts);

	/* The same with a folded twin at the very end. */
	off--;
	off += (size_t)snprintf(b + off, size - off, ",\"K1\":2}");
	CHECK_INT_EQ(body_inspect_container_create(b, off, &facts, &cause), -1);
	CHECK_STR_EQ(cause, "the body has two keys for the field k1 "
	    "(\"k1\" and \"K1\")");
	free(cause);
	CHECKF((clock() - t0) / CLOCKS_PER_SEC < 5, "fold check too slow");
	free(b);
}

static void
test_labels(void)
{
	struct body_facts	 facts;
	char			*cause = NULL;
	const char		*b;

	b = "{\"Image\":\"x\",\"Labels\":{\"a\":\"1\",\"A\":\"2\","
	    "\"com.example.version\":\"1.2.3\",\"empty\":null}}";
	CHECK_INT_EQ(body_inspect_container_create(b, strlen(b), &facts,
	    &cause), 0);
	CHECK_INT_EQ(facts.n_labels, 4);
	if (facts.n_labels == 4) {
		CHECK_STR_EQ(facts.labels[0].key, "a");
		CHECK_STR_EQ(facts.labels[1].key, "A");
		CHECK_STR_EQ(facts.labels[3].value, "");
	}
	CHECK_STR_EQ(body_facts_label(&facts, "a"), "1");
	CHECK_STR_EQ(body_facts_label(&facts, "A"), "2");
	CHECK_STR_EQ(body_facts_label(&facts, "com.example.version"), "1.2.3");
	CHECK_STR_EQ(body_facts_label(&facts, "empty"), "");
	CHECK(body_facts_label(&facts, "missing") == NULL);
	CHECK(body_facts_label(&facts, "COM.EXAMPLE.VERSION") == NULL);
	body_facts_reset(&facts);
	CHECK(body_facts_label(&facts, "a") == NULL);

	/* Long S key: the engine reads it as Labels. */
	b = "{\"label\\u017f\":{\"v\":\"9\"}}";
	CHECK_INT_EQ(body_inspect_container_create(b, strlen(b), &facts,
	    &cause), 0);
	CHECK_STR_EQ(body_facts_label(&facts, "v"), "9");
	body_facts_reset(&facts);

	/* Services: service labels first, then ContainerSpec labels. */
	b = "{\"Name\":\"s\",\"Labels\":{\"v\":\"service\",\"only\":\"s\"},"
	    "\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x\","
	    "\"Labels\":{\"v\":\"container\",\"c\":\"1\"}}}}";
	CHECK_INT_EQ(body_inspect_service_spec(b, strlen(b), &facts, &cause),
	    0);
	CHECK_INT_EQ(facts.n_labels, 4);
	if (facts.n_labels == 4) {
		CHECK_STR_EQ(facts.labels[0].key, "v");
		CHECK_STR_EQ(facts.labels[0].value, "service");
		CHECK_STR_EQ(facts.labels[1].key, "only");
		CHECK_STR_EQ(facts.labels[2].value, "container");
		CHECK_STR_EQ(facts.labels[3].key, "c");
	}
	CHECK_STR_EQ(body_facts_label(&facts, "v"), "container");
	CHECK_STR_EQ(body_facts_label(&facts, "only"), "s");
	CHECK_STR_EQ(facts.service_name, "s");
	body_facts_reset(&facts);
}

static const struct {
	const char	*ct;
	bool		 json;
} ct_rows[] = {
	{ "application/json", true },
	{ "APPLICATION/JSON", true },
	{ "Application/Json", true },
	{ "application/json; charset=utf-8", true },
	{ "application/json;charset=UTF-8", true },
	{ "application/json ; charset = utf-8", true },
	{ "  application/json  ", true },
	{ "application/json\t", true },
	{ "application/json;", true },
	{ "application/json; ", true },
	{ "application/json ;  ", true },
	{ "application/json; charset=utf-8;", true },
	{ "application/json; charset=\"utf-8\"", true },
	{ "application/json; charset=\"\"", true },
	{ "application/json; a=\"x\\\\y\"", true },
	{ "application/json; a=1; b=2", true },
	{ "application/json; a*=utf-8''x", true },
	{ "appl\xc4\xb0" "cation/json", true },		/* Go lowers U+0130 */
	{ "application/json\xc2\xa0", true },		/* NBSP is space */
	{ "\xe3\x80\x80" "application/json", true },	/* U+3000 */
	{ "", false },
	{ "text/plain", false },
	{ "application/jsonx", false },
	{ "application/json-patch+json", false },
	{ "application/x-json", false },
	{ "application/*", false },
	{ "json", false },
	{ "application/json, text/plain", false },
	{ "application/json garbage", false },
	{ "application /json", false },
	{ "application/json; ;", false },
	{ "application/json;;", false },
	{ "application/json; charset", false },
	{ "application/json; charset=", false },
	{ "application/json; charset=utf-8 x", false },
	{ "application/json; charset=\"utf-8", false },
	{ "application/json; charset=\"a\rb\"", false },
	{ "application/json; a=1; a=1", false },
	{ "application/json; a=1; A=2", false },
	{ "application/json; =x", false },
	{ "application/json x; a=b", false },
	{ "appl\xc4\xb1" "cation/json", false },	/* U+0131 stays */
	{ "application/js\xc5\xbf" "on", false },	/* U+017F stays */
	{ "application/json\xff", false },
	{ "\xc1\xa1pplication/json", false },		/* overlong 'a' */
};

static void
test_content_type(void)
{
	size_t	i;

	CHECK(!body_content_type_is_json(NULL));
	for (i = 0; i < sizeof ct_rows / sizeof ct_rows[0]; i++) {
		CHECKF(body_content_type_is_json(ct_rows[i].ct) ==
		    ct_rows[i].json, "content type \"%s\" should be %s",
		    ct_rows[i].ct, ct_rows[i].json ? "JSON" : "not JSON");
	}
}

static void
test_response_id(void)
{
	static const struct {
		const char	*body;
		const char	*id;
	} r[] = {
		{ "{\"Id\":\"4fa6e0f0c678\",\"Warnings\":[]}", "4fa6e0f0c678" },
		{ "{\"ID\":\"ak7w3gjqoa3kuz8xcpnyy0pvl\",\"Warnings\":null}\n",
		  "ak7w3gjqoa3kuz8xcpnyy0pvl" },
		{ "{\"Warnings\":null,\"Id\":\"x\",\"ID\":\"y\"}", "x" },
		{ "{\"Id\":5,\"ID\":\"y\"}", "y" },
		{ "{\"id\":\"x\"}", NULL },
		{ "{\"Id\":5}", NULL },
		{ "[\"x\"]", NULL },
		{ "{\"Id\":\"x\"", NULL },
		{ "not json", NULL },
		{ "", NULL },
	};
	size_t	 i;
	char	*id;

	for (i = 0; i < sizeof r / sizeof r[0]; i++) {
		id = body_response_id(r[i].body, strlen(r[i].body));
		CHECKF(r[i].id == NULL ? id == NULL :
		    id != NULL && strcmp(id, r[i].id) == 0,
		    "response id of %s is %s", r[i].body, id ? id : "(null)");
		free(id);
	}
	CHECK(body_response_id(NULL, 0) == NULL);
}

static void
check_warnings(const char *body, const char *const *w, size_t n,
    const char *want)
{
	char	*out;
	size_t	 len = 12345;

	out = body_add_warnings(body, strlen(body), w, n, &len);
	if (want == NULL) {
		CHECKF(out == NULL, "warnings on %s gave %s", body,
		    out ? out : "");
		free(out);
		return;
	}
	CHECKF(out != NULL, "warnings on %s gave NULL", body);
	if (out == NULL)
		return;
	CHECKF(len == strlen(want) && memcmp(out, want, len) == 0,
	    "warnings on %s gave %.*s, expected %s", body, (int)len, out,
	    want);
	CHECK(out[len] == '\0');
	free(out);
}

static void
test_add_warnings(void)
{
	const char *const	 one[] = { "docker-guard: image is tag-only" };
	const char *const	 two[] = { "w1", "quote \" and \xc3\xa9" };
	const char *const	 bad[] = { "\xff" };

	check_warnings("{\"Id\":\"x\",\"Warnings\":null}", one, 1,
	    "{\"Id\":\"x\",\"Warnings\":[\"docker-guard: image is "
	    "tag-only\"]}");
	check_warnings("{\"Id\":\"x\"}", two, 2,
	    "{\"Id\":\"x\",\"Warnings\":[\"w1\",\"quote \\\" and "
	    "\xc3\xa9\"]}");
	check_warnings("{\"Id\":\"x\",\"Warnings\":[\"engine\"]}\n", one, 1,
	    "{\"Id\":\"x\",\"Warnings\":[\"engine\",\"docker-guard: image is "
	    "tag-only\"]}");
	check_warnings("{\"ID\":\"s\",\"Warnings\":null}", NULL, 0,
	    "{\"ID\":\"s\",\"Warnings\":[]}");
	check_warnings("{ \"Warnings\" : [ ] , \"Id\" : \"x\" }", one, 1,
	    "{\"Warnings\":[\"docker-guard: image is tag-only\"],"
	    "\"Id\":\"x\"}");
	check_warnings("[\"x\"]", one, 1, NULL);
	check_warnings("\"x\"", one, 1, NULL);
	check_warnings("{\"Id\":", one, 1, NULL);
	check_warnings("", one, 1, NULL);
	check_warnings("{\"Id\":\"x\",\"Warnings\":\"w\"}", one, 1, NULL);
	check_warnings("{\"Id\":\"x\"}", bad, 1, NULL);
}

typedef int (*inspect_fn)(const char *, size_t, struct body_facts *,
    char **);

/* fn on a NUL-terminated body. */
static int
in(inspect_fn fn, const char *body, struct body_facts *f, char **cause)
{
	return fn(body, strlen(body), f, cause);
}

/* What profile limits judge, read as the engine reads it. */
static void
test_host_facts(void)
{
	struct body_facts f;
	char *cause = NULL;
	bool bind;
	char *src;
	const char *create =
	    "{\"Image\":\"a\",\"hostconfig\":{\"privileged\":true,"
	    "\"PidMode\":\"host\",\"NetworkMode\":\"host\","
	    "\"CapAdd\":\"NET_ADMIN\",\"Devices\":[{\"PathOnHost\":"
	    "\"/dev/sda\"}],\"Binds\":[\"/etc:/x:ro,z\",\"vol:/y\","
	    "\"/anon\",\"/a:/b:c:d\"],\"Mounts\":[{\"Type\":\"bind\","
	    "\"Source\":\"/srv/../etc\"},{\"Type\":\"BIND\",\"Source\":"
	    "\"/nope\"},{\"Type\":\"volume\",\"Source\":\"v2\","
	    "\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"local\","
	    "\"Options\":{\"type\":\"none\",\"o\":\"bind\",\"device\":"
	    "\"/root\"}}}}],\"VolumesFrom\":[\"other:ro\"],"
	    "\"Capabilities\":[\"CAP_SYS_ADMIN\"],\"DeviceCgroupRules\":"
	    "[\"c *:* rwm\"],"
	    "\"VolumeDriver\":\"rexray\"}}";

	CHECK(in(body_inspect_container_create, create, &f, &cause) == 0);
	CHECK(f.host.privileged);
	CHECK_STR_EQ(f.host.pid_mode, "host");
	CHECK_STR_EQ(f.host.network_mode, "host");
	CHECK(f.host.ipc_mode == NULL);
	CHECK_INT_EQ(f.host.n_cap_add, 2);
	CHECK_STR_EQ(f.host.cap_add[0], "NET_ADMIN");
	CHECK_STR_EQ(f.host.cap_add[1], "CAP_SYS_ADMIN");
	CHECK_INT_EQ(f.host.n_device_rules, 1);
	CHECK_INT_EQ(f.host.n_devices, 1);
	CHECK_STR_EQ(f.host.devices[0], "/dev/sda");
	/* Binds: /etc (bind), vol (volume); /anon has no source; four parts
	   the engine refuses.  Mounts: a bind, "BIND" is not a container
	   type, a local volume with a device.  VolumeDriver. */
	CHECK_INT_EQ(f.host.n_mounts, 5);
	CHECK_STR_EQ(f.host.mounts[0].source, "/etc");
	CHECK(f.host.mounts[0].bind);
	CHECK_STR_EQ(f.host.mounts[0].where, "HostConfig.Binds[0]");
	CHECK_STR_EQ(f.host.mounts[1].source, "vol");
	CHECK(!f.host.mounts[1].bind);
	CHECK_STR_EQ(f.host.mounts[2].source, "/srv/../etc");
	CHECK_STR_EQ(f.host.mounts[2].where, "HostConfig.Mounts[0]");
	CHECK(!f.host.mounts[3].bind);
	CHECK_STR_EQ(f.host.mounts[3].device, "/root");
	CHECK_STR_EQ(f.host.mounts[3].driver, "local");
	CHECK_STR_EQ(f.host.mounts[4].driver, "rexray");
	CHECK_INT_EQ(f.host.n_volumes_from, 1);
	body_facts_reset(&f);

	/* Go refuses a string for a bool: so does the guard. */
	CHECK(in(body_inspect_container_create,
	    "{\"HostConfig\":{\"Privileged\":\"true\"}}", &f, &cause) != 0);
	CHECK(strstr(cause, "HostConfig.Privileged must be true or false"));
	free(cause);
	cause = NULL;
	/* Two spellings of one field are ambiguous. */
	CHECK(in(body_inspect_container_create,
	    "{\"HostConfig\":{\"Binds\":[],\"binds\":[\"/:/h\"]}}", &f,
	    &cause) != 0);
	free(cause);
	cause = NULL;

	CHECK(in(body_inspect_exec_create,
	    "{\"privileged\":true,\"Cmd\":[\"sh\"]}", &f, &cause) == 0);
	CHECK(f.host.privileged);
	body_facts_reset(&f);
	CHECK(in(body_inspect_volume_create,
	    "{\"Name\":\"v\",\"DriverOpts\":{\"device\":\"/etc\",\"o\":"
	    "\"bind\"}}", &f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_mounts, 1);
	CHECK_STR_EQ(f.host.mounts[0].device, "/etc");
	CHECK(f.host.mounts[0].driver == NULL);
	body_facts_reset(&f);
	CHECK(in(body_inspect_container_update,
	    "{\"Devices\":[{\"PathOnHost\":\"/dev/mem\"}]}", &f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_devices, 1);
	body_facts_reset(&f);
	CHECK(in(body_inspect_service_spec,
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":[{\"Type\":"
	    "\"BIND\",\"Source\":\"/etc\"}],\"CapabilityAdd\":"
	    "[\"SYS_ADMIN\"]}}}", &f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_mounts, 1);
	CHECK(f.host.mounts[0].bind);
	CHECK_INT_EQ(f.host.n_cap_add, 1);
	body_facts_reset(&f);

	src = body_bind_source("/srv:/x:ro,z", &bind);
	CHECK(src != NULL && strcmp(src, "/srv") == 0 && bind);
	free(src);
	src = body_bind_source("data:/x", &bind);
	CHECK(src != NULL && strcmp(src, "data") == 0 && !bind);
	free(src);
	CHECK(body_bind_source("/x", &bind) == NULL);
	CHECK(body_bind_source(":/x", &bind) == NULL);
	CHECK(body_bind_source("/a:/b:ro:x", &bind) == NULL);
}

/* What lifts confinement short of Privileged, one line each, in order. */
static void
test_confinement_facts(void)
{
	struct body_facts f;
	char *cause = NULL;
	char long_opt[200];

	CHECK(
	    in(body_inspect_container_create,
		"{\"Image\":\"a\",\"HostConfig\":{\"securityopt\":["
		"\"no-new-privileges\",\"seccomp:unconfined\",\"label=disable\"],"
		"\"MaskedPaths\":[],\"ReadonlyPaths\":[\"/proc/bus\"],"
		"\"CgroupnsMode\":\"host\"}}",
		&f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_unconfined, 4);
	if (f.host.n_unconfined == 4) {
		CHECK_STR_EQ(f.host.unconfined[0],
		    "HostConfig.SecurityOpt[1] \"seccomp:unconfined\": no "
		    "seccomp filter");
		CHECK_STR_EQ(f.host.unconfined[1],
		    "HostConfig.SecurityOpt[2] \"label=disable\": SELinux "
		    "labels disabled");
		CHECK_STR_EQ(f.host.unconfined[2],
		    "HostConfig.MaskedPaths: /proc/asound not masked");
		CHECK_STR_EQ(f.host.unconfined[3],
		    "HostConfig.ReadonlyPaths: /proc/fs writable");
	}
	CHECK_STR_EQ(f.host.cgroupns_mode, "host");
	body_facts_reset(&f);

	/* null lists are the engine's defaults; so are the CLI's defaults */
	CHECK(in(body_inspect_container_create,
		  "{\"Image\":\"a\",\"HostConfig\":{\"SecurityOpt\":null,"
		  "\"MaskedPaths\":null,\"ReadonlyPaths\":null}}",
		  &f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_unconfined, 0);
	body_facts_reset(&f);

	/* A whole seccomp profile is quoted cut short. */
	snprintf(long_opt, sizeof long_opt,
	    "{\"HostConfig\":{\"SecurityOpt\":[\"seccomp=%0100d\"]}}", 7);
	CHECK(in(body_inspect_container_create, long_opt, &f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_unconfined, 1);
	if (f.host.n_unconfined == 1)
		CHECK_STR_EQ(f.host.unconfined[0],
		    "HostConfig.SecurityOpt[0] \"seccomp="
		    "0000000000000000000000000000000000000000000000000"
		    "...\": a seccomp profile "
		    "of its own");
	body_facts_reset(&f);

	/* Two spellings of SecurityOpt are ambiguous, as for every field. */
	CHECK(in(body_inspect_container_create,
		  "{\"HostConfig\":{\"SecurityOpt\":[],\"securityOpt\":["
		  "\"seccomp=unconfined\"]}}",
		  &f, &cause) != 0);
	free(cause);
	cause = NULL;
	/* Go refuses a string for a []string. */
	CHECK(
	    in(body_inspect_container_create,
		"{\"HostConfig\":{\"MaskedPaths\":\"/x\"}}", &f, &cause) != 0);
	free(cause);
	cause = NULL;

	/* A service's privileges. */
	CHECK(in(body_inspect_service_spec,
		  "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"a\","
		  "\"privileges\":{\"Seccomp\":{\"Mode\":\"unconfined\"},"
		  "\"AppArmor\":{\"Mode\":\"disabled\"},\"SELinuxContext\":{"
		  "\"Disable\":true}}}}}",
		  &f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_unconfined, 3);
	if (f.host.n_unconfined == 3) {
		CHECK_STR_EQ(f.host.unconfined[0],
		    "TaskTemplate.ContainerSpec.Privileges.Seccomp.Mode "
		    "\"unconfined\": no seccomp filter");
		CHECK_STR_EQ(f.host.unconfined[1],
		    "TaskTemplate.ContainerSpec.Privileges.AppArmor.Mode "
		    "\"disabled\": no AppArmor profile");
		CHECK_STR_EQ(f.host.unconfined[2],
		    "TaskTemplate.ContainerSpec.Privileges.SELinuxContext: "
		    "SELinux labels disabled");
	}
	body_facts_reset(&f);
	CHECK(in(body_inspect_service_spec,
		  "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"a\","
		  "\"Privileges\":{\"Seccomp\":{\"Mode\":\"default\"},"
		  "\"NoNewPrivileges\":true}}}}",
		  &f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_unconfined, 0);
	body_facts_reset(&f);

	/* A container the engine made, as its inspect shows it: the
	   engine's own defaults (Debian's 20.10 masks no powercap; cgroup
	   v1's host cgroup namespace; label=disable beside the host's PID
	   namespace) are no lift, what the creator asked is. */
	{
		const char *made =
		    "{\"HostConfig\":{\"PidMode\":\"host\",\"CgroupnsMode\":"
		    "\"host\",\"SecurityOpt\":[\"label=disable\"],"
		    "\"MaskedPaths\":[\"/proc/asound\",\"/proc/acpi\","
		    "\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","
		    "\"/proc/timer_list\",\"/proc/timer_stats\","
		    "\"/proc/sched_debug\",\"/proc/scsi\",\"/sys/firmware\"],"
		    "\"ReadonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\","
		    "\"/proc/sys\",\"/proc/sysrq-trigger\"]},\"Mounts\":[{"
		    "\"Type\":\"bind\",\"Source\":\"/etc\"}]}";
		const char *lifted =
		    "{\"HostConfig\":{\"SecurityOpt\":[\"label=disable\"],"
		    "\"MaskedPaths\":[],\"Privileged\":true},\"Mounts\":[]}";
		struct body_host h = { 0 };

		CHECK(body_container_host(made, strlen(made), &h) == 0);
		CHECK_INT_EQ(h.n_unconfined, 0);
		CHECK_STR_EQ(h.pid_mode, "host");
		CHECK(h.cgroupns_mode == NULL);
		CHECK_INT_EQ(h.n_mounts, 1);
		body_host_free(&h);
		CHECK(body_container_host(lifted, strlen(lifted), &h) == 0);
		CHECK(h.privileged);
		CHECK_INT_EQ(h.n_unconfined, 2);
		body_host_free(&h);
		CHECK(body_container_host("{}", 2, &h) == -1);
		body_host_free(&h);
	}

	/* A service's networks, both places, by name or ID. */
	CHECK(in(body_inspect_service_spec,
	    "{\"TaskTemplate\":{\"networks\":[{\"Target\":\"host\"},"
	    "{\"Target\":\"\"}]},\"Networks\":[{\"target\":\"3f2a\"}]}",
	    &f, &cause) == 0);
	CHECK_INT_EQ(f.host.n_networks, 2);
	if (f.host.n_networks == 2) {
		CHECK_STR_EQ(f.host.networks[0], "host");
		CHECK_STR_EQ(f.host.networks[1], "3f2a");
	}
	body_facts_reset(&f);
	{
		bool host;
		const char *nets[] = { "{\"Name\":\"host\",\"Driver\":\"host\"}",
			"{\"Name\":\"h2\",\"Driver\":\"host\"}",
			"{\"Name\":\"bridge\",\"Driver\":\"bridge\"}" };

		CHECK(body_network_is_host(nets[0], strlen(nets[0]), &host) ==
		    0 && host);
		CHECK(body_network_is_host(nets[1], strlen(nets[1]), &host) ==
		    0 && host);
		CHECK(body_network_is_host(nets[2], strlen(nets[2]), &host) ==
		    0 && !host);
		CHECK(body_network_is_host("[]", 2, &host) == -1);
	}
}

/* GET /exec/{id}/json: its container and its own Privileged. */
static void
test_exec_inspect(void)
{
	static const struct {
		const char *body;
		int ret;
		const char *container;
		bool privileged;
	} exec_rows[] = {
		{ "{\"ID\":\"e1\",\"ContainerID\":\"c1\",\"ProcessConfig\":"
		  "{\"privileged\":true,\"user\":\"\"}}",
		    0, "c1", true },
		{ "{\"ContainerID\":\"c2\",\"ProcessConfig\":"
		  "{\"privileged\":false}}",
		    0, "c2", false },
		/* omitted (the engine's omitempty): not privileged */
		{ "{\"ContainerID\":\"c3\",\"ProcessConfig\":{}}", 0, "c3",
		    false },
		{ "{\"ContainerID\":\"c4\"}", 0, "c4", false },
		{ "{\"ContainerID\":\"\"}", -1, NULL, false },
		{ "{\"ContainerID\":7}", -1, NULL, false },
		{ "[]", -1, NULL, false },
		{ "not json", -1, NULL, false },
	};

	for (size_t i = 0; i < sizeof exec_rows / sizeof exec_rows[0]; i++) {
		char unset[] = "unset", *id = unset;
		bool priv = !exec_rows[i].privileged;

		CHECKF(body_exec_inspect(exec_rows[i].body, strlen(exec_rows[i].body), &id,
			   &priv) == exec_rows[i].ret,
		    "row %zu", i);
		if (exec_rows[i].container == NULL)
			CHECKF(id == NULL, "row %zu", i);
		else
			CHECK_STR_EQ(id, exec_rows[i].container);
		CHECKF(priv == exec_rows[i].privileged, "row %zu", i);
		free(id);
	}
	CHECK(body_exec_inspect(NULL, 0, &(char *){ NULL }, &(bool){ true }) ==
	    -1);
}

static const struct check_case cases[] = {
	{ "exec_inspect", test_exec_inspect },
	{ "host_facts", test_host_facts },
	{ "confinement_facts", test_confinement_facts },
	{ "golden", test_golden },
	{ "exact_causes", test_exact_causes },
	{ "depth", test_depth },
	{ "many_keys", test_many_keys },
	{ "labels", test_labels },
	{ "content_type", test_content_type },
	{ "response_id", test_response_id },
	{ "add_warnings", test_add_warnings },
};

int
main(void)
{
	return CHECK_RUN("body_inspect", cases);
}

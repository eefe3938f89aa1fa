// SPDX-License-Identifier: Apache-2.0
#include "unpack/entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

char *unpack_clean_name(const char *name)
{
	if (!name || name[0] == '/')
		return NULL;
	size_t n = strlen(name);
	char *out = xmalloc(n + 1);
	size_t o = 0;
	for (const char *p = name; *p;) {
		const char *s = strchr(p, '/');
		size_t len = s ? (size_t)(s - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return NULL;
		}
		if (len && !(len == 1 && p[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	out[o] = '\0';
	return out;
}

void unpack_split_name(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	*dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	*base = slash ? slash + 1 : path;
}

bool unpack_reserved(const char *const *reserved, const char *path)
{
	for (size_t i = 0; reserved && reserved[i]; i++) {
		size_t n = strlen(reserved[i]);
		if (strncmp(path, reserved[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

int unpack_entry_refused(const char *what, const char *name, const char *why, struct err *e)
{
	char q[256];
	snprintf(q, sizeof(q), "%.200s", name);
	for (char *c = q; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return err_set(e, ERR_INTEGRITY, "layer %s: entry '%s' refused: %s", what, q, why);
}

// SPDX-License-Identifier: Apache-2.0
// Image references: [host[:port]/]path[:tag][@digest], with Docker's
// normalisation (docker.io, library/). Grammar follows
// distribution/reference (reference.go, normalize.go).
#ifndef IMGPULL_OCI_REF_H
#define IMGPULL_OCI_REF_H

#include "util/err.h"

struct oci_ref {
	char *domain;   // normalized, as it appears in the full name: "docker.io", "localhost:5000", "[::1]:5000"
	char *registry; // host[:port] to contact: "registry-1.docker.io" for docker.io, else == domain
	char *path;     // repository path inside the registry: "library/busybox"
	char *tag;      // NULL when absent; "latest" is filled in when neither tag nor digest is given
	char *digest;   // "sha256:<64 hex>" or NULL
};

// Parses s. On failure returns -1 with ERR_USAGE and a one-line message
// naming the offending part (e.g. `invalid tag "x!" in reference "busybox:x!"`).
// r is always initialised (all NULL on failure), so oci_ref_release is safe
// either way; release an r from an earlier parse before reusing it.
int oci_ref_parse(struct oci_ref *r, const char *s, struct err *e);
// Frees the fields and leaves r all NULL (releasing twice is harmless).
void oci_ref_release(struct oci_ref *r);
// "docker.io/library/busybox:1.36", "host/p@sha256:..", "host/p:t@sha256:.." (malloc'd)
char *oci_ref_string(const struct oci_ref *r);
// "docker.io/library/busybox" (malloc'd)
char *oci_ref_name(const struct oci_ref *r);

#endif

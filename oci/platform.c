// SPDX-License-Identifier: Apache-2.0
// Platforms: "os/arch[/variant]" parsing, normalization and matching after
// containerd's platforms package (database.go normalizeArch/normalizeOS), and
// choosing an index entry. Index platforms are kept as the registry wrote them
// and only normalized for comparison, so messages show what is really there.
#include "oci/manifest.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "util/buf.h"
#include "util/mem.h"

// How many distinct platforms the not-found message lists before "...".
#define PLATFORM_LIST_MAX 16

// ASCII only: tolower() would depend on the locale.
static char *platform_lower(char *s)
{
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

static char *platform_lower_dup(const char *s)
{
	return platform_lower(xstrdup(s ? s : ""));
}

static bool platform_streq_any(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static const char *platform_norm_os(const char *os)
{
	return strcmp(os, "macos") == 0 ? "darwin" : os;
}

// containerd's normalizeArch on lowercase input ("" = no variant). The results
// point at the inputs or at literals. for_match selects containerd's
// comparison form (arm64 "v8" is "", a bare arm is v7); otherwise the display
// form keeps arm64's "v8" and leaves an absent variant absent, so that
// "linux/arm" still means "any arm" (see oci_platform_match).
static void platform_norm_arch(const char **arch, const char **variant, bool for_match)
{
	static const char *const amd64[] = {"amd64", "x86_64", "x86-64", NULL};
	static const char *const arm64[] = {"arm64", "aarch64", NULL};
	static const char *const arm64_v8[] = {"8", "v8", "v8.0", NULL};
	static const char *const arm64_v9[] = {"9", "9.0", "v9", "v9.0", NULL};
	const char *a = *arch, *v = *variant;

	if (strcmp(a, "i386") == 0) {
		a = "386";
		v = "";
	} else if (platform_streq_any(a, amd64)) {
		a = "amd64";
		if (strcmp(v, "v1") == 0)
			v = "";
	} else if (platform_streq_any(a, arm64)) {
		a = "arm64";
		if (platform_streq_any(v, arm64_v8))
			v = for_match ? "" : "v8";
		else if (platform_streq_any(v, arm64_v9))
			v = "v9";
	} else if (strcmp(a, "armhf") == 0) {
		a = "arm";
		v = "v7";
	} else if (strcmp(a, "armel") == 0) {
		a = "arm";
		v = "v6";
	} else if (strcmp(a, "arm") == 0) {
		if (!v[0])
			v = for_match ? "v7" : "";
		else if (strcmp(v, "5") == 0)
			v = "v5";
		else if (strcmp(v, "6") == 0)
			v = "v6";
		else if (strcmp(v, "7") == 0)
			v = "v7";
		else if (strcmp(v, "8") == 0)
			v = "v8";
	}
	*arch = a;
	*variant = v;
}

// Like containerd's specifier regexp, plus '.' for variants such as "v8.0".
static bool platform_part_ok(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int oci_platform_parse(struct oci_platform *p, const char *s, struct err *e)
{
	const char *part[3];
	size_t plen[3];
	size_t n = 0;
	memset(p, 0, sizeof(*p));
	if (!s)
		s = "";
	for (const char *c = s;; n++) {
		const char *slash = strchr(c, '/');
		size_t l = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 3)
			return err_set(e, ERR_USAGE,
				       "invalid platform '%s': expected os/arch[/variant]", s);
		if (!platform_part_ok(c, l))
			return err_set(e, ERR_USAGE,
				       "invalid platform '%s': expected os/arch[/variant] made of "
				       "letters, digits, '_', '-' and '.'",
				       s);
		part[n] = c;
		plen[n] = l;
		if (!slash) {
			n++;
			break;
		}
		c = slash + 1;
	}
	if (n < 2)
		return err_set(e, ERR_USAGE, "invalid platform '%s': expected os/arch[/variant]", s);

	// containerd accepts any case and lowercases, as does docker --platform.
	_cleanup_free_ char *os = platform_lower(xstrndup(part[0], plen[0]));
	_cleanup_free_ char *arch = platform_lower(xstrndup(part[1], plen[1]));
	_cleanup_free_ char *variant =
		platform_lower(n == 3 ? xstrndup(part[2], plen[2]) : xstrdup(""));
	const char *na = arch, *nv = variant;
	platform_norm_arch(&na, &nv, false);
	p->os = xstrdup(platform_norm_os(os));
	p->arch = xstrdup(na);
	p->variant = nv[0] ? xstrdup(nv) : NULL;
	return 0;
}

// Go's runtime.GOARCH for the architecture we were compiled for, which is what
// containerd uses too; NULL when not known at compile time.
static const char *platform_host_arch(const char **variant)
{
	*variant = NULL;
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
#if defined(__ARM_ARCH) && __ARM_ARCH >= 7
	*variant = "v7";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 6
	*variant = "v6";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 5
	*variant = "v5";
#endif
	return "arm";
#elif defined(__riscv) && defined(__riscv_xlen) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__loongarch64)
	return "loong64";
#elif defined(__mips64) && defined(__MIPSEL__)
	return "mips64le";
#else
	return NULL;
#endif
}

void oci_platform_host(struct oci_platform *p)
{
	struct utsname u;
	bool have_uname = uname(&u) == 0;
	const char *variant;
	const char *arch = platform_host_arch(&variant);

	memset(p, 0, sizeof(*p));
#if defined(__linux__)
	p->os = xstrdup("linux");
#else
	p->os = platform_lower_dup(have_uname ? u.sysname : "unknown");
#endif
	if (arch) {
		p->arch = xstrdup(arch);
		p->variant = variant ? xstrdup(variant) : NULL;
		return;
	}
	// An architecture this file does not know: trust the kernel's name.
	char *m = platform_lower_dup(have_uname ? u.machine : "unknown");
	const char *na = m, *nv = "";
	platform_norm_arch(&na, &nv, false);
	p->arch = xstrdup(na);
	p->variant = nv[0] ? xstrdup(nv) : NULL;
	free(m);
}

void oci_platform_release(struct oci_platform *p)
{
	if (!p)
		return;
	free(p->os);
	free(p->arch);
	free(p->variant);
	memset(p, 0, sizeof(*p));
}

char *oci_platform_string(const struct oci_platform *p)
{
	bool v = p->variant && p->variant[0];
	return xasprintf("%s/%s%s%s", p->os ? p->os : "", p->arch ? p->arch : "", v ? "/" : "",
			 v ? p->variant : "");
}

bool oci_platform_match(const struct oci_platform *want, const struct oci_platform *have)
{
	if (!want || !have || !want->os || !want->arch || !have->os || !have->arch)
		return false;
	char *wos = platform_lower_dup(want->os), *hos = platform_lower_dup(have->os);
	char *warch = platform_lower_dup(want->arch), *harch = platform_lower_dup(have->arch);
	char *wvar = platform_lower_dup(want->variant), *hvar = platform_lower_dup(have->variant);
	bool want_variant = wvar[0] != '\0';
	const char *wa = warch, *wv = wvar, *ha = harch, *hv = hvar;
	platform_norm_arch(&wa, &wv, true);
	platform_norm_arch(&ha, &hv, true);

	bool ok = strcmp(platform_norm_os(wos), platform_norm_os(hos)) == 0 &&
		  strcmp(wa, ha) == 0 && (!want_variant || strcmp(wv, hv) == 0);
	free(wos);
	free(hos);
	free(warch);
	free(harch);
	free(wvar);
	free(hvar);
	return ok;
}

// "linux/amd64, linux/arm64/v8": distinct platforms in index order. Entries
// without a platform cannot be selected, so they are not listed.
static char *platform_list(const struct oci_manifest *idx)
{
	char *seen[PLATFORM_LIST_MAX];
	size_t nseen = 0;
	struct buf b;
	buf_init(&b, 4096);
	for (size_t i = 0; i < idx->nmanifests; i++) {
		if (!idx->manifests[i].has_platform)
			continue;
		char *s = oci_platform_string(&idx->manifests[i].platform);
		bool dup = false;
		for (size_t j = 0; j < nseen && !dup; j++)
			dup = strcmp(seen[j], s) == 0;
		if (dup) {
			free(s);
			continue;
		}
		if (nseen == PLATFORM_LIST_MAX) {
			free(s);
			buf_addstr(&b, ", ...");
			break;
		}
		if (nseen)
			buf_addstr(&b, ", ");
		buf_addstr(&b, s);
		seen[nseen++] = s;
	}
	for (size_t j = 0; j < nseen; j++)
		free(seen[j]);
	if (b.len == 0)
		buf_addstr(&b, "none");
	return buf_steal(&b);
}

// True when have's variant is its architecture's baseline (none for amd64,
// v8 for arm64, v7 for arm), the build that runs on any CPU of that kind.
static bool platform_is_baseline(const struct oci_platform *have)
{
	char *arch = platform_lower_dup(have->arch), *var = platform_lower_dup(have->variant);
	const char *ha = arch, *hv = var, *ba = arch, *bv = "";
	platform_norm_arch(&ha, &hv, true);
	platform_norm_arch(&ba, &bv, true);
	bool ok = strcmp(hv, bv) == 0;
	free(arch);
	free(var);
	return ok;
}

int oci_index_select(const struct oci_manifest *idx, const struct oci_platform *want,
		     const struct oci_descriptor **out, struct err *e)
{
	*out = NULL;
	if (idx->kind != OCI_KIND_INDEX)
		return err_set(e, ERR_INTERNAL, "platform selection needs an index");
	// First match wins: index order is the publisher's preference. Without a
	// wanted variant, a baseline build goes first: an amd64/v3 entry listed
	// before plain amd64 would not run on an older CPU.
	bool any_variant = !want->variant || !want->variant[0];
	for (int pass = any_variant ? 0 : 1; pass < 2; pass++) {
		for (size_t i = 0; i < idx->nmanifests; i++) {
			const struct oci_descriptor *d = &idx->manifests[i];
			if (d->has_platform && oci_platform_match(want, &d->platform) &&
			    (pass == 1 || platform_is_baseline(&d->platform))) {
				*out = d;
				return 0;
			}
		}
	}
	_cleanup_free_ char *w = oci_platform_string(want);
	_cleanup_free_ char *list = platform_list(idx);
	return err_set(e, ERR_NOTFOUND, "no manifest for platform %s in index (available: %s)", w,
		       list);
}

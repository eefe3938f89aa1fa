// SPDX-License-Identifier: Apache-2.0
// Shared libcurl settings (TLS, --connect-to, plain-HTTP hosts, timeouts) and a
// small blocking request (GET for manifests, tokens and probes; POST for the cloud
// token APIs), with a capped body.
#ifndef IMGPULL_TRANSPORT_HTTP_H
#define IMGPULL_TRANSPORT_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct http_ca;

struct http_config {
	struct http_ca *ca;             // extra trust (--ca-file, http_ca_add); NULL: the system's only
	struct curl_slist *connect_to;  // CURLOPT_CONNECT_TO entries
	char **plain_hosts;             // host[:port] reached over http://
	size_t nplain;
	int retries;                    // transient failures retried this many times
	long connect_timeout_s;
	long stall_timeout_s;           // abort a transfer below HTTP_STALL_RATE for this long
	double deadline;                // clock_mono() time after which nothing is tried; 0: none
	// One endpoint's own (hosts.toml): a client certificate and key, TLS
	// verification off (skip_verify), headers sent with each request to it.
	char *client_cert, *client_key;
	bool skip_verify;
	struct curl_slist *headers;
	bool derived;                   // made by http_config_derive: release with http_config_release
};

// A transfer slower than this (bytes/s) for stall_timeout_s is dropped and retried.
#define HTTP_STALL_RATE 1024L
#define HTTP_STALL_TIMEOUT_S 20L   // default stall_timeout_s
#define HTTP_CONNECT_TIMEOUT_S 15L // default connect_timeout_s
#define HTTP_TRY_TIMEOUT_S 60L     // one try of a blocking request (manifests, tokens, probes)

// Milliseconds left before cfg->deadline (at least 1), or 0 when there is none.
long http_deadline_ms(const struct http_config *cfg);

// Applies the common options to an easy handle (TLS verification stays on).
// Trusted: the system's CA bundle (SSL_CERT_FILE, else the first of the usual
// paths; SSL_CERT_DIR) and the certificates of cfg->ca.
void http_setup(CURL *h, const struct http_config *cfg);
// Reads the certificates of the PEM file path (--ca-file; called once at
// startup, again for each further file) into cfg->ca: every connection then
// trusts them beside the system's CAs. ERR_USAGE naming the file when it cannot
// be read, is not PEM or holds no certificate (or libcurl is not on the
// OpenSSL imgpull links). http_ca_release frees them.
int http_ca_add(struct http_config *cfg, const char *path, struct err *e);
void http_ca_release(struct http_config *cfg);
// dst: src's settings (its extra CAs shared by reference count) for one
// endpoint to add its own to; http_config_release(dst) after.
void http_config_derive(struct http_config *dst, const struct http_config *src);
void http_config_release(struct http_config *cfg);
// True when host[:port] was named by --plain-http.
bool http_is_plain(const struct http_config *cfg, const char *hostport);
// "https://host[:port]" or "http://..." for a registry host.
char *http_base_url(const struct http_config *cfg, const char *hostport);
// scheme://host[:port] of an absolute URL, lower case, the port only when it is
// not the scheme's default (malloc'd; "" when libcurl's parser refuses the URL),
// for comparing origins.
char *http_origin(const char *url);

// The value of response header name (case-insensitive) of the last response h
// received (after any redirect curl followed), the index-th of its instances,
// read with curl_easy_header: malloc'd, NULL when there is none or it is over
// 8 KiB (no header we read is legitimately that long). *count, when given, is
// how many instances there are.
char *http_header_get(CURL *h, const char *name, size_t index, size_t *count);

#define HTTP_CHALLENGE_LINES_MAX 8

struct http_resp {
	long status;
	struct buf body;
	char *content_type;
	char *docker_digest;    // Docker-Content-Digest
	char *location;
	char *retry_after;
	char *link;             // the first Link (a tag list's next page)
	char *www_authenticate[HTTP_CHALLENGE_LINES_MAX]; // raw values, in order (more are dropped)
	size_t nwww_authenticate;
	char *effective_url;
};

void http_resp_release(struct http_resp *r);

struct http_req {
	const char *url;
	const char *authorization; // full header value ("Bearer x"), or NULL
	const char *accept;
	size_t max_body;
	enum err_class too_big;    // the class of a body over max_body (ERR_NONE: ERR_NETWORK)
	bool follow;               // follow redirects (never carrying authorization elsewhere)
	// POST (for the cloud token APIs): body and extra headers ("Name: value"),
	// which may carry a signature and are wiped after use.
	const char *method;        // NULL: GET
	const void *body;
	size_t body_len;
	const struct curl_slist *headers;
};

// Blocking request with retries on transport errors, 429 and 5xx. A reply of any
// status is success (r->status says which; release r after); the body is capped
// at max_body (ERR_NETWORK "response too large" beyond). On failure r holds nothing.
int http_request(const struct http_config *cfg, const struct http_req *req, struct http_resp *r,
		 struct err *e);

// One POST over HTTP/2 with prior knowledge on a unix socket (gRPC to a local
// daemon: containerd's CRI). The answer's body is capped at max_body; each name
// in want[] is looked up among its trailers, then its headers (a gRPC
// "trailers-only" answer), and values[i] gets a copy (NULL if absent; free
// them). Transport failures are ERR_NETWORK naming the socket.
struct http_unix_post {
	const char *socket;
	const char *path; // "/runtime.v1.ImageService/PullImage"
	const char *const *headers; // "Name: value", NULL-terminated
	const void *body;
	size_t body_len;
	size_t max_body;
	long timeout_s; // 0: none
	const char *const *want;
	size_t nwant;
};
int http_unix_post(const struct http_unix_post *req, long *status, struct buf *body, char **values,
		   struct err *e);

// Retry delay for attempt n (0-based): exponential from 250 ms with jitter,
// at most 30 s; a Retry-After (seconds or HTTP date) wins when larger.
double http_backoff_seconds(int attempt, const char *retry_after);
#define HTTP_BACKOFF_MAX_S 30.0
#define HTTP_RETRY_AFTER_MAX_S 300.0 // a longer Retry-After is waited for this long at most
// A Retry-After value (delay-seconds or an HTTP date) in seconds from now, or
// -1 when there is none or it does not parse.
double http_retry_after_s(const char *retry_after);
// The longest a request (or a blob's ranges) may go without progress when every
// try fails: retries + 1 tries of stall_timeout_s each (0: the default) and the
// longest backoff between them. 127.75 s for 5 retries of 20 s, 81.75 s for 3.
double http_retry_bound_s(int retries, long stall_timeout_s);
bool http_status_retryable(long status);
// A transfer error no retry cures (a CURLcode): TLS verification and handshake,
// a redirect loop, a scheme other than HTTP(S), a malformed URL. One list for
// blocking requests and the engine's ranges.
bool http_curl_lasting(int rc);

#endif

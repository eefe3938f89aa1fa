// SPDX-License-Identifier: Apache-2.0
#include "transport/http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "util/clock.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

#define USER_AGENT "imgpull/" IMGPULL_VERSION

// Where the system's CA bundle is, for a static binary in an image of any
// distribution (or a scratch image that ships one): SSL_CERT_FILE and
// SSL_CERT_DIR (OpenSSL's own variables) first, then the usual places.
static const char *ca_bundle, *ca_dir;
static pthread_once_t ca_once = PTHREAD_ONCE_INIT;

static void find_ca(void)
{
	static const char *const bundles[] = {
		"/etc/ssl/certs/ca-certificates.crt",               // Debian, Ubuntu, Alpine, Arch
		"/etc/pki/tls/certs/ca-bundle.crt",                 // Fedora, RHEL, Amazon Linux
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // RHEL 7+
		"/etc/ssl/ca-bundle.pem",                           // openSUSE
		"/etc/ssl/cert.pem",                                // Alpine, the BSDs
	};
	const char *f = getenv("SSL_CERT_FILE"), *d = getenv("SSL_CERT_DIR");
	if (f && *f)
		ca_bundle = f;
	for (size_t i = 0; !ca_bundle && i < sizeof(bundles) / sizeof(bundles[0]); i++)
		if (access(bundles[i], R_OK) == 0)
			ca_bundle = bundles[i];
	if (d && *d)
		ca_dir = d;
}

// --ca-file: certificates parsed once, added to the trust of every TLS
// connection, beside the system's (CAINFO/CAPATH above).
struct http_ca {
	STACK_OF(X509) *certs;
};

#define HTTP_CA_FILE_MAX (16u << 20) // a PEM file of certificates (the whole Mozilla set is 220 KB)

// Called for each new TLS context (each connection), with the store libcurl
// fills from CAINFO/CAPATH: libcurl 7.88 loads those into it after this call
// (and may then put in the store it cached for its handle, filled the same way
// after this call on an earlier connection: the certificates are in it too),
// libcurl 8 before it; either way the context trusts the system's CAs and ours.
// Adding a certificate the store already holds succeeds (OpenSSL >= 1.1.1).
static CURLcode on_ssl_ctx(CURL *h, void *ssl_ctx, void *ud)
{
	(void)h;
	const struct http_ca *ca = ud;
	X509_STORE *st = SSL_CTX_get_cert_store(ssl_ctx);
	for (int i = 0; i < sk_X509_num(ca->certs); i++)
		if (!st || X509_STORE_add_cert(st, sk_X509_value(ca->certs, i)) != 1) {
			ERR_clear_error();
			return CURLE_SSL_CACERT_BADFILE; // never a connection with less trust than asked for
		}
	return CURLE_OK;
}

// An encrypted key in the file is left alone, never asked a passphrase for.
static int ca_no_password(char *buf, int size, int rw, void *ud)
{
	(void)buf, (void)size, (void)rw, (void)ud;
	return -1;
}

// The certificates of PEM text (other blocks, such as keys, are skipped) onto certs.
static int ca_parse(const struct buf *b, STACK_OF(X509) *certs, const char *path, struct err *e)
{
	if (b->len == 0)
		return err_set(e, ERR_USAGE, "CA certificates in '%s': the file is empty", path);
	BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
	STACK_OF(X509_INFO) *infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, ca_no_password, NULL) : NULL;
	BIO_free(bio);
	if (!infos) {
		unsigned long code = ERR_peek_last_error();
		char why[256];
		ERR_error_string_n(code, why, sizeof(why));
		ERR_clear_error();
		return err_set(e, ERR_USAGE, "CA certificates in '%s': not a PEM file of certificates (%s)", path,
			       code ? why : "unreadable");
	}
	int n = 0;
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 && sk_X509_push(certs, xi->x509) > 0) {
			xi->x509 = NULL; // certs owns it now
			n++;
		}
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (n == 0)
		return err_set(e, ERR_USAGE, "CA certificates in '%s': the file holds no certificate", path);
	return 0;
}

// The extra trust works through OpenSSL's own SSL_CTX: libcurl must run on
// the OpenSSL imgpull links (Debian's libcurl4 and the static build do).
static bool ca_curl_on_our_openssl(const char **curl_ssl)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	*curl_ssl = v && v->ssl_version ? v->ssl_version : "no TLS library";
	char want[64];
	snprintf(want, sizeof(want), "OpenSSL/%s", OpenSSL_version(OPENSSL_VERSION_STRING));
	return strcmp(*curl_ssl, want) == 0;
}

int http_ca_add(struct http_config *cfg, const char *path, struct err *e)
{
	const char *curl_ssl;
	if (!ca_curl_on_our_openssl(&curl_ssl))
		return err_set(e, ERR_USAGE, "CA certificates in '%s': extra certificates need libcurl on %s, not %s", path,
			       OpenSSL_version(OPENSSL_VERSION), curl_ssl);
	struct buf b;
	buf_init(&b, HTTP_CA_FILE_MAX);
	if (file_read_all(path, &b, e) < 0) {
		buf_release(&b);
		e->cls = ERR_USAGE;
		return err_wrap(e, "CA certificates");
	}
	if (!cfg->ca)
		cfg->ca = xcalloc(1, sizeof(*cfg->ca));
	if (!cfg->ca->certs)
		cfg->ca->certs = sk_X509_new_null();
	int r = cfg->ca->certs ? ca_parse(&b, cfg->ca->certs, path, e) : err_set(e, ERR_INTERNAL, "out of memory");
	buf_release(&b);
	return r;
}

void http_config_derive(struct http_config *dst, const struct http_config *src)
{
	*dst = *src;
	dst->client_cert = dst->client_key = NULL;
	dst->headers = NULL;
	dst->skip_verify = false;
	dst->derived = true;
	dst->ca = NULL;
	if (src->ca && src->ca->certs) {
		dst->ca = xcalloc(1, sizeof(*dst->ca));
		dst->ca->certs = sk_X509_new_null();
		for (int i = 0; dst->ca->certs && i < sk_X509_num(src->ca->certs); i++) {
			X509 *c = sk_X509_value(src->ca->certs, i);
			if (X509_up_ref(c) && !sk_X509_push(dst->ca->certs, c))
				X509_free(c);
		}
	}
}

void http_config_release(struct http_config *cfg)
{
	if (!cfg->derived)
		return;
	http_ca_release(cfg);
	free(cfg->client_cert);
	free(cfg->client_key);
	curl_slist_free_all(cfg->headers);
	memset(cfg, 0, sizeof(*cfg));
}

void http_ca_release(struct http_config *cfg)
{
	if (!cfg->ca)
		return;
	sk_X509_pop_free(cfg->ca->certs, X509_free);
	free(cfg->ca);
	cfg->ca = NULL;
}

void http_setup(CURL *h, const struct http_config *cfg)
{
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	// Off only for a hosts.toml endpoint that says skip_verify, as containerd.
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, cfg->skip_verify ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, cfg->skip_verify ? 0L : 2L);
	if (cfg->client_cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->client_cert);
	if (cfg->client_key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->client_key);
	pthread_once(&ca_once, find_ca);
	if (ca_bundle)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_bundle);
	if (ca_dir)
		curl_easy_setopt(h, CURLOPT_CAPATH, ca_dir);
	if (cfg->ca) { // http_ca_add checked that libcurl runs on our OpenSSL
		curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, cfg->ca);
	}
	if (cfg->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, cfg->connect_to);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, HTTP_STALL_RATE);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, cfg->stall_timeout_s > 0 ? cfg->stall_timeout_s : HTTP_STALL_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	// Never re-send credentials to another host on a redirect (the default,
	// stated here because S3 rejects presigned URLs that carry Authorization).
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
}

long http_deadline_ms(const struct http_config *cfg)
{
	if (!cfg || cfg->deadline <= 0)
		return 0;
	double left = (cfg->deadline - clock_mono()) * 1000;
	return left < 1 ? 1 : (long)left;
}

bool http_is_plain(const struct http_config *cfg, const char *hostport)
{
	for (size_t i = 0; i < cfg->nplain; i++)
		if (strcasecmp(cfg->plain_hosts[i], hostport) == 0)
			return true;
	return false;
}

char *http_base_url(const struct http_config *cfg, const char *hostport)
{
	return xasprintf("%s://%s", http_is_plain(cfg, hostport) ? "http" : "https", hostport);
}

char *http_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	char *o = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		// CURLUPART_PORT gives only a port the URL names: a default one is left out.
		bool named = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
		long p = named ? strtol(port, NULL, 10) : 0;
		bool dflt = (p == 80 && strcasecmp(scheme, "http") == 0) || (p == 443 && strcasecmp(scheme, "https") == 0);
		o = named && !dflt ? xasprintf("%s://%s:%s", scheme, host, port) : xasprintf("%s://%s", scheme, host);
		for (char *c = o; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return o ? o : xstrdup("");
}

static void http_resp_drop_challenges(struct http_resp *r)
{
	for (size_t i = 0; i < r->nwww_authenticate; i++)
		free(r->www_authenticate[i]);
	r->nwww_authenticate = 0;
}

void http_resp_release(struct http_resp *r)
{
	buf_release(&r->body);
	free(r->content_type);
	free(r->docker_digest);
	free(r->location);
	free(r->retry_after);
	free(r->link);
	free(r->effective_url);
	http_resp_drop_challenges(r);
	memset(r, 0, sizeof(*r));
}

static void resp_reset_headers(struct http_resp *r)
{
	free(r->content_type);
	free(r->docker_digest);
	free(r->location);
	free(r->retry_after);
	free(r->link);
	r->content_type = r->docker_digest = r->location = r->retry_after = r->link = NULL;
	http_resp_drop_challenges(r);
}

#define HEADER_VALUE_MAX 8192

char *http_header_get(CURL *h, const char *name, size_t index, size_t *count)
{
	struct curl_header *hd = NULL;
	if (count)
		*count = 0;
	if (curl_easy_header(h, name, index, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd || !hd->value)
		return NULL;
	if (count)
		*count = hd->amount;
	size_t n = strlen(hd->value);
	return n > HEADER_VALUE_MAX ? NULL : xstrndup(hd->value, n);
}

// The headers a response keeps, read once curl has the whole answer.
static void resp_read_headers(CURL *h, struct http_resp *r)
{
	resp_reset_headers(r);
	r->content_type = http_header_get(h, "Content-Type", 0, NULL);
	r->docker_digest = http_header_get(h, "Docker-Content-Digest", 0, NULL);
	r->location = http_header_get(h, "Location", 0, NULL);
	r->retry_after = http_header_get(h, "Retry-After", 0, NULL);
	r->link = http_header_get(h, "Link", 0, NULL);
	size_t n = 0;
	char *v = http_header_get(h, "WWW-Authenticate", 0, &n);
	for (size_t i = 0; v; i++) {
		if (r->nwww_authenticate < HTTP_CHALLENGE_LINES_MAX)
			r->www_authenticate[r->nwww_authenticate++] = v;
		else
			free(v);
		v = i + 1 < n ? http_header_get(h, "WWW-Authenticate", i + 1, NULL) : NULL;
	}
}

// Lets a SIGTERM stop a blocking request within a second.
static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)ud, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return interrupt_signal() != 0;
}

// Appends to the struct buf ud; past its cap the transfer aborts (toobig says why).
static size_t on_capped_body(char *data, size_t size, size_t n, void *ud)
{
	return buf_add(ud, data, size * n) < 0 ? 0 : size * n;
}

bool http_curl_lasting(int rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT || rc == CURLE_SSL_CONNECT_ERROR ||
	       rc == CURLE_TOO_MANY_REDIRECTS;
}

bool http_status_retryable(long status)
{
	return status == 429 || status == 408 || (status >= 500 && status <= 599 && status != 501);
}

double http_retry_after_s(const char *retry_after)
{
	if (!retry_after || !*retry_after)
		return -1;
	char *end;
	errno = 0;
	long s = strtol(retry_after, &end, 10);
	if (end != retry_after && *end == '\0' && s >= 0 && errno == 0)
		return (double)s;
	time_t t = curl_getdate(retry_after, NULL);
	if (t <= 0)
		return -1;
	double d = difftime(t, time(NULL));
	return d > 0 ? d : 0;
}

double http_backoff_seconds(int attempt, const char *retry_after)
{
	double d = 0.25;
	for (int i = 0; i < attempt && d < HTTP_BACKOFF_MAX_S; i++)
		d *= 2;
	if (d > HTTP_BACKOFF_MAX_S)
		d = HTTP_BACKOFF_MAX_S;
	// Full jitter on the upper half keeps many clients from retrying in step.
	d = d / 2 + (d / 2) * ((double)(rand() % 1000) / 1000.0);
	double ra = http_retry_after_s(retry_after);
	if (ra > HTTP_RETRY_AFTER_MAX_S)
		ra = HTTP_RETRY_AFTER_MAX_S;
	return ra > d ? ra : d;
}

double http_retry_bound_s(int retries, long stall_timeout_s)
{
	double stall = stall_timeout_s > 0 ? (double)stall_timeout_s : (double)HTTP_STALL_TIMEOUT_S;
	double bound = (retries + 1) * stall;
	double d = 0.25;
	for (int i = 0; i < retries; i++, d *= 2)
		bound += d < HTTP_BACKOFF_MAX_S ? d : HTTP_BACKOFF_MAX_S;
	return bound;
}

// Waits out the backoff before try attempt + 1 of a blocking request. -1 when
// the server's Retry-After would end past the request's own bound (ends at
// until, after bound seconds), or the wait past the pull's --timeout.
static int retry_wait(const struct http_config *cfg, const char *method, const char *safe,
		      const struct http_resp *r, int attempt, double until, double bound, struct err *e)
{
	double d = http_backoff_seconds(attempt, r->retry_after);
	double ra = http_retry_after_s(r->retry_after), left = until - clock_mono();
	if (ra > left)
		return err_set(e, ERR_NETWORK, "%s %s: HTTP %ld asking to wait %.0f s (Retry-After), more than the %.0f s "
			       "left of this request's %.0f s", method, safe, r->status, ra, left > 0 ? left : 0, bound);
	if (cfg->deadline > 0 && clock_mono() + d >= cfg->deadline)
		return err_set(e, ERR_NETWORK, "%s %s: no time left for another try within --timeout", method, safe);
	for (double slept = 0; slept < d && !interrupt_signal(); slept += 0.05)
		usleep(50000);
	return 0;
}

// The request's headers: its own, then the configuration's. The copies of a
// token are wiped: curl keeps its own.
static struct curl_slist *request_headers(const struct http_config *cfg, const struct http_req *req)
{
	struct curl_slist *hdrs = NULL;
	if (req->authorization) {
		char *auth = xasprintf("Authorization: %s", req->authorization);
		hdrs = curl_slist_append(hdrs, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (req->accept) {
		_cleanup_free_ char *accept = xasprintf("Accept: %s", req->accept);
		hdrs = curl_slist_append(hdrs, accept);
	}
	for (const struct curl_slist *x = req->headers; x; x = x->next)
		hdrs = curl_slist_append(hdrs, x->data);
	for (const struct curl_slist *x = cfg->headers; x; x = x->next)
		hdrs = curl_slist_append(hdrs, x->data);
	return hdrs;
}

static void headers_free(struct curl_slist *hdrs)
{
	for (struct curl_slist *x = hdrs; x; x = x->next) // copies of signatures and tokens
		explicit_bzero(x->data, strlen(x->data));
	curl_slist_free_all(hdrs);
}

// One blocking request's handle, its tries and what they say.
struct try {
	CURL *h;
	const struct http_config *cfg;
	const struct http_req *req;
	const char *method;
	char safe[512]; // the URL, redacted
	char errbuf[CURL_ERROR_SIZE];
};

enum try_end { TRY_DONE, TRY_FAILED, TRY_AGAIN };

static void try_setopts(struct try *t, struct curl_slist *hdrs, struct http_resp *r)
{
	CURL *h = t->h;
	http_setup(h, t->cfg);
	curl_easy_setopt(h, CURLOPT_URL, t->req->url);
	if (strcmp(t->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->req->body ? (const char *)t->req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req->body_len);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, t->req->follow ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_capped_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, HTTP_TRY_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
}

// Try attempt (from 0): done (an answer to give), failed (e filled), or again.
static enum try_end try_once(struct try *t, int attempt, struct http_resp *r, struct err *e)
{
	long left_ms = http_deadline_ms(t->cfg);
	if (left_ms > 0 && left_ms < HTTP_TRY_TIMEOUT_S * 1000)
		curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, left_ms);
	buf_reset(&r->body);
	resp_reset_headers(r);
	r->status = 0;
	t->errbuf[0] = '\0';
	CURLcode rc = curl_easy_perform(t->h);
	resp_read_headers(t->h, r);
	if (interrupt_signal()) {
		err_set(e, ERR_INTERRUPTED, "%s %s: interrupted", t->method, t->safe);
		return TRY_FAILED;
	}
	if (rc == CURLE_WRITE_ERROR && r->body.toobig) {
		err_set(e, t->req->too_big ? t->req->too_big : ERR_NETWORK, "response from %s is larger than %zu bytes",
			t->safe, t->req->max_body);
		return TRY_FAILED;
	}
	const char *why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
	if (rc != CURLE_OK) {
		if (http_curl_lasting(rc) || attempt >= t->cfg->retries) {
			err_set(e, ERR_NETWORK, "%s %s: %s", t->method, t->safe, why);
			return TRY_FAILED;
		}
		log_info("%s %s: %s, retrying", t->method, t->safe, why);
		return TRY_AGAIN;
	}
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &r->status);
	if (http_status_retryable(r->status) && attempt < t->cfg->retries) {
		log_info("%s %s: HTTP %ld, retrying", t->method, t->safe, r->status);
		return TRY_AGAIN;
	}
	char *eff = NULL;
	curl_easy_getinfo(t->h, CURLINFO_EFFECTIVE_URL, &eff);
	r->effective_url = xstrdup(eff ? eff : t->req->url);
	return TRY_DONE;
}

int http_request(const struct http_config *cfg, const struct http_req *req, struct http_resp *r,
		 struct err *e)
{
	struct try t = {.cfg = cfg, .req = req, .method = req->method ? req->method : "GET"};
	log_redact_url(req->url, t.safe, sizeof(t.safe));
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, req->max_body);
	t.h = curl_easy_init();
	if (!t.h)
		return err_set(e, ERR_INTERNAL, "cannot create an HTTP handle");
	struct curl_slist *hdrs = request_headers(cfg, req);
	try_setopts(&t, hdrs, r);
	int ret = -1;
	// A Retry-After is honoured while the wait ends within the bound of the
	// request's own retries (counted from its first try); a server asking for
	// longer (a 429 that never ends) fails it now rather than holding the pull.
	double t_first = clock_mono(), bound = http_retry_bound_s(cfg->retries, cfg->stall_timeout_s);
	for (int attempt = 0;; attempt++) {
		enum try_end end = try_once(&t, attempt, r, e);
		if (end == TRY_DONE)
			ret = 0;
		if (end != TRY_AGAIN || retry_wait(cfg, t.method, t.safe, r, attempt, t_first + bound, bound, e) < 0)
			break;
	}
	curl_easy_cleanup(t.h);
	headers_free(hdrs);
	if (ret < 0)
		http_resp_release(r); // callers release only what succeeded
	return ret;
}

int http_unix_post(const struct http_unix_post *req, long *status, struct buf *body, char **values,
		   struct err *e)
{
	for (size_t i = 0; i < req->nwant; i++)
		values[i] = NULL;
	buf_init(body, req->max_body);
	CURL *h = curl_easy_init();
	if (!h)
		return err_set(e, ERR_INTERNAL, "cannot create an HTTP handle");
	struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
	for (const char *const *p = req->headers; p && *p; p++)
		hdrs = curl_slist_append(hdrs, *p);
	_cleanup_free_ char *url = xasprintf("http://localhost%s", req->path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, req->socket);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_capped_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s > 0 ? req->timeout_s : 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	double t0 = clock_mono();
	CURLcode rc = curl_easy_perform(h);
	int ret = 0;
	if (rc == CURLE_WRITE_ERROR && body->toobig) {
		ret = err_set(e, ERR_NETWORK, "the answer on %s is larger than %zu bytes", req->socket, req->max_body);
	} else if (interrupt_signal()) {
		ret = err_set(e, ERR_INTERRUPTED, "POST %s on %s: interrupted", req->path, req->socket);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) { // connecting (15 s) or the whole call (timeout_s)
		ret = err_set(e, ERR_NETWORK, "unix://%s did not answer %s within %.0f s", req->socket, req->path,
			      clock_mono() - t0);
	} else if (rc != CURLE_OK) {
		ret = err_set(e, ERR_NETWORK, "cannot reach %s: %s", req->socket, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		for (size_t i = 0; i < req->nwant; i++) {
			struct curl_header *hv;
			if (curl_easy_header(h, req->want[i], 0, CURLH_TRAILER, -1, &hv) == CURLHE_OK ||
			    curl_easy_header(h, req->want[i], 0, CURLH_HEADER, -1, &hv) == CURLHE_OK)
				values[i] = xstrdup(hv->value);
		}
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	if (ret < 0)
		buf_release(body);
	return ret;
}

/* uploader.c — spool-backed profile uploads with retry; see uploader.h. */
#include "uploader.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gz.h"
#include "log.h"
#include "spool.h"
#include "timeutil.h"

#define MAX_BODY (256u << 20)      /* compressed upload bound */
#define MAX_JSON (1024u << 20)     /* uncompressed JSON bound while building */

struct uploader {
	char *server_url, *token, *service, *hostname, *version;
	struct spool *spool;
	struct httpc *http;           /* NULL when a test transport is used */
	struct httpc_transport transport;
	int64_t backoff_min_ms, backoff_max_ms;

	pthread_t thread;
	int thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;          /* signalled on submit, stop, and when the spool empties */
	int stop;
	char gpid[64];
	struct uploader_stats st;
};

int uploader_urlencode(const char *s, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			rc = buf_putc(out, (char)*p);
		} else {
			char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			rc = buf_append(out, enc, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static void wait_ms(struct uploader *u, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	/* mu is held by the caller */
	pthread_cond_timedwait(&u->cond, &u->mu, &ts);
}

static int64_t jittered(int64_t ms)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)time(NULL);
	/* 0.8 .. 1.2 */
	return ms * (800 + (int64_t)(r % 401)) / 1000;
}

/* What one attempt to send an item concluded. */
enum outcome { SENT, RETRY, REJECTED };

static enum outcome send_item(struct uploader *u, const char *meta, const void *body, size_t len)
{
	struct buf url, resp;
	char key_hdr[600], svc_hdr[600];
	const char *headers[] = { "Content-Type: application/json", "Content-Encoding: gzip",
				  key_hdr, svc_hdr, NULL };
	long status = 0;
	enum outcome o = RETRY;
	int rc;

	buf_init(&url, 64 * 1024);
	buf_init(&resp, HTTPC_MAX_RESPONSE);
	snprintf(key_hdr, sizeof(key_hdr), "GPROFILER-API-KEY: %s", u->token);
	snprintf(svc_hdr, sizeof(svc_hdr), "GPROFILER-SERVICE-NAME: %s", u->service);
	if (buf_printf(&url, "%s/api/v2/profiles?%s", u->server_url, meta) != 0) {
		o = REJECTED;
		goto out;
	}
	rc = u->transport.post(u->transport.ctx, buf_cstr(&url), headers, body, len, &status, &resp);
	if (rc) {
		log_warn("upload: server %s unreachable (%s); keeping the profile, will retry",
			 u->server_url, strerror(-rc));
		goto out;
	}
	if (status >= 200 && status < 300) {
		json_t *j = json_loadb(buf_cstr(&resp), resp.len, 0, NULL);
		json_t *g = j ? json_object_get(j, "gpid") : NULL;
		pthread_mutex_lock(&u->mu);
		if (json_is_string(g))
			snprintf(u->gpid, sizeof(u->gpid), "%s", json_string_value(g));
		else if (json_is_integer(g))
			snprintf(u->gpid, sizeof(u->gpid), "%" JSON_INTEGER_FORMAT, json_integer_value(g));
		pthread_mutex_unlock(&u->mu);
		json_decref(j);
		o = SENT;
	} else if (httpc_status_retryable(status)) {
		log_warn("upload: server answered %ld; keeping the profile, will retry", status);
	} else {
		log_error("upload: server refused the profile with %ld: %.300s; dropped", status,
			  buf_cstr(&resp));
		o = REJECTED;
	}
out:
	buf_release(&url);
	buf_release(&resp);
	return o;
}

static void *sender(void *arg)
{
	struct uploader *u = arg;
	int64_t backoff = 0;

	pthread_mutex_lock(&u->mu);
	while (!u->stop) {
		struct spool_item it;
		enum outcome o;
		int rc;

		pthread_mutex_unlock(&u->mu);
		rc = spool_oldest(u->spool, &it);
		pthread_mutex_lock(&u->mu);
		if (rc == -ENOENT) {
			u->st.pending = 0;
			pthread_cond_broadcast(&u->cond);
			wait_ms(u, 1000);
			continue;
		}
		if (rc) {
			log_error("upload: reading the spool failed: %s", strerror(-rc));
			wait_ms(u, 1000);
			continue;
		}
		pthread_mutex_unlock(&u->mu);
		o = send_item(u, it.meta, it.data, it.len);
		uint64_t seq = it.seq;
		spool_item_release(&it);
		/* remove and count under one lock: whoever sees the spool empty sees the counts too */
		pthread_mutex_lock(&u->mu);
		if (o != RETRY)
			spool_remove(u->spool, seq);
		u->st.pending = spool_count(u->spool);
		if (o == SENT) {
			u->st.sent++;
			backoff = 0;
		} else if (o == REJECTED) {
			u->st.rejected++;
		} else {
			u->st.retries++;
			backoff = backoff ? backoff * 2 : u->backoff_min_ms;
			if (backoff > u->backoff_max_ms)
				backoff = u->backoff_max_ms;
			wait_ms(u, jittered(backoff));
		}
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

struct uploader *uploader_new(const struct uploader_cfg *c)
{
	struct uploader *u;
	int err;

	if (!c || !c->server_url || !c->spool_dir || !c->spool_max_bytes) {
		errno = EINVAL;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->server_url = xstrdup(c->server_url);
	u->token = xstrdup(c->token);
	u->service = xstrdup(c->service);
	u->hostname = xstrdup(c->hostname);
	u->version = xstrdup(c->agent_version);
	if (!u->server_url || !u->token || !u->service || !u->hostname || !u->version) {
		err = ENOMEM;
		goto fail;
	}
	/* "http://host:8080/" and "http://host:8080" mean the same server */
	for (size_t n = strlen(u->server_url); n > 0 && u->server_url[n - 1] == '/'; n--)
		u->server_url[n - 1] = '\0';
	if (strchr(u->token, '\n') || strchr(u->service, '\n')) {
		err = EINVAL;
		goto fail;
	}
	u->backoff_min_ms = c->backoff_min_ms > 0 ? c->backoff_min_ms : 1000;
	u->backoff_max_ms = c->backoff_max_ms > 0 ? c->backoff_max_ms : 60000;
	if (c->transport) {
		u->transport = *c->transport;
	} else {
		u->http = httpc_new(&c->http);
		if (!u->http) {
			err = errno;
			goto fail;
		}
		u->transport = httpc_transport(u->http);
	}
	u->spool = spool_open(c->spool_dir, c->spool_max_bytes);
	if (!u->spool) {
		err = errno;
		log_error("upload: cannot open the spool %s: %s", c->spool_dir, strerror(err));
		goto fail;
	}
	u->st.pending = spool_count(u->spool);
	err = pthread_create(&u->thread, NULL, sender, u);
	if (err)
		goto fail;
	u->thread_started = 1;
	return u;
fail:
	uploader_free(u);
	errno = err;
	return NULL;
}

void uploader_free(struct uploader *u)
{
	if (!u)
		return;
	if (u->thread_started) {
		pthread_mutex_lock(&u->mu);
		u->stop = 1;
		pthread_cond_broadcast(&u->cond);
		pthread_mutex_unlock(&u->mu);
		pthread_join(u->thread, NULL);
	}
	spool_free(u->spool);
	httpc_free(u->http);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->mu);
	free(u->server_url);
	free(u->token);
	free(u->service);
	free(u->hostname);
	free(u->version);
	free(u);
}

static int build_body(struct uploader *u, const struct upload_profile *p, struct buf *gz)
{
	char st[32], et[32], sp[32], gpid[64];
	json_t *j;
	char *text = NULL;
	int rc = -ENOMEM;

	if (time_format_iso8601(p->start_time, st, sizeof(st)) ||
	    time_format_iso8601(p->end_time, et, sizeof(et)) ||
	    time_format_iso8601(p->spawn_time, sp, sizeof(sp)))
		return -EINVAL;
	pthread_mutex_lock(&u->mu);
	memcpy(gpid, u->gpid, sizeof(gpid));
	pthread_mutex_unlock(&u->mu);
	j = json_pack("{s:s, s:s, s:s, s:s%, s:o, s:o, s:s, s:s}",
		      "start_time", st, "end_time", et, "hostname", u->hostname,
		      "profile", p->text, p->len,
		      "cpu_avg", isnan(p->cpu_avg) ? json_null() : json_real(p->cpu_avg),
		      "mem_avg", isnan(p->mem_avg) ? json_null() : json_real(p->mem_avg),
		      "spawn_time", sp, "gpid", gpid);
	if (!j) {
		/* jansson refuses text that is not UTF-8 (a binary's odd symbol name): keep the
		 * profile, with such bytes replaced, rather than lose it */
		char *clean = malloc(p->len + 1);
		if (!clean)
			return -ENOMEM;
		for (size_t i = 0; i < p->len; i++)
			clean[i] = (unsigned char)p->text[i] >= 0x80 || p->text[i] == '\0' ? '?' : p->text[i];
		clean[p->len] = '\0';
		log_warn("upload: profile text is not valid UTF-8; non-ASCII bytes replaced by '?'");
		j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s}",
			      "start_time", st, "end_time", et, "hostname", u->hostname, "profile", clean,
			      "cpu_avg", isnan(p->cpu_avg) ? json_null() : json_real(p->cpu_avg),
			      "mem_avg", isnan(p->mem_avg) ? json_null() : json_real(p->mem_avg),
			      "spawn_time", sp, "gpid", gpid);
		free(clean);
		if (!j)
			return -EINVAL;
	}
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return -ENOMEM;
	if (strlen(text) > MAX_JSON)
		rc = -EFBIG;
	else
		rc = gz_compress(text, strlen(text), gz);
	free(text);
	return rc;
}

static int build_meta(struct uploader *u, int64_t now, struct buf *m)
{
	char ts[32];
	int rc = time_format_iso8601(now, ts, sizeof(ts));
	if (!rc) rc = buf_puts(m, "service=");
	if (!rc) rc = uploader_urlencode(u->service, m);
	if (!rc) rc = buf_puts(m, "&hostname=");
	if (!rc) rc = uploader_urlencode(u->hostname, m);
	if (!rc) rc = buf_puts(m, "&timestamp=");
	if (!rc) rc = uploader_urlencode(ts, m);
	if (!rc) rc = buf_puts(m, "&version=");
	if (!rc) rc = uploader_urlencode(u->version, m);
	return rc;
}

int uploader_submit(struct uploader *u, const struct upload_profile *p)
{
	struct buf body, meta;
	size_t dropped = 0;
	int rc;

	buf_init(&body, MAX_BODY);
	buf_init(&meta, 8192);
	rc = build_body(u, p, &body);
	if (!rc)
		rc = build_meta(u, time_now_ms() / 1000, &meta);
	if (rc) {
		log_error("upload: cannot encode the profile: %s", strerror(-rc));
		goto out;
	}
	rc = spool_put(u->spool, buf_cstr(&meta), body.data, body.len, &dropped);
	pthread_mutex_lock(&u->mu);
	u->st.submitted++;
	u->st.dropped_full += dropped;
	if (!rc) {
		u->st.pending = spool_count(u->spool);
		pthread_cond_broadcast(&u->cond);
	}
	pthread_mutex_unlock(&u->mu);
	if (rc) {
		/* the disk refuses it (full, read-only): try to deliver it right now instead */
		log_warn("upload: cannot spool the profile (%s); sending it directly", strerror(-rc));
		if (send_item(u, buf_cstr(&meta), body.data, body.len) == SENT) {
			pthread_mutex_lock(&u->mu);
			u->st.sent++;
			pthread_mutex_unlock(&u->mu);
			rc = 0;
		} else {
			log_error("upload: profile lost: it could neither be spooled nor sent");
			pthread_mutex_lock(&u->mu);
			u->st.dropped_unspoolable++;
			pthread_mutex_unlock(&u->mu);
		}
	}
out:
	buf_release(&body);
	buf_release(&meta);
	return rc;
}

int uploader_wait_idle(struct uploader *u, int64_t timeout_ms)
{
	int64_t deadline = time_mono_ms() + timeout_ms;
	int rc = 0;

	pthread_mutex_lock(&u->mu);
	while (spool_count(u->spool) > 0) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		wait_ms(u, left < 200 ? left : 200);
	}
	pthread_mutex_unlock(&u->mu);
	return rc;
}

void uploader_get_stats(struct uploader *u, struct uploader_stats *out)
{
	pthread_mutex_lock(&u->mu);
	*out = u->st;
	out->pending = spool_count(u->spool);
	pthread_mutex_unlock(&u->mu);
}

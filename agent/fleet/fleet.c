/* fleet.c — heartbeat mode; see fleet.h for the rules. */
#include "fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmdstate.h"
#include "log.h"
#include "timeutil.h"

#define HB_IDS_SENT 50             /* newest ids of each kind sent with a heartbeat */
#define RESP_MAX (256u * 1024u)

struct owed {
	char id[CMDSTATE_ID_MAX + 1];
	int ok;
	double exec_s;
	char err[256];
};

struct fleet {
	char *api_server, *token, *hostname, *ip, *service, *version;
	struct hb_identity ident;
	struct cmdstate *cs;
	struct httpc *http;
	struct httpc_transport tr;
	struct fleet_session_ops ops;
	int64_t interval_ms, next_hb_ms;
	int64_t def_duration, def_frequency;
	char last_command_id[CMDSTATE_ID_MAX + 1];
	int hb_failing;

	void *sess;                     /* the running session, NULL when idle */
	struct hb_command running;
	int64_t running_since_ms;
	int64_t running_accum_ms;       /* earlier runtime of a resumed continuous command */

	int have_paused;                /* a continuous command waiting for ad-hoc runs to end */
	struct hb_command paused;
	int64_t paused_accum_ms;

	struct hb_command adhoc[FLEET_MAX_ADHOC];
	size_t n_adhoc;

	struct owed owed[FLEET_MAX_OWED_REPORTS];
	size_t n_owed;

	struct fleet_stats st;
};

/* POST a JSON body to path; 0 with *status, or a transport -errno. */
static int post_json(struct fleet *f, const char *path, const struct buf *body, long *status,
		     struct buf *resp)
{
	char url[1024], auth[600];
	const char *headers[] = { "Content-Type: application/json", auth, NULL };
	snprintf(url, sizeof(url), "%s%s", f->api_server, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->token);
	return f->tr.post(f->tr.ctx, url, headers, body->data ? body->data : "", body->len, status,
			  resp);
}

/* ---- completion reports ---- */

static void send_reports(struct fleet *f)
{
	size_t i = 0;
	while (i < f->n_owed) {
		struct owed *o = &f->owed[i];
		struct buf body, resp;
		long status = 0;
		int rc, done = 0;

		buf_init(&body, 8192);
		buf_init(&resp, RESP_MAX);
		rc = hb_build_completion(o->id, f->hostname, o->ok, o->exec_s,
					 o->ok ? NULL : o->err, NULL, &body);
		if (!rc)
			rc = post_json(f, "/api/metrics/command_completion", &body, &status, &resp);
		if (rc == 0 && status >= 200 && status < 300) {
			log_info("fleet: reported command %s %s", o->id, o->ok ? "completed" : "failed");
			f->st.reports_sent++;
			done = 1;
		} else if (rc == 0 && status >= 400 && status < 500 && status != 408 && status != 429) {
			log_warn("fleet: server refused the report for command %s (%ld: %.200s); not retried",
				 o->id, status, buf_cstr(&resp));
			done = 1;
		}
		buf_release(&body);
		buf_release(&resp);
		if (!done) {
			/* server unreachable: keep this and the later ones for the next heartbeat */
			break;
		}
		if (cmdstate_set(f->cs, o->id, CMD_REPORTED) != 0)
			log_warn("fleet: could not persist that command %s was reported", o->id);
		memmove(&f->owed[i], &f->owed[i + 1], (f->n_owed - i - 1) * sizeof(*f->owed));
		f->n_owed--;
	}
	f->st.owed_reports = f->n_owed;
}

static void owe(struct fleet *f, const char *id, int ok, double exec_s, const char *err)
{
	struct owed *o;
	if (f->n_owed == FLEET_MAX_OWED_REPORTS) {
		log_warn("fleet: %d completion reports waiting; dropping the oldest (%s)",
			 FLEET_MAX_OWED_REPORTS, f->owed[0].id);
		memmove(&f->owed[0], &f->owed[1], (f->n_owed - 1) * sizeof(*f->owed));
		f->n_owed--;
	}
	o = &f->owed[f->n_owed++];
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", id);
	o->ok = ok;
	o->exec_s = exec_s;
	snprintf(o->err, sizeof(o->err), "%s", err ? err : "");
	f->st.owed_reports = f->n_owed;
	send_reports(f);
}

/* ---- sessions ---- */

static void apply_defaults(struct fleet *f, struct hb_command *c)
{
	if (c->duration <= 0)
		c->duration = f->def_duration;
	if (c->frequency <= 0)
		c->frequency = f->def_frequency;
}

/* Stop and free the running session. Returns its runtime in ms; *ok and err tell whether every
 * snapshot reached the uploader. */
static int64_t end_session(struct fleet *f, int64_t now, int *ok, char *err, size_t errlen)
{
	int rc;
	err[0] = '\0';
	f->ops.request_stop(f->ops.ctx, f->sess);
	rc = f->ops.end(f->ops.ctx, f->sess, err, errlen);
	f->sess = NULL;
	f->st.session_running = 0;
	f->st.running_continuous = 0;
	f->st.running_id[0] = '\0';
	*ok = rc == 0;
	return now - f->running_since_ms + f->running_accum_ms;
}

/* Start cmd; on failure report it failed. 0 when a session runs. */
static int begin_session(struct fleet *f, const struct hb_command *cmd, int64_t accum_ms,
			 int64_t now)
{
	char err[256] = "";
	f->sess = f->ops.begin(f->ops.ctx, cmd, err, sizeof(err));
	if (!f->sess) {
		log_error("fleet: command %s could not start profiling: %s", cmd->id, err);
		owe(f, cmd->id, 0, (double)accum_ms / 1000.0, err[0] ? err : "profiler failed to start");
		return -EIO;
	}
	f->running = *cmd;
	f->running_since_ms = now;
	f->running_accum_ms = accum_ms;
	f->st.session_running = 1;
	f->st.running_continuous = cmd->continuous;
	snprintf(f->st.running_id, sizeof(f->st.running_id), "%s", cmd->id);
	f->st.commands_run++;
	log_info("fleet: command %s: profiling %s at %lld Hz, %lld s%s", cmd->id,
		 cmd->n_pids ? "selected processes" : "all processes", (long long)cmd->frequency,
		 (long long)cmd->duration, cmd->continuous ? " snapshots, continuous" : "");
	return 0;
}

/* Idle: run the next queued ad-hoc command, else resume the paused continuous one. */
static void start_next(struct fleet *f, int64_t now)
{
	while (!f->sess) {
		if (f->n_adhoc) {
			struct hb_command c = f->adhoc[0];
			memmove(&f->adhoc[0], &f->adhoc[1], (f->n_adhoc - 1) * sizeof(*f->adhoc));
			f->n_adhoc--;
			f->st.adhoc_queued = f->n_adhoc;
			begin_session(f, &c, 0, now);
		} else if (f->have_paused) {
			f->have_paused = 0;
			log_info("fleet: resuming continuous command %s", f->paused.id);
			begin_session(f, &f->paused, f->paused_accum_ms, now);
		} else {
			return;
		}
	}
}

static void handle_stop(struct fleet *f, const struct hb_command *c, int64_t now)
{
	char err[256];
	int ok;

	if (f->sess) {
		int64_t ran = end_session(f, now, &ok, err, sizeof(err));
		owe(f, f->running.id, ok, (double)ran / 1000.0, ok ? NULL : err);
	}
	for (size_t i = 0; i < f->n_adhoc; i++) {
		char why[128];
		snprintf(why, sizeof(why), "cancelled by stop command %s", c->id);
		owe(f, f->adhoc[i].id, 0, 0, why);
	}
	f->n_adhoc = 0;
	f->st.adhoc_queued = 0;
	if (f->have_paused) {
		f->have_paused = 0;
		owe(f, f->paused.id, 1, (double)f->paused_accum_ms / 1000.0, NULL);
	}
	log_info("fleet: stop command %s: profiling stopped", c->id);
	owe(f, c->id, 1, 0, NULL);
}

static void handle_start(struct fleet *f, const struct hb_command *c, int64_t now)
{
	char err[256];
	int ok;

	if (!c->continuous) {
		if (f->sess && f->running.continuous) {
			/* pause the continuous command; it resumes when the ad-hoc runs are done */
			int64_t ran = end_session(f, now, &ok, err, sizeof(err));
			if (!ok)
				log_warn("fleet: pausing %s: %s", f->running.id, err);
			f->paused = f->running;
			f->paused_accum_ms = ran;
			f->have_paused = 1;
			log_info("fleet: continuous command %s paused for ad-hoc command %s",
				 f->paused.id, c->id);
		}
		if (f->sess) {
			if (f->n_adhoc == FLEET_MAX_ADHOC) {
				owe(f, c->id, 0, 0, "too many ad-hoc commands queued on this host");
				return;
			}
			f->adhoc[f->n_adhoc++] = *c;
			f->st.adhoc_queued = f->n_adhoc;
			log_info("fleet: ad-hoc command %s queued behind %s", c->id, f->running.id);
			return;
		}
		begin_session(f, c, 0, now);
		start_next(f, now);
		return;
	}
	/* continuous: replaces any earlier continuous command */
	if (f->have_paused) {
		f->have_paused = 0;
		owe(f, f->paused.id, 1, (double)f->paused_accum_ms / 1000.0, NULL);
	}
	if (f->sess && f->running.continuous) {
		int64_t ran = end_session(f, now, &ok, err, sizeof(err));
		log_info("fleet: continuous command %s replaced by %s", f->running.id, c->id);
		owe(f, f->running.id, ok, (double)ran / 1000.0, ok ? NULL : err);
	}
	if (f->sess) {
		/* an ad-hoc run is going: the new continuous command waits for it */
		f->paused = *c;
		f->paused_accum_ms = 0;
		f->have_paused = 1;
		return;
	}
	begin_session(f, c, 0, now);
	start_next(f, now);
}

static void handle_command(struct fleet *f, struct hb_command *c, int64_t now)
{
	enum cmd_state st = cmdstate_get(f->cs, c->id);

	if (st >= CMD_EXECUTED) {
		log_debug("fleet: command %s already executed; ignored", c->id);
		return;
	}
	if (cmdstate_set(f->cs, c->id, CMD_RECEIVED) != 0 ||
	    cmdstate_set(f->cs, c->id, CMD_EXECUTED) != 0) {
		/* without a durable record it could run twice after a restart: do not run it */
		log_error("fleet: cannot persist command %s under the state directory; not running it",
			  c->id);
		return;
	}
	snprintf(f->last_command_id, sizeof(f->last_command_id), "%s", c->id);
	if (!c->for_this_host) {
		log_info("fleet: command %s targets other hosts; skipped", c->id);
		f->st.commands_skipped++;
		owe(f, c->id, 0, 0, "command targets other hosts; skipped");
		return;
	}
	log_info("fleet: received %s command %s", c->type == HB_CMD_STOP ? "stop" : "start", c->id);
	apply_defaults(f, c);
	if (c->type == HB_CMD_STOP)
		handle_stop(f, c, now);
	else
		handle_start(f, c, now);
}

/* ---- heartbeat ---- */

static int heartbeat(struct fleet *f, int64_t now)
{
	const char *rec[HB_IDS_SENT], *exe[HB_IDS_SENT];
	size_t nr = cmdstate_list(f->cs, CMD_RECEIVED, 1, rec, HB_IDS_SENT);
	/* "executed" tells the server a command is done: only ids whose outcome was reported. An id
	 * still running (or whose failure report is owed) would otherwise be marked completed. */
	size_t ne = cmdstate_list(f->cs, CMD_REPORTED, 0, exe, HB_IDS_SENT);
	struct buf body, resp;
	struct hb_command *cmd = NULL;
	char err[200];
	long status = 0;
	int rc;

	buf_init(&body, 64 * 1024);
	buf_init(&resp, RESP_MAX);
	rc = hb_build_heartbeat(&f->ident, f->last_command_id[0] ? f->last_command_id : NULL, rec,
				nr, exe, ne, time_now_ms() / 1000, &body);
	if (rc)
		goto out;
	rc = post_json(f, "/api/metrics/heartbeat", &body, &status, &resp);
	if (rc || status < 200 || status >= 300) {
		f->st.heartbeats_failed++;
		if (!f->hb_failing)
			log_warn("fleet: heartbeat to %s failed (%s); retrying every %lld s", f->api_server,
				 rc ? strerror(-rc) : "HTTP error", (long long)(f->interval_ms / 1000));
		if (!rc)
			log_debug("fleet: heartbeat answer %ld: %.200s", status, buf_cstr(&resp));
		f->hb_failing = 1;
		rc = rc ? rc : -EIO;
		goto out;
	}
	if (f->hb_failing)
		log_info("fleet: heartbeats reach %s again", f->api_server);
	f->hb_failing = 0;
	f->st.heartbeats_ok++;
	cmd = malloc(sizeof(*cmd));
	if (!cmd) {
		rc = -ENOMEM;
		goto out;
	}
	rc = hb_parse_response(resp.data, resp.len, f->hostname, cmd, err, sizeof(err));
	if (rc < 0 && cmd->id[0] && cmdstate_get(f->cs, cmd->id) < CMD_EXECUTED) {
		/* a command we can name but not run: report it, or the server delivers it forever */
		log_warn("fleet: command %s cannot be run: %s", cmd->id, err);
		if (cmdstate_set(f->cs, cmd->id, CMD_RECEIVED) == 0 &&
		    cmdstate_set(f->cs, cmd->id, CMD_EXECUTED) == 0)
			owe(f, cmd->id, 0, 0, err);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		log_warn("fleet: cannot use the heartbeat answer: %s", err);
		goto out;
	}
	if (rc == 1)
		handle_command(f, cmd, now);
	rc = 0;
out:
	free(cmd);
	buf_release(&body);
	buf_release(&resp);
	return rc;
}

int fleet_tick(struct fleet *f, int64_t now, int force)
{
	int rc = 0;

	if (f->sess && f->ops.done(f->ops.ctx, f->sess)) {
		char err[256];
		int ok;
		int64_t ran = end_session(f, now, &ok, err, sizeof(err));
		if (f->running.continuous)
			log_warn("fleet: continuous command %s ended by itself: %s", f->running.id,
				 ok ? "no error" : err);
		else
			log_info("fleet: command %s finished", f->running.id);
		owe(f, f->running.id, ok, (double)ran / 1000.0,
		    ok ? NULL : err);
		start_next(f, now);
	}
	if (force || now >= f->next_hb_ms) {
		f->next_hb_ms = now + f->interval_ms;
		/* reports first: the real outcome must reach the server before anything else */
		if (f->n_owed)
			send_reports(f);
		rc = heartbeat(f, now);
	}
	return rc;
}

int fleet_run(struct fleet *f, volatile sig_atomic_t *stop)
{
	struct timespec ts = { 0, 200 * 1000000L };
	log_info("fleet: heartbeat mode: %s every %lld s as %s (service %s)", f->api_server,
		 (long long)(f->interval_ms / 1000), f->hostname, f->service);
	while (!*stop) {
		fleet_tick(f, time_mono_ms(), 0);
		nanosleep(&ts, NULL);
	}
	return 0;
}

static char *dup_s(const char *s)
{
	return strdup(s ? s : "");
}

struct fleet *fleet_new(const struct fleet_cfg *c)
{
	struct fleet *f;
	const char *ids[FLEET_MAX_OWED_REPORTS];
	size_t n;
	int err = ENOMEM;

	if (!c || !c->api_server || !c->state_dir || !c->ops.begin || !c->ops.request_stop ||
	    !c->ops.done || !c->ops.end || !c->id.hostname) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->api_server = dup_s(c->api_server);
	f->token = dup_s(c->token);
	f->hostname = dup_s(c->id.hostname);
	f->ip = dup_s(c->id.ip_address);
	f->service = dup_s(c->id.service_name);
	f->version = dup_s(c->id.agent_version);
	if (!f->api_server || !f->token || !f->hostname || !f->ip || !f->service || !f->version)
		goto fail;
	for (size_t k = strlen(f->api_server); k > 0 && f->api_server[k - 1] == '/'; k--)
		f->api_server[k - 1] = '\0';
	f->ident = (struct hb_identity){ f->hostname, f->ip, f->service, f->version };
	f->ops = c->ops;
	f->interval_ms = c->heartbeat_interval_ms > 0 ? c->heartbeat_interval_ms : 30000;
	f->def_duration = c->default_duration > 0 ? c->default_duration : 60;
	f->def_frequency = c->default_frequency > 0 ? c->default_frequency : 11;
	if (c->transport) {
		f->tr = *c->transport;
	} else {
		f->http = httpc_new(&c->http);
		if (!f->http) {
			err = errno;
			goto fail;
		}
		f->tr = httpc_transport(f->http);
	}
	f->cs = cmdstate_open(c->state_dir, CMDSTATE_DEFAULT_CAP);
	if (!f->cs) {
		err = errno;
		log_error("fleet: cannot read the command state under %s: %s", c->state_dir,
			  strerror(err));
		goto fail;
	}
	/* reports owed from before a restart: we cannot know how far those commands got */
	n = cmdstate_list(f->cs, CMD_EXECUTED, 0, ids, FLEET_MAX_OWED_REPORTS);
	for (size_t i = 0; i < n; i++) {
		struct owed *o = &f->owed[f->n_owed++];
		snprintf(o->id, sizeof(o->id), "%s", ids[i]);
		snprintf(o->err, sizeof(o->err), "agent restarted while the command was in progress");
	}
	if (n)
		log_info("fleet: %zu command(s) were in progress before a restart; reporting them failed", n);
	f->st.owed_reports = f->n_owed;
	n = cmdstate_list(f->cs, CMD_EXECUTED, 1, ids, 1);
	if (n)
		snprintf(f->last_command_id, sizeof(f->last_command_id), "%s", ids[0]);
	return f;
fail:
	fleet_free(f);
	errno = err;
	return NULL;
}

void fleet_free(struct fleet *f)
{
	if (!f)
		return;
	if (f->sess) {
		char err[256];
		int ok;
		end_session(f, time_mono_ms(), &ok, err, sizeof(err));
	}
	cmdstate_free(f->cs);
	httpc_free(f->http);
	free(f->api_server);
	free(f->token);
	free(f->hostname);
	free(f->ip);
	free(f->service);
	free(f->version);
	free(f);
}

void fleet_get_stats(const struct fleet *f, struct fleet_stats *out)
{
	*out = f->st;
}

// commandstate.js — what a profiling command is doing, as far as the commands API tells, and the
// actions on it: stop the host's profiling, open the profile a command produced.
//
// The server says pending -> sent -> completed | failed. "Sent" means the agent took the command
// at its heartbeat, and an agent starts at once, so a sent start is shown as running from
// sent_at for its duration (or for ever when continuous), then as finishing until the agent
// reports completion. These are estimates from sent_at; the server does not report the start.

import { api } from './api.js';
import { fmtTime, isoUtc, relTime } from './util.js';
import { hashOf } from './state.js';

function secs(s) {
	s = Math.max(0, Math.round(s));
	return s < 120 ? `${s} s` : s < 7200 ? `${Math.floor(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** {phase, label, detail}: phase is pending, running, finishing, sent, completed or failed. */
export function commandPhase(c, now = Date.now()) {
	const cfg = c.combined_config || {};
	const sent = Date.parse(c.sent_at);
	if (c.status === 'pending') return { phase: 'pending', label: 'pending', detail: 'waiting for the host\'s next heartbeat' };
	if (c.status === 'completed' || c.status === 'failed') return { phase: c.status, label: c.status, detail: c.error_message || '' };
	if (c.status !== 'sent' || c.command_type !== 'start' || !Number.isFinite(sent)) return { phase: c.status || 'sent', label: c.status || 'sent', detail: '' };
	if (cfg.continuous) return { phase: 'running', label: 'running', detail: `continuous, since ${fmtTime(c.sent_at)} (${secs((now - sent) / 1000)})`, since: sent };
	const dur = Number(cfg.duration) || 0;
	const end = sent + dur * 1000;
	if (now < end) {
		return { phase: 'running', label: 'running', since: sent, end,
			detail: `${secs((now - sent) / 1000)} of ${secs(dur)} · ends about ${fmtTime(isoUtc(end))}` };
	}
	return { phase: 'finishing', label: 'finishing', since: sent, end,
		detail: `expected end ${fmtTime(isoUtc(end))} (${relTime(isoUtc(end), now)}); waiting for the agent's report` };
}

/** True when the host may be profiling because of c (a start not finished). */
export function isActiveStart(c) {
	return c && c.command_type === 'start' && (c.status === 'pending' || c.status === 'sent');
}

/** Ask the host to stop profiling (the whole host). Returns the server's answer. */
export async function stopHost(service, hostname) {
	return api('/api/metrics/profile_request', { method: 'POST', body: { service_name: service, request_type: 'stop',
		stop_level: 'host', target_hosts: { [hostname]: null } } });
}

/** The Profiles view's address for what a completed start command profiled: its host from when
 * the agent took it to when it reported (whole minutes, as the server stores samples). */
export function profileLinkOf(c) {
	const a = Date.parse(c.sent_at || c.created_at), b = Date.parse(c.completed_at);
	if (c.command_type !== 'start' || c.status !== 'completed' || !Number.isFinite(a) || !Number.isFinite(b)) return null;
	const from = Math.floor(a / 60000) * 60000, to = Math.max(Math.ceil(b / 60000) * 60000, from + 60000);
	return hashOf('profiles', { service: c.service_name, host: c.hostname, from: isoUtc(from), to: isoUtc(to) });
}

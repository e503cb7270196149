// data.js — the queries more than one view makes: services, the hosts of a service (with the
// hosts that only upload), a profile's collapsed text and its metrics.

import { api } from './api.js';
import { isoUtc } from './util.js';

/** [{service_name, hosts, last_seen, last_profile}], by name. */
export async function loadServiceInfo() {
	const r = await api('/api/v1/services');
	return (r.services || []).filter((s) => s.service_name).sort((a, b) => (a.service_name < b.service_name ? -1 : 1));
}

export async function loadServices() {
	return (await loadServiceInfo()).map((s) => s.service_name);
}

const rangeQuery = ({ service, start, end, hostname, container }) => ({ service, start_datetime: isoUtc(start),
	end_datetime: isoUtc(end), hostname, container });

/** The merged collapsed text ("process;frame;...;leaf count" lines) for a selection. */
export async function fetchCollapsed(sel, signal) {
	return api('/api/v1/flamegraph', { text: true, signal, query: { ...rangeQuery(sel), format: 'collapsed_file' } });
}

/** cpu_avg and mem_avg per uploaded profile: {metrics: [{hostname, time, cpu_avg, mem_avg}]}. */
export async function fetchMetrics(sel, signal) {
	return api('/api/v1/metrics', { signal, query: rangeQuery(sel) });
}

/** Every host of service that heartbeats, plus those that only upload (seen in the metrics of
 * start..end; the server lists heartbeating hosts only): [{hostname, uploadOnly}] by name. */
export async function loadHosts(service, start, end) {
	const [st, m] = await Promise.all([
		api('/api/metrics/profiling/host_status', { query: { service_name: service } }),
		Number.isFinite(start) ? fetchMetrics({ service, start, end }).catch(() => ({ metrics: [] })) : { metrics: [] },
	]);
	const hb = new Set((st.hosts || []).map((x) => x.hostname));
	const all = new Map([...hb].map((n) => [n, { hostname: n, uploadOnly: false }]));
	for (const p of m.metrics || []) if (p.hostname && !all.has(p.hostname)) all.set(p.hostname, { hostname: p.hostname, uploadOnly: true });
	return [...all.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
}

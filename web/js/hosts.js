// hosts.js — the fleet: every host that sent anything, with how it reports (heartbeats, or
// uploads only), whether it is profiling, its current command and a Stop button; select hosts (or
// a whole service) and start or stop profiling. Polls while shown so states update without reload.

import { api } from './api.js';
import { h, relTime, fmtTime, setMsg, statusLine, fillSelect, badge, isoUtc } from './util.js';
import { loadServices, loadServiceInfo } from './data.js';
import { commandPhase, isActiveStart, stopHost } from './commandstate.js';
import { go } from './state.js';

export { badge, fillSelect } from './util.js';
export { loadServices } from './data.js';

const POLL_MS = 2000;
const UPLOADERS_MS = 30000;     // how often the (heavier) upload-only host search runs
const UPLOADERS_WINDOW = 86400e3;
const MODES = [
	['cpu', 'cpu'],
	// the server does not say yet which agents take it: fleetprof's refuses it (gProfiler's Java agents take it)
	['allocation', 'allocation (gProfiler agents only)'],
	['none', 'none'],
];
const COLS = ['Host', 'Service', 'IP', 'Agent', 'Reports', 'Last heard', 'Status', 'Command', 'Command status', ''];

export class HostsView {
	constructor(root) {
		this.root = root;
		this.selected = new Set();
		this.rows = new Map();
		this.hosts = [];
		this.uploaders = [];
		this.commands = new Map();
		this.timer = null;
		this.service = h('select', { name: 'service', 'aria-label': 'Service', on: { change: () => { this.save(); this.refresh(true); } } });
		this.filter = h('input', { type: 'search', name: 'filter', placeholder: 'Filter hosts (name, IP, version…)',
			'aria-label': 'Filter hosts', on: { input: () => { this.save(); this.renderRows(); } } });
		this.summary = h('span.summary', { role: 'status' });
		this.selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all shown hosts',
			on: { change: () => this.toggleAll(this.selectAll.checked) } });
		this.tbody = h('tbody');
		this.empty = h('div.empty', { hidden: true });
		this.err = statusLine();
		this.actionMsg = statusLine();
		root.append(
			h('div.toolbar', {}, h('h1', { text: 'Hosts' }), this.service, this.filter, this.summary),
			this.err, this.actionMsg,
			h('div.card.scroll', {}, h('table.hosts', {},
				h('thead', {}, h('tr', {}, h('th', {}, this.selectAll), ...COLS.map((t) => h('th', { scope: 'col', text: t })))),
				this.tbody), this.empty),
			this.requestForm());
	}

	save() {
		const p = new URLSearchParams();
		if (this.service.value) p.set('service', this.service.value);
		if (this.filter.value) p.set('filter', this.filter.value);
		go('hosts', p);
	}

	requestForm() {
		const f = (this.form = {});
		f.target = h('select', { name: 'target', 'aria-label': 'Target',
			on: { change: () => this.updateForm() } },
		h('option', { value: 'selected', text: 'Selected hosts' }),
		h('option', { value: 'service', text: 'Every active host of a service' }));
		f.targetService = h('select', { name: 'target-service', 'aria-label': 'Target service' });
		f.type = h('select', { name: 'request_type', 'aria-label': 'Action', on: { change: () => this.updateForm() } },
			h('option', { value: 'start', text: 'Start profiling' }), h('option', { value: 'stop', text: 'Stop profiling' }));
		f.duration = h('input', { type: 'number', name: 'duration', min: 1, max: 86400, value: 60, required: true });
		f.frequency = h('input', { type: 'number', name: 'frequency', min: 1, max: 1000, value: 11, required: true });
		f.mode = h('select', { name: 'profiling_mode' }, MODES.map(([v, t]) => h('option', { value: v, text: t })));
		f.continuous = h('input', { type: 'checkbox', name: 'continuous' });
		f.stopLevel = h('select', { name: 'stop_level' }, h('option', { value: 'host', text: 'whole host' }), h('option', { value: 'process', text: 'processes' }));
		f.count = h('span.count');
		f.submit = h('button', { type: 'submit', text: 'Start profiling' });
		f.msg = statusLine();
		const lab = (text, el) => h('label', {}, h('span', { text }), el);
		f.startOnly = h('span.fields', {}, lab('Duration (s)', f.duration), lab('Frequency (Hz)', f.frequency),
			lab('Mode', f.mode), h('label.check', {}, f.continuous, h('span', { text: 'Continuous' })));
		f.stopOnly = h('span.fields', { hidden: true }, lab('Stop', f.stopLevel));
		const form = h('form.card.request', { on: { submit: (e) => { e.preventDefault(); this.submit(); } } },
			h('h2', { text: 'Profiling request' }),
			h('div.row', {}, lab('Action', f.type), lab('Target', f.target), f.targetService, f.count),
			h('div.row', {}, f.startOnly, f.stopOnly, f.submit), f.msg);
		return form;
	}

	updateForm() {
		const f = this.form;
		const stop = f.type.value === 'stop';
		f.startOnly.hidden = stop;
		f.stopOnly.hidden = !stop;
		f.submit.textContent = stop ? 'Stop profiling' : 'Start profiling';
		const bySvc = f.target.value === 'service';
		f.targetService.hidden = !bySvc;
		f.count.textContent = bySvc ? '' : `${this.selected.size} host${this.selected.size === 1 ? '' : 's'} selected`;
	}

	async show(params) {
		this.updateForm();
		try {
			const services = await loadServices();
			fillSelect(this.service, services, { all: 'All services' });
			fillSelect(this.form.targetService, services);
		} catch (e) { setMsg(this.err, `Cannot list services: ${e.message}`, 'error'); }
		if (params) {
			const svc = params.get('service') || '';
			if (svc && ![...this.service.options].some((o) => o.value === svc)) this.service.append(h('option', { value: svc, text: svc }));
			this.service.value = svc;
			this.filter.value = params.get('filter') || '';
		}
		await this.refresh(true);
		clearInterval(this.timer);
		this.timer = setInterval(() => this.refresh(false), POLL_MS);
	}

	hide() { clearInterval(this.timer); this.timer = null; }

	tzChanged() { this.renderRows(); }

	async refresh(full) {
		const svc = this.service.value;
		try {
			const [r, c] = await Promise.all([
				api('/api/metrics/profiling/host_status', { query: { service_name: svc } }),
				api('/api/metrics/commands', { query: { service_name: svc, limit: 500 } }).catch(() => ({ commands: [] }))]);
			this.hosts = r.hosts || [];
			this.counts = { active: r.active_count ?? 0, total: r.total_count ?? this.hosts.length };
			this.commands = new Map((c.commands || []).map((x) => [x.command_id, x]));
			if (this.err.textContent.startsWith('Cannot load hosts')) setMsg(this.err, '');
		} catch (e) {
			setMsg(this.err, `Cannot load hosts: ${e.message}`, 'error');
			return;
		}
		if (full || !this.uploadersAt || Date.now() - this.uploadersAt > UPLOADERS_MS) await this.findUploaders();
		this.renderRows();
	}

	/** Hosts that upload without heartbeats: the server lists heartbeating hosts only, so look for
	 * hosts in each service's profiles of the last 24 hours. */
	async findUploaders() {
		this.uploadersAt = Date.now();
		const svc = this.service.value;
		try {
			const info = (await loadServiceInfo()).filter((s) => !svc || s.service_name === svc);
			const now = Date.now();
			const found = new Map();
			await Promise.all(info.filter((s) => s.last_profile && now - Date.parse(s.last_profile) < UPLOADERS_WINDOW).map(async (s) => {
				const m = await api('/api/v1/metrics', { query: { service: s.service_name, start_datetime: isoUtc(now - UPLOADERS_WINDOW),
					end_datetime: isoUtc(now + 60e3) } });
				for (const p of m.metrics || []) {
					const key = `${s.service_name}\u0000${p.hostname}`;
					const t = Date.parse(p.time);
					if (!found.has(key) || found.get(key).t < t) found.set(key, { service_name: s.service_name, hostname: p.hostname, t });
				}
			}));
			this.uploaders = [...found.values()];
		} catch {
			// a best effort: the heartbeating hosts are still listed
		}
	}

	/** Every host to list: heartbeating ones from the server, then those seen only in uploads. */
	allHosts() {
		const known = new Set(this.hosts.map((x) => `${x.service_name}\u0000${x.hostname}`));
		const up = new Map(this.uploaders.map((u) => [`${u.service_name}\u0000${u.hostname}`, u]));
		const list = this.hosts.map((x) => ({ ...x, reports: up.has(`${x.service_name}\u0000${x.hostname}`) ? 'heartbeat + uploads' : 'heartbeat' }));
		for (const [key, u] of up) {
			if (known.has(key)) continue;
			list.push({ hostname: u.hostname, service_name: u.service_name, status: 'uploadonly', reports: 'uploads only',
				last_upload: new Date(u.t).toISOString() });
		}
		return list.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : a.service_name < b.service_name ? -1 : 1));
	}

	shown() {
		const q = this.filter.value.trim().toLowerCase();
		return this.allHosts().filter((x) => !q || [x.hostname, x.service_name, x.ip_address, x.agent_version, x.status, x.reports]
			.some((v) => String(v ?? '').toLowerCase().includes(q)));
	}

	/** The status to show: heartbeating or profiling for an active host. */
	statusOf(x, cmd) {
		if (x.status === 'uploadonly') return ['uploadonly', 'upload only'];
		if (x.status !== 'active') return [x.status || 'offline', x.status || 'offline'];
		const p = cmd ? commandPhase(cmd) : null;
		return p && (p.phase === 'running' || p.phase === 'finishing') ? ['profiling', 'profiling'] : ['heartbeating', 'heartbeating'];
	}

	renderRows() {
		const list = this.shown();
		const seen = new Set();
		for (const x of list) {
			const key = `${x.service_name}\u0000${x.hostname}`;
			seen.add(key);
			let row = this.rows.get(key);
			if (!row) {
				const cb = h('input', { type: 'checkbox', 'aria-label': `Select ${x.hostname}`,
					on: { change: () => { if (cb.checked) this.selected.add(key); else this.selected.delete(key); this.updateForm(); } } });
				row = { tr: h('tr', { 'data-host': x.hostname, 'data-service': x.service_name }), cb, cells: [] };
				row.cells = Array.from({ length: COLS.length }, () => h('td'));
				row.tr.append(h('td', {}, cb), ...row.cells);
				this.rows.set(key, row);
			}
			const upOnly = x.status === 'uploadonly';
			row.cb.disabled = upOnly; // no heartbeat: it cannot take commands
			if (upOnly) this.selected.delete(key);
			row.cb.checked = this.selected.has(key);
			const cmd = x.command_id ? this.commands.get(x.command_id) : null;
			const [st, stLabel] = this.statusOf(x, cmd);
			const c = row.cells;
			c[0].textContent = x.hostname;
			c[1].textContent = x.service_name ?? '';
			c[2].textContent = x.ip_address ?? '';
			c[3].textContent = x.agent_version ?? '';
			c[4].textContent = x.reports;
			const heard = x.last_heartbeat || x.last_upload;
			c[5].textContent = relTime(heard);
			c[5].title = `${x.last_heartbeat ? 'last heartbeat' : 'last upload'} ${fmtTime(heard)}`;
			c[6].replaceChildren(badge(st, stLabel));
			c[7].textContent = x.command_id ? `${x.command_type ?? ''} ${x.command_id.slice(0, 8)}` : '–';
			c[7].title = x.command_id || '';
			c[8].replaceChildren(...this.commandCell(x, cmd));
			c[9].replaceChildren(...this.actions(x, cmd));
			row.tr.dataset.status = x.status ?? '';
			row.tr.dataset.shown = st;
			row.tr.dataset.commandStatus = x.command_status ?? '';
		}
		for (const [key, row] of this.rows) if (!seen.has(key)) { row.tr.remove(); this.rows.delete(key); }
		// order as listed, keeping elements (and keyboard focus) in place where possible
		let prev = null;
		for (const x of list) {
			const tr = this.rows.get(`${x.service_name}\u0000${x.hostname}`).tr;
			const want = prev ? prev.nextSibling : this.tbody.firstChild;
			if (want !== tr) this.tbody.insertBefore(tr, want);
			prev = tr;
		}
		this.renderEmpty(list.length);
		const sel = list.filter((x) => x.status !== 'uploadonly');
		this.selectAll.checked = sel.length > 0 && sel.every((x) => this.selected.has(`${x.service_name}\u0000${x.hostname}`));
		const c = this.counts || { active: 0, total: 0 };
		const up = list.filter((x) => x.status === 'uploadonly').length;
		this.summary.textContent = `${list.length} shown · ${c.active} active of ${c.total} heartbeating${up ? ` · ${up} upload only` : ''}`;
	}

	/** The command's state, with its reason when it failed and its timing while it runs. */
	commandCell(x, cmd) {
		if (!x.command_id) return [];
		const p = cmd ? commandPhase(cmd) : { phase: x.command_status, label: x.command_status, detail: '' };
		const out = [badge(p.phase, p.label)];
		if (p.detail) out.push(h(`span.detail${p.phase === 'failed' ? '.err' : ''}`, { text: p.detail }));
		return out;
	}

	actions(x, cmd) {
		if (x.status === 'uploadonly' || !isActiveStart(cmd || { command_type: x.command_type, status: x.command_status })) return [];
		// the same button across polls, so a click is never lost to a redraw
		this.stopBtns ??= new Map();
		const key = `${x.service_name}\u0000${x.hostname}\u0000${x.command_id}`;
		if (!this.stopBtns.has(key)) {
			this.stopBtns.set(key, h('button.ghost.small', { type: 'button', text: 'Stop', 'aria-label': `Stop profiling ${x.hostname}`,
				on: { click: async (e) => {
					e.target.disabled = true;
					try {
						await stopHost(x.service_name, x.hostname);
						setMsg(this.actionMsg, `Stop sent to ${x.hostname}; it takes effect at its next heartbeat.`, 'ok');
					} catch (err) {
						setMsg(this.actionMsg, `Cannot stop ${x.hostname}: ${err.message}`, 'error');
					}
					this.refresh(false);
				} } }));
		}
		return [this.stopBtns.get(key)];
	}

	/** No host at all: how to get the first one. */
	renderEmpty(shown) {
		this.empty.hidden = shown > 0;
		if (shown > 0) return;
		if (this.hosts.length || this.uploaders.length || this.filter.value) {
			this.empty.replaceChildren(h('p', { text: 'No hosts match the filter.' }));
			return;
		}
		const svc = this.service.value || 'my-service';
		const origin = location.origin;
		this.empty.replaceChildren(
			h('h2', { text: this.service.value ? `No hosts in ${svc} yet` : 'No hosts yet' }),
			h('p', { text: 'Hosts appear here after an agent\'s first heartbeat or upload. On each host, as root, run the agent so that it waits for commands from here:' }),
			h('pre.cmd', { text: `fleetprof-agent --enable-heartbeat-server --server-host ${origin} --token $AGENT_TOKEN --service-name ${svc}` }),
			h('p', { text: 'or so that it profiles all the time and uploads:' }),
			h('pre.cmd', { text: `fleetprof-agent -c -u --server-host ${origin} --token $AGENT_TOKEN --service-name ${svc}` }),
			h('p.note', { text: '$AGENT_TOKEN is the agent token from the server\'s tokens file (--agent-token), not the admin token you signed in with.' }));
	}

	toggleAll(on) {
		for (const x of this.shown()) {
			if (x.status === 'uploadonly') continue;
			const key = `${x.service_name}\u0000${x.hostname}`;
			if (on) this.selected.add(key); else this.selected.delete(key);
		}
		this.renderRows();
		this.updateForm();
	}

	async submit() {
		const f = this.form;
		const type = f.type.value;
		const base = { request_type: type, continuous: f.continuous.checked, duration: Number(f.duration.value),
			frequency: Number(f.frequency.value), profiling_mode: f.mode.value };
		if (type === 'stop') base.stop_level = f.stopLevel.value;
		const groups = new Map(); // service -> target_hosts
		if (f.target.value === 'service') {
			if (!f.targetService.value) { setMsg(f.msg, 'Choose a service.', 'error'); return; }
			groups.set(f.targetService.value, null);
		} else {
			for (const key of this.selected) {
				const [svc, host] = key.split('\u0000');
				if (!groups.has(svc)) groups.set(svc, {});
				groups.get(svc)[host] = null;
			}
			if (!groups.size) { setMsg(f.msg, 'Select at least one host, or target a whole service.', 'error'); return; }
		}
		f.submit.disabled = true;
		const done = [];
		try {
			for (const [svc, targets] of groups) {
				const body = { service_name: svc, ...base };
				if (targets) body.target_hosts = targets;
				const r = await api('/api/metrics/profile_request', { method: 'POST', body });
				done.push(`${svc}: request ${String(r.request_id ?? '').slice(0, 8)}, ${(r.command_ids || []).length} command(s)`);
			}
			setMsg(f.msg, `${type === 'stop' ? 'Stop' : 'Start'} sent — ${done.join('; ')}. Status below updates as agents pick it up.`, 'ok');
		} catch (e) {
			setMsg(f.msg, `Request failed${done.length ? ` after ${done.join('; ')}` : ''}: ${e.message}`, 'error');
		} finally {
			f.submit.disabled = false;
		}
		this.refresh(false);
	}
}

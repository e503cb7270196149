// hosts.js — the fleet: every host with its state and current command; select hosts (or a whole
// service) and start or stop profiling. Polls while shown so command status updates without reload.

import { api } from './api.js';
import { h, relTime, fmtTime, setMsg, statusLine } from './util.js';

const POLL_MS = 2000;

export function badge(status) {
	return h(`span.badge.st-${(status || 'none').replace(/[^a-z]/g, '')}`, { text: status || '–' });
}

export async function loadServices() {
	const r = await api('/api/v1/services');
	return (r.services || []).map((s) => s.service_name).filter(Boolean).sort();
}

export function fillSelect(sel, values, { all } = {}) {
	const keep = sel.value;
	sel.replaceChildren(...(all ? [h('option', { value: '', text: all })] : []),
		...values.map((v) => h('option', { value: v, text: v })));
	if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

export class HostsView {
	constructor(root) {
		this.root = root;
		this.selected = new Set();
		this.rows = new Map();
		this.hosts = [];
		this.timer = null;
		this.service = h('select', { name: 'service', 'aria-label': 'Service', on: { change: () => this.refresh() } });
		this.filter = h('input', { type: 'search', name: 'filter', placeholder: 'Filter hosts (name, IP, version…)',
			'aria-label': 'Filter hosts', on: { input: () => this.renderRows() } });
		this.summary = h('span.summary', { role: 'status' });
		this.selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all shown hosts',
			on: { change: () => this.toggleAll(this.selectAll.checked) } });
		this.tbody = h('tbody');
		this.empty = h('p.empty', { hidden: true, text: 'No hosts match. Hosts appear here after their first heartbeat.' });
		this.err = statusLine();
		root.append(
			h('div.toolbar', {}, h('h1', { text: 'Hosts' }), this.service, this.filter, this.summary),
			this.err,
			h('div.card.scroll', {}, h('table.hosts', {},
				h('thead', {}, h('tr', {}, h('th', {}, this.selectAll),
					...['Host', 'Service', 'IP', 'Agent', 'Last heartbeat', 'Status', 'Command', 'Command status']
						.map((t) => h('th', { scope: 'col', text: t })))),
				this.tbody), this.empty),
			this.requestForm());
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
		f.mode = h('select', { name: 'profiling_mode' }, ['cpu', 'allocation', 'none'].map((m) => h('option', { value: m, text: m })));
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

	async show() {
		this.updateForm();
		try {
			const services = await loadServices();
			fillSelect(this.service, services, { all: 'All services' });
			fillSelect(this.form.targetService, services);
		} catch (e) { setMsg(this.err, `Cannot list services: ${e.message}`, 'error'); }
		await this.refresh();
		clearInterval(this.timer);
		this.timer = setInterval(() => this.refresh(), POLL_MS);
	}

	hide() { clearInterval(this.timer); this.timer = null; }

	async refresh() {
		try {
			const r = await api('/api/metrics/profiling/host_status', { query: { service_name: this.service.value } });
			this.hosts = r.hosts || [];
			this.counts = { active: r.active_count ?? 0, total: r.total_count ?? this.hosts.length };
			if (this.err.textContent.startsWith('Cannot load hosts')) setMsg(this.err, '');
		} catch (e) {
			setMsg(this.err, `Cannot load hosts: ${e.message}`, 'error');
			return;
		}
		this.renderRows();
	}

	shown() {
		const q = this.filter.value.trim().toLowerCase();
		return this.hosts.filter((x) => !q || [x.hostname, x.service_name, x.ip_address, x.agent_version, x.status]
			.some((v) => String(v ?? '').toLowerCase().includes(q)));
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
				row = { tr: h('tr', { 'data-host': x.hostname }), cb, cells: [] };
				row.cells = Array.from({ length: 8 }, () => h('td'));
				row.tr.append(h('td', {}, cb), ...row.cells);
				this.rows.set(key, row);
			}
			row.cb.checked = this.selected.has(key);
			const c = row.cells;
			c[0].textContent = x.hostname;
			c[1].textContent = x.service_name ?? '';
			c[2].textContent = x.ip_address ?? '';
			c[3].textContent = x.agent_version ?? '';
			c[4].textContent = relTime(x.last_heartbeat);
			c[4].title = fmtTime(x.last_heartbeat);
			c[5].replaceChildren(badge(x.status));
			c[6].textContent = x.command_id ? `${x.command_type ?? ''} ${x.command_id.slice(0, 8)}` : '–';
			c[6].title = x.command_id || '';
			c[7].replaceChildren(x.command_id ? badge(x.command_status) : '');
			row.tr.dataset.status = x.status ?? '';
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
		this.empty.hidden = list.length > 0;
		this.selectAll.checked = list.length > 0 && list.every((x) => this.selected.has(`${x.service_name}\u0000${x.hostname}`));
		const c = this.counts || { active: 0, total: 0 };
		this.summary.textContent = `${list.length} shown · ${c.active} active of ${c.total}`;
	}

	toggleAll(on) {
		for (const x of this.shown()) {
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
		this.refresh();
	}
}

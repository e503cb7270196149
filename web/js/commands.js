// commands.js — profiling commands history, newest first: state (running with elapsed time and
// expected end while it runs), timing, a failure's reason, a Stop button while a start runs, and a
// link to the profile a completed start produced. Paged; polls; the filters are in the address.

import { api } from './api.js';
import { h, fmtTime, relTime, setMsg, statusLine, fillSelect, badge } from './util.js';
import { loadServices } from './data.js';
import { commandPhase, isActiveStart, stopHost, profileLinkOf } from './commandstate.js';
import { go } from './state.js';

const PAGE = 50;
const POLL_MS = 3000;

function dur(a, b) {
	const x = Date.parse(a), y = Date.parse(b);
	if (!Number.isFinite(x) || !Number.isFinite(y)) return '–';
	const s = Math.max(0, (y - x) / 1000);
	return s < 120 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

export class CommandsView {
	constructor(root) {
		this.root = root;
		this.offset = 0;
		this.service = h('select', { name: 'service', 'aria-label': 'Service', on: { change: () => { this.offset = 0; this.save(); this.refresh(); } } });
		this.host = h('input', { type: 'search', name: 'hostname', placeholder: 'Exact hostname', 'aria-label': 'Hostname',
			on: { change: () => { this.offset = 0; this.save(); this.refresh(); } } });
		this.summary = h('span.summary', { role: 'status' });
		this.prev = h('button.ghost', { type: 'button', text: '‹ Newer', on: { click: () => { this.offset = Math.max(0, this.offset - PAGE); this.save(true); this.refresh(); } } });
		this.next = h('button.ghost', { type: 'button', text: 'Older ›', on: { click: () => { this.offset += PAGE; this.save(true); this.refresh(); } } });
		this.tbody = h('tbody');
		this.msg = statusLine();
		this.actionMsg = statusLine();
		root.append(h('div.toolbar', {}, h('h1', { text: 'Commands' }), this.service, this.host, this.summary, this.prev, this.next),
			this.msg, this.actionMsg,
			h('div.card.scroll', {}, h('table.commands', {}, h('thead', {}, h('tr', {},
				...['Created', 'Host', 'Service', 'Type', 'Status', 'Config', 'Delivered after', 'Finished after', 'Run time', 'Command', 'Details', '']
					.map((t) => h('th', { scope: 'col', text: t })))), this.tbody)));
	}

	save(push = false) {
		const p = new URLSearchParams();
		if (this.service.value) p.set('service', this.service.value);
		if (this.host.value.trim()) p.set('host', this.host.value.trim());
		if (this.offset) p.set('offset', String(this.offset));
		go('commands', p, { push });
	}

	async show(params) {
		try { fillSelect(this.service, await loadServices(), { all: 'All services' }); } catch (e) {
			setMsg(this.msg, `Cannot list services: ${e.message}`, 'error');
		}
		if (params) {
			const svc = params.get('service') || '';
			if (svc && ![...this.service.options].some((o) => o.value === svc)) this.service.append(h('option', { value: svc, text: svc }));
			this.service.value = svc;
			this.host.value = params.get('host') || '';
			this.offset = Math.max(0, Number(params.get('offset')) || 0);
		}
		await this.refresh();
		clearInterval(this.timer);
		this.timer = setInterval(() => this.refresh(), POLL_MS);
	}

	hide() { clearInterval(this.timer); this.timer = null; }

	tzChanged() { this.refresh(); }

	async refresh() {
		let r;
		try {
			r = await api('/api/metrics/commands', { query: { service_name: this.service.value, hostname: this.host.value.trim(),
				limit: PAGE, offset: this.offset } });
		} catch (e) { setMsg(this.msg, `Cannot load commands: ${e.message}`, 'error'); return; }
		setMsg(this.msg, '');
		const list = r.commands || [];
		const total = r.total ?? list.length;
		this.summary.textContent = total ? `${this.offset + 1}–${this.offset + list.length} of ${total}` : 'No commands yet';
		this.prev.disabled = this.offset === 0;
		this.next.disabled = this.offset + list.length >= total;
		// the newest start per host is the one a Stop acts on
		const newest = new Set();
		const seenHost = new Set();
		for (const c of list) {
			const k = `${c.service_name}\u0000${c.hostname}`;
			if (!seenHost.has(k)) { seenHost.add(k); newest.add(c.command_id); }
		}
		this.tbody.replaceChildren(...list.map((c) => this.row(c, newest.has(c.command_id))));
		if (!list.length) {
			this.tbody.append(h('tr', {}, h('td', { colspan: 12 }, 'No commands yet. Start profiling from the ',
				h('a', { href: '#/hosts', text: 'Hosts' }), ' page.')));
		}
	}

	row(c, newestForHost) {
		const cfg = c.combined_config || {};
		const cfgText = c.command_type === 'stop' ? (cfg.stop_level ? `stop ${cfg.stop_level}` : '')
			: [cfg.duration ? `${cfg.duration} s` : '', cfg.frequency ? `${cfg.frequency} Hz` : '', cfg.profiling_mode || '', cfg.continuous ? 'continuous' : '']
				.filter(Boolean).join(', ');
		const p = commandPhase(c);
		const link = profileLinkOf(c);
		const details = [];
		if (p.detail) details.push(h(`span${p.phase === 'failed' ? '.err' : ''}`, { text: p.detail }));
		if (link) details.push(h('a.profile-link', { href: link, text: 'Profile ›', title: 'The profile this command produced (the host, from delivery to completion)' }));
		const actions = [];
		if (newestForHost && isActiveStart(c)) {
			// the same button across polls, so a click is never lost to a redraw
			this.stopBtns ??= new Map();
			if (!this.stopBtns.has(c.command_id)) {
				this.stopBtns.set(c.command_id, h('button.ghost.small', { type: 'button', text: 'Stop', 'aria-label': `Stop profiling ${c.hostname}`,
					on: { click: async (e) => {
						e.target.disabled = true;
						try {
							await stopHost(c.service_name, c.hostname);
							setMsg(this.actionMsg, `Stop sent to ${c.hostname}; it takes effect at its next heartbeat.`, 'ok');
						} catch (err) { setMsg(this.actionMsg, `Cannot stop ${c.hostname}: ${err.message}`, 'error'); }
						this.refresh();
					} } }));
			}
			actions.push(this.stopBtns.get(c.command_id));
		}
		return h('tr', { 'data-command': c.command_id, 'data-status': c.status, 'data-phase': p.phase },
			h('td', { text: relTime(c.created_at), title: fmtTime(c.created_at) }),
			h('td', { text: c.hostname }), h('td', { text: c.service_name }), h('td', { text: c.command_type }),
			h('td', {}, badge(p.phase, p.label)), h('td', { text: cfgText }),
			h('td', { text: c.sent_at ? dur(c.created_at, c.sent_at) : '–' }),
			h('td', { text: c.completed_at ? dur(c.created_at, c.completed_at) : '–' }),
			h('td', { text: Number.isFinite(c.execution_time) ? `${c.execution_time.toFixed(1)} s` : '–' }),
			h('td.mono', { text: String(c.command_id).slice(0, 8), title: c.command_id }),
			h('td.details', {}, ...details), h('td', {}, ...actions));
	}
}

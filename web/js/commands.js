// commands.js — profiling commands history, newest first, with status and timing; paged; polls.

import { api } from './api.js';
import { h, fmtTime, relTime, setMsg, statusLine } from './util.js';
import { badge, loadServices, fillSelect } from './hosts.js';

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
		this.service = h('select', { name: 'service', 'aria-label': 'Service', on: { change: () => { this.offset = 0; this.refresh(); } } });
		this.host = h('input', { type: 'search', name: 'hostname', placeholder: 'Exact hostname', 'aria-label': 'Hostname',
			on: { change: () => { this.offset = 0; this.refresh(); } } });
		this.summary = h('span.summary', { role: 'status' });
		this.prev = h('button.ghost', { type: 'button', text: '‹ Newer', on: { click: () => { this.offset = Math.max(0, this.offset - PAGE); this.refresh(); } } });
		this.next = h('button.ghost', { type: 'button', text: 'Older ›', on: { click: () => { this.offset += PAGE; this.refresh(); } } });
		this.tbody = h('tbody');
		this.msg = statusLine();
		root.append(h('div.toolbar', {}, h('h1', { text: 'Commands' }), this.service, this.host, this.summary, this.prev, this.next),
			this.msg,
			h('div.card.scroll', {}, h('table.commands', {}, h('thead', {}, h('tr', {},
				...['Created', 'Host', 'Service', 'Type', 'Status', 'Config', 'Delivered after', 'Finished after', 'Run time', 'Command', 'Error']
					.map((t) => h('th', { scope: 'col', text: t })))), this.tbody)));
	}

	async show() {
		try { fillSelect(this.service, await loadServices(), { all: 'All services' }); } catch (e) {
			setMsg(this.msg, `Cannot list services: ${e.message}`, 'error');
		}
		await this.refresh();
		clearInterval(this.timer);
		this.timer = setInterval(() => this.refresh(), POLL_MS);
	}

	hide() { clearInterval(this.timer); this.timer = null; }

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
		this.tbody.replaceChildren(...list.map((c) => {
			const cfg = c.combined_config || {};
			const cfgText = c.command_type === 'stop' ? (cfg.stop_level ? `stop ${cfg.stop_level}` : '')
				: [cfg.duration ? `${cfg.duration} s` : '', cfg.frequency ? `${cfg.frequency} Hz` : '', cfg.profiling_mode || '', cfg.continuous ? 'continuous' : '']
					.filter(Boolean).join(', ');
			return h('tr', { 'data-command': c.command_id, 'data-status': c.status },
				h('td', { text: relTime(c.created_at), title: fmtTime(c.created_at) }),
				h('td', { text: c.hostname }), h('td', { text: c.service_name }), h('td', { text: c.command_type }),
				h('td', {}, badge(c.status)), h('td', { text: cfgText }),
				h('td', { text: c.sent_at ? dur(c.created_at, c.sent_at) : '–' }),
				h('td', { text: c.completed_at ? dur(c.created_at, c.completed_at) : '–' }),
				h('td', { text: Number.isFinite(c.execution_time) ? `${c.execution_time.toFixed(1)} s` : '–' }),
				h('td.mono', { text: String(c.command_id).slice(0, 8), title: c.command_id }),
				h('td.err', { text: c.error_message || '' }));
		}));
	}
}

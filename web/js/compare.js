// compare.js — two time ranges, or two hosts, as a differential flame graph plus the functions
// whose share of samples changed most.

import { h, rangePicker, setMsg, statusLine, fmtTime } from './util.js';
import { buildTree, topFunctions, fmtNum } from './flame.js';
import { GraphPanel } from './graphpanel.js';
import { loadServices, fillSelect } from './hosts.js';
import { fetchCollapsed, loadHosts } from './profiles.js';

export class CompareView {
	constructor(root) {
		this.root = root;
		this.service = h('select', { name: 'service', 'aria-label': 'Service', on: { change: () => this.serviceChanged() } });
		this.mode = h('select', { name: 'mode', 'aria-label': 'Compare', on: { change: () => this.modeChanged() } },
			h('option', { value: 'ranges', text: 'Two time ranges' }), h('option', { value: 'hosts', text: 'Two hosts' }));
		this.host = h('select', { name: 'hostname', 'aria-label': 'Host' });
		this.hostA = h('select', { name: 'host-a', 'aria-label': 'Host A' });
		this.hostB = h('select', { name: 'host-b', 'aria-label': 'Host B' });
		this.rangeA = rangePicker('a', 'custom');
		this.rangeB = rangePicker('b', '1h');
		const now = Date.now();
		this.rangeA.set('custom', now - 2 * 3600e3, now - 3600e3);
		this.range = rangePicker('both', '1h');
		const lab = (t, ...els) => h('label.inline', {}, h('span', { text: t }), ...els);
		this.rangesRow = h('div.row', {}, lab('Host', this.host), lab('A', this.rangeA.el), lab('B', this.rangeB.el));
		this.hostsRow = h('div.row', { hidden: true }, lab('A', this.hostA), lab('B', this.hostB), lab('Range', this.range.el));
		this.btn = h('button', { type: 'submit', text: 'Compare' });
		this.msg = statusLine();
		this.summary = h('p.summary', { role: 'status' });
		this.panel = new GraphPanel({ diff: true, name: 'fleetprof-diff' });
		this.changes = h('tbody');
		this.result = h('div', { hidden: true }, this.summary, h('div.card', {}, this.panel.el),
			h('div.card', {}, h('h2', { text: 'Biggest changes (share of all samples)' }),
				h('table.changes', {}, h('thead', {}, h('tr', {}, ...['Function', 'A', 'B', 'Change'].map((t) => h('th', { scope: 'col', text: t })))), this.changes)));
		root.append(h('form.card.compare', { on: { submit: (e) => { e.preventDefault(); this.load(); } } },
			h('div.row', {}, h('h1', { text: 'Compare' }), this.service, this.mode),
			this.rangesRow, this.hostsRow, h('div.row', {}, this.btn)), this.msg, this.result);
	}

	async show() {
		try {
			fillSelect(this.service, await loadServices());
			await this.serviceChanged();
		} catch (e) { setMsg(this.msg, `Cannot list services: ${e.message}`, 'error'); }
	}

	async serviceChanged() {
		if (!this.service.value) return;
		try {
			const hosts = await loadHosts(this.service.value);
			fillSelect(this.host, hosts, { all: 'All hosts' });
			fillSelect(this.hostA, hosts);
			fillSelect(this.hostB, hosts);
			if (hosts.length > 1 && this.hostB.value === this.hostA.value) this.hostB.value = hosts[1];
		} catch (e) { setMsg(this.msg, `Cannot list hosts: ${e.message}`, 'error'); }
	}

	modeChanged() {
		const hosts = this.mode.value === 'hosts';
		this.rangesRow.hidden = hosts;
		this.hostsRow.hidden = !hosts;
	}

	async load() {
		const service = this.service.value;
		if (!service) { setMsg(this.msg, 'Choose a service.', 'error'); return; }
		let a, b, la, lb;
		try {
			if (this.mode.value === 'hosts') {
				const r = this.range.get();
				a = { service, ...r, hostname: this.hostA.value };
				b = { service, ...r, hostname: this.hostB.value };
				la = a.hostname; lb = b.hostname;
			} else {
				a = { service, ...this.rangeA.get(), hostname: this.host.value };
				b = { service, ...this.rangeB.get(), hostname: this.host.value };
				la = `${fmtTime(a.start / 1000)} – ${fmtTime(a.end / 1000)}`;
				lb = `${fmtTime(b.start / 1000)} – ${fmtTime(b.end / 1000)}`;
			}
		} catch (e) { setMsg(this.msg, e.message, 'error'); return; }
		this.btn.disabled = true;
		setMsg(this.msg, 'Loading…');
		try {
			const [ta, tb] = await Promise.all([fetchCollapsed(a), fetchCollapsed(b)]);
			const tree = buildTree(ta, tb);
			this.result.hidden = false;
			this.panel.setTree(tree, { title: `${service}: ${la} vs ${lb}` });
			this.summary.textContent = `A (${la}): ${fmtNum(tree.sum[0])} samples · B (${lb}): ${fmtNum(tree.sum[1])} samples`;
			this.renderChanges(tree);
			setMsg(this.msg, tree.sum[0] && tree.sum[1] ? '' : 'One side has no samples: every frame shows as a change.');
		} catch (e) {
			setMsg(this.msg, `Cannot compare: ${e.message}`, 'error');
		} finally {
			this.btn.disabled = false;
		}
	}

	renderChanges(tree) {
		const A = new Map(topFunctions(tree, 0, 0).map((r) => [r.name, r.total]));
		const B = new Map(topFunctions(tree, 0, 1).map((r) => [r.name, r.total]));
		const sa = tree.sum[0] || 1, sb = tree.sum[1] || 1;
		const rows = [...new Set([...A.keys(), ...B.keys()])].map((name) => {
			const pa = (100 * (A.get(name) || 0)) / sa, pb = (100 * (B.get(name) || 0)) / sb;
			return { name, pa, pb, d: pb - pa };
		}).filter((r) => Math.abs(r.d) >= 0.05).sort((x, y) => Math.abs(y.d) - Math.abs(x.d) || x.name.localeCompare(y.name)).slice(0, 20);
		this.changes.replaceChildren(...rows.map((r) => h('tr', { 'data-name': r.name, tabindex: 0,
			on: { click: () => this.panel.focusFunction(r.name, 0), keydown: (e) => { if (e.key === 'Enter') this.panel.focusFunction(r.name, 0); } } },
		h('td.fn', { text: r.name }), h('td.num', { text: `${r.pa.toFixed(1)}%` }), h('td.num', { text: `${r.pb.toFixed(1)}%` }),
		h(`td.num.${r.d > 0 ? 'up' : 'down'}`, { text: `${r.d > 0 ? '+' : ''}${r.d.toFixed(1)} pts` }))));
		if (!rows.length) this.changes.append(h('tr', {}, h('td', { colspan: 4, text: 'No function changed its share by 0.05 points or more.' })));
	}
}

// compare.js — two time ranges (the second chosen relative to the first: the window just before,
// the same window a day or a week before, or any), or two hosts, as a differential flame graph
// plus the functions whose share of samples changed most. The state is in the address.

import { RANGES, h, rangePicker, setMsg, statusLine, fmtRange, isoUtc, fillSelect } from './util.js';
import { buildTree, topFunctions, fmtNum, pathNames } from './flame.js';
import { GraphPanel } from './graphpanel.js';
import { Loading } from './loading.js';
import { loadServices, loadHosts, fetchCollapsed } from './data.js';
import { go } from './state.js';

const RANGE_IDS = RANGES.map((r) => r.id).filter((id) => id !== 'custom');

/** The baseline (A) relative to the range compared (B). */
export const BASES = [
	{ id: 'prev', label: 'the window just before', shift: (s, e) => e - s },
	{ id: '1d', label: 'the same window 1 day before', shift: () => 86400e3 },
	{ id: '1w', label: 'the same window 1 week before', shift: () => 7 * 86400e3 },
	{ id: 'custom', label: 'a custom range…' },
];

function stateFromParams(p) {
	const t = (k) => (p.get(k) && Number.isFinite(Date.parse(p.get(k))) ? Date.parse(p.get(k)) : NaN);
	const custom = Number.isFinite(t('from')) && Number.isFinite(t('to')) && t('from') < t('to');
	const aok = Number.isFinite(t('afrom')) && Number.isFinite(t('ato')) && t('afrom') < t('ato');
	const base = BASES.some((b) => b.id === p.get('base')) ? p.get('base') : 'prev';
	return {
		service: p.get('service') || '', mode: p.get('mode') === 'hosts' ? 'hosts' : 'ranges',
		host: p.get('host') || '', range: custom ? 'custom' : (RANGE_IDS.includes(p.get('range')) ? p.get('range') : '1h'), from: t('from'), to: t('to'),
		base: base === 'custom' && !aok ? 'prev' : base, afrom: t('afrom'), ato: t('ato'),
		hosta: p.get('hosta') || '', hostb: p.get('hostb') || '',
		q: p.get('q') || '', zoom: p.get('zoom') ? p.get('zoom').split(';') : [], icicle: p.get('layout') !== 'flame',
	};
}

function paramsOf(s) {
	const p = new URLSearchParams();
	const set = (k, v) => { if (v) p.set(k, v); };
	set('service', s.service);
	if (s.mode === 'hosts') { p.set('mode', 'hosts'); set('hosta', s.hosta); set('hostb', s.hostb); } else {
		set('host', s.host);
		if (s.base !== 'prev') p.set('base', s.base);
		if (s.base === 'custom') { p.set('afrom', isoUtc(s.afrom)); p.set('ato', isoUtc(s.ato)); }
	}
	if (s.range === 'custom') { p.set('from', isoUtc(s.from)); p.set('to', isoUtc(s.to)); } else if (s.range !== '1h') p.set('range', s.range);
	set('q', s.q);
	if (s.zoom.length) p.set('zoom', s.zoom.join(';'));
	if (!s.icicle) p.set('layout', 'flame');
	return p;
}

const queryKey = (s) => JSON.stringify([s.service, s.mode, s.host, s.range, s.range === 'custom' ? [s.from, s.to] : 0,
	s.base, s.base === 'custom' ? [s.afrom, s.ato] : 0, s.hosta, s.hostb]);

export class CompareView {
	constructor(root) {
		this.root = root;
		this.state = stateFromParams(new URLSearchParams());
		this.loaded = null;
		this.service = h('select', { name: 'service', 'aria-label': 'Service', on: { change: () => this.serviceChanged() } });
		this.mode = h('select', { name: 'mode', 'aria-label': 'Compare', on: { change: () => this.modeChanged() } },
			h('option', { value: 'ranges', text: 'Two time ranges' }), h('option', { value: 'hosts', text: 'Two hosts' }));
		this.host = h('select', { name: 'hostname', 'aria-label': 'Host' });
		this.hostA = h('select', { name: 'host-a', 'aria-label': 'Host A' });
		this.hostB = h('select', { name: 'host-b', 'aria-label': 'Host B' });
		this.rangeB = rangePicker('b', '1h');
		this.base = h('select', { name: 'base', 'aria-label': 'Baseline A', on: { change: () => this.baseChanged() } },
			BASES.map((b) => h('option', { value: b.id, text: b.label })));
		this.rangeA = rangePicker('a', 'custom');
		this.rangeA.select.hidden = true;
		this.rangeA.el.hidden = true;
		this.range = rangePicker('both', '1h');
		this.baseNote = h('span.note');
		const lab = (t, ...els) => h('label.inline', {}, h('span', { text: t }), ...els);
		this.rangesRow = h('div.row', {}, lab('Host', this.host), lab('B', this.rangeB.el),
			lab('against A:', this.base), this.rangeA.el, this.baseNote);
		this.hostsRow = h('div.row', { hidden: true }, lab('A', this.hostA), lab('B', this.hostB), lab('Range', this.range.el));
		this.btn = h('button', { type: 'submit', text: 'Compare' });
		this.msg = statusLine();
		this.loading = new Loading();
		this.summary = h('p.summary', { role: 'status', tabindex: -1 });
		this.panel = new GraphPanel({ diff: true,
			onZoom: (path) => { this.state.zoom = pathNames(this.tree, path.length ? path[path.length - 1] : 0); this.save(true); },
			onSearch: (q) => { this.state.q = q; this.save(); },
			onLayout: (icicle) => { this.state.icicle = icicle; this.save(); } });
		this.changes = h('tbody');
		this.result = h('div', { hidden: true }, this.summary, h('div.card', {}, this.panel.el),
			h('div.card', {}, h('h2', { text: 'Biggest changes (share of all samples)' }),
				h('table.changes', {}, h('thead', {}, h('tr', {}, ...['Function', 'A', 'B', 'Change'].map((t) => h('th', { scope: 'col', text: t })))), this.changes)));
		root.append(h('form.card.compare', { on: { submit: (e) => { e.preventDefault(); this.submit(); } } },
			h('div.row', {}, h('h1', { text: 'Compare' }), this.service, this.mode),
			this.rangesRow, this.hostsRow, h('div.row', {}, this.btn)), this.msg, this.loading.el, this.result);
		this.baseChanged();
	}

	save(push = false) { if (this.state.service) go('compare', paramsOf(this.state), { push }); }

	async show(params) {
		try {
			fillSelect(this.service, await loadServices());
		} catch (e) { setMsg(this.msg, `Cannot list services: ${e.message}`, 'error'); return; }
		const s = stateFromParams(params);
		if (s.service) {
			this.state = s;
			this.setForm(s);
		}
		await this.serviceChanged();
		if (s.service) {
			this.setForm(s);
			if (this.loaded !== queryKey(s)) await this.load();
			else this.draw();
		}
	}

	tzChanged() { if (this.tree) this.describe(); }

	setForm(s) {
		if (![...this.service.options].some((o) => o.value === s.service)) this.service.append(h('option', { value: s.service, text: s.service }));
		this.service.value = s.service;
		this.mode.value = s.mode;
		for (const [sel, v] of [[this.host, s.host], [this.hostA, s.hosta], [this.hostB, s.hostb]]) {
			if (v && ![...sel.options].some((o) => o.value === v)) sel.append(h('option', { value: v, text: v }));
			if (v || sel === this.host) sel.value = v;
		}
		(s.mode === 'hosts' ? this.range : this.rangeB).set(s.range, s.from, s.to);
		this.base.value = s.base;
		if (s.base === 'custom') this.rangeA.set('custom', s.afrom, s.ato);
		this.modeChanged();
		this.baseChanged();
	}

	async serviceChanged() {
		if (!this.service.value) return;
		try {
			const hosts = (await loadHosts(this.service.value, Date.now() - 7 * 86400e3, Date.now())).map((x) => x.hostname);
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

	baseChanged() {
		const custom = this.base.value === 'custom';
		this.rangeA.el.hidden = !custom;
		if (custom) {
			// start from what "the window just before" would be, so the user edits from there
			try {
				const b = this.rangeB.get();
				if (this.rangeA.select.value !== 'custom' || !this.rangeA.from.value) this.rangeA.set('custom', 2 * b.start - b.end, b.start);
			} catch { /* B is not valid yet */ }
		}
		this.baseNote.textContent = '';
	}

	formState() {
		const mode = this.mode.value;
		const r = (mode === 'hosts' ? this.range : this.rangeB).get();
		const s = { ...this.state, service: this.service.value, mode, host: this.host.value, range: r.id, from: r.start, to: r.end,
			base: this.base.value, hosta: this.hostA.value, hostb: this.hostB.value, zoom: [] };
		if (mode === 'ranges' && s.base === 'custom') {
			const a = this.rangeA.get();
			s.afrom = a.start; s.ato = a.end;
		}
		return s;
	}

	async submit() {
		let s;
		try { s = this.formState(); } catch (e) { setMsg(this.msg, e.message, 'error'); return; }
		if (!s.service) { setMsg(this.msg, 'Choose a service.', 'error'); return; }
		this.state = s;
		this.save(true);
		await this.load(true);
	}

	/** The two selections of the state, with labels. */
	sides() {
		const s = this.state;
		const picker = s.mode === 'hosts' ? this.range : this.rangeB;
		picker.set(s.range, s.from, s.to);
		const r = picker.get();
		if (s.mode === 'hosts') {
			return [{ service: s.service, ...r, hostname: s.hosta, label: s.hosta }, { service: s.service, ...r, hostname: s.hostb, label: s.hostb }];
		}
		const base = BASES.find((b) => b.id === s.base);
		const a = s.base === 'custom' ? { start: s.afrom, end: s.ato } : { start: r.start - base.shift(r.start, r.end), end: r.end - base.shift(r.start, r.end) };
		return [{ service: s.service, ...a, hostname: s.host, label: fmtRange(a.start, a.end) },
			{ service: s.service, ...r, hostname: s.host, label: fmtRange(r.start, r.end) }];
	}

	async load(focus = false) {
		const s = this.state;
		let a, b;
		try { [a, b] = this.sides(); } catch (e) { setMsg(this.msg, e.message, 'error'); return; }
		this.btn.disabled = true;
		setMsg(this.msg, '');
		const signal = this.loading.start('Loading both sides');
		try {
			const [ta, tb] = await Promise.all([fetchCollapsed(a, signal), fetchCollapsed(b, signal)]);
			this.tree = buildTree(ta, tb);
			this.sideInfo = [a, b];
			this.loaded = queryKey(s);
			this.draw();
			setMsg(this.msg, this.tree.sum[0] && this.tree.sum[1] ? '' : 'One side has no samples: every frame shows as a change. Choose another baseline or range.');
			if (focus) this.summary.focus();
		} catch (e) {
			setMsg(this.msg, e.status === -1 ? 'Cancelled.' : `Cannot compare: ${e.message}`, e.status === -1 ? '' : 'error');
		} finally {
			this.loading.stop(signal);
			this.btn.disabled = false;
		}
	}

	draw() {
		const s = this.state;
		this.result.hidden = false;
		this.panel.setTree(this.tree, { title: this.title(), view: { zoom: s.zoom, q: s.q, icicle: s.icicle } });
		this.describe();
		this.renderChanges(this.tree);
	}

	title() { const [a, b] = this.sideInfo; return `${this.state.service}: ${a.label} vs ${b.label}`; }

	describe() {
		const [a, b] = this.sideInfo;
		const s = this.state;
		if (s.mode !== 'hosts') { a.label = fmtRange(a.start, a.end); b.label = fmtRange(b.start, b.end); }
		const where = s.mode === 'hosts' ? '' : ` · ${s.host || 'all hosts'}`;
		this.summary.textContent = `A (${a.label}): ${fmtNum(this.tree.sum[0])} samples · B (${b.label}): ${fmtNum(this.tree.sum[1])} samples${where}`;
	}

	renderChanges(tree) {
		const A = new Map(topFunctions(tree, 0, 0).map((r) => [r.name, r.total]));
		const B = new Map(topFunctions(tree, 0, 1).map((r) => [r.name, r.total]));
		const sa = tree.sum[0] || 1, sb = tree.sum[1] || 1;
		const rows = [...new Set([...A.keys(), ...B.keys()])].map((name) => {
			const pa = (100 * (A.get(name) || 0)) / sa, pb = (100 * (B.get(name) || 0)) / sb;
			return { name, pa, pb, d: pb - pa };
		}).filter((r) => Math.abs(r.d) >= 0.05).sort((x, y) => Math.abs(y.d) - Math.abs(x.d) || (x.name < y.name ? -1 : 1)).slice(0, 20);
		const pick = (name) => { this.panel.focusFunction(name); this.state.q = name; this.save(); };
		this.changes.replaceChildren(...rows.map((r) => h('tr', { 'data-name': r.name, tabindex: 0,
			on: { click: () => pick(r.name), keydown: (e) => { if (e.key === 'Enter') pick(r.name); } } },
		h('td.fn', { text: r.name, title: r.name }), h('td.num', { text: `${r.pa.toFixed(1)}%` }), h('td.num', { text: `${r.pb.toFixed(1)}%` }),
		h(`td.num.${r.d > 0 ? 'up' : 'down'}`, { text: `${r.d > 0 ? '+' : ''}${r.d.toFixed(1)} pts` }))));
		if (!rows.length) this.changes.append(h('tr', {}, h('td', { colspan: 4, text: 'No function changed its share by 0.05 points or more.' })));
	}
}

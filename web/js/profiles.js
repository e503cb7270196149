// profiles.js — choose service, time range, host and container; flame graph or sandwich, top
// functions, CPU and memory over time. The whole view's state is in the address (see state.js):
// a link or a reload shows the same query, filters, zoom, search, layout, tab and sort.

import { RANGES, h, setMsg, statusLine, fmtRange, rangePicker, rangeLabel, relTime, fmtTime, fileStamp, slug, fillSelect, isoUtc } from './util.js';
import { api } from './api.js';
import { buildTree, topFunctions, fmtNum, pathNames } from './flame.js';
import { GraphPanel } from './graphpanel.js';
import { SandwichPanel } from './sandwich.js';
import { TopTable } from './toptable.js';
import { FilterBar, processCounts, filterCollapsed } from './filters.js';
import { Loading } from './loading.js';
import { lineChart } from './chart.js';
import { loadServiceInfo, loadHosts, fetchCollapsed, fetchMetrics } from './data.js';
import { go } from './state.js';

export { fetchCollapsed } from './data.js';

const SORTS = ['name', 'self', 'selfPct', 'total', 'totalPct'];

/** The view's state from the address's parameters (missing ones: defaults). */
export function stateFromParams(p) {
	const num = (k) => (p.get(k) && Number.isFinite(Date.parse(p.get(k))) ? Date.parse(p.get(k)) : NaN);
	const sort = SORTS.includes(p.get('sort')) ? p.get('sort') : 'self';
	// a custom range needs both ends, in order; anything else falls back to the last hour
	const custom = Number.isFinite(num('from')) && Number.isFinite(num('to')) && num('from') < num('to');
	const rel = RANGES.some((r) => r.id === p.get('range') && r.id !== 'custom') ? p.get('range') : '1h';
	return {
		service: p.get('service') || '', range: custom ? 'custom' : rel,
		from: num('from'), to: num('to'), host: p.get('host') || '', container: p.get('container') || '',
		proc: p.getAll('proc'), rt: p.getAll('rt'), q: p.get('q') || '', exact: p.get('exact') === '1',
		zoom: p.get('zoom') ? p.get('zoom').split(';') : [], icicle: p.get('layout') !== 'flame',
		tab: p.get('tab') === 'sandwich' ? 'sandwich' : 'graph', fn: p.get('fn') || '',
		sort, dir: p.get('dir') === 'asc' ? 1 : p.get('dir') === 'desc' ? -1 : (sort === 'name' ? 1 : -1),
	};
}

/** The parameters for a state (defaults left out, so links stay short). */
export function paramsOf(s) {
	const p = new URLSearchParams();
	const set = (k, v) => { if (v !== '' && v !== undefined && v !== null) p.set(k, v); };
	set('service', s.service);
	if (s.range === 'custom') { set('from', isoUtc(s.from)); set('to', isoUtc(s.to)); } else if (s.range !== '1h') set('range', s.range);
	set('host', s.host);
	set('container', s.container);
	for (const x of s.proc) p.append('proc', x);
	for (const x of s.rt) p.append('rt', x);
	set('q', s.q);
	if (s.q && s.exact) p.set('exact', '1');
	if (s.zoom.length) p.set('zoom', s.zoom.join(';'));
	if (!s.icicle) p.set('layout', 'flame');
	if (s.tab === 'sandwich') p.set('tab', 'sandwich');
	set('fn', s.fn);
	if (s.sort !== 'self' || s.dir !== -1) { p.set('sort', s.sort); p.set('dir', s.dir < 0 ? 'desc' : 'asc'); }
	return p;
}

/** What to fetch for a state: equal keys, same data. */
const queryKey = (s) => JSON.stringify([s.service, s.range, s.range === 'custom' ? [s.from, s.to] : 0, s.host, s.container]);

export class ProfilesView {
	constructor(root) {
		this.root = root;
		this.state = stateFromParams(new URLSearchParams());
		this.data = null;   // {key, text, metrics, start, end, sel}
		this.service = h('select', { name: 'service', 'aria-label': 'Service', required: true,
			on: { change: () => this.serviceChanged() } });
		this.range = rangePicker('profiles', '1h');
		this.host = h('select', { name: 'hostname', 'aria-label': 'Host' }, h('option', { value: '', text: 'All hosts' }));
		// free text, with the containers that have samples in the selection as suggestions
		this.containerList = h('datalist', { id: 'profiles-containers' });
		this.container = h('input', { type: 'text', name: 'container', placeholder: 'Container (all)', 'aria-label': 'Container', size: 14,
			list: 'profiles-containers', on: { focus: () => this.refreshContainers() } });
		this.loadBtn = h('button', { type: 'submit', text: 'Show profile' });
		this.msg = statusLine();
		this.loading = new Loading();
		this.hint = h('div.card.hint', { hidden: true });
		this.summary = h('p.summary', { role: 'status', tabindex: -1 });
		this.filters = new FilterBar({ onChange: () => this.filtersChanged() });
		this.panel = new GraphPanel({
			fileStem: () => this.fileStem(),
			exportHeader: () => this.exportHeader(),
			onZoom: (path) => this.zoomed(path),
			onSearch: (q) => { this.state.q = q; this.state.exact = false; this.save(); },
			onLayout: (icicle) => { this.state.icicle = icicle; this.save(); },
		});
		this.sandwich = new SandwichPanel();
		this.tabGraph = h('button.tab', { type: 'button', role: 'tab', text: 'Flame graph', on: { click: () => this.setTab('graph', true) } });
		this.tabSandwich = h('button.tab', { type: 'button', role: 'tab', text: 'Sandwich', on: { click: () => this.setTab('sandwich', true) } });
		this.graphCard = h('div.card', { role: 'tabpanel' }, this.panel.el);
		this.sandwichCard = h('div.card', { role: 'tabpanel', hidden: true }, this.sandwich.el);
		this.top = new TopTable({ onPick: (name) => this.pick(name), onSort: (key, dir) => { this.state.sort = key; this.state.dir = dir; this.save(); } });
		this.charts = h('div.charts');
		this.body = h('div', {},
			h('div.tabs', { role: 'tablist', 'aria-label': 'Profile views' }, this.tabGraph, this.tabSandwich),
			this.graphCard, this.sandwichCard,
			h('div.split', {}, this.top.el,
				h('div.card', {}, h('h2', { text: 'CPU and memory' }), h('p.note', { text: 'Drag across a chart to show that time range.' }), this.charts)));
		this.result = h('div', { hidden: true }, this.summary, this.filters.el, this.body);
		root.append(
			h('form.toolbar.card', { on: { submit: (e) => { e.preventDefault(); this.submit(); } } },
				h('h1', { text: 'Profiles' }), this.service, this.range.el, this.host, this.container, this.containerList, this.loadBtn),
			this.msg, this.loading.el, this.result, this.hint);
	}

	// ---- state <-> form and address ----------------------------------------------------------

	/** Record the state in the address: push for a step worth going back to. */
	save(push = false) {
		if (this.state.service) go('profiles', paramsOf(this.state), { push });
	}

	formState() {
		const r = this.range.get();
		return { ...this.state, service: this.service.value, range: r.id, from: r.start, to: r.end,
			host: this.host.value, container: this.container.value.trim() };
	}

	setForm(s) {
		if (s.service && ![...this.service.options].some((o) => o.value === s.service)) this.service.append(h('option', { value: s.service, text: s.service }));
		this.service.value = s.service;
		this.range.set(s.range, s.from, s.to);
		if (![...this.host.options].some((o) => o.value === s.host)) this.host.append(h('option', { value: s.host, text: s.host }));
		this.host.value = s.host;
		this.container.value = s.container;
	}

	/** Where the router brings us: a link, a reload, back or forward. */
	async show(params) {
		let info = [];
		try {
			info = await loadServiceInfo();
			this.services = info;
			fillSelect(this.service, info.map((x) => x.service_name));
		} catch (e) { setMsg(this.msg, `Cannot list services: ${e.message}`, 'error'); }
		const s = stateFromParams(params);
		if (!s.service) {
			if (!info.length) this.showHint('noServices');
			else if (!this.data) this.showHint('choose');
			if (this.service.value) await this.serviceChanged();
			return;
		}
		this.state = s;
		this.setForm(s);
		await this.serviceChanged();
		this.host.value = s.host;
		await this.apply({ force: false });
	}

	tzChanged() {
		if (this.data) { this.describe(); this.renderCharts(); }
	}

	async serviceChanged() {
		const service = this.service.value;
		if (!service) return;
		let range;
		try { range = this.range.get(); } catch { range = {}; }
		try {
			const hosts = await loadHosts(service, range.start, range.end);
			const keep = this.host.value;
			fillSelect(this.host, hosts.map((x) => [x.hostname, x.uploadOnly ? `${x.hostname} (upload only)` : x.hostname]), { all: 'All hosts' });
			if (keep && ![...this.host.options].some((o) => o.value === keep)) this.host.append(h('option', { value: keep, text: keep }));
			this.host.value = keep;
		} catch (e) {
			setMsg(this.msg, `Cannot list hosts: ${e.message}`, 'error');
		}
	}

	/** Suggestions for the container filter: the containers with samples in the current selection. */
	async refreshContainers() {
		let s;
		try { s = this.formState(); } catch { return; }
		if (!s.service) return;
		try {
			const r = await api('/api/v1/containers', { query: { service: s.service, start_datetime: isoUtc(s.from),
				end_datetime: isoUtc(s.to), hostname: s.host } });
			const names = (r.containers || []).map((c) => c.name).filter(Boolean).sort();
			this.containerList.replaceChildren(...names.map((n) => h('option', { value: n })));
		} catch (e) {
			// only suggestions: the filter still takes any name typed
		}
	}

	/** "Show profile": a new query, a new history entry; filters, search, layout and tab stay. */
	async submit() {
		let s;
		try { s = this.formState(); } catch (e) { setMsg(this.msg, e.message, 'error'); return; }
		if (!s.service) { setMsg(this.msg, 'Choose a service.', 'error'); return; }
		this.state = { ...s, zoom: [] };
		this.save(true);
		await this.apply({ force: true, focus: true });
	}

	/** Show this.state: fetch when the query changed (or force), then draw. */
	async apply({ force, focus = false }) {
		const s = this.state;
		const key = queryKey(s);
		if (force || !this.data || this.data.key !== key) {
			const ok = await this.fetch(s, key);
			if (!ok) return;
		}
		this.draw();
		if (focus) this.summary.focus();
	}

	async fetch(s, key) {
		const r = s.range === 'custom' ? { start: s.from, end: s.to } : (() => { this.range.set(s.range); return this.range.get(); })();
		const sel = { service: s.service, start: r.start, end: r.end, hostname: s.host, container: s.container };
		this.loadBtn.disabled = true;
		setMsg(this.msg, '');
		const signal = this.loading.start(`Loading the profile of ${s.service}, ${s.range === 'custom' ? fmtRange(r.start, r.end) : `the ${rangeLabel(s.range)}`}`);
		try {
			const [text, metrics] = await Promise.all([fetchCollapsed(sel, signal),
				fetchMetrics(sel, signal).catch((e) => (e.status === -1 ? Promise.reject(e) : { error: e.message }))]);
			this.data = { key, text, metrics, start: r.start, end: r.end, sel, procs: processCounts(text), filterKey: null };
			return true;
		} catch (e) {
			if (e.status === -1 && this.drawnState) {
				// cancelled: the address and the form go back to what is still on the screen
				this.state = { ...this.drawnState };
				this.setForm(this.state);
				this.save();
			}
			setMsg(this.msg, e.status === -1 ? 'Cancelled.' : `Cannot load the profile: ${e.message}`, e.status === -1 ? '' : 'error');
			return false;
		} finally {
			this.loading.stop(signal);
			this.loadBtn.disabled = false;
		}
	}

	/** Draw the fetched data with the state's filters and view. */
	draw() {
		const d = this.data, s = this.state;
		const fkey = JSON.stringify([[...s.proc].sort(), [...s.rt].sort()]);
		this.filters.setProcesses(d.procs);
		this.filters.set(s.proc, s.rt);
		if (d.filterKey !== fkey || !this.tree) {
			const text = filterCollapsed(d.text, new Set(s.proc), new Set(s.rt));
			this.tree = buildTree(text);
			this.shownText = text;
			d.filterKey = fkey;
		}
		this.hint.hidden = true;
		this.result.hidden = false;
		const empty = this.tree.sum[0] === 0;
		this.body.hidden = empty;
		this.panel.setTree(this.tree, { title: `${this.what()} · ${fmtRange(d.start, d.end)}`, source: this.shownText,
			view: { zoom: s.zoom, q: s.q, exact: s.exact, icicle: s.icicle } });
		this.top.setSort(s.sort, s.dir);
		this.top.select(s.fn);
		this.renderTop();
		this.setTab(s.tab, false);
		this.describe();
		this.renderCharts();
		if (empty) this.showHint('noData');
		this.drawnState = { ...s };
	}

	what() {
		const s = this.data.sel;
		return [s.service, s.hostname || 'all hosts', s.container || null].filter(Boolean).join(' · ');
	}

	describe() {
		const d = this.data, t = this.tree;
		const total = buildTotal(d);
		const filtered = this.state.proc.length || this.state.rt.length;
		this.summary.textContent = `${fmtNum(t.sum[0])} samples · ${fmtNum(t.stacks[0])} distinct stacks · ${this.what()} · ${fmtRange(d.start, d.end)}`
			+ (filtered ? ` · filtered: ${fmtNum(t.sum[0])} of ${fmtNum(total)} samples` : '');
		this.summary.dataset.samples = String(t.sum[0]);
		this.summary.dataset.total = String(total);
	}

	/** An empty or first-visit state that says what to do next. */
	showHint(kind) {
		const origin = location.origin;
		const agentCmd = (svc) => `fleetprof-agent -c -u --server-host ${origin} --token $AGENT_TOKEN --service-name ${svc || 'my-service'}`;
		const hint = this.hint;
		hint.hidden = false;
		hint.dataset.kind = kind;
		if (kind === 'noServices') {
			this.result.hidden = true;
			hint.replaceChildren(h('h2', { text: 'No profiles yet' }),
				h('p', { text: 'No agent has sent a profile to this server. Start profiling hosts that heartbeat from the ' },
					h('a', { href: '#/hosts', text: 'Hosts' }), ' page, or run an agent that profiles all the time and uploads:'),
				h('pre.cmd', { text: agentCmd() }),
				h('p.note', { text: '$AGENT_TOKEN is the agent token from the server\'s tokens file (--agent-token).' }));
			return;
		}
		if (kind === 'choose') {
			this.result.hidden = true;
			hint.replaceChildren(h('p', { text: 'Choose a service and a time range, then Show profile.' }));
			return;
		}
		// no samples in the range: say when the service last sent one, and offer a range that has it
		const s = this.state;
		const info = (this.services || []).find((x) => x.service_name === s.service);
		const last = info?.last_profile ? Date.parse(info.last_profile) : NaN;
		const kids = [h('h2', { text: `No samples for ${this.what()} in ${s.range === 'custom' ? fmtRange(this.data.start, this.data.end) : `the ${rangeLabel(s.range)}`}` })];
		if (s.proc.length || s.rt.length) {
			kids.push(h('p', {}, 'The filters leave nothing. ', h('button.ghost', { type: 'button', text: 'Clear the filters',
				on: { click: () => { this.state.proc = []; this.state.rt = []; this.save(true); this.draw(); } } })));
		} else if (Number.isFinite(last)) {
			const ago = (Date.now() - last) / 1000;
			const fit = [['6h', 6 * 3600], ['24h', 86400], ['7d', 7 * 86400]].find(([, secs]) => ago < secs - 120);
			kids.push(h('p', { text: `The last profile from ${s.service} arrived ${relTime(info.last_profile)} (${fmtTime(info.last_profile)})${s.host ? '; that may have been another host' : ''}.` }));
			if (fit) kids.push(h('p', {}, h('button', { type: 'button', text: `Show the ${rangeLabel(fit[0])}`, on: { click: () => this.widen(fit[0]) } })));
		} else {
			kids.push(h('p', {}, `${s.service} has not sent a profile yet. Start profiling it from the `, h('a', { href: '#/hosts', text: 'Hosts' }), ' page.'));
		}
		hint.replaceChildren(...kids);
	}

	widen(range) {
		this.state = { ...this.state, range, zoom: [] };
		this.range.set(range);
		this.save(true);
		this.apply({ force: true, focus: true });
	}

	// ---- the user's steps inside a loaded profile ----------------------------------------------

	filtersChanged() {
		const f = this.filters.get();
		this.state = { ...this.state, proc: [...f.procs], rt: [...f.rts], zoom: [] };
		this.save(true);
		this.draw();
	}

	zoomed(path) {
		this.state.zoom = pathNames(this.tree, path.length ? path[path.length - 1] : 0);
		this.save(true);
		this.renderTop();
	}

	setTab(tab, fromUser) {
		this.state.tab = tab;
		const sw = tab === 'sandwich';
		this.tabGraph.setAttribute('aria-selected', String(!sw));
		this.tabSandwich.setAttribute('aria-selected', String(sw));
		this.graphCard.hidden = sw;
		this.sandwichCard.hidden = !sw;
		if (sw) {
			if (!this.state.fn && this.top.rows.length) this.state.fn = [...this.top.rows].sort((a, b) => b.self - a.self)[0].name;
			this.top.select(this.state.fn);
			this.sandwich.set(this.tree, this.state.fn);
		}
		if (fromUser) this.save(true);
	}

	/** A row of Top functions chosen: highlight it in the graph, or show its sandwich. */
	pick(name) {
		this.state.fn = name;
		if (this.state.tab === 'sandwich') {
			this.sandwich.set(this.tree, name);
		} else {
			this.panel.focusFunction(name);
			this.state.q = name;
			this.state.exact = true;
		}
		this.save();
	}

	renderTop() {
		const tree = this.tree;
		if (!tree) return;
		const z = this.panel.fg.zoomNode;
		const rows = topFunctions(tree, z);
		this.top.setData(rows, tree.tot[0][0], z === 0 ? `${fmtNum(rows.length)} functions. Choose one to highlight it in the graph, or to see its sandwich.`
			: `Within the zoomed frame. ${fmtNum(rows.length)} functions.`);
	}

	renderCharts() {
		const d = this.data, m = d.metrics;
		if (m?.error) { this.charts.replaceChildren(h('p.msg.error', { text: `Cannot load metrics: ${m.error}` })); return; }
		const by = new Map();
		for (const p of m?.metrics || []) {
			if (!by.has(p.hostname)) by.set(p.hostname, { cpu: [], mem: [] });
			const t = Date.parse(p.time);
			if (Number.isFinite(p.cpu_avg)) by.get(p.hostname).cpu.push([t, p.cpu_avg]);
			if (Number.isFinite(p.mem_avg)) by.get(p.hostname).mem.push([t, p.mem_avg]);
		}
		const series = (k) => [...by].map(([host, v]) => ({ label: host, points: v[k] }));
		const opts = { start: d.start, end: d.end, onRange: (a, b) => this.timeZoom(a, b) };
		this.charts.replaceChildren(lineChart('CPU (average %)', series('cpu'), opts), lineChart('Memory (average %)', series('mem'), opts));
	}

	/** Drag-to-zoom on a chart: that range, as a custom range, a new history entry. */
	timeZoom(start, end) {
		this.state = { ...this.state, range: 'custom', from: start, to: end, zoom: [] };
		this.range.set('custom', start, end);
		this.save(true);
		this.apply({ force: true });
	}

	// ---- exports ------------------------------------------------------------------------------

	fileStem() {
		const d = this.data;
		if (!d) return 'fleetprof-profile';
		const s = d.sel;
		return ['fleetprof', slug(s.service), slug(s.hostname || 'all-hosts'), s.container ? slug(s.container) : null,
			`${fileStamp(d.start)}-${fileStamp(d.end)}`].filter(Boolean).join('_');
	}

	exportHeader() {
		const d = this.data, s = this.state;
		return { selection: { service: d.sel.service, hostname: d.sel.hostname || null, container: d.sel.container || null,
			start_time: isoUtc(d.start), end_time: isoUtc(d.end), processes: s.proc, runtimes: s.rt,
			zoom: this.panel.fg.zoomNode ? pathNames(this.tree, this.panel.fg.zoomNode) : [] } };
	}
}

function buildTotal(d) {
	return d.procs.reduce((a, p) => a + p.samples, 0);
}

// profiles.js — choose service, time range, host and container; flame graph, top functions,
// CPU and memory over time.

import { api } from './api.js';
import { h, isoUtc, rangePicker, setMsg, statusLine, fmtTime } from './util.js';
import { buildTree, topFunctions, heaviestNodeOf, fmtPct, fmtNum } from './flame.js';
import { GraphPanel } from './graphpanel.js';
import { lineChart } from './chart.js';
import { loadServices, fillSelect } from './hosts.js';

const TOP_ROWS = 200;

/** Fetch the merged collapsed text for a selection. */
export async function fetchCollapsed({ service, start, end, hostname, container }) {
	return api('/api/v1/flamegraph', { text: true, query: { service, start_datetime: isoUtc(start),
		end_datetime: isoUtc(end), hostname, container, format: 'collapsed_file' } });
}

export async function loadHosts(service) {
	const r = await api('/api/metrics/profiling/host_status', { query: { service_name: service } });
	return [...new Set((r.hosts || []).map((x) => x.hostname))].sort();
}

export class ProfilesView {
	constructor(root) {
		this.root = root;
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
		this.summary = h('p.summary', { role: 'status' });
		this.panel = new GraphPanel({ name: 'fleetprof', onZoom: () => this.renderTop() });
		this.sort = { key: 'self', dir: -1 };
		this.topBody = h('tbody');
		this.topHead = h('tr');
		this.topNote = h('p.note');
		this.charts = h('div.charts');
		this.result = h('div', { hidden: true },
			this.summary, h('div.card', {}, this.panel.el),
			h('div.split', {},
				h('div.card.top', {}, h('h2', { text: 'Top functions' }), this.topNote,
					h('div.scroll.tall', {}, h('table.top', {}, h('thead', {}, this.topHead), this.topBody))),
				h('div.card', {}, h('h2', { text: 'CPU and memory' }), this.charts)));
		root.append(
			h('form.toolbar.card', { on: { submit: (e) => { e.preventDefault(); this.load(); } } },
				h('h1', { text: 'Profiles' }), this.service, this.range.el, this.host, this.container, this.containerList, this.loadBtn),
			this.msg, this.result);
		this.renderTopHead();
	}

	async show(params) {
		try {
			fillSelect(this.service, await loadServices());
			if (params?.get('service')) this.service.value = params.get('service');
			await this.serviceChanged();
			if (!this.service.value) setMsg(this.msg, 'No service has reported yet.', '');
		} catch (e) { setMsg(this.msg, `Cannot list services: ${e.message}`, 'error'); }
	}

	async serviceChanged() {
		if (!this.service.value) return;
		try { fillSelect(this.host, await loadHosts(this.service.value), { all: 'All hosts' }); } catch (e) {
			setMsg(this.msg, `Cannot list hosts: ${e.message}`, 'error');
		}
	}

	/** Suggestions for the container filter: the containers with samples in the current selection. */
	async refreshContainers() {
		let sel;
		try { sel = this.selection(); } catch { return; }
		if (!sel.service) return;
		try {
			const r = await api('/api/v1/containers', { query: { service: sel.service, start_datetime: isoUtc(sel.start),
				end_datetime: isoUtc(sel.end), hostname: sel.hostname } });
			const names = (r.containers || []).map((c) => c.name).filter(Boolean).sort();
			this.containerList.replaceChildren(...names.map((n) => h('option', { value: n })));
		} catch (e) {
			// only suggestions: the filter still takes any name typed
		}
	}

	selection() {
		const { start, end } = this.range.get();
		return { service: this.service.value, start, end, hostname: this.host.value, container: this.container.value.trim() };
	}

	async load() {
		let sel;
		try { sel = this.selection(); } catch (e) { setMsg(this.msg, e.message, 'error'); return; }
		if (!sel.service) { setMsg(this.msg, 'Choose a service.', 'error'); return; }
		this.loadBtn.disabled = true;
		setMsg(this.msg, 'Loading…');
		try {
			const t0 = performance.now();
			const [text, metrics] = await Promise.all([fetchCollapsed(sel),
				api('/api/v1/metrics', { query: { service: sel.service, start_datetime: isoUtc(sel.start),
					end_datetime: isoUtc(sel.end), hostname: sel.hostname, container: sel.container } })
					.catch((e) => ({ error: e.message }))]);
			const t1 = performance.now();
			const tree = buildTree(text);
			this.tree = tree;
			const what = [sel.service, sel.hostname || 'all hosts', sel.container || null].filter(Boolean).join(' · ');
			this.result.hidden = false;
			this.panel.setTree(tree, { title: `${what} · ${fmtTime(sel.start / 1000)} – ${fmtTime(sel.end / 1000)}`, source: text });
			const t2 = performance.now();
			this.summary.textContent = tree.sum[0] > 0
				? `${fmtNum(tree.sum[0])} samples · ${fmtNum(tree.stacks[0])} distinct stacks · ${what}`
				: `No samples for ${what} in this range.`;
			this.summary.dataset.samples = String(tree.sum[0]);
			this.renderTop();
			this.renderCharts(metrics);
			setMsg(this.msg, `Loaded in ${Math.round(t1 - t0)} ms, drawn in ${Math.round(t2 - t1)} ms.`);
		} catch (e) {
			setMsg(this.msg, `Cannot load the profile: ${e.message}`, 'error');
		} finally {
			this.loadBtn.disabled = false;
		}
	}

	renderTopHead() {
		const cols = [['name', 'Function'], ['self', 'Self'], ['selfPct', 'Self %'], ['total', 'Total'], ['totalPct', 'Total %']];
		this.topHead.replaceChildren(...cols.map(([k, label]) => {
			const active = this.sort.key === k || (this.sort.key + 'Pct') === k;
			const th = h('th', { scope: 'col', 'aria-sort': this.sort.key === k ? (this.sort.dir < 0 ? 'descending' : 'ascending') : 'none' },
				h('button.sort', { type: 'button', text: label + (this.sort.key === k ? (this.sort.dir < 0 ? ' ▼' : ' ▲') : ''),
					on: { click: () => { this.setSort(k); } } }));
			if (active) th.classList.add('active');
			return th;
		}));
	}

	setSort(k) {
		const key = k.replace('Pct', '');
		this.sort = { key: k, dir: this.sort.key === k ? -this.sort.dir : (key === 'name' ? 1 : -1) };
		this.renderTopHead();
		this.renderTop();
	}

	renderTop() {
		const tree = this.tree;
		if (!tree) return;
		const z = this.panel.fg.zoomNode;
		const rows = topFunctions(tree, z);
		const all = tree.tot[0][0] || 1;
		const key = this.sort.key.replace('Pct', '');
		const dir = this.sort.dir;
		rows.sort((a, b) => (key === 'name' ? a.name.localeCompare(b.name) * dir
			: (a[key] - b[key]) * dir || a.name.localeCompare(b.name)));
		this.topNote.textContent = z === 0 ? `${fmtNum(rows.length)} functions; click one to focus the graph on it.`
			: `Within the zoomed frame. ${fmtNum(rows.length)} functions.`;
		this.topBody.replaceChildren(...rows.slice(0, TOP_ROWS).map((r) => {
			const tr = h('tr', { tabindex: 0, 'data-name': r.name, title: 'Focus the graph on this function',
				on: {
					click: () => this.focus(r.name),
					keydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.focus(r.name); } },
				} },
			h('td.fn', { text: r.name }), h('td.num', { text: fmtNum(r.self) }), h('td.num', { text: fmtPct((100 * r.self) / all) }),
			h('td.num', { text: fmtNum(r.total) }), h('td.num', { text: fmtPct((100 * r.total) / all) }));
			return tr;
		}));
	}

	focus(name) {
		this.panel.focusFunction(name, heaviestNodeOf(this.tree, name));
	}

	renderCharts(m) {
		if (m?.error) { this.charts.replaceChildren(h('p.msg.error', { text: `Cannot load metrics: ${m.error}` })); return; }
		const by = new Map();
		for (const p of m?.metrics || []) {
			if (!by.has(p.hostname)) by.set(p.hostname, { cpu: [], mem: [] });
			const t = Date.parse(p.time);
			if (Number.isFinite(p.cpu_avg)) by.get(p.hostname).cpu.push([t, p.cpu_avg]);
			if (Number.isFinite(p.mem_avg)) by.get(p.hostname).mem.push([t, p.mem_avg]);
		}
		const s = (k) => [...by].map(([host, v]) => ({ label: host, points: v[k] }));
		this.charts.replaceChildren(lineChart('CPU (average %)', s('cpu')), lineChart('Memory (average %)', s('mem')));
	}
}

// graphpanel.js — a flame graph with its toolbar: search (highlight + matched percent), reset
// zoom, breadcrumb, flame/icicle toggle, legend, and export buttons. Used by Profiles and Compare.

import { FlameGraph, runtimeLegend, fmtPct, fmtNum, toCollapsed } from './flame.js';
import { h, download } from './util.js';
import { exportHtml } from './export.js';

export class GraphPanel {
	/** opts.diff: a comparison (legend says red/blue); opts.name: file name stem for exports;
	 * opts.onZoom(path) */
	constructor(opts = {}) {
		this.opts = opts;
		this.search = h('input', { type: 'search', name: 'search', placeholder: 'Search frames (text or /regex/)',
			'aria-label': 'Search frames', on: { input: () => this.applySearch() } });
		this.matched = h('span.matched', { role: 'status', 'aria-live': 'polite' });
		this.resetBtn = h('button.ghost', { type: 'button', text: 'Reset zoom', on: { click: () => this.fg.reset() } });
		this.icicle = h('button.ghost', { type: 'button', text: 'Icicle', 'aria-pressed': 'true',
			title: 'Draw the root at the top (icicle) or at the bottom (flame)',
			on: { click: () => this.toggleIcicle() } });
		this.exportCol = h('button.ghost', { type: 'button', text: 'Export collapsed', on: { click: () => this.exportCollapsed() } });
		this.exportHtmlBtn = h('button.ghost', { type: 'button', text: 'Export HTML', on: { click: () => this.exportHtml() } });
		this.crumbs = h('nav.crumbs', { 'aria-label': 'Zoom path' });
		this.graphBox = h('div.graph');
		this.legend = h('div.legend', {}, ...(opts.diff
			? [h('span', {}, h('i', { style: 'background:hsl(0,90%,60%)' }), 'more in B'),
				h('span', {}, h('i', { style: 'background:hsl(215,90%,60%)' }), 'less in B'),
				h('span', {}, h('i', { style: 'background:hsl(0,0%,88%)' }), 'unchanged'),
				h('span.note', { text: 'width: share in A + share in B' })]
			: runtimeLegend().map((r) => h('span', {}, h('i', { style: `background:${r.color}` }), r.label))));
		this.el = h('div.panel', {},
			h('div.toolbar.graphbar', {}, this.search, this.matched, this.resetBtn, this.icicle,
				opts.diff ? null : this.exportCol, opts.diff ? null : this.exportHtmlBtn, this.legend),
			this.crumbs, this.graphBox);
		this.fg = new FlameGraph(this.graphBox, { onZoom: (p) => this.onZoom(p) });
		this.title = 'profile';
		this.source = '';
	}

	/** Show tree; source (the collapsed text it came from) is what "Export" writes. */
	setTree(tree, { title, source } = {}) {
		this.tree = tree;
		this.title = title || 'profile';
		this.source = source || '';
		this.fg.setTree(tree);
		this.applySearch();
	}

	applySearch() {
		if (!this.tree) return;
		const term = this.search.value;
		const side = this.tree.sides === 2 ? 1 : 0;
		const r = this.fg.setSearch(term, side);
		if (!term) { this.matched.textContent = ''; return; }
		if (this.tree.sides === 2) {
			const a = this.fg.setSearch(term, 0);
			this.matched.textContent = `matched: A ${fmtPct(a.percent)} → B ${fmtPct(r.percent)}`;
		} else {
			this.matched.textContent = `matched: ${fmtPct(r.percent)} (${fmtNum(r.samples)} samples)`;
		}
	}

	/** Highlight exactly the function name and zoom to its heaviest frame. */
	focusFunction(name, node) {
		this.search.value = name;
		const r = this.fg.setSearch(name, 0, true);
		this.matched.textContent = `matched: ${fmtPct(r.percent)} (${fmtNum(r.samples)} samples)`;
		if (node > 0) this.fg.zoom(node);
		this.fg.canvas.focus();
	}

	onZoom(path) {
		const t = this.fg.tree;
		const mk = (k, label) => h('button.crumb', { type: 'button', text: label, on: { click: () => this.fg.zoom(k) } });
		const items = [mk(0, 'all')];
		for (const k of path) items.push(h('span.sep', { text: '›', 'aria-hidden': 'true' }), mk(k, t.names[t.nameOf[k]]));
		if (items.length > 1) items[items.length - 1].setAttribute('aria-current', 'true');
		this.crumbs.replaceChildren(...items);
		this.opts.onZoom?.(path);
	}

	toggleIcicle() {
		const on = this.icicle.getAttribute('aria-pressed') !== 'true';
		this.icicle.setAttribute('aria-pressed', String(on));
		this.fg.setIcicle(on);
	}

	collapsedForExport() {
		// the zoomed frame's subtree when zoomed, else everything the query returned
		if (this.fg.zoomNode !== 0 && this.tree) return toCollapsed(this.tree, this.fg.zoomNode);
		return this.source || (this.tree ? toCollapsed(this.tree) : '');
	}

	exportCollapsed() {
		download(`${this.opts.name || 'profile'}.collapsed.txt`, this.collapsedForExport());
	}

	async exportHtml() {
		const html = await exportHtml(this.title, this.collapsedForExport());
		download(`${this.opts.name || 'profile'}.html`, html, 'text/html');
	}
}

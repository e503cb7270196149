// graphpanel.js — a flame graph with its toolbar: search (highlight + matched percent), reset
// zoom, breadcrumb, icicle/flame layout, legend, and export buttons. Used by Profiles and Compare.

import { FlameGraph, runtimeLegend, fmtPct, fmtNum, toCollapsed, nodeByPath } from './flame.js';
import { h, download } from './util.js';
import { exportHtml } from './export.js';

export class GraphPanel {
	/** opts.diff: a comparison (legend says red/blue); opts.fileStem(): file name stem for exports;
	 * opts.onZoom(path), opts.onSearch(term), opts.onLayout(icicle): after the user changed them. */
	constructor(opts = {}) {
		this.opts = opts;
		this.search = h('input', { type: 'search', name: 'search', placeholder: 'Search frames (text or /regex/)',
			'aria-label': 'Search frames', on: { input: () => { this.exact = false; this.applySearch(); this.opts.onSearch?.(this.search.value); } } });
		this.matched = h('span.matched', { role: 'status', 'aria-live': 'polite' });
		this.resetBtn = h('button.ghost', { type: 'button', text: 'Reset zoom', on: { click: () => this.fg.reset() } });
		this.icicle = h('button.ghost', { type: 'button', text: 'Icicle', 'aria-pressed': 'true',
			title: 'Root at the top (icicle, pressed) or at the bottom (flame)',
			on: { click: () => { this.setIcicle(!this.fg.icicle); this.opts.onLayout?.(this.fg.icicle); } } });
		this.exportCol = h('button.ghost', { type: 'button', text: 'Export collapsed', on: { click: () => this.exportCollapsed() } });
		this.exportHtmlBtn = h('button.ghost', { type: 'button', text: 'Export HTML', on: { click: () => this.exportHtml() } });
		this.crumbs = h('nav.crumbs', { 'aria-label': 'Zoom path' });
		this.graphBox = h('div.graph');
		this.legend = h('div.legend', {}, ...(opts.diff
			? [h('span', {}, h('i.sw-up'), 'more in B'),
				h('span', {}, h('i.sw-down'), 'less in B'),
				h('span', {}, h('i.sw-same'), 'unchanged'),
				h('span.note', { text: 'width: share in A + share in B' })]
			: runtimeLegend().map((r) => h('span', {}, h('i', { style: `background:${r.color}` }), r.label))));
		this.el = h('div.panel', {},
			h('div.toolbar.graphbar', {}, this.search, this.matched, this.resetBtn, this.icicle,
				opts.diff ? null : this.exportCol, opts.diff ? null : this.exportHtmlBtn, this.legend),
			this.crumbs, this.graphBox);
		this.fg = new FlameGraph(this.graphBox, { onZoom: (p) => this.onZoom(p) });
		this.title = 'profile';
		this.source = '';
		this.exact = false;
		this.quiet = false;
	}

	/** Show tree; source (the collapsed text it came from) is what "Export" writes. view: the
	 * state to open on: zoom (frame names from the root), q (search), exact, icicle. */
	setTree(tree, { title, source, view = {} } = {}) {
		this.tree = tree;
		this.title = title || 'profile';
		this.source = source || '';
		this.quiet = true;
		if (view.icicle !== undefined) this.setIcicle(view.icicle, false);
		this.fg.setTree(tree, view.zoom?.length ? nodeByPath(tree, view.zoom) : 0);
		this.search.value = view.q || '';
		this.exact = !!view.exact;
		this.applySearch();
		this.quiet = false;
	}

	setIcicle(on, draw = true) {
		this.icicle.setAttribute('aria-pressed', String(on));
		if (draw && this.tree) this.fg.setIcicle(on); else this.fg.icicle = on;
	}

	applySearch() {
		if (!this.tree) return;
		const term = this.search.value;
		const side = this.tree.sides === 2 ? 1 : 0;
		const r = this.fg.setSearch(term, side, this.exact);
		if (!term) { this.matched.textContent = ''; return; }
		if (this.tree.sides === 2) {
			const a = this.fg.setSearch(term, 0, this.exact);
			this.matched.textContent = `matched: A ${fmtPct(a.percent)} → B ${fmtPct(r.percent)}`;
		} else {
			this.matched.textContent = `matched: ${fmtPct(r.percent)} (${fmtNum(r.samples)} samples)`;
		}
	}

	/** Highlight exactly the function name (its widest frame scrolled into view); no zoom, so
	 * what the user clicked stays where it was. */
	focusFunction(name) {
		this.search.value = name;
		this.exact = true;
		this.applySearch();
	}

	onZoom(path) {
		const t = this.fg.tree;
		const mk = (k, label) => h('button.crumb', { type: 'button', text: label, on: { click: () => this.fg.zoom(k) } });
		const items = [mk(0, t.names[0])];
		for (const k of path) items.push(h('span.sep', { text: '›', 'aria-hidden': 'true' }), mk(k, t.names[t.nameOf[k]]));
		if (items.length > 1) items[items.length - 1].setAttribute('aria-current', 'true');
		this.crumbs.replaceChildren(...items);
		if (!this.quiet) this.opts.onZoom?.(path);
	}

	collapsedForExport() {
		// the zoomed frame's subtree when zoomed, else everything shown
		if (this.fg.zoomNode !== 0 && this.tree) return toCollapsed(this.tree, this.fg.zoomNode);
		return this.source || (this.tree ? toCollapsed(this.tree) : '');
	}

	stem() { return this.opts.fileStem?.() || 'fleetprof-profile'; }

	exportCollapsed() {
		download(`${this.stem()}.collapsed.txt`, this.collapsedForExport());
	}

	async exportHtml() {
		try {
			const html = await exportHtml(this.title, this.collapsedForExport(), this.opts.exportHeader?.() || null);
			download(`${this.stem()}.html`, html, 'text/html');
		} catch (e) {
			this.matched.textContent = `Export failed: ${e.message}`;
		}
	}
}

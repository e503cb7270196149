// toptable.js — top functions: self and total samples per function, sortable, columns that fit a
// 1280-px screen, long names cut in the middle (the full name on hover). Picking a row selects it
// and calls onPick; the rows stay where they are, so the next click lands where the user aims.

import { h } from './util.js';
import { fmtPct, fmtNum } from './flame.js';

const ROWS = 200;
const COLS = [['name', 'Function'], ['self', 'Self'], ['selfPct', 'Self %'], ['total', 'Total'], ['totalPct', 'Total %']];

/** s cut to at most max characters by taking out its middle. */
export function middleCut(s, max) {
	if (s.length <= max || max < 5) return s;
	const keep = max - 1;
	return `${s.slice(0, Math.ceil(keep / 2))}…${s.slice(s.length - Math.floor(keep / 2))}`;
}

let charW = 0;
function monoCharWidth() {
	if (!charW) {
		const ctx = document.createElement('canvas').getContext('2d');
		ctx.font = '12.5px ui-monospace, "DejaVu Sans Mono", Menlo, monospace';
		charW = ctx.measureText('MMMMMMMMMM').width / 10 || 7.5;
	}
	return charW;
}

export class TopTable {
	/** onPick(name): a row chosen (click, Enter, Space); onSort(key, dir) after a header click. */
	constructor({ onPick, onSort }) {
		this.onPick = onPick;
		this.onSort = onSort;
		this.sort = { key: 'self', dir: -1 };
		this.rows = [];
		this.selected = '';
		this.head = h('tr');
		this.body = h('tbody');
		this.note = h('p.note');
		this.table = h('table.top', {},
			h('colgroup', {}, h('col.fn'), h('col.n'), h('col.p'), h('col.n'), h('col.p')),
			h('thead', {}, this.head), this.body);
		this.el = h('div.card.top', {}, h('h2', { text: 'Top functions' }), this.note, h('div.scroll.tall', {}, this.table));
		if (typeof ResizeObserver !== 'undefined') {
			let w = 0;
			new ResizeObserver(() => { if (this.table.clientWidth !== w) { w = this.table.clientWidth; this.fit(); } }).observe(this.table);
		}
		this.renderHead();
	}

	setSort(key, dir) {
		if (!COLS.some(([k]) => k === key)) return;
		this.sort = { key, dir: dir < 0 ? -1 : 1 };
		this.renderHead();
		this.render();
	}

	renderHead() {
		this.head.replaceChildren(...COLS.map(([k, label]) => h('th', { scope: 'col',
			'aria-sort': this.sort.key === k ? (this.sort.dir < 0 ? 'descending' : 'ascending') : 'none' },
		h('button.sort', { type: 'button', text: label + (this.sort.key === k ? (this.sort.dir < 0 ? ' ▼' : ' ▲') : ''),
			on: { click: () => {
				const dir = this.sort.key === k ? -this.sort.dir : (k === 'name' ? 1 : -1);
				this.setSort(k, dir);
				this.onSort?.(k, dir);
			} } }))));
	}

	/** rows: [{name, self, total}]; all: the samples percentages refer to. */
	setData(rows, all, note) {
		this.rows = rows;
		this.all = all || 1;
		this.note.textContent = note;
		this.render();
	}

	render() {
		const key = this.sort.key.replace('Pct', ''), dir = this.sort.dir, all = this.all;
		const rows = [...this.rows].sort((a, b) => (key === 'name' ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) * dir
			: (a[key] - b[key]) * dir || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
		this.body.replaceChildren(...rows.slice(0, ROWS).map((r) => h('tr', { tabindex: 0, 'data-name': r.name,
			'aria-selected': String(r.name === this.selected),
			on: {
				click: () => this.pick(r.name),
				keydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.pick(r.name); } },
			} },
		h('td.fn', { title: r.name }, h('span', { text: r.name })),
		h('td.num', { text: fmtNum(r.self) }), h('td.num', { text: fmtPct((100 * r.self) / all) }),
		h('td.num', { text: fmtNum(r.total) }), h('td.num', { text: fmtPct((100 * r.total) / all) }))));
		if (!rows.length) this.body.append(h('tr', {}, h('td', { colspan: 5, text: 'No samples.' })));
		this.fit();
	}

	/** Cut the names that do not fit their column in the middle. */
	fit() {
		const col = this.head.firstChild;
		if (!col || !col.clientWidth) return;
		const max = Math.floor((col.clientWidth - 22) / monoCharWidth());
		for (const td of this.body.querySelectorAll('td.fn')) td.firstChild.textContent = middleCut(td.title, max);
	}

	/** Mark name as the chosen row, without moving any row. */
	select(name) {
		this.selected = name || '';
		for (const tr of this.body.rows) if (tr.dataset.name !== undefined) tr.setAttribute('aria-selected', String(tr.dataset.name === this.selected));
	}

	pick(name) {
		this.select(name);
		this.onPick?.(name);
	}
}

// sandwich.js — the sandwich view of one function: who called it (above, read upwards from the
// function at the bottom) and what it called (below, from the function at the top), merged over
// every place it appears, as speedscope and Pyroscope draw it.

import { h } from './util.js';
import { FlameGraph, sandwich, fmtPct, fmtNum } from './flame.js';

export class SandwichPanel {
	constructor() {
		this.title = h('h2');
		this.note = h('p.note');
		this.callersBox = h('div.sandwich-callers');
		this.calleesBox = h('div.sandwich-callees');
		this.el = h('div.sandwich', {}, this.title, this.note,
			h('h3', { text: 'Callers (the function at the bottom, its callers above it)' }), this.callersBox,
			h('h3', { text: 'Callees (the function at the top, what it called below it)' }), this.calleesBox);
		this.callers = new FlameGraph(this.callersBox, { icicle: false, processRow: false });
		this.callees = new FlameGraph(this.calleesBox, { icicle: true, processRow: false });
		this.name = '';
	}

	/** Show name's sandwich from tree; nothing chosen yet: say how to choose. */
	set(tree, name) {
		this.name = name || '';
		this.el.dataset.fn = this.name;
		if (!tree || !name) {
			this.title.textContent = 'Sandwich';
			this.note.textContent = 'Choose a function in Top functions below.';
			this.callersBox.hidden = this.calleesBox.hidden = true;
			return;
		}
		const s = sandwich(tree, name);
		const all = tree.tot[0][0];
		this.title.textContent = `Sandwich: ${name}`;
		this.note.textContent = s.total > 0
			? `${fmtNum(s.total)} samples pass through it (${fmtPct(all ? (100 * s.total) / all : 0)} of all). Click a frame to zoom; the percentages are of all samples.`
			: 'This function has no samples in the current selection.';
		this.callersBox.hidden = this.calleesBox.hidden = s.total === 0;
		this.callers.opts.total = all;
		this.callees.opts.total = all;
		this.tree = { callers: s.callers, callees: s.callees };
		this.callers.setTree(s.callers);
		this.callees.setTree(s.callees);
	}
}

// filters.js — label filters the query API does not take yet, applied to the stacks it returned:
// the process (the first frame of a stack) and the runtime (from the frames' suffixes).

import { h } from './util.js';

/** The runtime filters, in the order shown. A stack is of a runtime when it has one of its
 * frames: Python `_[p]`/`_[pn]`, Java `_[j]` (outside Node), Node (a `node` process, or JIT
 * frames named as V8 names them), kernel `_[k]`. "native" is a stack with no interpreter or
 * JIT frame at all (kernel frames allowed). A stack may be of several (Python calling the
 * kernel). */
export const RUNTIME_FILTERS = [
	{ id: 'native', label: 'native' },
	{ id: 'python', label: 'Python' },
	{ id: 'java', label: 'Java' },
	{ id: 'node', label: 'Node' },
	{ id: 'kernel', label: 'kernel' },
];

const V8_FRAME = /^(?:LazyCompile|JS|Function|Builtin|Script|Eval|InterpretedFunction|RegExp|Handler|Stub|BytecodeHandler):/;
const NODE_PROCESS = /^(?:node|nodejs)$/;

/** The runtime ids of one "process;frame;...;leaf" stack, as a Set. */
export function stackRuntimes(stack) {
	const out = new Set();
	const frames = stack.split(';');
	const node = NODE_PROCESS.test(frames[0]);
	let managed = false;
	for (let i = 1; i < frames.length; i++) {
		const f = frames[i];
		if (!f.endsWith(']')) continue;
		if (f.endsWith('_[k]')) out.add('kernel');
		else if (f.endsWith('_[p]') || f.endsWith('_[pn]')) { out.add('python'); managed = true; }
		else if (f.endsWith('_[j]')) { out.add(node || V8_FRAME.test(f) ? 'node' : 'java'); managed = true; }
		else if (f.endsWith('_[rb]')) managed = true;
	}
	if (node) out.add('node');
	if (!managed && !node) out.add('native');
	return out;
}

/** Visit the lines of a collapsed text: fn(line, stack, count). */
function eachLine(text, fn) {
	for (const line of text.split('\n')) {
		if (!line || line.charCodeAt(0) === 35) continue;
		const sp = line.lastIndexOf(' ');
		if (sp <= 0) continue;
		const count = Number(line.slice(sp + 1));
		if (count > 0) fn(line, line.slice(0, sp), count);
	}
}

/** [{name, samples}] of the processes in a collapsed text, most samples first. */
export function processCounts(text) {
	const by = new Map();
	eachLine(text, (line, stack, count) => {
		const i = stack.indexOf(';');
		const p = i < 0 ? stack : stack.slice(0, i);
		by.set(p, (by.get(p) || 0) + count);
	});
	return [...by].map(([name, samples]) => ({ name, samples })).sort((a, b) => b.samples - a.samples || (a.name < b.name ? -1 : 1));
}

/** The lines of text whose process is in procs (when any) and whose runtimes meet rts (when any). */
export function filterCollapsed(text, procs, rts) {
	if (!procs.size && !rts.size) return text;
	const out = [];
	eachLine(text, (line, stack) => {
		const i = stack.indexOf(';');
		if (procs.size && !procs.has(i < 0 ? stack : stack.slice(0, i))) return;
		if (rts.size) {
			const r = stackRuntimes(stack);
			if (![...rts].some((x) => r.has(x))) return;
		}
		out.push(line);
	});
	return out.length ? out.join('\n') + '\n' : '';
}

const MAX_LISTED = 200;

/** The filter bar: a process list (checkboxes in a drop-down) and runtime toggles.
 * onChange() after the user changes either; get() -> {procs: Set, rts: Set}; set(procs, rts). */
export class FilterBar {
	constructor({ onChange }) {
		this.onChange = onChange;
		this.procs = new Set();
		this.rts = new Set();
		this.procList = h('div.proclist', { role: 'group', 'aria-label': 'Processes' });
		this.procSummary = h('summary', { text: 'Processes: all' });
		this.procBox = h('details.procs', {}, this.procSummary,
			h('div.dropdown', {}, h('div.row', {}, h('button.ghost', { type: 'button', text: 'All processes', on: { click: () => this.setProcs(new Set(), true) } })),
				this.procList));
		this.rtBoxes = RUNTIME_FILTERS.map((r) => {
			const cb = h('input', { type: 'checkbox', name: 'runtime', value: r.id, on: { change: () => this.rtChanged() } });
			return h('label.check', {}, cb, h('span', { text: r.label }));
		});
		this.el = h('div.filters', {}, this.procBox,
			h('span.rtgroup', { role: 'group', 'aria-label': 'Runtimes' }, h('span.label', { text: 'Runtime:' }), ...this.rtBoxes),
			h('span.note', { text: 'filtered in the browser' }));
	}

	/** The processes of the unfiltered profile, for the list. */
	setProcesses(list) {
		this.list = list;
		this.renderProcs();
	}

	renderProcs() {
		const list = this.list || [];
		const shown = list.slice(0, MAX_LISTED);
		for (const p of this.procs) if (!shown.some((x) => x.name === p)) shown.push({ name: p, samples: 0 });
		this.procList.replaceChildren(...shown.map((p) => h('label.check', { title: p.name },
			h('input', { type: 'checkbox', name: 'process', value: p.name, checked: this.procs.has(p.name),
				on: { change: (e) => { const s = new Set(this.procs); if (e.target.checked) s.add(p.name); else s.delete(p.name); this.setProcs(s, true); } } }),
			h('span', { text: `${p.name} (${p.samples.toLocaleString('en-US')})` }))));
		if (list.length > MAX_LISTED) this.procList.append(h('p.note', { text: `the ${MAX_LISTED} busiest of ${list.length} processes` }));
		const n = this.procs.size;
		this.procSummary.textContent = n === 0 ? 'Processes: all' : n === 1 ? `Process: ${[...this.procs][0]}` : `Processes: ${n} chosen`;
	}

	setProcs(set, fromUser = false) {
		this.procs = set;
		this.renderProcs();
		if (fromUser) this.onChange();
	}

	rtChanged() {
		this.rts = new Set(this.rtBoxes.map((l) => l.querySelector('input')).filter((c) => c.checked).map((c) => c.value));
		this.onChange();
	}

	get() { return { procs: this.procs, rts: this.rts }; }

	set(procs, rts) {
		this.rts = new Set(rts);
		for (const l of this.rtBoxes) { const c = l.querySelector('input'); c.checked = this.rts.has(c.value); }
		this.setProcs(new Set(procs));
	}
}

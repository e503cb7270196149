// flame.js — collapsed stacks -> frame tree (typed arrays) and a canvas flame graph.
//
// No imports on purpose: the dashboard's HTML export and the agent's HTML file (which carries it
// in a header generated at build time) embed this file verbatim, so it is the one renderer.
// It must never contain a script element's closing tag (the agent's unit test checks).
//
// The tree: node 0 is the root ("all"); every other node is one frame under its parent. Nodes are
// numbered in creation order, so a parent's id is always smaller than its children's. Per node:
// nameOf (index into names; names[0] is the root's label, never a frame's), parent, depth, tot[side] / self[side] (samples; side 0, and side 1
// for a comparison), weight (what the width is drawn from), x (offset in weight units, children
// ordered by name). A single profile: weight = samples. A comparison: weight = share in A + share
// in B (each side normalised to 1), so frames present on only one side stay visible.

export const MAX_NODES = 8000000; // a bound on memory: ~80 bytes a node

const RUNTIMES = [
	// suffix, label, hue range start, hue range width, saturation, lightness
	{ suffix: '_[k]', label: 'kernel', hue: 200, span: 22, sat: 62, light: 70 },
	{ suffix: '_[p]', label: 'Python', hue: 46, span: 12, sat: 85, light: 62 },
	{ suffix: '_[j]', label: 'Java', hue: 100, span: 35, sat: 52, light: 60 },
	{ suffix: '_[pn]', label: 'Python native', hue: 265, span: 25, sat: 55, light: 76 },
	{ suffix: '_[rb]', label: 'Ruby', hue: 330, span: 15, sat: 60, light: 74 },
];
const NATIVE = { suffix: '', label: 'native', hue: 4, span: 26, sat: 78, light: 64 };

export function runtimeOf(name) {
	if (name.endsWith(']')) {
		for (const r of RUNTIMES)
			if (name.endsWith(r.suffix)) return r;
	}
	return NATIVE;
}

/** The legend: [{label, color}] in display order. */
export function runtimeLegend() {
	return [NATIVE, ...RUNTIMES].map((r) => ({ label: r.label,
		color: `hsl(${r.hue + r.span / 2},${r.sat}%,${r.light}%)` })).concat([{ label: 'process', color: PROCESS_COLOR }]);
}

const PROCESS_COLOR = 'hsl(215,22%,76%)';

function hashStr(s) {
	let h = 2166136261;
	for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
	return (h >>> 0) / 4294967296;
}

export function frameColor(name) {
	const r = runtimeOf(name);
	const v = hashStr(name);
	return `hsl(${(r.hue + v * r.span).toFixed(1)},${r.sat}%,${(r.light + (v - 0.5) * 8).toFixed(1)}%)`;
}

/** Visit each stack line of a collapsed text: fn(stack, count). Skips empty lines and '#' lines
 * (a header or comments); lines whose count does not parse are skipped too. */
export function parseCollapsed(text, fn) {
	let pos = 0;
	const len = text.length;
	while (pos < len) {
		let nl = text.indexOf('\n', pos);
		if (nl < 0) nl = len;
		let end = nl;
		if (end > pos && text.charCodeAt(end - 1) === 13) end--;
		if (end > pos && text.charCodeAt(pos) !== 35 /* # */) {
			const sp = text.lastIndexOf(' ', end - 1);
			if (sp > pos) {
				const count = Number(text.slice(sp + 1, end));
				if (count > 0 && Number.isFinite(count)) fn(text.slice(pos, sp), count);
			}
		}
		pos = nl + 1;
	}
}

class Builder {
	constructor(sides, sizeHint, rootName = 'all') {
		this.sides = sides;
		// presize from the text length (a frame costs a few bytes of text at least)
		const pow2 = (v) => 1 << Math.min(23, Math.max(12, Math.ceil(Math.log2(Math.max(v, 1)))));
		this.cap = pow2(sizeHint / 12);
		this.n = 1;
		this.parent = new Int32Array(this.cap);
		this.nameOf = new Int32Array(this.cap);
		this.depth = new Int32Array(this.cap);
		this.tot = [];
		this.self = [];
		for (let s = 0; s < sides; s++) {
			this.tot.push(new Float64Array(this.cap));
			this.self.push(new Float64Array(this.cap));
		}
		// a Map, not an object: a frame may be called "__proto__" or "constructor"
		this.names = [rootName];
		this.nameIds = new Map();
		// (parent, name) -> child: open addressing on typed arrays (a Map with number keys is slow)
		this.hcap = this.cap * 2;
		this.hshift = 32 - Math.log2(this.hcap);
		this.hkey = new Int32Array(this.hcap).fill(-1); // the child node; its parent/name are the key
		this.stacks = [0, 0];
		this.sum = [0, 0];
		this.maxDepth = 0;
		this.prevFrames = [];
		this.prevNodes = [];
	}

	grow() {
		const cap = this.cap * 2;
		const g = (a, T) => { const b = new T(cap); b.set(a); return b; };
		this.parent = g(this.parent, Int32Array);
		this.nameOf = g(this.nameOf, Int32Array);
		this.depth = g(this.depth, Int32Array);
		for (let s = 0; s < this.sides; s++) {
			this.tot[s] = g(this.tot[s], Float64Array);
			this.self[s] = g(this.self[s], Float64Array);
		}
		this.cap = cap;
	}

	rehash() {
		this.hcap *= 2;
		this.hshift--;
		const mask = this.hcap - 1;
		this.hkey = new Int32Array(this.hcap).fill(-1);
		for (let c = 1; c < this.n; c++) {
			let h = Math.imul(this.parent[c] ^ Math.imul(this.nameOf[c], 0x85ebca77), 0x9e3779b1) >>> this.hshift;
			while (this.hkey[h] >= 0) h = (h + 1) & mask;
			this.hkey[h] = c;
		}
	}

	add(side, stack, count) {
		if (stack === '') { // samples of the root itself (a sandwich's function)
			this.tot[side][0] += count;
			this.self[side][0] += count;
			this.stacks[side]++;
			this.sum[side] += count;
			return;
		}
		// Sorted input (the server's) shares a prefix with the previous line: find it by comparing
		// characters, reuse the previous line's nodes for the whole frames in it, split the rest.
		const prevF = this.prevFrames, prevN = this.prevNodes;
		let tot = this.tot[side];
		let node = 0, m = 0, pos = 0, whole = false;
		while (m < prevF.length) {
			const f = prevF[m];
			if (!stack.startsWith(f, pos)) break;
			const e = pos + f.length;
			if (e !== stack.length && stack.charCodeAt(e) !== 59) break;
			node = prevN[m];
			tot[node] += count;
			m++;
			pos = e + 1;
			if (e === stack.length) { whole = true; break; }
		}
		prevN.length = m;
		prevF.length = m;
		let fresh = false;
		while (!whole) {
			let e = stack.indexOf(';', pos);
			if (e < 0) e = stack.length;
			const f = stack.slice(pos, e);
			let id = this.nameIds.get(f);
			if (id === undefined) {
				id = this.names.length;
				this.names.push(f);
				this.nameIds.set(f, id);
			}
			const mask = this.hcap - 1;
			let h = Math.imul(node ^ Math.imul(id, 0x85ebca77), 0x9e3779b1) >>> this.hshift;
			let child = -1;
			// a node created on this line has no children yet: nothing to look up under it
			for (let k = this.hkey[h]; k >= 0; k = this.hkey[h]) {
				if (!fresh && this.parent[k] === node && this.nameOf[k] === id) { child = k; break; }
				h = (h + 1) & mask;
			}
			if (child < 0) {
				fresh = true;
				if (this.n >= MAX_NODES) throw new Error(`profile too large: over ${MAX_NODES} frames`);
				if (this.n >= this.cap) { this.grow(); tot = this.tot[side]; }
				child = this.n++;
				this.parent[child] = node;
				this.nameOf[child] = id;
				const d = this.depth[node] + 1;
				this.depth[child] = d;
				if (d > this.maxDepth) this.maxDepth = d;
				this.hkey[h] = child;
				if (this.n * 2 > this.hcap) this.rehash();
			}
			node = child;
			tot[node] += count;
			prevN.push(node);
			prevF.push(f);
			pos = e + 1;
			if (e === stack.length) break;
		}
		this.self[side][node] += count;
		tot[0] += count;
		this.stacks[side]++;
		this.sum[side] += count;
	}

	finish() {
		const n = this.n;
		const names = this.names;
		// rank names alphabetically; children are ordered by name like classic flame graphs
		const order = Array.from(names.keys()).sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
		const rank = new Int32Array(names.length);
		order.forEach((id, r) => { rank[id] = r; });
		const firstChild = new Int32Array(n + 1);
		for (let i = 1; i < n; i++) firstChild[this.parent[i] + 1]++;
		for (let i = 0; i < n; i++) firstChild[i + 1] += firstChild[i];
		const children = new Int32Array(Math.max(n - 1, 0));
		const fill = firstChild.slice(0, n);
		for (let i = 1; i < n; i++) children[fill[this.parent[i]]++] = i;
		const nameOf = this.nameOf;
		for (let p = 0; p < n; p++) {
			const a = firstChild[p], b = firstChild[p + 1];
			if (b - a > 1) children.subarray(a, b).sort((u, v) => rank[nameOf[u]] - rank[nameOf[v]]);
		}
		const weight = new Float64Array(n);
		if (this.sides === 1) {
			weight.set(this.tot[0].subarray(0, n));
		} else {
			const ka = this.sum[0] > 0 ? 1 / this.sum[0] : 0, kb = this.sum[1] > 0 ? 1 / this.sum[1] : 0;
			const ta = this.tot[0], tb = this.tot[1];
			for (let i = 0; i < n; i++) weight[i] = ta[i] * ka + tb[i] * kb;
		}
		const x = new Float64Array(n);
		for (let p = 0; p < n; p++) {
			let acc = x[p];
			for (let c = firstChild[p]; c < firstChild[p + 1]; c++) {
				const k = children[c];
				x[k] = acc;
				acc += weight[k];
			}
		}
		return {
			n, names, sides: this.sides,
			nameOf: nameOf.subarray(0, n), parent: this.parent.subarray(0, n), depth: this.depth.subarray(0, n),
			tot: this.tot.map((a) => a.subarray(0, n)), self: this.self.map((a) => a.subarray(0, n)),
			firstChild, children, weight, x, maxDepth: this.maxDepth,
			stacks: this.stacks.slice(0, this.sides), sum: this.sum.slice(0, this.sides),
		};
	}
}

/** Build a tree from one collapsed text, or two (a comparison: A then B). */
export function buildTree(textA, textB = null, { rootName = 'all' } = {}) {
	const b = new Builder(textB === null ? 1 : 2, textA.length + (textB === null ? 0 : textB.length), rootName);
	parseCollapsed(textA, (s, c) => b.add(0, s, c));
	if (textB !== null) {
		b.prevFrames = [];
		b.prevNodes = [];
		parseCollapsed(textB, (s, c) => b.add(1, s, c));
	}
	return b.finish();
}

/** Frames from the root to node (excluding the root), as node ids. */
export function pathOf(tree, node) {
	const out = [];
	for (let k = node; k > 0; k = tree.parent[k]) out.push(k);
	return out.reverse();
}

/** The names of the frames from the root to node (excluding the root). */
export function pathNames(tree, node) {
	return pathOf(tree, node).map((k) => tree.names[tree.nameOf[k]]);
}

/** The node reached by following names down from the root, as far as they match (a zoom kept in
 * a link still lands somewhere sensible when the data changed). */
export function nodeByPath(tree, names) {
	let k = 0;
	for (const nm of names) {
		let next = -1;
		for (let c = tree.firstChild[k]; c < tree.firstChild[k + 1] && next < 0; c++)
			if (tree.names[tree.nameOf[tree.children[c]]] === nm) next = tree.children[c];
		if (next < 0) break;
		k = next;
	}
	return k;
}

/** The sandwich of function name: {callers, callees}, two trees whose root is the function.
 * callers: each stack through the function, from its caller up to the process (read upwards);
 * callees: what the function called, merged over every place it was called from. A recursive
 * function counts once per stack (at its outermost frame). total: samples through it. */
export function sandwich(tree, name, side = 0) {
	const callers = new Builder(1, 0, name), callees = new Builder(1, 0, name);
	const id = tree.names.indexOf(name, 1);
	const tot = tree.tot[side], self = tree.self[side];
	let total = 0;
	const stack = id > 0 ? [0] : [];
	while (stack.length) {
		const v = stack.pop();
		if (tot[v] === 0) continue;
		if (v === 0 || tree.nameOf[v] !== id) {
			for (let c = tree.firstChild[v + 1] - 1; c >= tree.firstChild[v]; c--) stack.push(tree.children[c]);
			continue;
		}
		total += tot[v];
		const up = [];
		for (let k = tree.parent[v]; k > 0; k = tree.parent[k]) up.push(tree.names[tree.nameOf[k]]);
		callers.add(0, up.join(';'), tot[v]);
		const sub = [[v, '']];
		while (sub.length) {
			const [u, path] = sub.pop();
			if (self[u] > 0) callees.add(0, path, self[u]);
			for (let c = tree.firstChild[u + 1] - 1; c >= tree.firstChild[u]; c--) {
				const ch = tree.children[c];
				if (tot[ch] > 0) sub.push([ch, path ? `${path};${tree.names[tree.nameOf[ch]]}` : tree.names[tree.nameOf[ch]]]);
			}
		}
	}
	return { callers: callers.finish(), callees: callees.finish(), total };
}

/** The subtree of node as collapsed text (the path to node kept as the stack prefix). */
export function toCollapsed(tree, node = 0, side = 0) {
	const lines = [];
	const prefix = pathOf(tree, node).map((k) => tree.names[tree.nameOf[k]]);
	const walk = (k, frames) => {
		const self = tree.self[side][k];
		if (self > 0 && frames.length) lines.push(`${frames.join(';')} ${self}`);
		for (let c = tree.firstChild[k]; c < tree.firstChild[k + 1]; c++) {
			const ch = tree.children[c];
			if (tree.tot[side][ch] > 0) {
				frames.push(tree.names[tree.nameOf[ch]]);
				walk(ch, frames);
				frames.pop();
			}
		}
	};
	// iterative would be safer for very deep stacks; depth is bounded by the collapsed format (1024)
	walk(node, prefix);
	return lines.join('\n') + (lines.length ? '\n' : '');
}

/** Self and total samples per function name in the subtree of node (a recursive function's total
 * counted once per stack). [{name, self, total}] in no particular order. */
export function topFunctions(tree, node = 0, side = 0) {
	const selfBy = new Float64Array(tree.names.length), totBy = new Float64Array(tree.names.length);
	const onPath = new Int32Array(tree.names.length);
	const tot = tree.tot[side], self = tree.self[side];
	const stack = [node];
	while (stack.length) {
		const v = stack.pop();
		if (v < 0) { onPath[tree.nameOf[~v]]--; continue; }
		if (tot[v] === 0) continue;
		if (v !== 0) {
			const nm = tree.nameOf[v];
			selfBy[nm] += self[v];
			if (onPath[nm] === 0) totBy[nm] += tot[v];
			onPath[nm]++;
			stack.push(~v);
		}
		for (let c = tree.firstChild[v]; c < tree.firstChild[v + 1]; c++) stack.push(tree.children[c]);
	}
	const out = [];
	for (let i = 1; i < tree.names.length; i++)
		if (totBy[i] > 0) out.push({ name: tree.names[i], self: selfBy[i], total: totBy[i] });
	return out;
}

/** Names matching term: a case-insensitive substring, or /regex/flags. null for no search. */
export function matchNames(tree, term, exact = false) {
	if (!term) return null;
	let test;
	const m = /^\/(.+)\/([a-z]*)$/.exec(term);
	if (exact) {
		test = (s) => s === term;
	} else if (m) {
		let re;
		try { re = new RegExp(m[1], m[2]); } catch { re = null; }
		if (!re) return new Uint8Array(tree.names.length);
		test = (s) => re.test(s);
	} else {
		const t = term.toLowerCase();
		test = (s) => s.toLowerCase().includes(t);
	}
	const out = new Uint8Array(tree.names.length);
	for (let i = 1; i < tree.names.length; i++) if (test(tree.names[i])) out[i] = 1;
	return out;
}

/** Samples in frames matching (each stack counted once: a match's matching descendants are not
 * added again), for a side. */
export function matchedSamples(tree, matched, side = 0) {
	if (!matched) return 0;
	let sum = 0;
	const tot = tree.tot[side];
	const stack = [0];
	while (stack.length) {
		const v = stack.pop();
		if (v !== 0 && matched[tree.nameOf[v]]) { sum += tot[v]; continue; }
		for (let c = tree.firstChild[v]; c < tree.firstChild[v + 1]; c++) stack.push(tree.children[c]);
	}
	return sum;
}

/** The node of the function name with the most samples (for "focus on a function"). */
export function heaviestNodeOf(tree, name, side = 0) {
	const id = tree.names.indexOf(name, 1);
	let best = -1;
	for (let i = 1; id > 0 && i < tree.n; i++)
		if (tree.nameOf[i] === id && (best < 0 || tree.tot[side][i] > tree.tot[side][best])) best = i;
	return best;
}

export function fmtPct(v) {
	if (!Number.isFinite(v)) return '–';
	return (v >= 10 || v === 0 ? v.toFixed(1) : v.toFixed(2)) + '%';
}

export function fmtNum(v) {
	return Math.round(v).toLocaleString('en-US');
}

// ---- the canvas view --------------------------------------------------------------------------

const ROW = 18;
const MIN_PX = 0.5;          // narrower frames are not drawn (nor their children)
const MAX_CANVAS_H = 16000;  // px, a bound for very deep stacks

export class FlameGraph {
	/** container: an element the graph fills (its width) and scrolls in (give it a max-height).
	 * opts: onZoom(path) after each zoom, onSelect(node) on keyboard selection, icicle (root at
	 * the top; the default), total (the samples "% of all" refers to; default the root's),
	 * processRow (frames at depth 1 are processes, drawn grey; default true). */
	constructor(container, opts = {}) {
		this.container = container;
		this.opts = opts;
		this.tree = null;
		this.zoomNode = 0;
		this.icicle = opts.icicle ?? true;
		this.matched = null;
		this.selected = -1;
		this.hover = -1;
		this.lastRender = { nodes: 0, ms: 0 };
		container.classList.add('fg');
		this.canvas = document.createElement('canvas');
		this.canvas.tabIndex = 0;
		this.canvas.setAttribute('role', 'img');
		this.canvas.setAttribute('aria-label',
			'Flame graph. Arrow keys move between frames, Enter zooms, Escape resets the zoom.');
		this.tip = document.createElement('div');
		this.tip.className = 'fg-tip';
		this.tip.hidden = true;
		container.append(this.canvas, this.tip);
		this.ctx = this.canvas.getContext('2d');
		this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
		this.canvas.addEventListener('mouseleave', () => { this.hover = -1; this.tip.hidden = true; });
		this.canvas.addEventListener('click', (e) => {
			const k = this.nodeAtEvent(e);
			// the zoomed frame is the whole width: no outline (the keyboard's selection starts from it)
			if (k >= 0) { this.selected = -1; this.zoom(k); }
		});
		this.canvas.addEventListener('keydown', (e) => this.onKey(e));
		container.addEventListener('scroll', () => { this.tip.hidden = true; }, { passive: true });
		if (typeof ResizeObserver !== 'undefined') {
			let w = 0;
			this.ro = new ResizeObserver(() => {
				if (container.clientWidth === w || !this.tree) return;
				w = container.clientWidth;
				this.render();
				this.reveal(this.tree.depth[this.zoomNode]); // e.g. drawn while hidden: the root into view
			});
			this.ro.observe(container);
		}
	}

	/** Show tree, opened on its root. zoomNode: a node to open zoomed on (a view from a link). */
	setTree(tree, zoomNode = 0) {
		this.tree = tree;
		this.zoomNode = zoomNode > 0 && zoomNode < tree.n ? zoomNode : 0;
		this.selected = -1;
		this.matched = null;
		// a tooltip shown for the previous tree describes frames that are gone
		this.hover = -1;
		this.tip.hidden = true;
		this.colors = new Array(tree.names.length);
		this.render();
		this.reveal(this.tree.depth[this.zoomNode], true);
		this.opts.onZoom?.(pathOf(tree, this.zoomNode));
	}

	/** Root at the top (icicle, on) or at the bottom (flame, off). */
	setIcicle(on) {
		this.icicle = on;
		this.render();
		this.reveal(this.tree ? this.tree.depth[this.selected >= 0 ? this.selected : this.zoomNode] : 0, true);
	}

	/** Highlight frames matching term; returns {samples, percent} of side (0, or 1 for B). The
	 * widest match is scrolled into view when no match is in view. */
	setSearch(term, side = 0, exact = false) {
		if (!this.tree) return { samples: 0, percent: 0 };
		this.matched = matchNames(this.tree, term, exact);
		this.render();
		this.revealMatch();
		const s = matchedSamples(this.tree, this.matched, side);
		const total = this.tree.tot[side][0];
		return { samples: s, percent: total > 0 ? (100 * s) / total : 0 };
	}

	zoom(node) {
		if (!this.tree) return;
		this.zoomNode = node;
		this.render();
		this.reveal(this.tree.depth[node], true);
		this.opts.onZoom?.(pathOf(this.tree, node));
	}

	reset() { this.selected = -1; this.zoom(0); }

	/** Scroll the graph's box so row depth is in view. force: even when it is, put it near the
	 * root's edge with two rows of context (the zoomed frame, the root after a reset). */
	reveal(depth, force = false) {
		const box = this.container;
		const view = box.clientHeight;
		if (!this.tree || !view || box.scrollHeight <= view) return;
		const y = this.rowY(depth);
		if (!force && y >= box.scrollTop && y + ROW <= box.scrollTop + view) return;
		box.scrollTop = this.icicle ? Math.max(0, y - 2 * ROW) : Math.max(0, y + 3 * ROW - view);
	}

	/** After a search: when no matched frame is in view, scroll to the widest one. */
	revealMatch() {
		const t = this.tree, d = this.drawn, m = this.matched;
		if (!m || !d) return;
		const box = this.container;
		let best = -1;
		for (let i = 0; i < d.nodes.length; i++) {
			const k = d.nodes[i];
			if (k === 0 || !m[t.nameOf[k]]) continue;
			const y = this.rowY(t.depth[k]);
			if (y >= box.scrollTop && y + ROW <= box.scrollTop + box.clientHeight) return;
			if (best < 0 || d.ws[i] > d.ws[best]) best = i;
		}
		if (best >= 0) this.reveal(t.depth[d.nodes[best]]);
	}

	color(k) {
		const t = this.tree;
		if (t.sides === 2) {
			const a = t.sum[0] ? t.tot[0][k] / t.sum[0] : 0, b = t.sum[1] ? t.tot[1][k] / t.sum[1] : 0;
			const d = b - a; // share change, -1..1
			const s = Math.min(1, Math.abs(d) * 4);
			if (Math.abs(d) < 0.0005) return 'hsl(0,0%,88%)';
			return d > 0 ? `hsl(0,${(40 + 50 * s).toFixed(0)}%,${(88 - 30 * s).toFixed(0)}%)`
				: `hsl(215,${(40 + 50 * s).toFixed(0)}%,${(88 - 30 * s).toFixed(0)}%)`;
		}
		const nm = t.nameOf[k];
		if (k === 0) return 'hsl(220,10%,80%)';
		if (t.depth[k] === 1 && this.opts.processRow !== false) return PROCESS_COLOR; // the process (comm), not a function
		return this.colors[nm] ??= frameColor(t.names[nm]);
	}

	/** Lay out visible frames and draw them. */
	render() {
		const t0 = performance.now();
		const t = this.tree;
		const ctx = this.ctx;
		const W = Math.max(this.container.clientWidth, 100);
		if (!t) return;
		const z = this.zoomNode;
		const scale = t.weight[z] > 0 ? W / t.weight[z] : 0;
		const x0 = t.x[z];
		// collect drawn frames: the path to z full width, then z's subtree
		const nodes = [], xs = [], ws = [];
		for (let k = t.parent[z]; z !== 0 && k >= 0; k = k === 0 ? -1 : t.parent[k]) {
			nodes.push(k); xs.push(0); ws.push(W);
		}
		const stack = [z];
		let maxD = t.depth[z];
		while (stack.length) {
			const k = stack.pop();
			const w = t.weight[k] * scale;
			if (w < MIN_PX) continue;
			nodes.push(k);
			xs.push((t.x[k] - x0) * scale);
			ws.push(w);
			if (t.depth[k] > maxD) maxD = t.depth[k];
			for (let c = t.firstChild[k + 1] - 1; c >= t.firstChild[k]; c--) stack.push(t.children[c]);
		}
		this.drawn = { nodes, xs, ws };
		const dpr = window.devicePixelRatio || 1;
		const H = Math.min((maxD + 1) * ROW + 2, MAX_CANVAS_H);
		this.height = H;
		this.canvas.style.width = W + 'px';
		this.canvas.style.height = H + 'px';
		if (this.canvas.width !== Math.round(W * dpr) || this.canvas.height !== Math.round(H * dpr)) {
			this.canvas.width = Math.round(W * dpr);
			this.canvas.height = Math.round(H * dpr);
		}
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.clearRect(0, 0, W, H);
		ctx.font = '12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';
		ctx.textBaseline = 'middle';
		const charW = (this.charW ??= ctx.measureText('MMMMMMMMMM').width / 10);
		const matched = this.matched;
		for (let i = 0; i < nodes.length; i++) {
			const k = nodes[i];
			const y = this.rowY(t.depth[k]);
			if (y < -ROW || y > H) continue;
			const x = xs[i], w = ws[i];
			const hit = matched && k !== 0 && matched[t.nameOf[k]];
			ctx.fillStyle = hit ? '#d946ef' : this.color(k);
			ctx.fillRect(x, y, w > 2 ? w - 1 : w, ROW - 1);
			if (w > charW * 3 + 6) {
				const name = t.names[t.nameOf[k]];
				const fit = Math.floor((w - 6) / charW);
				ctx.fillStyle = '#111';
				ctx.fillText(name.length <= fit ? name : name.slice(0, fit - 1) + '…', x + 3, y + ROW / 2);
			}
		}
		const sel = this.selected >= 0 ? nodes.indexOf(this.selected) : -1;
		if (sel >= 0) {
			ctx.strokeStyle = '#111';
			ctx.lineWidth = 2;
			ctx.strokeRect(xs[sel] + 1, this.rowY(t.depth[this.selected]) + 1, Math.max(ws[sel] - 3, 1), ROW - 3);
		}
		this.lastRender = { nodes: nodes.length, ms: performance.now() - t0 };
	}

	rowY(depth) { return this.icicle ? depth * ROW : this.height - (depth + 1) * ROW - 1; }

	nodeAt(px, py) {
		const d = this.drawn;
		if (!d || !this.tree) return -1;
		const depth = this.icicle ? Math.floor(py / ROW) : Math.floor((this.height - 1 - py) / ROW);
		for (let i = 0; i < d.nodes.length; i++) {
			const k = d.nodes[i];
			if (this.tree.depth[k] === depth && px >= d.xs[i] && px < d.xs[i] + d.ws[i]) return k;
		}
		return -1;
	}

	nodeAtEvent(e) {
		const r = this.canvas.getBoundingClientRect();
		return this.nodeAt(e.clientX - r.left, e.clientY - r.top);
	}

	/** Position (relative to the canvas) of a drawn node's centre, or null. */
	nodeCenter(k) {
		const d = this.drawn;
		const i = d ? d.nodes.indexOf(k) : -1;
		if (i < 0) return null;
		return { x: d.xs[i] + d.ws[i] / 2, y: this.rowY(this.tree.depth[k]) + ROW / 2 };
	}

	describe(k) {
		const t = this.tree;
		const name = t.names[t.nameOf[k]];
		if (t.sides === 2) {
			const pa = t.sum[0] ? (100 * t.tot[0][k]) / t.sum[0] : 0, pb = t.sum[1] ? (100 * t.tot[1][k]) / t.sum[1] : 0;
			const d = pb - pa;
			return { name, lines: [`A: ${fmtNum(t.tot[0][k])} samples (${fmtPct(pa)})`,
				`B: ${fmtNum(t.tot[1][k])} samples (${fmtPct(pb)})`,
				`change: ${d >= 0 ? '+' : ''}${d.toFixed(2)} points`] };
		}
		const all = this.opts.total ?? t.tot[0][0], zt = t.tot[0][this.zoomNode];
		const lines = [`${fmtNum(t.tot[0][k])} samples, ${fmtPct(all ? (100 * t.tot[0][k]) / all : 0)} of all`];
		if (this.zoomNode !== 0 && zt > 0) lines.push(`${fmtPct((100 * t.tot[0][k]) / zt)} of the zoomed frame`);
		lines.push(`self ${fmtNum(t.self[0][k])} (${fmtPct(all ? (100 * t.self[0][k]) / all : 0)})`);
		lines.push(runtimeOf(name).label);
		return { name, lines };
	}

	showTip(k, px, py) {
		if (k < 0) { this.tip.hidden = true; return; }
		const { name, lines } = this.describe(k);
		this.tip.replaceChildren();
		const b = document.createElement('b');
		b.textContent = name;
		this.tip.append(b);
		for (const l of lines) {
			const div = document.createElement('div');
			div.textContent = l;
			this.tip.append(div);
		}
		this.tip.hidden = false;
		// fixed to the viewport so a scrolling or clipping parent never hides it
		const r = this.canvas.getBoundingClientRect();
		const tw = this.tip.offsetWidth, th = this.tip.offsetHeight;
		const vx = r.left + px, vy = r.top + py;
		this.tip.style.left = Math.max(4, Math.min(vx + 14, window.innerWidth - tw - 8)) + 'px';
		this.tip.style.top = (vy + 16 + th > window.innerHeight ? Math.max(4, vy - th - 10) : vy + 16) + 'px';
	}

	onMove(e) {
		const r = this.canvas.getBoundingClientRect();
		const px = e.clientX - r.left, py = e.clientY - r.top;
		const k = this.nodeAt(px, py);
		this.hover = k;
		this.canvas.style.cursor = k >= 0 ? 'pointer' : 'default';
		this.showTip(k, px, py);
	}

	onKey(e) {
		const t = this.tree;
		if (!t) return;
		let k = this.selected >= 0 ? this.selected : this.zoomNode;
		const d = this.drawn;
		const sameRow = (dir) => {
			const i = d.nodes.indexOf(k);
			if (i < 0) return k;
			let best = -1, bx = dir > 0 ? Infinity : -Infinity;
			for (let j = 0; j < d.nodes.length; j++) {
				const o = d.nodes[j];
				if (t.depth[o] !== t.depth[k] || o === k) continue;
				if (dir > 0 ? d.xs[j] > d.xs[i] && d.xs[j] < bx : d.xs[j] < d.xs[i] && d.xs[j] > bx) { best = o; bx = d.xs[j]; }
			}
			return best >= 0 ? best : k;
		};
		const firstChild = () => {
			let best = -1;
			for (let c = t.firstChild[k]; c < t.firstChild[k + 1]; c++) {
				const ch = t.children[c];
				if (best < 0 || t.weight[ch] > t.weight[best]) best = ch;
			}
			return best >= 0 ? best : k;
		};
		const toLeaf = this.icicle ? 'ArrowDown' : 'ArrowUp';
		const toRoot = this.icicle ? 'ArrowUp' : 'ArrowDown';
		switch (e.key) {
		case toLeaf: k = firstChild(); break;
		case toRoot: k = k > 0 ? t.parent[k] : k; break;
		case 'ArrowLeft': k = sameRow(-1); break;
		case 'ArrowRight': k = sameRow(1); break;
		case 'Enter': case ' ': this.zoom(k); e.preventDefault(); return;
		case 'Escape': this.reset(); e.preventDefault(); return;
		default: return;
		}
		e.preventDefault();
		this.selected = k;
		this.render();
		this.reveal(t.depth[k]);
		const c = this.nodeCenter(k);
		if (c) this.showTip(k, c.x, c.y);
		this.opts.onSelect?.(k);
	}
}

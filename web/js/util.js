// util.js — small DOM and time helpers shared by the views.

/** h('tag.class', {attrs, on: {event: fn}}, ...children) */
export function h(spec, attrs = {}, ...kids) {
	const [tag, ...cls] = spec.split('.');
	const el = document.createElement(tag);
	if (cls.length) el.className = cls.join(' ');
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
		else if (k === 'text') el.textContent = v;
		else if (k in el && typeof v !== 'string') el[k] = v;
		else el.setAttribute(k, v === true ? '' : v);
	}
	for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
	return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago" from an ISO time (or seconds since the epoch). */
export function relTime(t, now = Date.now()) {
	const ms = typeof t === 'number' ? t * 1000 : Date.parse(t);
	if (!Number.isFinite(ms)) return '–';
	const s = Math.round((now - ms) / 1000);
	if (s < 0) return 'just now';
	if (s < 60) return `${s} s ago`;
	if (s < 3600) return `${Math.floor(s / 60)} min ago`;
	if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
	return `${Math.floor(s / 86400)} d ago`;
}

export function fmtTime(t) {
	const ms = typeof t === 'number' ? t * 1000 : Date.parse(t);
	if (!Number.isFinite(ms)) return '–';
	return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** ISO 8601 UTC to the second, the form the query API takes. */
export function isoUtc(ms) { return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'); }

/** A datetime-local input's value (local time) <-> ms. */
export function toLocalInput(ms) {
	const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
	return d.toISOString().slice(0, 16);
}
export function fromLocalInput(v) { const ms = new Date(v).getTime(); return Number.isFinite(ms) ? ms : NaN; }

export const RANGES = [
	{ id: '15m', label: 'Last 15 minutes', secs: 900 },
	{ id: '1h', label: 'Last hour', secs: 3600 },
	{ id: '6h', label: 'Last 6 hours', secs: 6 * 3600 },
	{ id: '24h', label: 'Last 24 hours', secs: 86400 },
	{ id: '7d', label: 'Last 7 days', secs: 7 * 86400 },
	{ id: 'custom', label: 'Custom…', secs: 0 },
];

/** A time-range picker: a select plus two datetime-local inputs shown for "custom".
 * Returns {el, get() -> {start, end} in ms or throws Error}. */
export function rangePicker(name, initial = '1h') {
	const sel = h('select', { name: `${name}-range`, 'aria-label': 'Time range' },
		RANGES.map((r) => h('option', { value: r.id, text: r.label, selected: r.id === initial })));
	const now = Date.now();
	const from = h('input', { type: 'datetime-local', name: `${name}-from`, 'aria-label': 'From', value: toLocalInput(now - 3600e3) });
	const to = h('input', { type: 'datetime-local', name: `${name}-to`, 'aria-label': 'To', value: toLocalInput(now) });
	const custom = h('span.custom', {}, from, ' – ', to);
	const sync = () => { custom.hidden = sel.value !== 'custom'; };
	sel.addEventListener('change', sync);
	sync();
	return {
		el: h('span.range', {}, sel, custom), select: sel, from, to,
		get() {
			const r = RANGES.find((x) => x.id === sel.value);
			if (r.id !== 'custom') { const end = Date.now() + 1000; return { start: end - r.secs * 1000, end }; }
			const start = fromLocalInput(from.value), end = fromLocalInput(to.value);
			if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) throw new Error('custom range: "from" must be before "to"');
			return { start, end };
		},
		set(id, start, end) {
			sel.value = id;
			if (id === 'custom') { from.value = toLocalInput(start); to.value = toLocalInput(end); }
			sync();
		},
	};
}

/** Trigger a download of text as a file. */
export function download(name, text, type = 'text/plain') {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = h('a', { href: url, download: name });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Status text element with a role for screen readers. */
export function statusLine(cls = 'msg') { return h(`p.${cls}`, { role: 'status', 'aria-live': 'polite' }); }

export function setMsg(el, text, kind = '') {
	el.textContent = text || '';
	el.className = `msg ${kind}`;
}

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
		// through the CSSOM, which a Content-Security-Policy without 'unsafe-inline' allows
		else if (k === 'style') el.style.cssText = v;
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

// ---- one time zone for the whole dashboard: UTC unless the user switches to local time -------

const TZ_KEY = 'fleetprof.tz';
export const TZ_EVENT = 'fleetprof:tz';

export function tzLocal() { try { return localStorage.getItem(TZ_KEY) === 'local'; } catch { return false; } }

/** Switch every time shown and typed to local time (true) or UTC; views hear TZ_EVENT. */
export function setTzLocal(on) {
	try { if (on) localStorage.setItem(TZ_KEY, 'local'); else localStorage.removeItem(TZ_KEY); } catch { /* private mode */ }
	window.dispatchEvent(new Event(TZ_EVENT));
}

/** "UTC", or "local (UTC+01:00)" for the zone times are shown in. */
export function tzLabel(ms = Date.now()) {
	if (!tzLocal()) return 'UTC';
	const off = -new Date(ms).getTimezoneOffset();
	const a = Math.abs(off);
	return `local (UTC${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')})`;
}

function toMs(t) { return typeof t === 'number' ? t * 1000 : Date.parse(t); }

/** "YYYY-MM-DD HH:MM[:SS]" of ms in the chosen zone (no zone name). */
export function fmtClock(ms, { seconds = true, date = true } = {}) {
	const d = new Date(tzLocal() ? ms - new Date(ms).getTimezoneOffset() * 60000 : ms).toISOString();
	const s = `${date ? d.slice(0, 10) + ' ' : ''}${d.slice(11, seconds ? 19 : 16)}`;
	return s;
}

/** An ISO time (or seconds since the epoch) in the chosen zone, with the zone said. */
export function fmtTime(t) {
	const ms = toMs(t);
	if (!Number.isFinite(ms)) return '–';
	return `${fmtClock(ms)} ${tzLocal() ? 'local' : 'UTC'}`;
}

/** A range "2026-11-27 13:00 – 14:00 UTC" (the second date left out when it is the same day). */
export function fmtRange(start, end) {
	const a = fmtClock(start, { seconds: false }), b = fmtClock(end, { seconds: false });
	return `${a} – ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b} ${tzLocal() ? 'local' : 'UTC'}`;
}

/** ISO 8601 UTC to the second, the form the query API takes. */
export function isoUtc(ms) { return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'); }

/** "20261127T1300Z": a range bound in a file name. */
export function fileStamp(ms) { return isoUtc(ms).replace(/[-:]/g, '').replace(/(T\d{4})\d{2}Z$/, '$1Z'); }

/** A file name part: letters, digits, dot, dash and underscore; the rest becomes "-". */
export function slug(s) { return String(s).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'none'; }

/** A datetime-local input's value <-> ms, in the chosen zone. */
export function toInput(ms) { return fmtClock(ms, { seconds: false }).replace(' ', 'T'); }
export function fromInput(v) {
	if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(v)) return NaN;
	const ms = tzLocal() ? new Date(v).getTime() : Date.parse(`${v}Z`);
	return Number.isFinite(ms) ? ms : NaN;
}

export const RANGES = [
	{ id: '15m', label: 'Last 15 minutes', secs: 900 },
	{ id: '1h', label: 'Last hour', secs: 3600 },
	{ id: '6h', label: 'Last 6 hours', secs: 6 * 3600 },
	{ id: '24h', label: 'Last 24 hours', secs: 86400 },
	{ id: '7d', label: 'Last 7 days', secs: 7 * 86400 },
	{ id: 'custom', label: 'Custom…', secs: 0 },
];

export function rangeLabel(id) { return RANGES.find((r) => r.id === id)?.label.toLowerCase() || 'the chosen range'; }

/** A time-range picker: a select plus two datetime-local inputs (in the chosen zone, named next
 * to them) shown for "custom". get() -> {id, start, end} in ms, or throws Error; set(id, start, end). */
export function rangePicker(name, initial = '1h') {
	const sel = h('select', { name: `${name}-range`, 'aria-label': 'Time range' },
		RANGES.map((r) => h('option', { value: r.id, text: r.label, selected: r.id === initial })));
	const now = Date.now();
	let msFrom = now - 3600e3, msTo = now;
	const from = h('input', { type: 'datetime-local', name: `${name}-from`, 'aria-label': 'From', value: toInput(msFrom) });
	const to = h('input', { type: 'datetime-local', name: `${name}-to`, 'aria-label': 'To', value: toInput(msTo) });
	const zone = h('span.tz', { text: tzLabel() });
	const custom = h('span.custom', {}, from, ' – ', to, ' ', zone);
	const sync = () => { custom.hidden = sel.value !== 'custom'; };
	sel.addEventListener('change', sync);
	from.addEventListener('change', () => { msFrom = fromInput(from.value); });
	to.addEventListener('change', () => { msTo = fromInput(to.value); });
	// the same instants, shown in the other zone
	window.addEventListener(TZ_EVENT, () => {
		if (Number.isFinite(msFrom)) from.value = toInput(msFrom);
		if (Number.isFinite(msTo)) to.value = toInput(msTo);
		zone.textContent = tzLabel();
	});
	sync();
	return {
		el: h('span.range', {}, sel, custom), select: sel, from, to,
		get() {
			const r = RANGES.find((x) => x.id === sel.value);
			if (r.id !== 'custom') { const end = Date.now() + 1000; return { id: r.id, start: end - r.secs * 1000, end }; }
			const start = fromInput(from.value), end = fromInput(to.value);
			if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) throw new Error('custom range: "from" must be before "to"');
			return { id: 'custom', start, end };
		},
		set(id, start, end) {
			sel.value = RANGES.some((r) => r.id === id) ? id : '1h';
			if (sel.value === 'custom') { msFrom = start; msTo = end; from.value = toInput(start); to.value = toInput(end); }
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

/** Replace a select's options: values (strings, or [value, label]), with an "all" option first
 * when all is given; the chosen value is kept when it is still there. */
export function fillSelect(sel, values, { all } = {}) {
	const keep = sel.value;
	sel.replaceChildren(...(all ? [h('option', { value: '', text: all })] : []),
		...values.map((v) => (Array.isArray(v) ? h('option', { value: v[0], text: v[1] }) : h('option', { value: v, text: v }))));
	if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

/** A status badge: the class names the state, the text says it (or label). */
export function badge(status, label) {
	return h(`span.badge.st-${(status || 'none').replace(/[^a-z]/g, '')}`, { text: label || status || '–' });
}

/** Status text element with a role for screen readers. */
export function statusLine(cls = 'msg') { return h(`p.${cls}`, { role: 'status', 'aria-live': 'polite' }); }

export function setMsg(el, text, kind = '') {
	el.textContent = text || '';
	el.className = `msg ${kind}`;
}

// chart.js — a small canvas line chart over a time range: one line per series, the x-axis spanning
// the whole range asked for (so where no profile came the chart is empty, and a pause in a line
// is drawn as a gap), times in the dashboard's zone, and drag-to-zoom: dragging across the plot
// calls onRange(start, end).

import { h, fmtClock, tzLocal } from './util.js';

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
const STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400].map((s) => s * 1000);
const MIN_GAP_MS = 90e3;

function css(name, fallback) {
	const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
	return v || fallback;
}

/** The pieces of a series to draw as lines: split where the time to the next point is much more
 * than the usual spacing (a host that stopped reporting). */
export function segments(points) {
	const p = [...points].sort((a, b) => a[0] - b[0]);
	if (p.length < 2) return p.length ? [p] : [];
	const d = [];
	for (let i = 1; i < p.length; i++) d.push(p[i][0] - p[i - 1][0]);
	const med = [...d].sort((a, b) => a - b)[Math.floor(d.length / 2)];
	const gap = Math.max(2.5 * med, MIN_GAP_MS);
	const out = [[p[0]]];
	for (let i = 1; i < p.length; i++) {
		if (p[i][0] - p[i - 1][0] > gap) out.push([]);
		out[out.length - 1].push(p[i]);
	}
	return out;
}

/** series: [{label, points: [[ms, value]]}] over [start, end] (ms). opts: unit, width, height,
 * onRange(start, end) (drag-to-zoom; none: no dragging). Returns a new <figure>. */
export function lineChart(title, series, { start, end, unit = '%', width = 520, height = 180, onRange } = {}) {
	const canvas = h('canvas', { role: 'img', 'aria-label': `${title} over time` });
	const sel = h('div.chart-sel', { hidden: true });
	const legend = h('div.legend');
	const plot = h('div.chart-plot', {}, canvas, sel);
	const box = h('figure.chart', { 'data-start': String(start), 'data-end': String(end) }, h('figcaption', { text: title }), plot, legend);
	const pts = series.flatMap((s) => s.points);
	if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) {
		start = pts.length ? Math.min(...pts.map((p) => p[0])) : Date.now() - 3600e3;
		end = pts.length ? Math.max(...pts.map((p) => p[0])) + 60e3 : Date.now();
	}
	const dpr = window.devicePixelRatio || 1;
	canvas.width = width * dpr; canvas.height = height * dpr;
	canvas.style.width = width + 'px'; canvas.style.height = height + 'px';
	const ctx = canvas.getContext('2d');
	ctx.scale(dpr, dpr);
	const vmax = Math.max(1, ...pts.map((p) => p[1])) * 1.1;
	const L = 44, R = 10, T = 8, B = 22;
	const X = (t) => L + ((t - start) / (end - start)) * (width - L - R);
	const Y = (v) => T + (1 - v / vmax) * (height - T - B);
	const muted = css('--muted', '#475569'), grid = css('--line', '#e2e8f0');
	ctx.font = '11px system-ui, sans-serif';
	ctx.fillStyle = muted;
	ctx.strokeStyle = grid;
	ctx.lineWidth = 1;
	for (let i = 0; i <= 4; i++) {
		const v = (vmax * i) / 4;
		ctx.beginPath(); ctx.moveTo(L, Y(v)); ctx.lineTo(width - R, Y(v)); ctx.stroke();
		ctx.fillText(`${v.toFixed(v < 10 ? 1 : 0)}${unit}`, 2, Y(v) + 4);
	}
	// time ticks on round minutes/hours/days of the shown zone
	const step = STEPS.find((s) => (end - start) / s <= 5) || STEPS[STEPS.length - 1];
	const off = tzLocal() ? -new Date(start).getTimezoneOffset() * 60000 : 0;
	const days = step >= 86400e3 || fmtClock(start).slice(0, 10) !== fmtClock(end).slice(0, 10);
	ctx.textAlign = 'center';
	for (let t = Math.ceil((start + off) / step) * step - off; t <= end; t += step) {
		const x = X(t);
		ctx.strokeStyle = grid;
		ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, height - B); ctx.stroke();
		const label = step >= 86400e3 ? fmtClock(t).slice(5, 10) : days ? fmtClock(t, { seconds: false }).slice(5) : fmtClock(t, { seconds: false, date: false });
		if (x > L + 20 && x < width - R - 30) ctx.fillText(label, x, height - 6);
	}
	ctx.textAlign = 'right';
	ctx.fillText(tzLocal() ? 'local' : 'UTC', width - 2, height - 6);
	if (!pts.length) {
		ctx.textAlign = 'center';
		ctx.fillText('No profiles in this range', (L + width - R) / 2, (T + height - B) / 2);
		legend.textContent = 'No metrics in this range.';
	}
	series.forEach((s, i) => {
		const col = PALETTE[i % PALETTE.length];
		ctx.strokeStyle = col; ctx.fillStyle = col; ctx.lineWidth = 2;
		for (const seg of segments(s.points)) {
			ctx.beginPath();
			seg.forEach(([t, v], j) => (j ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v))));
			ctx.stroke();
			if (seg.length === 1) { ctx.beginPath(); ctx.arc(X(seg[0][0]), Y(seg[0][1]), 3, 0, 7); ctx.fill(); }
		}
		legend.append(h('span', {}, h('i', { style: `background:${col}` }), s.label));
	});
	if (onRange) dragToZoom(canvas, sel, { L, R, width, start, end, onRange });
	return box;
}

/** Dragging across the plot marks a range; letting go calls onRange with it (a click does not). */
function dragToZoom(canvas, sel, { L, R, width, start, end, onRange }) {
	canvas.classList.add('zoomable');
	canvas.title = 'Drag across the chart to show that time range';
	const toT = (clientX) => {
		const r = canvas.getBoundingClientRect();
		const x = Math.min(Math.max((clientX - r.left) * (width / r.width), L), width - R);
		return { t: start + ((x - L) / (width - L - R)) * (end - start), px: (x * r.width) / width };
	};
	let from = null;
	canvas.addEventListener('pointerdown', (e) => {
		if (e.button !== 0) return;
		from = toT(e.clientX);
		canvas.setPointerCapture(e.pointerId);
		e.preventDefault();
	});
	canvas.addEventListener('pointermove', (e) => {
		if (!from) return;
		const to = toT(e.clientX);
		sel.hidden = false;
		sel.style.left = `${Math.min(from.px, to.px)}px`;
		sel.style.width = `${Math.abs(to.px - from.px)}px`;
	});
	const done = (e, cancel) => {
		if (!from) return;
		const to = toT(e.clientX);
		const a = from;
		from = null;
		sel.hidden = true;
		if (!cancel && Math.abs(to.px - a.px) >= 4) onRange(Math.floor(Math.min(a.t, to.t) / 1000) * 1000, Math.ceil(Math.max(a.t, to.t) / 1000) * 1000);
	};
	canvas.addEventListener('pointerup', (e) => done(e, false));
	canvas.addEventListener('pointercancel', (e) => done(e, true));
}

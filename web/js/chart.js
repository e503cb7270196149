// chart.js — a small canvas line chart: one line per series over time.

import { h } from './util.js';

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/** series: [{label, points: [[ms, value]]}]. Draws into a new element returned. */
export function lineChart(title, series, { unit = '%', width = 520, height = 180 } = {}) {
	const canvas = h('canvas', { role: 'img', 'aria-label': `${title} over time` });
	const legend = h('div.legend');
	const box = h('figure.chart', {}, h('figcaption', { text: title }), canvas, legend);
	const pts = series.flatMap((s) => s.points);
	if (!pts.length) {
		legend.textContent = 'No metrics in this range.';
		canvas.hidden = true;
		return box;
	}
	const dpr = window.devicePixelRatio || 1;
	canvas.width = width * dpr; canvas.height = height * dpr;
	canvas.style.width = width + 'px'; canvas.style.height = height + 'px';
	const ctx = canvas.getContext('2d');
	ctx.scale(dpr, dpr);
	const t0 = Math.min(...pts.map((p) => p[0])), t1 = Math.max(...pts.map((p) => p[0]));
	const vmax = Math.max(1, ...pts.map((p) => p[1])) * 1.1;
	const L = 44, R = 8, T = 8, B = 22;
	const X = (t) => L + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (width - L - R) : (width - L - R) / 2);
	const Y = (v) => T + (1 - v / vmax) * (height - T - B);
	ctx.font = '11px system-ui, sans-serif';
	ctx.fillStyle = '#475569';
	ctx.strokeStyle = '#e2e8f0';
	ctx.lineWidth = 1;
	for (let i = 0; i <= 4; i++) {
		const v = (vmax * i) / 4;
		ctx.beginPath(); ctx.moveTo(L, Y(v)); ctx.lineTo(width - R, Y(v)); ctx.stroke();
		ctx.fillText(`${v.toFixed(v < 10 ? 1 : 0)}${unit}`, 2, Y(v) + 4);
	}
	const fmt = (t) => new Date(t).toISOString().slice(11, 16);
	ctx.fillText(fmt(t0), L, height - 6);
	ctx.textAlign = 'right';
	ctx.fillText(`${fmt(t1)} UTC`, width - R, height - 6);
	series.forEach((s, i) => {
		const col = PALETTE[i % PALETTE.length];
		ctx.strokeStyle = col; ctx.fillStyle = col; ctx.lineWidth = 2;
		const p = [...s.points].sort((a, b) => a[0] - b[0]);
		ctx.beginPath();
		p.forEach(([t, v], j) => (j ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v))));
		ctx.stroke();
		if (p.length === 1) { ctx.beginPath(); ctx.arc(X(p[0][0]), Y(p[0][1]), 3, 0, 7); ctx.fill(); }
		legend.append(h('span', {}, h('i', { style: `background:${col}` }), s.label));
	});
	return box;
}

// export.js — the current selection as a self-contained HTML flame graph: the page
// web/export-template.html with web/js/flame.js inlined, the same page the agent writes.

let parts = null;

async function text(url) {
	const r = await fetch(url);
	if (!r.ok) throw new Error(`cannot read ${url.pathname} (${r.status})`);
	return r.text();
}

async function pageParts() {
	if (parts === null) {
		const [tpl, flame] = await Promise.all([text(new URL('../export-template.html', import.meta.url)),
			text(new URL('./flame.js', import.meta.url))]);
		const d = tpl.indexOf('{{DATA}}'), f = tpl.indexOf('{{FLAME_JS}}');
		if (d < 0 || f < d) throw new Error('export-template.html: {{DATA}} must come before {{FLAME_JS}}');
		parts = { tpl, flame };
	}
	return parts;
}

/** HTML text of a standalone page drawing collapsed (process;frame;...;leaf count lines) with
 * search, zoom and tooltips. header: an object shown under "Profile header", or null. */
export async function exportHtml(title, collapsed, header = null) {
	const { tpl, flame } = await pageParts();
	// "<" escaped: nothing in the data can close its script element
	const data = JSON.stringify({ title, header: header ? JSON.stringify(header) : null, collapsed })
		.replace(/</g, '\\u003c');
	// cut at the placeholders of the template itself, so nothing inserted is searched again
	const d = tpl.indexOf('{{DATA}}'), f = tpl.indexOf('{{FLAME_JS}}');
	return tpl.slice(0, d) + data + tpl.slice(d + 8, f) + flame + tpl.slice(f + 12);
}

// export.js — the current selection as a self-contained HTML flame graph (flame.js embedded).

let flameSrc = null;

async function flameSource() {
	if (flameSrc === null) {
		const r = await fetch(new URL('./flame.js', import.meta.url));
		if (!r.ok) throw new Error(`cannot read flame.js (${r.status})`);
		flameSrc = await r.text();
	}
	return flameSrc;
}

const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** HTML text of a standalone page drawing collapsed with search, zoom and tooltips. */
export async function exportHtml(title, collapsed) {
	const src = await flameSource();
	const data = JSON.stringify(collapsed).replace(/</g, '\\u003c');
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<link rel="icon" href="data:,">
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#0f172a;background:#fff}
h1{font-size:18px;margin:0 0 8px}
.bar{display:flex;gap:8px;align-items:center;margin:8px 0}
input,button{font:inherit;padding:4px 8px}
.crumbs{font:12px ui-monospace,monospace;color:#475569;min-height:16px;overflow-wrap:anywhere}
.fg{position:relative;width:100%}
.fg canvas{display:block}
.fg canvas:focus-visible{outline:2px solid #2563eb}
.fg-tip{position:fixed;z-index:2;pointer-events:none;background:#0f172a;color:#f8fafc;padding:6px 8px;border-radius:4px;font-size:12px;max-width:480px;overflow-wrap:anywhere}
</style></head><body>
<h1>${esc(title)}</h1>
<div class="bar"><input id="q" type="search" placeholder="Search frames" aria-label="Search frames">
<span id="matched" role="status"></span><button id="reset" type="button">Reset zoom</button></div>
<div class="crumbs" id="crumbs"></div>
<div id="graph"></div>
<script type="application/json" id="data">${data}</script>
<script type="module">
${src}
const text = JSON.parse(document.getElementById('data').textContent);
const tree = buildTree(text);
const crumbs = document.getElementById('crumbs');
const fg = new FlameGraph(document.getElementById('graph'), {
	onZoom: (path) => { crumbs.textContent = ['all', ...path.map((k) => tree.names[tree.nameOf[k]])].join(' › '); },
});
fg.setTree(tree);
document.getElementById('q').addEventListener('input', (e) => {
	const r = fg.setSearch(e.target.value);
	document.getElementById('matched').textContent = e.target.value ? 'matched ' + fmtPct(r.percent) : '';
});
document.getElementById('reset').addEventListener('click', () => fg.reset());
window.fleetprofExport = { tree, fg };
</script></body></html>
`;
}

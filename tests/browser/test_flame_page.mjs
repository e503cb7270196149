// test_flame_page.mjs — the self-contained flame graph page, as the agent writes it and as the
// dashboard exports it: one page (web/export-template.html with web/js/flame.js inlined, byte for
// byte the same apart from the data), processes named __proto__ and constructor drawn like any
// other, and a 60-frame-deep profile that opens with its root in view. No server needed: the
// agent's page comes from the agent's own unit test binary (FLEETPROF_FLAMEGRAPH_OUT), the
// dashboard's export from web/js/export.js served to the browser from the checkout.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Suite, Skip, check, eq, until, ROOT, BUILD } from './lib.mjs';

const s = await Suite.open('flame_page', { server: false });
const page = s.page;
const DASH = 'http://dashboard.test';
const DATA_RE = /(<script type="application\/json" id="fleetprof-data">)(.*?)(<\/script>)/s;

const template = fs.readFileSync(path.join(ROOT, 'web/export-template.html'), 'utf8');
const flameJs = fs.readFileSync(path.join(ROOT, 'web/js/flame.js'), 'utf8');
/** The page with its data taken out: what must be the same for every producer. */
const shape = (html) => html.replace(DATA_RE, '$1{{DATA}}$3');
const expected = template.replace('{{FLAME_JS}}', () => flameJs);

// the dashboard's files, served from the checkout to a made-up origin (no server process)
await s.browser.route(`${DASH}/**`, async (route) => {
	const p = path.join(ROOT, 'web', new URL(route.request().url()).pathname);
	if (!p.startsWith(path.join(ROOT, 'web')) || !fs.existsSync(p)) { await route.fulfill({ status: 404, body: '' }); return; }
	const type = p.endsWith('.js') ? 'text/javascript' : p.endsWith('.html') ? 'text/html' : 'text/plain';
	await route.fulfill({ status: 200, contentType: type, body: fs.readFileSync(p) });
});

/** The dashboard's "Export HTML" for a collapsed text. */
async function dashboardExport(title, collapsed, header = null) {
	await page.goto(`${DASH}/index.html`);
	return page.evaluate(async ([t, c, hd]) => (await import('/js/export.js')).exportHtml(t, c, hd), [title, collapsed, header]);
}

/** Open an HTML text as a page of its own; returns the page (the caller closes it). */
async function open(html, name) {
	const f = path.join(s.tmp, `${name}.html`);
	fs.writeFileSync(f, html);
	const p = await s.browser.newPage();
	s.watchConsole(p);
	await p.goto(`file://${f}`);
	await until(() => p.evaluate(() => !!window.fleetprofExport), `${name}: the page built its tree`);
	return p;
}

let agentHtml = null;
await s.test('agent_page_is_the_dashboards_page', async () => {
	const bin = path.join(BUILD, 'tests', 'test_agent_snapshot');
	if (!fs.existsSync(bin)) throw new Skip(`no ${bin} (build it first)`);
	const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fleetprof-fg-')), 'agent.html');
	const r = spawnSync(bin, [], { env: { ...process.env, FLEETPROF_FLAMEGRAPH_OUT: out }, encoding: 'utf8' });
	check(fs.existsSync(out), `the agent's unit test wrote no page (exit ${r.status}): ${(r.stdout || '').slice(-300)}`);
	agentHtml = fs.readFileSync(out, 'utf8');
	fs.rmSync(path.dirname(out), { recursive: true, force: true });
	check(shape(agentHtml) === expected, 'the agent\'s file is the template with flame.js, byte for byte, apart from its data');
	const dash = await dashboardExport('t', 'a;b 1\n');
	check(shape(dash) === expected, 'the dashboard\'s export is the same page');
});

await s.test('agent_page_draws_proto_and_constructor', async () => {
	if (!agentHtml) throw new Skip('no agent page');
	const p = await open(agentHtml, 'agent');
	try {
		const got = await p.evaluate(() => {
			const { tree: t, fg } = window.fleetprofExport;
			const kids = []; // pairs, not an object: the names are what an object would swallow
			for (let c = t.firstChild[0]; c < t.firstChild[1]; c++) kids.push([t.names[t.nameOf[t.children[c]]], t.tot[0][t.children[c]]]);
			return { kids, total: t.tot[0][0], title: document.title, drawn: fg.drawn.nodes.length, proto: Object.getPrototypeOf({}) === Object.prototype && typeof ({}).hasOwnProperty };
		});
		eq(got.kids, [['__proto__', 4], ['constructor', 2], ['web-1', 4]], 'the processes (a container kept as the top frame)');
		eq(got.total, 10, 'all samples');
		check(got.drawn >= 9, `frames drawn: ${got.drawn}`);
		eq(got.proto, 'function', 'Object.prototype untouched');
		check(got.title.startsWith('fleetprof · h</script><!-- · 2026-11-27T13:00:00Z'), `title from the header, as text: ${got.title}`);
		await p.fill('#q', 'constructor');
		await until(async () => /matched 20\.0% \(2 samples\)/.test(await p.locator('#matched').innerText()), 'search');
		await p.fill('#q', '/^hasOwnProperty$/');
		await until(async () => /matched 40\.0%/.test(await p.locator('#matched').innerText()), 'regex search');
		await s.shot('agent_page', p);
	} finally { await p.close(); }
});

await s.test('exported_page_opens_deep_profile_on_root', async () => {
	const frames = Array.from({ length: 60 }, (_, i) => `f${i + 1}`);
	const text = `proc;${frames.join(';')} 50\nproc;${frames.slice(0, 10).join(';')};g 30\nother;h 20\n`;
	const p = await open(await dashboardExport('deep', text), 'deep');
	try {
		const inView = (d) => p.evaluate((depth) => {
			const { fg } = window.fleetprofExport;
			const box = fg.container.getBoundingClientRect(), c = fg.canvas.getBoundingClientRect();
			const top = c.top + fg.rowY(depth);
			return top >= Math.max(box.top, 0) - 1 && top + 18 <= Math.min(box.bottom, window.innerHeight) + 1;
		}, d);
		const tall = await p.evaluate(() => { const b = window.fleetprofExport.fg.container; return b.scrollHeight > b.clientHeight; });
		check(tall, 'the graph is taller than its box');
		for (const d of [0, 1, 2]) check(await inView(d), `icicle: row ${d} in view`);
		await p.click('#layout');
		for (const d of [0, 1, 2]) check(await inView(d), `flame: row ${d} in view`);
		check(/layout=flame/.test(p.url()), 'the layout kept in the address');
		await p.fill('#q', 'f60');
		await until(async () => /matched 50\.0%/.test(await p.locator('#matched').innerText()), 'search f60');
		check(await inView(61), 'the match in view');
		await p.click('#reset');
		check(await inView(0), 'reset: the root in view');
		await s.shot('exported_deep', p);
		// a reload keeps search and layout (the page's state is in its address)
		await p.reload();
		await until(() => p.evaluate(() => !!window.fleetprofExport), 'reloaded');
		eq(await p.inputValue('#q'), 'f60', 'search kept');
		eq(await p.getAttribute('#layout', 'aria-pressed'), 'false', 'flame kept');
	} finally { await p.close(); }
});

await s.test('exported_page_dark_mode', async () => {
	const p = await open(await dashboardExport('dark', 'a;b 3\na;c 1\n'), 'dark');
	try {
		await p.emulateMedia({ colorScheme: 'dark' });
		const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
		const v = bg.match(/\d+/g).slice(0, 3).map(Number);
		check(v.every((x) => x < 40), `dark background: ${bg}`);
		await s.shot('exported_dark', p);
	} finally { await p.close(); }
});

await s.close();

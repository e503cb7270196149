// test_dashboard_views.mjs — what a profiler's users expect of the dashboard, end to end against
// the real server under the strict CSP: empty states that say what to do, upload-only hosts, a
// 60-frame-deep profile that opens on its root, a link that reproduces a view exactly, back and
// forward, drag-to-zoom on the CPU chart, a sandwich view with known callers and callees, process
// and runtime filters, a slow query's spinner, exports named after the selection, top functions
// at 1280 px, dark mode, one time zone, compare against the same window a day before, a running
// command with Stop and a link to its profile, and a failure's reason. No console errors; no
// wall-clock budget (every wait is for an event).
import fs from 'node:fs';
import { Suite, check, eq, until, makeProfile } from './lib.mjs';

const s = await Suite.open('views');
const srv = s.server;
const page = s.page;

const NOW = Math.floor(Date.now() / 1000);
const minute = (t) => Math.floor(t / 60) * 60;
const iso = (sec) => new Date(sec * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const text = (sel, p = page) => p.locator(sel).first().innerText();

// ---- data: each service a known profile -----------------------------------------------------
const WEB1 = { '0;;app;main;handle;parse_json;memcpy': 300, '0;;app;main;handle;render': 100 };
const WEB2 = { '0;;app;main;handle;render': 200 };
const UP1 = { '0;;batch;run_[p];step_[p]': 50 };
const YESTERDAY = { '0;;app;main;handle;render': 70 };
// the sandwich of parse_json: callers handle (320), load_config (40), run (10); callees memcpy
// (310), alloc (40), and 20 samples in parse_json itself
const SW = {
	'0;;app;main;handle;parse_json;memcpy': 300,
	'0;;app;main;handle;parse_json': 20,
	'0;;app;main;handle;render': 100,
	'0;;app;main;load_config;parse_json;alloc': 40,
	'0;;worker;run;parse_json;memcpy': 10,
};
// runtimes: python 50 (10 of them in the kernel), java 30, node 15, native nginx 30 (5 in the kernel)
const MIX = {
	'0;;python3;<module>_[p];handle_[p];json_dumps_[p]': 40,
	'0;;python3;<module>_[p];handle_[p];sys_write_[k]': 10,
	'0;;java;Thread.run_[j];Service.call_[j]': 30,
	'0;;node;LazyCompile:*main /app/x.js:1_[j];JS:*tick /app/x.js:9_[j]': 15,
	'0;;nginx;main;ngx_process;epoll_wait_[k]': 5,
	'0;;nginx;main;ngx_process;ngx_http_handler': 25,
};
// 60 frames below the process, and a shorter branch: the graph is far taller than its box
const DEEP_FRAMES = Array.from({ length: 60 }, (_, i) => `deep_frame_${i + 1}`);
const DEEP = {
	[`0;;deepproc;${DEEP_FRAMES.join(';')}`]: 500,
	[`0;;deepproc;${DEEP_FRAMES.slice(0, 30).join(';')};side_branch`]: 200,
	'0;;other;shallow': 100,
};
const LONG_NAME = `std::__detail::_Executor<${'__gnu_cxx::__normal_iterator<char const*, std::__cxx11::basic_string<char>>, '.repeat(3)}true>::_M_dfs(_Match_mode, long)`;
const LONG = { [`0;;svc;main;${LONG_NAME}`]: 10, '0;;svc;main;short_one': 5 };

// ---- helpers ---------------------------------------------------------------------------------
async function signIn(p = page) {
	await p.goto(srv.url + '/');
	await p.waitForSelector('#signin-form input[name=token]');
	await p.fill('input[name=token]', 'admin-token-for-browser-tests');
	await p.click('#signin-form button[type=submit]');
	await p.waitForSelector('#nav:not([hidden])');
}

const loaded = (p = page) => until(async () => {
	const v = await p.locator('#view-profiles p.summary').getAttribute('data-samples');
	return v !== null && v !== '' && await p.locator('#view-profiles .loading').isHidden();
}, 'profile loaded', 30000);

/** Open the Profiles view at a state given as address parameters; wait until it is drawn. */
async function openProfiles(params, p = page) {
	await p.evaluate(() => { const e = document.querySelector('#view-profiles p.summary'); if (e) e.dataset.samples = ''; });
	await p.goto(`${srv.url}/#/profiles?${new URLSearchParams(params)}`);
	await loaded(p);
}

const samples = async (p = page) => Number(await p.locator('#view-profiles p.summary').getAttribute('data-samples'));

/** Where a row of the profile's graph is: is it inside the graph's box and the window? */
function rowVisible(depth, p = page) {
	return p.evaluate((d) => {
		const fg = window.fleetprof.views.profiles.panel.fg;
		const box = fg.container.getBoundingClientRect(), c = fg.canvas.getBoundingClientRect();
		const top = c.top + fg.rowY(d), bottom = top + 18;
		return top >= Math.max(box.top, 0) - 1 && bottom <= Math.min(box.bottom, window.innerHeight) + 1;
	}, depth);
}

// ---- tests -----------------------------------------------------------------------------------
if (srv) {
	await s.test('empty_states_before_any_agent', async () => {
		await signIn();
		await until(async () => await page.locator('#view-hosts .empty').isVisible(), 'hosts empty state');
		const hosts = await text('#view-hosts .empty');
		check(/No hosts yet/.test(hosts), `hosts: ${hosts}`);
		check(hosts.includes(`fleetprof-agent --enable-heartbeat-server --server-host ${srv.url} --token $AGENT_TOKEN`), `the agent command to run: ${hosts}`);
		check(hosts.includes('-c -u'), 'the uploading form too');
		await s.shot('empty_hosts');
		await page.click('#nav a[data-view="profiles"]');
		await until(async () => await page.locator('#view-profiles .hint').isVisible(), 'profiles empty state');
		const prof = await text('#view-profiles .hint');
		check(/No profiles yet/.test(prof) && prof.includes(`--server-host ${srv.url}`), `profiles: ${prof}`);
		await s.shot('empty_profiles');
		await page.click('#nav a[data-view="commands"]');
		await until(async () => /No commands yet/.test(await text('#view-commands tbody')), 'commands empty state');
	});

	try {
		await srv.heartbeat('web-1', 'web', { ip: '10.0.1.1', version: '0.1.0' });
		await srv.heartbeat('web-2', 'web', { ip: '10.0.1.2', version: '0.1.0' });
		await srv.upload('web', 'web-1', makeProfile(WEB1, 'web-1'), minute(NOW - 1800), { cpu: 30 });
		await srv.upload('web', 'web-2', makeProfile(WEB2, 'web-2'), minute(NOW - 1200), { cpu: 60 });
		await srv.upload('web', 'up-1', makeProfile(UP1, 'up-1'), minute(NOW - 2400), { cpu: 45 });
		await srv.upload('web', 'web-1', makeProfile(YESTERDAY, 'web-1'), minute(NOW - 86400 - 1800), { cpu: 20 });
		await srv.upload('sw', 'sw-1', makeProfile(SW, 'sw-1'), minute(NOW - 1500));
		await srv.upload('mix', 'mix-1', makeProfile(MIX, 'mix-1'), minute(NOW - 1500));
		await srv.upload('deep', 'deep-1', makeProfile(DEEP, 'deep-1'), minute(NOW - 1500));
		await srv.upload('long', 'long-1', makeProfile(LONG, 'long-1'), minute(NOW - 1500));
	} catch (e) {
		console.log(`FAIL views_seed: ${e.message}`);
		s.failed++;
		await s.close();
	}

	await s.test('upload_only_host_listed', async () => {
		await page.goto(`${srv.url}/#/hosts`);
		const row = page.locator('#view-hosts tr[data-host="up-1"]');
		await until(async () => (await row.count()) === 1, 'up-1 listed in Hosts');
		const cells = await row.locator('td').allInnerTexts();
		eq([cells[1], cells[2], cells[5], cells[7]], ['up-1', 'web', 'uploads only', 'upload only'], 'how up-1 reports');
		check(await row.locator('input[type=checkbox]').isDisabled(), 'an upload-only host cannot be sent commands');
		await until(async () => /· 5 upload only/.test(await text('#view-hosts .summary')), 'summary counts the upload-only hosts (up-1 and the single-upload services)');
		await openProfiles({ service: 'web' });
		const opts = await page.locator('#view-profiles select[name=hostname] option').allInnerTexts();
		check(opts.includes('up-1 (upload only)'), `Profiles host filter: ${JSON.stringify(opts)}`);
		await page.selectOption('#view-profiles select[name=hostname]', 'up-1');
		await page.evaluate(() => { document.querySelector('#view-profiles p.summary').dataset.samples = ''; });
		await page.click('#view-profiles button[type=submit]');
		await loaded();
		eq(await samples(), sum(UP1), 'up-1 samples');
	});

	await s.test('deep_profile_opens_on_root', async () => {
		await openProfiles({ service: 'deep' });
		eq(await samples(), sum(DEEP), 'deep samples');
		const tall = await page.evaluate(() => { const b = window.fleetprof.views.profiles.panel.fg.container; return [b.scrollHeight, b.clientHeight]; });
		check(tall[0] > tall[1] * 1.5, `the graph is taller than its box: ${tall}`);
		for (const d of [0, 1, 2, 3]) check(await rowVisible(d), `icicle: row ${d} (root and widest frames) in view on open`);
		await s.shot('deep_icicle');
		// flame: the root at the bottom, still in view
		await page.click('#view-profiles button:has-text("Icicle")');
		for (const d of [0, 1, 2]) check(await rowVisible(d), `flame: row ${d} in view`);
		await s.shot('deep_flame');
		// search: the deepest frame is scrolled into view
		await page.fill('#view-profiles input[name=search]', 'deep_frame_60');
		await until(async () => /matched: 62\.5%/.test(await text('#view-profiles .matched')), 'deep search matched');
		check(await rowVisible(61), 'search: the match (depth 61) in view');
		// reset: back to the root
		await page.click('#view-profiles button:has-text("Reset zoom")');
		check(await rowVisible(0), 'reset: root in view');
		await page.fill('#view-profiles input[name=search]', '');
		// keyboard selection stays in view as it walks down 45 frames
		await page.click('#view-profiles button:has-text("Icicle")'); // icicle again
		await page.focus('#view-profiles .panel .fg canvas');
		for (let i = 0; i < 45; i++) await page.keyboard.press('ArrowDown');
		const sel = await page.evaluate(() => { const fg = window.fleetprof.views.profiles.panel.fg; return fg.tree.depth[fg.selected]; });
		eq(sel, 45, 'selected depth');
		check(await rowVisible(45), 'keyboard: the selection in view');
		// a zoom deep down, from a link
		await openProfiles({ service: 'deep', zoom: ['deepproc', ...DEEP_FRAMES.slice(0, 50)].join(';') });
		const crumbs = await page.locator('#view-profiles nav.crumbs button').allInnerTexts();
		eq(crumbs[crumbs.length - 1], 'deep_frame_50', 'zoomed from the link');
		check(await rowVisible(51), 'zoom: the zoomed frame in view');
		await s.shot('deep_zoomed');
	});

	await s.test('url_reproduces_view_exactly', async () => {
		const from = minute(NOW - 3600), to = minute(NOW) + 60;
		await openProfiles({ service: 'web', from: iso(from), to: iso(to) });
		await page.selectOption('#view-profiles select[name=hostname]', 'web-1');
		await page.evaluate(() => { document.querySelector('#view-profiles p.summary').dataset.samples = ''; });
		await page.click('#view-profiles button[type=submit]');
		await loaded();
		const h = await page.evaluate(() => { const f = window.fleetprof.views.profiles.panel.fg; const t = f.tree; let k = 1; while (t.names[t.nameOf[k]] !== 'handle') k++; const c = f.nodeCenter(k); const r = f.canvas.getBoundingClientRect(); return { x: r.left + c.x, y: r.top + c.y }; });
		await page.mouse.click(h.x, h.y);
		await page.fill('#view-profiles input[name=search]', 'parse');
		await page.click('#view-profiles button:has-text("Icicle")');
		await page.click('#view-profiles table.top th button:has-text("Total")');
		const url = page.url();
		for (const k of ['service=web', 'host=web-1', 'from=', 'to=', 'zoom=app%3Bmain%3Bhandle', 'q=parse', 'layout=flame', 'sort=total'])
			check(url.includes(k), `${k} in ${url}`);
		const view = (p) => p.evaluate(() => {
			const f = window.fleetprof.views.profiles.panel.fg;
			const q = (sel) => document.querySelector(sel);
			return {
				canvas: f.canvas.toDataURL(), icicle: f.icicle, zoom: f.tree.names[f.tree.nameOf[f.zoomNode]],
				summary: q('#view-profiles p.summary').textContent, matched: q('#view-profiles .matched').textContent,
				search: q('#view-profiles input[name=search]').value, host: q('#view-profiles select[name=hostname]').value,
				range: q('#view-profiles select[name="profiles-range"]').value, from: q('#view-profiles input[name="profiles-from"]').value,
				to: q('#view-profiles input[name="profiles-to"]').value,
				crumbs: [...document.querySelectorAll('#view-profiles nav.crumbs button')].map((b) => b.textContent),
				rows: [...document.querySelectorAll('#view-profiles table.top tbody tr')].map((r) => r.dataset.name),
			};
		});
		const want = await view(page);
		eq(want.zoom, 'handle', 'zoomed in the first tab');
		const p2 = await s.signedInPage(url);
		try {
			await loaded(p2);
			const got = await view(p2);
			for (const k of Object.keys(want)) eq(got[k], want[k], `the link's ${k}`);
			await s.shot('url_second_tab', p2);
		} finally { await p2.close(); }
		await page.reload();
		await loaded();
		eq((await view(page)).canvas, want.canvas, 'a reload draws the same');
	});

	await s.test('broken_link_falls_back_to_last_hour', async () => {
		await openProfiles({ service: 'sw', from: 'yesterday', to: '2026-13-45', range: 'forever', sort: 'nonsense' });
		eq(await samples(), sum(SW), 'the last hour instead');
		eq(await page.inputValue('#view-profiles select[name="profiles-range"]'), '1h', 'range shown');
	});

	await s.test('back_and_forward', async () => {
		await openProfiles({ service: 'web' });
		const crumbs = () => page.locator('#view-profiles nav.crumbs button').allInnerTexts();
		const h = await page.evaluate(() => { const f = window.fleetprof.views.profiles.panel.fg; const t = f.tree; let k = 1; while (t.names[t.nameOf[k]] !== 'main') k++; const c = f.nodeCenter(k); const r = f.canvas.getBoundingClientRect(); return { x: r.left + c.x, y: r.top + c.y }; });
		await page.mouse.click(h.x, h.y);
		await until(async () => (await crumbs()).join('>') === 'all>app>main', 'zoomed');
		await page.click('#view-profiles .tabs button:has-text("Sandwich")');
		await until(async () => await page.locator('#view-profiles .sandwich').isVisible(), 'sandwich shown');
		await page.goBack();
		await until(async () => await page.locator('#view-profiles .panel').isVisible(), 'back: the flame graph tab');
		eq((await crumbs()).join('>'), 'all>app>main', 'back: zoom kept');
		await page.goBack();
		await until(async () => (await crumbs()).join('>') === 'all', 'back again: not zoomed');
		await page.goForward();
		await until(async () => (await crumbs()).join('>') === 'all>app>main', 'forward: zoomed again');
		await page.goForward();
		await until(async () => await page.locator('#view-profiles .sandwich').isVisible(), 'forward: sandwich again');
		await page.click('#view-profiles .tabs button:has-text("Flame graph")');
	});

	await s.test('drag_to_zoom_sets_range', async () => {
		await openProfiles({ service: 'web' });
		eq(await samples(), sum(WEB1) + sum(WEB2) + sum(UP1), 'the last hour');
		const fig = page.locator('#view-profiles figure.chart').first();
		const [start, end] = [Number(await fig.getAttribute('data-start')), Number(await fig.getAttribute('data-end'))];
		check(Math.abs(end - start - 3600e3) < 5e3, `the chart spans the hour: ${end - start} ms`);
		// drag from 35 to 25 minutes ago: only web-1's profile (30 minutes ago)
		const xOf = await page.evaluate(([a, b]) => {
			const c = document.querySelector('#view-profiles figure.chart canvas');
			const r = c.getBoundingClientRect(), k = r.width / 520;
			const X = (t) => r.left + (44 + ((t - a) / (b - a)) * (520 - 44 - 10)) * k;
			return { y: r.top + r.height / 2, x1: X(Date.now() - 35 * 60e3), x2: X(Date.now() - 25 * 60e3) };
		}, [start, end]);
		await page.evaluate(() => { document.querySelector('#view-profiles p.summary').dataset.samples = ''; });
		await page.mouse.move(xOf.x1, xOf.y);
		await page.mouse.down();
		await page.mouse.move((xOf.x1 + xOf.x2) / 2, xOf.y, { steps: 4 });
		await page.mouse.move(xOf.x2, xOf.y, { steps: 4 });
		await page.mouse.up();
		await loaded();
		eq(await samples(), sum(WEB1), 'the dragged range holds web-1\'s profile only');
		eq(await page.inputValue('#view-profiles select[name="profiles-range"]'), 'custom', 'a custom range now');
		const u = new URL(page.url().replace('#/profiles?', '?'));
		const from = Date.parse(u.searchParams.get('from')), to = Date.parse(u.searchParams.get('to'));
		check(to - from > 8 * 60e3 && to - from < 12 * 60e3, `about ten minutes: ${u.searchParams.get('from')} – ${u.searchParams.get('to')}`);
		const fig2 = page.locator('#view-profiles figure.chart').first();
		eq([Number(await fig2.getAttribute('data-start')), Number(await fig2.getAttribute('data-end'))], [from, to], 'the x-axis spans the new range');
		await s.shot('drag_zoomed');
		await page.evaluate(() => { document.querySelector('#view-profiles p.summary').dataset.samples = ''; });
		await page.goBack();
		await loaded();
		eq(await samples(), sum(WEB1) + sum(WEB2) + sum(UP1), 'back: the hour again');
	});

	await s.test('chart_gaps_shown_as_gaps', async () => {
		const segs = await page.evaluate(async () => {
			const { segments } = await import('/js/chart.js');
			const m = 60e3;
			return segments([[0, 1], [m, 1], [2 * m, 1], [10 * m, 1], [11 * m, 1], [30 * m, 1]]).map((x) => x.length);
		});
		eq(segs, [3, 2, 1], 'a line per run of profiles, broken where they stopped');
	});

	await s.test('sandwich_callers_and_callees', async () => {
		await openProfiles({ service: 'sw', tab: 'sandwich' });
		await page.locator('#view-profiles table.top tbody tr[data-name="parse_json"]').click();
		await until(async () => (await page.locator('#view-profiles .sandwich').getAttribute('data-fn')) === 'parse_json', 'sandwich of parse_json');
		const got = await page.evaluate(() => {
			const sw = window.fleetprof.views.profiles.sandwich;
			const kids = (t, k) => { const o = {}; for (let c = t.firstChild[k]; c < t.firstChild[k + 1]; c++) o[t.names[t.nameOf[t.children[c]]]] = t.tot[0][t.children[c]]; return o; };
			const path = (t, names) => { let k = 0; for (const n of names) { let nx = -1; for (let c = t.firstChild[k]; c < t.firstChild[k + 1]; c++) if (t.names[t.nameOf[t.children[c]]] === n) nx = t.children[c]; k = nx; if (k < 0) return -1; } return k; };
			const cr = sw.callers.tree, ce = sw.callees.tree;
			return {
				callersRoot: [cr.names[0], cr.tot[0][0]], callers: kids(cr, 0), upHandle: kids(cr, path(cr, ['handle'])),
				upMain: kids(cr, path(cr, ['handle', 'main'])), upRun: kids(cr, path(cr, ['run'])),
				calleesRoot: [ce.names[0], ce.tot[0][0], ce.self[0][0]], callees: kids(ce, 0),
				callersRootAtBottom: sw.callers.rowY(0) > sw.callers.rowY(1), calleesRootAtTop: sw.callees.rowY(0) === 0,
				drawn: ['handle', 'load_config', 'run'].every((n) => { const k = path(cr, [n]); return k > 0 && sw.callers.nodeCenter(k); }),
			};
		});
		eq(got.callersRoot, ['parse_json', 370], 'every stack through parse_json');
		eq(got.callers, { handle: 320, load_config: 40, run: 10 }, 'direct callers');
		eq(got.upHandle, { main: 320 }, 'handle called from main');
		eq(got.upMain, { app: 320 }, 'main in app');
		eq(got.upRun, { worker: 10 }, 'run in worker');
		eq(got.calleesRoot, ['parse_json', 370, 20], 'callees root, with its self samples');
		eq(got.callees, { alloc: 40, memcpy: 310 }, 'callees merged over both call sites');
		check(got.callersRootAtBottom && got.calleesRootAtTop, 'callers read upwards, callees downwards');
		check(got.drawn, 'callers drawn');
		check(/Sandwich: parse_json/.test(await text('#view-profiles .sandwich h2')), 'heading');
		check(/fn=parse_json/.test(page.url()) && /tab=sandwich/.test(page.url()), `in the address: ${page.url()}`);
		await s.shot('sandwich');
	});

	await s.test('filters_process_and_runtime', async () => {
		await openProfiles({ service: 'mix' });
		eq(await samples(), sum(MIX), 'unfiltered');
		const cases = [[['python'], 50], [['java'], 30], [['node'], 15], [['kernel'], 15], [['native'], 30], [['python', 'java'], 80]];
		for (const [rts, want] of cases) {
			for (const r of ['native', 'python', 'java', 'node', 'kernel']) {
				const cb = page.locator(`#view-profiles input[name=runtime][value=${r}]`);
				if ((await cb.isChecked()) !== rts.includes(r)) await cb.click();
			}
			await until(async () => (await samples()) === want, `runtime ${rts} -> ${want} samples (got ${await samples()})`);
		}
		for (const r of ['python', 'java']) await page.locator(`#view-profiles input[name=runtime][value=${r}]`).click();
		await until(async () => (await samples()) === sum(MIX), 'no runtime filter');
		await page.click('#view-profiles details.procs summary');
		await page.locator('#view-profiles input[name=process][value=nginx]').click();
		await until(async () => (await samples()) === 30, 'process nginx');
		await page.locator('#view-profiles input[name=runtime][value=kernel]').click();
		await until(async () => (await samples()) === 5, 'nginx in the kernel');
		check(/proc=nginx/.test(page.url()) && /rt=kernel/.test(page.url()), `filters in the address: ${page.url()}`);
		check(/filtered: 5 of 125 samples/.test(await text('#view-profiles p.summary')), 'the summary says filtered');
		await s.shot('filters');
		await page.reload();
		await loaded();
		eq(await samples(), 5, 'a reload keeps the filters');
		eq(await page.locator('#view-profiles input[name=runtime][value=kernel]').isChecked(), true, 'kernel still checked');
	});

	await s.test('no_data_in_range_says_what_next', async () => {
		await openProfiles({ service: 'sw', range: '15m' });
		eq(await samples(), 0, 'nothing in the last 15 minutes');
		const hint = await text('#view-profiles .hint');
		check(/No samples for sw · all hosts in the last 15 minutes/.test(hint), `hint: ${hint}`);
		check(/The last profile from sw arrived \d+ min ago/.test(hint), `when the last profile came: ${hint}`);
		await s.shot('no_data');
		await page.evaluate(() => { document.querySelector('#view-profiles p.summary').dataset.samples = ''; });
		await page.click('#view-profiles .hint button:has-text("Show the last 6 hours")');
		await loaded();
		eq(await samples(), sum(SW), 'the offered range has the profile');
		check(/range=6h/.test(page.url()), 'and it is in the address');
	});

	await s.test('slow_query_spinner_then_focus_on_result', async () => {
		await openProfiles({ service: 'sw' });
		let release;
		const held = new Promise((r) => { release = r; });
		await page.route('**/api/v1/flamegraph?**', async (route) => { await held; await route.continue(); });
		try {
			await page.evaluate(() => { document.querySelector('#view-profiles p.summary').dataset.samples = ''; });
			await page.click('#view-profiles button[type=submit]');
			await until(async () => await page.locator('#view-profiles .loading').isVisible(), 'spinner shown');
			check(/Loading the profile of sw, the last hour…/.test(await text('#view-profiles .loading')), 'says what loads');
			await until(async () => /^[1-9]\d* s$/.test(await text('#view-profiles .loading .elapsed')), 'elapsed time counts up');
			check(await page.locator('#view-profiles .loading button:has-text("Cancel")').isVisible(), 'a Cancel button');
			await s.shot('loading');
			release();
			await loaded();
			eq(await page.evaluate(() => document.activeElement === document.querySelector('#view-profiles p.summary')), true, 'focus on the result');
			// Cancel: the screen, the form and the address stay on what was shown
			const before = page.url();
			let release2;
			const held2 = new Promise((r) => { release2 = r; });
			await page.unroute('**/api/v1/flamegraph?**');
			await page.route('**/api/v1/flamegraph?**', async (route) => { await held2; await route.continue().catch(() => {}); });
			await page.selectOption('#view-profiles select[name="profiles-range"]', '24h');
			await page.click('#view-profiles button[type=submit]');
			await until(async () => await page.locator('#view-profiles .loading').isVisible(), 'spinner again');
			check(/range=24h/.test(page.url()), 'the new query in the address while it loads');
			await page.click('#view-profiles .loading button:has-text("Cancel")');
			await until(async () => (await text('#view-profiles .msg')) === 'Cancelled.', 'says cancelled');
			release2();
			check(await page.locator('#view-profiles .loading').isHidden(), 'spinner gone');
			eq(page.url(), before, 'the address back on the profile shown');
			eq(await page.inputValue('#view-profiles select[name="profiles-range"]'), '1h', 'and the form');
			eq(await samples(), sum(SW), 'the profile still shown');
		} finally { release(); await page.unroute('**/api/v1/flamegraph?**'); }
	});

	await s.test('exports_named_after_service_host_range', async () => {
		const from = minute(NOW - 3600), to = minute(NOW) + 60;
		await openProfiles({ service: 'web', host: 'web-1', from: iso(from), to: iso(to) });
		const stamp = (t) => iso(t).replace(/[-:]/g, '').replace(/\d\dZ$/, 'Z');
		const stem = `fleetprof_web_web-1_${stamp(from)}-${stamp(to)}`;
		const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#view-profiles button:has-text("Export collapsed")')]);
		eq(dl.suggestedFilename(), `${stem}.collapsed.txt`, 'collapsed export name');
		const [dh] = await Promise.all([page.waitForEvent('download'), page.click('#view-profiles button:has-text("Export HTML")')]);
		eq(dh.suggestedFilename(), `${stem}.html`, 'HTML export name');
		const html = fs.readFileSync(await dh.path(), 'utf8');
		const data = JSON.parse(/<script type="application\/json" id="fleetprof-data">(.*?)<\/script>/s.exec(html)[1]);
		const sel = JSON.parse(data.header).selection;
		eq([sel.service, sel.hostname, sel.start_time, sel.end_time], ['web', 'web-1', iso(from), iso(to)], 'the selection in the exported header');
	});

	await s.test('top_functions_fit_1280_long_names_cut_in_middle', async () => {
		await openProfiles({ service: 'long' });
		const r = await page.evaluate(() => {
			const box = document.querySelector('#view-profiles .top .scroll');
			const td = document.querySelector('#view-profiles table.top td.fn[title^="std::"]');
			return { over: box.scrollWidth - box.clientWidth, shown: td.textContent, title: td.title, fits: td.scrollWidth <= td.clientWidth + 1,
				vw: window.innerWidth };
		});
		eq(r.vw, 1280, 'window width');
		check(r.over <= 0, `no horizontal scrolling in Top functions (${r.over} px over)`);
		eq(r.title, LONG_NAME, 'the full name on hover');
		check(r.shown.includes('…') && r.shown.length > 30 && r.shown.length < LONG_NAME.length && r.shown.startsWith(LONG_NAME.slice(0, 12))
			&& r.shown.endsWith(LONG_NAME.slice(-12)), `cut in the middle: ${r.shown}`);
		check(r.fits, 'the cut name fits its cell');
		await s.shot('top_functions_long');
	});

	await s.test('dark_mode_follows_system', async () => {
		const lum = (p = page) => p.evaluate(() => {
			const px = (c) => c.match(/\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 3;
			const root = getComputedStyle(document.documentElement);
			return { bg: px(root.backgroundColor), ink: px(root.color),
				card: px(getComputedStyle(document.querySelector('#view-profiles .card')).backgroundColor) };
		});
		await openProfiles({ service: 'sw' });
		const light = await lum();
		check(light.bg > 200 && light.ink < 60, `light: ${JSON.stringify(light)}`);
		await page.emulateMedia({ colorScheme: 'dark' });
		try {
			const dark = await lum();
			check(dark.bg < 40 && dark.card < 50 && dark.ink > 200, `dark: ${JSON.stringify(dark)}`);
			await s.shot('dark_profiles');
			await page.click('#view-profiles .tabs button:has-text("Sandwich")');
			await s.shot('dark_sandwich');
			await page.click('#view-profiles .tabs button:has-text("Flame graph")');
			await page.goto(`${srv.url}/#/hosts`);
			await until(async () => (await page.locator('#view-hosts tbody tr').count()) > 0, 'hosts listed');
			await s.shot('dark_hosts');
		} finally { await page.emulateMedia({ colorScheme: 'light' }); }
	});

	await s.test('one_time_zone_utc_with_local_switch', async () => {
		const from = minute(NOW - 3600), to = minute(NOW) + 60;
		await openProfiles({ service: 'web', from: iso(from), to: iso(to) });
		const utc = await text('#view-profiles p.summary');
		check(utc.endsWith(' UTC'), `summary in UTC: ${utc}`);
		eq(await page.inputValue('#view-profiles input[name="profiles-from"]'), iso(from).slice(0, 16), 'the custom range typed in UTC');
		check((await text('#view-profiles .range .tz')) === 'UTC', 'the zone named by the inputs');
		const cdp = await page.context().newCDPSession(page);
		await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Asia/Kolkata' });
		try {
			await page.click('#tz');
			await until(async () => (await text('#tz')) === 'Times: local', 'switched to local');
			const local = await text('#view-profiles p.summary');
			check(local.endsWith(' local'), `summary in local time: ${local}`);
			eq(await page.inputValue('#view-profiles input[name="profiles-from"]'), iso(from + 5.5 * 3600).slice(0, 16), 'the same instant in UTC+05:30');
			check(/UTC\+05:30/.test(await text('#view-profiles .range .tz')), 'the zone named');
			check(page.url().includes(`from=${encodeURIComponent(iso(from))}`), 'the address keeps UTC');
			await page.click('#tz');
			await until(async () => (await text('#tz')) === 'Times: UTC', 'back to UTC');
		} finally { await cdp.send('Emulation.setTimezoneOverride', { timezoneId: '' }).catch(() => {}); await cdp.detach(); }
	});

	await s.test('compare_same_window_a_day_before', async () => {
		await page.goto(`${srv.url}/#/compare?service=web&host=web-1&base=1d`);
		await until(async () => /A \(/.test(await text('#view-compare p.summary').catch(() => '')), 'compared');
		const sumText = await text('#view-compare p.summary');
		check(new RegExp(`A \\(.*\\): ${sum(YESTERDAY)} samples · B \\(.*\\): ${sum(WEB1)} samples`).test(sumText), `summary: ${sumText}`);
		eq(await page.inputValue('#view-compare select[name=base]'), '1d', 'the baseline chosen');
		const day = (t) => new Date(t * 1000).toISOString().slice(0, 10);
		check(sumText.includes(`A (${day(NOW - 86400 - 3600)}`) || sumText.includes(`A (${day(NOW - 86400)}`), `A is yesterday: ${sumText}`);
		await s.shot('compare_1d');
		await page.selectOption('#view-compare select[name=base]', '1w');
		await page.click('#view-compare button[type=submit]');
		await until(async () => /base=1w/.test(page.url()), 'base in the address');
		await until(async () => /A \(.*\): 0 samples/.test(await text('#view-compare p.summary')), 'nothing a week before');
	});

	await s.test('running_command_stop_and_profile_link', async () => {
		await page.goto(`${srv.url}/#/hosts`);
		const row = page.locator('#view-hosts tr[data-host="web-1"]');
		await until(async () => (await row.count()) === 1, 'web-1 listed');
		await row.locator('input[type=checkbox]').check();
		await page.fill('#view-hosts input[name=duration]', '600');
		await page.click('#view-hosts form.request button[type=submit]');
		await until(async () => (await row.getAttribute('data-command-status')) === 'pending', 'pending');
		const hb = await srv.heartbeat('web-1', 'web', { ip: '10.0.1.1', version: '0.1.0' });
		const cmd = hb.command_id;
		check(cmd && hb.profiling_command?.command_type === 'start', 'the agent got the start');
		await until(async () => (await row.getAttribute('data-shown')) === 'profiling', 'web-1 profiling, not just heartbeating');
		const cell = await row.locator('td').nth(9).innerText();
		check(/running/.test(cell) && /of 10 min · ends about \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/.test(cell), `running with elapsed and end: ${cell}`);
		check(await row.locator('button:has-text("Stop")').isVisible(), 'Stop on the row');
		await s.shot('running_hosts');
		await page.click('#nav a[data-view="commands"]');
		const crow = page.locator(`#view-commands tr[data-command="${cmd}"]`);
		await until(async () => (await crow.getAttribute('data-phase')) === 'running', 'running in Commands');
		await crow.locator('button:has-text("Stop")').click();
		await until(async () => /Stop sent to web-1/.test(await text('#view-commands .msg.ok')), 'stop sent');
		await until(async () => (await page.locator('#view-commands tbody tr').first().locator('td').nth(3).innerText()) === 'stop', 'the stop is the newest command');
		// the agent finishes the start and uploads its profile in the minute it began
		const listed = await srv.req('GET', '/api/metrics/commands?hostname=web-1&limit=10');
		const sentAt = Date.parse(listed.json.commands.find((c) => c.command_id === cmd).sent_at) / 1000;
		const RUN = { '0;;app;main;profiled_run': 77 };
		await srv.upload('web', 'web-1', makeProfile(RUN, 'web-1'), minute(sentAt));
		await srv.complete(cmd, 'web-1');
		await until(async () => (await crow.getAttribute('data-phase')) === 'completed', 'completed');
		const link = crow.locator('a.profile-link');
		await until(async () => (await link.count()) === 1, 'a link to the profile');
		await s.shot('commands_link');
		await page.evaluate(() => { const e = document.querySelector('#view-profiles p.summary'); if (e) e.dataset.samples = ''; });
		await link.click();
		await loaded();
		eq(await page.inputValue('#view-profiles select[name=hostname]'), 'web-1', 'the command\'s host');
		eq(await page.inputValue('#view-profiles select[name="profiles-range"]'), 'custom', 'the command\'s time');
		check((await samples()) >= sum(RUN), 'the profile it produced is in view');
		check(await page.locator('#view-profiles table.top tbody tr[data-name="profiled_run"]').count() === 1, 'with its frames');
	});

	await s.test('failure_reason_shown_where_it_fails', async () => {
		await page.goto(`${srv.url}/#/hosts`);
		const row = page.locator('#view-hosts tr[data-host="web-2"]');
		await until(async () => (await row.count()) === 1, 'web-2 listed');
		check((await page.locator('#view-hosts select[name=profiling_mode] option[value=allocation]').innerText()).includes('gProfiler agents only'),
			'allocation says who takes it');
		await row.locator('input[type=checkbox]').check();
		await page.locator('#view-hosts tr[data-host="web-1"] input[type=checkbox]').uncheck();
		await page.selectOption('#view-hosts select[name=profiling_mode]', 'allocation');
		await page.click('#view-hosts form.request button[type=submit]');
		await until(async () => (await row.getAttribute('data-command-status')) === 'pending', 'pending');
		const hb = await srv.heartbeat('web-2', 'web', { ip: '10.0.1.2', version: '0.1.0' });
		const why = "profiling_mode 'allocation' is not supported by this agent (cpu only)";
		await srv.complete(hb.command_id, 'web-2', 'failed', why);
		await until(async () => (await row.getAttribute('data-command-status')) === 'failed', 'failed');
		await until(async () => (await row.locator('td').nth(9).innerText()).includes(why), 'the reason beside the failure in Hosts');
		await s.shot('failed_hosts');
		await page.click('#nav a[data-view="commands"]');
		const crow = page.locator(`#view-commands tr[data-command="${hb.command_id}"]`);
		await until(async () => (await crow.count()) === 1 && (await crow.locator('td.details').innerText()).includes(why), 'and in Commands');
		await page.selectOption('#view-hosts select[name=profiling_mode]', 'cpu').catch(() => {});
	});
}

await s.close();

// test_dashboard.mjs — the dashboard end to end against the real server: sign-in, hosts and
// filters, a profiling request delivered to a heartbeating (fake) agent with live status, flame
// graph with known frames, search, zoom/reset (mouse and keyboard), runtime colours, top
// functions, compare, commands history, exports, sign-out. Any console error fails the test, and
// the pages are served under the strict Content-Security-Policy the server is to send.
import fs from 'node:fs';
import { Suite, check, eq, until, makeProfile, ADMIN_TOKEN } from './lib.mjs';

const s = await Suite.open('dashboard');
const srv = s.server;
const page = s.page;

// ---- seed: four hosts in two services, profiles with known frames ------------------------------
const NOW = Math.floor(Date.now() / 1000);
const minute = (t) => Math.floor(t / 60) * 60;
const HOSTS = [['web-1', 'web', '10.0.1.1'], ['web-2', 'web', '10.0.1.2'], ['web-3', 'web', '10.0.1.3'], ['db-1', 'db', '10.0.2.1']];
// last hour: web-1 500 samples, web-2 500 samples
const B1 = {
	'0;;app;main_[p];handle_[p];render_[p]': 100,
	'0;;app;main_[p];handle_[p];parse_json;memcpy': 300,
	'0;;app;main_[p];gc_[pn]': 50,
	'0;;app;main_[p];handle_[p];write_[p];sys_write_[k]': 50,
};
const B2 = {
	'0;;app;main_[p];handle_[p];render_[p]': 400,
	'1;cont-a;worker;run_[j];compute_[j]': 100,
};
// an hour earlier, web-1 only: render 50%, parse_json 50%
const A1 = {
	'0;;app;main_[p];handle_[p];render_[p]': 100,
	'0;;app;main_[p];handle_[p];parse_json;memcpy': 100,
};
const serverStacks = (...ps) => {
	const out = {};
	for (const p of ps) for (const [k, v] of Object.entries(p)) { const key = k.split(';').slice(2).join(';'); out[key] = (out[key] || 0) + v; }
	return out;
};
const parseCol = (text) => {
	const out = {};
	for (const l of text.split('\n')) {
		if (!l.trim() || l.startsWith('#')) continue;
		const i = l.lastIndexOf(' ');
		out[l.slice(0, i)] = (out[l.slice(0, i)] || 0) + Number(l.slice(i + 1));
	}
	return out;
};
const sorted = (o) => Object.fromEntries(Object.entries(o).sort());

if (srv) {
	try {
		for (const [h, svc, ip] of HOSTS) await srv.heartbeat(h, svc, { ip, version: `1.2.${h.length}` });
		await srv.upload('web', 'web-1', makeProfile(B1, 'web-1'), minute(NOW - 1800), { cpu: 30, mem: 55 });
		await srv.upload('web', 'web-2', makeProfile(B2, 'web-2'), minute(NOW - 1200), { cpu: 70, mem: 35 });
		await srv.upload('web', 'web-1', makeProfile(A1, 'web-1'), minute(NOW - 5400), { cpu: 20, mem: 50 });
		// service db: two containers, for the container filter's suggestions
		await srv.upload('db', 'db-1', makeProfile({ '0;pg-main;postgres;main;exec_query': 60,
			'0;pg-replica;postgres;main;wal_apply': 40 }, 'db-1'), minute(NOW - 600), { cpu: 10, mem: 20 });
	} catch (e) {
		console.log(`FAIL dashboard_seed: ${e.message}`);
		s.failed++;
		await s.close();
	}
}

// ---- helpers ---------------------------------------------------------------------------------
const text = (sel) => page.locator(sel).first().innerText();
const hostRow = (h) => page.locator(`#view-hosts tr[data-host="${h}"]`);

/** Centre of the frame named name (the heaviest one) in page coordinates, via the view's graph. */
async function frameAt(view, name) {
	const p = await page.evaluate(([v, n]) => {
		const fg = window.fleetprof.views[v].panel.fg;
		const t = fg.tree;
		let best = -1;
		for (let i = 1; i < t.n; i++) if (t.names[t.nameOf[i]] === n && (best < 0 || t.weight[i] > t.weight[best])) best = i;
		const c = best >= 0 ? fg.nodeCenter(best) : null;
		if (!c) return null;
		const r = fg.canvas.getBoundingClientRect();
		const i = fg.drawn.nodes.indexOf(best);
		return { x: r.left + c.x, y: r.top + c.y, left: r.left + fg.drawn.xs[i], width: fg.drawn.ws[i], node: best };
	}, [view, name]);
	check(p, `frame ${name} is not drawn in ${view}`);
	return p;
}

/** The colour drawn at the left edge of a frame (away from its label): [r, g, b]. */
async function pixelOf(view, name) {
	const f = await frameAt(view, name);
	return page.evaluate(([v, x, y]) => {
		const fg = window.fleetprof.views[v].panel.fg;
		const r = fg.canvas.getBoundingClientRect();
		const dpr = window.devicePixelRatio || 1;
		const d = fg.ctx.getImageData(Math.round((x - r.left + 1) * dpr), Math.round((y - r.top - 6) * dpr), 1, 1).data;
		return [d[0], d[1], d[2]];
	}, [view, f.left, f.y]);
}

function hue([r, g, b]) {
	r /= 255; g /= 255; b /= 255;
	const mx = Math.max(r, g, b), mn = Math.min(r, g, b), d = mx - mn;
	if (d === 0) return -1;
	let hh = mx === r ? ((g - b) / d) % 6 : mx === g ? (b - r) / d + 2 : (r - g) / d + 4;
	hh *= 60;
	return hh < 0 ? hh + 360 : hh;
}

async function loadProfile({ service = 'web', host = '', range = '1h' } = {}) {
	await page.click('#nav a[data-view="profiles"]');
	await until(async () => (await page.locator('#view-profiles select[name=service] option').count()) > 0, 'services listed');
	await page.selectOption('#view-profiles select[name=service]', service);
	await until(async () => (await page.locator('#view-profiles select[name=hostname] option').count()) > 1, 'hosts listed');
	await page.selectOption('#view-profiles select[name=hostname]', host);
	await page.selectOption('#view-profiles select[name="profiles-range"]', range);
	await page.evaluate(() => { document.querySelector('#view-profiles p.summary').dataset.samples = ''; });
	await page.click('#view-profiles button[type=submit]');
	await until(async () => (await page.locator('#view-profiles p.summary').getAttribute('data-samples')) !== '', 'profile loaded');
}

// ---- tests -----------------------------------------------------------------------------------
if (srv) {
	await s.test('signin_wrong_token_says_so', async () => {
		await page.goto(srv.url + '/');
		await page.waitForSelector('#signin-form input[name=token]');
		check(await page.locator('#signin').isVisible(), 'sign-in form not shown first');
		check(!(await page.locator('#nav').isVisible()), 'navigation shown before sign-in');
		await s.allowConsole(/status of 40[13]/, async () => {
			await page.fill('input[name=token]', 'not-the-token');
			await page.press('input[name=token]', 'Enter');
			await until(async () => /wrong token/i.test(await text('#signin-msg')), 'no "wrong token" message');
		});
		check(await page.locator('#signin').isVisible(), 'left sign-in with a wrong token');
		eq(await page.evaluate(() => sessionStorage.getItem('fleetprof.token')), null, 'wrong token stored');
	});

	await s.test('served_under_strict_csp', async () => {
		// the harness adds the header the server is to send; prove the browser enforces it, so the
		// other tests' clean consoles mean the dashboard needs no inline script, eval or style attribute
		const ran = await s.allowConsole(/CSP violation|Content Security Policy/, () => page.evaluate(() => {
			const el = document.createElement('script');
			el.textContent = 'window.inlineRan = true';
			document.body.append(el);
			el.remove();
			return window.inlineRan === true;
		}));
		eq(ran, false, 'an inline script refused by the page\'s policy');
	});

	await s.test('signin_opens_hosts', async () => {
		await page.fill('input[name=token]', ADMIN_TOKEN);
		await page.click('#signin-form button[type=submit]');
		await until(async () => (await hostRow('web-1').count()) === 1, 'hosts view did not show web-1');
		eq(new URL(page.url()).hash, '#/hosts', 'route after sign-in');
		check(await page.locator('#nav a[data-view=hosts][aria-current=page]').count() === 1, 'hosts tab not current');
	});

	await s.test('hosts_list_every_field', async () => {
		await until(async () => (await page.locator('#view-hosts tbody tr').count()) === 4, 'four hosts listed');
		const cells = await hostRow('web-1').locator('td').allInnerTexts();
		eq(cells.slice(1, 6), ['web-1', 'web', '10.0.1.1', '1.2.5', 'heartbeat + uploads'], 'web-1 host, service, IP, agent version, how it reports');
		check(/^\d+ s ago$|^just now$/.test(cells[6]), `last heartbeat not relative: ${cells[6]}`);
		eq(cells[7], 'heartbeating', 'status');
		eq(cells[8], '–', 'no command yet');
		eq(await hostRow('web-3').locator('td').nth(5).innerText(), 'heartbeat', 'web-3 never uploaded');
		check(/4 active of 4/.test(await text('#view-hosts .summary')), `summary: ${await text('#view-hosts .summary')}`);
	});

	await s.test('hosts_filter_by_service_and_text', async () => {
		await page.selectOption('#view-hosts select[name=service]', 'db');
		await until(async () => (await page.locator('#view-hosts tbody tr').count()) === 1, 'service filter: one host');
		eq(await page.locator('#view-hosts tbody tr').getAttribute('data-host'), 'db-1', 'service filter keeps db-1');
		await page.selectOption('#view-hosts select[name=service]', '');
		await until(async () => (await page.locator('#view-hosts tbody tr').count()) === 4, 'all services again');
		await page.fill('#view-hosts input[name=filter]', '10.0.1.2');
		await until(async () => (await page.locator('#view-hosts tbody tr').count()) === 1, 'text filter by IP');
		eq(await page.locator('#view-hosts tbody tr').getAttribute('data-host'), 'web-2', 'IP filter finds web-2');
		await page.fill('#view-hosts input[name=filter]', 'web-');
		await until(async () => (await page.locator('#view-hosts tbody tr').count()) === 3, 'text filter by name');
		await page.fill('#view-hosts input[name=filter]', '');
	});

	let cmd1 = null;
	await s.test('start_profiling_delivered_and_status_live', async () => {
		await hostRow('web-1').locator('input[type=checkbox]').check();
		await hostRow('web-3').locator('input[type=checkbox]').check();
		check(/2 hosts selected/.test(await text('#view-hosts form.request .count')), 'selection count');
		await page.fill('#view-hosts input[name=duration]', '30');
		await page.fill('#view-hosts input[name=frequency]', '99');
		await page.click('#view-hosts form.request button[type=submit]');
		await until(async () => /Start sent/.test(await text('#view-hosts form.request .msg')), 'request confirmation');
		await until(async () => (await hostRow('web-1').getAttribute('data-command-status')) === 'pending', 'web-1 pending in the UI');
		eq(await hostRow('web-2').getAttribute('data-command-status'), '', 'web-2 not targeted');
		// the test acts as web-1's agent
		const hb = await srv.heartbeat('web-1', 'web', { ip: '10.0.1.1', version: '1.2.5' });
		check(hb.profiling_command, `heartbeat carried no command: ${JSON.stringify(hb)}`);
		eq(hb.profiling_command.command_type, 'start', 'command type');
		const cfg = hb.profiling_command.combined_config;
		eq([cfg.duration, cfg.frequency, cfg.profiling_mode, cfg.continuous], [30, 99, 'cpu', false], 'combined_config from the form');
		cmd1 = hb.command_id;
		check(cmd1, 'no command_id');
		await until(async () => (await hostRow('web-1').getAttribute('data-command-status')) === 'sent', 'status "sent" without reload');
		await srv.complete(cmd1, 'web-1');
		await until(async () => (await hostRow('web-1').getAttribute('data-command-status')) === 'completed', 'status "completed" without reload');
		const hb3 = await srv.heartbeat('web-3', 'web', { ip: '10.0.1.3', version: '1.2.5' });
		eq(hb3.profiling_command?.command_type, 'start', 'web-3 got the start too');
		eq(hb3.profiling_command.combined_config.frequency, 99, 'web-3 frequency');
	});

	await s.test('stop_whole_service', async () => {
		await page.selectOption('#view-hosts select[name=request_type]', 'stop');
		await page.selectOption('#view-hosts select[name=target]', 'service');
		await page.selectOption('#view-hosts select[name="target-service"]', 'db');
		await page.click('#view-hosts form.request button[type=submit]');
		await until(async () => /Stop sent — db: request \w+, 1 command/.test(await text('#view-hosts form.request .msg')), 'stop confirmation');
		const hb = await srv.heartbeat('db-1', 'db', { ip: '10.0.2.1', version: '1.2.4' });
		eq(hb.profiling_command?.command_type, 'stop', 'db-1 receives a stop');
		await until(async () => (await hostRow('db-1').getAttribute('data-command-status')) === 'sent', 'db-1 stop shows as sent');
		await page.selectOption('#view-hosts select[name=request_type]', 'start');
		await page.selectOption('#view-hosts select[name=target]', 'selected');
	});

	await s.test('flamegraph_known_frames', async () => {
		await loadProfile();
		eq(await page.locator('#view-profiles p.summary').getAttribute('data-samples'), '1000', 'samples in the last hour');
		check(/1,000 samples · 5 distinct stacks/.test(await text('#view-profiles p.summary')), `summary: ${await text('#view-profiles p.summary')}`);
		const f = await frameAt('profiles', 'parse_json');
		// 300 of 1000 samples: 30% of the 1280-px-wide page's graph width
		const gw = await page.evaluate(() => window.fleetprof.views.profiles.panel.fg.canvas.clientWidth);
		check(Math.abs(f.width - 0.3 * gw) < 1.5, `parse_json width ${f.width} of ${gw}`);
		await page.mouse.move(f.x, f.y);
		await until(async () => await page.locator('#view-profiles .panel .fg-tip').isVisible(), 'tooltip on hover');
		const tip = await text('#view-profiles .panel .fg-tip');
		check(tip.includes('parse_json') && tip.includes('300 samples, 30.0% of all') && tip.includes('native'), `tooltip: ${tip}`);
		// top functions: by self, descending
		const rows = await page.locator('#view-profiles table.top tbody tr').evaluateAll((trs) => trs.slice(0, 3).map((tr) => [...tr.cells].map((c) => c.innerText)));
		eq(rows, [['render_[p]', '500', '50.0%', '500', '50.0%'], ['memcpy', '300', '30.0%', '300', '30.0%'], ['compute_[j]', '100', '10.0%', '100', '10.0%']], 'top functions by self');
	});

	await s.test('runtime_colours_by_suffix', async () => {
		const hues = {};
		for (const n of ['parse_json', 'render_[p]', 'sys_write_[k]', 'compute_[j]', 'gc_[pn]']) hues[n] = hue(await pixelOf('profiles', n));
		const inRange = (v, a, b) => v >= a && v <= b;
		check(inRange(hues.parse_json, 0, 35) || hues.parse_json > 350, `native hue ${hues.parse_json}`);
		check(inRange(hues['render_[p]'], 40, 62), `python hue ${hues['render_[p]']}`);
		check(inRange(hues['sys_write_[k]'], 195, 225), `kernel hue ${hues['sys_write_[k]']}`);
		check(inRange(hues['compute_[j]'], 95, 140), `java hue ${hues['compute_[j]']}`);
		check(inRange(hues['gc_[pn]'], 260, 295), `python-native hue ${hues['gc_[pn]']}`);
	});

	await s.test('search_highlights_and_shows_percent', async () => {
		await page.fill('#view-profiles input[name=search]', 'parse');
		await until(async () => /matched: 30\.0% \(300 samples\)/.test(await text('#view-profiles .matched')), 'matched percent for "parse"');
		const px = await pixelOf('profiles', 'parse_json');
		eq(px, [217, 70, 239], 'parse_json highlighted');
		const other = await pixelOf('profiles', 'render_[p]');
		check(JSON.stringify(other) !== JSON.stringify(px), 'render_[p] highlighted too');
		await page.fill('#view-profiles input[name=search]', '/^(render|compute)_/');
		await until(async () => /matched: 60\.0% \(600 samples\)/.test(await text('#view-profiles .matched')), 'regex search percent');
		await page.fill('#view-profiles input[name=search]', '');
		await until(async () => (await text('#view-profiles .matched')) === '', 'search cleared');
	});

	await s.test('click_zoom_breadcrumb_and_reset', async () => {
		const h = await frameAt('profiles', 'handle_[p]');
		await page.mouse.click(h.x, h.y);
		const crumbs = async () => (await page.locator('#view-profiles nav.crumbs button').allInnerTexts());
		await until(async () => JSON.stringify(await crumbs()) === JSON.stringify(['all', 'app', 'main_[p]', 'handle_[p]']), 'breadcrumb after zoom');
		const gw = await page.evaluate(() => window.fleetprof.views.profiles.panel.fg.canvas.clientWidth);
		const z = await frameAt('profiles', 'handle_[p]');
		check(Math.abs(z.width - gw) < 1.5, `zoomed frame fills the width: ${z.width}/${gw}`);
		const p = await frameAt('profiles', 'parse_json'); // 300 of handle's 450 (web-1 100+300+50, web-2 400 → 850)
		check(Math.abs(p.width - (300 / 850) * gw) < 1.5, `parse_json width in zoom ${p.width}`);
		check(/Within the zoomed frame/.test(await text('#view-profiles .top .note')), 'top functions follow the zoom');
		await page.click('#view-profiles button:has-text("Reset zoom")');
		await until(async () => JSON.stringify(await crumbs()) === '["all"]', 'breadcrumb after reset');
		// keyboard: focus the graph, move to a child (down: the root is at the top), zoom with Enter, reset with Escape
		await page.focus('#view-profiles .fg canvas');
		await page.keyboard.press('ArrowDown');
		await page.keyboard.press('ArrowDown');
		await page.keyboard.press('Enter');
		await until(async () => JSON.stringify(await crumbs()) === JSON.stringify(['all', 'app', 'main_[p]']), 'keyboard zoom');
		await page.keyboard.press('Escape');
		await until(async () => JSON.stringify(await crumbs()) === '["all"]', 'keyboard reset');
	});

	await s.test('icicle_by_default_flame_as_option', async () => {
		const root = () => page.evaluate(() => window.fleetprof.views.profiles.panel.fg.nodeCenter(0).y);
		const icicleY = await root();
		check(icicleY < 18, `the root is the top row by default: y=${icicleY}`);
		eq(await page.getAttribute('#view-profiles button:has-text("Icicle")', 'aria-pressed'), 'true', 'icicle pressed');
		await page.click('#view-profiles button:has-text("Icicle")');
		const flameY = await root();
		check(flameY > icicleY, `root row flame y=${flameY}, icicle y=${icicleY}`);
		check(/layout=flame/.test(page.url()), `layout in the address: ${page.url()}`);
		await page.click('#view-profiles button:has-text("Icicle")');
		check(!/layout=/.test(page.url()), `icicle is the default, not in the address: ${page.url()}`);
	});

	await s.test('top_functions_sort_and_pick', async () => {
		await page.click('#view-profiles table.top th button:has-text("Total")');
		const first = await page.locator('#view-profiles table.top tbody tr').evaluateAll((trs) => trs.slice(0, 2).map((tr) => tr.dataset.name));
		eq(first, ['app', 'main_[p]'], 'sorted by total, descending (900 each, then by name)');
		await page.click('#view-profiles table.top th button:has-text("Self")');
		await page.click('#view-profiles table.top th button:has-text("Self")'); // ascending now
		const firstAsc = await page.locator('#view-profiles table.top tbody tr').first().getAttribute('data-name');
		check(['app', 'handle_[p]', 'main_[p]', 'parse_json', 'run_[j]', 'worker', 'write_[p]'].includes(firstAsc), `ascending self starts with a 0-self function: ${firstAsc}`);
		await page.click('#view-profiles table.top th button:has-text("Self")'); // descending again
		// picking a row highlights it in the graph and moves no row (nor zooms)
		const order = () => page.locator('#view-profiles table.top tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.name));
		const before = await order();
		await page.locator('#view-profiles table.top tbody tr[data-name="memcpy"]').click();
		await until(async () => /matched: 30\.0%/.test(await text('#view-profiles .matched')), 'picking shows memcpy percent');
		eq(await page.inputValue('#view-profiles input[name=search]'), 'memcpy', 'picking fills the search');
		eq(await order(), before, 'rows stay where they were');
		eq(await page.locator('#view-profiles table.top tbody tr[aria-selected=true]').getAttribute('data-name'), 'memcpy', 'picked row marked');
		eq(await page.locator('#view-profiles nav.crumbs button').allInnerTexts(), ['all'], 'no zoom');
		eq(await pixelOf('profiles', 'memcpy'), [217, 70, 239], 'memcpy highlighted');
		await page.fill('#view-profiles input[name=search]', '');
	});

	await s.test('host_filter_and_metrics', async () => {
		await loadProfile({ host: 'web-2' });
		eq(await page.locator('#view-profiles p.summary').getAttribute('data-samples'), '500', 'web-2 samples');
		const legends = await page.locator('#view-profiles figure.chart .legend').allInnerTexts();
		check(legends.length === 2 && legends.every((l) => l.trim() === 'web-2'), `metrics charts for web-2: ${JSON.stringify(legends)}`);
		await loadProfile({ host: '', range: '15m' });
		eq(await page.locator('#view-profiles p.summary').getAttribute('data-samples'), '0', 'nothing in the last 15 minutes');
	});

	await s.test('container_suggestions_and_filter', async () => {
		await loadProfile({ service: 'db', host: '' });
		eq(await page.locator('#view-profiles p.summary').getAttribute('data-samples'), '100', 'db samples');
		await page.focus('#view-profiles input[name=container]');
		await until(async () => (await page.locator('#profiles-containers option').count()) === 2, 'container suggestions');
		eq(await page.locator('#profiles-containers option').evaluateAll((os) => os.map((o) => o.value)),
			['pg-main', 'pg-replica'], 'suggested containers');
		await page.fill('#view-profiles input[name=container]', 'pg-replica');
		await page.evaluate(() => { document.querySelector('#view-profiles p.summary').dataset.samples = ''; });
		await page.click('#view-profiles button[type=submit]');
		await until(async () => (await page.locator('#view-profiles p.summary').getAttribute('data-samples')) !== '', 'filtered profile');
		eq(await page.locator('#view-profiles p.summary').getAttribute('data-samples'), '40', 'pg-replica samples');
		check(!(await page.locator('#view-profiles .panel .fg-tip').isVisible()), 'no tooltip left over from the previous graph');
		await page.fill('#view-profiles input[name=container]', '');
	});

	await s.test('export_collapsed_and_html', async () => {
		await loadProfile();
		const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#view-profiles button:has-text("Export collapsed")')]);
		const got = fs.readFileSync(await dl.path(), 'utf8');
		eq(sorted(parseCol(got)), sorted(serverStacks(B1, B2)), 'exported collapsed text');
		const [dh] = await Promise.all([page.waitForEvent('download'), page.click('#view-profiles button:has-text("Export HTML")')]);
		const html = fs.readFileSync(await dh.path(), 'utf8');
		check(!/<script[^>]+src=|<link[^>]+stylesheet/.test(html), 'exported HTML loads nothing from outside');
		const p2 = await s.browser.newPage();
		s.watchConsole(p2);
		try {
			await p2.setContent(html);
			const total = await until(() => p2.evaluate(() => window.fleetprofExport?.tree.tot[0][0]), 'exported page built its tree');
			eq(total, 1000, 'exported HTML total');
			await p2.fill('#q', 'memcpy');
			await until(async () => /matched 30\.0%/.test(await p2.locator('#matched').innerText()), 'search in the exported page');
		} finally { await p2.close(); }
	});

	await s.test('compare_two_ranges', async () => {
		await page.click('#nav a[data-view="compare"]');
		await until(async () => (await page.locator('#view-compare select[name=hostname] option').count()) > 1, 'compare hosts listed');
		await page.selectOption('#view-compare select[name=service]', 'web');
		await page.selectOption('#view-compare select[name=hostname]', 'web-1');
		await page.click('#view-compare button[type=submit]');
		await until(async () => (await page.locator('#view-compare table.changes tbody tr').count()) > 0, 'changes listed');
		check(/A \(.*\): 200 samples · B \(.*\): 500 samples/.test(await text('#view-compare p.summary')), `summary ${await text('#view-compare p.summary')}`);
		const rows = await page.locator('#view-compare table.changes tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText)));
		eq(rows[0], ['render_[p]', '50.0%', '20.0%', '-30.0 pts'], 'biggest change first');
		check(rows.some((r) => JSON.stringify(r) === JSON.stringify(['parse_json', '50.0%', '60.0%', '+10.0 pts'])), `parse_json change: ${JSON.stringify(rows)}`);
		const render = hue(await pixelOf('compare', 'render_[p]')), gc = hue(await pixelOf('compare', 'gc_[pn]'));
		check(render > 200 && render < 230, `render_[p] shrank: blue, hue ${render}`);
		check(gc < 10 || gc > 350, `gc_[pn] appeared: red, hue ${gc}`);
	});

	await s.test('compare_two_hosts', async () => {
		await page.selectOption('#view-compare select[name=mode]', 'hosts');
		await page.selectOption('#view-compare select[name="host-a"]', 'web-1');
		await page.selectOption('#view-compare select[name="host-b"]', 'web-2');
		await page.click('#view-compare button[type=submit]');
		await until(async () => /A \(web-1\): 500 samples · B \(web-2\): 500 samples/.test(await text('#view-compare p.summary')), 'hosts compare summary');
		const rows = await page.locator('#view-compare table.changes tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText)));
		// memcpy, parse_json and render_[p] all move 60 points: ties are ordered by name
		eq(rows.slice(0, 3), [['memcpy', '60.0%', '0.0%', '-60.0 pts'], ['parse_json', '60.0%', '0.0%', '-60.0 pts'],
			['render_[p]', '20.0%', '80.0%', '+60.0 pts']], 'web-1 vs web-2');
	});

	await s.test('commands_history', async () => {
		await page.click('#nav a[data-view="commands"]');
		await until(async () => (await page.locator('#view-commands tbody tr').count()) === 3, 'three commands');
		const rows = await page.locator('#view-commands tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.cells[1].innerText, tr.cells[3].innerText, tr.dataset.status, tr.cells[5].innerText]));
		// newest first: the stop for db-1, then the two starts (web-1, web-3 in either order)
		eq(rows[0], ['db-1', 'stop', 'sent', 'stop host'], 'newest: the stop');
		const starts = Object.fromEntries(rows.slice(1).map((r) => [r[0], r.slice(1)]));
		eq(starts['web-1'], ['start', 'completed', '30 s, 99 Hz, cpu'], 'web-1 start');
		eq(starts['web-3'], ['start', 'sent', '30 s, 99 Hz, cpu'], 'web-3 start');
		const done = page.locator(`#view-commands tr[data-command="${cmd1}"] td`);
		check((await done.nth(8).innerText()) === '2.5 s', 'run time of the completed command');
		check(/1–3 of 3/.test(await text('#view-commands .summary')), 'paging summary');
	});

	await s.test('signout', async () => {
		await page.click('#signout');
		await until(async () => await page.locator('#signin').isVisible(), 'sign-in form after sign-out');
		eq(await page.evaluate(() => sessionStorage.getItem('fleetprof.token')), null, 'token forgotten');
		await page.reload();
		await until(async () => await page.locator('#signin').isVisible(), 'sign-in form after reload');
		check(!(await page.locator('#nav').isVisible()), 'navigation hidden after reload');
	});
}

await s.close();

// lib.mjs — the browser-test harness: the real fleetprof-server on an ephemeral port with its
// database in a temp dir, a fake agent speaking the wire protocol (heartbeats, gzip uploads),
// Debian's Chromium through playwright-core, one line per test, a screenshot per test (kept in
// $FLEETPROF_BUILD/test-logs/screenshots), the dashboard served under a strict
// Content-Security-Policy, and cleanup of every process and temp dir whatever happens. No test
// asserts a wall-clock budget: until() waits for an event, with a generous timeout.
//
//   const s = await Suite.open('dashboard');   // prints "skip ..." and exits 0 when it cannot run
//   await s.test('name', async ({ page }) => { ... });
//   await s.close();                            // exits 1 if any test failed
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export const ROOT = process.env.FLEETPROF_ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const BUILD = path.resolve(ROOT, process.env.FLEETPROF_BUILD || 'build/san');
export const AGENT_TOKEN = 'agent-token-for-browser-tests';
export const ADMIN_TOKEN = 'admin-token-for-browser-tests';
/** What the server is to send once it sets security headers (issue: CSP on the dashboard); the
 * tests add it to every page the server serves, so a violation shows as a console error now. */
export const CSP = "default-src 'self'; frame-ancestors 'none'";
const CHROMIUM = '/usr/bin/chromium';
const CHROME_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function iso(sec) { return new Date(Math.floor(sec) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'); }
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Fail extends Error {}
/** Thrown inside a test: prints "skip NAME: why" instead of ok/FAIL. */
export class Skip extends Error {}
export function check(cond, msg) { if (!cond) throw new Fail(msg); }
export function eq(got, want, msg) {
	const g = JSON.stringify(got), w = JSON.stringify(want);
	if (g !== w) throw new Fail(`${msg}: got ${g}, want ${w}`);
}

/** Poll fn until it returns a truthy value (returned) or time runs out (Fail with msg). The
 * timeout is generous on purpose: it bounds a hang, it is not a budget (a loaded 2-core machine
 * running a sanitizer build is slow, and slow is not wrong). */
export async function until(fn, msg, ms = 30000, every = 100) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		try { last = await fn(); if (last) return last; } catch (e) { last = e; }
		if (Date.now() > end) throw new Fail(`${msg} (after ${ms} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
		await sleep(every);
	}
}

/** collapsed text from {'appid;container;comm;f;..': count} with a gProfiler-style header */
export function makeProfile(stacks, hostname = 'x') {
	const lines = [`# ${JSON.stringify({ metadata: { hostname, agent_version: 'browser-test' }, metrics: {} })}`];
	for (const [s, c] of Object.entries(stacks)) lines.push(`${s} ${c}`);
	return lines.join('\n') + '\n';
}

class Server {
	constructor(tmp) {
		this.tmp = tmp;
		this.log = path.join(tmp, 'server.log');
	}

	async start() {
		const bin = path.join(BUILD, 'fleetprof-server');
		const env = { ...process.env };
		for (const k of Object.keys(env)) if (k.startsWith('FLEETPROF_')) delete env[k];
		env.ASAN_OPTIONS ??= 'detect_leaks=1:abort_on_error=0:halt_on_error=1';
		env.UBSAN_OPTIONS ??= 'print_stacktrace=1:halt_on_error=1';
		const out = fs.openSync(this.log, 'w');
		this.proc = spawn(bin, ['--port', '0', '--bind', '127.0.0.1', '--db', path.join(this.tmp, 'fleetprof.db'),
			'--schema', path.join(ROOT, 'schema'), '--web', path.join(ROOT, 'web'),
			'--agent-token', AGENT_TOKEN, '--admin-token', ADMIN_TOKEN],
		{ cwd: this.tmp, env, stdio: ['ignore', out, out] });
		fs.closeSync(out);
		this.exited = new Promise((r) => this.proc.on('exit', (code, sig) => r({ code, sig })));
		const m = await until(() => {
			if (this.proc.exitCode !== null) throw new Error(`server exited ${this.proc.exitCode}: ${this.output().slice(-1500)}`);
			return /listening on https?:\/\/([^\s:/]+|\[[^\]]+\]):(\d+)/.exec(this.output());
		}, 'server did not print "listening on"', 30000, 30).catch((e) => { throw new Fail(e.message); });
		const host = ['0.0.0.0', '::', '[::]'].includes(m[1]) ? '127.0.0.1' : m[1];
		this.url = `http://${host}:${m[2]}`;
		return this;
	}

	output() { try { return fs.readFileSync(this.log, 'utf8'); } catch { return ''; } }

	async stop() {
		if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return;
		this.proc.kill('SIGTERM');
		const t = setTimeout(() => this.proc.kill('SIGKILL'), 15000);
		await this.exited;
		clearTimeout(t);
	}

	sanitizerReports() {
		return this.output().split('\n').filter((l) => /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/.test(l));
	}

	async req(method, p, { body, token = ADMIN_TOKEN, headers = {}, raw } = {}) {
		const h = { ...headers };
		if (token) h.Authorization = `Bearer ${token}`;
		if (body !== undefined) h['Content-Type'] = 'application/json';
		const r = await fetch(this.url + p, { method, headers: h, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
		const text = await r.text();
		let json = null;
		try { json = JSON.parse(text); } catch { /* not JSON */ }
		return { status: r.status, text, json };
	}

	/** The fake agent's heartbeat: returns the answer's JSON (throws on a non-200). */
	async heartbeat(hostname, service, { received = [], executed = [], ip = '10.0.0.1', version = 'test-1.0' } = {}) {
		const r = await this.req('POST', '/api/metrics/heartbeat', { token: AGENT_TOKEN, body: {
			ip_address: ip, hostname, service_name: service, last_command_id: null, status: 'OK',
			timestamp: iso(Date.now() / 1000), received_command_ids: received, executed_command_ids: executed,
			agent_version: version } });
		if (r.status !== 200) throw new Fail(`heartbeat ${hostname}: HTTP ${r.status} ${r.text}`);
		return r.json;
	}

	async complete(commandId, hostname, status = 'completed', error = null) {
		const r = await this.req('POST', '/api/metrics/command_completion', { token: AGENT_TOKEN, body: {
			command_id: commandId, hostname, status, execution_time: 2.5, error_message: error, results_path: null } });
		if (r.status !== 200) throw new Fail(`completion ${commandId}: HTTP ${r.status} ${r.text}`);
		return r.json;
	}

	/** gzip JSON upload the way gProfiler's agent does it. start: seconds since the epoch. */
	async upload(service, hostname, text, start, { cpu = 12.5, mem = 40.25 } = {}) {
		const doc = { start_time: iso(start), end_time: iso(start + 60), hostname, profile: text,
			cpu_avg: cpu, mem_avg: mem, spawn_time: iso(start - 5), gpid: 0 };
		const raw = zlib.gzipSync(Buffer.from(JSON.stringify(doc)));
		const q = new URLSearchParams({ service, hostname, timestamp: iso(start), version: 'test-1.0' });
		const r = await this.req('POST', `/api/v2/profiles?${q}`, { token: null, raw, headers: {
			'GPROFILER-API-KEY': AGENT_TOKEN, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip',
			'GPROFILER-SERVICE-NAME': service } });
		if (r.status !== 200) throw new Fail(`upload ${service}/${hostname}: HTTP ${r.status} ${r.text}`);
		return r.json;
	}
}

function say(line) { process.stdout.write(line.replace(/\n/g, ' ') + '\n'); }

export class Suite {
	/** Start the server and the browser. Prints "skip NAME: why" and exits 0 when the server
	 * binary or the browser cannot be had. */
	static async open(name, { server = true } = {}) {
		const s = new Suite(name);
		s.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `fleetprof-browser-${name}-`));
		s.shots = path.join(BUILD, 'test-logs', 'screenshots');
		fs.mkdirSync(s.shots, { recursive: true });
		const cleanup = async (sig) => { await s.cleanup(); process.exit(sig === 'SIGINT' ? 130 : 143); };
		process.on('SIGINT', cleanup);
		process.on('SIGTERM', cleanup);
		const setup = spawnSync('sh', [path.join(ROOT, 'tests/browser/setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
		if (setup.status !== 0 || !fs.existsSync(CHROMIUM)) {
			say(`skip ${name}: browser setup failed: ${(setup.stderr || setup.stdout || '').trim().slice(-300)}`);
			await s.cleanup();
			process.exit(0);
		}
		if (server && !fs.existsSync(path.join(BUILD, 'fleetprof-server'))) {
			say(`skip ${name}: no server binary at ${path.join(BUILD, 'fleetprof-server')} (build it first)`);
			await s.cleanup();
			process.exit(0);
		}
		try {
			const { chromium } = await import('playwright-core');
			s.browser = await chromium.launchPersistentContext(path.join(s.tmp, 'profile'), {
				executablePath: CHROMIUM, args: CHROME_ARGS, viewport: { width: 1280, height: 800 },
				acceptDownloads: true, headless: true });
			s.page = s.browser.pages()[0] || await s.browser.newPage();
			s.watchConsole(s.page);
			if (server) {
				s.server = await new Server(s.tmp).start();
				await s.strictCsp(s.browser);
			}
		} catch (e) {
			say(`FAIL ${name}_setup: ${e.message}`);
			s.failed++;
			await s.close();
		}
		return s;
	}

	constructor(name) {
		this.name = name;
		this.passed = 0;
		this.failed = 0;
		this.consoleErrors = [];
		this.allowed = [];
	}

	/** Serve the server's pages with CSP, as the server will; report violations as errors. */
	async strictCsp(ctx) {
		const origin = new URL(this.server.url).origin;
		await ctx.route((u) => u.origin === origin && !u.pathname.startsWith('/api/'), async (route) => {
			if (route.request().resourceType() !== 'document') { await route.continue(); return; }
			const res = await route.fetch();
			await route.fulfill({ response: res, headers: { ...res.headers(), 'content-security-policy': CSP } });
		});
		await ctx.addInitScript(() => {
			document.addEventListener('securitypolicyviolation', (e) => {
				console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
			});
		});
	}

	/** A second tab of the same browser, signed in afresh (the token lives per tab), at url. */
	async signedInPage(url) {
		const p = await this.browser.newPage();
		this.watchConsole(p);
		await p.goto(url);
		await p.waitForSelector('#signin-form input[name=token]');
		await p.fill('input[name=token]', ADMIN_TOKEN);
		await p.click('#signin-form button[type=submit]');
		await p.waitForSelector('#nav:not([hidden])');
		return p;
	}

	watchConsole(page) {
		page.on('console', (m) => {
			if (m.type() !== 'error') return;
			const text = m.text();
			if (this.allowed.some((re) => re.test(text))) return;
			this.consoleErrors.push(text);
		});
		page.on('pageerror', (e) => this.consoleErrors.push(`uncaught: ${e.message}`));
	}

	/** Run fn with console errors matching re allowed (e.g. a 401 the test provokes). */
	async allowConsole(re, fn) {
		this.allowed.push(re);
		try { return await fn(); } finally { this.allowed.pop(); }
	}

	async test(name, fn) {
		this.consoleErrors = [];
		const t0 = Date.now();
		try {
			await fn({ page: this.page, server: this.server, suite: this });
			if (this.consoleErrors.length) throw new Fail(`console errors: ${this.consoleErrors.join(' | ').slice(0, 400)}`);
			say(`ok ${name}`);
			this.passed++;
		} catch (e) {
			if (e instanceof Skip) {
				say(`skip ${name}: ${e.message}`);
				await this.shot(name);
				return;
			}
			say(`FAIL ${name}: ${e instanceof Fail ? e.message : (e.stack || String(e)).split('\n').slice(0, 3).join(' ')}`);
			this.failed++;
		}
		await this.shot(name);
		if (process.env.VERBOSE) process.stderr.write(`  ${name}: ${Date.now() - t0} ms\n`);
	}

	async shot(name, page = this.page, opts = {}) {
		try { await page?.screenshot({ path: path.join(this.shots, `${this.name}-${name}.png`), ...opts }); } catch { /* closed */ }
	}

	async cleanup() {
		try { await this.browser?.close(); } catch { /* already gone */ }
		this.browser = null;
		if (this.server) {
			await this.server.stop();
			const rep = this.server.sanitizerReports();
			if (rep.length) { say(`FAIL ${this.name}_server_sanitizers: ${rep.slice(0, 3).join(' | ')}`); this.failed++; }
			if (this.failed && process.env.VERBOSE) process.stderr.write(this.server.output().slice(-3000));
			this.server = null;
		}
		if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
		this.tmp = null;
	}

	async close() {
		await this.cleanup();
		process.exit(this.failed ? 1 : 0);
	}
}

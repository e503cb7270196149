// api.js — the server's public API with the admin token kept for the browser session.

const KEY = 'fleetprof.token';

export class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

export function token() { return sessionStorage.getItem(KEY); }
export function setToken(t) { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); }

let onUnauthorized = () => {};
/** fn() is called when the server rejects the stored token (401/403). */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** Call path (with a query object whose empty values are dropped). Options: method, body (JSON),
 * text (answer as text), tok (a token to try instead of the stored one), signal (an
 * AbortSignal: a cancelled call throws ApiError with status -1). Throws ApiError. */
export async function api(path, { query, method = 'GET', body, text = false, tok, signal } = {}) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
	const url = q.size ? `${path}?${q}` : path;
	const headers = { Authorization: `Bearer ${tok ?? token() ?? ''}` };
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	let res;
	try {
		res = await fetch(url, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
	} catch (e) {
		if (e.name === 'AbortError') throw new ApiError(-1, 'cancelled');
		throw new ApiError(0, `cannot reach the server (${e.message})`);
	}
	let raw;
	try {
		raw = await res.text();
	} catch (e) {
		if (e.name === 'AbortError') throw new ApiError(-1, 'cancelled');
		throw new ApiError(0, `the server's answer broke off (${e.message})`);
	}
	if (!res.ok) {
		let msg = raw;
		try { msg = JSON.parse(raw).message || raw; } catch { /* not JSON */ }
		if ((res.status === 401 || res.status === 403) && tok === undefined) onUnauthorized();
		throw new ApiError(res.status, msg || `HTTP ${res.status}`);
	}
	if (text) return raw;
	try {
		return JSON.parse(raw);
	} catch {
		throw new ApiError(res.status, `the server answered something that is not JSON for ${path}`);
	}
}

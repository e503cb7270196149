// app.js — sign-in, navigation between views (hash routes, each carrying its view's state;
// see state.js), the time-zone switch, sign-out.

import { api, ApiError, setToken, token, setUnauthorizedHandler } from './api.js';
import { $, tzLocal, setTzLocal, TZ_EVENT } from './util.js';
import { changedSinceRoute, resetRoute, parseHash, rememberCurrent } from './state.js';
import { HostsView } from './hosts.js';
import { ProfilesView } from './profiles.js';
import { CompareView } from './compare.js';
import { CommandsView } from './commands.js';

const VIEWS = { hosts: HostsView, profiles: ProfilesView, compare: CompareView, commands: CommandsView };
const mounted = {};
// a read-only handle for the browser tests and for poking around in devtools
window.fleetprof = { views: mounted };
let current = null;

function showSignin(message = '') {
	for (const v of Object.values(mounted)) v.hide?.();
	current = null;
	document.querySelectorAll('.view').forEach((s) => { s.hidden = true; });
	$('#nav').hidden = true;
	$('#signout').hidden = true;
	$('#tz').hidden = true;
	resetRoute();
	$('#signin').hidden = false;
	const msg = $('#signin-msg');
	msg.textContent = message;
	msg.className = message ? 'msg error' : 'msg';
	$('#token').focus();
}

function route() {
	if (!token()) { showSignin(); return; }
	// a view's own go() changed the address: it is showing that state already
	if (!changedSinceRoute() && current) return;
	$('#signin').hidden = true;
	$('#nav').hidden = false;
	$('#signout').hidden = false;
	$('#tz').hidden = false;
	const { view, params } = parseHash();
	const name = VIEWS[view] ? view : 'hosts';
	if (current && current !== mounted[name]) current.hide?.();
	document.querySelectorAll('.view').forEach((s) => { s.hidden = s.id !== `view-${name}`; });
	document.querySelectorAll('#nav a').forEach((a) => {
		if (a.dataset.view === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
	});
	if (!mounted[name]) mounted[name] = new VIEWS[name]($(`#view-${name}`));
	current = mounted[name];
	rememberCurrent(name);
	current.show(params);
	document.title = `fleetprof · ${name}`;
}

function showTz() {
	const local = tzLocal();
	$('#tz').textContent = local ? 'Times: local' : 'Times: UTC';
	$('#tz').setAttribute('aria-pressed', String(local));
}

async function signIn(e) {
	e.preventDefault();
	const t = $('#token').value.trim();
	const msg = $('#signin-msg');
	msg.className = 'msg';
	msg.textContent = 'Checking…';
	try {
		await api('/api/v1/services', { tok: t });
	} catch (err) {
		const wrong = err instanceof ApiError && (err.status === 401 || err.status === 403);
		msg.className = 'msg error';
		msg.textContent = wrong ? 'Wrong token: the server refused it.' : `Cannot sign in: ${err.message}`;
		$('#token').select();
		return;
	}
	$('#token').value = '';
	setToken(t);
	msg.textContent = '';
	if (!/^#\/\w+/.test(location.hash)) history.replaceState(null, '', '#/hosts');
	route();
}

function signOut() {
	setToken(null);
	history.replaceState(null, '', location.pathname);
	showSignin('Signed out.');
}

setUnauthorizedHandler(() => { setToken(null); showSignin('The server no longer accepts this token; sign in again.'); });
$('#signin-form').addEventListener('submit', signIn);
$('#signout').addEventListener('click', signOut);
$('#tz').addEventListener('click', () => setTzLocal(!tzLocal()));
window.addEventListener(TZ_EVENT, () => { showTz(); current?.tzChanged?.(); });
// back and forward bring a state back with popstate; a typed or linked address with hashchange
window.addEventListener('popstate', route);
window.addEventListener('hashchange', route);
showTz();
route();

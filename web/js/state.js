// state.js — every view's state lives in the address, "#/<view>?<params>", so a reload or a
// shared link shows the same view and the browser's back and forward buttons step through it.
// A view calls go() when its state changes; app.js routes what back and forward bring back.

let routed = null;

/** "#/view?params" */
export function hashOf(view, params) {
	const q = new URLSearchParams(params).toString();
	return `#/${view}${q ? `?${q}` : ''}`;
}

/** The view's navigation link returns to its last state. */
function remember(view, hash) {
	document.querySelector(`#nav a[data-view="${view}"]`)?.setAttribute('href', hash);
}

/** Record a view's state in the address: a new history entry when push (a step the user may
 * want to go back from: a new query, a zoom, a filter), else in place (typing a search). */
export function go(view, params, { push = false } = {}) {
	const hash = hashOf(view, params);
	remember(view, hash);
	if (hash === location.hash) return;
	if (push) history.pushState(null, '', hash); else history.replaceState(null, '', hash);
	routed = hash;
}

/** For the router: true when the address changed since the last route (not by go()). */
export function changedSinceRoute() {
	if (routed === location.hash) return false;
	routed = location.hash;
	return true;
}

/** For the router: forget the last route (sign-in, sign-out). */
export function resetRoute() { routed = null; }

/** Route parts of the address: {view, params}. */
export function parseHash(hash = location.hash) {
	const m = /^#\/(\w+)(?:\?(.*))?$/.exec(hash);
	return { view: m ? m[1] : '', params: new URLSearchParams(m?.[2] || '') };
}

export function rememberCurrent(view) { remember(view, location.hash); }

// loading.js — a query in flight: a spinner, what is being loaded, the seconds it has taken so
// far, and a Cancel button (an AbortController the caller passes to its requests).

import { h } from './util.js';

export class Loading {
	constructor() {
		this.what = h('span');
		this.secs = h('span.elapsed');
		this.cancelBtn = h('button.ghost', { type: 'button', text: 'Cancel', on: { click: () => this.ctrl?.abort() } });
		this.el = h('div.loading', { role: 'status', 'aria-live': 'polite', hidden: true },
			h('span.spinner', { 'aria-hidden': 'true' }), this.what, this.secs, this.cancelBtn);
		this.timer = null;
		this.ctrl = null;
	}

	/** Show "what… N s" and return a new AbortSignal for the requests (a previous one is aborted). */
	start(what) {
		this.ctrl?.abort();
		this.ctrl = new AbortController();
		const t0 = Date.now();
		this.what.textContent = `${what}…`;
		const tick = () => { this.secs.textContent = `${Math.floor((Date.now() - t0) / 1000)} s`; };
		tick();
		clearInterval(this.timer);
		this.timer = setInterval(tick, 1000);
		this.el.hidden = false;
		return this.ctrl.signal;
	}

	/** Done with the load that got signal (a newer load keeps its spinner). */
	stop(signal) {
		if (signal && this.ctrl && this.ctrl.signal !== signal) return;
		clearInterval(this.timer);
		this.timer = null;
		this.ctrl = null;
		this.el.hidden = true;
	}
}

// gen.js — a synthetic profile shaped like a real service, for the dashboard benchmark: per
// process a fixed trunk (main, event loop, dispatch: 8 frames), then a request handler (300,
// skewed) and a walk through a call graph of 4,000 functions (2-7 callees each, skewed choice,
// 4-18 deep), sometimes a kernel tail (a syscall's fixed chain of 3-6 frames). Frame names are
// 30-50 characters with runtime suffixes. Deterministic; lines sorted like the server's output.

export function genStacks(n) {
	let seed = 12345;
	const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
	const suffix = ['_[p]', '_[p]', '_[p]', '_[p]', '_[p]', '', '', '', '_[j]', '_[j]'];
	const NF = 4000;
	const fname = (i) => `${['app', 'lib', 'core', 'net', 'db'][i % 5]}/module_${(i >> 3) % 97}.py:function_number_${i}${suffix[i % 10]}`;
	const kids = Array.from({ length: NF }, () => Array.from({ length: 2 + Math.floor(rnd() * 6) }, () => Math.floor(rnd() * NF)));
	const trunks = Array.from({ length: 20 }, (_, p) => Array.from({ length: 8 }, (_, d) => `process_${p}_framework_level_${d}::run_loop`));
	const sys = Array.from({ length: 24 }, (_, c) => Array.from({ length: 3 + (c % 4) }, (_, d) => `kernel_syscall_${c}_handler_depth_${d}_[k]`));
	const seen = new Map();
	while (seen.size < n) {
		const p = Math.floor(rnd() * rnd() * 20);
		const frames = [`proc-${p}`, ...trunks[p]];
		let f = Math.floor(rnd() * rnd() * 300);
		const depth = 4 + Math.floor(rnd() * 15);
		for (let d = 0; d < depth; d++) {
			frames.push(fname(f));
			const k = kids[f];
			f = k[Math.floor(rnd() * rnd() * k.length)];
		}
		if (rnd() < 0.3) frames.push(...sys[Math.floor(rnd() * 24)]);
		const key = frames.join(';');
		seen.set(key, (seen.get(key) || 0) + 1 + Math.floor(rnd() * 20));
	}
	return [...seen].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k} ${v}`).join('\n') + '\n';
}

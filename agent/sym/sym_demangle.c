/* sym_demangle.c — see sym_demangle.h. */
#include "sym_demangle.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* libstdc++'s __cxa_demangle, loaded on the first C++ name rather than linked: libstdc++ (with
 * the libm and libgcc_s it brings) is 1.3 MB of resident pages that an idle heartbeat agent, or
 * one profiling only C and Python, never needs. Once loaded it stays. */
typedef char *(*cxa_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);
static cxa_demangle_fn cxa_demangle;
static pthread_once_t cxa_once = PTHREAD_ONCE_INIT;

static void cxa_load(void)
{
	void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (h)
		cxa_demangle = (cxa_demangle_fn)dlsym(h, "__cxa_demangle");
	if (!cxa_demangle)
		log_info("symbolizer: cannot load __cxa_demangle from libstdc++.so.6 (%s): C++ "
			 "names stay mangled", h ? "symbol missing" : dlerror());
}

static void copy_out(const char *s, size_t len, char *out, size_t n)
{
	if (n == 0)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Appends to out at *pos (bounded by n-1). */
static void put(char *out, size_t n, size_t *pos, const char *s, size_t len)
{
	while (len-- > 0 && *pos + 1 < n)
		out[(*pos)++] = *s++;
}

/* Decode one legacy Rust path element (already split by length) into out. */
static void rust_ident(const char *s, size_t len, char *out, size_t n, size_t *pos)
{
	static const struct { const char *code, *text; } esc[] = {
		{ "$SP$", "@" }, { "$BP$", "*" }, { "$RF$", "&" }, { "$LT$", "<" }, { "$GT$", ">" },
		{ "$LP$", "(" }, { "$RP$", ")" }, { "$C$", "," },
	};
	size_t i = 0;
	/* A leading "_$" is an escape of an element starting with '$'. */
	if (len >= 2 && s[0] == '_' && s[1] == '$')
		i = 1;
	while (i < len) {
		if (s[i] == '.' && i + 1 < len && s[i + 1] == '.') {
			put(out, n, pos, "::", 2);
			i += 2;
			continue;
		}
		if (s[i] == '$') {
			bool done = false;
			for (size_t k = 0; k < ARRAY_SIZE(esc); k++) {
				size_t el = strlen(esc[k].code);
				if (i + el <= len && memcmp(s + i, esc[k].code, el) == 0) {
					put(out, n, pos, esc[k].text, strlen(esc[k].text));
					i += el;
					done = true;
					break;
				}
			}
			if (done)
				continue;
			/* $uXX$: a unicode scalar in hex; we keep ASCII ones, '?' otherwise. */
			if (i + 2 < len && s[i + 1] == 'u') {
				size_t j = i + 2;
				unsigned long v = 0;
				while (j < len && is_hex(s[j]) && j - i < 10) {
					v = v * 16 + (unsigned long)(s[j] <= '9' ? s[j] - '0' : s[j] - 'a' + 10);
					j++;
				}
				if (j < len && s[j] == '$' && j > i + 2) {
					char c = (v >= 0x20 && v < 0x7f) ? (char)v : '?';
					put(out, n, pos, &c, 1);
					i = j + 1;
					continue;
				}
			}
		}
		put(out, n, pos, s + i, 1);
		i++;
	}
}

/* Legacy Rust: _ZN <len><ident>... 17h<16 hex> E. Returns true and fills out when name has
 * that exact shape. */
static bool rust_legacy(const char *name, char *out, size_t n)
{
	const char *p = name + 3; /* after "_ZN" */
	const char *end = name + strlen(name);
	const char *elems[256];
	size_t lens[256], count = 0;

	/* Some toolchains append ".llvm.NNN" or similar; ignore anything after the final 'E'. */
	while (p < end && *p != 'E') {
		size_t len = 0;
		if (*p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9') {
			len = len * 10 + (size_t)(*p - '0');
			if (len > 4096)
				return false;
			p++;
		}
		if (len == 0 || (size_t)(end - p) < len || count == 256)
			return false;
		elems[count] = p;
		lens[count] = len;
		count++;
		p += len;
	}
	if (p >= end || count < 2)
		return false;
	/* Last element must be the hash: h + 16 hex digits. */
	const char *h = elems[count - 1];
	if (lens[count - 1] != 17 || h[0] != 'h')
		return false;
	for (int i = 1; i < 17; i++)
		if (!is_hex(h[i]))
			return false;
	if (n == 0)
		return true;
	size_t pos = 0;
	for (size_t i = 0; i + 1 < count; i++) {
		if (i > 0)
			put(out, n, &pos, "::", 2);
		rust_ident(elems[i], lens[i], out, n, &pos);
	}
	out[pos] = '\0';
	return true;
}

/* ---- Rust v0 (_R...), best effort: plain paths of crate roots and nested names (N...), which
 * is what most functions and closures are. Anything else (impl paths, generics, backrefs,
 * punycode) leaves the name mangled. */

struct v0 {
	const char *p, *end;
	char *out;
	size_t n, pos;
};

static bool v0_base62(struct v0 *v)
{
	/* "_" alone is 0; else base-62 digits then "_". We only skip it. */
	while (v->p < v->end && *v->p != '_') {
		char c = *v->p;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
		v->p++;
	}
	if (v->p >= v->end)
		return false;
	v->p++;
	return true;
}

/* [s<disambiguator>] <len> [_] <bytes>; sets id and len (len 0 allowed: closures). */
static bool v0_ident(struct v0 *v, const char **id, size_t *len)
{
	if (v->p < v->end && *v->p == 's') {
		v->p++;
		if (!v0_base62(v))
			return false;
	}
	if (v->p < v->end && *v->p == 'u')
		return false; /* punycode */
	size_t l = 0;
	if (v->p >= v->end || *v->p < '0' || *v->p > '9')
		return false;
	while (v->p < v->end && *v->p >= '0' && *v->p <= '9') {
		l = l * 10 + (size_t)(*v->p - '0');
		if (l > 4096)
			return false;
		v->p++;
	}
	if (v->p < v->end && *v->p == '_')
		v->p++;
	if ((size_t)(v->end - v->p) < l)
		return false;
	*id = v->p;
	*len = l;
	v->p += l;
	return true;
}

static bool v0_path(struct v0 *v, int depth)
{
	const char *id;
	size_t len;
	if (depth > 64 || v->p >= v->end)
		return false;
	char tag = *v->p++;
	if (tag == 'C') {
		if (!v0_ident(v, &id, &len))
			return false;
		put(v->out, v->n, &v->pos, id, len);
		return true;
	}
	if (tag != 'N' || v->p >= v->end)
		return false;
	char ns = *v->p++;
	if (!v0_path(v, depth + 1) || !v0_ident(v, &id, &len))
		return false;
	put(v->out, v->n, &v->pos, "::", 2);
	if (ns == 'C') {
		put(v->out, v->n, &v->pos, "{closure", 8);
		if (len) {
			put(v->out, v->n, &v->pos, ":", 1);
			put(v->out, v->n, &v->pos, id, len);
		}
		put(v->out, v->n, &v->pos, "}", 1);
	} else if (ns == 'S') {
		put(v->out, v->n, &v->pos, "{shim}", 6);
	} else {
		put(v->out, v->n, &v->pos, id, len);
	}
	return true;
}

static bool rust_v0(const char *name, char *out, size_t n)
{
	struct v0 v = { name + 2, name + strlen(name), out, n, 0 };
	const char *dot = strchr(v.p, '.'); /* ".llvm.1234" and similar suffixes */
	if (dot)
		v.end = dot;
	if (v.p < v.end && *v.p >= '0' && *v.p <= '9')
		return false; /* an encoding version we do not know */
	if (!v0_path(&v, 0))
		return false;
	/* What may follow is the instantiating crate (a path or a backref to one). */
	if (v.p < v.end && *v.p != 'C' && *v.p != 'N' && *v.p != 'B')
		return false;
	out[v.pos] = '\0';
	return true;
}

int sym_demangle(const char *name, char *out, size_t n)
{
	if (n == 0)
		return 0;
	if (strncmp(name, "_ZN", 3) == 0 && rust_legacy(name, out, n))
		return 1;
	if (strncmp(name, "_R", 2) == 0 && rust_v0(name, out, n))
		return 1;
	if (strncmp(name, "_Z", 2) == 0) {
		int status = 0;
		char *d;
		pthread_once(&cxa_once, cxa_load);
		d = cxa_demangle ? cxa_demangle(name, NULL, NULL, &status) : NULL;
		if (d && status == 0) {
			copy_out(d, strlen(d), out, n);
			free(d);
			return 1;
		}
		free(d);
	}
	copy_out(name, strlen(name), out, n);
	return 0;
}

/* sym_demangle.h — C++ (Itanium, via libstdc++'s __cxa_demangle, loaded with dlopen on the
 * first C++ name) and Rust symbol demangling.
 *
 * Rust legacy names (_ZN...17h<16 hex>E) are decoded by our own code ($LT$ and friends, ".."
 * -> "::") and the trailing ::h<hash> is dropped. Rust v0 (_R...): plain paths (crate::mod::fn,
 * closures as {closure}) are decoded; impl paths, generic arguments, backrefs and punycode are
 * left mangled.
 */
#ifndef FP_SYM_DEMANGLE_H
#define FP_SYM_DEMANGLE_H

#include <stddef.h>

/* Writes the readable form of name into out (size n, NUL-terminated, truncated if needed).
 * A name that is not mangled (or cannot be demangled) is copied unchanged. Returns 1 when it
 * demangled, 0 when it copied. Never fails: out always holds a string when n > 0. */
int sym_demangle(const char *name, char *out, size_t n);

#endif

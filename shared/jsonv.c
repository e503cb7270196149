/* jsonv.c — validating field access on jansson objects (see jsonv.h). */
#include "jsonv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(struct jv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct jv_err *err, const char *fmt, ...)
{
	va_list ap;
	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Look key up. 0 with *v set, 1 when absent/null and optional, -EINVAL otherwise. */
static int lookup(json_t *obj, const char *key, bool required, json_t **v, struct jv_err *err)
{
	if (!json_is_object(obj))
		return fail(err, "expected a JSON object holding field '%s'", key ? key : "");
	if (!key)
		return fail(err, "no field name given");
	*v = json_object_get(obj, key);
	if (!*v || json_is_null(*v)) {
		if (required)
			return fail(err, "field '%s' is required", key);
		return 1;
	}
	return 0;
}

int jv_string(json_t *obj, const char *key, bool required, size_t max_len, const char **out,
	      struct jv_err *err)
{
	json_t *v = NULL;
	int rc = lookup(obj, key, required, &v, err);
	if (rc)
		return rc;
	if (!json_is_string(v))
		return fail(err, "field '%s' must be a string", key);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n)
		return fail(err, "field '%s' must not contain NUL characters", key);
	if (max_len && n > max_len)
		return fail(err, "field '%s' must be at most %zu bytes long", key, max_len);
	*out = s;
	return 0;
}

static int int_fail(struct jv_err *err, const char *key, int64_t min, int64_t max)
{
	if (min == INT64_MIN && max == INT64_MAX)
		return fail(err, "field '%s' must be an integer", key);
	if (max == INT64_MAX)
		return fail(err, "field '%s' must be an integer of at least %lld", key,
			    (long long)min);
	if (min == INT64_MIN)
		return fail(err, "field '%s' must be an integer of at most %lld", key,
			    (long long)max);
	return fail(err, "field '%s' must be an integer between %lld and %lld", key,
		    (long long)min, (long long)max);
}

int jv_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
	   struct jv_err *err)
{
	json_t *v = NULL;
	int64_t x;
	int rc = lookup(obj, key, required, &v, err);
	if (rc)
		return rc;
	if (json_is_integer(v)) {
		x = (int64_t)json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		/* -2^63 is exact as a double; 2^63 is not representable in int64 */
		if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 ||
		    d >= 9223372036854775808.0)
			return int_fail(err, key, min, max);
		x = (int64_t)d;
	} else {
		return int_fail(err, key, min, max);
	}
	if (x < min || x > max)
		return int_fail(err, key, min, max);
	*out = x;
	return 0;
}

int jv_number(json_t *obj, const char *key, bool required, double *out, struct jv_err *err)
{
	json_t *v = NULL;
	int rc = lookup(obj, key, required, &v, err);
	if (rc)
		return rc;
	if (!json_is_number(v))
		return fail(err, "field '%s' must be a number", key);
	double d = json_number_value(v);
	if (!isfinite(d))
		return fail(err, "field '%s' must be a finite number", key);
	*out = d;
	return 0;
}

int jv_bool(json_t *obj, const char *key, bool required, bool *out, struct jv_err *err)
{
	json_t *v = NULL;
	int rc = lookup(obj, key, required, &v, err);
	if (rc)
		return rc;
	if (!json_is_boolean(v))
		return fail(err, "field '%s' must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

int jv_enum(json_t *obj, const char *key, bool required, const char *const *values, int *out,
	    struct jv_err *err)
{
	json_t *v = NULL;
	char list[120];
	size_t used = 0;
	int rc = lookup(obj, key, required, &v, err);
	if (rc)
		return rc;
	if (json_is_string(v) && values) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		for (int i = 0; values[i]; i++) {
			if (strlen(values[i]) == n && memcmp(values[i], s, n) == 0) {
				*out = i;
				return 0;
			}
		}
	}
	list[0] = '\0';
	for (int i = 0; values && values[i]; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", values[i]);
		if (w < 0 || (size_t)w >= sizeof(list) - used) {
			list[used] = '\0'; /* keep whole names only */
			break;
		}
		used += (size_t)w;
	}
	return fail(err, "field '%s' must be one of: %s", key, list);
}

int jv_array(json_t *obj, const char *key, bool required, size_t max_items, json_t **out,
	     struct jv_err *err)
{
	json_t *v = NULL;
	int rc = lookup(obj, key, required, &v, err);
	if (rc)
		return rc;
	if (!json_is_array(v))
		return fail(err, "field '%s' must be an array", key);
	if (json_array_size(v) > max_items)
		return fail(err, "field '%s' must have at most %zu items", key, max_items);
	*out = v;
	return 0;
}

int jv_object(json_t *obj, const char *key, bool required, json_t **out, struct jv_err *err)
{
	json_t *v = NULL;
	int rc = lookup(obj, key, required, &v, err);
	if (rc)
		return rc;
	if (!json_is_object(v))
		return fail(err, "field '%s' must be an object", key);
	*out = v;
	return 0;
}

json_t *jv_parse_object(const char *text, size_t len, struct jv_err *err)
{
	json_error_t jerr;
	json_t *root;

	if (!text) {
		fail(err, "empty JSON body");
		errno = EINVAL;
		return NULL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		fail(err, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
		     jerr.text);
		errno = EINVAL;
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fail(err, "JSON body must be an object");
		errno = EINVAL;
		return NULL;
	}
	return root;
}

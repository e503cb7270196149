/* jsonv.h — validating field access on jansson objects, with messages that name the field.
 *
 * Each getter returns 0 (value stored in *out), 1 (field absent or JSON null and not required;
 * *out untouched), or -EINVAL with err->msg like "field 'duration' must be an integer".
 * Borrowed references only: nothing here takes or gives ownership of a json_t.
 */
#ifndef FP_JSONV_H
#define FP_JSONV_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct jv_err {
	char msg[200];
};

/* *out borrows the string inside obj (valid while obj lives). max_len is in bytes; 0 means no
 * limit. Strings with embedded NUL characters are refused. */
int jv_string(json_t *obj, const char *key, bool required, size_t max_len, const char **out,
	      struct jv_err *err);
/* Integers; a JSON real with an integral value is accepted. Range-checked [min, max]. */
int jv_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
	   struct jv_err *err);
/* Numbers (integer or real). */
int jv_number(json_t *obj, const char *key, bool required, double *out, struct jv_err *err);
int jv_bool(json_t *obj, const char *key, bool required, bool *out, struct jv_err *err);
/* A string that must be one of values[] (NULL-terminated); *out is its index. */
int jv_enum(json_t *obj, const char *key, bool required, const char *const *values, int *out,
	    struct jv_err *err);
/* An array (borrowed) of at most max_items elements. */
int jv_array(json_t *obj, const char *key, bool required, size_t max_items, json_t **out,
	     struct jv_err *err);
/* An object (borrowed). */
int jv_object(json_t *obj, const char *key, bool required, json_t **out, struct jv_err *err);

/* Parse a JSON text that must be an object. Duplicate keys are refused. NULL with errno=EINVAL
 * and err filled ("invalid JSON at line L, column C: ..." or "JSON body must be an object").
 * The caller owns the result (json_decref). */
json_t *jv_parse_object(const char *text, size_t len, struct jv_err *err);

#endif

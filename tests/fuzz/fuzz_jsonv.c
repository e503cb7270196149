/* fuzz_jsonv.c — libFuzzer target for jv_parse_object and every getter, on every key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const struct jv_err *err)
{
	if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL)
		abort();
}

static void probe(json_t *o, const char *key)
{
	static const char *const values[] = { "start", "stop", "", NULL };
	struct jv_err err;
	const char *s;
	int64_t i;
	double d;
	bool b;
	int e;
	json_t *v;

	for (int req = 0; req < 2; req++) {
		memset(err.msg, 'x', sizeof(err.msg));
		if (jv_string(o, key, req, 64, &s, &err) < 0)
			check_msg(&err);
		else if (jv_string(o, key, req, 64, &s, &err) == 0 && strlen(s) > 64)
			abort();
		if (jv_int(o, key, req, -1000, 1000, &i, &err) < 0)
			check_msg(&err);
		else if (jv_int(o, key, req, -1000, 1000, &i, &err) == 0 && (i < -1000 || i > 1000))
			abort();
		if (jv_int(o, key, req, INT64_MIN, INT64_MAX, &i, &err) < 0)
			check_msg(&err);
		if (jv_number(o, key, req, &d, &err) < 0)
			check_msg(&err);
		if (jv_bool(o, key, req, &b, &err) < 0)
			check_msg(&err);
		if (jv_enum(o, key, req, values, &e, &err) < 0)
			check_msg(&err);
		else if (jv_enum(o, key, req, values, &e, &err) == 0 && (e < 0 || e > 2))
			abort();
		if (jv_array(o, key, req, 4, &v, &err) < 0)
			check_msg(&err);
		if (jv_object(o, key, req, &v, &err) < 0)
			check_msg(&err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jv_err err;
	const char *key;
	json_t *v;

	memset(err.msg, 'x', sizeof(err.msg));
	json_t *o = jv_parse_object((const char *)data, size, &err);
	if (!o) {
		check_msg(&err);
		return 0;
	}
	if (!json_is_object(o))
		abort();
	json_object_foreach(o, key, v) {
		probe(o, key);
		if (json_is_object(v))
			probe(v, "duration");
	}
	probe(o, "missing-key");
	json_decref(o);
	return 0;
}

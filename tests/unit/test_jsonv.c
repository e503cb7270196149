/* test_jsonv.c — validating getters and jv_parse_object, with the exact messages clients see. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "jsonv.h"
#include "t.h"

static const char doc[] =
	"{\"service_name\":\"web\",\"duration\":60,\"frequency\":11,\"ratio\":0.25,\"real_int\":30.0,"
	"\"half\":2.5,\"big\":1e300,\"neg\":-5,\"continuous\":true,\"off\":false,\"nul\":null,"
	"\"request_type\":\"stop\",\"pids\":[1,2,3],\"target_hosts\":{\"h1\":null},"
	"\"num_str\":\"12\",\"long\":\"abcdefghij\",\"huge\":9223372036854775807,"
	"\"bool_str\":\"true\",\"empty\":\"\"}";

static json_t *load(void)
{
	struct jv_err err;
	return jv_parse_object(doc, strlen(doc), &err);
}

T_TEST(jv_string_cases)
{
	json_t *o = load();
	struct jv_err err;
	const char *s = "untouched";
	T_CHECK(o != NULL);
	T_CHECK(jv_string(o, "service_name", true, 64, &s, &err) == 0 && strcmp(s, "web") == 0);
	T_CHECK(jv_string(o, "empty", true, 64, &s, &err) == 0 && strcmp(s, "") == 0);
	s = "untouched";
	T_CHECK(jv_string(o, "missing", false, 64, &s, &err) == 1 && strcmp(s, "untouched") == 0);
	T_CHECK(jv_string(o, "nul", false, 64, &s, &err) == 1);
	T_CHECK(jv_string(o, "missing", true, 64, &s, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'missing' is required") == 0, "%s", err.msg);
	T_CHECK(jv_string(o, "nul", true, 64, &s, &err) == -EINVAL);
	T_CHECK(strcmp(err.msg, "field 'nul' is required") == 0);
	T_CHECK(jv_string(o, "duration", true, 64, &s, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'duration' must be a string") == 0, "%s", err.msg);
	T_CHECK(jv_string(o, "long", true, 10, &s, &err) == 0);
	T_CHECK(jv_string(o, "long", true, 9, &s, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'long' must be at most 9 bytes long") == 0, "%s", err.msg);
	T_CHECK(jv_string(o, "long", true, 0, &s, &err) == 0); /* 0: no limit */
	json_decref(o);

	/* embedded NUL (only possible when built by code, not from parsed text) */
	o = json_object();
	json_object_set_new(o, "x", json_stringn("a\0b", 3));
	T_CHECK(jv_string(o, "x", true, 10, &s, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "NUL") != NULL, "%s", err.msg);
	json_decref(o);
}

T_TEST(jv_int_cases)
{
	json_t *o = load();
	struct jv_err err;
	int64_t v = -99;
	T_CHECK(jv_int(o, "duration", true, 1, 86400, &v, &err) == 0 && v == 60);
	T_CHECK(jv_int(o, "real_int", true, 1, 100, &v, &err) == 0 && v == 30);
	T_CHECK(jv_int(o, "neg", true, INT64_MIN, INT64_MAX, &v, &err) == 0 && v == -5);
	T_CHECK(jv_int(o, "huge", true, INT64_MIN, INT64_MAX, &v, &err) == 0 && v == INT64_MAX);
	v = -99;
	T_CHECK(jv_int(o, "missing", false, 1, 2, &v, &err) == 1 && v == -99);
	T_CHECK(jv_int(o, "frequency", true, 1, 10, &v, &err) == -EINVAL && v == -99);
	T_CHECKF(strcmp(err.msg, "field 'frequency' must be an integer between 1 and 10") == 0, "%s",
		 err.msg);
	T_CHECK(jv_int(o, "half", true, 1, 1000, &v, &err) == -EINVAL);
	T_CHECK(strcmp(err.msg, "field 'half' must be an integer between 1 and 1000") == 0);
	T_CHECK(jv_int(o, "num_str", true, 1, 1000, &v, &err) == -EINVAL); /* no string coercion */
	T_CHECK(jv_int(o, "continuous", true, 0, 1, &v, &err) == -EINVAL); /* no bool coercion */
	T_CHECK(jv_int(o, "big", true, INT64_MIN, INT64_MAX, &v, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'big' must be an integer") == 0, "%s", err.msg);
	T_CHECK(jv_int(o, "neg", true, 0, INT64_MAX, &v, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'neg' must be an integer of at least 0") == 0, "%s", err.msg);
	T_CHECK(jv_int(o, "duration", true, INT64_MIN, 10, &v, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'duration' must be an integer of at most 10") == 0, "%s",
		 err.msg);
	T_CHECK(jv_int(o, "duration", true, 60, 60, &v, &err) == 0); /* inclusive bounds */
	json_decref(o);

	/* reals at the int64 edges */
	o = json_object();
	json_object_set_new(o, "a", json_real(9223372036854775808.0));
	json_object_set_new(o, "b", json_real(-9223372036854775808.0));
	T_CHECK(jv_int(o, "a", true, INT64_MIN, INT64_MAX, &v, &err) == -EINVAL);
	T_CHECK(jv_int(o, "b", true, INT64_MIN, INT64_MAX, &v, &err) == 0 && v == INT64_MIN);
	json_decref(o);
}

T_TEST(jv_number_bool_cases)
{
	json_t *o = load();
	struct jv_err err;
	double d = -1;
	bool b = false;
	T_CHECK(jv_number(o, "ratio", true, &d, &err) == 0 && d == 0.25);
	T_CHECK(jv_number(o, "duration", true, &d, &err) == 0 && d == 60.0);
	T_CHECK(jv_number(o, "big", true, &d, &err) == 0 && d == 1e300);
	T_CHECK(jv_number(o, "missing", false, &d, &err) == 1 && d == 1e300);
	T_CHECK(jv_number(o, "num_str", true, &d, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'num_str' must be a number") == 0, "%s", err.msg);
	T_CHECK(jv_bool(o, "continuous", true, &b, &err) == 0 && b == true);
	T_CHECK(jv_bool(o, "off", true, &b, &err) == 0 && b == false);
	T_CHECK(jv_bool(o, "missing", false, &b, &err) == 1);
	T_CHECK(jv_bool(o, "bool_str", true, &b, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'bool_str' must be true or false") == 0, "%s", err.msg);
	T_CHECK(jv_bool(o, "duration", true, &b, &err) == -EINVAL);
	json_decref(o);
}

T_TEST(jv_enum_cases)
{
	static const char *const types[] = { "start", "stop", NULL };
	static const char *const many[] = { "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb",
					    "cccccccccccccccccccc", "dddddddddddddddddddd",
					    "eeeeeeeeeeeeeeeeeeee", "ffffffffffffffffffff",
					    "gggggggggggggggggggg", NULL };
	json_t *o = load();
	struct jv_err err;
	int idx = -1;
	T_CHECK(jv_enum(o, "request_type", true, types, &idx, &err) == 0 && idx == 1);
	idx = -1;
	T_CHECK(jv_enum(o, "missing", false, types, &idx, &err) == 1 && idx == -1);
	T_CHECK(jv_enum(o, "service_name", true, types, &idx, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'service_name' must be one of: start, stop") == 0, "%s",
		 err.msg);
	T_CHECK(jv_enum(o, "duration", true, types, &idx, &err) == -EINVAL);
	T_CHECK(strcmp(err.msg, "field 'duration' must be one of: start, stop") == 0);
	/* a long list is cut at a whole name, message stays bounded */
	T_CHECK(jv_enum(o, "service_name", true, many, &idx, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "aaaaaaaaaaaaaaaaaaaa, bbbb") != NULL, "%s", err.msg);
	T_CHECK(strstr(err.msg, "gggg") == NULL);
	T_CHECK(strlen(err.msg) < sizeof(err.msg));
	json_decref(o);
}

T_TEST(jv_array_object_cases)
{
	json_t *o = load();
	struct jv_err err;
	json_t *v = NULL;
	T_CHECK(jv_array(o, "pids", true, 3, &v, &err) == 0 && json_array_size(v) == 3);
	T_CHECK(v->refcount == 1); /* borrowed: no reference taken */
	T_CHECK(jv_array(o, "pids", true, 2, &v, &err) == -EINVAL);
	T_CHECKF(strcmp(err.msg, "field 'pids' must have at most 2 items") == 0, "%s", err.msg);
	T_CHECK(jv_array(o, "target_hosts", true, 10, &v, &err) == -EINVAL);
	T_CHECK(strcmp(err.msg, "field 'target_hosts' must be an array") == 0);
	v = NULL;
	T_CHECK(jv_object(o, "target_hosts", true, &v, &err) == 0 && json_is_object(v));
	T_CHECK(jv_object(o, "pids", true, &v, &err) == -EINVAL);
	T_CHECK(strcmp(err.msg, "field 'pids' must be an object") == 0);
	T_CHECK(jv_object(o, "nul", false, &v, &err) == 1);
	T_CHECK(jv_object(o, "nul", true, &v, &err) == -EINVAL);
	json_decref(o);
}

T_TEST(jv_not_an_object)
{
	struct jv_err err;
	const char *s;
	json_t *arr = json_array();
	T_CHECK(jv_string(arr, "x", false, 10, &s, &err) == -EINVAL);
	T_CHECK(jv_string(NULL, "x", false, 10, &s, &err) == -EINVAL);
	T_CHECK(jv_string(arr, "x", false, 10, &s, NULL) == -EINVAL); /* err may be NULL */
	json_decref(arr);
}

T_TEST(jv_parse_object_cases)
{
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "", "invalid JSON at line 1, column 0" },
		{ "[1,2]", "JSON body must be an object" },
		{ "\"str\"", "JSON body must be an object" },
		{ "{\"a\":1,}", "invalid JSON at line 1, column 8" },
		{ "{\n  \"a\": 1,\n  \"b\": tru\n}", "invalid JSON at line 3, column" },
		{ "{\"a\":1,\"a\":2}", "invalid JSON at line 1" },      /* duplicate keys */
		{ "{\"a\":1} {\"b\":2}", "invalid JSON at line 1" },    /* trailing data */
		{ "{\"a\":\"\\u0000\"}", "invalid JSON" },             /* NUL inside a string */
	};
	struct jv_err err;
	json_t *o;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		o = jv_parse_object(bad[i].in, strlen(bad[i].in), &err);
		T_CHECKF(o == NULL && errno == EINVAL, "'%s' accepted", bad[i].in);
		json_decref(o);
		T_CHECKF(strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) == 0, "'%s': %s",
			 bad[i].in, err.msg);
	}
	o = jv_parse_object(NULL, 0, &err);
	T_CHECK(o == NULL);
	/* length is honoured: no NUL terminator needed, text after len ignored */
	o = jv_parse_object("{\"a\":1}garbage", 7, &err);
	T_CHECK(o && json_integer_value(json_object_get(o, "a")) == 1);
	json_decref(o);
	/* deep nesting is refused, not a stack overflow */
	char deep[20001];
	for (int i = 0; i < 10000; i++) {
		deep[i] = '[';
		deep[10000 + i] = ']';
	}
	deep[0] = '{';
	deep[20000] = '\0';
	o = jv_parse_object(deep, 20000, &err);
	T_CHECK(o == NULL);
}

int main(void)
{
	T_RUN(jv_string_cases);
	T_RUN(jv_int_cases);
	T_RUN(jv_number_bool_cases);
	T_RUN(jv_enum_cases);
	T_RUN(jv_array_object_cases);
	T_RUN(jv_not_an_object);
	T_RUN(jv_parse_object_cases);
	return t_done();
}

/* runtime.c — running the registered members for one session; see runtime.h. */
#include "runtime.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void runtime_set_start(struct runtime_set *set, const struct runtime_config *cfg,
		       const struct runtime_flags *flags)
{
	static const char *const none[RUNTIME_FLAGS_MAX];

	memset(set, 0, sizeof(*set));
	for (size_t i = 0; i < RUNTIME_MAX && runtime_members[i]; i++) {
		const struct runtime_ops *ops = runtime_members[i];
		struct runtime_config c = *cfg;
		void *rt;

		c.flags = flags ? flags->v[i] : none;
		errno = 0;
		rt = ops->start(&c);
		if (!rt) {
			if (errno)
				log_warn("%s profiling cannot start (%s); its processes get native "
					 "stacks only", ops->name, strerror(errno));
			continue;
		}
		set->m[set->n].ops = ops;
		set->m[set->n].rt = rt;
		set->n++;
	}
}

bool runtime_set_owns_thread(void *vset, uint32_t tgid, uint32_t tid)
{
	const struct runtime_set *set = vset;
	for (size_t i = 0; i < set->n; i++)
		if (set->m[i].ops->owns_thread &&
		    set->m[i].ops->owns_thread(set->m[i].rt, tgid, tid))
			return true;
	return false;
}

int runtime_set_drain(struct runtime_set *set, runtime_stack_fn fn, void *ctx, char *err,
		      size_t errlen)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct runtime_ops *ops = set->m[i].ops;
		struct runtime_stats st = { 0 };
		int rc = ops->drain(set->m[i].rt, fn, ctx);
		if (rc) {
			snprintf(err, errlen, "draining %s stacks: %s", ops->name, strerror(-rc));
			return rc;
		}
		ops->get_stats(set->m[i].rt, &st);
		log_info("%s: %zu processes profiled, %llu stacks so far, %llu dropped (table full)",
			 ops->name, st.profiled, (unsigned long long)st.samples,
			 (unsigned long long)st.dropped);
	}
	return 0;
}

void runtime_set_stop(struct runtime_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		set->m[i].ops->stop(set->m[i].rt);
	memset(set, 0, sizeof(*set));
}

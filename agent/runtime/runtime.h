/* runtime.h — the runtime interface: what the profiler knows of a language runtime (Python;
 * later Java, Node, Ruby).
 *
 * A member lives in agent/runtime/<name>/ and is added to the registry with one line in
 * registry.c; nothing else in the agent names it. For each profiling session the profiler starts
 * every registered member; a member finds the processes of its runtime (all of them, or the
 * --pids ones), attaches to those it can read, gathers named stacks for their threads, and, at
 * each snapshot, hands them over (drain) and says which threads it owns (owns_thread), whose
 * native samples are then dropped so nothing is counted twice. stop detaches from every process
 * and leaves it as it was found.
 *
 * Named processes (--pids) get their runtime's profiler at once; min_age_s guards system-wide
 * discovery only. A member logs every process it skips (too young, beyond its limits, an
 * unsupported version, a library that is not an interpreter) at INFO, with the reason, once per
 * process.
 *
 * Command line: a member declares its flags (runtime_flag: long names, which the config file and
 * FLEETPROF_<NAME> environment variables accept too) and its --help section. options.c keeps
 * each member's values as the strings given, uninterpreted, in the member's row of a struct
 * runtime_flags (indexed by the flag's slot); the member checks a value when it is parsed
 * (check_flag: a bad one ends the agent with usage status 2) and reads its row at start.
 * Flags every runtime shares (--min-profiling-duration, --max-processes-runtime-profiler) are
 * options.c's own, handed over in runtime_config.
 *
 * Threads: start, stop and drain are called from the profiler's thread; owns_thread from the
 * drain of the native samples, in that same thread. A member may run threads of its own; it
 * must then lock what drain, owns_thread and get_stats read.
 */
#ifndef FP_RUNTIME_H
#define FP_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RUNTIME_MAX        8     /* registered members */
#define RUNTIME_FLAGS_MAX  8     /* value slots per member (flag aliases share one) */

/* Every member's flag values as given on the command line, in the config file or the
 * environment: v[member][slot], member as in runtime_members, NULL = not given. Filled by
 * options.c, which does not interpret them. */
struct runtime_flags {
	const char *v[RUNTIME_MAX][RUNTIME_FLAGS_MAX];
};

/* What every member gets for one profiling session. Borrowed for the call to start; a member
 * copies what it keeps. */
struct runtime_config {
	unsigned frequency, duration;     /* Hz, seconds per snapshot */
	const pid_t *pids;                /* --pids (named: profiled at once); NULL/0 = all */
	size_t npids;
	pid_t self_pid;                   /* never profiled */
	const char *proc_root;            /* "/proc" unless testing */
	unsigned min_age_s;               /* --min-profiling-duration: discovery only */
	unsigned max_processes;           /* --max-processes-runtime-profiler: top N by CPU; 0 = all */
	bool native_off;                  /* --perf-mode disabled: run only when the member's own
					   * flags ask for it by name (not in an "auto" mode) */
	const char *const *flags;         /* the member's flag values by slot; NULL = not given */
};

/* One named stack: frames root first, ";"-separated, already suffixed (_[p], _[j]...). frames
 * may end with SNAPSHOT_KSEP and the sample's kernel stack as hex addresses, leaf first
 * (snapshot.h), which the snapshot names and puts below. comm and frames are borrowed for the
 * call. The snapshot adds the usual "<appid>;<container>;<comm>;" prefix: a member never deals
 * with containers. Return 0 to go on, a negative errno to stop the drain (which returns it). */
typedef int (*runtime_stack_fn)(void *ctx, uint32_t tgid, const char *comm, const char *frames,
				uint64_t count);

struct runtime_stats {
	size_t profiled;                  /* processes being profiled now */
	uint64_t samples, dropped;        /* stacks handed over so far / dropped (tables full) */
};

/* A command-line flag of a member. */
struct runtime_flag {
	const char *name;                 /* long name without "--": "python-mode" */
	bool has_value;                   /* false: a switch, stored as "1" when given */
	unsigned slot;                    /* < RUNTIME_FLAGS_MAX; aliases share a slot */
};

struct runtime_ops {
	const char *name;                             /* "python", "java", "node" */
	const struct runtime_flag *flags;             /* ends with a NULL name; may be NULL */
	const char *help;                             /* its --help section, "" for none */
	/* Is this value of the flag in slot acceptable? 0, or -EINVAL with err saying why, flag
	 * named (printed after "fleetprof-agent: "; the agent exits 2). NULL: every value is. */
	int (*check_flag)(unsigned slot, const char *value, char *err, size_t errlen);
	/* Start for one session: NULL with errno 0 when its flags (or native_off) disable it,
	 * NULL with errno set on failure (logged by the caller; the session goes on without it). */
	void *(*start)(const struct runtime_config *cfg);
	void (*stop)(void *rt);                       /* NULL is a no-op */
	/* Does this member own thread tid of process tgid? Its native samples are then dropped.
	 * NULL: owns nothing (a member that only makes JIT code nameable, through perf maps).
	 * Called for every native stack of a drain: must be cheap. */
	bool (*owns_thread)(void *rt, uint32_t tgid, uint32_t tid);
	/* Hand over, and forget, the stacks gathered since the last drain. 0 or fn's error. */
	int (*drain)(void *rt, runtime_stack_fn fn, void *ctx);
	void (*get_stats)(void *rt, struct runtime_stats *out);
};

/* The registered members, NULL-terminated (registry.c). The index of a member is its row in
 * struct runtime_flags. */
extern const struct runtime_ops *const runtime_members[];

/* The members running in one profiling session (runtime.c). */
struct runtime_set {
	size_t n;
	struct {
		const struct runtime_ops *ops;
		void *rt;
	} m[RUNTIME_MAX];
};

/* Start every member with cfg, each with its row of flags (NULL: none given; cfg->flags is
 * ignored). A member that is disabled is left out; one that fails is logged at WARN and left
 * out (its processes keep their native stacks). */
void runtime_set_start(struct runtime_set *set, const struct runtime_config *cfg,
		       const struct runtime_flags *flags);

/* Whether any running member owns the thread (set: a struct runtime_set): the snapshot's
 * native-sample filter. */
bool runtime_set_owns_thread(void *set, uint32_t tgid, uint32_t tid);

/* Drain every member into fn, and log its counters at INFO. 0 or the first error (its member's
 * name in err). */
int runtime_set_drain(struct runtime_set *set, runtime_stack_fn fn, void *ctx, char *err,
		      size_t errlen);

void runtime_set_stop(struct runtime_set *set);   /* stops every member; safe on a zeroed set */

#endif

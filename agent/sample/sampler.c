/* sampler.c — loads sampler.bpf.c, attaches it to a cpu-clock event on every online CPU and
 * drains the idle map set at each snapshot. See sampler.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sampler.h"
#include "cpuclock.h"
#include "leafcall.h"
#include "sample/sampler.skel.h"
#include "hostinfo.h"
#include "log.h"

#define MIN_COUNT_ENTRIES  1024u
#define MAX_COUNT_ENTRIES  65536u
#define MIN_STACK_ENTRIES  4096u
#define MAX_STACK_ENTRIES  32768u     /* 32768 * 1016 B = 33 MB per set: the fixed bound */
#define PEEK_SLOTS         4096u
#define COUNT_ENTRY_BYTES  (sizeof(struct sampler_key) + sizeof(uint64_t) + 64)
#define STACK_ENTRY_BYTES  (SAMPLE_MAX_DEPTH * sizeof(uint64_t) + 32)

struct sampler {
	struct sampler_bpf *skel;
	struct cpuclock clk;               /* the program on every CPU */
	int ncpus;
	uint32_t count_entries, stack_entries;
	uint64_t base[2][SAMPLER_CNT_MAX]; /* per set: counters at its previous drain */
	uint64_t *percpu;                  /* scratch for per-CPU lookups (possible CPUs) */
	int npossible;
	struct sampler_key *keys;          /* scratch for a drain, count_entries long */
	uint32_t *ids;                     /* scratch: stack ids, stack_entries long */
	uint32_t *peeked;                  /* tgids peeked in this generation (open addressing) */
	uint64_t ips[SAMPLE_MAX_DEPTH];
	uint64_t uips[SAMPLE_MAX_DEPTH + 1];   /* + the leaf's lost caller */
};

static uint32_t clamp_pow2(uint64_t want, uint32_t lo, uint32_t hi)
{
	uint64_t v = lo;
	while (v < want && v < hi)
		v <<= 1;
	return (uint32_t)(v > hi ? hi : v);
}

void sampler_map_sizes(unsigned frequency, unsigned ncpus, unsigned duration,
		       uint32_t *count_entries, uint32_t *stack_entries)
{
	uint64_t expected = (uint64_t)frequency * (ncpus ? ncpus : 1) * (duration ? duration : 1);
	/* distinct keys never pass the samples taken. A stack map drops a stack whose hash bucket
	 * is taken (a collision), and each sample may store two stacks (kernel and user): give
	 * it 8 buckets per sample, so collisions stay near 1 in 16 even when every stack differs */
	*count_entries = clamp_pow2(expected, MIN_COUNT_ENTRIES, MAX_COUNT_ENTRIES);
	*stack_entries = clamp_pow2(expected * 8, MIN_STACK_ENTRIES, MAX_STACK_ENTRIES);
}

static size_t sampler_map_bytes(const void *v)
{
	const struct sampler *s = v;

	return 2 * ((size_t)s->count_entries * COUNT_ENTRY_BYTES +
		    (size_t)s->stack_entries * STACK_ENTRY_BYTES);
}

static int __attribute__((format(printf, 2, 0)))
libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;
	if (level == LIBBPF_DEBUG && log_get_level() > LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

/* Cumulative counters of map set `set` (0 or 1). */
static int read_counters(struct sampler *s, uint32_t set, uint64_t out[SAMPLER_CNT_MAX])
{
	return bpfcommon_read_counters(bpf_map__fd(s->skel->maps.counters), set, SAMPLER_CNT_MAX,
				       s->percpu, s->npossible, out);
}

static void sampler_free(void *v);

static void *sampler_new(const struct sample_config *cfg)
{
	struct sampler *s = calloc(1, sizeof(*s));
	int err = -ENOMEM;
	int ncpus = hostinfo_online_cpus(NULL, 0);

	if (!s)
		goto fail;
	libbpf_set_print(libbpf_print);
	s->npossible = libbpf_num_possible_cpus();
	if (s->npossible <= 0) {
		err = -EINVAL;
		goto fail;
	}
	s->percpu = calloc((size_t)s->npossible, sizeof(uint64_t));
	if (!s->percpu)
		goto fail;
	sampler_map_sizes(cfg->frequency, ncpus > 0 ? (unsigned)ncpus : 1, cfg->duration,
			  &s->count_entries, &s->stack_entries);
	s->keys = calloc(s->count_entries, sizeof(*s->keys));
	s->ids = calloc(s->stack_entries, sizeof(*s->ids));
	s->peeked = calloc(PEEK_SLOTS, sizeof(*s->peeked));
	if (!s->keys || !s->ids || !s->peeked)
		goto fail;

	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = -errno;
		goto fail;
	}
	s->skel->rodata->filter_pids = cfg->npids > 0;
	s->skel->rodata->include_idle = cfg->include_idle;
	s->skel->rodata->self_tgid = (uint32_t)cfg->self_pid;
	bpf_map__set_max_entries(s->skel->maps.counts_a, s->count_entries);
	bpf_map__set_max_entries(s->skel->maps.counts_b, s->count_entries);
	bpf_map__set_max_entries(s->skel->maps.stacks_a, s->stack_entries);
	bpf_map__set_max_entries(s->skel->maps.stacks_b, s->stack_entries);
	if (cfg->npids > 1024) {
		err = -E2BIG;
		goto fail;
	}
	err = sampler_bpf__load(s->skel);
	if (err) {
		err = err < 0 ? err : -EINVAL;
		goto fail;
	}
	for (size_t i = 0; i < cfg->npids; i++) {
		uint32_t pid = (uint32_t)cfg->pids[i];
		uint8_t one = 1;
		if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.pids), &pid, &one, BPF_ANY)) {
			err = -errno;
			goto fail;
		}
	}
	err = cpuclock_attach(&s->clk, s->skel->progs.sample, cfg->frequency, "sampler");
	s->ncpus = s->clk.n;
	if (err)
		goto fail;
	log_info("sampler: BPF on %d CPUs at %u Hz; maps %u counts + %u stacks per set (%zu KiB max)",
		 s->ncpus, cfg->frequency, s->count_entries, s->stack_entries,
		 sampler_map_bytes(s) / 1024);
	return s;
fail:
	sampler_free(s);
	errno = err < 0 ? -err : ENOMEM;
	return NULL;
}

static void sampler_free(void *v)
{
	struct sampler *s = v;

	if (!s)
		return;
	cpuclock_release(&s->clk);
	sampler_bpf__destroy(s->skel);
	free(s->percpu);
	free(s->keys);
	free(s->ids);
	free(s->peeked);
	free(s);
}

static uint64_t sampler_samples_so_far(void *v)
{
	struct sampler *s = v;
	uint64_t c[SAMPLER_CNT_MAX];
	uint32_t set = s->skel->bss->gen & 1;
	if (read_counters(s, set, c))
		return 0;
	return c[SAMPLER_CNT_SAMPLES] - s->base[set][SAMPLER_CNT_SAMPLES];
}

/* Leaf-first ips of a stack id, 0 when absent. */
static uint32_t read_stack(int fd, int32_t id, uint64_t *ips)
{
	return bpfcommon_read_stack(fd, id, ips, SAMPLE_MAX_DEPTH);
}

/* true when tgid was not peeked yet (and remembers it); false when seen or the table is full */
static bool peek_first(struct sampler *s, uint32_t tgid)
{
	uint32_t h = (tgid * 2654435761u) & (PEEK_SLOTS - 1);
	for (uint32_t i = 0; i < 32; i++) {
		uint32_t *slot = &s->peeked[(h + i) & (PEEK_SLOTS - 1)];
		if (*slot == tgid)
			return false;
		if (*slot == 0) {
			*slot = tgid;
			return true;
		}
	}
	return false;
}

static int sampler_peek(void *v, sample_fn fn, void *ctx)
{
	struct sampler *s = v;
	uint32_t cur_gen = __atomic_load_n(&s->skel->bss->gen, __ATOMIC_SEQ_CST);
	int cfd = bpf_map__fd((cur_gen & 1) ? s->skel->maps.counts_b : s->skel->maps.counts_a);
	int sfd = bpf_map__fd((cur_gen & 1) ? s->skel->maps.stacks_b : s->skel->maps.stacks_a);
	struct sampler_key next, cur;
	void *prev = NULL;
	uint32_t n = 0;
	int rc = 0;

	while (rc == 0 && n++ < s->count_entries && bpf_map_get_next_key(cfd, prev, &next) == 0) {
		cur = next;
		prev = &cur;
		if (next.h.tgid == 0 || next.user_stack_id < 0 || !peek_first(s, next.h.tgid))
			continue;
		struct sample_stack st = { .tgid = next.h.tgid, .pid = next.h.pid };
		memcpy(st.comm, next.h.comm, SAMPLE_COMM_LEN);
		st.comm[SAMPLE_COMM_LEN - 1] = '\0';
		st.nuser = read_stack(sfd, next.user_stack_id, s->uips);
		leafcall_insert(s->uips, &st.nuser, SAMPLE_MAX_DEPTH + 1, next.leaf_caller);
		st.user = s->uips;
		st.kern = s->ips;
		if (st.nuser)
			rc = fn(ctx, &st);
	}
	return rc;
}

static int sampler_drain(void *v, sample_fn fn, void *ctx, struct sample_counts *out)
{
	struct sampler *s = v;
	/* the idle set is the one selected by the old generation */
	uint32_t old = bpfcommon_flip(&s->skel->bss->gen), n;
	int cfd = bpf_map__fd(old ? s->skel->maps.counts_b : s->skel->maps.counts_a);
	int sfd = bpf_map__fd(old ? s->skel->maps.stacks_b : s->skel->maps.stacks_a);
	uint64_t c[SAMPLER_CNT_MAX];
	int rc = 0;

	memset(s->peeked, 0, PEEK_SLOTS * sizeof(*s->peeked));
	memset(out, 0, sizeof(*out));
	/* the idle set's counters no longer move: exact for this snapshot */
	if (read_counters(s, old, c) == 0) {
		uint64_t *b = s->base[old];
		out->samples = c[SAMPLER_CNT_SAMPLES] - b[SAMPLER_CNT_SAMPLES];
		out->collisions = c[SAMPLER_CNT_COLLISIONS] - b[SAMPLER_CNT_COLLISIONS];
		out->stack_errors = c[SAMPLER_CNT_STACK_ERRORS] - b[SAMPLER_CNT_STACK_ERRORS];
		out->lost = c[SAMPLER_CNT_LOST] - b[SAMPLER_CNT_LOST];
		memcpy(b, c, sizeof(c));
	}

	n = bpfcommon_keys(cfd, s->keys, sizeof(*s->keys), s->count_entries);
	for (uint32_t i = 0; i < n; i++) {
		struct sampler_key *k = &s->keys[i];
		uint64_t count = 0;
		struct sample_stack st;
		if (bpf_map_lookup_elem(cfd, k, &count) || count == 0)
			continue;
		memset(&st, 0, sizeof(st));
		st.tgid = k->h.tgid;
		st.pid = k->h.pid;
		memcpy(st.comm, k->h.comm, SAMPLE_COMM_LEN);
		st.comm[SAMPLE_COMM_LEN - 1] = '\0';
		st.count = count;
		st.nkern = read_stack(sfd, k->h.kern_stack_id, s->ips);
		st.nuser = read_stack(sfd, k->user_stack_id, s->uips);
		leafcall_insert(s->uips, &st.nuser, SAMPLE_MAX_DEPTH + 1, k->leaf_caller);
		st.kern = s->ips;
		st.user = s->uips;
		st.kern_lost = k->h.kern_stack_id == -EEXIST;
		st.user_lost = k->user_stack_id == -EEXIST;
		if (rc == 0)
			rc = fn(ctx, &st);
	}
	bpfcommon_delete(cfd, s->keys, sizeof(*s->keys), n);
	bpfcommon_clear(sfd, s->ids, sizeof(*s->ids), s->stack_entries);
	if (out->lost || out->collisions)
		log_info("sampler: snapshot lost %llu samples, %llu stack collisions",
			 (unsigned long long)out->lost, (unsigned long long)out->collisions);
	return rc;
}

const struct sample_source_ops sample_source_bpf = {
	.name = "bpf", .what = "BPF sampler",
	.open = sampler_new, .close = sampler_free, .wait = sample_source_sleep,   /* BPF counts */
	.samples_so_far = sampler_samples_so_far, .peek = sampler_peek, .drain = sampler_drain,
	.map_bytes = sampler_map_bytes,
};

/* perfev.c — see perfev.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/perf_event.h>
#include <asm/perf_regs.h>

#include "perfev.h"
#include "sampler.h"
#include "leafcall.h"
#include "cpuclock.h"
#include "hostinfo.h"
#include "process.h"
#include "log.h"

#define RING_PAGES     16          /* data pages per CPU (power of two): 64 KiB */
#define COMM_SLOTS     4096        /* tid -> comm cache per snapshot (open addressing) */
#define STACK_DUMP     16          /* user stack bytes per sample: the leaf's return address */
#define MAX_RECORD     (8 + 8 + 8 + 8 * (SAMPLE_MAX_DEPTH + 8) + 16 + 8 + STACK_DUMP + 8)

struct agg_entry {
	struct agg_entry *next;
	uint64_t hash, count;
	uint32_t tgid, pid, nkern, nuser;
	bool peeked;
	char comm[SAMPLE_COMM_LEN];
	uint64_t ips[];            /* nkern kernel ips then nuser user ips, leaf first */
};

struct comm_slot {
	uint32_t tid;              /* 0 = empty */
	char comm[SAMPLE_COMM_LEN];
};

struct ring {
	int fd;
	void *base;                /* metadata page + data */
	size_t data_size;
};

struct perfev {
	struct ring *rings;
	struct pollfd *pfds;
	int nrings;
	size_t page_size;
	/* filtering */
	uint32_t self_tgid;
	bool include_idle;
	uint32_t *pids;            /* sorted tgids, or NULL */
	size_t npids;
	/* aggregation */
	struct agg_entry **buckets;
	uint32_t nbuckets, nentries, max_entries;
	struct comm_slot *comms;
	uint64_t samples, lost, samples_total;
	uint8_t rec[MAX_RECORD];
	uint64_t kern[SAMPLE_MAX_DEPTH], user[SAMPLE_MAX_DEPTH + 1];   /* + the leaf's caller */
};

int perfev_split_callchain(const uint64_t *ips, uint64_t nr, uint64_t *kern, uint32_t *nkern,
			   uint64_t *user, uint32_t *nuser, uint32_t max)
{
	int ctx = 0; /* 0 unknown, 1 kernel, 2 user */
	*nkern = *nuser = 0;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t ip = ips[i];
		if (ip >= (uint64_t)PERF_CONTEXT_MAX) {
			if (ip == (uint64_t)PERF_CONTEXT_KERNEL)
				ctx = 1;
			else if (ip == (uint64_t)PERF_CONTEXT_USER)
				ctx = 2;
			else
				ctx = 0; /* hypervisor, guest: not ours */
			continue;
		}
		if (ctx == 1 && *nkern < max)
			kern[(*nkern)++] = ip;
		else if (ctx == 2 && *nuser < max)
			user[(*nuser)++] = ip;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool wanted(const struct perfev *p, uint32_t tgid, uint32_t tid)
{
	if (tid == 0 && !p->include_idle)
		return false;
	if (p->self_tgid && tgid == p->self_tgid)
		return false;
	if (p->pids && !bsearch(&tgid, p->pids, p->npids, sizeof(uint32_t), cmp_u32))
		return false;
	return true;
}

/* Cached name of tid; on a miss read /proc when read_proc (caching what it finds). Leaves out
 * empty when nothing is known: the process may have exited, and a COMM or FORK record read
 * later from another CPU's ring may still name it (see perfev_drain). */
static void comm_of(struct perfev *p, uint32_t tgid, uint32_t tid, char out[SAMPLE_COMM_LEN],
		    bool read_proc)
{
	uint32_t h = (tid * 2654435761u) & (COMM_SLOTS - 1);
	struct comm_slot *free_slot = NULL;
	char path[64];
	int fd;
	ssize_t n;

	memset(out, 0, SAMPLE_COMM_LEN);
	if (tid == 0) {
		snprintf(out, SAMPLE_COMM_LEN, "swapper");
		return;
	}
	for (uint32_t i = 0; i < 16; i++) {
		struct comm_slot *s = &p->comms[(h + i) & (COMM_SLOTS - 1)];
		if (s->tid == tid) {
			memcpy(out, s->comm, SAMPLE_COMM_LEN);
			return;
		}
		if (s->tid == 0) {
			free_slot = s;
			break;
		}
	}
	if (!read_proc)
		return;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", tgid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, out, SAMPLE_COMM_LEN - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		memset(out, 0, SAMPLE_COMM_LEN);
		return;
	}
	out[strcspn(out, "\n")] = '\0';
	if (free_slot) {
		free_slot->tid = tid;
		memcpy(free_slot->comm, out, SAMPLE_COMM_LEN);
	}
}

/* A name from a PERF_RECORD_COMM: replaces what the cache had for tid. */
static void comm_set(struct perfev *p, uint32_t tid, const char *comm)
{
	uint32_t h = (tid * 2654435761u) & (COMM_SLOTS - 1);
	if (tid == 0)
		return;
	for (uint32_t i = 0; i < 16; i++) {
		struct comm_slot *s = &p->comms[(h + i) & (COMM_SLOTS - 1)];
		if (s->tid == tid || s->tid == 0) {
			s->tid = tid;
			snprintf(s->comm, SAMPLE_COMM_LEN, "%s", comm);
			return;
		}
	}
}

static uint64_t hash_stack(uint32_t tgid, uint32_t pid, const uint64_t *k, uint32_t nk,
			   const uint64_t *u, uint32_t nu)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)tgid << 32 | pid);
	h = (h ^ nk) * 1099511628211ull;
	for (uint32_t i = 0; i < nk; i++)
		h = (h ^ k[i]) * 1099511628211ull;
	h = (h ^ nu) * 1099511628211ull;
	for (uint32_t i = 0; i < nu; i++)
		h = (h ^ u[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static bool read_code(uint32_t tgid, uint64_t addr, void *out, size_t n)
{
	return process_read_mem((pid_t)tgid, addr, out, n) == 0;
}

/* The return address a frame-pointer chain skipped (see leafcall_ret_slot): the code at the
 * user leaf ip is read from the live process, the slot from the stack the kernel dumped, and the
 * word there is taken only if a call precedes it. 64-bit user code only. */
static uint64_t leaf_caller(uint32_t tgid, uint64_t ip, const uint8_t *stack, uint64_t stack_len)
{
	unsigned char code[LEAFCALL_CODE_LEN], call[LEAFCALL_CALL_LEN];
	uint64_t ret;
	int slot, have_prev = 1;

	if (tgid == 0 || !stack || stack_len < sizeof(ret))
		return 0;
	if (!read_code(tgid, ip - 1, code, sizeof(code))) {
		have_prev = 0;
		if (!read_code(tgid, ip, code + 1, sizeof(code) - 1))
			return 0; /* exited, or not readable */
	}
	slot = leafcall_ret_slot(code, have_prev);
	if (slot < 0 || (uint64_t)(slot + 1) * sizeof(ret) > stack_len)
		return 0;
	memcpy(&ret, stack + slot * sizeof(ret), sizeof(ret));
	if (ret < sizeof(call) || !read_code(tgid, ret - sizeof(call), call, sizeof(call)) ||
	    !leafcall_after_call(call))
		return 0;
	return ret;
}

static void add_sample(struct perfev *p, uint32_t tgid, uint32_t tid, const uint64_t *ips,
		       uint64_t nr, const uint8_t *stack, uint64_t stack_len)
{
	uint32_t nk, nu;
	uint64_t h;
	struct agg_entry *e, **b;

	if (tid == 0)
		tgid = 0;
	if (!wanted(p, tgid, tid))
		return;
	p->samples++;
	p->samples_total++;
	perfev_split_callchain(ips, nr, p->kern, &nk, p->user, &nu, SAMPLE_MAX_DEPTH);
	if (nu)
		leafcall_insert(p->user, &nu, SAMPLE_MAX_DEPTH + 1,
					   leaf_caller(tgid, p->user[0], stack, stack_len));
	h = hash_stack(tgid, tid, p->kern, nk, p->user, nu);
	b = &p->buckets[h & (p->nbuckets - 1)];
	for (e = *b; e; e = e->next) {
		if (e->hash == h && e->tgid == tgid && e->pid == tid && e->nkern == nk &&
		    e->nuser == nu && memcmp(e->ips, p->kern, nk * sizeof(uint64_t)) == 0 &&
		    memcmp(e->ips + nk, p->user, nu * sizeof(uint64_t)) == 0) {
			e->count++;
			return;
		}
	}
	if (p->nentries >= p->max_entries) {
		p->lost++;
		return;
	}
	e = malloc(sizeof(*e) + (nk + nu) * sizeof(uint64_t));
	if (!e) {
		p->lost++;
		return;
	}
	e->hash = h;
	e->peeked = false;
	e->count = 1;
	e->tgid = tgid;
	e->pid = tid;
	e->nkern = nk;
	e->nuser = nu;
	comm_of(p, tgid, tid, e->comm, true);
	memcpy(e->ips, p->kern, nk * sizeof(uint64_t));
	memcpy(e->ips + nk, p->user, nu * sizeof(uint64_t));
	e->next = *b;
	*b = e;
	p->nentries++;
}

static void handle_record(struct perfev *p, const struct perf_event_header *hdr)
{
	const uint8_t *r = (const uint8_t *)(hdr + 1);
	size_t len = hdr->size - sizeof(*hdr);
	if (hdr->type == PERF_RECORD_SAMPLE) {
		uint32_t pid, tid;
		uint64_t nr, abi = PERF_SAMPLE_REGS_ABI_NONE, size = 0, dyn = 0;
		const uint8_t *stack = NULL;
		size_t off;
		if (len < 16)
			return;
		memcpy(&pid, r, 4);
		memcpy(&tid, r + 4, 4);
		memcpy(&nr, r + 8, 8);
		if (nr > (len - 16) / 8)
			return;
		off = 16 + nr * 8;
		/* then PERF_SAMPLE_REGS_USER: u64 abi, and the ip unless abi is NONE. Only 64-bit
		 * user code gets its leaf's caller (32-bit return addresses are 4 bytes). */
		if (len >= off + 8) {
			memcpy(&abi, r + off, 8);
			off += 8 + (abi != PERF_SAMPLE_REGS_ABI_NONE ? 8 : 0);
		}
		/* then PERF_SAMPLE_STACK_USER: u64 size, size bytes, u64 dyn_size (when size > 0) */
		if (abi == PERF_SAMPLE_REGS_ABI_64 && len >= off + 8) {
			memcpy(&size, r + off, 8);
			if (size && size <= STACK_DUMP && len >= off + 8 + size + 8) {
				stack = r + off + 8;
				memcpy(&dyn, r + off + 8 + size, 8);
				if (dyn > size)
					dyn = size;
			}
		}
		add_sample(p, pid, tid, (const uint64_t *)(const void *)(r + 16), nr, stack,
			   stack ? dyn : 0);
	} else if (hdr->type == PERF_RECORD_COMM && len > 8) {
		uint32_t pid, tid;
		char comm[SAMPLE_COMM_LEN] = { 0 };
		size_t n = len - 8 < SAMPLE_COMM_LEN - 1 ? len - 8 : SAMPLE_COMM_LEN - 1;
		memcpy(&pid, r, 4);
		memcpy(&tid, r + 4, 4);
		memcpy(comm, r + 8, n);
		comm[strnlen(comm, n)] = '\0';
		comm_set(p, tid, comm);
		(void)pid;
	} else if (hdr->type == PERF_RECORD_FORK && len >= 16) {
		uint32_t pid, ppid, tid, ptid;
		char comm[SAMPLE_COMM_LEN];
		memcpy(&pid, r, 4);
		memcpy(&ppid, r + 4, 4);
		memcpy(&tid, r + 8, 4);
		memcpy(&ptid, r + 12, 4);
		comm_of(p, ppid, ptid, comm, false);
		if (comm[0])
			comm_set(p, tid, comm);
		(void)pid;
	} else if (hdr->type == PERF_RECORD_LOST && len >= 16) {
		uint64_t lost;
		memcpy(&lost, r + 8, 8);
		p->lost += lost;
	}
}

static void read_ring(struct perfev *p, struct ring *rg)
{
	struct perf_event_mmap_page *meta = rg->base;
	uint8_t *data = (uint8_t *)rg->base + p->page_size;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = meta->data_tail;

	while (tail < head) {
		struct perf_event_header hdr;
		size_t off = tail & (rg->data_size - 1);
		size_t first;
		memcpy(&hdr, data + off, sizeof(hdr)); /* headers are 8-byte aligned: never split */
		if (hdr.size < sizeof(hdr) || hdr.size > head - tail)
			break;
		if (hdr.size <= sizeof(p->rec)) {
			first = rg->data_size - off;
			if (first >= hdr.size) {
				memcpy(p->rec, data + off, hdr.size);
			} else {
				memcpy(p->rec, data + off, first);
				memcpy(p->rec + first, data, hdr.size - first);
			}
			handle_record(p, (const struct perf_event_header *)(const void *)p->rec);
		}
		tail += hdr.size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

static void perfev_free(void *v);

static void *perfev_new(const struct sample_config *cfg)
{
	struct perfev *p = calloc(1, sizeof(*p));
	int cpus[HOSTINFO_MAX_CPUS];
	int n, err = -ENOMEM;
	uint32_t count_entries, stack_entries;

	if (!p)
		goto fail;
	p->page_size = (size_t)sysconf(_SC_PAGESIZE);
	p->self_tgid = (uint32_t)cfg->self_pid;
	p->include_idle = cfg->include_idle;
	if (cfg->npids) {
		p->pids = calloc(cfg->npids, sizeof(uint32_t));
		if (!p->pids)
			goto fail;
		for (size_t i = 0; i < cfg->npids; i++)
			p->pids[i] = (uint32_t)cfg->pids[i];
		p->npids = cfg->npids;
		qsort(p->pids, p->npids, sizeof(uint32_t), cmp_u32);
	}
	n = hostinfo_online_cpus(cpus, HOSTINFO_MAX_CPUS);
	if (n <= 0) {
		err = n < 0 ? n : -ENODEV;
		goto fail;
	}
	sampler_map_sizes(cfg->frequency, (unsigned)n, cfg->duration, &count_entries, &stack_entries);
	p->max_entries = count_entries;
	p->nbuckets = count_entries;
	p->buckets = calloc(p->nbuckets, sizeof(*p->buckets));
	p->comms = calloc(COMM_SLOTS, sizeof(*p->comms));
	p->rings = calloc((size_t)n, sizeof(*p->rings));
	p->pfds = calloc((size_t)n, sizeof(*p->pfds));
	if (!p->buckets || !p->comms || !p->rings || !p->pfds)
		goto fail;
	for (int i = 0; i < n; i++) {
		struct perf_event_attr attr;
		struct ring *rg = &p->rings[p->nrings];
		cpuclock_event_attr(&attr, cfg->frequency);
		attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
				   PERF_SAMPLE_STACK_USER;
		attr.sample_max_stack = SAMPLE_MAX_DEPTH;
		attr.sample_regs_user = 1ull << PERF_REG_X86_IP;   /* for the ABI; must be non-zero */
		attr.sample_stack_user = STACK_DUMP;
		attr.wakeup_events = 32;
		attr.disabled = 1;
		attr.comm = i == 0;        /* exec/rename names, once (on the first CPU's ring) */
		attr.comm_exec = i == 0;
		attr.task = i == 0;        /* FORK records: children start with the parent's name */
		rg->fd = cpuclock_open(&attr, cpus[i]);
		if (rg->fd == -ENODEV)     /* went offline meanwhile */
			continue;
		if (rg->fd < 0) {
			err = rg->fd;
			log_warn("perfev: perf_event_open on cpu %d: %s", cpus[i], strerror(-err));
			goto fail;
		}
		rg->data_size = RING_PAGES * p->page_size;
		rg->base = mmap(NULL, rg->data_size + p->page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				rg->fd, 0);
		if (rg->base == MAP_FAILED) {
			err = -errno;
			rg->base = NULL;
			close(rg->fd);
			goto fail;
		}
		p->pfds[p->nrings].fd = rg->fd;
		p->pfds[p->nrings].events = POLLIN;
		p->nrings++;
	}
	for (int i = 0; i < p->nrings; i++)
		if (ioctl(p->rings[i].fd, PERF_EVENT_IOC_ENABLE, 0)) {
			err = -errno;
			goto fail;
		}
	log_info("perfev: perf_event_open on %d CPUs at %u Hz, %u stacks max per snapshot",
		 p->nrings, cfg->frequency, p->max_entries);
	return p;
fail:
	perfev_free(p);
	errno = err < 0 ? -err : ENOMEM;
	return NULL;
}

static void forget_all(struct perfev *p)
{
	for (uint32_t i = 0; i < p->nbuckets; i++) {
		struct agg_entry *e = p->buckets[i];
		while (e) {
			struct agg_entry *next = e->next;
			free(e);
			e = next;
		}
		p->buckets[i] = NULL;
	}
	p->nentries = 0;
}

static void perfev_free(void *v)
{
	struct perfev *p = v;

	if (!p)
		return;
	for (int i = 0; i < p->nrings; i++) {
		ioctl(p->rings[i].fd, PERF_EVENT_IOC_DISABLE, 0);
		munmap(p->rings[i].base, p->rings[i].data_size + p->page_size);
		close(p->rings[i].fd);
	}
	if (p->buckets)
		forget_all(p);
	free(p->buckets);
	free(p->comms);
	free(p->rings);
	free(p->pfds);
	free(p->pids);
	free(p);
}

/* Wait up to timeout_ms for data, then read every ring buffer into the aggregation. A signal
 * (EINTR) ends the wait early; what it interrupted is read at the next one. */
static void perfev_poll(void *v, int timeout_ms)
{
	struct perfev *p = v;
	if (poll(p->pfds, (nfds_t)p->nrings, timeout_ms) < 0)
		return;
	for (int i = 0; i < p->nrings; i++)
		read_ring(p, &p->rings[i]);
}

static int perfev_peek(void *v, sample_fn fn, void *ctx)
{
	struct perfev *p = v;
	int rc = 0;
	for (uint32_t i = 0; i < p->nbuckets && rc == 0; i++) {
		for (struct agg_entry *e = p->buckets[i]; e && rc == 0; e = e->next) {
			if (e->peeked || e->nuser == 0)
				continue;
			e->peeked = true;
			struct sample_stack st = { .tgid = e->tgid, .pid = e->pid, .nuser = e->nuser,
						   .user = e->ips + e->nkern, .kern = e->ips };
			memcpy(st.comm, e->comm, SAMPLE_COMM_LEN);
			st.comm[SAMPLE_COMM_LEN - 1] = '\0';
			rc = fn(ctx, &st);
		}
	}
	return rc;
}

static uint64_t perfev_samples_so_far(void *v)
{
	const struct perfev *p = v;

	return p->samples;
}

static int perfev_drain(void *v, sample_fn fn, void *ctx, struct sample_counts *out)
{
	struct perfev *p = v;
	int rc = 0;
	for (int i = 0; i < p->nrings; i++)
		read_ring(p, &p->rings[i]);
	memset(out, 0, sizeof(*out));
	out->samples = p->samples;
	out->lost = p->lost;
	for (uint32_t i = 0; i < p->nbuckets && rc == 0; i++) {
		for (struct agg_entry *e = p->buckets[i]; e && rc == 0; e = e->next) {
			struct sample_stack st = {
				.tgid = e->tgid, .pid = e->pid, .count = e->count,
				.nkern = e->nkern, .nuser = e->nuser,
				.kern = e->ips, .user = e->ips + e->nkern,
			};
			if (!e->comm[0])   /* named by a record read after the sample? */
				comm_of(p, e->tgid, e->pid, e->comm, false);
			if (!e->comm[0])
				snprintf(e->comm, SAMPLE_COMM_LEN, "[exited]");
			memcpy(st.comm, e->comm, SAMPLE_COMM_LEN);
			st.comm[SAMPLE_COMM_LEN - 1] = '\0';
			rc = fn(ctx, &st);
		}
	}
	forget_all(p);
	memset(p->comms, 0, COMM_SLOTS * sizeof(*p->comms));
	p->samples = 0;
	p->lost = 0;
	return rc;
}

/* The aggregation's bound: entries of at most two full stacks each. */
static size_t perfev_map_bytes(const void *v)
{
	const struct perfev *p = v;

	return (size_t)p->max_entries *
	       (sizeof(struct agg_entry) + (2 * SAMPLE_MAX_DEPTH + 1) * sizeof(uint64_t));
}

const struct sample_source_ops sample_source_perf = {
	.name = "perf", .what = "perf_event_open sampler",
	.open = perfev_new, .close = perfev_free, .wait = perfev_poll,
	.samples_so_far = perfev_samples_so_far, .peek = perfev_peek, .drain = perfev_drain,
	.map_bytes = perfev_map_bytes,
};

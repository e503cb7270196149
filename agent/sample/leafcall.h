/* leafcall.h — the leaf-caller rule of x86-64 frame-pointer unwinding, shared by the BPF sampler
 * (sampler.bpf.c reads the code and the stack with BPF helpers), the perf_event fallback
 * (perfev.c reads them from the live process and the dumped stack) and any later unwinder that
 * walks frame pointers. Includable from BPF programs: no headers, only inline functions; the
 * user-space half (leafcall_insert) is below the __bpf__ guard.
 */
#ifndef FP_LEAFCALL_H
#define FP_LEAFCALL_H

/* The leaf's lost caller. A frame-pointer unwinder starts at the sampled ip and goes on at the
 * frame %rbp points to. At the first instruction of a function (`push %rbp`, or `endbr64`
 * before it), after that push (at `mov %rsp,%rbp`) and at a `ret`, %rbp still (or again) points
 * to the caller's frame, so the chain skips the caller: hot_a;main instead of
 * hot_a;worker;main. The return address into the caller is then on top of the stack.
 *
 * c holds the byte before ip (c[0], valid when have_prev) and the 8 bytes from ip (c[1..8]).
 * Returns the 8-byte stack slot above sp that holds the return address (0 or 1), or -1 when the
 * code at ip is none of those canonical patterns (the frame is in place, or cannot be told).
 * For 64-bit code only. The word in that slot is then taken only if the bytes before it end in
 * a call (leafcall_after_call): a `ret` used as a jump, or hand-written code that merely looks
 * like a prologue, must not add a frame that is not there.
 */
static inline __attribute__((always_inline)) int leafcall_ret_slot(const unsigned char *c,
								   int have_prev)
{
	const unsigned char *ip = c + 1;
	if (ip[0] == 0xc3 || (ip[0] == 0xf3 && ip[1] == 0xc3))      /* ret, rep ret */
		return 0;
	if (ip[0] == 0x55 && ip[1] == 0x48 && ip[2] == 0x89 && ip[3] == 0xe5) /* push; mov */
		return 0;
	if (ip[0] == 0xf3 && ip[1] == 0x0f && ip[2] == 0x1e && ip[3] == 0xfa &&  /* endbr64 */
	    ip[4] == 0x55 && ip[5] == 0x48 && ip[6] == 0x89 && ip[7] == 0xe5)
		return 0;
	if (have_prev && c[0] == 0x55 && ip[0] == 0x48 && ip[1] == 0x89 && ip[2] == 0xe5)
		return 1;                                  /* after push %rbp, at mov %rsp,%rbp */
	return -1;
}
#define LEAFCALL_CODE_LEN 9

/* Whether the 7 bytes b[0..6] just before a return address end in a call instruction: call
 * rel32 (e8, 5 bytes) or call r/m64 (ff /2, 2 to 7 bytes by its ModRM, SIB and displacement;
 * a REX prefix before the ff changes nothing here). */
#define LEAFCALL_CALL_LEN 7
static inline __attribute__((always_inline)) int leafcall_after_call(const unsigned char *b)
{
	if (b[2] == 0xe8)
		return 1;
	for (int len = 2; len <= 7; len++) {
		const unsigned char *op = b + 7 - len;
		unsigned char modrm = op[1], mod = modrm >> 6, rm = modrm & 7;
		int want = 2;
		if (op[0] != 0xff || ((modrm >> 3) & 7) != 2)
			continue;
		if (mod != 3 && rm == 4) {          /* a SIB byte follows */
			if (len < 3)
				continue;
			want++;
			if (mod == 0 && (op[2] & 7) == 5)
				want += 4;                  /* no base: disp32 */
		}
		if (mod == 1)
			want += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			want += 4;                          /* disp32, or rip-relative */
		if (want == len)
			return 1;
	}
	return 0;
}

#ifndef __bpf__
#include <stdint.h>

/* Insert the leaf's lost caller (leafcall_ret_slot) after the leaf of a user stack of *n ips
 * held in a buffer of cap entries. Skipped when the unwinder already has it (a kernel that
 * handles prologues itself) or the stack is empty. */
void leafcall_insert(uint64_t *ips, uint32_t *n, uint32_t cap, uint64_t caller);
#endif

#endif

"""Ground-truth Python workload: worker() spends 3/4 of its CPU in hot_a and 1/4 in hot_b (the
same loop body, 3x the iterations, in cycles of varying length). With argument "threads", a second thread runs side() ->
hot_c meanwhile. Runs for argv[1] seconds (default 30), then exits."""
import sys
import threading
import time


def hot_a(n):
    x = 0
    for i in range(3 * n):
        x += i * i % 7
    return x


def hot_b(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


def hot_c(n):
    x = 0
    for i in range(n):
        x ^= i * 3 % 11
    return x


def worker(end):
    # The cycle's length varies (n from 1000 to 3000, the same for both calls, so every cycle is
    # 3:1): a fixed period can lock in phase with a strictly periodic sampler (BPF's cpu-clock)
    # and skew the shares by 10 points, as a constant n=2000 did at 199 Hz.
    seed = 12345
    while time.time() < end:
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        n = 1000 + seed % 2001
        hot_a(n)
        hot_b(n)


def side(end):
    while time.time() < end:
        hot_c(2000)


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    end = time.time() + secs
    if "threads" in sys.argv[2:]:
        threading.Thread(target=side, args=(end,), daemon=True).start()
    worker(end)


main()

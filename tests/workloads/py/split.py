"""Ground-truth Python workload: worker() spends 3/4 of its CPU in hot_a and 1/4 in hot_b (the
same loop body, 3x the iterations). With argument "threads", a second thread runs side() ->
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
    while time.time() < end:
        hot_a(2000)
        hot_b(2000)


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

"""A Python process whose stacks are known: the main thread sleeps in level_c called from
K.level_b from level_a; a second thread sleeps in other_thread. Each thread prints, before it
sleeps, "EXPECT <frames>" computed by the interpreter itself, root first, in the profiler's
format with line numbers: "qualname (file:line)_[p]" (co_name before 3.11). Exits when stdin
closes."""
import sys
import threading
import time


def describe(frame, leaf_delta):
    out = []
    first = True
    while frame is not None:
        co = frame.f_code
        name = getattr(co, "co_qualname", co.co_name)
        line = frame.f_lineno + (leaf_delta if first else 0)
        out.append("%s (%s:%d)_[p]" % (name, co.co_filename, line))
        first = False
        frame = frame.f_back
    return ";".join(reversed(out))


def level_c():
    print("EXPECT " + describe(sys._getframe(), 1), flush=True)
    time.sleep(1000)


class K:
    def level_b(self):
        level_c()


def level_a():
    K().level_b()


def other_thread(ready):
    print("EXPECT " + describe(sys._getframe(), 2), flush=True)
    ready.set()
    time.sleep(1000)


def main():
    ready = threading.Event()
    t = threading.Thread(target=other_thread, args=(ready,), daemon=True)
    t.start()
    ready.wait()
    threading.Thread(target=lambda: (sys.stdin.read(), __import__("os")._exit(0)),
                     daemon=True).start()
    level_a()


main()

"""Prints, for code objects compiled from a fixed source, the raw line table and the line the
interpreter itself reports for every instruction offset. test_agent_py_linetable decodes the raw
table with agent/runtime/python/py_linetable.c and compares. Output lines:
  CODE <minor> <firstlineno> <hex table>
  L <addr> <line>      addr in the unit the frame's lasti uses (bytes < 3.11, code units 3.11+)
"""
import dis
import sys

GAP = "\n" * 300
SRC = (
    "def f(a, b):\n"
    "    x = 0\n"
    "    for i in range(a):\n"
    "        if i % 3 == 0:\n"
    "            x += (i *\n"
    "                  b)\n"
    "        else:\n"
    "            x -= 1\n"
    "    return x\n"
    + GAP +
    "def g(n):\n"
    "    try:\n"
    "        return [k * k for k in range(n)\n"
    "                if k]\n"
    "    except ValueError:\n"
    "        pass\n"
    + GAP + GAP +
    "    return {\n"
    "        'a': n,\n"
    "        'b': n + 1,\n"
    "    }\n"
    "class C:\n"
    "    def m(self, v):\n"
    "        while v > 0:\n"
    "            v = v - 1\n"
    + "\n" * 70 +
    "        return v\n"
)

minor = sys.version_info[1]


def lines_of(co):
    out = []
    if minor >= 11:
        for i, pos in enumerate(co.co_positions()):
            out.append((i, -1 if pos[0] is None else pos[0]))
    elif minor == 10:
        for start, end, line in co.co_lines():
            for a in range(start, end, 2):
                out.append((a, -1 if line is None else line))
    else:
        starts = list(dis.findlinestarts(co))
        for a in range(0, len(co.co_code), 2):
            line = co.co_firstlineno
            for s, ln in starts:
                if s <= a:
                    line = ln
            out.append((a, line))
    return out


def walk(co):
    table = co.co_linetable if minor >= 10 else co.co_lnotab
    print("CODE %d %d %s" % (minor, co.co_firstlineno, table.hex()))
    for a, line in lines_of(co):
        print("L %d %d" % (a, line))
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            walk(c)


walk(compile(SRC, "linetable_src.py", "exec"))

#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX >= 0x03080000
#include "internal/pycore_pystate.h"
#endif
#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030B0000
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#endif
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#endif
#define P(name, expr) printf("%-28s %zu\n", name, (size_t)(expr))
int main(void){
 P("rt.interp_head", offsetof(_PyRuntimeState, interpreters.head));
 P("is.next", offsetof(PyInterpreterState, next));
#if PY_VERSION_HEX >= 0x030B0000
 P("is.tstate_head", offsetof(PyInterpreterState, threads.head));
#else
 P("is.tstate_head", offsetof(PyInterpreterState, tstate_head));
#endif
 P("ts.next", offsetof(PyThreadState, next));
 P("ts.interp", offsetof(PyThreadState, interp));
 P("ts.thread_id", offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
 P("ts.native_thread_id", offsetof(PyThreadState, native_thread_id));
#endif
#if PY_VERSION_HEX >= 0x030D0000
 P("ts.current_frame", offsetof(PyThreadState, current_frame));
#elif PY_VERSION_HEX >= 0x030B0000
 P("ts.cframe", offsetof(PyThreadState, cframe));
 P("cf.current_frame", offsetof(_PyCFrame, current_frame));
#else
 P("ts.frame", offsetof(PyThreadState, frame));
#endif
#if PY_VERSION_HEX >= 0x030B0000
 P("if.previous", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030D0000
 P("if.code", offsetof(_PyInterpreterFrame, f_executable));
 P("if.instr", offsetof(_PyInterpreterFrame, instr_ptr));
#else
 P("if.code", offsetof(_PyInterpreterFrame, f_code));
 P("if.instr", offsetof(_PyInterpreterFrame, prev_instr));
#endif
 P("if.owner", offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX < 0x030C0000
 P("if.is_entry", offsetof(_PyInterpreterFrame, is_entry));
#endif
 P("co.code_adaptive", offsetof(PyCodeObject, co_code_adaptive));
 P("co.qualname", offsetof(PyCodeObject, co_qualname));
#else
 P("f.back", offsetof(PyFrameObject, f_back));
 P("f.code", offsetof(PyFrameObject, f_code));
 P("f.lasti", offsetof(PyFrameObject, f_lasti));
#endif
 P("co.name", offsetof(PyCodeObject, co_name));
 P("co.filename", offsetof(PyCodeObject, co_filename));
 P("co.firstlineno", offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX >= 0x030A0000
 P("co.linetable", offsetof(PyCodeObject, co_linetable));
#else
 P("co.lnotab", offsetof(PyCodeObject, co_lnotab));
#endif
 P("sizeof.ascii", sizeof(PyASCIIObject));
 P("sizeof.compact", sizeof(PyCompactUnicodeObject));
 P("unicode.state", offsetof(PyASCIIObject, state));
 P("unicode.length", offsetof(PyASCIIObject, length));
 P("bytes.sval", offsetof(PyBytesObject, ob_sval));
 P("bytes.size", offsetof(PyVarObject, ob_size));
 P("ob_type", offsetof(PyObject, ob_type));
 return 0;
}

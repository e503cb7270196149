/* sqlite.h — the SQLite member of both store doors (control.h, samples.h): one database file in
 * WAL mode, one write connection and a pool of readers, shared by the two doors when both are
 * opened on the same file. Registered in store.c. */
#ifndef FP_STORE_SQLITE_H
#define FP_STORE_SQLITE_H

#include "store/member.h"

extern const struct store_member sqlite_member;

#endif

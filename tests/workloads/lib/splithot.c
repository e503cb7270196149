/* lib/splithot.c — libsplithot.so: hot_a/hot_b in a shared library, for split_lib (proves the
 * load bias of shared objects is applied). */
#include "../split_hot.h"

// toml++'s implementation, compiled into the launcher once instead of
// loading libtomlplusplus.so (and with it libstdc++.so) at every start:
// see configure.ac, "Start time". Built as Debian builds the shared
// library, without toml++'s internal assertions (NDEBUG): with them, some
// malformed inputs abort instead of giving a parse error.
#ifndef NDEBUG
#define NDEBUG 1
#endif
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>

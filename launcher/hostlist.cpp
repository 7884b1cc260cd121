#include "launcher/hostlist.hpp"

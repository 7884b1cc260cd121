#include "launcher/cluster_file.hpp"

#include "launcher/slurm_text.hpp"

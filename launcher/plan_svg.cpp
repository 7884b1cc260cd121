#include "launcher/plan_svg.hpp"

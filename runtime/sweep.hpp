// Processes that escaped their rank: a rank's child that calls setsid() or
// double-forks leaves its process group, so killing the group misses it.
// jobsetd is the child subreaper of everything it starts
// (PR_SET_CHILD_SUBREAPER): such orphans become its children, and when a
// rank ends, sweep_escaped() kills each child of jobsetd that is not a
// live rank and whose environment carries the ended rank's marks (its
// JOBSET_RDZV, JOBSET_HOSTNAME and JOBSET_RESTART_ATTEMPT entries), with
// everything below it.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace jobset::runtime {

// Whether NUL-separated environment text (/proc/PID/environ) holds every
// "NAME=VALUE" entry of `marks`, each as a whole entry. Pure.
bool environ_has_all(std::string_view environ, const std::vector<std::string>& marks);

// The children of process `pid` (/proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);

// SIGKILLs every child of this process outside `keep` whose environment
// holds all of `marks` (none when `marks` is empty), and their
// descendants. Returns how many processes it signalled.
int sweep_escaped(const std::set<pid_t>& keep, const std::vector<std::string>& marks);

}  // namespace jobset::runtime

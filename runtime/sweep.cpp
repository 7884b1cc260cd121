// Escaped processes (sweep.hpp).
#include "runtime/sweep.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace jobset::runtime {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void collect_tree(pid_t pid, std::vector<pid_t>& out) {
  out.push_back(pid);
  if (out.size() > 100000) return;  // a fork bomb: what was seen is enough
  for (pid_t c : children_of(pid)) collect_tree(c, out);
}

}  // namespace

bool environ_has_all(std::string_view environ, const std::vector<std::string>& marks) {
  for (const std::string& m : marks) {
    bool found = false;
    for (size_t start = 0; start < environ.size() && !found;) {
      size_t end = environ.find('\0', start);
      if (end == std::string_view::npos) end = environ.size();
      found = environ.substr(start, end - start) == m;
      start = end + 1;
    }
    if (!found) return false;
  }
  return true;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(task.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(task + "/" + e->d_name + "/children");
    for (pid_t c = 0; in >> c;) out.push_back(c);
  }
  closedir(d);
  return out;
}

int sweep_escaped(const std::set<pid_t>& keep, const std::vector<std::string>& marks) {
  if (marks.empty()) return 0;
  std::vector<pid_t> doomed;
  for (pid_t c : children_of(getpid())) {
    if (keep.count(c)) continue;
    if (!environ_has_all(slurp("/proc/" + std::to_string(c) + "/environ"), marks)) continue;
    collect_tree(c, doomed);
  }
  for (pid_t p : doomed) ::kill(p, SIGKILL);
  return static_cast<int>(doomed.size());
}

}  // namespace jobset::runtime

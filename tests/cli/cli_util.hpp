// What the CLI integration tests share: run the real `jobset` binary in
// the source tree through the shell and capture its exit code and
// streams; scratch directories removed on exit.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/scratch.hpp"

namespace clitest {

namespace fs = std::filesystem;
using jobset_test::Scratch;
using jobset_test::slurp;

struct Run {
  int code = -1;
  std::string out, err;
  std::string last_err_line() const {
    std::string e = err;
    while (!e.empty() && e.back() == '\n') e.pop_back();
    return e.substr(e.rfind('\n') == std::string::npos ? 0 : e.rfind('\n') + 1);
  }
};

// Runs shell text `command` in the source tree, capturing both streams.
inline Run sh(const std::string& command, const std::string& stdin_text = "") {
  Scratch s;
  std::string in = s.write("stdin", stdin_text);
  std::string cmd = std::string("cd '") + JOBSET_SRCDIR + "' && " + command + " <'" + in + "' >'" +
                    (s.dir() / "out").string() + "' 2>'" + (s.dir() / "err").string() + "'";
  int status = std::system(cmd.c_str());
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(s.dir() / "out");
  r.err = slurp(s.dir() / "err");
  return r;
}

// Runs `jobset ARGS` through the shell (ARGS is shell text) in the source
// tree, capturing both streams; `env` goes before the command (VAR=value
// assignments, or `env -u VAR`).
inline Run jobset(const std::string& args, const std::string& stdin_text = "",
                  const std::string& env = "") {
  return sh(env + " '" + JOBSET_BUILDDIR + "/launcher/jobset' " + args, stdin_text);
}

}  // namespace clitest

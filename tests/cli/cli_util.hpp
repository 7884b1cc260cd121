// What the CLI integration tests share: run the real `jobset` binary in
// the source tree through the shell and capture its exit code and
// streams; scratch directories removed on exit.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace clitest {

namespace fs = std::filesystem;


struct Run {
  int code = -1;
  std::string out, err;
  std::string last_err_line() const {
    std::string e = err;
    while (!e.empty() && e.back() == '\n') e.pop_back();
    return e.substr(e.rfind('\n') == std::string::npos ? 0 : e.rfind('\n') + 1);
  }
};

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/jobset-cli-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~Scratch() { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

// Runs `jobset ARGS` through the shell (ARGS is shell text) in the source
// tree, capturing both streams.
inline Run jobset(const std::string& args, const std::string& stdin_text = "") {
  Scratch s;
  fs::path in = s.write("stdin", stdin_text);
  std::string cmd = std::string("cd '") + JOBSET_SRCDIR + "' && '" + JOBSET_BUILDDIR + "/launcher/jobset' " + args +
                    " <'" + in.string() + "' >'" + (s.dir() / "out").string() + "' 2>'" + (s.dir() / "err").string() + "'";
  int status = std::system(cmd.c_str());
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(s.dir() / "out");
  r.err = slurp(s.dir() / "err");
  return r;
}


}  // namespace clitest

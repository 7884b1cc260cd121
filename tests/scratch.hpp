// The file system as every test harness uses it: a scratch directory that
// is removed at scope exit, and whole files read and written in one call.
// tests/cli, tests/run, tests/runtime and tests/launcher build on it.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace jobset_test {

// The whole file, byte for byte; empty when it cannot be read (a /proc
// entry may be gone between listing and reading).
inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Replaces the file with `text`; throws (failing the test) when it cannot.
inline void write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

// A fresh directory under /tmp, removed with everything in it at scope exit.
class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/jobset-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      throw std::runtime_error(std::string("mkdtemp /tmp/jobset-test-XXXXXX: ") +
                               std::strerror(errno));
    dir_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::string path(std::string_view name) const { return (dir_ / name).string(); }
  // Writes `name` in the directory; its path.
  std::string write(std::string_view name, std::string_view text) const {
    write_file(dir_ / name, text);
    return path(name);
  }
  std::string read(std::string_view name) const { return slurp(dir_ / name); }
  bool exists(std::string_view name) const { return std::filesystem::exists(dir_ / name); }

 private:
  std::filesystem::path dir_;
};

}  // namespace jobset_test

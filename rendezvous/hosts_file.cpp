// write_hosts_file (hosts.hpp): the one I/O of the hosts file. The text
// goes to a temporary in the same directory (rename(2) is atomic only
// within one file system), then replaces the file by rename, so the NSS
// module, which rereads the file on every lookup, never sees a part of it.
// No fsync: the file is rewritten from the launcher's state after a crash.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "rendezvous/hosts.hpp"

namespace jobset::rdzv {

namespace {

Error errno_error(const std::string& what, int err) {
  return Error(what + ": " + std::strerror(err));
}

// Writes all of `text` to `fd`; 0 or the errno of the failure.
int write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

Status write_hosts_file(const std::string& path, const std::string& text) {
  const std::string context = "write hosts file " + path;
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return Error(context + ": no file name");
  std::string temp = dir + "." + base + ".XXXXXX";

  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return errno_error(context + ": create temporary " + temp, errno);
  int err = write_all(fd, text);
  std::string step = "write " + temp;
  if (err == 0 && ::fchmod(fd, 0644) != 0) {
    err = errno;
    step = "chmod " + temp;
  }
  if (::close(fd) != 0 && err == 0) {
    err = errno;
    step = "close " + temp;
  }
  if (err == 0 && ::rename(temp.c_str(), path.c_str()) != 0) {
    err = errno;
    step = "rename " + temp;
  }
  if (err != 0) {
    ::unlink(temp.c_str());
    return errno_error(context + ": " + step, err);
  }
  return {};
}

}  // namespace jobset::rdzv

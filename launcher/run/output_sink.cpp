#include "launcher/run/output_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace jobset::launcher {

int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

OutputSink::OutputSink(OutputOptions options, Writer writer, std::function<double()> now)
    : options_(std::move(options)), writer_(std::move(writer)), now_(std::move(now)) {}

OutputSink::~OutputSink() {
  clear_status();
  for (auto& [path, fd] : files_) ::close(fd);
}

namespace {
std::string timestamp(double t) {
  time_t secs = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ ", static_cast<int>((t - std::floor(t)) * 1000));
  return buf;
}
}  // namespace

std::string OutputSink::decorate(const std::string& name, std::string_view data, bool continues,
                                 bool cut) const {
  if (!options_.tag && !options_.timestamp) return std::string(data);
  std::string prefix;
  if (options_.timestamp) prefix += timestamp(now_());
  std::string first = prefix;
  if (options_.tag) {
    prefix += "[" + name + "] ";
    first += "[" + name + (cut ? "]+ " : "] ");
  }
  std::string out;
  out.reserve(data.size() + prefix.size() * 4);
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    size_t stop = end == std::string_view::npos ? data.size() : end + 1;
    if (pos > 0 || !continues) out += pos == 0 ? first : prefix;
    out.append(data.substr(pos, stop - pos));  // a partial line stays open
    pos = stop;
  }
  return out;
}

Result<int> OutputSink::file_for(const std::string& name, int attempt, int stream) {
  std::string path =
      options_.dir + "/" + name + "." + std::to_string(attempt) + (stream == 1 ? ".out" : ".err");
  auto it = files_.find(path);
  if (it != files_.end()) return it->second;
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  // Never through a symlink planted in the file's place; the user's umask applies.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd < 0) return Error("--output-dir: " + path + ": " + std::strerror(errno));
  files_[path] = fd;
  return fd;
}

Status OutputSink::write(const std::string& name, int attempt, int stream, std::string_view data) {
  if (lost_) return {};  // the run is being stopped; the first error said why
  int e = 0;
  if (!options_.dir.empty()) {
    auto fd = file_for(name, attempt, stream);
    if (!fd) return fd.error();
    bool& open = file_open_[*fd];
    e = writer_(*fd, options_.timestamp ? decorate(name, data, open, false) : std::string(data));
    if (!data.empty()) open = data.back() != '\n';
  } else {
    const int fd = stream == 2 ? 2 : 1;
    if (!open_[fd].empty() && open_[fd] != name) {
      // Another process's line is open: wait behind it, within bounds.
      if (now_() - opened_at_[fd] < kHoldSeconds && held_bytes_[fd] + data.size() <= kHoldBytes) {
        held_[fd].push_back(Held{name, std::string(data)});
        held_bytes_[fd] += data.size();
        return {};
      }
      // Too long: what waited goes out first, in order, lines ended as needed.
      clear_status();
      do {
        end_open_line(fd);
        e = drain_held(fd);
      } while (e == 0 && !held_[fd].empty());
      if (e == 0 && !open_[fd].empty() && open_[fd] != name) end_open_line(fd);
    }
    clear_status();
    if (e == 0) e = emit(name, fd, data);
    if (e == 0 && open_[fd].empty()) e = drain_held(fd);
    draw_status();
  }
  if (e == 0) return {};
  lost_ = e;
  // Where the output could not go, worded only when it happens.
  std::string where = !options_.dir.empty() ? "--output-dir " + options_.dir + ": " + name
                      : stream == 2         ? "standard error"
                                            : "standard output";
  return Error(where + ": " + std::strerror(e));
}

int OutputSink::emit(const std::string& name, int fd, std::string_view data) {
  std::string out;
  const bool continues = open_[fd] == name;
  if (!open_[fd].empty() && !continues) {  // another process's line is open: end it
    out += '\n';
    cut_[fd].insert(open_[fd]);
    open_[fd].clear();
  }
  const bool cut = !continues && cut_[fd].erase(name) > 0;
  out += decorate(name, data, continues, cut);
  if (!data.empty()) {
    const bool open = data.back() != '\n';
    if (open && open_[fd] != name) opened_at_[fd] = now_();
    open_[fd] = open ? name : "";
  }
  return writer_(fd, out);
}

// While a line is open, only its owner's waiting output may go (the
// earliest first); with none open, the earliest of all. So each process's
// output keeps its order, and an owner never has output waiting behind
// someone else's.
int OutputSink::drain_held(int fd) {
  auto& held = held_[fd];
  while (!held.empty()) {
    auto it = held.begin();
    if (!open_[fd].empty())
      it = std::find_if(held.begin(), held.end(), [&](const Held& h) { return h.name == open_[fd]; });
    if (it == held.end()) return 0;  // behind another process's open line
    Held next = std::move(*it);
    held.erase(it);
    held_bytes_[fd] -= next.data.size();
    if (int e = emit(next.name, fd, next.data); e != 0) {
      lost_ = e;
      return e;
    }
  }
  return 0;
}

std::optional<double> OutputSink::hold_deadline() const {
  std::optional<double> due;
  for (int fd : {1, 2})
    if (!held_[fd].empty() && (!due || opened_at_[fd] + kHoldSeconds < *due))
      due = opened_at_[fd] + kHoldSeconds;
  return due;
}

void OutputSink::release_overdue() {
  for (int fd : {1, 2}) {
    if (held_[fd].empty() || now_() < opened_at_[fd] + kHoldSeconds) continue;
    clear_status();
    end_open_line(fd);
    (void)drain_held(fd);  // may stop behind a line a waiting process opens: its own clock
    draw_status();
  }
}

void OutputSink::message(std::string_view text) {
  clear_status();
  end_open_line(2);
  (void)drain_held(2);
  (void)writer_(2, text);  // jobset's own words: nowhere else to report their loss
  draw_status();
}

void OutputSink::set_status_line(std::string line, int fd) {
  clear_status();
  status_ = std::move(line);
  status_fd_ = fd;
  draw_status();
}

void OutputSink::clear_status() {
  if (!status_shown_) return;
  (void)writer_(status_fd_, "\r\033[K");
  status_shown_ = false;
}

void OutputSink::draw_status() {
  if (status_.empty() || status_fd_ < 0) return;
  if (status_fd_ < 3 && !open_[status_fd_].empty()) return;  // not inside a program's line
  (void)writer_(status_fd_, status_);
  status_shown_ = true;
}

void OutputSink::end_open_line(int fd) {
  if (open_[fd].empty()) return;
  (void)writer_(fd, "\n");
  cut_[fd].insert(open_[fd]);
  open_[fd].clear();
}

void OutputSink::flush() {
  clear_status();
  // Tags start lines: a line left open gets its newline. Untagged output
  // ends as the programs left it.
  for (int fd : {1, 2}) {
    // What waited is written (a newline first ends the line it waited on).
    while (!held_[fd].empty() && lost_ == 0) {
      end_open_line(fd);
      if (drain_held(fd) != 0) break;
    }
    if (options_.tag || options_.timestamp) end_open_line(fd);
  }
}

}  // namespace jobset::launcher

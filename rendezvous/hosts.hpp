// The hosts file: every process's stable name and current address in
// /etc/hosts format, one line per process, "address<TAB>fqdn name". The
// launcher writes it on every node (path in JOBSET_HOSTS_FILE) and replaces
// it whenever an address changes; the NSS module (nss/nss_jobset.c) and any
// program that reads hosts(5) files resolve the names from it.
//
// hosts_text and parse_hosts are pure; write_hosts_file (hosts_file.cpp)
// is the one function that touches the file system. All are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace jobset::rdzv {

struct HostEntry {
  std::string address;  // IPv4 or IPv6, as inet_pton(3) reads it
  std::string fqdn;     // "<name>.<subdomain>"; empty without a subdomain
  std::string name;     // "<jobset>-<rjob>-<jobIndex>-<podIndex>"

  bool operator==(const HostEntry&) const = default;
};

// Why `entry` cannot be a line of a hosts file ("address 'x' is not an
// IPv4 or IPv6 address", "name 'a b' contains whitespace"), or "" when it
// can: the address parses and the names are non-empty (fqdn may be empty)
// without whitespace or '#'.
std::string host_entry_problem(const HostEntry& entry);

// The file's text: `header_comment` as "# " lines (none when empty), then
// one line "address\tfqdn name" per entry ("address\tname" when fqdn is
// empty or equal to name), ordered by name, fqdn, then address whatever the
// input order, each ending in '\n'. Entries with a host_entry_problem are
// left out, so the text is always a valid hosts file.
std::string hosts_text(const std::vector<HostEntry>& entries, const std::string& header_comment);

// Reads hosts(5) text: comments and blank lines are skipped; each other line
// is an address and one or two names ("address name" or "address fqdn
// name"). The error names the line and what is wrong with it.
Result<std::vector<HostEntry>> parse_hosts(std::string_view text);

// Replaces the file at `path` with `text` atomically: the text goes to a
// temporary file in the same directory (mode 0644), which is then renamed
// over `path`, so a reader sees either the old file or the new one, never
// a part. On failure `path` is unchanged and no temporary is left behind.
Status write_hosts_file(const std::string& path, const std::string& text);

}  // namespace jobset::rdzv

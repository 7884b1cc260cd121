// hosts_text and parse_hosts (hosts.hpp): the hosts file as text, no I/O.
#include "rendezvous/hosts.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <tuple>

namespace jobset::rdzv {

namespace {

constexpr std::string_view kBlanks = " \t\r\v\f";

bool is_ip_address(const std::string& text) {
  in6_addr buf{};
  return inet_pton(AF_INET, text.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, text.c_str(), &buf) == 1;
}

std::string name_problem(const char* what, const std::string& name) {
  if (name.find_first_of(kBlanks) != std::string::npos || name.find('\n') != std::string::npos)
    return std::string(what) + " '" + name + "' contains whitespace";
  if (name.find('#') != std::string::npos)
    return std::string(what) + " '" + name + "' contains '#'";
  if (name.find('\0') != std::string::npos) return std::string(what) + " contains a NUL byte";
  return "";
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while ((pos = line.find_first_not_of(kBlanks, pos)) != std::string_view::npos) {
    size_t end = line.find_first_of(kBlanks, pos);
    if (end == std::string_view::npos) end = line.size();
    fields.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

}  // namespace

std::string host_entry_problem(const HostEntry& entry) {
  if (!is_ip_address(entry.address))
    return "address '" + entry.address + "' is not an IPv4 or IPv6 address";
  if (entry.name.empty()) return "empty name";
  if (std::string p = name_problem("name", entry.name); !p.empty()) return p;
  return name_problem("fqdn", entry.fqdn);
}

std::string hosts_text(const std::vector<HostEntry>& entries, const std::string& header_comment) {
  std::vector<const HostEntry*> lines;
  lines.reserve(entries.size());
  for (const HostEntry& e : entries)
    if (host_entry_problem(e).empty()) lines.push_back(&e);
  std::sort(lines.begin(), lines.end(), [](const HostEntry* a, const HostEntry* b) {
    return std::tie(a->name, a->fqdn, a->address) < std::tie(b->name, b->fqdn, b->address);
  });

  std::string text;
  size_t pos = 0;
  while (pos < header_comment.size()) {
    size_t end = header_comment.find('\n', pos);
    if (end == std::string::npos) end = header_comment.size();
    std::string_view line(header_comment.data() + pos, end - pos);
    text += line.empty() ? "#\n" : "# " + std::string(line) + "\n";
    pos = end + 1;
  }
  for (const HostEntry* e : lines) {
    text += e->address;
    text += '\t';
    if (!e->fqdn.empty() && e->fqdn != e->name) {
      text += e->fqdn;
      text += ' ';
    }
    text += e->name;
    text += '\n';
  }
  return text;
}

Result<std::vector<HostEntry>> parse_hosts(std::string_view text) {
  std::vector<HostEntry> entries;
  size_t pos = 0;
  for (int number = 1; pos < text.size(); ++number) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> fields = split_fields(line);
    if (fields.empty()) continue;

    auto error = [number](const std::string& what) {
      return Error("hosts line " + std::to_string(number) + ": " + what);
    };
    if (fields.size() < 2 || fields.size() > 3)
      return error("expected 'address name' or 'address fqdn name', found " +
                   std::to_string(fields.size()) + " fields");
    HostEntry entry;
    entry.address = std::string(fields[0]);
    entry.name = std::string(fields.back());
    if (fields.size() == 3) entry.fqdn = std::string(fields[1]);
    if (std::string problem = host_entry_problem(entry); !problem.empty()) return error(problem);
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace jobset::rdzv
